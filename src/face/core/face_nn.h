
/*
 * A small network builder over oneDNN: layers in a plain weight layout
 * (converted and folded once, at load; oneDNN's blocked copy is made once
 * per process and shared read-only), a graph builder that tracks NHWC
 * shapes, and a runtime with its own input and output buffers, its own
 * stream and activation buffers reused along the network.  A runtime is
 * used by one thread at a time.
 */

#ifndef FACE_NN_H
#define FACE_NN_H

#include <stddef.h>
#include <stdint.h>

#include "face_weights.h"


#define FACE_NET_MAX_OUT  12


/* One convolution, depthwise convolution or fully connected layer. */
typedef struct {
    float     *w;      /* conv [cout][kh][kw][cin], depthwise [kh][kw][c],
                          fully connected [cout][cin] */
    float     *b;      /* [cout] */
    int        kh;
    int        kw;
    int        cin;
    int        cout;
    int        depthwise;
    void      *packed;  /* oneDNN's copies of w (face_nn.c), made once */
} face_layer_t;


typedef enum {
    FACE_PAD_VALID = 0,
    FACE_PAD_SAME,         /* TensorFlow: extra padding goes after */
    FACE_PAD_ONE,          /* one zero on every side */
    FACE_PAD_SAME_ALIGNED  /* SAME's padding before for an input that is a
                              multiple of the stride, whatever the input,
                              the rest after: a part of a larger input
                              keeps its cells where they were */
} face_pad_e;


typedef struct {
    uint32_t   id;
    int        h;
    int        w;
    int        c;
} face_val_t;


typedef struct {
    void            *ops;           /* face_nn.c's records */
    void            *vals;
    int              nops;
    int              nvals;
    int              ops_size;
    int              vals_size;
    int              batch;
    int              failed;
    int              output_next;   /* the next value is an output */
    int              nout;
    size_t           out_len[FACE_NET_MAX_OUT];
    size_t           in_len;
} face_graph_t;


typedef struct {
    void            *rt;            /* face_nn.c's runtime; NULL: none */
    float           *in;
    size_t           in_len;        /* floats */
    int              in_h;          /* the input's shape */
    int              in_w;
    float           *out[FACE_NET_MAX_OUT];
    size_t           out_len[FACE_NET_MAX_OUT];
    int              nout;
} face_net_t;


/*
 * Once per process, before any graph: the engine's own set-up.  Returns 0,
 * or -1 with a message in err.
 */
int face_nn_init(char *err, size_t errlen);

/* load time: tfjs tensors (HWIO filters) to plain layers */
int face_layer_conv(face_layer_t *l, const face_weights_t *w,
    const char *filters, const char *bias, int kh, int kw, int cin,
    int cout, char *err, size_t errlen);
int face_layer_depthwise(face_layer_t *l, const face_weights_t *w,
    const char *filters, const char *bias, int k, int c, char *err,
    size_t errlen);
/* out = out * mul + add, per output channel (batch norm, scale layers) */
void face_layer_scale(face_layer_t *l, const float *mul, const float *add);
/* a batch norm folded into the layer; -1 with err when out of memory */
int face_layer_batch_norm(face_layer_t *l, const float *gamma,
    const float *beta, const float *mean, const float *var, float eps,
    char *err, size_t errlen);
int face_layer_add_bias(face_layer_t *l, const face_weights_t *w,
    const char *bias, char *err, size_t errlen);
void face_layer_free(face_layer_t *l);
size_t face_layer_bytes(const face_layer_t *l);

/* TensorFlow SAME padding along one axis; returns the output size */
int face_same_pad(int in, int k, int stride, int *before, int *after);

/* graph building; a failure sticks in g->failed */
face_val_t face_g_begin(face_graph_t *g, int n, int h, int w, int c);
void face_g_output_next(face_graph_t *g);
face_val_t face_g_conv(face_graph_t *g, face_val_t x, const face_layer_t *l,
    int stride, face_pad_e pad, float lo, float hi);
face_val_t face_g_leaky(face_graph_t *g, face_val_t x, float slope);
face_val_t face_g_maxpool(face_graph_t *g, face_val_t x, int k, int stride,
    face_pad_e pad);
face_val_t face_g_avgpool(face_graph_t *g, face_val_t x, int k, int stride);
face_val_t face_g_mean(face_graph_t *g, face_val_t x);
face_val_t face_g_fc(face_graph_t *g, face_val_t x, const face_layer_t *l);
face_val_t face_g_add(face_graph_t *g, face_val_t a, face_val_t b, float lo,
    float hi);
face_val_t face_g_pad(face_graph_t *g, face_val_t x, int bottom, int right,
    int channels_after);

/* the runtime owns everything; the graph is deleted either way */
int face_net_create(face_net_t *net, face_graph_t *g, char *err,
    size_t errlen);
int face_net_run(face_net_t *net);
void face_net_free(face_net_t *net);

/* the kernels a runtime's primitives use ("brg:avx2 x27, ..."); the ISA
   oneDNN picked for this process ("avx2", "avx512_core", ...) */
void face_net_kernels(const face_net_t *net, char *buf, size_t len);
const char *face_nn_isa(void);
/* bytes of a runtime's activation, scratch and I/O buffers */
size_t face_net_bytes(const face_net_t *net);
/* primitives (and C steps) a run executes, after fusion */
int face_net_steps(const face_net_t *net);

#endif /* FACE_NN_H */
