
/*
 * The image pipeline: one source image in memory to one variant, with
 * libvips.  No nginx types.  Safe to call from several threads at once;
 * with concurrency 1, each call keeps one libvips worker busy at a time
 * (from libvips' recycled thread set) while the calling thread waits.
 */


#ifndef _IMAGE_VARIANT_VIPS_H_INCLUDED_
#define _IMAGE_VARIANT_VIPS_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>

#include "image_variant_params.h"
#include "image_variant_face_crop.h"


/* the longest side of the image gravity=face's detector sees */
#define IMAGE_VARIANT_FACE_SIDE      512


/* results of image_variant_render() */
#define IMAGE_VARIANT_DONE           0
#define IMAGE_VARIANT_E_TOO_LARGE    1   /* pixels over the limit: 413 */
#define IMAGE_VARIANT_E_NOT_IMAGE    2   /* not an image, or corrupt: 415 */
#define IMAGE_VARIANT_E_TIMEOUT      3   /* stopped by the time limit: 503 */
#define IMAGE_VARIANT_E_INTERNAL     4   /* anything else: 500 */


typedef struct {
    /* in */
    const void                  *data;
    size_t                       len;
    image_variant_params_t       params;
    image_variant_accept_e       accept;      /* for format auto */
    uint64_t                     max_pixels;  /* checked before decoding */
    unsigned                     timeout_ms;  /* 0: no limit */

    /*
     * gravity=face: the caller's face detector, run on an RGB copy of the
     * resized image (no side over IMAGE_VARIANT_FACE_SIDE): fills at
     * most max boxes, best first, and returns their count, or -1 on an
     * error (attention then).  NULL: gravity=face is attention.
     */
    int                        (*faces)(void *data, const uint8_t *rgb,
                                        int width, int height,
                                        image_variant_face_box_t *boxes,
                                        size_t max);
    void                        *faces_data;

    /* out */
    int                          status;      /* IMAGE_VARIANT_* */
    void                        *out;         /* image_variant_free() */
    size_t                       out_len;
    image_variant_format_e       out_format;
    unsigned                     out_width;
    unsigned                     out_height;
    int                          out_faces;   /* gravity=face: the faces
                                                 the crop went by; 0:
                                                 attention */
    int                          out_crop[4]; /* gravity=face: the window's
                                                 left, top (-1: attention's)
                                                 in the covering image of
                                                 width, height */
    double                       ms_faces;    /* the detector's time */
    double                       cpu_faces;   /* ... its CPU time, ms */
    char                         error[256];
} image_variant_job_t;


/*
 * Once per process (per nginx worker, after fork): libvips, its operation
 * cache off, untrusted loaders blocked and only the loaders for JPEG, PNG,
 * WebP, GIF, HEIF/AVIF and TIFF allowed, concurrency 1.  Returns 0, or -1
 * with the reason in err (also when one of those loaders is missing).
 * These settings are libvips' and so the whole process's: any other user
 * of libvips in the worker gets the same loaders.  libvips' warnings
 * (domain "VIPS") are dropped: they would flood the error log.
 */
int image_variant_init(const char *name, char *err, size_t err_len);
void image_variant_shutdown(void);

/*
 * Renders job->data into job->out.  Header first: more than max_pixels
 * (width x height x pages) gives E_TOO_LARGE before any decoding.  Then
 * shrink-on-load thumbnail with EXIF orientation applied, colour managed to
 * sRGB (CMYK included), 16-bit and palette sources to 8-bit sRGB, alpha
 * flattened onto the background for JPEG (PNG, WebP and AVIF keep it),
 * metadata stripped; JPEG is progressive.  Format auto: AVIF/WebP by
 * job->accept, else JPEG, or PNG when the variant's alpha is used (some
 * pixel below 255).
 *
 * E_NOT_IMAGE also covers damage found while decoding the pixels (a
 * truncated file), and job->error says what.  The time limit stops
 * libvips through its kill flag wherever pixels are pulled (decoding,
 * resampling, the saver reading its input); the encoders' own final
 * passes (libwebp, aom, libjpeg's progressive scans) run to the end, and
 * a render that completes past the limit is still DONE.  Frees per-thread
 * libvips state before returning.
 */
void image_variant_render(image_variant_job_t *job);

/* the MIME type of a format; NULL for AUTO */
const char *image_variant_mime(image_variant_format_e format);

/* frees job->out (g_free(): the savers' memory); NULL is fine */
void image_variant_free(void *out);


#endif /* _IMAGE_VARIANT_VIPS_H_INCLUDED_ */
