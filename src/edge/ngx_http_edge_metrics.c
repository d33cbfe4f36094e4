
/*
 * The photo-edge metrics, from the modules' side (see the header).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <time.h>

#include "ngx_http_edge_metrics.h"


#define NGX_HTTP_EDGE_METRICS_WATCHES  4


typedef struct {
    edge_metrics_module_e   label;
    ngx_module_t           *module;
    ngx_http_handler_pt     content;
} ngx_http_edge_metrics_watch_t;


static edge_metrics_t *ngx_http_edge_metrics_zone(void);
static ngx_int_t ngx_http_edge_metrics_log(ngx_http_request_t *r);


/* NULL: not looked up yet, or no zone (then looked_up is set) */
static edge_metrics_t     *ngx_http_edge_metrics_shm;
static ngx_uint_t          ngx_http_edge_metrics_looked_up;

static ngx_http_edge_metrics_watch_t
    ngx_http_edge_metrics_watches[NGX_HTTP_EDGE_METRICS_WATCHES];
static ngx_uint_t          ngx_http_edge_metrics_nwatches;


#define ngx_http_edge_metrics_inc(p, n)                                       \
    (void) __atomic_fetch_add((p), (n), __ATOMIC_RELAXED)


ngx_int_t
ngx_http_edge_metrics_watch(ngx_conf_t *cf, edge_metrics_module_e label,
    ngx_module_t *module, ngx_http_handler_pt content)
{
    ngx_uint_t                      i;
    ngx_array_t                    *a;
    ngx_http_handler_pt            *h;
    ngx_http_core_main_conf_t      *cmcf;
    ngx_http_edge_metrics_watch_t  *w;

    /* the same few watches in every configuration: kept once */

    for (i = 0; i < ngx_http_edge_metrics_nwatches; i++) {
        w = &ngx_http_edge_metrics_watches[i];

        if (w->label == label && w->module == module
            && w->content == content)
        {
            break;
        }
    }

    if (i == ngx_http_edge_metrics_nwatches) {

        if (i == NGX_HTTP_EDGE_METRICS_WATCHES) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "edge metrics: too many watches");
            return NGX_ERROR;
        }

        w = &ngx_http_edge_metrics_watches[i];
        w->label = label;
        w->module = module;
        w->content = content;

        ngx_http_edge_metrics_nwatches++;
    }

    /* one log handler per .so in each configuration */

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);
    a = &cmcf->phases[NGX_HTTP_LOG_PHASE].handlers;
    h = a->elts;

    for (i = 0; i < a->nelts; i++) {
        if (h[i] == ngx_http_edge_metrics_log) {
            return NGX_OK;
        }
    }

    h = ngx_array_push(a);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_edge_metrics_log;

    return NGX_OK;
}


static ngx_int_t
ngx_http_edge_metrics_log(ngx_http_request_t *r)
{
    int                             cls;
    ngx_uint_t                      i, status;
    edge_metrics_t                 *m;
    ngx_http_core_loc_conf_t       *clcf;
    ngx_http_edge_metrics_watch_t  *w;

    m = ngx_http_edge_metrics_zone();
    if (m == NULL) {
        return NGX_OK;
    }

    status = r->err_status ? r->err_status : r->headers_out.status;

    cls = edge_metrics_class(status);
    if (cls < 0) {
        return NGX_OK;
    }

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    for (i = 0; i < ngx_http_edge_metrics_nwatches; i++) {
        w = &ngx_http_edge_metrics_watches[i];

        if (w->content ? clcf->handler == w->content
                       : r->ctx[w->module->ctx_index] != NULL)
        {
            ngx_http_edge_metrics_inc(&m->requests[w->label][cls], 1);

            /*
             * a zip, as $body_bytes_sent counts it; not a response the
             * album_zip filter let pass (no manifest)
             */
            if (w->label == EDGE_METRICS_ALBUM_ZIP && w->content == NULL
                && r->headers_out.content_type.len
                   == sizeof("application/zip") - 1
                && ngx_strncasecmp(r->headers_out.content_type.data,
                                   (u_char *) "application/zip",
                                   sizeof("application/zip") - 1) == 0
                && r->connection->sent > (off_t) r->header_size)
            {
                ngx_http_edge_metrics_inc(&m->counter[EDGE_METRICS_ZIP_BYTES],
                    (uint64_t) (r->connection->sent - r->header_size));
            }

            break;
        }
    }

    return NGX_OK;
}


void
ngx_http_edge_metrics_add(edge_metrics_counter_e c, uint64_t n)
{
    edge_metrics_t  *m;

    m = ngx_http_edge_metrics_zone();

    if (m && n) {
        ngx_http_edge_metrics_inc(&m->counter[c], n);
    }
}


void
ngx_http_edge_metrics_task(const char *module,
    edge_metrics_module_counter_e c)
{
    int              i;
    edge_metrics_t  *m;

    m = ngx_http_edge_metrics_zone();
    i = edge_metrics_module(module);

    if (m && i >= 0) {
        ngx_http_edge_metrics_inc(&m->module_counter[i][c], 1);
    }
}


void
ngx_http_edge_metrics_in_flight(const char *module, int64_t delta)
{
    int              i;
    edge_metrics_t  *m;

    m = ngx_http_edge_metrics_zone();
    i = edge_metrics_module(module);

    if (m && i >= 0) {
        ngx_http_edge_metrics_inc(&m->in_flight[i], delta);
    }
}


uint64_t
ngx_http_edge_metrics_start(void)
{
    struct timespec  ts;

    (void) clock_gettime(CLOCK_MONOTONIC, &ts);

    return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}


void
ngx_http_edge_metrics_observe(edge_metrics_histogram_e h, uint64_t start)
{
    uint64_t         us, now;
    edge_metrics_t  *m;

    m = ngx_http_edge_metrics_zone();
    if (m == NULL) {
        return;
    }

    now = ngx_http_edge_metrics_start();
    us = now > start ? now - start : 0;

    ngx_http_edge_metrics_inc(&m->histogram[h].sum_us, us);
    ngx_http_edge_metrics_inc(&m->histogram[h].bucket[
        ngx_min(edge_metrics_bucket(us), EDGE_METRICS_NBUCKETS)], 1);
}


void
ngx_http_edge_metrics_outbound(edge_metrics_outbound_e reason)
{
    edge_metrics_t  *m;

    m = ngx_http_edge_metrics_zone();

    if (m) {
        ngx_http_edge_metrics_inc(&m->outbound_errors[reason], 1);
    }
}


/*
 * The zone by its name among the cycle's shared memory; its data is the
 * metrics module's edge_metrics_t, checked by magic, version and size
 * here, in this .so's own hidden code: the .so files of two builds may
 * be loaded together.
 * Any thread may look: the walk only reads the cycle, and every thread
 * finds the same.
 */

static edge_metrics_t *
ngx_http_edge_metrics_zone(void)
{
    size_t            len;
    ngx_uint_t        i;
    edge_metrics_t   *m;
    ngx_list_part_t  *part;
    ngx_shm_zone_t   *zone;

    if (__atomic_load_n(&ngx_http_edge_metrics_looked_up, __ATOMIC_ACQUIRE))
    {
        return __atomic_load_n(&ngx_http_edge_metrics_shm, __ATOMIC_RELAXED);
    }

    /* in any thread: the same answer, stored last */

    len = sizeof(EDGE_METRICS_ZONE_NAME) - 1;
    part = &((ngx_cycle_t *) ngx_cycle)->shared_memory.part;
    zone = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            zone = part->elts;
            i = 0;
        }

        if (zone[i].shm.name.len != len
            || ngx_strncmp(zone[i].shm.name.data, EDGE_METRICS_ZONE_NAME, len)
               != 0)
        {
            continue;
        }

        m = zone[i].data;

        if (m == NULL || m->magic != EDGE_METRICS_MAGIC
            || m->version != EDGE_METRICS_VERSION
            || m->size != sizeof(edge_metrics_t))
        {
            ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                          "edge metrics: the zone \"%s\" has another "
                          "layout, metrics are off",
                          EDGE_METRICS_ZONE_NAME);
            break;
        }

        __atomic_store_n(&ngx_http_edge_metrics_shm, m, __ATOMIC_RELAXED);

        break;
    }

    __atomic_store_n(&ngx_http_edge_metrics_looked_up, 1, __ATOMIC_RELEASE);

    return __atomic_load_n(&ngx_http_edge_metrics_shm, __ATOMIC_RELAXED);
}
