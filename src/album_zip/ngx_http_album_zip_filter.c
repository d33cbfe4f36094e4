
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
 *
 * This file holds the filters' entry points, the manifest and the start
 * of the stream; the pump is in ngx_http_album_zip_pump.c, the members'
 * framing in ngx_http_album_zip_member.c.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_album_zip.h"


static ngx_int_t ngx_http_album_zip_header_filter(ngx_http_request_t *r);
static ngx_int_t ngx_http_album_zip_is_manifest(ngx_http_request_t *r);
static ngx_int_t ngx_http_album_zip_marked(ngx_list_part_t *part,
    ngx_uint_t mod_zip);
static ngx_int_t ngx_http_album_zip_body_filter(ngx_http_request_t *r,
    ngx_chain_t *in);
static ngx_int_t ngx_http_album_zip_capture(ngx_http_request_t *r,
    ngx_http_album_zip_ctx_t *ctx, ngx_chain_t *in);
static ngx_int_t ngx_http_album_zip_from_manifest(ngx_http_request_t *r,
    ngx_http_album_zip_ctx_t *ctx);
static ngx_int_t ngx_http_album_zip_s3_member(ngx_http_request_t *r,
    ngx_http_album_zip_loc_conf_t *conf, album_zip_manifest_member_t *mm,
    ngx_http_album_zip_member_t *m, ngx_uint_t i, ngx_str_t *msg,
    u_char *err);
static ngx_int_t ngx_http_album_zip_members(ngx_http_request_t *r,
    ngx_http_album_zip_ctx_t *ctx, album_zip_manifest_t *mf, ngx_str_t *msg,
    u_char *err);
static ngx_uint_t ngx_http_album_zip_not_modified(ngx_http_request_t *r,
    ngx_http_album_zip_ctx_t *ctx);
static void ngx_http_album_zip_stopped(void *data);


ngx_http_output_header_filter_pt  ngx_http_album_zip_next_header_filter;
ngx_http_output_body_filter_pt    ngx_http_album_zip_next_body_filter;


static ngx_str_t  ngx_http_album_zip_trigger = ngx_string("X-Album-Zip");
static ngx_str_t  ngx_http_album_zip_mod_zip = ngx_string("X-Archive-Files");


ngx_int_t
ngx_http_album_zip_filter_init(ngx_conf_t *cf)
{
    ngx_http_album_zip_next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = ngx_http_album_zip_header_filter;

    ngx_http_album_zip_next_body_filter = ngx_http_top_body_filter;
    ngx_http_top_body_filter = ngx_http_album_zip_body_filter;

    return NGX_OK;
}


/*
 * An s3://<bucket>/<key> member: a subrequest to the bucket's
 * album_zip_s3 location (an s3_proxy one) for the key, fetched as a local
 * member is; the manifest may name it only under an album_zip_allow
 * prefix ("s3://<bucket>/<prefix>").
 */

static ngx_int_t
ngx_http_album_zip_s3_member(ngx_http_request_t *r,
    ngx_http_album_zip_loc_conf_t *conf, album_zip_manifest_member_t *mm,
    ngx_http_album_zip_member_t *m, ngx_uint_t i, ngx_str_t *msg, u_char *err)
{
    u_char        *p;
    ngx_uint_t     j;
    ngx_keyval_t  *kv;

    msg->data = err;

    if (conf->allow == NULL) {
        msg->len = ngx_snprintf(err, 256, "member %ui: s3:// members need "
                                "album_zip_allow\n", i + 1) - err;
        return NGX_DECLINED;
    }

    kv = conf->s3 ? conf->s3->elts : NULL;

    for (j = 0; kv && j < conf->s3->nelts; j++) {
        if (kv[j].key.len == mm->bucket.len
            && ngx_strncmp(kv[j].key.data, mm->bucket.data, mm->bucket.len)
               == 0)
        {
            break;
        }
    }

    if (kv == NULL || j == conf->s3->nelts) {
        msg->len = ngx_snprintf(err, 256, "member %ui: no album_zip_s3 for "
                                "the bucket \"%*s\"\n", i + 1,
                                ngx_min(mm->bucket.len, 64), mm->bucket.data)
                   - err;
        return NGX_DECLINED;
    }

    p = ngx_pnalloc(r->pool, kv[j].value.len + mm->key.len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    m->uri.data = p;
    p = ngx_cpymem(p, kv[j].value.data, kv[j].value.len);
    p = ngx_cpymem(p, mm->key.data, mm->key.len);
    m->uri.len = p - m->uri.data;

    m->args.len = 0;
    m->kind = ALBUM_ZIP_MANIFEST_LOCAL;

    /* logs name the member as the manifest does */
    m->source.data = (u_char *) mm->url.data;
    m->source.len = mm->url.len;

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
        return ngx_http_album_zip_next_header_filter(r);
    }

    if (ctx && ctx->state != NGX_HTTP_ALBUM_ZIP_PASS) {
        /* the archive's own headers, or an error about it */
        return ngx_http_album_zip_next_header_filter(r);
    }

    conf = ngx_http_get_module_loc_conf(r, ngx_http_album_zip_module);

    if (!conf->enable
        || r->headers_out.status != NGX_HTTP_OK
        || ngx_http_album_zip_is_manifest(r) != NGX_OK)
    {
        if (ctx) {
            ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                           "album_zip: response %ui is no manifest: PASS",
                           r->headers_out.status);

            if (ctx->head) {
                r->header_only = 1;
            }
        }

        return ngx_http_album_zip_next_header_filter(r);
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

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "album_zip: manifest of %O bytes coming: MANIFEST",
                   r->headers_out.content_length_n);

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
        return ngx_http_album_zip_next_body_filter(r, in);
    }

    if (ctx->type == NGX_HTTP_ALBUM_ZIP_MEMBER) {
        return ngx_http_album_zip_member_body(r,
                                   (ngx_http_album_zip_member_ctx_t *) ctx,
                                   in);
    }

    if (r != r->main) {
        return ngx_http_album_zip_next_body_filter(r, in);
    }

    switch (ctx->state) {

    case NGX_HTTP_ALBUM_ZIP_PASS:
        return ngx_http_album_zip_next_body_filter(r, in);

    case NGX_HTTP_ALBUM_ZIP_MANIFEST:
        rc = ngx_http_album_zip_capture(r, ctx, in);

        if (rc == NGX_AGAIN) {
            return NGX_OK;
        }

        if (rc != NGX_OK || ctx->state != NGX_HTTP_ALBUM_ZIP_MANIFEST) {
            /* an error, or the 413 already sent: no archive from a part */
            return rc;
        }

        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "album_zip: manifest of %uz bytes read",
                       ctx->manifest
                       ? (size_t) (ctx->manifest->last - ctx->manifest->pos)
                       : (size_t) 0);

        return ngx_http_album_zip_from_manifest(r, ctx);

    case NGX_HTTP_ALBUM_ZIP_STREAM:
        /* the manifest response may still end with an empty last buffer */
        ngx_http_album_zip_swallow(in);
        return ngx_http_album_zip_pump(r, ctx);

    default: /* NGX_HTTP_ALBUM_ZIP_DONE */
        ngx_http_album_zip_swallow(in);

        if (r->out || r->connection->buffered) {
            return ngx_http_album_zip_next_body_filter(r, NULL);
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
    u_char                       *err;
    ngx_int_t                     rc;
    ngx_str_t                     msg;
    ngx_uint_t                    status;
    album_zip_manifest_t          mf;
    album_zip_manifest_limits_t   limits;
    album_zip_manifest_format_t   format;

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
    limits.max_members = ctx->conf->max_files;
    limits.max_total_size = (uint64_t) ctx->conf->max_size;

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

    rc = ngx_http_album_zip_members(r, ctx, &mf, &msg, err);

    if (rc == NGX_ERROR) {
        return NGX_ERROR;
    }

    if (rc == NGX_DECLINED) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "album_zip: manifest refused: %*s",
                      msg.len - 1, msg.data);

        return ngx_http_album_zip_send_error(r, ctx, NGX_HTTP_FORBIDDEN,
                                             &msg);
    }

    ctx->nentries = mf.nmembers;

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "album_zip: manifest of %ui members, archive \"%*s\"",
                   ctx->nentries, mf.name.len, mf.name.data);

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
}


/*
 * The manifest's members become the archive's entries.  NGX_DECLINED: a
 * member is refused, *msg (in err, 256 bytes) says why.
 */

static ngx_int_t
ngx_http_album_zip_members(ngx_http_request_t *r,
    ngx_http_album_zip_ctx_t *ctx, album_zip_manifest_t *mf, ngx_str_t *msg,
    u_char *err)
{
    ngx_int_t                         rc;
    ngx_uint_t                        i, n;
    album_zip_entry_t                *e;
    album_zip_manifest_member_t      *mm;
    ngx_http_album_zip_member_t      *m;
    ngx_http_album_zip_loc_conf_t    *conf;
    const album_zip_manifest_str_t   *allow;

    conf = ctx->conf;
    n = mf->nmembers;

    ctx->entries = ngx_pcalloc(r->pool, (n ? n : 1) * sizeof(*e));
    ctx->members = ngx_pcalloc(r->pool, (n ? n : 1) * sizeof(*m));
    if (ctx->entries == NULL || ctx->members == NULL) {
        return NGX_ERROR;
    }

    /* ngx_str_t and the parser's string have the same layout */
    allow = conf->allow ? conf->allow->elts : NULL;

    for (i = 0; i < n; i++) {
        mm = &mf->members[i];
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

        if (mm->kind == ALBUM_ZIP_MANIFEST_S3) {
            rc = ngx_http_album_zip_s3_member(r, conf, mm, m, i, msg, err);
            if (rc != NGX_OK) {
                return rc;
            }
        }

        if (mm->kind == ALBUM_ZIP_MANIFEST_REMOTE && conf->remote.len == 0) {
            msg->data = err;
            msg->len = ngx_snprintf(err, 256,
                                    "member %ui: remote URL, but no "
                                    "album_zip_remote location\n", i + 1)
                       - err;
            return NGX_DECLINED;
        }

        if (allow) {
            if (!album_zip_manifest_allowed(mm, allow, conf->allow->nelts)) {
                msg->data = err;
                msg->len = ngx_snprintf(err, 256,
                                        "member %ui: \"%*s\" is not under "
                                        "an album_zip_allow prefix\n",
                                        i + 1,
                                        ngx_min(mm->url.len, 128),
                                        mm->url.data)
                           - err;
                return NGX_DECLINED;
            }

            m->trusted = 1;

        } else {
            /* without a list, members reach only non-internal locations */
            m->trusted = (mm->kind == ALBUM_ZIP_MANIFEST_REMOTE);
        }
    }

    return NGX_OK;
}


/*
 * Starts sending a prepared archive (from the manifest filter or from the
 * directory handler).  The headers wait for the first member's response,
 * so that a member missing up front gives a real status.
 */

ngx_int_t
ngx_http_album_zip_start(ngx_http_request_t *r, ngx_http_album_zip_ctx_t *ctx)
{
    ngx_int_t            rc;
    ngx_str_t            msg;
    album_zip_piece_t    piece;
    ngx_pool_cleanup_t  *cln;

    ctx->state = NGX_HTTP_ALBUM_ZIP_STREAM;
    r->buffered |= NGX_HTTP_ALBUM_ZIP_BUFFERED;

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    cln->handler = ngx_http_album_zip_stopped;
    cln->data = ctx;

    ngx_log_debug4(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "album_zip: archive of %ui entries, bytes %O-%O%s: STREAM",
                   ctx->nentries, ctx->start, ctx->end,
                   ctx->dynamic ? ", dynamic" : "");

    if (ctx->start >= ctx->end && !ctx->dynamic) {
        /* an unsatisfiable range */

        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "album_zip: range not satisfiable");

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
        ctx->state = NGX_HTTP_ALBUM_ZIP_DONE;

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

    if (ngx_http_album_zip_not_modified(r, ctx)) {
        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "album_zip: If-None-Match names the archive: 304");

        r->headers_out.status = NGX_HTTP_NOT_MODIFIED;
        r->headers_out.status_line.len = 0;
        r->headers_out.content_type.len = 0;
        r->headers_out.content_range = NULL;
        ngx_http_clear_content_length(r);
        ngx_http_clear_accept_ranges(r);
        r->header_only = 1;

        return ngx_http_album_zip_send_headers(r, ctx);
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

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "album_zip: entries %ui to %ui in range",
                   ctx->next + 1, ctx->last);

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
 * The request ends with the archive unfinished and no failure said: the
 * client went away (nginx ends the request itself when it sees it while
 * writing, or while a task ran).  Said at info, as nginx does.
 */

static void
ngx_http_album_zip_stopped(void *data)
{
    ngx_http_album_zip_ctx_t *ctx = data;

    ngx_uint_t  i;

    if (ctx->state != NGX_HTTP_ALBUM_ZIP_STREAM || ctx->failed
        || ctx->nentries == 0)
    {
        return;
    }

    i = ctx->active ? ctx->inflight[0]->index
                    : ngx_min(ctx->next, ctx->nentries - 1);

    ngx_log_error(NGX_LOG_INFO, ctx->request->connection->log, 0,
                  "album_zip: archive stopped at member %ui \"%V\": the "
                  "client is gone", i + 1, &ctx->members[i].source);
}


/*
 * The manifest's If-None-Match was held back from its upstream: it names
 * the archive.  Only a strong ETag, one that pins every byte, answers
 * 304 (as the content handler, nginx's not-modified filter does it).
 */

static ngx_uint_t
ngx_http_album_zip_not_modified(ngx_http_request_t *r,
    ngx_http_album_zip_ctx_t *ctx)
{
    u_char     *p, *last, *tag;
    ngx_str_t  *etag;

    if (ctx->content || ctx->if_none_match == NULL || ctx->dynamic
        || ctx->etag.len < 2 || ctx->etag.data[0] != '"')
    {
        return 0;
    }

    etag = &ctx->etag;
    p = ctx->if_none_match->value.data;
    last = p + ctx->if_none_match->value.len;

    while (p < last) {
        while (p < last && (*p == ' ' || *p == '\t' || *p == ',')) {
            p++;
        }

        if (p < last && *p == '*') {
            return 1;
        }

        /* weak comparison (RFC 9110, 13.1.2) */
        if (last - p >= 2 && p[0] == 'W' && p[1] == '/') {
            p += 2;
        }

        tag = p;

        while (p < last && *p != ',') {
            p++;
        }

        while (p > tag && (p[-1] == ' ' || p[-1] == '\t')) {
            p--;
        }

        if ((size_t) (p - tag) == etag->len
            && ngx_strncmp(tag, etag->data, etag->len) == 0)
        {
            return 1;
        }

        while (p < last && *p != ',') {
            p++;
        }
    }

    return 0;
}


/*
 * As the content handler, the archive's headers pass every header filter
 * (add_header, If-None-Match); as a filter, only those after this one.
 */

ngx_int_t
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

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "album_zip: archive headers sent, status %ui",
                   r->headers_out.status);

    rc = ctx->content ? ngx_http_send_header(r)
                      : ngx_http_album_zip_next_header_filter(r);

    if (r->header_only) {
        /* HEAD, or 304 Not Modified: nothing more to send */
        ctx->state = NGX_HTTP_ALBUM_ZIP_DONE;
        r->buffered &= ~NGX_HTTP_ALBUM_ZIP_BUFFERED;

        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "album_zip: headers only: DONE");
    }

    return rc;
}


void
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

ngx_int_t
ngx_http_album_zip_send_error(ngx_http_request_t *r,
    ngx_http_album_zip_ctx_t *ctx, ngx_uint_t status, ngx_str_t *msg)
{
    ngx_int_t   rc;

    ctx->state = NGX_HTTP_ALBUM_ZIP_DONE;
    ctx->headers_sent = 1;
    r->buffered &= ~NGX_HTTP_ALBUM_ZIP_BUFFERED;

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "album_zip: error %ui instead of the archive: DONE",
                   status);

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

    rc = ngx_http_album_zip_next_header_filter(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc == NGX_ERROR ? NGX_ERROR : NGX_OK;
    }

    return ngx_http_album_zip_send_bytes(r, msg->data, msg->len, 1);
}
