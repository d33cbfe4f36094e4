
/*
 * XNNPACK subgraph helpers.  Weights stay in face_models_t (static data of
 * the subgraph: they must outlive every runtime); each runtime packs its
 * own copy when it is created.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#include "face_nn.h"


static uint32_t face_g_value(face_graph_t *g, int h, int w, int c);
static uint32_t face_g_static(face_graph_t *g, size_t ndims,
    const size_t *dims, const float *data);


int
face_nn_init(char *err, size_t errlen)
{
    enum xnn_status  st;

    st = xnn_initialize(NULL);
    if (st != xnn_status_success) {
        snprintf(err, errlen, "xnn_initialize() failed: %d", (int) st);
        return -1;
    }

    return 0;
}


int
face_layer_conv(face_layer_t *l, const face_weights_t *w,
    const char *filters, const char *bias, int kh, int kw, int cin,
    int cout, char *err, size_t errlen)
{
    int                   y, x, i, o;
    const face_tensor_t  *f;

    memset(l, 0, sizeof(face_layer_t));

    f = face_weights_get(w, filters, (size_t) kh * kw * cin * cout, err,
                         errlen);
    if (f == NULL) {
        return -1;
    }

    l->kh = kh;
    l->kw = kw;
    l->cin = cin;
    l->cout = cout;

    l->w = malloc(f->count * sizeof(float));
    l->b = calloc(cout, sizeof(float));
    if (l->w == NULL || l->b == NULL) {
        snprintf(err, errlen, "out of memory");
        face_layer_free(l);
        return -1;
    }

    /* tfjs [kh][kw][cin][cout] -> XNNPACK [cout][kh][kw][cin] */

    for (y = 0; y < kh; y++) {
        for (x = 0; x < kw; x++) {
            for (i = 0; i < cin; i++) {
                for (o = 0; o < cout; o++) {
                    l->w[((o * kh + y) * kw + x) * cin + i] =
                        f->data[((y * kw + x) * cin + i) * cout + o];
                }
            }
        }
    }

    if (bias != NULL && face_layer_add_bias(l, w, bias, err, errlen) != 0) {
        face_layer_free(l);
        return -1;
    }

    return 0;
}


int
face_layer_depthwise(face_layer_t *l, const face_weights_t *w,
    const char *filters, const char *bias, int k, int c, char *err,
    size_t errlen)
{
    const face_tensor_t  *f;

    memset(l, 0, sizeof(face_layer_t));

    f = face_weights_get(w, filters, (size_t) k * k * c, err, errlen);
    if (f == NULL) {
        return -1;
    }

    l->kh = k;
    l->kw = k;
    l->cin = c;
    l->cout = c;
    l->depthwise = 1;

    /* tfjs [kh][kw][c][1] is XNNPACK's [1][kh][kw][c] already */

    l->w = malloc(f->count * sizeof(float));
    l->b = calloc(c, sizeof(float));
    if (l->w == NULL || l->b == NULL) {
        snprintf(err, errlen, "out of memory");
        face_layer_free(l);
        return -1;
    }

    memcpy(l->w, f->data, f->count * sizeof(float));

    if (bias != NULL && face_layer_add_bias(l, w, bias, err, errlen) != 0) {
        face_layer_free(l);
        return -1;
    }

    return 0;
}


int
face_layer_add_bias(face_layer_t *l, const face_weights_t *w,
    const char *bias, char *err, size_t errlen)
{
    int                   o;
    const face_tensor_t  *b;

    b = face_weights_get(w, bias, l->cout, err, errlen);
    if (b == NULL) {
        return -1;
    }

    for (o = 0; o < l->cout; o++) {
        l->b[o] += b->data[o];
    }

    return 0;
}


void
face_layer_scale(face_layer_t *l, const float *mul, const float *add)
{
    int     o;
    size_t  i, per;

    per = l->depthwise ? 1 : (size_t) l->kh * l->kw * l->cin;

    for (o = 0; o < l->cout; o++) {
        if (l->depthwise) {
            for (i = 0; i < (size_t) l->kh * l->kw; i++) {
                l->w[i * l->cout + o] *= mul[o];
            }

        } else {
            for (i = 0; i < per; i++) {
                l->w[o * per + i] *= mul[o];
            }
        }

        l->b[o] = l->b[o] * mul[o] + add[o];
    }
}


void
face_layer_free(face_layer_t *l)
{
    free(l->w);
    free(l->b);
    l->w = NULL;
    l->b = NULL;
}


size_t
face_layer_bytes(const face_layer_t *l)
{
    size_t  n;

    n = (size_t) l->kh * l->kw * l->cin;

    if (!l->depthwise) {
        n *= l->cout;
    }

    return (n + l->cout) * sizeof(float);
}


int
face_same_pad(int in, int k, int stride, int *before, int *after)
{
    int  out, total;

    out = (in + stride - 1) / stride;
    total = (out - 1) * stride + k - in;

    if (total < 0) {
        total = 0;
    }

    *before = total / 2;
    *after = total - *before;

    return out;
}


face_val_t
face_g_begin(face_graph_t *g, int n, int h, int w, int c)
{
    size_t      dims[4];
    face_val_t  v;

    memset(g, 0, sizeof(face_graph_t));
    g->batch = n;

    v.h = h;
    v.w = w;
    v.c = c;
    v.id = XNN_INVALID_VALUE_ID;

    if (xnn_create_subgraph(1 + FACE_NET_MAX_OUT, 0, &g->sg)
        != xnn_status_success)
    {
        g->sg = NULL;
        g->failed = 1;
        return v;
    }

    dims[0] = n;
    dims[1] = h;
    dims[2] = w;
    dims[3] = c;

    if (xnn_define_tensor_value(g->sg, xnn_datatype_fp32, 4, dims, NULL, 0,
                                XNN_VALUE_FLAG_EXTERNAL_INPUT, &v.id)
        != xnn_status_success)
    {
        g->failed = 1;
    }

    g->in_len = (size_t) n * h * w * c;

    return v;
}


void
face_g_output_next(face_graph_t *g)
{
    g->output_next = 1;
}


static uint32_t
face_g_value(face_graph_t *g, int h, int w, int c)
{
    uint32_t  id, ext, flags;
    size_t    dims[4];

    id = XNN_INVALID_VALUE_ID;

    if (g->failed) {
        return id;
    }

    if (h <= 0 || w <= 0 || c <= 0) {
        g->failed = 1;
        return id;
    }

    dims[0] = g->batch;
    dims[1] = h;
    dims[2] = w;
    dims[3] = c;

    ext = XNN_INVALID_VALUE_ID;
    flags = 0;

    if (g->output_next) {
        if (g->nout == FACE_NET_MAX_OUT) {
            g->failed = 1;
            return id;
        }

        g->output_next = 0;
        g->out_len[g->nout] = (size_t) g->batch * h * w * c;
        ext = 1 + g->nout++;
        flags = XNN_VALUE_FLAG_EXTERNAL_OUTPUT;
    }

    if (xnn_define_tensor_value(g->sg, xnn_datatype_fp32, 4, dims, NULL, ext,
                                flags, &id)
        != xnn_status_success)
    {
        g->failed = 1;
    }

    return id;
}


static uint32_t
face_g_static(face_graph_t *g, size_t ndims, const size_t *dims,
    const float *data)
{
    uint32_t  id;

    id = XNN_INVALID_VALUE_ID;

    if (!g->failed
        && xnn_define_tensor_value(g->sg, xnn_datatype_fp32, ndims, dims,
                                   data, XNN_INVALID_VALUE_ID, 0, &id)
           != xnn_status_success)
    {
        g->failed = 1;
    }

    return id;
}


face_val_t
face_g_conv(face_graph_t *g, face_val_t x, const face_layer_t *l,
    int stride, face_pad_e pad, float lo, float hi)
{
    int         pt, pb, pl, pr;
    size_t      dims[4];
    uint32_t    fid, bid;
    face_val_t  y;

    pt = pb = pl = pr = 0;

    switch (pad) {

    case FACE_PAD_SAME:
        y.h = face_same_pad(x.h, l->kh, stride, &pt, &pb);
        y.w = face_same_pad(x.w, l->kw, stride, &pl, &pr);
        break;

    case FACE_PAD_ONE:
        pt = pb = pl = pr = 1;
        y.h = (x.h + 2 - l->kh) / stride + 1;
        y.w = (x.w + 2 - l->kw) / stride + 1;
        break;

    default:
        y.h = (x.h - l->kh) / stride + 1;
        y.w = (x.w - l->kw) / stride + 1;
    }

    y.c = l->cout;

    if (x.c != l->cin) {
        g->failed = 1;
    }

    if (l->depthwise) {
        dims[0] = 1;
        dims[1] = l->kh;
        dims[2] = l->kw;
        dims[3] = l->cout;

    } else {
        dims[0] = l->cout;
        dims[1] = l->kh;
        dims[2] = l->kw;
        dims[3] = l->cin;
    }

    fid = face_g_static(g, 4, dims, l->w);
    dims[0] = l->cout;
    bid = face_g_static(g, 1, dims, l->b);
    y.id = face_g_value(g, y.h, y.w, y.c);

    if (g->failed) {
        return y;
    }

    if (l->depthwise) {
        if (xnn_define_depthwise_convolution_2d(g->sg, pt, pr, pb, pl,
                                                l->kh, l->kw, stride, stride,
                                                1, 1, 1, l->cin, lo, hi,
                                                x.id, fid, bid, y.id, 0)
            != xnn_status_success)
        {
            g->failed = 1;
        }

    } else if (xnn_define_convolution_2d(g->sg, pt, pr, pb, pl, l->kh, l->kw,
                                         stride, stride, 1, 1, 1, l->cin,
                                         l->cout, lo, hi, x.id, fid, bid,
                                         y.id, 0)
               != xnn_status_success)
    {
        g->failed = 1;
    }

    return y;
}


face_val_t
face_g_fc(face_graph_t *g, face_val_t x, const face_layer_t *l)
{
    size_t      dims[2];
    uint32_t    fid, bid;
    face_val_t  y;

    y.h = x.h;
    y.w = x.w;
    y.c = l->cout;

    if (x.c != l->cin) {
        g->failed = 1;
    }

    dims[0] = l->cout;
    dims[1] = l->cin;
    fid = face_g_static(g, 2, dims, l->w);
    bid = face_g_static(g, 1, dims, l->b);
    y.id = face_g_value(g, y.h, y.w, y.c);

    if (!g->failed
        && xnn_define_fully_connected(g->sg, -INFINITY, INFINITY, x.id, fid,
                                      bid, y.id, 0)
           != xnn_status_success)
    {
        g->failed = 1;
    }

    return y;
}


face_val_t
face_g_leaky(face_graph_t *g, face_val_t x, float slope)
{
    face_val_t  y;

    y = x;
    y.id = face_g_value(g, y.h, y.w, y.c);

    if (!g->failed
        && xnn_define_leaky_relu(g->sg, slope, x.id, y.id, 0)
           != xnn_status_success)
    {
        g->failed = 1;
    }

    return y;
}


face_val_t
face_g_maxpool(face_graph_t *g, face_val_t x, int k, int stride,
    face_pad_e pad)
{
    int         pt, pb, pl, pr;
    face_val_t  y;

    pt = pb = pl = pr = 0;
    y.c = x.c;

    if (pad == FACE_PAD_SAME) {
        y.h = face_same_pad(x.h, k, stride, &pt, &pb);
        y.w = face_same_pad(x.w, k, stride, &pl, &pr);

    } else {
        y.h = (x.h - k) / stride + 1;
        y.w = (x.w - k) / stride + 1;
    }

    y.id = face_g_value(g, y.h, y.w, y.c);

    /* XNNPACK's max pooling never picks a padded cell, as TensorFlow */

    if (!g->failed
        && xnn_define_max_pooling_2d(g->sg, pt, pr, pb, pl, k, k, stride,
                                     stride, 1, 1, -INFINITY, INFINITY,
                                     x.id, y.id, 0)
           != xnn_status_success)
    {
        g->failed = 1;
    }

    return y;
}


face_val_t
face_g_avgpool(face_graph_t *g, face_val_t x, int k, int stride)
{
    face_val_t  y;

    y.c = x.c;
    y.h = (x.h - k) / stride + 1;
    y.w = (x.w - k) / stride + 1;
    y.id = face_g_value(g, y.h, y.w, y.c);

    if (!g->failed
        && xnn_define_average_pooling_2d(g->sg, 0, 0, 0, 0, k, k, stride,
                                         stride, -INFINITY, INFINITY, x.id,
                                         y.id, 0)
           != xnn_status_success)
    {
        g->failed = 1;
    }

    return y;
}


face_val_t
face_g_mean(face_graph_t *g, face_val_t x)
{
    face_val_t  y;

    y.c = x.c;
    y.h = 1;
    y.w = 1;
    y.id = face_g_value(g, 1, 1, y.c);

    if (!g->failed
        && xnn_define_global_average_pooling_2d(g->sg, -INFINITY, INFINITY,
                                                x.id, y.id, 0)
           != xnn_status_success)
    {
        g->failed = 1;
    }

    return y;
}


face_val_t
face_g_add(face_graph_t *g, face_val_t a, face_val_t b, float lo, float hi)
{
    face_val_t  y;

    if (a.h != b.h || a.w != b.w || a.c != b.c) {
        g->failed = 1;
    }

    y = a;
    y.id = face_g_value(g, y.h, y.w, y.c);

    if (!g->failed
        && xnn_define_add2(g->sg, lo, hi, a.id, b.id, y.id, 0)
           != xnn_status_success)
    {
        g->failed = 1;
    }

    return y;
}


face_val_t
face_g_pad(face_graph_t *g, face_val_t x, int bottom, int right,
    int channels_after)
{
    size_t      pre[4], post[4];
    face_val_t  y;

    y.h = x.h + bottom;
    y.w = x.w + right;
    y.c = x.c + channels_after;
    y.id = face_g_value(g, y.h, y.w, y.c);

    memset(pre, 0, sizeof(pre));
    post[0] = 0;
    post[1] = bottom;
    post[2] = right;
    post[3] = channels_after;

    if (!g->failed
        && xnn_define_static_constant_pad(g->sg, pre, post, 0.0f, x.id, y.id,
                                          0)
           != xnn_status_success)
    {
        g->failed = 1;
    }

    return y;
}


int
face_net_create(face_net_t *net, face_graph_t *g, char *err, size_t errlen)
{
    int                         i;
    enum xnn_status             st;
    struct xnn_external_value   ext[1 + FACE_NET_MAX_OUT];

    memset(net, 0, sizeof(face_net_t));

    if (g->failed) {
        snprintf(err, errlen, "XNNPACK refused the network definition");
        goto failed;
    }

    st = xnn_create_runtime_v2(g->sg, NULL, 0, &net->rt);
    if (st != xnn_status_success) {
        net->rt = NULL;
        snprintf(err, errlen, "xnn_create_runtime_v2() failed: %d", (int) st);
        goto failed;
    }

    xnn_delete_subgraph(g->sg);
    g->sg = NULL;

    /* XNNPACK may read XNN_EXTRA_BYTES past its input */

    net->in_len = g->in_len;
    net->in = calloc(1, g->in_len * sizeof(float) + XNN_EXTRA_BYTES);
    if (net->in == NULL) {
        goto nomem;
    }

    ext[0].id = 0;
    ext[0].data = net->in;

    net->nout = g->nout;

    for (i = 0; i < g->nout; i++) {
        net->out_len[i] = g->out_len[i];
        net->out[i] = calloc(1, g->out_len[i] * sizeof(float)
                                + XNN_EXTRA_BYTES);
        if (net->out[i] == NULL) {
            goto nomem;
        }

        ext[1 + i].id = 1 + i;
        ext[1 + i].data = net->out[i];
    }

    st = xnn_setup_runtime(net->rt, 1 + g->nout, ext);
    if (st != xnn_status_success) {
        snprintf(err, errlen, "xnn_setup_runtime() failed: %d", (int) st);
        face_net_free(net);
        return -1;
    }

    return 0;

nomem:

    snprintf(err, errlen, "out of memory");
    face_net_free(net);
    return -1;

failed:

    if (g->sg != NULL) {
        xnn_delete_subgraph(g->sg);
        g->sg = NULL;
    }

    return -1;
}


int
face_net_run(face_net_t *net)
{
    return xnn_invoke_runtime(net->rt) == xnn_status_success ? 0 : -1;
}


void
face_net_free(face_net_t *net)
{
    int  i;

    if (net->rt != NULL) {
        xnn_delete_runtime(net->rt);
    }

    free(net->in);

    for (i = 0; i < net->nout; i++) {
        free(net->out[i]);
    }

    memset(net, 0, sizeof(face_net_t));
}
