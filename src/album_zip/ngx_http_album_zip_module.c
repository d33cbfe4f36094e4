
/*
 * ngx_http_album_zip_module: album zips streamed on the fly.
 *
 * This file holds the directives, the configuration and the per-worker
 * set-up.  The zip framing, names and manifests live in src/album_zip (no
 * nginx types there).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <curl/curl.h>

#include "ngx_http_album_zip.h"


static ngx_int_t ngx_http_album_zip_precontent_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_album_zip_strip_headers(ngx_http_request_t *r);
static ngx_int_t ngx_http_album_zip_url_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_album_zip_add_variables(ngx_conf_t *cf);
static ngx_int_t ngx_http_album_zip_init(ngx_conf_t *cf);
static void *ngx_http_album_zip_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_album_zip_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_http_album_zip_list(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_album_zip_job(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_http_album_zip_init_process(ngx_cycle_t *cycle);
static void ngx_http_album_zip_exit_process(ngx_cycle_t *cycle);


static ngx_conf_enum_t  ngx_http_album_zip_missing[] = {
    { ngx_string("abort"), NGX_HTTP_ALBUM_ZIP_MISSING_ABORT },
    { ngx_string("skip"), NGX_HTTP_ALBUM_ZIP_MISSING_SKIP },
    { ngx_null_string, 0 }
};


static ngx_conf_num_bounds_t  ngx_http_album_zip_prefetch_bounds = {
    ngx_conf_check_num_bounds, 0, 64
};


static ngx_conf_num_bounds_t  ngx_http_album_zip_max_files_bounds = {
    ngx_conf_check_num_bounds, 1, 10000000
};


static ngx_command_t  ngx_http_album_zip_commands[] = {

    { ngx_string("album_zip"),
      NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_album_zip_loc_conf_t, enable),
      NULL },

    { ngx_string("album_zip_directory"),
      NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_album_zip_loc_conf_t, directory),
      NULL },

    { ngx_string("album_zip_remote"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_album_zip_loc_conf_t, remote),
      NULL },

    { ngx_string("album_zip_allow"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_album_zip_list,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_album_zip_loc_conf_t, allow),
      NULL },

    { ngx_string("album_zip_s3"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE2,
      ngx_conf_set_keyval_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_album_zip_loc_conf_t, s3),
      NULL },

    { ngx_string("album_zip_pass_headers"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_album_zip_list,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_album_zip_loc_conf_t, pass_headers),
      NULL },

    { ngx_string("album_zip_prefetch"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_album_zip_loc_conf_t, prefetch),
      &ngx_http_album_zip_prefetch_bounds },

    { ngx_string("album_zip_missing"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_album_zip_loc_conf_t, missing),
      &ngx_http_album_zip_missing },

    { ngx_string("album_zip_max_files"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_album_zip_loc_conf_t, max_files),
      &ngx_http_album_zip_max_files_bounds },

    { ngx_string("album_zip_max_size"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_off_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_album_zip_loc_conf_t, max_size),
      NULL },

    { ngx_string("album_zip_max_manifest_size"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_album_zip_loc_conf_t, max_manifest),
      NULL },

    { ngx_string("album_zip_buffer_size"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_album_zip_loc_conf_t, buffer_size),
      NULL },

    { ngx_string("album_zip_thread_pool"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_album_zip_loc_conf_t, thread_pool_name),
      NULL },

    { ngx_string("album_zip_crc_cache"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_album_zip_crc_cache,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("album_zip_crc_store"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_album_zip_loc_conf_t, crc_store),
      NULL },

    { ngx_string("album_zip_thread_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_album_zip_loc_conf_t, thread_timeout),
      NULL },

    { ngx_string("album_zip_job_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_album_zip_loc_conf_t, job_timeout),
      NULL },

    { ngx_string("album_zip_job_allow_private"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_album_zip_loc_conf_t, allow_private),
      NULL },

    { ngx_string("album_zip_job"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_album_zip_job,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_album_zip_module_ctx = {
    ngx_http_album_zip_add_variables,      /* preconfiguration */
    ngx_http_album_zip_init,               /* postconfiguration */

    NULL,                                  /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_album_zip_create_loc_conf,    /* create location configuration */
    ngx_http_album_zip_merge_loc_conf      /* merge location configuration */
};


ngx_module_t  ngx_http_album_zip_module = {
    NGX_MODULE_V1,
    &ngx_http_album_zip_module_ctx,        /* module context */
    ngx_http_album_zip_commands,           /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_http_album_zip_init_process,       /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_album_zip_exit_process,       /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_str_t  ngx_http_album_zip_url_name = ngx_string("album_zip_url");


/*
 * The client's Range, If-Range, conditionals and Accept-Encoding describe
 * the archive: they must not reach the manifest upstream (a partial or
 * compressed manifest) nor the members.  HEAD becomes GET so that the
 * manifest arrives; the archive's headers then go out alone.
 */

static ngx_int_t
ngx_http_album_zip_precontent_handler(ngx_http_request_t *r)
{
    ngx_http_album_zip_ctx_t       *ctx;
    ngx_http_album_zip_loc_conf_t  *conf;

    if (r != r->main) {
        return NGX_DECLINED;
    }

    conf = ngx_http_get_module_loc_conf(r, ngx_http_album_zip_module);

    if (!conf->enable
        || ngx_http_get_module_ctx(r, ngx_http_album_zip_module) != NULL)
    {
        return NGX_DECLINED;
    }

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_album_zip_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->type = NGX_HTTP_ALBUM_ZIP_MAIN;
    ctx->state = NGX_HTTP_ALBUM_ZIP_PASS;
    ctx->request = r;
    ctx->conf = conf;
    ctx->range = r->headers_in.range;
    ctx->if_range = r->headers_in.if_range;
    ctx->if_none_match = r->headers_in.if_none_match;

    ngx_http_set_ctx(r, ctx, ngx_http_album_zip_module);

    if (r->method == NGX_HTTP_HEAD) {
        ctx->head = 1;
        r->method = NGX_HTTP_GET;
        r->method_name = ngx_http_core_get_method;
    }

    if (ngx_http_album_zip_strip_headers(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DECLINED;
}


static ngx_int_t
ngx_http_album_zip_strip_headers(ngx_http_request_t *r)
{
    ngx_str_t         *name;
    ngx_uint_t         i, j;
    ngx_list_t         headers;
    ngx_list_part_t   *part;
    ngx_table_elt_t   *h, *copy;

    static ngx_str_t  held[] = {
        ngx_string("Range"),
        ngx_string("If-Range"),
        ngx_string("Accept-Encoding"),
        ngx_string("If-Match"),
        ngx_string("If-None-Match"),
        ngx_string("If-Modified-Since"),
        ngx_string("If-Unmodified-Since"),
        ngx_null_string
    };

    if (ngx_list_init(&headers, r->pool, 20, sizeof(ngx_table_elt_t))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        for (j = 0; held[j].len; j++) {
            name = &held[j];

            if (h[i].key.len == name->len
                && ngx_strncasecmp(h[i].key.data, name->data, name->len) == 0)
            {
                break;
            }
        }

        if (held[j].len) {
            continue;
        }

        copy = ngx_list_push(&headers);
        if (copy == NULL) {
            return NGX_ERROR;
        }

        *copy = h[i];
    }

    r->headers_in.headers = headers;

    r->headers_in.range = NULL;
    r->headers_in.if_range = NULL;
    r->headers_in.if_match = NULL;
    r->headers_in.if_none_match = NULL;
    r->headers_in.if_modified_since = NULL;
    r->headers_in.if_unmodified_since = NULL;
#if (NGX_HTTP_GZIP || NGX_HTTP_HEADERS)
    r->headers_in.accept_encoding = NULL;
#endif

    return NGX_OK;
}


/* $album_zip_url: the URL of the remote member being fetched */

static ngx_int_t
ngx_http_album_zip_url_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_http_album_zip_member_t      *m;
    ngx_http_album_zip_member_ctx_t  *mctx;

    mctx = ngx_http_get_module_ctx(r, ngx_http_album_zip_module);

    if (mctx == NULL || mctx->type != NGX_HTTP_ALBUM_ZIP_MEMBER) {
        v->not_found = 1;
        return NGX_OK;
    }

    m = &mctx->main->members[mctx->index];

    v->data = m->uri.data;
    v->len = m->uri.len;
    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;

    return NGX_OK;
}


static ngx_int_t
ngx_http_album_zip_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var;

    var = ngx_http_add_variable(cf, &ngx_http_album_zip_url_name,
                                NGX_HTTP_VAR_NOCACHEABLE);
    if (var == NULL) {
        return NGX_ERROR;
    }

    var->get_handler = ngx_http_album_zip_url_variable;

    return NGX_OK;
}


static ngx_int_t
ngx_http_album_zip_init(ngx_conf_t *cf)
{
    ngx_http_handler_pt        *h;
    ngx_http_core_main_conf_t  *cmcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_PRECONTENT_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_album_zip_precontent_handler;

    /* runs before the static module: later handlers come first */
    h = ngx_array_push(&cmcf->phases[NGX_HTTP_CONTENT_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_album_zip_directory_handler;

    if (ngx_http_edge_metrics_watch(cf, EDGE_METRICS_ALBUM_ZIP,
                                    &ngx_http_album_zip_module, NULL)
        != NGX_OK
        || ngx_http_edge_metrics_watch(cf, EDGE_METRICS_ALBUM_ZIP, NULL,
                                       ngx_http_album_zip_job_handler)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_http_album_zip_filter_init(cf);
}


static void *
ngx_http_album_zip_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_album_zip_loc_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_album_zip_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     conf->remote = { 0, NULL };
     *     conf->crc_store = { 0, NULL };
     *     conf->thread_pool_name = { 0, NULL };
     *     conf->thread_pool = NULL;
     */

    conf->enable = NGX_CONF_UNSET;
    conf->directory = NGX_CONF_UNSET;
    conf->allow = NGX_CONF_UNSET_PTR;
    conf->s3 = NGX_CONF_UNSET_PTR;
    conf->pass_headers = NGX_CONF_UNSET_PTR;
    conf->prefetch = NGX_CONF_UNSET_UINT;
    conf->missing = NGX_CONF_UNSET_UINT;
    conf->max_files = NGX_CONF_UNSET_UINT;
    conf->max_size = NGX_CONF_UNSET;
    conf->max_manifest = NGX_CONF_UNSET_SIZE;
    conf->buffer_size = NGX_CONF_UNSET_SIZE;
    conf->crc_cache = NGX_CONF_UNSET_PTR;
    conf->job_timeout = NGX_CONF_UNSET_MSEC;
    conf->thread_timeout = NGX_CONF_UNSET_MSEC;
    conf->job = NGX_CONF_UNSET;
    conf->allow_private = NGX_CONF_UNSET;

    return conf;
}


static char *
ngx_http_album_zip_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_album_zip_loc_conf_t *prev = parent;
    ngx_http_album_zip_loc_conf_t *conf = child;

    ngx_uint_t     i;
    ngx_keyval_t  *kv;

    ngx_conf_merge_value(conf->enable, prev->enable, 0);
    ngx_conf_merge_value(conf->directory, prev->directory, 0);
    ngx_conf_merge_value(conf->job, prev->job, 0);
    ngx_conf_merge_value(conf->allow_private, prev->allow_private, 0);
    ngx_conf_merge_str_value(conf->remote, prev->remote, "");
    ngx_conf_merge_ptr_value(conf->allow, prev->allow, NULL);
    ngx_conf_merge_ptr_value(conf->s3, prev->s3, NULL);
    ngx_conf_merge_ptr_value(conf->pass_headers, prev->pass_headers, NULL);
    ngx_conf_merge_ptr_value(conf->crc_cache, prev->crc_cache, NULL);
    ngx_conf_merge_uint_value(conf->prefetch, prev->prefetch, 2);
    ngx_conf_merge_uint_value(conf->missing, prev->missing,
                              NGX_HTTP_ALBUM_ZIP_MISSING_ABORT);
    ngx_conf_merge_uint_value(conf->max_files, prev->max_files, 10000);
    ngx_conf_merge_off_value(conf->max_size, prev->max_size,
                             (off_t) 64 * 1024 * 1024 * 1024);
    ngx_conf_merge_size_value(conf->max_manifest, prev->max_manifest,
                              4 * 1024 * 1024);
    ngx_conf_merge_size_value(conf->buffer_size, prev->buffer_size,
                              256 * 1024);
    ngx_conf_merge_msec_value(conf->job_timeout, prev->job_timeout, 60000);

    /* a job's task makes a transfer per source and the upload */
    ngx_conf_merge_msec_value(conf->thread_timeout, prev->thread_timeout,
                              600000);
    ngx_conf_merge_str_value(conf->thread_pool_name, prev->thread_pool_name,
                             "default");

    ngx_conf_merge_str_value(conf->crc_store, prev->crc_store, "off");

    if (ngx_strcmp(conf->crc_store.data, "off") == 0) {
        conf->crc_store.len = 0;

    } else if (conf->crc_store.len && conf->crc_store.data[0] != '/') {
        /* relative to the prefix; NUL-terminated for the thread */
        if (ngx_conf_full_name(cf->cycle, &conf->crc_store, 0) != NGX_OK) {
            return NGX_CONF_ERROR;
        }
    }

    if (conf->remote.len && conf->remote.data[0] != '/') {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "album_zip_remote \"%V\" must be a URI of an "
                           "internal location, starting with \"/\"",
                           &conf->remote);
        return NGX_CONF_ERROR;
    }

    if (conf->s3) {
        kv = conf->s3->elts;

        for (i = 0; i < conf->s3->nelts; i++) {
            if (kv[i].value.len == 0 || kv[i].value.data[0] != '/') {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "album_zip_s3 \"%V\": \"%V\" must be "
                                   "the URI prefix of an s3_proxy location, "
                                   "starting with \"/\"", &kv[i].key,
                                   &kv[i].value);
                return NGX_CONF_ERROR;
            }
        }
    }

    if (conf->max_size <= 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "album_zip_max_size must be positive");
        return NGX_CONF_ERROR;
    }

    if (conf->buffer_size < 4096) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "album_zip_buffer_size must be at least 4k");
        return NGX_CONF_ERROR;
    }

    /* only locations that do work on threads need the pool to exist */

    if (conf->directory || conf->job || conf->enable) {
        conf->thread_pool = ngx_thread_pool_add(cf, &conf->thread_pool_name);
        if (conf->thread_pool == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;
}


/*
 * Every argument is an item, a prefix or a header name
 * (ngx_conf_set_str_array_slot would keep only the first); the directive
 * may also be repeated.
 */

static char *
ngx_http_album_zip_list(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    char  *p = conf;

    ngx_str_t     *value, *s;
    ngx_uint_t     i;
    ngx_array_t  **a;

    a = (ngx_array_t **) (p + cmd->offset);

    if (*a == NGX_CONF_UNSET_PTR) {
        *a = ngx_array_create(cf->pool, 4, sizeof(ngx_str_t));
        if (*a == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {
        if (value[i].len == 0) {
            return "has an empty argument";
        }

        s = ngx_array_push(*a);
        if (s == NULL) {
            return NGX_CONF_ERROR;
        }

        *s = value[i];
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_album_zip_job(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_album_zip_loc_conf_t *azlcf = conf;

    ngx_http_core_loc_conf_t  *clcf;

    if (azlcf->job != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    azlcf->job = 1;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_album_zip_job_handler;

    return NGX_CONF_OK;
}


/* libcurl (the upload job) is initialised per worker, never in the master */

static ngx_int_t
ngx_http_album_zip_init_process(ngx_cycle_t *cycle)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "album_zip: libcurl initialisation failed");
        return NGX_ERROR;
    }

    return NGX_OK;
}


static void
ngx_http_album_zip_exit_process(ngx_cycle_t *cycle)
{
    curl_global_cleanup();
}
