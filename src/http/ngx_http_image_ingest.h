
/*
 * ngx_http_image_ingest_module: uploads at the edge.  Shared by the
 * module's files: the handler (ngx_http_image_ingest_module.c) and the
 * notification to the app (ngx_http_image_ingest_notify.c).
 */


#ifndef _NGX_HTTP_IMAGE_INGEST_H_INCLUDED_
#define _NGX_HTTP_IMAGE_INGEST_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "image_variant_params.h"


typedef struct {
    ngx_str_t                    name;
    ngx_http_complex_value_t     value;
} ngx_http_image_ingest_meta_t;


/* a preset of image_ingest_variants, resolved */
typedef struct {
    ngx_str_t                    name;          /* NUL-terminated */
    image_variant_params_t       params;
} ngx_http_image_ingest_variant_t;


typedef struct {
    ngx_flag_t                   enable;        /* image_ingest */
    ngx_str_t                    store;         /* NUL-terminated */
    ngx_array_t                 *presets;       /* ngx_str_t */
    ngx_array_t                 *formats;       /* ngx_uint_t, or NULL */
    ngx_str_t                    uri;           /* image_ingest_uri */
    ngx_str_t                    sign_key;
    time_t                       sign_max_age;
    ngx_array_t                 *meta;          /* ..._meta_t */
    ngx_str_t                    notify;        /* NUL-terminated */
    ngx_msec_t                   notify_timeout;
    ngx_uint_t                   notify_retries;
    ngx_msec_t                   notify_backoff;
    ngx_msec_t                   notify_backoff_max;
    size_t                       max_size;

    /* from image_variant's configuration of the location */
    ngx_array_t                 *variants;      /* ..._variant_t */
    ngx_uint_t                   max_pixels;
    ngx_msec_t                   timeout;
    ngx_str_t                    thread_pool_name;
    ngx_thread_pool_t           *thread_pool;
} ngx_http_image_ingest_loc_conf_t;


/*
 * POSTs json to image_ingest_notify's URL in the background, retrying
 * as configured; the request may end meanwhile (json is copied).
 */
ngx_int_t ngx_http_image_ingest_notify(ngx_http_request_t *r,
    ngx_http_image_ingest_loc_conf_t *conf, u_char *json, size_t len);


#endif /* _NGX_HTTP_IMAGE_INGEST_H_INCLUDED_ */
