
/*
 * ngx_http_album_zip_module: the pump.
 *
 * The main request's side of the stream: it starts members within the
 * prefetch window, frames directory entries, sends the central directory
 * and end records (computing the final layout first when the archive is
 * dynamic), and reaps finished members, closing their files and freeing
 * their memory once their last byte is out.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_album_zip.h"


static ngx_int_t ngx_http_album_zip_pump_once(ngx_http_request_t *r,
    ngx_http_album_zip_ctx_t *ctx);
static ngx_int_t ngx_http_album_zip_send_dir(ngx_http_request_t *r,
    ngx_http_album_zip_ctx_t *ctx, album_zip_entry_t *e);
static ngx_int_t ngx_http_album_zip_send_central(ngx_http_request_t *r,
    ngx_http_album_zip_ctx_t *ctx);
static ngx_int_t ngx_http_album_zip_finish_dynamic(ngx_http_request_t *r,
    ngx_http_album_zip_ctx_t *ctx);
static ngx_int_t ngx_http_album_zip_missing_txt(ngx_http_request_t *r,
    ngx_http_album_zip_ctx_t *ctx);
static ngx_int_t ngx_http_album_zip_send_missing(ngx_http_request_t *r,
    ngx_http_album_zip_ctx_t *ctx, album_zip_entry_t *e);
static ngx_int_t ngx_http_album_zip_reap(ngx_http_request_t *r,
    ngx_http_album_zip_ctx_t *ctx);
static void ngx_http_album_zip_close_files(ngx_http_request_t *r,
    ngx_http_album_zip_ctx_t *ctx);
static ngx_int_t ngx_http_album_zip_purge(ngx_http_request_t *r,
    ngx_http_album_zip_ctx_t *ctx);
static ngx_uint_t ngx_http_album_zip_posted(ngx_http_request_t *r,
    ngx_http_request_t *sr);
static void ngx_http_album_zip_destroy_member(ngx_http_request_t *r,
    ngx_http_album_zip_member_ctx_t *mctx);
static ngx_uint_t ngx_http_album_zip_unchecked(ngx_http_album_zip_ctx_t *ctx);


/*
 * Waiting for members, the pump still calls the next filters: the
 * postpone filter moves on to a member that finished while it was not
 * the active one only when it is called.
 */

ngx_int_t
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

        rc = ngx_http_album_zip_next_body_filter(r, NULL);

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
    ngx_int_t           rc;
    album_zip_entry_t  *e;

    if (ngx_http_album_zip_reap(r, ctx) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_http_album_zip_close_files(r, ctx);

    if (ctx->failed && r->connection->error) {
        /*
         * A member found changed as its file was closed: the connection
         * is to be reset now, whoever called (nginx's writer, after a
         * CRC task, waits for no write event once it is told).
         */
        return NGX_ERROR;
    }

    if (ctx->failed || ctx->state != NGX_HTTP_ALBUM_ZIP_STREAM) {
        return ngx_http_album_zip_next_body_filter(r, NULL);
    }

    while (ctx->next < ctx->last) {
        e = &ctx->entries[ctx->next];

        if (e->is_dir) {
            if (ngx_http_album_zip_send_dir(r, ctx, e) == NGX_ERROR) {
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
            ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                           "album_zip: member %ui waits for the client",
                           ctx->next + 1);
            break;
        }

        if (ctx->members[ctx->next].skipped) {
            /* its CRC could not be had (album_zip_missing skip) */
            ctx->next++;
            continue;
        }

        /* a local file's CRC goes into its local header */
        rc = ngx_http_album_zip_crc_member(r, ctx, ctx->next);

        if (rc == NGX_ERROR) {
            return NGX_ERROR;
        }

        if (rc == NGX_AGAIN || ctx->state != NGX_HTTP_ALBUM_ZIP_STREAM) {
            ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                           "album_zip: member %ui waits for its CRC",
                           ctx->next + 1);
            break;
        }

        if (ngx_http_album_zip_member_start(r, ctx, ctx->next) != NGX_OK) {
            return NGX_ERROR;
        }

        ctx->next++;
    }

    /* the thread computes the next CRCs while members wait or go out */
    if (ngx_http_album_zip_crc_ahead(r, ctx, ctx->next) == NGX_ERROR) {
        return NGX_ERROR;
    }

    if (ctx->next < ctx->last || ctx->active) {
        ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "album_zip: waiting for %ui members in flight, "
                       "next %ui", ctx->active, ctx->next + 1);
        return NGX_DECLINED;
    }

    if (!ctx->cd_started && ngx_http_album_zip_queued(r)
        && ngx_http_album_zip_unchecked(ctx))
    {
        /* the end of the archive waits for every member's last check */
        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "album_zip: waiting for the client to take the last "
                       "members before their last check");
        return NGX_DECLINED;
    }

    if (!ctx->headers_sent) {
        /* every member in range was skipped, or the range held none */
        rc = ngx_http_album_zip_send_headers(r, ctx);
        if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
            return rc;
        }
    }

    if (!ctx->cd_started) {
        /* the CRCs of the members a range skipped, or of skipped ones */
        rc = ngx_http_album_zip_crc_all(r, ctx);

        if (rc == NGX_ERROR) {
            return NGX_ERROR;
        }

        if (rc == NGX_AGAIN || ctx->state != NGX_HTTP_ALBUM_ZIP_STREAM) {
            ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                           "album_zip: the central directory waits for "
                           "CRCs");
            return NGX_DECLINED;
        }
    }

    if (ctx->dynamic && !ctx->cd_started) {
        if (ngx_http_album_zip_finish_dynamic(r, ctx) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    return ngx_http_album_zip_send_central(r, ctx);
}


/* a directory entry: nothing to fetch, the header is all of it */

static ngx_int_t
ngx_http_album_zip_send_dir(ngx_http_request_t *r,
    ngx_http_album_zip_ctx_t *ctx, album_zip_entry_t *e)
{
    off_t    from, to;
    u_char  *hdr;
    size_t   len;

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

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "album_zip: directory entry %ui: %O header bytes",
                   ctx->next + 1, to - from);

    return ngx_http_album_zip_send_bytes(r, hdr + from, to - from, 0);
}


ngx_int_t
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

    return ngx_http_album_zip_next_body_filter(r, &out);
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

        ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "album_zip: central directory at %O, from byte %O",
                       cd_start, ngx_max(ctx->start, cd_start));

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
            rc = ngx_http_album_zip_next_body_filter(r, NULL);

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
                           "album_zip: central directory end, archive of "
                           "%ui entries sent: DONE", ctx->nentries);

            return ngx_http_album_zip_send_bytes(r, NULL, 0, 1);
        }

        b->pos = b->start;
        b->last = b->start + n;
        b->flush = 1;

        out.buf = b;
        out.next = NULL;

        rc = ngx_http_album_zip_next_body_filter(r, &out);

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
    ngx_int_t           rc;
    ngx_uint_t          i, n;
    album_zip_entry_t  *kept, *e;

    kept = ngx_palloc(r->pool, (ctx->nentries + 1) * sizeof(*kept));
    if (kept == NULL) {
        return NGX_ERROR;
    }

    for (i = 0, n = 0; i < ctx->nentries; i++) {
        if (!ctx->members[i].skipped) {
            kept[n++] = ctx->entries[i];
        }
    }

    if (ctx->skipped) {
        if (ngx_http_album_zip_missing_txt(r, ctx) != NGX_OK) {
            return NGX_ERROR;
        }

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

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "album_zip: final layout: %ui of %ui entries%s",
                   ctx->skipped ? n - 1 : n, ctx->nentries,
                   ctx->skipped ? ", and MISSING.txt" : "");

    ctx->entries = kept;
    ctx->nentries = n;

    ctx->start = (off_t) ctx->ar.cd_offset;
    ctx->end = (off_t) ctx->ar.total;

    if (!ctx->skipped) {
        return NGX_OK;
    }

    return ngx_http_album_zip_send_missing(r, ctx, &kept[n - 1]);
}


/* MISSING.txt: the members left out, and why */

static ngx_int_t
ngx_http_album_zip_missing_txt(ngx_http_request_t *r,
    ngx_http_album_zip_ctx_t *ctx)
{
    u_char                       *p;
    size_t                        len;
    ngx_uint_t                    i;
    ngx_http_album_zip_member_t  *m;

    len = sizeof("These files of the album could not be included:\n\n") - 1;

    for (i = 0; i < ctx->nentries; i++) {
        m = &ctx->members[i];

        if (m->skipped) {
            len += ctx->entries[i].name_len + m->reason.len + 4;
        }
    }

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

    return NGX_OK;
}


/* MISSING.txt goes in front of the central directory */

static ngx_int_t
ngx_http_album_zip_send_missing(ngx_http_request_t *r,
    ngx_http_album_zip_ctx_t *ctx, album_zip_entry_t *e)
{
    u_char  *p;
    size_t   len;

    p = ngx_pnalloc(r->pool, album_zip_local_header_len(e)
                             + ctx->missing_txt.len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    len = album_zip_write_local_header(e, p);
    len += ngx_cpymem(p + len, ctx->missing_txt.data, ctx->missing_txt.len)
           - (p + len);

    return ngx_http_album_zip_send_bytes(r, p, len, 0) == NGX_ERROR
           ? NGX_ERROR : NGX_OK;
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

        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "album_zip: member %ui left the window",
                       mctx->index + 1);
    }

    ctx->active = j;

    return NGX_OK;
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

        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "album_zip: member %ui: last byte out",
                       mctx->index + 1);

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

            ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                           "album_zip: member %ui: file closed",
                           mctx->index + 1);
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

    if (ngx_http_album_zip_next_body_filter(r, &out) == NGX_ERROR) {
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

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "album_zip: member %ui: its pool (and file) freed",
                   mctx->index + 1);

    pool = mctx->pool;
    ngx_destroy_pool(pool);
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
