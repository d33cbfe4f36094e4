
/*
 * face-api's tiny_face_detector_model: a small YOLOv2 (conv, five
 * separable convolutions with leaky ReLU and max pooling, 1x1 head) with
 * five anchors per cell, then NMS at IoU 0.4.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#include "face_internal.h"


#define FACE_TINY_IOU    0.4f
#define FACE_TINY_LEAKY  0.1f


static const float  face_tiny_anchors[5][2] = {
    { 1.603231f, 2.094468f }, { 6.041143f, 7.080126f },
    { 2.882459f, 3.518061f }, { 4.266906f, 5.178857f },
    { 9.041765f, 10.66308f }
};

static const float  face_tiny_mean[3] = { 117.001f, 114.697f, 97.404f };


static float
face_sigmoid(float x)
{
    return 1.0f / (1.0f + expf(-x));
}


int
face_tiny_load(face_tiny_t *p, const face_weights_t *w, char *err,
    size_t errlen)
{
    int   i, cin, cout;
    char  d[64], pw[64], b[64];

    memset(p, 0, sizeof(face_tiny_t));

    if (face_layer_conv(&p->conv0, w, "conv0/filters", "conv0/bias", 3, 3, 3,
                        16, err, errlen)
        != 0)
    {
        goto failed;
    }

    cin = 16;

    for (i = 0; i < 5; i++) {
        cout = cin * 2;

        snprintf(d, sizeof(d), "conv%d/depthwise_filter", i + 1);
        snprintf(pw, sizeof(pw), "conv%d/pointwise_filter", i + 1);
        snprintf(b, sizeof(b), "conv%d/bias", i + 1);

        if (face_layer_depthwise(&p->dw[i], w, d, NULL, 3, cin, err, errlen)
            != 0
            || face_layer_conv(&p->pw[i], w, pw, b, 1, 1, cin, cout, err,
                               errlen)
               != 0)
        {
            goto failed;
        }

        cin = cout;
    }

    if (face_layer_conv(&p->conv8, w, "conv8/filters", "conv8/bias", 1, 1,
                        512, 25, err, errlen)
        != 0)
    {
        goto failed;
    }

    return 0;

failed:

    face_tiny_free(p);
    return -1;
}


void
face_tiny_free(face_tiny_t *p)
{
    int  i;

    face_layer_free(&p->conv0);

    for (i = 0; i < 5; i++) {
        face_layer_free(&p->dw[i]);
        face_layer_free(&p->pw[i]);
    }

    face_layer_free(&p->conv8);
}


int
face_tiny_build(face_net_t *net, const face_tiny_t *p, int size, char *err,
    size_t errlen)
{
    int           i;
    face_val_t    x;
    face_graph_t  g;

    x = face_g_begin(&g, 1, size, size, 3);
    x = face_g_conv(&g, x, &p->conv0, 1, FACE_PAD_VALID, -INFINITY,
                    INFINITY);
    x = face_g_leaky(&g, x, FACE_TINY_LEAKY);
    x = face_g_maxpool(&g, x, 2, 2, FACE_PAD_SAME);

    for (i = 0; i < 5; i++) {
        x = face_g_conv(&g, x, &p->dw[i], 1, FACE_PAD_ONE, -INFINITY,
                        INFINITY);
        x = face_g_conv(&g, x, &p->pw[i], 1, FACE_PAD_VALID, -INFINITY,
                        INFINITY);
        x = face_g_leaky(&g, x, FACE_TINY_LEAKY);
        x = face_g_maxpool(&g, x, 2, i < 4 ? 2 : 1, FACE_PAD_SAME);
    }

    face_g_output_next(&g);
    (void) face_g_conv(&g, x, &p->conv8, 1, FACE_PAD_VALID, -INFINITY,
                       INFINITY);

    return face_net_create(net, &g, err, errlen);
}


int
face_tiny_detect(face_net_t *net, int size, const face_image_t *img,
    float min_conf, face_box_t **boxes, size_t *n)
{
    int           g, row, col, a, side;
    float         score, fx, fy, cx, cy, bw, bh, rw, rh;
    size_t        nc;
    face_box_t   *c;
    face_rect_t   all;
    const float  *o;

    *boxes = NULL;
    *n = 0;

    all.x = 0;
    all.y = 0;
    all.w = img->w;
    all.h = img->h;

    face_square_resize(img, &all, 0, size, face_tiny_mean, 1.0f / 255.0f,
                       net->in);

    if (face_net_run(net) != 0) {
        return -1;
    }

    g = size / 32;
    side = img->w > img->h ? img->w : img->h;
    rw = roundf(img->w * ((float) size / side));
    rh = roundf(img->h * ((float) size / side));
    fx = (float) size / rw;
    fy = (float) size / rh;

    c = malloc((size_t) g * g * 5 * sizeof(face_box_t));
    if (c == NULL) {
        return -1;
    }

    nc = 0;

    for (row = 0; row < g; row++) {
        for (col = 0; col < g; col++) {
            for (a = 0; a < 5; a++) {
                o = net->out[0] + ((size_t) (row * g + col) * 25 + a * 5);

                score = face_sigmoid(o[4]);
                if (!(score > min_conf)) {
                    continue;
                }

                cx = (col + face_sigmoid(o[0])) / g * fx;
                cy = (row + face_sigmoid(o[1])) / g * fy;
                bw = expf(o[2]) * face_tiny_anchors[a][0] / g * fx;
                bh = expf(o[3]) * face_tiny_anchors[a][1] / g * fy;

                c[nc].x = (cx - bw / 2) * img->w;
                c[nc].y = (cy - bh / 2) * img->h;
                c[nc].w = bw * img->w;
                c[nc].h = bh * img->h;
                c[nc].score = score;
                nc++;
            }
        }
    }

    *boxes = c;
    *n = face_nms(c, nc, FACE_TINY_IOU, (size_t) -1);

    return 0;
}
