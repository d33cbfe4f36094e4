
/*
 * ngx_http_edge_metrics_module: the photo-edge modules' counters and
 * histograms, for Prometheus.
 *
 *     http {
 *         edge_metrics_zone  64k;
 *         server {
 *             location = /metrics { edge_metrics; allow 10.0.0.0/8;
 *                                   deny all; }
 *         }
 *     }
 *
 * The module owns one shared memory zone, "photo_edge_metrics", with the
 * fixed layout of edge_metrics.h; the other modules' .so files find it by
 * that name when their worker starts using it and update it with atomic
 * adds (src/edge/ngx_http_edge_metrics.c): no symbol of this module is
 * linked by them, and without this module they count nothing.  The zone
 * is kept across reloads (same name and size).
 *
 * edge_metrics answers GET and HEAD with the text exposition format
 * 0.0.4 of a snapshot read word by word.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "edge_metrics.h"


#define NGX_HTTP_EDGE_METRICS_ZONE_SIZE  (64 * 1024)


typedef struct {
    size_t              zone_size;
    ngx_shm_zone_t     *zone;
} ngx_http_edge_metrics_main_conf_t;


static ngx_int_t ngx_http_edge_metrics_handler(ngx_http_request_t *r);
static void ngx_http_edge_metrics_snapshot(edge_metrics_t *to,
    edge_metrics_t *from);
static ngx_int_t ngx_http_edge_metrics_init_zone(ngx_shm_zone_t *zone,
    void *data);
static void *ngx_http_edge_metrics_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_edge_metrics_init_main_conf(ngx_conf_t *cf,
    void *conf);
static char *ngx_http_edge_metrics(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);


static ngx_command_t  ngx_http_edge_metrics_commands[] = {

    { ngx_string("edge_metrics"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_edge_metrics,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("edge_metrics_zone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_edge_metrics_main_conf_t, zone_size),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_edge_metrics_module_ctx = {
    NULL,                                  /* preconfiguration */
    NULL,                                  /* postconfiguration */

    ngx_http_edge_metrics_create_main_conf, /* create main configuration */
    ngx_http_edge_metrics_init_main_conf,  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    NULL,                                  /* create location configuration */
    NULL                                   /* merge location configuration */
};


ngx_module_t  ngx_http_edge_metrics_module = {
    NGX_MODULE_V1,
    &ngx_http_edge_metrics_module_ctx,     /* module context */
    ngx_http_edge_metrics_commands,        /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_str_t  ngx_http_edge_metrics_type =
    ngx_string("text/plain; version=0.0.4; charset=utf-8");


static ngx_int_t
ngx_http_edge_metrics_handler(ngx_http_request_t *r)
{
    size_t                              len;
    ngx_int_t                           rc;
    ngx_buf_t                          *b;
    ngx_chain_t                         out;
    edge_metrics_t                     *snap;
    ngx_http_edge_metrics_main_conf_t  *emcf;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    emcf = ngx_http_get_module_main_conf(r, ngx_http_edge_metrics_module);

    snap = ngx_palloc(r->pool, sizeof(edge_metrics_t));
    if (snap == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_edge_metrics_snapshot(snap, emcf->zone->data);

    b = ngx_create_temp_buf(r->pool, edge_metrics_text_max());
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    len = edge_metrics_text(snap, (char *) b->pos, edge_metrics_text_max());

    if (len == 0) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "edge metrics: the exposition does not fit in %uz "
                      "bytes", edge_metrics_text_max());
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->last = b->pos + len;
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = len;
    r->headers_out.content_type = ngx_http_edge_metrics_type;
    r->headers_out.content_type_len = ngx_http_edge_metrics_type.len;
    r->headers_out.content_type_lowcase = NULL;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


/*
 * Word by word, each an atomic load: a scrape taken while workers count
 * sees every word whole, and the histograms' counts are derived from
 * their buckets when the text is made.
 */

static void
ngx_http_edge_metrics_snapshot(edge_metrics_t *to, edge_metrics_t *from)
{
    size_t     i, n;
    uint64_t  *d, *s;

    d = (uint64_t *) to;
    s = (uint64_t *) from;
    n = sizeof(edge_metrics_t) / sizeof(uint64_t);

    for (i = 0; i < n; i++) {
        d[i] = __atomic_load_n(&s[i], __ATOMIC_RELAXED);
    }
}


static ngx_int_t
ngx_http_edge_metrics_init_zone(ngx_shm_zone_t *zone, void *data)
{
    edge_metrics_t   *m;
    ngx_slab_pool_t  *shpool;

    if (data && edge_metrics_valid(data)) {
        /* a reload: the workers go on counting in the same zone */
        zone->data = data;
        return NGX_OK;
    }

    /* a new zone, or one of another layout: a fresh start */

    shpool = (ngx_slab_pool_t *) zone->shm.addr;

    m = ngx_slab_alloc(shpool, sizeof(edge_metrics_t));
    if (m == NULL) {
        return NGX_ERROR;
    }

    edge_metrics_init(m);

    shpool->data = m;
    zone->data = m;

    return NGX_OK;
}


static void *
ngx_http_edge_metrics_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_edge_metrics_main_conf_t  *emcf;

    emcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_edge_metrics_main_conf_t));
    if (emcf == NULL) {
        return NULL;
    }

    emcf->zone_size = NGX_CONF_UNSET_SIZE;

    return emcf;
}


static char *
ngx_http_edge_metrics_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_edge_metrics_main_conf_t *emcf = conf;

    ngx_str_t  name = ngx_string(EDGE_METRICS_ZONE_NAME);

    ngx_conf_init_size_value(emcf->zone_size,
                             NGX_HTTP_EDGE_METRICS_ZONE_SIZE);

    /* the slab pool's own pages come first */

    if (emcf->zone_size < 8 * ngx_pagesize + sizeof(edge_metrics_t)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "edge_metrics_zone \"%uz\" is too small, "
                           "at least %uz",
                           emcf->zone_size,
                           8 * ngx_pagesize + sizeof(edge_metrics_t));
        return NGX_CONF_ERROR;
    }

    emcf->zone = ngx_shared_memory_add(cf, &name, emcf->zone_size,
                                       &ngx_http_edge_metrics_module);
    if (emcf->zone == NULL) {
        return NGX_CONF_ERROR;
    }

    emcf->zone->init = ngx_http_edge_metrics_init_zone;

    return NGX_CONF_OK;
}


static char *
ngx_http_edge_metrics(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_edge_metrics_handler;

    return NGX_CONF_OK;
}
