
/*
 * ngx_http_album_zip_module: the streaming engine.
 *
 * The main request sends what it generates itself (the central directory
 * and end records, the headers of directory entries); every member is a
 * subrequest whose output passes this filter, which frames it: the local
 * header goes in front of the first data byte, the CRC-32 is computed on
 * the way when it was not known, and the data descriptor goes after the
 * last byte.  nginx's postpone filter keeps the pieces in order, so
 * several members can be fetched ahead (album_zip_prefetch) while one is
 * written.
 *
 * The main request's body filter is the pump: nginx calls it again (with
 * no data) when a member subrequest has finished and when the client can
 * take more, and it starts the next members or sends the next chunk of
 * the central directory.  r->buffered keeps nginx from finalizing the
 * request before the archive is complete.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_album_zip.h"


static ngx_int_t ngx_http_album_zip_header_filter(ngx_http_request_t *r);
static ngx_int_t ngx_http_album_zip_body_filter(ngx_http_request_t *r,
    ngx_chain_t *in);
static ngx_int_t ngx_http_album_zip_is_manifest(ngx_http_request_t *r);
static ngx_int_t ngx_http_album_zip_marked(ngx_list_part_t *part,
    ngx_uint_t mod_zip);
static ngx_int_t ngx_http_album_zip_capture(ngx_http_request_t *r,
    ngx_http_album_zip_ctx_t *ctx, ngx_chain_t *in);
static ngx_int_t ngx_http_album_zip_from_manifest(ngx_http_request_t *r,
    ngx_http_album_zip_ctx_t *ctx);
static ngx_int_t ngx_http_album_zip_pump(ngx_http_request_t *r,
    ngx_http_album_zip_ctx_t *ctx);
static ngx_int_t ngx_http_album_zip_pump_once(ngx_http_request_t *r,
    ngx_http_album_zip_ctx_t *ctx);
static ngx_int_t ngx_http_album_zip_reap(ngx_http_request_t *r,
    ngx_http_album_zip_ctx_t *ctx);
static void ngx_http_album_zip_track(ngx_http_album_zip_member_ctx_t *mctx,
    ngx_buf_t *b);
static void ngx_http_album_zip_close_files(ngx_http_request_t *r,
    ngx_http_album_zip_ctx_t *ctx);
static ngx_int_t ngx_http_album_zip_purge(ngx_http_request_t *r,
    ngx_http_album_zip_ctx_t *ctx);
static ngx_uint_t ngx_http_album_zip_posted(ngx_http_request_t *r,
    ngx_http_request_t *sr);
static void ngx_http_album_zip_destroy_member(ngx_http_request_t *r,
    ngx_http_album_zip_member_ctx_t *mctx);
static ngx_int_t ngx_http_album_zip_send_headers(ngx_http_request_t *r,
    ngx_http_album_zip_ctx_t *ctx);
static ngx_int_t ngx_http_album_zip_send_bytes(ngx_http_request_t *r,
    u_char *data, size_t len, ngx_uint_t last);
static ngx_int_t ngx_http_album_zip_send_central(ngx_http_request_t *r,
    ngx_http_album_zip_ctx_t *ctx);
static ngx_int_t ngx_http_album_zip_finish_dynamic(ngx_http_request_t *r,
    ngx_http_album_zip_ctx_t *ctx);
static ngx_int_t ngx_http_album_zip_member_start(ngx_http_request_t *r,
    ngx_http_album_zip_ctx_t *ctx, ngx_uint_t i);
static ngx_uint_t ngx_http_album_zip_nvariables(ngx_http_request_t *r);
static ngx_pool_t *ngx_http_album_zip_member_pool(ngx_http_request_t *r,
    ngx_http_album_zip_ctx_t *ctx);
static void ngx_http_album_zip_destroy_pools(void *data);
static ngx_int_t ngx_http_album_zip_member_header(ngx_http_request_t *sr,
    ngx_http_album_zip_member_ctx_t *mctx);
static ngx_int_t ngx_http_album_zip_member_body(ngx_http_request_t *sr,
    ngx_http_album_zip_member_ctx_t *mctx, ngx_chain_t *in);
static ngx_int_t ngx_http_album_zip_member_next(ngx_http_request_t *sr,
    ngx_http_album_zip_member_ctx_t *mctx, ngx_chain_t *in);
static ngx_int_t ngx_http_album_zip_member_done(ngx_http_request_t *sr,
    void *data, ngx_int_t rc);
static ngx_int_t ngx_http_album_zip_changed(ngx_http_request_t *sr,
    ngx_http_album_zip_member_ctx_t *mctx);
static ngx_uint_t ngx_http_album_zip_unchecked(ngx_http_album_zip_ctx_t *ctx);
static ngx_int_t ngx_http_album_zip_member_fail(ngx_http_request_t *sr,
    ngx_http_album_zip_member_ctx_t *mctx, ngx_uint_t status,
    const char *reason);
static ngx_chain_t *ngx_http_album_zip_slice(ngx_pool_t *pool, u_char *data,
    off_t from, off_t to);
static void ngx_http_album_zip_swallow(ngx_chain_t *in);
static ngx_int_t ngx_http_album_zip_send_error(ngx_http_request_t *r,
    ngx_http_album_zip_ctx_t *ctx, ngx_uint_t status, ngx_str_t *msg);


extern ngx_module_t  ngx_http_copy_filter_module;


static ngx_http_output_header_filter_pt  ngx_http_next_header_filter;
static ngx_http_output_body_filter_pt    ngx_http_next_body_filter;


static ngx_str_t  ngx_http_album_zip_trigger = ngx_string("X-Album-Zip");
static ngx_str_t  ngx_http_album_zip_mod_zip = ngx_string("X-Archive-Files");


ngx_int_t
ngx_http_album_zip_filter_init(ngx_conf_t *cf)
{
    ngx_http_next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = ngx_http_album_zip_header_filter;

    ngx_http_next_body_filter = ngx_http_top_body_filter;
    ngx_http_top_body_filter = ngx_http_album_zip_body_filter;

    return NGX_OK;
}


static ngx_int_t
ngx_http_album_zip_header_filter(ngx_http_request_t *r)
{
    ngx_int_t                       rc;
    ngx_str_t                       msg;
    ngx_http_album_zip_ctx_t       *ctx;
    ngx_http_album_zip_loc_conf_t  *conf;

    ctx = ngx_http_get_module_ctx(r, ngx_http_album_zip_module);

    if (ctx && ctx->type == NGX_HTTP_ALBUM_ZIP_MEMBER) {
        return ngx_http_album_zip_member_header(r,
                                   (ngx_http_album_zip_member_ctx_t *) ctx);
    }

    if (r != r->main) {
        return ngx_http_next_header_filter(r);
    }

    if (ctx && ctx->state != NGX_HTTP_ALBUM_ZIP_PASS) {
        /* the archive's own headers, or an error about it */
        return ngx_http_next_header_filter(r);
    }

    conf = ngx_http_get_module_loc_conf(r, ngx_http_album_zip_module);

    if (!conf->enable
        || r->headers_out.status != NGX_HTTP_OK
        || ngx_http_album_zip_is_manifest(r) != NGX_OK)
    {
        if (ctx && ctx->head) {
            r->header_only = 1;
        }

        return ngx_http_next_header_filter(r);
    }

    if (ctx == NULL) {
        ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_album_zip_ctx_t));
        if (ctx == NULL) {
            return NGX_ERROR;
        }

        ctx->type = NGX_HTTP_ALBUM_ZIP_MAIN;
        ctx->request = r;
        ngx_http_set_ctx(r, ctx, ngx_http_album_zip_module);
    }

    ctx->conf = conf;
    ctx->state = NGX_HTTP_ALBUM_ZIP_MANIFEST;
    ctx->content_type = r->headers_out.content_type;

    if (r->headers_out.content_length_n > (off_t) conf->max_manifest) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "album_zip: manifest of %O bytes is larger than "
                      "album_zip_max_manifest_size %uz",
                      r->headers_out.content_length_n, conf->max_manifest);

        /*
         * The 413 is sent from here: a status returned would become
         * nginx's error page, which the body filter (DONE) would then
         * swallow along with the manifest.
         */
        ngx_str_set(&msg, "album manifest too large\n");

        rc = ngx_http_album_zip_send_error(r, ctx,
                                           NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                           &msg);

        return (rc == NGX_ERROR) ? NGX_ERROR : NGX_OK;
    }

    /* the manifest must reach the body filter as bytes, not file buffers */
    r->filter_need_in_memory = 1;

    return NGX_OK;
}


static ngx_int_t
ngx_http_album_zip_is_manifest(ngx_http_request_t *r)
{
    /* a proxied app's header, or one set with add_header */

    if (r->upstream == NULL) {
        return ngx_http_album_zip_marked(&r->headers_out.headers.part, 1);
    }

    if (ngx_http_album_zip_marked(&r->upstream->headers_in.headers.part, 1)
        == NGX_OK)
    {
        return NGX_OK;
    }

    /* add_header on a proxied location lands in headers_out */
    return ngx_http_album_zip_marked(&r->headers_out.headers.part, 0);
}


/* "X-Album-Zip: zip" (or, with mod_zip set, "X-Archive-Files: zip") */

static ngx_int_t
ngx_http_album_zip_marked(ngx_list_part_t *part, ngx_uint_t mod_zip)
{
    ngx_uint_t        i;
    ngx_table_elt_t  *h;

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

        if (h[i].hash == 0 || h[i].value.len < 3
            || ngx_strncasecmp(h[i].value.data, (u_char *) "zip", 3) != 0)
        {
            continue;
        }

        if ((h[i].key.len == ngx_http_album_zip_trigger.len
             && ngx_strncasecmp(h[i].key.data,
                                ngx_http_album_zip_trigger.data,
                                h[i].key.len) == 0)
            || (mod_zip
                && h[i].key.len == ngx_http_album_zip_mod_zip.len
                && ngx_strncasecmp(h[i].key.data,
                                   ngx_http_album_zip_mod_zip.data,
                                   h[i].key.len) == 0))
        {
            return NGX_OK;
        }
    }

    return NGX_DECLINED;
}


static ngx_int_t
ngx_http_album_zip_body_filter(ngx_http_request_t *r, ngx_chain_t *in)
{
    ngx_int_t                  rc;
    ngx_http_album_zip_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_album_zip_module);

    if (ctx == NULL) {
        return ngx_http_next_body_filter(r, in);
    }

    if (ctx->type == NGX_HTTP_ALBUM_ZIP_MEMBER) {
        return ngx_http_album_zip_member_body(r,
                                   (ngx_http_album_zip_member_ctx_t *) ctx,
                                   in);
    }

    if (r != r->main) {
        return ngx_http_next_body_filter(r, in);
    }

    switch (ctx->state) {

    case NGX_HTTP_ALBUM_ZIP_PASS:
        return ngx_http_next_body_filter(r, in);

    case NGX_HTTP_ALBUM_ZIP_MANIFEST:
        rc = ngx_http_album_zip_capture(r, ctx, in);

        if (rc == NGX_AGAIN) {
            return NGX_OK;
        }

        if (rc != NGX_OK || ctx->state != NGX_HTTP_ALBUM_ZIP_MANIFEST) {
            /* an error, or the 413 already sent: no archive from a part */
            return rc;
        }

        return ngx_http_album_zip_from_manifest(r, ctx);

    case NGX_HTTP_ALBUM_ZIP_STREAM:
        /* the manifest response may still end with an empty last buffer */
        ngx_http_album_zip_swallow(in);
        return ngx_http_album_zip_pump(r, ctx);

    default: /* NGX_HTTP_ALBUM_ZIP_DONE */
        ngx_http_album_zip_swallow(in);

        if (r->out || r->connection->buffered) {
            return ngx_http_next_body_filter(r, NULL);
        }

        return NGX_OK;
    }
}


/* collects the manifest; NGX_AGAIN until its last byte */

static ngx_int_t
ngx_http_album_zip_capture(ngx_http_request_t *r,
    ngx_http_album_zip_ctx_t *ctx, ngx_chain_t *in)
{
    size_t              size, want;
    ngx_buf_t          *b, *m;
    ngx_str_t           msg;
    ngx_uint_t          last;
    ngx_chain_t        *cl;

    last = 0;

    for (cl = in; cl; cl = cl->next) {
        b = cl->buf;

        if (b->last_buf || b->last_in_chain) {
            last = 1;
        }

        if (!ngx_buf_in_memory(b)) {
            if (ngx_buf_size(b) != 0) {
                ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                              "album_zip: manifest body not in memory");
                return NGX_ERROR;
            }

            continue;
        }

        size = b->last - b->pos;
        m = ctx->manifest;
        want = (m ? (size_t) (m->last - m->pos) : 0) + size;

        /*
         * The limit is checked against what arrived, not only when the
         * buffer grows: its first allocation is at least 4k.
         */

        if (want > ctx->conf->max_manifest) {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "album_zip: manifest is larger than "
                          "album_zip_max_manifest_size %uz",
                          ctx->conf->max_manifest);

            ngx_str_set(&msg, "album manifest too large\n");
            ngx_http_album_zip_swallow(in);

            return ngx_http_album_zip_send_error(r, ctx,
                                       NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                       &msg);
        }

        if (m == NULL || (size_t) (m->end - m->last) < size) {
            want = ngx_max(want, ngx_min(2 * want, ctx->conf->max_manifest));
            want = ngx_max(want, 4096);

            if (m == NULL && r->headers_out.content_length_n > 0) {
                want = ngx_max(want,
                               (size_t) r->headers_out.content_length_n);
            }

            m = ngx_create_temp_buf(r->pool, want);
            if (m == NULL) {
                return NGX_ERROR;
            }

            if (ctx->manifest) {
                m->last = ngx_cpymem(m->pos, ctx->manifest->pos,
                                     ctx->manifest->last
                                     - ctx->manifest->pos);

                /* the old copy was a large allocation: give it back */
                ngx_pfree(r->pool, ctx->manifest->start);
            }

            ctx->manifest = m;
        }

        m->last = ngx_cpymem(m->last, b->pos, size);
        b->pos = b->last;
    }

    return last ? NGX_OK : NGX_AGAIN;
}


/* the manifest is complete: members, limits, layout, then the stream */

static ngx_int_t
ngx_http_album_zip_from_manifest(ngx_http_request_t *r,
    ngx_http_album_zip_ctx_t *ctx)
{
    u_char                           *err;
    ngx_int_t                         rc;
    ngx_str_t                         msg;
    ngx_uint_t                        i, n, status;
    album_zip_entry_t                *e;
    album_zip_manifest_t              mf;
    album_zip_manifest_limits_t       limits;
    album_zip_manifest_member_t      *mm;
    ngx_http_album_zip_member_t      *m;
    album_zip_manifest_format_t       format;
    ngx_http_album_zip_loc_conf_t    *conf;
    const album_zip_manifest_str_t   *allow;

    conf = ctx->conf;

    err = ngx_pnalloc(r->pool, 256);
    if (err == NULL) {
        return NGX_ERROR;
    }

    format = ALBUM_ZIP_MANIFEST_AUTO;

    if (ctx->content_type.len >= sizeof("application/json") - 1
        && ngx_strncasecmp(ctx->content_type.data,
                           (u_char *) "application/json",
                           sizeof("application/json") - 1) == 0)
    {
        format = ALBUM_ZIP_MANIFEST_JSON;
    }

    ngx_memzero(&limits, sizeof(limits));
    limits.max_members = conf->max_files;
    limits.max_total_size = (uint64_t) conf->max_size;

    if (ctx->manifest == NULL) {
        ctx->manifest = ngx_calloc_buf(r->pool);
        if (ctx->manifest == NULL) {
            return NGX_ERROR;
        }
    }

    rc = album_zip_manifest_parse(ctx->manifest->pos,
                                  ctx->manifest->last - ctx->manifest->pos,
                                  format, &limits,
                                  ngx_http_album_zip_palloc, r->pool,
                                  &mf, (char *) err, 256);

    if (rc != ALBUM_ZIP_MANIFEST_OK) {
        if (rc == ALBUM_ZIP_MANIFEST_ENOMEM) {
            return NGX_ERROR;
        }

        status = (rc == ALBUM_ZIP_MANIFEST_ELIMIT)
                 ? NGX_HTTP_REQUEST_ENTITY_TOO_LARGE : NGX_HTTP_BAD_GATEWAY;
        msg.data = err;
        msg.len = ngx_strlen(err);

        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "album_zip: invalid manifest: %V", &msg);

        return ngx_http_album_zip_send_error(r, ctx, status, &msg);
    }

    n = mf.nmembers;

    ctx->entries = ngx_pcalloc(r->pool, (n ? n : 1) * sizeof(*e));
    ctx->members = ngx_pcalloc(r->pool, (n ? n : 1) * sizeof(*m));
    if (ctx->entries == NULL || ctx->members == NULL) {
        return NGX_ERROR;
    }

    /* ngx_str_t and the parser's string have the same layout */
    allow = conf->allow ? conf->allow->elts : NULL;

    for (i = 0; i < n; i++) {
        mm = &mf.members[i];
        m = &ctx->members[i];
        e = &ctx->entries[i];

        m->kind = mm->kind;
        m->uri.data = (u_char *) mm->url.data;
        m->uri.len = mm->url.len;
        m->args.data = (u_char *) mm->args.data;
        m->args.len = mm->args.len;
        m->source = m->uri;
        m->size_known = mm->has_size
                        || mm->kind == ALBUM_ZIP_MANIFEST_DIRECTORY;

        e->name = (const char *) mm->name.data;
        e->name_len = mm->name.len;
        e->size = mm->has_size ? mm->size : 0;
        e->crc32 = mm->crc32;
        e->has_crc = mm->has_crc;
        e->mtime = mm->has_mtime ? mm->mtime : 0;
        e->is_dir = (mm->kind == ALBUM_ZIP_MANIFEST_DIRECTORY);

        if (mm->kind == ALBUM_ZIP_MANIFEST_DIRECTORY) {
            continue;
        }

        if (mm->kind == ALBUM_ZIP_MANIFEST_REMOTE && conf->remote.len == 0) {
            msg.data = err;
            msg.len = ngx_snprintf(err, 256,
                                   "member %ui: remote URL, but no "
                                   "album_zip_remote location\n", i + 1)
                      - err;
            goto refused;
        }

        if (allow) {
            if (!album_zip_manifest_allowed(mm, allow, conf->allow->nelts)) {
                msg.data = err;
                msg.len = ngx_snprintf(err, 256,
                                       "member %ui: \"%*s\" is not under "
                                       "an album_zip_allow prefix\n",
                                       i + 1,
                                       ngx_min(mm->url.len, 128),
                                       mm->url.data)
                          - err;
                goto refused;
            }

            m->trusted = 1;

        } else {
            /* without a list, members reach only non-internal locations */
            m->trusted = (mm->kind == ALBUM_ZIP_MANIFEST_REMOTE);
        }
    }

    ctx->nentries = n;

    if (mf.name.len) {
        ctx->name.data = (u_char *) mf.name.data;
        ctx->name.len = mf.name.len;
    }

    rc = ngx_http_album_zip_prepare(r, ctx, &msg);

    if (rc != NGX_OK) {
        if (rc == NGX_HTTP_RANGE_NOT_SATISFIABLE) {
            return ngx_http_album_zip_start(r, ctx);
        }

        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "album_zip: %V", &msg);

        return ngx_http_album_zip_send_error(r, ctx, rc, &msg);
    }

    return ngx_http_album_zip_start(r, ctx);

refused:

    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                  "album_zip: manifest refused: %*s",
                  msg.len - 1, msg.data);

    return ngx_http_album_zip_send_error(r, ctx, NGX_HTTP_FORBIDDEN, &msg);
}


/*
 * Starts sending a prepared archive (from the manifest filter or from the
 * directory handler).  The headers wait for the first member's response,
 * so that a member missing up front gives a real status.
 */

ngx_int_t
ngx_http_album_zip_start(ngx_http_request_t *r, ngx_http_album_zip_ctx_t *ctx)
{
    ngx_int_t          rc;
    ngx_str_t          msg;
    album_zip_piece_t  piece;

    ctx->state = NGX_HTTP_ALBUM_ZIP_STREAM;
    r->buffered |= NGX_HTTP_ALBUM_ZIP_BUFFERED;

    if (ctx->start >= ctx->end && !ctx->dynamic) {
        /* an unsatisfiable range */

        if (!ctx->content) {
            /*
             * Not ngx_http_filter_finalize_request(): it cleans the
             * headers, Content-Range with them.
             */
            ngx_str_set(&msg, "requested range not satisfiable\n");

            return ngx_http_album_zip_send_error(r, ctx,
                                        NGX_HTTP_RANGE_NOT_SATISFIABLE, &msg);
        }

        r->headers_out.status = NGX_HTTP_RANGE_NOT_SATISFIABLE;
        ngx_http_clear_content_length(r);

        if (ngx_http_album_zip_set_unsatisfiable(r, ctx) != NGX_OK) {
            return NGX_ERROR;
        }

        r->buffered &= ~NGX_HTTP_ALBUM_ZIP_BUFFERED;

        /*
         * nginx makes the 416 page: the body filter must not take it
         * for the rest of a manifest and swallow it.
         */
        ngx_http_set_ctx(r, NULL, ngx_http_album_zip_module);

        return NGX_HTTP_RANGE_NOT_SATISFIABLE;
    }

    if (ngx_http_album_zip_set_headers(r, ctx) != NGX_OK) {
        return NGX_ERROR;
    }

    /* the entries that overlap [start, end) */

    ctx->next = 0;
    ctx->last = ctx->nentries;

    if (!ctx->dynamic && ctx->nentries) {
        if (album_zip_locate(&ctx->ar, ctx->start, &piece) == ALBUM_ZIP_OK) {
            ctx->next = piece.index;
        }

        if (album_zip_locate(&ctx->ar, ctx->end - 1, &piece) == ALBUM_ZIP_OK)
        {
            ctx->last = ngx_min(piece.index + 1, ctx->nentries);
        }
    }

    ctx->first = ctx->next;

    if (ctx->head) {
        /*
         * HEAD answers with the status a GET would have: the first member
         * in range is asked for its headers (a HEAD subrequest) before
         * the archive's go out, and none after it.
         */
        ctx->last = ngx_min(ctx->last, ctx->next + 1);
    }

    /* nothing to fetch first: the headers can go now */

    if (ctx->next >= ctx->last || ctx->entries[ctx->next].is_dir) {
        rc = ngx_http_album_zip_send_headers(r, ctx);
        if (rc == NGX_ERROR || rc > NGX_OK) {
            return rc;
        }
    }

    return ngx_http_album_zip_pump(r, ctx);
}


/*
 * As the content handler, the archive's headers pass every header filter
 * (add_header, If-None-Match); as a filter, only those after this one.
 */

static ngx_int_t
ngx_http_album_zip_send_headers(ngx_http_request_t *r,
    ngx_http_album_zip_ctx_t *ctx)
{
    ngx_int_t  rc;

    if (ctx->headers_sent) {
        return NGX_OK;
    }

    ctx->headers_sent = 1;

    if (ctx->head) {
        /* the request became a GET for the manifest's sake */
        r->header_only = 1;
    }

    rc = ctx->content ? ngx_http_send_header(r)
                      : ngx_http_next_header_filter(r);

    if (r->header_only) {
        /* HEAD, or 304 Not Modified: nothing more to send */
        ctx->state = NGX_HTTP_ALBUM_ZIP_DONE;
        r->buffered &= ~NGX_HTTP_ALBUM_ZIP_BUFFERED;
    }

    return rc;
}


/*
 * Waiting for members, the pump still calls the next filters: the
 * postpone filter moves on to a member that finished while it was not
 * the active one only when it is called.
 */

static ngx_int_t
ngx_http_album_zip_pump(ngx_http_request_t *r, ngx_http_album_zip_ctx_t *ctx)
{
    ngx_int_t   rc;
    ngx_uint_t  active, next, queued;

    for ( ;; ) {
        active = ctx->active;
        next = ctx->next;
        queued = ngx_http_album_zip_queued(r);

        rc = ngx_http_album_zip_pump_once(r, ctx);

        if (rc != NGX_DECLINED) {
            return rc;
        }

        rc = ngx_http_next_body_filter(r, NULL);

        if (rc == NGX_ERROR) {
            return NGX_ERROR;
        }

        if (ngx_http_album_zip_reap(r, ctx) != NGX_OK) {
            return NGX_ERROR;
        }

        /*
         * Progress, or the client took everything just now (members held
         * back by pump_once() may start: no write event would come).
         */

        if (ctx->active == active && ctx->next == next
            && (!queued
                || ngx_http_album_zip_queued(r)))
        {
            return rc;
        }
    }
}


/* NGX_DECLINED: waiting for members */

static ngx_int_t
ngx_http_album_zip_pump_once(ngx_http_request_t *r,
    ngx_http_album_zip_ctx_t *ctx)
{
    off_t               from, to;
    u_char             *hdr;
    size_t              len;
    ngx_int_t           rc;
    album_zip_entry_t  *e;

    if (ngx_http_album_zip_reap(r, ctx) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_http_album_zip_close_files(r, ctx);

    if (ctx->failed || ctx->state != NGX_HTTP_ALBUM_ZIP_STREAM) {
        return ngx_http_next_body_filter(r, NULL);
    }

    while (ctx->next < ctx->last) {
        e = &ctx->entries[ctx->next];

        if (e->is_dir) {
            /* nothing to fetch: the header is all of it */
            hdr = ngx_pnalloc(r->pool, album_zip_local_header_len(e));
            if (hdr == NULL) {
                return NGX_ERROR;
            }

            len = album_zip_write_local_header(e, hdr);

            from = ngx_max(ctx->start - (off_t) e->offset, 0);
            to = ngx_min(ctx->end - (off_t) e->offset, (off_t) len);

            if (ctx->dynamic) {
                from = 0;
                to = len;
                ctx->sent += len;
            }

            rc = ngx_http_album_zip_send_bytes(r, hdr + from, to - from, 0);
            if (rc == NGX_ERROR) {
                return NGX_ERROR;
            }

            ctx->next++;
            continue;
        }

        /*
         * The dynamic layout learns each offset from the member before:
         * one member at a time.
         */

        if (ctx->active > (ctx->dynamic ? 0 : ctx->conf->prefetch)) {
            break;
        }

        /*
         * The client is slower than the members: what it has not taken
         * yet waits in the writer with its files open and its buffers
         * allocated.  A new member starts only when that has drained, or
         * a slow client would have the whole album queued in memory.
         * Data the socket took counts as drained: under tcp_nopush the
         * tail of a member may sit corked until the next one's bytes
         * fill the segment, so waiting for the client here would stall
         * each member until its delayed ACK.
         */

        if (ngx_http_album_zip_queued(r)) {
            break;
        }

        if (ngx_http_album_zip_member_start(r, ctx, ctx->next) != NGX_OK) {
            return NGX_ERROR;
        }

        ctx->next++;
    }

    if (ctx->next < ctx->last || ctx->active) {
        return NGX_DECLINED;
    }

    if (!ctx->cd_started && ngx_http_album_zip_queued(r)
        && ngx_http_album_zip_unchecked(ctx))
    {
        /* the end of the archive waits for every member's last check */
        return NGX_DECLINED;
    }

    if (!ctx->headers_sent) {
        /* every member in range was skipped, or the range held none */
        rc = ngx_http_album_zip_send_headers(r, ctx);
        if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
            return rc;
        }
    }

    if (ctx->dynamic && !ctx->cd_started) {
        if (ngx_http_album_zip_finish_dynamic(r, ctx) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    return ngx_http_album_zip_send_central(r, ctx);
}


static ngx_int_t
ngx_http_album_zip_send_bytes(ngx_http_request_t *r, u_char *data,
    size_t len, ngx_uint_t last)
{
    ngx_buf_t    *b;
    ngx_chain_t   out;

    if (len == 0 && !last) {
        return NGX_OK;
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_ERROR;
    }

    b->pos = data;
    b->last = data + len;
    b->memory = len ? 1 : 0;
    b->last_buf = last;
    b->flush = last;

    out.buf = b;
    out.next = NULL;

    return ngx_http_next_body_filter(r, &out);
}


/*
 * The central directory and end records, one buffer at a time, each sent
 * only when the client has taken the one before.
 */

static ngx_int_t
ngx_http_album_zip_send_central(ngx_http_request_t *r,
    ngx_http_album_zip_ctx_t *ctx)
{
    off_t        want, cd_start;
    size_t       n;
    ngx_int_t    rc;
    ngx_buf_t   *b;
    ngx_chain_t  out;

    cd_start = (off_t) ctx->ar.cd_offset;

    if (!ctx->cd_started) {
        ctx->cd_started = 1;

        album_zip_cd_init(&ctx->cd, &ctx->ar,
                          ctx->start > cd_start ? ctx->start - cd_start : 0);

        ctx->cd_buf = ngx_create_temp_buf(r->pool, ctx->conf->buffer_size);
        if (ctx->cd_buf == NULL) {
            return NGX_ERROR;
        }

        ctx->cd_buf->last = ctx->cd_buf->pos;
    }

    b = ctx->cd_buf;

    for ( ;; ) {
        if (b->pos != b->last) {
            /* still queued: let the writer send it */
            rc = ngx_http_next_body_filter(r, NULL);

            if (rc == NGX_ERROR || b->pos != b->last) {
                return rc;
            }

            /*
             * It has just gone out entirely: the next piece must follow
             * now.  Nothing is left queued to bring another write event,
             * and r->buffered alone makes nginx wait for one until
             * send_timeout.
             */
        }

        want = ctx->conf->buffer_size;

        if (!ctx->dynamic) {
            want = ngx_min(want, ctx->end - (cd_start + (off_t) ctx->cd.pos));
        }

        n = want > 0 ? album_zip_cd_write(&ctx->cd, b->start, (size_t) want)
                     : 0;

        if (n == 0) {
            ctx->state = NGX_HTTP_ALBUM_ZIP_DONE;
            r->buffered &= ~NGX_HTTP_ALBUM_ZIP_BUFFERED;

            ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                           "album_zip: archive of %ui entries sent",
                           ctx->nentries);

            return ngx_http_album_zip_send_bytes(r, NULL, 0, 1);
        }

        b->pos = b->start;
        b->last = b->start + n;
        b->flush = 1;

        out.buf = b;
        out.next = NULL;

        rc = ngx_http_next_body_filter(r, &out);

        if (rc == NGX_ERROR) {
            return rc;
        }
    }
}


/*
 * A dynamic archive: members were sent as they came, some maybe skipped.
 * The final layout holds the members that were sent, plus MISSING.txt
 * when any was skipped; the offsets it computes are the ones sent.
 */

static ngx_int_t
ngx_http_album_zip_finish_dynamic(ngx_http_request_t *r,
    ngx_http_album_zip_ctx_t *ctx)
{
    u_char                       *p;
    size_t                        len;
    ngx_int_t                     rc;
    ngx_uint_t                    i, n;
    album_zip_entry_t            *kept, *e;
    ngx_http_album_zip_member_t  *m;

    kept = ngx_palloc(r->pool, (ctx->nentries + 1) * sizeof(*kept));
    if (kept == NULL) {
        return NGX_ERROR;
    }

    len = sizeof("These files of the album could not be included:\n\n") - 1;

    for (i = 0, n = 0; i < ctx->nentries; i++) {
        m = &ctx->members[i];

        if (m->skipped) {
            len += ctx->entries[i].name_len + m->reason.len + 4;
            continue;
        }

        kept[n++] = ctx->entries[i];
    }

    if (ctx->skipped) {
        p = ngx_pnalloc(r->pool, len);
        if (p == NULL) {
            return NGX_ERROR;
        }

        ctx->missing_txt.data = p;
        p = ngx_cpymem(p, "These files of the album could not be included:"
                       "\n\n",
                       sizeof("These files of the album could not be "
                              "included:\n\n") - 1);

        for (i = 0; i < ctx->nentries; i++) {
            m = &ctx->members[i];

            if (!m->skipped) {
                continue;
            }

            p = ngx_cpymem(p, ctx->entries[i].name, ctx->entries[i].name_len);
            *p++ = ':';
            *p++ = ' ';
            p = ngx_cpymem(p, m->reason.data, m->reason.len);
            *p++ = '\n';
        }

        ctx->missing_txt.len = p - ctx->missing_txt.data;

        e = &kept[n++];
        ngx_memzero(e, sizeof(*e));
        e->name = "MISSING.txt";
        e->name_len = sizeof("MISSING.txt") - 1;
        e->size = ctx->missing_txt.len;
        e->mtime = ctx->last_modified;
        e->crc32 = album_zip_crc32(0, ctx->missing_txt.data,
                                   ctx->missing_txt.len);
        e->has_crc = 1;
    }

    rc = album_zip_layout(&ctx->ar, kept, n);
    if (rc != ALBUM_ZIP_OK) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "album_zip: final layout failed: %i", rc);
        return NGX_ERROR;
    }

    ctx->entries = kept;
    ctx->nentries = n;

    if (!ctx->skipped) {
        ctx->start = (off_t) ctx->ar.cd_offset;
        ctx->end = (off_t) ctx->ar.total;
        return NGX_OK;
    }

    /* MISSING.txt goes in front of the central directory */

    e = &kept[n - 1];

    p = ngx_pnalloc(r->pool, album_zip_local_header_len(e)
                             + ctx->missing_txt.len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    len = album_zip_write_local_header(e, p);
    len += ngx_cpymem(p + len, ctx->missing_txt.data, ctx->missing_txt.len)
           - (p + len);

    ctx->start = (off_t) ctx->ar.cd_offset;
    ctx->end = (off_t) ctx->ar.total;

    return ngx_http_album_zip_send_bytes(r, p, len, 0) == NGX_ERROR
           ? NGX_ERROR : NGX_OK;
}


/* a member: a subrequest whose output this filter frames */

static ngx_int_t
ngx_http_album_zip_member_start(ngx_http_request_t *r,
    ngx_http_album_zip_ctx_t *ctx, ngx_uint_t i)
{
    off_t                             hlen, dlen, base;
    ngx_int_t                         rc;
    ngx_str_t                        *uri, *args;
    ngx_pool_t                       *pool, *saved;
    album_zip_entry_t                *e;
    ngx_http_request_t               *sr;
    ngx_http_album_zip_member_t      *m;
    ngx_http_post_subrequest_t       *ps;
    ngx_http_album_zip_member_ctx_t  *mctx;

    e = &ctx->entries[i];
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
    mctx->compute_crc = !e->has_crc;

    /* the record (header, data, descriptor) clipped to [start, end) */

    hlen = album_zip_local_header_len(e);
    dlen = album_zip_descriptor_len(e);

    if (ctx->dynamic) {
        mctx->header_to = NGX_MAX_OFF_T_VALUE;
        mctx->data_to = NGX_MAX_OFF_T_VALUE;
        mctx->desc_to = NGX_MAX_OFF_T_VALUE;

    } else {
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

    if (pool) {
        /* its own variables: no cached value may outlive its pool */
        sr->variables = ngx_pcalloc(pool, ngx_http_album_zip_nvariables(r)
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

    /* the CRC needs the bytes; a known CRC lets sendfile do the work */
    sr->filter_need_in_memory = mctx->compute_crc;

    /* a manifest reaches internal locations only through the allow list */
    if (!m->trusted) {
        sr->internal = 0;
    }

    return NGX_OK;

failed:

    if (pool) {
        ngx_destroy_pool(pool);
    }

    return NGX_ERROR;
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


static ngx_int_t
ngx_http_album_zip_member_header(ngx_http_request_t *sr,
    ngx_http_album_zip_member_ctx_t *mctx)
{
    u_char                    *p;
    ngx_buf_t                  last;
    ngx_int_t                  rc;
    ngx_chain_t                cl;
    album_zip_entry_t         *e, tmp;
    album_zip_archive_t        ar;
    ngx_http_album_zip_ctx_t  *ctx;

    ctx = mctx->main;
    e = &ctx->entries[mctx->index];

    if (ctx->state != NGX_HTTP_ALBUM_ZIP_STREAM || ctx->failed) {
        mctx->failed = 1;
        return NGX_OK;
    }

    if (sr->headers_out.status != NGX_HTTP_OK) {
        p = ngx_pnalloc(sr->pool, 32);
        if (p == NULL) {
            return NGX_ERROR;
        }

        (void) ngx_sprintf(p, "status %ui%Z", sr->headers_out.status);

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

    if (ctx->members[mctx->index].size_known) {
        if (sr->headers_out.content_length_n >= 0
            && sr->headers_out.content_length_n != (off_t) e->size)
        {
            return ngx_http_album_zip_member_fail(sr, mctx,
                                                  NGX_HTTP_BAD_GATEWAY,
                                                  "size differs from the "
                                                  "manifest");
        }

    } else {
        if (sr->headers_out.content_length_n < 0) {
            return ngx_http_album_zip_member_fail(sr, mctx,
                                                  NGX_HTTP_BAD_GATEWAY,
                                                  "size unknown (no "
                                                  "Content-Length)");
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
            return ngx_http_album_zip_member_fail(sr, mctx,
                                                  NGX_HTTP_BAD_GATEWAY,
                                                  "cannot be framed");
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


static ngx_int_t
ngx_http_album_zip_member_body(ngx_http_request_t *sr,
    ngx_http_album_zip_member_ctx_t *mctx, ngx_chain_t *in)
{
    off_t                      size, at, from, to;
    u_char                    *hdr, desc[ALBUM_ZIP_DESCRIPTOR_MAX], *d;
    size_t                     len;
    ngx_buf_t                 *b;
    ngx_uint_t                 end;
    ngx_chain_t               *out, **ll, *cl, *tail;
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

        len = album_zip_local_header_len(e);

        hdr = ngx_pnalloc(sr->pool, len);
        if (hdr == NULL) {
            return NGX_ERROR;
        }

        (void) album_zip_write_local_header(e, hdr);

        /*
         * A dynamic member's window is open-ended (header_to is
         * NGX_MAX_OFF_T_VALUE): clip it to the header actually written.
         */

        cl = ngx_http_album_zip_slice(sr->pool, hdr, mctx->header_from,
                                      ngx_min(mctx->header_to, (off_t) len));
        if (cl == NGX_CHAIN_ERROR) {
            return NGX_ERROR;
        }

        if (cl) {
            *ll = cl;
            ll = &cl->next;
        }

        if (ctx->dynamic) {
            ctx->sent += len;
        }
    }

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

        if (at + size > (off_t) e->size) {
            return ngx_http_album_zip_member_fail(sr, mctx,
                                                  NGX_HTTP_BAD_GATEWAY,
                                                  "longer than its size");
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

        /* keep only the part inside [data_from, data_to) */

        from = ngx_max(mctx->data_from - at, 0);
        to = ngx_min(mctx->data_to - at, size);

        if (from >= to) {
            if (ngx_buf_in_memory(b)) {
                b->pos = b->last;
            }

            if (b->in_file) {
                b->file_pos = b->file_last;
            }

            continue;
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

    if (end) {
        mctx->finished = 1;

        if (mctx->received != (off_t) e->size) {
            return ngx_http_album_zip_member_fail(sr, mctx,
                                                  NGX_HTTP_BAD_GATEWAY,
                                                  "shorter than its size");
        }

        /* read to its end: data from memory is what the file held */
        if (ngx_http_album_zip_unchanged(sr, &ctx->members[mctx->index],
                                         mctx->fd)
            != NGX_OK)
        {
            return ngx_http_album_zip_changed(sr, mctx);
        }

        if (album_zip_descriptor_len(e)) {
            len = album_zip_write_descriptor(e, mctx->compute_crc
                                                ? mctx->crc : e->crc32,
                                             desc);

            d = ngx_pnalloc(sr->pool, len);
            if (d == NULL) {
                return NGX_ERROR;
            }

            ngx_memcpy(d, desc, len);

            cl = ngx_http_album_zip_slice(sr->pool, d, mctx->desc_from,
                                          ngx_min(mctx->desc_to,
                                                  (off_t) len));
            if (cl == NGX_CHAIN_ERROR) {
                return NGX_ERROR;
            }

            if (cl) {
                *ll = cl;
                ll = &cl->next;
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
    }

    for (cl = out; cl; cl = cl->next) {
        mctx->last_out = cl->buf;
    }

    return ngx_http_album_zip_member_next(sr, mctx, out);
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

        rc = ngx_http_next_body_filter(sr, in);

        sr->pool = pool;

        return rc;
    }
#endif

    return ngx_http_next_body_filter(sr, in);
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
 * Members whose subrequest has finished and whose output has left the
 * postpone queue no longer hold a place in the prefetch window.
 */

static ngx_int_t
ngx_http_album_zip_reap(ngx_http_request_t *r, ngx_http_album_zip_ctx_t *ctx)
{
    ngx_uint_t                        i, j;
    ngx_http_postponed_request_t     *pr;
    ngx_http_album_zip_member_ctx_t  *mctx;

    for (i = 0, j = 0; i < ctx->active; i++) {
        mctx = ctx->inflight[i];

        /* done, and nothing of it left for the postpone filter to send */
        if (!mctx->sr->done
            || mctx->sr->postponed
            || r->connection->data == mctx->sr)
        {
            ctx->inflight[j++] = mctx;
            continue;
        }

        for (pr = r->postponed; pr; pr = pr->next) {
            if (pr->request == mctx->sr) {
                break;
            }
        }

        if (pr) {
            ctx->inflight[j++] = mctx;
            continue;
        }

        if (!mctx->finished && !mctx->failed && !ctx->failed
            && ctx->state == NGX_HTTP_ALBUM_ZIP_STREAM)
        {
            if (ngx_http_album_zip_member_fail(mctx->sr, mctx,
                                               NGX_HTTP_BAD_GATEWAY,
                                               "ended early")
                == NGX_ERROR)
            {
                return NGX_ERROR;
            }
        }

        if (mctx->fd != NGX_INVALID_FILE || mctx->nmem || mctx->pool) {
            if (ctx->nclosing == NGX_HTTP_ALBUM_ZIP_WINDOW) {
                /* no room to remember it: it keeps its place for now */
                ctx->inflight[j++] = mctx;
                continue;
            }

            ctx->closing[ctx->nclosing++] = mctx;
        }
    }

    ctx->active = j;

    return NGX_OK;
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
 * nginx closes a subrequest's file with the main request's pool; an album
 * of thousands of files would hold thousands of descriptors.  A member's
 * file is closed, and its buffers freed, once its last byte has been sent.
 * Files from open_file_cache are not ours to close:
 * ngx_pool_run_cleanup_file() only runs plain file cleanups; memory that
 * is not a large allocation of the pool is left alone by ngx_pfree().
 */

static void
ngx_http_album_zip_close_files(ngx_http_request_t *r,
    ngx_http_album_zip_ctx_t *ctx)
{
    ngx_uint_t                        i, j, k, pools, purged;
    ngx_http_album_zip_member_ctx_t  *mctx;

    pools = 0;

    for (i = 0; i < ctx->nclosing; i++) {
        mctx = ctx->closing[i];

        if (mctx->sent) {
            pools += (mctx->pool != NULL);
            continue;
        }

        /*
         * ngx_buf_size(): a buffer both in memory and in the file goes
         * out from memory where sendfile is off (TLS), and only its pos
         * moves.
         */

        if (mctx->file_buf && ngx_buf_size(mctx->file_buf) != 0) {
            continue;
        }

        for (k = 0; k < mctx->nmem; k++) {
            if (mctx->mem_buf[k]->pos != mctx->mem_buf[k]->last) {
                break;
            }
        }

        if (k < mctx->nmem
            || (mctx->last_out && ngx_buf_size(mctx->last_out) != 0))
        {
            continue;
        }

        mctx->sent = 1;
        pools += (mctx->pool != NULL);

        /*
         * sendfile() read the file only as it sent it: it must not have
         * changed until then.
         */
        if (mctx->fd != NGX_INVALID_FILE && !ctx->failed
            && ngx_http_album_zip_unchanged(r, &ctx->members[mctx->index],
                                            mctx->fd)
               != NGX_OK)
        {
            (void) ngx_http_album_zip_changed(mctx->sr, mctx);
        }
    }

    purged = (pools && r->chunked
              && ngx_http_album_zip_purge(r, ctx) == NGX_OK);

    for (i = 0, j = 0; i < ctx->nclosing; i++) {
        mctx = ctx->closing[i];

        if (!mctx->sent) {
            ctx->closing[j++] = mctx;
            continue;
        }

        if (mctx->pool) {
            if ((r->chunked && !purged)
                || ngx_http_album_zip_posted(r, mctx->sr))
            {
                ctx->closing[j++] = mctx;
                continue;
            }

            ngx_http_album_zip_destroy_member(r, mctx);
            continue;
        }

        for (k = 0; k < mctx->nmem; k++) {
            (void) ngx_pfree(r->pool, mctx->mem[k]);
        }

        mctx->nmem = 0;

        if (mctx->fd != NGX_INVALID_FILE) {
            ngx_pool_run_cleanup_file(r->pool, mctx->fd);
            mctx->fd = NGX_INVALID_FILE;
        }
    }

    ctx->nclosing = j;
}


/*
 * nginx's chunked filter keeps the buffers it framed on its busy list
 * after they were sent, until its next call with data: there
 * ngx_chain_update_chains() reads their tag and drops them.  A member's
 * pool therefore goes only after such a call that began once its last byte
 * was out: an empty flush buffer from the main request, sent when nothing
 * is postponed, so that it passes straight to the chunked filter.
 * NGX_OK: that call was made.
 */

static ngx_int_t
ngx_http_album_zip_purge(ngx_http_request_t *r, ngx_http_album_zip_ctx_t *ctx)
{
    ngx_chain_t  out;

    if (r->connection->data != r || r->postponed) {
        return NGX_DECLINED;
    }

    if (ctx->purge == NULL) {
        ctx->purge = ngx_calloc_buf(r->pool);
        if (ctx->purge == NULL) {
            return NGX_ERROR;
        }
    }

    ctx->purge->flush = 1;

    out.buf = ctx->purge;
    out.next = NULL;

    if (ngx_http_next_body_filter(r, &out) == NGX_ERROR) {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* a subrequest still on the main request's list of posted requests */

static ngx_uint_t
ngx_http_album_zip_posted(ngx_http_request_t *r, ngx_http_request_t *sr)
{
    ngx_http_posted_request_t  *pr;

    for (pr = r->main->posted_requests; pr; pr = pr->next) {
        if (pr->request == sr) {
            return 1;
        }
    }

    return 0;
}


/* the member's file, buffers and subrequest go with its pool */

static void
ngx_http_album_zip_destroy_member(ngx_http_request_t *r,
    ngx_http_album_zip_member_ctx_t *mctx)
{
    ngx_pool_t          *pool;
    ngx_http_log_ctx_t  *lctx;

    lctx = r->connection->log->data;

    if (lctx->current_request == mctx->sr) {
        /* errors are logged for the main request from now on */
        ngx_http_set_log_request(r->connection->log, r);
    }

    pool = mctx->pool;
    ngx_destroy_pool(pool);
}


/*
 * A member failed.  With "skip" (the archive is dynamic) it is left out,
 * if nothing of it was sent yet; otherwise the archive fails: with a real
 * status while no header is out, by closing the connection after.
 */

/*
 * A member no longer the file of the listing fails as a missing one
 * would (left out before its first byte under "album_zip_missing skip").
 * Once the archive's headers are out, the connection is reset, not
 * closed: no clean end for a client to take the archive as whole.
 */

static ngx_int_t
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


/* a member sent from a file that is not yet closed, nor checked */

static ngx_uint_t
ngx_http_album_zip_unchecked(ngx_http_album_zip_ctx_t *ctx)
{
    ngx_uint_t                        i;
    ngx_http_album_zip_member_ctx_t  *mctx;

    for (i = 0; i < ctx->nclosing; i++) {
        mctx = ctx->closing[i];

        if (!mctx->sent && mctx->fd != NGX_INVALID_FILE
            && ctx->members[mctx->index].has_id)
        {
            return 1;
        }
    }

    return 0;
}


static ngx_int_t
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

    if (r->connection->error && !ctx->failed) {
        /* the client went away: nginx has said so, at info, as we do */
        ctx->failed = 1;

        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "album_zip: archive stopped at member %ui \"%V\": "
                      "the client is gone", mctx->index + 1, &m->source);
        return NGX_ERROR;
    }

    m->reason.len = ngx_strlen(reason);
    m->reason.data = ngx_pnalloc(r->pool, m->reason.len);
    if (m->reason.data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(m->reason.data, reason, m->reason.len);

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


static void
ngx_http_album_zip_swallow(ngx_chain_t *in)
{
    ngx_buf_t  *b;

    for ( /* void */ ; in; in = in->next) {
        b = in->buf;

        if (ngx_buf_in_memory(b)) {
            b->pos = b->last;
        }

        if (b->in_file) {
            b->file_pos = b->file_last;
        }
    }
}


/*
 * Members fetched ahead of one that failed may already have framed bytes
 * waiting in the postpone filter: they must not follow the error.
 */

static void
ngx_http_album_zip_drop_postponed(ngx_http_album_zip_ctx_t *ctx)
{
    ngx_uint_t                      i;
    ngx_http_postponed_request_t  **pp;

    for (i = 0; i < ctx->active; i++) {
        pp = &ctx->inflight[i]->sr->postponed;

        while (*pp) {
            if ((*pp)->request) {
                pp = &(*pp)->next;
                continue;
            }

            ngx_http_album_zip_swallow((*pp)->out);
            *pp = (*pp)->next;
        }
    }
}


/* an error status with a plain-text reason, before any archive byte */

static ngx_int_t
ngx_http_album_zip_send_error(ngx_http_request_t *r,
    ngx_http_album_zip_ctx_t *ctx, ngx_uint_t status, ngx_str_t *msg)
{
    ngx_int_t   rc;

    ctx->state = NGX_HTTP_ALBUM_ZIP_DONE;
    ctx->headers_sent = 1;
    r->buffered &= ~NGX_HTTP_ALBUM_ZIP_BUFFERED;

    ngx_http_album_zip_drop_postponed(ctx);

    ngx_http_clean_header(r);

    if (status == NGX_HTTP_RANGE_NOT_SATISFIABLE
        && ngx_http_album_zip_set_unsatisfiable(r, ctx) != NGX_OK)
    {
        return NGX_ERROR;
    }

    r->headers_out.status = status;
    r->headers_out.content_length_n = ctx->head ? -1 : (off_t) msg->len;
    ngx_str_set(&r->headers_out.content_type, "text/plain");
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->keepalive = 0;
    r->allow_ranges = 0;

    if (ctx->head) {
        r->header_only = 1;
    }

    rc = ngx_http_next_header_filter(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc == NGX_ERROR ? NGX_ERROR : NGX_OK;
    }

    return ngx_http_album_zip_send_bytes(r, msg->data, msg->len, 1);
}
