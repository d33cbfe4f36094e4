
/*
 * ngx_http_image_ingest_module: the bucket store,
 *
 *     s3_bucket photos { endpoint ...; bucket ...; credentials ...; }
 *     image_ingest_store  s3://photos/img/;
 *
 * The same transaction as a local store's, over S3 requests made in the
 * upload's thread-pool task with libcurl (the project's one outbound
 * client, ngx_http_edge_curl_request()), each signed by edge_s3.c and
 * limited by image_ingest_s3_timeout:
 *
 *   exists   HEAD <prefix><rel>: 200 is there, 404 is not; any other
 *            answer (a HEAD's has no body) is asked again as a GET of
 *            its first byte, whose error document names the error
 *   stage    a variant or the metadata: PUT, with Content-MD5, at once;
 *            the original: kept for the commit
 *   commit   PUT of the original with "If-None-Match: *" and
 *            Content-MD5, after every other PUT succeeded: the commit
 *            record.  412: another node stored the same bytes first, a
 *            duplicate (200)
 *   end      nothing: an upload never deletes (a variant in the bucket
 *            may be another node's, whose original is on its way)
 *
 * A flagged image (image_ingest_moderation flag) goes, with its variants
 * and metadata, under <prefix>quarantine/, in the same order.
 *
 * No lock: uploads of the same bytes on several nodes (or on one) race
 * to the original's conditional PUT; their variants are the same bytes.
 * A node that dies mid-upload leaves variants and metadata without an
 * original: scripts/image-ingest-s3-sweep removes them.
 *
 * Errors: the bucket unreachable, a 5xx, a 403: 502 to the client, and
 * one [error] with the method, the bucket and key, the status and the
 * S3 error code (SignatureDoesNotMatch, RequestTimeTooSkewed...); never
 * a credential.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <curl/curl.h>

#include "edge_s3.h"
#include "edge_sigv4.h"
#include "image_ingest_s3.h"
#include "ngx_http_edge_curl.h"
#include "ngx_http_edge_s3.h"
#include "ngx_http_image_ingest.h"


/* the signer's scratch memory per request: URLs, headers, the token */
#define NGX_HTTP_IMAGE_INGEST_S3_ARENA  (32 * 1024)

/* an answer's body is an error document at most: read so much of it */
#define NGX_HTTP_IMAGE_INGEST_S3_MAX_BODY  (64 * 1024)


struct ngx_http_image_ingest_s3_s {
    edge_s3_target_t                  target;     /* the event loop's copy */
    CURL                             *curl;       /* the thread's */

    /* the original, staged for the commit */
    const void                       *original;
    size_t                            original_len;
    unsigned                          staged:1;
    unsigned                          answered:1;  /* the last request */

    /* a bump allocator for the signer, reset per request */
    u_char                           *arena;
    size_t                            used;
};


static ngx_int_t ngx_http_image_ingest_s3_begin(
    ngx_http_image_ingest_ctx_t *ctx);
static ngx_int_t ngx_http_image_ingest_s3_exists(
    ngx_http_image_ingest_ctx_t *ctx, const char *rel);
static ngx_int_t ngx_http_image_ingest_s3_stage(
    ngx_http_image_ingest_ctx_t *ctx, const char *rel, const void *data,
    size_t len);
static ngx_int_t ngx_http_image_ingest_s3_commit(
    ngx_http_image_ingest_ctx_t *ctx);
static void ngx_http_image_ingest_s3_end(ngx_http_image_ingest_ctx_t *ctx);
static ngx_int_t ngx_http_image_ingest_s3_request(
    ngx_http_image_ingest_ctx_t *ctx, const char *method, const char *rel,
    const void *data, size_t len, ngx_uint_t conditional);
static void *ngx_http_image_ingest_s3_alloc(void *data, size_t size);
static void ngx_http_image_ingest_s3_cleanup(void *data);


const ngx_http_image_ingest_store_t  ngx_http_image_ingest_s3 = {
    ngx_http_image_ingest_s3_begin,
    ngx_http_image_ingest_s3_exists,
    ngx_http_image_ingest_s3_stage,
    ngx_http_image_ingest_s3_commit,
    ngx_http_image_ingest_s3_end
};


/* ------------------------------------------------------------------------
 * the configuration
 */


/* image_ingest_store s3://<bucket>/<prefix>: its s3_bucket, found now */

char *
ngx_http_image_ingest_s3_resolve(ngx_conf_t *cf,
    ngx_http_image_ingest_loc_conf_t *conf)
{
    char                         err[256];
    ngx_str_t                    name;
    image_ingest_s3_location_t  *loc;

    loc = ngx_pcalloc(cf->pool, sizeof(image_ingest_s3_location_t));
    if (loc == NULL) {
        return NGX_CONF_ERROR;
    }

    if (image_ingest_s3_parse((char *) conf->store.data, conf->store.len,
                              loc, err, sizeof(err))
        != 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "image_ingest_store \"%V\": %s", &conf->store,
                           err);
        return NGX_CONF_ERROR;
    }

    name.data = (u_char *) loc->bucket;
    name.len = ngx_strlen(loc->bucket);

    /* NULL: logged (no such s3_bucket, the s3 module not loaded) */

    conf->s3 = ngx_http_edge_s3_bucket_find(cf, &name);

    if (conf->s3 == NULL) {
        return NGX_CONF_ERROR;
    }

    conf->s3_location = loc;
    conf->backend = &ngx_http_image_ingest_s3;

    return NGX_CONF_OK;
}


/* ------------------------------------------------------------------------
 * the event loop
 */


/* before the body is read: the state, freed with the request */

ngx_int_t
ngx_http_image_ingest_s3_init(ngx_http_request_t *r,
    ngx_http_image_ingest_ctx_t *ctx)
{
    ngx_pool_cleanup_t          *cln;
    ngx_http_image_ingest_s3_t  *s3;

    s3 = ngx_pcalloc(r->pool, sizeof(ngx_http_image_ingest_s3_t));
    if (s3 == NULL) {
        return NGX_ERROR;
    }

    s3->arena = ngx_palloc(r->pool, NGX_HTTP_IMAGE_INGEST_S3_ARENA);
    if (s3->arena == NULL) {
        return NGX_ERROR;
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    cln->handler = ngx_http_image_ingest_s3_cleanup;
    cln->data = s3;

    ctx->s3 = s3;

    return NGX_OK;
}


/*
 * Before the task is first posted: the bucket's endpoint and the
 * credentials as they are now (the file is re-read when it changes), a
 * plain copy the thread keeps for the upload.
 */

ngx_int_t
ngx_http_image_ingest_s3_prepare(ngx_http_request_t *r,
    ngx_http_image_ingest_ctx_t *ctx)
{
    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "image_ingest: storing into s3://%s/%s",
                   ctx->conf->s3_location->bucket,
                   ctx->conf->s3_location->prefix);

    /* NGX_ERROR: the pool is exhausted */

    return ngx_http_edge_s3_target(ctx->conf->s3, r->pool,
                                   r->connection->log, &ctx->s3->target);
}


/*
 * Before an archive's next entry (the task not running): the credentials
 * as they are now, so that a long archive outlives a rotation of
 * temporary ones (the file is re-read at most once a second)
 */

void
ngx_http_image_ingest_s3_renew(ngx_http_request_t *r,
    ngx_http_image_ingest_ctx_t *ctx)
{
    ngx_http_edge_s3_bucket_t  *b;

    b = ctx->conf->s3;

    (void) ngx_http_edge_s3_refresh(b, r->connection->log, 0);

    if (b->creds) {
        ctx->s3->target.credentials = *b->creds;
    }
}


static void
ngx_http_image_ingest_s3_cleanup(void *data)
{
    ngx_http_image_ingest_s3_t  *s3 = data;

    if (s3->curl) {
        curl_easy_cleanup(s3->curl);
        s3->curl = NULL;
    }

    /* the credentials, and the signer's copies of the token */

    ngx_explicit_memzero(&s3->target.credentials,
                         sizeof(edge_s3_credentials_t));
    ngx_explicit_memzero(s3->arena, NGX_HTTP_IMAGE_INGEST_S3_ARENA);
}


/* ------------------------------------------------------------------------
 * the thread
 */


static ngx_int_t
ngx_http_image_ingest_s3_begin(ngx_http_image_ingest_ctx_t *ctx)
{
    ngx_http_image_ingest_s3_t  *s3;

    s3 = ctx->s3;

    s3->staged = 0;
    s3->original = NULL;
    s3->original_len = 0;

    /* one handle for the upload (an archive's entries): its connections */

    if (s3->curl == NULL) {
        s3->curl = curl_easy_init();

        if (s3->curl == NULL) {
            *ngx_snprintf((u_char *) ctx->err, sizeof(ctx->err) - 1,
                          "store: curl_easy_init() failed") = '\0';
            ctx->status = NGX_HTTP_INTERNAL_SERVER_ERROR;
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_image_ingest_s3_exists(ngx_http_image_ingest_ctx_t *ctx,
    const char *rel)
{
    ngx_int_t  rc;

    rc = ngx_http_image_ingest_s3_request(ctx, "HEAD", rel, NULL, 0, 0);

    /*
     * a HEAD's error has no body to name it: asked again as a GET (the
     * HEAD is the fast one: 4 ms on RGW here, a GET of a range 48 ms)
     */

    if (rc == NGX_ERROR && ctx->s3->answered) {
        rc = ngx_http_image_ingest_s3_request(ctx, "GET", rel, NULL, 0, 0);
    }

    return rc;
}


static ngx_int_t
ngx_http_image_ingest_s3_stage(ngx_http_image_ingest_ctx_t *ctx,
    const char *rel, const void *data, size_t len)
{
    ngx_http_image_ingest_s3_t  *s3;

    s3 = ctx->s3;

    if (ngx_strcmp(rel, ctx->original) == 0) {
        s3->original = data;
        s3->original_len = len;
        s3->staged = 1;
        return NGX_OK;
    }

    return ngx_http_image_ingest_s3_request(ctx, "PUT", rel, data, len, 0);
}


static ngx_int_t
ngx_http_image_ingest_s3_commit(ngx_http_image_ingest_ctx_t *ctx)
{
    ngx_http_image_ingest_s3_t  *s3;

    s3 = ctx->s3;

    if (!s3->staged) {
        return NGX_OK;      /* a duplicate: only variants it lacked */
    }

    return ngx_http_image_ingest_s3_request(ctx, "PUT", ctx->original,
                                            s3->original, s3->original_len,
                                            1);
}


static void
ngx_http_image_ingest_s3_end(ngx_http_image_ingest_ctx_t *ctx)
{
    ctx->s3->staged = 0;
    ctx->s3->original = NULL;
}


/*
 * One request for <prefix><rel>: a HEAD, a GET of its first byte, or a
 * PUT (conditional: the commit).  NGX_OK: stored, or it exists;
 * NGX_DECLINED: a HEAD's or GET's 404, a conditional PUT's 412;
 * NGX_ERROR: ctx->status 502 (500 for our own failures) and ctx->err.
 */

static ngx_int_t
ngx_http_image_ingest_s3_request(ngx_http_image_ingest_ctx_t *ctx,
    const char *method, const char *rel, const void *data, size_t len,
    ngx_uint_t conditional)
{
    char                          key[IMAGE_INGEST_S3_KEY_LEN];
    char                          name[IMAGE_INGEST_REL_LEN
                                       + sizeof(IMAGE_INGEST_S3_QUARANTINE)];
    char                          md5[IMAGE_INGEST_S3_MD5_LEN + 1];
    char                          sha[65];
    char                          code[64];
    char                          err[EDGE_S3_ERR_LEN];
    char                          what[IMAGE_INGEST_S3_KEY_LEN + 96];
    char                          line[EDGE_S3_MAX_TOKEN + 64];
    ngx_int_t                     rc;
    ngx_uint_t                    i, n, put;
    struct curl_slist            *headers, *h;
    edge_s3_signed_t              out;
    edge_s3_request_t             req;
    edge_sigv4_alloc_t            a;
    edge_sigv4_header_t           extra[3];
    ngx_http_image_ingest_s3_t   *s3;
    ngx_http_edge_curl_policy_t   policy;
    ngx_http_edge_curl_request_t  rq;
    image_ingest_s3_outcome_e     outcome;

    s3 = ctx->s3;
    put = (method[0] == 'P');
    s3->answered = 0;

    /* a flagged image (image_ingest_moderation flag): all of it there */

    if (ctx->quarantined) {
        *ngx_snprintf((u_char *) name, sizeof(name) - 1, "%s%s",
                      IMAGE_INGEST_S3_QUARANTINE, rel) = '\0';
        rel = name;
    }

    if (image_ingest_s3_key(ctx->conf->s3_location, rel, key, sizeof(key))
        != 0)
    {
        *ngx_snprintf((u_char *) ctx->err, sizeof(ctx->err) - 1,
                      "store: the key of \"%s\" is too long", rel) = '\0';
        ctx->status = NGX_HTTP_INTERNAL_SERVER_ERROR;
        return NGX_ERROR;
    }

    /* signed: the body's hash, and what a PUT says about it */

    n = 0;

    if (put) {
        image_ingest_s3_content_md5(data, len, md5);
        edge_sigv4_sha256_hex(data, len, sha);

        extra[n].name.data = "Content-MD5";
        extra[n].name.len = sizeof("Content-MD5") - 1;
        extra[n].value.data = md5;
        extra[n].value.len = IMAGE_INGEST_S3_MD5_LEN;
        n++;

        extra[n].name.data = "Content-Type";
        extra[n].name.len = sizeof("Content-Type") - 1;
        extra[n].value.data = image_ingest_s3_content_type(rel);
        extra[n].value.len = ngx_strlen(extra[n].value.data);
        n++;

        if (conditional) {
            extra[n].name.data = "If-None-Match";
            extra[n].name.len = sizeof("If-None-Match") - 1;
            extra[n].value.data = "*";
            extra[n].value.len = 1;
            n++;
        }

    } else {
        ngx_memcpy(sha, EDGE_SIGV4_EMPTY_SHA256, 65);
    }

    ngx_memzero(&req, sizeof(edge_s3_request_t));

    req.method.data = method;
    req.method.len = ngx_strlen(method);
    req.key.data = key;
    req.key.len = ngx_strlen(key);
    req.headers = extra;
    req.nheaders = n;
    req.payload_hash.data = sha;
    req.payload_hash.len = 64;
    req.time = (int64_t) time(NULL);

    s3->used = 0;
    a.alloc = ngx_http_image_ingest_s3_alloc;
    a.ctx = s3;

    if (edge_s3_sign(&s3->target, &req, &a, &out, err, sizeof(err))
        != EDGE_S3_OK)
    {
        *ngx_snprintf((u_char *) ctx->err, sizeof(ctx->err) - 1,
                      "store: %s s3://%s/%s: signing failed: %s", method,
                      ctx->conf->s3_location->bucket, key, err) = '\0';
        ctx->status = NGX_HTTP_INTERNAL_SERVER_ERROR;
        return NGX_ERROR;
    }

    /* the headers signed, as signed; "Expect:": no wait for a 100 */

    headers = NULL;
    rc = NGX_ERROR;

#define ngx_http_image_ingest_s3_header(...)                                  \
    *ngx_snprintf((u_char *) line, sizeof(line) - 1, __VA_ARGS__) = '\0';     \
    h = curl_slist_append(headers, line);                                     \
    if (h == NULL) {                                                          \
        goto nomem;                                                           \
    }                                                                         \
    headers = h;

    ngx_http_image_ingest_s3_header("Host: %s", out.host.data);
    ngx_http_image_ingest_s3_header("X-Amz-Date: %s", out.amz_date);
    ngx_http_image_ingest_s3_header("X-Amz-Content-Sha256: %s",
                                    out.payload_hash.data);

    if (out.token.len) {
        ngx_http_image_ingest_s3_header("X-Amz-Security-Token: %s",
                                        out.token.data);
    }

    ngx_http_image_ingest_s3_header("Authorization: %s",
                                    out.authorization.data);

    for (i = 0; i < n; i++) {
        ngx_http_image_ingest_s3_header("%*s: %*s",
                                        extra[i].name.len,
                                        extra[i].name.data,
                                        extra[i].value.len,
                                        extra[i].value.data);
    }

    if (put) {
        ngx_http_image_ingest_s3_header("Expect:");

    } else if (method[0] == 'G') {
        ngx_http_image_ingest_s3_header("Range: bytes=0-0");
    }

#undef ngx_http_image_ingest_s3_header

    /*
     * The operator's endpoint, not a user's URL: no address guard, no
     * redirect (S3 answers a wrong region with one: a failure)
     */

    ngx_memzero(&policy, sizeof(ngx_http_edge_curl_policy_t));
    policy.timeout_ms = (long) ctx->conf->s3_timeout;

    /* a HEAD's Content-Length is the object's: libcurl would refuse it */
    policy.max_size = (method[0] == 'H') ? 0
                                         : NGX_HTTP_IMAGE_INGEST_S3_MAX_BODY;
    policy.size_name = "an S3 answer's body";
    policy.user_agent = "photo-edge image_ingest";

    /* "<method> s3://<bucket>/<key>", the head of any message */

    *ngx_snprintf((u_char *) what, sizeof(what) - 1, "%s s3://%s/%s",
                  method, ctx->conf->s3_location->bucket, key) = '\0';

    ngx_memzero(&rq, sizeof(ngx_http_edge_curl_request_t));
    rq.policy = &policy;
    rq.what = what;
    rq.url = out.url.data;
    rq.method = method;
    rq.headers = headers;
    rq.error_body = 1;
    rq.expected = conditional ? 412 : (put ? 0 : 404);

    if (put) {
        /* libcurl sends no body for an empty POSTFIELDS pointer: "" */
        rq.body = len ? data : "";
        rq.body_len = len;
    }

    if (ngx_http_edge_curl_request(s3->curl, &rq)
        != NGX_HTTP_EDGE_CURL_RESPONSE)
    {
        *ngx_snprintf((u_char *) ctx->err, sizeof(ctx->err) - 1, "store: %s",
                      rq.err) = '\0';
        ctx->status = NGX_HTTP_BAD_GATEWAY;
        goto done;
    }

    s3->answered = 1;

    outcome = image_ingest_s3_outcome(rq.status, conditional);

    /* a read of an empty object: there, and not rangeable */

    if (!put && rq.status == 416) {
        outcome = IMAGE_INGEST_S3_DONE;
    }

    switch (outcome) {

    case IMAGE_INGEST_S3_DONE:
        rc = NGX_OK;
        break;

    case IMAGE_INGEST_S3_MISSING:
    case IMAGE_INGEST_S3_EXISTS:
        rc = NGX_DECLINED;
        break;

    default: /* DENIED, FAILED */
        code[0] = '\0';
        (void) edge_s3_error_code(rq.error, rq.error_len, code,
                                  sizeof(code));

        *ngx_snprintf((u_char *) ctx->err, sizeof(ctx->err) - 1,
                      "store: %s: HTTP %l%s%s", what, rq.status,
                      code[0] ? " " : "", code) = '\0';
        ctx->status = NGX_HTTP_BAD_GATEWAY;
        break;
    }

    goto done;

nomem:

    *ngx_snprintf((u_char *) ctx->err, sizeof(ctx->err) - 1,
                  "store: out of memory") = '\0';
    ctx->status = NGX_HTTP_INTERNAL_SERVER_ERROR;

done:

    /* the signature and the token were in the lines: not kept */

    curl_slist_free_all(headers);
    ngx_explicit_memzero(line, sizeof(line));

    return rc;
}


static void *
ngx_http_image_ingest_s3_alloc(void *data, size_t size)
{
    ngx_http_image_ingest_s3_t  *s3 = data;

    u_char  *p;

    size = ngx_align(size, sizeof(void *));

    if (size > NGX_HTTP_IMAGE_INGEST_S3_ARENA - s3->used) {
        return NULL;
    }

    p = s3->arena + s3->used;
    s3->used += size;

    return p;
}
