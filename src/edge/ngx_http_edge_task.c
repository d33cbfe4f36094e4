
/*
 * Thread-pool tasks shared by the photo-edge modules (see the header).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <sys/resource.h>
#include <sys/syscall.h>

#include "ngx_http_edge_task.h"


/* a worker's hold: an hour, re-armed while the work lasts */
#define NGX_HTTP_EDGE_HOLD_MS  3600000


static void ngx_http_edge_task_event(ngx_event_t *ev);
static void ngx_http_edge_task_request_done(ngx_http_edge_task_t *t);
static void ngx_http_edge_task_expired(ngx_http_edge_task_t *t);
static void ngx_http_edge_task_answer(ngx_http_edge_task_t *t);
static void ngx_http_edge_hold_again(ngx_event_t *ev);


static ngx_str_t  ngx_http_edge_task_pool = ngx_string("?");


ngx_http_edge_task_t *
ngx_http_edge_task_alloc(ngx_pool_t *pool, size_t size)
{
    ngx_http_edge_task_t  *t;

    t = ngx_pcalloc(pool, sizeof(ngx_http_edge_task_t));
    if (t == NULL) {
        return NULL;
    }

    t->task = ngx_thread_task_alloc(pool, size);
    if (t->task == NULL) {
        return NULL;
    }

    t->data = t->task->ctx;
    t->timeout = NGX_HTTP_EDGE_TASK_TIMEOUT;

    return t;
}


ngx_int_t
ngx_http_edge_task_post(ngx_http_edge_task_t *t, ngx_thread_pool_t *pool,
    ngx_str_t *pool_name)
{
    ngx_log_t           *log;
    ngx_event_t         *ev;
    ngx_http_request_t  *r;

    r = t->request;
    log = r ? r->connection->log : t->log;

    if (pool_name == NULL) {
        pool_name = &ngx_http_edge_task_pool;
    }

    if (r && t->name.len == 0) {
        t->name = r->uri;
    }

    ev = &t->task->event;
    ev->handler = ngx_http_edge_task_event;
    ev->data = t;
    ev->log = log;
    ev->timedout = 0;

    t->expired = 0;

    if (ngx_thread_task_post(pool, t->task) != NGX_OK) {

        ngx_http_edge_metrics_task(t->module, EDGE_METRICS_TASK_REJECTED);

        if (r) {
            ngx_log_error(NGX_LOG_ERR, log, 0,
                          "%s: thread pool \"%V\" is full, %s of \"%V\" "
                          "refused", t->module, pool_name, t->work,
                          &t->name);
        }

        return NGX_DECLINED;
    }

    ngx_http_edge_metrics_in_flight(t->module, 1);

    ngx_log_debug5(NGX_LOG_DEBUG_HTTP, log, 0,
                   "%s: %s of \"%V\" posted to \"%V\", watchdog %M ms",
                   t->module, t->work, &t->name, pool_name, t->timeout);

    if (t->timeout) {
        ngx_add_timer(ev, t->timeout);
    }

    if (r) {
        r->main->blocked++;
        r->aio = 1;
    }

    return NGX_OK;
}


/*
 * The completion and the watchdog share the task's event, as nginx's
 * copy filter does: the timer expiring calls it with ev->timedout.
 */

static void
ngx_http_edge_task_event(ngx_event_t *ev)
{
    ngx_http_edge_task_t *t = ev->data;

    if (ev->timedout) {
        ev->timedout = 0;
        ngx_http_edge_task_expired(t);
        return;
    }

    if (ev->timer_set) {
        ngx_del_timer(ev);
    }

    ngx_http_edge_metrics_in_flight(t->module, -1);

    if (t->ended) {
        t->ended(t->data);
    }

    if (t->request) {
        ngx_http_edge_task_request_done(t);
        return;
    }

    if (t->expired) {
        ngx_log_error(NGX_LOG_WARN, t->log, 0,
                      "%s: %s of \"%V\" ended after its watchdog",
                      t->module, t->work, &t->name);

    } else {
        ngx_log_debug3(NGX_LOG_DEBUG_HTTP, t->log, 0,
                       "%s: %s of \"%V\" done", t->module, t->work,
                       &t->name);
    }

    t->done(t->data);
}


static void
ngx_http_edge_task_request_done(ngx_http_edge_task_t *t)
{
    ngx_connection_t    *c;
    ngx_http_request_t  *r;

    r = t->request;
    c = r->connection;

    ngx_http_set_log_request(c->log, r);

    ngx_log_debug4(NGX_LOG_DEBUG_HTTP, c->log, 0,
                   "%s: %s of \"%V\" done%s", t->module, t->work, &t->name,
                   t->expired ? ", after its watchdog" : "");

    r->main->blocked--;
    r->aio = 0;

    if (t->expired) {
        /* answered by the watchdog: release the task's reference only */

        ngx_log_error(NGX_LOG_WARN, c->log, 0,
                      "%s: %s of \"%V\" ended after its watchdog",
                      t->module, t->work, &t->name);

        if (t->late) {
            t->late(t->data);
        }

        ngx_http_finalize_request(r, c->error ? NGX_ERROR : NGX_DONE);
        ngx_http_run_posted_requests(c);
        return;
    }

    if (r->done) {
        /* a subrequest finalized meanwhile: let nginx finish it */
        c->write->handler(c->write);
        return;
    }

    if (c->error) {
        /* the client went away while the task ran */
        ngx_http_finalize_request(r, NGX_HTTP_CLIENT_CLOSED_REQUEST);
        ngx_http_run_posted_requests(c);
        return;
    }

    t->done(t->data);
    ngx_http_run_posted_requests(c);
}


static void
ngx_http_edge_task_expired(ngx_http_edge_task_t *t)
{
    ngx_log_t           *log;
    ngx_msec_t           ms;
    ngx_connection_t    *c;
    ngx_http_request_t  *r;

    r = t->request;
    log = r ? r->connection->log : t->log;

    if (r) {
        ngx_http_set_log_request(log, r);
    }

    ms = t->timeout;

    ngx_http_edge_metrics_task(t->module, EDGE_METRICS_TASK_EXPIRED);

    if (ms % 1000 == 0) {
        ngx_log_error(NGX_LOG_ALERT, log, 0,
                      "%s: %s of \"%V\" still running after %Ms",
                      t->module, t->work, &t->name, ms / 1000);

    } else {
        ngx_log_error(NGX_LOG_ALERT, log, 0,
                      "%s: %s of \"%V\" still running after %Mms",
                      t->module, t->work, &t->name, ms);
    }

    if (r == NULL) {
        t->expired = 1;
        return;
    }

    c = r->connection;

    if (r->header_sent || r->done || c->error) {
        /* nothing to answer: the completion finishes as usual */
        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, log, 0,
                       "edge task: watchdog, nothing to answer");
        return;
    }

    ngx_http_edge_task_answer(t);
    ngx_http_run_posted_requests(c);
}


/*
 * The request is answered now; the thread still uses its pool.  The
 * task's reference keeps the request until the completion releases it;
 * blocked stays, aio does not (the answer must be written), and the
 * connection is closed afterwards rather than kept alive while the
 * thread runs.
 */

static void
ngx_http_edge_task_answer(ngx_http_edge_task_t *t)
{
    ngx_int_t            rc;
    ngx_http_request_t  *r;

    r = t->request;

    t->expired = 1;

    r->main->count++;
    r->aio = 0;
    r->keepalive = 0;

    if (t->expire) {
        t->expire(t->data);
        return;
    }

    if (t->json_error) {
        rc = ngx_http_edge_json_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                      t->json_error);

    } else {
        rc = NGX_HTTP_SERVICE_UNAVAILABLE;
    }

    ngx_http_finalize_request(r, rc);
}


void
ngx_http_edge_hold(ngx_event_t *ev, ngx_log_t *log)
{
    if (ev->timer_set) {
        return;
    }

    ev->handler = ngx_http_edge_hold_again;
    ev->log = log;
    ev->cancelable = 0;

    ngx_add_timer(ev, NGX_HTTP_EDGE_HOLD_MS);
}


void
ngx_http_edge_release(ngx_event_t *ev)
{
    if (ev->timer_set) {
        ngx_del_timer(ev);
    }
}


static void
ngx_http_edge_hold_again(ngx_event_t *ev)
{
    ngx_add_timer(ev, NGX_HTTP_EDGE_HOLD_MS);
}


/*
 * Blocking work can take every core; the event loop of the same worker
 * must still answer at once.  The pools' threads therefore run at a
 * lower priority (nice +10), set once per thread: Linux gives each
 * thread its own nice value.
 */

void
ngx_http_edge_nice(ngx_log_t *log)
{
    static __thread ngx_uint_t  niced;

    if (niced) {
        return;
    }

    niced = 1;

    if (setpriority(PRIO_PROCESS, (id_t) syscall(SYS_gettid), 10) == -1) {
        ngx_log_error(NGX_LOG_WARN, log, ngx_errno,
                      "thread pool: setpriority(+10) failed");
    }
}
