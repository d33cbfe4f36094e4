
/*
 * A pool thread's own object (a network's runtime, scratch memory, a
 * libcurl handle), shared by the photo-edge modules that keep one: made
 * by the thread the first time it needs it, kept in a pthread key, freed
 * by the key's destructor when nginx ends the thread.
 *
 *     init_process:  ngx_http_edge_thread_state_init(&ts, "face", free, log)
 *     pool thread:   p = ngx_http_edge_thread_state_get(&ts);
 *                    if (p == NULL) { p = make(); ..._set(&ts, p); }
 *     exit_process:  if (ngx_http_edge_thread_state_exit(&ts, log)
 *                        == NGX_OK) { shut the libraries down }
 *
 * nginx ends its pool threads only when a worker exits, and does not wait
 * for them to end: a thread tells the worker it is leaving, then exits,
 * and its key destructors run after that, while the worker goes on to
 * exit().  A destructor still freeing a network when exit() finalises
 * the libraries crashes.  The policy, the same for every module: the
 * destructors free, and the module's exit_process waits for them (each
 * one counts as live until its free function returned), a bounded time;
 * if some are still running then, it logs that once, at warn, and the
 * module leaves its libraries to exit() instead of shutting them down
 * under a thread.  Waiting is safer than skipping the free when the
 * worker exits: since nginx ends pool threads only then, a skip means
 * the object is never freed, decided on flags the event loop sets with
 * no barrier for the thread, and it hides the real leaks from
 * LeakSanitizer; with the wait, exit() starts only when every object is
 * gone, and the bound keeps a stuck thread from holding the worker.
 *
 * Compiled into each module's .so that uses it, hidden (see
 * ngx_http_edge_json.h).
 */


#ifndef _NGX_HTTP_EDGE_THREAD_STATE_H_INCLUDED_
#define _NGX_HTTP_EDGE_THREAD_STATE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include <pthread.h>


#ifndef NGX_HTTP_EDGE_HIDDEN
#if (__GNUC__ >= 4)
#define NGX_HTTP_EDGE_HIDDEN  __attribute__((visibility("hidden")))
#else
#define NGX_HTTP_EDGE_HIDDEN
#endif
#endif


/* the longest exit_process waits for the destructors, in ms */
#define NGX_HTTP_EDGE_THREAD_STATE_WAIT  1000


typedef void (*ngx_http_edge_thread_free_pt)(void *data);


/* one per kind of object, a static of the module; zero until init */

typedef struct {
    pthread_key_t                  key;
    ngx_http_edge_thread_free_pt   free;
    const char                    *module;    /* the log's prefix */
    ngx_atomic_t                   made;      /* by the worker's threads */
    ngx_atomic_t                   live;      /* made, not yet freed */
    ngx_uint_t                     keyed;     /* the key exists */
} ngx_http_edge_thread_state_t;


/*
 * In init_process (each worker): the key, whose destructor calls handler.
 * Once per process: a second call does nothing.  An [emerg] on failure.
 */
NGX_HTTP_EDGE_HIDDEN ngx_int_t ngx_http_edge_thread_state_init(
    ngx_http_edge_thread_state_t *ts, const char *module,
    ngx_http_edge_thread_free_pt handler, ngx_log_t *log);

/* the calling thread's object, or NULL (none yet, or no key) */
NGX_HTTP_EDGE_HIDDEN void *ngx_http_edge_thread_state_get(
    ngx_http_edge_thread_state_t *ts);

/*
 * Makes data the calling thread's object, freed when the thread ends; it
 * replaces the previous one (which is not freed: data may link to it).
 * NGX_ERROR (no key, no memory): data is still the caller's.
 */
NGX_HTTP_EDGE_HIDDEN ngx_int_t ngx_http_edge_thread_state_set(
    ngx_http_edge_thread_state_t *ts, void *data);

/* the threads whose object is not yet freed */
NGX_HTTP_EDGE_HIDDEN ngx_uint_t ngx_http_edge_thread_state_live(
    ngx_http_edge_thread_state_t *ts);

/*
 * In exit_process: waits up to NGX_HTTP_EDGE_THREAD_STATE_WAIT ms for the
 * destructors.  NGX_OK: all freed, the libraries may be shut down;
 * NGX_AGAIN: some still run (logged at warn), leave the libraries be.
 */
NGX_HTTP_EDGE_HIDDEN ngx_int_t ngx_http_edge_thread_state_exit(
    ngx_http_edge_thread_state_t *ts, ngx_log_t *log);


#endif /* _NGX_HTTP_EDGE_THREAD_STATE_H_INCLUDED_ */
