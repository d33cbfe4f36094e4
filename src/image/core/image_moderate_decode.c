
/*
 * Moderation's pixels: the upload decoded once by the face engine's
 * decoder (libjpeg-turbo for JPEG, libwebp for WebP, libvips for the
 * rest; the same pixels libvips gives, upright, sRGB, three 8-bit
 * channels), on the calling thread: no decoder threads of its own.
 */


#include <stdint.h>
#include <stdio.h>

#include "image_moderate.h"
#include "face.h"
#include "face_internal.h"


int
image_moderate_decode(const void *data, size_t len, uint64_t max_pixels,
    uint8_t **px, int *width, int *height, char *err, size_t errlen)
{
    face_status_e  rc;

    *px = NULL;

    if (len == 0) {
        snprintf(err, errlen, "empty image");
        return 1;
    }

    rc = face_image_decode(data, len, max_pixels, px, width, height, err,
                           errlen);

    switch (rc) {

    case FACE_OK:
        return 0;

    case FACE_EDECODE:
        return 1;

    case FACE_ETOOBIG:
        return 2;

    default:
        return -1;
    }
}


void
image_moderate_pixels_free(uint8_t *px)
{
    face_image_free(px);
}
