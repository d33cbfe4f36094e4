
/*
 * ngx_http_face_module: what its files share.
 *
 *   ngx_http_face_module.c   directives, models, per-thread engine
 *                            contexts, the face_encode handler
 *   ngx_http_face_jobs.c     the face_jobs handler: the payload, the
 *                            invocation types, the spool write
 *   ngx_http_face_job_engine.c  running a job: the sources' tasks,
 *                            retries, outcomes, finishing a job
 *   ngx_http_face_spool.c    the spool: scans, claiming a job file with
 *                            flock(), the stale tmp/ sweep, loading a job
 *   ngx_http_face_fetch.c    in the threads: downloads, callbacks and
 *                            spool file I/O (libcurl, system calls)
 */


#ifndef _NGX_HTTP_FACE_H_INCLUDED_
#define _NGX_HTTP_FACE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_edge_json.h"
#include "ngx_http_edge_task.h"
#include "face.h"
#include "face_jobs.h"


#define NGX_HTTP_FACE_ERR_LEN        256

#define NGX_HTTP_FACE_ENCODE         1
#define NGX_HTTP_FACE_JOBS           2

/*
 * face_thread_timeout: a job's source task downloads (face_fetch_timeout,
 * 15 s), encodes and calls back (face_callback_timeout, 30 s)
 */
#define NGX_HTTP_FACE_THREAD_TIMEOUT  120000


typedef struct {
    face_models_t                   *models;
    ngx_str_t                        models_dir;
    ngx_array_t                     *spools;    /* ngx_http_face_spool_t */
} ngx_http_face_main_conf_t;


typedef struct {
    ngx_uint_t                       handler;   /* face_encode, face_jobs */
    ngx_str_t                        thread_pool_name;
    ngx_thread_pool_t               *thread_pool;
    ngx_msec_t                       thread_timeout;
    ngx_uint_t                       detector;
    ngx_uint_t                       alignment;
    ngx_flag_t                       flip;
    ngx_int_t                        min_confidence;  /* thousandths */
    size_t                           max_input;
    ngx_uint_t                       max_pixels;
    ngx_path_t                      *spool;
    ngx_msec_t                       fetch_timeout;
    ngx_msec_t                       callback_timeout;
    ngx_uint_t                       callback_retries;
    ngx_msec_t                       retry_after_max;  /* in all */
    ngx_msec_t                       callback_interval; /* 0: no rate */
    ngx_array_t                     *allow_hosts;    /* ngx_str_t */
    ngx_flag_t                       allow_private;
    ngx_uint_t                       parallel;

    /* derived in merge: what the threads read */
    face_options_t                   options;
    const char                     **host_names;
    size_t                          *host_lens;
} ngx_http_face_loc_conf_t;


/* a spool directory and the one face_jobs location that owns it */

typedef struct {
    ngx_path_t                      *path;
    ngx_http_face_loc_conf_t        *conf;
    ngx_log_t                       *log;

    /* this worker's */
    ngx_event_t                      timer;
    time_t                           sweep;    /* tmp/ from then on */
    unsigned                         busy:1;   /* scanning or working */
    unsigned                         again:1;  /* a job came meanwhile */
} ngx_http_face_spool_t;


/* what a thread needs to reach the network the way the conf says */

typedef struct {
    long                             timeout_ms;
    size_t                           max_input;
    ngx_flag_t                       allow_private;
    const char                     **host_names;
    size_t                          *host_lens;
    size_t                           nhosts;
    ngx_flag_t                       leave;     /* stop when leaving */
} ngx_http_face_net_conf_t;


/* the per-thread state: an engine context and a libcurl handle */

typedef struct {
    face_ctx_t                      *face;
    void                            *curl;
} ngx_http_face_thread_t;


/* a face job: its sources' state, on the event loop */

#define NGX_HTTP_FACE_SRC_PENDING      0
#define NGX_HTTP_FACE_SRC_RUNNING      1
#define NGX_HTTP_FACE_SRC_DONE         2

#define NGX_HTTP_FACE_DELIVERED        1
#define NGX_HTTP_FACE_FAILED           2


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
    int64_t                      retry_after;   /* s; -1: none */
    ngx_uint_t                   honoured;      /* Retry-After retries */
    ngx_msec_t                   waited;        /* on Retry-After */
    ngx_msec_t                   rate_wait;     /* face_callback_rate */
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


extern ngx_module_t  ngx_http_face_module;


/*
 * Whether this worker is leaving: stopping (SIGTERM: the master kills it
 * about 3 s later), shutting down or reloading.  Read in the threads: the
 * flags are set by the worker's signal handler and event loop, and a
 * thread reads them with an atomic load.  After SIGTERM the event loop
 * never runs again (the pool's threads only finish their queue), so a
 * thread must look for itself.
 */

static ngx_inline ngx_uint_t
ngx_http_face_leaving(void)
{
    return __atomic_load_n(&ngx_terminate, __ATOMIC_RELAXED)
           || __atomic_load_n(&ngx_quit, __ATOMIC_RELAXED)
           || __atomic_load_n(&ngx_exiting, __ATOMIC_RELAXED);
}


ngx_http_face_thread_t *ngx_http_face_thread(const face_models_t *models,
    char *err, size_t len);

ngx_int_t ngx_http_face_jobs_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_face_jobs_init_process(ngx_cycle_t *cycle);
void *ngx_http_face_jobs_alloc(void *ctx, size_t size);

ngx_http_face_job_t *ngx_http_face_job_create(
    ngx_http_face_loc_conf_t *conf, ngx_log_t *log);
ngx_int_t ngx_http_face_job_prepare(ngx_http_face_job_t *job);
void ngx_http_face_job_run(ngx_http_face_job_t *job);
void ngx_http_face_job_request_gone(void *data);
void ngx_http_face_job_finish(ngx_http_face_job_t *job);
void ngx_http_face_job_release(ngx_http_face_job_t *job);
void ngx_http_face_job_reason(ngx_http_face_job_t *job,
    ngx_http_face_source_t *s, const char *err);

void ngx_http_face_spool_kick(ngx_http_face_spool_t *spool);
char *ngx_http_face_path(ngx_pool_t *pool, ngx_str_t *dir,
    const char *sub, const char *name);

/*
 * In a thread.  A download returns NGX_OK, NGX_DECLINED (a message in
 * err) or, with nc->leave, NGX_ABORT when the worker is leaving.
 */

ngx_int_t ngx_http_face_download(ngx_http_face_thread_t *t,
    const ngx_http_face_net_conf_t *nc, const char *url, u_char **data,
    size_t *len, char *err, size_t err_len);
long ngx_http_face_post(ngx_http_face_thread_t *t,
    const ngx_http_face_net_conf_t *nc, const char *url, const char *body,
    size_t len, int64_t *retry_after, char *err, size_t err_len);


#endif /* _NGX_HTTP_FACE_H_INCLUDED_ */
