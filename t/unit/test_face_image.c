
/*
 * The face engine's JPEG decoder (libjpeg-turbo, face_image.c) against
 * libvips: the same pixels for every EXIF orientation and for a grey
 * JPEG, the pixel limit before decoding, truncated files refused, DCT
 * scaling of large photos with their full size reported.  Its WebP
 * decoder (libwebp) against libvips the same way: lossy, lossless with
 * alpha, every EXIF orientation, an animation's first frame; and that it
 * starts no thread (libvips' loader did).
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>

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


/* a W x H WebP made by libvips: the same picture, bands 3 or 4 (alpha
   from 0 to 255 across), EXIF orientation o (1: none), pages frames of H
   rows each (the later ones turned darker); g_free() it */

static uint8_t *
test_webp(int w, int h, int bands, int lossless, int o, int pages,
    size_t *len)
{
    int         x, y, b, n;
    void       *buf;
    uint8_t    *px, v;
    VipsImage  *img;

    n = w * h * pages;
    px = malloc((size_t) n * bands);

    for (y = 0; y < h * pages; y++) {
        for (x = 0; x < w; x++) {
            for (b = 0; b < bands; b++) {
                v = (x < w / 4 && y % h < h / 5 && b == 0)
                    ? 250 : (uint8_t) ((x * 3 + y * 5 + b * 70) & 0xff);

                if (b == 3) {
                    v = (uint8_t) (x * 255 / (w - 1));
                }

                px[((size_t) y * w + x) * bands + b] =
                    (uint8_t) (y >= h && b < 3 ? v / 2 : v);
            }
        }
    }

    img = vips_image_new_from_memory_copy(px, (size_t) n * bands, w,
                                          h * pages, bands,
                                          VIPS_FORMAT_UCHAR);
    free(px);

    if (img == NULL) {
        return NULL;
    }

    if (o != 1) {
        vips_image_set_int(img, "orientation", o);
    }

    if (pages > 1) {
        vips_image_set_int(img, "page-height", h);
    }

    if (vips_webpsave_buffer(img, &buf, len, "Q", 90, "lossless", lossless,
                             "strip", o == 1, NULL)
        != 0)
    {
        g_object_unref(img);
        return NULL;
    }

    g_object_unref(img);

    return buf;
}


/* the pages libvips sees in an image */

static int
test_pages(const uint8_t *data, size_t len)
{
    int         n;
    VipsImage  *img;

    img = vips_image_new_from_buffer(data, len, "", NULL);
    if (img == NULL) {
        return -1;
    }

    n = vips_image_get_n_pages(img);
    g_object_unref(img);

    return n;
}


/* the threads of this process */

static int
test_threads(void)
{
    int             n;
    DIR            *d;
    struct dirent  *e;

    n = 0;
    d = opendir("/proc/self/task");
    if (d == NULL) {
        return -1;
    }

    while ((e = readdir(d)) != NULL) {
        n += e->d_name[0] != '.';
    }

    closedir(d);

    return n;
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

    } else if (b->Bands == 4) {
        /* the face engine's libvips path: alpha dropped */
        if (vips_extract_band(b, &c, 0, "n", 3, NULL) != 0) {
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


/* the face engine's WebP pixels and libvips' */

static void
test_webp_same(const char *what, const uint8_t *webp, size_t len, int ew,
    int eh)
{
    int        w, h, vw, vh, fw, fh;
    char       err[256];
    uint8_t   *px, *ref;

    CHECK_INT(face_image_decode_scaled(webp, len, 0, 0, &px, &w, &h, &fw,
                                       &fh, err, sizeof(err)),
              FACE_OK);
    ref = test_vips(webp, len, &vw, &vh);

    if (px == NULL || ref == NULL || w != vw || h != vh || w != ew
        || h != eh || fw != w || fh != h)
    {
        fprintf(stderr, "%s: %dx%d (full %dx%d), libvips %dx%d, expected "
                "%dx%d: %s\n", what, w, h, fw, fh, vw, vh, ew, eh,
                px == NULL ? err : "");
        CHECK(0);

    } else {
        CHECK_MEM(px, ref, (size_t) w * h * 3);
    }

    face_image_free(px);
    g_free(ref);
}


UNIT_TEST(test_webp_pixels)
{
    int        o;
    char       what[64];
    size_t     len;
    uint8_t   *webp;

    webp = test_webp(40, 24, 3, 0, 1, 1, &len);
    CHECK(webp != NULL);
    if (webp == NULL) {
        return;
    }

    test_webp_same("lossy", webp, len, 40, 24);
    g_free(webp);

    webp = test_webp(40, 24, 4, 1, 1, 1, &len);
    test_webp_same("lossless, alpha", webp, len, 40, 24);
    g_free(webp);

    webp = test_webp(40, 24, 4, 0, 1, 1, &len);
    test_webp_same("lossy, alpha", webp, len, 40, 24);
    g_free(webp);

    for (o = 2; o <= 8; o++) {
        webp = test_webp(40, 24, 3, 0, o, 1, &len);
        snprintf(what, sizeof(what), "orientation %d", o);
        test_webp_same(what, webp, len, o >= 5 ? 24 : 40, o >= 5 ? 40 : 24);
        g_free(webp);
    }

    webp = test_webp(40, 24, 4, 0, 1, 3, &len);
    CHECK_INT(test_pages(webp, len), 3);
    test_webp_same("animation", webp, len, 40, 24);
    g_free(webp);

    webp = test_webp(40, 24, 3, 1, 1, 2, &len);
    test_webp_same("animation, no alpha", webp, len, 40, 24);
    g_free(webp);

    webp = test_webp(400, 240, 3, 0, 6, 1, &len);
    test_webp_same("larger, turned", webp, len, 240, 400);
    g_free(webp);
}


/* the face engine's WebP EXIF chunk: "Exif\0\0" and the TIFF, or the TIFF
   alone, as the WebP container specification has it */

UNIT_TEST(test_webp_exif)
{
    static const uint8_t  tiff[] = {
        'I', 'I', 0x2a, 0, 8, 0, 0, 0,
        1, 0,
        0x12, 0x01, 3, 0, 1, 0, 0, 0, 7, 0, 0, 0,
        0, 0, 0, 0
    };

    CHECK_INT(face_exif_tiff_orientation(tiff, sizeof(tiff)), 7);
    CHECK_INT(face_exif_tiff_orientation(tiff, sizeof(tiff) - 8), 1);
    CHECK_INT(face_exif_tiff_orientation(tiff, 7), 1);
    CHECK_INT(face_exif_orientation(tiff, sizeof(tiff)), 1);
}


UNIT_TEST(test_webp_limits)
{
    int        w, h, fw, fh, before;
    char       err[256];
    size_t     len;
    uint8_t   *webp, *px;

    webp = test_webp(200, 120, 3, 0, 1, 1, &len);
    CHECK(webp != NULL);
    if (webp == NULL) {
        return;
    }

    /* the limit, on the header */
    CHECK_INT(face_image_decode_scaled(webp, len, 200 * 120 - 1, 0, &px, &w,
                                       &h, &fw, &fh, err, sizeof(err)),
              FACE_ETOOBIG);
    CHECK(px == NULL);
    CHECK(strstr(err, "200x120") != NULL);

    /* no thread started: decoded on the calling one (this case runs
       first: libvips' own loader, in the other cases, leaves threads) */
    before = test_threads();
    CHECK_INT(face_image_decode_scaled(webp, len, 200 * 120, 100, &px, &w,
                                       &h, &fw, &fh, err, sizeof(err)),
              FACE_OK);
    CHECK_INT(test_threads(), before);
    CHECK_INT(w, 200);
    CHECK_INT(h, 120);
    CHECK_INT(fw, 200);
    CHECK_INT(fh, 120);
    face_image_free(px);

    /* truncated: an error, never a half-photo */
    CHECK_INT(face_image_decode_scaled(webp, len * 2 / 3, 0, 0, &px, &w, &h,
                                       &fw, &fh, err, sizeof(err)),
              FACE_EDECODE);
    CHECK(px == NULL);

    /* a RIFF header and nothing of a WebP after it */
    CHECK_INT(face_image_decode_scaled("RIFF\x20\0\0\0WEBPVP8 xxxxxxxx", 24,
                                       0, 0, &px, &w, &h, &fw, &fh, err,
                                       sizeof(err)),
              FACE_EDECODE);
    CHECK(px == NULL);

    g_free(webp);
}


int
main(void)
{
    static const unit_case_t  cases[] = {
        UNIT_CASES_(test_webp_limits, test_orientations, test_grey,
                    test_limits, test_webp_pixels, test_webp_exif)
    };

    if (VIPS_INIT("test_face_image") != 0) {
        return 1;
    }

    return unit_run(__FILE__, cases, sizeof(cases) / sizeof(cases[0]));
}
