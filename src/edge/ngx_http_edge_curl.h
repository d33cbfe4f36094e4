
/*
 * The one outbound HTTP client of the photo-edge modules, for the libcurl
 * handles they drive in their pool threads: the zipper's downloads and
 * upload, face jobs' downloads and callbacks, image ingest's
 * notifications.  One policy for all of them:
 *   - http and https only, on every hop;
 *   - no proxy, whatever the environment says: a proxy is an address
 *     nobody checked;
 *   - no signals (a thread may not take SIGALRM for DNS timeouts);
 *   - a connect time limit, and one time limit for the whole request,
 *     redirects included;
 *   - redirects followed by hand, at most max_redirects, each hop's URL
 *     checked before it is requested: the scheme, an address literal
 *     against the address classes, the module's allow-list;
 *   - with a guard (guarded), the address classes on every connection
 *     libcurl opens, whatever name, redirect or DNS answer led there:
 *     edge_net.c's classes, internal ones refused unless allow_private;
 *   - a cap on the body of the answer, before (Content-Length) and while
 *     it arrives;
 *   - the body of a 2xx answer goes to the caller's sink, any other is
 *     read and dropped;
 *   - optionally, a stop check once a second (a worker leaving);
 *   - the delay a 429 or 503 asks for with Retry-After, for the caller's
 *     retry.
 * One message per failure, "<what>: <reason>", for the module's log line
 * and its JSON error.
 *
 * Only libcurl and system calls here: safe in a pool thread.  Compiled
 * into each module's .so, hidden (see ngx_http_edge_json.h).
 */


#ifndef _NGX_HTTP_EDGE_CURL_H_INCLUDED_
#define _NGX_HTTP_EDGE_CURL_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include <curl/curl.h>

#include "edge_net.h"


#ifndef NGX_HTTP_EDGE_HIDDEN
#if (__GNUC__ >= 4)
#define NGX_HTTP_EDGE_HIDDEN  __attribute__((visibility("hidden")))
#else
#define NGX_HTTP_EDGE_HIDDEN
#endif
#endif


/* the connect time limit of every outbound request */
#define NGX_HTTP_EDGE_CURL_CONNECT_MS  10000

#define NGX_HTTP_EDGE_CURL_ERR_LEN     384


/*
 * A hop's URL against the module's allow-list: NGX_OK, or NGX_DECLINED
 * with the reason written to reason (hop 0 is the URL asked for).
 */
typedef ngx_int_t (*ngx_http_edge_curl_allow_pt)(void *data, const char *url,
    size_t len, ngx_uint_t hop, char *reason, size_t size);

/* 1: stop now (checked before each hop and once a second) */
typedef ngx_uint_t (*ngx_http_edge_curl_stop_pt)(void);

/* a 2xx answer's body: returns n, or 0 to fail the transfer */
typedef size_t (*ngx_http_edge_curl_sink_pt)(void *data, const char *p,
    size_t n);


typedef struct {
    ngx_uint_t                    guarded;        /* the address classes */
    ngx_uint_t                    allow_private;  /* internal ones too */
    const char                   *private_name;   /* its directive */
    ngx_uint_t                    max_redirects;  /* 0: none followed */
    long                          timeout_ms;     /* all hops; 0: none */
    uint64_t                      max_size;       /* of a body; 0: none */
    const char                   *size_name;      /* its directive */
    ngx_http_edge_curl_allow_pt   allow;          /* NULL: any host */
    void                         *allow_data;
    ngx_http_edge_curl_stop_pt    stop;           /* NULL: never */
    const char                   *user_agent;
} ngx_http_edge_curl_policy_t;


typedef enum {
    NGX_HTTP_EDGE_CURL_RESPONSE = 0,  /* an answer: see status */
    NGX_HTTP_EDGE_CURL_REFUSED,       /* the policy refused a hop */
    NGX_HTTP_EDGE_CURL_TOO_BIG,       /* over the size cap */
    NGX_HTTP_EDGE_CURL_SINK_ERROR,    /* the sink refused the body */
    NGX_HTTP_EDGE_CURL_STOPPED,       /* stop() said so */
    NGX_HTTP_EDGE_CURL_FAILED         /* no answer: connect, timeout... */
} ngx_http_edge_curl_result_e;


typedef struct {
    const ngx_http_edge_curl_policy_t  *policy;
    const char                         *what;      /* "download" */
    const char                         *url;

    /*
     * a POST: a body, or a multipart form; neither: a GET.  method
     * overrides it: "PUT" with a body, "HEAD", "DELETE".
     */
    const char                         *method;
    const char                         *body;
    size_t                              body_len;
    curl_mime                          *mime;
    struct curl_slist                  *headers;

    uint64_t                            max_size;  /* 0: the policy's */
    ngx_http_edge_curl_sink_pt          sink;      /* NULL: dropped */
    void                               *sink_data;
    unsigned                            filetime:1;  /* want it */
    unsigned                            error_body:1;  /* keep its start */
    long                                expected;  /* a status of 400 or
                                                      more that is an
                                                      answer, not an error
                                                      (an S3 404, 412) */

    /* the outcome */
    ngx_http_edge_curl_result_e         result;
    long                                status;
    ngx_uint_t                          redirects;
    uint64_t                            received;  /* the 2xx body's */
    int64_t                             retry_after;  /* s, of a 429 or
                                                         503; -1: none */
    int64_t                             mtime;     /* -1: unknown */
    char                                err[NGX_HTTP_EDGE_CURL_ERR_LEN];

    /* with error_body: the first bytes of a non-2xx answer's body */
    char                                error[NGX_HTTP_EDGE_CURL_ERR_LEN];
    size_t                              error_len;

    /* the transfer's own */
    CURL                               *handle;
    edge_net_class_e                    refused;
    unsigned                            too_big:1;
    unsigned                            sink_failed:1;
    unsigned                            stopped:1;
    char                                errbuf[CURL_ERROR_SIZE];
} ngx_http_edge_curl_request_t;


/*
 * Runs the request on curl (reset before and after).  The result is also
 * in rq->result; RESPONSE is any answer, whatever its status (redirects
 * beyond max_redirects are REFUSED); everything else has its message in
 * rq->err.
 */
NGX_HTTP_EDGE_HIDDEN ngx_http_edge_curl_result_e ngx_http_edge_curl_request(
    CURL *curl, ngx_http_edge_curl_request_t *rq);


/* a sink into a malloc()ed buffer, up to the request's size cap */

typedef struct {
    u_char                             *data;     /* free() it */
    size_t                              len;
    size_t                              size;
    size_t                              max;
} ngx_http_edge_curl_buffer_t;

NGX_HTTP_EDGE_HIDDEN size_t ngx_http_edge_curl_buffer_sink(void *data,
    const char *p, size_t n);


#endif /* _NGX_HTTP_EDGE_CURL_H_INCLUDED_ */
