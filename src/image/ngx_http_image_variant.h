
/*
 * What ngx_http_image_variant_module shares with the other module of its
 * .so, ngx_http_image_ingest_module: the presets and the limits of a
 * location, from its merged configuration; and what its two files share.
 */


#ifndef _NGX_HTTP_IMAGE_VARIANT_H_INCLUDED_
#define _NGX_HTTP_IMAGE_VARIANT_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "image_variant_params.h"
#include "image_variant_vips.h"


typedef struct {
    ngx_uint_t                max_pixels;    /* image_variant_max_pixels */
    ngx_msec_t                timeout;       /* image_variant_timeout */
    ngx_str_t                 thread_pool;   /* image_variant_thread_pool */
    void                     *face_models;   /* image_variant_face_models */
} ngx_http_image_variant_limits_t;


extern ngx_module_t  ngx_http_image_variant_module;


/*
 * conf is the module's location configuration, merged (e.g. from
 * ngx_http_conf_get_module_loc_conf() while a later module merges).
 * ngx_http_image_variant_limits() is NGX_ERROR while conf is not merged
 * yet: the caller's module was listed before this one in config, and
 * must say so rather than read unset values.  Then
 * ngx_http_image_variant_preset_params() gives NGX_OK and the preset's
 * parameters, or NGX_DECLINED for no such preset.
 */
ngx_int_t ngx_http_image_variant_limits(void *conf,
    ngx_http_image_variant_limits_t *limits);
ngx_int_t ngx_http_image_variant_preset_params(void *conf, ngx_str_t *name,
    image_variant_params_t *params);

/* the HTTP status for a render that failed (image_variant_job_t status) */
ngx_uint_t ngx_http_image_variant_status(int job_status);


/*
 * Between the module's own two files: ngx_http_image_variant_module.c
 * (directives, configuration, the worker's heap) and
 * ngx_http_image_variant_filter.c (the filter).
 */

typedef struct {
    ngx_str_t                    name;
    image_variant_params_t       params;
} ngx_http_image_variant_preset_t;


/* http main level: the worker's C heap */
typedef struct {
    ngx_int_t                    malloc_arenas; /* 0: off */
    ngx_int_t                    malloc_trim;   /* ms, 0: off */
    ngx_str_t                    face_models_dir;
    void                        *face_models;   /* face_models_t */
} ngx_http_image_variant_main_conf_t;


typedef struct {
    ngx_array_t                 *presets;       /* preset_t */
    ngx_http_complex_value_t    *variant;       /* image_variant */
    ngx_flag_t                   params;        /* image_variant_params */
    ngx_str_t                    sign_key;      /* image_variant_sign_key */
    size_t                       max_input;     /* image_variant_max_input */
    ngx_uint_t                   max_pixels;    /* ..._max_pixels */
    ngx_msec_t                   timeout;       /* image_variant_timeout */
    ngx_msec_t                   thread_timeout;  /* ..._thread_timeout */
    ngx_str_t                    thread_pool_name;
    ngx_thread_pool_t           *thread_pool;
    ngx_uint_t                   log_level;     /* ..._log_level */
    ngx_uint_t                   shrink_on_load;  /* 1: fast */
    ngx_uint_t                   merged;        /* for image_ingest */
    void                        *face_models;   /* the main conf's */
} ngx_http_image_variant_loc_conf_t;


ngx_int_t ngx_http_image_variant_filter_init(ngx_conf_t *cf);

/* gravity=face (ngx_http_image_variant_face.c) */
char *ngx_http_image_variant_face_models(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_image_variant_face_check(ngx_conf_t *cf,
    ngx_http_image_variant_loc_conf_t *conf);
ngx_int_t ngx_http_image_variant_face_init_process(ngx_cycle_t *cycle);
void ngx_http_image_variant_face_job(image_variant_job_t *job, void *models);
int ngx_http_image_variant_faces(void *data, const uint8_t *rgb, int width,
    int height, image_variant_face_box_t *boxes, size_t max);
void ngx_http_image_variant_render_started(ngx_thread_pool_t *pool);
void ngx_http_image_variant_render_done(void);


#endif /* _NGX_HTTP_IMAGE_VARIANT_H_INCLUDED_ */
