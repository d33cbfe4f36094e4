
/*
 * The pipeline: decode, detect, 68 landmarks per face, chip (dlib's
 * similarity alignment or face-api's crop), 128-d descriptor.  Models are
 * loaded once and shared read-only (with oneDNN's copies of their weights,
 * made at load); a context builds each network's runtime on first use and
 * is used by one thread at a time.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "face_internal.h"


static int face_ctx_need(face_ctx_t *ctx, const face_options_t *opt,
    int stage, char *err, size_t errlen);
static double face_ms(const struct timespec *t0);


void
face_options_init(face_options_t *opt)
{
    opt->detector = FACE_DETECTOR_SSD;
    opt->tiny_input_size = 416;
    opt->alignment = FACE_ALIGN_DLIB;
    opt->min_confidence = 0.5f;
    opt->max_faces = 100;
    opt->tiles = 0;
    opt->refine = 0;
    opt->flip = 0;
    opt->max_pixels = 0;
}


face_status_e
face_models_load(const char *dir, face_models_t **models, char *err,
    size_t errlen)
{
    int              rc;
    face_ctx_t      *ctx;
    face_models_t   *m;
    face_weights_t   w;
    face_options_t   opt;

    *models = NULL;

    m = calloc(1, sizeof(face_models_t));
    if (m == NULL) {
        snprintf(err, errlen, "out of memory");
        return FACE_ENOMEM;
    }

    /* tfjs tensors are converted and folded, then dropped, net by net */

    if (face_weights_load(&w, dir, "ssd_mobilenetv1_model", err, errlen)
        != 0)
    {
        goto failed;
    }

    rc = face_ssd_load(&m->ssd, &w, err, errlen);
    face_weights_free(&w);
    if (rc != 0) {
        goto failed;
    }

    if (face_weights_load(&w, dir, "tiny_face_detector_model", err, errlen)
        != 0)
    {
        goto failed;
    }

    rc = face_tiny_load(&m->tiny, &w, err, errlen);
    face_weights_free(&w);
    if (rc != 0) {
        goto failed;
    }

    if (face_weights_load(&w, dir, "face_landmark_68_model", err, errlen)
        != 0)
    {
        goto failed;
    }

    rc = face_lm_load(&m->lm, &w, err, errlen);
    face_weights_free(&w);
    if (rc != 0) {
        goto failed;
    }

    if (face_weights_load(&w, dir, "face_recognition_model", err, errlen)
        != 0)
    {
        goto failed;
    }

    rc = face_rec_load(&m->rec, &w, err, errlen);
    face_weights_free(&w);
    if (rc != 0) {
        goto failed;
    }

    /*
     * the default networks built once and dropped: oneDNN's copies of the
     * weights are made here, before nginx forks, and shared from then on
     */

    ctx = face_ctx_create(m, err, errlen);
    if (ctx == NULL) {
        goto failed;
    }

    face_options_init(&opt);
    opt.alignment = FACE_ALIGN_FACEAPI;     /* SSD's 512x512 input too */
    rc = face_ctx_prepare(ctx, &opt, err, errlen);
    face_ctx_free(ctx);
    if (rc != FACE_OK) {
        goto failed;
    }

    *models = m;

    return FACE_OK;

failed:

    face_models_free(m);

    return FACE_EINTERNAL;
}


void
face_models_free(face_models_t *models)
{
    if (models == NULL) {
        return;
    }

    face_ssd_free(&models->ssd);
    face_tiny_free(&models->tiny);
    face_lm_free(&models->lm);
    face_rec_free(&models->rec);
    free(models);
}


face_ctx_t *
face_ctx_create(const face_models_t *models, char *err, size_t errlen)
{
    face_ctx_t  *ctx;

    ctx = calloc(1, sizeof(face_ctx_t));
    if (ctx == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }

    ctx->models = models;
    ctx->rec_batch = FACE_REC_BATCH;

    return ctx;
}


void
face_ctx_free(face_ctx_t *ctx)
{
    int  i;

    if (ctx == NULL) {
        return;
    }

    face_net_free(&ctx->ssd);

    for (i = 0; i < FACE_SSD_PARTS; i++) {
        face_net_free(&ctx->ssd_part[i]);
    }

    face_net_free(&ctx->tiny);
    face_net_free(&ctx->lm);
    face_net_free(&ctx->rec);
    free(ctx);
}


/* stage 0: detector, 1: landmarks, 2: recognition */

static int
face_ctx_need(face_ctx_t *ctx, const face_options_t *opt, int stage,
    char *err, size_t errlen)
{
    int                   batch;
    const face_models_t  *m;

    m = ctx->models;

    switch (stage) {

    case 0:
        if (opt->detector == FACE_DETECTOR_TINY) {
            if (ctx->tiny.rt != NULL
                && ctx->tiny_size != opt->tiny_input_size)
            {
                face_net_free(&ctx->tiny);
            }

            if (ctx->tiny.rt == NULL) {
                ctx->tiny_size = opt->tiny_input_size;
                return face_tiny_build(&ctx->tiny, &m->tiny,
                                       opt->tiny_input_size, err, errlen);
            }

            return 0;
        }

        /* SSD: face_detect() builds the input size it needs (buckets) */

        if (opt->alignment != FACE_ALIGN_FACEAPI || ctx->ssd.rt != NULL) {
            return 0;
        }

        return face_ssd_build(&ctx->ssd, &m->ssd, err, errlen);

    case 1:
        return ctx->lm.rt ? 0 : face_lm_build(&ctx->lm, &m->lm, err, errlen);

    default:
        /* flip: the chip and its mirror image in one run of two */
        batch = opt->flip && FACE_REC_BATCH < 2 ? 2 : FACE_REC_BATCH;

        if (ctx->rec.rt != NULL && ctx->rec_batch != batch) {
            face_net_free(&ctx->rec);
        }

        if (ctx->rec.rt == NULL) {
            ctx->rec_batch = batch;
            return face_rec_build(&ctx->rec, &m->rec, batch, err, errlen);
        }

        return 0;
    }
}


face_status_e
face_ctx_prepare(face_ctx_t *ctx, const face_options_t *opt, char *err,
    size_t errlen)
{
    int  stage;

    for (stage = 0; stage < 3; stage++) {
        if (face_ctx_need(ctx, opt, stage, err, errlen) != 0) {
            return FACE_EINTERNAL;
        }
    }

    return FACE_OK;
}


static double
face_ms(const struct timespec *t0)
{
    struct timespec  t1;

    clock_gettime(CLOCK_MONOTONIC, &t1);

    return (t1.tv_sec - t0->tv_sec) * 1e3 + (t1.tv_nsec - t0->tv_nsec) / 1e6;
}


face_status_e
face_encode(face_ctx_t *ctx, const void *data, size_t len,
    const face_options_t *opt, face_result_t *res, char *err, size_t errlen)
{
    int               fw, fh, k;
    float             sx, sy;
    size_t            i;
    uint8_t          *px;
    face_t           *f;
    face_image_t      img;
    face_status_e     st;
    struct timespec   t0;

    memset(res, 0, sizeof(face_result_t));

    clock_gettime(CLOCK_MONOTONIC, &t0);

    /* a very large JPEG is decoded smaller, to FACE_DECODE_KEEP at least */

    st = face_image_decode_scaled(data, len, opt->max_pixels,
                                  FACE_DECODE_KEEP, &px, &img.w, &img.h,
                                  &fw, &fh, err, errlen);
    if (st != FACE_OK) {
        return st;
    }

    img.px = px;

    st = face_pipeline(ctx, &img, opt, res, err, errlen);

    if (st == FACE_OK && (fw != img.w || fh != img.h)) {
        /* back to the photo's own pixels */

        sx = (float) fw / img.w;
        sy = (float) fh / img.h;
        res->width = fw;
        res->height = fh;

        for (i = 0; i < res->nfaces; i++) {
            f = &res->faces[i];
            f->box[0] *= sx;
            f->box[1] *= sy;
            f->box[2] *= sx;
            f->box[3] *= sy;

            for (k = 0; k < FACE_LANDMARKS; k++) {
                f->landmarks[k][0] *= sx;
                f->landmarks[k][1] *= sy;
            }
        }
    }

    res->ms_decode = face_ms(&t0) - res->ms_detect - res->ms_landmarks
                     - res->ms_encode;

    face_image_free(px);

    return st;
}


face_status_e
face_pipeline(face_ctx_t *ctx, const face_image_t *img,
    const face_options_t *opt, face_result_t *res, char *err, size_t errlen)
{
    int                 rc;
    size_t              i, k, n, nb;
    float              *chip;
    face_t             *f;
    face_box_t         *boxes;
    face_rect_t         lm_crop, r;
    face_status_e       st;
    struct timespec     t0;
    static const float  zero[3] = { 0.0f, 0.0f, 0.0f };

    memset(res, 0, sizeof(face_result_t));

    res->width = img->w;
    res->height = img->h;

    if (opt->tiny_input_size < 32 || opt->tiny_input_size > 2048
        || opt->tiny_input_size % 32 != 0
        || !(opt->min_confidence >= 0.0f && opt->min_confidence < 1.0f)
        || opt->max_faces < 0)
    {
        snprintf(err, errlen, "bad face options");
        return FACE_EINTERNAL;
    }

    boxes = NULL;
    chip = NULL;
    st = FACE_EINTERNAL;

    clock_gettime(CLOCK_MONOTONIC, &t0);

    if (face_ctx_need(ctx, opt, 0, err, errlen) != 0) {
        goto done;
    }

    if (face_detect(ctx, img, opt, &boxes, &nb) != 0) {
        snprintf(err, errlen, "face detection failed");
        goto done;
    }

    if (nb > (size_t) opt->max_faces) {
        nb = (size_t) opt->max_faces;
    }

    res->ms_detect = face_ms(&t0);

    if (nb == 0) {
        st = FACE_OK;
        goto done;
    }

    res->faces = calloc(nb, sizeof(face_t));
    chip = malloc(FACE_CHIP_SIZE * FACE_CHIP_SIZE * 3 * sizeof(float));
    if (res->faces == NULL || chip == NULL) {
        snprintf(err, errlen, "out of memory");
        st = FACE_ENOMEM;
        goto done;
    }

    clock_gettime(CLOCK_MONOTONIC, &t0);

    if (face_ctx_need(ctx, opt, 1, err, errlen) != 0) {
        goto done;
    }

    n = 0;

    for (i = 0; i < nb; i++) {
        f = &res->faces[n];

        rc = face_lm_run(&ctx->lm, img, &boxes[i], f->landmarks);
        if (rc < 0) {
            snprintf(err, errlen, "landmark network failed");
            goto done;
        }

        if (rc > 0) {
            continue;          /* a box outside the image: face-api drops it */
        }

        if (opt->refine && opt->alignment == FACE_ALIGN_DLIB
            && face_lm_refine(&ctx->lm, img, f->landmarks) < 0)
        {
            snprintf(err, errlen, "landmark network failed");
            goto done;
        }

        f->box[0] = boxes[i].x;
        f->box[1] = boxes[i].y;
        f->box[2] = boxes[i].w;
        f->box[3] = boxes[i].h;
        f->score = boxes[i].score;
        n++;
    }

    res->nfaces = n;
    res->ms_landmarks = face_ms(&t0);

    clock_gettime(CLOCK_MONOTONIC, &t0);

    if (n && face_ctx_need(ctx, opt, 2, err, errlen) != 0) {
        goto done;
    }

    for (i = 0; i < n; i++) {
        f = &res->faces[i];

        if (opt->alignment == FACE_ALIGN_DLIB) {
            face_dlib_chip(img, f->landmarks, chip);

        } else {
            lm_crop = face_clip_rect(f->box[0], f->box[1], f->box[2],
                                     f->box[3], img->w, img->h);
            r = face_faceapi_rect(f->landmarks, &lm_crop);
            r = face_clip_rect(r.x, r.y, r.w, r.h, img->w, img->h);

            if (r.w <= 0 || r.h <= 0) {
                memset(chip, 0, FACE_CHIP_SIZE * FACE_CHIP_SIZE * 3
                                * sizeof(float));

            } else {
                face_square_resize(img, &r, 1, FACE_CHIP_SIZE, zero, 1.0f,
                                   chip);
            }
        }

        if (opt->flip) {
            if (face_rec_flip(&ctx->rec, ctx->rec_batch, chip,
                              f->encoding)
                != 0)
            {
                snprintf(err, errlen, "recognition network failed");
                goto done;
            }

            continue;
        }

        /* chips go into the batch; a full batch or the last face runs it */

        face_rec_input(&ctx->rec, (int) (i % ctx->rec_batch), chip);

        if ((i + 1) % ctx->rec_batch != 0 && i + 1 != n) {
            continue;
        }

        if (face_net_run(&ctx->rec) != 0) {
            snprintf(err, errlen, "recognition network failed");
            goto done;
        }

        for (k = i - i % ctx->rec_batch; k <= i; k++) {
            memcpy(res->faces[k].encoding,
                   face_rec_output(&ctx->rec, (int) (k % ctx->rec_batch)),
                   FACE_DESCRIPTOR * sizeof(float));
        }
    }

    res->ms_encode = face_ms(&t0);
    st = FACE_OK;

done:

    free(chip);
    free(boxes);

    if (st != FACE_OK) {
        face_result_free(res);
    }

    return st;
}


void
face_result_free(face_result_t *res)
{
    free(res->faces);
    res->faces = NULL;
    res->nfaces = 0;
}


face_status_e
face_detect_rgb(face_ctx_t *ctx, const uint8_t *rgb, int w, int h,
    const face_options_t *opt, float (*boxes)[5], size_t max, size_t *n,
    char *err, size_t errlen)
{
    size_t        i, nb;
    face_box_t   *b;
    face_image_t  img;

    *n = 0;

    if (w <= 0 || h <= 0 || w > FACE_RESIZE_MAX * 4
        || h > FACE_RESIZE_MAX * 4
        || !(opt->min_confidence >= 0.0f && opt->min_confidence < 1.0f))
    {
        snprintf(err, errlen, "bad image or options for detection");
        return FACE_EINTERNAL;
    }

    if (face_ctx_need(ctx, opt, 0, err, errlen) != 0) {
        return FACE_EINTERNAL;
    }

    img.px = rgb;
    img.w = w;
    img.h = h;

    if (face_detect(ctx, &img, opt, &b, &nb) != 0) {
        snprintf(err, errlen, "face detection failed");
        return FACE_EINTERNAL;
    }

    for (i = 0; i < nb && i < max; i++) {
        boxes[i][0] = b[i].x;
        boxes[i][1] = b[i].y;
        boxes[i][2] = b[i].w;
        boxes[i][3] = b[i].h;
        boxes[i][4] = b[i].score;
    }

    *n = i;
    free(b);

    return FACE_OK;
}


void
face_ctx_kernels(const face_ctx_t *ctx, char *buf, size_t len)
{
    int                i;
    char               k[512];
    size_t             off;
    const face_net_t  *net;

    off = 0;
    buf[0] = '\0';

    for (i = -1; i < FACE_SSD_PARTS + 3 && off < len; i++) {
        net = i < 0 ? &ctx->ssd
              : i < FACE_SSD_PARTS ? &ctx->ssd_part[i]
              : i == FACE_SSD_PARTS ? &ctx->tiny
              : i == FACE_SSD_PARTS + 1 ? &ctx->lm : &ctx->rec;

        if (net->rt == NULL) {
            continue;
        }

        face_net_kernels(net, k, sizeof(k));

        off += snprintf(buf + off, len - off, "%s%s %dx%d: %s",
                        off ? "; " : "",
                        i < FACE_SSD_PARTS ? "ssd"
                        : i == FACE_SSD_PARTS ? "tiny"
                        : i == FACE_SSD_PARTS + 1 ? "landmarks"
                        : "recognition",
                        net->in_w, net->in_h, k);
    }
}


const char *
face_engine_isa(void)
{
    return face_nn_isa();
}


size_t
face_ctx_bytes(const face_ctx_t *ctx)
{
    int     i;
    size_t  n;

    n = face_net_bytes(&ctx->ssd) + face_net_bytes(&ctx->tiny)
        + face_net_bytes(&ctx->lm) + face_net_bytes(&ctx->rec);

    for (i = 0; i < FACE_SSD_PARTS; i++) {
        n += face_net_bytes(&ctx->ssd_part[i]);
    }

    return n;
}


const char *
face_status_text(face_status_e status)
{
    switch (status) {

    case FACE_OK:
        return "ok";

    case FACE_EDECODE:
        return "cannot decode the image";

    case FACE_ETOOBIG:
        return "image too large";

    case FACE_ENOMEM:
        return "out of memory";

    default:
        return "internal error";
    }
}
