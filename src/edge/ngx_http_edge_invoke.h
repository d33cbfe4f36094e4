
/*
 * The job endpoints' glue shared by the photo-edge modules (the Lambda
 * "invoke" contract): the X-Amz-Invocation-Type header and the request
 * body in one piece.
 *
 * The file is compiled into each module's .so that uses it; its functions
 * are hidden, as ngx_http_edge_json.h explains.
 */


#ifndef _NGX_HTTP_EDGE_INVOKE_H_INCLUDED_
#define _NGX_HTTP_EDGE_INVOKE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


#ifndef NGX_HTTP_EDGE_HIDDEN
#if (__GNUC__ >= 4)
#define NGX_HTTP_EDGE_HIDDEN  __attribute__((visibility("hidden")))
#else
#define NGX_HTTP_EDGE_HIDDEN
#endif
#endif


/* X-Amz-Invocation-Type */
#define NGX_HTTP_EDGE_INVOKE_SYNC      0   /* RequestResponse */
#define NGX_HTTP_EDGE_INVOKE_EVENT     1   /* Event */
#define NGX_HTTP_EDGE_INVOKE_DRYRUN    2   /* DryRun */
#define NGX_HTTP_EDGE_INVOKE_BAD       3   /* any other value */

/* ngx_http_edge_invoke_body() flags */
#define NGX_HTTP_EDGE_INVOKE_COPY      1   /* a NUL-terminated copy */


/*
 * The first X-Amz-Invocation-Type header's mode (its value compared
 * without case); dflt without the header: each endpoint keeps its own.
 */
NGX_HTTP_EDGE_HIDDEN ngx_uint_t ngx_http_edge_invoke_type(
    ngx_http_request_t *r, ngx_uint_t dflt);

/*
 * The request body in one piece, read back from its temporary file when
 * it went to one (larger than client_body_buffer_size, at most
 * client_max_body_size).  Without NGX_HTTP_EDGE_INVOKE_COPY a body in one
 * memory buffer is not copied, and no body is an empty string with a
 * NULL data; with it the body is always a copy followed by a NUL.
 * NGX_ERROR: out of memory, or the file could not be read (logged,
 * prefixed with "<module>: failed:").
 */
NGX_HTTP_EDGE_HIDDEN ngx_int_t ngx_http_edge_invoke_body(
    ngx_http_request_t *r, ngx_str_t *body, ngx_uint_t flags,
    const char *module);


#endif /* _NGX_HTTP_EDGE_INVOKE_H_INCLUDED_ */
