
/*
 * The job endpoints' glue shared by the photo-edge modules (the Lambda
 * "invoke" contract): the X-Amz-Invocation-Type header, the request body
 * in one piece, the request id, and Lambda's response shapes:
 *
 * - an error of the service (bad request, throttling, authentication):
 *   its status, "x-amzn-ErrorType: <Type>" and {"Type": "User", "message":
 *   "..."} ("Service" for a 5xx), which the SDKs raise as that error;
 * - an error of the function (it ran, or its payload was refused under
 *   RequestResponse): 200, "X-Amz-Function-Error: Unhandled" and
 *   {"errorMessage": "...", "errorType": "..."}; never a 5xx, which the
 *   SDKs would retry, running the job again;
 * - a result: RequestResponse 200 with the function's JSON, Event 202 and
 *   DryRun 204 with no body; all with "X-Amz-Executed-Version: $LATEST".
 *
 * Every answer carries X-Amzn-RequestId: ngx_http_lambda_module sets it
 * first, and these functions add one when it is not there yet.
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


/* X-Amzn-RequestId (a UUID, unique per worker and time), once */
NGX_HTTP_EDGE_HIDDEN ngx_int_t ngx_http_edge_invoke_request_id(
    ngx_http_request_t *r);

/* an error of the service: type is Lambda's ("ResourceNotFoundException") */
NGX_HTTP_EDGE_HIDDEN ngx_int_t ngx_http_edge_invoke_error(
    ngx_http_request_t *r, ngx_uint_t status, const char *type,
    const char *msg);

/* 429 TooManyRequestsException with Retry-After: seconds */
NGX_HTTP_EDGE_HIDDEN ngx_int_t ngx_http_edge_invoke_throttled(
    ngx_http_request_t *r, ngx_uint_t seconds, const char *msg);

/* an error of the function: 200 with X-Amz-Function-Error: Unhandled */
NGX_HTTP_EDGE_HIDDEN ngx_int_t ngx_http_edge_invoke_failed(
    ngx_http_request_t *r, const char *type, const char *msg);

/* a result of mode (json only for RequestResponse) */
NGX_HTTP_EDGE_HIDDEN ngx_int_t ngx_http_edge_invoke_result(
    ngx_http_request_t *r, ngx_uint_t mode, u_char *json, size_t len);

/*
 * A payload refused, with the parser's message (err): JSON that does not
 * parse is 400 InvalidRequestContentException whatever the mode; one that
 * fails validation is an error of the function ("ValueError") under
 * RequestResponse, and 400 InvalidRequestContentException with the same
 * message under Event and DryRun (fail fast: nothing would report it).
 */
NGX_HTTP_EDGE_HIDDEN ngx_int_t ngx_http_edge_invoke_refused(
    ngx_http_request_t *r, ngx_uint_t mode, const char *err);


#endif /* _NGX_HTTP_EDGE_INVOKE_H_INCLUDED_ */
