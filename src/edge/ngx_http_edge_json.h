
/*
 * JSON responses shared by the photo-edge modules: a body with a status,
 * {"error": "<msg>"}, and 405 with an Allow header.
 *
 * The file is compiled into each module's .so.  The modules are loaded
 * with RTLD_GLOBAL, so these functions are hidden: each .so binds its own
 * copy and none interposes another's.
 */


#ifndef _NGX_HTTP_EDGE_JSON_H_INCLUDED_
#define _NGX_HTTP_EDGE_JSON_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


#if (__GNUC__ >= 4)
#define NGX_HTTP_EDGE_HIDDEN  __attribute__((visibility("hidden")))
#else
#define NGX_HTTP_EDGE_HIDDEN
#endif


NGX_HTTP_EDGE_HIDDEN ngx_int_t ngx_http_edge_json_send(ngx_http_request_t *r,
    ngx_uint_t status, u_char *json, size_t len);
NGX_HTTP_EDGE_HIDDEN ngx_int_t ngx_http_edge_json_error(ngx_http_request_t *r,
    ngx_uint_t status, const char *msg);
NGX_HTTP_EDGE_HIDDEN ngx_int_t ngx_http_edge_not_allowed(ngx_http_request_t *r,
    const char *allow, const char *msg);


#endif /* _NGX_HTTP_EDGE_JSON_H_INCLUDED_ */
