
/*
 * ngx_http_image_variant_module: gravity=face, the nginx side.
 *
 *     image_variant_face_models  /usr/share/photo-edge/models;
 *     image_variant_preset       avatar width=256 height=256 gravity=face;
 *
 * The face engine's weights are loaded with the configuration (in the
 * master, shared by the workers as the face module's are); each thread
 * of a pool that renders a gravity=face variant makes its own engine
 * context on first use (the SSD detector's XNNPACK runtime), freed when
 * nginx ends the thread.  The detector runs in the render's thread, on
 * the image image_variant_face() shrank already.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <pthread.h>

#include "face.h"
#include "image_variant_vips.h"
#include "ngx_http_image_variant.h"


static void ngx_http_image_variant_face_models_free(void *data);
static void ngx_http_image_variant_face_thread_free(void *data);


static pthread_key_t  ngx_http_image_variant_face_key;
static ngx_uint_t     ngx_http_image_variant_face_keyed;


/* image_variant_face_models dir */

char *
ngx_http_image_variant_face_models(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_image_variant_main_conf_t *ivmcf = conf;

    char                 err[256];
    ngx_str_t           *value;
    face_models_t       *models;
    face_status_e        rc;
    ngx_pool_cleanup_t  *cln;

    if (ivmcf->face_models) {
        return "is duplicate";
    }

    value = cf->args->elts;
    ivmcf->face_models_dir = value[1];

    if (ngx_conf_full_name(cf->cycle, &ivmcf->face_models_dir, 1)
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        return NGX_CONF_ERROR;
    }

    err[0] = '\0';

    rc = face_models_load((char *) ivmcf->face_models_dir.data, &models, err,
                          sizeof(err));

    if (rc != FACE_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "image_variant_face_models \"%V\": %s: %s",
                           &ivmcf->face_models_dir, face_status_text(rc),
                           err);
        return NGX_CONF_ERROR;
    }

    cln->handler = ngx_http_image_variant_face_models_free;
    cln->data = models;

    ivmcf->face_models = models;

    return NGX_CONF_OK;
}


/*
 * With the configuration's pool: in the master, after a reload.  Not in
 * a worker that exits: its pool threads may still be ending (see
 * ngx_http_image_variant_face_thread_free()); the process's end frees
 * the weights.
 */

static void
ngx_http_image_variant_face_models_free(void *data)
{
    if (ngx_process == NGX_PROCESS_WORKER) {
        return;
    }

    face_models_free(data);
}


/* a preset with gravity=face needs the weights: nginx -t says so */

char *
ngx_http_image_variant_face_check(ngx_conf_t *cf,
    ngx_http_image_variant_loc_conf_t *conf)
{
    ngx_uint_t                           i;
    ngx_http_image_variant_preset_t     *p;
    ngx_http_image_variant_main_conf_t  *ivmcf;

    ivmcf = ngx_http_conf_get_module_main_conf(cf,
                                               ngx_http_image_variant_module);

    conf->face_models = ivmcf->face_models;

    if (conf->presets == NULL || ivmcf->face_models) {
        return NGX_CONF_OK;
    }

    p = conf->presets->elts;

    for (i = 0; i < conf->presets->nelts; i++) {
        if (p[i].params.gravity == IMAGE_VARIANT_GRAVITY_FACE) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "image_variant_preset \"%V\": gravity=face "
                               "needs image_variant_face_models (the face "
                               "engine's weights) at the http level",
                               &p[i].name);
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;
}


ngx_int_t
ngx_http_image_variant_face_init_process(ngx_cycle_t *cycle)
{
    int  err;

    if (ngx_http_image_variant_face_keyed) {
        return NGX_OK;
    }

    err = pthread_key_create(&ngx_http_image_variant_face_key,
                             ngx_http_image_variant_face_thread_free);
    if (err != 0) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, err,
                      "image_variant: pthread_key_create() failed");
        return NGX_ERROR;
    }

    ngx_http_image_variant_face_keyed = 1;

    return NGX_OK;
}


/* the job's detector, when the location's configuration has weights */

void
ngx_http_image_variant_face_job(image_variant_job_t *job, void *models)
{
    if (models && ngx_http_image_variant_face_keyed) {
        job->faces = ngx_http_image_variant_faces;
        job->faces_data = models;
    }
}


/*
 * The detector, in a pool thread (image_variant_job_t's faces): the SSD
 * at its default confidence (0.5).  Errors make it -1: attention then,
 * and the job's reason for the log stays empty (the render succeeds).
 */

int
ngx_http_image_variant_faces(void *data, const uint8_t *rgb, int width,
    int height, image_variant_face_box_t *boxes, size_t max)
{
    char             err[128];
    size_t           i, n;
    face_ctx_t      *ctx;
    face_options_t   opt;
    float            found[IMAGE_VARIANT_FACE_MAX][5];

    ctx = pthread_getspecific(ngx_http_image_variant_face_key);

    if (ctx == NULL) {
        ctx = face_ctx_create(data, err, sizeof(err));
        if (ctx == NULL) {
            return -1;
        }

        if (pthread_setspecific(ngx_http_image_variant_face_key, ctx) != 0) {
            face_ctx_free(ctx);
            return -1;
        }
    }

    face_options_init(&opt);

    if (max > IMAGE_VARIANT_FACE_MAX) {
        max = IMAGE_VARIANT_FACE_MAX;
    }

    if (face_detect_rgb(ctx, rgb, width, height, &opt, found, max, &n, err,
                        sizeof(err))
        != FACE_OK)
    {
        return -1;
    }

    for (i = 0; i < n; i++) {
        boxes[i].x = found[i][0];
        boxes[i].y = found[i][1];
        boxes[i].w = found[i][2];
        boxes[i].h = found[i][3];
    }

    return (int) n;
}


/*
 * nginx ends its pool threads only when the worker exits, and does not
 * wait for their end: the thread's destructor would then free XNNPACK
 * runtimes while exit() finalises the libraries (a SIGSEGV seen one run
 * in three).  An exiting worker leaves the context to the process's end.
 */

static void
ngx_http_image_variant_face_thread_free(void *data)
{
    if (ngx_exiting || ngx_terminate || ngx_quit) {
        return;
    }

    face_ctx_free(data);
}
