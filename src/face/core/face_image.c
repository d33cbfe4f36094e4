
/*
 * Decoding with libvips: any loader the process allows, EXIF orientation
 * applied, sRGB, alpha dropped, 8 bits a channel.  The pixel limit is
 * checked on the header, before any pixel is decoded.
 */

#include <stdio.h>
#include <string.h>

#include <vips/vips.h>

#include "face_internal.h"


static void face_image_error(const char *what, char *err, size_t errlen);


face_status_e
face_image_decode(const void *data, size_t len, uint64_t max_pixels,
    uint8_t **px, int *w, int *h, char *err, size_t errlen)
{
    int             i, n;
    size_t          size;
    void           *mem;
    VipsImage      *img[6];
    face_status_e   rc;

    *px = NULL;
    n = 0;
    rc = FACE_EDECODE;

    if (len == 0) {
        snprintf(err, errlen, "empty image");
        return FACE_EDECODE;
    }

    /* a truncated or damaged file is an error, not a grey half-photo */
    img[n] = vips_image_new_from_buffer(data, len, "", "fail_on",
                                        VIPS_FAIL_ON_TRUNCATED, NULL);
    if (img[n] == NULL) {
        face_image_error("not a supported image", err, errlen);
        return FACE_EDECODE;
    }

    n++;

    if (max_pixels
        && (uint64_t) img[0]->Xsize * (uint64_t) img[0]->Ysize > max_pixels)
    {
        snprintf(err, errlen, "image of %dx%d pixels is over the limit of "
                 "%llu", img[0]->Xsize, img[0]->Ysize,
                 (unsigned long long) max_pixels);
        rc = FACE_ETOOBIG;
        goto done;
    }

    if (vips_autorot(img[n - 1], &img[n], NULL) != 0) {
        face_image_error("cannot orient the image", err, errlen);
        goto done;
    }

    n++;

    if (vips_image_guess_interpretation(img[n - 1])
        != VIPS_INTERPRETATION_sRGB
        || img[n - 1]->BandFmt != VIPS_FORMAT_UCHAR)
    {
        if (vips_colourspace(img[n - 1], &img[n], VIPS_INTERPRETATION_sRGB,
                             NULL)
            != 0)
        {
            face_image_error("cannot convert to sRGB", err, errlen);
            goto done;
        }

        n++;
    }

    if (img[n - 1]->Bands != 3) {
        if (img[n - 1]->Bands < 3
            || vips_extract_band(img[n - 1], &img[n], 0, "n", 3, NULL) != 0)
        {
            face_image_error("cannot take the RGB channels", err, errlen);
            goto done;
        }

        n++;
    }

    if (img[n - 1]->BandFmt != VIPS_FORMAT_UCHAR) {
        if (vips_cast_uchar(img[n - 1], &img[n], NULL) != 0) {
            face_image_error("cannot convert to 8 bits", err, errlen);
            goto done;
        }

        n++;
    }

    mem = vips_image_write_to_memory(img[n - 1], &size);
    if (mem == NULL) {
        face_image_error("cannot decode the image", err, errlen);
        goto done;
    }

    if (size != (size_t) img[n - 1]->Xsize * img[n - 1]->Ysize * 3) {
        g_free(mem);
        snprintf(err, errlen, "decoder returned an unexpected size");
        goto done;
    }

    *px = mem;
    *w = img[n - 1]->Xsize;
    *h = img[n - 1]->Ysize;
    rc = FACE_OK;

done:

    for (i = n - 1; i >= 0; i--) {
        g_object_unref(img[i]);
    }

    return rc;
}


void
face_image_free(uint8_t *px)
{
    g_free(px);
}


static void
face_image_error(const char *what, char *err, size_t errlen)
{
    size_t   n;
    char    *msg;

    msg = vips_error_buffer_copy();

    /* libvips' messages end with a newline: keep the first line */
    n = strcspn(msg, "\n");
    if (n == 0) {
        snprintf(err, errlen, "%s", what);

    } else {
        snprintf(err, errlen, "%s: %.*s", what, (int) n, msg);
    }

    g_free(msg);
}
