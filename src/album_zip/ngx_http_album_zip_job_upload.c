
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
#include "edge_net.h"
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


static ngx_int_t ngx_http_album_zip_job_upload_setopt(
    ngx_http_album_zip_job_upload_t *up, CURL *curl, curl_mime *mime,
    curl_mimepart *part, struct curl_slist *headers, char *errbuf);
static ngx_int_t ngx_http_album_zip_job_uploaded(
    ngx_http_album_zip_job_upload_t *up, CURL *curl, CURLcode code,
    const char *errbuf);
static size_t ngx_http_album_zip_job_read(char *buf, size_t size,
    size_t nitems, void *data);
static int ngx_http_album_zip_job_seek(void *data, curl_off_t offset,
    int origin);
static size_t ngx_http_album_zip_job_discard(char *ptr, size_t size,
    size_t nmemb, void *data);


ngx_int_t
ngx_http_album_zip_job_upload(ngx_http_album_zip_job_ctx_t *ctx, CURL *curl,
    ngx_fd_t fd)
{
    int                               rc;
    CURLcode                          code;
    curl_mime                        *mime;
    curl_mimepart                    *part;
    struct curl_slist                *headers;
    ngx_http_album_zip_job_upload_t   up;
    char                              errbuf[CURL_ERROR_SIZE];

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

    curl_easy_reset(curl);

    errbuf[0] = '\0';
    headers = NULL;

    mime = curl_mime_init(curl);
    if (mime == NULL) {
        goto nomem;
    }

    part = curl_mime_addpart(mime);
    if (part == NULL) {
        goto nomem;
    }

    /* without "Expect:" libcurl waits up to 1 s for "100 Continue" */

    headers = curl_slist_append(NULL, "Expect:");
    if (headers == NULL) {
        goto nomem;
    }

    if (ngx_http_album_zip_job_upload_setopt(&up, curl, mime, part, headers,
                                             errbuf)
        != NGX_OK)
    {
        ngx_http_album_zip_job_fail(ctx, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                    "upload: libcurl refused an option");
        goto failed;
    }

    ctx->guard.refused = EDGE_NET_PUBLIC;

    code = curl_easy_perform(curl);

    if (ngx_http_album_zip_job_uploaded(&up, curl, code, errbuf) != NGX_OK) {
        goto failed;
    }

    curl_easy_reset(curl);
    curl_mime_free(mime);
    curl_slist_free_all(headers);

    return NGX_OK;

nomem:

    ngx_http_album_zip_job_fail(ctx, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                "upload: libcurl: out of memory");

failed:

    /* the handle must not point to the mime and headers freed here */
    curl_easy_reset(curl);

    if (mime) {
        curl_mime_free(mime);
    }

    if (headers) {
        curl_slist_free_all(headers);
    }

    return NGX_ERROR;
}


/* the "file" part, made by the read callback, and the POST itself */

static ngx_int_t
ngx_http_album_zip_job_upload_setopt(ngx_http_album_zip_job_upload_t *up,
    CURL *curl, curl_mime *mime, curl_mimepart *part,
    struct curl_slist *headers, char *errbuf)
{
    ngx_http_album_zip_job_ctx_t  *ctx;

    ctx = up->job;

    if (curl_mime_name(part, "file") != CURLE_OK
        || curl_mime_filename(part, ctx->filename) != CURLE_OK
        || curl_mime_type(part, "application/zip") != CURLE_OK
        || curl_mime_data_cb(part, (curl_off_t) up->ar.total,
                             ngx_http_album_zip_job_read,
                             ngx_http_album_zip_job_seek, NULL, up)
           != CURLE_OK
        || curl_easy_setopt(curl, CURLOPT_URL, ctx->upload_url) != CURLE_OK
        || curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, ctx->timeout)
           != CURLE_OK
        || curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf) != CURLE_OK
        || curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION,
                            ngx_http_album_zip_job_discard)
           != CURLE_OK
        || curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers) != CURLE_OK
        || curl_easy_setopt(curl, CURLOPT_MIMEPOST, mime) != CURLE_OK
        || curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK
        || ngx_http_edge_curl_common(curl, &ctx->guard) != CURLE_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* the upload ended: the first reason it failed, if any */

static ngx_int_t
ngx_http_album_zip_job_uploaded(ngx_http_album_zip_job_upload_t *up,
    CURL *curl, CURLcode code, const char *errbuf)
{
    long                           status;
    ngx_http_album_zip_job_ctx_t  *ctx;

    ctx = up->job;

    if (ctx->guard.refused != EDGE_NET_PUBLIC) {
        ngx_http_album_zip_job_fail(ctx, NGX_HTTP_BAD_GATEWAY,
                                    "upload: refused: the host's address "
                                    "is %s (album_zip_job_allow_private "
                                    "is off)",
                                    edge_net_class_name(ctx->guard.refused));
        return NGX_ERROR;
    }

    if (up->read_error) {
        ngx_http_album_zip_job_sys_fail(ctx, "upload: temporary file",
                                        up->err);
        return NGX_ERROR;
    }

    if (code != CURLE_OK) {
        ngx_http_album_zip_job_curl_fail(ctx, "upload", code, errbuf);
        return NGX_ERROR;
    }

    status = 0;
    (void) curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, ctx->thread_log, 0,
                   "album_zip job: upload sent, %uL bytes, HTTP %l",
                   ctx->bytes, status);

    if (status < 200 || status > 299) {
        ngx_http_album_zip_job_fail(ctx, NGX_HTTP_BAD_GATEWAY,
                                    "upload: HTTP %ld", status);
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


static size_t
ngx_http_album_zip_job_discard(char *ptr, size_t size, size_t nmemb,
    void *data)
{
    return size * nmemb;
}
