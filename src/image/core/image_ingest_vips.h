
/*
 * The check of an upload before anything is stored: libvips reads the
 * header only (with the loaders image_variant_init() allowed), which
 * tells the format, the size and whether the image has alpha; the pixel
 * limit is applied there, before any decoding.  No nginx types.
 */


#ifndef _IMAGE_INGEST_VIPS_H_INCLUDED_
#define _IMAGE_INGEST_VIPS_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


typedef struct {
    int           status;       /* IMAGE_VARIANT_DONE or _E_* */
    unsigned      width;        /* upright: after EXIF orientation */
    unsigned      height;
    const char   *format;       /* "jpeg", "png", "webp", "gif", "avif",
                                   "heic", "tiff" */
    const char   *ext;          /* "jpg", "png", ... */
    int           alpha;
    char          error[256];
} image_ingest_probe_t;


/*
 * E_NOT_IMAGE for bytes no allowed loader takes, E_TOO_LARGE when width x
 * height x pages passes max_pixels.  Call vips_thread_shutdown() when the
 * thread's work is done.
 */
void image_ingest_probe(const void *data, size_t len, uint64_t max_pixels,
    image_ingest_probe_t *p);


#endif /* _IMAGE_INGEST_VIPS_H_INCLUDED_ */
