
/*
 * JSON responses shared by the photo-edge modules (see the header).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_edge_json.h"


/*
 * The body is not copied: it must live as long as the request.  A HEAD
 * gets the headers only; an empty body sends no buffer.
 */

ngx_int_t
ngx_http_edge_json_send(ngx_http_request_t *r, ngx_uint_t status,
    u_char *json, size_t len)
{
    ngx_int_t     rc;
    ngx_buf_t    *b;
    ngx_chain_t   out;

    r->headers_out.status = status;
    r->headers_out.content_length_n = len;

    ngx_str_set(&r->headers_out.content_type, "application/json");
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_type_lowcase = NULL;

    if (r->method == NGX_HTTP_HEAD) {
        r->header_only = 1;
    }

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only || len == 0) {
        return rc;
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_ERROR;
    }

    b->pos = json;
    b->last = json + len;
    b->memory = 1;
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


/* {"error": "<msg>"}; the message is copied (it may be on the stack) */

ngx_int_t
ngx_http_edge_json_error(ngx_http_request_t *r, ngx_uint_t status,
    const char *msg)
{
    u_char  *json, *p;
    size_t   len, n;

    n = ngx_strlen(msg);
    len = sizeof("{\"error\": \"\"}") - 1 + n
          + ngx_escape_json(NULL, (u_char *) msg, n);

    json = ngx_pnalloc(r->pool, len);
    if (json == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_cpymem(json, "{\"error\": \"", sizeof("{\"error\": \"") - 1);
    p = (u_char *) ngx_escape_json(p, (u_char *) msg, n);
    ngx_memcpy(p, "\"}", 2);

    return ngx_http_edge_json_send(r, status, json, len);
}


/* 405: the body is discarded first; "allow" (e.g. "PUT, POST") is static */

ngx_int_t
ngx_http_edge_not_allowed(ngx_http_request_t *r, const char *allow,
    const char *msg)
{
    ngx_int_t         rc;
    ngx_table_elt_t  *h;

    rc = ngx_http_discard_request_body(r);

    if (rc != NGX_OK) {
        return rc;
    }

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Allow");
    h->value.data = (u_char *) allow;
    h->value.len = ngx_strlen(allow);

    return ngx_http_edge_json_error(r, NGX_HTTP_NOT_ALLOWED, msg);
}
