
/*
 * ngx_http_face_module: the network, in the pool's threads.
 *
 * Downloads and callbacks go through the shared client
 * (ngx_http_edge_curl.c) with one policy: downloads follow redirects by
 * hand (at most 5), every hop's URL checked (http or https,
 * face_allow_hosts, address literals) before it is requested; the
 * address of every connection libcurl opens is checked, whatever name led
 * there: loopback, private, link-local, unspecified, multicast and
 * reserved addresses are refused unless face_allow_private is on.
 *
 * A download for a spooled job (face_jobs) stops, as NGX_ABORT, when the
 * worker is leaving: before each hop, and in the middle of a transfer
 * (the client's stop check).  Downloading has no effect elsewhere, and the
 * next worker downloads again.  A callback is never cut short: the site
 * may already have taken it.
 *
 * Only the thread's libcurl handle, the given strings and system calls
 * here: no nginx memory pools, no events.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <curl/curl.h>

#include "ngx_http_face.h"
#include "edge_net.h"
#include "ngx_http_edge_curl.h"


#define NGX_HTTP_FACE_MAX_REDIRECTS   5


static void ngx_http_face_policy(const ngx_http_face_net_conf_t *nc,
    ngx_http_edge_curl_policy_t *p);
static ngx_int_t ngx_http_face_host_allowed(void *data, const char *url,
    size_t len, ngx_uint_t hop, char *reason, size_t size);


ngx_int_t
ngx_http_face_download(ngx_http_face_thread_t *t,
    const ngx_http_face_net_conf_t *nc, const char *url, u_char **data,
    size_t *len, char *err, size_t err_len)
{
    ngx_int_t                     rc;
    ngx_http_edge_curl_buffer_t   buf;
    ngx_http_edge_curl_policy_t   policy;
    ngx_http_edge_curl_request_t  rq;

    *data = NULL;
    *len = 0;

    ngx_http_face_policy(nc, &policy);
    policy.max_redirects = NGX_HTTP_FACE_MAX_REDIRECTS;

    if (nc->leave) {
        policy.stop = ngx_http_face_leaving;
    }

    ngx_memzero(&buf, sizeof(ngx_http_edge_curl_buffer_t));
    buf.max = nc->max_input;

    ngx_memzero(&rq, sizeof(ngx_http_edge_curl_request_t));
    rq.policy = &policy;
    rq.what = "download";
    rq.url = url;
    rq.sink = ngx_http_edge_curl_buffer_sink;
    rq.sink_data = &buf;

    switch (ngx_http_edge_curl_request(t->curl, &rq)) {

    case NGX_HTTP_EDGE_CURL_RESPONSE:

        if (rq.status < 200 || rq.status > 299) {
            rc = NGX_DECLINED;
            break;
        }

        if (buf.len == 0) {
            ngx_snprintf((u_char *) rq.err, sizeof(rq.err),
                         "download: empty body%Z");
            rc = NGX_DECLINED;
            break;
        }

        *data = buf.data;
        *len = buf.len;

        return NGX_OK;

    case NGX_HTTP_EDGE_CURL_STOPPED:
        rc = NGX_ABORT;
        break;

    case NGX_HTTP_EDGE_CURL_SINK_ERROR:
        ngx_snprintf((u_char *) rq.err, sizeof(rq.err),
                     "download: out of memory%Z");
        rc = NGX_DECLINED;
        break;

    default:
        rc = NGX_DECLINED;
    }

    free(buf.data);
    ngx_cpystrn((u_char *) err, (u_char *) rq.err, err_len);

    return rc;
}


/*
 * POSTs a JSON body; returns the response's status, or 0 with a message
 * in err when no response came (connection refused, timeout, refused
 * address...).  Redirects are not followed.  *retry_after: the delay a
 * 429 or 503 asked for with Retry-After, in seconds; -1 otherwise.
 */

long
ngx_http_face_post(ngx_http_face_thread_t *t,
    const ngx_http_face_net_conf_t *nc, const char *url, const char *body,
    size_t len, int64_t *retry_after, char *err, size_t err_len)
{
    struct curl_slist             *headers, *h;
    ngx_http_edge_curl_policy_t    policy;
    ngx_http_edge_curl_request_t   rq;

    *retry_after = -1;

    /* without "Expect:" libcurl may wait for "100 Continue" */

    headers = curl_slist_append(NULL, "Content-Type: application/json");
    h = headers ? curl_slist_append(headers, "Expect:") : NULL;

    if (h == NULL) {
        curl_slist_free_all(headers);
        ngx_snprintf((u_char *) err, err_len, "out of memory%Z");
        return 0;
    }

    /* a callback is never cut short: the site may already have taken it */

    ngx_http_face_policy(nc, &policy);

    ngx_memzero(&rq, sizeof(ngx_http_edge_curl_request_t));
    rq.policy = &policy;
    rq.what = "callback";
    rq.url = url;
    rq.body = body;
    rq.body_len = len;
    rq.headers = headers;

    (void) ngx_http_edge_curl_request(t->curl, &rq);

    *retry_after = rq.retry_after;

    curl_slist_free_all(headers);
    ngx_cpystrn((u_char *) err, (u_char *) rq.err, err_len);

    return (rq.result == NGX_HTTP_EDGE_CURL_RESPONSE) ? rq.status : 0;
}


static void
ngx_http_face_policy(const ngx_http_face_net_conf_t *nc,
    ngx_http_edge_curl_policy_t *p)
{
    ngx_memzero(p, sizeof(ngx_http_edge_curl_policy_t));

    p->guarded = 1;
    p->allow_private = nc->allow_private;
    p->private_name = "face_allow_private";
    p->timeout_ms = nc->timeout_ms;
    p->max_size = nc->max_input;
    p->size_name = "face_max_input";
    p->user_agent = "photo-edge face_jobs";

    if (nc->nhosts) {
        p->allow = ngx_http_face_host_allowed;
        p->allow_data = (void *) nc;
    }
}


/* every hop's host: face_allow_hosts */

static ngx_int_t
ngx_http_face_host_allowed(void *data, const char *url, size_t len,
    ngx_uint_t hop, char *reason, size_t size)
{
    const ngx_http_face_net_conf_t *nc = data;

    size_t       n;
    const char  *host;

    host = "";
    n = 0;

    if (edge_net_url_host(url, len, &host, &n) == 0
        && edge_net_host_allowed(host, n, nc->host_names, nc->host_lens,
                                 nc->nhosts))
    {
        return NGX_OK;
    }

    ngx_snprintf((u_char *) reason, size,
                 "refused: host \"%*s\" is not in face_allow_hosts%Z",
                 ngx_min(n, 64), host);

    return NGX_DECLINED;
}
