
/*
 * S3 buckets, from any module's side: the buckets are declared with
 * "s3_bucket <name> { ... }" and owned by ngx_http_s3_module (its own
 * .so, src/s3).  Another module (the image ingest uploads) compiles this
 * file in and finds a bucket by name at configuration time: the s3
 * module is looked up in cf->cycle->modules BY NAME, so no .so links a
 * symbol of another, and they load in any order.
 *
 * Usage, in a module that stores into a bucket:
 *
 *   at configuration time, from merge_loc_conf or a postconfiguration
 *   handler (every s3_bucket block of the http{} block is known then;
 *   from a directive handler, only the blocks declared above it):
 *
 *       b = ngx_http_edge_s3_bucket_find(cf, &name);
 *       if (b == NULL) {
 *           return NGX_CONF_ERROR;      (already logged: nginx -t says
 *                                        why, e.g. the s3 module is not
 *                                        loaded, or there is no such
 *                                        bucket)
 *       }
 *
 *   on the event loop, per request or job:
 *
 *       edge_s3_target_t  *t = ngx_palloc(pool, sizeof(edge_s3_target_t));
 *       if (ngx_http_edge_s3_target(b, pool, log, t) != NGX_OK) { ... }
 *
 *   then, in a thread-pool task, with the pure core (edge_s3.h, no nginx
 *   types) and libcurl:
 *
 *       edge_s3_sign(t, &request, &alloc, &signed, err, sizeof(err));
 *       curl URL signed.url, headers "Host: " signed.host, "X-Amz-Date",
 *       "X-Amz-Content-Sha256", "X-Amz-Security-Token" (when not empty),
 *       "Authorization" and the request's own signed headers.
 *
 * The credentials file is re-read when it changes (its size, inode or
 * modification time, checked at most once a second per worker, no
 * reload needed); a file that no longer reads or parses keeps the
 * credentials read last and logs one [error] per change of the file.
 *
 * The bucket's layout is shared between .so files built from different
 * trees: ngx_http_edge_s3_bucket_find refuses a bucket whose magic
 * number differs (a module built from another version of this file).
 *
 * Compiled into each module's .so, hidden (see ngx_http_edge_json.h).
 */


#ifndef _NGX_HTTP_EDGE_S3_H_INCLUDED_
#define _NGX_HTTP_EDGE_S3_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "edge_s3.h"


#ifndef NGX_HTTP_EDGE_HIDDEN
#if (__GNUC__ >= 4)
#define NGX_HTTP_EDGE_HIDDEN  __attribute__((visibility("hidden")))
#else
#define NGX_HTTP_EDGE_HIDDEN
#endif
#endif


#define NGX_HTTP_EDGE_S3_MODULE  "ngx_http_s3_module"

/* changes whenever the layout below changes */
#define NGX_HTTP_EDGE_S3_MAGIC   0x65733301


typedef struct {
    ngx_uint_t                  magic;

    ngx_str_t                   name;          /* s3_bucket <name> */
    ngx_str_t                   endpoint;      /* "http://host:port" */
    ngx_str_t                   host;          /* "host:port" in it */
    ngx_uint_t                  https;
    ngx_uint_t                  style;         /* EDGE_S3_STYLE_* */
    ngx_str_t                   bucket;
    ngx_str_t                   region;
    ngx_str_t                   credentials;   /* the file */
    ngx_str_t                   upstream;      /* proxy through it, or "" */

    ngx_str_t                   conf_file;     /* where it was declared */
    ngx_uint_t                  conf_line;

    /* per worker: the credentials read last, and their file's state */
    edge_s3_credentials_t      *creds;
    time_t                      checked;       /* last stat() */
    ngx_file_uniq_t             uniq;
    time_t                      mtime_sec;
    long                        mtime_nsec;
    off_t                       size;
    ngx_uint_t                  failed;        /* the file is bad now */
} ngx_http_edge_s3_bucket_t;


/* the s3 module's main configuration: every s3_bucket block */

typedef struct {
    ngx_uint_t                  magic;
    ngx_array_t                 buckets;       /* of bucket pointers */
} ngx_http_edge_s3_main_conf_t;


/*
 * The bucket of that name, or NULL with an [emerg] logged: the s3 module
 * is not loaded, no s3_bucket block has that name, or the module was
 * built from a different layout.
 */
NGX_HTTP_EDGE_HIDDEN ngx_http_edge_s3_bucket_t *ngx_http_edge_s3_bucket_find(
    ngx_conf_t *cf, ngx_str_t *name);

/*
 * A plain-C copy of the bucket for a request: endpoint, style, bucket
 * and region copied into pool (NUL-terminated), the current credentials
 * by value (re-read first when the file changed).  NGX_ERROR only when
 * the pool is exhausted.
 */
NGX_HTTP_EDGE_HIDDEN ngx_int_t ngx_http_edge_s3_target(
    ngx_http_edge_s3_bucket_t *b, ngx_pool_t *pool, ngx_log_t *log,
    edge_s3_target_t *out);

/*
 * Re-reads the credentials file if it changed and a second has passed
 * since the last look (force: look now, and at configuration time fail
 * on any problem).  NGX_OK: the credentials in b->creds are usable.
 */
NGX_HTTP_EDGE_HIDDEN ngx_int_t ngx_http_edge_s3_refresh(
    ngx_http_edge_s3_bucket_t *b, ngx_log_t *log, ngx_uint_t force);

/* an allocator for the pure core (edge_sigv4.h) taking from a pool */
NGX_HTTP_EDGE_HIDDEN void *ngx_http_edge_s3_alloc(void *pool, size_t size);


#endif /* _NGX_HTTP_EDGE_S3_H_INCLUDED_ */
