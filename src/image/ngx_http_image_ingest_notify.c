
/*
 * ngx_http_image_ingest_module: the notification to the app.
 *
 * After an upload is stored (and answered), its JSON is POSTed to
 * image_ingest_notify's URL by libcurl in a thread-pool task.  It lives
 * in its own pool, not the request's: the client may be long gone.  A
 * connection error, a timeout, a 5xx, 408 or 429 is retried up to
 * image_ingest_notify_retries times, waiting image_ingest_notify_backoff
 * (doubled each time, up to its maximum) on an nginx timer between
 * attempts, never in a thread.  Every failure is logged; the stored image
 * is never touched again: a notification that never arrives loses
 * nothing but the news (the app can list the store's <key>.json files).
 *
 * A worker that is shutting down waits for the pending attempts: the
 * timers are not cancelable.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <curl/curl.h>

#include "image_ingest_json.h"
#include "ngx_http_image_ingest.h"
#include "ngx_http_edge_curl.h"


typedef struct {
    ngx_pool_t                   *pool;
    ngx_log_t                    *log;
    ngx_thread_pool_t            *thread_pool;
    ngx_http_edge_task_t         *task;
    ngx_event_t                   timer;        /* the next attempt */
    ngx_event_t                   hold;         /* the worker, meanwhile */

    /* read-only for the thread */
    char                         *url;          /* NUL-terminated */
    u_char                       *json;
    size_t                        len;
    long                          timeout;      /* ms */

    ngx_uint_t                    attempt;      /* 1, 2, ... */
    ngx_uint_t                    retries;
    ngx_msec_t                    backoff;
    ngx_msec_t                    backoff_max;

    /* set by the thread */
    ngx_uint_t                    answered;     /* a response came */
    long                          status;       /* its status */
    char                          err[NGX_HTTP_EDGE_CURL_ERR_LEN];
} ngx_http_image_ingest_notify_t;


static void ngx_http_image_ingest_notify_post(
    ngx_http_image_ingest_notify_t *n);
static void ngx_http_image_ingest_notify_done(void *data);
static void ngx_http_image_ingest_notify_retry(
    ngx_http_image_ingest_notify_t *n, const char *why);
static void ngx_http_image_ingest_notify_timer(ngx_event_t *ev);
static void ngx_http_image_ingest_notify_thread(void *data, ngx_log_t *log);


ngx_int_t
ngx_http_image_ingest_notify(ngx_http_request_t *r,
    ngx_http_image_ingest_loc_conf_t *conf, u_char *json, size_t len)
{
    ngx_pool_t                      *pool;
    ngx_http_core_loc_conf_t        *clcf;
    ngx_http_image_ingest_notify_t  *n;

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    pool = ngx_create_pool(NGX_DEFAULT_POOL_SIZE, clcf->error_log);
    if (pool == NULL) {
        goto nomem;
    }

    n = ngx_pcalloc(pool, sizeof(ngx_http_image_ingest_notify_t));
    if (n == NULL) {
        goto nomem;
    }

    n->pool = pool;
    n->log = clcf->error_log;
    n->thread_pool = conf->thread_pool;
    n->timeout = (long) conf->notify_timeout;
    n->retries = conf->notify_retries;
    n->backoff = conf->notify_backoff;
    n->backoff_max = conf->notify_backoff_max;

    n->url = ngx_pnalloc(pool, conf->notify.len + 1);
    n->json = ngx_pnalloc(pool, len);
    n->task = ngx_http_edge_task_alloc(pool, 0);

    if (n->url == NULL || n->json == NULL || n->task == NULL) {
        goto nomem;
    }

    ngx_memcpy(n->url, conf->notify.data, conf->notify.len);
    n->url[conf->notify.len] = '\0';
    ngx_memcpy(n->json, json, len);
    n->len = len;

    n->task->task->ctx = n;
    n->task->task->handler = ngx_http_image_ingest_notify_thread;
    n->task->data = n;
    n->task->log = n->log;
    n->task->module = "image_ingest";
    n->task->work = "notification";
    n->task->name.data = (u_char *) n->url;
    n->task->name.len = conf->notify.len;
    n->task->timeout = conf->thread_timeout;
    n->task->done = ngx_http_image_ingest_notify_done;

    n->timer.handler = ngx_http_image_ingest_notify_timer;
    n->timer.data = n;
    n->timer.log = n->log;
    n->hold.data = n;

    ngx_http_image_ingest_notify_post(n);

    return NGX_OK;

nomem:

    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                  "image_ingest: notify: out of memory");

    if (pool) {
        ngx_destroy_pool(pool);
    }

    return NGX_ERROR;
}


static void
ngx_http_image_ingest_notify_post(ngx_http_image_ingest_notify_t *n)
{
    n->attempt++;

    if (ngx_http_edge_task_post(n->task, n->thread_pool, NULL) != NGX_OK) {
        ngx_http_image_ingest_notify_retry(n, "the thread pool queue is "
                                              "full");
        return;
    }

    ngx_http_edge_hold(&n->hold, n->log);
}


static void
ngx_http_image_ingest_notify_done(void *data)
{
    ngx_http_image_ingest_notify_t *n = data;

    const char  *why;

    ngx_http_edge_release(&n->hold);

    if (n->answered && n->status >= 200 && n->status <= 299) {
        ngx_log_error(NGX_LOG_INFO, n->log, 0,
                      "image_ingest: notified %s (HTTP %l, attempt %ui)",
                      n->url, n->status, n->attempt);
        ngx_destroy_pool(n->pool);
        return;
    }

    /* the shared client's message, without its "notify: " */

    why = n->err;

    if (ngx_strncmp(why, "notify: ", sizeof("notify: ") - 1) == 0) {
        why += sizeof("notify: ") - 1;
    }

    if (!image_ingest_notify_retryable(n->answered ? n->status : 0))
    {
        ngx_log_error(NGX_LOG_ERR, n->log, 0,
                      "image_ingest: notify %s failed: %s, not retried",
                      n->url, why);
        ngx_destroy_pool(n->pool);
        return;
    }

    ngx_http_image_ingest_notify_retry(n, why);
}


static void
ngx_http_image_ingest_notify_retry(ngx_http_image_ingest_notify_t *n,
    const char *why)
{
    ngx_msec_t  wait;

    if (n->attempt > n->retries) {
        ngx_log_error(NGX_LOG_ERR, n->log, 0,
                      "image_ingest: notify %s failed: %s, "
                      "gave up after %ui attempts", n->url, why, n->attempt);
        ngx_destroy_pool(n->pool);
        return;
    }

    wait = (ngx_msec_t) image_ingest_notify_backoff((unsigned) n->attempt,
                                                    n->backoff,
                                                    n->backoff_max);

    ngx_log_error(NGX_LOG_WARN, n->log, 0,
                  "image_ingest: notify %s failed: %s, attempt %ui of %ui, "
                  "retrying in %M ms", n->url, why, n->attempt,
                  n->retries + 1, wait);

    ngx_add_timer(&n->timer, wait);
}


static void
ngx_http_image_ingest_notify_timer(ngx_event_t *ev)
{
    ngx_http_image_ingest_notify_post(ev->data);
}



/* the thread: the shared client, to the receiver the configuration names */

static void
ngx_http_image_ingest_notify_thread(void *data, ngx_log_t *log)
{
    ngx_http_image_ingest_notify_t *n = data;

    CURL                          *curl;
    struct curl_slist             *headers, *h;
    ngx_http_edge_curl_policy_t    policy;
    ngx_http_edge_curl_request_t   rq;

    n->status = 0;
    n->answered = 0;
    ngx_cpystrn((u_char *) n->err, (u_char *) "notify: out of memory",
                sizeof(n->err));

    curl = curl_easy_init();
    if (curl == NULL) {
        return;
    }

    headers = curl_slist_append(NULL, "Content-Type: application/json");

    /* without "Expect:" libcurl waits up to 1 s for "100 Continue" */
    h = headers ? curl_slist_append(headers, "Expect:") : NULL;

    if (h == NULL) {
        goto done;
    }

    headers = h;

    /* the configuration names the receiver: no address policy */

    ngx_memzero(&policy, sizeof(ngx_http_edge_curl_policy_t));
    policy.timeout_ms = n->timeout;
    policy.user_agent = "nginx image_ingest";

    ngx_memzero(&rq, sizeof(ngx_http_edge_curl_request_t));
    rq.policy = &policy;
    rq.what = "notify";
    rq.url = n->url;
    rq.body = (char *) n->json;
    rq.body_len = n->len;
    rq.headers = headers;

    if (ngx_http_edge_curl_request(curl, &rq) == NGX_HTTP_EDGE_CURL_RESPONSE) {
        n->answered = 1;
        n->status = rq.status;
    }

    ngx_cpystrn((u_char *) n->err, (u_char *) rq.err, sizeof(n->err));

done:

    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
}
