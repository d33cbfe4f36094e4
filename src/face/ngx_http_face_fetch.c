
/*
 * ngx_http_face_module: the network, in the pool's threads.
 *
 * Downloads follow redirects by hand (at most 5), so that every hop's
 * URL is checked (http or https, face_allow_hosts) before it is
 * requested; the open-socket callback of the shared client
 * (ngx_http_edge_curl.c) checks the address of every connection libcurl
 * opens, whatever name led there, and refuses loopback, private,
 * link-local, unspecified, multicast and reserved addresses unless
 * face_allow_private is on.  No proxy from the environment is used: it
 * would be an address nobody checked.
 *
 * A download for a spooled job (face_jobs) stops, as NGX_ABORT, when the
 * worker is leaving: before each hop, and in the middle of a transfer
 * (the progress callback).  Downloading has no effect elsewhere, and the
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
#include "edge_retry_after.h"
#include "ngx_http_edge_curl.h"


#define NGX_HTTP_FACE_MAX_REDIRECTS   5


typedef struct {
    const ngx_http_face_net_conf_t  *conf;
    u_char                          *data;      /* malloc()ed */
    size_t                           len;
    size_t                           size;
    ngx_http_edge_curl_guard_t       guard;     /* the address policy */
    unsigned                         too_big:1;
    unsigned                         nomem:1;
    unsigned                         left:1;    /* the worker is leaving */
} ngx_http_face_transfer_t;


static CURLcode ngx_http_face_setup(CURL *curl,
    ngx_http_face_transfer_t *tr, const char *url, char *errbuf);
static ngx_int_t ngx_http_face_url_ok(const ngx_http_face_net_conf_t *nc,
    const char *what, const char *url, char *err, size_t err_len);
static size_t ngx_http_face_write(char *ptr, size_t size, size_t nmemb,
    void *data);
static size_t ngx_http_face_discard(char *ptr, size_t size, size_t nmemb,
    void *data);
static int ngx_http_face_progress(void *data, curl_off_t dltotal,
    curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow);
static void ngx_http_face_curl_error(ngx_http_face_transfer_t *tr,
    const char *what, CURLcode code, const char *errbuf, char *err,
    size_t err_len);


ngx_int_t
ngx_http_face_download(ngx_http_face_thread_t *t,
    const ngx_http_face_net_conf_t *nc, const char *url, u_char **data,
    size_t *len, char *err, size_t err_len)
{
    long                       status;
    char                      *next, *cur;
    CURL                      *curl;
    CURLcode                   code;
    ngx_uint_t                 hop;
    ngx_http_face_transfer_t   tr;
    char                       errbuf[CURL_ERROR_SIZE];

    curl = t->curl;
    cur = NULL;

    ngx_memzero(&tr, sizeof(ngx_http_face_transfer_t));
    tr.conf = nc;
    tr.guard.allow_private = nc->allow_private;

    *data = NULL;
    *len = 0;

    for (hop = 0; /* void */; hop++) {

        if (nc->leave && ngx_http_face_leaving()) {
            goto left;
        }

        if (ngx_http_face_url_ok(nc, "download", cur ? cur : url, err,
                                 err_len)
            != NGX_OK)
        {
            goto failed;
        }

        tr.len = 0;

        code = ngx_http_face_setup(curl, &tr, cur ? cur : url, errbuf);

        if (code == CURLE_OK) {
            code = curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION,
                                    ngx_http_face_write);
        }

        if (code == CURLE_OK) {
            code = curl_easy_setopt(curl, CURLOPT_WRITEDATA, &tr);
        }

        if (code == CURLE_OK) {
            code = curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS,
                                    nc->timeout_ms);
        }

        if (code == CURLE_OK) {
            code = curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE,
                                    (curl_off_t) nc->max_input);
        }

        if (code == CURLE_OK && nc->leave) {
            code = curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION,
                                    ngx_http_face_progress);

            if (code == CURLE_OK) {
                code = curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &tr);
            }

            if (code == CURLE_OK) {
                code = curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
            }
        }

        if (code != CURLE_OK) {
            ngx_snprintf((u_char *) err, err_len,
                         "download: libcurl refused an option%Z");
            goto failed;
        }

        code = curl_easy_perform(curl);

        if (tr.left) {
            goto left;
        }

        if (code != CURLE_OK) {
            ngx_http_face_curl_error(&tr, "download", code, errbuf, err,
                                     err_len);
            goto failed;
        }

        status = 0;
        (void) curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);

        if (status >= 200 && status <= 299) {
            break;
        }

        next = NULL;

        if (status >= 300 && status <= 399) {
            (void) curl_easy_getinfo(curl, CURLINFO_REDIRECT_URL, &next);
        }

        if (next == NULL) {
            ngx_snprintf((u_char *) err, err_len, "download: HTTP %l%Z",
                         status);
            goto failed;
        }

        if (hop == NGX_HTTP_FACE_MAX_REDIRECTS) {
            ngx_snprintf((u_char *) err, err_len,
                         "download: more than %d redirects%Z",
                         NGX_HTTP_FACE_MAX_REDIRECTS);
            goto failed;
        }

        /* the handle owns "next" until the next transfer: copy it */

        free(cur);
        cur = strdup(next);

        if (cur == NULL) {
            ngx_snprintf((u_char *) err, err_len, "out of memory%Z");
            goto failed;
        }
    }

    free(cur);
    curl_easy_reset(curl);

    if (tr.len == 0) {
        free(tr.data);
        ngx_snprintf((u_char *) err, err_len, "download: empty body%Z");
        return NGX_DECLINED;
    }

    *data = tr.data;
    *len = tr.len;

    return NGX_OK;

left:

    ngx_snprintf((u_char *) err, err_len,
                 "download: stopped, the worker is leaving%Z");

    free(cur);
    free(tr.data);
    curl_easy_reset(curl);

    return NGX_ABORT;

failed:

    free(cur);
    free(tr.data);
    curl_easy_reset(curl);

    return NGX_DECLINED;
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
    long                       status;
    CURL                      *curl;
    CURLcode                   code;
    struct curl_header        *ra;
    struct curl_slist         *headers, *h;
    ngx_http_face_transfer_t   tr;
    char                       errbuf[CURL_ERROR_SIZE];

    curl = t->curl;
    *retry_after = -1;

    if (ngx_http_face_url_ok(nc, "callback", url, err, err_len) != NGX_OK) {
        return 0;
    }

    ngx_memzero(&tr, sizeof(ngx_http_face_transfer_t));
    tr.conf = nc;
    tr.guard.allow_private = nc->allow_private;

    /* without "Expect:" libcurl may wait for "100 Continue" */

    headers = curl_slist_append(NULL, "Content-Type: application/json");
    h = headers ? curl_slist_append(headers, "Expect:") : NULL;

    if (h == NULL) {
        curl_slist_free_all(headers);
        ngx_snprintf((u_char *) err, err_len, "out of memory%Z");
        return 0;
    }

    code = ngx_http_face_setup(curl, &tr, url, errbuf);

    if (code == CURLE_OK) {
        code = curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    }

    if (code == CURLE_OK) {
        code = curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                                (curl_off_t) len);
    }

    if (code == CURLE_OK) {
        code = curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
    }

    if (code == CURLE_OK) {
        code = curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION,
                                ngx_http_face_discard);
    }

    if (code == CURLE_OK) {
        code = curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, nc->timeout_ms);
    }

    if (code != CURLE_OK) {
        ngx_snprintf((u_char *) err, err_len,
                     "callback: libcurl refused an option%Z");
        status = 0;
        goto done;
    }

    code = curl_easy_perform(curl);

    status = 0;

    if (code != CURLE_OK) {
        ngx_http_face_curl_error(&tr, "callback", code, errbuf, err,
                                 err_len);
        goto done;
    }

    (void) curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);

    ngx_snprintf((u_char *) err, err_len, "callback: HTTP %l%Z", status);

    if ((status == 429 || status == 503)
        && curl_easy_header(curl, "Retry-After", 0, CURLH_HEADER, -1, &ra)
           == CURLHE_OK)
    {
        *retry_after = edge_retry_after(ra->value, ngx_strlen(ra->value),
                                        (int64_t) time(NULL));
    }

done:

    /* the handle must not point to the headers freed here */
    curl_easy_reset(curl);
    curl_slist_free_all(headers);

    return status;
}


static CURLcode
ngx_http_face_setup(CURL *curl, ngx_http_face_transfer_t *tr,
    const char *url, char *errbuf)
{
    CURLcode  code;

    curl_easy_reset(curl);
    errbuf[0] = '\0';

#define ngx_http_face_opt(opt, v)                                             \
    if (code == CURLE_OK) {                                                   \
        code = curl_easy_setopt(curl, opt, v);                                \
    }

    code = ngx_http_edge_curl_common(curl, &tr->guard);

    ngx_http_face_opt(CURLOPT_URL, url);
    ngx_http_face_opt(CURLOPT_FOLLOWLOCATION, 0L);
    ngx_http_face_opt(CURLOPT_ERRORBUFFER, errbuf);
    ngx_http_face_opt(CURLOPT_USERAGENT, "photo-edge face_jobs");

#undef ngx_http_face_opt

    return code;
}


/* every hop: http or https, a host, face_allow_hosts, address literals */

static ngx_int_t
ngx_http_face_url_ok(const ngx_http_face_net_conf_t *nc, const char *what,
    const char *url, char *err, size_t err_len)
{
    size_t            n, len;
    const char       *host;
    edge_net_class_e  cls;

    len = ngx_strlen(url);

    if (!((len > 7 && ngx_strncasecmp((u_char *) url, (u_char *) "http://",
                                      7) == 0)
          || (len > 8 && ngx_strncasecmp((u_char *) url,
                                         (u_char *) "https://", 8) == 0)))
    {
        ngx_snprintf((u_char *) err, err_len,
                     "%s: refused: not an http or https URL%Z", what);
        return NGX_DECLINED;
    }

    if (edge_net_url_host(url, len, &host, &n) != 0) {
        ngx_snprintf((u_char *) err, err_len, "%s: refused: no host in URL%Z",
                     what);
        return NGX_DECLINED;
    }

    if (nc->nhosts
        && !edge_net_host_allowed(host, n, nc->host_names, nc->host_lens,
                                  nc->nhosts))
    {
        ngx_snprintf((u_char *) err, err_len,
                     "%s: refused: host \"%*s\" is not in "
                     "face_allow_hosts%Z", what, ngx_min(n, 64), host);
        return NGX_DECLINED;
    }

    if (!nc->allow_private && edge_net_host_literal(host, n, &cls) == 0
        && cls != EDGE_NET_PUBLIC)
    {
        ngx_snprintf((u_char *) err, err_len,
                     "%s: refused: %s address \"%*s\"%Z", what,
                     edge_net_class_name(cls), ngx_min(n, 64), host);
        return NGX_DECLINED;
    }

    return NGX_OK;
}


/* the address libcurl is about to connect to, on every connection */

static size_t
ngx_http_face_write(char *ptr, size_t size, size_t nmemb, void *data)
{
    ngx_http_face_transfer_t *tr = data;

    u_char  *p;
    size_t   n, want;

    n = size * nmemb;

    if (n > tr->conf->max_input - tr->len) {
        tr->too_big = 1;
        return 0;
    }

    if (tr->len + n > tr->size) {
        want = ngx_max(tr->size * 2, 64 * 1024);
        want = ngx_max(want, tr->len + n);
        want = ngx_min(want, tr->conf->max_input);

        p = realloc(tr->data, want);
        if (p == NULL) {
            tr->nomem = 1;
            return 0;
        }

        tr->data = p;
        tr->size = want;
    }

    ngx_memcpy(tr->data + tr->len, ptr, n);
    tr->len += n;

    return n;
}


static size_t
ngx_http_face_discard(char *ptr, size_t size, size_t nmemb, void *data)
{
    return size * nmemb;
}


/* called by libcurl at least once a second during a transfer */

static int
ngx_http_face_progress(void *data, curl_off_t dltotal, curl_off_t dlnow,
    curl_off_t ultotal, curl_off_t ulnow)
{
    ngx_http_face_transfer_t *tr = data;

    if (ngx_http_face_leaving()) {
        tr->left = 1;
        return 1;
    }

    return 0;
}


static void
ngx_http_face_curl_error(ngx_http_face_transfer_t *tr, const char *what,
    CURLcode code, const char *errbuf, char *err, size_t err_len)
{
    size_t  n;

    if (tr->guard.refused != EDGE_NET_PUBLIC) {
        ngx_snprintf((u_char *) err, err_len,
                     "%s: refused: the host resolves to a %s address%Z",
                     what, edge_net_class_name(tr->guard.refused));
        return;
    }

    if (tr->too_big || code == CURLE_FILESIZE_EXCEEDED) {
        ngx_snprintf((u_char *) err, err_len,
                     "%s: larger than face_max_input (%uz bytes)%Z", what,
                     tr->conf->max_input);
        return;
    }

    if (tr->nomem) {
        ngx_snprintf((u_char *) err, err_len, "%s: out of memory%Z", what);
        return;
    }

    n = ngx_strlen(errbuf);

    while (n > 0 && (errbuf[n - 1] == '\n' || errbuf[n - 1] == '\r')) {
        n--;
    }

    if (n) {
        ngx_snprintf((u_char *) err, err_len, "%s: %*s%Z", what,
                     ngx_min(n, err_len - 32), errbuf);

    } else {
        ngx_snprintf((u_char *) err, err_len, "%s: %s%Z", what,
                     curl_easy_strerror(code));
    }
}
