
/*
 * The job endpoints' glue shared by the photo-edge modules (see the
 * header).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_edge_invoke.h"


static ngx_str_t  ngx_http_edge_invoke_header =
    ngx_string("X-Amz-Invocation-Type");


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
