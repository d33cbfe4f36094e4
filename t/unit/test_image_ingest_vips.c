
/*
 * Unit tests for image_ingest_vips.c: the header check of an upload.
 * Images are made here with libvips: each format's name and extension,
 * the size (upright after EXIF orientation), alpha, the pixel limit from
 * the header (a PNG claiming 30000x30000), refused inputs.
 */


#include <stdlib.h>

#include <vips/vips.h>
#include <zlib.h>

#include "unit.h"
#include "image_variant_vips.h"
#include "image_ingest_vips.h"


#define LIMIT  50000000


/* an image of w x h with the given bands, saved as suffix (".png" ...) */

static void *
make(int w, int h, int bands, const char *suffix, int orientation,
    size_t *len)
{
    void       *buf;
    VipsImage  *black, *img;

    buf = NULL;
    *len = 0;

    if (vips_black(&black, w, h, "bands", bands, NULL) != 0) {
        return NULL;
    }

    if (vips_cast(black, &img, VIPS_FORMAT_UCHAR, NULL) != 0) {
        g_object_unref(black);
        return NULL;
    }

    g_object_unref(black);

    if (bands >= 3) {
        img->Type = VIPS_INTERPRETATION_sRGB;
    }

    if (orientation) {
        vips_image_set_int(img, VIPS_META_ORIENTATION, orientation);
    }

    if (vips_image_write_to_buffer(img, suffix, &buf, len, NULL) != 0) {
        buf = NULL;
    }

    g_object_unref(img);

    return buf;
}


static image_ingest_probe_t  probe;


static int
check(const void *data, size_t len, uint64_t limit, const char *format,
    const char *ext, unsigned w, unsigned h, int alpha)
{
    image_ingest_probe(data, len, limit, &probe);

    if (probe.status != IMAGE_VARIANT_DONE) {
        fprintf(stderr, "  %s: status %d: %s\n", format, probe.status,
                probe.error);
        return 0;
    }

    if (strcmp(probe.format, format) != 0 || strcmp(probe.ext, ext) != 0
        || probe.width != w || probe.height != h || probe.alpha != alpha)
    {
        fprintf(stderr, "  %s: got %s %s %ux%u alpha %d\n", format,
                probe.format, probe.ext, probe.width, probe.height,
                probe.alpha);
        return 0;
    }

    return 1;
}


UNIT_TEST(test_formats)
{
    void    *b;
    size_t   len;

    b = make(30, 20, 3, ".png", 0, &len);
    CHECK(b && check(b, len, LIMIT, "png", "png", 30, 20, 0));
    g_free(b);

    b = make(30, 20, 4, ".png", 0, &len);
    CHECK(b && check(b, len, LIMIT, "png", "png", 30, 20, 1));
    g_free(b);

    b = make(30, 20, 3, ".jpg", 0, &len);
    CHECK(b && check(b, len, LIMIT, "jpeg", "jpg", 30, 20, 0));
    g_free(b);

    /* EXIF orientation 6 (rotate 90): upright, 20x30 */
    b = make(30, 20, 3, ".jpg", 6, &len);
    CHECK(b && check(b, len, LIMIT, "jpeg", "jpg", 20, 30, 0));
    g_free(b);

    b = make(30, 20, 3, ".webp", 0, &len);
    CHECK(b && check(b, len, LIMIT, "webp", "webp", 30, 20, 0));
    g_free(b);

    b = make(30, 20, 3, ".avif", 0, &len);
    CHECK(b && check(b, len, LIMIT, "avif", "avif", 30, 20, 0));
    g_free(b);

    b = make(30, 20, 3, ".tif", 0, &len);
    CHECK(b && check(b, len, LIMIT, "tiff", "tif", 30, 20, 0));
    g_free(b);
}


UNIT_TEST(test_limits)
{
    void           *b;
    size_t          len;
    unsigned char  *p;
    uLong           crc;

    b = make(100, 100, 3, ".png", 0, &len);
    CHECK(b && check(b, len, 10000, "png", "png", 100, 100, 0));

    image_ingest_probe(b, len, 9999, &probe);
    CHECK_INT(probe.status, IMAGE_VARIANT_E_TOO_LARGE);
    CHECK(strstr(probe.error, "100x100") != NULL);

    /* the header claims 30000x30000: refused from the header alone */
    p = b;
    p[16] = 0; p[17] = 0; p[18] = 0x75; p[19] = 0x30;
    p[20] = 0; p[21] = 0; p[22] = 0x75; p[23] = 0x30;
    crc = crc32(0, p + 12, 17);
    p[29] = (unsigned char) (crc >> 24);
    p[30] = (unsigned char) (crc >> 16);
    p[31] = (unsigned char) (crc >> 8);
    p[32] = (unsigned char) crc;

    image_ingest_probe(b, len, LIMIT, &probe);
    CHECK_INT(probe.status, IMAGE_VARIANT_E_TOO_LARGE);
    CHECK(strstr(probe.error, "30000x30000") != NULL);

    g_free(b);
}


UNIT_TEST(test_refused)
{
    static const char  svg[] =
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\" "
        "height=\"10\"><rect width=\"10\" height=\"10\"/></svg>";
    static const char  ppm[] = "P6\n2 2\n255\n\xff\0\0\xff\0\0\xff\0\0\xff\0\0";

    image_ingest_probe("hello, world", 12, LIMIT, &probe);
    CHECK_INT(probe.status, IMAGE_VARIANT_E_NOT_IMAGE);
    CHECK(strstr(probe.error, "not an image") != NULL);

    image_ingest_probe(svg, sizeof(svg) - 1, LIMIT, &probe);
    CHECK_INT(probe.status, IMAGE_VARIANT_E_NOT_IMAGE);

    image_ingest_probe(ppm, sizeof(ppm) - 1, LIMIT, &probe);
    CHECK_INT(probe.status, IMAGE_VARIANT_E_NOT_IMAGE);
    CHECK(strstr(probe.error, "unsupported") != NULL);

    image_ingest_probe("\xff\xd8\xff\xe0", 4, LIMIT, &probe);
    CHECK_INT(probe.status, IMAGE_VARIANT_E_NOT_IMAGE);

    image_ingest_probe("", 0, LIMIT, &probe);
    CHECK_INT(probe.status, IMAGE_VARIANT_E_NOT_IMAGE);
}


static int
init(void)
{
    char  err[256];

    if (image_variant_init("test", err, sizeof(err)) != 0) {
        fprintf(stderr, "image_variant_init: %s\n", err);
        return -1;
    }

    return 0;
}


static const unit_case_t  cases[] = {
    UNIT_CASE_(test_formats),
    UNIT_CASE_(test_limits),
    UNIT_CASE_(test_refused)
};


int
main(void)
{
    int  rc;

    if (init() != 0) {
        return 1;
    }

    rc = unit_run(__FILE__, cases, sizeof(cases) / sizeof(cases[0]));

    image_variant_shutdown();

    return rc;
}
