
/*
 * The photo-edge metrics, from the modules' side: each .so finds the
 * zone of ngx_http_edge_metrics_module by its name (it never links a
 * symbol of that module: the .so files load separately, in any order)
 * and updates it with atomic adds.  Without the zone (the metrics module
 * not loaded) every call here does nothing.
 *
 * The zone is looked up on first use, in whichever thread; every call
 * may be made from a pool thread.
 *
 * Compiled into each module's .so, hidden (see ngx_http_edge_json.h).
 */


#ifndef _NGX_HTTP_EDGE_METRICS_H_INCLUDED_
#define _NGX_HTTP_EDGE_METRICS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "edge_metrics.h"


#ifndef NGX_HTTP_EDGE_HIDDEN
#if (__GNUC__ >= 4)
#define NGX_HTTP_EDGE_HIDDEN  __attribute__((visibility("hidden")))
#else
#define NGX_HTTP_EDGE_HIDDEN
#endif
#endif


/*
 * In a module's postconfiguration: count the responses of the requests
 * this module handled, by status class, in the log phase.  A request is
 * the module's when the location's content handler is content, or when
 * the module has a context on it (content NULL: a filter).
 */
NGX_HTTP_EDGE_HIDDEN ngx_int_t ngx_http_edge_metrics_watch(ngx_conf_t *cf,
    edge_metrics_module_e label, ngx_module_t *module,
    ngx_http_handler_pt content);

/* a counter without labels */
NGX_HTTP_EDGE_HIDDEN void ngx_http_edge_metrics_add(edge_metrics_counter_e c,
    uint64_t n);

/* a task's module name ("face job"): rejected, expired, in flight */
NGX_HTTP_EDGE_HIDDEN void ngx_http_edge_metrics_task(const char *module,
    edge_metrics_module_counter_e c);
NGX_HTTP_EDGE_HIDDEN void ngx_http_edge_metrics_in_flight(
    const char *module, int64_t delta);

/* a monotonic start time, and its duration observed */
NGX_HTTP_EDGE_HIDDEN uint64_t ngx_http_edge_metrics_start(void);
NGX_HTTP_EDGE_HIDDEN void ngx_http_edge_metrics_observe(
    edge_metrics_histogram_e h, uint64_t start);

/* an outbound request failed */
NGX_HTTP_EDGE_HIDDEN void ngx_http_edge_metrics_outbound(
    edge_metrics_outbound_e reason);


#endif /* _NGX_HTTP_EDGE_METRICS_H_INCLUDED_ */
