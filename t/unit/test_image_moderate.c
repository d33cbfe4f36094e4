
/*
 * Unit tests for image_moderate.c: the resize nsfwjs does (tfjs's
 * resizeBilinear with alignCorners), thresholds, the scores' JSON, and,
 * with the weights of "make models" (TEST_FACE_MODELS, default models/),
 * the network's outputs as probabilities and the load's errors.
 */


#include <stdlib.h>
#include <math.h>
#include <unistd.h>

#include "unit.h"
#include "image_moderate.h"


#define NEAR(a, b)  (fabsf((float) (a) - (float) (b)) < 1e-6f)


/* 2x2 to 3x3: corners exact, centre the mean, edges the midpoints */

UNIT_TEST(resize_align_corners)
{
    float          out[3 * 3 * 3];
    const uint8_t  px[] = {   0,  0,  0,   255, 0,  0,
                              0, 51,  0,   255, 51, 102 };

    image_moderate_resize(px, 2, 2, 6, 3, out);

    CHECK(NEAR(out[0], 0.0f));                      /* (0,0) R */
    CHECK(NEAR(out[(0 * 3 + 2) * 3], 1.0f));        /* (0,2) R */
    CHECK(NEAR(out[(0 * 3 + 1) * 3], 0.5f));        /* (0,1) R */
    CHECK(NEAR(out[(2 * 3 + 0) * 3 + 1], 0.2f));    /* (2,0) G */
    CHECK(NEAR(out[(1 * 3 + 0) * 3 + 1], 0.1f));    /* (1,0) G */
    CHECK(NEAR(out[(1 * 3 + 1) * 3 + 0], 0.5f));    /* centre R */
    CHECK(NEAR(out[(1 * 3 + 1) * 3 + 1], 0.1f));    /* centre G */
    CHECK(NEAR(out[(1 * 3 + 1) * 3 + 2], 0.1f));    /* centre B */
    CHECK(NEAR(out[(2 * 3 + 2) * 3 + 2], 0.4f));    /* (2,2) B */
}


/* a row stride wider than the pixels: padding is never read */

UNIT_TEST(resize_stride)
{
    int            i;
    float          out[4 * 4 * 3];
    const uint8_t  px[] = { 10, 20, 30, 99, 99,
                            10, 20, 30, 99, 99 };

    image_moderate_resize(px, 1, 2, 5, 4, out);

    for (i = 0; i < 4 * 4; i++) {
        CHECK(NEAR(out[i * 3], 10.0f / 255.0f));
        CHECK(NEAR(out[i * 3 + 2], 30.0f / 255.0f));
    }
}


/* 448 to 224: sources at x * 447 / 223, mostly between two pixels */

UNIT_TEST(resize_down)
{
    int       x, l;
    float    *out;
    double    src, want;
    uint8_t  *px;

    px = malloc(448 * 3);
    out = malloc(224 * 224 * 3 * sizeof(float));
    CHECK(px != NULL && out != NULL);

    if (px == NULL || out == NULL) {
        free(px);
        free(out);
        return;
    }

    for (x = 0; x < 448; x++) {
        px[x * 3] = (uint8_t) ((x * 7) % 256);
        px[x * 3 + 1] = 0;
        px[x * 3 + 2] = 255;
    }

    /* one row: every output row is it */
    image_moderate_resize(px, 448, 1, 448 * 3, 224, out);

    for (x = 0; x < 224; x++) {
        src = x * 447.0 / 223.0;
        l = (int) floor(src);
        want = px[l * 3];

        if (l + 1 < 448) {
            want += (px[(l + 1) * 3] - want) * (src - l);
        }

        want /= 255.0;

        CHECK(fabs(out[x * 3] - want) < 1e-4);
        CHECK(fabs(out[(223 * 224 + x) * 3] - want) < 1e-4);
        CHECK(NEAR(out[x * 3 + 2], 1.0f));
    }

    free(px);
    free(out);
}


UNIT_TEST(thresholds)
{
    float  t[IMAGE_MODERATE_CLASSES];
    float  s[IMAGE_MODERATE_CLASSES] = { 0.0f, 0.69f, 0.0f, 0.0f, 0.89f };

    image_moderate_default_thresholds(t);

    CHECK(NEAR(t[IMAGE_MODERATE_PORN], 0.7f));
    CHECK(NEAR(t[IMAGE_MODERATE_HENTAI], 0.7f));
    CHECK(NEAR(t[IMAGE_MODERATE_SEXY], 0.9f));
    CHECK_INT(image_moderate_flagged(s, t), 0);

    s[IMAGE_MODERATE_SEXY] = 0.9f;
    CHECK_INT(image_moderate_flagged(s, t), 1);     /* reaching it flags */

    s[IMAGE_MODERATE_SEXY] = 0.0f;
    s[IMAGE_MODERATE_NEUTRAL] = 1.0f;
    s[IMAGE_MODERATE_DRAWING] = 1.0f;
    CHECK_INT(image_moderate_flagged(s, t), 0);     /* off: never */

    t[IMAGE_MODERATE_NEUTRAL] = 1.0f;
    CHECK_INT(image_moderate_flagged(s, t), 1);
}


UNIT_TEST(scores_json)
{
    char         buf[160], small[10];
    size_t       n;
    const float  s[IMAGE_MODERATE_CLASSES] = { 0.5f, 0.25f, 0.125f,
                                               0.0625f, 0.0625f };
    const char  *want = "{\"drawing\":0.500000,\"hentai\":0.250000,"
                        "\"neutral\":0.125000,\"porn\":0.062500,"
                        "\"sexy\":0.062500}";

    n = image_moderate_json(s, buf, sizeof(buf));
    CHECK_STR(buf, want);
    CHECK_INT(n, strlen(want));

    /* too small: the length it needs, and an empty string */
    memset(small, 'x', sizeof(small));
    n = image_moderate_json(s, small, sizeof(small));
    CHECK_INT(n, strlen(want));
    CHECK_INT(small[0], '\0');
    CHECK_STR(image_moderate_names[IMAGE_MODERATE_PORN], "porn");
}


static const char *
models_dir(void)
{
    const char  *dir;

    dir = getenv("TEST_FACE_MODELS");

    return dir ? dir : "models";
}


UNIT_TEST(load_errors)
{
    char                     err[256];
    image_moderate_model_t  *m;

    err[0] = '\0';
    CHECK_INT(image_moderate_load("/nonexistent", &m, err, sizeof(err)), -1);
    CHECK(m == NULL);
    CHECK(strstr(err, "nsfwjs_mobilenet_v2-weights_manifest.json") != NULL);
}


/* the network on a grey image and on a gradient: probabilities */

UNIT_TEST(network)
{
    int                      i, k, y, x;
    char                     err[256], path[512];
    float                    s[IMAGE_MODERATE_CLASSES], sum;
    uint8_t                 *px;
    image_moderate_ctx_t    *ctx;
    image_moderate_model_t  *m;

    snprintf(path, sizeof(path), "%s/nsfwjs_mobilenet_v2-weights_manifest"
             ".json", models_dir());

    if (access(path, R_OK) != 0) {
        printf("network: skipped, no %s (make models)\n", path);
        return;
    }

    CHECK_INT(image_moderate_load(models_dir(), &m, err, sizeof(err)), 0);
    if (m == NULL) {
        return;
    }

    ctx = image_moderate_ctx_create(m, err, sizeof(err));
    CHECK(ctx != NULL);

    px = malloc(300 * 200 * 3);
    CHECK(px != NULL);

    for (k = 0; ctx && px && k < 2; k++) {
        for (y = 0; y < 200; y++) {
            for (x = 0; x < 300; x++) {
                for (i = 0; i < 3; i++) {
                    px[(y * 300 + x) * 3 + i] = k ? (uint8_t) (x + y * i)
                                                  : 128;
                }
            }
        }

        CHECK_INT(image_moderate_rgb(ctx, px, 300, 200, 300 * 3, s, err,
                                     sizeof(err)), 0);

        sum = 0.0f;

        for (i = 0; i < IMAGE_MODERATE_CLASSES; i++) {
            CHECK(s[i] >= 0.0f && s[i] <= 1.0f);
            sum += s[i];
        }

        CHECK(fabsf(sum - 1.0f) < 1e-5f);
    }

    /* no pixels, a stride too short */
    if (ctx) {
        CHECK_INT(image_moderate_rgb(ctx, px, 0, 200, 0, s, err,
                                     sizeof(err)), -1);
        CHECK_INT(image_moderate_rgb(ctx, px, 300, 200, 300, s, err,
                                     sizeof(err)), -1);
    }

    free(px);
    image_moderate_ctx_free(ctx);
    image_moderate_model_free(m);
}


UNIT_MAIN(resize_align_corners, resize_stride, resize_down, thresholds,
          scores_json, load_errors, network)
