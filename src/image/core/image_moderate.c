
/*
 * nsfwjs 4.4.0's MobileNetV2 (Keras MobileNetV2, alpha 1.0, 224x224, a
 * head of three dense layers) on the face engine's graph API.  The
 * topology, from the model's Keras JSON:
 *
 *   Conv1 3x3/2 32, BN, ReLU6
 *   expanded_conv: depthwise 3x3, BN, ReLU6; project 1x1 16, BN
 *   block_1..16: expand 1x1 (6x), BN, ReLU6; depthwise 3x3/s, BN, ReLU6;
 *       project 1x1, BN; + the block's input when stride 1 and the
 *       channels match
 *   Conv_1 1x1 1280, BN, ReLU6; average pooling 7x7 (the whole map)
 *   dense_1 256 ReLU, dense_2 128 ReLU, dense_3 5 softmax
 *
 * Keras pads the stride-2 layers by [0, 1] before a VALID convolution,
 * which is TensorFlow's SAME on these even sizes.  Batch norms (epsilon
 * 0.001) are folded into the convolutions at load; the softmax is
 * computed here, in double.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#include "face_weights.h"
#include "face_nn.h"
#include "image_moderate.h"


#define IMAGE_MODERATE_BLOCKS   16
#define IMAGE_MODERATE_EPS      0.001f


struct image_moderate_model_s {
    face_layer_t   conv1;
    face_layer_t   dw0;
    face_layer_t   project0;
    face_layer_t   expand[IMAGE_MODERATE_BLOCKS + 1];
    face_layer_t   dw[IMAGE_MODERATE_BLOCKS + 1];
    face_layer_t   project[IMAGE_MODERATE_BLOCKS + 1];
    face_layer_t   conv_last;
    face_layer_t   dense[3];
};


struct image_moderate_ctx_s {
    face_net_t     net;
};


/* block_1..16: output channels and stride (Keras MobileNetV2) */
static const int  image_moderate_blocks[IMAGE_MODERATE_BLOCKS + 1][2] = {
    { 0, 0 },
    { 24, 2 }, { 24, 1 },
    { 32, 2 }, { 32, 1 }, { 32, 1 },
    { 64, 2 }, { 64, 1 }, { 64, 1 }, { 64, 1 },
    { 96, 1 }, { 96, 1 }, { 96, 1 },
    { 160, 2 }, { 160, 1 }, { 160, 1 },
    { 320, 1 }
};


const char  *image_moderate_names[IMAGE_MODERATE_CLASSES] = {
    "drawing", "hentai", "neutral", "porn", "sexy"
};


static int image_moderate_layer(face_layer_t *l, const face_weights_t *w,
    const char *kernel, const char *bn, int k, int cin, int cout,
    char *err, size_t errlen);


int
image_moderate_load(const char *dir, image_moderate_model_t **model,
    char *err, size_t errlen)
{
    int                      i, cin, cout, rc;
    char                     k[64], bn[64];
    face_weights_t           w;
    image_moderate_model_t  *m;

    *model = NULL;

    if (face_nn_init(err, errlen) != 0) {
        return -1;
    }

    if (face_weights_load(&w, dir, IMAGE_MODERATE_NET, err, errlen) != 0) {
        return -1;
    }

    m = calloc(1, sizeof(image_moderate_model_t));
    if (m == NULL) {
        face_weights_free(&w);
        snprintf(err, errlen, "out of memory");
        return -1;
    }

    rc = -1;

    if (image_moderate_layer(&m->conv1, &w, "Conv1/kernel", "bn_Conv1", 3,
                             3, 32, err, errlen)
        != 0
        || image_moderate_layer(&m->dw0, &w,
                                "expanded_conv_depthwise/depthwise_kernel",
                                "expanded_conv_depthwise_BN", 3, 32, 0, err,
                                errlen)
           != 0
        || image_moderate_layer(&m->project0, &w,
                                "expanded_conv_project/kernel",
                                "expanded_conv_project_BN", 1, 32, 16, err,
                                errlen)
           != 0)
    {
        goto done;
    }

    cin = 16;

    for (i = 1; i <= IMAGE_MODERATE_BLOCKS; i++) {
        cout = image_moderate_blocks[i][0];

        snprintf(k, sizeof(k), "block_%d_expand/kernel", i);
        snprintf(bn, sizeof(bn), "block_%d_expand_BN", i);

        if (image_moderate_layer(&m->expand[i], &w, k, bn, 1, cin, cin * 6,
                                 err, errlen)
            != 0)
        {
            goto done;
        }

        snprintf(k, sizeof(k), "block_%d_depthwise/depthwise_kernel", i);
        snprintf(bn, sizeof(bn), "block_%d_depthwise_BN", i);

        if (image_moderate_layer(&m->dw[i], &w, k, bn, 3, cin * 6, 0, err,
                                 errlen)
            != 0)
        {
            goto done;
        }

        snprintf(k, sizeof(k), "block_%d_project/kernel", i);
        snprintf(bn, sizeof(bn), "block_%d_project_BN", i);

        if (image_moderate_layer(&m->project[i], &w, k, bn, 1, cin * 6,
                                 cout, err, errlen)
            != 0)
        {
            goto done;
        }

        cin = cout;
    }

    if (image_moderate_layer(&m->conv_last, &w, "Conv_1/kernel", "Conv_1_bn",
                             1, 320, 1280, err, errlen)
        != 0)
    {
        goto done;
    }

    /* dense kernels [cin][cout] are 1x1 convolutions' HWIO */

    if (face_layer_conv(&m->dense[0], &w, "dense_1/kernel", "dense_1/bias",
                        1, 1, 1280, 256, err, errlen)
        != 0
        || face_layer_conv(&m->dense[1], &w, "dense_2/kernel",
                           "dense_2/bias", 1, 1, 256, 128, err, errlen)
           != 0
        || face_layer_conv(&m->dense[2], &w, "dense_3/kernel",
                           "dense_3/bias", 1, 1, 128,
                           IMAGE_MODERATE_CLASSES, err, errlen)
           != 0)
    {
        goto done;
    }

    rc = 0;

done:

    face_weights_free(&w);

    if (rc != 0) {
        image_moderate_model_free(m);
        return -1;
    }

    *model = m;

    return 0;
}


/* a convolution (cout > 0) or a depthwise one (cout 0) with its BN folded */

static int
image_moderate_layer(face_layer_t *l, const face_weights_t *w,
    const char *kernel, const char *bn, int k, int cin, int cout,
    char *err, size_t errlen)
{
    int                   i, c, rc;
    char                  name[96];
    const face_tensor_t  *t[4];
    static const char    *parts[4] = { "gamma", "beta", "moving_mean",
                                       "moving_variance" };

    c = cout ? cout : cin;

    for (i = 0; i < 4; i++) {
        snprintf(name, sizeof(name), "%s/%s", bn, parts[i]);

        t[i] = face_weights_get(w, name, c, err, errlen);
        if (t[i] == NULL) {
            return -1;
        }
    }

    if (cout) {
        rc = face_layer_conv(l, w, kernel, NULL, k, k, cin, cout, err,
                             errlen);

    } else {
        rc = face_layer_depthwise(l, w, kernel, NULL, k, cin, err, errlen);
    }

    if (rc != 0) {
        return -1;
    }

    if (face_layer_batch_norm(l, t[0]->data, t[1]->data, t[2]->data,
                              t[3]->data, IMAGE_MODERATE_EPS, err, errlen)
        != 0)
    {
        face_layer_free(l);
        return -1;
    }

    return 0;
}


void
image_moderate_model_free(image_moderate_model_t *m)
{
    int  i;

    if (m == NULL) {
        return;
    }

    face_layer_free(&m->conv1);
    face_layer_free(&m->dw0);
    face_layer_free(&m->project0);

    for (i = 1; i <= IMAGE_MODERATE_BLOCKS; i++) {
        face_layer_free(&m->expand[i]);
        face_layer_free(&m->dw[i]);
        face_layer_free(&m->project[i]);
    }

    face_layer_free(&m->conv_last);

    for (i = 0; i < 3; i++) {
        face_layer_free(&m->dense[i]);
    }

    free(m);
}


image_moderate_ctx_t *
image_moderate_ctx_create(const image_moderate_model_t *m, char *err,
    size_t errlen)
{
    int                    i, stride;
    face_val_t             x, y;
    face_graph_t           g;
    image_moderate_ctx_t  *ctx;

    ctx = calloc(1, sizeof(image_moderate_ctx_t));
    if (ctx == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }

    x = face_g_begin(&g, 1, IMAGE_MODERATE_SIZE, IMAGE_MODERATE_SIZE, 3);

    x = face_g_conv(&g, x, &m->conv1, 2, FACE_PAD_SAME, 0.0f, 6.0f);
    x = face_g_conv(&g, x, &m->dw0, 1, FACE_PAD_SAME, 0.0f, 6.0f);
    x = face_g_conv(&g, x, &m->project0, 1, FACE_PAD_SAME, -INFINITY,
                    INFINITY);

    for (i = 1; i <= IMAGE_MODERATE_BLOCKS; i++) {
        stride = image_moderate_blocks[i][1];

        y = face_g_conv(&g, x, &m->expand[i], 1, FACE_PAD_SAME, 0.0f, 6.0f);
        y = face_g_conv(&g, y, &m->dw[i], stride, FACE_PAD_SAME, 0.0f,
                        6.0f);
        y = face_g_conv(&g, y, &m->project[i], 1, FACE_PAD_SAME, -INFINITY,
                        INFINITY);

        if (stride == 1 && x.c == y.c) {
            y = face_g_add(&g, x, y, -INFINITY, INFINITY);
        }

        x = y;
    }

    x = face_g_conv(&g, x, &m->conv_last, 1, FACE_PAD_SAME, 0.0f, 6.0f);
    x = face_g_mean(&g, x);

    /* ReLU: a leaky ReLU of slope 0 (face_nn.h has no plain clamp) */

    x = face_g_fc(&g, x, &m->dense[0]);
    x = face_g_leaky(&g, x, 0.0f);
    x = face_g_fc(&g, x, &m->dense[1]);
    x = face_g_leaky(&g, x, 0.0f);

    face_g_output_next(&g);
    (void) face_g_fc(&g, x, &m->dense[2]);

    if (face_net_create(&ctx->net, &g, err, errlen) != 0) {
        free(ctx);
        return NULL;
    }

    if (ctx->net.nout != 1
        || ctx->net.out_len[0] != IMAGE_MODERATE_CLASSES
        || ctx->net.in_len != (size_t) IMAGE_MODERATE_SIZE
                              * IMAGE_MODERATE_SIZE * 3)
    {
        snprintf(err, errlen, "the network's shapes are not the model's");
        image_moderate_ctx_free(ctx);
        return NULL;
    }

    return ctx;
}


void
image_moderate_ctx_free(image_moderate_ctx_t *ctx)
{
    if (ctx == NULL) {
        return;
    }

    face_net_free(&ctx->net);
    free(ctx);
}


/*
 * tfjs's ResizeBilinear with alignCorners and without half-pixel
 * centres: source = destination * (in - 1) / (out - 1); the top and
 * bottom rows (left and right columns) are floor() and min(in - 1,
 * ceil()); x first, then y.
 */

void
image_moderate_resize(const uint8_t *px, int width, int height,
    size_t stride, int size, float *out)
{
    int             x, y, c, top, bottom, left, right;
    float           sy, sx, fy, fx, ys, xs, tl, tr, bl, br, t, b;
    const uint8_t  *rt, *rb;

    ys = (size > 1) ? (float) (height - 1) / (float) (size - 1) : 0.0f;
    xs = (size > 1) ? (float) (width - 1) / (float) (size - 1) : 0.0f;

    for (y = 0; y < size; y++) {
        sy = (float) y * ys;
        top = (int) floorf(sy);
        bottom = (int) ceilf(sy);
        if (bottom > height - 1) {
            bottom = height - 1;
        }

        fy = sy - (float) top;
        rt = px + (size_t) top * stride;
        rb = px + (size_t) bottom * stride;

        for (x = 0; x < size; x++) {
            sx = (float) x * xs;
            left = (int) floorf(sx);
            right = (int) ceilf(sx);
            if (right > width - 1) {
                right = width - 1;
            }

            fx = sx - (float) left;

            for (c = 0; c < 3; c++) {
                tl = (float) rt[left * 3 + c] / 255.0f;
                tr = (float) rt[right * 3 + c] / 255.0f;
                bl = (float) rb[left * 3 + c] / 255.0f;
                br = (float) rb[right * 3 + c] / 255.0f;

                t = tl + (tr - tl) * fx;
                b = bl + (br - bl) * fx;

                *out++ = t + (b - t) * fy;
            }
        }
    }
}


int
image_moderate_rgb(image_moderate_ctx_t *ctx, const uint8_t *px,
    int width, int height, size_t stride,
    float scores[IMAGE_MODERATE_CLASSES], char *err, size_t errlen)
{
    int           i;
    double        e[IMAGE_MODERATE_CLASSES], max, sum;
    const float  *logits;

    if (width < 1 || height < 1 || stride < (size_t) width * 3) {
        snprintf(err, errlen, "no pixels");
        return -1;
    }

    image_moderate_resize(px, width, height, stride, IMAGE_MODERATE_SIZE,
                          ctx->net.in);

    if (face_net_run(&ctx->net) != 0) {
        snprintf(err, errlen, "running the network failed");
        return -1;
    }

    logits = ctx->net.out[0];
    max = logits[0];

    for (i = 1; i < IMAGE_MODERATE_CLASSES; i++) {
        if (logits[i] > max) {
            max = logits[i];
        }
    }

    sum = 0.0;

    for (i = 0; i < IMAGE_MODERATE_CLASSES; i++) {
        e[i] = exp((double) logits[i] - max);
        sum += e[i];
    }

    for (i = 0; i < IMAGE_MODERATE_CLASSES; i++) {
        scores[i] = (float) (e[i] / sum);

        if (!isfinite(scores[i])) {
            snprintf(err, errlen, "the network's output is not a number");
            return -1;
        }
    }

    return 0;
}


int
image_moderate_flagged(const float scores[IMAGE_MODERATE_CLASSES],
    const float thresholds[IMAGE_MODERATE_CLASSES])
{
    int  i;

    for (i = 0; i < IMAGE_MODERATE_CLASSES; i++) {
        if (thresholds[i] <= 1.0f && scores[i] >= thresholds[i]) {
            return 1;
        }
    }

    return 0;
}


void
image_moderate_default_thresholds(float thresholds[IMAGE_MODERATE_CLASSES])
{
    thresholds[IMAGE_MODERATE_DRAWING] = IMAGE_MODERATE_OFF;
    thresholds[IMAGE_MODERATE_HENTAI] = 0.7f;
    thresholds[IMAGE_MODERATE_NEUTRAL] = IMAGE_MODERATE_OFF;
    thresholds[IMAGE_MODERATE_PORN] = 0.7f;
    thresholds[IMAGE_MODERATE_SEXY] = 0.9f;
}


size_t
image_moderate_json(const float scores[IMAGE_MODERATE_CLASSES], char *buf,
    size_t len)
{
    int     i, n;
    size_t  off;
    char    one[64];

    off = 0;

    for (i = 0; i < IMAGE_MODERATE_CLASSES; i++) {
        n = snprintf(one, sizeof(one), "%s\"%s\":%.6f", i ? "," : "{",
                     image_moderate_names[i], (double) scores[i]);

        if (off + n < len) {
            memcpy(buf + off, one, n);
        }

        off += n;
    }

    if (off + 1 < len) {
        buf[off] = '}';
        buf[off + 1] = '\0';

    } else if (len) {
        buf[0] = '\0';
    }

    return off + 1;
}
