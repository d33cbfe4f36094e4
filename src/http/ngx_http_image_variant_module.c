
/*
 * ngx_http_image_variant_module: resized image variants made with libvips
 * on an nginx thread pool.
 *
 * This file holds the per-worker libvips set-up that every variant request
 * relies on; the directives arrive with the image-variant feature.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <vips/vips.h>


static ngx_int_t ngx_http_image_variant_init_process(ngx_cycle_t *cycle);
static void ngx_http_image_variant_exit_process(ngx_cycle_t *cycle);


static ngx_http_module_t  ngx_http_image_variant_module_ctx = {
    NULL,                                  /* preconfiguration */
    NULL,                                  /* postconfiguration */

    NULL,                                  /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    NULL,                                  /* create location configuration */
    NULL                                   /* merge location configuration */
};


ngx_module_t  ngx_http_image_variant_module = {
    NGX_MODULE_V1,
    &ngx_http_image_variant_module_ctx,    /* module context */
    NULL,                                  /* module directives */
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
 * libvips is initialised in each worker, never in the master: its state
 * (threads, caches) does not survive fork().
 */

static ngx_int_t
ngx_http_image_variant_init_process(ngx_cycle_t *cycle)
{
    if (VIPS_INIT("nginx") != 0) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "image_variant: libvips initialisation failed: %s",
                      vips_error_buffer());
        vips_error_clear();
        return NGX_ERROR;
    }

    /*
     * A proxy sees each image once: the operation cache only burns memory.
     * Loaders that libvips does not fuzz for hostile input stay blocked.
     * nginx's thread pool gives the parallelism, so each operation runs on
     * the thread that asked for it.
     */

    vips_cache_set_max(0);
    vips_block_untrusted_set(TRUE);
    vips_concurrency_set(1);

    ngx_log_debug1(NGX_LOG_DEBUG_CORE, cycle->log, 0,
                   "image_variant: libvips %s ready", vips_version_string());

    return NGX_OK;
}


static void
ngx_http_image_variant_exit_process(ngx_cycle_t *cycle)
{
    vips_shutdown();
}
