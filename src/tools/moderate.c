
/*
 * moderate: faceenc's sibling for moderation; nsfwjs's five scores of
 * each image as one JSON object a line:
 *
 *   {"file":"a.jpg","width":1920,"height":1280,
 *    "scores":{"drawing":...,"hentai":...,"neutral":...,"porn":...,
 *              "sexy":...}}
 *
 *   moderate [--models DIR] [--ppm FILE] [--repeat N] IMAGE...
 *
 * --ppm FILE: writes the decoded pixels of the (single) image as a binary
 * PPM, the exact input of the scores (the parity check feeds the same
 * pixels to nsfwjs).  --repeat N: after a warm-up run the network runs N
 * more times per image and "ms" holds the mean wall-clock and CPU time of
 * one run (resize included, decoding not) and the mean wall-clock time of
 * as many decodings.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <vips/vips.h>

#include "image_moderate.h"


static unsigned char *moderate_read(const char *path, size_t *len);
static int moderate_ppm(const char *path, const uint8_t *px, int w, int h);
static double moderate_clock(clockid_t id);


static void
moderate_log(const gchar *domain, GLogLevelFlags level, const gchar *msg,
    gpointer data)
{
    (void) domain;
    (void) level;
    (void) msg;
    (void) data;
}


int
main(int argc, char **argv)
{
    int                      i, k, w, h, repeat, rc, status;
    char                     err[256], json[256];
    size_t                   len;
    double                   t0, c0, ms, cpu, dec;
    uint8_t                 *px, *again;
    const char              *models, *ppm;
    unsigned char           *data;
    float                    scores[IMAGE_MODERATE_CLASSES];
    image_moderate_ctx_t    *ctx;
    image_moderate_model_t  *model;

    models = "models";
    ppm = NULL;
    repeat = 0;

    for (i = 1; i < argc && argv[i][0] == '-' && argv[i][1] == '-'; i++) {
        if (strcmp(argv[i], "--") == 0) {
            i++;
            break;
        }

        if (i + 1 >= argc) {
            goto usage;
        }

        if (strcmp(argv[i], "--models") == 0) {
            models = argv[++i];

        } else if (strcmp(argv[i], "--ppm") == 0) {
            ppm = argv[++i];

        } else if (strcmp(argv[i], "--repeat") == 0) {
            repeat = atoi(argv[++i]);
            if (repeat < 1 || repeat > 100000) {
                goto usage;
            }

        } else {
            goto usage;
        }
    }

    if (i >= argc || (ppm && argc - i != 1)) {
        goto usage;
    }

    if (VIPS_INIT(argv[0]) != 0) {
        fprintf(stderr, "moderate: libvips failed to start\n");
        return 1;
    }

    vips_cache_set_max(0);
    vips_concurrency_set(1);
    vips_block_untrusted_set(TRUE);
    g_log_set_handler("VIPS", G_LOG_LEVEL_WARNING, moderate_log, NULL);

    if (image_moderate_load(models, &model, err, sizeof(err)) != 0) {
        fprintf(stderr, "moderate: %s: %s\n", models, err);
        vips_shutdown();
        return 1;
    }

    ctx = image_moderate_ctx_create(model, err, sizeof(err));
    if (ctx == NULL) {
        fprintf(stderr, "moderate: %s\n", err);
        image_moderate_model_free(model);
        vips_shutdown();
        return 1;
    }

    status = 0;

    for ( /* void */ ; i < argc; i++) {
        data = moderate_read(argv[i], &len);
        if (data == NULL) {
            status = 1;
            continue;
        }

        t0 = moderate_clock(CLOCK_MONOTONIC);
        rc = image_moderate_decode(data, len, 0, &px, &w, &h, err,
                                   sizeof(err));
        dec = (moderate_clock(CLOCK_MONOTONIC) - t0) * 1000;

        if (rc != 0) {
            fprintf(stderr, "moderate: %s: %s\n", argv[i], err);
            free(data);
            status = 1;
            continue;
        }

        if (ppm && moderate_ppm(ppm, px, w, h) != 0) {
            image_moderate_pixels_free(px);
            free(data);
            status = 1;
            continue;
        }

        rc = image_moderate_rgb(ctx, px, w, h, (size_t) w * 3, scores, err,
                                sizeof(err));

        ms = cpu = 0;

        /* the decoding too, for its mean: a first call pays set-ups */

        for (k = 0; rc == 0 && k < repeat; k++) {
            t0 = moderate_clock(CLOCK_MONOTONIC);
            rc = image_moderate_decode(data, len, 0, &again, &w, &h, err,
                                       sizeof(err));
            ms += moderate_clock(CLOCK_MONOTONIC) - t0;

            if (rc == 0) {
                image_moderate_pixels_free(again);
            }
        }

        if (repeat) {
            dec = ms * 1000 / repeat;
        }

        ms = 0;

        for (k = 0; rc == 0 && k < repeat; k++) {
            t0 = moderate_clock(CLOCK_MONOTONIC);
            c0 = moderate_clock(CLOCK_PROCESS_CPUTIME_ID);
            rc = image_moderate_rgb(ctx, px, w, h, (size_t) w * 3, scores,
                                    err, sizeof(err));
            ms += moderate_clock(CLOCK_MONOTONIC) - t0;
            cpu += moderate_clock(CLOCK_PROCESS_CPUTIME_ID) - c0;
        }

        image_moderate_pixels_free(px);
        free(data);

        if (rc != 0) {
            fprintf(stderr, "moderate: %s: %s\n", argv[i], err);
            status = 1;
            continue;
        }

        (void) image_moderate_json(scores, json, sizeof(json));

        printf("{\"file\":\"");

        for (k = 0; argv[i][k]; k++) {
            if (argv[i][k] == '"' || argv[i][k] == '\\') {
                putchar('\\');
            }

            putchar((unsigned char) argv[i][k] < 0x20 ? '?' : argv[i][k]);
        }

        printf("\",\"width\":%d,\"height\":%d,\"scores\":%s", w, h, json);

        if (repeat) {
            printf(",\"ms\":{\"net\":%.3f,\"net_cpu\":%.3f,\"decode\":%.3f}",
                   ms * 1000 / repeat, cpu * 1000 / repeat, dec);
        }

        printf("}\n");
    }

    image_moderate_ctx_free(ctx);
    image_moderate_model_free(model);
    vips_shutdown();

    return status;

usage:

    fprintf(stderr, "usage: moderate [--models DIR] [--ppm FILE] "
                    "[--repeat N] IMAGE...\n"
                    "       (--ppm: one IMAGE only)\n");
    return 2;
}


static unsigned char *
moderate_read(const char *path, size_t *len)
{
    long            n;
    FILE           *f;
    unsigned char  *data;

    f = fopen(path, "rb");
    if (f == NULL) {
        perror(path);
        return NULL;
    }

    data = NULL;

    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0
        || fseek(f, 0, SEEK_SET) != 0)
    {
        perror(path);
        goto done;
    }

    data = malloc(n ? n : 1);
    if (data == NULL) {
        fprintf(stderr, "moderate: %s: out of memory\n", path);
        goto done;
    }

    if (fread(data, 1, n, f) != (size_t) n) {
        fprintf(stderr, "moderate: %s: short read\n", path);
        free(data);
        data = NULL;
        goto done;
    }

    *len = n;

done:

    fclose(f);
    return data;
}


static int
moderate_ppm(const char *path, const uint8_t *px, int w, int h)
{
    FILE  *f;

    f = fopen(path, "wb");
    if (f == NULL) {
        perror(path);
        return -1;
    }

    fprintf(f, "P6\n%d %d\n255\n", w, h);

    if (fwrite(px, 3, (size_t) w * h, f) != (size_t) w * h) {
        perror(path);
        (void) fclose(f);
        return -1;
    }

    if (fclose(f) != 0) {
        perror(path);
        return -1;
    }

    return 0;
}


static double
moderate_clock(clockid_t id)
{
    struct timespec  ts;

    clock_gettime(id, &ts);

    return ts.tv_sec + ts.tv_nsec / 1e9;
}
