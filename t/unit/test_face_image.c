
/*
 * The face engine's JPEG decoder (libjpeg-turbo, face_image.c) against
 * libvips: the same pixels for every EXIF orientation and for a grey
 * JPEG, the pixel limit before decoding, truncated files refused, DCT
 * scaling of large photos with their full size reported.
 */


#include <stdlib.h>
#include <string.h>

#include <vips/vips.h>

#include "unit.h"
#include "face_internal.h"


/* a W x H JPEG made by libvips (a gradient with a red square top left,
   so that any wrong turn shows), bands 1 or 3; g_free() it */

static uint8_t *
test_jpeg(int w, int h, int bands, size_t *len)
{
    int         x, y, b;
    void       *buf;
    uint8_t    *px;
    VipsImage  *img;

    px = malloc((size_t) w * h * bands);

    for (y = 0; y < h; y++) {
        for (x = 0; x < w; x++) {
            for (b = 0; b < bands; b++) {
                px[((size_t) y * w + x) * bands + b] =
                    (x < w / 4 && y < h / 5 && b == 0)
                    ? 250 : (uint8_t) ((x * 3 + y * 5 + b * 70) & 0xff);
            }
        }
    }

    img = vips_image_new_from_memory_copy(px, (size_t) w * h * bands, w, h,
                                          bands, VIPS_FORMAT_UCHAR);
    free(px);

    if (img == NULL
        || vips_jpegsave_buffer(img, &buf, len, "Q", 90, "strip", TRUE,
                                NULL)
           != 0)
    {
        return NULL;
    }

    g_object_unref(img);

    return buf;
}


/* the JPEG with an EXIF APP1 segment (orientation o, big- or little-endian)
   right after SOI; free() it */

static uint8_t *
test_exif(const uint8_t *jpeg, size_t len, int o, int be, size_t *out_len)
{
    uint8_t  *p;
    static const uint8_t  mm[] = {
        0xff, 0xe1, 0x00, 0x22, 'E', 'x', 'i', 'f', 0, 0,
        'M', 'M', 0, 0x2a, 0, 0, 0, 8,
        0, 1,                                  /* one entry */
        0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 0, 0, 0,
        0, 0, 0, 0                             /* no next IFD */
    };
    static const uint8_t  ii[] = {
        0xff, 0xe1, 0x00, 0x22, 'E', 'x', 'i', 'f', 0, 0,
        'I', 'I', 0x2a, 0, 8, 0, 0, 0,
        1, 0,
        0x12, 0x01, 3, 0, 1, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0
    };

    *out_len = len + sizeof(mm);
    p = malloc(*out_len);

    memcpy(p, jpeg, 2);
    memcpy(p + 2, be ? mm : ii, sizeof(mm));
    p[2 + 28 + (be ? 1 : 0)] = (uint8_t) o;
    memcpy(p + 2 + sizeof(mm), jpeg + 2, len - 2);

    return p;
}


/* libvips' pixels: autorot, 3 bands; g_free() them */

static uint8_t *
test_vips(const uint8_t *data, size_t len, int *w, int *h)
{
    size_t      size;
    void       *mem;
    VipsImage  *a, *b, *c;

    a = vips_image_new_from_buffer(data, len, "", NULL);
    if (a == NULL || vips_autorot(a, &b, NULL) != 0) {
        return NULL;
    }

    if (b->Bands == 1) {
        if (vips_colourspace(b, &c, VIPS_INTERPRETATION_sRGB, NULL) != 0) {
            return NULL;
        }

    } else {
        c = b;
        g_object_ref(c);
    }

    mem = vips_image_write_to_memory(c, &size);
    *w = c->Xsize;
    *h = c->Ysize;

    g_object_unref(c);
    g_object_unref(b);
    g_object_unref(a);

    return mem;
}


UNIT_TEST(test_orientations)
{
    int             o, be, w, h, vw, vh, fw, fh;
    char            err[256];
    size_t          len, elen;
    uint8_t        *jpeg, *exif, *px, *ref;
    face_status_e   st;

    jpeg = test_jpeg(40, 24, 3, &len);
    CHECK(jpeg != NULL);
    if (jpeg == NULL) {
        return;
    }

    for (be = 0; be < 2; be++) {
        for (o = 1; o <= 8; o++) {
            exif = test_exif(jpeg, len, o, be, &elen);

            CHECK_INT(face_exif_orientation(exif + 6, elen - 6), o);

            st = face_image_decode_scaled(exif, elen, 0, 0, &px, &w, &h,
                                          &fw, &fh, err, sizeof(err));
            CHECK_INT(st, FACE_OK);

            ref = test_vips(exif, elen, &vw, &vh);
            CHECK(ref != NULL);

            CHECK_INT(w, o >= 5 ? 24 : 40);
            CHECK_INT(h, o >= 5 ? 40 : 24);
            CHECK_INT(w, vw);
            CHECK_INT(h, vh);
            CHECK_INT(fw, w);
            CHECK_INT(fh, h);

            if (st == FACE_OK && ref != NULL && w == vw && h == vh) {
                CHECK_MEM(px, ref, (size_t) w * h * 3);
            }

            face_image_free(px);
            g_free(ref);
            free(exif);
        }
    }

    /* no EXIF, a damaged EXIF: as it is */

    CHECK_INT(face_exif_orientation((const uint8_t *) "Exif\0\0MM", 8), 1);
    CHECK_INT(face_exif_orientation((const uint8_t *) "JFIF", 4), 1);

    g_free(jpeg);
}


UNIT_TEST(test_grey)
{
    int             w, h, vw, vh, fw, fh;
    char            err[256];
    size_t          len;
    uint8_t        *jpeg, *px, *ref;

    jpeg = test_jpeg(33, 17, 1, &len);
    CHECK(jpeg != NULL);
    if (jpeg == NULL) {
        return;
    }

    CHECK_INT(face_image_decode_scaled(jpeg, len, 0, 0, &px, &w, &h, &fw,
                                       &fh, err, sizeof(err)),
              FACE_OK);
    ref = test_vips(jpeg, len, &vw, &vh);

    CHECK(ref != NULL && w == vw && h == vh);
    if (ref != NULL && px != NULL && w == vw && h == vh) {
        CHECK_MEM(px, ref, (size_t) w * h * 3);
    }

    face_image_free(px);
    g_free(ref);
    g_free(jpeg);
}


UNIT_TEST(test_limits)
{
    int             w, h, fw, fh;
    char            err[256];
    size_t          len, elen;
    uint8_t        *jpeg, *exif, *px;

    jpeg = test_jpeg(200, 120, 3, &len);
    CHECK(jpeg != NULL);
    if (jpeg == NULL) {
        return;
    }

    /* the limit, on the header */
    CHECK_INT(face_image_decode_scaled(jpeg, len, 200 * 120 - 1, 0, &px, &w,
                                       &h, &fw, &fh, err, sizeof(err)),
              FACE_ETOOBIG);
    CHECK(px == NULL);
    CHECK(strstr(err, "200x120") != NULL);

    CHECK_INT(face_image_decode_scaled(jpeg, len, 200 * 120, 0, &px, &w, &h,
                                       &fw, &fh, err, sizeof(err)),
              FACE_OK);
    face_image_free(px);

    /* truncated: an error, never a grey half-photo */
    CHECK_INT(face_image_decode_scaled(jpeg, len * 2 / 3, 0, 0, &px, &w, &h,
                                       &fw, &fh, err, sizeof(err)),
              FACE_EDECODE);
    CHECK(px == NULL);

    /* not a JPEG after the marker */
    CHECK_INT(face_image_decode_scaled("\xff\xd8\xff\xe0xxxx", 8, 0, 0, &px,
                                       &w, &h, &fw, &fh, err, sizeof(err)),
              FACE_EDECODE);

    /* DCT scaling: the largest power of two keeping a long side of 50 */
    CHECK_INT(face_image_decode_scaled(jpeg, len, 0, 50, &px, &w, &h, &fw,
                                       &fh, err, sizeof(err)),
              FACE_OK);
    CHECK_INT(w, 50);
    CHECK_INT(h, 30);
    CHECK_INT(fw, 200);
    CHECK_INT(fh, 120);
    face_image_free(px);

    CHECK_INT(face_image_decode_scaled(jpeg, len, 0, 51, &px, &w, &h, &fw,
                                       &fh, err, sizeof(err)),
              FACE_OK);
    CHECK_INT(w, 100);
    CHECK_INT(h, 60);
    face_image_free(px);

    /* turned: the full size turns too */
    exif = test_exif(jpeg, len, 6, 1, &elen);
    CHECK_INT(face_image_decode_scaled(exif, elen, 0, 25, &px, &w, &h, &fw,
                                       &fh, err, sizeof(err)),
              FACE_OK);
    CHECK_INT(w, 15);
    CHECK_INT(h, 25);
    CHECK_INT(fw, 120);
    CHECK_INT(fh, 200);
    face_image_free(px);
    free(exif);

    g_free(jpeg);
}


int
main(void)
{
    static const unit_case_t  cases[] = {
        UNIT_CASES_(test_orientations, test_grey, test_limits)
    };

    if (VIPS_INIT("test_face_image") != 0) {
        return 1;
    }

    return unit_run(__FILE__, cases, sizeof(cases) / sizeof(cases[0]));
}
