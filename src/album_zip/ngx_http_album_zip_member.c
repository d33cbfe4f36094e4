
/*
 * ngx_http_album_zip_module: the members.
 *
 * Each member is a subrequest, with a pool of its own, whose response
 * this filter frames: the local header before its first data byte, the
 * CRC-32 computed on the way, the data descriptor after its last byte.
 * A member that fails is skipped or fails the archive.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_album_zip.h"


static void ngx_http_album_zip_member_window(ngx_http_album_zip_ctx_t *ctx,
    ngx_http_album_zip_member_ctx_t *mctx);
static ngx_int_t ngx_http_album_zip_member_setup(ngx_http_request_t *r,
    ngx_http_album_zip_ctx_t *ctx, ngx_http_album_zip_member_ctx_t *mctx,
    ngx_http_request_t *sr);
static ngx_int_t ngx_http_album_zip_remote_headers(ngx_http_request_t *r,
    ngx_http_album_zip_ctx_t *ctx, ngx_http_album_zip_member_ctx_t *mctx,
    ngx_http_request_t *sr);
static const char *ngx_http_album_zip_member_range(ngx_http_request_t *sr,
    ngx_http_album_zip_member_ctx_t *mctx);
static ngx_uint_t ngx_http_album_zip_nvariables(ngx_http_request_t *r);
static ngx_pool_t *ngx_http_album_zip_member_pool(ngx_http_request_t *r,
    ngx_http_album_zip_ctx_t *ctx);
static void ngx_http_album_zip_destroy_pools(void *data);
static const char *ngx_http_album_zip_member_size(ngx_http_request_t *sr,
    ngx_http_album_zip_member_ctx_t *mctx);
static ngx_chain_t *ngx_http_album_zip_member_local(ngx_http_request_t *sr,
    ngx_http_album_zip_member_ctx_t *mctx);
static ngx_int_t ngx_http_album_zip_member_data(ngx_http_request_t *sr,
    ngx_http_album_zip_member_ctx_t *mctx, ngx_chain_t *in, ngx_chain_t **ll);
static ngx_int_t ngx_http_album_zip_clip(ngx_http_album_zip_member_ctx_t *mctx,
    ngx_buf_t *b, off_t at, off_t size);
static ngx_chain_t *ngx_http_album_zip_member_trailer(ngx_http_request_t *sr,
    ngx_http_album_zip_member_ctx_t *mctx);
static ngx_int_t ngx_http_album_zip_member_next(ngx_http_request_t *sr,
    ngx_http_album_zip_member_ctx_t *mctx, ngx_chain_t *in);
static ngx_int_t ngx_http_album_zip_member_reason(ngx_http_request_t *sr,
    ngx_http_album_zip_member_ctx_t *mctx, const char *reason);
static ngx_int_t ngx_http_album_zip_member_done(ngx_http_request_t *sr,
    void *data, ngx_int_t rc);
static void ngx_http_album_zip_track(ngx_http_album_zip_member_ctx_t *mctx,
    ngx_buf_t *b);
static ngx_chain_t *ngx_http_album_zip_slice(ngx_pool_t *pool, u_char *data,
    off_t from, off_t to);


extern ngx_module_t  ngx_http_copy_filter_module;


/* a member: a subrequest whose output this filter frames */

ngx_int_t
ngx_http_album_zip_member_start(ngx_http_request_t *r,
    ngx_http_album_zip_ctx_t *ctx, ngx_uint_t i)
{
    ngx_int_t                         rc;
    ngx_str_t                        *uri, *args;
    ngx_pool_t                       *pool, *saved;
    ngx_http_request_t               *sr;
    ngx_http_album_zip_member_t      *m;
    ngx_http_post_subrequest_t       *ps;
    ngx_http_album_zip_member_ctx_t  *mctx;

    m = &ctx->members[i];

    pool = ngx_http_album_zip_member_pool(r, ctx);
    if (pool == NGX_CONF_ERROR) {
        return NGX_ERROR;
    }

    mctx = ngx_pcalloc(pool ? pool : r->pool,
                       sizeof(ngx_http_album_zip_member_ctx_t));
    if (mctx == NULL) {
        goto failed;
    }

    mctx->pool = pool;
    mctx->type = NGX_HTTP_ALBUM_ZIP_MEMBER;
    mctx->main = ctx;
    mctx->index = i;
    mctx->fd = NGX_INVALID_FILE;
    mctx->compute_crc = !ctx->entries[i].has_crc;

    ngx_http_album_zip_member_window(ctx, mctx);

    ps = ngx_palloc(pool ? pool : r->pool,
                    sizeof(ngx_http_post_subrequest_t));
    if (ps == NULL) {
        goto failed;
    }

    ps->handler = ngx_http_album_zip_member_done;
    ps->data = mctx;

    if (m->kind == ALBUM_ZIP_MANIFEST_REMOTE) {
        uri = &ctx->conf->remote;
        args = NULL;

    } else {
        uri = &m->uri;
        args = m->args.len ? &m->args : NULL;
    }

    /*
     * ngx_http_subrequest() allocates the subrequest from the parent's
     * pool, where it would stay until the whole archive is sent: about
     * 5 KB a member.  For the time of the call the parent's pool is the
     * member's own.
     */

    saved = r->pool;

    if (pool) {
        r->pool = pool;
    }

    rc = ngx_http_subrequest(r, uri, args, &sr, ps,
                             NGX_HTTP_SUBREQUEST_WAITED);

    r->pool = saved;

    if (rc != NGX_OK) {
        goto failed;
    }

    return ngx_http_album_zip_member_setup(r, ctx, mctx, sr);

failed:

    if (pool) {
        ngx_destroy_pool(pool);
    }

    return NGX_ERROR;
}


/* the member's record (header, data, descriptor) clipped to [start, end) */

static void
ngx_http_album_zip_member_window(ngx_http_album_zip_ctx_t *ctx,
    ngx_http_album_zip_member_ctx_t *mctx)
{
    off_t               hlen, dlen, base;
    album_zip_entry_t  *e;

    e = &ctx->entries[mctx->index];

    hlen = album_zip_local_header_len(e);
    dlen = album_zip_descriptor_len(e);

    if (ctx->dynamic) {
        mctx->header_to = NGX_MAX_OFF_T_VALUE;
        mctx->data_to = NGX_MAX_OFF_T_VALUE;
        mctx->desc_to = NGX_MAX_OFF_T_VALUE;
        return;
    }

    base = (off_t) e->offset;

    mctx->header_from = ngx_max(ctx->start - base, 0);
    mctx->header_to = ngx_min(ctx->end - base, hlen);

    base += hlen;
    mctx->data_from = ngx_max(ctx->start - base, 0);
    mctx->data_to = ngx_min(ctx->end - base, (off_t) e->size);

    base += (off_t) e->size;
    mctx->desc_from = ngx_max(ctx->start - base, 0);
    mctx->desc_to = ngx_min(ctx->end - base, dlen);
}


/* the member's subrequest made: it joins the members in flight */

static ngx_int_t
ngx_http_album_zip_member_setup(ngx_http_request_t *r,
    ngx_http_album_zip_ctx_t *ctx, ngx_http_album_zip_member_ctx_t *mctx,
    ngx_http_request_t *sr)
{
    if (mctx->pool) {
        /* its own variables: no cached value may outlive its pool */
        sr->variables = ngx_pcalloc(mctx->pool,
                                    ngx_http_album_zip_nvariables(r)
                                    * sizeof(ngx_http_variable_value_t));
        if (sr->variables == NULL) {
            return NGX_ERROR;
        }
    }

    mctx->sr = sr;
    ngx_http_set_ctx(sr, mctx, ngx_http_album_zip_module);

    if (ctx->head) {
        /* its headers only: a file is not read, an origin sends no body */
        sr->method = NGX_HTTP_HEAD;
        ngx_str_set(&sr->method_name, "HEAD");
        sr->header_only = 1;
    }

    ctx->inflight[ctx->active++] = mctx;

    ngx_log_debug4(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "album_zip: member %ui \"%V\" started, %ui in flight%s",
                   mctx->index + 1, &ctx->members[mctx->index].source,
                   ctx->active, mctx->compute_crc ? ", CRC computed" : "");

    /* the CRC needs the bytes; a known CRC lets sendfile do the work */
    sr->filter_need_in_memory = mctx->compute_crc;

    /* a manifest reaches internal locations only through the allow list */
    if (!ctx->members[mctx->index].trusted) {
        sr->internal = 0;
    }

    if (ctx->members[mctx->index].kind == ALBUM_ZIP_MANIFEST_REMOTE) {
        return ngx_http_album_zip_remote_headers(r, ctx, mctx, sr);
    }

    return NGX_OK;
}


/*
 * A remote member's origin is someone else's server: it gets none of the
 * client's headers (cookies, credentials, User-Agent), only those named
 * by album_zip_pass_headers, and a Range when only part of its data is
 * sent: the origin sends that part, not the whole member.
 */

static ngx_int_t
ngx_http_album_zip_remote_headers(ngx_http_request_t *r,
    ngx_http_album_zip_ctx_t *ctx, ngx_http_album_zip_member_ctx_t *mctx,
    ngx_http_request_t *sr)
{
    off_t               from, to;
    u_char             *p;
    ngx_uint_t          i, j;
    ngx_str_t          *pass;
    ngx_pool_t         *pool;
    ngx_list_part_t    *part;
    ngx_table_elt_t    *h, *copy;
    album_zip_entry_t  *e;

    pool = mctx->pool ? mctx->pool : r->pool;
    e = &ctx->entries[mctx->index];

    ngx_memzero(&sr->headers_in, sizeof(ngx_http_headers_in_t));

    sr->headers_in.server = r->headers_in.server;
    sr->headers_in.content_length_n = -1;
    sr->headers_in.keep_alive_n = -1;

    if (ngx_list_init(&sr->headers_in.headers, pool, 4,
                      sizeof(ngx_table_elt_t))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    pass = ctx->conf->pass_headers ? ctx->conf->pass_headers->elts : NULL;

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; pass; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        for (j = 0; j < ctx->conf->pass_headers->nelts; j++) {
            if (h[i].key.len == pass[j].len
                && ngx_strncasecmp(h[i].key.data, pass[j].data, pass[j].len)
                   == 0)
            {
                break;
            }
        }

        if (j == ctx->conf->pass_headers->nelts) {
            continue;
        }

        copy = ngx_list_push(&sr->headers_in.headers);
        if (copy == NULL) {
            return NGX_ERROR;
        }

        *copy = h[i];
    }

    if (ctx->dynamic || e->size == 0 || ctx->head
        || (mctx->data_from <= 0 && mctx->data_to >= (off_t) e->size))
    {
        return NGX_OK;
    }

    from = mctx->data_from;
    to = mctx->data_to;

    if (from >= to) {
        /* only its header or descriptor is sent: one byte will do */
        from = 0;
        to = 1;
    }

    h = ngx_list_push(&sr->headers_in.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    p = ngx_pnalloc(pool, sizeof("bytes=-") - 1 + 2 * NGX_OFF_T_LEN);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ngx_str_set(&h->key, "Range");
    h->lowcase_key = (u_char *) "range";
    h->hash = ngx_hash_key(h->lowcase_key, h->key.len);
    h->value.data = p;
    h->value.len = ngx_sprintf(p, "bytes=%O-%O", from, to - 1) - p;

    sr->headers_in.range = h;

    mctx->ranged = 1;
    mctx->range_from = from;
    mctx->range_to = to;

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "album_zip: member %ui asks its origin for \"%V\"",
                   mctx->index + 1, &h->value);

    return NGX_OK;
}


/*
 * A ranged member's answer: 206 with exactly the Content-Range asked
 * for, or 200 with all of it (an origin that ignores Range: clipped
 * here as before).  NULL, or why it cannot be sent.
 */

static const char *
ngx_http_album_zip_member_range(ngx_http_request_t *sr,
    ngx_http_album_zip_member_ctx_t *mctx)
{
    u_char             *p;
    ngx_str_t          *v;
    album_zip_entry_t  *e;
    u_char              want[sizeof("bytes --/") + 3 * NGX_OFF_T_LEN];

    e = &mctx->main->entries[mctx->index];

    if (sr->headers_out.status == NGX_HTTP_OK) {
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, sr->connection->log, 0,
                       "album_zip: member %ui: the origin sent all of it",
                       mctx->index + 1);
        mctx->ranged = 0;
        return NULL;
    }

    if (sr->headers_out.content_range == NULL) {
        return "206 without Content-Range";
    }

    v = &sr->headers_out.content_range->value;
    p = ngx_sprintf(want, "bytes %O-%O/%O", mctx->range_from,
                    mctx->range_to - 1, (off_t) e->size);

    if (v->len != (size_t) (p - want)
        || ngx_strncasecmp(v->data, want, v->len) != 0)
    {
        return "origin answered another range";
    }

    if (sr->headers_out.content_length_n >= 0
        && sr->headers_out.content_length_n
           != mctx->range_to - mctx->range_from)
    {
        return "origin's 206 has the wrong length";
    }

    mctx->received = mctx->range_from;

    return NULL;
}


static ngx_uint_t
ngx_http_album_zip_nvariables(ngx_http_request_t *r)
{
    ngx_http_core_main_conf_t  *cmcf;

    cmcf = ngx_http_get_module_main_conf(r, ngx_http_core_module);

    return cmcf->variables.nelts;
}


/*
 * A pool of the member's own, destroyed once its bytes are sent and
 * nothing after this filter can still reach them (close_files(),
 * member_next()): memory per download stays flat whatever the album's
 * size.
 */

static ngx_pool_t *
ngx_http_album_zip_member_pool(ngx_http_request_t *r,
    ngx_http_album_zip_ctx_t *ctx)
{
    ngx_pool_t                *pool;
    ngx_pool_cleanup_t        *cln;
    ngx_http_core_srv_conf_t  *cscf;

    if (!ctx->pools_cleanup) {
        cln = ngx_pool_cleanup_add(r->pool, 0);
        if (cln == NULL) {
            return NGX_CONF_ERROR;
        }

        cln->handler = ngx_http_album_zip_destroy_pools;
        cln->data = ctx;
        ctx->pools_cleanup = 1;
    }

    cscf = ngx_http_get_module_srv_conf(r, ngx_http_core_module);

    pool = ngx_create_pool(cscf->request_pool_size, r->connection->log);
    if (pool == NULL) {
        return NGX_CONF_ERROR;
    }

    return pool;
}


/* the request ends: members still alive go with it */

static void
ngx_http_album_zip_destroy_pools(void *data)
{
    ngx_http_album_zip_ctx_t *ctx = data;

    ngx_uint_t   i;
    ngx_pool_t  *pool;

    for (i = 0; i < ctx->active; i++) {
        pool = ctx->inflight[i]->pool;

        if (pool) {
            ctx->inflight[i]->pool = NULL;
            ngx_destroy_pool(pool);
        }
    }

    ctx->active = 0;

    for (i = 0; i < ctx->nclosing; i++) {
        pool = ctx->closing[i]->pool;

        if (pool) {
            ctx->closing[i]->pool = NULL;
            ngx_destroy_pool(pool);
        }
    }

    ctx->nclosing = 0;
}


ngx_int_t
ngx_http_album_zip_member_header(ngx_http_request_t *sr,
    ngx_http_album_zip_member_ctx_t *mctx)
{
    u_char                    *p;
    ngx_buf_t                  last;
    ngx_int_t                  rc;
    ngx_chain_t                cl;
    const char                *reason;
    album_zip_entry_t         *e;
    ngx_http_album_zip_ctx_t  *ctx;

    ctx = mctx->main;
    e = &ctx->entries[mctx->index];

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, sr->connection->log, 0,
                   "album_zip: member %ui header: status %ui, %O bytes",
                   mctx->index + 1, sr->headers_out.status,
                   sr->headers_out.content_length_n);

    if (ctx->state != NGX_HTTP_ALBUM_ZIP_STREAM || ctx->failed) {
        mctx->failed = 1;
        return NGX_OK;
    }

    if (sr->headers_out.status != NGX_HTTP_OK
        && !(mctx->ranged
             && sr->headers_out.status == NGX_HTTP_PARTIAL_CONTENT))
    {
        p = ngx_pnalloc(sr->pool, 32);
        if (p == NULL) {
            return NGX_ERROR;
        }

        (void) ngx_sprintf(p, "status %ui%Z", sr->headers_out.status);

        if (mctx->failed) {
            /*
             * The error page of a member member_done() has skipped: its
             * status is the better reason for MISSING.txt, and the skip
             * is logged already.
             */
            return ngx_http_album_zip_member_reason(sr, mctx, (char *) p);
        }

        return ngx_http_album_zip_member_fail(sr, mctx,
                           sr->headers_out.status == NGX_HTTP_NOT_FOUND
                           ? NGX_HTTP_NOT_FOUND : NGX_HTTP_BAD_GATEWAY,
                           (char *) p);
    }

    if (ngx_http_album_zip_unchanged(sr, &ctx->members[mctx->index],
                                     NGX_INVALID_FILE)
        != NGX_OK)
    {
        return ngx_http_album_zip_changed(sr, mctx);
    }

    reason = NULL;

    if (mctx->ranged) {
        reason = ngx_http_album_zip_member_range(sr, mctx);
    }

    if (reason == NULL && !mctx->ranged) {
        reason = ngx_http_album_zip_member_size(sr, mctx);
    }

    if (reason) {
        return ngx_http_album_zip_member_fail(sr, mctx, NGX_HTTP_BAD_GATEWAY,
                                              reason);
    }

    /*
     * The headers go with the first member in range: a member fetched
     * ahead may answer before it, and the first one may still fail with
     * a real status.  A dynamic layout fetches one member at a time.
     */

    if (!ctx->headers_sent && (ctx->dynamic || mctx->index == ctx->first)) {
        rc = ngx_http_album_zip_send_headers(sr->main, ctx);
        if (rc == NGX_ERROR || rc > NGX_OK) {
            return NGX_ERROR;
        }
    }

    if (ctx->head) {
        /* the member is there: that was all a HEAD asked */
        mctx->finished = 1;

        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, sr->connection->log, 0,
                       "album_zip: member %ui is there: HEAD done",
                       mctx->index + 1);
        return NGX_OK;
    }

    if (e->size == 0) {
        /*
         * nginx sends no body at all for an empty file in a subrequest:
         * the member's record (its header) is complete now.
         */
        ngx_memzero(&last, sizeof(ngx_buf_t));
        last.last_in_chain = 1;
        last.sync = 1;

        cl.buf = &last;
        cl.next = NULL;

        return ngx_http_album_zip_member_body(sr, mctx, &cl);
    }

    /* nothing below us is told: the member is framed into the archive */
    return NGX_OK;
}


/*
 * The member's size checked against the manifest's, or learnt from its
 * Content-Length; in a dynamic layout its fields at the offset reached
 * so far.  NULL, or why the member cannot be sent.
 */

static const char *
ngx_http_album_zip_member_size(ngx_http_request_t *sr,
    ngx_http_album_zip_member_ctx_t *mctx)
{
    album_zip_entry_t         *e, tmp;
    album_zip_archive_t        ar;
    ngx_http_album_zip_ctx_t  *ctx;

    ctx = mctx->main;
    e = &ctx->entries[mctx->index];

    if (ctx->members[mctx->index].size_known) {
        if (sr->headers_out.content_length_n >= 0
            && sr->headers_out.content_length_n != (off_t) e->size)
        {
            return "size differs from the manifest";
        }

    } else {
        if (sr->headers_out.content_length_n < 0) {
            return "size unknown (no Content-Length)";
        }

        e->size = sr->headers_out.content_length_n;
        ctx->members[mctx->index].size_known = 1;
    }

    if (e->mtime == 0 && sr->headers_out.last_modified_time > 0) {
        /* only where the layout may still change: it is not fixed yet */
        if (ctx->dynamic) {
            e->mtime = sr->headers_out.last_modified_time;
        }
    }

    if (ctx->dynamic) {
        /* this member's fields, at the offset reached so far */
        tmp = *e;
        if (album_zip_layout(&ar, &tmp, 1) != ALBUM_ZIP_OK) {
            return "cannot be framed";
        }

        *e = tmp;
        e->offset = ctx->sent;
        e->zip64_offset = e->offset >= 0xffffffff;

        /*
         * Only a CRC nobody gave is computed: member_start() let a known
         * one's data come as file buffers (sendfile), which have no bytes
         * in memory to checksum.
         */
        mctx->compute_crc = !e->has_crc;
    }

    return NULL;
}


ngx_int_t
ngx_http_album_zip_member_body(ngx_http_request_t *sr,
    ngx_http_album_zip_member_ctx_t *mctx, ngx_chain_t *in)
{
    ngx_int_t                  rc;
    ngx_chain_t               *out, **ll, *cl;
    album_zip_entry_t         *e;
    ngx_http_album_zip_ctx_t  *ctx;

    ctx = mctx->main;
    e = &ctx->entries[mctx->index];

    /*
     * Even with nothing of its own to add, a member calls the next filter:
     * the postpone filter flushes what it held back for it when called.
     */

    if (mctx->failed || mctx->finished || ctx->failed
        || ctx->state != NGX_HTTP_ALBUM_ZIP_STREAM)
    {
        ngx_http_album_zip_swallow(in);
        return ngx_http_album_zip_member_next(sr, mctx, NULL);
    }

    out = NULL;
    ll = &out;

    if (!mctx->started) {
        mctx->started = 1;

        cl = ngx_http_album_zip_member_local(sr, mctx);
        if (cl == NGX_CHAIN_ERROR) {
            return NGX_ERROR;
        }

        if (cl) {
            *ll = cl;
            ll = &cl->next;
        }
    }

    rc = ngx_http_album_zip_member_data(sr, mctx, in, ll);

    if (rc == NGX_ERROR) {
        return NGX_ERROR;
    }

    if (rc == NGX_DECLINED) {
        return ngx_http_album_zip_member_fail(sr, mctx, NGX_HTTP_BAD_GATEWAY,
                                              "longer than its size");
    }

    while (*ll) {
        ll = &(*ll)->next;
    }

    if (rc == NGX_DONE) {
        mctx->finished = 1;

        if (mctx->received
            != (mctx->ranged ? mctx->range_to : (off_t) e->size))
        {
            return ngx_http_album_zip_member_fail(sr, mctx,
                                                  NGX_HTTP_BAD_GATEWAY,
                                                  "shorter than its size");
        }

        /*
         * Read to its end, data from memory is what the file held; a file
         * sendfile() reads later is checked when it is closed.
         */
        if (mctx->fd == NGX_INVALID_FILE
            && ngx_http_album_zip_unchanged(sr, &ctx->members[mctx->index],
                                            NGX_INVALID_FILE)
               != NGX_OK)
        {
            return ngx_http_album_zip_changed(sr, mctx);
        }

        cl = ngx_http_album_zip_member_trailer(sr, mctx);
        if (cl == NGX_CHAIN_ERROR) {
            return NGX_ERROR;
        }

        *ll = cl;

        ngx_log_debug3(NGX_LOG_DEBUG_HTTP, sr->connection->log, 0,
                       "album_zip: member %ui end: %O bytes, CRC %08xD",
                       mctx->index + 1, mctx->received,
                       mctx->compute_crc ? mctx->crc : e->crc32);
    }

    for (cl = out; cl; cl = cl->next) {
        mctx->last_out = cl->buf;
    }

    return ngx_http_album_zip_member_next(sr, mctx, out);
}


/* the member's local header, clipped to what is sent of it */

static ngx_chain_t *
ngx_http_album_zip_member_local(ngx_http_request_t *sr,
    ngx_http_album_zip_member_ctx_t *mctx)
{
    u_char                    *hdr;
    size_t                     len;
    ngx_chain_t               *cl;
    album_zip_entry_t         *e;
    ngx_http_album_zip_ctx_t  *ctx;

    ctx = mctx->main;
    e = &ctx->entries[mctx->index];

    len = album_zip_local_header_len(e);

    hdr = ngx_pnalloc(sr->pool, len);
    if (hdr == NULL) {
        return NGX_CHAIN_ERROR;
    }

    (void) album_zip_write_local_header(e, hdr);

    /*
     * A dynamic member's window is open-ended (header_to is
     * NGX_MAX_OFF_T_VALUE): clip it to the header actually written.
     */

    cl = ngx_http_album_zip_slice(sr->pool, hdr, mctx->header_from,
                                  ngx_min(mctx->header_to, (off_t) len));
    if (cl == NGX_CHAIN_ERROR) {
        return NGX_CHAIN_ERROR;
    }

    if (ctx->dynamic) {
        ctx->sent += len;
    }

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, sr->connection->log, 0,
                   "album_zip: member %ui start: header of %uz bytes at %O",
                   mctx->index + 1, len, (off_t) e->offset);

    return cl;
}


/*
 * The member's data buffers, checksummed when its CRC is computed and
 * clipped to what is sent of it, are linked to *ll.  NGX_DONE: its last
 * buffer was seen; NGX_DECLINED: it is longer than its size.
 */

static ngx_int_t
ngx_http_album_zip_member_data(ngx_http_request_t *sr,
    ngx_http_album_zip_member_ctx_t *mctx, ngx_chain_t *in, ngx_chain_t **ll)
{
    off_t               size, at;
    ngx_buf_t          *b;
    ngx_uint_t          end;
    ngx_chain_t        *cl, *tail;
    album_zip_entry_t  *e;

    e = &mctx->main->entries[mctx->index];

    end = 0;

    for (cl = in; cl; cl = cl->next) {
        b = cl->buf;

        if (b->last_buf || b->last_in_chain) {
            end = 1;
        }

        size = ngx_buf_size(b);

        if (size == 0 || ngx_buf_special(b)) {
            continue;
        }

        at = mctx->received;

        if (at + size > (mctx->ranged ? mctx->range_to : (off_t) e->size)) {
            return NGX_DECLINED;
        }

        mctx->received += size;

        if (mctx->compute_crc) {
            if (!ngx_buf_in_memory(b)) {
                ngx_log_error(NGX_LOG_ALERT, sr->connection->log, 0,
                              "album_zip: member data not in memory");
                return NGX_ERROR;
            }

            mctx->crc = album_zip_crc32(mctx->crc, b->pos, b->last - b->pos);
        }

        if (ngx_http_album_zip_clip(mctx, b, at, size) != NGX_OK) {
            continue;
        }

        /* a buffer of the member's own chain is sent as it is */
        tail = ngx_alloc_chain_link(sr->pool);
        if (tail == NULL) {
            return NGX_ERROR;
        }

        tail->buf = b;
        tail->next = NULL;
        *ll = tail;
        ll = &tail->next;
    }

    return end ? NGX_DONE : NGX_OK;
}


/*
 * Keeps only the part of a data buffer (at "at" in the member) inside
 * [data_from, data_to), and remembers the file and the memory it came
 * in.  NGX_DECLINED: nothing of it is sent.
 */

static ngx_int_t
ngx_http_album_zip_clip(ngx_http_album_zip_member_ctx_t *mctx, ngx_buf_t *b,
    off_t at, off_t size)
{
    off_t  from, to;

    from = ngx_max(mctx->data_from - at, 0);
    to = ngx_min(mctx->data_to - at, size);

    if (from >= to) {
        if (ngx_buf_in_memory(b)) {
            b->pos = b->last;
        }

        if (b->in_file) {
            b->file_pos = b->file_last;
        }

        return NGX_DECLINED;
    }

    if (ngx_buf_in_memory(b)) {
        b->last = b->pos + to;
        b->pos += from;
    }

    if (b->in_file) {
        b->file_last = b->file_pos + to;
        b->file_pos += from;
    }

    if (b->file && b->file->fd != NGX_INVALID_FILE) {
        mctx->fd = b->file->fd;
        mctx->file_buf = b->in_file ? b : NULL;
    }

    /*
     * Only the copy filter's own buffers: an upstream's event pipe
     * recycles its buffers in ways this filter cannot see.
     */
    if (b->temporary && b->start
        && b->tag == (ngx_buf_tag_t) &ngx_http_copy_filter_module)
    {
        ngx_http_album_zip_track(mctx, b);
    }

    return NGX_OK;
}


/*
 * The member's last byte was seen: its data descriptor, clipped to what
 * is sent of it (NULL: nothing), and its CRC where it was computed.
 */

static ngx_chain_t *
ngx_http_album_zip_member_trailer(ngx_http_request_t *sr,
    ngx_http_album_zip_member_ctx_t *mctx)
{
    u_char                    *d, desc[ALBUM_ZIP_DESCRIPTOR_MAX];
    size_t                     len;
    ngx_chain_t               *cl;
    album_zip_entry_t         *e;
    ngx_http_album_zip_ctx_t  *ctx;

    ctx = mctx->main;
    e = &ctx->entries[mctx->index];
    cl = NULL;

    if (album_zip_descriptor_len(e)) {
        len = album_zip_write_descriptor(e, mctx->compute_crc
                                            ? mctx->crc : e->crc32,
                                         desc);

        d = ngx_pnalloc(sr->pool, len);
        if (d == NULL) {
            return NGX_CHAIN_ERROR;
        }

        ngx_memcpy(d, desc, len);

        cl = ngx_http_album_zip_slice(sr->pool, d, mctx->desc_from,
                                      ngx_min(mctx->desc_to, (off_t) len));
        if (cl == NGX_CHAIN_ERROR) {
            return NGX_CHAIN_ERROR;
        }

        if (ctx->dynamic) {
            ctx->sent += len;
        }

    } else if (mctx->compute_crc) {
        e->crc32 = mctx->crc;
    }

    if (mctx->compute_crc && ctx->conf->crc_cache
        && ctx->members[mctx->index].has_id)
    {
        /* the next download of this album knows it in advance */
        ngx_http_album_zip_crc_put(ctx->conf->crc_cache,
                                   &ctx->members[mctx->index].id,
                                   mctx->crc);
    }

    if (ctx->dynamic) {
        ctx->sent += e->size;
    }

    return cl;
}


/*
 * Over HTTP/2, ngx_http_v2_send_chain() takes the chain links of its DATA
 * frames from the pool of the request active on the stream (fc->data: the
 * member's subrequest while it writes), and the frame handler gives them
 * back to the main request's pool (stream->request->pool), whose free list
 * any later output may take them from.  A link of the member's pool would
 * outlive it there: for the time of the call the member's subrequest uses
 * the main request's pool.  Only the postpone filter's copies of a member
 * that is not yet the active one stay there (a few dozen bytes).
 */

static ngx_int_t
ngx_http_album_zip_member_next(ngx_http_request_t *sr,
    ngx_http_album_zip_member_ctx_t *mctx, ngx_chain_t *in)
{
#if (NGX_HTTP_V2)
    ngx_int_t    rc;
    ngx_pool_t  *pool;

    if (sr->stream && mctx->pool) {
        pool = sr->pool;
        sr->pool = sr->main->pool;

        rc = ngx_http_album_zip_next_body_filter(sr, in);

        sr->pool = pool;

        return rc;
    }
#endif

    return ngx_http_album_zip_next_body_filter(sr, in);
}


static ngx_int_t
ngx_http_album_zip_member_done(ngx_http_request_t *sr, void *data,
    ngx_int_t rc)
{
    ngx_http_album_zip_member_ctx_t *mctx = data;

    ngx_http_album_zip_ctx_t  *ctx;

    /*
     * nginx may call this more than once for one subrequest (an error
     * status, then its error page): it only records a failure.  The pump
     * counts members as finished by sr->done.
     */

    ctx = mctx->main;

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, sr->connection->log, 0,
                   "album_zip: member %ui subrequest done: %i",
                   mctx->index + 1, rc);

    if ((rc == NGX_ERROR || rc >= NGX_HTTP_SPECIAL_RESPONSE)
        && !mctx->failed && !mctx->finished && !ctx->failed
        && ctx->state == NGX_HTTP_ALBUM_ZIP_STREAM)
    {
        (void) ngx_http_album_zip_member_fail(sr, mctx,
                                              rc == NGX_HTTP_NOT_FOUND
                                              ? NGX_HTTP_NOT_FOUND
                                              : NGX_HTTP_BAD_GATEWAY,
                                              rc == NGX_HTTP_NOT_FOUND
                                              ? "not found" : "failed");
    }

    if (ctx->failed && ctx->headers_sent
        && ctx->state == NGX_HTTP_ALBUM_ZIP_STREAM)
    {
        /* the client must see a broken transfer, never a short archive */
        sr->main->connection->error = 1;
        return NGX_ERROR;
    }

    if (rc == NGX_ERROR && mctx->failed && !ctx->failed) {
        /* skipped: the rest of the archive goes on */
        return NGX_OK;
    }

    return rc;
}


/*
 * A member's copy-filter buffers (files read to compute a CRC) come from
 * the main request's pool, where nginx would keep them until the whole
 * archive is sent: 64 KB per member by default.  Each allocation is
 * remembered by its address (buffer structs are recycled, their fields
 * change) with the last buffer seen in it, and given back once that
 * buffer has been sent.
 */

static void
ngx_http_album_zip_track(ngx_http_album_zip_member_ctx_t *mctx, ngx_buf_t *b)
{
    ngx_uint_t  i;

    for (i = 0; i < mctx->nmem; i++) {
        if (mctx->mem[i] == b->start) {
            mctx->mem_buf[i] = b;
            return;
        }
    }

    if (mctx->nmem < NGX_HTTP_ALBUM_ZIP_MEMBER_BUFS) {
        mctx->mem[mctx->nmem] = b->start;
        mctx->mem_buf[mctx->nmem] = b;
        mctx->nmem++;
    }
}


/*
 * A member no longer the file of the listing fails as a missing one
 * would (left out before its first byte under "album_zip_missing skip").
 * Once the archive's headers are out, the connection is reset, not
 * closed: no clean end for a client to take the archive as whole.
 */

ngx_int_t
ngx_http_album_zip_changed(ngx_http_request_t *sr,
    ngx_http_album_zip_member_ctx_t *mctx)
{
    ngx_int_t                  rc;
    struct linger              linger;
    ngx_connection_t          *c;
    ngx_http_album_zip_ctx_t  *ctx;

    ctx = mctx->main;
    c = sr->main->connection;

    rc = ngx_http_album_zip_member_fail(sr, mctx,
                                        NGX_HTTP_SERVICE_UNAVAILABLE,
                                        "changed since the album was listed");

    if (!ctx->headers_sent || !ctx->failed) {
        return rc;
    }

#if (NGX_HTTP_V2)
    if (sr->main->stream) {
        /* the stream is reset, the other streams go on */
        return NGX_ERROR;
    }
#endif

    linger.l_onoff = 1;
    linger.l_linger = 0;

    if (setsockopt(c->fd, SOL_SOCKET, SO_LINGER, (const void *) &linger,
                   sizeof(struct linger))
        == -1)
    {
        ngx_log_error(NGX_LOG_ALERT, c->log, ngx_socket_errno,
                      "album_zip: setsockopt(SO_LINGER) failed");
    }

    return NGX_ERROR;
}


/*
 * A member failed.  With "skip" (the archive is dynamic) it is left out,
 * if nothing of it was sent yet; otherwise the archive fails: with a real
 * status while no header is out, by closing the connection after.
 */

/* a member's reason, kept in the main request's pool for MISSING.txt */

static ngx_int_t
ngx_http_album_zip_member_reason(ngx_http_request_t *sr,
    ngx_http_album_zip_member_ctx_t *mctx, const char *reason)
{
    ngx_http_album_zip_member_t  *m;

    m = &mctx->main->members[mctx->index];

    m->reason.len = ngx_strlen(reason);
    m->reason.data = ngx_pnalloc(sr->main->pool, m->reason.len);
    if (m->reason.data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(m->reason.data, reason, m->reason.len);

    return NGX_OK;
}


ngx_int_t
ngx_http_album_zip_member_fail(ngx_http_request_t *sr,
    ngx_http_album_zip_member_ctx_t *mctx, ngx_uint_t status,
    const char *reason)
{
    u_char                       *p;
    ngx_str_t                     msg;
    ngx_http_request_t           *r;
    ngx_http_album_zip_ctx_t     *ctx;
    ngx_http_album_zip_member_t  *m;

    ctx = mctx->main;
    r = sr->main;
    m = &ctx->members[mctx->index];

    mctx->failed = 1;

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "album_zip: member %ui fails: %s%s",
                   mctx->index + 1, reason,
                   mctx->started ? " (started)" : "");

    if (r->connection->error && !ctx->failed) {
        /* the client went away: nginx has said so, at info, as we do */
        ctx->failed = 1;

        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "album_zip: archive stopped at member %ui \"%V\": "
                      "the client is gone", mctx->index + 1, &m->source);
        return NGX_ERROR;
    }

    if (ngx_http_album_zip_member_reason(sr, mctx, reason) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ctx->conf->missing == NGX_HTTP_ALBUM_ZIP_MISSING_SKIP
        && !mctx->started)
    {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "album_zip: member %ui \"%V\" skipped: %s",
                      mctx->index + 1, &m->source, reason);

        m->skipped = 1;
        ctx->skipped = 1;

        return NGX_OK;
    }

    ctx->failed = 1;

    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                  "album_zip: member %ui \"%V\" failed: %s%s",
                  mctx->index + 1, &m->source, reason,
                  ctx->headers_sent ? ", archive aborted" : "");

    if (ctx->headers_sent) {
        r->connection->error = 1;
        return NGX_ERROR;
    }

    p = ngx_pnalloc(r->pool, 64 + m->source.len + m->reason.len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    msg.data = p;
    msg.len = ngx_sprintf(p, "album member %ui \"%V\": %V\n",
                          mctx->index + 1, &m->source, &m->reason)
              - p;

    ctx->failed = 0;

    if (ngx_http_album_zip_send_error(r, ctx, status, &msg) == NGX_ERROR) {
        return NGX_ERROR;
    }

    ctx->failed = 1;

    return NGX_OK;
}


static ngx_chain_t *
ngx_http_album_zip_slice(ngx_pool_t *pool, u_char *data, off_t from,
    off_t to)
{
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    if (from >= to) {
        return NULL;
    }

    b = ngx_calloc_buf(pool);
    if (b == NULL) {
        return NGX_CHAIN_ERROR;
    }

    b->pos = data + from;
    b->last = data + to;
    b->memory = 1;

    cl = ngx_alloc_chain_link(pool);
    if (cl == NULL) {
        return NGX_CHAIN_ERROR;
    }

    cl->buf = b;
    cl->next = NULL;

    return cl;
}
