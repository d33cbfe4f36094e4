
/*
 * ngx_http_image_ingest_module: moderation.  nsfwjs's classifier
 * (src/image/core/image_moderate.c) scores an upload on the thread pool,
 * before anything is stored: image_ingest_moderation flag stores a
 * flagged image under the store's quarantine/ and answers 202,
 * reject stores nothing and answers 422; and image_moderate, a plain
 * endpoint that answers the five scores of the image POSTed (its
 * requests use the upload's context type too, so that whatever reads the
 * module's context of a request finds that type).
 *
 * The weights are loaded when the configuration is read (nginx -t fails
 * without them) and shared read-only by the workers; each pool thread
 * builds its own runtime of the network on first use and keeps it.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <vips/vips.h>

#include "image_ingest_body.h"
#include "image_moderate.h"
#include "ngx_http_image_variant.h"
#include "ngx_http_image_ingest.h"
#include "ngx_http_edge_thread_state.h"


/* the models of a configuration, by directory */
typedef struct ngx_http_image_moderate_models_s
    ngx_http_image_moderate_models_t;

struct ngx_http_image_moderate_models_s {
    ngx_cycle_t                        *cycle;
    ngx_str_t                           dir;
    image_moderate_model_t             *model;
    ngx_http_image_moderate_models_t   *next;
};


/* a pool thread's runtimes, one per model */
typedef struct ngx_http_image_moderate_thread_s
    ngx_http_image_moderate_thread_t;

struct ngx_http_image_moderate_thread_s {
    const image_moderate_model_t       *model;
    image_moderate_ctx_t               *net;
    ngx_http_image_moderate_thread_t   *next;
};




static ngx_int_t ngx_http_image_moderate_load(ngx_conf_t *cf,
    ngx_http_image_ingest_loc_conf_t *conf);
static void ngx_http_image_moderate_unload(void *data);
static image_moderate_ctx_t *ngx_http_image_moderate_net(
    const image_moderate_model_t *model, char *err, size_t len);
static void ngx_http_image_moderate_thread_free(void *data);
static ngx_int_t ngx_http_image_moderate_scores(
    const image_moderate_model_t *model, const u_char *data, size_t len,
    uint64_t max_pixels, float *scores, int *width, int *height,
    ngx_uint_t *status, char *err, size_t errlen);
static ngx_int_t ngx_http_image_moderate_handler(ngx_http_request_t *r);
static void ngx_http_image_moderate_body(ngx_http_request_t *r);
static ngx_int_t ngx_http_image_moderate_start(ngx_http_request_t *r);
static void ngx_http_image_moderate_thread(void *data, ngx_log_t *log);
static void ngx_http_image_moderate_done(void *data);


ngx_conf_enum_t  ngx_http_image_ingest_moderation_modes[] = {
    { ngx_string("off"), NGX_HTTP_IMAGE_INGEST_MODERATION_OFF },
    { ngx_string("flag"), NGX_HTTP_IMAGE_INGEST_MODERATION_FLAG },
    { ngx_string("reject"), NGX_HTTP_IMAGE_INGEST_MODERATION_REJECT },
    { ngx_null_string, 0 }
};


static ngx_http_image_moderate_models_t  *ngx_http_image_moderate_loaded;

/* the pool threads' runtimes; the key is made in each worker */
static ngx_http_edge_thread_state_t       ngx_http_image_moderate_threads;


/* ------------------------------------------------------------------------
 * configuration
 */


/* image_ingest_moderation_threshold porn=0.7 hentai=0.7 sexy=0.9 */

char *
ngx_http_image_ingest_moderation_threshold(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf)
{
    ngx_http_image_ingest_loc_conf_t *iilcf = conf;

    u_char      *eq;
    float        v;
    ngx_int_t    n;
    ngx_str_t   *value, name, num;
    ngx_uint_t   i, k;

    if (iilcf->thresholds != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    iilcf->thresholds = ngx_palloc(cf->pool,
                                   IMAGE_MODERATE_CLASSES * sizeof(float));
    if (iilcf->thresholds == NULL) {
        return NGX_CONF_ERROR;
    }

    /* the classes not named never flag */

    for (k = 0; k < IMAGE_MODERATE_CLASSES; k++) {
        iilcf->thresholds[k] = IMAGE_MODERATE_OFF;
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {
        eq = ngx_strlchr(value[i].data, value[i].data + value[i].len, '=');
        if (eq == NULL) {
            goto invalid;
        }

        name.data = value[i].data;
        name.len = eq - value[i].data;
        num.data = eq + 1;
        num.len = value[i].data + value[i].len - num.data;

        for (k = 0; k < IMAGE_MODERATE_CLASSES; k++) {
            if (name.len == ngx_strlen(image_moderate_names[k])
                && ngx_strncmp(name.data, image_moderate_names[k], name.len)
                   == 0)
            {
                break;
            }
        }

        if (k == IMAGE_MODERATE_CLASSES) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "image_ingest_moderation_threshold: unknown "
                               "class \"%V\" (drawing, hentai, neutral, "
                               "porn, sexy)", &name);
            return NGX_CONF_ERROR;
        }

        /* 0 to 1 with up to 3 decimals: "0.7", "1", "0.015" */

        n = ngx_atofp(num.data, num.len, 3);
        if (n == NGX_ERROR || n > 1000) {
            goto invalid;
        }

        v = (float) n / 1000.0f;

        if (iilcf->thresholds[k] != IMAGE_MODERATE_OFF) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "image_ingest_moderation_threshold: \"%V\" "
                               "twice", &name);
            return NGX_CONF_ERROR;
        }

        iilcf->thresholds[k] = v;
    }

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "image_ingest_moderation_threshold: \"%V\" is not "
                       "<class>=<score from 0 to 1>", &value[i]);
    return NGX_CONF_ERROR;
}


char *
ngx_http_image_moderate(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_image_ingest_loc_conf_t *iilcf = conf;

    ngx_http_core_loc_conf_t  *clcf;

    if (iilcf->moderate) {
        return "is duplicate";
    }

    iilcf->moderate = 1;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_image_moderate_handler;

    return NGX_CONF_OK;
}


/* every location: values merged; models of the locations that use them */

char *
ngx_http_image_ingest_moderation_merge(ngx_conf_t *cf,
    ngx_http_image_ingest_loc_conf_t *prev,
    ngx_http_image_ingest_loc_conf_t *conf)
{
    float                            *t;
    void                             *ivlcf;
    ngx_http_image_variant_limits_t   limits;

    ngx_conf_merge_uint_value(conf->moderation, prev->moderation,
                              NGX_HTTP_IMAGE_INGEST_MODERATION_OFF);
    ngx_conf_merge_str_value(conf->moderation_models,
                             prev->moderation_models, "");

    if (conf->thresholds == NGX_CONF_UNSET_PTR) {
        if (prev->thresholds == NGX_CONF_UNSET_PTR) {
            t = ngx_palloc(cf->pool, IMAGE_MODERATE_CLASSES * sizeof(float));
            if (t == NULL) {
                return NGX_CONF_ERROR;
            }

            image_moderate_default_thresholds(t);
            prev->thresholds = t;
        }

        conf->thresholds = prev->thresholds;
    }

    if (conf->moderate && conf->enable) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "image_moderate and image_ingest cannot share "
                           "a location");
        return NGX_CONF_ERROR;
    }

    if (!conf->moderate
        && !(conf->enable
             && conf->moderation != NGX_HTTP_IMAGE_INGEST_MODERATION_OFF))
    {
        return NGX_CONF_OK;
    }

    if (conf->moderation_models.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "%s needs image_moderation_models (the "
                           "directory \"make models\" fills)",
                           conf->moderate ? "image_moderate"
                                          : "image_ingest_moderation");
        return NGX_CONF_ERROR;
    }

    if (ngx_http_image_moderate_load(cf, conf) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    if (!conf->moderate) {
        return NGX_CONF_OK;
    }

    /* image_moderate: image_variant's limits and thread pool */

    ivlcf = ngx_http_conf_get_module_loc_conf(cf,
                                              ngx_http_image_variant_module);

    if (ngx_http_image_variant_limits(ivlcf, &limits) != NGX_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "image_moderate: image_variant's configuration "
                           "is not merged yet");
        return NGX_CONF_ERROR;
    }

    conf->max_pixels = limits.max_pixels;
    conf->timeout = limits.timeout;
    conf->thread_pool_name = limits.thread_pool;

    conf->thread_pool = ngx_thread_pool_add(cf, &conf->thread_pool_name);
    if (conf->thread_pool == NULL) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* an image_ingest location with moderation: where flagged images go */

char *
ngx_http_image_ingest_moderation_store(ngx_conf_t *cf,
    ngx_http_image_ingest_loc_conf_t *conf)
{
    u_char                           *p;
    ngx_uint_t                        i;
    ngx_http_image_ingest_variant_t  *v;

    if (conf->moderation == NGX_HTTP_IMAGE_INGEST_MODERATION_OFF) {
        return NGX_CONF_OK;
    }

    if (conf->archive) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "image_ingest_moderation does not apply to "
                           "archive uploads: image_ingest_archive must be "
                           "off in this location");
        return NGX_CONF_ERROR;
    }

    if (conf->variants) {
        v = conf->variants->elts;

        for (i = 0; i < conf->variants->nelts; i++) {
            if (v[i].name.len == sizeof("quarantine") - 1
                && ngx_strncmp(v[i].name.data, "quarantine",
                               v[i].name.len)
                   == 0)
            {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "image_ingest_variants: a preset named "
                                   "\"quarantine\" would share the "
                                   "directory of flagged images");
                return NGX_CONF_ERROR;
            }
        }
    }

    /*
     * a bucket store: flagged objects under <prefix>quarantine/ (named by
     * ngx_http_image_ingest_s3.c), no directory to sweep
     */

    if (conf->moderation != NGX_HTTP_IMAGE_INGEST_MODERATION_FLAG
        || conf->s3)
    {
        return NGX_CONF_OK;
    }

    conf->quarantine.len = conf->store.len + sizeof("/quarantine") - 1;

    if (conf->quarantine.len > IMAGE_INGEST_DIR_LEN) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "image_ingest_store \"%V\" is too long",
                           &conf->store);
        return NGX_CONF_ERROR;
    }

    p = ngx_pnalloc(cf->pool, conf->quarantine.len + 1);
    if (p == NULL) {
        return NGX_CONF_ERROR;
    }

    conf->quarantine.data = p;
    p = ngx_cpymem(p, conf->store.data, conf->store.len);
    p = ngx_cpymem(p, "/quarantine", sizeof("/quarantine") - 1);
    *p = '\0';

    if (ngx_http_image_ingest_add_store(cf, &conf->quarantine) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* the weights, once per directory and configuration */

static ngx_int_t
ngx_http_image_moderate_load(ngx_conf_t *cf,
    ngx_http_image_ingest_loc_conf_t *conf)
{
    char                               err[256];
    ngx_pool_cleanup_t                *cln;
    ngx_http_image_moderate_models_t  *m;

    if (ngx_conf_full_name(cf->cycle, &conf->moderation_models, 0)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    for (m = ngx_http_image_moderate_loaded; m; m = m->next) {
        if (m->cycle == cf->cycle
            && m->dir.len == conf->moderation_models.len
            && ngx_strncmp(m->dir.data, conf->moderation_models.data,
                           m->dir.len)
               == 0)
        {
            conf->moderate_model = m->model;
            return NGX_OK;
        }
    }

    m = ngx_pcalloc(cf->pool, sizeof(ngx_http_image_moderate_models_t));
    cln = ngx_pool_cleanup_add(cf->pool, 0);

    if (m == NULL || cln == NULL) {
        return NGX_ERROR;
    }

    m->cycle = cf->cycle;
    m->dir.len = conf->moderation_models.len;
    m->dir.data = ngx_pnalloc(cf->pool, m->dir.len + 1);
    if (m->dir.data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(m->dir.data, conf->moderation_models.data, m->dir.len);
    m->dir.data[m->dir.len] = '\0';

    if (image_moderate_load((char *) m->dir.data, &m->model, err,
                            sizeof(err))
        != 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "image_moderation_models \"%V\": %s (\"make "
                           "models\" fetches the weights)", &m->dir, err);
        return NGX_ERROR;
    }

    m->next = ngx_http_image_moderate_loaded;
    ngx_http_image_moderate_loaded = m;

    cln->handler = ngx_http_image_moderate_unload;
    cln->data = m;

    conf->moderate_model = m->model;

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, cf->log, 0,
                   "image_ingest: moderation weights loaded from \"%V\"",
                   &m->dir);

    return NGX_OK;
}


/* the configuration's pool is destroyed: its models go */

static void
ngx_http_image_moderate_unload(void *data)
{
    ngx_http_image_moderate_models_t *m = data;

    ngx_http_image_moderate_models_t  **pp;

    for (pp = &ngx_http_image_moderate_loaded; *pp; pp = &(*pp)->next) {
        if (*pp == m) {
            *pp = m->next;
            break;
        }
    }

    image_moderate_model_free(m->model);
    m->model = NULL;
}


/* ------------------------------------------------------------------------
 * the pool's threads: only the given data, libvips, the network
 */


ngx_int_t
ngx_http_image_ingest_moderation_init(ngx_cycle_t *cycle)
{
    return ngx_http_edge_thread_state_init(&ngx_http_image_moderate_threads,
                                           "image_ingest",
                                           ngx_http_image_moderate_thread_free,
                                           cycle->log);
}


/* this thread's runtime of the model, made on first use */

static image_moderate_ctx_t *
ngx_http_image_moderate_net(const image_moderate_model_t *model, char *err,
    size_t len)
{
    ngx_http_image_moderate_thread_t  *head, *t;

    head = ngx_http_edge_thread_state_get(&ngx_http_image_moderate_threads);

    for (t = head; t; t = t->next) {
        if (t->model == model) {
            return t->net;
        }
    }

    t = calloc(1, sizeof(ngx_http_image_moderate_thread_t));
    if (t == NULL) {
        ngx_cpystrn((u_char *) err, (u_char *) "out of memory", len);
        return NULL;
    }

    t->model = model;
    t->net = image_moderate_ctx_create(model, err, len);

    if (t->net == NULL) {
        free(t);
        return NULL;
    }

    t->next = head;

    if (ngx_http_edge_thread_state_set(&ngx_http_image_moderate_threads, t)
        != NGX_OK)
    {
        image_moderate_ctx_free(t->net);
        free(t);
        ngx_cpystrn((u_char *) err, (u_char *) "pthread_setspecific() failed",
                    len);
        return NULL;
    }

    return t->net;
}


static void
ngx_http_image_moderate_thread_free(void *data)
{
    ngx_http_image_moderate_thread_t  *t, *next;

    for (t = data; t; t = next) {
        next = t->next;
        image_moderate_ctx_free(t->net);
        free(t);
    }
}


/* exit_process: the threads' networks go before the libraries */

ngx_int_t
ngx_http_image_ingest_moderation_exit(ngx_cycle_t *cycle)
{
    return ngx_http_edge_thread_state_exit(&ngx_http_image_moderate_threads,
                                           cycle->log);
}


/* decode and score; status: the HTTP status of a failure */

static ngx_int_t
ngx_http_image_moderate_scores(const image_moderate_model_t *model,
    const u_char *data, size_t len, uint64_t max_pixels, float *scores,
    int *width, int *height, ngx_uint_t *status, char *err, size_t errlen)
{
    int                    rc;
    uint8_t               *px;
    image_moderate_ctx_t  *net;

    net = ngx_http_image_moderate_net(model, err, errlen);
    if (net == NULL) {
        *status = NGX_HTTP_INTERNAL_SERVER_ERROR;
        return NGX_ERROR;
    }

    rc = image_moderate_decode(data, len, max_pixels, &px, width, height,
                               err, errlen);

    if (rc != 0) {
        *status = (rc == 1) ? NGX_HTTP_UNSUPPORTED_MEDIA_TYPE
                  : (rc == 2) ? NGX_HTTP_REQUEST_ENTITY_TOO_LARGE
                  : NGX_HTTP_INTERNAL_SERVER_ERROR;
        return NGX_ERROR;
    }

    rc = image_moderate_rgb(net, px, *width, *height, (size_t) *width * 3,
                            scores, err, errlen);

    image_moderate_pixels_free(px);

    if (rc != 0) {
        *status = NGX_HTTP_INTERNAL_SERVER_ERROR;
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* an upload, probed: its scores, flagged or rejected */

ngx_int_t
ngx_http_image_ingest_moderate(ngx_http_image_ingest_ctx_t *ctx)
{
    int                                w, h;
    char                               err[200], scores[160];
    ngx_uint_t                         status;
    ngx_http_image_ingest_loc_conf_t  *conf;

    conf = ctx->conf;

    if (ngx_http_image_moderate_scores(conf->moderate_model, ctx->image,
                                       ctx->image_len, conf->max_pixels,
                                       ctx->scores, &w, &h, &status, err,
                                       sizeof(err))
        != NGX_OK)
    {
        ctx->status = status;
        ngx_snprintf((u_char *) ctx->err, sizeof(ctx->err),
                     "moderation: %s%Z", err);
        return NGX_ERROR;
    }

    (void) image_moderate_json(ctx->scores, scores, sizeof(scores));

    ctx->flagged = image_moderate_flagged(ctx->scores, conf->thresholds);
    ctx->rejected = ctx->flagged
                    && conf->moderation
                       == NGX_HTTP_IMAGE_INGEST_MODERATION_REJECT;
    ctx->moderated = 1;

    ngx_snprintf((u_char *) ctx->moderation_json,
                 sizeof(ctx->moderation_json),
                 "{\"flagged\": %s, \"scores\": %s}%Z",
                 ctx->flagged ? "true" : "false", scores);

    if (ctx->rejected) {
        ctx->status = NGX_HTTP_IMAGE_INGEST_UNPROCESSABLE;
    }

    return NGX_OK;
}


/* ------------------------------------------------------------------------
 * the event loop
 */


ngx_int_t
ngx_http_image_ingest_rejected(ngx_http_request_t *r,
    ngx_http_image_ingest_ctx_t *ctx)
{
    u_char  *json, *p;
    size_t   len;

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "image_ingest: %s rejected by moderation: %s", ctx->key,
                  ctx->moderation_json);

    len = sizeof("{\"error\": \"moderation: the image is not accepted\", "
                 "\"moderation\": }") - 1
          + ngx_strlen(ctx->moderation_json);

    json = ngx_pnalloc(r->pool, len);
    if (json == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_sprintf(json, "{\"error\": \"moderation: the image is not "
                          "accepted\", \"moderation\": %s}",
                    ctx->moderation_json);

    return ngx_http_edge_json_send(r, NGX_HTTP_IMAGE_INGEST_UNPROCESSABLE,
                                   json, p - json);
}


/* image_moderate: POST or PUT an image (raw, or JSON data.image) */

static ngx_int_t
ngx_http_image_moderate_handler(ngx_http_request_t *r)
{
    ngx_int_t                          rc;
    ngx_http_image_ingest_ctx_t       *ctx;
    ngx_http_image_ingest_loc_conf_t  *conf;

    conf = ngx_http_get_module_loc_conf(r, ngx_http_image_ingest_module);

    if (!(r->method & (NGX_HTTP_PUT|NGX_HTTP_POST))) {
        return ngx_http_edge_not_allowed(r, "PUT, POST",
                                         "method: must be PUT or POST");
    }

    if (r->headers_in.content_length_n
        > ngx_http_image_ingest_body_max(conf->max_size))
    {
        rc = ngx_http_discard_request_body(r);

        if (rc != NGX_OK) {
            return rc;
        }

        return ngx_http_edge_json_error(r,
                                        NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                        "body: larger than "
                                        "image_ingest_max_size");
    }

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_image_ingest_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->request = r;
    ctx->conf = conf;
    ngx_http_set_ctx(r, ctx, ngx_http_image_ingest_module);

    rc = ngx_http_read_client_request_body(r, ngx_http_image_moderate_body);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}


static void
ngx_http_image_moderate_body(ngx_http_request_t *r)
{
    ngx_int_t  rc;

    rc = ngx_http_image_moderate_start(r);

    if (rc == NGX_DONE) {
        return;
    }

    ngx_http_finalize_request(r, rc);
}


static ngx_int_t
ngx_http_image_moderate_start(ngx_http_request_t *r)
{
    ngx_int_t                      rc;
    const char                    *why;
    ngx_http_edge_task_t          *t;
    ngx_http_image_ingest_ctx_t   *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_image_ingest_module);

    rc = ngx_http_image_ingest_body_parts(r, ctx,
                     ngx_http_image_ingest_body_max(ctx->conf->max_size), 1,
                     &why);
    if (rc != NGX_OK) {
        return why ? ngx_http_edge_json_error(r, rc, why) : rc;
    }

    t = ngx_http_edge_task_alloc(r->pool, 0);
    if (t == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    t->task->ctx = ctx;
    t->task->handler = ngx_http_image_moderate_thread;
    t->data = ctx;
    t->request = r;
    t->module = "image_moderate";
    t->work = "moderation";
    t->timeout = ctx->conf->thread_timeout;
    t->done = ngx_http_image_moderate_done;
    t->json_error = "busy: the moderation is taking too long";

    if (ngx_http_edge_task_post(t, ctx->conf->thread_pool,
                                &ctx->conf->thread_pool_name)
        != NGX_OK)
    {
        return ngx_http_edge_json_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                        "busy: the thread pool queue "
                                        "is full");
    }

    return NGX_DONE;
}


static void
ngx_http_image_moderate_thread(void *data, ngx_log_t *log)
{
    ngx_http_image_ingest_ctx_t *ctx = data;

    int                            w, h;
    char                           err[200], json[160];
    float                          scores[IMAGE_MODERATE_CLASSES];
    u_char                        *p, *image;
    size_t                         done, off, len;
    ssize_t                        n;
    ngx_uint_t                     i;
    ngx_http_image_ingest_part_t  *part;

    ngx_http_edge_nice(log);

    p = ctx->body;

    for (i = 0; i < ctx->nparts; i++) {
        part = &ctx->parts[i];

        if (part->pos) {
            p = ngx_cpymem(p, part->pos, part->len);
            continue;
        }

        for (done = 0; done < part->len; done += n) {
            n = pread(part->fd, p + done, part->len - done,
                      part->offset + done);

            if (n == -1 && ngx_errno == NGX_EINTR) {
                n = 0;
                continue;
            }

            if (n <= 0) {
                ctx->status = NGX_HTTP_INTERNAL_SERVER_ERROR;
                ngx_cpystrn((u_char *) ctx->err,
                            (u_char *) "reading the request body failed",
                            sizeof(ctx->err));
                return;
            }
        }

        p += part->len;
    }

    image = ctx->body;
    len = ctx->body_len;

    if (image_ingest_body_is_json((char *) ctx->body, ctx->body_len)) {
        if (image_ingest_body_json((char *) ctx->body, ctx->body_len, &off,
                                   &len, err, sizeof(err))
            != IMAGE_INGEST_BODY_OK
            || image_ingest_body_base64((char *) ctx->body + off, len, &len,
                                        err, sizeof(err))
               != IMAGE_INGEST_BODY_OK)
        {
            ctx->status = NGX_HTTP_BAD_REQUEST;
            ngx_cpystrn((u_char *) ctx->err, (u_char *) err,
                        sizeof(ctx->err));
            return;
        }

        image = ctx->body + off;
    }

    if (len > ctx->conf->max_size) {
        ctx->status = NGX_HTTP_REQUEST_ENTITY_TOO_LARGE;
        ngx_cpystrn((u_char *) ctx->err,
                    (u_char *) "image: larger than image_ingest_max_size",
                    sizeof(ctx->err));
        return;
    }

    if (ngx_http_image_moderate_scores(ctx->conf->moderate_model, image,
                                       len, ctx->conf->max_pixels,
                                       scores, &w, &h,
                                       &ctx->status, err, sizeof(err))
        != NGX_OK)
    {
        ngx_snprintf((u_char *) ctx->err, sizeof(ctx->err), "image: %s%Z",
                     err);
        vips_thread_shutdown();
        return;
    }

    vips_thread_shutdown();

    (void) image_moderate_json(scores, json, sizeof(json));

    ngx_snprintf((u_char *) ctx->moderation_json,
                 sizeof(ctx->moderation_json),
                 "{\"width\": %d, \"height\": %d, \"scores\": %s}%Z",
                 w, h, json);

    ctx->status = NGX_HTTP_OK;
}


static void
ngx_http_image_moderate_done(void *data)
{
    ngx_http_image_ingest_ctx_t *ctx = data;

    ngx_int_t            rc;
    ngx_uint_t           level;
    ngx_http_request_t  *r;

    r = ctx->request;

    if (ctx->status == NGX_HTTP_OK) {
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "image_moderate: %s", ctx->moderation_json);

        rc = ngx_http_edge_json_send(r, NGX_HTTP_OK,
                                     (u_char *) ctx->moderation_json,
                                     ngx_strlen(ctx->moderation_json));

    } else {
        level = (ctx->status >= NGX_HTTP_INTERNAL_SERVER_ERROR)
                ? NGX_LOG_ERR : NGX_LOG_INFO;

        ngx_log_error(level, r->connection->log, 0, "image_moderate: %s",
                      ctx->err);

        rc = ngx_http_edge_json_error(r, ctx->status,
                 ctx->status == NGX_HTTP_INTERNAL_SERVER_ERROR
                 ? "internal error" : ctx->err);
    }

    ngx_http_finalize_request(r, rc);
}
