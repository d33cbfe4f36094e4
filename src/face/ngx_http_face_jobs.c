
/*
 * ngx_http_face_module: face_jobs, the old "facedetection" function.
 *
 *     POST {"api_url": ..., "sources": [{"pk", "type", "photo_url",
 *                                        "token"}, ...]}
 *
 * The answers are Lambda's (src/edge/ngx_http_edge_invoke.h).  The
 * payload is validated whole (the message names the bad field).
 * "X-Amz-Invocation-Type: Event" writes it to the spool (temporary file,
 * fsync, rename, fsync of the directory) and answers 202 once the rename
 * has succeeded (a failed fsync of the directory is logged, not
 * answered: the job is spooled, and a retry would run it twice); a full
 * queue is 429 TooManyRequestsException.  RequestResponse (the default,
 * as Lambda's) runs the job while the client waits and answers 200 with
 * one result per source; "DryRun" only validates (204).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_face.h"
#include "face_spool.h"
#include "ngx_http_edge_invoke.h"




/* writing an accepted job into the spool */

typedef struct {
    ngx_http_request_t          *request;
    ngx_http_face_spool_t       *spool;
    char                        *dir;
    char                        *tmp_dir;
    char                        *tmp;
    char                        *path;
    u_char                      *data;
    size_t                       len;
    ngx_uint_t                   nsources;
    ngx_err_t                    err;
    const char                  *what;          /* what failed */
    ngx_err_t                    dir_err;       /* the directory's fsync */
} ngx_http_face_spool_write_t;


static void ngx_http_face_jobs_body(ngx_http_request_t *r);
static ngx_int_t ngx_http_face_jobs_start(ngx_http_request_t *r);
static ngx_int_t ngx_http_face_jobs_sync(ngx_http_request_t *r,
    ngx_str_t *body);
static ngx_int_t ngx_http_face_jobs_spool(ngx_http_request_t *r,
    ngx_str_t *body, ngx_uint_t nsources);
static void ngx_http_face_spool_write_thread(void *data, ngx_log_t *log);
static void ngx_http_face_spool_write_done(void *data);



static ngx_uint_t  ngx_http_face_jobs_seq;


/* ------------------------------------------------------------------------
 * the handler
 */


ngx_int_t
ngx_http_face_jobs_handler(ngx_http_request_t *r)
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

    rc = ngx_http_read_client_request_body(r, ngx_http_face_jobs_body);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}


static void
ngx_http_face_jobs_body(ngx_http_request_t *r)
{
    ngx_int_t  rc;

    rc = ngx_http_face_jobs_start(r);

    if (rc == NGX_DONE) {
        /* a task or a job finalizes the request */
        return;
    }

    ngx_http_finalize_request(r, rc);
}


static ngx_int_t
ngx_http_face_jobs_start(ngx_http_request_t *r)
{
    int                   rc;
    ngx_str_t             body;
    ngx_uint_t            mode;
    face_jobs_alloc_t     hooks;
    face_jobs_payload_t   payload;
    char                  err[FACE_JOBS_ERR_LEN];

    /* RequestResponse without the header, as Lambda */
    mode = ngx_http_edge_invoke_type(r, NGX_HTTP_EDGE_INVOKE_SYNC);

    if (mode == NGX_HTTP_EDGE_INVOKE_BAD) {
        return ngx_http_edge_invoke_error(r, NGX_HTTP_BAD_REQUEST,
                   "InvalidParameterValueException",
                   "X-Amz-Invocation-Type: must be Event, RequestResponse "
                   "or DryRun");
    }

    if (ngx_http_edge_invoke_body(r, &body, NGX_HTTP_EDGE_INVOKE_COPY,
                                  "face job")
        != NGX_OK)
    {
        return ngx_http_edge_invoke_error(r, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                          "ServiceException",
                                          "the request body could not be "
                                          "read");
    }

    hooks.alloc = ngx_http_face_jobs_alloc;
    hooks.ctx = r->pool;

    rc = face_jobs_parse((char *) body.data, body.len, &hooks, &payload, err,
                         sizeof(err));

    if (rc != FACE_JOBS_OK) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "face job: refused: %s", err);

        if (rc == FACE_JOBS_ENOMEM) {
            return ngx_http_edge_invoke_error(r,
                                              NGX_HTTP_INTERNAL_SERVER_ERROR,
                                              "ServiceException", err);
        }

        return ngx_http_edge_invoke_refused(r, mode, err);
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "face job: %s, %ui sources",
                   (mode == NGX_HTTP_EDGE_INVOKE_DRYRUN) ? "DryRun"
                   : (mode == NGX_HTTP_EDGE_INVOKE_SYNC) ? "RequestResponse"
                   : "Event", payload.nsources);

    if (mode == NGX_HTTP_EDGE_INVOKE_DRYRUN) {
        return ngx_http_edge_invoke_result(r, mode, NULL, 0);
    }

    if (mode == NGX_HTTP_EDGE_INVOKE_EVENT) {

        if (payload.nsources == 0) {
            return ngx_http_edge_invoke_result(r, mode, NULL, 0);
        }

        return ngx_http_face_jobs_spool(r, &body, payload.nsources);
    }

    return ngx_http_face_jobs_sync(r, &body);
}


/* RequestResponse: the job runs while the client waits */

static ngx_int_t
ngx_http_face_jobs_sync(ngx_http_request_t *r, ngx_str_t *body)
{
    u_char                    *p;
    size_t                     len;
    ngx_pool_cleanup_t        *cln;
    face_jobs_alloc_t          hooks;
    ngx_http_face_job_t       *job;
    ngx_http_core_loc_conf_t  *clcf;
    ngx_http_face_loc_conf_t  *flcf;
    char                       err[FACE_JOBS_ERR_LEN];

    flcf = ngx_http_get_module_loc_conf(r, ngx_http_face_module);
    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    job = ngx_http_face_job_create(flcf, clcf->error_log);
    if (job == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    hooks.alloc = ngx_http_face_jobs_alloc;
    hooks.ctx = job->pool;

    len = body->len;
    p = ngx_pnalloc(job->pool, len + 1);
    if (p == NULL) {
        goto failed;
    }

    if (len) {
        ngx_memcpy(p, body->data, len);
    }

    if (face_jobs_parse((char *) p, len, &hooks, &job->payload, err,
                        sizeof(err))
        != FACE_JOBS_OK)
    {
        goto failed;
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        goto failed;
    }

    cln->handler = ngx_http_face_job_request_gone;
    cln->data = job;

    ngx_str_set(&job->name, "(request)");
    job->request = r;
    job->cleanup = cln;

    if (ngx_http_face_job_prepare(job) != NGX_OK) {
        cln->handler = NULL;
        goto failed;
    }

    ngx_http_face_job_run(job);

    return NGX_DONE;

failed:

    ngx_destroy_pool(job->pool);

    return ngx_http_edge_invoke_error(r, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                      "ServiceException",
                                      "the job could not be started");
}


/* the accepted job goes to the spool before the client hears 202 */

static ngx_int_t
ngx_http_face_jobs_spool(ngx_http_request_t *r, ngx_str_t *body,
    ngx_uint_t nsources)
{
    u_char                       *p;
    size_t                        hlen;
    uint64_t                      ms;
    ngx_str_t                    *dir;
    ngx_uint_t                    i;
    ngx_time_t                   *tp;
    ngx_http_edge_task_t         *t;
    ngx_http_face_spool_t        *spool;
    ngx_http_face_loc_conf_t     *flcf;
    ngx_http_face_main_conf_t    *fmcf;
    ngx_http_face_spool_write_t  *ctx;
    char                          name[FACE_SPOOL_NAME_LEN];
    char                          header[FACE_SPOOL_HEADER_LEN];

    flcf = ngx_http_get_module_loc_conf(r, ngx_http_face_module);
    fmcf = ngx_http_get_module_main_conf(r, ngx_http_face_module);

    spool = NULL;

    for (i = 0; i < fmcf->spools->nelts; i++) {
        spool = &((ngx_http_face_spool_t *) fmcf->spools->elts)[i];

        if (spool->conf == flcf) {
            break;
        }
    }

    if (spool == NULL || spool->conf != flcf) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    t = ngx_http_edge_task_alloc(r->pool,
                                 sizeof(ngx_http_face_spool_write_t));
    if (t == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx = t->data;
    ctx->request = r;
    ctx->spool = spool;
    ctx->nsources = nsources;

    tp = ngx_timeofday();
    ms = (uint64_t) tp->sec * 1000 + tp->msec;

    (void) face_spool_name(name, ms, (unsigned long) ngx_pid,
                           (unsigned long) ngx_http_face_jobs_seq++);

    dir = &flcf->spool->name;

    ctx->dir = ngx_http_face_path(r->pool, dir, NULL, NULL);
    ctx->tmp_dir = ngx_http_face_path(r->pool, dir, "tmp", NULL);
    ctx->tmp = ngx_http_face_path(r->pool, dir, "tmp", name);
    ctx->path = ngx_http_face_path(r->pool, dir, NULL, name);

    hlen = face_spool_header(header, nsources);

    ctx->len = hlen + nsources + 1 + body->len;
    ctx->data = ngx_pnalloc(r->pool, ctx->len);

    if (ctx->dir == NULL || ctx->tmp_dir == NULL || ctx->tmp == NULL
        || ctx->path == NULL || ctx->data == NULL)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_cpymem(ctx->data, header, hlen);
    ngx_memset(p, FACE_SPOOL_PENDING, nsources);
    p += nsources;
    *p++ = '\n';
    ngx_memcpy(p, body->data, body->len);

    t->task->handler = ngx_http_face_spool_write_thread;
    t->request = r;
    t->module = "face job";
    t->work = "spool write";
    t->timeout = flcf->thread_timeout;
    t->done = ngx_http_face_spool_write_done;
    t->json_error = "the spool is slow: the job may or may not have been "
                    "accepted";

    if (ngx_http_edge_task_post(t, flcf->thread_pool, &flcf->thread_pool_name)
        != NGX_OK)
    {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "face job: thread pool \"%V\" is full, job of %ui "
                      "sources refused (429)", &flcf->thread_pool_name,
                      nsources);

        return ngx_http_edge_invoke_throttled(r, 1,
                   "Rate exceeded: the job queue is full, nothing was "
                   "queued");
    }

    return NGX_DONE;
}


/* in a thread: temporary file, fsync, rename, fsync of the directory */

static void
ngx_http_face_spool_write_thread(void *data, ngx_log_t *log)
{
    ngx_http_face_spool_write_t *ctx = data;

    size_t    done;
    ssize_t   n;
    ngx_fd_t  fd;

    if (mkdir(ctx->tmp_dir, 0700) == -1 && ngx_errno != NGX_EEXIST) {
        ctx->what = "mkdir";
        ctx->err = ngx_errno;
        return;
    }

    fd = open(ctx->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd == -1) {
        ctx->what = "open";
        ctx->err = ngx_errno;
        return;
    }

    for (done = 0; done < ctx->len; done += n) {
        n = write(fd, ctx->data + done, ctx->len - done);

        if (n == -1) {
            if (ngx_errno == NGX_EINTR) {
                n = 0;
                continue;
            }

            ctx->what = "write";
            goto failed;
        }
    }

    if (fsync(fd) == -1) {
        ctx->what = "fsync";
        goto failed;
    }

    if (close(fd) == -1) {
        fd = -1;
        ctx->what = "close";
        goto failed;
    }

    fd = -1;

    if (rename(ctx->tmp, ctx->path) == -1) {
        ctx->what = "rename";
        goto failed;
    }

    /*
     * The rename itself must survive a power cut; if that fails the job
     * is spooled all the same, and runs: the client is told so
     */

    fd = open(ctx->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (fd == -1 || fsync(fd) == -1) {
        ctx->dir_err = ngx_errno;

        if (fd != -1) {
            (void) close(fd);
        }

        return;
    }

    (void) close(fd);

    ngx_log_debug2(NGX_LOG_DEBUG_CORE, log, 0,
                   "face job spool: \"%s\" written, %uz bytes", ctx->path,
                   ctx->len);

    return;

failed:

    ctx->err = ngx_errno;

    if (fd != -1) {
        (void) close(fd);
    }

    (void) unlink(ctx->tmp);
}


static void
ngx_http_face_spool_write_done(void *data)
{
    ngx_http_face_spool_write_t *ctx = data;

    ngx_int_t            rc;
    ngx_connection_t    *c;
    ngx_http_request_t  *r;

    r = ctx->request;
    c = r->connection;

    if (ctx->what) {
        /* nothing was spooled: a 5xx, which the SDKs retry */

        ngx_log_error(NGX_LOG_CRIT, c->log, ctx->err,
                      "face job: spool: %s \"%s\" failed", ctx->what,
                      ctx->tmp);

        rc = ngx_http_edge_invoke_error(r, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                        "ServiceException",
                                        "the job could not be written to "
                                        "the spool");
        goto done;
    }

    if (ctx->dir_err) {
        ngx_log_error(NGX_LOG_CRIT, c->log, ctx->dir_err,
                      "face job: spool: fsync of the directory \"%s\" "
                      "failed after \"%s\" was renamed into it: the job is "
                      "accepted, but a power cut may lose it", ctx->dir,
                      ctx->path);
    }

    ngx_log_error(NGX_LOG_INFO, c->log, 0,
                  "face job %s: accepted, %ui sources",
                  ctx->path + ngx_strlen(ctx->dir) + 1, ctx->nsources);

    ngx_http_edge_metrics_add(EDGE_METRICS_FACE_JOBS_ACCEPTED, 1);

    rc = ngx_http_edge_invoke_result(r, NGX_HTTP_EDGE_INVOKE_EVENT, NULL, 0);

    ngx_http_face_spool_kick(ctx->spool);

done:

    ngx_http_finalize_request(r, rc);
}


void *
ngx_http_face_jobs_alloc(void *ctx, size_t size)
{
    return ngx_palloc(ctx, size);
}
