
/*
 * ngx_http_image_ingest_module: uploads at the edge.
 *
 *     location = /upload {
 *         image_ingest;
 *         image_ingest_store     /srv/images;
 *         image_ingest_variants  avatar thumb;
 *     }
 *
 * PUT or POST of a raw image, or POST of {"data": {"image": "<base64>"}}.
 * The handler checks what needs no body (method, presigned URL, declared
 * size), evaluates image_ingest_meta, and has nginx read the body (to a
 * temporary file when large).  One thread-pool task then does the rest:
 * reads the body, decodes it, checks the image's header (format, pixel
 * limit), computes its key (MD5), renders the variants with the image
 * variant pipeline and stores everything as one transaction of
 * src/image_ingest/image_ingest_store.c.  The completion handler answers
 * 201 (200 for bytes already stored) with JSON and starts the
 * notification.
 *
 * This module lives in the image variant module's .so: it takes the
 * presets, the pixel limit, the render time limit and the thread pool
 * of image_variant's configuration of the same location, and libvips is
 * set up by that module's init_process.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <sys/resource.h>
#include <sys/syscall.h>

#include <curl/curl.h>
#include <vips/vips.h>

#include "image_variant_params.h"
#include "image_variant_vips.h"
#include "image_ingest_body.h"
#include "image_ingest_json.h"
#include "image_ingest_sign.h"
#include "image_ingest_store.h"
#include "image_ingest_vips.h"
#include "ngx_http_image_variant.h"
#include "ngx_http_image_ingest.h"


/* image_ingest_uri + "<preset>/<key>.<ext>" */
#define NGX_HTTP_IMAGE_INGEST_URI_MAX   512
#define NGX_HTTP_IMAGE_INGEST_URI_LEN   (NGX_HTTP_IMAGE_INGEST_URI_MAX       \
                                         + IMAGE_INGEST_REL_LEN)

/* a JSON body may hold the base64 of image_ingest_max_size, and more */
#define ngx_http_image_ingest_body_max(size)                                  \
    ((off_t) (size) / 3 * 4 + 65536)


/* one rendering: a preset in a format */
typedef struct {
    ngx_http_image_ingest_variant_t  *variant;
    image_variant_format_e            format;     /* 0: the preset's */
    char                              rel[IMAGE_INGEST_REL_LEN];
    char                              uri[NGX_HTTP_IMAGE_INGEST_URI_LEN];
} ngx_http_image_ingest_render_t;


/* a piece of the request body: in memory, or in nginx's temporary file */
typedef struct {
    u_char                           *pos;
    size_t                            len;
    ngx_fd_t                          fd;
    off_t                             offset;
} ngx_http_image_ingest_part_t;


typedef struct {
    /* set before the task is posted; read-only for the thread */
    ngx_http_request_t               *request;
    ngx_http_image_ingest_loc_conf_t *conf;
    ngx_http_image_ingest_part_t     *parts;
    ngx_uint_t                        nparts;
    u_char                           *body;       /* the whole body */
    size_t                            body_len;
    image_ingest_pair_t              *meta;
    size_t                            nmeta;
    const char                      **format_names;
    size_t                            nformats;
    image_ingest_pair_t              *pairs;      /* one per preset */
    ngx_http_image_ingest_render_t   *renders;
    ngx_uint_t                        nrenders;
    time_t                            now;

    /* set by the thread */
    ngx_uint_t                        status;
    char                              err[256];
    char                              key[IMAGE_INGEST_KEY_LEN + 1];
    char                              original[IMAGE_INGEST_REL_LEN];
    u_char                           *image;      /* within body */
    size_t                            image_len;
    image_ingest_probe_t              probe;
    unsigned                          recovered;
    image_ingest_txn_t                txn;
} ngx_http_image_ingest_ctx_t;


typedef struct {
    ngx_array_t                       stores;     /* ngx_str_t */
} ngx_http_image_ingest_main_conf_t;


static ngx_int_t ngx_http_image_ingest_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_image_ingest_signed(ngx_http_request_t *r,
    ngx_http_image_ingest_loc_conf_t *conf, const char **msg);
static ngx_int_t ngx_http_image_ingest_eval_meta(ngx_http_request_t *r,
    ngx_http_image_ingest_ctx_t *ctx);
static ngx_int_t ngx_http_image_ingest_prepare(ngx_http_request_t *r,
    ngx_http_image_ingest_ctx_t *ctx);
static void ngx_http_image_ingest_body(ngx_http_request_t *r);
static ngx_int_t ngx_http_image_ingest_start(ngx_http_request_t *r);
static void ngx_http_image_ingest_done(ngx_event_t *ev);
static void ngx_http_image_ingest_info(ngx_http_image_ingest_ctx_t *ctx,
    image_ingest_info_t *info);
static ngx_int_t ngx_http_image_ingest_send(ngx_http_request_t *r,
    ngx_uint_t status, u_char *json, size_t len);
static ngx_int_t ngx_http_image_ingest_error(ngx_http_request_t *r,
    ngx_uint_t status, const char *msg);

static void ngx_http_image_ingest_thread(void *data, ngx_log_t *log);
static ngx_int_t ngx_http_image_ingest_read(ngx_http_image_ingest_ctx_t *ctx);
static ngx_int_t ngx_http_image_ingest_decode(
    ngx_http_image_ingest_ctx_t *ctx);
static ngx_int_t ngx_http_image_ingest_store(
    ngx_http_image_ingest_ctx_t *ctx);
static ngx_int_t ngx_http_image_ingest_render(
    ngx_http_image_ingest_ctx_t *ctx, ngx_http_image_ingest_render_t *rd,
    int duplicate);
static void ngx_http_image_ingest_fail(ngx_http_image_ingest_ctx_t *ctx,
    ngx_uint_t status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static char *ngx_http_image_ingest(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_image_ingest_variants(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_image_ingest_formats(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_image_ingest_meta(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_image_ingest_backoff(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static void *ngx_http_image_ingest_create_main_conf(ngx_conf_t *cf);
static void *ngx_http_image_ingest_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_image_ingest_merge_loc_conf(ngx_conf_t *cf,
    void *parent, void *child);
static char *ngx_http_image_ingest_resolve(ngx_conf_t *cf,
    ngx_http_image_ingest_loc_conf_t *conf);
static ngx_int_t ngx_http_image_ingest_init_process(ngx_cycle_t *cycle);
static void ngx_http_image_ingest_exit_process(ngx_cycle_t *cycle);


static ngx_conf_enum_t  ngx_http_image_ingest_format_names[] = {
    { ngx_string("jpeg"), IMAGE_VARIANT_FORMAT_JPEG },
    { ngx_string("png"), IMAGE_VARIANT_FORMAT_PNG },
    { ngx_string("webp"), IMAGE_VARIANT_FORMAT_WEBP },
    { ngx_string("avif"), IMAGE_VARIANT_FORMAT_AVIF },
    { ngx_null_string, 0 }
};


/* file name extensions, by image_variant_format_e */
static const char  *ngx_http_image_ingest_exts[] = {
    "", "jpg", "png", "webp", "avif"
};


static ngx_command_t  ngx_http_image_ingest_commands[] = {

    { ngx_string("image_ingest"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_image_ingest,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("image_ingest_store"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_image_ingest_loc_conf_t, store),
      NULL },

    { ngx_string("image_ingest_variants"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_image_ingest_variants,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("image_ingest_formats"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_image_ingest_formats,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("image_ingest_uri"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_image_ingest_loc_conf_t, uri),
      NULL },

    { ngx_string("image_ingest_sign_key"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_image_ingest_loc_conf_t, sign_key),
      NULL },

    { ngx_string("image_ingest_sign_max_age"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_image_ingest_loc_conf_t, sign_max_age),
      NULL },

    { ngx_string("image_ingest_meta"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_2MORE,
      ngx_http_image_ingest_meta,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("image_ingest_notify"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_image_ingest_loc_conf_t, notify),
      NULL },

    { ngx_string("image_ingest_notify_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_image_ingest_loc_conf_t, notify_timeout),
      NULL },

    { ngx_string("image_ingest_notify_retries"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_image_ingest_loc_conf_t, notify_retries),
      NULL },

    { ngx_string("image_ingest_notify_backoff"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE12,
      ngx_http_image_ingest_backoff,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("image_ingest_max_size"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_image_ingest_loc_conf_t, max_size),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_image_ingest_module_ctx = {
    NULL,                                  /* preconfiguration */
    NULL,                                  /* postconfiguration */

    ngx_http_image_ingest_create_main_conf, /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_image_ingest_create_loc_conf, /* create location configuration */
    ngx_http_image_ingest_merge_loc_conf   /* merge location configuration */
};


ngx_module_t  ngx_http_image_ingest_module = {
    NGX_MODULE_V1,
    &ngx_http_image_ingest_module_ctx,     /* module context */
    ngx_http_image_ingest_commands,        /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_http_image_ingest_init_process,    /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_image_ingest_exit_process,    /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


/* ------------------------------------------------------------------------
 * the event loop
 */


static ngx_int_t
ngx_http_image_ingest_handler(ngx_http_request_t *r)
{
    ngx_int_t                          rc;
    const char                        *msg;
    ngx_table_elt_t                   *h;
    ngx_http_image_ingest_ctx_t       *ctx;
    ngx_http_image_ingest_loc_conf_t  *conf;

    conf = ngx_http_get_module_loc_conf(r, ngx_http_image_ingest_module);

    if (!(r->method & (NGX_HTTP_PUT|NGX_HTTP_POST))) {
        rc = ngx_http_discard_request_body(r);

        if (rc != NGX_OK) {
            return rc;
        }

        h = ngx_list_push(&r->headers_out.headers);
        if (h == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        h->hash = 1;
        ngx_str_set(&h->key, "Allow");
        ngx_str_set(&h->value, "PUT, POST");

        return ngx_http_image_ingest_error(r, NGX_HTTP_NOT_ALLOWED,
                                           "method: must be PUT or POST");
    }

    /* nothing is read from whom may not upload */

    if (ngx_http_image_ingest_signed(r, conf, &msg) != NGX_OK) {
        rc = ngx_http_discard_request_body(r);

        if (rc != NGX_OK) {
            return rc;
        }

        return ngx_http_image_ingest_error(r, NGX_HTTP_FORBIDDEN, msg);
    }

    if (r->headers_in.content_length_n
        > ngx_http_image_ingest_body_max(conf->max_size))
    {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "image_ingest: body of %O bytes is larger than "
                      "image_ingest_max_size %uz allows",
                      r->headers_in.content_length_n, conf->max_size);

        rc = ngx_http_discard_request_body(r);

        if (rc != NGX_OK) {
            return rc;
        }

        return ngx_http_image_ingest_error(r,
                                           NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                           "body: larger than "
                                           "image_ingest_max_size");
    }

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_image_ingest_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->request = r;
    ctx->conf = conf;
    ctx->now = ngx_time();
    ngx_http_set_ctx(r, ctx, ngx_http_image_ingest_module);

    /* the variables of auth_request and the like, before the body */

    if (ngx_http_image_ingest_eval_meta(r, ctx) != NGX_OK
        || ngx_http_image_ingest_prepare(r, ctx) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_read_client_request_body(r, ngx_http_image_ingest_body);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}


/* image_ingest_sign_key: NGX_OK for a valid presigned URL */

static ngx_int_t
ngx_http_image_ingest_signed(ngx_http_request_t *r,
    ngx_http_image_ingest_loc_conf_t *conf, const char **msg)
{
    int         rc;
    u_char     *q;
    ngx_str_t   path;

    if (conf->sign_key.len == 0) {
        return NGX_OK;
    }

    /* the path exactly as the client sent it, as the app signed it */
    path = r->unparsed_uri;
    q = ngx_strlchr(path.data, path.data + path.len, '?');
    if (q) {
        path.len = q - path.data;
    }

    rc = image_ingest_sign_check(conf->sign_key.data, conf->sign_key.len,
                                 (char *) r->method_name.data,
                                 r->method_name.len, (char *) path.data,
                                 path.len, (char *) r->args.data,
                                 r->args.len, (int64_t) ngx_time(),
                                 (int64_t) conf->sign_max_age);

    if (rc == IMAGE_INGEST_SIGN_OK) {
        return NGX_OK;
    }

    *msg = image_ingest_sign_error(rc);

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "image_ingest: %s", *msg);

    return NGX_DECLINED;
}


static ngx_int_t
ngx_http_image_ingest_eval_meta(ngx_http_request_t *r,
    ngx_http_image_ingest_ctx_t *ctx)
{
    ngx_str_t                      v;
    ngx_uint_t                     i;
    ngx_http_image_ingest_meta_t  *m;

    if (ctx->conf->meta == NULL) {
        return NGX_OK;
    }

    m = ctx->conf->meta->elts;
    ctx->nmeta = ctx->conf->meta->nelts;

    ctx->meta = ngx_palloc(r->pool, ctx->nmeta * sizeof(image_ingest_pair_t));
    if (ctx->meta == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < ctx->nmeta; i++) {
        if (ngx_http_complex_value(r, &m[i].value, &v) != NGX_OK) {
            return NGX_ERROR;
        }

        ctx->meta[i].name = (char *) m[i].name.data;
        ctx->meta[i].name_len = m[i].name.len;
        ctx->meta[i].value = (char *) v.data;
        ctx->meta[i].value_len = v.len;
    }

    return NGX_OK;
}


/* the renderings (presets x formats) and what the JSON needs */

static ngx_int_t
ngx_http_image_ingest_prepare(ngx_http_request_t *r,
    ngx_http_image_ingest_ctx_t *ctx)
{
    ngx_uint_t                         i, j, k, nf, *fmt;
    ngx_http_image_ingest_variant_t   *v;
    ngx_http_image_ingest_loc_conf_t  *conf;

    conf = ctx->conf;

    if (conf->formats) {
        nf = conf->formats->nelts;
        fmt = conf->formats->elts;

        ctx->format_names = ngx_palloc(r->pool, nf * sizeof(char *));
        if (ctx->format_names == NULL) {
            return NGX_ERROR;
        }

        for (i = 0; i < nf; i++) {
            /* the enum's values follow the table's order from 1 */
            ctx->format_names[i] = (const char *)
                     ngx_http_image_ingest_format_names[fmt[i] - 1].name.data;
        }

        ctx->nformats = nf;

    } else {
        nf = 1;
        fmt = NULL;
    }

    if (conf->variants == NULL) {
        return NGX_OK;
    }

    v = conf->variants->elts;
    ctx->nrenders = conf->variants->nelts * nf;

    ctx->renders = ngx_pcalloc(r->pool,
                     ctx->nrenders * sizeof(ngx_http_image_ingest_render_t));
    ctx->pairs = ngx_pcalloc(r->pool, conf->variants->nelts
                                      * sizeof(image_ingest_pair_t));

    if (ctx->renders == NULL || ctx->pairs == NULL) {
        return NGX_ERROR;
    }

    k = 0;

    for (i = 0; i < conf->variants->nelts; i++) {
        for (j = 0; j < nf; j++) {
            ctx->renders[k].variant = &v[i];
            ctx->renders[k].format = fmt ? (image_variant_format_e) fmt[j]
                                         : v[i].params.format;
            k++;
        }
    }

    return NGX_OK;
}


static void
ngx_http_image_ingest_body(ngx_http_request_t *r)
{
    ngx_int_t  rc;

    rc = ngx_http_image_ingest_start(r);

    if (rc == NGX_DONE) {
        /* the completion handler finalizes */
        return;
    }

    ngx_http_finalize_request(r, rc);
}


static ngx_int_t
ngx_http_image_ingest_start(ngx_http_request_t *r)
{
    off_t                              total;
    ngx_buf_t                         *b;
    ngx_uint_t                         n;
    ngx_chain_t                       *cl;
    ngx_thread_task_t                 *task;
    ngx_http_image_ingest_ctx_t       *ctx;
    ngx_http_image_ingest_loc_conf_t  *conf;

    ctx = ngx_http_get_module_ctx(r, ngx_http_image_ingest_module);
    conf = ctx->conf;

    /* where the body is: the thread reads it (files are not read here) */

    total = 0;
    n = 0;

    if (r->request_body) {
        for (cl = r->request_body->bufs; cl; cl = cl->next) {
            total += ngx_buf_size(cl->buf);
            n++;
        }
    }

    if (total == 0) {
        return ngx_http_image_ingest_error(r, NGX_HTTP_BAD_REQUEST,
                                           "body: empty");
    }

    if (total > ngx_http_image_ingest_body_max(conf->max_size)) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "image_ingest: body of %O bytes is larger than "
                      "image_ingest_max_size %uz allows",
                      total, conf->max_size);

        return ngx_http_image_ingest_error(r,
                                           NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                           "body: larger than "
                                           "image_ingest_max_size");
    }

    ctx->parts = ngx_palloc(r->pool, n * sizeof(ngx_http_image_ingest_part_t));
    ctx->body = ngx_palloc(r->pool, (size_t) total);

    if (ctx->parts == NULL || ctx->body == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->body_len = (size_t) total;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        b = cl->buf;

        if (ngx_buf_size(b) == 0) {
            continue;
        }

        /* as ngx_buf_size() counted it: memory first */

        if (ngx_buf_in_memory(b)) {
            ctx->parts[ctx->nparts].pos = b->pos;
            ctx->parts[ctx->nparts].len = b->last - b->pos;

        } else if (b->in_file) {
            ctx->parts[ctx->nparts].pos = NULL;
            ctx->parts[ctx->nparts].fd = b->file->fd;
            ctx->parts[ctx->nparts].offset = b->file_pos;
            ctx->parts[ctx->nparts].len = (size_t) (b->file_last
                                                    - b->file_pos);

        } else {
            continue;
        }

        ctx->nparts++;
    }

    task = ngx_thread_task_alloc(r->pool, 0);
    if (task == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    task->ctx = ctx;
    task->handler = ngx_http_image_ingest_thread;
    task->event.handler = ngx_http_image_ingest_done;
    task->event.data = ctx;

    if (ngx_thread_task_post(conf->thread_pool, task) != NGX_OK) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "image_ingest: thread pool \"%V\" is full",
                      &conf->thread_pool_name);

        return ngx_http_image_ingest_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                           "busy: the thread pool queue "
                                           "is full");
    }

    r->main->blocked++;
    r->aio = 1;

    return NGX_DONE;
}


/* the task's completion handler */

static void
ngx_http_image_ingest_done(ngx_event_t *ev)
{
    u_char                       *json;
    size_t                        len;
    ngx_int_t                     rc;
    ngx_uint_t                    level;
    ngx_connection_t             *c;
    ngx_http_request_t           *r;
    image_ingest_info_t           info;
    ngx_http_image_ingest_ctx_t  *ctx;

    ctx = ev->data;
    r = ctx->request;
    c = r->connection;

    ngx_http_set_log_request(c->log, r);

    r->main->blocked--;
    r->aio = 0;

    if (ctx->recovered) {
        ngx_log_error(NGX_LOG_WARN, c->log, 0,
                      "image_ingest: %ui files of an interrupted upload of "
                      "%s removed", (ngx_uint_t) ctx->recovered, ctx->key);
    }

    if (ctx->status != NGX_HTTP_CREATED && ctx->status != NGX_HTTP_OK) {
        level = (ctx->status >= NGX_HTTP_INTERNAL_SERVER_ERROR)
                ? NGX_LOG_ERR : NGX_LOG_INFO;

        ngx_log_error(level, c->log, 0, "image_ingest: %s", ctx->err);

        /* the log has the details (paths, system errors); the client not */
        rc = ngx_http_image_ingest_error(r, ctx->status,
                 ctx->status == NGX_HTTP_INTERNAL_SERVER_ERROR
                 ? "internal error" : ctx->err);
        goto done;
    }

    ngx_http_image_ingest_info(ctx, &info);

    len = image_ingest_json_response(&info, NULL, 0);

    json = ngx_pnalloc(r->pool, len);
    if (json == NULL) {
        rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
        goto done;
    }

    (void) image_ingest_json_response(&info, (char *) json, len);

    ngx_log_error(NGX_LOG_INFO, c->log, 0,
                  "image_ingest: %s %s.%s (%s %ux%u, %uz bytes, "
                  "%ui variants)",
                  ctx->status == NGX_HTTP_CREATED ? "stored" : "duplicate",
                  ctx->key, ctx->probe.ext, ctx->probe.format,
                  ctx->probe.width, ctx->probe.height, ctx->image_len,
                  ctx->nrenders);

    rc = ngx_http_image_ingest_send(r, ctx->status, json, len);

    /* only a new image is news for the app */

    if (ctx->status == NGX_HTTP_CREATED && ctx->conf->notify.len) {
        len = image_ingest_json_notify(&info, NULL, 0);

        json = ngx_pnalloc(r->pool, len);

        if (json == NULL) {
            ngx_log_error(NGX_LOG_ERR, c->log, 0,
                          "image_ingest: notify: out of memory");

        } else {
            (void) image_ingest_json_notify(&info, (char *) json, len);
            (void) ngx_http_image_ingest_notify(r, ctx->conf, json, len);
        }
    }

done:

    ngx_http_finalize_request(r, rc);
    ngx_http_run_posted_requests(c);
}


/* the JSON's view of a finished upload; no allocation (used by the thread) */

static void
ngx_http_image_ingest_info(ngx_http_image_ingest_ctx_t *ctx,
    image_ingest_info_t *info)
{
    ngx_uint_t  i, n, per;

    ngx_memzero(info, sizeof(image_ingest_info_t));

    info->key = ctx->key;
    info->width = ctx->probe.width;
    info->height = ctx->probe.height;
    info->format = ctx->probe.format;
    info->bytes = ctx->image_len;
    info->uploaded = ctx->now;
    info->formats = ctx->format_names;
    info->nformats = ctx->nformats;
    info->meta = ctx->meta;
    info->nmeta = ctx->nmeta;

    if (ctx->nrenders == 0) {
        return;
    }

    /* each preset: its first format's URI */

    n = ctx->conf->variants->nelts;
    per = ctx->nrenders / n;

    for (i = 0; i < n; i++) {
        ctx->pairs[i].name = (char *) ctx->renders[i * per].variant->name.data;
        ctx->pairs[i].name_len = ctx->renders[i * per].variant->name.len;
        ctx->pairs[i].value = ctx->renders[i * per].uri;
        ctx->pairs[i].value_len = ngx_strlen(ctx->renders[i * per].uri);
    }

    info->variants = ctx->pairs;
    info->nvariants = n;
}


static ngx_int_t
ngx_http_image_ingest_send(ngx_http_request_t *r, ngx_uint_t status,
    u_char *json, size_t len)
{
    ngx_int_t     rc;
    ngx_buf_t    *b;
    ngx_chain_t   out;

    r->headers_out.status = status;
    r->headers_out.content_length_n = len;

    ngx_str_set(&r->headers_out.content_type, "application/json");
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_type_lowcase = NULL;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_ERROR;
    }

    b->pos = json;
    b->last = json + len;
    b->memory = 1;
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


/* {"error": "<msg>"}; the message is copied */

static ngx_int_t
ngx_http_image_ingest_error(ngx_http_request_t *r, ngx_uint_t status,
    const char *msg)
{
    u_char  *json, *p;
    size_t   len, n;

    n = ngx_strlen(msg);
    len = sizeof("{\"error\": \"\"}") - 1 + n
          + ngx_escape_json(NULL, (u_char *) msg, n);

    json = ngx_pnalloc(r->pool, len);
    if (json == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_cpymem(json, "{\"error\": \"", sizeof("{\"error\": \"") - 1);
    p = (u_char *) ngx_escape_json(p, (u_char *) msg, n);
    ngx_memcpy(p, "\"}", 2);

    return ngx_http_image_ingest_send(r, status, json, len);
}


/* ------------------------------------------------------------------------
 * the thread: only the task context, libvips and system calls here.
 * Renders run at nice +10, as image_variant's do: the event loop of the
 * same worker must still answer at once.
 */


static void
ngx_http_image_ingest_thread(void *data, ngx_log_t *log)
{
    ngx_http_image_ingest_ctx_t *ctx = data;

    static __thread ngx_uint_t  niced;

    if (!niced) {
        niced = 1;

        if (setpriority(PRIO_PROCESS, (id_t) syscall(SYS_gettid), 10) == -1)
        {
            ngx_log_error(NGX_LOG_WARN, log, ngx_errno,
                          "image_ingest: setpriority() failed");
        }
    }

    if (ngx_http_image_ingest_read(ctx) == NGX_OK
        && ngx_http_image_ingest_decode(ctx) == NGX_OK)
    {
        (void) ngx_http_image_ingest_store(ctx);
    }

    /* libvips' per-thread buffers: this thread may idle for long */
    vips_thread_shutdown();
}


static ngx_int_t
ngx_http_image_ingest_read(ngx_http_image_ingest_ctx_t *ctx)
{
    u_char                        *p;
    ssize_t                        n;
    size_t                         done;
    ngx_uint_t                     i;
    ngx_http_image_ingest_part_t  *part;

    p = ctx->body;

    for (i = 0; i < ctx->nparts; i++) {
        part = &ctx->parts[i];

        if (part->pos) {
            p = ngx_cpymem(p, part->pos, part->len);
            continue;
        }

        for (done = 0; done < part->len; done += n) {
            n = pread(part->fd, p + done, part->len - done,
                      part->offset + done);

            if (n == -1 && ngx_errno == NGX_EINTR) {
                n = 0;
                continue;
            }

            if (n == 0) {
                ngx_http_image_ingest_fail(ctx,
                                           NGX_HTTP_INTERNAL_SERVER_ERROR,
                                           "reading the request body "
                                           "failed: end of file");
                return NGX_ERROR;
            }

            if (n < 0) {
                /* %m: errno, this thread's */
                ngx_http_image_ingest_fail(ctx,
                                           NGX_HTTP_INTERNAL_SERVER_ERROR,
                                           "reading the request body "
                                           "failed: %m");
                return NGX_ERROR;
            }
        }

        p += part->len;
    }

    return NGX_OK;
}


/* raw bytes, or the base64 of JSON's data.image, decoded in place */

static ngx_int_t
ngx_http_image_ingest_decode(ngx_http_image_ingest_ctx_t *ctx)
{
    char    err[128];
    size_t  off, len;

    if (!image_ingest_body_is_json((char *) ctx->body, ctx->body_len)) {
        ctx->image = ctx->body;
        ctx->image_len = ctx->body_len;

    } else {
        if (image_ingest_body_json((char *) ctx->body, ctx->body_len, &off,
                                   &len, err, sizeof(err))
            != IMAGE_INGEST_BODY_OK
            || image_ingest_body_base64((char *) ctx->body + off, len, &len,
                                        err, sizeof(err))
               != IMAGE_INGEST_BODY_OK)
        {
            ngx_http_image_ingest_fail(ctx, NGX_HTTP_BAD_REQUEST, "%s", err);
            return NGX_ERROR;
        }

        ctx->image = ctx->body + off;
        ctx->image_len = len;
    }

    if (ctx->image_len > ctx->conf->max_size) {
        ngx_http_image_ingest_fail(ctx, NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                   "image: %zu bytes, larger than "
                                   "image_ingest_max_size (%zu)",
                                   ctx->image_len, ctx->conf->max_size);
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * Header check, key, then one transaction: every variant rendered and
 * staged first (a render that fails stores nothing), the metadata, the
 * original last.  A duplicate gains only the variants it lacks.
 */

static ngx_int_t
ngx_http_image_ingest_store(ngx_http_image_ingest_ctx_t *ctx)
{
    int                                rc, duplicate;
    char                              *meta;
    char                               rel[IMAGE_INGEST_REL_LEN];
    size_t                             len;
    ngx_uint_t                         i;
    image_ingest_txn_t                *t;
    image_ingest_info_t                info;
    ngx_http_image_ingest_loc_conf_t  *conf;

    conf = ctx->conf;
    t = &ctx->txn;

    image_ingest_probe(ctx->image, ctx->image_len, conf->max_pixels,
                       &ctx->probe);

    switch (ctx->probe.status) {

    case IMAGE_VARIANT_DONE:
        break;

    case IMAGE_VARIANT_E_TOO_LARGE:
        ngx_http_image_ingest_fail(ctx, NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                   "image: %s", ctx->probe.error);
        return NGX_ERROR;

    case IMAGE_VARIANT_E_NOT_IMAGE:
        ngx_http_image_ingest_fail(ctx, NGX_HTTP_UNSUPPORTED_MEDIA_TYPE,
                                   "image: %s", ctx->probe.error);
        return NGX_ERROR;

    default:
        ngx_http_image_ingest_fail(ctx, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                   "image: %s", ctx->probe.error);
        return NGX_ERROR;
    }

    image_ingest_key(ctx->image, ctx->image_len, ctx->key);

    ngx_snprintf((u_char *) ctx->original, sizeof(ctx->original), "%s.%s%Z",
                 ctx->key, ctx->probe.ext);

    /* where each variant goes, and its URI */

    for (i = 0; i < ctx->nrenders; i++) {
        if (ctx->renders[i].format == IMAGE_VARIANT_FORMAT_AUTO) {
            ctx->renders[i].format = ctx->probe.alpha
                                     ? IMAGE_VARIANT_FORMAT_PNG
                                     : IMAGE_VARIANT_FORMAT_JPEG;
        }

        ngx_snprintf((u_char *) ctx->renders[i].rel, IMAGE_INGEST_REL_LEN,
                     "%V/%s.%s%Z", &ctx->renders[i].variant->name, ctx->key,
                     ngx_http_image_ingest_exts[ctx->renders[i].format]);

        ngx_snprintf((u_char *) ctx->renders[i].uri,
                     NGX_HTTP_IMAGE_INGEST_URI_LEN, "%V%s%Z", &conf->uri,
                     ctx->renders[i].rel);
    }

    rc = image_ingest_begin(t, (char *) conf->store.data, ctx->key, 0);

    if (rc != IMAGE_INGEST_STORE_OK) {
        ngx_http_image_ingest_fail(ctx, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                   "store: %s", t->error);
        return NGX_ERROR;
    }

    ctx->recovered = t->recovered;

    duplicate = image_ingest_exists(t, ctx->original);

    for (i = 0; i < ctx->nrenders; i++) {
        if (ngx_http_image_ingest_render(ctx, &ctx->renders[i], duplicate)
            != NGX_OK)
        {
            goto failed;
        }
    }

    if (!duplicate) {
        ngx_http_image_ingest_info(ctx, &info);

        len = image_ingest_json_meta(&info, NULL, 0);

        meta = malloc(len);
        if (meta == NULL) {
            ngx_http_image_ingest_fail(ctx, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                       "out of memory");
            goto failed;
        }

        (void) image_ingest_json_meta(&info, meta, len);

        ngx_snprintf((u_char *) rel, sizeof(rel), "%s.json%Z", ctx->key);

        rc = image_ingest_stage(t, rel, meta, len);
        free(meta);

        if (rc != IMAGE_INGEST_STORE_OK
            || image_ingest_stage(t, ctx->original, ctx->image,
                                  ctx->image_len)
               != IMAGE_INGEST_STORE_OK)
        {
            ngx_http_image_ingest_fail(ctx, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                       "store: %s", t->error);
            goto failed;
        }
    }

    if (t->nfiles
        && image_ingest_commit(t, ctx->original) != IMAGE_INGEST_STORE_OK)
    {
        ngx_http_image_ingest_fail(ctx, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                   "store: %s", t->error);
        goto failed;
    }

    image_ingest_end(t);

    ctx->status = duplicate ? NGX_HTTP_OK : NGX_HTTP_CREATED;

    return NGX_OK;

failed:

    image_ingest_end(t);

    return NGX_ERROR;
}


static ngx_int_t
ngx_http_image_ingest_render(ngx_http_image_ingest_ctx_t *ctx,
    ngx_http_image_ingest_render_t *rd, int duplicate)
{
    int                   rc;
    ngx_uint_t            status;
    image_variant_job_t  *job;

    if (duplicate && image_ingest_exists(&ctx->txn, rd->rel)) {
        return NGX_OK;
    }

    /* ~300 bytes of results and the parameters: not for the stack alone */

    job = calloc(1, sizeof(image_variant_job_t));
    if (job == NULL) {
        ngx_http_image_ingest_fail(ctx, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                   "out of memory");
        return NGX_ERROR;
    }

    job->data = ctx->image;
    job->len = ctx->image_len;
    job->params = rd->variant->params;
    job->params.format = rd->format;
    job->accept = IMAGE_VARIANT_ACCEPT_LEGACY;
    job->max_pixels = ctx->conf->max_pixels;
    job->timeout_ms = (unsigned) ctx->conf->timeout;

    image_variant_render(job);

    if (job->status != IMAGE_VARIANT_DONE) {
        switch (job->status) {

        case IMAGE_VARIANT_E_TOO_LARGE:
            status = NGX_HTTP_REQUEST_ENTITY_TOO_LARGE;
            break;

        case IMAGE_VARIANT_E_NOT_IMAGE:
            status = NGX_HTTP_UNSUPPORTED_MEDIA_TYPE;
            break;

        case IMAGE_VARIANT_E_TIMEOUT:
            status = NGX_HTTP_SERVICE_UNAVAILABLE;
            break;

        default:
            status = NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ngx_http_image_ingest_fail(ctx, status, "variant %s: %s", rd->rel,
                                   job->error);
        image_variant_free(job->out);
        free(job);
        return NGX_ERROR;
    }

    rc = image_ingest_stage(&ctx->txn, rd->rel, job->out, job->out_len);

    image_variant_free(job->out);
    free(job);

    if (rc != IMAGE_INGEST_STORE_OK) {
        ngx_http_image_ingest_fail(ctx, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                   "store: %s", ctx->txn.error);
        return NGX_ERROR;
    }

    return NGX_OK;
}


static void
ngx_http_image_ingest_fail(ngx_http_image_ingest_ctx_t *ctx,
    ngx_uint_t status, const char *fmt, ...)
{
    va_list  args;

    va_start(args, fmt);
    vsnprintf(ctx->err, sizeof(ctx->err), fmt, args);
    va_end(args);

    ctx->status = status;
}


/* ------------------------------------------------------------------------
 * configuration
 */


static char *
ngx_http_image_ingest(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_image_ingest_loc_conf_t *iilcf = conf;

    ngx_http_core_loc_conf_t  *clcf;

    if (iilcf->enable) {
        return "is duplicate";
    }

    iilcf->enable = 1;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_image_ingest_handler;

    return NGX_CONF_OK;
}


static char *
ngx_http_image_ingest_variants(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_image_ingest_loc_conf_t *iilcf = conf;

    ngx_str_t   *value, *name;
    ngx_uint_t   i;

    if (iilcf->presets != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    iilcf->presets = ngx_array_create(cf->pool, cf->args->nelts - 1,
                                      sizeof(ngx_str_t));
    if (iilcf->presets == NULL) {
        return NGX_CONF_ERROR;
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {
        name = ngx_array_push(iilcf->presets);
        if (name == NULL) {
            return NGX_CONF_ERROR;
        }

        *name = value[i];
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_image_ingest_formats(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_image_ingest_loc_conf_t *iilcf = conf;

    ngx_str_t   *value;
    ngx_uint_t   i, j, *f, *all;

    if (iilcf->formats != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    iilcf->formats = ngx_array_create(cf->pool, cf->args->nelts - 1,
                                      sizeof(ngx_uint_t));
    if (iilcf->formats == NULL) {
        return NGX_CONF_ERROR;
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {
        for (j = 0; ngx_http_image_ingest_format_names[j].name.len; j++) {
            if (ngx_strcmp(value[i].data,
                           ngx_http_image_ingest_format_names[j].name.data)
                == 0)
            {
                break;
            }
        }

        if (ngx_http_image_ingest_format_names[j].name.len == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "unknown format \"%V\": jpeg, png, webp or "
                               "avif", &value[i]);
            return NGX_CONF_ERROR;
        }

        f = ngx_array_push(iilcf->formats);
        if (f == NULL) {
            return NGX_CONF_ERROR;
        }

        *f = ngx_http_image_ingest_format_names[j].value;
    }

    /* each format once */

    all = iilcf->formats->elts;

    for (i = 0; i < iilcf->formats->nelts; i++) {
        for (j = i + 1; j < iilcf->formats->nelts; j++) {
            if (all[i] == all[j]) {
                return "lists a format twice";
            }
        }
    }

    return NGX_CONF_OK;
}


/* image_ingest_meta name value [name value ...] */

static char *
ngx_http_image_ingest_meta(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_image_ingest_loc_conf_t *iilcf = conf;

    ngx_str_t                          *value;
    ngx_uint_t                          i, j;
    ngx_http_image_ingest_meta_t       *m, *all;
    ngx_http_compile_complex_value_t    ccv;

    if ((cf->args->nelts - 1) % 2) {
        return "takes name and value pairs";
    }

    if (iilcf->meta == NGX_CONF_UNSET_PTR) {
        iilcf->meta = ngx_array_create(cf->pool, 4,
                                       sizeof(ngx_http_image_ingest_meta_t));
        if (iilcf->meta == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i += 2) {
        all = iilcf->meta->elts;

        for (j = 0; j < iilcf->meta->nelts; j++) {
            if (all[j].name.len == value[i].len
                && ngx_strncmp(all[j].name.data, value[i].data,
                               value[i].len) == 0)
            {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "duplicate image_ingest_meta \"%V\"",
                                   &value[i]);
                return NGX_CONF_ERROR;
            }
        }

        m = ngx_array_push(iilcf->meta);
        if (m == NULL) {
            return NGX_CONF_ERROR;
        }

        m->name = value[i];

        ngx_memzero(&ccv, sizeof(ngx_http_compile_complex_value_t));

        ccv.cf = cf;
        ccv.value = &value[i + 1];
        ccv.complex_value = &m->value;

        if (ngx_http_compile_complex_value(&ccv) != NGX_OK) {
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;
}


/* image_ingest_notify_backoff first [max] */

static char *
ngx_http_image_ingest_backoff(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_image_ingest_loc_conf_t *iilcf = conf;

    ngx_str_t  *value;

    if (iilcf->notify_backoff != NGX_CONF_UNSET_MSEC) {
        return "is duplicate";
    }

    value = cf->args->elts;

    iilcf->notify_backoff = ngx_parse_time(&value[1], 0);

    if (iilcf->notify_backoff == (ngx_msec_t) NGX_ERROR
        || iilcf->notify_backoff == 0)
    {
        return "has an invalid first wait";
    }

    if (cf->args->nelts == 3) {
        iilcf->notify_backoff_max = ngx_parse_time(&value[2], 0);

        if (iilcf->notify_backoff_max == (ngx_msec_t) NGX_ERROR
            || iilcf->notify_backoff_max < iilcf->notify_backoff)
        {
            return "has an invalid longest wait";
        }
    }

    return NGX_CONF_OK;
}


static void *
ngx_http_image_ingest_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_image_ingest_main_conf_t  *mcf;

    mcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_image_ingest_main_conf_t));
    if (mcf == NULL) {
        return NULL;
    }

    if (ngx_array_init(&mcf->stores, cf->pool, 2, sizeof(ngx_str_t))
        != NGX_OK)
    {
        return NULL;
    }

    return mcf;
}


static void *
ngx_http_image_ingest_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_image_ingest_loc_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_image_ingest_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     conf->enable = 0;
     *     conf->store = { 0, NULL };
     *     conf->uri = { 0, NULL };
     *     conf->sign_key = { 0, NULL };
     *     conf->notify = { 0, NULL };
     *     conf->variants = NULL;
     *     conf->thread_pool_name = { 0, NULL };
     *     conf->thread_pool = NULL;
     */

    conf->presets = NGX_CONF_UNSET_PTR;
    conf->formats = NGX_CONF_UNSET_PTR;
    conf->meta = NGX_CONF_UNSET_PTR;
    conf->sign_max_age = NGX_CONF_UNSET;
    conf->notify_timeout = NGX_CONF_UNSET_MSEC;
    conf->notify_retries = NGX_CONF_UNSET_UINT;
    conf->notify_backoff = NGX_CONF_UNSET_MSEC;
    conf->notify_backoff_max = NGX_CONF_UNSET_MSEC;
    conf->max_size = NGX_CONF_UNSET_SIZE;

    return conf;
}


static char *
ngx_http_image_ingest_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child)
{
    ngx_http_image_ingest_loc_conf_t *prev = parent;
    ngx_http_image_ingest_loc_conf_t *conf = child;

    ngx_conf_merge_str_value(conf->store, prev->store, "");
    ngx_conf_merge_ptr_value(conf->presets, prev->presets, NULL);
    ngx_conf_merge_ptr_value(conf->formats, prev->formats, NULL);
    ngx_conf_merge_str_value(conf->uri, prev->uri, "/");
    ngx_conf_merge_str_value(conf->sign_key, prev->sign_key, "");
    ngx_conf_merge_sec_value(conf->sign_max_age, prev->sign_max_age, 3600);
    ngx_conf_merge_ptr_value(conf->meta, prev->meta, NULL);
    ngx_conf_merge_str_value(conf->notify, prev->notify, "");
    ngx_conf_merge_msec_value(conf->notify_timeout, prev->notify_timeout,
                              5000);
    ngx_conf_merge_uint_value(conf->notify_retries, prev->notify_retries, 5);

    if (conf->notify_backoff == NGX_CONF_UNSET_MSEC) {
        conf->notify_backoff = prev->notify_backoff;
        conf->notify_backoff_max = prev->notify_backoff_max;
    }

    ngx_conf_merge_msec_value(conf->notify_backoff, prev->notify_backoff,
                              1000);
    ngx_conf_merge_msec_value(conf->notify_backoff_max,
                              prev->notify_backoff_max, 60000);
    ngx_conf_merge_size_value(conf->max_size, prev->max_size,
                              20 * 1024 * 1024);

    if (conf->max_size == 0) {
        return "image_ingest_max_size must be positive";
    }

    if (conf->notify_backoff_max < conf->notify_backoff) {
        conf->notify_backoff_max = conf->notify_backoff;
    }

    if (conf->sign_key.len && conf->sign_key.len < 16) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "image_ingest_sign_key must be at least 16 "
                           "bytes");
        return NGX_CONF_ERROR;
    }

    if (conf->uri.len > NGX_HTTP_IMAGE_INGEST_URI_MAX) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "image_ingest_uri is too long");
        return NGX_CONF_ERROR;
    }

    if (conf->notify.len
        && ngx_strncmp(conf->notify.data, "http://", 7) != 0
        && ngx_strncmp(conf->notify.data, "https://", 8) != 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "image_ingest_notify must be an http or https "
                           "URL");
        return NGX_CONF_ERROR;
    }

    if (!conf->enable) {
        return NGX_CONF_OK;
    }

    return ngx_http_image_ingest_resolve(cf, conf);
}


/*
 * A location with image_ingest: its store and presets, and image_variant's
 * limits and thread pool, merged before us (the module comes first in the
 * .so's list).
 */

static char *
ngx_http_image_ingest_resolve(ngx_conf_t *cf,
    ngx_http_image_ingest_loc_conf_t *conf)
{
    u_char                             *p;
    ngx_str_t                          *name, *s;
    ngx_uint_t                          i, nf;
    void                               *ivlcf;
    ngx_http_image_variant_limits_t     limits;
    ngx_http_image_ingest_variant_t    *v;
    ngx_http_image_ingest_main_conf_t  *mcf;

    if (conf->store.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "image_ingest needs image_ingest_store");
        return NGX_CONF_ERROR;
    }

    if (ngx_conf_full_name(cf->cycle, &conf->store, 0) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    while (conf->store.len > 1
           && conf->store.data[conf->store.len - 1] == '/')
    {
        conf->store.len--;
    }

    if (conf->store.len > IMAGE_INGEST_DIR_LEN) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "image_ingest_store \"%V\" is too long",
                           &conf->store);
        return NGX_CONF_ERROR;
    }

    /* NUL-terminated, for the store's system calls */
    p = ngx_pnalloc(cf->pool, conf->store.len + 1);
    if (p == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memcpy(p, conf->store.data, conf->store.len);
    p[conf->store.len] = '\0';
    conf->store.data = p;

    ivlcf = ngx_http_conf_get_module_loc_conf(cf,
                                              ngx_http_image_variant_module);

    ngx_http_image_variant_limits(ivlcf, &limits);

    conf->max_pixels = limits.max_pixels;
    conf->timeout = limits.timeout;
    conf->thread_pool_name = limits.thread_pool;

    conf->thread_pool = ngx_thread_pool_add(cf, &conf->thread_pool_name);
    if (conf->thread_pool == NULL) {
        return NGX_CONF_ERROR;
    }

    if (conf->presets) {
        nf = conf->formats ? conf->formats->nelts : 1;

        if (conf->presets->nelts * nf > IMAGE_INGEST_MAX_FILES - 2) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "image_ingest_variants: more than %d "
                               "renderings", IMAGE_INGEST_MAX_FILES - 2);
            return NGX_CONF_ERROR;
        }

        conf->variants = ngx_array_create(cf->pool, conf->presets->nelts,
                                  sizeof(ngx_http_image_ingest_variant_t));
        if (conf->variants == NULL) {
            return NGX_CONF_ERROR;
        }

        name = conf->presets->elts;

        for (i = 0; i < conf->presets->nelts; i++) {
            v = ngx_array_push(conf->variants);
            if (v == NULL) {
                return NGX_CONF_ERROR;
            }

            v->name = name[i];

            /* a directory name in the store and a JSON key */

            for (p = name[i].data; p < name[i].data + name[i].len; p++) {
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
                      || (*p >= '0' && *p <= '9') || *p == '_' || *p == '-'))
                {
                    break;
                }
            }

            if (p != name[i].data + name[i].len || name[i].len > 64) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "image_ingest_variants: preset name "
                                   "\"%V\" is not [A-Za-z0-9_-]{1,64}",
                                   &name[i]);
                return NGX_CONF_ERROR;
            }

            if (ngx_http_image_variant_preset_params(ivlcf, &name[i],
                                                     &v->params)
                != NGX_OK)
            {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "image_ingest_variants: no "
                                   "image_variant_preset \"%V\"", &name[i]);
                return NGX_CONF_ERROR;
            }
        }
    }

    /* for the sweep when a worker starts */

    mcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_image_ingest_module);

    s = mcf->stores.elts;

    for (i = 0; i < mcf->stores.nelts; i++) {
        if (s[i].len == conf->store.len
            && ngx_strcmp(s[i].data, conf->store.data) == 0)
        {
            return NGX_CONF_OK;
        }
    }

    s = ngx_array_push(&mcf->stores);
    if (s == NULL) {
        return NGX_CONF_ERROR;
    }

    *s = conf->store;

    return NGX_CONF_OK;
}


/*
 * Per worker: libcurl for the notifications (never in the master: not
 * fork safe), and the roll-back of uploads a crash interrupted.  The
 * sweep blocks, once, before the worker takes requests; it only touches
 * keys whose lock no live process holds.
 */

static ngx_int_t
ngx_http_image_ingest_init_process(ngx_cycle_t *cycle)
{
    int                                 n;
    char                                err[256];
    ngx_str_t                          *s;
    ngx_uint_t                          i;
    ngx_http_conf_ctx_t                *ctx;
    ngx_http_image_ingest_main_conf_t  *mcf;

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "image_ingest: curl_global_init() failed");
        return NGX_ERROR;
    }

    ctx = (ngx_http_conf_ctx_t *) cycle->conf_ctx[ngx_http_module.index];

    if (ctx == NULL) {
        return NGX_OK;
    }

    mcf = ctx->main_conf[ngx_http_image_ingest_module.ctx_index];
    s = mcf->stores.elts;

    for (i = 0; i < mcf->stores.nelts; i++) {
        n = image_ingest_sweep((char *) s[i].data, err, sizeof(err));

        if (n < 0) {
            ngx_log_error(NGX_LOG_ERR, cycle->log, 0,
                          "image_ingest: sweep of \"%V\": %s", &s[i], err);

        } else if (n > 0) {
            ngx_log_error(NGX_LOG_WARN, cycle->log, 0,
                          "image_ingest: %d interrupted uploads in \"%V\" "
                          "rolled back", n, &s[i]);
        }
    }

    return NGX_OK;
}


static void
ngx_http_image_ingest_exit_process(ngx_cycle_t *cycle)
{
    curl_global_cleanup();
}
