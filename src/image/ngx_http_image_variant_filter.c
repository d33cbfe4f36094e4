
/*
 * ngx_http_image_variant_module: the filter.
 *
 * The location's response (a static file, a proxied object store,
 * anything) is the source.  Its headers decide everything that can be
 * decided without pixels: the preset and parameters, the signature, the
 * variant's ETag (so If-None-Match is answered with 304 before any
 * decoding), the size limit.  The body is collected, the variant is made
 * by a thread-pool task, and the completion handler, back on the event
 * loop, sends it.  The directives and the worker's set-up are in
 * ngx_http_image_variant_module.c.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "image_variant_params.h"
#include "image_variant_vips.h"
#include "ngx_http_image_variant.h"
#include "ngx_http_edge_task.h"


/* r->buffered: the image filter's bit; the two never share a location */
#define NGX_HTTP_IMAGE_VARIANT_BUFFERED  0x08

/* a refusal's reason, logged and sent as the body */
#define NGX_HTTP_IMAGE_VARIANT_REASON    320


#define NGX_HTTP_IMAGE_VARIANT_READ   1       /* collecting the source */
#define NGX_HTTP_IMAGE_VARIANT_WORK   2       /* a thread is rendering */
#define NGX_HTTP_IMAGE_VARIANT_SEND   3       /* the variant is ready */
#define NGX_HTTP_IMAGE_VARIANT_DONE   4
#define NGX_HTTP_IMAGE_VARIANT_REFUSED  5     /* the source is dropped */


typedef struct {
    ngx_uint_t                   state;
    ngx_http_request_t          *request;
    u_char                      *data;          /* the source */
    u_char                      *last;
    u_char                      *end;
    u_char                       etag[IMAGE_VARIANT_ETAG_LEN];
    time_t                       last_modified; /* the source's; -1 */
    image_variant_job_t          job;
    ngx_str_t                    inm;           /* If-None-Match, for a
                                                   hash in the thread */
    unsigned                     vary:1;
    unsigned                     hash:1;        /* ETag from the bytes */
    unsigned                     not_modified:1;  /* the thread's match */
    unsigned                     expired:1;     /* the watchdog answered */
} ngx_http_image_variant_ctx_t;


static ngx_int_t ngx_http_image_variant_header_filter(ngx_http_request_t *r);
static ngx_int_t ngx_http_image_variant_body_filter(ngx_http_request_t *r,
    ngx_chain_t *in);
static ngx_int_t ngx_http_image_variant_read(ngx_http_request_t *r,
    ngx_http_image_variant_ctx_t *ctx,
    ngx_http_image_variant_loc_conf_t *conf);
static ngx_int_t ngx_http_image_variant_resolve(ngx_http_request_t *r,
    ngx_http_image_variant_loc_conf_t *conf, image_variant_params_t *p,
    u_char *reason, size_t size);
static ngx_int_t ngx_http_image_variant_validator(ngx_http_request_t *r,
    ngx_http_image_variant_ctx_t *ctx, ngx_str_t *v, u_char *buf,
    size_t size);
static ngx_int_t ngx_http_image_variant_etag_matches(ngx_http_request_t *r,
    u_char *etag);
static ngx_int_t ngx_http_image_variant_conditional(ngx_http_request_t *r,
    ngx_http_image_variant_ctx_t *ctx);
static ngx_int_t ngx_http_image_variant_not_modified(ngx_http_request_t *r,
    ngx_http_image_variant_ctx_t *ctx);
static ngx_int_t ngx_http_image_variant_set_etag(ngx_http_request_t *r,
    ngx_http_image_variant_ctx_t *ctx, u_char *validator, size_t len);
static ngx_int_t ngx_http_image_variant_etag_header(ngx_http_request_t *r,
    ngx_http_image_variant_ctx_t *ctx);
static ngx_int_t ngx_http_image_variant_set_vary(ngx_http_request_t *r);
static ngx_int_t ngx_http_image_variant_encoded(ngx_http_request_t *r,
    ngx_http_image_variant_ctx_t *ctx);
static ngx_int_t ngx_http_image_variant_refuse(ngx_http_request_t *r,
    ngx_http_image_variant_ctx_t *ctx, ngx_uint_t status, ngx_uint_t log,
    const char *fmt, ...);
static ngx_int_t ngx_http_image_variant_tagged(ngx_http_request_t *r,
    ngx_http_image_variant_ctx_t *ctx);
static ngx_int_t ngx_http_image_variant_collect(ngx_http_request_t *r,
    ngx_http_image_variant_ctx_t *ctx, ngx_chain_t *in);
static ngx_int_t ngx_http_image_variant_post(ngx_http_request_t *r,
    ngx_http_image_variant_ctx_t *ctx);
static void ngx_http_image_variant_thread(void *data, ngx_log_t *log);
static void ngx_http_image_variant_thread_done(void *data);
static void ngx_http_image_variant_expire(void *data);
static void ngx_http_image_variant_render_ended(void *data);
static ngx_int_t ngx_http_image_variant_send(ngx_http_request_t *r,
    ngx_http_image_variant_ctx_t *ctx);
static void ngx_http_image_variant_cleanup(void *data);
static ngx_int_t ngx_http_image_variant_preaccess(ngx_http_request_t *r);


static ngx_http_output_header_filter_pt  ngx_http_next_header_filter;
static ngx_http_output_body_filter_pt    ngx_http_next_body_filter;

static ngx_str_t  ngx_http_image_variant_vary = ngx_string("Accept");


ngx_int_t
ngx_http_image_variant_filter_init(ngx_conf_t *cf)
{
    ngx_http_handler_pt        *h;
    ngx_http_core_main_conf_t  *cmcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_PREACCESS_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_image_variant_preaccess;

    ngx_http_next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = ngx_http_image_variant_header_filter;

    ngx_http_next_body_filter = ngx_http_top_body_filter;
    ngx_http_top_body_filter = ngx_http_image_variant_body_filter;

    return NGX_OK;
}


static ngx_int_t
ngx_http_image_variant_header_filter(ngx_http_request_t *r)
{
    u_char                              buf[NGX_OFF_T_LEN + NGX_TIME_T_LEN
                                            + 2];
    u_char                              reason[NGX_HTTP_IMAGE_VARIANT_REASON];
    ngx_int_t                           rc;
    ngx_str_t                           v;
    ngx_http_image_variant_ctx_t       *ctx;
    ngx_http_image_variant_loc_conf_t  *conf;

    if (r != r->main
        || r->headers_out.status != NGX_HTTP_OK
        || ngx_http_get_module_ctx(r, ngx_http_image_variant_module))
    {
        return ngx_http_next_header_filter(r);
    }

    conf = ngx_http_get_module_loc_conf(r, ngx_http_image_variant_module);

    if (conf->variant == NULL) {
        return ngx_http_next_header_filter(r);
    }

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_image_variant_ctx_t));
    if (ctx == NULL) {
        return NGX_ERROR;
    }

    ctx->request = r;
    ngx_http_set_ctx(r, ctx, ngx_http_image_variant_module);

    rc = ngx_http_image_variant_resolve(r, conf, &ctx->job.params, reason,
                                        sizeof(reason));

    if (rc != NGX_OK) {
        return ngx_http_image_variant_refuse(r, ctx, rc, 1, "%s", reason);
    }

    ctx->job.params.fast_shrink = conf->shrink_on_load;

    if (ngx_http_image_variant_encoded(r, ctx) != NGX_OK) {
        return ngx_http_image_variant_refuse(r, ctx,
                   NGX_HTTP_UNSUPPORTED_MEDIA_TYPE, 1,
                   "the source is encoded (Content-Encoding: %V), "
                   "image_variant needs its bytes as stored "
                   "(with proxy_pass: proxy_set_header Accept-Encoding \"\")",
                   &r->headers_out.content_encoding->value);
    }

    ctx->vary = (ctx->job.params.format == IMAGE_VARIANT_FORMAT_AUTO);

    if (ctx->vary) {
        if (r->headers_in.accept) {
            ctx->job.accept = image_variant_negotiate(
                                  (char *) r->headers_in.accept->value.data,
                                  r->headers_in.accept->value.len);
        }

        if (ngx_http_image_variant_set_vary(r) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    /*
     * The variant's validators are the only ones: nginx's not-modified
     * filter, which would answer with the source's, was turned off for
     * this location (see ngx_http_image_variant_preaccess()).  A source
     * without an ETag or a Last-Modified gets its ETag from its bytes,
     * once they are all here.
     */

    if (ngx_http_image_variant_validator(r, ctx, &v, buf, sizeof(buf))
        == NGX_OK)
    {
        if (ngx_http_image_variant_set_etag(r, ctx, v.data, v.len)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        /* nothing to decode when the client has this very variant */

        if (ngx_http_image_variant_conditional(r, ctx) == NGX_OK) {
            return ngx_http_image_variant_not_modified(r, ctx);
        }

    } else {
        ctx->hash = 1;
    }

    return ngx_http_image_variant_read(r, ctx, conf);
}


/*
 * The body is to be collected: its length checked, its buffer made.
 * HEAD goes through a real render too: its Content-Type and
 * Content-Length are then exactly GET's (the negotiated format may
 * depend on the source's alpha, known only from its pixels).
 */

static ngx_int_t
ngx_http_image_variant_read(ngx_http_request_t *r,
    ngx_http_image_variant_ctx_t *ctx,
    ngx_http_image_variant_loc_conf_t *conf)
{
    off_t  len;

    len = r->headers_out.content_length_n;

    if (len > (off_t) conf->max_input) {
        return ngx_http_image_variant_refuse(r, ctx,
                   NGX_HTTP_REQUEST_ENTITY_TOO_LARGE, 1,
                   "source of %O bytes is larger than "
                   "image_variant_max_input %uz", len, conf->max_input);
    }

    ctx->state = NGX_HTTP_IMAGE_VARIANT_READ;

    if (len > 0) {
        ctx->data = ngx_palloc(r->pool, (size_t) len);
        if (ctx->data == NULL) {
            return NGX_ERROR;
        }

        ctx->last = ctx->data;
        ctx->end = ctx->data + len;
    }

    /* the source must reach the body filter as bytes, whole */
    r->main_filter_need_in_memory = 1;
    r->allow_ranges = 0;

    return NGX_OK;
}


/* the preset (by name, maybe from a variable) and signed parameters */

static ngx_int_t
ngx_http_image_variant_resolve(ngx_http_request_t *r,
    ngx_http_image_variant_loc_conf_t *conf, image_variant_params_t *p,
    u_char *reason, size_t size)
{
    int                               rc, found;
    u_char                           *q;
    char                              err[128];
    ngx_str_t                         name, path;
    ngx_uint_t                        i;
    ngx_http_image_variant_preset_t  *preset;

    if (ngx_http_complex_value(r, conf->variant, &name) != NGX_OK) {
        ngx_cpystrn(reason, (u_char *) "the preset's name failed", size);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    preset = NULL;

    if (conf->presets) {
        preset = conf->presets->elts;

        for (i = 0; i < conf->presets->nelts; i++) {
            if (preset[i].name.len == name.len
                && ngx_strncmp(preset[i].name.data, name.data, name.len) == 0)
            {
                break;
            }
        }

        preset = (i < conf->presets->nelts) ? &preset[i] : NULL;
    }

    if (preset == NULL) {
        *ngx_snprintf(reason, size - 1, "no preset \"%V\"", &name) = '\0';
        return NGX_HTTP_NOT_FOUND;
    }

    *p = preset->params;

    if (!conf->params || r->args.len == 0) {
        return NGX_OK;
    }

    found = 0;

    rc = image_variant_params_query(p, (char *) r->args.data, r->args.len,
                                    &found, err, sizeof(err));

    if (!found) {
        return NGX_OK;
    }

    /* the path exactly as the client sent it, as the app signed it */
    path = r->unparsed_uri;
    q = ngx_strlchr(path.data, path.data + path.len, '?');
    if (q) {
        path.len = q - path.data;
    }

    if (conf->sign_key.len == 0
        || !image_variant_signature_ok(conf->sign_key.data,
                                       conf->sign_key.len,
                                       (char *) path.data, path.len,
                                       (char *) r->args.data, r->args.len))
    {
        ngx_cpystrn(reason, (u_char *) "parameters without a valid signature",
                    size);
        return NGX_HTTP_FORBIDDEN;
    }

    /* signed, yet not valid: the app's mistake, not an attack */
    if (rc != IMAGE_VARIANT_OK) {
        *ngx_snprintf(reason, size - 1, "bad parameters: %s", err) = '\0';
        return NGX_HTTP_BAD_REQUEST;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_image_variant_set_etag(ngx_http_request_t *r,
    ngx_http_image_variant_ctx_t *ctx, u_char *validator, size_t len)
{
    image_variant_etag((char *) validator, len, &ctx->job.params,
                       ctx->job.accept, (char *) ctx->etag);

    return ngx_http_image_variant_etag_header(r, ctx);
}


/* ctx->etag as the response's ETag, replacing the source's */

static ngx_int_t
ngx_http_image_variant_etag_header(ngx_http_request_t *r,
    ngx_http_image_variant_ctx_t *ctx)
{
    ngx_table_elt_t  *h;

    h = r->headers_out.etag;

    if (h == NULL) {
        h = ngx_list_push(&r->headers_out.headers);
        if (h == NULL) {
            return NGX_ERROR;
        }

        ngx_str_set(&h->key, "ETag");
        h->lowcase_key = (u_char *) "etag";
        r->headers_out.etag = h;
    }

    h->hash = 1;
    h->value.data = ctx->etag;
    h->value.len = IMAGE_VARIANT_ETAG_LEN;

    return NGX_OK;
}


static ngx_int_t
ngx_http_image_variant_set_vary(ngx_http_request_t *r)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Vary");
    h->lowcase_key = (u_char *) "vary";
    h->value = ngx_http_image_variant_vary;

    return NGX_OK;
}


/*
 * The source's validator: its ETag, else its Last-Modified and length.
 * NGX_DECLINED when it has neither (a length alone would give every
 * source of that size one tag, and no length at all one tag to all): the
 * tag then comes from the bytes, see ngx_http_image_variant_thread().
 * The source's Last-Modified time is kept for If-Modified-Since (a
 * proxied one is parsed here: upstream parses it only for its cache).
 */

static ngx_int_t
ngx_http_image_variant_validator(ngx_http_request_t *r,
    ngx_http_image_variant_ctx_t *ctx, ngx_str_t *v, u_char *buf,
    size_t size)
{
    time_t            lm;
    ngx_table_elt_t  *h;

    lm = r->headers_out.last_modified_time;
    h = r->headers_out.last_modified;

    if (lm == -1 && h && h->hash) {
        lm = ngx_parse_http_time(h->value.data, h->value.len);
        lm = (lm == NGX_ERROR) ? -1 : lm;
    }

    ctx->last_modified = lm;

    if (r->headers_out.etag && r->headers_out.etag->hash
        && r->headers_out.etag->value.len)
    {
        *v = r->headers_out.etag->value;
        return NGX_OK;
    }

    if (lm == -1) {
        return NGX_DECLINED;
    }

    v->data = buf;
    v->len = ngx_snprintf(buf, size, "%T-%O", lm,
                          r->headers_out.content_length_n)
             - buf;

    return NGX_OK;
}


/*
 * The preconditions of a GET for the variant, by its validators only
 * (RFC 9110, 13.2.2): If-None-Match when present, else If-Modified-Since
 * against the source's Last-Modified, as nginx's if_modified_since
 * directive says (off, exact, before).  NGX_OK: 304.
 */

static ngx_int_t
ngx_http_image_variant_conditional(ngx_http_request_t *r,
    ngx_http_image_variant_ctx_t *ctx)
{
    time_t                     ims;
    ngx_table_elt_t           *h;
    ngx_http_core_loc_conf_t  *clcf;

    if (r->headers_in.if_none_match) {
        return ngx_http_image_variant_etag_matches(r, ctx->etag);
    }

    h = r->headers_in.if_modified_since;

    if (h == NULL || ctx->last_modified == -1) {
        return NGX_DECLINED;
    }

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    if (clcf->if_modified_since == NGX_HTTP_IMS_OFF) {
        return NGX_DECLINED;
    }

    ims = ngx_parse_http_time(h->value.data, h->value.len);

    if (ims == NGX_ERROR) {
        return NGX_DECLINED;
    }

    if (ims == ctx->last_modified
        || (clcf->if_modified_since == NGX_HTTP_IMS_BEFORE
            && ctx->last_modified <= ims))
    {
        return NGX_OK;
    }

    return NGX_DECLINED;
}


/*
 * 304 with the variant's ETag, Last-Modified and Vary, and no
 * Content-Type: the source's (image/jpeg for a WebP variant) would be
 * merged into a cache's stored response (RFC 9111, 4.3.4).
 */

static ngx_int_t
ngx_http_image_variant_not_modified(ngx_http_request_t *r,
    ngx_http_image_variant_ctx_t *ctx)
{
    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "image_variant: not modified, nothing rendered");

    ctx->state = NGX_HTTP_IMAGE_VARIANT_DONE;
    r->buffered &= ~NGX_HTTP_IMAGE_VARIANT_BUFFERED;

    r->headers_out.status = NGX_HTTP_NOT_MODIFIED;
    r->headers_out.status_line.len = 0;

    r->headers_out.content_type.len = 0;
    r->headers_out.content_type.data = NULL;
    r->headers_out.content_type_len = 0;
    r->headers_out.content_type_lowcase = NULL;
    r->headers_out.charset.len = 0;

    ngx_http_clear_content_length(r);
    ngx_http_clear_accept_ranges(r);

    r->header_only = 1;

    return ngx_http_next_header_filter(r);
}


/* a source with a Content-Encoding other than identity */

static ngx_int_t
ngx_http_image_variant_encoded(ngx_http_request_t *r,
    ngx_http_image_variant_ctx_t *ctx)
{
    ngx_table_elt_t  *h;

    h = r->headers_out.content_encoding;

    if (h == NULL || !h->hash || h->value.len == 0
        || (h->value.len == 8
            && ngx_strncasecmp(h->value.data, (u_char *) "identity", 8) == 0))
    {
        return NGX_OK;
    }

    return NGX_DECLINED;
}


/*
 * A refusal: logged once (at image_variant_log_level, 500 at error; not
 * when the edge task has said it already), and answered with its reason
 * as a short text/plain body instead of nginx's stock page, without the
 * source's headers.  Like ngx_http_filter_finalize_request(), from either
 * filter, before the variant's header went out: NGX_ERROR once it is sent
 * (the source's response is dropped), NGX_AGAIN while it is being sent.
 */

static ngx_int_t
ngx_http_image_variant_refuse(ngx_http_request_t *r,
    ngx_http_image_variant_ctx_t *ctx, ngx_uint_t status, ngx_uint_t log,
    const char *fmt, ...)
{
    u_char                             *p, *body;
    size_t                              len;
    va_list                             args;
    ngx_int_t                           rc;
    ngx_buf_t                          *b;
    ngx_uint_t                          level;
    ngx_chain_t                         out;
    ngx_http_image_variant_loc_conf_t  *conf;
    u_char                              reason[NGX_HTTP_IMAGE_VARIANT_REASON];

    va_start(args, fmt);
    p = ngx_vslprintf(reason, reason + sizeof(reason) - 1, fmt, args);
    va_end(args);

    len = p - reason;
    *p = LF;

    conf = ngx_http_get_module_loc_conf(r, ngx_http_image_variant_module);

    if (log) {
        level = (status == NGX_HTTP_INTERNAL_SERVER_ERROR) ? NGX_LOG_ERR
                                                           : conf->log_level;

        ngx_log_error(level, r->connection->log, 0,
                      "image_variant: %ui for source \"%V\": %*s",
                      status, &r->uri, len, reason);
    }

    ctx->state = NGX_HTTP_IMAGE_VARIANT_DONE;
    r->buffered &= ~NGX_HTTP_IMAGE_VARIANT_BUFFERED;

    body = ngx_pnalloc(r->pool, len + 1);
    if (body == NULL) {
        ctx->state = NGX_HTTP_IMAGE_VARIANT_REFUSED;
        return NGX_ERROR;
    }

    ngx_memcpy(body, reason, len + 1);

    ngx_http_clean_header(r);

    r->filter_finalize = 1;
    r->headers_out.status = status;
    ngx_str_set(&r->headers_out.content_type, "text/plain");
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_length_n = len + 1;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        ctx->state = NGX_HTTP_IMAGE_VARIANT_REFUSED;
        return (rc == NGX_OK) ? NGX_ERROR : rc;
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        ctx->state = NGX_HTTP_IMAGE_VARIANT_REFUSED;
        return NGX_ERROR;
    }

    b->pos = body;
    b->last = body + len + 1;
    b->memory = 1;
    b->last_buf = 1;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    rc = ngx_http_output_filter(r, &out);

    ctx->state = NGX_HTTP_IMAGE_VARIANT_REFUSED;

    return (rc == NGX_OK || rc == NGX_DONE) ? NGX_ERROR : rc;
}


static ngx_int_t
ngx_http_image_variant_etag_matches(ngx_http_request_t *r, u_char *etag)
{
    ngx_str_t  *v;

    if (r->headers_in.if_none_match == NULL) {
        return NGX_DECLINED;
    }

    v = &r->headers_in.if_none_match->value;

    return image_variant_etag_listed((char *) v->data, v->len, (char *) etag)
           ? NGX_OK : NGX_DECLINED;
}


static ngx_int_t
ngx_http_image_variant_body_filter(ngx_http_request_t *r, ngx_chain_t *in)
{
    ngx_int_t                           rc;
    ngx_chain_t                        *cl;
    ngx_http_image_variant_ctx_t       *ctx;
    ngx_http_image_variant_loc_conf_t  *conf;

    ctx = ngx_http_get_module_ctx(r, ngx_http_image_variant_module);

    if (ctx == NULL || ctx->state == NGX_HTTP_IMAGE_VARIANT_DONE) {
        return ngx_http_next_body_filter(r, in);
    }

    if (ctx->state == NGX_HTTP_IMAGE_VARIANT_REFUSED) {
        /* the refusal's body went out: the source's goes nowhere */

        for (cl = in; cl; cl = cl->next) {
            cl->buf->pos = cl->buf->last;
            cl->buf->file_pos = cl->buf->file_last;
        }

        return ngx_http_next_body_filter(r, NULL);
    }

    switch (ctx->state) {

    case NGX_HTTP_IMAGE_VARIANT_READ:
        rc = ngx_http_image_variant_collect(r, ctx, in);

        if (rc == NGX_AGAIN) {
            return NGX_OK;
        }

        if (rc == NGX_HTTP_REQUEST_ENTITY_TOO_LARGE) {
            conf = ngx_http_get_module_loc_conf(r,
                                                ngx_http_image_variant_module);

            return ngx_http_image_variant_refuse(r, ctx, rc, 1,
                       "source is larger than image_variant_max_input %uz",
                       conf->max_input);
        }

        if (rc == NGX_HTTP_UNSUPPORTED_MEDIA_TYPE) {
            return ngx_http_image_variant_refuse(r, ctx, rc, 1,
                                                 "empty source");
        }

        if (rc != NGX_OK) {
            return NGX_ERROR;
        }

        return ngx_http_image_variant_post(r, ctx);

    case NGX_HTTP_IMAGE_VARIANT_WORK:
        return NGX_OK;

    default: /* NGX_HTTP_IMAGE_VARIANT_SEND */
        return ngx_http_image_variant_send(r, ctx);
    }
}


/* the whole source, in one buffer; NGX_AGAIN until its end */

static ngx_int_t
ngx_http_image_variant_collect(ngx_http_request_t *r,
    ngx_http_image_variant_ctx_t *ctx, ngx_chain_t *in)
{
    u_char                             *p;
    size_t                              size, have, want;
    ngx_buf_t                          *b;
    ngx_uint_t                          last;
    ngx_chain_t                        *cl;
    ngx_http_image_variant_loc_conf_t  *conf;

    conf = ngx_http_get_module_loc_conf(r, ngx_http_image_variant_module);

    r->buffered |= NGX_HTTP_IMAGE_VARIANT_BUFFERED;
    last = 0;

    for (cl = in; cl; cl = cl->next) {
        b = cl->buf;

        if (b->last_buf || b->last_in_chain) {
            last = 1;
        }

        size = b->last - b->pos;

        if (size == 0) {
            continue;
        }

        have = ctx->last - ctx->data;

        if (size > conf->max_input - have) {
            return NGX_HTTP_REQUEST_ENTITY_TOO_LARGE;
        }

        if ((size_t) (ctx->end - ctx->last) < size) {
            /* no Content-Length: grow by doubling, within the limit */
            want = ngx_min(ngx_max(2 * (have + size), 65536),
                           conf->max_input);

            p = ngx_palloc(r->pool, want);
            if (p == NULL) {
                return NGX_ERROR;
            }

            if (have) {
                ngx_memcpy(p, ctx->data, have);
                (void) ngx_pfree(r->pool, ctx->data);
            }

            ctx->data = p;
            ctx->last = p + have;
            ctx->end = p + want;
        }

        ctx->last = ngx_cpymem(ctx->last, b->pos, size);
        b->pos = b->last;
    }

    if (!last) {
        return NGX_AGAIN;
    }

    if (ctx->last == ctx->data) {
        return NGX_HTTP_UNSUPPORTED_MEDIA_TYPE;
    }

    return NGX_OK;
}


/*
 * A source without validators: the thread made its ETag from its bytes
 * (SHA-256, ~1 ms per MB: never on the event loop) and matched it
 * against If-None-Match before rendering.  Here its header, then the 304
 * if it matched; NGX_DECLINED: send the variant.
 */

static ngx_int_t
ngx_http_image_variant_tagged(ngx_http_request_t *r,
    ngx_http_image_variant_ctx_t *ctx)
{
    if (ngx_http_image_variant_etag_header(r, ctx) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "image_variant: source without validators, "
                   "ETag from its bytes: %*s%s",
                   (size_t) IMAGE_VARIANT_ETAG_LEN, ctx->etag,
                   ctx->not_modified ? ", not modified" : "");

    if (ctx->not_modified) {
        return ngx_http_image_variant_not_modified(r, ctx);
    }

    return NGX_DECLINED;
}


static ngx_int_t
ngx_http_image_variant_post(ngx_http_request_t *r,
    ngx_http_image_variant_ctx_t *ctx)
{
    ngx_pool_cleanup_t                 *cln;
    ngx_http_edge_task_t               *t;
    ngx_http_image_variant_loc_conf_t  *conf;

    conf = ngx_http_get_module_loc_conf(r, ngx_http_image_variant_module);

    ctx->job.data = ctx->data;
    ctx->job.len = ctx->last - ctx->data;

    if (ctx->hash && r->headers_in.if_none_match) {
        ctx->inm = r->headers_in.if_none_match->value;
    }
    ctx->job.max_pixels = conf->max_pixels;
    ctx->job.timeout_ms = conf->timeout;
    ngx_http_image_variant_face_job(&ctx->job, conf->face_models);

    /* the variant is libvips' memory: freed with the request */
    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    cln->handler = ngx_http_image_variant_cleanup;
    cln->data = ctx;

    t = ngx_http_edge_task_alloc(r->pool, 0);
    if (t == NULL) {
        return NGX_ERROR;
    }

    t->task->ctx = ctx;
    t->task->handler = ngx_http_image_variant_thread;
    t->data = ctx;
    t->request = r;
    t->module = "image_variant";
    t->work = "render";
    t->timeout = conf->thread_timeout;
    t->done = ngx_http_image_variant_thread_done;
    t->expire = ngx_http_image_variant_expire;
    t->ended = ngx_http_image_variant_render_ended;

    if (ngx_http_edge_task_post(t, conf->thread_pool, &conf->thread_pool_name)
        != NGX_OK)
    {
        /* logged by the edge task */
        return ngx_http_image_variant_refuse(r, ctx,
                                             NGX_HTTP_SERVICE_UNAVAILABLE, 0,
                                             "the render queue is full");
    }

    ctx->state = NGX_HTTP_IMAGE_VARIANT_WORK;

    ngx_http_image_variant_render_started(conf->thread_pool);

    return NGX_OK;
}


/*
 * In a thread: only the job, never the request.  A render is CPU work
 * that can take every core: the thread runs at nice +10.
 */

static void
ngx_http_image_variant_thread(void *data, ngx_log_t *log)
{
    ngx_http_image_variant_ctx_t *ctx = data;

    u_char    v[IMAGE_VARIANT_CONTENT_LEN];
    uint64_t  start;

    ngx_http_edge_nice(log);

    if (ctx->hash) {
        image_variant_content_validator(ctx->job.data, ctx->job.len,
                                        (char *) v);
        image_variant_etag((char *) v, sizeof(v), &ctx->job.params,
                           ctx->job.accept, (char *) ctx->etag);

        if (ctx->inm.len
            && image_variant_etag_listed((char *) ctx->inm.data,
                                         ctx->inm.len, (char *) ctx->etag))
        {
            /* the client has this very variant: nothing to render */
            ctx->not_modified = 1;
            return;
        }
    }

    start = ngx_http_edge_metrics_start();
    image_variant_render(&ctx->job);
    ngx_http_edge_metrics_observe(EDGE_METRICS_IMAGE_RENDER, start);
}


/* on the event loop, the request alive (see ngx_http_edge_task.h) */

static void
ngx_http_image_variant_thread_done(void *data)
{
    ngx_http_image_variant_ctx_t *ctx = data;

    ngx_http_request_t  *r;

    r = ctx->request;

    ctx->state = NGX_HTTP_IMAGE_VARIANT_SEND;

    if (ctx->job.params.gravity == IMAGE_VARIANT_GRAVITY_FACE
        && ctx->job.out_crop[2])
    {
        ngx_log_debug7(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "image_variant: gravity=face: %d faces, %ui us "
                       "(CPU %ui us), window at %d,%d of %dx%d",
                       ctx->job.out_faces,
                       (ngx_uint_t) (ctx->job.ms_faces * 1000),
                       (ngx_uint_t) (ctx->job.cpu_faces * 1000),
                       ctx->job.out_crop[0], ctx->job.out_crop[1],
                       ctx->job.out_crop[2], ctx->job.out_crop[3]);
    }

    r->write_event_handler(r);
}


/*
 * The thread is done with the render, whatever became of the request
 * (answered, gone, or answered by the watchdog): the last render of a
 * busy period arms the heap trim.
 */

static void
ngx_http_image_variant_render_ended(void *data)
{
    ngx_http_image_variant_render_done();
}


/*
 * The watchdog expired: the render goes on in its thread, owning the
 * job; the filter answers 503 through its usual path without it.
 */

static void
ngx_http_image_variant_expire(void *data)
{
    ngx_http_image_variant_ctx_t *ctx = data;

    ngx_http_request_t  *r;

    r = ctx->request;

    ctx->expired = 1;
    ctx->state = NGX_HTTP_IMAGE_VARIANT_SEND;

    r->write_event_handler(r);
}


ngx_uint_t
ngx_http_image_variant_status(int job_status)
{
    switch (job_status) {

    case IMAGE_VARIANT_E_TOO_LARGE:
        return NGX_HTTP_REQUEST_ENTITY_TOO_LARGE;

    case IMAGE_VARIANT_E_NOT_IMAGE:
        return NGX_HTTP_UNSUPPORTED_MEDIA_TYPE;

    case IMAGE_VARIANT_E_TIMEOUT:
        return NGX_HTTP_SERVICE_UNAVAILABLE;

    default:
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
}


static ngx_int_t
ngx_http_image_variant_send(ngx_http_request_t *r,
    ngx_http_image_variant_ctx_t *ctx)
{
    ngx_int_t             rc;
    ngx_buf_t            *b;
    ngx_uint_t            status;
    ngx_chain_t           out;
    image_variant_job_t  *job;

    job = &ctx->job;
    ctx->state = NGX_HTTP_IMAGE_VARIANT_DONE;
    r->buffered &= ~NGX_HTTP_IMAGE_VARIANT_BUFFERED;

    if (ctx->expired) {
        /* the job is still the thread's: not a byte of it is read */
        return ngx_http_image_variant_refuse(r, ctx,
                   NGX_HTTP_SERVICE_UNAVAILABLE, 0,
                   "the render outlasted image_variant_thread_timeout");
    }

    if (ctx->hash) {
        rc = ngx_http_image_variant_tagged(r, ctx);

        if (rc != NGX_DECLINED) {
            return rc;
        }
    }

    if (job->status != IMAGE_VARIANT_DONE) {
        status = ngx_http_image_variant_status(job->status);

        return ngx_http_image_variant_refuse(r, ctx, status, 1, "%s",
                                             job->error);
    }

    r->headers_out.content_type.data =
                                 (u_char *) image_variant_mime(job->out_format);
    r->headers_out.content_type.len =
                                 ngx_strlen(r->headers_out.content_type.data);
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_type_lowcase = NULL;
    r->headers_out.charset.len = 0;

    r->headers_out.content_length_n = job->out_len;

    if (r->headers_out.content_length) {
        r->headers_out.content_length->hash = 0;
        r->headers_out.content_length = NULL;
    }

    if (r->headers_out.content_encoding) {
        r->headers_out.content_encoding->hash = 0;
        r->headers_out.content_encoding = NULL;
    }

    rc = ngx_http_next_header_filter(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_ERROR;
    }

    b->pos = job->out;
    b->last = b->pos + job->out_len;
    b->memory = 1;
    b->last_buf = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_next_body_filter(r, &out);
}


static void
ngx_http_image_variant_cleanup(void *data)
{
    ngx_http_image_variant_ctx_t *ctx = data;

    if (ctx->job.out) {
        image_variant_free(ctx->job.out);
        ctx->job.out = NULL;
    }
}


/*
 * nginx's not-modified filter runs before this one: in a location that
 * makes variants it would answer If-Modified-Since (or an If-None-Match
 * with the source's ETag) with a 304 of its own, carrying the source's
 * ETag and no Vary.  Off here: the header filter answers preconditions
 * with the variant's validators.
 */

static ngx_int_t
ngx_http_image_variant_preaccess(ngx_http_request_t *r)
{
    ngx_http_image_variant_loc_conf_t  *conf;

    conf = ngx_http_get_module_loc_conf(r, ngx_http_image_variant_module);

    if (conf->variant) {
        r->disable_not_modified = 1;
    }

    return NGX_DECLINED;
}
