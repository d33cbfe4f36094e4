
/*
 * ngx_http_face_module: face_jobs, the old "facedetection" function.
 *
 *     POST {"api_url": ..., "sources": [{"pk", "type", "photo_url",
 *                                        "token"}, ...]}
 *
 * The payload is validated whole (400 naming the bad field), written to
 * the spool (temporary file, fsync, rename, fsync of the directory) and
 * answered 202 {"accepted": N}, with or without "X-Amz-Invocation-Type:
 * Event".  "RequestResponse" runs the job while the client waits and
 * answers 200 with one result per source; "DryRun" only validates (204).
 *
 * Spooled jobs are run by whichever worker claims them first: every
 * worker scans the spool (at start, every second while idle, and at once
 * after it accepted or finished a job) and takes a job file with an
 * exclusive flock().  The lock goes with the process, so a job whose
 * worker died is free for the next scan; a job that disappeared or was
 * renamed between the scan and the lock is skipped.
 *
 * A crash between the write of a temporary file and its rename leaves it
 * in tmp/ (the client never heard 202: nothing is lost); the scans, the
 * first one of each worker and one a minute after, remove those not
 * modified for a minute (FACE_SPOOL_TMP_STALE), so that a file a live
 * worker, of this generation or an old one, is writing is never removed.
 * Were a disk to stall a write for that long, its rename fails and the
 * client hears 500: still nothing accepted is lost.
 *
 * Per source, on the thread pool: download, decode and encode, then the
 * callback; a callback without an answer or with a 5xx is retried after
 * a pause (1 s, doubled each time, at most 60 s: an event-loop timer, no
 * thread sleeps) up to face_callback_retries times; any other answer is
 * final.  Once a source's outcome is final, its state byte in the job
 * file is rewritten and synced, so a job resumed after a restart does
 * not call back twice.  At most face_parallel sources of a job are in
 * flight.  When every source is final the job file is removed, or moved
 * to failed/ with a .reason file when a source failed.
 *
 * A worker that is leaving (reload, stop, SIGTERM) starts no network
 * step of a spooled job: a task in the pool's queue does nothing, a
 * download in flight stops, an encoded source is not called back; those
 * sources stay pending, no failure is recorded.  A callback in flight
 * finishes and records its outcome.  The job file, with its progress, is
 * left to the next worker.  After SIGTERM the event loop does not run
 * again and the master kills the worker ~3 s later: the threads check
 * for themselves (ngx_http_face_leaving()), so that no callback starts
 * that the kill could cut short and the next worker repeat.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <dirent.h>
#include <sys/file.h>

#include "ngx_http_face.h"
#include "face_spool.h"


#define NGX_HTTP_FACE_JOBS_EVENT       0
#define NGX_HTTP_FACE_JOBS_SYNC        1
#define NGX_HTTP_FACE_JOBS_DRYRUN      2
#define NGX_HTTP_FACE_JOBS_BAD         3

#define NGX_HTTP_FACE_SRC_PENDING      0
#define NGX_HTTP_FACE_SRC_RUNNING      1
#define NGX_HTTP_FACE_SRC_DONE         2

#define NGX_HTTP_FACE_OP_FETCH         1
#define NGX_HTTP_FACE_OP_CALLBACK      2

#define NGX_HTTP_FACE_DELIVERED        1
#define NGX_HTTP_FACE_FAILED           2

#define NGX_HTTP_FACE_SCAN_MS          1000
#define NGX_HTTP_FACE_WAKE_MS          100
#define NGX_HTTP_FACE_HOLD_MS          3600000
#define NGX_HTTP_FACE_BACKOFF_MS       1000
#define NGX_HTTP_FACE_BACKOFF_MAX_MS   60000

/* a job file larger than this is not a job file */
#define NGX_HTTP_FACE_MAX_JOB_FILE     (64 * 1024 * 1024)


typedef struct ngx_http_face_job_s  ngx_http_face_job_t;


typedef struct {
    ngx_http_face_job_t         *job;
    ngx_uint_t                   index;
    face_jobs_source_t          *src;
    char                        *url;           /* of the callback */
    ngx_uint_t                   state;
    ngx_http_edge_task_t        *task;
    ngx_event_t                  retry;

    /* the thread's input and output */
    ngx_uint_t                   op;
    ngx_uint_t                   attempts;      /* callbacks made */
    char                        *body;          /* malloc()ed */
    size_t                       body_len;
    ngx_uint_t                   nfaces;
    long                         status;        /* the callback's */
    ngx_uint_t                   outcome;       /* 0: retry */
    ngx_uint_t                   left;          /* the worker is leaving */
    ngx_err_t                    write_err;     /* of the state byte */
    char                         err[NGX_HTTP_FACE_ERR_LEN];
} ngx_http_face_source_t;


struct ngx_http_face_job_s {
    ngx_pool_t                  *pool;
    ngx_log_t                   *log;
    ngx_http_face_loc_conf_t    *conf;
    const face_models_t         *models;
    ngx_http_face_net_conf_t     fetch;
    ngx_http_face_net_conf_t     callback;
    face_jobs_payload_t          payload;
    ngx_http_face_source_t      *sources;
    ngx_uint_t                   next;          /* to start */
    ngx_uint_t                   running;
    ngx_uint_t                   finished;
    ngx_uint_t                   failed;
    ngx_uint_t                   tasks;         /* posted, not done */
    ngx_str_t                    name;          /* for the log */

    ngx_http_request_t          *request;       /* RequestResponse */
    ngx_pool_cleanup_t          *cleanup;       /* in its pool */

    ngx_http_face_spool_t       *spool;         /* spooled */
    ngx_fd_t                     fd;            /* flock()ed */
    off_t                        state_off;
    char                        *path;
    char                        *failed_dir;
    char                        *failed_path;
    char                        *reason_path;
    u_char                      *reasons;
    size_t                       reasons_len;
    ngx_http_edge_task_t        *finish;
    ngx_err_t                    finish_err;
    const char                  *finish_what;

    ngx_event_t                  hold;          /* keeps the worker */
    ngx_event_t                  wake;          /* after a full queue */
};


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
} ngx_http_face_spool_write_t;


/* a scan of the spool for a job to claim */

typedef struct {
    ngx_http_face_spool_t       *spool;
    char                        *dir;
    char                        *tmp_dir;
    ngx_uint_t                   sweep;         /* tmp/ too */

    /* set by the thread */
    ngx_uint_t                   swept;         /* files removed */
    ngx_err_t                    sweep_err;
    const char                  *sweep_what;
    ngx_fd_t                     fd;
    char                         name[FACE_SPOOL_NAME_LEN];
    u_char                      *data;          /* malloc()ed */
    size_t                       len;
    ngx_err_t                    err;
    const char                  *what;
} ngx_http_face_scan_t;


static void ngx_http_face_jobs_body(ngx_http_request_t *r);
static ngx_int_t ngx_http_face_jobs_start(ngx_http_request_t *r);
static ngx_int_t ngx_http_face_jobs_spool(ngx_http_request_t *r,
    ngx_str_t *body, ngx_uint_t nsources);
static void ngx_http_face_spool_write_thread(void *data, ngx_log_t *log);
static void ngx_http_face_spool_write_done(void *data);
static ngx_uint_t ngx_http_face_jobs_mode(ngx_http_request_t *r);
static ngx_int_t ngx_http_face_jobs_read_body(ngx_http_request_t *r,
    ngx_str_t *body);
static void *ngx_http_face_jobs_alloc(void *ctx, size_t size);

static ngx_http_face_job_t *ngx_http_face_job_create(
    ngx_http_face_loc_conf_t *conf, ngx_log_t *log);
static ngx_int_t ngx_http_face_job_prepare(ngx_http_face_job_t *job);
static void ngx_http_face_job_run(ngx_http_face_job_t *job);
static ngx_int_t ngx_http_face_job_post(ngx_http_face_source_t *s);
static void ngx_http_face_source_thread(void *data, ngx_log_t *log);
static void ngx_http_face_source_fetch(ngx_http_face_source_t *s,
    ngx_http_face_thread_t *t);
static void ngx_http_face_source_callback(ngx_http_face_source_t *s,
    ngx_http_face_thread_t *t);
static void ngx_http_face_source_done(void *data);
static void ngx_http_face_source_retry(ngx_event_t *ev);
static void ngx_http_face_source_final(ngx_http_face_source_t *s);
static void ngx_http_face_source_drop(ngx_http_face_source_t *s);
static void ngx_http_face_job_wake(ngx_event_t *ev);
static void ngx_http_face_job_hold(ngx_event_t *ev);
static void ngx_http_face_job_respond(ngx_http_face_job_t *job);
static void ngx_http_face_job_request_gone(void *data);
static void ngx_http_face_job_finish(ngx_http_face_job_t *job);
static void ngx_http_face_job_finish_thread(void *data, ngx_log_t *log);
static void ngx_http_face_job_finish_done(void *data);
static void ngx_http_face_job_release(ngx_http_face_job_t *job);
static void ngx_http_face_job_reason(ngx_http_face_job_t *job,
    ngx_http_face_source_t *s, const char *err);

static void ngx_http_face_spool_timer(ngx_event_t *ev);
static void ngx_http_face_spool_kick(ngx_http_face_spool_t *spool);
static void ngx_http_face_scan_thread(void *data, ngx_log_t *log);
static void ngx_http_face_sweep_thread(ngx_http_face_scan_t *scan);
static int ngx_http_face_scan_cmp(const void *a, const void *b);
static void ngx_http_face_scan_done(void *data);
static void ngx_http_face_spool_load(ngx_http_face_spool_t *spool,
    ngx_http_face_scan_t *scan);
static char *ngx_http_face_path(ngx_pool_t *pool, ngx_str_t *dir,
    const char *sub, const char *name);


static ngx_str_t  ngx_http_face_jobs_type =
    ngx_string("X-Amz-Invocation-Type");

static ngx_uint_t  ngx_http_face_jobs_seq;


/* ------------------------------------------------------------------------
 * the handler
 */


ngx_int_t
ngx_http_face_jobs_handler(ngx_http_request_t *r)
{
    ngx_int_t  rc;

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
    int                        rc;
    u_char                    *p;
    size_t                     len;
    ngx_str_t                  body;
    ngx_uint_t                 mode;
    ngx_pool_cleanup_t        *cln;
    face_jobs_alloc_t          hooks;
    face_jobs_payload_t        payload;
    ngx_http_face_job_t       *job;
    ngx_http_core_loc_conf_t  *clcf;
    ngx_http_face_loc_conf_t  *flcf;
    char                       err[FACE_JOBS_ERR_LEN];

    flcf = ngx_http_get_module_loc_conf(r, ngx_http_face_module);

    mode = ngx_http_face_jobs_mode(r);

    if (mode == NGX_HTTP_FACE_JOBS_BAD) {
        return ngx_http_edge_json_error(r, NGX_HTTP_BAD_REQUEST,
                   "X-Amz-Invocation-Type: must be Event, RequestResponse "
                   "or DryRun");
    }

    if (ngx_http_face_jobs_read_body(r, &body) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    hooks.alloc = ngx_http_face_jobs_alloc;
    hooks.ctx = r->pool;

    rc = face_jobs_parse((char *) body.data, body.len, &hooks, &payload, err,
                         sizeof(err));

    if (rc != FACE_JOBS_OK) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "face job: refused: %s", err);

        return ngx_http_edge_json_error(r, (rc == FACE_JOBS_ENOMEM)
                                           ? NGX_HTTP_INTERNAL_SERVER_ERROR
                                           : NGX_HTTP_BAD_REQUEST, err);
    }

    if (mode == NGX_HTTP_FACE_JOBS_DRYRUN) {
        r->headers_out.status = NGX_HTTP_NO_CONTENT;
        r->headers_out.content_length_n = 0;
        r->header_only = 1;

        return ngx_http_send_header(r);
    }

    if (mode == NGX_HTTP_FACE_JOBS_EVENT) {

        if (payload.nsources == 0) {
            return ngx_http_edge_json_send(r, NGX_HTTP_ACCEPTED,
                                           (u_char *) "{\"accepted\": 0}",
                                           sizeof("{\"accepted\": 0}") - 1);
        }

        return ngx_http_face_jobs_spool(r, &body, payload.nsources);
    }

    /* RequestResponse: the job runs while the client waits */

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    job = ngx_http_face_job_create(flcf, clcf->error_log);
    if (job == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    hooks.ctx = job->pool;

    len = body.len;
    p = ngx_pnalloc(job->pool, len + 1);
    if (p == NULL) {
        goto failed;
    }

    if (len) {
        ngx_memcpy(p, body.data, len);
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

    return NGX_HTTP_INTERNAL_SERVER_ERROR;
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
        return ngx_http_edge_json_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                        "the thread pool queue is full");
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

    /* the rename itself must survive a power cut */

    fd = open(ctx->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (fd == -1 || fsync(fd) == -1) {
        ctx->what = "fsync of the spool directory";
        ctx->err = ngx_errno;

        if (fd != -1) {
            (void) close(fd);
        }

        return;
    }

    (void) close(fd);

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

    u_char              *json;
    ngx_int_t            rc;
    ngx_connection_t    *c;
    ngx_http_request_t  *r;

    r = ctx->request;
    c = r->connection;

    if (ctx->what) {
        ngx_log_error(NGX_LOG_CRIT, c->log, ctx->err,
                      "face job: spool: %s \"%s\" failed", ctx->what,
                      ctx->tmp);

        rc = ngx_http_edge_json_error(r, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                      "the job could not be written to the "
                                      "spool");
        goto done;
    }

    ngx_log_error(NGX_LOG_INFO, c->log, 0,
                  "face job %s: accepted, %ui sources",
                  ctx->path + ngx_strlen(ctx->dir) + 1, ctx->nsources);

    json = ngx_pnalloc(r->pool, sizeof("{\"accepted\": }") + NGX_INT_T_LEN);
    if (json == NULL) {
        rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
        goto done;
    }

    rc = ngx_http_edge_json_send(r, NGX_HTTP_ACCEPTED, json,
                                 ngx_sprintf(json, "{\"accepted\": %ui}",
                                             ctx->nsources)
                                 - json);

    ngx_http_face_spool_kick(ctx->spool);

done:

    ngx_http_finalize_request(r, rc);
}


/* Event (also without the header), RequestResponse or DryRun */

static ngx_uint_t
ngx_http_face_jobs_mode(ngx_http_request_t *r)
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

        if (h[i].key.len != ngx_http_face_jobs_type.len
            || ngx_strncasecmp(h[i].key.data, ngx_http_face_jobs_type.data,
                               ngx_http_face_jobs_type.len)
               != 0)
        {
            continue;
        }

        v = &h[i].value;

        if (v->len == 5
            && ngx_strncasecmp(v->data, (u_char *) "Event", 5) == 0)
        {
            return NGX_HTTP_FACE_JOBS_EVENT;
        }

        if (v->len == 15
            && ngx_strncasecmp(v->data, (u_char *) "RequestResponse", 15)
               == 0)
        {
            return NGX_HTTP_FACE_JOBS_SYNC;
        }

        if (v->len == 6
            && ngx_strncasecmp(v->data, (u_char *) "DryRun", 6) == 0)
        {
            return NGX_HTTP_FACE_JOBS_DRYRUN;
        }

        return NGX_HTTP_FACE_JOBS_BAD;
    }

    return NGX_HTTP_FACE_JOBS_EVENT;
}


/*
 * The request body in one piece; a body that went to a temporary file
 * (larger than client_body_buffer_size) is read back from it: payloads
 * are a few kilobytes.
 */

static ngx_int_t
ngx_http_face_jobs_read_body(ngx_http_request_t *r, ngx_str_t *body)
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

    len = 0;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        len += ngx_buf_size(cl->buf);
    }

    p = ngx_pnalloc(r->pool, len + 1);
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
                          "face job: reading the request body from \"%V\" "
                          "failed", &b->file->name);
            return NGX_ERROR;
        }

        p += n;
    }

    *p = '\0';

    return NGX_OK;
}


static void *
ngx_http_face_jobs_alloc(void *ctx, size_t size)
{
    return ngx_palloc(ctx, size);
}


/* ------------------------------------------------------------------------
 * a job, on the event loop
 */


static ngx_http_face_job_t *
ngx_http_face_job_create(ngx_http_face_loc_conf_t *conf, ngx_log_t *log)
{
    ngx_pool_t                 *pool;
    ngx_http_face_job_t        *job;
    ngx_http_face_main_conf_t  *fmcf;

    pool = ngx_create_pool(NGX_DEFAULT_POOL_SIZE, log);
    if (pool == NULL) {
        return NULL;
    }

    job = ngx_pcalloc(pool, sizeof(ngx_http_face_job_t));
    if (job == NULL) {
        ngx_destroy_pool(pool);
        return NULL;
    }

    fmcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                               ngx_http_face_module);

    job->pool = pool;
    job->log = log;
    job->conf = conf;
    job->models = fmcf->models;
    job->fd = NGX_INVALID_FILE;

    job->fetch.timeout_ms = (long) conf->fetch_timeout;
    job->fetch.max_input = conf->max_input;
    job->fetch.allow_private = conf->allow_private;
    job->fetch.host_names = conf->host_names;
    job->fetch.host_lens = conf->host_lens;
    job->fetch.nhosts = conf->allow_hosts ? conf->allow_hosts->nelts : 0;

    job->callback = job->fetch;
    job->callback.timeout_ms = (long) conf->callback_timeout;

    job->hold.handler = ngx_http_face_job_hold;
    job->hold.data = job;
    job->hold.log = log;

    job->wake.handler = ngx_http_face_job_wake;
    job->wake.data = job;
    job->wake.log = log;
    job->wake.cancelable = 1;

    return job;
}


/* the sources' state, their tasks and callback URLs */

static ngx_int_t
ngx_http_face_job_prepare(ngx_http_face_job_t *job)
{
    size_t                   len;
    ngx_uint_t               i, n;
    ngx_http_face_source_t  *s;

    n = job->payload.nsources;

    job->sources = ngx_pcalloc(job->pool,
                               n * sizeof(ngx_http_face_source_t) + 1);
    if (job->sources == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < n; i++) {
        s = &job->sources[i];

        s->job = job;
        s->index = i;
        s->src = &job->payload.sources[i];

        len = face_jobs_callback_url(NULL, 0, &job->payload, s->src);

        s->url = ngx_pnalloc(job->pool, len + 1);
        if (s->url == NULL) {
            return NGX_ERROR;
        }

        (void) face_jobs_callback_url(s->url, len + 1, &job->payload,
                                      s->src);

        s->task = ngx_http_edge_task_alloc(job->pool, 0);
        if (s->task == NULL) {
            return NGX_ERROR;
        }

        s->task->task->ctx = s;
        s->task->task->handler = ngx_http_face_source_thread;
        s->task->data = s;
        s->task->log = job->log;
        s->task->module = "face job";
        s->task->work = "source";
        s->task->name = job->name;
        s->task->timeout = job->conf->thread_timeout;
        s->task->done = ngx_http_face_source_done;

        s->retry.handler = ngx_http_face_source_retry;
        s->retry.data = s;
        s->retry.log = job->log;
        s->retry.cancelable = 1;
    }

    return NGX_OK;
}


/* start what may start; finish, or let go when the worker is leaving */

static void
ngx_http_face_job_run(ngx_http_face_job_t *job)
{
    ngx_uint_t               n, leaving;
    ngx_http_face_source_t  *s;

    n = job->payload.nsources;
    leaving = (job->spool != NULL && ngx_http_face_leaving());

    while (!leaving && job->running < job->conf->parallel && job->next < n) {
        s = &job->sources[job->next];

        if (s->state != NGX_HTTP_FACE_SRC_PENDING) {
            job->next++;
            continue;
        }

        s->op = NGX_HTTP_FACE_OP_FETCH;

        if (ngx_http_face_job_post(s) != NGX_OK) {
            /* the queue is full: try again shortly */

            if (!job->wake.timer_set) {
                ngx_add_timer(&job->wake, NGX_HTTP_FACE_WAKE_MS);
            }

            break;
        }

        s->state = NGX_HTTP_FACE_SRC_RUNNING;
        job->running++;
        job->next++;
    }

    if (job->tasks == 0 && job->hold.timer_set) {
        ngx_del_timer(&job->hold);
    }

    if (job->running) {
        return;
    }

    if (leaving) {
        ngx_log_error(NGX_LOG_INFO, job->log, 0,
                      "face job %V: left for the next worker, %ui of %ui "
                      "sources done", &job->name, job->finished, n);
        ngx_http_face_job_release(job);
        return;
    }

    if (job->next == n && job->finished == n) {
        ngx_http_face_job_finish(job);
    }
}


static ngx_int_t
ngx_http_face_job_post(ngx_http_face_source_t *s)
{
    ngx_http_face_job_t  *job;

    job = s->job;

    if (ngx_http_edge_task_post(s->task, job->conf->thread_pool,
                                &job->conf->thread_pool_name)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    job->tasks++;

    /* a worker shutting down waits for the tasks in flight */

    if (!job->hold.timer_set) {
        ngx_add_timer(&job->hold, NGX_HTTP_FACE_HOLD_MS);
    }

    return NGX_OK;
}


/* in a thread: download, encode, call back; record a final outcome */

static void
ngx_http_face_source_thread(void *data, ngx_log_t *log)
{
    ngx_http_face_source_t *s = data;

    u_char                   b;
    ngx_http_face_job_t     *job;
    ngx_http_face_thread_t  *t;

    job = s->job;

    ngx_http_edge_nice(log);

    s->outcome = 0;
    s->left = 0;
    s->err[0] = '\0';

    if (job->spool && ngx_http_face_leaving()) {
        /* queued before the worker began to leave */
        s->left = 1;
        return;
    }

    t = ngx_http_face_thread(job->models, s->err, sizeof(s->err));

    if (t == NULL) {
        s->outcome = NGX_HTTP_FACE_FAILED;

    } else if (s->op == NGX_HTTP_FACE_OP_FETCH) {
        ngx_http_face_source_fetch(s, t);

        if (s->outcome == 0 && !s->left) {
            ngx_http_face_source_callback(s, t);
        }

    } else {
        ngx_http_face_source_callback(s, t);
    }

    if (s->left) {
        ngx_log_error(NGX_LOG_INFO, log, 0,
                      "face job %V: %s %L: left for the next worker, "
                      "the worker is leaving", &job->name,
                      face_jobs_type_name(s->src->type), s->src->pk);
        return;
    }

    if (s->outcome == 0 || job->fd == NGX_INVALID_FILE) {
        return;
    }

    /* the outcome is final: a resumed job must not do it again */

    b = (s->outcome == NGX_HTTP_FACE_DELIVERED) ? FACE_SPOOL_DELIVERED
                                                : FACE_SPOOL_FAILED;

    if (pwrite(job->fd, &b, 1, job->state_off + s->index) != 1
        || fdatasync(job->fd) == -1)
    {
        s->write_err = ngx_errno;
    }
}


static void
ngx_http_face_source_fetch(ngx_http_face_source_t *s,
    ngx_http_face_thread_t *t)
{
    u_char               *data;
    size_t                len, i;
    float                *enc;
    ngx_int_t             rv;
    face_status_e         rc;
    face_result_t         res;
    ngx_http_face_job_t  *job;
    char                  err[NGX_HTTP_FACE_ERR_LEN];

    job = s->job;

    rv = ngx_http_face_download(t, &job->fetch, s->src->photo_url.data,
                                &data, &len, s->err, sizeof(s->err));

    if (rv == NGX_ABORT) {
        s->left = 1;
        return;
    }

    if (rv != NGX_OK) {
        s->outcome = NGX_HTTP_FACE_FAILED;
        return;
    }

    ngx_memzero(&res, sizeof(face_result_t));
    err[0] = '\0';

    rc = face_encode(t->face, data, len, &job->conf->options, &res, err,
                     sizeof(err));

    free(data);

    if (rc != FACE_OK) {
        face_result_free(&res);
        ngx_snprintf((u_char *) s->err, sizeof(s->err), "encode: %s: %*s%Z",
                     face_status_text(rc), ngx_min(ngx_strlen(err), 160),
                     err);
        s->outcome = NGX_HTTP_FACE_FAILED;
        return;
    }

    enc = NULL;

    if (res.nfaces) {
        enc = malloc(res.nfaces * FACE_DESCRIPTOR * sizeof(float));
        if (enc == NULL) {
            face_result_free(&res);
            goto nomem;
        }

        for (i = 0; i < res.nfaces; i++) {
            ngx_memcpy(&enc[i * FACE_DESCRIPTOR], res.faces[i].encoding,
                       FACE_DESCRIPTOR * sizeof(float));
        }
    }

    s->nfaces = res.nfaces;
    face_result_free(&res);

    s->body = face_jobs_callback_body(s->src->token.data, s->src->token.len,
                                      enc, s->nfaces, &s->body_len);
    free(enc);

    if (s->body == NULL) {
        goto nomem;
    }

    return;

nomem:

    ngx_snprintf((u_char *) s->err, sizeof(s->err), "out of memory%Z");
    s->outcome = NGX_HTTP_FACE_FAILED;
}


static void
ngx_http_face_source_callback(ngx_http_face_source_t *s,
    ngx_http_face_thread_t *t)
{
    ngx_http_face_job_t  *job;

    job = s->job;

    /* the last moment to let go: a callback started may be cut short */

    if (job->spool && ngx_http_face_leaving()) {
        s->left = 1;
        return;
    }

    s->attempts++;

    s->status = ngx_http_face_post(t, &job->callback, s->url, s->body,
                                   s->body_len, s->err, sizeof(s->err));

    switch (face_jobs_verdict(s->status)) {

    case FACE_JOBS_DELIVERED:
        s->outcome = NGX_HTTP_FACE_DELIVERED;
        break;

    case FACE_JOBS_REJECTED:
        s->outcome = NGX_HTTP_FACE_FAILED;
        break;

    default: /* FACE_JOBS_RETRY */
        if (s->attempts > job->conf->callback_retries) {
            s->outcome = NGX_HTTP_FACE_FAILED;
        }
    }
}


static void
ngx_http_face_source_done(void *data)
{
    ngx_http_face_source_t *s = data;

    ngx_msec_t            ms;
    ngx_http_face_job_t  *job;

    job = s->job;
    job->tasks--;

    if (s->write_err) {
        ngx_log_error(NGX_LOG_CRIT, job->log, s->write_err,
                      "face job %V: recording the outcome of sources[%ui] "
                      "failed", &job->name, s->index);
        s->write_err = 0;
    }

    if (s->outcome) {
        ngx_http_face_source_final(s);
        ngx_http_face_job_run(job);
        return;
    }

    if (s->left || (job->spool && ngx_http_face_leaving())) {
        ngx_http_face_source_drop(s);
        ngx_http_face_job_run(job);
        return;
    }

    ms = (ngx_msec_t) face_jobs_backoff_ms(s->attempts,
                                           NGX_HTTP_FACE_BACKOFF_MS,
                                           NGX_HTTP_FACE_BACKOFF_MAX_MS);

    ngx_log_error(NGX_LOG_INFO, job->log, 0,
                  "face job %V: %s %L: %s, attempt %ui of %ui, again in "
                  "%M ms", &job->name, face_jobs_type_name(s->src->type),
                  s->src->pk, s->err, s->attempts,
                  job->conf->callback_retries + 1, ms);

    s->op = NGX_HTTP_FACE_OP_CALLBACK;
    ngx_add_timer(&s->retry, ms);

    ngx_http_face_job_run(job);
}


static void
ngx_http_face_source_retry(ngx_event_t *ev)
{
    ngx_http_face_source_t *s = ev->data;

    ngx_http_face_job_t  *job;

    job = s->job;

    if (job->spool && ngx_http_face_leaving()) {
        ngx_http_face_source_drop(s);
        ngx_http_face_job_run(job);
        return;
    }

    if (ngx_http_face_job_post(s) != NGX_OK) {
        ngx_add_timer(&s->retry, NGX_HTTP_FACE_WAKE_MS);
    }
}


/* each outcome is logged once, with the source's type and pk */

static void
ngx_http_face_source_final(ngx_http_face_source_t *s)
{
    ngx_http_face_job_t  *job;

    job = s->job;

    if (s->outcome == NGX_HTTP_FACE_DELIVERED) {
        ngx_log_error(NGX_LOG_INFO, job->log, 0,
                      "face job %V: %s %L: delivered %ui encodings "
                      "(HTTP %l)", &job->name,
                      face_jobs_type_name(s->src->type), s->src->pk,
                      s->nfaces, s->status);

    } else {
        ngx_log_error(NGX_LOG_ERR, job->log, 0,
                      "face job %V: %s %L: failed: %s", &job->name,
                      face_jobs_type_name(s->src->type), s->src->pk,
                      s->err);

        job->failed++;
        ngx_http_face_job_reason(job, s, s->err);
    }

    free(s->body);
    s->body = NULL;

    s->state = NGX_HTTP_FACE_SRC_DONE;
    job->running--;
    job->finished++;
}


/* leaving: the source stays pending in the job file */

static void
ngx_http_face_source_drop(ngx_http_face_source_t *s)
{
    free(s->body);
    s->body = NULL;
    s->attempts = 0;
    s->left = 0;

    s->state = NGX_HTTP_FACE_SRC_PENDING;
    s->job->running--;
}


static void
ngx_http_face_job_wake(ngx_event_t *ev)
{
    ngx_http_face_job_run(ev->data);
}


static void
ngx_http_face_job_hold(ngx_event_t *ev)
{
    ngx_add_timer(ev, NGX_HTTP_FACE_HOLD_MS);
}


static void
ngx_http_face_job_reason(ngx_http_face_job_t *job, ngx_http_face_source_t *s,
    const char *err)
{
    u_char  *p;
    size_t   len;

    len = job->reasons_len + sizeof("sources[]:   \n") + NGX_INT_T_LEN * 2
          + sizeof("reference") + ngx_strlen(err);

    p = ngx_pnalloc(job->pool, len);
    if (p == NULL) {
        return;
    }

    if (job->reasons_len) {
        ngx_memcpy(p, job->reasons, job->reasons_len);
    }

    job->reasons_len = ngx_sprintf(p + job->reasons_len,
                                   "sources[%ui]: %s %L: %s\n", s->index,
                                   face_jobs_type_name(s->src->type),
                                   s->src->pk, err)
                       - p;
    job->reasons = p;
}


/* RequestResponse: one result per source */

static void
ngx_http_face_job_respond(ngx_http_face_job_t *job)
{
    u_char                  *json, *p;
    size_t                   len, n;
    ngx_int_t                rc;
    ngx_uint_t               i;
    ngx_connection_t        *c;
    ngx_http_request_t      *r;
    ngx_http_face_source_t  *s;

    r = job->request;
    c = r->connection;

    /* the job's pool goes before the request's */
    job->request = NULL;
    job->cleanup->handler = NULL;

    ngx_http_set_log_request(c->log, r);

    len = sizeof("{\"results\": []}");

    for (i = 0; i < job->payload.nsources; i++) {
        s = &job->sources[i];
        n = ngx_strlen(s->err);

        len += sizeof("{\"pk\": , \"type\": \"reference\", \"status\": "
                      "\"delivered\", \"encodings\": , \"error\": \"\"}, ")
               + NGX_INT_T_LEN * 2 + n
               + ngx_escape_json(NULL, (u_char *) s->err, n);
    }

    json = ngx_pnalloc(r->pool, len);
    if (json == NULL) {
        rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
        goto done;
    }

    p = ngx_cpymem(json, "{\"results\": [", sizeof("{\"results\": [") - 1);

    for (i = 0; i < job->payload.nsources; i++) {
        s = &job->sources[i];

        p = ngx_sprintf(p, "%s{\"pk\": %L, \"type\": \"%s\", ",
                        i ? ", " : "", s->src->pk,
                        face_jobs_type_name(s->src->type));

        if (s->outcome == NGX_HTTP_FACE_DELIVERED) {
            p = ngx_sprintf(p, "\"status\": \"delivered\", "
                               "\"encodings\": %ui}", s->nfaces);
            continue;
        }

        p = ngx_cpymem(p, "\"status\": \"failed\", \"error\": \"",
                       sizeof("\"status\": \"failed\", \"error\": \"") - 1);
        p = (u_char *) ngx_escape_json(p, (u_char *) s->err,
                                       ngx_strlen(s->err));
        *p++ = '"';
        *p++ = '}';
    }

    p = ngx_cpymem(p, "]}", 2);

    rc = ngx_http_edge_json_send(r, NGX_HTTP_OK, json, p - json);

done:

    ngx_http_finalize_request(r, rc);
    ngx_http_run_posted_requests(c);
}


static void
ngx_http_face_job_request_gone(void *data)
{
    ngx_http_face_job_t *job = data;

    /* the job goes on; its results have nowhere to go */
    job->request = NULL;
}


static void
ngx_http_face_job_finish(ngx_http_face_job_t *job)
{
    ngx_http_face_spool_t  *spool;

    if (job->spool == NULL) {
        ngx_log_error(NGX_LOG_INFO, job->log, 0,
                      "face job %V: done, %ui delivered, %ui failed",
                      &job->name, job->finished - job->failed, job->failed);

        if (job->request) {
            ngx_http_face_job_respond(job);
        }

        ngx_http_face_job_release(job);
        return;
    }

    spool = job->spool;

    if (job->finish == NULL) {
        job->finish = ngx_http_edge_task_alloc(job->pool, 0);
        if (job->finish == NULL) {
            ngx_http_face_job_release(job);
            return;
        }

        job->finish->task->ctx = job;
        job->finish->task->handler = ngx_http_face_job_finish_thread;
        job->finish->data = job;
        job->finish->log = job->log;
        job->finish->module = "face job";
        job->finish->work = "finish";
        job->finish->name = job->name;
        job->finish->timeout = spool->conf->thread_timeout;
        job->finish->done = ngx_http_face_job_finish_done;
    }

    if (ngx_http_edge_task_post(job->finish, spool->conf->thread_pool,
                                &spool->conf->thread_pool_name)
        != NGX_OK)
    {
        if (!job->wake.timer_set) {
            ngx_add_timer(&job->wake, NGX_HTTP_FACE_WAKE_MS);
        }

        return;
    }

    job->tasks++;

    if (!job->hold.timer_set) {
        ngx_add_timer(&job->hold, NGX_HTTP_FACE_HOLD_MS);
    }
}


/* in a thread: remove the job, or move it to failed/ with the reasons */

static void
ngx_http_face_job_finish_thread(void *data, ngx_log_t *log)
{
    ngx_http_face_job_t *job = data;

    size_t    done;
    ssize_t   n;
    ngx_fd_t  fd;

    if (job->failed == 0) {
        if (unlink(job->path) == -1) {
            job->finish_what = "unlink";
            job->finish_err = ngx_errno;
        }

        goto close;
    }

    if (mkdir(job->failed_dir, 0700) == -1 && ngx_errno != NGX_EEXIST) {
        job->finish_what = "mkdir";
        job->finish_err = ngx_errno;
        goto close;
    }

    /* the reasons first: a job in failed/ always has them */

    fd = open(job->reason_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
              0600);

    if (fd != -1) {
        for (done = 0; done < job->reasons_len; done += n) {
            n = write(fd, job->reasons + done, job->reasons_len - done);

            if (n <= 0) {
                break;
            }
        }

        (void) fsync(fd);
        (void) close(fd);
    }

    if (rename(job->path, job->failed_path) == -1) {
        job->finish_what = "rename";
        job->finish_err = ngx_errno;
    }

close:

    /* the lock goes with the descriptor, after the file has moved */

    (void) close(job->fd);
    job->fd = NGX_INVALID_FILE;
}


static void
ngx_http_face_job_finish_done(void *data)
{
    ngx_http_face_job_t *job = data;

    ngx_uint_t              level;
    ngx_http_face_spool_t  *spool;

    job->tasks--;

    if (job->finish_what) {
        ngx_log_error(NGX_LOG_CRIT, job->log, job->finish_err,
                      "face job %V: %s of the job file failed", &job->name,
                      job->finish_what);
    }

    level = job->failed ? NGX_LOG_WARN : NGX_LOG_INFO;

    ngx_log_error(level, job->log, 0,
                  "face job %V: done, %ui delivered, %ui failed%s",
                  &job->name, job->finished - job->failed, job->failed,
                  job->failed ? " (moved to failed/)" : "");

    spool = job->spool;

    ngx_http_face_job_release(job);

    /* there may be more */
    ngx_http_face_spool_kick(spool);
}


/* the job's memory and, for a spooled job, its file and the spool */

static void
ngx_http_face_job_release(ngx_http_face_job_t *job)
{
    ngx_uint_t               i;
    ngx_http_face_spool_t   *spool;

    spool = job->spool;

    if (job->hold.timer_set) {
        ngx_del_timer(&job->hold);
    }

    if (job->wake.timer_set) {
        ngx_del_timer(&job->wake);
    }

    for (i = 0; i < job->payload.nsources; i++) {
        if (job->sources[i].retry.timer_set) {
            ngx_del_timer(&job->sources[i].retry);
        }

        free(job->sources[i].body);
    }

    if (job->fd != NGX_INVALID_FILE) {
        (void) close(job->fd);
    }

    ngx_destroy_pool(job->pool);

    if (spool) {
        spool->busy = 0;
    }
}


/* ------------------------------------------------------------------------
 * the spool: every worker scans it for jobs to claim
 */


ngx_int_t
ngx_http_face_jobs_init_process(ngx_cycle_t *cycle)
{
    ngx_uint_t                  i;
    ngx_http_face_scan_t       *scan;
    ngx_http_edge_task_t       *t;
    ngx_http_face_spool_t      *spool;
    ngx_http_face_main_conf_t  *fmcf;

    fmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_face_module);

    spool = fmcf->spools->elts;

    for (i = 0; i < fmcf->spools->nelts; i++) {

        t = ngx_http_edge_task_alloc(cycle->pool,
                                     sizeof(ngx_http_face_scan_t));
        if (t == NULL) {
            return NGX_ERROR;
        }

        scan = t->data;
        scan->spool = &spool[i];
        scan->dir = ngx_http_face_path(cycle->pool, &spool[i].path->name,
                                       NULL, NULL);
        scan->tmp_dir = ngx_http_face_path(cycle->pool,
                                           &spool[i].path->name, "tmp",
                                           NULL);
        if (scan->dir == NULL || scan->tmp_dir == NULL) {
            return NGX_ERROR;
        }

        t->task->handler = ngx_http_face_scan_thread;
        t->log = spool[i].log;
        t->module = "face job";
        t->work = "spool scan";
        t->name = spool[i].path->name;
        t->timeout = spool[i].conf->thread_timeout;
        t->done = ngx_http_face_scan_done;

        spool[i].timer.handler = ngx_http_face_spool_timer;
        spool[i].timer.data = t;
        spool[i].timer.log = spool[i].log;
        spool[i].timer.cancelable = 1;
        spool[i].busy = 0;
        spool[i].sweep = 0;    /* the first scan sweeps tmp/ */

        /* workers start at slightly different times: fewer collisions */
        ngx_add_timer(&spool[i].timer, 10 + ngx_random() % 100);
    }

    return NGX_OK;
}


static void
ngx_http_face_spool_timer(ngx_event_t *ev)
{
    ngx_http_edge_task_t *t = ev->data;

    ngx_http_face_scan_t   *scan;
    ngx_http_face_spool_t  *spool;

    scan = t->data;
    spool = scan->spool;

    if (ngx_exiting || ngx_terminate || ngx_quit) {
        return;
    }

    if (spool->busy) {
        ngx_add_timer(ev, NGX_HTTP_FACE_SCAN_MS);
        return;
    }

    scan->fd = NGX_INVALID_FILE;
    scan->data = NULL;
    scan->len = 0;
    scan->what = NULL;
    scan->err = 0;
    scan->sweep = (ngx_time() >= spool->sweep);
    scan->swept = 0;
    scan->sweep_what = NULL;
    scan->sweep_err = 0;

    if (ngx_http_edge_task_post(t, spool->conf->thread_pool,
                                &spool->conf->thread_pool_name)
        != NGX_OK)
    {
        ngx_add_timer(ev, NGX_HTTP_FACE_SCAN_MS);
        return;
    }

    spool->busy = 1;

    if (scan->sweep) {
        spool->sweep = ngx_time() + FACE_SPOOL_TMP_STALE;
    }
}


/* scan now, if this worker is idle; else it scans when it is done */

static void
ngx_http_face_spool_kick(ngx_http_face_spool_t *spool)
{
    if (spool->busy || ngx_exiting) {
        return;
    }

    if (spool->timer.timer_set) {
        ngx_del_timer(&spool->timer);
    }

    ngx_http_face_spool_timer(&spool->timer);
}


/* in a thread: the oldest job file nobody holds, locked and read */

static void
ngx_http_face_scan_thread(void *data, ngx_log_t *log)
{
    ngx_http_face_scan_t *scan = data;

    DIR             *dir;
    char           **names, **more, path[NGX_MAX_PATH];
    size_t           n, size, i;
    ssize_t          r;
    ngx_fd_t         fd;
    struct stat      st, sp;
    struct dirent   *de;

    if (scan->sweep) {
        ngx_http_face_sweep_thread(scan);
    }

    dir = opendir(scan->dir);
    if (dir == NULL) {
        scan->what = "opendir";
        scan->err = ngx_errno;
        return;
    }

    names = NULL;
    n = 0;
    size = 0;

    while ((de = readdir(dir)) != NULL) {
        if (!face_spool_name_ok(de->d_name)) {
            continue;
        }

        if (n == size) {
            size = size ? size * 2 : 16;
            more = realloc(names, size * sizeof(char *));
            if (more == NULL) {
                break;
            }

            names = more;
        }

        names[n] = strdup(de->d_name);
        if (names[n] == NULL) {
            break;
        }

        n++;
    }

    (void) closedir(dir);

    /* the oldest first: names start with the time */
    if (n) {
        qsort(names, n, sizeof(char *), ngx_http_face_scan_cmp);
    }

    for (i = 0; i < n && scan->data == NULL; i++) {

        if ((size_t) snprintf(path, sizeof(path), "%s/%s", scan->dir,
                              names[i])
            >= sizeof(path))
        {
            continue;
        }

        fd = open(path, O_RDWR | O_CLOEXEC);
        if (fd == -1) {
            continue;
        }

        if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
            (void) close(fd);
            continue;
        }

        /* still there, and still this file: not finished meanwhile */

        if (fstat(fd, &st) == -1 || stat(path, &sp) == -1
            || st.st_ino != sp.st_ino || st.st_dev != sp.st_dev
            || st.st_size <= 0 || st.st_size > NGX_HTTP_FACE_MAX_JOB_FILE)
        {
            (void) close(fd);
            continue;
        }

        scan->data = malloc(st.st_size);
        if (scan->data == NULL) {
            (void) close(fd);
            break;
        }

        r = pread(fd, scan->data, st.st_size, 0);

        if (r != st.st_size) {
            scan->what = "read";
            scan->err = (r == -1) ? ngx_errno : NGX_EINVAL;
            free(scan->data);
            scan->data = NULL;
            (void) close(fd);
            break;
        }

        scan->fd = fd;
        scan->len = st.st_size;
        ngx_cpystrn((u_char *) scan->name, (u_char *) names[i],
                    sizeof(scan->name));
    }

    for (i = 0; i < n; i++) {
        free(names[i]);
    }

    free(names);
}


/* in a thread: the temporary files a crash left in tmp/ */

static void
ngx_http_face_sweep_thread(ngx_http_face_scan_t *scan)
{
    DIR            *dir;
    time_t          now;
    struct stat     st;
    struct dirent  *de;

    dir = opendir(scan->tmp_dir);

    if (dir == NULL) {
        /* no job was ever written */
        if (ngx_errno != NGX_ENOENT) {
            scan->sweep_what = "opendir";
            scan->sweep_err = ngx_errno;
        }

        return;
    }

    now = time(NULL);

    while ((de = readdir(dir)) != NULL) {

        if (fstatat(dirfd(dir), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1
            || !S_ISREG(st.st_mode)
            || !face_spool_tmp_stale(de->d_name, (int64_t) st.st_mtime,
                                     (int64_t) now))
        {
            continue;
        }

        if (unlinkat(dirfd(dir), de->d_name, 0) == 0) {
            scan->swept++;

        } else if (ngx_errno != NGX_ENOENT) {
            /* ENOENT: another worker was first */
            scan->sweep_what = "unlink in";
            scan->sweep_err = ngx_errno;
        }
    }

    (void) closedir(dir);
}


static int
ngx_http_face_scan_cmp(const void *a, const void *b)
{
    return strcmp(*(char * const *) a, *(char * const *) b);
}


static void
ngx_http_face_scan_done(void *data)
{
    ngx_http_face_scan_t   *scan;
    ngx_http_face_spool_t  *spool;

    scan = data;
    spool = scan->spool;

    if (scan->what) {
        ngx_log_error(NGX_LOG_CRIT, spool->log, scan->err,
                      "face job: spool: %s \"%s\" failed", scan->what,
                      scan->dir);
    }

    if (scan->sweep_what) {
        ngx_log_error(NGX_LOG_ERR, spool->log, scan->sweep_err,
                      "face job: spool: %s \"%s\" failed",
                      scan->sweep_what, scan->tmp_dir);
    }

    if (scan->swept) {
        ngx_log_error(NGX_LOG_NOTICE, spool->log, 0,
                      "face job: spool: removed %ui stale temporary "
                      "file%s from \"%s\" (left by a crash before the job "
                      "was accepted)", scan->swept,
                      (scan->swept == 1) ? "" : "s", scan->tmp_dir);
    }

    if (scan->data == NULL) {
        spool->busy = 0;

        if (!ngx_exiting) {
            ngx_add_timer(&spool->timer, NGX_HTTP_FACE_SCAN_MS);
        }

        return;
    }

    ngx_http_face_spool_load(spool, scan);

    free(scan->data);
    scan->data = NULL;

    if (!spool->timer.timer_set && !ngx_exiting) {
        ngx_add_timer(&spool->timer, NGX_HTTP_FACE_SCAN_MS);
    }
}


/* a claimed job file: its progress and payload */

static void
ngx_http_face_spool_load(ngx_http_face_spool_t *spool,
    ngx_http_face_scan_t *scan)
{
    u_char                  *copy, *reason;
    size_t                   n, state_off, payload_off, i;
    face_jobs_alloc_t        hooks;
    ngx_http_face_job_t     *job;
    ngx_http_face_source_t  *s;
    char                     err[FACE_JOBS_ERR_LEN];

    job = ngx_http_face_job_create(spool->conf, spool->log);
    if (job == NULL) {
        (void) close(scan->fd);
        spool->busy = 0;
        return;
    }

    job->spool = spool;
    job->fd = scan->fd;
    job->fetch.leave = 1;

    job->name.len = ngx_strlen(scan->name) - (sizeof(".job") - 1);
    job->name.data = ngx_pnalloc(job->pool, job->name.len + 1);

    if (job->name.data == NULL) {
        goto failed;
    }

    ngx_memcpy(job->name.data, scan->name, job->name.len);
    job->name.data[job->name.len] = '\0';

    job->path = ngx_http_face_path(job->pool, &spool->path->name, NULL,
                                   scan->name);
    job->failed_dir = ngx_http_face_path(job->pool, &spool->path->name,
                                         "failed", NULL);
    job->failed_path = ngx_http_face_path(job->pool, &spool->path->name,
                                          "failed", scan->name);
    job->reason_path = ngx_http_face_path(job->pool, &spool->path->name,
                                          "failed",
                                          (char *) job->name.data);

    if (job->path == NULL || job->failed_dir == NULL
        || job->failed_path == NULL || job->reason_path == NULL)
    {
        goto failed;
    }

    /* "<name>.reason": the room of ".job" and two more bytes */

    reason = ngx_pnalloc(job->pool, ngx_strlen(job->reason_path)
                                    + sizeof(".reason"));
    if (reason == NULL) {
        goto failed;
    }

    ngx_sprintf(reason, "%s.reason%Z", job->reason_path);
    job->reason_path = (char *) reason;

    if (face_spool_parse((char *) scan->data, scan->len, &n, &state_off,
                         &payload_off)
        != 0)
    {
        ngx_cpystrn((u_char *) err, (u_char *) "not a job file",
                    sizeof(err));
        goto corrupt;
    }

    job->state_off = state_off;

    copy = ngx_pnalloc(job->pool, scan->len - payload_off + 1);
    if (copy == NULL) {
        goto failed;
    }

    ngx_memcpy(copy, scan->data + payload_off, scan->len - payload_off);

    hooks.alloc = ngx_http_face_jobs_alloc;
    hooks.ctx = job->pool;

    if (face_jobs_parse((char *) copy, scan->len - payload_off, &hooks,
                        &job->payload, err, sizeof(err))
        != FACE_JOBS_OK
        || job->payload.nsources != n)
    {
        goto corrupt;
    }

    if (ngx_http_face_job_prepare(job) != NGX_OK) {
        goto failed;
    }

    /* what a previous worker finished stays finished */

    for (i = 0; i < n; i++) {
        s = &job->sources[i];

        if (scan->data[state_off + i] == FACE_SPOOL_PENDING) {
            continue;
        }

        s->state = NGX_HTTP_FACE_SRC_DONE;
        job->finished++;

        if (scan->data[state_off + i] == FACE_SPOOL_FAILED) {
            s->outcome = NGX_HTTP_FACE_FAILED;
            job->failed++;
            ngx_http_face_job_reason(job, s, "failed before a restart");

        } else {
            s->outcome = NGX_HTTP_FACE_DELIVERED;
        }
    }

    ngx_log_error(NGX_LOG_INFO, job->log, 0,
                  "face job %V: claimed, %ui sources, %ui done before",
                  &job->name, n, job->finished);

    ngx_http_face_job_run(job);

    return;

corrupt:

    /* into failed/ with the reason, never retried */

    ngx_log_error(NGX_LOG_ERR, job->log, 0, "face job %V: corrupt: %s",
                  &job->name, err);

    job->payload.nsources = 0;
    job->failed = 1;
    job->reasons = (u_char *) "corrupt job file\n";
    job->reasons_len = sizeof("corrupt job file\n") - 1;

    ngx_http_face_job_finish(job);

    return;

failed:

    ngx_http_face_job_release(job);
}


/* "<dir>[/<sub>][/<name>]", NUL-terminated */

static char *
ngx_http_face_path(ngx_pool_t *pool, ngx_str_t *dir, const char *sub,
    const char *name)
{
    u_char  *p, *last;
    size_t   len;

    len = dir->len + 1 + (sub ? ngx_strlen(sub) + 1 : 0)
          + (name ? ngx_strlen(name) + 1 : 0);

    p = ngx_pnalloc(pool, len);
    if (p == NULL) {
        return NULL;
    }

    last = ngx_cpymem(p, dir->data, dir->len);

    if (sub) {
        *last++ = '/';
        last = ngx_cpymem(last, sub, ngx_strlen(sub));
    }

    if (name) {
        *last++ = '/';
        last = ngx_cpymem(last, name, ngx_strlen(name));
    }

    *last = '\0';

    return (char *) p;
}
