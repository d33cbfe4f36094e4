
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
 * upload_url.  200 {"message": "Images zipped and uploaded"} when done,
 * 502 {"error": "..."} when a source or the upload failed, 400 for a bad
 * payload.  "X-Amz-Invocation-Type: Event" answers 202 at once and runs
 * the job in the background; "DryRun" only validates (204).
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
 * refused before the job starts (400); a Location naming one is refused
 * before libcurl follows it; and libcurl's open-socket callback checks
 * the address of every connection it opens, whatever name led there.
 * Only http and https, redirects included; no proxy from the environment
 * (it would be an address nobody checked).
 *
 * album_zip_allow, when set, narrows that further: every source, every
 * redirect, and upload_url must start with one of its prefixes (see
 * album_zip_job_allowed(): no dot segments, no encoded slashes).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <curl/curl.h>

#include "ngx_http_album_zip.h"
#include "ngx_http_edge_json.h"
#include "ngx_http_edge_task.h"
#include "album_zip_format.h"
#include "album_zip_names.h"
#include "album_zip_job.h"
#include "edge_net.h"
#include "ngx_http_edge_curl.h"


#define NGX_HTTP_ALBUM_ZIP_JOB_SYNC      0
#define NGX_HTTP_ALBUM_ZIP_JOB_EVENT     1
#define NGX_HTTP_ALBUM_ZIP_JOB_DRYRUN    2
#define NGX_HTTP_ALBUM_ZIP_JOB_BAD       3

#define NGX_HTTP_ALBUM_ZIP_JOB_ERR_LEN   512

/* a background job keeps the worker from exiting; the timer re-arms */
#define NGX_HTTP_ALBUM_ZIP_JOB_HOLD      3600000



typedef struct {
    /* set before the task is posted; read-only for the thread */
    char                          *upload_url;
    char                          *filename;     /* of the upload */
    char                          *temp;         /* mkstemp() template */
    album_zip_job_str_t           *sources;
    album_zip_entry_t             *entries;      /* names set */
    uint64_t                      *offsets;      /* in the temporary file */
    size_t                         nsources;
    album_zip_job_str_t           *allow;
    size_t                         nallow;
    uint64_t                       max_size;
    long                           timeout;      /* ms, per transfer */

    /* set by the thread */
    ngx_uint_t                     status;       /* 200, 500 or 502 */
    ngx_http_edge_curl_guard_t     guard;        /* the address policy */
    uint64_t                       bytes;        /* the archive's size */
    char                           err[NGX_HTTP_ALBUM_ZIP_JOB_ERR_LEN];

    /* the event loop's */
    ngx_http_request_t            *request;      /* NULL: background */
    ngx_pool_t                    *pool;         /* background: our own */
    ngx_log_t                     *log;          /* background */
    ngx_str_t                      host;         /* of upload_url */
    ngx_event_t                    hold;         /* background */
} ngx_http_album_zip_job_ctx_t;


/* a source download, in the thread */

typedef struct {
    ngx_http_album_zip_job_ctx_t  *job;
    CURL                          *curl;
    ngx_fd_t                       fd;
    uint64_t                       end;          /* of the temporary file */
    uint64_t                       size;         /* this source's bytes */
    uint32_t                       crc;
    long                           status;       /* current response's */
    ngx_err_t                      err;
    edge_net_class_e               redirect_to;  /* a refused Location's
                                                    address; PUBLIC: no */
    unsigned                       too_big:1;
    unsigned                       refused:1;
    unsigned                       write_error:1;

    /* the handle points here until it is cleaned up */
    char                           errbuf[CURL_ERROR_SIZE];
} ngx_http_album_zip_job_fetch_t;


/* the upload's body, in the thread */

typedef struct {
    ngx_http_album_zip_job_ctx_t  *job;
    album_zip_archive_t            ar;
    ngx_fd_t                       fd;
    uint64_t                       pos;
    ngx_err_t                      err;
    unsigned                       read_error:1;
} ngx_http_album_zip_job_upload_t;


static void ngx_http_album_zip_job_body(ngx_http_request_t *r);
static ngx_int_t ngx_http_album_zip_job_start(ngx_http_request_t *r);
static ngx_int_t ngx_http_album_zip_job_prepare(ngx_http_request_t *r,
    ngx_http_album_zip_job_ctx_t *ctx, album_zip_job_payload_t *payload,
    ngx_pool_t *pool);
static ngx_uint_t ngx_http_album_zip_job_mode(ngx_http_request_t *r);
static ngx_int_t ngx_http_album_zip_job_read_body(ngx_http_request_t *r,
    ngx_str_t *body);
static album_zip_job_str_t *ngx_http_album_zip_job_allow(ngx_pool_t *pool,
    ngx_array_t *allow);
static edge_net_class_e ngx_http_album_zip_job_literal(const char *url,
    size_t len);
static void *ngx_http_album_zip_job_alloc(void *ctx, size_t size);
static void ngx_http_album_zip_job_done(void *data);
static void ngx_http_album_zip_job_late(void *data);
static void ngx_http_album_zip_job_log(ngx_http_album_zip_job_ctx_t *ctx,
    ngx_log_t *log);
static void ngx_http_album_zip_job_hold(ngx_event_t *ev);

static void ngx_http_album_zip_job_thread(void *data, ngx_log_t *log);
static ngx_int_t ngx_http_album_zip_job_fetch(
    ngx_http_album_zip_job_fetch_t *f, size_t i);
static ngx_int_t ngx_http_album_zip_job_upload(
    ngx_http_album_zip_job_ctx_t *ctx, CURL *curl, ngx_fd_t fd);
static size_t ngx_http_album_zip_job_write(char *ptr, size_t size,
    size_t nmemb, void *data);
static size_t ngx_http_album_zip_job_header(char *buf, size_t size,
    size_t nitems, void *data);
static int ngx_http_album_zip_job_redirect_ok(
    ngx_http_album_zip_job_fetch_t *f, const char *value, size_t len);
static int ngx_http_album_zip_job_redirect_check(
    ngx_http_album_zip_job_fetch_t *f, const char *url);
static size_t ngx_http_album_zip_job_read(char *buf, size_t size,
    size_t nitems, void *data);
static int ngx_http_album_zip_job_seek(void *data, curl_off_t offset,
    int origin);
static size_t ngx_http_album_zip_job_discard(char *ptr, size_t size,
    size_t nmemb, void *data);
static void ngx_http_album_zip_job_fail(ngx_http_album_zip_job_ctx_t *ctx,
    ngx_uint_t status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static void ngx_http_album_zip_job_curl_fail(
    ngx_http_album_zip_job_ctx_t *ctx, const char *what, CURLcode code,
    const char *errbuf);
static void ngx_http_album_zip_job_sys_fail(
    ngx_http_album_zip_job_ctx_t *ctx, const char *what, ngx_err_t err);


static ngx_str_t  ngx_http_album_zip_job_type =
    ngx_string("X-Amz-Invocation-Type");


/* ------------------------------------------------------------------------
 * the event loop
 */


ngx_int_t
ngx_http_album_zip_job_handler(ngx_http_request_t *r)
{
    ngx_int_t  rc;

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
    size_t                          i;
    ngx_str_t                       body;
    ngx_uint_t                      mode, status, level, internal;
    edge_net_class_e                cls;
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

    mode = ngx_http_album_zip_job_mode(r);

    if (mode == NGX_HTTP_ALBUM_ZIP_JOB_BAD) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "album_zip job: bad X-Amz-Invocation-Type");

        return ngx_http_edge_json_error(r, NGX_HTTP_BAD_REQUEST,
                   "X-Amz-Invocation-Type: must be RequestResponse, Event "
                   "or DryRun");
    }

    if (ngx_http_album_zip_job_read_body(r, &body) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* a background job owns a pool that outlives the request */

    if (mode == NGX_HTTP_ALBUM_ZIP_JOB_EVENT) {
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

    /* the SSRF guard: every URL must start with an allowed prefix */

    if (azlcf->allow) {
        allow = ngx_http_album_zip_job_allow(pool, azlcf->allow);
        if (allow == NULL) {
            status = NGX_HTTP_INTERNAL_SERVER_ERROR;
            ngx_cpystrn((u_char *) err, (u_char *) "out of memory",
                        sizeof(err));
            goto failed;
        }

        for (i = 0; i < payload.nsources; i++) {
            if (!album_zip_job_allowed(payload.sources[i].data,
                                       payload.sources[i].len, allow,
                                       azlcf->allow->nelts))
            {
                status = NGX_HTTP_BAD_REQUEST;
                ngx_snprintf((u_char *) err, sizeof(err),
                             "sources[%uz]: not allowed by album_zip_allow%Z",
                             i);
                goto failed;
            }
        }

        if (!album_zip_job_allowed(payload.upload_url.data,
                                   payload.upload_url.len, allow,
                                   azlcf->allow->nelts))
        {
            status = NGX_HTTP_BAD_REQUEST;
            ngx_cpystrn((u_char *) err,
                        (u_char *) "upload_url: not allowed by "
                                   "album_zip_allow", sizeof(err));
            goto failed;
        }

    } else {
        allow = NULL;
    }

    /* the address policy: literals now, names when libcurl connects */

    if (!azlcf->allow_private) {
        for (i = 0; i < payload.nsources; i++) {
            cls = ngx_http_album_zip_job_literal(payload.sources[i].data,
                                                 payload.sources[i].len);

            if (cls != EDGE_NET_PUBLIC) {
                status = NGX_HTTP_BAD_REQUEST;
                ngx_snprintf((u_char *) err, sizeof(err),
                             "sources[%uz]: refused: %s address "
                             "(album_zip_job_allow_private is off)%Z",
                             i, edge_net_class_name(cls));
                internal = 1;
                goto failed;
            }
        }

        cls = ngx_http_album_zip_job_literal(payload.upload_url.data,
                                             payload.upload_url.len);

        if (cls != EDGE_NET_PUBLIC) {
            status = NGX_HTTP_BAD_REQUEST;
            ngx_snprintf((u_char *) err, sizeof(err),
                         "upload_url: refused: %s address "
                         "(album_zip_job_allow_private is off)%Z",
                         edge_net_class_name(cls));
            internal = 1;
            goto failed;
        }
    }

    if (mode == NGX_HTTP_ALBUM_ZIP_JOB_DRYRUN) {
        r->headers_out.status = NGX_HTTP_NO_CONTENT;
        r->header_only = 1;

        return ngx_http_send_header(r);
    }

    t = ngx_http_edge_task_alloc(pool, sizeof(ngx_http_album_zip_job_ctx_t));
    if (t == NULL) {
        goto nomem;
    }

    ctx = t->data;

    ctx->allow = allow;
    ctx->nallow = allow ? azlcf->allow->nelts : 0;
    ctx->guard.allow_private = azlcf->allow_private;
    ctx->max_size = (uint64_t) azlcf->max_size;
    ctx->timeout = (long) azlcf->job_timeout;

    if (ngx_http_album_zip_job_prepare(r, ctx, &payload, pool) != NGX_OK) {
        goto nomem;
    }

    if (mode == NGX_HTTP_ALBUM_ZIP_JOB_EVENT) {
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
    t->json_error = "job: still running, see the error log";
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

        return ngx_http_edge_json_error(r,
                                        NGX_HTTP_SERVICE_UNAVAILABLE,
                                        "job: the thread pool queue "
                                        "is full");
    }

    if (mode == NGX_HTTP_ALBUM_ZIP_JOB_EVENT) {

        /* no timers left lets a worker exit: hold it until the job ends */

        ctx->hold.handler = ngx_http_album_zip_job_hold;
        ctx->hold.data = ctx;
        ctx->hold.log = clcf->error_log;
        ngx_add_timer(&ctx->hold, NGX_HTTP_ALBUM_ZIP_JOB_HOLD);

        return ngx_http_edge_json_send(r, NGX_HTTP_ACCEPTED,
                                       (u_char *) "{\"accepted\": true}",
                                       sizeof("{\"accepted\": true}") - 1);
    }

    return NGX_DONE;

nomem:

    status = NGX_HTTP_INTERNAL_SERVER_ERROR;
    ngx_cpystrn((u_char *) err, (u_char *) "out of memory", sizeof(err));

failed:

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

    return ngx_http_edge_json_error(r, status, err);
}


/* everything the thread needs goes into the task context */

static ngx_int_t
ngx_http_album_zip_job_prepare(ngx_http_request_t *r,
    ngx_http_album_zip_job_ctx_t *ctx, album_zip_job_payload_t *payload,
    ngx_pool_t *pool)
{
    u_char                    *p;
    size_t                     i, n, len;
    uint64_t                   seed;
    ngx_str_t                 *dir;
    const char                *host;
    album_zip_name_t          *names;
    album_zip_alloc_t          hooks;
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

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


static ngx_uint_t
ngx_http_album_zip_job_mode(ngx_http_request_t *r)
{
    ngx_str_t        *v;
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len != ngx_http_album_zip_job_type.len
            || ngx_strncasecmp(h[i].key.data,
                               ngx_http_album_zip_job_type.data,
                               ngx_http_album_zip_job_type.len)
               != 0)
        {
            continue;
        }

        v = &h[i].value;

        if (v->len == 5 && ngx_strncasecmp(v->data, (u_char *) "Event", 5)
                           == 0)
        {
            return NGX_HTTP_ALBUM_ZIP_JOB_EVENT;
        }

        if (v->len == 15
            && ngx_strncasecmp(v->data, (u_char *) "RequestResponse", 15)
               == 0)
        {
            return NGX_HTTP_ALBUM_ZIP_JOB_SYNC;
        }

        if (v->len == 6 && ngx_strncasecmp(v->data, (u_char *) "DryRun", 6)
                           == 0)
        {
            return NGX_HTTP_ALBUM_ZIP_JOB_DRYRUN;
        }

        return NGX_HTTP_ALBUM_ZIP_JOB_BAD;
    }

    return NGX_HTTP_ALBUM_ZIP_JOB_SYNC;
}


/*
 * The request body in one piece; a body that went to a temporary file
 * (larger than client_body_buffer_size, at most client_max_body_size) is
 * read back from it.
 */

static ngx_int_t
ngx_http_album_zip_job_read_body(ngx_http_request_t *r, ngx_str_t *body)
{
    off_t         len;
    u_char       *p;
    ssize_t       n;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    ngx_str_null(body);

    if (r->request_body == NULL || r->request_body->bufs == NULL) {
        return NGX_OK;
    }

    cl = r->request_body->bufs;

    if (cl->next == NULL && ngx_buf_in_memory(cl->buf)) {
        body->data = cl->buf->pos;
        body->len = cl->buf->last - cl->buf->pos;
        return NGX_OK;
    }

    len = 0;

    for ( /* void */ ; cl; cl = cl->next) {
        len += ngx_buf_size(cl->buf);
    }

    if (len == 0) {
        return NGX_OK;
    }

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    body->data = p;
    body->len = len;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        b = cl->buf;

        if (ngx_buf_in_memory(b)) {
            p = ngx_cpymem(p, b->pos, b->last - b->pos);
            continue;
        }

        if (!b->in_file) {
            continue;
        }

        n = ngx_read_file(b->file, p, b->file_last - b->file_pos,
                          b->file_pos);

        if (n != b->file_last - b->file_pos) {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "album_zip job: failed: reading the request body "
                          "from \"%V\"", &b->file->name);
            return NGX_ERROR;
        }

        p += n;
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

static edge_net_class_e
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
        ngx_http_album_zip_job_log(ctx, ctx->log);

        if (ctx->hold.timer_set) {
            ngx_del_timer(&ctx->hold);
        }

        ngx_destroy_pool(ctx->pool);
        return;
    }

    c = r->connection;

    ngx_http_album_zip_job_log(ctx, c->log);

    if (ctx->status == NGX_HTTP_OK) {
        rc = ngx_http_edge_json_send(r, NGX_HTTP_OK,
                 (u_char *) "{\"message\": \"Images zipped and uploaded\"}",
                 sizeof("{\"message\": \"Images zipped and uploaded\"}") - 1);

    } else {
        rc = ngx_http_edge_json_error(r, ctx->status, ctx->err);
    }

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


static void
ngx_http_album_zip_job_hold(ngx_event_t *ev)
{
    ngx_add_timer(ev, NGX_HTTP_ALBUM_ZIP_JOB_HOLD);
}


/* ------------------------------------------------------------------------
 * the thread: only the task context, libcurl and system calls here
 */


static void
ngx_http_album_zip_job_thread(void *data, ngx_log_t *log)
{
    ngx_http_album_zip_job_ctx_t *ctx = data;

    size_t                          i;
    CURL                           *curl;
    ngx_fd_t                        fd;
    ngx_http_album_zip_job_fetch_t  f;

    ctx->status = NGX_HTTP_OK;

    fd = mkstemp(ctx->temp);

    if (fd == NGX_INVALID_FILE) {
        ngx_http_album_zip_job_sys_fail(ctx, "temporary file", ngx_errno);
        return;
    }

    /* nothing is left behind, even if the worker dies */
    (void) unlink(ctx->temp);

    curl = curl_easy_init();

    if (curl == NULL) {
        ngx_http_album_zip_job_fail(ctx, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                    "libcurl: out of memory");
        goto done;
    }

    ngx_memzero(&f, sizeof(ngx_http_album_zip_job_fetch_t));

    f.job = ctx;
    f.curl = curl;
    f.fd = fd;

    for (i = 0; i < ctx->nsources; i++) {
        if (ngx_http_album_zip_job_fetch(&f, i) != NGX_OK) {
            goto done;
        }
    }

    (void) ngx_http_album_zip_job_upload(ctx, curl, fd);

done:

    if (curl) {
        curl_easy_cleanup(curl);
    }

    (void) close(fd);
}


static ngx_int_t
ngx_http_album_zip_job_fetch(ngx_http_album_zip_job_fetch_t *f, size_t i)
{
    long                           status;
    char                          *url;
    CURL                          *curl;
    CURLcode                       code;
    uint64_t                       left;
    curl_off_t                     filetime;
    album_zip_entry_t             *e;
    ngx_http_album_zip_job_ctx_t  *ctx;

    ctx = f->job;
    curl = f->curl;
    e = &ctx->entries[i];

    /* the same handle for every source: connections are reused */

    curl_easy_reset(curl);

    f->errbuf[0] = '\0';

    ctx->offsets[i] = f->end;
    left = ctx->max_size - f->end;

    if (curl_easy_setopt(curl, CURLOPT_URL, ctx->sources[i].data) != CURLE_OK
        || curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L) != CURLE_OK
        || curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 5L) != CURLE_OK
        || curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, ctx->timeout)
           != CURLE_OK
        || curl_easy_setopt(curl, CURLOPT_FAILONERROR, 1L) != CURLE_OK
        || curl_easy_setopt(curl, CURLOPT_FILETIME, 1L) != CURLE_OK
        || curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, f->errbuf)
           != CURLE_OK
        || curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION,
                            ngx_http_album_zip_job_write)
           != CURLE_OK
        || curl_easy_setopt(curl, CURLOPT_WRITEDATA, f) != CURLE_OK
        || curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION,
                            ngx_http_album_zip_job_header)
           != CURLE_OK
        || curl_easy_setopt(curl, CURLOPT_HEADERDATA, f) != CURLE_OK
        || ngx_http_edge_curl_common(curl, &ctx->guard) != CURLE_OK
        || (left > 0
            && curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE,
                                (curl_off_t) left)
               != CURLE_OK))
    {
        ngx_http_album_zip_job_fail(ctx, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                    "sources[%zu]: libcurl refused an "
                                    "option", i);
        return NGX_ERROR;
    }

    f->size = 0;
    f->crc = 0;
    f->status = 0;
    f->redirect_to = EDGE_NET_PUBLIC;
    ctx->guard.refused = EDGE_NET_PUBLIC;

    code = curl_easy_perform(curl);

    status = 0;
    (void) curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);

    if (f->redirect_to != EDGE_NET_PUBLIC) {
        ngx_http_album_zip_job_fail(ctx, NGX_HTTP_BAD_GATEWAY,
                                    "sources[%zu]: refused: redirected to "
                                    "%s address (album_zip_job_allow_"
                                    "private is off)", i,
                                    edge_net_class_name(f->redirect_to));
        return NGX_ERROR;
    }

    if (ctx->guard.refused != EDGE_NET_PUBLIC) {
        ngx_http_album_zip_job_fail(ctx, NGX_HTTP_BAD_GATEWAY,
                                    "sources[%zu]: refused: the host's "
                                    "address is %s "
                                    "(album_zip_job_allow_private is off)",
                                    i,
                                    edge_net_class_name(ctx->guard.refused));
        return NGX_ERROR;
    }

    if (f->too_big || code == CURLE_FILESIZE_EXCEEDED) {
        ngx_http_album_zip_job_fail(ctx, NGX_HTTP_BAD_GATEWAY,
                                    "sources[%zu]: the album is larger "
                                    "than album_zip_max_size (%llu bytes)",
                                    i, (unsigned long long) ctx->max_size);
        return NGX_ERROR;
    }

    if (f->refused) {
        ngx_http_album_zip_job_fail(ctx, NGX_HTTP_BAD_GATEWAY,
                                    "sources[%zu]: redirected to a URL not "
                                    "allowed by album_zip_allow", i);
        return NGX_ERROR;
    }

    if (f->write_error) {
        ngx_http_album_zip_job_sys_fail(ctx, "temporary file", f->err);
        return NGX_ERROR;
    }

    if (code == CURLE_HTTP_RETURNED_ERROR
        || (code == CURLE_OK && (status < 200 || status > 299)))
    {
        ngx_http_album_zip_job_fail(ctx, NGX_HTTP_BAD_GATEWAY,
                                    "sources[%zu]: HTTP %ld", i, status);
        return NGX_ERROR;
    }

    if (code != CURLE_OK) {
        ngx_snprintf((u_char *) ctx->err, sizeof(ctx->err), "sources[%uz]%Z",
                     i);
        ngx_http_album_zip_job_curl_fail(ctx, ctx->err, code, f->errbuf);
        return NGX_ERROR;
    }

    /* belt and braces: where the redirects ended must be allowed too */

    if (ctx->nallow) {
        url = NULL;

        if (curl_easy_getinfo(curl, CURLINFO_EFFECTIVE_URL, &url) != CURLE_OK
            || url == NULL
            || !album_zip_job_allowed(url, ngx_strlen(url), ctx->allow,
                                      ctx->nallow))
        {
            ngx_http_album_zip_job_fail(ctx, NGX_HTTP_BAD_GATEWAY,
                                        "sources[%zu]: redirected to a URL "
                                        "not allowed by album_zip_allow", i);
            return NGX_ERROR;
        }
    }

    filetime = -1;
    (void) curl_easy_getinfo(curl, CURLINFO_FILETIME_T, &filetime);

    e->size = f->size;
    e->crc32 = f->crc;
    e->has_crc = 1;
    e->mtime = (filetime > 0) ? (int64_t) filetime : 0;

    return NGX_OK;
}


static ngx_int_t
ngx_http_album_zip_job_upload(ngx_http_album_zip_job_ctx_t *ctx, CURL *curl,
    ngx_fd_t fd)
{
    int                               rc;
    long                              status;
    CURLcode                          code;
    curl_mime                        *mime;
    curl_mimepart                    *part;
    struct curl_slist                *headers;
    ngx_http_album_zip_job_upload_t   up;
    char                              errbuf[CURL_ERROR_SIZE];

    ngx_memzero(&up, sizeof(ngx_http_album_zip_job_upload_t));

    up.job = ctx;
    up.fd = fd;

    /* every CRC is known: no data descriptors */

    rc = album_zip_layout(&up.ar, ctx->entries, ctx->nsources);

    if (rc != ALBUM_ZIP_OK) {
        ngx_http_album_zip_job_fail(ctx, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                    "the archive cannot be laid out "
                                    "(error %d at member %zu)",
                                    rc, up.ar.bad_entry);
        return NGX_ERROR;
    }

    ctx->bytes = up.ar.total;

    curl_easy_reset(curl);

    errbuf[0] = '\0';
    headers = NULL;

    mime = curl_mime_init(curl);
    if (mime == NULL) {
        goto nomem;
    }

    part = curl_mime_addpart(mime);
    if (part == NULL) {
        goto nomem;
    }

    /* without "Expect:" libcurl waits up to 1 s for "100 Continue" */

    headers = curl_slist_append(NULL, "Expect:");
    if (headers == NULL) {
        goto nomem;
    }

    if (curl_mime_name(part, "file") != CURLE_OK
        || curl_mime_filename(part, ctx->filename) != CURLE_OK
        || curl_mime_type(part, "application/zip") != CURLE_OK
        || curl_mime_data_cb(part, (curl_off_t) up.ar.total,
                             ngx_http_album_zip_job_read,
                             ngx_http_album_zip_job_seek, NULL, &up)
           != CURLE_OK
        || curl_easy_setopt(curl, CURLOPT_URL, ctx->upload_url) != CURLE_OK
        || curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, ctx->timeout)
           != CURLE_OK
        || curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf) != CURLE_OK
        || curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION,
                            ngx_http_album_zip_job_discard)
           != CURLE_OK
        || curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers) != CURLE_OK
        || curl_easy_setopt(curl, CURLOPT_MIMEPOST, mime) != CURLE_OK
        || curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK
        || ngx_http_edge_curl_common(curl, &ctx->guard) != CURLE_OK)
    {
        ngx_http_album_zip_job_fail(ctx, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                    "upload: libcurl refused an option");
        goto failed;
    }

    ctx->guard.refused = EDGE_NET_PUBLIC;

    code = curl_easy_perform(curl);

    if (ctx->guard.refused != EDGE_NET_PUBLIC) {
        ngx_http_album_zip_job_fail(ctx, NGX_HTTP_BAD_GATEWAY,
                                    "upload: refused: the host's address "
                                    "is %s (album_zip_job_allow_private "
                                    "is off)",
                                    edge_net_class_name(ctx->guard.refused));
        goto failed;
    }

    if (up.read_error) {
        ngx_http_album_zip_job_sys_fail(ctx, "upload: temporary file",
                                        up.err);
        goto failed;
    }

    if (code != CURLE_OK) {
        ngx_http_album_zip_job_curl_fail(ctx, "upload", code, errbuf);
        goto failed;
    }

    status = 0;
    (void) curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);

    if (status < 200 || status > 299) {
        ngx_http_album_zip_job_fail(ctx, NGX_HTTP_BAD_GATEWAY,
                                    "upload: HTTP %ld", status);
        goto failed;
    }

    curl_easy_reset(curl);
    curl_mime_free(mime);
    curl_slist_free_all(headers);

    return NGX_OK;

nomem:

    ngx_http_album_zip_job_fail(ctx, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                "upload: libcurl: out of memory");

failed:

    /* the handle must not point to the mime and headers freed here */
    curl_easy_reset(curl);

    if (mime) {
        curl_mime_free(mime);
    }

    if (headers) {
        curl_slist_free_all(headers);
    }

    return NGX_ERROR;
}


/* a source's data: into the temporary file, counted and CRC'd */

static size_t
ngx_http_album_zip_job_write(char *ptr, size_t size, size_t nmemb,
    void *data)
{
    ngx_http_album_zip_job_fetch_t *f = data;

    size_t   n, done;
    ssize_t  w;

    n = size * nmemb;

    if (n > f->job->max_size - f->end) {
        f->too_big = 1;
        return 0;
    }

    for (done = 0; done < n; done += w) {
        w = write(f->fd, ptr + done, n - done);

        if (w == -1) {
            if (ngx_errno == NGX_EINTR) {
                w = 0;
                continue;
            }

            f->err = ngx_errno;
            f->write_error = 1;
            return 0;
        }
    }

    f->crc = album_zip_crc32(f->crc, ptr, n);
    f->size += n;
    f->end += n;

    return n;
}


/*
 * A redirect must stay inside album_zip_allow, and without
 * album_zip_job_allow_private must not name an internal address literal:
 * the Location of a 3xx response is resolved as libcurl will and checked
 * before libcurl follows it; returning 0 aborts the transfer.
 */

static size_t
ngx_http_album_zip_job_header(char *buf, size_t size, size_t nitems,
    void *data)
{
    ngx_http_album_zip_job_fetch_t *f = data;

    size_t   n, i;
    char    *p, *end;

    n = size * nitems;

    if (n > 5 && ngx_strncmp(buf, "HTTP/", 5) == 0) {
        f->status = 0;

        for (i = 5; i < n && buf[i] != ' '; i++) { /* void */ }

        for (i++; i < n && buf[i] >= '0' && buf[i] <= '9'; i++) {
            f->status = f->status * 10 + (buf[i] - '0');
        }

        return n;
    }

    if ((f->job->nallow == 0 && f->job->guard.allow_private)
        || f->status < 300 || f->status > 399
        || n < sizeof("Location:") - 1
        || ngx_strncasecmp((u_char *) buf, (u_char *) "Location:",
                           sizeof("Location:") - 1)
           != 0)
    {
        return n;
    }

    p = buf + sizeof("Location:") - 1;
    end = buf + n;

    while (p < end && (*p == ' ' || *p == '\t')) {
        p++;
    }

    while (end > p && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '
                       || end[-1] == '\t'))
    {
        end--;
    }

    if (p == end) {
        return n;
    }

    if (!ngx_http_album_zip_job_redirect_ok(f, p, end - p)) {
        return 0;
    }

    return n;
}


static int
ngx_http_album_zip_job_redirect_ok(ngx_http_album_zip_job_fetch_t *f,
    const char *value, size_t len)
{
    int        ok;
    char      *base, *location, *url;
    CURLU     *u;
    CURLUcode  rc;

    ok = -1;
    base = NULL;
    url = NULL;

    if (curl_easy_getinfo(f->curl, CURLINFO_EFFECTIVE_URL, &base) != CURLE_OK
        || base == NULL)
    {
        goto unresolved;
    }

    location = malloc(len + 1);
    if (location == NULL) {
        goto unresolved;
    }

    ngx_memcpy(location, value, len);
    location[len] = '\0';

    u = curl_url();

    if (u != NULL) {
        rc = curl_url_set(u, CURLUPART_URL, base, 0);

        if (rc == CURLUE_OK) {
            rc = curl_url_set(u, CURLUPART_URL, location,
                              CURLU_NON_SUPPORT_SCHEME | CURLU_ALLOW_SPACE);
        }

        if (rc == CURLUE_OK) {
            rc = curl_url_get(u, CURLUPART_URL, &url, 0);
        }

        if (rc == CURLUE_OK && url != NULL) {
            ok = ngx_http_album_zip_job_redirect_check(f, url);
        }

        curl_free(url);
        curl_url_cleanup(u);
    }

    free(location);

    if (ok != -1) {
        return ok;
    }

unresolved:

    /*
     * a Location that cannot be resolved is refused with an allow-list;
     * without one libcurl decides, and the open-socket callback still
     * checks where it connects
     */

    if (f->job->nallow) {
        f->refused = 1;
        return 0;
    }

    return 1;
}


/* the resolved Location: the allow-list, then an address literal */

static int
ngx_http_album_zip_job_redirect_check(ngx_http_album_zip_job_fetch_t *f,
    const char *url)
{
    size_t                         len;
    edge_net_class_e               cls;
    ngx_http_album_zip_job_ctx_t  *ctx;

    ctx = f->job;
    len = ngx_strlen(url);

    if (ctx->nallow
        && !album_zip_job_allowed(url, len, ctx->allow, ctx->nallow))
    {
        f->refused = 1;
        return 0;
    }

    if (!ctx->guard.allow_private) {
        cls = ngx_http_album_zip_job_literal(url, len);

        if (cls != EDGE_NET_PUBLIC) {
            f->redirect_to = cls;
            return 0;
        }
    }

    return 1;
}


/* the upload's body: the archive, made on the fly */

static size_t
ngx_http_album_zip_job_read(char *buf, size_t size, size_t nitems,
    void *data)
{
    ngx_http_album_zip_job_upload_t *up = data;

    size_t             len, done, n;
    ssize_t            r;
    album_zip_piece_t  piece;

    len = size * nitems;
    done = 0;

    while (done < len && up->pos < up->ar.total) {

        if (album_zip_locate(&up->ar, up->pos, &piece) != ALBUM_ZIP_OK) {
            up->err = NGX_EINVAL;
            up->read_error = 1;
            return CURL_READFUNC_ABORT;
        }

        if (piece.kind != ALBUM_ZIP_PIECE_DATA) {
            n = album_zip_piece_write(&up->ar, &piece, (uint8_t *) buf + done,
                                      len - done);
            up->pos += n;
            done += n;
            continue;
        }

        n = ngx_min(len - done, piece.len - piece.offset);

        r = pread(up->fd, buf + done, n,
                  (off_t) (up->job->offsets[piece.index] + piece.offset));

        if (r == -1 && ngx_errno == NGX_EINTR) {
            continue;
        }

        if (r <= 0) {
            up->err = (r == 0) ? EIO : ngx_errno;
            up->read_error = 1;
            return CURL_READFUNC_ABORT;
        }

        up->pos += r;
        done += r;
    }

    return done;
}


static int
ngx_http_album_zip_job_seek(void *data, curl_off_t offset, int origin)
{
    ngx_http_album_zip_job_upload_t *up = data;

    if (origin != SEEK_SET || offset < 0
        || (uint64_t) offset > up->ar.total)
    {
        return CURL_SEEKFUNC_FAIL;
    }

    up->pos = (uint64_t) offset;

    return CURL_SEEKFUNC_OK;
}


static size_t
ngx_http_album_zip_job_discard(char *ptr, size_t size, size_t nmemb,
    void *data)
{
    return size * nmemb;
}


static void
ngx_http_album_zip_job_fail(ngx_http_album_zip_job_ctx_t *ctx,
    ngx_uint_t status, const char *fmt, ...)
{
    va_list  args;

    ctx->status = status;

    va_start(args, fmt);
    (void) vsnprintf(ctx->err, sizeof(ctx->err), fmt, args);
    va_end(args);
}


/* "<what>: <libcurl's message>"; what may be ctx->err itself */

static void
ngx_http_album_zip_job_curl_fail(ngx_http_album_zip_job_ctx_t *ctx,
    const char *what, CURLcode code, const char *errbuf)
{
    char    prefix[64];
    size_t  n;

    ngx_cpystrn((u_char *) prefix, (u_char *) what, sizeof(prefix));

    n = ngx_strlen(errbuf);

    while (n > 0 && (errbuf[n - 1] == '\n' || errbuf[n - 1] == '\r')) {
        n--;
    }

    if (n) {
        ngx_http_album_zip_job_fail(ctx, NGX_HTTP_BAD_GATEWAY, "%s: %.*s",
                                    prefix, (int) n, errbuf);

    } else {
        ngx_http_album_zip_job_fail(ctx, NGX_HTTP_BAD_GATEWAY, "%s: %s",
                                    prefix, curl_easy_strerror(code));
    }
}


static void
ngx_http_album_zip_job_sys_fail(ngx_http_album_zip_job_ctx_t *ctx,
    const char *what, ngx_err_t err)
{
    u_char  *p;
    u_char   msg[NGX_MAX_ERROR_STR];

    /* ngx_strerror() reads a table made at start-up: thread-safe */

    p = ngx_strerror(err, msg, sizeof(msg) - 1);
    *p = '\0';

    ngx_http_album_zip_job_fail(ctx, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                "%s: %s", what, msg);
}
