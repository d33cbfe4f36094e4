
/*
 * ngx_http_album_zip_module: the "zipper" job's upload, in the thread (see
 * ngx_http_album_zip_job.c for the contract): a multipart/form-data POST
 * whose "file" part is the archive, laid out with every CRC known and
 * made on the fly by the read callback: headers from the entry table,
 * member data from the job's temporary file.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <curl/curl.h>

#include "ngx_http_album_zip_job.h"
#include "album_zip_format.h"
#include "ngx_http_edge_curl.h"


/* the upload's body, in the thread */

typedef struct {
    ngx_http_album_zip_job_ctx_t  *job;
    album_zip_archive_t            ar;
    ngx_fd_t                       fd;
    uint64_t                       pos;
    ngx_err_t                      err;
    unsigned                       read_error:1;
} ngx_http_album_zip_job_upload_t;


static ngx_int_t ngx_http_album_zip_job_form(
    ngx_http_album_zip_job_upload_t *up, curl_mimepart *part);
static ngx_int_t ngx_http_album_zip_job_uploaded(
    ngx_http_album_zip_job_upload_t *up, ngx_http_edge_curl_request_t *rq);
static size_t ngx_http_album_zip_job_read(char *buf, size_t size,
    size_t nitems, void *data);
static int ngx_http_album_zip_job_seek(void *data, curl_off_t offset,
    int origin);


ngx_int_t
ngx_http_album_zip_job_upload(ngx_http_album_zip_job_ctx_t *ctx, CURL *curl,
    ngx_fd_t fd)
{
    int                               rc;
    ngx_int_t                         ok;
    curl_mime                        *mime;
    curl_mimepart                    *part;
    struct curl_slist                *headers;
    ngx_http_edge_curl_policy_t       policy;
    ngx_http_edge_curl_request_t      rq;
    ngx_http_album_zip_job_upload_t   up;

    ngx_memzero(&up, sizeof(ngx_http_album_zip_job_upload_t));

    up.job = ctx;
    up.fd = fd;

    /* every CRC is known: no data descriptors */

    rc = album_zip_layout(&up.ar, ctx->entries, ctx->nsources);

    if (rc != ALBUM_ZIP_OK) {
        ngx_http_album_zip_job_fail(ctx, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                    "the archive cannot be laid out "
                                    "(error %d at member %zu)",
                                    rc, up.ar.bad_entry);
        return NGX_ERROR;
    }

    ctx->bytes = up.ar.total;

    headers = NULL;

    mime = curl_mime_init(curl);
    part = mime ? curl_mime_addpart(mime) : NULL;

    /* without "Expect:" libcurl waits up to 1 s for "100 Continue" */

    if (part != NULL) {
        headers = curl_slist_append(NULL, "Expect:");
    }

    if (headers == NULL || ngx_http_album_zip_job_form(&up, part) != NGX_OK)
    {
        ngx_http_album_zip_job_fail(ctx, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                    "upload: libcurl: out of memory");
        ok = NGX_ERROR;
        goto done;
    }

    /* the sources' policy, but a POST is never redirected */

    policy = ctx->policy;
    policy.max_redirects = 0;
    policy.max_size = 0;

    ngx_memzero(&rq, sizeof(ngx_http_edge_curl_request_t));
    rq.policy = &policy;
    rq.what = "upload";
    rq.url = ctx->upload_url;
    rq.mime = mime;
    rq.headers = headers;

    (void) ngx_http_edge_curl_request(curl, &rq);

    ok = ngx_http_album_zip_job_uploaded(&up, &rq);

done:

    if (mime) {
        curl_mime_free(mime);
    }

    if (headers) {
        curl_slist_free_all(headers);
    }

    return ok;
}


/* the "file" part, made by the read callback */

static ngx_int_t
ngx_http_album_zip_job_form(ngx_http_album_zip_job_upload_t *up,
    curl_mimepart *part)
{
    ngx_http_album_zip_job_ctx_t  *ctx;

    ctx = up->job;

    if (curl_mime_name(part, "file") != CURLE_OK
        || curl_mime_filename(part, ctx->filename) != CURLE_OK
        || curl_mime_type(part, "application/zip") != CURLE_OK
        || curl_mime_data_cb(part, (curl_off_t) up->ar.total,
                             ngx_http_album_zip_job_read,
                             ngx_http_album_zip_job_seek, NULL, up)
           != CURLE_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* the upload ended: the first reason it failed, if any */

static ngx_int_t
ngx_http_album_zip_job_uploaded(ngx_http_album_zip_job_upload_t *up,
    ngx_http_edge_curl_request_t *rq)
{
    ngx_http_album_zip_job_ctx_t  *ctx;

    ctx = up->job;

    if (up->read_error) {
        ngx_http_album_zip_job_sys_fail(ctx, "upload: temporary file",
                                        up->err);
        return NGX_ERROR;
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, ctx->thread_log, 0,
                   "album_zip job: upload sent, %uL bytes, HTTP %l",
                   ctx->bytes, rq->status);

    if (rq->result != NGX_HTTP_EDGE_CURL_RESPONSE
        || rq->status < 200 || rq->status > 299)
    {
        ngx_http_album_zip_job_fail(ctx, NGX_HTTP_BAD_GATEWAY, "%s",
                                    rq->err);
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* the upload's body: the archive, made on the fly */

static size_t
ngx_http_album_zip_job_read(char *buf, size_t size, size_t nitems,
    void *data)
{
    ngx_http_album_zip_job_upload_t *up = data;

    size_t             len, done, n;
    ssize_t            r;
    album_zip_piece_t  piece;

    len = size * nitems;
    done = 0;

    while (done < len && up->pos < up->ar.total) {

        if (album_zip_locate(&up->ar, up->pos, &piece) != ALBUM_ZIP_OK) {
            up->err = NGX_EINVAL;
            up->read_error = 1;
            return CURL_READFUNC_ABORT;
        }

        if (piece.kind != ALBUM_ZIP_PIECE_DATA) {
            n = album_zip_piece_write(&up->ar, &piece, (uint8_t *) buf + done,
                                      len - done);
            up->pos += n;
            done += n;
            continue;
        }

        n = ngx_min(len - done, piece.len - piece.offset);

        r = pread(up->fd, buf + done, n,
                  (off_t) (up->job->offsets[piece.index] + piece.offset));

        if (r == -1 && ngx_errno == NGX_EINTR) {
            continue;
        }

        if (r <= 0) {
            up->err = (r == 0) ? EIO : ngx_errno;
            up->read_error = 1;
            return CURL_READFUNC_ABORT;
        }

        up->pos += r;
        done += r;
    }

    return done;
}


static int
ngx_http_album_zip_job_seek(void *data, curl_off_t offset, int origin)
{
    ngx_http_album_zip_job_upload_t *up = data;

    if (origin != SEEK_SET || offset < 0
        || (uint64_t) offset > up->ar.total)
    {
        return CURL_SEEKFUNC_FAIL;
    }

    up->pos = (uint64_t) offset;

    return CURL_SEEKFUNC_OK;
}

