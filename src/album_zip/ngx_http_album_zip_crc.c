
/*
 * ngx_http_album_zip_module: the CRC-32s of a directory album's files.
 *
 * A local member is framed with its CRC in its local header (no data
 * descriptor), so an album's layout is fixed before its first byte, and
 * the same whatever is remembered: Content-Length, Range and resume from
 * the very first download, and readers that stream (Java's
 * ZipInputStream) take it.  Each CRC is computed on the thread pool just
 * before its member is sent (the next ones while the current one goes
 * out); the page cache then serves the member's sendfile().  The central
 * directory waits for the CRCs of the members a range skipped.
 *
 * What is computed is remembered: in album_zip_crc_cache (shared memory,
 * looked at on the event loop) and in album_zip_crc_store (a directory,
 * looked at by the thread; it survives restarts and has no size limit).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_album_zip.h"
#include "album_zip_crc_store.h"


/* one task: up to this many members, and this many bytes (or one) */
#define NGX_HTTP_ALBUM_ZIP_CRC_BATCH   256
#define NGX_HTTP_ALBUM_ZIP_CRC_BYTES   (16 * 1024 * 1024)
#define NGX_HTTP_ALBUM_ZIP_CRC_BUFFER  (256 * 1024)

/* how far ahead of the member about to start */
#define NGX_HTTP_ALBUM_ZIP_CRC_AHEAD   (32 * 1024 * 1024)
#define NGX_HTTP_ALBUM_ZIP_CRC_MEMBERS 64


typedef struct {
    u_char                     *path;     /* NUL-terminated */
    album_zip_file_key_t        key;
    ngx_uint_t                  index;
    uint32_t                    crc;
    int                         rc;       /* ALBUM_ZIP_CRC_* */
    ngx_err_t                   err;
} ngx_http_album_zip_crc_item_t;


typedef struct {
    ngx_http_request_t         *request;
    ngx_http_album_zip_ctx_t   *ctx;
    char                       *store;    /* NUL-terminated, or NULL */

    ngx_uint_t                  n;
    ngx_uint_t                  stored;   /* taken from the store */
    int                         store_rc; /* the first store failure */
    ngx_err_t                   store_err;
    const char                 *store_op;

    ngx_http_album_zip_crc_item_t  items[NGX_HTTP_ALBUM_ZIP_CRC_BATCH];
} ngx_http_album_zip_crc_work_t;


static ngx_uint_t ngx_http_album_zip_crc_needed(ngx_http_album_zip_ctx_t *ctx,
    ngx_uint_t i);
static ngx_int_t ngx_http_album_zip_crc_post(ngx_http_request_t *r,
    ngx_http_album_zip_ctx_t *ctx, ngx_uint_t from, ngx_uint_t to,
    ngx_uint_t in_range, ngx_uint_t *end);
static void ngx_http_album_zip_crc_thread(void *data, ngx_log_t *log);
static void ngx_http_album_zip_crc_done(void *data);
static void ngx_http_album_zip_crc_expire(void *data);
static ngx_int_t ngx_http_album_zip_crc_fail(ngx_http_request_t *r,
    ngx_http_album_zip_ctx_t *ctx, ngx_uint_t status, char *why);


/*
 * Member i is about to start.  NGX_OK: its CRC is known, or its local
 * header is not sent; NGX_AGAIN: wait for the task.  Either way the
 * next members' CRCs are computed ahead when the thread is free.
 */

ngx_int_t
ngx_http_album_zip_crc_member(ngx_http_request_t *r,
    ngx_http_album_zip_ctx_t *ctx, ngx_uint_t i)
{
    ngx_uint_t  end;

    if (ctx->npending == 0 || ctx->head) {
        return NGX_OK;
    }

    if (ngx_http_album_zip_crc_needed(ctx, i)) {
        if (ctx->crc_busy) {
            return NGX_AGAIN;
        }

        if (ngx_http_album_zip_crc_post(r, ctx, i, ctx->last, 1, &end)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        ctx->crc_ahead = ngx_max(ctx->crc_ahead, end);

        return NGX_AGAIN;
    }

    return ngx_http_album_zip_crc_ahead(r, ctx, i + 1);
}


/*
 * While members go out, the thread computes the CRCs of the next ones,
 * from "from" on, at most NGX_HTTP_ALBUM_ZIP_CRC_AHEAD bytes ahead of
 * the member about to start (their files then are in the page cache
 * when sendfile() sends them).
 */

ngx_int_t
ngx_http_album_zip_crc_ahead(ngx_http_request_t *r,
    ngx_http_album_zip_ctx_t *ctx, ngx_uint_t from)
{
    off_t       base;
    ngx_uint_t  j, end;

    if (ctx->npending == 0 || ctx->head || ctx->crc_busy || ctx->failed
        || ctx->state != NGX_HTTP_ALBUM_ZIP_STREAM || ctx->next >= ctx->last)
    {
        return NGX_OK;
    }

    base = (off_t) ctx->entries[ctx->next].offset;

    for (j = ngx_max(from, ctx->crc_ahead); j < ctx->last; j++) {

        if (ctx->dynamic ? j > ctx->next + NGX_HTTP_ALBUM_ZIP_CRC_MEMBERS
                         : (off_t) ctx->entries[j].offset - base
                           > NGX_HTTP_ALBUM_ZIP_CRC_AHEAD)
        {
            /* far enough: looked at again as members start */
            return NGX_OK;
        }

        if (ngx_http_album_zip_crc_needed(ctx, j)) {
            break;
        }
    }

    ctx->crc_ahead = j;

    if (j == ctx->last) {
        return NGX_OK;
    }

    if (ngx_http_album_zip_crc_post(r, ctx, j, ctx->last, 1, &end)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    ctx->crc_ahead = end;

    return NGX_OK;
}


/*
 * The central directory is about to be sent: every member's CRC must be
 * known, also of those a range skipped.  NGX_OK, or NGX_AGAIN: wait.
 */

ngx_int_t
ngx_http_album_zip_crc_all(ngx_http_request_t *r,
    ngx_http_album_zip_ctx_t *ctx)
{
    ngx_uint_t  j, end;

    if (ctx->npending == 0 || ctx->head
        || (!ctx->dynamic && ctx->end <= (off_t) ctx->ar.cd_offset))
    {
        return NGX_OK;
    }

    if (ctx->crc_busy) {
        return NGX_AGAIN;
    }

    for (j = ctx->crc_back; j < ctx->nentries; j++) {
        if (ctx->members[j].crc_pending && !ctx->members[j].skipped) {
            break;
        }
    }

    ctx->crc_back = j;

    if (j == ctx->nentries) {
        return NGX_OK;
    }

    if (ngx_http_album_zip_crc_post(r, ctx, j, ctx->nentries, 0, &end)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    ctx->crc_back = end;

    return NGX_AGAIN;
}


/* its CRC is unknown and its local header is sent */

static ngx_uint_t
ngx_http_album_zip_crc_needed(ngx_http_album_zip_ctx_t *ctx, ngx_uint_t i)
{
    off_t               start;
    album_zip_entry_t  *e;

    if (!ctx->members[i].crc_pending || ctx->members[i].skipped) {
        return 0;
    }

    if (ctx->dynamic) {
        return 1;
    }

    e = &ctx->entries[i];
    start = (off_t) e->offset;

    return start < ctx->end
           && start + (off_t) album_zip_local_header_len(e) > ctx->start;
}


/*
 * A task for the pending members from "from" on, below "to" (only those
 * whose header is sent when in_range): up to a batch of them, or of
 * bytes.  *end: one past the last member looked at.
 */

static ngx_int_t
ngx_http_album_zip_crc_post(ngx_http_request_t *r,
    ngx_http_album_zip_ctx_t *ctx, ngx_uint_t from, ngx_uint_t to,
    ngx_uint_t in_range, ngx_uint_t *end)
{
    off_t                            bytes;
    ngx_uint_t                       i;
    ngx_http_edge_task_t            *t;
    ngx_http_album_zip_member_t     *m;
    ngx_http_album_zip_crc_item_t   *it;
    ngx_http_album_zip_crc_work_t   *w;
    ngx_http_album_zip_loc_conf_t   *conf;

    conf = ctx->conf;

    if (ctx->crc_task == NULL) {
        ctx->crc_task = ngx_http_edge_task_alloc(r->pool,
                                     sizeof(ngx_http_album_zip_crc_work_t));
        if (ctx->crc_task == NULL) {
            return NGX_ERROR;
        }
    }

    t = ctx->crc_task;
    w = t->data;

    w->request = r;
    w->ctx = ctx;
    w->store = conf->crc_store.len ? (char *) conf->crc_store.data : NULL;
    w->n = 0;
    w->stored = 0;
    w->store_rc = ALBUM_ZIP_CRC_OK;

    bytes = 0;

    for (i = from; i < to; i++) {
        m = &ctx->members[i];

        if (in_range ? !ngx_http_album_zip_crc_needed(ctx, i)
                     : !m->crc_pending || m->skipped)
        {
            continue;
        }

        /* the first member alone: the archive's first byte waits for it */
        if (w->n == NGX_HTTP_ALBUM_ZIP_CRC_BATCH
            || (w->n && bytes + m->id.size > NGX_HTTP_ALBUM_ZIP_CRC_BYTES)
            || (w->n && !ctx->headers_sent))
        {
            break;
        }

        it = &w->items[w->n++];
        it->path = m->path.data;
        it->index = i;
        it->key.dev = (uint64_t) m->id.dev;
        it->key.ino = (uint64_t) m->id.ino;
        it->key.size = (int64_t) m->id.size;
        it->key.mtime = (int64_t) m->id.mtime;
        it->key.nsec = (int64_t) m->id.mtime_nsec;
        it->rc = ALBUM_ZIP_CRC_ERROR;
        it->err = 0;

        bytes += m->id.size;
    }

    *end = i;

    ngx_log_debug4(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "album_zip: CRCs of %ui members from %ui, %O bytes, "
                   "%ui left", w->n, from + 1, bytes, ctx->npending);

    t->task->handler = ngx_http_album_zip_crc_thread;
    t->request = r;
    t->module = "album_zip";
    t->work = "CRC computation";
    t->name = ctx->members[w->items[0].index].source;
    t->timeout = conf->thread_timeout;
    t->done = ngx_http_album_zip_crc_done;
    t->expire = ngx_http_album_zip_crc_expire;

    if (ngx_http_edge_task_post(t, conf->thread_pool, &conf->thread_pool_name)
        != NGX_OK)
    {
        /* logged by the helper */
        return ngx_http_album_zip_crc_fail(r, ctx,
                                           NGX_HTTP_SERVICE_UNAVAILABLE,
                                           "thread pool full");
    }

    ctx->crc_busy = 1;

    return NGX_OK;
}


/* in a thread: touches only the work struct and the files */

static void
ngx_http_album_zip_crc_thread(void *data, ngx_log_t *log)
{
    ngx_http_album_zip_crc_work_t *w = data;

    int                             rc;
    u_char                         *buf;
    ngx_uint_t                      k;
    ngx_http_album_zip_crc_item_t  *it;

    buf = ngx_alloc(NGX_HTTP_ALBUM_ZIP_CRC_BUFFER, log);

    for (k = 0; k < w->n; k++) {
        it = &w->items[k];

        if (w->store) {
            rc = album_zip_crc_store_get(w->store, &it->key, &it->crc);

            if (rc == ALBUM_ZIP_CRC_OK) {
                it->rc = rc;
                w->stored++;
                continue;
            }

            if (rc == ALBUM_ZIP_CRC_ERROR && w->store_rc == ALBUM_ZIP_CRC_OK)
            {
                w->store_rc = rc;
                w->store_err = ngx_errno;
                w->store_op = "read";
            }
        }

        if (buf == NULL) {
            it->err = NGX_ENOMEM;
            continue;
        }

        it->rc = album_zip_crc_file((char *) it->path, &it->key, buf,
                                    NGX_HTTP_ALBUM_ZIP_CRC_BUFFER, &it->crc);

        if (it->rc == ALBUM_ZIP_CRC_ERROR) {
            it->err = ngx_errno;
            continue;
        }

        if (it->rc != ALBUM_ZIP_CRC_OK || w->store == NULL) {
            continue;
        }

        if (album_zip_crc_store_put(w->store, &it->key, it->crc)
            != ALBUM_ZIP_CRC_OK
            && w->store_rc == ALBUM_ZIP_CRC_OK)
        {
            w->store_rc = ALBUM_ZIP_CRC_ERROR;
            w->store_err = ngx_errno;
            w->store_op = "write";
        }
    }

    if (buf) {
        ngx_free(buf);
    }
}


/* back on the event loop: the CRCs go into the entries */

static void
ngx_http_album_zip_crc_done(void *data)
{
    ngx_http_album_zip_crc_work_t *w = data;

    char                           *why;
    ngx_uint_t                      k, status;
    ngx_http_request_t             *r;
    album_zip_entry_t              *e;
    ngx_http_album_zip_ctx_t       *ctx;
    ngx_http_album_zip_member_t    *m;
    ngx_http_album_zip_crc_item_t  *it;

    r = w->request;
    ctx = w->ctx;

    ctx->crc_busy = 0;

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "album_zip: CRCs of %ui members done, %ui from the store",
                   w->n, w->stored);

    if (w->store_rc != ALBUM_ZIP_CRC_OK) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, w->store_err,
                      "album_zip: album_zip_crc_store \"%V\": %s failed",
                      &ctx->conf->crc_store, w->store_op);
    }

    status = 0;
    why = NULL;

    for (k = 0; k < w->n; k++) {
        it = &w->items[k];
        m = &ctx->members[it->index];
        e = &ctx->entries[it->index];

        if (!m->crc_pending) {
            continue;
        }

        if (it->rc == ALBUM_ZIP_CRC_OK) {
            e->crc32 = it->crc;
            m->crc_pending = 0;
            ctx->npending--;

            if (ctx->conf->crc_cache) {
                ngx_http_album_zip_crc_put(ctx->conf->crc_cache, &m->id,
                                           it->crc);
            }

            continue;
        }

        why = (it->rc == ALBUM_ZIP_CRC_CHANGED)
              ? "changed since the album was listed" : "cannot be read";

        if (it->rc == ALBUM_ZIP_CRC_CHANGED) {
            ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                           "album_zip: \"%s\" changed", it->path);
        }

        if (ctx->conf->missing == NGX_HTTP_ALBUM_ZIP_MISSING_SKIP) {
            ngx_log_error(NGX_LOG_WARN, r->connection->log, it->err,
                          "album_zip: member %ui \"%V\" skipped: %s",
                          it->index + 1, &m->source, why);

            m->skipped = 1;
            m->crc_pending = 0;
            ngx_str_set(&m->reason, "changed or unreadable");
            ctx->skipped = 1;
            ctx->npending--;
            continue;
        }

        ngx_log_error(NGX_LOG_ERR, r->connection->log, it->err,
                      "album_zip: member %ui \"%V\" failed: %s%s",
                      it->index + 1, &m->source, why,
                      ctx->headers_sent ? ", archive aborted" : "");

        status = (it->rc == ALBUM_ZIP_CRC_CHANGED)
                 ? NGX_HTTP_SERVICE_UNAVAILABLE
                 : NGX_HTTP_INTERNAL_SERVER_ERROR;
        break;
    }

    if (status && !ctx->failed && ctx->state == NGX_HTTP_ALBUM_ZIP_STREAM) {
        if (ngx_http_album_zip_crc_fail(r, ctx, status, why) == NGX_ERROR) {
            ngx_http_finalize_request(r, NGX_ERROR);
            return;
        }
    }

    /* the pump goes on where it waited: as after a write event */
    r->write_event_handler(r);
}


/*
 * The watchdog: the thread still owns the work.  The client's
 * connection is closed (no status can be trusted to come in time); the
 * request ends once the thread has.
 */

static void
ngx_http_album_zip_crc_expire(void *data)
{
    ngx_http_album_zip_crc_work_t *w = data;

    w->ctx->failed = 1;
    w->request->connection->error = 1;

    ngx_http_finalize_request(w->request, NGX_ERROR);
}


/*
 * The archive cannot be made: a status while no header is out, else the
 * connection is cut short.  NGX_ERROR: the request is to be ended.
 */

static ngx_int_t
ngx_http_album_zip_crc_fail(ngx_http_request_t *r,
    ngx_http_album_zip_ctx_t *ctx, ngx_uint_t status, char *why)
{
    u_char     *p;
    ngx_str_t   msg;

    if (ctx->headers_sent) {
        ctx->failed = 1;
        r->connection->error = 1;
        return NGX_ERROR;
    }

    p = ngx_pnalloc(r->pool, 64 + ngx_strlen(why));
    if (p == NULL) {
        return NGX_ERROR;
    }

    msg.data = p;
    msg.len = ngx_sprintf(p, "album member %s\n", why) - p;

    if (ngx_http_album_zip_send_error(r, ctx, status, &msg) == NGX_ERROR) {
        return NGX_ERROR;
    }

    ctx->failed = 1;

    return NGX_OK;
}
