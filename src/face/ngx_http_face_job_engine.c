/*
 * ngx_http_face_module: running a face job.
 *
 * Per source, on the thread pool: download, decode and encode, then the
 * callback; a callback without an answer or with a 5xx is retried after
 * a pause (1 s, doubled each time, at most 60 s: an event-loop timer, no
 * thread sleeps) up to face_callback_retries times; a 429 or 503 with
 * Retry-After is retried after the delay it asks for (at least 1 s), for
 * at most face_callback_retry_after_max in all, and not counted; a 429
 * without it as a 5xx; any other answer is final.  With
 * face_callback_rate, one worker's callbacks to one API host are spaced:
 * a thread about to call back too early does not, and the event loop
 * posts the callback again when its turn comes (not an attempt).  Once
 * a source's outcome is final, its state byte in the job file is
 * rewritten and synced, so a job resumed after a restart does not call
 * back twice.  At most face_parallel sources of a job are in
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

#include <pthread.h>

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_face.h"
#include "ngx_http_edge_invoke.h"
#include "face_spool.h"
#include "edge_net.h"


#define NGX_HTTP_FACE_OP_FETCH         1
#define NGX_HTTP_FACE_OP_CALLBACK      2

#define NGX_HTTP_FACE_WAKE_MS          100
#define NGX_HTTP_FACE_BACKOFF_MS       1000
#define NGX_HTTP_FACE_BACKOFF_MAX_MS   60000

/* face_callback_rate: API hosts a worker keeps a slot for */
#define NGX_HTTP_FACE_RATE_HOSTS       16
#define NGX_HTTP_FACE_RATE_HOST_LEN    255


typedef struct {
    u_char                       host[NGX_HTTP_FACE_RATE_HOST_LEN];
    size_t                       len;
    uint64_t                     last;      /* ms, the last callback sent */
} ngx_http_face_rate_t;


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
static void ngx_http_face_job_respond(ngx_http_face_job_t *job);
static void ngx_http_face_job_finish_thread(void *data, ngx_log_t *log);
static void ngx_http_face_job_finish_done(void *data);
static ngx_msec_t ngx_http_face_rate_wait(ngx_http_face_job_t *job);


/* the pool's threads share it */
static ngx_http_face_rate_t  ngx_http_face_rates[NGX_HTTP_FACE_RATE_HOSTS];
static pthread_mutex_t       ngx_http_face_rates_lock =
    PTHREAD_MUTEX_INITIALIZER;


/* ------------------------------------------------------------------------
 * a job, on the event loop
 */


ngx_http_face_job_t *
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

    job->hold.data = job;

    job->wake.handler = ngx_http_face_job_wake;
    job->wake.data = job;
    job->wake.log = log;
    job->wake.cancelable = 1;

    return job;
}


/* the sources' state, their tasks and callback URLs */

ngx_int_t
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

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, job->log, 0,
                   "face job %V: start, %ui sources, at most %ui at a time",
                   &job->name, n, job->conf->parallel);

    return NGX_OK;
}


/* start what may start; finish, or let go when the worker is leaving */

void
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
        s->retry_after = -1;

        if (ngx_http_face_job_post(s) != NGX_OK) {
            /* the queue is full: try again shortly */

            ngx_log_debug2(NGX_LOG_DEBUG_HTTP, job->log, 0,
                           "face job %V: sources[%ui]: the thread pool "
                           "queue is full, again shortly", &job->name,
                           s->index);

            if (!job->wake.timer_set) {
                ngx_add_timer(&job->wake, NGX_HTTP_FACE_WAKE_MS);
            }

            break;
        }

        s->state = NGX_HTTP_FACE_SRC_RUNNING;
        job->running++;
        job->next++;
    }

    if (job->tasks == 0) {
        ngx_http_edge_release(&job->hold);
    }

    if (job->running) {
        ngx_log_debug5(NGX_LOG_DEBUG_HTTP, job->log, 0,
                       "face job %V: %ui running, %ui of %ui finished%s",
                       &job->name, job->running, job->finished, n,
                       leaving ? ", the worker is leaving" : "");
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

    ngx_log_debug5(NGX_LOG_DEBUG_HTTP, job->log, 0,
                   "face job %V: sources[%ui] %s %L: %s task posted",
                   &job->name, s->index, face_jobs_type_name(s->src->type),
                   s->src->pk,
                   (s->op == NGX_HTTP_FACE_OP_FETCH) ? "download"
                                                     : "callback");

    /* a worker shutting down waits for the tasks in flight */

    ngx_http_edge_hold(&job->hold, job->log);

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
        return;
    }

    ngx_log_debug3(NGX_LOG_DEBUG_CORE, log, 0,
                   "face job %V: sources[%ui]: outcome '%c' recorded in "
                   "the job file", &job->name, s->index, b);
}


static void
ngx_http_face_source_fetch(ngx_http_face_source_t *s,
    ngx_http_face_thread_t *t)
{
    u_char               *data;
    size_t                len, i;
    float                *enc;
    uint64_t              start;
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

    ngx_log_debug3(NGX_LOG_DEBUG_CORE, job->log, 0,
                   "face job %V: sources[%ui]: downloaded %uz bytes",
                   &job->name, s->index, len);

    ngx_memzero(&res, sizeof(face_result_t));
    err[0] = '\0';

    start = ngx_http_edge_metrics_start();
    rc = face_encode(t->face, data, len, &job->conf->options, &res, err,
                     sizeof(err));
    ngx_http_edge_metrics_observe(EDGE_METRICS_FACE_INFERENCE, start);

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

    ngx_log_debug3(NGX_LOG_DEBUG_CORE, job->log, 0,
                   "face job %V: sources[%ui]: encoded, %ui faces",
                   &job->name, s->index, s->nfaces);

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

    /* face_callback_rate: too early, the event loop posts it again */

    s->rate_wait = ngx_http_face_rate_wait(job);

    if (s->rate_wait) {
        return;
    }

    s->attempts++;

    s->status = ngx_http_face_post(t, &job->callback, s->url, s->body,
                                   s->body_len, &s->retry_after, s->err,
                                   sizeof(s->err));

    ngx_log_debug4(NGX_LOG_DEBUG_CORE, job->log, 0,
                   "face job %V: sources[%ui]: callback %ui sent, HTTP %l",
                   &job->name, s->index, s->attempts, s->status);

    switch (face_jobs_verdict(s->status)) {

    case FACE_JOBS_DELIVERED:
        s->outcome = NGX_HTTP_FACE_DELIVERED;
        break;

    case FACE_JOBS_REJECTED:
        s->outcome = NGX_HTTP_FACE_FAILED;
        break;

    default: /* FACE_JOBS_RETRY */

        if (s->retry_after >= 0) {

            /* the site asked for a pause: not counted, bounded in all */

            if (s->waited >= job->conf->retry_after_max) {
                ngx_snprintf((u_char *) s->err, sizeof(s->err),
                             "callback: HTTP %l after waiting %M ms on "
                             "Retry-After in all "
                             "(face_callback_retry_after_max)%Z",
                             s->status, s->waited);
                s->outcome = NGX_HTTP_FACE_FAILED;
                break;
            }

            s->honoured++;
            break;
        }

        if (s->attempts - s->honoured > job->conf->callback_retries) {
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

    if (s->rate_wait) {

        /* face_callback_rate: not sent, not an attempt */

        ms = s->rate_wait;
        s->rate_wait = 0;

        ngx_log_debug3(NGX_LOG_DEBUG_HTTP, job->log, 0,
                       "face job %V: sources[%ui]: callback rate, again in "
                       "%M ms", &job->name, s->index, ms);

    } else if (s->retry_after >= 0) {
        ngx_http_edge_metrics_add(EDGE_METRICS_FACE_JOBS_RETRIED, 1);

        ms = (ngx_msec_t) ngx_min(s->retry_after, 86400) * 1000;
        ms = ngx_max(ms, NGX_HTTP_FACE_BACKOFF_MS);
        ms = ngx_min(ms, job->conf->retry_after_max - s->waited);
        s->waited += ms;

        ngx_log_error(NGX_LOG_INFO, job->log, 0,
                      "face job %V: %s %L: %s, Retry-After: %L s, again in "
                      "%M ms", &job->name,
                      face_jobs_type_name(s->src->type), s->src->pk, s->err,
                      s->retry_after, ms);

    } else {
        ngx_http_edge_metrics_add(EDGE_METRICS_FACE_JOBS_RETRIED, 1);

        ms = (ngx_msec_t) face_jobs_backoff_ms(s->attempts - s->honoured,
                                               NGX_HTTP_FACE_BACKOFF_MS,
                                               NGX_HTTP_FACE_BACKOFF_MAX_MS);

        ngx_log_error(NGX_LOG_INFO, job->log, 0,
                      "face job %V: %s %L: %s, attempt %ui of %ui, again in "
                      "%M ms", &job->name, face_jobs_type_name(s->src->type),
                      s->src->pk, s->err, s->attempts - s->honoured,
                      job->conf->callback_retries + 1, ms);
    }

    s->op = NGX_HTTP_FACE_OP_CALLBACK;
    ngx_add_timer(&s->retry, ms);

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, job->log, 0,
                   "face job %V: sources[%ui]: callback retry in %M ms",
                   &job->name, s->index, ms);

    ngx_http_face_job_run(job);
}


/*
 * face_callback_rate, in a thread: 0 when the job's API host may be
 * called back now (the time is taken), or the ms until it may
 */

static ngx_msec_t
ngx_http_face_rate_wait(ngx_http_face_job_t *job)
{
    size_t                 len;
    uint64_t               now;
    ngx_uint_t             i;
    ngx_msec_t             wait;
    const char            *host;
    struct timespec        ts;
    ngx_http_face_rate_t  *r, *oldest;

    if (job->conf->callback_interval == 0
        || edge_net_url_host(job->payload.api_url.data,
                             job->payload.api_url.len, &host, &len)
           != 0)
    {
        return 0;
    }

    (void) clock_gettime(CLOCK_MONOTONIC, &ts);
    now = (uint64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;

    len = ngx_min(len, NGX_HTTP_FACE_RATE_HOST_LEN);
    wait = 0;

    (void) pthread_mutex_lock(&ngx_http_face_rates_lock);

    oldest = &ngx_http_face_rates[0];
    r = NULL;

    for (i = 0; i < NGX_HTTP_FACE_RATE_HOSTS; i++) {
        if (ngx_http_face_rates[i].len == len
            && ngx_strncmp(ngx_http_face_rates[i].host, host, len) == 0)
        {
            r = &ngx_http_face_rates[i];
            break;
        }

        if (ngx_http_face_rates[i].last < oldest->last) {
            oldest = &ngx_http_face_rates[i];
        }
    }

    if (r == NULL) {
        /* a host not called lately takes the entry least recently used */
        r = oldest;
        ngx_memcpy(r->host, host, len);
        r->len = len;
        r->last = 0;
    }

    if (r->last && now < r->last + job->conf->callback_interval) {
        wait = (ngx_msec_t) (r->last + job->conf->callback_interval - now);

    } else {
        r->last = now;
    }

    (void) pthread_mutex_unlock(&ngx_http_face_rates_lock);

    return wait;
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

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, job->log, 0,
                   "face job %V: sources[%ui]: callback retry due",
                   &job->name, s->index);

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

    ngx_http_edge_metrics_add(s->outcome == NGX_HTTP_FACE_DELIVERED
                              ? EDGE_METRICS_FACE_JOBS_DELIVERED
                              : EDGE_METRICS_FACE_JOBS_FAILED, 1);

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

    ngx_log_debug4(NGX_LOG_DEBUG_HTTP, job->log, 0,
                   "face job %V: sources[%ui] final, %ui of %ui finished",
                   &job->name, s->index, job->finished,
                   job->payload.nsources);
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

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, s->job->log, 0,
                   "face job %V: sources[%ui] left pending for the next "
                   "worker", &s->job->name, s->index);
}


static void
ngx_http_face_job_wake(ngx_event_t *ev)
{
    ngx_http_face_job_run(ev->data);
}



void
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

    rc = ngx_http_edge_invoke_result(r, NGX_HTTP_EDGE_INVOKE_SYNC, json,
                                     p - json);

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, c->log, 0,
                   "face job %V: %ui results sent", &job->name,
                   job->payload.nsources);

done:

    ngx_http_finalize_request(r, rc);
    ngx_http_run_posted_requests(c);
}


void
ngx_http_face_job_request_gone(void *data)
{
    ngx_http_face_job_t *job = data;

    /* the job goes on; its results have nowhere to go */
    job->request = NULL;

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, job->log, 0,
                   "face job %V: the request is gone, the job goes on",
                   &job->name);
}


void
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

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, job->log, 0,
                   "face job %V: every source final, %ui failed: %s",
                   &job->name, job->failed,
                   job->failed ? "to failed/" : "removing the job file");

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

    ngx_http_edge_hold(&job->hold, job->log);
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

        } else {
            ngx_log_debug1(NGX_LOG_DEBUG_CORE, log, 0,
                           "face job %V: job file removed", &job->name);
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

    } else {
        ngx_log_debug2(NGX_LOG_DEBUG_CORE, log, 0,
                       "face job %V: moved to \"%s\"", &job->name,
                       job->failed_path);
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

void
ngx_http_face_job_release(ngx_http_face_job_t *job)
{
    ngx_uint_t               i;
    ngx_http_face_spool_t   *spool;

    spool = job->spool;

    ngx_http_edge_release(&job->hold);

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

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, job->log, 0,
                   "face job %V: released", &job->name);

    ngx_destroy_pool(job->pool);

    if (spool) {
        spool->busy = 0;
    }
}
