
/*
 * Unit tests for image_variant_vips.c: every fixture is made here with
 * libvips itself (no committed binaries), rendered, and the output decoded
 * back with libvips.
 */


#include <stdlib.h>
#include <time.h>
#include <pthread.h>

#include <vips/vips.h>
#include <zlib.h>

#include "unit.h"
#include "image_variant_vips.h"
#include "image_variant_quality.h"


#define SAMPLE_PHOTO  "demo/fixtures/sample1.jpg"

#define NTHREADS      4


typedef struct {
    void    *data;
    size_t   len;
} blob_t;


/* made once by test_init, freed by test_cleanup */
static struct {
    blob_t  photo;          /* 1200x800 JPEG, a gradient */
    blob_t  rotated;        /* 1200x800 JPEG, orientation 6, red corner */
    blob_t  cmyk;           /* CMYK JPEG with the cmyk profile, red | blue */
    blob_t  cmyk_bare;      /* the same without a profile */
    blob_t  p3;             /* Display P3 JPEG with its profile, red */
    blob_t  png16;          /* 16-bit RGB PNG */
    blob_t  palette;        /* palette PNG */
    blob_t  rgba;           /* RGBA PNG: left opaque green, right clear */
    blob_t  gif;            /* two frames: red, then blue */
    blob_t  webp;
    blob_t  avif;
    blob_t  heic;
    blob_t  tiff;
    blob_t  grey;           /* greyscale JPEG */
    blob_t  big;            /* 4000x4000 JPEG, for the time limit */
} fx;


/*
 * Under AddressSanitizer: x265 (the HEIC fixture's encoder, never used by
 * the module) keeps one allocation for the life of the process.
 */
const char *__lsan_default_suppressions(void);

const char *
__lsan_default_suppressions(void)
{
    return "leak:libx265.so\n";
}


/* helpers */

static double
now_ms(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}


static double
cpu_ms(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);

    return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}


static void
vips_failed(const char *what)
{
    fprintf(stderr, "%s: %s\n", what, vips_error_buffer());
    vips_error_clear();
}


static void
unref_all(VipsImage **t, int n)
{
    int  i;

    for (i = 0; i < n; i++) {
        if (t[i] != NULL) {
            g_object_unref(t[i]);
            t[i] = NULL;
        }
    }
}


/* an sRGB uchar image in memory, filled with one colour */

static VipsImage *
solid(int w, int h, double r, double g, double b)
{
    double      a[3] = { 1.0, 1.0, 1.0 };
    double      c[3];
    VipsImage  *t[4], *m;

    c[0] = r;
    c[1] = g;
    c[2] = b;

    memset(t, 0, sizeof(t));
    m = NULL;

    if (vips_black(&t[0], w, h, "bands", 3, NULL) == 0
        && vips_linear(t[0], &t[1], a, c, 3, NULL) == 0
        && vips_cast(t[1], &t[2], VIPS_FORMAT_UCHAR, NULL) == 0
        && vips_copy(t[2], &t[3], "interpretation",
                     VIPS_INTERPRETATION_sRGB, NULL) == 0)
    {
        m = vips_image_copy_memory(t[3]);
    }

    if (m == NULL) {
        vips_failed("solid");
    }

    unref_all(t, 4);

    return m;
}


/* a smooth colour gradient: red across, green down, blue 128 */

static VipsImage *
gradient(int w, int h)
{
    double      a[2], c[2] = { 0.0, 0.0 };
    VipsImage  *t[5], *m;

    a[0] = 255.0 / w;
    a[1] = 255.0 / h;

    memset(t, 0, sizeof(t));
    m = NULL;

    if (vips_xyz(&t[0], w, h, NULL) == 0
        && vips_linear(t[0], &t[1], a, c, 2, NULL) == 0
        && vips_bandjoin_const1(t[1], &t[2], 128.0, NULL) == 0
        && vips_cast(t[2], &t[3], VIPS_FORMAT_UCHAR, NULL) == 0
        && vips_copy(t[3], &t[4], "interpretation",
                     VIPS_INTERPRETATION_sRGB, NULL) == 0)
    {
        m = vips_image_copy_memory(t[4]);
    }

    if (m == NULL) {
        vips_failed("gradient");
    }

    unref_all(t, 5);

    return m;
}


static void
rect(VipsImage *im, int x, int y, int w, int h, double r, double g, double b)
{
    double  ink[3];

    ink[0] = r;
    ink[1] = g;
    ink[2] = b;

    if (vips_draw_rect(im, ink, 3, x, y, w, h, "fill", TRUE, NULL) != 0) {
        vips_failed("draw_rect");
    }
}


/* an RGB or RGBA pixel of a decoded output */

static int
pixel(VipsImage *im, int x, int y, double *px)
{
    int      n, i;
    double  *v;

    if (vips_getpoint(im, &v, &n, x, y, NULL) != 0) {
        vips_failed("getpoint");
        return -1;
    }

    for (i = 0; i < n && i < 4; i++) {
        px[i] = v[i];
    }

    g_free(v);

    return n;
}


static int
near(const double *px, double r, double g, double b, double tol)
{
    return px[0] >= r - tol && px[0] <= r + tol
           && px[1] >= g - tol && px[1] <= g + tol
           && px[2] >= b - tol && px[2] <= b + tol;
}


static void
job_init(image_variant_job_t *job, const blob_t *src, unsigned w, unsigned h,
    image_variant_fit_e fit, image_variant_format_e format)
{
    memset(job, 0, sizeof(image_variant_job_t));

    job->data = src->data;
    job->len = src->len;
    job->params.width = w;
    job->params.height = h;
    job->params.fit = fit;
    job->params.gravity = IMAGE_VARIANT_GRAVITY_CENTRE;
    job->params.format = format;
    job->params.dpr = 1;
    job->params.background[0] = 255;
    job->params.background[1] = 255;
    job->params.background[2] = 255;
    job->accept = IMAGE_VARIANT_ACCEPT_LEGACY;
    job->max_pixels = 100000000;
}


static void
job_done(image_variant_job_t *job)
{
    image_variant_free(job->out);
    job->out = NULL;
}


/* render; on success, decode the output and check its loader and size */

static VipsImage *
render(image_variant_job_t *job)
{
    const char  *loader, *expect;
    VipsImage   *im;

    image_variant_render(job);

    if (job->status != IMAGE_VARIANT_DONE) {
        fprintf(stderr, "  render: status %d: %s\n", job->status, job->error);
        return NULL;
    }

    im = vips_image_new_from_buffer(job->out, job->out_len, "", NULL);
    if (im == NULL) {
        vips_failed("decode");
        return NULL;
    }

    switch (job->out_format) {
    case IMAGE_VARIANT_FORMAT_JPEG:  expect = "jpegload_buffer"; break;
    case IMAGE_VARIANT_FORMAT_PNG:   expect = "pngload_buffer"; break;
    case IMAGE_VARIANT_FORMAT_WEBP:  expect = "webpload_buffer"; break;
    case IMAGE_VARIANT_FORMAT_AVIF:  expect = "heifload_buffer"; break;
    default:                         expect = "?"; break;
    }

    if (vips_image_get_string(im, "vips-loader", &loader) != 0) {
        loader = "";
    }

    CHECK_STR(loader, expect);
    CHECK_INT(im->Xsize, job->out_width);
    CHECK_INT(im->Ysize, job->out_height);
    CHECK_INT(im->BandFmt, VIPS_FORMAT_UCHAR);

    return im;
}


static void
put(blob_t *b, void *data, size_t len, int rc, const char *what)
{
    if (rc != 0) {
        vips_failed(what);
        b->data = NULL;
        b->len = 0;
        return;
    }

    b->data = data;
    b->len = len;
}


/* the fixtures */

UNIT_TEST(test_init)
{
    int         rc;
    char        err[256];
    void       *buf;
    size_t      len;
    VipsImage  *im, *t[6];
    VipsImage  *frames[2];

    err[0] = '\0';
    rc = image_variant_init("test_image_variant_vips", err, sizeof(err));
    CHECK_INT(rc, 0);
    if (rc != 0) {
        fprintf(stderr, "init: %s\n", err);
        exit(1);
    }

    memset(t, 0, sizeof(t));

    im = gradient(1200, 800);
    rc = vips_jpegsave_buffer(im, &buf, &len, "Q", 90, NULL);
    put(&fx.photo, buf, len, rc, "photo");

    rc = vips_tiffsave_buffer(im, &buf, &len, NULL);
    put(&fx.tiff, buf, len, rc, "tiff");

    rc = vips_webpsave_buffer(im, &buf, &len, "Q", 90, NULL);
    put(&fx.webp, buf, len, rc, "webp");

    rc = vips_heifsave_buffer(im, &buf, &len, "Q", 60, "compression",
                              VIPS_FOREIGN_HEIF_COMPRESSION_AV1,
                              "effort", 0, NULL);
    put(&fx.avif, buf, len, rc, "avif");

    rc = vips_heifsave_buffer(im, &buf, &len, "Q", 60, "compression",
                              VIPS_FOREIGN_HEIF_COMPRESSION_HEVC, NULL);
    put(&fx.heic, buf, len, rc, "heic");

    /* 16 bits: 200, 100, 50 as ushort RGB16 */
    g_object_unref(im);
    im = solid(300, 200, 200, 100, 50);
    if (vips_linear1(im, &t[0], 257.0, 0.0, NULL) == 0
        && vips_cast(t[0], &t[1], VIPS_FORMAT_USHORT, NULL) == 0
        && vips_copy(t[1], &t[2], "interpretation",
                     VIPS_INTERPRETATION_RGB16, NULL) == 0)
    {
        rc = vips_pngsave_buffer(t[2], &buf, &len, NULL);
        put(&fx.png16, buf, len, rc, "png16");

    } else {
        vips_failed("png16");
    }

    rc = vips_pngsave_buffer(im, &buf, &len, "palette", TRUE, NULL);
    put(&fx.palette, buf, len, rc, "palette");

    /* grey */
    if (vips_colourspace(im, &t[3], VIPS_INTERPRETATION_B_W, NULL) == 0) {
        rc = vips_jpegsave_buffer(t[3], &buf, &len, NULL);
        put(&fx.grey, buf, len, rc, "grey");
    }

    unref_all(t, 6);

    g_object_unref(im);

    /* EXIF orientation 6: the stored top-left is shown top-right */
    im = solid(1200, 800, 128, 128, 128);
    rect(im, 0, 0, 100, 100, 255, 0, 0);
    vips_image_set_int(im, VIPS_META_ORIENTATION, 6);
    rc = vips_jpegsave_buffer(im, &buf, &len, "Q", 90, NULL);
    put(&fx.rotated, buf, len, rc, "rotated");
    g_object_unref(im);

    /* CMYK: red left, blue right, through the built-in cmyk profile */
    im = solid(400, 200, 0, 0, 255);
    rect(im, 0, 0, 200, 200, 255, 0, 0);
    if (vips_icc_transform(im, &t[0], "cmyk", "input_profile", "srgb",
                           NULL) == 0)
    {
        CHECK_INT(t[0]->Type, VIPS_INTERPRETATION_CMYK);
        rc = vips_jpegsave_buffer(t[0], &buf, &len, "Q", 95, NULL);
        put(&fx.cmyk, buf, len, rc, "cmyk");

        if (vips_copy(t[0], &t[1], NULL) == 0) {
            vips_image_remove(t[1], VIPS_META_ICC_NAME);
            rc = vips_jpegsave_buffer(t[1], &buf, &len, "Q", 95, NULL);
            put(&fx.cmyk_bare, buf, len, rc, "cmyk_bare");
        }

    } else {
        vips_failed("icc_transform cmyk");
    }

    /* Display P3: sRGB red is about (234, 51, 35) there */
    if (vips_icc_transform(im, &t[2], "p3", "input_profile", "srgb",
                           NULL) == 0)
    {
        rc = vips_jpegsave_buffer(t[2], &buf, &len, "Q", 95, NULL);
        put(&fx.p3, buf, len, rc, "p3");

    } else {
        vips_failed("icc_transform p3");
    }

    unref_all(t, 6);

    g_object_unref(im);

    /* RGBA: opaque green left half, fully transparent right half */
    im = solid(200, 100, 0, 255, 0);
    if (vips_black(&t[0], 200, 100, NULL) == 0
        && (t[1] = vips_image_copy_memory(t[0])) != NULL)
    {
        double  on = 255.0;

        vips_draw_rect(t[1], &on, 1, 0, 0, 100, 100, "fill", TRUE, NULL);

        if (vips_cast(t[1], &t[2], VIPS_FORMAT_UCHAR, NULL) == 0
            && vips_bandjoin2(im, t[2], &t[3], NULL) == 0)
        {
            rc = vips_pngsave_buffer(t[3], &buf, &len, NULL);
            put(&fx.rgba, buf, len, rc, "rgba");
        }
    }

    unref_all(t, 6);

    g_object_unref(im);

    /* an animated GIF: two 120x80 frames stacked, red then blue */
    frames[0] = solid(120, 80, 255, 0, 0);
    frames[1] = solid(120, 80, 0, 0, 255);
    if (vips_arrayjoin(frames, &t[0], 2, "across", 1, NULL) == 0
        && vips_copy(t[0], &t[1], NULL) == 0)
    {
        vips_image_set_int(t[1], VIPS_META_PAGE_HEIGHT, 80);
        vips_image_set_int(t[1], VIPS_META_N_PAGES, 2);
        rc = vips_gifsave_buffer(t[1], &buf, &len, NULL);
        put(&fx.gif, buf, len, rc, "gif");
    }

    g_object_unref(frames[0]);
    g_object_unref(frames[1]);

    unref_all(t, 6);

    /* big: slow enough to decode and save that a time limit bites */
    im = gradient(4000, 4000);
    rc = vips_jpegsave_buffer(im, &buf, &len, "Q", 90, NULL);
    put(&fx.big, buf, len, rc, "big");
    g_object_unref(im);

    CHECK(fx.photo.data && fx.rotated.data && fx.cmyk.data
          && fx.cmyk_bare.data && fx.png16.data && fx.palette.data
          && fx.rgba.data && fx.gif.data && fx.webp.data && fx.avif.data
          && fx.heic.data && fx.tiff.data && fx.grey.data && fx.big.data);

    if (unit_checks_failed) {
        exit(1);
    }
}


/* the tests */

UNIT_TEST(test_orientation)
{
    double               px[4];
    VipsImage           *im;
    image_variant_job_t  job;

    /* 1200x800 stored, 800x1200 upright: width 400 gives 400x600 */
    job_init(&job, &fx.rotated, 400, 0, IMAGE_VARIANT_FIT_COVER,
             IMAGE_VARIANT_FORMAT_PNG);
    im = render(&job);
    CHECK(im != NULL);

    if (im) {
        CHECK_INT(im->Xsize, 400);
        CHECK_INT(im->Ysize, 600);

        pixel(im, 390, 10, px);
        CHECK(near(px, 255, 0, 0, 40));
        pixel(im, 10, 10, px);
        CHECK(near(px, 128, 128, 128, 20));
        pixel(im, 390, 590, px);
        CHECK(near(px, 128, 128, 128, 20));

        /* no orientation left to apply twice */
        CHECK(!vips_image_get_typeof(im, VIPS_META_EXIF_NAME));
        CHECK(vips_image_get_orientation(im) == 1);
        g_object_unref(im);
    }

    job_done(&job);

    /* rotation and a crop (thumbnail's in-memory path): still top-right */
    job_init(&job, &fx.rotated, 200, 300, IMAGE_VARIANT_FIT_COVER,
             IMAGE_VARIANT_FORMAT_JPEG);
    im = render(&job);
    CHECK(im != NULL);

    if (im) {
        CHECK_INT(im->Xsize, 200);
        CHECK_INT(im->Ysize, 300);

        pixel(im, 195, 5, px);
        CHECK(near(px, 255, 0, 0, 40));
        pixel(im, 5, 5, px);
        CHECK(near(px, 128, 128, 128, 20));
        g_object_unref(im);
    }

    job_done(&job);
}


UNIT_TEST(test_cmyk)
{
    int                  i;
    double               px[4];
    VipsImage           *im;
    image_variant_job_t  job;
    const blob_t        *src[2] = { &fx.cmyk, &fx.cmyk_bare };

    for (i = 0; i < 2; i++) {
        job_init(&job, src[i], 200, 100, IMAGE_VARIANT_FIT_FILL,
                 IMAGE_VARIANT_FORMAT_JPEG);
        im = render(&job);
        CHECK(im != NULL);

        if (im) {
            CHECK_INT(im->Bands, 3);
            CHECK_INT(im->Type, VIPS_INTERPRETATION_sRGB);

            /* red through CMYK is not quite 255, 0, 0: out of gamut */
            pixel(im, 50, 50, px);
            CHECK(px[0] > 190 && px[1] < 70 && px[2] < 70);
            if (!(px[0] > 190 && px[1] < 70 && px[2] < 70)) {
                fprintf(stderr, "  cmyk %d red: %.0f %.0f %.0f\n",
                        i, px[0], px[1], px[2]);
            }

            /* sRGB blue is far out of the CMYK gamut: about 12, 72, 144 */
            pixel(im, 150, 50, px);
            CHECK(px[2] > 120 && px[0] < 50 && px[2] > px[1] + 40);
            if (!(px[2] > 120 && px[0] < 50 && px[2] > px[1] + 40)) {
                fprintf(stderr, "  cmyk %d blue: %.0f %.0f %.0f\n",
                        i, px[0], px[1], px[2]);
            }

            g_object_unref(im);
        }

        job_done(&job);
    }
}


UNIT_TEST(test_icc_p3)
{
    double               px[4];
    VipsImage           *im;
    image_variant_job_t  job;

    /* without the transform, red would stay about (234, 51, 35) */
    job_init(&job, &fx.p3, 100, 50, IMAGE_VARIANT_FIT_FILL,
             IMAGE_VARIANT_FORMAT_PNG);
    im = render(&job);
    CHECK(im != NULL);

    if (im) {
        pixel(im, 20, 25, px);
        CHECK(near(px, 255, 0, 0, 12));
        if (!near(px, 255, 0, 0, 12)) {
            fprintf(stderr, "  p3 red: %.0f %.0f %.0f\n",
                    px[0], px[1], px[2]);
        }

        CHECK(!vips_image_get_typeof(im, VIPS_META_ICC_NAME));
        g_object_unref(im);
    }

    job_done(&job);
}


UNIT_TEST(test_png16_palette)
{
    int                  i;
    double               px[4];
    VipsImage           *im;
    image_variant_job_t  job;
    const blob_t        *src[2] = { &fx.png16, &fx.palette };

    for (i = 0; i < 2; i++) {
        job_init(&job, src[i], 150, 0, IMAGE_VARIANT_FIT_COVER,
                 IMAGE_VARIANT_FORMAT_PNG);
        im = render(&job);
        CHECK(im != NULL);

        if (im) {
            CHECK_INT(im->Xsize, 150);
            CHECK_INT(im->Ysize, 100);
            CHECK_INT(im->Bands, 3);
            CHECK_INT(im->BandFmt, VIPS_FORMAT_UCHAR);
            CHECK_INT(im->Type, VIPS_INTERPRETATION_sRGB);

            pixel(im, 75, 50, px);
            CHECK(near(px, 200, 100, 50, 3));
            g_object_unref(im);
        }

        job_done(&job);
    }

    /* greyscale comes out as sRGB too */
    job_init(&job, &fx.grey, 60, 0, IMAGE_VARIANT_FIT_COVER,
             IMAGE_VARIANT_FORMAT_JPEG);
    im = render(&job);
    CHECK(im != NULL);

    if (im) {
        CHECK_INT(im->Bands, 3);
        g_object_unref(im);
    }

    job_done(&job);
}


UNIT_TEST(test_alpha)
{
    double               px[4];
    VipsImage           *im;
    image_variant_job_t  job;

    /* JPEG: flattened onto the background */
    job_init(&job, &fx.rgba, 200, 100, IMAGE_VARIANT_FIT_FILL,
             IMAGE_VARIANT_FORMAT_JPEG);
    job.params.background[0] = 10;
    job.params.background[1] = 20;
    job.params.background[2] = 200;
    im = render(&job);
    CHECK(im != NULL);

    if (im) {
        CHECK_INT(im->Bands, 3);
        pixel(im, 150, 50, px);
        CHECK(near(px, 10, 20, 200, 6));
        pixel(im, 50, 50, px);
        CHECK(near(px, 0, 255, 0, 6));
        g_object_unref(im);
    }

    job_done(&job);

    /* PNG, WebP and AVIF keep it */
    job_init(&job, &fx.rgba, 200, 100, IMAGE_VARIANT_FIT_FILL,
             IMAGE_VARIANT_FORMAT_PNG);
    im = render(&job);
    CHECK(im != NULL);

    if (im) {
        CHECK_INT(im->Bands, 4);
        CHECK_INT(pixel(im, 150, 50, px), 4);
        CHECK(px[3] == 0);
        CHECK_INT(pixel(im, 50, 50, px), 4);
        CHECK(near(px, 0, 255, 0, 0) && px[3] == 255);
        g_object_unref(im);
    }

    job_done(&job);

    job_init(&job, &fx.rgba, 200, 100, IMAGE_VARIANT_FIT_FILL,
             IMAGE_VARIANT_FORMAT_WEBP);
    im = render(&job);
    CHECK(im != NULL);

    if (im) {
        CHECK_INT(im->Bands, 4);
        g_object_unref(im);
    }

    job_done(&job);

    job_init(&job, &fx.rgba, 200, 100, IMAGE_VARIANT_FIT_FILL,
             IMAGE_VARIANT_FORMAT_AVIF);
    im = render(&job);
    CHECK(im != NULL);

    if (im) {
        CHECK_INT(im->Bands, 4);
        pixel(im, 150, 50, px);
        CHECK(px[3] < 5);
        g_object_unref(im);
    }

    job_done(&job);
}


/*
 * A stand-in for the face detector: the box of the pure red pixels it is
 * shown, and the size it was shown (no side over IMAGE_VARIANT_FACE_SIDE).
 */

typedef struct {
    int   width;
    int   height;
    int   calls;
    int   none;             /* answer no face */
} fake_faces_t;


static int
fake_faces(void *data, const uint8_t *rgb, int width, int height,
    image_variant_face_box_t *boxes, size_t max)
{
    int            x, y, x0, y0, x1, y1;
    const uint8_t *p;
    fake_faces_t  *ff = data;

    ff->width = width;
    ff->height = height;
    ff->calls++;

    x0 = width;
    y0 = height;
    x1 = -1;
    y1 = -1;

    for (y = 0; y < height; y++) {
        for (x = 0; x < width; x++) {
            p = rgb + ((size_t) y * width + x) * 3;

            if (p[0] > 200 && p[1] < 60 && p[2] < 60) {
                x0 = x < x0 ? x : x0;
                y0 = y < y0 ? y : y0;
                x1 = x > x1 ? x : x1;
                y1 = y > y1 ? y : y1;
            }
        }
    }

    if (ff->none || x1 < 0 || max == 0) {
        return 0;
    }

    boxes[0].x = x0;
    boxes[0].y = y0;
    boxes[0].w = x1 - x0 + 1;
    boxes[0].h = y1 - y0 + 1;

    return 1;
}


UNIT_TEST(test_gravity_face)
{
    int                   rc;
    void                 *buf;
    size_t                len;
    double                px[4];
    blob_t                src;
    VipsImage            *im, *out;
    fake_faces_t          ff;
    image_variant_job_t   job;

    /* 1200x600 grey, a red "face" of 100x100 at the right edge */
    im = solid(1200, 600, 128, 128, 128);
    if (im == NULL) {
        return;
    }

    rect(im, 1080, 250, 100, 100, 255, 0, 0);
    rc = vips_pngsave_buffer(im, &buf, &len, NULL);
    g_object_unref(im);
    put(&src, buf, len, rc, "face source");

    /* a 300x300 square: the window goes right, the face whole in it */
    memset(&ff, 0, sizeof(ff));
    job_init(&job, &src, 300, 300, IMAGE_VARIANT_FIT_COVER,
             IMAGE_VARIANT_FORMAT_PNG);
    job.params.gravity = IMAGE_VARIANT_GRAVITY_FACE;
    job.faces = fake_faces;
    job.faces_data = &ff;

    out = render(&job);
    CHECK(out != NULL);
    CHECK_INT(job.out_faces, 1);
    CHECK_INT(ff.calls, 1);
    /* the cover size 600x300, shown at 512x256 */
    CHECK_INT(ff.width, IMAGE_VARIANT_FACE_SIDE);
    CHECK_INT(ff.height, IMAGE_VARIANT_FACE_SIDE / 2);

    if (out) {
        /* the face at 540..590 of 600: 240..290 of the window 300..600 */
        CHECK(pixel(out, 265, 150, px) >= 3 && near(px, 255, 0, 0, 8));
        CHECK(pixel(out, 245, 130, px) >= 3 && near(px, 255, 0, 0, 8));
        CHECK(pixel(out, 285, 170, px) >= 3 && near(px, 255, 0, 0, 8));
        CHECK(pixel(out, 230, 150, px) >= 3 && near(px, 128, 128, 128, 8));
        g_object_unref(out);
    }

    job_done(&job);

    /* the centre crop cuts the face off: the control */
    job_init(&job, &src, 300, 300, IMAGE_VARIANT_FIT_COVER,
             IMAGE_VARIANT_FORMAT_PNG);
    out = render(&job);
    CHECK(out != NULL);

    if (out) {
        CHECK(pixel(out, 265, 150, px) >= 3 && near(px, 128, 128, 128, 8));
        g_object_unref(out);
    }

    job_done(&job);

    /* no face found, or no detector: attention, still 300x300 */
    memset(&ff, 0, sizeof(ff));
    ff.none = 1;
    job_init(&job, &src, 300, 300, IMAGE_VARIANT_FIT_COVER,
             IMAGE_VARIANT_FORMAT_PNG);
    job.params.gravity = IMAGE_VARIANT_GRAVITY_FACE;
    job.faces = fake_faces;
    job.faces_data = &ff;
    out = render(&job);
    CHECK(out != NULL);
    CHECK_INT(job.out_faces, 0);
    CHECK_INT(ff.calls, 1);
    if (out) {
        g_object_unref(out);
    }
    job_done(&job);

    job_init(&job, &src, 300, 300, IMAGE_VARIANT_FIT_COVER,
             IMAGE_VARIANT_FORMAT_PNG);
    job.params.gravity = IMAGE_VARIANT_GRAVITY_FACE;
    out = render(&job);
    CHECK(out != NULL);
    CHECK_INT(job.out_faces, 0);
    if (out) {
        g_object_unref(out);
    }
    job_done(&job);

    /* a banner from the same: the face in it, the detector asked once */
    memset(&ff, 0, sizeof(ff));
    job_init(&job, &src, 600, 100, IMAGE_VARIANT_FIT_COVER,
             IMAGE_VARIANT_FORMAT_PNG);
    job.params.gravity = IMAGE_VARIANT_GRAVITY_FACE;
    job.faces = fake_faces;
    job.faces_data = &ff;
    out = render(&job);
    CHECK(out != NULL);
    CHECK_INT(job.out_faces, 1);

    if (out) {
        /* 1200x600 scaled to 600x300: the face at y 125..175 */
        CHECK_INT(out->Ysize, 100);
        CHECK(pixel(out, 565, 50, px) >= 3 && near(px, 255, 0, 0, 8));
        g_object_unref(out);
    }

    job_done(&job);

    /* the box's aspect already: nothing to place, no detection */
    memset(&ff, 0, sizeof(ff));
    job_init(&job, &src, 400, 200, IMAGE_VARIANT_FIT_COVER,
             IMAGE_VARIANT_FORMAT_PNG);
    job.params.gravity = IMAGE_VARIANT_GRAVITY_FACE;
    job.faces = fake_faces;
    job.faces_data = &ff;
    out = render(&job);
    CHECK(out != NULL);
    CHECK_INT(ff.calls, 0);
    if (out) {
        g_object_unref(out);
    }
    job_done(&job);

    g_free(src.data);
}


UNIT_TEST(test_fit)
{
    size_t               i;
    double               px[4];
    VipsImage           *im;
    image_variant_job_t  job;

    static const struct {
        unsigned              w, h;
        image_variant_fit_e   fit;
        image_variant_gravity_e  gravity;
        int                   ow, oh;
    } cases[] = {
        { 256, 256, IMAGE_VARIANT_FIT_COVER, IMAGE_VARIANT_GRAVITY_CENTRE,
          256, 256 },
        { 256, 256, IMAGE_VARIANT_FIT_COVER, IMAGE_VARIANT_GRAVITY_ATTENTION,
          256, 256 },
        { 100, 300, IMAGE_VARIANT_FIT_COVER, IMAGE_VARIANT_GRAVITY_ENTROPY,
          100, 300 },
        { 256, 256, IMAGE_VARIANT_FIT_CONTAIN, IMAGE_VARIANT_GRAVITY_CENTRE,
          256, 256 },
        { 256, 256, IMAGE_VARIANT_FIT_INSIDE, IMAGE_VARIANT_GRAVITY_CENTRE,
          256, 171 },
        { 600, 100, IMAGE_VARIANT_FIT_INSIDE, IMAGE_VARIANT_GRAVITY_CENTRE,
          150, 100 },
        { 256, 256, IMAGE_VARIANT_FIT_FILL, IMAGE_VARIANT_GRAVITY_CENTRE,
          256, 256 },
        { 300, 0, IMAGE_VARIANT_FIT_COVER, IMAGE_VARIANT_GRAVITY_CENTRE,
          300, 200 },
        { 0, 100, IMAGE_VARIANT_FIT_FILL, IMAGE_VARIANT_GRAVITY_CENTRE,
          150, 100 },
        { 0, 0, IMAGE_VARIANT_FIT_COVER, IMAGE_VARIANT_GRAVITY_CENTRE,
          1200, 800 },
        { 2400, 0, IMAGE_VARIANT_FIT_INSIDE, IMAGE_VARIANT_GRAVITY_CENTRE,
          2400, 1600 }
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        job_init(&job, &fx.photo, cases[i].w, cases[i].h, cases[i].fit,
                 IMAGE_VARIANT_FORMAT_JPEG);
        job.params.gravity = cases[i].gravity;
        im = render(&job);
        CHECK(im != NULL);

        if (im) {
            if (im->Xsize != cases[i].ow || im->Ysize != cases[i].oh) {
                fprintf(stderr, "  case %zu: %dx%d, expected %dx%d\n", i,
                        im->Xsize, im->Ysize, cases[i].ow, cases[i].oh);
            }

            CHECK_INT(im->Xsize, cases[i].ow);
            CHECK_INT(im->Ysize, cases[i].oh);
            g_object_unref(im);
        }

        job_done(&job);
    }

    /* contain: 256x171 inside, padded above and below with the colour */
    job_init(&job, &fx.photo, 256, 256, IMAGE_VARIANT_FIT_CONTAIN,
             IMAGE_VARIANT_FORMAT_PNG);
    job.params.background[0] = 255;
    job.params.background[1] = 0;
    job.params.background[2] = 255;
    im = render(&job);
    CHECK(im != NULL);

    if (im) {
        CHECK_INT(im->Bands, 3);
        pixel(im, 128, 5, px);
        CHECK(near(px, 255, 0, 255, 0));
        pixel(im, 128, 250, px);
        CHECK(near(px, 255, 0, 255, 0));
        pixel(im, 128, 128, px);
        CHECK(!near(px, 255, 0, 255, 30));
        g_object_unref(im);
    }

    job_done(&job);

    /* contain with alpha kept: the padding is opaque background */
    job_init(&job, &fx.rgba, 100, 100, IMAGE_VARIANT_FIT_CONTAIN,
             IMAGE_VARIANT_FORMAT_PNG);
    job.params.background[0] = 1;
    job.params.background[1] = 2;
    job.params.background[2] = 3;
    im = render(&job);
    CHECK(im != NULL);

    if (im) {
        CHECK_INT(im->Xsize, 100);
        CHECK_INT(im->Ysize, 100);
        CHECK_INT(pixel(im, 50, 2, px), 4);
        CHECK(near(px, 1, 2, 3, 0) && px[3] == 255);
        g_object_unref(im);
    }

    job_done(&job);
}


UNIT_TEST(test_format_auto)
{
    size_t               i;
    VipsImage           *im;
    image_variant_job_t  job;

    static const struct {
        int                     alpha;
        image_variant_accept_e  accept;
        image_variant_format_e  expect;
    } cases[] = {
        { 0, IMAGE_VARIANT_ACCEPT_LEGACY, IMAGE_VARIANT_FORMAT_JPEG },
        { 0, IMAGE_VARIANT_ACCEPT_WEBP, IMAGE_VARIANT_FORMAT_WEBP },
        { 0, IMAGE_VARIANT_ACCEPT_AVIF, IMAGE_VARIANT_FORMAT_AVIF },
        { 1, IMAGE_VARIANT_ACCEPT_LEGACY, IMAGE_VARIANT_FORMAT_PNG },
        { 1, IMAGE_VARIANT_ACCEPT_WEBP, IMAGE_VARIANT_FORMAT_WEBP },
        { 1, IMAGE_VARIANT_ACCEPT_AVIF, IMAGE_VARIANT_FORMAT_AVIF }
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        job_init(&job, cases[i].alpha ? &fx.rgba : &fx.photo, 64, 64,
                 IMAGE_VARIANT_FIT_COVER, IMAGE_VARIANT_FORMAT_AUTO);
        job.accept = cases[i].accept;
        im = render(&job);
        CHECK(im != NULL);
        CHECK_INT(job.out_format, cases[i].expect);

        if (im) {
            CHECK_INT(im->Bands, cases[i].alpha ? 4 : 3);
            g_object_unref(im);
        }

        job_done(&job);
    }

    /*
     * An alpha band that is 255 everywhere (an RGBA PNG of a photo, a
     * gif2webp output) is not transparency: JPEG, not a PNG ten times its
     * size.  A clear square in the middle is transparency.
     */
    for (i = 0; i < 2; i++) {
        blob_t      opaque;
        VipsImage  *t[3];

        memset(t, 0, sizeof(t));
        opaque.data = NULL;

        if (vips_black(&t[0], 300, 200, "bands", 3, NULL) != 0
            || vips_linear1(t[0], &t[1], 1.0, 100.0,
                            "uchar", TRUE, NULL) != 0
            || vips_bandjoin_const1(t[1], &t[2], 255.0, NULL) != 0
            || (i == 1 && vips_draw_rect1(t[2], 0.0, 130, 80, 40, 40,
                                          "fill", TRUE, NULL) != 0)
            || vips_pngsave_buffer(t[2], &opaque.data, &opaque.len, NULL)
               != 0)
        {
            vips_failed("opaque RGBA");
        }

        unref_all(t, 3);
        CHECK(opaque.data != NULL);

        if (opaque.data == NULL) {
            continue;
        }

        job_init(&job, &opaque, 64, 64, IMAGE_VARIANT_FIT_COVER,
                 IMAGE_VARIANT_FORMAT_AUTO);
        im = render(&job);
        CHECK(im != NULL);
        CHECK_INT(job.out_format, i == 0 ? IMAGE_VARIANT_FORMAT_JPEG
                                         : IMAGE_VARIANT_FORMAT_PNG);

        if (im) {
            CHECK_INT(im->Bands, i == 0 ? 3 : 4);
            g_object_unref(im);
        }

        job_done(&job);
        g_free(opaque.data);
    }

    /* AVIF is AV1 in HEIF */
    job_init(&job, &fx.photo, 64, 64, IMAGE_VARIANT_FIT_COVER,
             IMAGE_VARIANT_FORMAT_AVIF);
    im = render(&job);
    CHECK(im != NULL);

    if (im) {
        const char  *c = "";

        vips_image_get_string(im, "heif-compression", &c);
        CHECK_STR(c, "av1");
        g_object_unref(im);
    }

    job_done(&job);

    CHECK_STR(image_variant_mime(IMAGE_VARIANT_FORMAT_JPEG), "image/jpeg");
    CHECK_STR(image_variant_mime(IMAGE_VARIANT_FORMAT_PNG), "image/png");
    CHECK_STR(image_variant_mime(IMAGE_VARIANT_FORMAT_WEBP), "image/webp");
    CHECK_STR(image_variant_mime(IMAGE_VARIANT_FORMAT_AVIF), "image/avif");
    CHECK(image_variant_mime(IMAGE_VARIANT_FORMAT_AUTO) == NULL);
}


UNIT_TEST(test_quality_defaults)
{
    int                     i;
    void                   *first;
    size_t                  first_len;
    image_variant_job_t     job;

    static const struct {
        image_variant_format_e  format;
        unsigned                q;
    } cases[] = {
        { IMAGE_VARIANT_FORMAT_JPEG, 80 },
        { IMAGE_VARIANT_FORMAT_WEBP, 80 },
        { IMAGE_VARIANT_FORMAT_AVIF, 50 }
    };

    /* quality 0 gives the same bytes as the documented default */
    for (i = 0; i < 3; i++) {
        job_init(&job, &fx.photo, 120, 80, IMAGE_VARIANT_FIT_FILL,
                 cases[i].format);
        image_variant_render(&job);
        CHECK_INT(job.status, IMAGE_VARIANT_DONE);
        first = job.out;
        first_len = job.out_len;

        job_init(&job, &fx.photo, 120, 80, IMAGE_VARIANT_FIT_FILL,
                 cases[i].format);
        job.params.quality = cases[i].q;
        image_variant_render(&job);
        CHECK_INT(job.status, IMAGE_VARIANT_DONE);
        CHECK(job.out_len == first_len
              && memcmp(job.out, first, first_len) == 0);
        job_done(&job);

        /* and another quality gives other bytes */
        job_init(&job, &fx.photo, 120, 80, IMAGE_VARIANT_FIT_FILL,
                 cases[i].format);
        job.params.quality = cases[i].q - 30;
        image_variant_render(&job);
        CHECK_INT(job.status, IMAGE_VARIANT_DONE);
        CHECK(job.out_len != first_len
              || memcmp(job.out, first, first_len) != 0);
        job_done(&job);

        image_variant_free(first);
    }
}


UNIT_TEST(test_inputs)
{
    size_t               i;
    double               px[4];
    VipsImage           *im;
    image_variant_job_t  job;

    static const struct {
        const char  *name;
        blob_t      *src;
    } cases[] = {
        { "tiff", &fx.tiff },
        { "webp", &fx.webp },
        { "avif", &fx.avif },
        { "heic", &fx.heic },
        { "jpeg", &fx.photo }
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        job_init(&job, cases[i].src, 300, 200, IMAGE_VARIANT_FIT_COVER,
                 IMAGE_VARIANT_FORMAT_JPEG);
        im = render(&job);
        CHECK(im != NULL);

        if (im == NULL) {
            fprintf(stderr, "  input %s failed\n", cases[i].name);
            continue;
        }

        CHECK_INT(im->Xsize, 300);
        CHECK_INT(im->Ysize, 200);

        /* the gradient: red grows left to right, blue stays 128 */
        pixel(im, 10, 100, px);
        CHECK(px[0] < 40 && px[2] > 100 && px[2] < 156);
        pixel(im, 290, 100, px);
        CHECK(px[0] > 215);

        g_object_unref(im);
        job_done(&job);
    }

    /* WebP shrink-on-load (scale) keeps the exact size */
    job_init(&job, &fx.webp, 100, 100, IMAGE_VARIANT_FIT_COVER,
             IMAGE_VARIANT_FORMAT_WEBP);
    im = render(&job);
    CHECK(im != NULL);

    if (im) {
        CHECK_INT(im->Xsize, 100);
        CHECK_INT(im->Ysize, 100);
        g_object_unref(im);
    }

    job_done(&job);
}


UNIT_TEST(test_gif_first_frame)
{
    double               px[4];
    VipsImage           *im;
    image_variant_job_t  job;

    job_init(&job, &fx.gif, 0, 0, IMAGE_VARIANT_FIT_COVER,
             IMAGE_VARIANT_FORMAT_PNG);
    im = render(&job);
    CHECK(im != NULL);

    if (im) {
        CHECK_INT(im->Xsize, 120);
        CHECK_INT(im->Ysize, 80);
        pixel(im, 60, 70, px);
        CHECK(near(px, 255, 0, 0, 2));
        g_object_unref(im);
    }

    job_done(&job);
}


UNIT_TEST(test_stripped)
{
    int                  i;
    VipsImage           *im;
    image_variant_job_t  job;

    static const image_variant_format_e  formats[] = {
        IMAGE_VARIANT_FORMAT_JPEG, IMAGE_VARIANT_FORMAT_PNG,
        IMAGE_VARIANT_FORMAT_WEBP, IMAGE_VARIANT_FORMAT_AVIF
    };

    /* the sources have EXIF (orientation 6) or an ICC profile (P3) */
    for (i = 0; i < 8; i++) {
        job_init(&job, i & 1 ? &fx.p3 : &fx.rotated, 80, 80,
                 IMAGE_VARIANT_FIT_COVER, formats[i / 2]);
        im = render(&job);
        CHECK(im != NULL);

        if (im) {
            CHECK(!vips_image_get_typeof(im, VIPS_META_EXIF_NAME));
            CHECK(!vips_image_get_typeof(im, VIPS_META_XMP_NAME));
            CHECK(!vips_image_get_typeof(im, VIPS_META_IPTC_NAME));
            CHECK(!vips_image_get_typeof(im, VIPS_META_ICC_NAME));
            g_object_unref(im);
        }

        job_done(&job);
    }

    /* the progressive JPEG marker */
    job_init(&job, &fx.photo, 80, 80, IMAGE_VARIANT_FIT_COVER,
             IMAGE_VARIANT_FORMAT_JPEG);
    im = render(&job);
    CHECK(im != NULL);

    if (im) {
        int  multiscan = 0;

        vips_image_get_int(im, "jpeg-multiscan", &multiscan);
        CHECK_INT(multiscan, 1);
        g_object_unref(im);
    }

    job_done(&job);
}


/* a PNG whose IHDR says 30000x30000, with a valid CRC, and 16x16 data */

UNIT_TEST(test_bomb)
{
    double               t0, ms;
    void                *buf;
    size_t               len;
    uint32_t             crc;
    VipsImage           *im;
    unsigned char       *p;
    blob_t               bomb;
    image_variant_job_t  job;

    im = solid(16, 16, 1, 2, 3);
    CHECK(vips_pngsave_buffer(im, &buf, &len, NULL) == 0);
    g_object_unref(im);

    p = buf;
    CHECK(len > 33 && memcmp(p + 12, "IHDR", 4) == 0);

    p[16] = 0; p[17] = 0; p[18] = 30000 >> 8; p[19] = 30000 & 0xff;
    p[20] = 0; p[21] = 0; p[22] = 30000 >> 8; p[23] = 30000 & 0xff;

    crc = (uint32_t) crc32(0L, p + 12, 17);
    p[29] = crc >> 24;
    p[30] = crc >> 16;
    p[31] = crc >> 8;
    p[32] = crc;

    bomb.data = buf;
    bomb.len = len;

    job_init(&job, &bomb, 256, 256, IMAGE_VARIANT_FIT_COVER,
             IMAGE_VARIANT_FORMAT_JPEG);

    t0 = now_ms();
    image_variant_render(&job);
    ms = now_ms() - t0;

    CHECK_INT(job.status, IMAGE_VARIANT_E_TOO_LARGE);
    CHECK(job.out == NULL);
    /* decoding 900 Mpx would take seconds */
    CHECK(ms < 250);
    CHECK(strstr(job.error, "30000x30000") != NULL);

    /* allowed, it is still not an image: the data runs out at once */
    job.max_pixels = 1000000000;
    t0 = now_ms();
    image_variant_render(&job);
    ms = now_ms() - t0;

    CHECK_INT(job.status, IMAGE_VARIANT_E_NOT_IMAGE);
    CHECK(ms < 500);
    job_done(&job);

    /* an ordinary image over a small limit */
    job_init(&job, &fx.photo, 256, 256, IMAGE_VARIANT_FIT_COVER,
             IMAGE_VARIANT_FORMAT_JPEG);
    job.max_pixels = 1200 * 800 - 1;
    image_variant_render(&job);
    CHECK_INT(job.status, IMAGE_VARIANT_E_TOO_LARGE);
    job.max_pixels = 1200 * 800;
    image_variant_render(&job);
    CHECK_INT(job.status, IMAGE_VARIANT_DONE);
    job_done(&job);

    /* pages count: two GIF frames of 120x80 */
    job_init(&job, &fx.gif, 0, 0, IMAGE_VARIANT_FIT_COVER,
             IMAGE_VARIANT_FORMAT_PNG);
    job.max_pixels = 120 * 80 * 2 - 1;
    image_variant_render(&job);
    CHECK_INT(job.status, IMAGE_VARIANT_E_TOO_LARGE);
    job_done(&job);

    g_free(buf);
}


UNIT_TEST(test_not_image)
{
    size_t               i;
    uint32_t             x;
    VipsImage           *im;
    unsigned char        noise[4096];
    blob_t               b;
    image_variant_job_t  job;

    static const char    svg[] =
        "<?xml version=\"1.0\"?>\n"
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"64\" "
        "height=\"64\"><rect width=\"64\" height=\"64\" fill=\"red\"/>"
        "</svg>\n";

    static const char    pdf[] =
        "%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n"
        "%%EOF\n";

    /* truncated JPEG: the header is fine, the scan data runs out */
    b.data = fx.photo.data;
    b.len = fx.photo.len * 6 / 10;
    job_init(&job, &b, 256, 256, IMAGE_VARIANT_FIT_COVER,
             IMAGE_VARIANT_FORMAT_JPEG);
    image_variant_render(&job);
    CHECK_INT(job.status, IMAGE_VARIANT_E_NOT_IMAGE);
    CHECK(job.out == NULL);
    CHECK(job.error[0] != '\0');

    /* and without a crop, where the saver meets the damage */
    job_init(&job, &b, 256, 0, IMAGE_VARIANT_FIT_INSIDE,
             IMAGE_VARIANT_FORMAT_WEBP);
    image_variant_render(&job);
    CHECK_INT(job.status, IMAGE_VARIANT_E_NOT_IMAGE);
    CHECK(job.out == NULL);

    /* cut inside the header */
    job.len = 100;
    image_variant_render(&job);
    CHECK_INT(job.status, IMAGE_VARIANT_E_NOT_IMAGE);

    job.len = 0;
    image_variant_render(&job);
    CHECK_INT(job.status, IMAGE_VARIANT_E_NOT_IMAGE);

    /* random bytes */
    x = 12345;
    for (i = 0; i < sizeof(noise); i++) {
        x = x * 1103515245 + 12345;
        noise[i] = x >> 16;
    }

    job.data = noise;
    job.len = sizeof(noise);
    image_variant_render(&job);
    CHECK_INT(job.status, IMAGE_VARIANT_E_NOT_IMAGE);

    /* blocked loaders: SVG and PDF */
    job.data = svg;
    job.len = sizeof(svg) - 1;
    image_variant_render(&job);
    CHECK_INT(job.status, IMAGE_VARIANT_E_NOT_IMAGE);
    CHECK(strstr(job.error, "Svg") != NULL);

    job.data = pdf;
    job.len = sizeof(pdf) - 1;
    image_variant_render(&job);
    CHECK_INT(job.status, IMAGE_VARIANT_E_NOT_IMAGE);
    CHECK(strstr(job.error, "Pdf") != NULL);

    /* libvips itself refuses SVG after init, whoever asks */
    im = vips_image_new_from_buffer(svg, sizeof(svg) - 1, "", NULL);
    CHECK(im == NULL);
    if (im) {
        g_object_unref(im);
    }

    vips_error_clear();
}


/*
 * One rule for truncated JPEGs whatever the preset (fail_on "truncated",
 * a missing final EOI tolerated): a 1200x800 baseline JPEG without its EOI
 * is an image for a crop of its middle rows (a wide box) and for the whole
 * (fit inside), where it was 415 before; cut at 90% of its bytes, it is
 * 415 for both, where the wide crop, never reaching the cut, was 200.
 * The same file with trailing bytes after its EOI is an image.
 */

UNIT_TEST(test_truncated)
{
    int                  i, k;
    blob_t               b;
    unsigned char       *buf;
    image_variant_job_t  job;

    static const struct {
        unsigned             w, h;
        image_variant_fit_e  fit;
    } presets[] = {
        { 400, 100, IMAGE_VARIANT_FIT_COVER },
        { 100, 100, IMAGE_VARIANT_FIT_INSIDE }
    };

    buf = g_malloc(fx.photo.len + 100);
    memcpy(buf, fx.photo.data, fx.photo.len);
    memset(buf + fx.photo.len, 0, 100);

    CHECK(fx.photo.len > 2 && buf[fx.photo.len - 2] == 0xff
          && buf[fx.photo.len - 1] == 0xd9);

    for (k = 0; k < 3; k++) {
        b.data = buf;
        b.len = k == 0 ? fx.photo.len - 2          /* no EOI */
                : k == 1 ? fx.photo.len * 9 / 10    /* cut */
                : fx.photo.len + 100;               /* trailing zeros */

        for (i = 0; i < 2; i++) {
            job_init(&job, &b, presets[i].w, presets[i].h, presets[i].fit,
                     IMAGE_VARIANT_FORMAT_JPEG);
            image_variant_render(&job);

            if (k == 1) {
                CHECK_INT(job.status, IMAGE_VARIANT_E_NOT_IMAGE);
                CHECK(strstr(job.error, "truncated") != NULL);

            } else {
                CHECK_INT(job.status, IMAGE_VARIANT_DONE);
            }

            if (job.status != (k == 1 ? IMAGE_VARIANT_E_NOT_IMAGE
                                      : IMAGE_VARIANT_DONE))
            {
                fprintf(stderr, "case %d, preset %d: %s\n", k, i,
                        job.error);
            }

            job_done(&job);
        }
    }

    g_free(buf);
}


UNIT_TEST(test_timeout)
{
    double               t0, full, ms;
    VipsImage           *im;
    image_variant_job_t  job;

    /* 4000x4000 to a PNG of the same size: decode and save take long */
    job_init(&job, &fx.big, 0, 0, IMAGE_VARIANT_FIT_INSIDE,
             IMAGE_VARIANT_FORMAT_PNG);

    t0 = now_ms();
    image_variant_render(&job);
    full = now_ms() - t0;
    CHECK_INT(job.status, IMAGE_VARIANT_DONE);
    job_done(&job);

    job.timeout_ms = 1;
    t0 = now_ms();
    image_variant_render(&job);
    ms = now_ms() - t0;
    CHECK_INT(job.status, IMAGE_VARIANT_E_TIMEOUT);
    CHECK(job.out == NULL);
    CHECK(ms < full / 4);

    /*
     * Past the setup (a millisecond), the deadline falls inside the saver:
     * the kill.  An eighth of the full time leaves room for a busy machine.
     */
    job.timeout_ms = full / 8 > 20 ? (unsigned) (full / 8) : 20;
    t0 = now_ms();
    image_variant_render(&job);
    ms = now_ms() - t0;
    CHECK_INT(job.status, IMAGE_VARIANT_E_TIMEOUT);
    CHECK(job.out == NULL);
    CHECK(ms < full / 2);
    CHECK(strstr(job.error, "killed") != NULL);
    if (ms >= full / 2 || strstr(job.error, "killed") == NULL) {
        fprintf(stderr, "  stopped after %.0f ms, full %.0f ms: %s\n", ms,
                full, job.error);
    }

    /* a crop computes inside thumbnail: the kill reaches there too */
    job_init(&job, &fx.big, 2000, 1500, IMAGE_VARIANT_FIT_COVER,
             IMAGE_VARIANT_FORMAT_JPEG);
    job.timeout_ms = 5;
    image_variant_render(&job);
    CHECK_INT(job.status, IMAGE_VARIANT_E_TIMEOUT);
    CHECK(job.out == NULL);

    /* a generous limit changes nothing */
    job_init(&job, &fx.photo, 64, 64, IMAGE_VARIANT_FIT_COVER,
             IMAGE_VARIANT_FORMAT_JPEG);
    job.timeout_ms = 60000;
    im = render(&job);
    CHECK(im != NULL);
    if (im) {
        g_object_unref(im);
    }

    job_done(&job);
}


/*
 * Failed renders leave no libvips object behind: libvips 8.14.1's
 * webpsave leaks its pipeline when the pixels fail, the module works
 * around it.
 */

static void *
count_object(void *object, void *a, void *b)
{
    (void) object;
    (void) b;

    (*(int *) a)++;

    return NULL;
}


static int
live_objects(void)
{
    int  n;

    n = 0;
    vips_object_map(count_object, &n, NULL);

    return n;
}


UNIT_TEST(test_no_leaks)
{
    int                  before, f, fit;
    unsigned             ms;
    blob_t               cut;
    image_variant_job_t  job;

    static const image_variant_format_e  formats[] = {
        IMAGE_VARIANT_FORMAT_JPEG, IMAGE_VARIANT_FORMAT_PNG,
        IMAGE_VARIANT_FORMAT_WEBP, IMAGE_VARIANT_FORMAT_AVIF
    };

    before = live_objects();

    cut.data = fx.photo.data;
    cut.len = fx.photo.len * 6 / 10;

    for (f = 0; f < 4; f++) {
        for (fit = 0; fit < 2; fit++) {
            job_init(&job, &cut, 256, 256,
                     fit ? IMAGE_VARIANT_FIT_INSIDE : IMAGE_VARIANT_FIT_COVER,
                     formats[f]);
            image_variant_render(&job);
            CHECK_INT(job.status, IMAGE_VARIANT_E_NOT_IMAGE);

            for (ms = 1; ms <= 30; ms += 29) {
                job_init(&job, &fx.big, 2000, 2000,
                         fit ? IMAGE_VARIANT_FIT_INSIDE
                             : IMAGE_VARIANT_FIT_COVER,
                         formats[f]);
                job.timeout_ms = ms;
                image_variant_render(&job);
                CHECK(job.status == IMAGE_VARIANT_E_TIMEOUT
                      || job.status == IMAGE_VARIANT_DONE);
                job_done(&job);
            }
        }
    }

    CHECK_INT(live_objects(), before);
}


/* several renders at once give the bytes of one at a time */

#define NJOBS  5

static image_variant_job_t  thread_ref[NJOBS];


static void
thread_jobs(image_variant_job_t *jobs)
{
    job_init(&jobs[0], &fx.photo, 256, 256, IMAGE_VARIANT_FIT_COVER,
             IMAGE_VARIANT_FORMAT_JPEG);
    job_init(&jobs[1], &fx.rotated, 200, 0, IMAGE_VARIANT_FIT_INSIDE,
             IMAGE_VARIANT_FORMAT_WEBP);
    job_init(&jobs[2], &fx.cmyk, 100, 100, IMAGE_VARIANT_FIT_CONTAIN,
             IMAGE_VARIANT_FORMAT_JPEG);
    job_init(&jobs[3], &fx.rgba, 64, 64, IMAGE_VARIANT_FIT_COVER,
             IMAGE_VARIANT_FORMAT_PNG);
    job_init(&jobs[4], &fx.png16, 120, 90, IMAGE_VARIANT_FIT_FILL,
             IMAGE_VARIANT_FORMAT_AVIF);
}


static void *
thread_main(void *arg)
{
    int                   round, i, *bad;
    image_variant_job_t   jobs[NJOBS];

    bad = arg;

    for (round = 0; round < 3; round++) {
        thread_jobs(jobs);

        for (i = 0; i < NJOBS; i++) {
            image_variant_render(&jobs[i]);

            if (jobs[i].status != IMAGE_VARIANT_DONE
                || jobs[i].out_len != thread_ref[i].out_len
                || memcmp(jobs[i].out, thread_ref[i].out,
                          jobs[i].out_len) != 0)
            {
                (*bad)++;
            }

            image_variant_free(jobs[i].out);
        }
    }

    return NULL;
}


UNIT_TEST(test_threads)
{
    int        i, bad[NTHREADS];
    pthread_t  tid[NTHREADS];

    thread_jobs(thread_ref);

    for (i = 0; i < NJOBS; i++) {
        image_variant_render(&thread_ref[i]);
        CHECK_INT(thread_ref[i].status, IMAGE_VARIANT_DONE);
    }

    for (i = 0; i < NTHREADS; i++) {
        bad[i] = 0;
        CHECK(pthread_create(&tid[i], NULL, thread_main, &bad[i]) == 0);
    }

    for (i = 0; i < NTHREADS; i++) {
        pthread_join(tid[i], NULL);
        CHECK_INT(bad[i], 0);
    }

    for (i = 0; i < NJOBS; i++) {
        job_done(&thread_ref[i]);
    }
}


/* ms per render of the demo photo, when "make models" has fetched it */

/*
 * Quality against an exactly centred Lanczos-3 reference (the bar of
 * bench/image_variant_quality.py, whose photos these are): the issue's
 * 1282x1110 (0.89 when shrink-on-load went to 1/4 and the crop was
 * placed in shrunk pixels), the 1030x1030 closest to sharp in the last
 * run and the 1920x1537 lowest of all.  sharp 0.35.5 scored 0.9738,
 * 0.9679 and 0.9652 on them: the bar is that less 0.005, and 0.95.
 */

UNIT_TEST(test_quality)
{
    int                  i, fast;
    char                 path[64];
    void                *buf;
    size_t               buf_len;
    gchar               *data;
    gsize                len;
    double               ssim;
    blob_t               b;
    iv_rgb_t             orig, ref, ours;
    VipsImage           *t;
    image_variant_job_t  job;

    static const struct {
        int     sample, width, height;
        double  sharp;
    } photos[] = {
        { 2, 1282, 1110, 0.9738 },
        { 1, 1030, 1030, 0.9679 },
        { 6, 1920, 1537, 0.9652 }
    };

    for (i = 0; i < 3; i++) {
        g_snprintf(path, sizeof(path), "demo/fixtures/sample%d.jpg",
                   photos[i].sample);

        if (!g_file_get_contents(path, &data, &len, NULL)) {
            printf("# quality: %s missing, skipped\n", path);
            continue;
        }

        /* the photo as the benchmark makes it: cut, resized, JPEG q92 */
        t = NULL;
        buf = NULL;

        if (vips_thumbnail_buffer(data, len, &t, photos[i].width,
                                  "height", photos[i].height,
                                  "crop", VIPS_INTERESTING_CENTRE, NULL)
            != 0
            || vips_jpegsave_buffer(t, &buf, &buf_len, "Q", 92,
                                    "strip", TRUE, NULL)
               != 0)
        {
            vips_failed("quality photo");
            CHECK(0);
            if (t) {
                g_object_unref(t);
            }
            g_free(data);
            continue;
        }

        g_object_unref(t);
        g_free(data);

        b.data = buf;
        b.len = buf_len;

        if (iv_rgb_load_buffer(buf, buf_len, &orig) != 0
            || iv_reference_cover(&orig, 256, 256, &ref) != 0)
        {
            vips_failed("quality reference");
            CHECK(0);
            g_free(buf);
            continue;
        }

        /* both image_variant_shrink_on_load modes */

        for (fast = 0; fast < 2; fast++) {
            job_init(&job, &b, 256, 256, IMAGE_VARIANT_FIT_COVER,
                     IMAGE_VARIANT_FORMAT_JPEG);
            job.params.quality = 80;
            job.params.fast_shrink = fast;

            image_variant_render(&job);
            CHECK_INT(job.status, IMAGE_VARIANT_DONE);

            if (job.status == IMAGE_VARIANT_DONE
                && iv_rgb_load_buffer(job.out, job.out_len, &ours) == 0)
            {
                ssim = iv_ssim(&ours, &ref);

                printf("# quality: sample%d %dx%d to 256x256%s: SSIM "
                       "%.4f (sharp %.4f)\n", photos[i].sample,
                       photos[i].width, photos[i].height,
                       fast ? ", fast" : "", ssim, photos[i].sharp);

                CHECK(ssim >= photos[i].sharp - 0.005);
                CHECK(ssim >= 0.95);

                iv_rgb_free(&ours);
            }

            job_done(&job);
        }

        iv_rgb_free(&orig);
        iv_rgb_free(&ref);
        g_free(buf);
    }
}


UNIT_TEST(test_bench)
{
    int                  i, f, n, w, h;
    double               t0, c0, ms, cpu;
    VipsImage           *im;
    gchar               *data;
    gsize                len;
    blob_t               b;
    image_variant_job_t  job;

    static const struct {
        const char              *name;
        image_variant_format_e   format;
    } formats[] = {
        { "JPEG q80", IMAGE_VARIANT_FORMAT_JPEG },
        { "WebP q80", IMAGE_VARIANT_FORMAT_WEBP },
        { "AVIF q50", IMAGE_VARIANT_FORMAT_AVIF }
    };

    if (!g_file_get_contents(SAMPLE_PHOTO, &data, &len, NULL)) {
        printf("# bench: %s missing, skipped\n", SAMPLE_PHOTO);
        return;
    }

    b.data = data;
    b.len = len;
    n = 20;

    im = vips_image_new_from_buffer(data, len, "", NULL);
    CHECK(im != NULL);
    if (im == NULL) {
        g_free(data);
        return;
    }

    w = im->Xsize;
    h = im->Ysize;
    g_object_unref(im);

    for (f = 0; f < 3; f++) {
        job_init(&job, &b, 256, 256, IMAGE_VARIANT_FIT_COVER,
                 formats[f].format);

        /* one to warm up */
        image_variant_render(&job);
        CHECK_INT(job.status, IMAGE_VARIANT_DONE);
        job_done(&job);

        t0 = now_ms();
        c0 = cpu_ms();

        for (i = 0; i < n; i++) {
            image_variant_render(&job);
            job_done(&job);
        }

        ms = (now_ms() - t0) / n;
        cpu = (cpu_ms() - c0) / n;

        /* CPU time too: a busy machine stretches the wall clock */
        printf("# bench: %s, %dx%d to 256x256 cover: %.1f ms per render "
               "(%.1f ms CPU)\n", formats[f].name, w, h, ms, cpu);
    }

    g_free(data);
}


UNIT_TEST(test_cleanup)
{
    blob_t  *b;

    for (b = (blob_t *) &fx; b < (blob_t *) (&fx + 1); b++) {
        g_free(b->data);
        b->data = NULL;
    }

    image_variant_shutdown();
}


UNIT_MAIN(test_init, test_orientation, test_cmyk, test_icc_p3,
          test_png16_palette, test_alpha, test_fit, test_gravity_face,
          test_format_auto,
          test_quality_defaults, test_inputs, test_gif_first_frame,
          test_stripped, test_bomb, test_not_image, test_truncated,
          test_timeout,
          test_no_leaks, test_threads, test_quality, test_bench,
          test_cleanup)
