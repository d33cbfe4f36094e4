
/*
 * ngx_http_face_module: face detection and 128-d descriptors computed on
 * an nginx thread pool (the engine is src/face, with no nginx types).
 *
 *     face_models  models;                      # http: loaded once
 *     location = /faces { face_encode; }        # POST an image
 *     location = /2015-03-31/functions/facedetection/invocations {
 *         face_jobs;                            # the old function
 *     }
 *
 * The weights are read while the configuration is read, in the master,
 * so the workers share one copy-on-write copy; a reload reads them again
 * with the new configuration.  Each thread of the pool gets its own
 * engine context (oneDNN runtimes, scratch memory) the first time it
 * runs a face task, freed when the thread exits (a pthread key).
 *
 * face_encode: the body is read by nginx, then one thread task decodes
 * it and runs the engine; the completion handler sends the engine's JSON.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <pthread.h>

#include <vips/vips.h>
#include <curl/curl.h>
#include <cjson/cJSON.h>

#include "ngx_http_face.h"


/* a part of the request body: memory, or a piece of its temporary file */

typedef struct {
    u_char                      *pos;
    ngx_fd_t                     fd;
    off_t                        offset;
    size_t                       len;
} ngx_http_face_part_t;


typedef struct {
    ngx_http_request_t          *request;
    const face_models_t         *models;
    face_options_t               options;
    ngx_http_face_part_t        *parts;
    ngx_uint_t                   nparts;
    size_t                       len;

    /* set by the thread */
    face_status_e                status;
    char                        *json;           /* malloc()ed */
    char                         err[NGX_HTTP_FACE_ERR_LEN];
} ngx_http_face_encode_t;


static ngx_int_t ngx_http_face_encode_handler(ngx_http_request_t *r);
static void ngx_http_face_encode_body(ngx_http_request_t *r);
static void ngx_http_face_encode_thread(void *data, ngx_log_t *log);
static void ngx_http_face_encode_done(void *data);
static void ngx_http_face_encode_cleanup(void *data);
static void ngx_http_face_thread_free(void *data);

static char *ngx_http_face_models(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_face_handler_slot(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_face_confidence(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_face_callback_rate(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_face_allow_hosts(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static void ngx_http_face_models_cleanup(void *data);
static void *ngx_http_face_create_main_conf(ngx_conf_t *cf);
static void *ngx_http_face_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_face_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_http_face_register_spool(ngx_conf_t *cf,
    ngx_http_face_loc_conf_t *conf);
static ngx_int_t ngx_http_face_init(ngx_conf_t *cf);
static ngx_int_t ngx_http_face_init_process(ngx_cycle_t *cycle);
static void ngx_http_face_exit_process(ngx_cycle_t *cycle);


static ngx_conf_enum_t  ngx_http_face_detectors[] = {
    { ngx_string("ssd"), FACE_DETECTOR_SSD },
    { ngx_string("tiny"), FACE_DETECTOR_TINY },
    { ngx_null_string, 0 }
};


static ngx_conf_enum_t  ngx_http_face_alignments[] = {
    { ngx_string("dlib"), FACE_ALIGN_DLIB },
    { ngx_string("faceapi"), FACE_ALIGN_FACEAPI },
    { ngx_null_string, 0 }
};


static ngx_conf_num_bounds_t  ngx_http_face_retries_bounds = {
    ngx_conf_check_num_bounds, 0, 20
};


static ngx_conf_num_bounds_t  ngx_http_face_parallel_bounds = {
    ngx_conf_check_num_bounds, 1, 256
};


static ngx_command_t  ngx_http_face_commands[] = {

    { ngx_string("face_models"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_face_models,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("face_encode"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_face_handler_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      (void *) NGX_HTTP_FACE_ENCODE },

    { ngx_string("face_jobs"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_face_handler_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      (void *) NGX_HTTP_FACE_JOBS },

    { ngx_string("face_thread_pool"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_face_loc_conf_t, thread_pool_name),
      NULL },

    { ngx_string("face_thread_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_face_loc_conf_t, thread_timeout),
      NULL },

    { ngx_string("face_detector"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_face_loc_conf_t, detector),
      &ngx_http_face_detectors },

    { ngx_string("face_alignment"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_face_loc_conf_t, alignment),
      &ngx_http_face_alignments },

    { ngx_string("face_flip"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_face_loc_conf_t, flip),
      NULL },

    { ngx_string("face_min_confidence"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_face_confidence,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_face_loc_conf_t, min_confidence),
      NULL },

    { ngx_string("face_max_input"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_face_loc_conf_t, max_input),
      NULL },

    { ngx_string("face_max_pixels"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_face_loc_conf_t, max_pixels),
      NULL },

    { ngx_string("face_spool"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_path_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_face_loc_conf_t, spool),
      NULL },

    { ngx_string("face_fetch_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_face_loc_conf_t, fetch_timeout),
      NULL },

    { ngx_string("face_callback_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_face_loc_conf_t, callback_timeout),
      NULL },

    { ngx_string("face_callback_retries"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_face_loc_conf_t, callback_retries),
      &ngx_http_face_retries_bounds },

    { ngx_string("face_callback_retry_after_max"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_face_loc_conf_t, retry_after_max),
      NULL },

    { ngx_string("face_callback_rate"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_face_callback_rate,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_face_loc_conf_t, callback_interval),
      NULL },

    { ngx_string("face_allow_hosts"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_face_allow_hosts,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_face_loc_conf_t, allow_hosts),
      NULL },

    { ngx_string("face_allow_private"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_face_loc_conf_t, allow_private),
      NULL },

    { ngx_string("face_parallel"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_face_loc_conf_t, parallel),
      &ngx_http_face_parallel_bounds },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_face_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_http_face_init,                    /* postconfiguration */

    ngx_http_face_create_main_conf,        /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_face_create_loc_conf,         /* create location configuration */
    ngx_http_face_merge_loc_conf           /* merge location configuration */
};


ngx_module_t  ngx_http_face_module = {
    NGX_MODULE_V1,
    &ngx_http_face_module_ctx,             /* module context */
    ngx_http_face_commands,                /* module directives */
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


/* the per-thread state; the key is made in each worker */
static pthread_key_t  ngx_http_face_key;

/* thread states not yet freed: exit_process waits for their destructors */
static ngx_atomic_int_t  ngx_http_face_threads;


/* ------------------------------------------------------------------------
 * face_encode
 */


static ngx_int_t
ngx_http_face_encode_handler(ngx_http_request_t *r)
{
    ngx_int_t                  rc;
    ngx_http_face_loc_conf_t  *flcf;

    if (!(r->method & NGX_HTTP_POST)) {
        return ngx_http_edge_not_allowed(r, "POST",
                                         "method: must be POST");
    }

    flcf = ngx_http_get_module_loc_conf(r, ngx_http_face_module);

    if (r->headers_in.content_length_n > (off_t) flcf->max_input) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "face: body of %O bytes is larger than "
                      "face_max_input", r->headers_in.content_length_n);

        rc = ngx_http_discard_request_body(r);
        if (rc != NGX_OK) {
            return rc;
        }

        return ngx_http_edge_json_error(r, NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                        "body: larger than face_max_input");
    }

    rc = ngx_http_read_client_request_body(r, ngx_http_face_encode_body);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}


static void
ngx_http_face_encode_body(ngx_http_request_t *r)
{
    size_t                      len;
    ngx_buf_t                  *b;
    ngx_uint_t                  n;
    ngx_chain_t                *cl;
    ngx_pool_cleanup_t         *cln;
    ngx_http_edge_task_t       *t;
    ngx_http_face_part_t       *part;
    ngx_http_face_encode_t     *ctx;
    ngx_http_face_loc_conf_t   *flcf;
    ngx_http_face_main_conf_t  *fmcf;

    flcf = ngx_http_get_module_loc_conf(r, ngx_http_face_module);
    fmcf = ngx_http_get_module_main_conf(r, ngx_http_face_module);

    n = 0;
    len = 0;

    if (r->request_body) {
        for (cl = r->request_body->bufs; cl; cl = cl->next) {
            n++;
            len += ngx_buf_size(cl->buf);
        }
    }

    if (len > flcf->max_input) {
        ngx_http_finalize_request(r,
            ngx_http_edge_json_error(r, NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                     "body: larger than face_max_input"));
        return;
    }

    if (len == 0) {
        ngx_http_finalize_request(r,
            ngx_http_edge_json_error(r, NGX_HTTP_UNSUPPORTED_MEDIA_TYPE,
                                     "body: empty, an image is expected"));
        return;
    }

    t = ngx_http_edge_task_alloc(r->pool, sizeof(ngx_http_face_encode_t));
    if (t == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ctx = t->data;
    ctx->request = r;
    ctx->models = fmcf->models;
    ctx->options = flcf->options;
    ctx->len = len;

    /* the thread reads the body where nginx left it: memory or file */

    ctx->parts = ngx_palloc(r->pool, n * sizeof(ngx_http_face_part_t));
    if (ctx->parts == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        b = cl->buf;

        if (ngx_buf_size(b) == 0) {
            continue;
        }

        part = &ctx->parts[ctx->nparts++];

        if (ngx_buf_in_memory(b)) {
            part->pos = b->pos;
            part->fd = NGX_INVALID_FILE;
            part->len = b->last - b->pos;

        } else {
            part->pos = NULL;
            part->fd = b->file->fd;
            part->offset = b->file_pos;
            part->len = b->file_last - b->file_pos;
        }
    }

    /* the engine's memory is freed with the request, whatever happens */

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    cln->handler = ngx_http_face_encode_cleanup;
    cln->data = ctx;

    t->task->handler = ngx_http_face_encode_thread;
    t->request = r;
    t->module = "face";
    t->work = "face_encode";
    t->timeout = flcf->thread_timeout;
    t->done = ngx_http_face_encode_done;
    t->json_error = "the encoding is taking too long";

    if (ngx_http_edge_task_post(t, flcf->thread_pool, &flcf->thread_pool_name)
        != NGX_OK)
    {
        ngx_http_finalize_request(r,
            ngx_http_edge_json_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                     "the thread pool queue is full"));
    }
}


/* in a thread: only the task context, the engine and system calls */

static void
ngx_http_face_encode_thread(void *data, ngx_log_t *log)
{
    ngx_http_face_encode_t *ctx = data;

    u_char                  *buf, *p;
    ssize_t                  n;
    uint64_t                 start;
    ngx_uint_t               i;
    face_result_t            res;
    ngx_http_face_thread_t  *t;

    ngx_http_edge_nice(log);

    t = ngx_http_face_thread(ctx->models, ctx->err, sizeof(ctx->err));
    if (t == NULL) {
        ctx->status = FACE_EINTERNAL;
        return;
    }

    if (ctx->nparts == 1 && ctx->parts[0].pos) {
        buf = ctx->parts[0].pos;

    } else {
        buf = malloc(ctx->len);
        if (buf == NULL) {
            ctx->status = FACE_ENOMEM;
            ngx_cpystrn((u_char *) ctx->err, (u_char *) "out of memory",
                        sizeof(ctx->err));
            return;
        }

        for (p = buf, i = 0; i < ctx->nparts; i++) {
            if (ctx->parts[i].pos) {
                p = ngx_cpymem(p, ctx->parts[i].pos, ctx->parts[i].len);
                continue;
            }

            n = pread(ctx->parts[i].fd, p, ctx->parts[i].len,
                      ctx->parts[i].offset);

            if (n != (ssize_t) ctx->parts[i].len) {
                free(buf);
                ctx->status = FACE_EINTERNAL;
                ngx_cpystrn((u_char *) ctx->err,
                            (u_char *) "reading the request body's "
                                       "temporary file failed",
                            sizeof(ctx->err));
                return;
            }

            p += n;
        }
    }

    ngx_memzero(&res, sizeof(face_result_t));

    start = ngx_http_edge_metrics_start();
    ctx->status = face_encode(t->face, buf, ctx->len, &ctx->options, &res,
                              ctx->err, sizeof(ctx->err));
    ngx_http_edge_metrics_observe(EDGE_METRICS_FACE_INFERENCE, start);

    if (buf != ctx->parts[0].pos) {
        free(buf);
    }

    if (ctx->status != FACE_OK) {
        face_result_free(&res);
        return;
    }

    ctx->json = face_result_json(&res, NULL, 0);
    face_result_free(&res);

    if (ctx->json == NULL) {
        ctx->status = FACE_ENOMEM;
        ngx_cpystrn((u_char *) ctx->err, (u_char *) "out of memory",
                    sizeof(ctx->err));
    }
}


static void
ngx_http_face_encode_done(void *data)
{
    ngx_http_face_encode_t *ctx = data;

    ngx_int_t            rc;
    ngx_uint_t           status, level;
    ngx_connection_t    *c;
    ngx_http_request_t  *r;

    r = ctx->request;
    c = r->connection;

    switch (ctx->status) {

    case FACE_OK:
        status = NGX_HTTP_OK;
        break;

    case FACE_EDECODE:
        status = NGX_HTTP_UNSUPPORTED_MEDIA_TYPE;
        break;

    case FACE_ETOOBIG:
        status = NGX_HTTP_REQUEST_ENTITY_TOO_LARGE;
        break;

    default:
        status = NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (status == NGX_HTTP_OK) {
        rc = ngx_http_edge_json_send(r, NGX_HTTP_OK, (u_char *) ctx->json,
                                     ngx_strlen(ctx->json));

    } else {
        level = (status == NGX_HTTP_INTERNAL_SERVER_ERROR) ? NGX_LOG_ERR
                                                           : NGX_LOG_INFO;
        ngx_log_error(level, c->log, 0, "face: %s: %s",
                      face_status_text(ctx->status), ctx->err);

        rc = ngx_http_edge_json_error(r, status,
                                      ctx->err[0]
                                      ? ctx->err
                                      : face_status_text(ctx->status));
    }

    ngx_http_finalize_request(r, rc);
}


static void
ngx_http_face_encode_cleanup(void *data)
{
    ngx_http_face_encode_t *ctx = data;

    if (ctx->json) {
        free(ctx->json);
        ctx->json = NULL;
    }
}


/* ------------------------------------------------------------------------
 * shared by the handlers
 */


/*
 * The calling thread's engine context and libcurl handle, made on first
 * use and freed by the key's destructor when nginx ends the thread.
 */

ngx_http_face_thread_t *
ngx_http_face_thread(const face_models_t *models, char *err, size_t len)
{
    ngx_http_face_thread_t  *t;

    t = pthread_getspecific(ngx_http_face_key);
    if (t != NULL) {
        return t;
    }

    t = calloc(1, sizeof(ngx_http_face_thread_t));
    if (t == NULL) {
        ngx_cpystrn((u_char *) err, (u_char *) "out of memory", len);
        return NULL;
    }

    if (models) {
        t->face = face_ctx_create(models, err, len);
        if (t->face == NULL) {
            free(t);
            return NULL;
        }
    }

    t->curl = curl_easy_init();

    (void) __atomic_add_fetch(&ngx_http_face_threads, 1, __ATOMIC_SEQ_CST);

    if (t->curl == NULL || pthread_setspecific(ngx_http_face_key, t) != 0) {
        ngx_cpystrn((u_char *) err, (u_char *) "out of memory", len);
        ngx_http_face_thread_free(t);
        return NULL;
    }

    return t;
}


static void
ngx_http_face_thread_free(void *data)
{
    ngx_http_face_thread_t *t = data;

    if (t->face) {
        face_ctx_free(t->face);
    }

    if (t->curl) {
        curl_easy_cleanup(t->curl);
    }

    free(t);

    (void) __atomic_sub_fetch(&ngx_http_face_threads, 1, __ATOMIC_SEQ_CST);
}


/* ------------------------------------------------------------------------
 * configuration
 */


static char *
ngx_http_face_models(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_face_main_conf_t *fmcf = conf;

    char                 err[NGX_HTTP_FACE_ERR_LEN];
    ngx_str_t           *value;
    face_status_e        rc;
    ngx_pool_cleanup_t  *cln;

    if (fmcf->models_dir.data) {
        return "is duplicate";
    }

    value = cf->args->elts;
    fmcf->models_dir = value[1];

    if (ngx_conf_full_name(cf->cycle, &fmcf->models_dir, 0) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    /* freed with the configuration's pool, when a reload replaces it */

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        return NGX_CONF_ERROR;
    }

    err[0] = '\0';

    rc = face_models_load((char *) fmcf->models_dir.data, &fmcf->models, err,
                          sizeof(err));

    if (rc != FACE_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "face_models \"%V\": %s: %s", &fmcf->models_dir,
                           face_status_text(rc), err);
        return NGX_CONF_ERROR;
    }

    cln->handler = ngx_http_face_models_cleanup;
    cln->data = fmcf->models;

    return NGX_CONF_OK;
}


static void
ngx_http_face_models_cleanup(void *data)
{
    face_models_free(data);
}


static char *
ngx_http_face_handler_slot(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_face_loc_conf_t *flcf = conf;

    ngx_http_core_loc_conf_t  *clcf;

    if (flcf->handler) {
        return "is duplicate";
    }

    flcf->handler = (ngx_uint_t) cmd->post;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = (flcf->handler == NGX_HTTP_FACE_ENCODE)
                    ? ngx_http_face_encode_handler
                    : ngx_http_face_jobs_handler;

    return NGX_CONF_OK;
}


/* face_min_confidence 0.5: kept in thousandths */

static char *
ngx_http_face_confidence(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_face_loc_conf_t *flcf = conf;

    ngx_int_t   v;
    ngx_str_t  *value;

    if (flcf->min_confidence != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    value = cf->args->elts;

    v = ngx_atofp(value[1].data, value[1].len, 3);

    if (v == NGX_ERROR || v <= 0 || v >= 1000) {
        return "must be a number between 0 and 1, such as 0.5";
    }

    flcf->min_confidence = v;

    return NGX_CONF_OK;
}


/* face_callback_rate <n>r/m | <n>r/s | off: the spacing of callbacks */

static char *
ngx_http_face_callback_rate(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    char  *p = conf;

    ngx_int_t    n;
    ngx_str_t   *value;
    ngx_msec_t  *interval, per;

    interval = (ngx_msec_t *) (p + cmd->offset);

    if (*interval != NGX_CONF_UNSET_MSEC) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (value[1].len == 3 && ngx_strncmp(value[1].data, "off", 3) == 0) {
        *interval = 0;
        return NGX_CONF_OK;
    }

    per = 0;

    if (value[1].len > 3) {
        if (ngx_strncmp(value[1].data + value[1].len - 3, "r/m", 3) == 0) {
            per = 60000;

        } else if (ngx_strncmp(value[1].data + value[1].len - 3, "r/s", 3)
                   == 0)
        {
            per = 1000;
        }
    }

    n = per ? ngx_atoi(value[1].data, value[1].len - 3) : NGX_ERROR;

    if (n == NGX_ERROR || n == 0 || (ngx_msec_t) n > per) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "face_callback_rate: \"%V\" is not \"<n>r/m\", "
                           "\"<n>r/s\" (at most 1000r/s) or \"off\"",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    *interval = per / n;

    return NGX_CONF_OK;
}


static char *
ngx_http_face_allow_hosts(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_face_loc_conf_t *flcf = conf;

    ngx_str_t   *value, *s;
    ngx_uint_t   i;

    if (flcf->allow_hosts == NULL) {
        flcf->allow_hosts = ngx_array_create(cf->pool, 4, sizeof(ngx_str_t));
        if (flcf->allow_hosts == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {
        if (value[i].len == 0 || ngx_strlchr(value[i].data,
                                             value[i].data + value[i].len,
                                             '/'))
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "face_allow_hosts: \"%V\" is not a host name",
                               &value[i]);
            return NGX_CONF_ERROR;
        }

        s = ngx_array_push(flcf->allow_hosts);
        if (s == NULL) {
            return NGX_CONF_ERROR;
        }

        *s = value[i];
    }

    return NGX_CONF_OK;
}


static void *
ngx_http_face_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_face_main_conf_t  *fmcf;

    fmcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_face_main_conf_t));
    if (fmcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     fmcf->models = NULL;
     *     fmcf->models_dir = { 0, NULL };
     *     fmcf->spools = NULL;
     */

    return fmcf;
}


static void *
ngx_http_face_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_face_loc_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_face_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     conf->handler = 0;
     *     conf->thread_pool_name = { 0, NULL };
     *     conf->thread_pool = NULL;
     *     conf->spool = NULL;
     *     conf->allow_hosts = NULL;
     *     conf->host_names = NULL;
     *     conf->host_lens = NULL;
     */

    conf->detector = NGX_CONF_UNSET_UINT;
    conf->alignment = NGX_CONF_UNSET_UINT;
    conf->flip = NGX_CONF_UNSET;
    conf->min_confidence = NGX_CONF_UNSET;
    conf->max_input = NGX_CONF_UNSET_SIZE;
    conf->max_pixels = NGX_CONF_UNSET_UINT;
    conf->thread_timeout = NGX_CONF_UNSET_MSEC;
    conf->fetch_timeout = NGX_CONF_UNSET_MSEC;
    conf->callback_timeout = NGX_CONF_UNSET_MSEC;
    conf->callback_retries = NGX_CONF_UNSET_UINT;
    conf->retry_after_max = NGX_CONF_UNSET_MSEC;
    conf->callback_interval = NGX_CONF_UNSET_MSEC;
    conf->allow_private = NGX_CONF_UNSET;
    conf->parallel = NGX_CONF_UNSET_UINT;

    return conf;
}


static char *
ngx_http_face_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_face_loc_conf_t *prev = parent;
    ngx_http_face_loc_conf_t *conf = child;

    ngx_str_t                  *h;
    ngx_uint_t                  i;
    ngx_http_face_main_conf_t  *fmcf;

    static ngx_path_init_t  ngx_http_face_spool_path = {
        ngx_string("face_spool"), { 0, 0, 0 }
    };

    ngx_conf_merge_str_value(conf->thread_pool_name, prev->thread_pool_name,
                             "default");
    ngx_conf_merge_msec_value(conf->thread_timeout, prev->thread_timeout,
                              NGX_HTTP_FACE_THREAD_TIMEOUT);
    ngx_conf_merge_uint_value(conf->detector, prev->detector,
                              FACE_DETECTOR_SSD);
    ngx_conf_merge_uint_value(conf->alignment, prev->alignment,
                              FACE_ALIGN_DLIB);
    ngx_conf_merge_value(conf->flip, prev->flip, 0);
    ngx_conf_merge_value(conf->min_confidence, prev->min_confidence, 500);
    ngx_conf_merge_size_value(conf->max_input, prev->max_input,
                              20 * 1024 * 1024);
    ngx_conf_merge_uint_value(conf->max_pixels, prev->max_pixels, 50000000);
    ngx_conf_merge_msec_value(conf->fetch_timeout, prev->fetch_timeout,
                              15000);
    ngx_conf_merge_msec_value(conf->callback_timeout, prev->callback_timeout,
                              30000);
    ngx_conf_merge_uint_value(conf->callback_retries, prev->callback_retries,
                              3);
    ngx_conf_merge_msec_value(conf->retry_after_max, prev->retry_after_max,
                              600000);
    ngx_conf_merge_msec_value(conf->callback_interval,
                              prev->callback_interval, 0);
    ngx_conf_merge_value(conf->allow_private, prev->allow_private, 0);
    ngx_conf_merge_uint_value(conf->parallel, prev->parallel, 2);

    if (conf->allow_hosts == NULL) {
        conf->allow_hosts = prev->allow_hosts;
    }

    if (conf->spool == NULL) {
        conf->spool = prev->spool;
    }

    if (conf->max_input == 0 || conf->max_pixels == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "face_max_input and face_max_pixels must be "
                           "positive");
        return NGX_CONF_ERROR;
    }

    face_options_init(&conf->options);
    conf->options.detector = conf->detector;
    conf->options.alignment = conf->alignment;
    conf->options.flip = (int) conf->flip;
    conf->options.min_confidence = (float) conf->min_confidence / 1000;
    conf->options.max_pixels = conf->max_pixels;

    /* the allow-list as the pure checker takes it */

    if (conf->allow_hosts && conf->host_names == NULL) {
        h = conf->allow_hosts->elts;

        conf->host_names = ngx_palloc(cf->pool, conf->allow_hosts->nelts
                                                * sizeof(char *));
        conf->host_lens = ngx_palloc(cf->pool, conf->allow_hosts->nelts
                                               * sizeof(size_t));
        if (conf->host_names == NULL || conf->host_lens == NULL) {
            return NGX_CONF_ERROR;
        }

        for (i = 0; i < conf->allow_hosts->nelts; i++) {
            conf->host_names[i] = (char *) h[i].data;
            conf->host_lens[i] = h[i].len;
        }
    }

    if (conf->handler == 0) {
        return NGX_CONF_OK;
    }

    fmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_face_module);

    if (conf->handler == NGX_HTTP_FACE_ENCODE && fmcf->models == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "face_encode needs face_models in the http "
                           "block");
        return NGX_CONF_ERROR;
    }

    if (conf->handler == NGX_HTTP_FACE_JOBS && fmcf->models == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "face_jobs needs face_models in the http block");
        return NGX_CONF_ERROR;
    }

    conf->thread_pool = ngx_thread_pool_add(cf, &conf->thread_pool_name);
    if (conf->thread_pool == NULL) {
        return NGX_CONF_ERROR;
    }

    if (conf->handler != NGX_HTTP_FACE_JOBS) {
        return NGX_CONF_OK;
    }

    if (ngx_conf_merge_path_value(cf, &conf->spool, NULL,
                                  &ngx_http_face_spool_path)
        != NGX_CONF_OK)
    {
        return NGX_CONF_ERROR;
    }

    return ngx_http_face_register_spool(cf, conf);
}


/* a spool belongs to one face_jobs location: its settings resume jobs */

static char *
ngx_http_face_register_spool(ngx_conf_t *cf, ngx_http_face_loc_conf_t *conf)
{
    ngx_uint_t                  i;
    ngx_http_face_spool_t      *s;
    ngx_http_core_loc_conf_t   *clcf;
    ngx_http_face_main_conf_t  *fmcf;

    fmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_face_module);
    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    if (fmcf->spools == NULL) {
        fmcf->spools = ngx_array_create(cf->pool, 2,
                                        sizeof(ngx_http_face_spool_t));
        if (fmcf->spools == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    s = fmcf->spools->elts;

    for (i = 0; i < fmcf->spools->nelts; i++) {
        if (s[i].path->name.len == conf->spool->name.len
            && ngx_strncmp(s[i].path->name.data, conf->spool->name.data,
                           conf->spool->name.len) == 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "face_spool \"%V\" is used by more than one "
                               "face_jobs location; give each its own",
                               &conf->spool->name);
            return NGX_CONF_ERROR;
        }
    }

    s = ngx_array_push(fmcf->spools);
    if (s == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(s, sizeof(ngx_http_face_spool_t));

    s->path = conf->spool;
    s->conf = conf;
    s->log = clcf->error_log;

    return NGX_CONF_OK;
}


/* the metrics count the responses of both handlers' locations */

static ngx_int_t
ngx_http_face_init(ngx_conf_t *cf)
{
    if (ngx_http_edge_metrics_watch(cf, EDGE_METRICS_FACE, NULL,
                                    ngx_http_face_encode_handler)
        != NGX_OK
        || ngx_http_edge_metrics_watch(cf, EDGE_METRICS_FACE, NULL,
                                       ngx_http_face_jobs_handler)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * Libraries are initialised in each worker, never in the master: neither
 * libvips' nor libcurl's state is documented as surviving fork().
 */

static ngx_int_t
ngx_http_face_init_process(ngx_cycle_t *cycle)
{
    int                         err;
    ngx_http_face_main_conf_t  *fmcf;

    fmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_face_module);

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

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "face: libcurl initialisation failed");
        return NGX_ERROR;
    }

    err = pthread_key_create(&ngx_http_face_key, ngx_http_face_thread_free);
    if (err != 0) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, err,
                      "face: pthread_key_create() failed");
        return NGX_ERROR;
    }

    /* which libraries this worker really loaded, for bug reports */
    ngx_log_debug3(NGX_LOG_DEBUG_CORE, cycle->log, 0,
                   "face: libvips %s, cJSON %s, %s",
                   vips_version_string(), cJSON_Version(),
                   curl_version());

    if (fmcf == NULL || fmcf->spools == NULL) {
        return NGX_OK;
    }

    return ngx_http_face_jobs_init_process(cycle);
}


static void
ngx_http_face_exit_process(ngx_cycle_t *cycle)
{
    ngx_uint_t  i;

    /*
     * nginx has told the pool's threads to end, but a thread signals
     * that before it exits, so its key destructor may still be freeing
     * an engine context: the libraries go only after it (1 s at most)
     */

    for (i = 0; i < 1000; i++) {
        if (__atomic_load_n(&ngx_http_face_threads, __ATOMIC_SEQ_CST) == 0) {
            break;
        }

        ngx_msleep(1);
    }

    if (i == 1000) {
        /* a thread still runs: leave the libraries to exit() */
        return;
    }

    curl_global_cleanup();
    vips_shutdown();
}
