
/*
 * faceenc: the face engine from the command line, one JSON object a line
 * per image.
 *
 *   faceenc [--detector ssd|tiny] [--tiny-size N] [--alignment dlib|faceapi]
 *           [--min-confidence F] [--max-faces N] [--tiles on|off]
 *           [--refine on|off] [--flip on|off] [--models DIR]
 *           [--repeat N] [--bench-recognition N] [--memory]
 *           [--threads N] IMAGE...
 *
 * --repeat N: after one warm-up run, the pipeline runs N more times per
 * image; "ms" then holds the means, plus "total" and "total_min".
 * --bench-recognition N: times the recognition network alone on N chips
 * (the first face of the first image, else a grey chip) and prints
 * {"recognition": {...}}.  --memory: heap bytes of the shared models and of
 * one context on stderr.  --threads N: the images spread over N threads,
 * each with its own context and the models shared (as in nginx), printed
 * in order, with the throughput on stderr.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <malloc.h>
#include <pthread.h>

#include <vips/vips.h>

#include "face.h"
#include "face_internal.h"


typedef struct {
    face_options_t   opt;
    const char      *models;
    int              repeat;
    int              bench_rec;
    int              memory;
    int              threads;
} faceenc_conf_t;


static void faceenc_usage(void);
static int faceenc_args(faceenc_conf_t *conf, int argc, char **argv);
static unsigned char *faceenc_read(const char *path, size_t *len);
static int faceenc_image(face_ctx_t *ctx, const faceenc_conf_t *conf,
    const char *path, float *first_chip, int *have_chip, char **out);
static void *faceenc_thread(void *arg);
static int faceenc_threads(const face_models_t *models,
    const faceenc_conf_t *conf, char **paths, int n);
static int faceenc_bench_rec(face_ctx_t *ctx, const faceenc_conf_t *conf,
    const float *chip);
static double faceenc_now(void);
static size_t faceenc_heap(void);


static void
faceenc_log(const gchar *domain, GLogLevelFlags level, const gchar *msg,
    gpointer data)
{
    /* libvips' warnings repeat what the error line of the image says */
    (void) domain;
    (void) level;
    (void) msg;
    (void) data;
}


static void
faceenc_usage(void)
{
    fprintf(stderr,
        "usage: faceenc [--detector ssd|tiny] [--tiny-size N]\n"
        "               [--alignment dlib|faceapi] [--min-confidence F]\n"
        "               [--max-faces N] [--tiles on|off] [--refine on|off]\n"
        "               [--flip on|off] [--models DIR]\n"
        "               [--repeat N] [--bench-recognition N] [--memory]\n"
        "               [--threads N] IMAGE...\n");
}


static int
faceenc_args(faceenc_conf_t *conf, int argc, char **argv)
{
    int          i;
    char        *end;
    const char  *a, *v;

    face_options_init(&conf->opt);
    conf->models = "models";
    conf->repeat = 0;
    conf->bench_rec = 0;
    conf->memory = 0;
    conf->threads = 1;

    for (i = 1; i < argc; i++) {
        a = argv[i];

        if (strcmp(a, "--") == 0) {
            return i + 1;
        }

        if (strncmp(a, "--", 2) != 0) {
            return i;
        }

        if (strcmp(a, "--memory") == 0) {
            conf->memory = 1;
            continue;
        }

        if (i + 1 >= argc) {
            fprintf(stderr, "faceenc: %s needs a value\n", a);
            return -1;
        }

        v = argv[++i];

        if (strcmp(a, "--detector") == 0) {
            if (strcmp(v, "ssd") == 0) {
                conf->opt.detector = FACE_DETECTOR_SSD;

            } else if (strcmp(v, "tiny") == 0) {
                conf->opt.detector = FACE_DETECTOR_TINY;

            } else {
                goto bad;
            }

        } else if (strcmp(a, "--alignment") == 0) {
            if (strcmp(v, "dlib") == 0) {
                conf->opt.alignment = FACE_ALIGN_DLIB;

            } else if (strcmp(v, "faceapi") == 0) {
                conf->opt.alignment = FACE_ALIGN_FACEAPI;

            } else {
                goto bad;
            }

        } else if (strcmp(a, "--tiles") == 0) {
            if (strcmp(v, "on") == 0) {
                conf->opt.tiles = 1;

            } else if (strcmp(v, "off") == 0) {
                conf->opt.tiles = 0;

            } else {
                goto bad;
            }

        } else if (strcmp(a, "--refine") == 0) {
            if (strcmp(v, "on") == 0) {
                conf->opt.refine = 1;

            } else if (strcmp(v, "off") == 0) {
                conf->opt.refine = 0;

            } else {
                goto bad;
            }

        } else if (strcmp(a, "--flip") == 0) {
            if (strcmp(v, "on") == 0) {
                conf->opt.flip = 1;

            } else if (strcmp(v, "off") == 0) {
                conf->opt.flip = 0;

            } else {
                goto bad;
            }

        } else if (strcmp(a, "--min-confidence") == 0) {
            conf->opt.min_confidence = strtof(v, &end);
            if (*end != '\0' || !(conf->opt.min_confidence >= 0.0f
                                  && conf->opt.min_confidence < 1.0f))
            {
                goto bad;
            }

        } else if (strcmp(a, "--tiny-size") == 0) {
            conf->opt.tiny_input_size = (int) strtol(v, &end, 10);
            if (*end != '\0' || conf->opt.tiny_input_size < 32
                || conf->opt.tiny_input_size > 2048
                || conf->opt.tiny_input_size % 32)
            {
                goto bad;
            }

        } else if (strcmp(a, "--max-faces") == 0) {
            conf->opt.max_faces = (int) strtol(v, &end, 10);
            if (*end != '\0' || conf->opt.max_faces < 0) {
                goto bad;
            }

        } else if (strcmp(a, "--models") == 0) {
            conf->models = v;

        } else if (strcmp(a, "--repeat") == 0) {
            conf->repeat = (int) strtol(v, &end, 10);
            if (*end != '\0' || conf->repeat < 0) {
                goto bad;
            }

        } else if (strcmp(a, "--threads") == 0) {
            conf->threads = (int) strtol(v, &end, 10);
            if (*end != '\0' || conf->threads < 1 || conf->threads > 64) {
                goto bad;
            }

        } else if (strcmp(a, "--bench-recognition") == 0) {
            conf->bench_rec = (int) strtol(v, &end, 10);
            if (*end != '\0' || conf->bench_rec <= 0) {
                goto bad;
            }

        } else {
            fprintf(stderr, "faceenc: unknown option %s\n", a);
            return -1;
        }

        continue;

    bad:

        fprintf(stderr, "faceenc: bad value for %s: \"%s\"\n", a, v);
        return -1;
    }

    return i;
}


static unsigned char *
faceenc_read(const char *path, size_t *len)
{
    long            size;
    FILE           *f;
    unsigned char  *buf;

    f = fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }

    buf = NULL;

    if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0
        && fseek(f, 0, SEEK_SET) == 0)
    {
        buf = malloc((size_t) size + 1);

        if (buf != NULL && fread(buf, 1, (size_t) size, f) != (size_t) size) {
            free(buf);
            buf = NULL;
        }

        *len = (size_t) size;
    }

    fclose(f);

    return buf;
}


static double
faceenc_cpu(void)
{
    struct timespec  t;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);

    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}


static double
faceenc_now(void)
{
    struct timespec  t;

    clock_gettime(CLOCK_MONOTONIC, &t);

    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}


static size_t
faceenc_heap(void)
{
    struct mallinfo2  mi;

    mi = mallinfo2();

    return mi.uordblks + mi.hblkhd;
}


static int
faceenc_image(face_ctx_t *ctx, const faceenc_conf_t *conf, const char *path,
    float *first_chip, int *have_chip, char **out)
{
    int             i;
    char            err[512], kernels[2048], *json;
    size_t          len;
    double          t0, c0, cpu, total, total_min, sum[4];
    unsigned char  *data;
    face_result_t   res;
    face_status_e   st;
    face_image_t    img;

    data = faceenc_read(path, &len);
    if (data == NULL) {
        fprintf(stderr, "faceenc: %s: cannot read the file\n", path);
        return -1;
    }

    st = face_encode(ctx, data, len, &conf->opt, &res, err, sizeof(err));
    if (st != FACE_OK) {
        fprintf(stderr, "faceenc: %s: %s\n", path, err);
        free(data);
        return -1;
    }

    if (conf->repeat > 0) {
        memset(sum, 0, sizeof(sum));
        total_min = 1e30;
        cpu = 0;

        for (i = 0; i < conf->repeat; i++) {
            face_result_free(&res);

            t0 = faceenc_now();
            c0 = faceenc_cpu();
            st = face_encode(ctx, data, len, &conf->opt, &res, err,
                             sizeof(err));
            cpu += faceenc_cpu() - c0;
            total = faceenc_now() - t0;

            if (st != FACE_OK) {
                fprintf(stderr, "faceenc: %s: %s\n", path, err);
                free(data);
                return -1;
            }

            total_min = total < total_min ? total : total_min;
            sum[0] += res.ms_decode;
            sum[1] += res.ms_detect;
            sum[2] += res.ms_landmarks;
            sum[3] += res.ms_encode;
        }

        res.ms_decode = sum[0] / conf->repeat;
        res.ms_detect = sum[1] / conf->repeat;
        res.ms_landmarks = sum[2] / conf->repeat;
        res.ms_encode = sum[3] / conf->repeat;

        /* CPU time (libvips decodes on its own threads): less skewed by a
           loaded machine than wall time */
        fprintf(stderr, "faceenc: %s: %d runs, total mean %.1f ms, min %.1f "
                "ms, CPU %.1f ms (decode %.1f, detect %.1f, landmarks %.1f, "
                "encode %.1f)\n", path, conf->repeat,
                res.ms_decode + res.ms_detect + res.ms_landmarks
                + res.ms_encode, total_min, cpu / conf->repeat,
                res.ms_decode, res.ms_detect, res.ms_landmarks,
                res.ms_encode);

        /* what ran: bench/face prints it with the CPU model */
        face_ctx_kernels(ctx, kernels, sizeof(kernels));
        fprintf(stderr, "faceenc: oneDNN ISA %s, context %.1f MB; kernels: "
                "%s\n", face_engine_isa(), face_ctx_bytes(ctx) / 1048576.0,
                kernels);
    }

    if (first_chip != NULL && !*have_chip && res.nfaces > 0) {
        /* the dlib chip of the first face, for --bench-recognition */
        if (face_image_decode(data, len, 0, (uint8_t **) &img.px, &img.w,
                              &img.h, err, sizeof(err))
            == FACE_OK)
        {
            face_dlib_chip(&img, res.faces[0].landmarks, first_chip);
            face_image_free((uint8_t *) img.px);
            *have_chip = 1;
        }
    }

    free(data);

    json = face_result_json(&res, path, 1);
    face_result_free(&res);

    if (json == NULL) {
        fprintf(stderr, "faceenc: %s: out of memory\n", path);
        return -1;
    }

    *out = json;

    return 0;
}


typedef struct {
    const faceenc_conf_t  *conf;
    const face_models_t   *models;
    char                 **paths;
    char                 **json;
    int                    n;
    int                    first;
    int                    step;
    int                    failed;
    pthread_t              tid;
} faceenc_job_t;


static void *
faceenc_thread(void *arg)
{
    int             i;
    char            err[256];
    face_ctx_t     *ctx;
    faceenc_job_t  *job = arg;

    /* one context per thread, the models shared: as in nginx */

    ctx = face_ctx_create(job->models, err, sizeof(err));
    if (ctx == NULL) {
        fprintf(stderr, "faceenc: %s\n", err);
        job->failed = 1;
        return NULL;
    }

    for (i = job->first; i < job->n; i += job->step) {
        if (faceenc_image(ctx, job->conf, job->paths[i], NULL, NULL,
                          &job->json[i])
            != 0)
        {
            job->failed = 1;
        }

        vips_thread_shutdown();
    }

    face_ctx_free(ctx);

    return NULL;
}


static int
faceenc_threads(const face_models_t *models, const faceenc_conf_t *conf,
    char **paths, int n)
{
    int             i, t, failed, started;
    char          **json;
    double          t0, ms;
    faceenc_job_t  *jobs;

    json = calloc(n, sizeof(char *));
    jobs = calloc(conf->threads, sizeof(faceenc_job_t));
    if (json == NULL || jobs == NULL) {
        free(json);
        free(jobs);
        fprintf(stderr, "faceenc: out of memory\n");
        return -1;
    }

    failed = 0;
    started = 0;
    t0 = faceenc_now();

    for (t = 0; t < conf->threads; t++) {
        jobs[t].conf = conf;
        jobs[t].models = models;
        jobs[t].paths = paths;
        jobs[t].json = json;
        jobs[t].n = n;
        jobs[t].first = t;
        jobs[t].step = conf->threads;

        if (pthread_create(&jobs[t].tid, NULL, faceenc_thread, &jobs[t])
            != 0)
        {
            fprintf(stderr, "faceenc: cannot start a thread\n");
            failed = 1;
            break;
        }

        started++;
    }

    for (t = 0; t < started; t++) {
        pthread_join(jobs[t].tid, NULL);
        failed |= jobs[t].failed;
    }

    ms = faceenc_now() - t0;

    if (started < conf->threads) {
        /* the images of the threads that did not start */
        for (t = started; t < conf->threads; t++) {
            for (i = t; i < n; i += conf->threads) {
                fprintf(stderr, "faceenc: %s: not processed\n", paths[i]);
            }
        }
    }

    for (i = 0; i < n; i++) {
        if (json[i] != NULL) {
            printf("%s\n", json[i]);
            free(json[i]);
        }
    }

    fprintf(stderr, "faceenc: %d images on %d threads in %.0f ms "
            "(%.2f images/s)\n", n, conf->threads, ms, n * 1000.0 / ms);

    free(json);
    free(jobs);

    return failed ? -1 : 0;
}


static int
faceenc_bench_rec(face_ctx_t *ctx, const faceenc_conf_t *conf,
    const float *chip)
{
    int     i;
    char    err[256];
    float   d[FACE_DESCRIPTOR];
    double  t0, ms;

    if (face_ctx_prepare(ctx, &conf->opt, err, sizeof(err)) != FACE_OK) {
        fprintf(stderr, "faceenc: %s\n", err);
        return -1;
    }

    /* warm-up */
    if (face_rec_run(&ctx->rec, chip, d) != 0) {
        fprintf(stderr, "faceenc: recognition network failed\n");
        return -1;
    }

    t0 = faceenc_now();

    for (i = 0; i < conf->bench_rec; i++) {
        if (face_rec_run(&ctx->rec, chip, d) != 0) {
            fprintf(stderr, "faceenc: recognition network failed\n");
            return -1;
        }
    }

    ms = (faceenc_now() - t0) / conf->bench_rec;

    printf("{\"recognition\":{\"runs\":%d,\"ms_per_face\":%.3f,"
           "\"faces_per_s\":%.1f}}\n", conf->bench_rec, ms, 1000.0 / ms);

    return 0;
}


int
main(int argc, char **argv)
{
    int              i, first, failed, have_chip;
    char             err[512], *json;
    float           *chip;
    size_t           heap0, heap1, heap2;
    face_ctx_t      *ctx;
    face_models_t   *models;
    faceenc_conf_t   conf;

    first = faceenc_args(&conf, argc, argv);
    if (first < 0 || (first >= argc && !conf.bench_rec)) {
        faceenc_usage();
        return 2;
    }

    if (VIPS_INIT(argv[0]) != 0) {
        fprintf(stderr, "faceenc: libvips initialisation failed\n");
        return 1;
    }

    vips_cache_set_max(0);
    vips_concurrency_set(1);
    vips_block_untrusted_set(TRUE);
    g_log_set_handler("VIPS", G_LOG_LEVEL_WARNING | G_LOG_LEVEL_MESSAGE
                      | G_LOG_LEVEL_INFO | G_LOG_LEVEL_DEBUG, faceenc_log,
                      NULL);

    heap0 = faceenc_heap();

    if (face_models_load(conf.models, &models, err, sizeof(err)) != FACE_OK)
    {
        fprintf(stderr, "faceenc: %s\n", err);
        vips_shutdown();
        return 1;
    }

    heap1 = faceenc_heap();

    ctx = face_ctx_create(models, err, sizeof(err));
    if (ctx == NULL) {
        fprintf(stderr, "faceenc: %s\n", err);
        face_models_free(models);
        vips_shutdown();
        return 1;
    }

    if (conf.memory) {
        if (face_ctx_prepare(ctx, &conf.opt, err, sizeof(err)) != FACE_OK) {
            fprintf(stderr, "faceenc: %s\n", err);
        }

        heap2 = faceenc_heap();

        fprintf(stderr, "faceenc: heap: models %.1f MB (shared), one "
                "context %.1f MB\n", (heap1 - heap0) / 1048576.0,
                (heap2 - heap1) / 1048576.0);
    }

    chip = NULL;
    have_chip = 0;

    if (conf.bench_rec) {
        chip = malloc(FACE_CHIP_SIZE * FACE_CHIP_SIZE * 3 * sizeof(float));
        if (chip == NULL) {
            fprintf(stderr, "faceenc: out of memory\n");
            return 1;
        }

        for (i = 0; i < FACE_CHIP_SIZE * FACE_CHIP_SIZE * 3; i++) {
            chip[i] = 128.0f;
        }
    }

    failed = 0;

    if (conf.threads > 1 && first < argc) {
        failed = faceenc_threads(models, &conf, argv + first, argc - first)
                 != 0;

    } else {
        for (i = first; i < argc; i++) {
            if (faceenc_image(ctx, &conf, argv[i], chip, &have_chip, &json)
                != 0)
            {
                failed = 1;

            } else {
                printf("%s\n", json);
                fflush(stdout);
                free(json);
            }

            vips_thread_shutdown();
        }
    }

    if (conf.bench_rec && faceenc_bench_rec(ctx, &conf, chip) != 0) {
        failed = 1;
    }

    free(chip);
    face_ctx_free(ctx);
    face_models_free(models);
    vips_shutdown();

    return failed ? 1 : 0;
}
