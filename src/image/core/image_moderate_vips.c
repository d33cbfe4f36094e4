
/*
 * Moderation's pixels: the upload decoded once by libvips (the loaders
 * the process allows), upright, sRGB, three 8-bit channels.
 */


#include <stdio.h>
#include <string.h>

#include <vips/vips.h>

#include "image_moderate.h"


#define IMAGE_MODERATE_STEPS  6


static void image_moderate_vips_error(const char *what, char *err,
    size_t errlen);


int
image_moderate_decode(const void *data, size_t len, uint64_t max_pixels,
    uint8_t **px, int *width, int *height, char *err, size_t errlen)
{
    int         i, n, rc;
    size_t      size;
    void       *mem;
    VipsImage  *im[IMAGE_MODERATE_STEPS], *last;

    *px = NULL;
    n = 0;
    rc = -1;

    if (len == 0) {
        snprintf(err, errlen, "empty image");
        return 1;
    }

    im[0] = vips_image_new_from_buffer(data, len, "", "fail_on",
                                       VIPS_FAIL_ON_TRUNCATED, NULL);
    if (im[0] == NULL) {
        image_moderate_vips_error("not a supported image", err, errlen);
        return 1;
    }

    n = 1;

    if (max_pixels
        && (uint64_t) im[0]->Xsize * (uint64_t) im[0]->Ysize > max_pixels)
    {
        snprintf(err, errlen, "%dx%d pixels, over the limit of %llu",
                 im[0]->Xsize, im[0]->Ysize,
                 (unsigned long long) max_pixels);
        rc = 2;
        goto done;
    }

    if (vips_autorot(im[n - 1], &im[n], NULL) != 0) {
        image_moderate_vips_error("cannot orient the image", err, errlen);
        goto done;
    }

    n++;

    if (vips_image_guess_interpretation(im[n - 1])
        != VIPS_INTERPRETATION_sRGB)
    {
        if (vips_colourspace(im[n - 1], &im[n], VIPS_INTERPRETATION_sRGB,
                             NULL)
            != 0)
        {
            image_moderate_vips_error("cannot convert to sRGB", err, errlen);
            goto done;
        }

        n++;
    }

    if (im[n - 1]->Bands != 3) {
        if (im[n - 1]->Bands < 3
            || vips_extract_band(im[n - 1], &im[n], 0, "n", 3, NULL) != 0)
        {
            image_moderate_vips_error("cannot take the RGB channels", err,
                                      errlen);
            goto done;
        }

        n++;
    }

    if (im[n - 1]->BandFmt != VIPS_FORMAT_UCHAR) {
        if (vips_cast_uchar(im[n - 1], &im[n], NULL) != 0) {
            image_moderate_vips_error("cannot convert to 8 bits", err,
                                      errlen);
            goto done;
        }

        n++;
    }

    last = im[n - 1];

    mem = vips_image_write_to_memory(last, &size);
    if (mem == NULL) {
        image_moderate_vips_error("cannot decode the image", err, errlen);
        goto done;
    }

    if (size != (size_t) last->Xsize * last->Ysize * 3) {
        g_free(mem);
        snprintf(err, errlen, "the decoder returned an unexpected size");
        goto done;
    }

    *px = mem;
    *width = last->Xsize;
    *height = last->Ysize;
    rc = 0;

done:

    for (i = n - 1; i >= 0; i--) {
        g_object_unref(im[i]);
    }

    return rc;
}


void
image_moderate_pixels_free(uint8_t *px)
{
    g_free(px);
}


static void
image_moderate_vips_error(const char *what, char *err, size_t errlen)
{
    size_t   n;
    char    *msg;

    msg = vips_error_buffer_copy();

    /* the first line of libvips' message */
    n = strcspn(msg, "\n");

    if (n == 0) {
        snprintf(err, errlen, "%s", what);

    } else {
        snprintf(err, errlen, "%s: %.*s", what, (int) n, msg);
    }

    g_free(msg);
}
