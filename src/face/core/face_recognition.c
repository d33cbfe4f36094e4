
/*
 * face-api's face_recognition_model, the dlib ResNet-29 (metric learning,
 * 128-d): conv 7x7/2, max pool, 14 residual blocks, mean, fully connected.
 * Every "scale" layer is folded into its convolution at load time.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#include "face_internal.h"


typedef struct {
    const char  *name;
    int          cin;
    int          cout;
    int          down;
} face_rec_block_t;


static const face_rec_block_t  face_rec_blocks[FACE_REC_BLOCKS] = {
    { "conv32_1",          32,  32, 0 },
    { "conv32_2",          32,  32, 0 },
    { "conv32_3",          32,  32, 0 },
    { "conv64_down",       32,  64, 1 },
    { "conv64_1",          64,  64, 0 },
    { "conv64_2",          64,  64, 0 },
    { "conv64_3",          64,  64, 0 },
    { "conv128_down",      64, 128, 1 },
    { "conv128_1",        128, 128, 0 },
    { "conv128_2",        128, 128, 0 },
    { "conv256_down",     128, 256, 1 },
    { "conv256_1",        256, 256, 0 },
    { "conv256_2",        256, 256, 0 },
    { "conv256_down_out", 256, 256, 1 }
};


static const float  face_rec_mean[3] = { 122.782f, 117.001f, 104.298f };


static int face_rec_layer(face_layer_t *l, const face_weights_t *w,
    const char *prefix, int k, int cin, int cout, char *err, size_t errlen);


int
face_rec_load(face_rec_t *p, const face_weights_t *w, char *err,
    size_t errlen)
{
    int                      i;
    char                     name[64];
    const face_rec_block_t  *b;

    memset(p, 0, sizeof(face_rec_t));

    if (face_rec_layer(&p->conv0, w, "conv32_down", 7, 3, 32, err, errlen)
        != 0)
    {
        goto failed;
    }

    for (i = 0; i < FACE_REC_BLOCKS; i++) {
        b = &face_rec_blocks[i];

        snprintf(name, sizeof(name), "%s/conv1", b->name);
        if (face_rec_layer(&p->conv1[i], w, name, 3, b->cin, b->cout, err,
                           errlen)
            != 0)
        {
            goto failed;
        }

        snprintf(name, sizeof(name), "%s/conv2", b->name);
        if (face_rec_layer(&p->conv2[i], w, name, 3, b->cout, b->cout, err,
                           errlen)
            != 0)
        {
            goto failed;
        }
    }

    /* fc [256][128], no bias: a 1x1 "convolution" layer transposes it */

    if (face_layer_conv(&p->fc, w, "fc", NULL, 1, 1, 256, 128, err, errlen)
        != 0)
    {
        goto failed;
    }

    return 0;

failed:

    face_rec_free(p);
    return -1;
}


static int
face_rec_layer(face_layer_t *l, const face_weights_t *w, const char *prefix,
    int k, int cin, int cout, char *err, size_t errlen)
{
    char                  f[96], b[96], sw[96], sb[96];
    const face_tensor_t  *mul, *add;

    snprintf(f, sizeof(f), "%s/conv/filters", prefix);
    snprintf(b, sizeof(b), "%s/conv/bias", prefix);
    snprintf(sw, sizeof(sw), "%s/scale/weights", prefix);
    snprintf(sb, sizeof(sb), "%s/scale/biases", prefix);

    if (face_layer_conv(l, w, f, b, k, k, cin, cout, err, errlen) != 0) {
        return -1;
    }

    mul = face_weights_get(w, sw, cout, err, errlen);
    add = face_weights_get(w, sb, cout, err, errlen);

    if (mul == NULL || add == NULL) {
        face_layer_free(l);
        return -1;
    }

    face_layer_scale(l, mul->data, add->data);

    return 0;
}


void
face_rec_free(face_rec_t *p)
{
    int  i;

    face_layer_free(&p->conv0);

    for (i = 0; i < FACE_REC_BLOCKS; i++) {
        face_layer_free(&p->conv1[i]);
        face_layer_free(&p->conv2[i]);
    }

    face_layer_free(&p->fc);
}


int
face_rec_build(face_net_t *net, const face_rec_t *p, int batch, char *err,
    size_t errlen)
{
    int           i;
    face_val_t    x, o, s;
    face_graph_t  g;

    x = face_g_begin(&g, batch, FACE_CHIP_SIZE, FACE_CHIP_SIZE, 3);
    x = face_g_conv(&g, x, &p->conv0, 2, FACE_PAD_VALID, 0.0f, INFINITY);
    x = face_g_maxpool(&g, x, 3, 2, FACE_PAD_VALID);

    for (i = 0; i < FACE_REC_BLOCKS; i++) {

        if (!face_rec_blocks[i].down) {
            o = face_g_conv(&g, x, &p->conv1[i], 1, FACE_PAD_SAME, 0.0f,
                            INFINITY);
            o = face_g_conv(&g, o, &p->conv2[i], 1, FACE_PAD_SAME, -INFINITY,
                            INFINITY);
            x = face_g_add(&g, o, x, 0.0f, INFINITY);
            continue;
        }

        /*
         * Down: the shortcut is a 2x2 average; the VALID 3x3/2 branch
         * can come out one smaller (8 -> 3 against 4): zero row and column
         * after it; the shortcut's missing channels are zeros.
         */
        o = face_g_conv(&g, x, &p->conv1[i], 2, FACE_PAD_VALID, 0.0f,
                        INFINITY);
        o = face_g_conv(&g, o, &p->conv2[i], 1, FACE_PAD_SAME, -INFINITY,
                        INFINITY);
        s = face_g_avgpool(&g, x, 2, 2);

        if (o.h < s.h || o.w < s.w) {
            o = face_g_pad(&g, o, s.h - o.h, s.w - o.w, 0);
        }

        if (s.c < o.c) {
            s = face_g_pad(&g, s, 0, 0, o.c - s.c);
        }

        x = face_g_add(&g, s, o, 0.0f, INFINITY);
    }

    x = face_g_mean(&g, x);
    face_g_output_next(&g);
    (void) face_g_fc(&g, x, &p->fc);

    return face_net_create(net, &g, err, errlen);
}


void
face_rec_input(face_net_t *net, int slot, const float *chip)
{
    size_t   i, n;
    float   *in;

    n = (size_t) FACE_CHIP_SIZE * FACE_CHIP_SIZE * 3;
    in = net->in + slot * n;

    for (i = 0; i < n; i++) {
        in[i] = (chip[i] - face_rec_mean[i % 3]) / 255.0f;
    }
}


const float *
face_rec_output(const face_net_t *net, int slot)
{
    return net->out[0] + slot * FACE_DESCRIPTOR;
}


int
face_rec_run(face_net_t *net, const float *chip, float out[FACE_DESCRIPTOR])
{
    face_rec_input(net, 0, chip);

    if (face_net_run(net) != 0) {
        return -1;
    }

    memcpy(out, face_rec_output(net, 0), FACE_DESCRIPTOR * sizeof(float));

    return 0;
}


/*
 * A mirrored face gives a mirrored chip, and the net is not mirror
 * invariant (0.3 and more apart on the demo photos): the mean of both
 * makes a face and its mirror image nearly the same descriptor.  With a
 * batch of two or more both chips go in one run.
 */

int
face_rec_flip(face_net_t *net, int batch, float *chip,
    float out[FACE_DESCRIPTOR])
{
    int           x, y, c;
    float         t, *row;
    const float  *o;

    face_rec_input(net, 0, chip);

    if (batch < 2) {
        if (face_net_run(net) != 0) {
            return -1;
        }

        memcpy(out, face_rec_output(net, 0), FACE_DESCRIPTOR * sizeof(float));
    }

    for (y = 0; y < FACE_CHIP_SIZE; y++) {
        row = chip + (size_t) y * FACE_CHIP_SIZE * 3;

        for (x = 0; x < FACE_CHIP_SIZE / 2; x++) {
            for (c = 0; c < 3; c++) {
                t = row[x * 3 + c];
                row[x * 3 + c] = row[(FACE_CHIP_SIZE - 1 - x) * 3 + c];
                row[(FACE_CHIP_SIZE - 1 - x) * 3 + c] = t;
            }
        }
    }

    face_rec_input(net, batch < 2 ? 0 : 1, chip);

    if (face_net_run(net) != 0) {
        return -1;
    }

    if (batch >= 2) {
        memcpy(out, face_rec_output(net, 0), FACE_DESCRIPTOR * sizeof(float));
    }

    o = face_rec_output(net, batch < 2 ? 0 : 1);

    for (c = 0; c < FACE_DESCRIPTOR; c++) {
        out[c] = (out[c] + o[c]) * 0.5f;
    }

    return 0;
}
