
/*
 * face-api's face_landmark_68_model: four dense blocks (separable
 * convolutions, stride-2 first layer, summed shortcuts) at 112x112, an
 * average and a fully connected layer giving 68 (x, y) relative to the
 * face crop padded (centred) to a square.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#include "face_internal.h"


static const int    face_lm_channels[4] = { 32, 64, 128, 256 };
static const float  face_lm_mean[3] = { 122.782f, 117.001f, 104.298f };


int
face_lm_load(face_lm_t *p, const face_weights_t *w, char *err,
    size_t errlen)
{
    int   b, k, cin, cout;
    char  d[64], pw[64], bias[64];

    memset(p, 0, sizeof(face_lm_t));

    if (face_layer_conv(&p->conv0, w, "dense0/conv0/filters",
                        "dense0/conv0/bias", 3, 3, 3, 32, err, errlen)
        != 0)
    {
        goto failed;
    }

    for (b = 0; b < 4; b++) {
        cout = face_lm_channels[b];

        for (k = (b == 0); k < 4; k++) {
            cin = (k == 0) ? face_lm_channels[b - 1] : cout;

            snprintf(d, sizeof(d), "dense%d/conv%d/depthwise_filter", b, k);
            snprintf(pw, sizeof(pw), "dense%d/conv%d/pointwise_filter", b, k);
            snprintf(bias, sizeof(bias), "dense%d/conv%d/bias", b, k);

            if (face_layer_depthwise(&p->dw[b][k], w, d, NULL, 3, cin, err,
                                     errlen)
                != 0
                || face_layer_conv(&p->pw[b][k], w, pw, bias, 1, 1, cin,
                                   cout, err, errlen)
                   != 0)
            {
                goto failed;
            }
        }
    }

    if (face_layer_conv(&p->fc, w, "fc/weights", "fc/bias", 1, 1, 256, 136,
                        err, errlen)
        != 0)
    {
        goto failed;
    }

    return 0;

failed:

    face_lm_free(p);
    return -1;
}


void
face_lm_free(face_lm_t *p)
{
    int  b, k;

    face_layer_free(&p->conv0);

    for (b = 0; b < 4; b++) {
        for (k = 0; k < 4; k++) {
            face_layer_free(&p->dw[b][k]);
            face_layer_free(&p->pw[b][k]);
        }
    }

    face_layer_free(&p->fc);
}


static face_val_t
face_lm_sep(face_graph_t *g, face_val_t x, const face_lm_t *p, int b, int k,
    int stride, float lo)
{
    x = face_g_conv(g, x, &p->dw[b][k], stride, FACE_PAD_SAME, -INFINITY,
                    INFINITY);

    return face_g_conv(g, x, &p->pw[b][k], 1, FACE_PAD_VALID, lo, INFINITY);
}


int
face_lm_build(face_net_t *net, const face_lm_t *p, char *err, size_t errlen)
{
    int           b;
    face_val_t    x, o1, o2, o3, o4, s12, s123;
    face_graph_t  g;

    x = face_g_begin(&g, 1, FACE_LM_SIZE, FACE_LM_SIZE, 3);

    for (b = 0; b < 4; b++) {
        if (b == 0) {
            o1 = face_g_conv(&g, x, &p->conv0, 2, FACE_PAD_SAME, 0.0f,
                             INFINITY);

        } else {
            o1 = face_lm_sep(&g, x, p, b, 0, 2, 0.0f);
        }

        /* out_k = sep(relu(out1 + ... + out_k-1)) */

        o2 = face_lm_sep(&g, o1, p, b, 1, 1, -INFINITY);
        s12 = face_g_add(&g, o1, o2, -INFINITY, INFINITY);
        x = face_g_add(&g, o1, o2, 0.0f, INFINITY);
        o3 = face_lm_sep(&g, x, p, b, 2, 1, -INFINITY);
        s123 = face_g_add(&g, s12, o3, -INFINITY, INFINITY);
        x = face_g_add(&g, s12, o3, 0.0f, INFINITY);
        o4 = face_lm_sep(&g, x, p, b, 3, 1, -INFINITY);
        x = face_g_add(&g, s123, o4, 0.0f, INFINITY);
    }

    x = face_g_mean(&g, x);
    face_g_output_next(&g);
    (void) face_g_fc(&g, x, &p->fc);

    return face_net_create(net, &g, err, errlen);
}


int
face_lm_run(face_net_t *net, const face_image_t *img, const face_box_t *box,
    float lm[FACE_LANDMARKS][2])
{
    int          i;
    float        s, pad_x, pad_y, w, h;
    face_rect_t  r;

    r = face_clip_rect(box->x, box->y, box->w, box->h, img->w, img->h);
    if (r.w <= 0 || r.h <= 0) {
        return 1;
    }

    face_square_resize(img, &r, 1, FACE_LM_SIZE, face_lm_mean,
                       1.0f / 255.0f, net->in);

    if (face_net_run(net) != 0) {
        return -1;
    }

    /* FaceLandmark68NetBase.postProcess, then shifted by the box origin */

    s = (float) FACE_LM_SIZE / (r.w > r.h ? r.w : r.h);
    w = r.w * s;
    h = r.h * s;
    pad_x = w < h ? (h - w) / 2 : 0.0f;
    pad_y = h < w ? (w - h) / 2 : 0.0f;

    for (i = 0; i < FACE_LANDMARKS; i++) {
        lm[i][0] = (net->out[0][2 * i] * FACE_LM_SIZE - pad_x) / w * r.w
                   + box->x;
        lm[i][1] = (net->out[0][2 * i + 1] * FACE_LM_SIZE - pad_y) / h * r.h
                   + box->y;
    }

    return 0;
}


/*
 * The landmark net was trained on upright detection boxes: for a rolled
 * face its points drift, and the chip with them.  Measured on the demo
 * photos' upright faces, an SSD box padded to a square is 1.08 chip sides
 * (150 c) wide and centred 0.11 chip sides above the chip's centre; the
 * second pass crops that square, turned by the first pass's roll.
 */

#define FACE_LM_SIDE    1.08
#define FACE_LM_RAISE   0.11

int
face_lm_refine(face_net_t *net, const face_image_t *img,
    float lm[FACE_LANDMARKS][2])
{
    int                i;
    double             side, cx, cy, x0, y0, x, y;
    face_similarity_t  s;

    s = face_dlib_transform(lm);

    if (!(s.c > 0) || !isfinite(s.tx) || !isfinite(s.ty)) {
        return 1;
    }

    side = FACE_LM_SIDE * FACE_CHIP_SIZE * s.c;

    /* the chip's centre, then up by FACE_LM_RAISE in the chip's frame */
    cx = s.c * (s.cs * 75.0 - s.sn * 75.0) + s.tx
         + s.sn * FACE_LM_RAISE * FACE_CHIP_SIZE * s.c;
    cy = s.c * (s.sn * 75.0 + s.cs * 75.0) + s.ty
         - s.cs * FACE_LM_RAISE * FACE_CHIP_SIZE * s.c;

    x0 = cx - s.cs * side / 2 + s.sn * side / 2;
    y0 = cy - s.sn * side / 2 - s.cs * side / 2;

    face_rotated_resize(img, x0, y0, side, s.cs, s.sn, FACE_LM_SIZE,
                        face_lm_mean, 1.0f / 255.0f, net->in);

    if (face_net_run(net) != 0) {
        return -1;
    }

    for (i = 0; i < FACE_LANDMARKS; i++) {
        x = net->out[0][2 * i] * side;
        y = net->out[0][2 * i + 1] * side;

        lm[i][0] = (float) (x0 + s.cs * x - s.sn * y);
        lm[i][1] = (float) (y0 + s.sn * x + s.cs * y);
    }

    return 0;
}
