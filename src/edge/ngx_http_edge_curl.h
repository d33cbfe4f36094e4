
/*
 * The outbound HTTP client's common ground, for the libcurl handles the
 * modules drive in their pool threads (the zipper's downloads and upload,
 * face jobs' downloads and callbacks, image ingest's notifications):
 *   - http and https only, on redirects too;
 *   - no proxy, whatever the environment says: a proxy is an address
 *     nobody checked;
 *   - no signals (a thread may not take SIGALRM for DNS timeouts);
 *   - a connect time limit;
 *   - with a guard, the address policy on every connection libcurl opens,
 *     whatever name, redirect or DNS answer led there: edge_net.c's
 *     classes, internal ones refused unless the guard allows them.
 * What differs stays with each client: which URLs (allow-lists), how
 * redirects are followed, bodies, sizes, time limits.
 *
 * Only libcurl and system calls here: safe in a pool thread.  Compiled
 * into each module's .so, hidden (see ngx_http_edge_json.h).
 */


#ifndef _NGX_HTTP_EDGE_CURL_H_INCLUDED_
#define _NGX_HTTP_EDGE_CURL_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include <curl/curl.h>

#include "edge_net.h"


#ifndef NGX_HTTP_EDGE_HIDDEN
#if (__GNUC__ >= 4)
#define NGX_HTTP_EDGE_HIDDEN  __attribute__((visibility("hidden")))
#else
#define NGX_HTTP_EDGE_HIDDEN
#endif
#endif


/* the connect time limit of every outbound request */
#define NGX_HTTP_EDGE_CURL_CONNECT_MS  10000


typedef struct {
    ngx_uint_t                allow_private;  /* internal addresses too */
    edge_net_class_e          refused;        /* EDGE_NET_PUBLIC: none */
} ngx_http_edge_curl_guard_t;


/*
 * Sets the common options on curl (after curl_easy_reset() or on a new
 * handle).  guard: the address policy, its "refused" reset here and set
 * by a refused connection; NULL for a destination the configuration
 * names (no policy).  Returns libcurl's code of the first option it
 * refused.
 */
NGX_HTTP_EDGE_HIDDEN CURLcode ngx_http_edge_curl_common(CURL *curl,
    ngx_http_edge_curl_guard_t *guard);


#endif /* _NGX_HTTP_EDGE_CURL_H_INCLUDED_ */
