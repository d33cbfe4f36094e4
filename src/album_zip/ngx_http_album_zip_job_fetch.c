
/*
 * ngx_http_album_zip_module: the "zipper" job's thread (see
 * ngx_http_album_zip_job.c for the contract): the sources downloaded one
 * after another into the job's temporary file with their CRC-32 by the
 * shared client (ngx_http_edge_curl.c: every redirect checked before it
 * is followed, every connection's address), then the upload
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
#include "ngx_http_edge_curl.h"


/* a source download, in the thread */

typedef struct {
    ngx_http_album_zip_job_ctx_t  *job;
    ngx_fd_t                       fd;
    uint64_t                       end;          /* of the temporary file */
    uint64_t                       size;         /* this source's bytes */
    uint32_t                       crc;
    ngx_err_t                      err;
    unsigned                       too_big:1;
    unsigned                       write_error:1;
} ngx_http_album_zip_job_fetch_t;


static ngx_int_t ngx_http_album_zip_job_fetch(
    ngx_http_album_zip_job_fetch_t *f, CURL *curl, size_t i);
static ngx_int_t ngx_http_album_zip_job_fetched(
    ngx_http_album_zip_job_fetch_t *f, ngx_http_edge_curl_request_t *rq);
static size_t ngx_http_album_zip_job_write(void *data, const char *p,
    size_t n);


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

    /* the same handle for every transfer: connections are reused */

    curl = curl_easy_init();

    if (curl == NULL) {
        ngx_http_album_zip_job_fail(ctx, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                    "libcurl: out of memory");
        goto done;
    }

    ngx_memzero(&f, sizeof(ngx_http_album_zip_job_fetch_t));

    f.job = ctx;
    f.fd = fd;

    for (i = 0; i < ctx->nsources; i++) {
        if (ngx_http_album_zip_job_fetch(&f, curl, i) != NGX_OK) {
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
ngx_http_album_zip_job_fetch(ngx_http_album_zip_job_fetch_t *f, CURL *curl,
    size_t i)
{
    album_zip_entry_t             *e;
    ngx_http_album_zip_job_ctx_t  *ctx;
    ngx_http_edge_curl_request_t   rq;
    char                           what[32];

    ctx = f->job;
    e = &ctx->entries[i];

    ctx->offsets[i] = f->end;

    f->size = 0;
    f->crc = 0;
    f->too_big = 0;

    (void) snprintf(what, sizeof(what), "sources[%zu]", i);

    ngx_memzero(&rq, sizeof(ngx_http_edge_curl_request_t));
    rq.policy = &ctx->policy;
    rq.what = what;
    rq.url = (char *) ctx->sources[i].data;
    rq.max_size = ctx->max_size - f->end;
    rq.sink = ngx_http_album_zip_job_write;
    rq.sink_data = f;
    rq.filetime = 1;

    (void) ngx_http_edge_curl_request(curl, &rq);

    if (ngx_http_album_zip_job_fetched(f, &rq) != NGX_OK) {
        return NGX_ERROR;
    }

    e->size = f->size;
    e->crc32 = f->crc;
    e->has_crc = 1;
    e->mtime = (rq.mtime > 0) ? rq.mtime : 0;

    ngx_log_debug5(NGX_LOG_DEBUG_HTTP, ctx->thread_log, 0,
                   "album_zip job: sources[%uz] fetched, %uL bytes at %uL, "
                   "crc32 %08xD, %ui redirects", i, e->size,
                   ctx->offsets[i], e->crc32, rq.redirects);

    return NGX_OK;
}


/* a source's transfer ended: the first reason it failed, if any */

static ngx_int_t
ngx_http_album_zip_job_fetched(ngx_http_album_zip_job_fetch_t *f,
    ngx_http_edge_curl_request_t *rq)
{
    ngx_http_album_zip_job_ctx_t  *ctx;

    ctx = f->job;

    switch (rq->result) {

    case NGX_HTTP_EDGE_CURL_RESPONSE:

        if (rq->status >= 200 && rq->status <= 299) {
            return NGX_OK;
        }

        break;

    case NGX_HTTP_EDGE_CURL_SINK_ERROR:

        if (f->write_error) {
            ngx_http_album_zip_job_sys_fail(ctx, "temporary file", f->err);
            return NGX_ERROR;
        }

        /* the album's room left, not the policy's cap, ran out */

        (void) snprintf(rq->err, sizeof(rq->err), "%s: larger than "
                        "album_zip_max_size (%llu bytes)", rq->what,
                        (unsigned long long) ctx->max_size);
        break;

    default:
        break;
    }

    ngx_http_album_zip_job_fail(ctx, NGX_HTTP_BAD_GATEWAY, "%s", rq->err);

    return NGX_ERROR;
}


/* a source's data: into the temporary file, counted and CRC'd */

static size_t
ngx_http_album_zip_job_write(void *data, const char *p, size_t n)
{
    ngx_http_album_zip_job_fetch_t *f = data;

    size_t   done;
    ssize_t  w;

    if (n > f->job->max_size - f->end) {
        f->too_big = 1;
        return 0;
    }

    for (done = 0; done < n; done += w) {
        w = write(f->fd, p + done, n - done);

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

    f->crc = album_zip_crc32(f->crc, p, n);
    f->size += n;
    f->end += n;

    return n;
}


/*
 * album_zip_allow on every hop: the URL asked for was checked before the
 * job started; a redirect must stay inside the list too.
 */

ngx_int_t
ngx_http_album_zip_job_allowed_hop(void *data, const char *url, size_t len,
    ngx_uint_t hop, char *reason, size_t size)
{
    ngx_http_album_zip_job_ctx_t *ctx = data;

    if (album_zip_job_allowed(url, len, ctx->allow, ctx->nallow)) {
        return NGX_OK;
    }

    (void) snprintf(reason, size, "%snot allowed by album_zip_allow",
                    hop ? "redirected to a URL " : "");

    return NGX_DECLINED;
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
