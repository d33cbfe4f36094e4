
/*
 * The job endpoints' glue shared by the photo-edge modules (see the
 * header).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_edge_invoke.h"
#include "ngx_http_edge_json.h"


static ngx_int_t ngx_http_edge_invoke_header_out(ngx_http_request_t *r,
    const char *key, u_char *value, size_t len);
static u_char *ngx_http_edge_invoke_json2(ngx_http_request_t *r,
    const char *k1, const char *v1, const char *k2, const char *v2,
    size_t *len);
static ngx_int_t ngx_http_edge_invoke_version(ngx_http_request_t *r);


static ngx_str_t  ngx_http_edge_invoke_header =
    ngx_string("X-Amz-Invocation-Type");

static ngx_str_t  ngx_http_edge_invoke_id_header =
    ngx_string("X-Amzn-RequestId");

/* the request ids' counter, per worker */
static ngx_uint_t  ngx_http_edge_invoke_seq;


ngx_uint_t
ngx_http_edge_invoke_type(ngx_http_request_t *r, ngx_uint_t dflt)
{
    ngx_str_t        *v;
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len != ngx_http_edge_invoke_header.len
            || ngx_strncasecmp(h[i].key.data,
                               ngx_http_edge_invoke_header.data,
                               ngx_http_edge_invoke_header.len)
               != 0)
        {
            continue;
        }

        v = &h[i].value;

        if (v->len == 5 && ngx_strncasecmp(v->data, (u_char *) "Event", 5)
                           == 0)
        {
            return NGX_HTTP_EDGE_INVOKE_EVENT;
        }

        if (v->len == 15
            && ngx_strncasecmp(v->data, (u_char *) "RequestResponse", 15)
               == 0)
        {
            return NGX_HTTP_EDGE_INVOKE_SYNC;
        }

        if (v->len == 6 && ngx_strncasecmp(v->data, (u_char *) "DryRun", 6)
                           == 0)
        {
            return NGX_HTTP_EDGE_INVOKE_DRYRUN;
        }

        return NGX_HTTP_EDGE_INVOKE_BAD;
    }

    return dflt;
}


ngx_int_t
ngx_http_edge_invoke_body(ngx_http_request_t *r, ngx_str_t *body,
    ngx_uint_t flags, const char *module)
{
    off_t         len;
    u_char       *p;
    ssize_t       n;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    ngx_str_null(body);

    if (r->request_body == NULL || r->request_body->bufs == NULL) {
        return NGX_OK;
    }

    cl = r->request_body->bufs;

    if (!(flags & NGX_HTTP_EDGE_INVOKE_COPY)
        && cl->next == NULL && ngx_buf_in_memory(cl->buf))
    {
        body->data = cl->buf->pos;
        body->len = cl->buf->last - cl->buf->pos;
        return NGX_OK;
    }

    len = 0;

    for ( /* void */ ; cl; cl = cl->next) {
        len += ngx_buf_size(cl->buf);
    }

    if (len == 0 && !(flags & NGX_HTTP_EDGE_INVOKE_COPY)) {
        return NGX_OK;
    }

    p = ngx_pnalloc(r->pool, len + 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    body->data = p;
    body->len = len;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        b = cl->buf;

        if (ngx_buf_in_memory(b)) {
            p = ngx_cpymem(p, b->pos, b->last - b->pos);
            continue;
        }

        if (!b->in_file) {
            continue;
        }

        n = ngx_read_file(b->file, p, b->file_last - b->file_pos,
                          b->file_pos);

        if (n != b->file_last - b->file_pos) {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "%s: failed: reading the request body from "
                          "\"%V\"", module, &b->file->name);
            return NGX_ERROR;
        }

        p += n;
    }

    *p = '\0';

    return NGX_OK;
}


static ngx_int_t
ngx_http_edge_invoke_header_out(ngx_http_request_t *r, const char *key,
    u_char *value, size_t len)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    h->key.data = (u_char *) key;
    h->key.len = ngx_strlen(key);
    h->value.data = value;
    h->value.len = len;

    return NGX_OK;
}


ngx_int_t
ngx_http_edge_invoke_request_id(ngx_http_request_t *r)
{
    u_char           *p;
    uint32_t          a, b, c, d;
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    part = &r->headers_out.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].hash != 0
            && h[i].key.len == ngx_http_edge_invoke_id_header.len
            && ngx_strncasecmp(h[i].key.data,
                               ngx_http_edge_invoke_id_header.data,
                               h[i].key.len)
               == 0)
        {
            return NGX_OK;
        }
    }

    /* time, pid and a counter make it unique; random bits make it opaque */

    a = (uint32_t) ngx_time();
    b = (uint32_t) ngx_pid;
    c = (uint32_t) ngx_http_edge_invoke_seq++;
    d = (uint32_t) ngx_random();

    p = ngx_pnalloc(r->pool, 36);
    if (p == NULL) {
        return NGX_ERROR;
    }

    (void) ngx_sprintf(p, "%08xD-%04xD-4%03xD-%04xD-%04xD%08xD", a,
                       b & 0xffff, (c >> 16) & 0x0fff,
                       0x8000 | ((b >> 16) & 0x3fff), c & 0xffff, d);

    return ngx_http_edge_invoke_header_out(r, "X-Amzn-RequestId", p, 36);
}


/* {"<k1>": "<v1>", "<k2>": "<v2>"}, the values escaped */

static u_char *
ngx_http_edge_invoke_json2(ngx_http_request_t *r, const char *k1,
    const char *v1, const char *k2, const char *v2, size_t *len)
{
    u_char  *json, *p;
    size_t   n1, n2;

    n1 = ngx_strlen(v1);
    n2 = ngx_strlen(v2);

    *len = sizeof("{\"\": \"\", \"\": \"\"}") - 1 + ngx_strlen(k1)
           + ngx_strlen(k2) + n1 + ngx_escape_json(NULL, (u_char *) v1, n1)
           + n2 + ngx_escape_json(NULL, (u_char *) v2, n2);

    json = ngx_pnalloc(r->pool, *len);
    if (json == NULL) {
        return NULL;
    }

    p = ngx_sprintf(json, "{\"%s\": \"", k1);
    p = (u_char *) ngx_escape_json(p, (u_char *) v1, n1);
    p = ngx_sprintf(p, "\", \"%s\": \"", k2);
    p = (u_char *) ngx_escape_json(p, (u_char *) v2, n2);
    *p++ = '"';
    *p++ = '}';

    *len = p - json;

    return json;
}


ngx_int_t
ngx_http_edge_invoke_error(ngx_http_request_t *r, ngx_uint_t status,
    const char *type, const char *msg)
{
    u_char  *json;
    size_t   len;

    if (ngx_http_edge_invoke_request_id(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    json = ngx_http_edge_invoke_json2(r, "Type",
                                      (status >= 500) ? "Service" : "User",
                                      "message", msg, &len);
    if (json == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_edge_invoke_header_out(r, "x-amzn-ErrorType",
                                        (u_char *) type, ngx_strlen(type))
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_edge_json_send(r, status, json, len);
}


ngx_int_t
ngx_http_edge_invoke_throttled(ngx_http_request_t *r, ngx_uint_t seconds,
    const char *msg)
{
    u_char  *p;

    p = ngx_pnalloc(r->pool, NGX_INT_T_LEN);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_edge_invoke_header_out(r, "Retry-After", p,
                                        ngx_sprintf(p, "%ui", seconds) - p)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_edge_invoke_error(r, NGX_HTTP_TOO_MANY_REQUESTS,
                                      "TooManyRequestsException", msg);
}


static ngx_int_t
ngx_http_edge_invoke_version(ngx_http_request_t *r)
{
    if (ngx_http_edge_invoke_request_id(r) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_edge_invoke_header_out(r, "X-Amz-Executed-Version",
                                           (u_char *) "$LATEST",
                                           sizeof("$LATEST") - 1);
}


ngx_int_t
ngx_http_edge_invoke_failed(ngx_http_request_t *r, const char *type,
    const char *msg)
{
    u_char  *json;
    size_t   len;

    if (ngx_http_edge_invoke_version(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    json = ngx_http_edge_invoke_json2(r, "errorMessage", msg, "errorType",
                                      type, &len);
    if (json == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_edge_invoke_header_out(r, "X-Amz-Function-Error",
                                        (u_char *) "Unhandled",
                                        sizeof("Unhandled") - 1)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_edge_json_send(r, NGX_HTTP_OK, json, len);
}


ngx_int_t
ngx_http_edge_invoke_result(ngx_http_request_t *r, ngx_uint_t mode,
    u_char *json, size_t len)
{
    if (ngx_http_edge_invoke_version(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (mode == NGX_HTTP_EDGE_INVOKE_SYNC) {
        return ngx_http_edge_json_send(r, NGX_HTTP_OK, json, len);
    }

    r->headers_out.status = (mode == NGX_HTTP_EDGE_INVOKE_EVENT)
                            ? NGX_HTTP_ACCEPTED : NGX_HTTP_NO_CONTENT;
    r->headers_out.content_length_n = 0;
    r->header_only = 1;

    return ngx_http_send_header(r);
}


ngx_int_t
ngx_http_edge_invoke_refused(ngx_http_request_t *r, ngx_uint_t mode,
    const char *err)
{
    u_char  *msg, *p;
    size_t   n;

    /* the parsers' messages for what is not JSON start with "payload: " */

    if (ngx_strncmp(err, "payload: not valid JSON",
                    sizeof("payload: not valid JSON") - 1) == 0
        || ngx_strncmp(err, "payload: must not contain NUL",
                       sizeof("payload: must not contain NUL") - 1) == 0)
    {
        n = ngx_strlen(err);

        msg = ngx_pnalloc(r->pool,
                          sizeof("Could not parse request body into json: ")
                          + n);
        if (msg == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        p = ngx_cpymem(msg, "Could not parse request body into json: ",
                       sizeof("Could not parse request body into json: ")
                       - 1);
        p = ngx_cpymem(p, err, n);
        *p = '\0';

        return ngx_http_edge_invoke_error(r, NGX_HTTP_BAD_REQUEST,
                                          "InvalidRequestContentException",
                                          (char *) msg);
    }

    if (mode == NGX_HTTP_EDGE_INVOKE_SYNC) {
        return ngx_http_edge_invoke_failed(r, "ValueError", err);
    }

    return ngx_http_edge_invoke_error(r, NGX_HTTP_BAD_REQUEST,
                                      "InvalidRequestContentException", err);
}
