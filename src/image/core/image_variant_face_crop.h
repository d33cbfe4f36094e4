
/*
 * gravity=face: where the crop window of fit=cover goes, given the faces
 * a detector found.  No libvips, no face engine types: boxes in, an
 * offset out, so that the policy is unit-tested on its own.
 *
 * The window keeps every face when their union fits in it, placed as
 * near as it can to the faces' centre weighted by their areas (so
 * towards the largest); when the union does not fit, the faces are
 * taken largest first while their union still fits, and the rest are
 * left out; a single face larger than the window gets the window
 * centred on it.  No face: the caller falls back (attention).
 */


#ifndef _IMAGE_VARIANT_FACE_CROP_H_INCLUDED_
#define _IMAGE_VARIANT_FACE_CROP_H_INCLUDED_


#include <stddef.h>


/* at most this many faces are looked at (the best scores first) */
#define IMAGE_VARIANT_FACE_MAX  64


typedef struct {
    double   x;          /* left, top, width, height in image pixels */
    double   y;
    double   w;
    double   h;
} image_variant_face_box_t;


/*
 * The window of cw x ch (at most iw x ih) in an image of iw x ih: its
 * left and top in *left, *top.  Boxes are clipped to the image; empty
 * ones and those beyond IMAGE_VARIANT_FACE_MAX are ignored.  Returns
 * how many faces placed the window: those it keeps whole, or 1 for a
 * face larger than the window; 0 when there is no face to go by (*left
 * and *top untouched).
 */
size_t image_variant_face_window(int iw, int ih, int cw, int ch,
    const image_variant_face_box_t *faces, size_t n, int *left, int *top);


#endif /* _IMAGE_VARIANT_FACE_CROP_H_INCLUDED_ */
