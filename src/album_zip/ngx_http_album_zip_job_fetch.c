
/*
 * ngx_http_album_zip_module: the "zipper" job's thread (see
 * ngx_http_album_zip_job.c for the contract): the sources downloaded one
 * after another into the job's temporary file with their CRC-32, every
 * redirect checked before libcurl follows it, then the upload
 * (ngx_http_album_zip_job_upload.c).  Only the task context, libcurl and
 * system calls here.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <curl/curl.h>

#include "ngx_http_album_zip_job.h"
#include "album_zip_format.h"
#include "album_zip_job.h"
#include "edge_net.h"
#include "ngx_http_edge_curl.h"


/* a source download, in the thread */

typedef struct {
    ngx_http_album_zip_job_ctx_t  *job;
    CURL                          *curl;
    ngx_fd_t                       fd;
    uint64_t                       end;          /* of the temporary file */
    uint64_t                       size;         /* this source's bytes */
    uint32_t                       crc;
    long                           status;       /* current response's */
    ngx_err_t                      err;
    edge_net_class_e               redirect_to;  /* a refused Location's
                                                    address; PUBLIC: no */
    unsigned                       too_big:1;
    unsigned                       refused:1;
    unsigned                       write_error:1;

    /* the handle points here until it is cleaned up */
    char                           errbuf[CURL_ERROR_SIZE];
} ngx_http_album_zip_job_fetch_t;


static ngx_int_t ngx_http_album_zip_job_fetch(
    ngx_http_album_zip_job_fetch_t *f, size_t i);
static ngx_int_t ngx_http_album_zip_job_fetch_setopt(
    ngx_http_album_zip_job_fetch_t *f, size_t i);
static ngx_int_t ngx_http_album_zip_job_fetched(
    ngx_http_album_zip_job_fetch_t *f, size_t i, CURLcode code);
static size_t ngx_http_album_zip_job_write(char *ptr, size_t size,
    size_t nmemb, void *data);
static size_t ngx_http_album_zip_job_header(char *buf, size_t size,
    size_t nitems, void *data);
static int ngx_http_album_zip_job_redirect_ok(
    ngx_http_album_zip_job_fetch_t *f, const char *value, size_t len);
static int ngx_http_album_zip_job_redirect_check(
    ngx_http_album_zip_job_fetch_t *f, const char *url);


void
ngx_http_album_zip_job_thread(void *data, ngx_log_t *log)
{
    ngx_http_album_zip_job_ctx_t *ctx = data;

    size_t                          i;
    CURL                           *curl;
    ngx_fd_t                        fd;
    ngx_http_album_zip_job_fetch_t  f;

    ctx->status = NGX_HTTP_OK;
    ctx->thread_log = log;

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, log, 0,
                   "album_zip job: thread started, %uz sources",
                   ctx->nsources);

    fd = mkstemp(ctx->temp);

    if (fd == NGX_INVALID_FILE) {
        ngx_http_album_zip_job_sys_fail(ctx, "temporary file", ngx_errno);
        return;
    }

    /* nothing is left behind, even if the worker dies */
    (void) unlink(ctx->temp);

    curl = curl_easy_init();

    if (curl == NULL) {
        ngx_http_album_zip_job_fail(ctx, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                    "libcurl: out of memory");
        goto done;
    }

    ngx_memzero(&f, sizeof(ngx_http_album_zip_job_fetch_t));

    f.job = ctx;
    f.curl = curl;
    f.fd = fd;

    for (i = 0; i < ctx->nsources; i++) {
        if (ngx_http_album_zip_job_fetch(&f, i) != NGX_OK) {
            goto done;
        }
    }

    (void) ngx_http_album_zip_job_upload(ctx, curl, fd);

done:

    if (curl) {
        curl_easy_cleanup(curl);
    }

    (void) close(fd);
}


static ngx_int_t
ngx_http_album_zip_job_fetch(ngx_http_album_zip_job_fetch_t *f, size_t i)
{
    CURLcode                       code;
    curl_off_t                     filetime;
    album_zip_entry_t             *e;
    ngx_http_album_zip_job_ctx_t  *ctx;

    ctx = f->job;
    e = &ctx->entries[i];

    /* the same handle for every source: connections are reused */

    curl_easy_reset(f->curl);

    f->errbuf[0] = '\0';

    ctx->offsets[i] = f->end;

    if (ngx_http_album_zip_job_fetch_setopt(f, i) != NGX_OK) {
        ngx_http_album_zip_job_fail(ctx, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                    "sources[%zu]: libcurl refused an "
                                    "option", i);
        return NGX_ERROR;
    }

    f->size = 0;
    f->crc = 0;
    f->status = 0;
    f->redirect_to = EDGE_NET_PUBLIC;
    ctx->guard.refused = EDGE_NET_PUBLIC;

    code = curl_easy_perform(f->curl);

    if (ngx_http_album_zip_job_fetched(f, i, code) != NGX_OK) {
        return NGX_ERROR;
    }

    filetime = -1;
    (void) curl_easy_getinfo(f->curl, CURLINFO_FILETIME_T, &filetime);

    e->size = f->size;
    e->crc32 = f->crc;
    e->has_crc = 1;
    e->mtime = (filetime > 0) ? (int64_t) filetime : 0;

    ngx_log_debug4(NGX_LOG_DEBUG_HTTP, ctx->thread_log, 0,
                   "album_zip job: sources[%uz] fetched, %uL bytes at %uL, "
                   "crc32 %08xD", i, e->size, ctx->offsets[i], e->crc32);

    return NGX_OK;
}


static ngx_int_t
ngx_http_album_zip_job_fetch_setopt(ngx_http_album_zip_job_fetch_t *f,
    size_t i)
{
    CURL                          *curl;
    uint64_t                       left;
    ngx_http_album_zip_job_ctx_t  *ctx;

    ctx = f->job;
    curl = f->curl;

    left = ctx->max_size - f->end;

    if (curl_easy_setopt(curl, CURLOPT_URL, ctx->sources[i].data) != CURLE_OK
        || curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L) != CURLE_OK
        || curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 5L) != CURLE_OK
        || curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, ctx->timeout)
           != CURLE_OK
        || curl_easy_setopt(curl, CURLOPT_FAILONERROR, 1L) != CURLE_OK
        || curl_easy_setopt(curl, CURLOPT_FILETIME, 1L) != CURLE_OK
        || curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, f->errbuf)
           != CURLE_OK
        || curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION,
                            ngx_http_album_zip_job_write)
           != CURLE_OK
        || curl_easy_setopt(curl, CURLOPT_WRITEDATA, f) != CURLE_OK
        || curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION,
                            ngx_http_album_zip_job_header)
           != CURLE_OK
        || curl_easy_setopt(curl, CURLOPT_HEADERDATA, f) != CURLE_OK
        || ngx_http_edge_curl_common(curl, &ctx->guard) != CURLE_OK
        || (left > 0
            && curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE,
                                (curl_off_t) left)
               != CURLE_OK))
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* a source's transfer ended: the first reason it failed, if any */

static ngx_int_t
ngx_http_album_zip_job_fetched(ngx_http_album_zip_job_fetch_t *f, size_t i,
    CURLcode code)
{
    long                           status;
    char                          *url;
    ngx_http_album_zip_job_ctx_t  *ctx;

    ctx = f->job;

    status = 0;
    (void) curl_easy_getinfo(f->curl, CURLINFO_RESPONSE_CODE, &status);

    if (f->redirect_to != EDGE_NET_PUBLIC) {
        ngx_http_album_zip_job_fail(ctx, NGX_HTTP_BAD_GATEWAY,
                                    "sources[%zu]: refused: redirected to "
                                    "%s address (album_zip_job_allow_"
                                    "private is off)", i,
                                    edge_net_class_name(f->redirect_to));
        return NGX_ERROR;
    }

    if (ctx->guard.refused != EDGE_NET_PUBLIC) {
        ngx_http_album_zip_job_fail(ctx, NGX_HTTP_BAD_GATEWAY,
                                    "sources[%zu]: refused: the host's "
                                    "address is %s "
                                    "(album_zip_job_allow_private is off)",
                                    i,
                                    edge_net_class_name(ctx->guard.refused));
        return NGX_ERROR;
    }

    if (f->too_big || code == CURLE_FILESIZE_EXCEEDED) {
        ngx_http_album_zip_job_fail(ctx, NGX_HTTP_BAD_GATEWAY,
                                    "sources[%zu]: the album is larger "
                                    "than album_zip_max_size (%llu bytes)",
                                    i, (unsigned long long) ctx->max_size);
        return NGX_ERROR;
    }

    if (f->refused) {
        ngx_http_album_zip_job_fail(ctx, NGX_HTTP_BAD_GATEWAY,
                                    "sources[%zu]: redirected to a URL not "
                                    "allowed by album_zip_allow", i);
        return NGX_ERROR;
    }

    if (f->write_error) {
        ngx_http_album_zip_job_sys_fail(ctx, "temporary file", f->err);
        return NGX_ERROR;
    }

    if (code == CURLE_HTTP_RETURNED_ERROR
        || (code == CURLE_OK && (status < 200 || status > 299)))
    {
        ngx_http_album_zip_job_fail(ctx, NGX_HTTP_BAD_GATEWAY,
                                    "sources[%zu]: HTTP %ld", i, status);
        return NGX_ERROR;
    }

    if (code != CURLE_OK) {
        ngx_snprintf((u_char *) ctx->err, sizeof(ctx->err), "sources[%uz]%Z",
                     i);
        ngx_http_album_zip_job_curl_fail(ctx, ctx->err, code, f->errbuf);
        return NGX_ERROR;
    }

    /* belt and braces: where the redirects ended must be allowed too */

    if (ctx->nallow) {
        url = NULL;

        if (curl_easy_getinfo(f->curl, CURLINFO_EFFECTIVE_URL, &url)
            != CURLE_OK
            || url == NULL
            || !album_zip_job_allowed(url, ngx_strlen(url), ctx->allow,
                                      ctx->nallow))
        {
            ngx_http_album_zip_job_fail(ctx, NGX_HTTP_BAD_GATEWAY,
                                        "sources[%zu]: redirected to a URL "
                                        "not allowed by album_zip_allow", i);
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}

/* a source's data: into the temporary file, counted and CRC'd */

static size_t
ngx_http_album_zip_job_write(char *ptr, size_t size, size_t nmemb,
    void *data)
{
    ngx_http_album_zip_job_fetch_t *f = data;

    size_t   n, done;
    ssize_t  w;

    n = size * nmemb;

    if (n > f->job->max_size - f->end) {
        f->too_big = 1;
        return 0;
    }

    for (done = 0; done < n; done += w) {
        w = write(f->fd, ptr + done, n - done);

        if (w == -1) {
            if (ngx_errno == NGX_EINTR) {
                w = 0;
                continue;
            }

            f->err = ngx_errno;
            f->write_error = 1;
            return 0;
        }
    }

    f->crc = album_zip_crc32(f->crc, ptr, n);
    f->size += n;
    f->end += n;

    return n;
}


/*
 * A redirect must stay inside album_zip_allow, and without
 * album_zip_job_allow_private must not name an internal address literal:
 * the Location of a 3xx response is resolved as libcurl will and checked
 * before libcurl follows it; returning 0 aborts the transfer.
 */

static size_t
ngx_http_album_zip_job_header(char *buf, size_t size, size_t nitems,
    void *data)
{
    ngx_http_album_zip_job_fetch_t *f = data;

    size_t   n, i;
    char    *p, *end;

    n = size * nitems;

    if (n > 5 && ngx_strncmp(buf, "HTTP/", 5) == 0) {
        f->status = 0;

        for (i = 5; i < n && buf[i] != ' '; i++) { /* void */ }

        for (i++; i < n && buf[i] >= '0' && buf[i] <= '9'; i++) {
            f->status = f->status * 10 + (buf[i] - '0');
        }

        return n;
    }

    if ((f->job->nallow == 0 && f->job->guard.allow_private)
        || f->status < 300 || f->status > 399
        || n < sizeof("Location:") - 1
        || ngx_strncasecmp((u_char *) buf, (u_char *) "Location:",
                           sizeof("Location:") - 1)
           != 0)
    {
        return n;
    }

    p = buf + sizeof("Location:") - 1;
    end = buf + n;

    while (p < end && (*p == ' ' || *p == '\t')) {
        p++;
    }

    while (end > p && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '
                       || end[-1] == '\t'))
    {
        end--;
    }

    if (p == end) {
        return n;
    }

    if (!ngx_http_album_zip_job_redirect_ok(f, p, end - p)) {
        return 0;
    }

    return n;
}


static int
ngx_http_album_zip_job_redirect_ok(ngx_http_album_zip_job_fetch_t *f,
    const char *value, size_t len)
{
    int        ok;
    char      *base, *location, *url;
    CURLU     *u;
    CURLUcode  rc;

    ok = -1;
    base = NULL;
    url = NULL;

    if (curl_easy_getinfo(f->curl, CURLINFO_EFFECTIVE_URL, &base) != CURLE_OK
        || base == NULL)
    {
        goto unresolved;
    }

    location = malloc(len + 1);
    if (location == NULL) {
        goto unresolved;
    }

    ngx_memcpy(location, value, len);
    location[len] = '\0';

    u = curl_url();

    if (u != NULL) {
        rc = curl_url_set(u, CURLUPART_URL, base, 0);

        if (rc == CURLUE_OK) {
            rc = curl_url_set(u, CURLUPART_URL, location,
                              CURLU_NON_SUPPORT_SCHEME | CURLU_ALLOW_SPACE);
        }

        if (rc == CURLUE_OK) {
            rc = curl_url_get(u, CURLUPART_URL, &url, 0);
        }

        if (rc == CURLUE_OK && url != NULL) {
            ok = ngx_http_album_zip_job_redirect_check(f, url);
        }

        curl_free(url);
        curl_url_cleanup(u);
    }

    free(location);

    if (ok != -1) {
        return ok;
    }

unresolved:

    /*
     * a Location that cannot be resolved is refused with an allow-list;
     * without one libcurl decides, and the open-socket callback still
     * checks where it connects
     */

    if (f->job->nallow) {
        f->refused = 1;
        return 0;
    }

    return 1;
}


/* the resolved Location: the allow-list, then an address literal */

static int
ngx_http_album_zip_job_redirect_check(ngx_http_album_zip_job_fetch_t *f,
    const char *url)
{
    size_t                         len;
    edge_net_class_e               cls;
    ngx_http_album_zip_job_ctx_t  *ctx;

    ctx = f->job;
    len = ngx_strlen(url);

    if (ctx->nallow
        && !album_zip_job_allowed(url, len, ctx->allow, ctx->nallow))
    {
        f->refused = 1;
        return 0;
    }

    if (!ctx->guard.allow_private) {
        cls = ngx_http_album_zip_job_literal(url, len);

        if (cls != EDGE_NET_PUBLIC) {
            f->redirect_to = cls;
            return 0;
        }
    }

    return 1;
}

void
ngx_http_album_zip_job_fail(ngx_http_album_zip_job_ctx_t *ctx,
    ngx_uint_t status, const char *fmt, ...)
{
    va_list  args;

    ctx->status = status;

    va_start(args, fmt);
    (void) vsnprintf(ctx->err, sizeof(ctx->err), fmt, args);
    va_end(args);
}


/* "<what>: <libcurl's message>"; what may be ctx->err itself */

void
ngx_http_album_zip_job_curl_fail(ngx_http_album_zip_job_ctx_t *ctx,
    const char *what, CURLcode code, const char *errbuf)
{
    char    prefix[64];
    size_t  n;

    ngx_cpystrn((u_char *) prefix, (u_char *) what, sizeof(prefix));

    n = ngx_strlen(errbuf);

    while (n > 0 && (errbuf[n - 1] == '\n' || errbuf[n - 1] == '\r')) {
        n--;
    }

    if (n) {
        ngx_http_album_zip_job_fail(ctx, NGX_HTTP_BAD_GATEWAY, "%s: %.*s",
                                    prefix, (int) n, errbuf);

    } else {
        ngx_http_album_zip_job_fail(ctx, NGX_HTTP_BAD_GATEWAY, "%s: %s",
                                    prefix, curl_easy_strerror(code));
    }
}


void
ngx_http_album_zip_job_sys_fail(ngx_http_album_zip_job_ctx_t *ctx,
    const char *what, ngx_err_t err)
{
    u_char  *p;
    u_char   msg[NGX_MAX_ERROR_STR];

    /* ngx_strerror() reads a table made at start-up: thread-safe */

    p = ngx_strerror(err, msg, sizeof(msg) - 1);
    *p = '\0';

    ngx_http_album_zip_job_fail(ctx, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                "%s: %s", what, msg);
}
