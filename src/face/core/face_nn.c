
/*
 * The networks on oneDNN.  The graph is a list of operations on NHWC
 * values; face_net_create() fuses an activation or a residual add into the
 * convolution before it (eltwise and sum post-ops), gives each value a
 * buffer (buffers are reused once their values are dead) and makes one
 * primitive per remaining operation.  Weights: oneDNN's blocked copy of a
 * layer is made by the first runtime that needs it (face_models_load()
 * builds the networks once, so in practice at load) and shared read-only
 * by every later runtime, whatever its thread.  Activations stay NHWC: no
 * reorder between layers.  oneDNN runs on the calling thread only
 * (omp_set_num_threads(1) before every call into it).
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#include <pthread.h>
#include <float.h>
#include <omp.h>
#include <dnnl.h>
#include <dnnl_debug.h>

#include "face_nn.h"


#define FACE_NN_ALIGN     64
#define FACE_NN_MAX_POST  3
#define FACE_NN_MAX_ARGS  6


typedef enum {
    FACE_OP_CONV = 0,
    FACE_OP_FC,
    FACE_OP_MAXPOOL,
    FACE_OP_AVGPOOL,
    FACE_OP_MEAN,
    FACE_OP_ADD,
    FACE_OP_LEAKY,
    FACE_OP_PAD
} face_op_e;


typedef enum {
    FACE_POST_CLAMP = 0,
    FACE_POST_LEAKY,
    FACE_POST_SUM
} face_post_e;


typedef struct {
    face_post_e          kind;
    float                lo;
    float                hi;
} face_post_t;


typedef struct face_packed_s  face_packed_t;

/* one layer's weights in the layout a primitive asked for */
struct face_packed_s {
    face_packed_t       *next;
    dnnl_memory_desc_t   md;
    void                *data;
};


typedef struct {
    face_op_e            type;
    const face_layer_t  *l;
    uint32_t             a;
    uint32_t             b;         /* add: the second operand */
    uint32_t             y;
    int                  k;
    int                  stride;
    int                  pad[4];    /* top, bottom, left, right; pad op:
                                       bottom, right, channels after */
    float                lo;        /* clamp after (conv, add) */
    float                hi;
    face_post_t          post[FACE_NN_MAX_POST];
    int                  npost;
    int                  fused;     /* done by the convolution before */
} face_op_t;


typedef struct {
    int                  h;
    int                  w;
    int                  c;
    int                  out;       /* output index or -1 */
    int                  def;       /* the op writing it; -1: the input */
    int                  uses;
    int                  last;      /* the last op reading it */
    uint32_t             alias;     /* shares this value's buffer */
    int                  first;     /* a buffer's live range (root values) */
    int                  end;
    int                  slot;
    float               *data;
} face_v_t;


typedef struct {
    dnnl_primitive_t     prim;      /* NULL: face_nn_pad() */
    int                  op;
    int                  nargs;
    dnnl_exec_arg_t      args[FACE_NN_MAX_ARGS];
    char                 impl[32];
} face_step_t;


typedef struct {
    dnnl_stream_t        stream;
    face_step_t         *steps;
    int                  nsteps;
    face_op_t           *ops;
    face_v_t            *vals;
    int                  nops;
    int                  nvals;
    float              **slots;
    size_t              *slot_len;
    int                  nslots;
    void                *scratch;
    size_t               scratch_len;
    dnnl_memory_t       *mems;
    int                  nmems;
    int                  mems_size;
    size_t               bytes;
} face_rt_t;


static dnnl_engine_t    face_nn_engine;
static dnnl_status_t    face_nn_engine_status = dnnl_runtime_error;
static pthread_once_t   face_nn_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t  face_nn_pack_lock = PTHREAD_MUTEX_INITIALIZER;


static void face_nn_engine_init(void);
static uint32_t face_g_value(face_graph_t *g, int h, int w, int c);
static face_op_t *face_g_op(face_graph_t *g, face_op_e type, face_val_t a);
static void face_nn_clamp(face_op_t *op, float lo, float hi);
static uint32_t face_nn_root(face_v_t *vals, uint32_t v);
static void face_nn_fuse(face_op_t *ops, int nops, face_v_t *vals);
static int face_nn_plan(face_rt_t *rt, face_net_t *net);
static void face_nn_md(dnnl_memory_desc_t *md, int n, int h, int w, int c);
static int face_nn_mem(face_rt_t *rt, face_step_t *st, int arg,
    const dnnl_memory_desc_t *md, void *data);
static const float *face_nn_pack(const face_layer_t *l,
    const dnnl_memory_desc_t *want, char *err, size_t errlen);
static int face_nn_step(face_rt_t *rt, int i, int batch, char *err,
    size_t errlen);
static void face_nn_pad(face_rt_t *rt, const face_op_t *op, int batch);
static void face_nn_rt_free(face_rt_t *rt);



int
face_nn_init(char *err, size_t errlen)
{
    pthread_once(&face_nn_once, face_nn_engine_init);

    if (face_nn_engine_status != dnnl_success) {
        snprintf(err, errlen, "dnnl_engine_create() failed: %s",
                 dnnl_status2str(face_nn_engine_status));
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

    /* tfjs [kh][kw][cin][cout] -> [cout][kh][kw][cin]: oneDNN's "ohwi" */

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

    /* tfjs [kh][kw][c][1] is the [kh][kw][c] kept */

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


int
face_layer_batch_norm(face_layer_t *l, const float *gamma, const float *beta,
    const float *mean, const float *var, float eps, char *err, size_t errlen)
{
    int     o;
    float  *mul, *add;

    mul = malloc(2 * (size_t) l->cout * sizeof(float));
    if (mul == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }

    add = mul + l->cout;

    /* (x - mean) / sqrt(var + eps) * gamma + beta */

    for (o = 0; o < l->cout; o++) {
        mul[o] = gamma[o] / sqrtf(var[o] + eps);
        add[o] = beta[o] - mean[o] * mul[o];
    }

    face_layer_scale(l, mul, add);
    free(mul);

    return 0;
}


void
face_layer_free(face_layer_t *l)
{
    face_packed_t  *p, *next;

    for (p = l->packed; p != NULL; p = next) {
        next = p->next;
        free(p->data);
        free(p);
    }

    free(l->w);
    free(l->b);
    l->w = NULL;
    l->b = NULL;
    l->packed = NULL;
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
    face_val_t  v;

    memset(g, 0, sizeof(face_graph_t));
    g->batch = n;
    g->in_len = (size_t) n * h * w * c;

    v.h = h;
    v.w = w;
    v.c = c;
    v.id = face_g_value(g, h, w, c);

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
    int        n;
    face_v_t  *v;

    if (g->failed) {
        return 0;
    }

    if (h <= 0 || w <= 0 || c <= 0 || g->batch <= 0) {
        g->failed = 1;
        return 0;
    }

    if (g->nvals == g->vals_size) {
        n = g->vals_size ? 2 * g->vals_size : 64;
        v = realloc(g->vals, n * sizeof(face_v_t));
        if (v == NULL) {
            g->failed = 1;
            return 0;
        }

        g->vals = v;
        g->vals_size = n;
    }

    v = (face_v_t *) g->vals + g->nvals;
    memset(v, 0, sizeof(face_v_t));
    v->h = h;
    v->w = w;
    v->c = c;
    v->out = -1;
    v->def = g->nops;        /* the op about to be added; the input: 0 */
    v->alias = g->nvals;

    if (g->nvals == 0) {
        v->def = -1;
    }

    if (g->output_next && g->nvals > 0) {
        if (g->nout == FACE_NET_MAX_OUT) {
            g->failed = 1;
            return 0;
        }

        g->output_next = 0;
        g->out_len[g->nout] = (size_t) g->batch * h * w * c;
        v->out = g->nout++;
    }

    return g->nvals++;
}


static face_op_t *
face_g_op(face_graph_t *g, face_op_e type, face_val_t a)
{
    int         n;
    face_op_t  *op;

    if (g->failed) {
        return NULL;
    }

    if (a.id >= (uint32_t) g->nvals) {
        g->failed = 1;
        return NULL;
    }

    if (g->nops == g->ops_size) {
        n = g->ops_size ? 2 * g->ops_size : 64;
        op = realloc(g->ops, n * sizeof(face_op_t));
        if (op == NULL) {
            g->failed = 1;
            return NULL;
        }

        g->ops = op;
        g->ops_size = n;
    }

    op = (face_op_t *) g->ops + g->nops;
    memset(op, 0, sizeof(face_op_t));
    op->type = type;
    op->a = a.id;
    op->lo = -INFINITY;
    op->hi = INFINITY;

    return op;
}


/* the op's output value is the one added last */

static face_val_t
face_g_finish(face_graph_t *g, face_op_t *op, face_val_t y)
{
    y.id = face_g_value(g, y.h, y.w, y.c);

    if (op == NULL || g->failed) {
        g->failed = 1;
        return y;
    }

    op->y = y.id;
    g->nops++;

    return y;
}


face_val_t
face_g_conv(face_graph_t *g, face_val_t x, const face_layer_t *l,
    int stride, face_pad_e pad, float lo, float hi)
{
    int         pt, pb, pl, pr;
    face_op_t  *op;
    face_val_t  y;

    pt = pb = pl = pr = 0;

    switch (pad) {

    case FACE_PAD_SAME:
        y.h = face_same_pad(x.h, l->kh, stride, &pt, &pb);
        y.w = face_same_pad(x.w, l->kw, stride, &pl, &pr);
        break;

    case FACE_PAD_SAME_ALIGNED:
        pt = l->kh > stride ? (l->kh - stride) / 2 : 0;
        pl = l->kw > stride ? (l->kw - stride) / 2 : 0;
        y.h = (x.h + stride - 1) / stride;
        y.w = (x.w + stride - 1) / stride;
        pb = (y.h - 1) * stride + l->kh - x.h - pt;
        pr = (y.w - 1) * stride + l->kw - x.w - pl;
        pb = pb < 0 ? 0 : pb;
        pr = pr < 0 ? 0 : pr;
        y.h = (x.h + pt + pb - l->kh) / stride + 1;
        y.w = (x.w + pl + pr - l->kw) / stride + 1;
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

    if (x.c != l->cin || stride <= 0) {
        g->failed = 1;
    }

    op = face_g_op(g, FACE_OP_CONV, x);

    if (op != NULL) {
        op->l = l;
        op->stride = stride;
        op->k = l->kh;
        op->pad[0] = pt;
        op->pad[1] = pb;
        op->pad[2] = pl;
        op->pad[3] = pr;
        face_nn_clamp(op, lo, hi);
    }

    return face_g_finish(g, op, y);
}


face_val_t
face_g_fc(face_graph_t *g, face_val_t x, const face_layer_t *l)
{
    face_op_t  *op;
    face_val_t  y;

    y.h = x.h;
    y.w = x.w;
    y.c = l->cout;

    if (x.c != l->cin) {
        g->failed = 1;
    }

    op = face_g_op(g, FACE_OP_FC, x);

    if (op != NULL) {
        op->l = l;
    }

    return face_g_finish(g, op, y);
}


face_val_t
face_g_leaky(face_graph_t *g, face_val_t x, float slope)
{
    face_op_t  *op;
    face_val_t  y;

    y = x;
    op = face_g_op(g, FACE_OP_LEAKY, x);

    if (op != NULL) {
        op->post[0].kind = FACE_POST_LEAKY;
        op->post[0].lo = slope;
        op->npost = 1;
    }

    return face_g_finish(g, op, y);
}


face_val_t
face_g_maxpool(face_graph_t *g, face_val_t x, int k, int stride,
    face_pad_e pad)
{
    int         pt, pb, pl, pr;
    face_op_t  *op;
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

    /* oneDNN's max pooling never picks a padded cell, as TensorFlow */

    op = face_g_op(g, FACE_OP_MAXPOOL, x);

    if (op != NULL) {
        op->k = k;
        op->stride = stride;
        op->pad[0] = pt;
        op->pad[1] = pb;
        op->pad[2] = pl;
        op->pad[3] = pr;
    }

    return face_g_finish(g, op, y);
}


face_val_t
face_g_avgpool(face_graph_t *g, face_val_t x, int k, int stride)
{
    face_op_t  *op;
    face_val_t  y;

    y.c = x.c;
    y.h = (x.h - k) / stride + 1;
    y.w = (x.w - k) / stride + 1;

    op = face_g_op(g, FACE_OP_AVGPOOL, x);

    if (op != NULL) {
        op->k = k;
        op->stride = stride;
    }

    return face_g_finish(g, op, y);
}


face_val_t
face_g_mean(face_graph_t *g, face_val_t x)
{
    face_op_t  *op;
    face_val_t  y;

    y.c = x.c;
    y.h = 1;
    y.w = 1;

    op = face_g_op(g, FACE_OP_MEAN, x);

    return face_g_finish(g, op, y);
}


face_val_t
face_g_add(face_graph_t *g, face_val_t a, face_val_t b, float lo, float hi)
{
    face_op_t  *op;
    face_val_t  y;

    if (a.h != b.h || a.w != b.w || a.c != b.c
        || b.id >= (uint32_t) g->nvals)
    {
        g->failed = 1;
    }

    y = a;
    op = face_g_op(g, FACE_OP_ADD, a);

    if (op != NULL) {
        op->b = b.id;
        face_nn_clamp(op, lo, hi);
    }

    return face_g_finish(g, op, y);
}


face_val_t
face_g_pad(face_graph_t *g, face_val_t x, int bottom, int right,
    int channels_after)
{
    face_op_t  *op;
    face_val_t  y;

    y.h = x.h + bottom;
    y.w = x.w + right;
    y.c = x.c + channels_after;

    if (bottom < 0 || right < 0 || channels_after < 0) {
        g->failed = 1;
    }

    op = face_g_op(g, FACE_OP_PAD, x);

    if (op != NULL) {
        op->pad[0] = bottom;
        op->pad[1] = right;
        op->pad[2] = channels_after;
    }

    return face_g_finish(g, op, y);
}


static void
face_nn_clamp(face_op_t *op, float lo, float hi)
{
    if (lo == -INFINITY && hi == INFINITY) {
        return;
    }

    op->post[op->npost].kind = FACE_POST_CLAMP;
    op->post[op->npost].lo = lo;
    op->post[op->npost].hi = hi;
    op->npost++;
}


static void
face_nn_engine_init(void)
{
    omp_set_num_threads(1);
    face_nn_engine_status = dnnl_engine_create(&face_nn_engine, dnnl_cpu, 0);
}


static uint32_t
face_nn_root(face_v_t *vals, uint32_t v)
{
    while (vals[v].alias != v) {
        v = vals[v].alias;
    }

    return v;
}


/*
 * An activation after a convolution becomes its eltwise post-op; an add of
 * a convolution's output and a value read by nothing later becomes a sum
 * post-op: the convolution writes into that value's buffer.  Values that
 * are outputs, or read twice, stay where they are.
 */

static void
face_nn_fuse(face_op_t *ops, int nops, face_v_t *vals)
{
    int         i, j, k, s, ok;
    uint32_t    c, o;
    face_op_t  *op, *conv;

    for (i = 0; i < nops; i++) {
        op = &ops[i];

        if (op->type != FACE_OP_LEAKY && op->type != FACE_OP_ADD) {
            continue;
        }

        if (vals[op->y].out >= 0) {
            continue;
        }

        for (s = 0; s < (op->type == FACE_OP_ADD ? 2 : 1); s++) {
            c = s == 0 ? op->a : op->b;
            o = s == 0 ? op->b : op->a;
            j = vals[c].def;

            if (j < 0 || ops[j].type != FACE_OP_CONV || ops[j].fused
                || ops[j].npost != 0 || vals[c].out >= 0
                || vals[c].uses != 1 || vals[c].alias != c)
            {
                continue;
            }

            conv = &ops[j];

            if (op->type == FACE_OP_LEAKY) {
                conv->post[0] = op->post[0];
                conv->npost = 1;
                op->fused = 1;
                vals[op->y].alias = c;
                break;
            }

            /* o: no output, not the input, read by no op after the
               convolution but this add, not the convolution's input */

            if (o == c || vals[o].out >= 0 || vals[o].def < 0
                || vals[o].last != i
                || face_nn_root(vals, o) == face_nn_root(vals, conv->a))
            {
                continue;
            }

            ok = 1;

            for (k = j + 1; k < i; k++) {
                if ((!ops[k].fused && (ops[k].a == o
                     || (ops[k].type == FACE_OP_ADD && ops[k].b == o)))
                    || face_nn_root(vals, ops[k].y) == face_nn_root(vals, o))
                {
                    ok = 0;
                    break;
                }
            }

            if (!ok) {
                continue;
            }

            conv->post[0].kind = FACE_POST_SUM;
            conv->npost = 1;
            memcpy(&conv->post[1], op->post,
                   op->npost * sizeof(face_post_t));
            conv->npost += op->npost;
            op->fused = 1;
            vals[c].alias = o;
            vals[op->y].alias = c;
            break;
        }
    }
}


static void
face_nn_md(dnnl_memory_desc_t *md, int n, int h, int w, int c)
{
    dnnl_dims_t  dims, strides;

    dims[0] = n;
    dims[1] = c;
    dims[2] = h;
    dims[3] = w;
    strides[0] = (dnnl_dim_t) h * w * c;
    strides[1] = 1;
    strides[2] = (dnnl_dim_t) w * c;
    strides[3] = c;

    (void) dnnl_memory_desc_init_by_strides(md, 4, dims, dnnl_f32, strides);
}


/* buffers: one per value still to be read, reused once it is dead */

static int
face_nn_plan(face_rt_t *rt, face_net_t *net)
{
    int        i, j, s, best, n, *busy;
    size_t     len, batch;
    uint32_t   r, v;
    face_v_t  *vals;

    vals = rt->vals;

    for (v = 0; v < (uint32_t) rt->nvals; v++) {
        vals[v].first = INT32_MAX;
        vals[v].end = -1;
        vals[v].slot = -1;
    }

    for (v = 0; v < (uint32_t) rt->nvals; v++) {
        r = face_nn_root(vals, v);

        if (vals[v].def >= 0 && vals[v].def < vals[r].first) {
            vals[r].first = vals[v].def;
        }

        if (vals[v].last > vals[r].end) {
            vals[r].end = vals[v].last;
        }
    }

    busy = calloc(rt->nvals + 1, sizeof(int));
    rt->slots = calloc(rt->nvals + 1, sizeof(float *));
    rt->slot_len = calloc(rt->nvals + 1, sizeof(size_t));
    if (busy == NULL || rt->slots == NULL || rt->slot_len == NULL) {
        free(busy);
        return -1;
    }

    n = 0;

    batch = net->in_len / ((size_t) vals[0].h * vals[0].w * vals[0].c);

    for (i = 0; i < rt->nops; i++) {
        for (v = 0; v < (uint32_t) rt->nvals; v++) {
            if (face_nn_root(vals, v) != v || vals[v].first != i
                || vals[v].out >= 0)
            {
                continue;
            }

            len = batch * vals[v].h * vals[v].w * vals[v].c;
            best = -1;

            for (s = 0; s < n; s++) {
                if (busy[s]) {
                    continue;
                }

                if (best < 0
                    || (rt->slot_len[s] >= len
                        && (rt->slot_len[best] < len
                            || rt->slot_len[s] < rt->slot_len[best]))
                    || (rt->slot_len[best] < len
                        && rt->slot_len[s] > rt->slot_len[best]))
                {
                    best = s;
                }
            }

            if (best < 0) {
                best = n++;
            }

            if (rt->slot_len[best] < len) {
                rt->slot_len[best] = len;
            }

            busy[best] = 1;
            vals[v].slot = best;
        }

        /* buffers whose values are dead after this op */

        for (v = 0; v < (uint32_t) rt->nvals; v++) {
            if (face_nn_root(vals, v) == v && vals[v].slot >= 0
                && vals[v].end <= i && vals[v].first <= i)
            {
                busy[vals[v].slot] = 0;
                vals[v].first = INT32_MAX;     /* freed once */
            }
        }
    }

    free(busy);
    rt->nslots = n;

    for (s = 0; s < n; s++) {
        rt->slots[s] = aligned_alloc(FACE_NN_ALIGN,
                                     (rt->slot_len[s] * sizeof(float)
                                      + FACE_NN_ALIGN - 1)
                                     / FACE_NN_ALIGN * FACE_NN_ALIGN);
        if (rt->slots[s] == NULL) {
            return -1;
        }

        rt->bytes += rt->slot_len[s] * sizeof(float);
    }

    for (v = 0; v < (uint32_t) rt->nvals; v++) {
        r = face_nn_root(vals, v);

        if (v == 0) {
            vals[v].data = net->in;

        } else if (vals[v].out >= 0) {
            vals[v].data = net->out[vals[v].out];

        } else if (r == 0) {
            vals[v].data = net->in;

        } else {
            j = vals[r].slot;
            vals[v].data = j >= 0 ? rt->slots[j] : NULL;
        }
    }

    return 0;
}


static int
face_nn_mem(face_rt_t *rt, face_step_t *st, int arg,
    const dnnl_memory_desc_t *md, void *data)
{
    int             n;
    dnnl_memory_t   m, *p;

    if (rt->nmems == rt->mems_size) {
        n = rt->mems_size ? 2 * rt->mems_size : 64;
        p = realloc(rt->mems, n * sizeof(dnnl_memory_t));
        if (p == NULL) {
            return -1;
        }

        rt->mems = p;
        rt->mems_size = n;
    }

    if (dnnl_memory_create(&m, md, face_nn_engine,
                           data != NULL ? data : DNNL_MEMORY_NONE)
        != dnnl_success)
    {
        return -1;
    }

    rt->mems[rt->nmems++] = m;
    st->args[st->nargs].arg = arg;
    st->args[st->nargs].memory = m;
    st->nargs++;

    return 0;
}


/*
 * oneDNN's copy of a layer's weights in the layout a primitive wants: made
 * by the first runtime asking for this layout, shared by all later ones.
 */

static const float *
face_nn_pack(const face_layer_t *l, const dnnl_memory_desc_t *want,
    char *err, size_t errlen)
{
    int                    n;
    void                  *data;
    size_t                 len;
    dnnl_dims_t            dims, strides;
    dnnl_status_t          st;
    dnnl_stream_t          stream;
    face_packed_t         *p;
    dnnl_memory_t          src, dst;
    dnnl_exec_arg_t        args[2];
    dnnl_primitive_t       prim;
    dnnl_memory_desc_t     plain;
    dnnl_primitive_desc_t  pd;

    pthread_mutex_lock(&face_nn_pack_lock);

    for (p = l->packed; p != NULL; p = p->next) {
        if (dnnl_memory_desc_equal(&p->md, want)) {
            pthread_mutex_unlock(&face_nn_pack_lock);
            return p->data;
        }
    }

    if (l->depthwise) {
        n = 5;
        dims[0] = l->cout;
        dims[1] = 1;
        dims[2] = 1;
        dims[3] = l->kh;
        dims[4] = l->kw;
        strides[0] = 1;
        strides[1] = (dnnl_dim_t) l->kh * l->kw * l->cout;
        strides[2] = strides[1];
        strides[3] = (dnnl_dim_t) l->kw * l->cout;
        strides[4] = l->cout;

    } else if (want->ndims == 2) {
        n = 2;
        dims[0] = l->cout;
        dims[1] = l->cin;
        strides[0] = l->cin;
        strides[1] = 1;

    } else {
        n = 4;
        dims[0] = l->cout;
        dims[1] = l->cin;
        dims[2] = l->kh;
        dims[3] = l->kw;
        strides[0] = (dnnl_dim_t) l->kh * l->kw * l->cin;
        strides[1] = 1;
        strides[2] = (dnnl_dim_t) l->kw * l->cin;
        strides[3] = l->cin;
    }

    data = NULL;
    p = NULL;
    src = dst = NULL;
    prim = NULL;
    pd = NULL;
    stream = NULL;

    len = dnnl_memory_desc_get_size(want);

    st = dnnl_memory_desc_init_by_strides(&plain, n, dims, dnnl_f32, strides);
    if (st != dnnl_success) {
        goto failed;
    }

    p = calloc(1, sizeof(face_packed_t));
    data = aligned_alloc(FACE_NN_ALIGN, (len + FACE_NN_ALIGN - 1)
                                        / FACE_NN_ALIGN * FACE_NN_ALIGN);
    if (p == NULL || data == NULL) {
        st = dnnl_out_of_memory;
        goto failed;
    }

    if ((st = dnnl_memory_create(&src, &plain, face_nn_engine, l->w))
            != dnnl_success
        || (st = dnnl_memory_create(&dst, want, face_nn_engine, data))
            != dnnl_success
        || (st = dnnl_reorder_primitive_desc_create(&pd, &plain,
                                                    face_nn_engine, want,
                                                    face_nn_engine, NULL))
            != dnnl_success
        || (st = dnnl_primitive_create(&prim, pd)) != dnnl_success
        || (st = dnnl_stream_create(&stream, face_nn_engine,
                                    dnnl_stream_default_flags))
            != dnnl_success)
    {
        goto failed;
    }

    args[0].arg = DNNL_ARG_FROM;
    args[0].memory = src;
    args[1].arg = DNNL_ARG_TO;
    args[1].memory = dst;

    st = dnnl_primitive_execute(prim, stream, 2, args);
    if (st == dnnl_success) {
        st = dnnl_stream_wait(stream);
    }

    if (st != dnnl_success) {
        goto failed;
    }

    p->md = *want;
    p->data = data;

    /* the layer is shared and read-only but for this list, under the lock */
    p->next = l->packed;
    ((face_layer_t *) l)->packed = p;

    dnnl_stream_destroy(stream);
    dnnl_primitive_destroy(prim);
    dnnl_primitive_desc_destroy(pd);
    dnnl_memory_destroy(src);
    dnnl_memory_destroy(dst);

    pthread_mutex_unlock(&face_nn_pack_lock);

    return data;

failed:

    pthread_mutex_unlock(&face_nn_pack_lock);

    snprintf(err, errlen, "oneDNN weight reorder failed: %s",
             dnnl_status2str(st));

    if (stream != NULL) {
        dnnl_stream_destroy(stream);
    }

    if (prim != NULL) {
        dnnl_primitive_destroy(prim);
    }

    if (pd != NULL) {
        dnnl_primitive_desc_destroy(pd);
    }

    if (src != NULL) {
        dnnl_memory_destroy(src);
    }

    if (dst != NULL) {
        dnnl_memory_destroy(dst);
    }

    free(data);
    free(p);

    return NULL;
}


static int
face_nn_step(face_rt_t *rt, int i, int batch, char *err, size_t errlen)
{
    int                    k;
    size_t                 len;
    const char            *impl;
    face_v_t              *a, *b, *y;
    face_op_t             *op;
    dnnl_dims_t            dims, strides, kernel, pl, pr, dil;
    const float           *packed;
    face_step_t           *st;
    dnnl_status_t          s;
    dnnl_post_ops_t        po;
    dnnl_primitive_attr_t  attr;
    dnnl_primitive_desc_t  pd;
    dnnl_memory_desc_t     src, src2, dst, wmd, bmd;
    const dnnl_memory_desc_t  *md;
    union {
        dnnl_convolution_desc_t    conv;
        dnnl_inner_product_desc_t  ip;
        dnnl_pooling_desc_t        pool;
        dnnl_binary_desc_t         bin;
        dnnl_eltwise_desc_t        elt;
    } d;

    op = &rt->ops[i];
    a = &rt->vals[op->a];
    y = &rt->vals[op->y];
    st = &rt->steps[rt->nsteps];
    memset(st, 0, sizeof(face_step_t));
    st->op = i;

    if (op->type == FACE_OP_PAD) {
        snprintf(st->impl, sizeof(st->impl), "c:pad");
        rt->nsteps++;
        return 0;
    }

    attr = NULL;
    po = NULL;
    pd = NULL;

    face_nn_md(&src, batch, a->h, a->w, a->c);
    face_nn_md(&dst, batch, y->h, y->w, y->c);

    s = dnnl_primitive_attr_create(&attr);
    if (s != dnnl_success) {
        goto failed;
    }

    (void) dnnl_primitive_attr_set_scratchpad_mode(attr,
                                                   dnnl_scratchpad_mode_user);

    if (op->npost) {
        if ((s = dnnl_post_ops_create(&po)) != dnnl_success) {
            goto failed;
        }

        for (k = 0; k < op->npost; k++) {
            switch (op->post[k].kind) {

            case FACE_POST_SUM:
                s = dnnl_post_ops_append_sum(po, 1.0f);
                break;

            case FACE_POST_LEAKY:
                s = dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_relu,
                                                 op->post[k].lo, 0.0f);
                break;

            default:
                if (op->post[k].lo == 0.0f && op->post[k].hi == INFINITY) {
                    s = dnnl_post_ops_append_eltwise(po, 1.0f,
                                                     dnnl_eltwise_relu,
                                                     0.0f, 0.0f);

                } else {
                    s = dnnl_post_ops_append_eltwise(po, 1.0f,
                            dnnl_eltwise_clip,
                            op->post[k].lo == -INFINITY ? -FLT_MAX
                                                        : op->post[k].lo,
                            op->post[k].hi == INFINITY ? FLT_MAX
                                                       : op->post[k].hi);
                }
            }

            if (s != dnnl_success) {
                goto failed;
            }
        }

        if ((s = dnnl_primitive_attr_set_post_ops(attr, po)) != dnnl_success)
        {
            goto failed;
        }
    }

    memset(dil, 0, sizeof(dil));

    switch (op->type) {

    case FACE_OP_CONV:
        if (op->l->depthwise) {
            dims[0] = op->l->cout;
            dims[1] = 1;
            dims[2] = 1;
            dims[3] = op->l->kh;
            dims[4] = op->l->kw;
            s = dnnl_memory_desc_init_by_tag(&wmd, 5, dims, dnnl_f32,
                                             dnnl_format_tag_any);

        } else {
            dims[0] = op->l->cout;
            dims[1] = op->l->cin;
            dims[2] = op->l->kh;
            dims[3] = op->l->kw;
            s = dnnl_memory_desc_init_by_tag(&wmd, 4, dims, dnnl_f32,
                                             dnnl_format_tag_any);
        }

        dims[0] = op->l->cout;
        (void) dnnl_memory_desc_init_by_tag(&bmd, 1, dims, dnnl_f32, dnnl_a);

        strides[0] = strides[1] = op->stride;
        pl[0] = op->pad[0];
        pr[0] = op->pad[1];
        pl[1] = op->pad[2];
        pr[1] = op->pad[3];

        if (s == dnnl_success) {
            s = dnnl_convolution_forward_desc_init(&d.conv,
                    dnnl_forward_inference, dnnl_convolution_direct, &src,
                    &wmd, &bmd, &dst, strides, pl, pr);
        }

        break;

    case FACE_OP_FC:
        dims[0] = (dnnl_dim_t) batch * a->h * a->w;
        dims[1] = a->c;
        (void) dnnl_memory_desc_init_by_tag(&src, 2, dims, dnnl_f32, dnnl_ab);
        dims[1] = y->c;
        (void) dnnl_memory_desc_init_by_tag(&dst, 2, dims, dnnl_f32, dnnl_ab);
        dims[0] = op->l->cout;
        dims[1] = op->l->cin;
        (void) dnnl_memory_desc_init_by_tag(&wmd, 2, dims, dnnl_f32,
                                            dnnl_format_tag_any);
        (void) dnnl_memory_desc_init_by_tag(&bmd, 1, dims, dnnl_f32, dnnl_a);

        s = dnnl_inner_product_forward_desc_init(&d.ip,
                dnnl_forward_inference, &src, &wmd, &bmd, &dst);
        break;

    case FACE_OP_MAXPOOL:
    case FACE_OP_AVGPOOL:
    case FACE_OP_MEAN:
        if (op->type == FACE_OP_MEAN) {
            kernel[0] = a->h;
            kernel[1] = a->w;
            strides[0] = strides[1] = 1;

        } else {
            kernel[0] = kernel[1] = op->k;
            strides[0] = strides[1] = op->stride;
        }

        pl[0] = op->pad[0];
        pr[0] = op->pad[1];
        pl[1] = op->pad[2];
        pr[1] = op->pad[3];

        s = dnnl_pooling_forward_desc_init(&d.pool, dnnl_forward_inference,
                op->type == FACE_OP_MAXPOOL ? dnnl_pooling_max
                                            : dnnl_pooling_avg_exclude_padding,
                &src, &dst, strides, kernel, pl, pr);
        break;

    case FACE_OP_ADD:
        b = &rt->vals[op->b];
        face_nn_md(&src2, batch, b->h, b->w, b->c);
        s = dnnl_binary_desc_init(&d.bin, dnnl_binary_add, &src, &src2, &dst);
        break;

    default:
        s = dnnl_eltwise_forward_desc_init(&d.elt, dnnl_forward_inference,
                                           dnnl_eltwise_relu, &src,
                                           op->post[0].lo, 0.0f);
        if (s == dnnl_success) {
            /* the slope is the primitive's own, not a post-op */
            dnnl_post_ops_destroy(po);
            po = NULL;
            dnnl_primitive_attr_destroy(attr);
            s = dnnl_primitive_attr_create(&attr);
            if (s == dnnl_success) {
                (void) dnnl_primitive_attr_set_scratchpad_mode(attr,
                                                dnnl_scratchpad_mode_user);
            }
        }
    }

    if (s != dnnl_success) {
        goto failed;
    }

    s = dnnl_primitive_desc_create(&pd, &d, attr, face_nn_engine, NULL);
    if (s != dnnl_success) {
        goto failed;
    }

    impl = NULL;
    if (dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl)
        == dnnl_success && impl != NULL)
    {
        snprintf(st->impl, sizeof(st->impl), "%s", impl);
    }

    md = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    len = md != NULL ? dnnl_memory_desc_get_size(md) : 0;

    if (len > rt->scratch_len) {
        rt->scratch_len = len;
    }

    if (face_nn_mem(rt, st, DNNL_ARG_SRC, &src, a->data) != 0
        || face_nn_mem(rt, st, DNNL_ARG_DST, &dst, y->data) != 0
        || (len && face_nn_mem(rt, st, DNNL_ARG_SCRATCHPAD, md, NULL) != 0))
    {
        s = dnnl_out_of_memory;
        goto failed;
    }

    if (op->type == FACE_OP_CONV || op->type == FACE_OP_FC) {
        md = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
        packed = face_nn_pack(op->l, md, err, errlen);
        if (packed == NULL) {
            goto done;
        }

        if (face_nn_mem(rt, st, DNNL_ARG_WEIGHTS, md, (void *) packed) != 0
            || face_nn_mem(rt, st, DNNL_ARG_BIAS, &bmd, op->l->b) != 0)
        {
            s = dnnl_out_of_memory;
            goto failed;
        }

    } else if (op->type == FACE_OP_ADD) {
        if (face_nn_mem(rt, st, DNNL_ARG_SRC_1, &src2,
                        rt->vals[op->b].data)
            != 0)
        {
            s = dnnl_out_of_memory;
            goto failed;
        }
    }

    s = dnnl_primitive_create(&st->prim, pd);
    if (s != dnnl_success) {
        st->prim = NULL;
        goto failed;
    }

    dnnl_primitive_desc_destroy(pd);
    dnnl_primitive_attr_destroy(attr);

    if (po != NULL) {
        dnnl_post_ops_destroy(po);
    }

    rt->nsteps++;

    return 0;

failed:

    snprintf(err, errlen, "oneDNN refused layer %d (op %d): %s", i,
             (int) op->type, dnnl_status2str(s));

done:

    if (pd != NULL) {
        dnnl_primitive_desc_destroy(pd);
    }

    if (attr != NULL) {
        dnnl_primitive_attr_destroy(attr);
    }

    if (po != NULL) {
        dnnl_post_ops_destroy(po);
    }

    return -1;
}


static void
face_nn_pad(face_rt_t *rt, const face_op_t *op, int batch)
{
    int              n, y, x;
    float           *out;
    const float     *in;
    const face_v_t  *a, *b;

    a = &rt->vals[op->a];
    b = &rt->vals[op->y];
    out = b->data;

    for (n = 0; n < batch; n++) {
        in = a->data + (size_t) n * a->h * a->w * a->c;

        for (y = 0; y < b->h; y++) {
            for (x = 0; x < b->w; x++, out += b->c) {
                if (y < a->h && x < a->w) {
                    memcpy(out, in + ((size_t) y * a->w + x) * a->c,
                           a->c * sizeof(float));
                    memset(out + a->c, 0, (b->c - a->c) * sizeof(float));

                } else {
                    memset(out, 0, b->c * sizeof(float));
                }
            }
        }
    }
}


int
face_net_create(face_net_t *net, face_graph_t *g, char *err, size_t errlen)
{
    int          i;
    uint32_t     v;
    face_rt_t   *rt;
    face_op_t   *op;
    face_v_t    *vals;

    memset(net, 0, sizeof(face_net_t));
    rt = NULL;

    omp_set_num_threads(1);
    pthread_once(&face_nn_once, face_nn_engine_init);

    if (face_nn_engine_status != dnnl_success) {
        snprintf(err, errlen, "oneDNN CPU engine: %s",
                 dnnl_status2str(face_nn_engine_status));
        goto failed;
    }

    if (g->failed || g->nvals == 0 || g->nops == 0) {
        snprintf(err, errlen, "bad network definition");
        goto failed;
    }

    rt = calloc(1, sizeof(face_rt_t));
    if (rt == NULL) {
        goto nomem;
    }

    rt->ops = g->ops;
    rt->vals = g->vals;
    rt->nops = g->nops;
    rt->nvals = g->nvals;
    g->ops = NULL;
    g->vals = NULL;
    net->rt = rt;

    vals = rt->vals;

    for (i = 0; i < rt->nops; i++) {
        op = &rt->ops[i];
        vals[op->a].uses++;
        vals[op->a].last = i;

        if (op->type == FACE_OP_ADD) {
            vals[op->b].uses++;
            vals[op->b].last = i;
        }
    }

    face_nn_fuse(rt->ops, rt->nops, vals);

    net->in_len = g->in_len;
    net->in_h = vals[0].h;
    net->in_w = vals[0].w;
    net->in = aligned_alloc(FACE_NN_ALIGN, (g->in_len * sizeof(float)
                                            + FACE_NN_ALIGN - 1)
                                           / FACE_NN_ALIGN * FACE_NN_ALIGN);
    if (net->in == NULL) {
        goto nomem;
    }

    memset(net->in, 0, g->in_len * sizeof(float));
    rt->bytes = g->in_len * sizeof(float);
    net->nout = g->nout;

    for (i = 0; i < g->nout; i++) {
        net->out_len[i] = g->out_len[i];
        net->out[i] = calloc(g->out_len[i], sizeof(float));
        if (net->out[i] == NULL) {
            goto nomem;
        }

        rt->bytes += g->out_len[i] * sizeof(float);
    }

    if (face_nn_plan(rt, net) != 0) {
        goto nomem;
    }

    for (v = 0; v < (uint32_t) rt->nvals; v++) {
        if (vals[v].data == NULL) {
            snprintf(err, errlen, "a value without a buffer");
            goto failed;
        }
    }

    rt->steps = calloc(rt->nops, sizeof(face_step_t));
    if (rt->steps == NULL) {
        goto nomem;
    }

    if (dnnl_stream_create(&rt->stream, face_nn_engine,
                           dnnl_stream_default_flags)
        != dnnl_success)
    {
        rt->stream = NULL;
        snprintf(err, errlen, "dnnl_stream_create() failed");
        goto failed;
    }

    for (i = 0; i < rt->nops; i++) {
        if (!rt->ops[i].fused
            && face_nn_step(rt, i, g->batch, err, errlen) != 0)
        {
            goto failed;
        }
    }

    if (rt->scratch_len) {
        rt->scratch = aligned_alloc(FACE_NN_ALIGN,
                                    (rt->scratch_len + FACE_NN_ALIGN - 1)
                                    / FACE_NN_ALIGN * FACE_NN_ALIGN);
        if (rt->scratch == NULL) {
            goto nomem;
        }

        rt->bytes += rt->scratch_len;

        for (i = 0; i < rt->nsteps; i++) {
            for (v = 0; v < (uint32_t) rt->steps[i].nargs; v++) {
                if (rt->steps[i].args[v].arg == DNNL_ARG_SCRATCHPAD) {
                    (void) dnnl_memory_set_data_handle(
                               rt->steps[i].args[v].memory, rt->scratch);
                }
            }
        }
    }

    free(g->ops);
    free(g->vals);
    g->ops = NULL;
    g->vals = NULL;

    return 0;

nomem:

    snprintf(err, errlen, "out of memory");

failed:

    free(g->ops);
    free(g->vals);
    g->ops = NULL;
    g->vals = NULL;
    face_net_free(net);

    return -1;
}


int
face_net_run(face_net_t *net)
{
    int           i;
    face_rt_t    *rt;
    face_step_t  *st;

    rt = net->rt;

    if (rt == NULL) {
        return -1;
    }

    /* libgomp's setting is per thread: none of oneDNN's own workers */
    omp_set_num_threads(1);

    for (i = 0; i < rt->nsteps; i++) {
        st = &rt->steps[i];

        if (st->prim == NULL) {
            face_nn_pad(rt, &rt->ops[st->op], net->in_len
                                              / ((size_t) rt->vals[0].h
                                                 * rt->vals[0].w
                                                 * rt->vals[0].c));
            continue;
        }

        if (dnnl_primitive_execute(st->prim, rt->stream, st->nargs, st->args)
            != dnnl_success)
        {
            return -1;
        }
    }

    return dnnl_stream_wait(rt->stream) == dnnl_success ? 0 : -1;
}


static void
face_nn_rt_free(face_rt_t *rt)
{
    int  i;

    for (i = 0; i < rt->nsteps; i++) {
        dnnl_primitive_destroy(rt->steps[i].prim);
    }

    for (i = 0; i < rt->nmems; i++) {
        dnnl_memory_destroy(rt->mems[i]);
    }

    if (rt->stream != NULL) {
        dnnl_stream_destroy(rt->stream);
    }

    for (i = 0; i < rt->nslots; i++) {
        free(rt->slots[i]);
    }

    free(rt->slots);
    free(rt->slot_len);
    free(rt->scratch);
    free(rt->steps);
    free(rt->mems);
    free(rt->ops);
    free(rt->vals);
    free(rt);
}


void
face_net_free(face_net_t *net)
{
    int  i;

    if (net->rt != NULL) {
        face_nn_rt_free(net->rt);
    }

    free(net->in);

    for (i = 0; i < net->nout; i++) {
        free(net->out[i]);
    }

    memset(net, 0, sizeof(face_net_t));
}


size_t
face_net_bytes(const face_net_t *net)
{
    const face_rt_t  *rt;

    rt = net->rt;

    return rt != NULL ? rt->bytes : 0;
}


int
face_net_steps(const face_net_t *net)
{
    const face_rt_t  *rt;

    rt = net->rt;

    return rt != NULL ? rt->nsteps : 0;
}


void
face_net_kernels(const face_net_t *net, char *buf, size_t len)
{
    int               i, j, n, seen;
    size_t            off;
    const face_rt_t  *rt;

    rt = net->rt;
    off = 0;

    if (len == 0) {
        return;
    }

    buf[0] = '\0';

    if (rt == NULL) {
        return;
    }

    for (i = 0; i < rt->nsteps && off < len; i++) {
        seen = 0;

        for (j = 0; j < i; j++) {
            if (strcmp(rt->steps[j].impl, rt->steps[i].impl) == 0) {
                seen = 1;
                break;
            }
        }

        if (seen) {
            continue;
        }

        n = 0;

        for (j = i; j < rt->nsteps; j++) {
            n += strcmp(rt->steps[j].impl, rt->steps[i].impl) == 0;
        }

        off += snprintf(buf + off, len - off, "%s%s x%d", off ? ", " : "",
                        rt->steps[i].impl, n);
    }
}


const char *
face_nn_isa(void)
{
    omp_set_num_threads(1);

    switch (dnnl_get_effective_cpu_isa()) {

    case dnnl_cpu_isa_sse41:
        return "sse41";

    case dnnl_cpu_isa_avx:
        return "avx";

    case dnnl_cpu_isa_avx2:
        return "avx2";

    case dnnl_cpu_isa_avx2_vnni:
        return "avx2_vnni";

    case dnnl_cpu_isa_avx512_core:
        return "avx512_core";

    case dnnl_cpu_isa_avx512_core_vnni:
        return "avx512_core_vnni";

    case dnnl_cpu_isa_avx512_core_bf16:
        return "avx512_core_bf16";

    case dnnl_cpu_isa_avx512_core_amx:
        return "avx512_core_amx";

    default:
        return "other";
    }
}
