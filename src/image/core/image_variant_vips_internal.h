
/*
 * What the files of the image variants' libvips pipeline share; not part
 * of its API (that is image_variant_vips.h).  They are split by step:
 *
 *   image_variant_vips.c         init, one render, the run's images, the
 *                                time limit, errors
 *   image_variant_vips_load.c    sniffing, loading with shrink-on-load,
 *                                the sRGB profile check
 *   image_variant_vips_resize.c  the thumbnail box, resize and crop
 *   image_variant_vips_face.c    gravity=face: the crop around the faces
 *   image_variant_vips_save.c    8-bit sRGB, padding, the savers
 *
 * The files are compiled into the image module's .so, and modules are
 * loaded with RTLD_GLOBAL, so these functions are hidden.
 */


#ifndef _IMAGE_VARIANT_VIPS_INTERNAL_H_INCLUDED_
#define _IMAGE_VARIANT_VIPS_INTERNAL_H_INCLUDED_


#include <vips/vips.h>

#include "image_variant_vips.h"


#if (__GNUC__ >= 4)
#define IMAGE_VARIANT_VIPS_HIDDEN  __attribute__((visibility("hidden")))
#else
#define IMAGE_VARIANT_VIPS_HIDDEN
#endif


/* the images one render holds at most */
#define IMAGE_VARIANT_STEPS         12


typedef enum {
    IMAGE_VARIANT_LOAD_NONE = -1,
    IMAGE_VARIANT_LOAD_JPEG = 0,
    IMAGE_VARIANT_LOAD_PNG,
    IMAGE_VARIANT_LOAD_WEBP,
    IMAGE_VARIANT_LOAD_GIF,
    IMAGE_VARIANT_LOAD_HEIF,
    IMAGE_VARIANT_LOAD_TIFF
} image_variant_load_e;


/* what vips_thumbnail_image() is asked for */
typedef struct {
    int                     width;
    int                     height;
    VipsSize                size;
    VipsInteresting         crop;
    int                     pad;        /* contain: embed in width x height */
    double                  resample;   /* the reduction left to Lanczos */
    int                     face;       /* gravity=face: cover, then the
                                           crop around the faces */
} image_variant_box_t;


/* the time limit of one render; the eval callback runs on libvips' threads */
typedef struct {
    gint64                  deadline;   /* g_get_monotonic_time(); 0: none */
    int                     expired;
    VipsImage              *watched[2];
    gulong                  handler[2];
    VipsImage              *kill[2];
} image_variant_clock_t;


/* one render: on the stack of the calling thread */
typedef struct {
    image_variant_job_t    *job;
    image_variant_box_t     box;
    int                     src_width;  /* the source's stored pixels */
    int                     src_height;
    double                  load_x;     /* loaded pixels per source pixel */
    double                  load_y;
    void                   *owned;      /* a copy of the source, g_free() */
    image_variant_clock_t   clock;
    VipsImage              *images[IMAGE_VARIANT_STEPS];
    int                     n;
} image_variant_run_t;


IMAGE_VARIANT_VIPS_HIDDEN VipsImage *image_variant_open(
    image_variant_run_t *run);
IMAGE_VARIANT_VIPS_HIDDEN VipsImage *image_variant_resize(
    image_variant_run_t *run, VipsImage *in);
IMAGE_VARIANT_VIPS_HIDDEN VipsImage *image_variant_scale(
    image_variant_run_t *run, VipsImage *in);
IMAGE_VARIANT_VIPS_HIDDEN VipsImage *image_variant_face(
    image_variant_run_t *run, VipsImage *in);
IMAGE_VARIANT_VIPS_HIDDEN VipsImage *image_variant_finish(
    image_variant_run_t *run, VipsImage *in, image_variant_format_e format);
IMAGE_VARIANT_VIPS_HIDDEN VipsImage *image_variant_keep(
    image_variant_run_t *run, VipsImage *image);
IMAGE_VARIANT_VIPS_HIDDEN VipsImage *image_variant_copy(
    image_variant_run_t *run, VipsImage *in);
IMAGE_VARIANT_VIPS_HIDDEN image_variant_load_e image_variant_loader(
    const char *type);
IMAGE_VARIANT_VIPS_HIDDEN void image_variant_box(
    const image_variant_params_t *p, image_variant_box_t *box);
IMAGE_VARIANT_VIPS_HIDDEN int image_variant_save(
    image_variant_job_t *job, VipsImage *image, image_variant_format_e format);
IMAGE_VARIANT_VIPS_HIDDEN void image_variant_fail(
    image_variant_job_t *job, int status, const char *what);


#endif /* _IMAGE_VARIANT_VIPS_INTERNAL_H_INCLUDED_ */
