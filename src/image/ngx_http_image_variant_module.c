
/*
 * ngx_http_image_variant_module: resized image variants made with libvips
 * on an nginx thread pool.
 *
 * This file: the directives and their configuration, the worker's C heap
 * (arenas, the idle trim) and libvips' start and end in each worker.  The
 * filter itself, from the source's headers to the variant sent, is
 * ngx_http_image_variant_filter.c; the pixel work lives in src/image/core
 * (no nginx types there).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#if (__GLIBC__)
#include <malloc.h>
#define NGX_HTTP_IMAGE_VARIANT_MALLOC  1
#endif

#include "image_variant_params.h"
#include "image_variant_vips.h"
#include "ngx_http_image_variant.h"
#include "ngx_http_edge_task.h"


static void ngx_http_image_variant_trim_timer(ngx_event_t *ev);
static void ngx_http_image_variant_trim_thread(void *data, ngx_log_t *log);
static void ngx_http_image_variant_trim_done(void *data);

static char *ngx_http_image_variant_preset(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_image_variant_malloc(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static void *ngx_http_image_variant_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_image_variant_init_main_conf(ngx_conf_t *cf,
    void *conf);
static void *ngx_http_image_variant_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_image_variant_merge_loc_conf(ngx_conf_t *cf,
    void *parent, void *child);
static ngx_int_t ngx_http_image_variant_init(ngx_conf_t *cf);
static ngx_int_t ngx_http_image_variant_init_process(ngx_cycle_t *cycle);
static void ngx_http_image_variant_exit_process(ngx_cycle_t *cycle);


/* image_variant_log_level: where refusals are logged */
static ngx_conf_enum_t  ngx_http_image_variant_log_levels[] = {
    { ngx_string("error"), NGX_LOG_ERR },
    { ngx_string("warn"), NGX_LOG_WARN },
    { ngx_string("notice"), NGX_LOG_NOTICE },
    { ngx_string("info"), NGX_LOG_INFO },
    { ngx_null_string, 0 }
};


/* image_variant_shrink_on_load: what is left to the Lanczos resampler */
static ngx_conf_enum_t  ngx_http_image_variant_shrink[] = {
    { ngx_string("thumbnail"), 0 },
    { ngx_string("fast"), 1 },
    { ngx_null_string, 0 }
};


static ngx_command_t  ngx_http_image_variant_commands[] = {

    { ngx_string("image_variant_preset"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_image_variant_preset,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("image_variant"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_set_complex_value_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_image_variant_loc_conf_t, variant),
      NULL },

    { ngx_string("image_variant_params"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_image_variant_loc_conf_t, params),
      NULL },

    { ngx_string("image_variant_sign_key"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_image_variant_loc_conf_t, sign_key),
      NULL },

    { ngx_string("image_variant_max_input"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_image_variant_loc_conf_t, max_input),
      NULL },

    { ngx_string("image_variant_max_pixels"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_image_variant_loc_conf_t, max_pixels),
      NULL },

    { ngx_string("image_variant_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_image_variant_loc_conf_t, timeout),
      NULL },

    { ngx_string("image_variant_thread_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_image_variant_loc_conf_t, thread_timeout),
      NULL },

    { ngx_string("image_variant_thread_pool"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_image_variant_loc_conf_t, thread_pool_name),
      NULL },

    { ngx_string("image_variant_log_level"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_image_variant_loc_conf_t, log_level),
      &ngx_http_image_variant_log_levels },

    { ngx_string("image_variant_shrink_on_load"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_image_variant_loc_conf_t, shrink_on_load),
      &ngx_http_image_variant_shrink },

    { ngx_string("image_variant_malloc_arenas"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_image_variant_malloc,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_image_variant_main_conf_t, malloc_arenas),
      NULL },

    { ngx_string("image_variant_face_models"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_image_variant_face_models,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("image_variant_malloc_trim"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_image_variant_malloc,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_image_variant_main_conf_t, malloc_trim),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_image_variant_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_http_image_variant_init,           /* postconfiguration */

    ngx_http_image_variant_create_main_conf, /* create main configuration */
    ngx_http_image_variant_init_main_conf, /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_image_variant_create_loc_conf, /* create location configuration */
    ngx_http_image_variant_merge_loc_conf  /* merge location configuration */
};


ngx_module_t  ngx_http_image_variant_module = {
    NGX_MODULE_V1,
    &ngx_http_image_variant_module_ctx,    /* module context */
    ngx_http_image_variant_commands,       /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_http_image_variant_init_process,   /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_image_variant_exit_process,   /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


/*
 * The worker's renders in flight (event loop only), and what returns the
 * C heap's free memory to the system once they have all been idle for
 * image_variant_malloc_trim: a timer, then a task on the thread pool of
 * the last render (malloc_trim() takes the arenas' locks: never on the
 * event loop).
 */
static ngx_uint_t             ngx_http_image_variant_renders;
static ngx_msec_t             ngx_http_image_variant_trim_delay;
static ngx_event_t            ngx_http_image_variant_trim_event;
static ngx_http_edge_task_t  *ngx_http_image_variant_trim_task;
static ngx_thread_pool_t     *ngx_http_image_variant_trim_pool;




/*
 * A render was posted to pool: no trim while renders run; the trim goes
 * to the pool of the last one.
 */

void
ngx_http_image_variant_render_started(ngx_thread_pool_t *pool)
{
    ngx_http_image_variant_renders++;
    ngx_http_image_variant_trim_pool = pool;

    if (ngx_http_image_variant_trim_event.timer_set) {
        ngx_del_timer(&ngx_http_image_variant_trim_event);
    }
}


/* a render's thread is done: the last of a busy period arms the trim */

void
ngx_http_image_variant_render_done(void)
{
    if (--ngx_http_image_variant_renders == 0
        && ngx_http_image_variant_trim_delay
        && !ngx_exiting)
    {
        ngx_add_timer(&ngx_http_image_variant_trim_event,
                      ngx_http_image_variant_trim_delay);
    }
}



static void
ngx_http_image_variant_trim_timer(ngx_event_t *ev)
{
    ngx_http_edge_task_t  *t;

    t = ngx_http_image_variant_trim_task;

    if (ngx_http_image_variant_renders || t == NULL
        || t->task->event.active || ngx_http_image_variant_trim_pool == NULL)
    {
        return;
    }

    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, ev->log, 0,
                   "image_variant: renders idle, trimming the heap");

    /* the pool is busy: a later idle period trims */

    (void) ngx_http_edge_task_post(t, ngx_http_image_variant_trim_pool,
                                   NULL);
}


static void
ngx_http_image_variant_trim_thread(void *data, ngx_log_t *log)
{
#if (NGX_HTTP_IMAGE_VARIANT_MALLOC)
    (void) malloc_trim(0);
#endif
}


static void
ngx_http_image_variant_trim_done(void *data)
{
    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                   "image_variant: heap trimmed");
}


/* image_variant_preset name key=value ... */

static char *
ngx_http_image_variant_preset(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_image_variant_loc_conf_t *ivlcf = conf;

    char                              err[128];
    ngx_str_t                        *value;
    ngx_uint_t                        i;
    ngx_http_image_variant_preset_t  *preset, *p;

    value = cf->args->elts;

    if (ivlcf->presets == NULL) {
        ivlcf->presets = ngx_array_create(cf->pool, 4,
                                  sizeof(ngx_http_image_variant_preset_t));
        if (ivlcf->presets == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    p = ivlcf->presets->elts;

    for (i = 0; i < ivlcf->presets->nelts; i++) {
        if (p[i].name.len == value[1].len
            && ngx_strncmp(p[i].name.data, value[1].data, value[1].len) == 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "duplicate image_variant_preset \"%V\"",
                               &value[1]);
            return NGX_CONF_ERROR;
        }
    }

    preset = ngx_array_push(ivlcf->presets);
    if (preset == NULL) {
        return NGX_CONF_ERROR;
    }

    preset->name = value[1];
    image_variant_params_init(&preset->params);

    for (i = 2; i < cf->args->nelts; i++) {
        if (image_variant_preset_arg(&preset->params, (char *) value[i].data,
                                     value[i].len, err, sizeof(err))
            != IMAGE_VARIANT_OK)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "image_variant_preset \"%V\": %s",
                               &value[1], err);
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;
}


/*
 * image_variant_malloc_arenas number | off;
 * image_variant_malloc_trim time | off;
 */

static char *
ngx_http_image_variant_malloc(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    char  *p = conf;

    ngx_int_t   n, *np;
    ngx_str_t  *value;

    np = (ngx_int_t *) (p + cmd->offset);

    if (*np != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        *np = 0;
        return NGX_CONF_OK;
    }

    if (cmd->offset
        == offsetof(ngx_http_image_variant_main_conf_t, malloc_arenas))
    {
        n = ngx_atoi(value[1].data, value[1].len);

        if (n < 1 || n > 64) {
            return "must be \"off\" or a number from 1 to 64";
        }

    } else {
        n = ngx_parse_time(&value[1], 0);

        if (n == NGX_ERROR || n == 0) {
            return "must be \"off\" or a positive time";
        }
    }

    *np = n;

    return NGX_CONF_OK;
}


static void *
ngx_http_image_variant_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_image_variant_main_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool,
                       sizeof(ngx_http_image_variant_main_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    conf->malloc_arenas = NGX_CONF_UNSET;
    conf->malloc_trim = NGX_CONF_UNSET;

    return conf;
}


static char *
ngx_http_image_variant_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_image_variant_main_conf_t *ivmcf = conf;

    ngx_conf_init_value(ivmcf->malloc_arenas, 2);
    ngx_conf_init_value(ivmcf->malloc_trim, 10000);

    return NGX_CONF_OK;
}


static void *
ngx_http_image_variant_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_image_variant_loc_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_image_variant_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     conf->presets = NULL;
     *     conf->variant = NULL;
     *     conf->sign_key = { 0, NULL };
     *     conf->thread_pool_name = { 0, NULL };
     *     conf->thread_pool = NULL;
     *     conf->merged = 0;
     */

    conf->params = NGX_CONF_UNSET;
    conf->max_input = NGX_CONF_UNSET_SIZE;
    conf->max_pixels = NGX_CONF_UNSET_UINT;
    conf->timeout = NGX_CONF_UNSET_MSEC;
    conf->thread_timeout = NGX_CONF_UNSET_MSEC;
    conf->log_level = NGX_CONF_UNSET_UINT;
    conf->shrink_on_load = NGX_CONF_UNSET_UINT;

    return conf;
}


static char *
ngx_http_image_variant_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child)
{
    ngx_http_image_variant_loc_conf_t *prev = parent;
    ngx_http_image_variant_loc_conf_t *conf = child;

    ngx_uint_t                        i, j;
    ngx_http_image_variant_preset_t  *pp, *cp, *p;

    /* presets add up: a location sees its own and its parents' */

    if (conf->presets == NULL) {
        conf->presets = prev->presets;

    } else if (prev->presets) {
        pp = prev->presets->elts;

        for (i = 0; i < prev->presets->nelts; i++) {
            cp = conf->presets->elts;

            for (j = 0; j < conf->presets->nelts; j++) {
                if (cp[j].name.len == pp[i].name.len
                    && ngx_strncmp(cp[j].name.data, pp[i].name.data,
                                   pp[i].name.len) == 0)
                {
                    break;
                }
            }

            if (j < conf->presets->nelts) {
                continue;
            }

            p = ngx_array_push(conf->presets);
            if (p == NULL) {
                return NGX_CONF_ERROR;
            }

            *p = pp[i];
        }
    }

    if (conf->variant == NULL) {
        conf->variant = prev->variant;
    }

    ngx_conf_merge_value(conf->params, prev->params, 0);
    ngx_conf_merge_str_value(conf->sign_key, prev->sign_key, "");
    ngx_conf_merge_size_value(conf->max_input, prev->max_input,
                              20 * 1024 * 1024);
    ngx_conf_merge_uint_value(conf->max_pixels, prev->max_pixels, 50000000);
    ngx_conf_merge_msec_value(conf->timeout, prev->timeout, 10000);
    ngx_conf_merge_msec_value(conf->thread_timeout, prev->thread_timeout,
                              NGX_HTTP_EDGE_TASK_TIMEOUT);
    ngx_conf_merge_str_value(conf->thread_pool_name, prev->thread_pool_name,
                             "default");
    ngx_conf_merge_uint_value(conf->log_level, prev->log_level, NGX_LOG_ERR);
    ngx_conf_merge_uint_value(conf->shrink_on_load, prev->shrink_on_load, 1);

    if (conf->max_input == 0 || conf->max_pixels == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "image_variant_max_input and "
                           "image_variant_max_pixels must be positive");
        return NGX_CONF_ERROR;
    }

    if (conf->params && conf->sign_key.len < 16) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "image_variant_params needs an "
                           "image_variant_sign_key of at least 16 bytes");
        return NGX_CONF_ERROR;
    }

    if (conf->variant) {
        conf->thread_pool = ngx_thread_pool_add(cf, &conf->thread_pool_name);
        if (conf->thread_pool == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    if (ngx_http_image_variant_face_check(cf, conf) != NGX_CONF_OK) {
        return NGX_CONF_ERROR;
    }

    conf->merged = 1;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_image_variant_init(ngx_conf_t *cf)
{
    if (ngx_http_edge_metrics_watch(cf, EDGE_METRICS_IMAGE_VARIANT,
                                    &ngx_http_image_variant_module, NULL)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_http_image_variant_filter_init(cf);
}




/*
 * libvips is initialised in each worker, never in the master: its state
 * (threads, caches) does not survive fork().
 */

static ngx_int_t
ngx_http_image_variant_init_process(ngx_cycle_t *cycle)
{
    char                                 err[256];
    ngx_event_t                         *ev;
    ngx_http_edge_task_t                *t;
    ngx_http_image_variant_main_conf_t  *ivmcf;

    ivmcf = ngx_http_cycle_get_module_main_conf(
                                   cycle, ngx_http_image_variant_module);

    /*
     * Before libvips starts its threads: glibc gives every thread that
     * allocates an arena of its own (64 MB reserved, up to 8 per core),
     * and the memory freed in an arena stays in it.
     */

    if (ivmcf && ivmcf->malloc_arenas) {
#if (NGX_HTTP_IMAGE_VARIANT_MALLOC)
        if (mallopt(M_ARENA_MAX, (int) ivmcf->malloc_arenas) != 1) {
            ngx_log_error(NGX_LOG_WARN, cycle->log, 0,
                          "image_variant: mallopt(M_ARENA_MAX, %i) failed",
                          ivmcf->malloc_arenas);
        }
#endif
    }

    if (ivmcf && ivmcf->malloc_trim) {
        /* the worker's whole life, with the edge tasks' watchdog */
        t = ngx_http_edge_task_alloc(cycle->pool, 0);
        if (t == NULL) {
            return NGX_ERROR;
        }

        t->task->handler = ngx_http_image_variant_trim_thread;
        t->log = cycle->log;
        t->module = "image_variant";
        t->work = "heap trim";
        ngx_str_set(&t->name, "malloc_trim");
        t->done = ngx_http_image_variant_trim_done;

        ngx_http_image_variant_trim_task = t;
        ngx_http_image_variant_trim_delay = (ngx_msec_t) ivmcf->malloc_trim;

        ev = &ngx_http_image_variant_trim_event;
        ev->handler = ngx_http_image_variant_trim_timer;
        ev->log = cycle->log;
        ev->cancelable = 1;
    }

    if (ngx_http_image_variant_face_init_process(cycle) != NGX_OK) {
        return NGX_ERROR;
    }

    if (image_variant_init("nginx", err, sizeof(err)) != 0) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "image_variant: libvips initialisation failed: %s",
                      err);
        return NGX_ERROR;
    }

    return NGX_OK;
}


static void
ngx_http_image_variant_exit_process(ngx_cycle_t *cycle)
{
    image_variant_shutdown();
}


/* for ngx_http_image_ingest_module: see ngx_http_image_variant.h */

ngx_int_t
ngx_http_image_variant_preset_params(void *conf, ngx_str_t *name,
    image_variant_params_t *params)
{
    ngx_http_image_variant_loc_conf_t *ivlcf = conf;

    ngx_uint_t                        i;
    ngx_http_image_variant_preset_t  *preset;

    if (ivlcf->presets == NULL) {
        return NGX_DECLINED;
    }

    preset = ivlcf->presets->elts;

    for (i = 0; i < ivlcf->presets->nelts; i++) {
        if (preset[i].name.len == name->len
            && ngx_strncmp(preset[i].name.data, name->data, name->len) == 0)
        {
            *params = preset[i].params;
            return NGX_OK;
        }
    }

    return NGX_DECLINED;
}


ngx_int_t
ngx_http_image_variant_limits(void *conf,
    ngx_http_image_variant_limits_t *limits)
{
    ngx_http_image_variant_loc_conf_t *ivlcf = conf;

    if (!ivlcf->merged) {
        return NGX_ERROR;
    }

    limits->max_pixels = ivlcf->max_pixels;
    limits->timeout = ivlcf->timeout;
    limits->thread_pool = ivlcf->thread_pool_name;
    limits->face_models = ivlcf->face_models;

    return NGX_OK;
}
