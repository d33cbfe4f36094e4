
/*
 * S3 buckets found by name, their credentials re-read when the file
 * changes (see ngx_http_edge_s3.h).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_edge_s3.h"


static ngx_int_t ngx_http_edge_s3_read(ngx_http_edge_s3_bucket_t *b,
    ngx_log_t *log, ngx_fd_t fd, ngx_file_info_t *fi,
    edge_s3_credentials_t *creds, ngx_uint_t level);
static ngx_int_t ngx_http_edge_s3_copy(ngx_pool_t *pool,
    edge_sigv4_str_t *dst, ngx_str_t *src);


ngx_http_edge_s3_bucket_t *
ngx_http_edge_s3_bucket_find(ngx_conf_t *cf, ngx_str_t *name)
{
    ngx_uint_t                      i;
    ngx_module_t                   *m;
    ngx_http_conf_ctx_t            *ctx;
    ngx_http_edge_s3_bucket_t     **b;
    ngx_http_edge_s3_main_conf_t   *smcf;

    m = NULL;

    for (i = 0; cf->cycle->modules[i]; i++) {
        if (ngx_strcmp(cf->cycle->modules[i]->name, NGX_HTTP_EDGE_S3_MODULE)
            == 0)
        {
            m = cf->cycle->modules[i];
            break;
        }
    }

    if (m == NULL || m->type != NGX_HTTP_MODULE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "s3 bucket \"%V\": the s3 module is not loaded "
                           "(load_module modules/%s.so)", name,
                           NGX_HTTP_EDGE_S3_MODULE);
        return NULL;
    }

    ctx = (ngx_http_conf_ctx_t *) cf->ctx;
    smcf = ctx->main_conf[m->ctx_index];

    if (smcf == NULL || smcf->magic != NGX_HTTP_EDGE_S3_MAGIC) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "s3 bucket \"%V\": the s3 module was built from "
                           "another version of the photo-edge modules",
                           name);
        return NULL;
    }

    b = smcf->buckets.elts;

    for (i = 0; i < smcf->buckets.nelts; i++) {
        if (b[i]->name.len == name->len
            && ngx_strncmp(b[i]->name.data, name->data, name->len) == 0)
        {
            if (b[i]->magic != NGX_HTTP_EDGE_S3_MAGIC) {
                break;
            }

            return b[i];
        }
    }

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "no s3_bucket \"%V\" in the http block", name);

    return NULL;
}


ngx_int_t
ngx_http_edge_s3_refresh(ngx_http_edge_s3_bucket_t *b, ngx_log_t *log,
    ngx_uint_t force)
{
    ngx_fd_t                fd;
    ngx_int_t               rc;
    ngx_uint_t              level;
    ngx_file_info_t         fi;
    edge_s3_credentials_t  *fresh;

    if (!force && ngx_time() - b->checked < 1) {
        return NGX_OK;
    }

    b->checked = ngx_time();
    level = force ? NGX_LOG_EMERG : NGX_LOG_ERR;

    /* a stat() a second at most; the file is read only when it changed */

    if (ngx_file_info(b->credentials.data, &fi) == NGX_FILE_ERROR) {
        if (!b->failed || force) {
            ngx_log_error(level, log, ngx_errno,
                          "s3 bucket \"%V\": cannot stat the credentials "
                          "file \"%V\"%s", &b->name, &b->credentials,
                          force ? "" : ", the credentials read last are "
                          "kept");
        }

        b->failed = 1;
        b->size = -1;

        return force ? NGX_ERROR : NGX_OK;
    }

    if (!force
        && ngx_file_uniq(&fi) == b->uniq
        && fi.st_mtim.tv_sec == b->mtime_sec
        && fi.st_mtim.tv_nsec == b->mtime_nsec
        && ngx_file_size(&fi) == b->size)
    {
        return NGX_OK;
    }

    /* what is read is what is remembered: stat the open file again */

    b->uniq = ngx_file_uniq(&fi);
    b->mtime_sec = fi.st_mtim.tv_sec;
    b->mtime_nsec = fi.st_mtim.tv_nsec;
    b->size = ngx_file_size(&fi);

    fd = ngx_open_file(b->credentials.data, NGX_FILE_RDONLY, NGX_FILE_OPEN,
                       0);

    if (fd == NGX_INVALID_FILE) {
        ngx_log_error(level, log, ngx_errno,
                      "s3 bucket \"%V\": cannot open the credentials file "
                      "\"%V\"%s", &b->name, &b->credentials,
                      force ? "" : ", the credentials read last are kept");
        b->failed = 1;
        b->size = -1;

        return force ? NGX_ERROR : NGX_OK;
    }

    if (ngx_fd_info(fd, &fi) != NGX_FILE_ERROR) {
        b->uniq = ngx_file_uniq(&fi);
        b->mtime_sec = fi.st_mtim.tv_sec;
        b->mtime_nsec = fi.st_mtim.tv_nsec;
        b->size = ngx_file_size(&fi);
    }

    /* read into a copy: the old credentials stay on failure */

    fresh = ngx_alloc(sizeof(edge_s3_credentials_t), log);
    if (fresh == NULL) {
        ngx_close_file(fd);
        return force ? NGX_ERROR : NGX_OK;
    }

    rc = ngx_http_edge_s3_read(b, log, fd, &fi, fresh, level);

    ngx_close_file(fd);

    if (rc == NGX_OK) {
        ngx_memcpy(b->creds, fresh, sizeof(edge_s3_credentials_t));

        if (!force) {
            ngx_log_error(NGX_LOG_NOTICE, log, 0,
                          "s3 bucket \"%V\": credentials re-read from "
                          "\"%V\"", &b->name, &b->credentials);
        }

        b->failed = 0;

    } else {
        b->failed = 1;
    }

    ngx_explicit_memzero(fresh, sizeof(edge_s3_credentials_t));
    ngx_free(fresh);

    return (rc == NGX_OK || !force) ? NGX_OK : NGX_ERROR;
}


static ngx_int_t
ngx_http_edge_s3_read(ngx_http_edge_s3_bucket_t *b, ngx_log_t *log,
    ngx_fd_t fd, ngx_file_info_t *fi, edge_s3_credentials_t *creds,
    ngx_uint_t level)
{
    u_char   buf[EDGE_S3_MAX_CRED_FILE];
    char     err[EDGE_S3_ERR_LEN];
    ssize_t  n;

    if (ngx_file_size(fi) > EDGE_S3_MAX_CRED_FILE) {
        ngx_log_error(level, log, 0,
                      "s3 bucket \"%V\": the credentials file \"%V\" is "
                      "larger than %d bytes%s", &b->name, &b->credentials,
                      EDGE_S3_MAX_CRED_FILE,
                      level == NGX_LOG_EMERG ? "" : ", the credentials "
                      "read last are kept");
        return NGX_ERROR;
    }

    n = ngx_read_fd(fd, buf, sizeof(buf));

    if (n == -1) {
        ngx_log_error(level, log, ngx_errno,
                      "s3 bucket \"%V\": cannot read \"%V\"", &b->name,
                      &b->credentials);
        return NGX_ERROR;
    }

    if (edge_s3_parse_credentials((char *) buf, (size_t) n, creds, err,
                                  sizeof(err))
        != EDGE_S3_OK)
    {
        ngx_explicit_memzero(buf, sizeof(buf));
        ngx_log_error(level, log, 0,
                      "s3 bucket \"%V\": credentials file \"%V\": %s%s",
                      &b->name, &b->credentials, err,
                      level == NGX_LOG_EMERG ? "" : ", the credentials "
                      "read last are kept");
        return NGX_ERROR;
    }

    ngx_explicit_memzero(buf, sizeof(buf));

    return NGX_OK;
}


ngx_int_t
ngx_http_edge_s3_target(ngx_http_edge_s3_bucket_t *b, ngx_pool_t *pool,
    ngx_log_t *log, edge_s3_target_t *out)
{
    (void) ngx_http_edge_s3_refresh(b, log, 0);

    if (ngx_http_edge_s3_copy(pool, &out->endpoint, &b->endpoint) != NGX_OK
        || ngx_http_edge_s3_copy(pool, &out->bucket, &b->bucket) != NGX_OK
        || ngx_http_edge_s3_copy(pool, &out->region, &b->region) != NGX_OK)
    {
        return NGX_ERROR;
    }

    out->style = (int) b->style;
    ngx_memcpy(&out->credentials, b->creds, sizeof(edge_s3_credentials_t));

    return NGX_OK;
}


static ngx_int_t
ngx_http_edge_s3_copy(ngx_pool_t *pool, edge_sigv4_str_t *dst,
    ngx_str_t *src)
{
    u_char  *p;

    p = ngx_pnalloc(pool, src->len + 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(p, src->data, src->len);
    p[src->len] = '\0';

    dst->data = (const char *) p;
    dst->len = src->len;

    return NGX_OK;
}


void *
ngx_http_edge_s3_alloc(void *pool, size_t size)
{
    return ngx_palloc(pool, size);
}
