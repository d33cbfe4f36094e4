
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
 * src/image/core/image_ingest_store.c.  The completion handler answers
 * 201 (200 for bytes already stored) with JSON and starts the
 * notification.
 *
 * The task never waits for a lock: when another upload of the same bytes
 * (in any worker) holds the key, the task ends at once and is posted
 * again after a timer, 10 ms, doubling up to 100 ms, for at most
 * image_variant_timeout for each rendering of the upload and one more
 * (the longest the other upload can hold the key), then 503.  A full
 * store (ENOSPC, EDQUOT) is a 507, logged once per worker until an
 * upload succeeds again.
 *
 * This module lives in the image variant module's .so: it takes the
 * presets, the pixel limit, the render time limit and the thread pool
 * of image_variant's configuration of the same location, and libvips is
 * set up by that module's init_process.
 *
 * With image_ingest_archive on, a body that is a zip, tar or 7z archive
 * is ingested entry by entry, each image as above, in one task per entry:
 * see ngx_http_image_ingest_archive.c.
 *
 * This file: the module's tables and the event loop side.  The thread
 * pool task is in ngx_http_image_ingest_thread.c, the directives in
 * ngx_http_image_ingest_conf.c.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "image_ingest_body.h"
#include "image_ingest_json.h"
#include "image_ingest_sign.h"
#include "ngx_http_image_ingest.h"
#include "ngx_http_edge_json.h"


/* the waits for a key locked by another upload: 10, 20, 40, 80, 100... */
#define NGX_HTTP_IMAGE_INGEST_RETRY_MIN  10
#define NGX_HTTP_IMAGE_INGEST_RETRY_MAX  100


static ngx_int_t ngx_http_image_ingest_signed(ngx_http_request_t *r,
    ngx_http_image_ingest_loc_conf_t *conf, const char **msg);
static ngx_int_t ngx_http_image_ingest_eval_meta(ngx_http_request_t *r,
    ngx_http_image_ingest_ctx_t *ctx);
static ngx_int_t ngx_http_image_ingest_prepare(ngx_http_request_t *r,
    ngx_http_image_ingest_ctx_t *ctx);
static void ngx_http_image_ingest_body(ngx_http_request_t *r);
static ngx_int_t ngx_http_image_ingest_start(ngx_http_request_t *r);
static void ngx_http_image_ingest_done(void *data);
static void ngx_http_image_ingest_retry(ngx_event_t *ev);
static ngx_int_t ngx_http_image_ingest_failed(ngx_http_request_t *r,
    ngx_http_image_ingest_ctx_t *ctx);
static void ngx_http_image_ingest_cleanup(void *data);
static ngx_int_t ngx_http_image_ingest_init(ngx_conf_t *cf);


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

    { ngx_string("image_ingest_s3_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_image_ingest_loc_conf_t, s3_timeout),
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

    { ngx_string("image_ingest_thread_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_image_ingest_loc_conf_t, thread_timeout),
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

    { ngx_string("image_ingest_archive"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_image_ingest_loc_conf_t, archive),
      NULL },

    { ngx_string("image_ingest_archive_max_entries"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_image_ingest_loc_conf_t, archive_max_entries),
      NULL },

    { ngx_string("image_ingest_archive_max_bytes"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_off_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_image_ingest_loc_conf_t, archive_max_bytes),
      NULL },

    { ngx_string("image_ingest_archive_max_ratio"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_image_ingest_loc_conf_t, archive_max_ratio),
      NULL },

    { ngx_string("image_ingest_notify_batch"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_image_ingest_loc_conf_t, notify_batch),
      NULL },

    { ngx_string("image_ingest_moderation"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_image_ingest_loc_conf_t, moderation),
      &ngx_http_image_ingest_moderation_modes },

    { ngx_string("image_ingest_moderation_threshold"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_image_ingest_moderation_threshold,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("image_moderation_models"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_image_ingest_loc_conf_t, moderation_models),
      NULL },

    { ngx_string("image_moderate"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_image_moderate,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("image_ingest_jwt"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_image_ingest_jwt,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("image_ingest_jwt_claims"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_image_ingest_jwt_claims,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("image_ingest_jwt_leeway"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_image_ingest_loc_conf_t, jwt_leeway),
      NULL },

    { ngx_string("image_ingest_jwt_require_exp"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_image_ingest_loc_conf_t, jwt_require_exp),
      NULL },

    { ngx_string("image_ingest_jwt_token"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_set_complex_value_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_image_ingest_loc_conf_t, jwt_token),
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
    ngx_http_image_ingest_jwt_preconfiguration, /* preconfiguration */
    ngx_http_image_ingest_init,            /* postconfiguration */

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


ngx_int_t
ngx_http_image_ingest_handler(ngx_http_request_t *r)
{
    ngx_int_t                          rc;
    const char                        *msg;
    ngx_pool_cleanup_t                *cln;
    ngx_http_image_ingest_ctx_t       *ctx;
    ngx_http_image_ingest_loc_conf_t  *conf;

    conf = ngx_http_get_module_loc_conf(r, ngx_http_image_ingest_module);

    if (!(r->method & (NGX_HTTP_PUT|NGX_HTTP_POST))) {
        return ngx_http_edge_not_allowed(r, "PUT, POST",
                                         "method: must be PUT or POST");
    }

    /* nothing is read from whom may not upload */

    if (ngx_http_image_ingest_jwt_verified(r, conf) != NGX_OK) {
        return ngx_http_image_ingest_jwt_refuse(r, conf);
    }

    if (ngx_http_image_ingest_signed(r, conf, &msg) != NGX_OK) {
        rc = ngx_http_discard_request_body(r);

        if (rc != NGX_OK) {
            return rc;
        }

        return ngx_http_edge_json_error(r, NGX_HTTP_FORBIDDEN, msg);
    }

    /* an archive may be larger: client_max_body_size and its limits */

    if (!conf->archive
        && r->headers_in.content_length_n
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

        return ngx_http_edge_json_error(r,
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

    /* the retry timer never outlives the request */

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln->handler = ngx_http_image_ingest_cleanup;
    cln->data = ctx;

    /* the variables of auth_request and the like, before the body */

    if (ngx_http_image_ingest_eval_meta(r, ctx) != NGX_OK
        || ngx_http_image_ingest_prepare(r, ctx) != NGX_OK
        || (conf->archive
            && ngx_http_image_ingest_archive_init(r, ctx) != NGX_OK)
        || (conf->s3 && ngx_http_image_ingest_s3_init(r, ctx) != NGX_OK))
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
            ctx->renders[k].asked = ctx->renders[k].format;
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
    off_t                              max;
    ngx_int_t                          rc;
    const char                        *why;
    ngx_http_edge_task_t              *t;
    ngx_http_image_ingest_ctx_t       *ctx;
    ngx_http_image_ingest_loc_conf_t  *conf;

    ctx = ngx_http_get_module_ctx(r, ngx_http_image_ingest_module);
    conf = ctx->conf;

    /* an archive's size is image_ingest_archive_max_bytes' to judge */
    max = conf->archive ? 0 : ngx_http_image_ingest_body_max(conf->max_size);

    rc = ngx_http_image_ingest_body_parts(r, ctx, max, !conf->archive,
                                          &why);
    if (rc != NGX_OK) {
        return why ? ngx_http_edge_json_error(r, rc, why) : rc;
    }

    /* a bucket: its endpoint and credentials now, for the thread */

    if (conf->s3 && ngx_http_image_ingest_s3_prepare(r, ctx) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    t = ngx_http_edge_task_alloc(r->pool, 0);
    if (t == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    t->task->ctx = ctx;
    t->task->handler = ngx_http_image_ingest_thread;
    t->data = ctx;
    t->request = r;
    t->module = "image_ingest";
    t->work = "upload";
    t->timeout = conf->thread_timeout;
    t->done = ngx_http_image_ingest_done;
    t->json_error = "busy: the upload is taking too long";
    ctx->task = t;

    if (ngx_http_edge_task_post(t, conf->thread_pool, &conf->thread_pool_name)
        != NGX_OK)
    {
        return ngx_http_edge_json_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                        "busy: the thread pool queue "
                                        "is full");
    }

    return NGX_DONE;
}


/*
 * The request body's buffers as parts the thread reads (files are not
 * read here).  A body over max (0: none) is refused; with copy, the memory
 * the thread gathers it into (with image_ingest_archive, the thread reads
 * the body as an archive or, when it is none, into memory it allocates).
 * Returns NGX_OK, or the status of a refusal (nothing sent yet; *why the
 * client's reason for a 400 or 413).
 */

ngx_int_t
ngx_http_image_ingest_body_parts(ngx_http_request_t *r,
    ngx_http_image_ingest_ctx_t *ctx, off_t max, ngx_uint_t copy,
    const char **why)
{
    off_t         total;
    ngx_buf_t    *b;
    ngx_uint_t    n;
    ngx_chain_t  *cl;

    total = 0;
    n = 0;

    if (r->request_body) {
        for (cl = r->request_body->bufs; cl; cl = cl->next) {
            total += ngx_buf_size(cl->buf);
            n++;
        }
    }

    *why = NULL;

    if (total == 0) {
        *why = "body: empty";
        return NGX_HTTP_BAD_REQUEST;
    }

    if (max && total > max) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "image_ingest: body of %O bytes is larger than "
                      "image_ingest_max_size %uz allows",
                      total, ctx->conf->max_size);

        *why = "body: larger than image_ingest_max_size";
        return NGX_HTTP_REQUEST_ENTITY_TOO_LARGE;
    }

    ctx->parts = ngx_palloc(r->pool, n * sizeof(ngx_http_image_ingest_part_t));
    if (ctx->parts == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (copy) {
        ctx->body = ngx_palloc(r->pool, (size_t) total);
        if (ctx->body == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
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

    return NGX_OK;
}


/* the task's completion handler */

static void
ngx_http_image_ingest_done(void *data)
{
    u_char                       *json;
    size_t                        len;
    ngx_int_t                     rc;
    ngx_connection_t             *c;
    ngx_http_request_t           *r;
    image_ingest_info_t           info;
    ngx_http_image_ingest_ctx_t  *ctx;

    ctx = data;
    r = ctx->request;
    c = r->connection;

    if (ctx->is_archive) {
        /* an entry of an archive done (or waiting), or the archive */
        ngx_http_image_ingest_archive_done(ctx);
        return;
    }

    if (ctx->busy) {
        rc = ngx_http_image_ingest_wait(r, ctx);

        if (rc == NGX_DONE) {
            return;
        }

        goto done;
    }

    if (ctx->recovered) {
        ngx_log_error(NGX_LOG_WARN, c->log, 0,
                      "image_ingest: %ui files of an interrupted upload of "
                      "%s removed", (ngx_uint_t) ctx->recovered, ctx->key);
    }

    if (ctx->rejected) {
        rc = ngx_http_image_ingest_rejected(r, ctx);
        goto done;
    }

    if (ctx->status != NGX_HTTP_CREATED && ctx->status != NGX_HTTP_OK
        && ctx->status != NGX_HTTP_ACCEPTED)
    {
        rc = ngx_http_image_ingest_failed(r, ctx);
        goto done;
    }

    if (ctx->fresh && ctx->conf->full) {
        ctx->conf->full = 0;

        ngx_log_error(NGX_LOG_NOTICE, c->log, 0,
                      "image_ingest: the store \"%V\" takes uploads again",
                      &ctx->conf->store);
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
                  "image_ingest: %s%s %s.%s (%s %uDx%uD, %uz bytes, "
                  "%ui variants)",
                  ctx->fresh ? "stored" : "duplicate",
                  ctx->quarantined ? " in quarantine" : "",
                  ctx->key, ctx->probe.ext, ctx->probe.format,
                  (uint32_t) ctx->probe.width, (uint32_t) ctx->probe.height,
                  ctx->image_len, ctx->nrenders);

    ngx_http_edge_metrics_add(ctx->fresh ? EDGE_METRICS_INGEST_COMMITS
                                         : EDGE_METRICS_INGEST_DUPLICATES,
                              1);

    rc = ngx_http_edge_json_send(r, ctx->status, json, len);

    /* only a new image is news for the app (a quarantined one too) */

    if (ctx->fresh && ctx->conf->notify.len) {
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
}


/* the answer and the one log line of a failed upload */

static ngx_int_t
ngx_http_image_ingest_failed(ngx_http_request_t *r,
    ngx_http_image_ingest_ctx_t *ctx)
{
    ngx_uint_t                         level;
    ngx_http_image_ingest_loc_conf_t  *conf;

    conf = ctx->conf;

    if (ctx->full) {
        if (!conf->full) {
            conf->full = 1;

            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "image_ingest: the store \"%V\" is full, uploads "
                          "answer 507 until one is stored: %s",
                          &conf->store, ctx->err);

        } else {
            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "image_ingest: the store \"%V\" is still full, "
                          "upload of %uz bytes refused",
                          &conf->store, ctx->image_len);
        }

        return ngx_http_edge_json_error(r, NGX_HTTP_INSUFFICIENT_STORAGE,
                                        "insufficient storage: the image "
                                        "store is full");
    }

    level = (ctx->status >= NGX_HTTP_INTERNAL_SERVER_ERROR)
            ? NGX_LOG_ERR : NGX_LOG_INFO;

    ngx_log_error(level, r->connection->log, 0, "image_ingest: %s", ctx->err);

    /* the log has the details (paths, keys, system errors); the client not */

    if (ctx->status == NGX_HTTP_BAD_GATEWAY) {
        return ngx_http_edge_json_error(r, NGX_HTTP_BAD_GATEWAY,
                                        "bad gateway: the image store "
                                        "failed");
    }

    return ngx_http_edge_json_error(r, ctx->status,
               ctx->status == NGX_HTTP_INTERNAL_SERVER_ERROR
               ? "internal error" : ctx->err);
}


/*
 * The key is locked by another upload of the same bytes: the task is
 * posted again after a timer (NGX_DONE), or, once waited long enough,
 * a 503.  The request stays blocked meanwhile, as while its task runs.
 */

ngx_int_t
ngx_http_image_ingest_wait(ngx_http_request_t *r,
    ngx_http_image_ingest_ctx_t *ctx)
{
    if (ctx->delay == 0) {
        ctx->delay = NGX_HTTP_IMAGE_INGEST_RETRY_MIN;
        ctx->max_wait = ctx->conf->timeout * (ctx->nrenders + 1);

        ctx->retry.handler = ngx_http_image_ingest_retry;
        ctx->retry.data = ctx;
        ctx->retry.log = r->connection->log;

        ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "image_ingest: %s is locked by another upload, "
                       "waiting up to %M ms", ctx->key, ctx->max_wait);
    }

    if (ctx->waited >= ctx->max_wait) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "image_ingest: another upload of %s still holds its "
                      "lock after %M ms", ctx->key, ctx->waited);

        return ngx_http_edge_json_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                        "busy: an upload of the same image "
                                        "is in progress");
    }

    ngx_add_timer(&ctx->retry, ctx->delay);

    ctx->waited += ctx->delay;
    ctx->delay = ngx_min(ctx->delay * 2, NGX_HTTP_IMAGE_INGEST_RETRY_MAX);

    r->main->blocked++;
    r->aio = 1;

    return NGX_DONE;
}


static void
ngx_http_image_ingest_retry(ngx_event_t *ev)
{
    ngx_int_t                     rc;
    ngx_connection_t             *c;
    ngx_http_request_t           *r;
    ngx_http_image_ingest_ctx_t  *ctx;

    ctx = ev->data;
    r = ctx->request;
    c = r->connection;

    ngx_http_set_log_request(c->log, r);

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, c->log, 0,
                   "image_ingest: %s: trying its lock again", ctx->key);

    /* the wait's block ends; the task's own begins */

    r->main->blocked--;
    r->aio = 0;

    if (ngx_http_edge_task_post(ctx->task, ctx->conf->thread_pool,
                                &ctx->conf->thread_pool_name)
        == NGX_OK)
    {
        return;
    }

    rc = ngx_http_edge_json_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                  "busy: the thread pool queue is full");

    ngx_http_finalize_request(r, rc);
    ngx_http_run_posted_requests(c);
}


static void
ngx_http_image_ingest_cleanup(void *data)
{
    ngx_http_image_ingest_ctx_t  *ctx = data;

    if (ctx->retry.timer_set) {
        ngx_del_timer(&ctx->retry);
    }
}


/* the metrics count the responses of the upload locations */

static ngx_int_t
ngx_http_image_ingest_init(ngx_conf_t *cf)
{
    return ngx_http_edge_metrics_watch(cf, EDGE_METRICS_IMAGE_INGEST, NULL,
                                       ngx_http_image_ingest_handler);
}
