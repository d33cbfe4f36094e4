
/*
 * The one outbound HTTP client: see ngx_http_edge_curl.h.
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include <time.h>

#include "ngx_http_edge_curl.h"
#include "edge_retry_after.h"
#include "ngx_http_edge_metrics.h"


static ngx_int_t ngx_http_edge_curl_hop_ok(ngx_http_edge_curl_request_t *rq,
    const char *url, ngx_uint_t hop);
static CURLcode ngx_http_edge_curl_setup(CURL *curl,
    ngx_http_edge_curl_request_t *rq, const char *url, long timeout);
static ngx_http_edge_curl_result_e ngx_http_edge_curl_failed(
    ngx_http_edge_curl_request_t *rq, CURLcode code);
static void ngx_http_edge_curl_count(ngx_http_edge_curl_request_t *rq);
static ngx_http_edge_curl_result_e ngx_http_edge_curl_end(CURL *curl,
    ngx_http_edge_curl_request_t *rq, char *copy,
    ngx_http_edge_curl_result_e result);
static void ngx_http_edge_curl_retry_after(CURL *curl,
    ngx_http_edge_curl_request_t *rq);
static long ngx_http_edge_curl_left(ngx_http_edge_curl_request_t *rq,
    struct timespec *start);
static curl_socket_t ngx_http_edge_curl_open_socket(void *data,
    curlsocktype purpose, struct curl_sockaddr *address);
static size_t ngx_http_edge_curl_write(char *ptr, size_t size,
    size_t nmemb, void *data);
static int ngx_http_edge_curl_progress(void *data, curl_off_t dltotal,
    curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow);


#define ngx_http_edge_curl_msg(rq, fmt, ...)                                  \
    (void) snprintf((rq)->err, sizeof((rq)->err), "%s: " fmt, (rq)->what,     \
                    __VA_ARGS__)


ngx_http_edge_curl_result_e
ngx_http_edge_curl_request(CURL *curl, ngx_http_edge_curl_request_t *rq)
{
    long                          left;
    char                         *copy, *next;
    CURLcode                      code;
    curl_off_t                    filetime;
    ngx_uint_t                    hop;
    struct timespec               start;
    const char                   *url;
    const ngx_http_edge_curl_policy_t  *p;

    p = rq->policy;

    rq->status = 0;
    rq->redirects = 0;
    rq->received = 0;
    rq->mtime = -1;
    rq->retry_after = -1;
    rq->stopped = 0;
    rq->err[0] = '\0';
    rq->error_len = 0;

    (void) clock_gettime(CLOCK_MONOTONIC, &start);

    copy = NULL;
    url = rq->url;

    for (hop = 0; /* void */; hop++) {

        if (p->stop && p->stop()) {
            ngx_http_edge_curl_msg(rq, "%s", "stopped, the worker is leaving");
            return ngx_http_edge_curl_end(curl, rq, copy,
                                          NGX_HTTP_EDGE_CURL_STOPPED);
        }

        if (ngx_http_edge_curl_hop_ok(rq, url, hop) != NGX_OK) {
            return ngx_http_edge_curl_end(curl, rq, copy,
                                          NGX_HTTP_EDGE_CURL_REFUSED);
        }

        left = ngx_http_edge_curl_left(rq, &start);

        if (left < 0) {
            return ngx_http_edge_curl_end(curl, rq, copy,
                       ngx_http_edge_curl_failed(rq, CURLE_OPERATION_TIMEDOUT));
        }

        code = ngx_http_edge_curl_setup(curl, rq, url, left);

        if (code != CURLE_OK) {
            ngx_http_edge_curl_msg(rq, "libcurl refused an option: %s",
                                   curl_easy_strerror(code));
            return ngx_http_edge_curl_end(curl, rq, copy,
                                          NGX_HTTP_EDGE_CURL_FAILED);
        }

        code = curl_easy_perform(curl);

        if (code != CURLE_OK || rq->stopped) {
            return ngx_http_edge_curl_end(curl, rq, copy,
                                          ngx_http_edge_curl_failed(rq, code));
        }

        rq->status = 0;
        (void) curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &rq->status);

        next = NULL;

        if (rq->status >= 300 && rq->status <= 399 && p->max_redirects) {
            (void) curl_easy_getinfo(curl, CURLINFO_REDIRECT_URL, &next);
        }

        if (next == NULL) {
            break;
        }

        if (hop == p->max_redirects) {
            ngx_http_edge_curl_msg(rq, "more than %lu redirects",
                                   (unsigned long) p->max_redirects);
            return ngx_http_edge_curl_end(curl, rq, copy,
                                          NGX_HTTP_EDGE_CURL_REFUSED);
        }

        /* the handle owns "next" until the next transfer: copy it */

        free(copy);
        copy = strdup(next);

        if (copy == NULL) {
            ngx_http_edge_curl_msg(rq, "%s", "out of memory");
            return ngx_http_edge_curl_end(curl, rq, copy,
                                          NGX_HTTP_EDGE_CURL_FAILED);
        }

        url = copy;
        rq->redirects++;
    }

    if (rq->status == 429 || rq->status == 503) {
        ngx_http_edge_curl_retry_after(curl, rq);
    }

    if (rq->filetime) {
        filetime = -1;
        (void) curl_easy_getinfo(curl, CURLINFO_FILETIME_T, &filetime);
        rq->mtime = (int64_t) filetime;
    }

    (void) snprintf(rq->err, sizeof(rq->err), "%s: HTTP %ld", rq->what,
                    rq->status);

    return ngx_http_edge_curl_end(curl, rq, copy,
                                  NGX_HTTP_EDGE_CURL_RESPONSE);
}


/* every hop, before it is requested: scheme, address literal, allow-list */

static ngx_int_t
ngx_http_edge_curl_hop_ok(ngx_http_edge_curl_request_t *rq, const char *url,
    ngx_uint_t hop)
{
    size_t                              n, len;
    const char                         *host;
    edge_net_class_e                    cls;
    const ngx_http_edge_curl_policy_t  *p;
    char                                reason[256];

    p = rq->policy;
    len = ngx_strlen(url);

    if (!((len > 7 && ngx_strncasecmp((u_char *) url, (u_char *) "http://",
                                      7) == 0)
          || (len > 8 && ngx_strncasecmp((u_char *) url,
                                         (u_char *) "https://", 8) == 0)))
    {
        ngx_http_edge_curl_msg(rq, "%s",
                               "refused: not an http or https URL");
        return NGX_DECLINED;
    }

    if (edge_net_url_host(url, len, &host, &n) != 0) {
        ngx_http_edge_curl_msg(rq, "%s", "refused: no host in URL");
        return NGX_DECLINED;
    }

    if (p->guarded && !p->allow_private
        && edge_net_host_literal(host, n, &cls) == 0
        && cls != EDGE_NET_PUBLIC)
    {
        ngx_http_edge_curl_msg(rq, "refused: %s%s address \"%.*s\" "
                               "(%s is off)", hop ? "redirected to " : "",
                               edge_net_class_name(cls),
                               (int) ngx_min(n, 64), host, p->private_name);
        return NGX_DECLINED;
    }

    if (p->allow
        && p->allow(p->allow_data, url, len, hop, reason, sizeof(reason))
           != NGX_OK)
    {
        ngx_http_edge_curl_msg(rq, "%s", reason);
        return NGX_DECLINED;
    }

    return NGX_OK;
}


static CURLcode
ngx_http_edge_curl_setup(CURL *curl, ngx_http_edge_curl_request_t *rq,
    const char *url, long timeout)
{
    uint64_t                            max;
    CURLcode                            code;
    const ngx_http_edge_curl_policy_t  *p;

    p = rq->policy;

    curl_easy_reset(curl);

    rq->handle = curl;
    rq->errbuf[0] = '\0';
    rq->refused = EDGE_NET_PUBLIC;
    rq->too_big = 0;
    rq->sink_failed = 0;
    rq->received = 0;

    max = rq->max_size ? rq->max_size : p->max_size;

#define ngx_http_edge_curl_opt(opt, v)                                        \
    if (code == CURLE_OK) {                                                   \
        code = curl_easy_setopt(curl, opt, v);                                \
    }

    code = curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);

    ngx_http_edge_curl_opt(CURLOPT_URL, url);
    ngx_http_edge_curl_opt(CURLOPT_PROTOCOLS_STR, "http,https");
    ngx_http_edge_curl_opt(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    ngx_http_edge_curl_opt(CURLOPT_FOLLOWLOCATION, 0L);
    ngx_http_edge_curl_opt(CURLOPT_PROXY, "");
    ngx_http_edge_curl_opt(CURLOPT_NOPROXY, "*");
    ngx_http_edge_curl_opt(CURLOPT_CONNECTTIMEOUT_MS,
                           (timeout == 0)
                           ? (long) NGX_HTTP_EDGE_CURL_CONNECT_MS
                           : (long) ngx_min(timeout,
                                            NGX_HTTP_EDGE_CURL_CONNECT_MS));
    ngx_http_edge_curl_opt(CURLOPT_TIMEOUT_MS, timeout);
    ngx_http_edge_curl_opt(CURLOPT_ERRORBUFFER, rq->errbuf);
    ngx_http_edge_curl_opt(CURLOPT_WRITEFUNCTION, ngx_http_edge_curl_write);
    ngx_http_edge_curl_opt(CURLOPT_WRITEDATA, rq);

    if (p->user_agent) {
        ngx_http_edge_curl_opt(CURLOPT_USERAGENT, p->user_agent);
    }

    if (max) {
        ngx_http_edge_curl_opt(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t) max);
    }

    if (rq->filetime) {
        ngx_http_edge_curl_opt(CURLOPT_FILETIME, 1L);
    }

    if (rq->headers) {
        ngx_http_edge_curl_opt(CURLOPT_HTTPHEADER, rq->headers);
    }

    if (rq->mime) {
        ngx_http_edge_curl_opt(CURLOPT_MIMEPOST, rq->mime);

    } else if (rq->body) {
        ngx_http_edge_curl_opt(CURLOPT_POSTFIELDSIZE_LARGE,
                               (curl_off_t) rq->body_len);
        ngx_http_edge_curl_opt(CURLOPT_POSTFIELDS, rq->body);
    }

    if (rq->method) {
        if (ngx_strcmp(rq->method, "HEAD") == 0) {
            ngx_http_edge_curl_opt(CURLOPT_NOBODY, 1L);

        } else {
            ngx_http_edge_curl_opt(CURLOPT_CUSTOMREQUEST, rq->method);
        }
    }

    if (p->guarded) {
        ngx_http_edge_curl_opt(CURLOPT_OPENSOCKETFUNCTION,
                               ngx_http_edge_curl_open_socket);
        ngx_http_edge_curl_opt(CURLOPT_OPENSOCKETDATA, rq);
    }

    if (p->stop) {
        ngx_http_edge_curl_opt(CURLOPT_XFERINFOFUNCTION,
                               ngx_http_edge_curl_progress);
        ngx_http_edge_curl_opt(CURLOPT_XFERINFODATA, rq);
        ngx_http_edge_curl_opt(CURLOPT_NOPROGRESS, 0L);
    }

#undef ngx_http_edge_curl_opt

    return code;
}


/* a transfer that got no answer: the first reason, in rq->err */

static ngx_http_edge_curl_result_e
ngx_http_edge_curl_failed(ngx_http_edge_curl_request_t *rq, CURLcode code)
{
    size_t                              n;
    const ngx_http_edge_curl_policy_t  *p;

    p = rq->policy;

    if (rq->stopped) {
        ngx_http_edge_curl_msg(rq, "%s", "stopped, the worker is leaving");
        return NGX_HTTP_EDGE_CURL_STOPPED;
    }

    if (rq->refused != EDGE_NET_PUBLIC) {
        ngx_http_edge_curl_msg(rq, "refused: the host resolves to a %s "
                               "address (%s is off)",
                               edge_net_class_name(rq->refused),
                               p->private_name);
        return NGX_HTTP_EDGE_CURL_REFUSED;
    }

    if (rq->too_big || code == CURLE_FILESIZE_EXCEEDED) {
        ngx_http_edge_curl_msg(rq, "larger than %s (%llu bytes)",
                               p->size_name,
                               (unsigned long long) p->max_size);
        return NGX_HTTP_EDGE_CURL_TOO_BIG;
    }

    if (rq->sink_failed) {
        ngx_http_edge_curl_msg(rq, "%s", "the body could not be stored");
        return NGX_HTTP_EDGE_CURL_SINK_ERROR;
    }

    n = ngx_strlen(rq->errbuf);

    while (n > 0 && (rq->errbuf[n - 1] == '\n' || rq->errbuf[n - 1] == '\r'))
    {
        n--;
    }

    if (n) {
        ngx_http_edge_curl_msg(rq, "%.*s", (int) n, rq->errbuf);

    } else {
        ngx_http_edge_curl_msg(rq, "%s", curl_easy_strerror(code));
    }

    return NGX_HTTP_EDGE_CURL_FAILED;
}


/*
 * the metrics: a request that failed, or was answered 400 or more (but
 * for the status the caller expects)
 */

static void
ngx_http_edge_curl_count(ngx_http_edge_curl_request_t *rq)
{
    switch (rq->result) {

    case NGX_HTTP_EDGE_CURL_RESPONSE:
        if (rq->status >= 400 && rq->status != rq->expected) {
            ngx_http_edge_metrics_outbound(EDGE_METRICS_OUT_STATUS);
        }
        break;

    case NGX_HTTP_EDGE_CURL_REFUSED:
        ngx_http_edge_metrics_outbound(EDGE_METRICS_OUT_REFUSED);
        break;

    case NGX_HTTP_EDGE_CURL_TOO_BIG:
        ngx_http_edge_metrics_outbound(EDGE_METRICS_OUT_TOO_BIG);
        break;

    case NGX_HTTP_EDGE_CURL_SINK_ERROR:
        ngx_http_edge_metrics_outbound(EDGE_METRICS_OUT_SINK);
        break;

    case NGX_HTTP_EDGE_CURL_FAILED:
        ngx_http_edge_metrics_outbound(EDGE_METRICS_OUT_FAILED);
        break;

    default: /* STOPPED: the worker is leaving, nothing failed */
        break;
    }
}


/* the handle must point to none of the request's memory afterwards */

static ngx_http_edge_curl_result_e
ngx_http_edge_curl_end(CURL *curl, ngx_http_edge_curl_request_t *rq,
    char *copy, ngx_http_edge_curl_result_e result)
{
    free(copy);
    curl_easy_reset(curl);

    rq->result = result;

    ngx_http_edge_curl_count(rq);

    return result;
}


/* read before the handle is reset: it forgets the answer's headers */

static void
ngx_http_edge_curl_retry_after(CURL *curl, ngx_http_edge_curl_request_t *rq)
{
    struct curl_header  *h;

    if (curl_easy_header(curl, "Retry-After", 0, CURLH_HEADER, -1, &h)
        == CURLHE_OK)
    {
        rq->retry_after = edge_retry_after(h->value, ngx_strlen(h->value),
                                           (int64_t) time(NULL));
    }
}


/* ms left of the request's time limit (at least 1); 0: no limit, -1: out */

static long
ngx_http_edge_curl_left(ngx_http_edge_curl_request_t *rq,
    struct timespec *start)
{
    long             elapsed, left;
    struct timespec  now;

    if (rq->policy->timeout_ms <= 0) {
        return 0;
    }

    (void) clock_gettime(CLOCK_MONOTONIC, &now);

    elapsed = (long) (now.tv_sec - start->tv_sec) * 1000
              + (now.tv_nsec - start->tv_nsec) / 1000000;

    left = rq->policy->timeout_ms - elapsed;

    return (left > 0) ? left : -1;
}


/*
 * Every connection of every transfer: the address it is about to go to,
 * whatever name or DNS answer led there.
 */

static curl_socket_t
ngx_http_edge_curl_open_socket(void *data, curlsocktype purpose,
    struct curl_sockaddr *address)
{
    ngx_http_edge_curl_request_t *rq = data;

    edge_net_class_e  cls;

    if (purpose != CURLSOCKTYPE_IPCXN) {
        return CURL_SOCKET_BAD;
    }

    cls = edge_net_classify(&address->addr, address->addrlen);

    if (cls != EDGE_NET_PUBLIC && !rq->policy->allow_private) {
        rq->refused = cls;
        return CURL_SOCKET_BAD;
    }

    return socket(address->family, address->socktype, address->protocol);
}


/*
 * a 2xx answer's body to the sink, under the cap; any other dropped, but
 * for its first bytes with error_body (an S3 error's code)
 */

static size_t
ngx_http_edge_curl_write(char *ptr, size_t size, size_t nmemb, void *data)
{
    ngx_http_edge_curl_request_t *rq = data;

    long       status;
    size_t     n;
    uint64_t   max;

    n = size * nmemb;
    max = rq->max_size ? rq->max_size : rq->policy->max_size;

    status = 0;
    (void) curl_easy_getinfo(rq->handle, CURLINFO_RESPONSE_CODE, &status);

    if (status < 200 || status > 299) {
        if (rq->error_body && rq->error_len < sizeof(rq->error) - 1) {
            max = ngx_min(n, sizeof(rq->error) - 1 - rq->error_len);
            ngx_memcpy(rq->error + rq->error_len, ptr, (size_t) max);
            rq->error_len += (size_t) max;
            rq->error[rq->error_len] = '\0';
        }

        return n;
    }

    if (max && n > max - rq->received) {
        rq->too_big = 1;
        return 0;
    }

    if (rq->sink && rq->sink(rq->sink_data, ptr, n) != n) {
        rq->sink_failed = 1;
        return 0;
    }

    rq->received += n;

    return n;
}


/* called by libcurl at least once a second during a transfer */

static int
ngx_http_edge_curl_progress(void *data, curl_off_t dltotal, curl_off_t dlnow,
    curl_off_t ultotal, curl_off_t ulnow)
{
    ngx_http_edge_curl_request_t *rq = data;

    if (rq->policy->stop()) {
        rq->stopped = 1;
        return 1;
    }

    return 0;
}


size_t
ngx_http_edge_curl_buffer_sink(void *data, const char *p, size_t n)
{
    ngx_http_edge_curl_buffer_t *b = data;

    u_char  *d;
    size_t   want;

    if (b->len + n > b->size) {
        want = ngx_max(b->size * 2, 64 * 1024);
        want = ngx_max(want, b->len + n);

        if (b->max) {
            want = ngx_min(want, b->max);
        }

        if (want < b->len + n) {
            return 0;
        }

        d = realloc(b->data, want);
        if (d == NULL) {
            return 0;
        }

        b->data = d;
        b->size = want;
    }

    ngx_memcpy(b->data + b->len, p, n);
    b->len += n;

    return n;
}
