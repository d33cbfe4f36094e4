
/*
 * ngx_http_image_ingest_module: uploads at the edge.  Shared by the
 * module's files: the handler (ngx_http_image_ingest_module.c), the
 * thread pool task (ngx_http_image_ingest_thread.c), the configuration
 * (ngx_http_image_ingest_conf.c), the notification to the app
 * (ngx_http_image_ingest_notify.c), archive uploads
 * (ngx_http_image_ingest_archive.c), the bucket store
 * (ngx_http_image_ingest_s3.c), JWT-verified uploads
 * (ngx_http_image_ingest_jwt.c) and moderation
 * (ngx_http_image_ingest_moderate.c).
 */


#ifndef _NGX_HTTP_IMAGE_INGEST_H_INCLUDED_
#define _NGX_HTTP_IMAGE_INGEST_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "image_variant_params.h"
#include "image_ingest_json.h"
#include "image_ingest_s3.h"
#include "image_ingest_store.h"
#include "image_ingest_vips.h"
#include "image_moderate.h"
#include "ngx_http_edge_s3.h"
#include "ngx_http_edge_task.h"


/* a JSON body may hold the base64 of image_ingest_max_size, and more */
#define ngx_http_image_ingest_body_max(size)                                  \
    ((off_t) (size) / 3 * 4 + 65536)


/* image_ingest_uri + "<preset>/<key>.<ext>" */
#define NGX_HTTP_IMAGE_INGEST_URI_MAX   512
#define NGX_HTTP_IMAGE_INGEST_URI_LEN   (NGX_HTTP_IMAGE_INGEST_URI_MAX       \
                                         + IMAGE_INGEST_REL_LEN)


typedef struct ngx_http_image_ingest_s3_s  ngx_http_image_ingest_s3_t;

typedef struct ngx_http_image_ingest_ctx_s  ngx_http_image_ingest_ctx_t;


/*
 * Where uploads go: a local directory (ngx_http_image_ingest_thread.c)
 * or a bucket (ngx_http_image_ingest_s3.c), in the thread.  One upload:
 * begin; exists (the original: a duplicate?); stage each variant and the
 * metadata, then the original; commit (the original last); end.  A
 * failing call sets ctx->status and ctx->err.
 */
typedef struct {
    /* NGX_OK, NGX_AGAIN (the key is locked by another upload), NGX_ERROR */
    ngx_int_t  (*begin)(ngx_http_image_ingest_ctx_t *ctx);
    /* NGX_OK: rel is stored; NGX_DECLINED: it is not; NGX_ERROR */
    ngx_int_t  (*exists)(ngx_http_image_ingest_ctx_t *ctx, const char *rel);
    ngx_int_t  (*stage)(ngx_http_image_ingest_ctx_t *ctx, const char *rel,
                        const void *data, size_t len);
    /* NGX_OK; NGX_DECLINED: another upload stored the original first */
    ngx_int_t  (*commit)(ngx_http_image_ingest_ctx_t *ctx);
    void       (*end)(ngx_http_image_ingest_ctx_t *ctx);
} ngx_http_image_ingest_store_t;


typedef struct {
    ngx_str_t                    name;
    ngx_http_complex_value_t     value;
} ngx_http_image_ingest_meta_t;


/* image_ingest_jwt's key file (ngx_http_image_ingest_jwt.c) */
typedef struct ngx_http_image_ingest_jwt_file_s
    ngx_http_image_ingest_jwt_file_t;


/* a preset of image_ingest_variants, resolved */
typedef struct {
    ngx_str_t                    name;          /* NUL-terminated */
    image_variant_params_t       params;
} ngx_http_image_ingest_variant_t;


typedef struct {
    ngx_flag_t                   enable;        /* image_ingest */
    ngx_str_t                    store;         /* NUL-terminated */
    const ngx_http_image_ingest_store_t  *backend;
    ngx_http_edge_s3_bucket_t   *s3;            /* the s3_bucket, or NULL */
    image_ingest_s3_location_t  *s3_location;
    ngx_msec_t                   s3_timeout;
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
    ngx_msec_t                   thread_timeout;

    /* archive uploads (ngx_http_image_ingest_archive.c) */
    ngx_flag_t                   archive;
    ngx_uint_t                   archive_max_entries;
    off_t                        archive_max_bytes;
    ngx_uint_t                   archive_max_ratio;
    ngx_flag_t                   notify_batch;

    /* moderation (ngx_http_image_ingest_moderate.c) */
    ngx_uint_t                   moderation;    /* ..._MODERATION_* */
    float                       *thresholds;    /* [IMAGE_MODERATE_CLASSES] */
    ngx_str_t                    moderation_models;
    image_moderate_model_t      *moderate_model;
    ngx_str_t                    quarantine;    /* <store>/quarantine */
    ngx_flag_t                   moderate;      /* image_moderate */
    /* JWT-verified uploads (ngx_http_image_ingest_jwt.c) */
    ngx_http_image_ingest_jwt_file_t  *jwt;
    ngx_array_t                 *jwt_claims;    /* ..._jwt_require_t */
    time_t                       jwt_leeway;
    ngx_flag_t                   jwt_require_exp;
    ngx_http_complex_value_t    *jwt_token;

    /* from image_variant's configuration of the location */
    ngx_array_t                 *variants;      /* ..._variant_t */
    ngx_uint_t                   max_pixels;
    ngx_msec_t                   timeout;
    ngx_str_t                    thread_pool_name;
    ngx_thread_pool_t           *thread_pool;
    void                        *face_models;   /* gravity=face */

    /*
     * Per worker, the event loop's: the store is full, logged once; until
     * an upload of the location succeeds, 507s are logged at info.
     */
    ngx_uint_t                   full;
} ngx_http_image_ingest_loc_conf_t;


/* one rendering: a preset in a format */
typedef struct {
    ngx_http_image_ingest_variant_t  *variant;
    image_variant_format_e            format;     /* 0: the preset's */
    image_variant_format_e            asked;      /* before format=auto */
    char                              rel[IMAGE_INGEST_REL_LEN];
    char                              uri[NGX_HTTP_IMAGE_INGEST_URI_LEN];
} ngx_http_image_ingest_render_t;


/* a piece of the request body: in memory, or in nginx's temporary file */
typedef struct {
    u_char                           *pos;
    size_t                            len;
    ngx_fd_t                          fd;
    off_t                             offset;
} ngx_http_image_ingest_part_t;


typedef struct ngx_http_image_ingest_archive_s
    ngx_http_image_ingest_archive_t;



struct ngx_http_image_ingest_ctx_s {
    /* set before the task is posted; read-only for the thread */
    ngx_http_request_t               *request;
    ngx_http_image_ingest_loc_conf_t *conf;
    ngx_http_image_ingest_part_t     *parts;
    ngx_uint_t                        nparts;
    u_char                           *body;       /* the whole body */
    size_t                            body_len;
    image_ingest_pair_t              *meta;
    size_t                            nmeta;
    const char                      **format_names;
    size_t                            nformats;
    image_ingest_pair_t              *pairs;      /* one per preset */
    ngx_http_image_ingest_render_t   *renders;
    ngx_uint_t                        nrenders;
    time_t                            now;

    /* the event loop's, between tries of a key locked by another upload */
    ngx_http_edge_task_t             *task;
    ngx_event_t                       retry;
    ngx_msec_t                        delay;      /* the next wait */
    ngx_msec_t                        waited;
    ngx_msec_t                        max_wait;

    /* set by the thread */
    ngx_uint_t                        status;
    char                              err[256];
    char                              key[IMAGE_INGEST_KEY_LEN + 1];
    char                              original[IMAGE_INGEST_REL_LEN];
    u_char                           *image;      /* within body */
    size_t                            image_len;
    image_ingest_probe_t              probe;
    unsigned                          recovered;
    unsigned                          probed:1;   /* all before the lock */
    unsigned                          busy:1;     /* the key was locked */
    unsigned                          full:1;     /* ENOSPC, EDQUOT */
    unsigned                          sniffed:1;  /* archive or not */
    unsigned                          is_archive:1;
    unsigned                          body_malloc:1;
    image_ingest_txn_t                txn;

    /* image_ingest_archive on: the archive, when the body is one */
    ngx_http_image_ingest_archive_t  *archive;

    /* image_ingest_store s3://: the bucket's requests */
    ngx_http_image_ingest_s3_t       *s3;

    /* image_ingest_moderation: set by the thread */
    float                             scores[IMAGE_MODERATE_CLASSES];
    char                              moderation_json[256];
    unsigned                          moderated:1;
    unsigned                          flagged:1;
    unsigned                          quarantined:1;  /* stored there */
    unsigned                          rejected:1;
    unsigned                          fresh:1;        /* not a duplicate */
};


#define NGX_HTTP_IMAGE_INGEST_MODERATION_OFF     0
#define NGX_HTTP_IMAGE_INGEST_MODERATION_FLAG    1
#define NGX_HTTP_IMAGE_INGEST_MODERATION_REJECT  2

/* not in nginx 1.22's list */
#define NGX_HTTP_IMAGE_INGEST_UNPROCESSABLE      422


extern ngx_module_t     ngx_http_image_ingest_module;
extern ngx_conf_enum_t  ngx_http_image_ingest_format_names[];


/* the event loop (ngx_http_image_ingest_module.c) */
ngx_int_t ngx_http_image_ingest_handler(ngx_http_request_t *r);

ngx_int_t ngx_http_image_ingest_wait(ngx_http_request_t *r,
    ngx_http_image_ingest_ctx_t *ctx);

/* the thread pool task (ngx_http_image_ingest_thread.c) */
void ngx_http_image_ingest_thread(void *data, ngx_log_t *log);
ngx_int_t ngx_http_image_ingest_image(ngx_http_image_ingest_ctx_t *ctx);
void ngx_http_image_ingest_info(ngx_http_image_ingest_ctx_t *ctx,
    image_ingest_info_t *info);

/* the configuration (ngx_http_image_ingest_conf.c) */
char *ngx_http_image_ingest(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
char *ngx_http_image_ingest_variants(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_image_ingest_formats(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_image_ingest_meta(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_image_ingest_backoff(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
void *ngx_http_image_ingest_create_main_conf(ngx_conf_t *cf);
void *ngx_http_image_ingest_create_loc_conf(ngx_conf_t *cf);
char *ngx_http_image_ingest_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
ngx_int_t ngx_http_image_ingest_init_process(ngx_cycle_t *cycle);
ngx_int_t ngx_http_image_ingest_add_store(ngx_conf_t *cf, ngx_str_t *dir);


/* moderation (ngx_http_image_ingest_moderate.c) */
extern ngx_conf_enum_t  ngx_http_image_ingest_moderation_modes[];

char *ngx_http_image_ingest_moderation_threshold(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
char *ngx_http_image_moderate(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_image_ingest_moderation_merge(ngx_conf_t *cf,
    ngx_http_image_ingest_loc_conf_t *prev,
    ngx_http_image_ingest_loc_conf_t *conf);
char *ngx_http_image_ingest_moderation_store(ngx_conf_t *cf,
    ngx_http_image_ingest_loc_conf_t *conf);
/* in the thread: scores, flagged or rejected (422); NGX_ERROR: failed */
ngx_int_t ngx_http_image_ingest_moderate(ngx_http_image_ingest_ctx_t *ctx);
/* the pool threads' networks: the key, then the wait for their frees */
ngx_int_t ngx_http_image_ingest_moderation_init(ngx_cycle_t *cycle);
ngx_int_t ngx_http_image_ingest_moderation_exit(ngx_cycle_t *cycle);
/* the 422 of a rejected upload */
ngx_int_t ngx_http_image_ingest_rejected(ngx_http_request_t *r,
    ngx_http_image_ingest_ctx_t *ctx);
void ngx_http_image_ingest_exit_process(ngx_cycle_t *cycle);


/* archive uploads (ngx_http_image_ingest_archive.c) */
ngx_int_t ngx_http_image_ingest_archive_init(ngx_http_request_t *r,
    ngx_http_image_ingest_ctx_t *ctx);
ngx_int_t ngx_http_image_ingest_archive_thread(
    ngx_http_image_ingest_ctx_t *ctx);
void ngx_http_image_ingest_archive_done(ngx_http_image_ingest_ctx_t *ctx);
char *ngx_http_image_ingest_archive_merge(ngx_conf_t *cf,
    ngx_http_image_ingest_loc_conf_t *conf);


/* the body's buffers as parts for the thread (..._module.c) */
ngx_int_t ngx_http_image_ingest_body_parts(ngx_http_request_t *r,
    ngx_http_image_ingest_ctx_t *ctx, off_t max, ngx_uint_t copy,
    const char **why);


/* the bucket store (ngx_http_image_ingest_s3.c) */
extern const ngx_http_image_ingest_store_t  ngx_http_image_ingest_local;
extern const ngx_http_image_ingest_store_t  ngx_http_image_ingest_s3;

char *ngx_http_image_ingest_s3_resolve(ngx_conf_t *cf,
    ngx_http_image_ingest_loc_conf_t *conf);
ngx_int_t ngx_http_image_ingest_s3_init(ngx_http_request_t *r,
    ngx_http_image_ingest_ctx_t *ctx);
ngx_int_t ngx_http_image_ingest_s3_prepare(ngx_http_request_t *r,
    ngx_http_image_ingest_ctx_t *ctx);
void ngx_http_image_ingest_s3_renew(ngx_http_request_t *r,
    ngx_http_image_ingest_ctx_t *ctx);


/* JWT-verified uploads (ngx_http_image_ingest_jwt.c) */
char *ngx_http_image_ingest_jwt(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_image_ingest_jwt_claims(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_image_ingest_jwt_merge(ngx_conf_t *cf,
    ngx_http_image_ingest_loc_conf_t *prev,
    ngx_http_image_ingest_loc_conf_t *conf);
ngx_int_t ngx_http_image_ingest_jwt_preconfiguration(ngx_conf_t *cf);
ngx_int_t ngx_http_image_ingest_jwt_verified(ngx_http_request_t *r,
    ngx_http_image_ingest_loc_conf_t *conf);
ngx_int_t ngx_http_image_ingest_jwt_refuse(ngx_http_request_t *r,
    ngx_http_image_ingest_loc_conf_t *conf);


/*
 * POSTs json to image_ingest_notify's URL in the background, retrying
 * as configured; the request may end meanwhile (json is copied).
 */
ngx_int_t ngx_http_image_ingest_notify(ngx_http_request_t *r,
    ngx_http_image_ingest_loc_conf_t *conf, u_char *json, size_t len);


#endif /* _NGX_HTTP_IMAGE_INGEST_H_INCLUDED_ */
