
/*
 * ngx_http_face_module: face detection and 128-d descriptors computed on an
 * nginx thread pool (engine in src/face, no nginx types there).
 *
 * This file holds the per-worker library set-up that the face endpoints
 * rely on; the directives arrive with the face feature.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <vips/vips.h>
#include <xnnpack.h>
#include <curl/curl.h>
#include <cjson/cJSON.h>


static ngx_int_t ngx_http_face_init_process(ngx_cycle_t *cycle);
static void ngx_http_face_exit_process(ngx_cycle_t *cycle);


static ngx_http_module_t  ngx_http_face_module_ctx = {
    NULL,                                  /* preconfiguration */
    NULL,                                  /* postconfiguration */

    NULL,                                  /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    NULL,                                  /* create location configuration */
    NULL                                   /* merge location configuration */
};


ngx_module_t  ngx_http_face_module = {
    NGX_MODULE_V1,
    &ngx_http_face_module_ctx,             /* module context */
    NULL,                                  /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_http_face_init_process,            /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_face_exit_process,            /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


/*
 * Libraries are initialised in each worker, never in the master: neither
 * libvips' nor libcurl's state is documented as surviving fork().
 */

static ngx_int_t
ngx_http_face_init_process(ngx_cycle_t *cycle)
{
    enum xnn_status  status;

    if (VIPS_INIT("nginx") != 0) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "face: libvips initialisation failed: %s",
                      vips_error_buffer());
        vips_error_clear();
        return NGX_ERROR;
    }

    vips_cache_set_max(0);
    vips_block_untrusted_set(TRUE);
    vips_concurrency_set(1);

    status = xnn_initialize(NULL);
    if (status != xnn_status_success) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "face: XNNPACK initialisation failed (status %d); "
                      "the CPU may lack the instructions it needs",
                      (int) status);
        return NGX_ERROR;
    }

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "face: libcurl initialisation failed");
        return NGX_ERROR;
    }

    /* which libraries this worker really loaded, for bug reports */
    ngx_log_debug3(NGX_LOG_DEBUG_CORE, cycle->log, 0,
                   "face: libvips %s, cJSON %s, %s",
                   vips_version_string(), cJSON_Version(),
                   curl_version());

    return NGX_OK;
}


static void
ngx_http_face_exit_process(ngx_cycle_t *cycle)
{
    curl_global_cleanup();
    xnn_deinitialize();
    vips_shutdown();
}
