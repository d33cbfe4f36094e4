
/*
 * Thread-pool tasks shared by the photo-edge modules: one hand-off (post,
 * a full queue refused at once, the request blocked while the task runs),
 * one completion discipline and a watchdog timer armed with the post.
 *
 * A module allocates an ngx_http_edge_task_t with its thread task, fills
 * in what the task works on and posts it.  Its done() runs on the event
 * loop when the thread is finished, as nginx's own thread tasks do, with
 * the request's log set, blocked and aio cleared, and the request known
 * to be alive and answerable; ngx_http_run_posted_requests() follows.
 *
 * The watchdog covers the wait in the queue and the work (as nginx's copy
 * filter's).  When it expires, an [alert] names the module and the work;
 * a request that has sent nothing is answered 503 at once (by expire(),
 * or with json_error, or nginx's own 503 page).  The thread still owns
 * its context, much of it in the request's pool: the task then holds a
 * reference on the request (r->main->count) until the thread really
 * ends, and that late completion only releases it: done() is not called,
 * late() may log the outcome.
 * A background task (no request) is only reported: its done() runs
 * whenever the thread ends.
 *
 * Compiled into each module's .so, hidden like ngx_http_edge_json.c.
 */


#ifndef _NGX_HTTP_EDGE_TASK_H_INCLUDED_
#define _NGX_HTTP_EDGE_TASK_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <ngx_thread_pool.h>

#include "ngx_http_edge_json.h"
#include "ngx_http_edge_metrics.h"


/* the watchdog's default: far above any honest task */
#define NGX_HTTP_EDGE_TASK_TIMEOUT  60000


typedef void (*ngx_http_edge_task_done_pt)(void *data);


typedef struct {
    ngx_thread_task_t           *task;      /* ctx and handler: the module's */
    void                        *data;      /* for done() and expire() */

    ngx_http_request_t          *request;   /* NULL: a background task */
    ngx_log_t                   *log;       /* a background task's log */

    const char                  *module;    /* "image_variant" */
    const char                  *work;      /* "render" */
    ngx_str_t                    name;      /* what: a URI, a job's name */
    ngx_msec_t                   timeout;   /* the watchdog; 0: none */

    ngx_http_edge_task_done_pt   done;
    ngx_http_edge_task_done_pt   expire;    /* answers the request; or: */
    const char                  *json_error;  /* a JSON 503 with this */
    ngx_http_edge_task_done_pt   late;      /* optional: the outcome of a
                                               task answered by the
                                               watchdog, for the log */
    ngx_http_edge_task_done_pt   ended;     /* optional: the thread is
                                               done, whatever became of
                                               the request; first */

    unsigned                     expired:1;
} ngx_http_edge_task_t;


/*
 * A task and its thread task from the pool; size > 0 allocates the
 * module's context as task->task->ctx and t->data.
 */
NGX_HTTP_EDGE_HIDDEN ngx_http_edge_task_t *ngx_http_edge_task_alloc(
    ngx_pool_t *pool, size_t size);

/*
 * NGX_OK: posted, the watchdog armed, a request blocked.  NGX_DECLINED:
 * the queue is full (logged for a request, which the module answers 503;
 * a background task's caller tries again later).  The task must not be
 * running.
 */
NGX_HTTP_EDGE_HIDDEN ngx_int_t ngx_http_edge_task_post(
    ngx_http_edge_task_t *t, ngx_thread_pool_t *pool, ngx_str_t *pool_name);

/*
 * Keeps this worker from exiting while background work it owns (a job, a
 * notification) runs: a leaving worker exits once only cancelable timers
 * are left, so a timer that is not cancelable, re-armed every hour while
 * the work lasts, holds it.  hold() arms ev unless it is armed; release()
 * disarms it.  ev is the module's, zeroed or used by these two only.
 */
NGX_HTTP_EDGE_HIDDEN void ngx_http_edge_hold(ngx_event_t *ev,
    ngx_log_t *log);
NGX_HTTP_EDGE_HIDDEN void ngx_http_edge_release(ngx_event_t *ev);

/* in a thread: nice +10 for the thread, once (Linux: per thread) */
NGX_HTTP_EDGE_HIDDEN void ngx_http_edge_nice(ngx_log_t *log);


#endif /* _NGX_HTTP_EDGE_TASK_H_INCLUDED_ */
