
/*
 * face-api's ssd_mobilenetv1_model: MobileNetV1 (depthwise layers with
 * batch norm, folded at load time), eight extra layers, six box/class heads
 * over 5118 fixed anchors at 512x512, then NMS at IoU 0.5.
 *
 * A network may also take only the top left rows x cols of that 512x512
 * input (multiples of 32): the photo's own aspect ratio without the
 * padding to a square.  Every layer keeps the square network's padding
 * before its input, so each cell of each head stays where it was in the
 * square network and keeps its anchors; only cells next to the cut see
 * zeros where the square network saw more padding.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#include "face_internal.h"


#define FACE_SSD_EPS       0.0010000000474974513f
#define FACE_SSD_IOU       0.5f
#define FACE_SSD_MAX       100


static const int  face_ssd_channels[14] = {
    32, 64, 128, 128, 256, 256, 512, 512, 512, 512, 512, 512, 1024, 1024
};

/* extra layers: kernel, input and output channels */
static const int  face_ssd_extra[8][3] = {
    { 1, 1024, 256 }, { 3, 256, 512 }, { 1, 512, 128 }, { 3, 128, 256 },
    { 1, 256, 128 },  { 3, 128, 256 }, { 1, 256, 64 },  { 3, 64, 128 }
};

static const int  face_ssd_head_in[6] = { 512, 1024, 512, 256, 256, 128 };


/*
 * the shorter side's input rows or columns: 16:9, 3:2, 4:3 and 5:4 photos
 * and squares; each bucket is a set of primitives a context builds on
 * first use
 */
static const int  face_ssd_buckets[] = { 288, 352, 384, 416, FACE_SSD_SIZE };


static int face_ssd_dw(face_layer_t *l, const face_weights_t *w, int i,
    int c, char *err, size_t errlen);


int
face_ssd_load(face_ssd_t *p, const face_weights_t *w, char *err,
    size_t errlen)
{
    int                   i, a;
    char                  f[96], b[96];
    const face_tensor_t  *t;

    memset(p, 0, sizeof(face_ssd_t));

    if (face_layer_conv(&p->conv0, w, "MobilenetV1/Conv2d_0_pointwise/weights",
                        "MobilenetV1/Conv2d_0_pointwise/convolution_bn_offset",
                        3, 3, 3, 32, err, errlen)
        != 0)
    {
        goto failed;
    }

    for (i = 1; i <= 13; i++) {
        if (face_ssd_dw(&p->dw[i - 1], w, i, face_ssd_channels[i - 1], err,
                        errlen)
            != 0)
        {
            goto failed;
        }

        snprintf(f, sizeof(f), "MobilenetV1/Conv2d_%d_pointwise/weights", i);
        snprintf(b, sizeof(b),
                 "MobilenetV1/Conv2d_%d_pointwise/convolution_bn_offset", i);

        if (face_layer_conv(&p->pw[i - 1], w, f, b, 1, 1,
                            face_ssd_channels[i - 1], face_ssd_channels[i],
                            err, errlen)
            != 0)
        {
            goto failed;
        }
    }

    for (i = 0; i < 8; i++) {
        snprintf(f, sizeof(f), "Prediction/Conv2d_%d_pointwise/weights", i);
        snprintf(b, sizeof(b),
                 "Prediction/Conv2d_%d_pointwise/convolution_bn_offset", i);

        if (face_layer_conv(&p->extra[i], w, f, b, face_ssd_extra[i][0],
                            face_ssd_extra[i][0], face_ssd_extra[i][1],
                            face_ssd_extra[i][2], err, errlen)
            != 0)
        {
            goto failed;
        }
    }

    for (i = 0; i < 6; i++) {
        a = i == 0 ? 3 : 6;

        snprintf(f, sizeof(f),
                 "Prediction/BoxPredictor_%d/BoxEncodingPredictor/weights", i);
        snprintf(b, sizeof(b),
                 "Prediction/BoxPredictor_%d/BoxEncodingPredictor/biases", i);

        if (face_layer_conv(&p->box[i], w, f, b, 1, 1, face_ssd_head_in[i],
                            4 * a, err, errlen)
            != 0)
        {
            goto failed;
        }

        snprintf(f, sizeof(f),
                 "Prediction/BoxPredictor_%d/ClassPredictor/weights", i);
        snprintf(b, sizeof(b),
                 "Prediction/BoxPredictor_%d/ClassPredictor/biases", i);

        if (face_layer_conv(&p->cls[i], w, f, b, 1, 1, face_ssd_head_in[i],
                            3 * a, err, errlen)
            != 0)
        {
            goto failed;
        }
    }

    t = face_weights_get(w, "Output/extra_dim", FACE_SSD_ANCHORS * 4, err,
                         errlen);
    if (t == NULL) {
        goto failed;
    }

    p->anchors = malloc(t->count * sizeof(float));
    if (p->anchors == NULL) {
        snprintf(err, errlen, "out of memory");
        goto failed;
    }

    memcpy(p->anchors, t->data, t->count * sizeof(float));

    return 0;

failed:

    face_ssd_free(p);
    return -1;
}


static int
face_ssd_dw(face_layer_t *l, const face_weights_t *w, int i, int c,
    char *err, size_t errlen)
{
    int                   k;
    char                  name[5][96];
    const face_tensor_t  *t[4];
    static const char    *bn[4] = { "gamma", "beta", "moving_mean",
                                    "moving_variance" };

    snprintf(name[0], sizeof(name[0]),
             "MobilenetV1/Conv2d_%d_depthwise/depthwise_weights", i);

    for (k = 0; k < 4; k++) {
        snprintf(name[1 + k], sizeof(name[1 + k]),
                 "MobilenetV1/Conv2d_%d_depthwise/BatchNorm/%s", i, bn[k]);

        t[k] = face_weights_get(w, name[1 + k], c, err, errlen);
        if (t[k] == NULL) {
            return -1;
        }
    }

    if (face_layer_depthwise(l, w, name[0], NULL, 3, c, err, errlen) != 0) {
        return -1;
    }

    if (face_layer_batch_norm(l, t[0]->data, t[1]->data, t[2]->data,
                              t[3]->data, FACE_SSD_EPS, err, errlen)
        != 0)
    {
        face_layer_free(l);
        return -1;
    }

    return 0;
}


void
face_ssd_free(face_ssd_t *p)
{
    int  i;

    face_layer_free(&p->conv0);

    for (i = 0; i < 13; i++) {
        face_layer_free(&p->dw[i]);
        face_layer_free(&p->pw[i]);
    }

    for (i = 0; i < 8; i++) {
        face_layer_free(&p->extra[i]);
    }

    for (i = 0; i < 6; i++) {
        face_layer_free(&p->box[i]);
        face_layer_free(&p->cls[i]);
    }

    free(p->anchors);
    p->anchors = NULL;
}


int
face_ssd_build(face_net_t *net, const face_ssd_t *p, char *err,
    size_t errlen)
{
    return face_ssd_build_part(net, p, FACE_SSD_SIZE, FACE_SSD_SIZE, err,
                               errlen);
}


int
face_ssd_build_part(face_net_t *net, const face_ssd_t *p, int rows,
    int cols, char *err, size_t errlen)
{
    int           i, stride;
    face_val_t    x, c11, feat[6];
    face_graph_t  g;

    if (rows < 32 || cols < 32 || rows > FACE_SSD_SIZE
        || cols > FACE_SSD_SIZE || rows % 32 || cols % 32)
    {
        snprintf(err, errlen, "bad SSD input %dx%d", cols, rows);
        return -1;
    }

    /* FACE_PAD_SAME_ALIGNED is TensorFlow's SAME on the 512x512 input */

    x = face_g_begin(&g, 1, rows, cols, 3);
    x = face_g_conv(&g, x, &p->conv0, 2, FACE_PAD_SAME_ALIGNED, 0.0f, 6.0f);

    c11 = x;

    for (i = 1; i <= 13; i++) {
        stride = (i == 2 || i == 4 || i == 6 || i == 12) ? 2 : 1;

        x = face_g_conv(&g, x, &p->dw[i - 1], stride, FACE_PAD_SAME_ALIGNED,
                        0.0f, 6.0f);
        x = face_g_conv(&g, x, &p->pw[i - 1], 1, FACE_PAD_SAME_ALIGNED, 0.0f,
                        6.0f);

        if (i == 11) {
            c11 = x;
        }
    }

    feat[0] = c11;
    feat[1] = x;

    for (i = 0; i < 8; i++) {
        x = face_g_conv(&g, x, &p->extra[i], (i & 1) ? 2 : 1,
                        FACE_PAD_SAME_ALIGNED, 0.0f, 6.0f);

        if (i & 1) {
            feat[2 + i / 2] = x;
        }
    }

    for (i = 0; i < 6; i++) {
        face_g_output_next(&g);
        (void) face_g_conv(&g, feat[i], &p->box[i], 1,
                           FACE_PAD_SAME_ALIGNED, -INFINITY, INFINITY);
        face_g_output_next(&g);
        (void) face_g_conv(&g, feat[i], &p->cls[i], 1,
                           FACE_PAD_SAME_ALIGNED, -INFINITY, INFINITY);
    }

    return face_net_create(net, &g, err, errlen);
}


void
face_ssd_bucket(const face_rect_t *region, int *rows, int *cols)
{
    int     i, len;
    float   side;

    /* the resized region's shorter side, as face_ssd_detect() computes it */

    side = region->w > region->h ? region->w : region->h;
    len = (int) roundf((region->w < region->h ? region->w : region->h)
                       * (FACE_SSD_SIZE / side));

    i = 0;

    while (face_ssd_buckets[i] < len && face_ssd_buckets[i] < FACE_SSD_SIZE) {
        i++;
    }

    *rows = FACE_SSD_SIZE;
    *cols = FACE_SSD_SIZE;

    if (region->w >= region->h) {
        *rows = face_ssd_buckets[i];

    } else {
        *cols = face_ssd_buckets[i];
    }
}


void
face_ssd_decode(const float *anchor, const float *code, float *box)
{
    float  ha, wa, cy, cx, yc, xc, h, w;

    /* anchor and box: ymin, xmin, ymax, xmax; code: ty, tx, th, tw */

    ha = anchor[2] - anchor[0];
    wa = anchor[3] - anchor[1];
    cy = anchor[0] + ha / 2;
    cx = anchor[1] + wa / 2;

    yc = code[0] / 10 * ha + cy;
    xc = code[1] / 10 * wa + cx;
    h = expf(code[2] / 5) * ha;
    w = expf(code[3] / 5) * wa;

    box[0] = yc - h / 2;
    box[1] = xc - w / 2;
    box[2] = yc + h / 2;
    box[3] = xc + w / 2;
}


int
face_ssd_detect(face_net_t *net, const face_ssd_t *p,
    const face_image_t *img, const face_rect_t *region, float min_conf,
    face_box_t **boxes, size_t *n)
{
    int          j, a, na, gh, gw, gs, y, x;
    float        score, b[4], side, rw, rh, top, bottom, left, right;
    size_t       k, nc, base, anchor, cell;
    face_box_t  *c;
    const float  mean[3] = { 127.5f, 127.5f, 127.5f };

    *boxes = NULL;
    *n = 0;

    face_square_resize_part(img, region, 0, FACE_SSD_SIZE, net->in_h,
                            net->in_w, mean, 1.0f / 127.5f, net->in);

    if (face_net_run(net) != 0) {
        return -1;
    }

    c = malloc(FACE_SSD_ANCHORS * sizeof(face_box_t));
    if (c == NULL) {
        return -1;
    }

    nc = 0;
    base = 0;
    gh = net->in_h;
    gw = net->in_w;
    gs = FACE_SSD_SIZE;

    /*
     * heads j0..j5 in order (grids: the input /16, /32, ... /512, each
     * halving rounded up); each output is (y, x, anchor) x 4 codes over its
     * own grid, the anchors are the square grid's: cell (y, x) is the same
     * cell in both
     */

    for (j = 0; j < 6; j++) {
        for (k = 0; k < (j == 0 ? 4u : 1u); k++) {
            gh = (gh + 1) / 2;
            gw = (gw + 1) / 2;
            gs = (gs + 1) / 2;
        }

        na = j == 0 ? 3 : 6;

        if ((size_t) gh * gw * na * 4 != net->out_len[2 * j]) {
            free(c);
            return -1;
        }

        for (y = 0; y < gh; y++) {
            for (x = 0; x < gw; x++) {
                for (a = 0; a < na; a++) {
                    cell = ((size_t) y * gw + x) * na + a;
                    anchor = base + ((size_t) y * gs + x) * na + a;

                    score = 1.0f / (1.0f + expf(-net->out[2 * j + 1]
                                                          [cell * 3 + 1]));

                    if (!(score > min_conf) || anchor >= FACE_SSD_ANCHORS) {
                        continue;
                    }

                    face_ssd_decode(&p->anchors[anchor * 4],
                                    &net->out[2 * j][cell * 4], b);

                    c[nc].x = b[1];
                    c[nc].y = b[0];
                    c[nc].w = b[3] - b[1];
                    c[nc].h = b[2] - b[0];
                    c[nc].score = score;
                    nc++;
                }
            }
        }

        base += (size_t) gs * gs * na;
    }

    nc = face_nms(c, nc, FACE_SSD_IOU, FACE_SSD_MAX);

    /* undo the padding to a square, then to image pixels */

    side = region->w > region->h ? region->w : region->h;
    rw = roundf(region->w * (FACE_SSD_SIZE / side));
    rh = roundf(region->h * (FACE_SSD_SIZE / side));

    for (k = 0; k < nc; k++) {
        top = fmaxf(0.0f, c[k].y) * FACE_SSD_SIZE / rh;
        bottom = fminf(1.0f, c[k].y + c[k].h) * FACE_SSD_SIZE / rh;
        left = fmaxf(0.0f, c[k].x) * FACE_SSD_SIZE / rw;
        right = fminf(1.0f, c[k].x + c[k].w) * FACE_SSD_SIZE / rw;

        c[k].x = left * region->w + region->x;
        c[k].y = top * region->h + region->y;
        c[k].w = (right - left) * region->w;
        c[k].h = (bottom - top) * region->h;
    }

    *boxes = c;
    *n = nc;

    return 0;
}
