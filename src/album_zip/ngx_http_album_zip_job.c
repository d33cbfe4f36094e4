
/*
 * ngx_http_album_zip_module: the serverless "zipper" contract.
 *
 *     location = /2015-03-31/functions/zipper/invocations {
 *         album_zip_job;
 *     }
 *
 * POST {"upload_url": "...", "token": "...", "sources": ["...", ...]}
 * downloads the sources, zips them (stored, no compression) and uploads
 * the zip as the "file" field of a multipart/form-data POST to
 * upload_url.  The answers are Lambda's (src/edge/ngx_http_edge_invoke.h):
 * RequestResponse (the default) 200 {"statusCode": 200, "body":
 * "{\"message\": \"Images zipped and uploaded\"}"} when done, and 200
 * with X-Amz-Function-Error when a source or the upload failed or the
 * payload is refused: never a 5xx for the job's own failure, which the
 * SDKs would retry, uploading the zip again.  "X-Amz-Invocation-Type:
 * Event" answers 202 at once and runs the job in the background; "DryRun"
 * only validates (204); a full queue is 429 TooManyRequestsException.
 *
 * All libcurl work runs in one thread-pool task per job.  The thread sees
 * only its task context, filled before the task is posted: the strings
 * it needs are copied there, the member entries are allocated there, and
 * it reports back through ctx->status and ctx->err.  Sources are
 * downloaded one after another into a single unlinked temporary file (one
 * descriptor per job, whatever the number of sources) while their CRC-32
 * is computed; the archive is then laid out with every CRC known and
 * produced on the fly by the upload's read callback: headers from the
 * entry table, member data from the temporary file.  Memory does not
 * depend on the album's size: libcurl's buffers and one entry per source.
 *
 * The SSRF guard, on every outbound request (sources, every redirect a
 * source download follows, and the upload) applies the face jobs' address
 * policy (src/edge/core/edge_net.c): unless album_zip_job_allow_private is
 * on, a loopback, private, link-local, unspecified, multicast or reserved
 * address is refused, in any spelling ("127.1", "0x7f000001",
 * "[::ffff:127.0.0.1]", NAT64...).  Address literals in the payload are
 * refused before the job starts (400); the shared client
 * (src/edge/ngx_http_edge_curl.c) follows at most 5 redirects by hand and
 * refuses a Location naming one before it is requested; and it checks
 * the address of every connection libcurl opens, whatever name led
 * there.  Only http and https, redirects included; no proxy from the
 * environment (it would be an address nobody checked).
 *
 * album_zip_allow, when set, narrows that further: every source, every
 * redirect, and upload_url must start with one of its prefixes (see
 * album_zip_job_allowed(): no dot segments, no encoded slashes).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_album_zip.h"
#include "ngx_http_album_zip_job.h"
#include "ngx_http_edge_invoke.h"
#include "ngx_http_edge_json.h"
#include "ngx_http_edge_task.h"
#include "album_zip_format.h"
#include "album_zip_names.h"
#include "album_zip_job.h"
#include "edge_net.h"


#define NGX_HTTP_ALBUM_ZIP_JOB_REDIRECTS 5

/* the real function's success payload */
#define NGX_HTTP_ALBUM_ZIP_JOB_RESULT                                         \
    "{\"statusCode\": 200, \"body\": "                                        \
    "\"{\\\"message\\\": \\\"Images zipped and uploaded\\\"}\"}"


static void ngx_http_album_zip_job_body(ngx_http_request_t *r);
static ngx_int_t ngx_http_album_zip_job_start(ngx_http_request_t *r);
static ngx_uint_t ngx_http_album_zip_job_check(ngx_http_request_t *r,
    album_zip_job_payload_t *payload, ngx_pool_t *pool,
    album_zip_job_str_t **allow, ngx_uint_t *internal, char *err,
    size_t size);
static ngx_int_t ngx_http_album_zip_job_allowed(
    album_zip_job_payload_t *payload, album_zip_job_str_t *allow,
    size_t nallow, char *err, size_t size);
static ngx_int_t ngx_http_album_zip_job_public(
    album_zip_job_payload_t *payload, char *err, size_t size);
static ngx_int_t ngx_http_album_zip_job_post(ngx_http_request_t *r,
    ngx_http_edge_task_t *t, ngx_pool_t *pool, ngx_uint_t mode);
static ngx_int_t ngx_http_album_zip_job_refuse(ngx_http_request_t *r,
    ngx_pool_t *pool, ngx_uint_t mode, ngx_uint_t status,
    ngx_uint_t internal, const char *err);
static ngx_int_t ngx_http_album_zip_job_prepare(ngx_http_request_t *r,
    ngx_http_album_zip_job_ctx_t *ctx, album_zip_job_payload_t *payload,
    album_zip_job_str_t *allow, ngx_pool_t *pool);
static album_zip_job_str_t *ngx_http_album_zip_job_allow(ngx_pool_t *pool,
    ngx_array_t *allow);
static void *ngx_http_album_zip_job_alloc(void *ctx, size_t size);
static void ngx_http_album_zip_job_done(void *data);
static void ngx_http_album_zip_job_late(void *data);
static void ngx_http_album_zip_job_expire(void *data);
static void ngx_http_album_zip_job_log(ngx_http_album_zip_job_ctx_t *ctx,
    ngx_log_t *log);


/* ------------------------------------------------------------------------
 * the event loop
 */


ngx_int_t
ngx_http_album_zip_job_handler(ngx_http_request_t *r)
{
    ngx_int_t  rc;

    /* every answer of ours carries it, the 405 too */

    if (ngx_http_edge_invoke_request_id(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (!(r->method & NGX_HTTP_POST)) {
        return ngx_http_edge_not_allowed(r, "POST",
                                         "method: must be POST");
    }

    rc = ngx_http_read_client_request_body(r, ngx_http_album_zip_job_body);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}


static void
ngx_http_album_zip_job_body(ngx_http_request_t *r)
{
    ngx_int_t  rc;

    rc = ngx_http_album_zip_job_start(r);

    if (rc == NGX_DONE) {
        /* a synchronous job: its completion handler finalizes */
        return;
    }

    ngx_http_finalize_request(r, rc);
}


static ngx_int_t
ngx_http_album_zip_job_start(ngx_http_request_t *r)
{
    int                             rc;
    char                            err[ALBUM_ZIP_JOB_ERR_LEN];
    ngx_str_t                       body;
    ngx_uint_t                      mode, status, internal;
    ngx_pool_t                     *pool;
    album_zip_alloc_t               hooks;
    ngx_http_edge_task_t           *t;
    album_zip_job_str_t            *allow;
    album_zip_job_payload_t         payload;
    ngx_http_core_loc_conf_t       *clcf;
    ngx_http_album_zip_job_ctx_t   *ctx;
    ngx_http_album_zip_loc_conf_t  *azlcf;

    azlcf = ngx_http_get_module_loc_conf(r, ngx_http_album_zip_module);
    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    internal = 0;

    /* without the header: RequestResponse, as Lambda does */

    mode = ngx_http_edge_invoke_type(r, NGX_HTTP_EDGE_INVOKE_SYNC);

    if (mode == NGX_HTTP_EDGE_INVOKE_BAD) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "album_zip job: bad X-Amz-Invocation-Type");

        return ngx_http_edge_invoke_error(r, NGX_HTTP_BAD_REQUEST,
                   "InvalidParameterValueException",
                   "X-Amz-Invocation-Type: must be RequestResponse, Event "
                   "or DryRun");
    }

    if (ngx_http_edge_invoke_body(r, &body, 0, "album_zip job") != NGX_OK) {
        return ngx_http_edge_invoke_error(r, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                          "ServiceException",
                                          "the request body could not be "
                                          "read");
    }

    /* a background job owns a pool that outlives the request */

    if (mode == NGX_HTTP_EDGE_INVOKE_EVENT) {
        pool = ngx_create_pool(NGX_DEFAULT_POOL_SIZE, clcf->error_log);
        if (pool == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

    } else {
        pool = r->pool;
    }

    hooks.alloc = ngx_http_album_zip_job_alloc;
    hooks.ctx = pool;

    rc = album_zip_job_parse((char *) body.data, body.len, azlcf->max_files,
                             &hooks, &payload, err, sizeof(err));

    if (rc != ALBUM_ZIP_JOB_OK) {
        status = (rc == ALBUM_ZIP_JOB_ENOMEM)
                 ? NGX_HTTP_INTERNAL_SERVER_ERROR : NGX_HTTP_BAD_REQUEST;
        goto failed;
    }

    status = ngx_http_album_zip_job_check(r, &payload, pool, &allow,
                                          &internal, err, sizeof(err));
    if (status) {
        goto failed;
    }

    if (mode == NGX_HTTP_EDGE_INVOKE_DRYRUN) {
        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "album_zip job: dry run, answered 204");

        return ngx_http_edge_invoke_result(r, mode, NULL, 0);
    }

    t = ngx_http_edge_task_alloc(pool, sizeof(ngx_http_album_zip_job_ctx_t));
    if (t == NULL) {
        goto nomem;
    }

    ctx = t->data;

    if (ngx_http_album_zip_job_prepare(r, ctx, &payload, allow, pool)
        != NGX_OK)
    {
        goto nomem;
    }

    return ngx_http_album_zip_job_post(r, t, pool, mode);

nomem:

    status = NGX_HTTP_INTERNAL_SERVER_ERROR;
    ngx_cpystrn((u_char *) err, (u_char *) "out of memory", sizeof(err));

failed:

    return ngx_http_album_zip_job_refuse(r, pool, mode, status, internal,
                                         err);
}


/*
 * The SSRF guard before the job starts: 0, or the status of a refusal
 * with err set (internal: the payload named an internal address).
 */

static ngx_uint_t
ngx_http_album_zip_job_check(ngx_http_request_t *r,
    album_zip_job_payload_t *payload, ngx_pool_t *pool,
    album_zip_job_str_t **allow, ngx_uint_t *internal, char *err,
    size_t size)
{
    ngx_http_album_zip_loc_conf_t  *azlcf;

    azlcf = ngx_http_get_module_loc_conf(r, ngx_http_album_zip_module);

    /* every URL must start with an allowed prefix */

    *allow = NULL;

    if (azlcf->allow) {
        *allow = ngx_http_album_zip_job_allow(pool, azlcf->allow);
        if (*allow == NULL) {
            ngx_cpystrn((u_char *) err, (u_char *) "out of memory", size);
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        if (ngx_http_album_zip_job_allowed(payload, *allow,
                                           azlcf->allow->nelts, err, size)
            != NGX_OK)
        {
            return NGX_HTTP_BAD_REQUEST;
        }
    }

    /* the address policy: literals now, names when libcurl connects */

    if (!azlcf->allow_private
        && ngx_http_album_zip_job_public(payload, err, size) != NGX_OK)
    {
        *internal = 1;
        return NGX_HTTP_BAD_REQUEST;
    }

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "album_zip job: payload accepted, %uz sources",
                   payload->nsources);

    return 0;
}


/* album_zip_allow: every source and upload_url must start with a prefix */

static ngx_int_t
ngx_http_album_zip_job_allowed(album_zip_job_payload_t *payload,
    album_zip_job_str_t *allow, size_t nallow, char *err, size_t size)
{
    size_t  i;

    for (i = 0; i < payload->nsources; i++) {
        if (!album_zip_job_allowed(payload->sources[i].data,
                                   payload->sources[i].len, allow, nallow))
        {
            ngx_snprintf((u_char *) err, size,
                         "sources[%uz]: not allowed by album_zip_allow%Z",
                         i);
            return NGX_DECLINED;
        }
    }

    if (!album_zip_job_allowed(payload->upload_url.data,
                               payload->upload_url.len, allow, nallow))
    {
        ngx_cpystrn((u_char *) err,
                    (u_char *) "upload_url: not allowed by "
                               "album_zip_allow", size);
        return NGX_DECLINED;
    }

    return NGX_OK;
}


/* without album_zip_job_allow_private: no internal address literal */

static ngx_int_t
ngx_http_album_zip_job_public(album_zip_job_payload_t *payload, char *err,
    size_t size)
{
    size_t            i;
    edge_net_class_e  cls;

    for (i = 0; i < payload->nsources; i++) {
        cls = ngx_http_album_zip_job_literal(payload->sources[i].data,
                                             payload->sources[i].len);

        if (cls != EDGE_NET_PUBLIC) {
            ngx_snprintf((u_char *) err, size,
                         "sources[%uz]: refused: %s address "
                         "(album_zip_job_allow_private is off)%Z",
                         i, edge_net_class_name(cls));
            return NGX_DECLINED;
        }
    }

    cls = ngx_http_album_zip_job_literal(payload->upload_url.data,
                                         payload->upload_url.len);

    if (cls != EDGE_NET_PUBLIC) {
        ngx_snprintf((u_char *) err, size,
                     "upload_url: refused: %s address "
                     "(album_zip_job_allow_private is off)%Z",
                     edge_net_class_name(cls));
        return NGX_DECLINED;
    }

    return NGX_OK;
}


/*
 * The task posted: a synchronous job is answered by its completion
 * handler (NGX_DONE), a background one 202 at once; 429 when the thread
 * pool's queue is full (nothing was queued: the client may try again).
 */

static ngx_int_t
ngx_http_album_zip_job_post(ngx_http_request_t *r, ngx_http_edge_task_t *t,
    ngx_pool_t *pool, ngx_uint_t mode)
{
    ngx_http_core_loc_conf_t       *clcf;
    ngx_http_album_zip_job_ctx_t   *ctx;
    ngx_http_album_zip_loc_conf_t  *azlcf;

    azlcf = ngx_http_get_module_loc_conf(r, ngx_http_album_zip_module);
    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    ctx = t->data;

    if (mode == NGX_HTTP_EDGE_INVOKE_EVENT) {
        ctx->request = NULL;
        ctx->pool = pool;
        ctx->log = clcf->error_log;

    } else {
        ctx->request = r;
    }

    t->task->handler = ngx_http_album_zip_job_thread;
    t->request = ctx->request;
    t->log = ctx->log;
    t->module = "album_zip job";
    t->work = "upload";
    t->name = ctx->host;
    t->timeout = azlcf->thread_timeout;
    t->done = ngx_http_album_zip_job_done;
    t->expire = ngx_http_album_zip_job_expire;
    t->late = ngx_http_album_zip_job_late;

    if (ngx_http_edge_task_post(t, azlcf->thread_pool,
                                &azlcf->thread_pool_name)
        != NGX_OK)
    {
        if (t->request == NULL) {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "album_zip job: thread pool \"%V\" is full, "
                          "upload of \"%V\" refused",
                          &azlcf->thread_pool_name, &ctx->host);
        }

        if (pool != r->pool) {
            ngx_destroy_pool(pool);
        }

        return ngx_http_edge_invoke_throttled(r, 1,
                   "Rate exceeded: the job queue is full, nothing was "
                   "queued");
    }

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "album_zip job: task posted to \"%V\", %s, upload to "
                   "\"%V\"", &azlcf->thread_pool_name,
                   mode == NGX_HTTP_EDGE_INVOKE_EVENT ? "background"
                                                      : "synchronous",
                   &ctx->host);

    if (mode == NGX_HTTP_EDGE_INVOKE_EVENT) {

        /* no timers left lets a worker exit: hold it until the job ends */

        ctx->hold.data = ctx;
        ngx_http_edge_hold(&ctx->hold, clcf->error_log);

        return ngx_http_edge_invoke_result(r, mode, NULL, 0);
    }

    return NGX_DONE;
}


/*
 * A job refused before it was posted: one log line, and Lambda's answer
 * (a bad payload is an error of the function under RequestResponse)
 */

static ngx_int_t
ngx_http_album_zip_job_refuse(ngx_http_request_t *r, ngx_pool_t *pool,
    ngx_uint_t mode, ngx_uint_t status, ngx_uint_t internal, const char *err)
{
    ngx_uint_t  level;

    /* a request for an internal address: operators want to see it */

    if (internal) {
        level = NGX_LOG_WARN;

    } else {
        level = (status == NGX_HTTP_BAD_REQUEST) ? NGX_LOG_INFO
                                                 : NGX_LOG_ERR;
    }

    if (pool != r->pool) {
        ngx_destroy_pool(pool);
    }

    ngx_log_error(level, r->connection->log, 0, "album_zip job: %s", err);

    if (status == NGX_HTTP_BAD_REQUEST) {
        return ngx_http_edge_invoke_refused(r, mode, err);
    }

    return ngx_http_edge_invoke_error(r, status, "ServiceException", err);
}


/* everything the thread needs goes into the task context */

static ngx_int_t
ngx_http_album_zip_job_prepare(ngx_http_request_t *r,
    ngx_http_album_zip_job_ctx_t *ctx, album_zip_job_payload_t *payload,
    album_zip_job_str_t *allow, ngx_pool_t *pool)
{
    u_char                         *p;
    size_t                          i, n, len;
    uint64_t                        seed;
    ngx_str_t                      *dir;
    const char                     *host;
    album_zip_name_t               *names;
    album_zip_alloc_t               hooks;
    ngx_http_core_loc_conf_t       *clcf;
    ngx_http_album_zip_loc_conf_t  *azlcf;

    azlcf = ngx_http_get_module_loc_conf(r, ngx_http_album_zip_module);
    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    ctx->allow = allow;
    ctx->nallow = allow ? azlcf->allow->nelts : 0;
    ctx->max_size = (uint64_t) azlcf->max_size;

    /* the shared client's policy for every transfer of the job */

    ctx->policy.guarded = 1;
    ctx->policy.allow_private = azlcf->allow_private;
    ctx->policy.private_name = "album_zip_job_allow_private";
    ctx->policy.max_redirects = NGX_HTTP_ALBUM_ZIP_JOB_REDIRECTS;
    ctx->policy.timeout_ms = (long) azlcf->job_timeout;
    ctx->policy.max_size = ctx->max_size;
    ctx->policy.size_name = "album_zip_max_size";
    ctx->policy.user_agent = "photo-edge album_zip_job";

    if (allow) {
        ctx->policy.allow = ngx_http_album_zip_job_allowed_hop;
        ctx->policy.allow_data = ctx;
    }

    n = payload->nsources;

    hooks.alloc = ngx_http_album_zip_job_alloc;
    hooks.ctx = pool;

    names = ngx_palloc(pool, n * sizeof(album_zip_name_t));
    ctx->entries = ngx_pcalloc(pool, n * sizeof(album_zip_entry_t));
    ctx->offsets = ngx_pcalloc(pool, n * sizeof(uint64_t));

    if (names == NULL || ctx->entries == NULL || ctx->offsets == NULL) {
        return NGX_ERROR;
    }

    seed = ((uint64_t) ngx_random() << 32) ^ (uint64_t) ngx_random();

    if (album_zip_job_member_names(payload, names, &hooks, seed)
        != ALBUM_ZIP_OK)
    {
        return NGX_ERROR;
    }

    for (i = 0; i < n; i++) {
        ctx->entries[i].name = names[i].data;
        ctx->entries[i].name_len = names[i].len;
    }

    ctx->sources = payload->sources;
    ctx->nsources = n;
    ctx->upload_url = (char *) payload->upload_url.data;

    /* the upload's file name */

    len = payload->token.len;

    ctx->filename = ngx_pnalloc(pool, ALBUM_ZIP_JOB_UPLOAD_BOUND(len));
    if (ctx->filename == NULL) {
        return NGX_ERROR;
    }

    album_zip_job_upload_name(ctx->filename, payload->token.data, len);

    /* "<client_body_temp_path>/album_zip_job.XXXXXX" */

    dir = &clcf->client_body_temp_path->name;

    ctx->temp = ngx_pnalloc(pool, dir->len
                                  + sizeof("/album_zip_job.XXXXXX"));
    if (ctx->temp == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(ctx->temp, dir->data, dir->len);
    ngx_memcpy(p, "/album_zip_job.XXXXXX", sizeof("/album_zip_job.XXXXXX"));

    /* for the log */

    if (album_zip_job_url_host(payload->upload_url.data,
                               payload->upload_url.len, &host, &len)
        == 0)
    {
        ctx->host.data = (u_char *) host;
        ctx->host.len = len;

    } else {
        ngx_str_set(&ctx->host, "?");
    }

    return NGX_OK;
}


static album_zip_job_str_t *
ngx_http_album_zip_job_allow(ngx_pool_t *pool, ngx_array_t *allow)
{
    ngx_str_t            *s;
    ngx_uint_t            i;
    album_zip_job_str_t  *a;

    a = ngx_palloc(pool, allow->nelts * sizeof(album_zip_job_str_t));
    if (a == NULL) {
        return NULL;
    }

    s = allow->elts;

    for (i = 0; i < allow->nelts; i++) {
        a[i].data = (char *) ngx_pstrdup(pool, &s[i]);
        if (a[i].data == NULL) {
            return NULL;
        }

        a[i].len = s[i].len;
    }

    return a;
}


/*
 * The class of a URL's host when it is an address literal, in any
 * spelling edge_net reads ("127.1", "2130706433", "[::ffff:7f00:1]");
 * EDGE_NET_PUBLIC for a public address or a name (names are checked by
 * the open-socket callback, when libcurl connects).
 */

edge_net_class_e
ngx_http_album_zip_job_literal(const char *url, size_t len)
{
    size_t            n;
    const char       *host;
    edge_net_class_e  cls;

    if (edge_net_url_host(url, len, &host, &n) != 0) {
        return EDGE_NET_RESERVED;
    }

    if (edge_net_host_literal(host, n, &cls) != 0) {
        return EDGE_NET_PUBLIC;
    }

    return cls;
}


static void *
ngx_http_album_zip_job_alloc(void *ctx, size_t size)
{
    return ngx_palloc(ctx, size);
}


/* the task's completion handler, on the event loop */

static void
ngx_http_album_zip_job_done(void *data)
{
    ngx_int_t                      rc;
    ngx_connection_t              *c;
    ngx_http_request_t            *r;
    ngx_http_album_zip_job_ctx_t  *ctx;

    ctx = data;
    r = ctx->request;

    if (r == NULL) {
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, ctx->log, 0,
                       "album_zip job: background job ended, status %ui",
                       ctx->status);

        ngx_http_album_zip_job_log(ctx, ctx->log);

        ngx_http_edge_release(&ctx->hold);

        ngx_destroy_pool(ctx->pool);
        return;
    }

    c = r->connection;

    ngx_http_album_zip_job_log(ctx, c->log);

    if (ctx->status == NGX_HTTP_OK) {
        rc = ngx_http_edge_invoke_result(r, NGX_HTTP_EDGE_INVOKE_SYNC,
                 (u_char *) NGX_HTTP_ALBUM_ZIP_JOB_RESULT,
                 sizeof(NGX_HTTP_ALBUM_ZIP_JOB_RESULT) - 1);

    } else {
        /* the function failed: 200, so that no SDK runs it again */
        rc = ngx_http_edge_invoke_failed(r,
                 (ctx->status == NGX_HTTP_BAD_GATEWAY) ? "HTTPError"
                                                       : "RuntimeError",
                 ctx->err);
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, c->log, 0,
                   "album_zip job: answered %ui, rc %i", ctx->status, rc);

    ngx_http_finalize_request(r, rc);
}


/*
 * The watchdog: the job outlasted album_zip_thread_timeout and goes on;
 * Lambda's answer to a timeout (a 5xx would have the SDKs run it again)
 */

static void
ngx_http_album_zip_job_expire(void *data)
{
    ngx_http_album_zip_job_ctx_t *ctx = data;

    ngx_int_t            rc;
    ngx_http_request_t  *r;

    r = ctx->request;

    rc = ngx_http_edge_invoke_failed(r, "Sandbox.Timedout",
             "Task timed out: the job is still running, see the error log");

    ngx_http_finalize_request(r, rc);
}


/* a synchronous job that the watchdog answered: its outcome, for the log */

static void
ngx_http_album_zip_job_late(void *data)
{
    ngx_http_album_zip_job_ctx_t *ctx = data;

    ngx_http_album_zip_job_log(ctx, ctx->request->connection->log);
}


static void
ngx_http_album_zip_job_log(ngx_http_album_zip_job_ctx_t *ctx, ngx_log_t *log)
{
    if (ctx->status == NGX_HTTP_OK) {
        ngx_log_error(NGX_LOG_INFO, log, 0,
                      "album_zip job: uploaded %uz files (%uL bytes) to %V",
                      ctx->nsources, ctx->bytes, &ctx->host);
        return;
    }

    ngx_log_error(NGX_LOG_ERR, log, 0, "album_zip job: failed: %s",
                  ctx->err);
}

