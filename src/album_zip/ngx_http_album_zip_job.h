
/*
 * ngx_http_album_zip_module: the "zipper" job's declarations shared by
 * its files: ngx_http_album_zip_job.c (the handler, on the event loop),
 * ngx_http_album_zip_job_fetch.c (the thread: source downloads) and
 * ngx_http_album_zip_job_upload.c (the thread: the upload).
 */


#ifndef _NGX_HTTP_ALBUM_ZIP_JOB_H_INCLUDED_
#define _NGX_HTTP_ALBUM_ZIP_JOB_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <curl/curl.h>

#include "album_zip_format.h"
#include "album_zip_job.h"
#include "edge_net.h"
#include "ngx_http_edge_curl.h"


#define NGX_HTTP_ALBUM_ZIP_JOB_ERR_LEN   512


typedef struct {
    /* set before the task is posted; read-only for the thread */
    char                          *upload_url;
    char                          *filename;     /* of the upload */
    char                          *temp;         /* mkstemp() template */
    album_zip_job_str_t           *sources;
    album_zip_entry_t             *entries;      /* names set */
    uint64_t                      *offsets;      /* in the temporary file */
    size_t                         nsources;
    album_zip_job_str_t           *allow;
    size_t                         nallow;
    uint64_t                       max_size;
    ngx_http_edge_curl_policy_t    policy;       /* every transfer's */

    /* set by the thread */
    ngx_uint_t                     status;       /* 200, 500 or 502 */
    uint64_t                       bytes;        /* the archive's size */
    ngx_log_t                     *thread_log;   /* for debug lines */
    char                           err[NGX_HTTP_ALBUM_ZIP_JOB_ERR_LEN];

    /* the event loop's */
    ngx_http_request_t            *request;      /* NULL: background */
    ngx_pool_t                    *pool;         /* background: our own */
    ngx_log_t                     *log;          /* background */
    ngx_str_t                      host;         /* of upload_url */
    ngx_event_t                    hold;         /* background */
} ngx_http_album_zip_job_ctx_t;


/* ngx_http_album_zip_job.c */
edge_net_class_e ngx_http_album_zip_job_literal(const char *url,
    size_t len);

/* ngx_http_album_zip_job_fetch.c */
void ngx_http_album_zip_job_thread(void *data, ngx_log_t *log);
ngx_int_t ngx_http_album_zip_job_allowed_hop(void *data, const char *url,
    size_t len, ngx_uint_t hop, char *reason, size_t size);
void ngx_http_album_zip_job_fail(ngx_http_album_zip_job_ctx_t *ctx,
    ngx_uint_t status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
void ngx_http_album_zip_job_sys_fail(
    ngx_http_album_zip_job_ctx_t *ctx, const char *what, ngx_err_t err);

/* ngx_http_album_zip_job_upload.c */
ngx_int_t ngx_http_album_zip_job_upload(
    ngx_http_album_zip_job_ctx_t *ctx, CURL *curl, ngx_fd_t fd);


#endif /* _NGX_HTTP_ALBUM_ZIP_JOB_H_INCLUDED_ */
