
/*
 * face_nn.c's networks on oneDNN against a plain C reference: the fusions
 * (activations and residual adds into convolutions, an add written into
 * its dead operand's buffer, an add whose operand is read again later and
 * must stay), buffer reuse, TensorFlow SAME and FACE_PAD_SAME_ALIGNED
 * padding on odd sizes, depthwise, pooling, padding, mean, fully
 * connected, a batch of two, and the weights' shared packed copy.
 */


#include <stdlib.h>
#include <string.h>
#include <math.h>

#include "unit.h"
#include "face_nn.h"


typedef struct {
    int     n, h, w, c;
    float  *d;
} ref_t;


static unsigned  seed = 12345;


static float
rnd(void)
{
    seed = seed * 1103515245u + 12345u;
    return ((seed >> 8) & 0xffff) / 32768.0f - 1.0f;
}


static ref_t
ref_new(int n, int h, int w, int c)
{
    ref_t  r;

    r.n = n;
    r.h = h;
    r.w = w;
    r.c = c;
    r.d = calloc((size_t) n * h * w * c, sizeof(float));

    return r;
}


#define AT(r, b, y, x, ch)  (r).d[(((size_t) (b) * (r).h + (y)) * (r).w      \
                                   + (x)) * (r).c + (ch)]


static void
layer(face_layer_t *l, int k, int cin, int cout, int dw)
{
    size_t  i, n;

    memset(l, 0, sizeof(face_layer_t));
    l->kh = k;
    l->kw = k;
    l->cin = cin;
    l->cout = cout;
    l->depthwise = dw;

    n = dw ? (size_t) k * k * cout : (size_t) k * k * cin * cout;
    l->w = malloc(n * sizeof(float));
    l->b = malloc(cout * sizeof(float));

    for (i = 0; i < n; i++) {
        l->w[i] = rnd() * 0.5f;
    }

    for (i = 0; i < (size_t) cout; i++) {
        l->b[i] = rnd() * 0.2f;
    }
}


static float
clampf(float v, float lo, float hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}


/* conv with padding before (pt, pl) and output size oh x ow */

static ref_t
ref_conv(ref_t x, const face_layer_t *l, int s, int pt, int pl, int oh,
    int ow, float lo, float hi)
{
    int     b, y, xx, o, i, ky, kx, iy, ix;
    float   acc;
    ref_t   r;

    r = ref_new(x.n, oh, ow, l->cout);

    for (b = 0; b < x.n; b++)
    for (y = 0; y < oh; y++)
    for (xx = 0; xx < ow; xx++)
    for (o = 0; o < l->cout; o++) {
        acc = l->b[o];

        for (ky = 0; ky < l->kh; ky++)
        for (kx = 0; kx < l->kw; kx++) {
            iy = y * s - pt + ky;
            ix = xx * s - pl + kx;

            if (iy < 0 || ix < 0 || iy >= x.h || ix >= x.w) {
                continue;
            }

            if (l->depthwise) {
                acc += AT(x, b, iy, ix, o)
                       * l->w[(ky * l->kw + kx) * l->cout + o];

            } else {
                for (i = 0; i < l->cin; i++) {
                    acc += AT(x, b, iy, ix, i)
                           * l->w[((o * l->kh + ky) * l->kw + kx) * l->cin
                                  + i];
                }
            }
        }

        AT(r, b, y, xx, o) = clampf(acc, lo, hi);
    }

    return r;
}


static ref_t
ref_add(ref_t a, ref_t b, float lo, float hi)
{
    size_t  i;
    ref_t   r;

    r = ref_new(a.n, a.h, a.w, a.c);

    for (i = 0; i < (size_t) a.n * a.h * a.w * a.c; i++) {
        r.d[i] = clampf(a.d[i] + b.d[i], lo, hi);
    }

    return r;
}


static ref_t
ref_pool(ref_t x, int k, int s, int pt, int pl, int oh, int ow, int max)
{
    int     b, y, xx, c, ky, kx, iy, ix, n;
    float   v;
    ref_t   r;

    r = ref_new(x.n, oh, ow, x.c);

    for (b = 0; b < x.n; b++)
    for (y = 0; y < oh; y++)
    for (xx = 0; xx < ow; xx++)
    for (c = 0; c < x.c; c++) {
        v = max ? -INFINITY : 0.0f;
        n = 0;

        for (ky = 0; ky < k; ky++)
        for (kx = 0; kx < k; kx++) {
            iy = y * s - pt + ky;
            ix = xx * s - pl + kx;

            if (iy < 0 || ix < 0 || iy >= x.h || ix >= x.w) {
                continue;
            }

            v = max ? fmaxf(v, AT(x, b, iy, ix, c)) : v + AT(x, b, iy, ix, c);
            n++;
        }

        AT(r, b, y, xx, c) = max ? v : v / n;
    }

    return r;
}


static float
max_diff(const float *a, const ref_t *r)
{
    float   m;
    size_t  i;

    m = 0;

    for (i = 0; i < (size_t) r->n * r->h * r->w * r->c; i++) {
        m = fmaxf(m, fabsf(a[i] - r->d[i]));
    }

    return m;
}


UNIT_TEST(test_ops)
{
    int           i, b, y, x, c, run;
    char          err[256];
    ref_t         in, c0, c1, c1b, c2, r1, r2, lk, mp, ap, pd, mn, fc;
    face_val_t    v, v0, v1, v2, vr1, vr2;
    face_net_t    net;
    face_layer_t  l0, l1, l2, dw, l3, lf;
    face_graph_t  g;

    /* odd sizes everywhere: 2 x 9 x 11 x 5 */

    layer(&l0, 3, 5, 8, 0);
    layer(&dw, 3, 8, 8, 1);
    layer(&l1, 1, 8, 8, 0);
    layer(&l2, 3, 8, 8, 0);
    layer(&l3, 3, 8, 6, 0);
    layer(&lf, 1, 9, 4, 0);

    for (run = 0; run < 2; run++) {
        in = ref_new(2, 9, 11, 5);

        for (i = 0; i < 2 * 9 * 11 * 5; i++) {
            in.d[i] = rnd();
        }

        /* c0: 3x3/2 SAME, ReLU6: 9x11 -> 5x6, TF pads one before each */
        c0 = ref_conv(in, &l0, 2, 1, 1, 5, 6, 0.0f, 6.0f);

        /* c1: depthwise 3x3/2 aligned: nothing before, 5x6 -> 3x3 */
        c1 = ref_conv(c0, &dw, 2, 0, 0, 3, 3, -INFINITY, INFINITY);

        /* residual: r1 = 1x1(1x1(c1)) + c1, ReLU: c1 is dead after, the
           second convolution adds into its buffer (a sum post-op) */
        c2 = ref_conv(c1, &l1, 1, 0, 0, 3, 3, -INFINITY, INFINITY);
        r1 = ref_conv(c2, &l1, 1, 0, 0, 3, 3, -INFINITY, INFINITY);
        free(c2.d);
        c2 = r1;
        r1 = ref_add(c2, c1, 0.0f, INFINITY);
        free(c2.d);

        /* r2 = 1x1(conv3x3(r1)) + r1, then r1 read again: not in place */
        c1b = ref_conv(r1, &l2, 1, 1, 1, 3, 3, -INFINITY, INFINITY);
        c2 = ref_conv(c1b, &l1, 1, 0, 0, 3, 3, -INFINITY, INFINITY);
        free(c1b.d);
        lk = ref_add(r1, c2, -INFINITY, INFINITY);
        r2 = ref_add(lk, r1, -1.0f, 1.5f);
        free(lk.d);

        /* leaky after a conv (fused), then max pool 2x2/2 SAME, avg 2/1 */
        lk = ref_conv(r2, &l3, 1, 1, 1, 3, 3, -INFINITY, INFINITY);
        for (i = 0; i < 2 * 3 * 3 * 6; i++) {
            lk.d[i] = lk.d[i] < 0 ? lk.d[i] * 0.1f : lk.d[i];
        }

        mp = ref_pool(lk, 2, 2, 0, 0, 2, 2, 1);
        ap = ref_pool(lk, 2, 1, 0, 0, 2, 2, 0);

        /* pad 2x2x6 -> 3x3x9, mean, fully connected 9 -> 4 */
        pd = ref_new(2, 3, 3, 9);
        for (b = 0; b < 2; b++)
        for (y = 0; y < 2; y++)
        for (x = 0; x < 2; x++)
        for (c = 0; c < 6; c++) {
            AT(pd, b, y, x, c) = AT(ap, b, y, x, c);
        }

        mn = ref_new(2, 1, 1, 9);
        for (b = 0; b < 2; b++)
        for (c = 0; c < 9; c++) {
            for (y = 0; y < 9; y++) {
                AT(mn, b, 0, 0, c) += pd.d[(size_t) b * 81 + y * 9 + c] / 9;
            }
        }

        fc = ref_new(2, 1, 1, 4);
        for (b = 0; b < 2; b++)
        for (c = 0; c < 4; c++) {
            AT(fc, b, 0, 0, c) = lf.b[c];
            for (i = 0; i < 9; i++) {
                AT(fc, b, 0, 0, c) += AT(mn, b, 0, 0, i) * lf.w[c * 9 + i];
            }
        }

        /* the same on oneDNN */

        v = face_g_begin(&g, 2, 9, 11, 5);
        v0 = face_g_conv(&g, v, &l0, 2, FACE_PAD_SAME, 0.0f, 6.0f);
        v1 = face_g_conv(&g, v0, &dw, 2, FACE_PAD_SAME_ALIGNED, -INFINITY,
                         INFINITY);
        v2 = face_g_conv(&g, v1, &l1, 1, FACE_PAD_SAME, -INFINITY, INFINITY);
        v2 = face_g_conv(&g, v2, &l1, 1, FACE_PAD_SAME, -INFINITY, INFINITY);
        vr1 = face_g_add(&g, v2, v1, 0.0f, INFINITY);
        v2 = face_g_conv(&g, vr1, &l2, 1, FACE_PAD_SAME, -INFINITY,
                         INFINITY);
        v2 = face_g_conv(&g, v2, &l1, 1, FACE_PAD_SAME, -INFINITY, INFINITY);
        vr2 = face_g_add(&g, vr1, v2, -INFINITY, INFINITY);
        face_g_output_next(&g);
        vr2 = face_g_add(&g, vr2, vr1, -1.0f, 1.5f);
        v = face_g_conv(&g, vr2, &l3, 1, FACE_PAD_ONE, -INFINITY, INFINITY);
        v = face_g_leaky(&g, v, 0.1f);
        face_g_output_next(&g);
        (void) face_g_maxpool(&g, v, 2, 2, FACE_PAD_SAME);
        v = face_g_avgpool(&g, v, 2, 1);
        v = face_g_pad(&g, v, 1, 1, 3);
        face_g_output_next(&g);
        v = face_g_mean(&g, v);
        face_g_output_next(&g);
        (void) face_g_fc(&g, v, &lf);

        CHECK(!g.failed);
        CHECK_INT(face_net_create(&net, &g, err, sizeof(err)), 0);

        if (net.rt == NULL) {
            UNIT_FAIL_(__FILE__, __LINE__, "%s", err);
            return;
        }

        CHECK_INT(net.nout, 4);
        CHECK_INT(net.in_h, 9);
        CHECK_INT(net.in_w, 11);
        memcpy(net.in, in.d, sizeof(float) * 2 * 9 * 11 * 5);
        CHECK_INT(face_net_run(&net), 0);

        CHECK(net.out_len[0] == 2 * 3 * 3 * 8);
        CHECK(max_diff(net.out[0], &r2) < 1e-4f);
        CHECK(net.out_len[1] == 2 * 2 * 2 * 6);
        CHECK(max_diff(net.out[1], &mp) < 1e-4f);
        CHECK(max_diff(net.out[2], &mn) < 1e-4f);
        CHECK(max_diff(net.out[3], &fc) < 1e-4f);

        /* a second run on the same runtime: the same answer */
        CHECK_INT(face_net_run(&net), 0);
        CHECK(max_diff(net.out[3], &fc) < 1e-4f);

        CHECK(face_net_bytes(&net) > 0);
        face_net_kernels(&net, err, sizeof(err));
        CHECK(strstr(err, " x") != NULL);

        /* 14 of 16: the first add and the leaky ReLU were fused, the
           two adds whose operand is read again were not */
        CHECK_INT(face_net_steps(&net), 14);

        face_net_free(&net);

        free(in.d); free(c0.d); free(c1.d); free(c2.d); free(r1.d);
        free(r2.d); free(lk.d); free(mp.d); free(ap.d); free(pd.d);
        free(mn.d); free(fc.d);

        /* the second run's runtime reuses the packed weights: one copy */
        CHECK(l0.packed != NULL);
    }

    CHECK(face_nn_isa() != NULL);

    face_layer_free(&l0);
    face_layer_free(&dw);
    face_layer_free(&l1);
    face_layer_free(&l2);
    face_layer_free(&l3);
    face_layer_free(&lf);
    CHECK(l0.packed == NULL);
}


UNIT_TEST(test_bad_graph)
{
    char          err[256];
    face_val_t    v;
    face_net_t    net;
    face_layer_t  l;
    face_graph_t  g;

    /* channels that do not match: refused, nothing leaks */
    layer(&l, 3, 4, 8, 0);
    v = face_g_begin(&g, 1, 8, 8, 3);
    (void) face_g_conv(&g, v, &l, 1, FACE_PAD_SAME, 0.0f, 6.0f);
    CHECK(g.failed);
    CHECK_INT(face_net_create(&net, &g, err, sizeof(err)), -1);
    CHECK(net.rt == NULL);
    face_layer_free(&l);
}


UNIT_MAIN(test_ops, test_bad_graph)
