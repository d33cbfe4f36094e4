
/*
 * Image quality measures for the image variant tests and the quality
 * benchmark (bench/image_variant_quality.py): an exactly centred cover
 * reference made with a Lanczos-3 kernel from the full-size original, and
 * SSIM.  Uses libvips only to decode; the reference and SSIM are plain C.
 */


#ifndef _IMAGE_VARIANT_QUALITY_H_INCLUDED_
#define _IMAGE_VARIANT_QUALITY_H_INCLUDED_


#include <stddef.h>


/* 8-bit sRGB, 3 bands, rows of width * 3 bytes */
typedef struct {
    int             width;
    int             height;
    unsigned char  *pixels;
} iv_rgb_t;


/*
 * Decodes an image file or buffer (any format libvips reads; EXIF
 * orientation applied, alpha flattened onto white, to sRGB).  0, or -1
 * with libvips' error buffer set.  iv_rgb_free() frees the pixels.
 */
int iv_rgb_load_file(const char *path, iv_rgb_t *out);
int iv_rgb_load_buffer(const void *data, size_t len, iv_rgb_t *out);
void iv_rgb_free(iv_rgb_t *img);

/*
 * The reference of a cover variant: the part of src with the aspect of
 * width x height, centred to a fraction of a pixel (no rounding of the
 * crop), scaled to width x height with a separable Lanczos-3 kernel
 * stretched by the scale (proper filtering, every source pixel counted),
 * in the sRGB values as stored, as libvips and sharp resample.  0, or -1
 * when out of memory.
 */
int iv_reference_cover(const iv_rgb_t *src, int width, int height,
    iv_rgb_t *out);

/*
 * Mean SSIM of the luma (BT.601) of two images of the same size: 11x11
 * Gaussian window, sigma 1.5, K1 0.01, K2 0.03, L 255, over the windows
 * inside the image (Wang et al. 2004).  -1 when the sizes differ.
 */
double iv_ssim(const iv_rgb_t *a, const iv_rgb_t *b);


#endif /* _IMAGE_VARIANT_QUALITY_H_INCLUDED_ */
