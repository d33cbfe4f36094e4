
/*
 * ngx_http_image_ingest_module: the directives, the configuration of a
 * location (resolved against image_variant's) and the per worker set up.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <curl/curl.h>

#include "image_variant_params.h"
#include "image_ingest_store.h"
#include "ngx_http_image_variant.h"
#include "ngx_http_image_ingest.h"


typedef struct {
    ngx_array_t                       stores;     /* ngx_str_t */
} ngx_http_image_ingest_main_conf_t;


static char *ngx_http_image_ingest_resolve(ngx_conf_t *cf,
    ngx_http_image_ingest_loc_conf_t *conf);
static char *ngx_http_image_ingest_resolve_variants(ngx_conf_t *cf,
    ngx_http_image_ingest_loc_conf_t *conf);


ngx_conf_enum_t  ngx_http_image_ingest_format_names[] = {
    { ngx_string("jpeg"), IMAGE_VARIANT_FORMAT_JPEG },
    { ngx_string("png"), IMAGE_VARIANT_FORMAT_PNG },
    { ngx_string("webp"), IMAGE_VARIANT_FORMAT_WEBP },
    { ngx_string("avif"), IMAGE_VARIANT_FORMAT_AVIF },
    { ngx_null_string, 0 }
};


/* ------------------------------------------------------------------------
 * configuration
 */


char *
ngx_http_image_ingest(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_image_ingest_loc_conf_t *iilcf = conf;

    ngx_http_core_loc_conf_t  *clcf;

    if (iilcf->enable) {
        return "is duplicate";
    }

    iilcf->enable = 1;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_image_ingest_handler;

    return NGX_CONF_OK;
}


char *
ngx_http_image_ingest_variants(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_image_ingest_loc_conf_t *iilcf = conf;

    ngx_str_t   *value, *name;
    ngx_uint_t   i;

    if (iilcf->presets != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    iilcf->presets = ngx_array_create(cf->pool, cf->args->nelts - 1,
                                      sizeof(ngx_str_t));
    if (iilcf->presets == NULL) {
        return NGX_CONF_ERROR;
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {
        name = ngx_array_push(iilcf->presets);
        if (name == NULL) {
            return NGX_CONF_ERROR;
        }

        *name = value[i];
    }

    return NGX_CONF_OK;
}


char *
ngx_http_image_ingest_formats(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_image_ingest_loc_conf_t *iilcf = conf;

    ngx_str_t   *value;
    ngx_uint_t   i, j, *f, *all;

    if (iilcf->formats != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    iilcf->formats = ngx_array_create(cf->pool, cf->args->nelts - 1,
                                      sizeof(ngx_uint_t));
    if (iilcf->formats == NULL) {
        return NGX_CONF_ERROR;
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {
        for (j = 0; ngx_http_image_ingest_format_names[j].name.len; j++) {
            if (ngx_strcmp(value[i].data,
                           ngx_http_image_ingest_format_names[j].name.data)
                == 0)
            {
                break;
            }
        }

        if (ngx_http_image_ingest_format_names[j].name.len == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "unknown format \"%V\": jpeg, png, webp or "
                               "avif", &value[i]);
            return NGX_CONF_ERROR;
        }

        f = ngx_array_push(iilcf->formats);
        if (f == NULL) {
            return NGX_CONF_ERROR;
        }

        *f = ngx_http_image_ingest_format_names[j].value;
    }

    /* each format once */

    all = iilcf->formats->elts;

    for (i = 0; i < iilcf->formats->nelts; i++) {
        for (j = i + 1; j < iilcf->formats->nelts; j++) {
            if (all[i] == all[j]) {
                return "lists a format twice";
            }
        }
    }

    return NGX_CONF_OK;
}


/* image_ingest_meta name value [name value ...] */

char *
ngx_http_image_ingest_meta(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_image_ingest_loc_conf_t *iilcf = conf;

    ngx_str_t                          *value;
    ngx_uint_t                          i, j;
    ngx_http_image_ingest_meta_t       *m, *all;
    ngx_http_compile_complex_value_t    ccv;

    if ((cf->args->nelts - 1) % 2) {
        return "takes name and value pairs";
    }

    if (iilcf->meta == NGX_CONF_UNSET_PTR) {
        iilcf->meta = ngx_array_create(cf->pool, 4,
                                       sizeof(ngx_http_image_ingest_meta_t));
        if (iilcf->meta == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i += 2) {
        all = iilcf->meta->elts;

        for (j = 0; j < iilcf->meta->nelts; j++) {
            if (all[j].name.len == value[i].len
                && ngx_strncmp(all[j].name.data, value[i].data,
                               value[i].len) == 0)
            {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "duplicate image_ingest_meta \"%V\"",
                                   &value[i]);
                return NGX_CONF_ERROR;
            }
        }

        m = ngx_array_push(iilcf->meta);
        if (m == NULL) {
            return NGX_CONF_ERROR;
        }

        m->name = value[i];

        ngx_memzero(&ccv, sizeof(ngx_http_compile_complex_value_t));

        ccv.cf = cf;
        ccv.value = &value[i + 1];
        ccv.complex_value = &m->value;

        if (ngx_http_compile_complex_value(&ccv) != NGX_OK) {
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;
}


/* image_ingest_notify_backoff first [max] */

char *
ngx_http_image_ingest_backoff(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_image_ingest_loc_conf_t *iilcf = conf;

    ngx_str_t  *value;

    if (iilcf->notify_backoff != NGX_CONF_UNSET_MSEC) {
        return "is duplicate";
    }

    value = cf->args->elts;

    iilcf->notify_backoff = ngx_parse_time(&value[1], 0);

    if (iilcf->notify_backoff == (ngx_msec_t) NGX_ERROR
        || iilcf->notify_backoff == 0)
    {
        return "has an invalid first wait";
    }

    if (cf->args->nelts == 3) {
        iilcf->notify_backoff_max = ngx_parse_time(&value[2], 0);

        if (iilcf->notify_backoff_max == (ngx_msec_t) NGX_ERROR
            || iilcf->notify_backoff_max < iilcf->notify_backoff)
        {
            return "has an invalid longest wait";
        }
    }

    return NGX_CONF_OK;
}


void *
ngx_http_image_ingest_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_image_ingest_main_conf_t  *mcf;

    mcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_image_ingest_main_conf_t));
    if (mcf == NULL) {
        return NULL;
    }

    if (ngx_array_init(&mcf->stores, cf->pool, 2, sizeof(ngx_str_t))
        != NGX_OK)
    {
        return NULL;
    }

    return mcf;
}


void *
ngx_http_image_ingest_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_image_ingest_loc_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_image_ingest_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     conf->enable = 0;
     *     conf->store = { 0, NULL };
     *     conf->backend = NULL;
     *     conf->s3 = NULL;
     *     conf->s3_location = NULL;
     *     conf->uri = { 0, NULL };
     *     conf->sign_key = { 0, NULL };
     *     conf->notify = { 0, NULL };
     *     conf->variants = NULL;
     *     conf->thread_pool_name = { 0, NULL };
     *     conf->thread_pool = NULL;
     *     conf->moderation_models = { 0, NULL };
     *     conf->moderate_model = NULL;
     *     conf->quarantine = { 0, NULL };
     *     conf->moderate = 0;
     *     conf->jwt_token = NULL;
     */

    conf->presets = NGX_CONF_UNSET_PTR;
    conf->formats = NGX_CONF_UNSET_PTR;
    conf->meta = NGX_CONF_UNSET_PTR;
    conf->sign_max_age = NGX_CONF_UNSET;
    conf->notify_timeout = NGX_CONF_UNSET_MSEC;
    conf->notify_retries = NGX_CONF_UNSET_UINT;
    conf->notify_backoff = NGX_CONF_UNSET_MSEC;
    conf->notify_backoff_max = NGX_CONF_UNSET_MSEC;
    conf->max_size = NGX_CONF_UNSET_SIZE;
    conf->thread_timeout = NGX_CONF_UNSET_MSEC;
    conf->s3_timeout = NGX_CONF_UNSET_MSEC;
    conf->archive = NGX_CONF_UNSET;
    conf->archive_max_entries = NGX_CONF_UNSET_UINT;
    conf->archive_max_bytes = NGX_CONF_UNSET;
    conf->archive_max_ratio = NGX_CONF_UNSET_UINT;
    conf->notify_batch = NGX_CONF_UNSET;
    conf->moderation = NGX_CONF_UNSET_UINT;
    conf->thresholds = NGX_CONF_UNSET_PTR;
    conf->jwt = NGX_CONF_UNSET_PTR;
    conf->jwt_claims = NGX_CONF_UNSET_PTR;
    conf->jwt_leeway = NGX_CONF_UNSET;
    conf->jwt_require_exp = NGX_CONF_UNSET;

    return conf;
}


char *
ngx_http_image_ingest_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child)
{
    ngx_http_image_ingest_loc_conf_t *prev = parent;
    ngx_http_image_ingest_loc_conf_t *conf = child;

    ngx_conf_merge_str_value(conf->store, prev->store, "");
    ngx_conf_merge_ptr_value(conf->presets, prev->presets, NULL);
    ngx_conf_merge_ptr_value(conf->formats, prev->formats, NULL);
    ngx_conf_merge_str_value(conf->uri, prev->uri, "/");
    ngx_conf_merge_str_value(conf->sign_key, prev->sign_key, "");
    ngx_conf_merge_sec_value(conf->sign_max_age, prev->sign_max_age, 3600);
    ngx_conf_merge_ptr_value(conf->meta, prev->meta, NULL);
    ngx_conf_merge_str_value(conf->notify, prev->notify, "");
    ngx_conf_merge_msec_value(conf->notify_timeout, prev->notify_timeout,
                              5000);
    ngx_conf_merge_uint_value(conf->notify_retries, prev->notify_retries, 5);
    ngx_conf_merge_msec_value(conf->thread_timeout, prev->thread_timeout,
                              NGX_HTTP_EDGE_TASK_TIMEOUT);
    ngx_conf_merge_msec_value(conf->s3_timeout, prev->s3_timeout, 30000);

    if (conf->s3_timeout == 0) {
        return "image_ingest_s3_timeout must be positive";
    }

    if (conf->notify_backoff == NGX_CONF_UNSET_MSEC) {
        conf->notify_backoff = prev->notify_backoff;
        conf->notify_backoff_max = prev->notify_backoff_max;
    }

    ngx_conf_merge_msec_value(conf->notify_backoff, prev->notify_backoff,
                              1000);
    ngx_conf_merge_msec_value(conf->notify_backoff_max,
                              prev->notify_backoff_max, 60000);
    ngx_conf_merge_size_value(conf->max_size, prev->max_size,
                              20 * 1024 * 1024);

    if (conf->max_size == 0) {
        return "image_ingest_max_size must be positive";
    }

    ngx_conf_merge_value(conf->archive, prev->archive, 0);
    ngx_conf_merge_uint_value(conf->archive_max_entries,
                              prev->archive_max_entries, 10000);
    ngx_conf_merge_off_value(conf->archive_max_bytes,
                             prev->archive_max_bytes,
                             (off_t) 4 * 1024 * 1024 * 1024);
    ngx_conf_merge_uint_value(conf->archive_max_ratio,
                              prev->archive_max_ratio, 100);
    ngx_conf_merge_value(conf->notify_batch, prev->notify_batch, 0);

    if (ngx_http_image_ingest_archive_merge(cf, conf) != NGX_CONF_OK
        || ngx_http_image_ingest_jwt_merge(cf, prev, conf) != NGX_CONF_OK)
    {
        return NGX_CONF_ERROR;
    }

    if (conf->notify_backoff_max < conf->notify_backoff) {
        conf->notify_backoff_max = conf->notify_backoff;
    }

    if (conf->sign_key.len && conf->sign_key.len < 16) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "image_ingest_sign_key must be at least 16 "
                           "bytes");
        return NGX_CONF_ERROR;
    }

    if (conf->uri.len > NGX_HTTP_IMAGE_INGEST_URI_MAX) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "image_ingest_uri is too long");
        return NGX_CONF_ERROR;
    }

    if (conf->notify.len
        && ngx_strncmp(conf->notify.data, "http://", 7) != 0
        && ngx_strncmp(conf->notify.data, "https://", 8) != 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "image_ingest_notify must be an http or https "
                           "URL");
        return NGX_CONF_ERROR;
    }

    if (ngx_http_image_ingest_moderation_merge(cf, prev, conf)
        != NGX_CONF_OK)
    {
        return NGX_CONF_ERROR;
    }

    if (!conf->enable) {
        return NGX_CONF_OK;
    }

    if (ngx_http_image_ingest_resolve(cf, conf) != NGX_CONF_OK) {
        return NGX_CONF_ERROR;
    }

    return ngx_http_image_ingest_moderation_store(cf, conf);
}


/*
 * A location with image_ingest: its store and presets, and image_variant's
 * limits and thread pool, merged before us (the module comes first in the
 * .so's list; ngx_http_image_variant_limits() refuses otherwise).
 */

static char *
ngx_http_image_ingest_resolve(ngx_conf_t *cf,
    ngx_http_image_ingest_loc_conf_t *conf)
{
    u_char  *p;

    if (conf->store.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "image_ingest needs image_ingest_store");
        return NGX_CONF_ERROR;
    }

    if (image_ingest_s3_is((char *) conf->store.data, conf->store.len)) {
        /* a bucket: no local directory, nothing for the start's sweep */

        if (ngx_http_image_ingest_s3_resolve(cf, conf) != NGX_CONF_OK) {
            return NGX_CONF_ERROR;
        }

        return ngx_http_image_ingest_resolve_variants(cf, conf);
    }

    conf->backend = &ngx_http_image_ingest_local;

    if (ngx_conf_full_name(cf->cycle, &conf->store, 0) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    while (conf->store.len > 1
           && conf->store.data[conf->store.len - 1] == '/')
    {
        conf->store.len--;
    }

    if (conf->store.len > IMAGE_INGEST_DIR_LEN) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "image_ingest_store \"%V\" is too long",
                           &conf->store);
        return NGX_CONF_ERROR;
    }

    /* NUL-terminated, for the store's system calls */
    p = ngx_pnalloc(cf->pool, conf->store.len + 1);
    if (p == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memcpy(p, conf->store.data, conf->store.len);
    p[conf->store.len] = '\0';
    conf->store.data = p;

    if (ngx_http_image_ingest_resolve_variants(cf, conf) != NGX_CONF_OK) {
        return NGX_CONF_ERROR;
    }

    if (ngx_http_image_ingest_add_store(cf, &conf->store) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* image_variant's limits, thread pool and presets for the location */

static char *
ngx_http_image_ingest_resolve_variants(ngx_conf_t *cf,
    ngx_http_image_ingest_loc_conf_t *conf)
{
    u_char                           *p;
    ngx_str_t                        *name;
    ngx_uint_t                        i, nf;
    void                             *ivlcf;
    ngx_http_image_variant_limits_t   limits;
    ngx_http_image_ingest_variant_t  *v;

    ivlcf = ngx_http_conf_get_module_loc_conf(cf,
                                              ngx_http_image_variant_module);

    if (ngx_http_image_variant_limits(ivlcf, &limits) != NGX_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "image_ingest: image_variant's configuration is "
                           "not merged yet: ngx_http_image_variant_module "
                           "must come before ngx_http_image_ingest_module "
                           "in config");
        return NGX_CONF_ERROR;
    }

    conf->max_pixels = limits.max_pixels;
    conf->timeout = limits.timeout;
    conf->thread_pool_name = limits.thread_pool;
    conf->face_models = limits.face_models;

    conf->thread_pool = ngx_thread_pool_add(cf, &conf->thread_pool_name);
    if (conf->thread_pool == NULL) {
        return NGX_CONF_ERROR;
    }

    if (conf->presets) {
        nf = conf->formats ? conf->formats->nelts : 1;

        if (conf->presets->nelts * nf > IMAGE_INGEST_MAX_FILES - 2) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "image_ingest_variants: more than %d "
                               "renderings", IMAGE_INGEST_MAX_FILES - 2);
            return NGX_CONF_ERROR;
        }

        conf->variants = ngx_array_create(cf->pool, conf->presets->nelts,
                                  sizeof(ngx_http_image_ingest_variant_t));
        if (conf->variants == NULL) {
            return NGX_CONF_ERROR;
        }

        name = conf->presets->elts;

        for (i = 0; i < conf->presets->nelts; i++) {
            v = ngx_array_push(conf->variants);
            if (v == NULL) {
                return NGX_CONF_ERROR;
            }

            v->name = name[i];

            /* a directory name in the store and a JSON key */

            for (p = name[i].data; p < name[i].data + name[i].len; p++) {
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
                      || (*p >= '0' && *p <= '9') || *p == '_' || *p == '-'))
                {
                    break;
                }
            }

            if (p != name[i].data + name[i].len || name[i].len > 64) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "image_ingest_variants: preset name "
                                   "\"%V\" is not [A-Za-z0-9_-]{1,64}",
                                   &name[i]);
                return NGX_CONF_ERROR;
            }

            if (ngx_http_image_variant_preset_params(ivlcf, &name[i],
                                                     &v->params)
                != NGX_OK)
            {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "image_ingest_variants: no "
                                   "image_variant_preset \"%V\"", &name[i]);
                return NGX_CONF_ERROR;
            }
        }
    }

    return NGX_CONF_OK;
}


/* a store directory (NUL-terminated), for the sweep when a worker starts */

ngx_int_t
ngx_http_image_ingest_add_store(ngx_conf_t *cf, ngx_str_t *dir)
{
    ngx_str_t                          *s;
    ngx_uint_t                          i;
    ngx_http_image_ingest_main_conf_t  *mcf;

    mcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_image_ingest_module);

    s = mcf->stores.elts;

    for (i = 0; i < mcf->stores.nelts; i++) {
        if (s[i].len == dir->len && ngx_strcmp(s[i].data, dir->data) == 0) {
            return NGX_OK;
        }
    }

    s = ngx_array_push(&mcf->stores);
    if (s == NULL) {
        return NGX_ERROR;
    }

    *s = *dir;

    return NGX_OK;
}


/*
 * Per worker: libcurl for the notifications (never in the master: not
 * fork safe), and the roll-back of uploads a crash interrupted.  The
 * sweep blocks, once, before the worker takes requests; it only touches
 * keys whose lock no live process holds.
 */

ngx_int_t
ngx_http_image_ingest_init_process(ngx_cycle_t *cycle)
{
    int                                 n;
    char                                err[256];
    ngx_str_t                          *s;
    ngx_uint_t                          i;
    ngx_http_conf_ctx_t                *ctx;
    ngx_http_image_ingest_main_conf_t  *mcf;

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "image_ingest: curl_global_init() failed");
        return NGX_ERROR;
    }

    if (ngx_http_image_ingest_moderation_init(cycle) != NGX_OK) {
        return NGX_ERROR;
    }

    ctx = (ngx_http_conf_ctx_t *) cycle->conf_ctx[ngx_http_module.index];

    if (ctx == NULL) {
        return NGX_OK;
    }

    mcf = ctx->main_conf[ngx_http_image_ingest_module.ctx_index];
    s = mcf->stores.elts;

    for (i = 0; i < mcf->stores.nelts; i++) {
        n = image_ingest_sweep((char *) s[i].data, err, sizeof(err));

        if (n < 0) {
            ngx_log_error(NGX_LOG_ERR, cycle->log, 0,
                          "image_ingest: sweep of \"%V\": %s", &s[i], err);

        } else if (n > 0) {
            ngx_log_error(NGX_LOG_WARN, cycle->log, 0,
                          "image_ingest: %d interrupted upload%s in "
                          "\"%V\" rolled back", n, n == 1 ? "" : "s",
                          &s[i]);
        }
    }

    return NGX_OK;
}


void
ngx_http_image_ingest_exit_process(ngx_cycle_t *cycle)
{
    if (ngx_http_image_ingest_moderation_exit(cycle) != NGX_OK) {
        return;
    }

    curl_global_cleanup();
}
