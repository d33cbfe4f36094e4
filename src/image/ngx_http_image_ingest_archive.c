
/*
 * ngx_http_image_ingest_module: archive uploads (image_ingest_archive on).
 *
 * A body that is a zip, tar (plain, gzip, bzip2, xz) or 7z, by its first
 * bytes, is read with libarchive as a stream on the thread pool, straight
 * from nginx's buffers or temporary file: nothing is extracted to disk.
 * Each regular entry that is an image goes through the single upload's
 * own path (ngx_http_image_ingest_image(): header check, pixel limit,
 * key, variants, store transaction), with the entry's name and mtime
 * added to its metadata; the rest is skipped or refused, and listed.
 * The entries' classification, limits and results are in
 * src/image/core/image_ingest_archive.c.
 *
 * One task per image entry: the pool thread reads up to the next image
 * (skipping at most NGX_HTTP_IMAGE_INGEST_ARCHIVE_RUN other entries on
 * the way), stores it, and ends; the completion handler posts the task
 * again for the next one.  So the watchdog (image_ingest_thread_timeout)
 * covers one entry as it covers one upload, the thread goes back to the
 * pool between entries, and a key locked by another upload is waited
 * for on a timer, as for a single upload.  Memory is one entry (at most
 * image_ingest_max_size) and one 64 KB block, whatever the archive's
 * size.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "image_ingest_archive.h"
#include "image_ingest_json.h"
#include "ngx_http_image_ingest.h"
#include "ngx_http_edge_json.h"


/* entries skipped in one run of the task, and their declared bytes */
#define NGX_HTTP_IMAGE_INGEST_ARCHIVE_RUN        1000
#define NGX_HTTP_IMAGE_INGEST_ARCHIVE_RUN_BYTES  (64 * 1024 * 1024)


struct ngx_http_image_ingest_archive_s {
    image_ingest_archive_t         *arc;       /* the thread's */
    image_ingest_archive_entry_t    entry;     /* the entry in work */
    image_ingest_pair_t            *meta;      /* image_ingest_meta + 2 */
    size_t                          nmeta;     /* image_ingest_meta's */

    ngx_uint_t                      status;    /* a store failure's */
    char                           *notify;    /* malloc()ed */
    size_t                          notify_len;
    char                            err[256];

    unsigned                        pending:1; /* an image to store */
    unsigned                        giveup:1;  /* its key stays locked */
    unsigned                        finished:1;
    unsigned                        failed:1;  /* no archive was read */
    unsigned                        logged:1;  /* err, once */
};


static ssize_t ngx_http_image_ingest_archive_read(void *data, void *buf,
    size_t len, uint64_t off);
static ngx_int_t ngx_http_image_ingest_archive_sniff(
    ngx_http_image_ingest_ctx_t *ctx);
static ngx_int_t ngx_http_image_ingest_archive_start(
    ngx_http_image_ingest_ctx_t *ctx);
static void ngx_http_image_ingest_archive_entry(
    ngx_http_image_ingest_ctx_t *ctx);
static void ngx_http_image_ingest_archive_result(
    ngx_http_image_ingest_ctx_t *ctx);
static void ngx_http_image_ingest_archive_notify(
    ngx_http_image_ingest_ctx_t *ctx);
static void ngx_http_image_ingest_archive_answer(
    ngx_http_image_ingest_ctx_t *ctx);
static void ngx_http_image_ingest_archive_cleanup(void *data);


/* ------------------------------------------------------------------------
 * the event loop
 */


/* before the body is read: the state, and room for the entry's metadata */

ngx_int_t
ngx_http_image_ingest_archive_init(ngx_http_request_t *r,
    ngx_http_image_ingest_ctx_t *ctx)
{
    ngx_pool_cleanup_t               *cln;
    ngx_http_image_ingest_archive_t  *st;

    st = ngx_pcalloc(r->pool, sizeof(ngx_http_image_ingest_archive_t));
    if (st == NULL) {
        return NGX_ERROR;
    }

    st->nmeta = ctx->nmeta;
    st->meta = ngx_palloc(r->pool,
                          (ctx->nmeta + 2) * sizeof(image_ingest_pair_t));
    if (st->meta == NULL) {
        return NGX_ERROR;
    }

    if (ctx->nmeta) {
        ngx_memcpy(st->meta, ctx->meta,
                   ctx->nmeta * sizeof(image_ingest_pair_t));
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    cln->handler = ngx_http_image_ingest_archive_cleanup;
    cln->data = ctx;

    ctx->archive = st;

    return NGX_OK;
}


/*
 * The task's completion for an archive: an entry was stored (or its key
 * is locked by another upload), or some were skipped; the task goes
 * again until the archive ends, then the answer.
 */

void
ngx_http_image_ingest_archive_done(ngx_http_image_ingest_ctx_t *ctx)
{
    ngx_int_t                          rc;
    ngx_connection_t                  *c;
    ngx_http_request_t                *r;
    ngx_http_image_ingest_archive_t   *st;
    ngx_http_image_ingest_loc_conf_t  *conf;

    r = ctx->request;
    c = r->connection;
    st = ctx->archive;
    conf = ctx->conf;

    if (st->failed) {
        ngx_log_error(NGX_LOG_INFO, c->log, 0, "image_ingest: %s", st->err);

        rc = ngx_http_edge_json_error(r, NGX_HTTP_BAD_REQUEST, st->err);
        ngx_http_finalize_request(r, rc);
        return;
    }

    if (ctx->busy) {
        if (ctx->delay == 0 || ctx->waited < ctx->max_wait) {
            rc = ngx_http_image_ingest_wait(r, ctx);

            if (rc == NGX_DONE) {
                return;
            }

            ngx_http_finalize_request(r, rc);
            return;
        }

        ngx_log_error(NGX_LOG_ERR, c->log, 0,
                      "image_ingest: archive entry \"%s\": another upload "
                      "of %s still holds its lock after %M ms",
                      st->entry.name, ctx->key, ctx->waited);

        st->giveup = 1;
    }

    if (ctx->recovered) {
        ngx_log_error(NGX_LOG_WARN, c->log, 0,
                      "image_ingest: %ui files of an interrupted upload of "
                      "%s removed", (ngx_uint_t) ctx->recovered, ctx->key);
        ctx->recovered = 0;
    }

    if (!st->pending) {
        ctx->delay = 0;
        ctx->waited = 0;
        st->giveup = 0;
    }

    if (st->notify) {
        ngx_http_image_ingest_archive_notify(ctx);
    }

    if (st->err[0] && !st->logged) {
        ngx_log_error(NGX_LOG_ERR, c->log, 0,
                      "image_ingest: archive entry \"%s\": %s",
                      st->entry.name, st->err);
        st->logged = 1;
    }

    /*
     * A client that went away ends the archive after the entry in work:
     * with the body read, only a read event tells (EPOLLRDHUP), which
     * ngx_http_test_reading() turns into c->error, seen when the next
     * task ends
     */

    r->read_event_handler = ngx_http_test_reading;

    if (!st->finished && c->read->pending_eof) {
        ngx_log_error(NGX_LOG_INFO, c->log, 0,
                      "image_ingest: client closed the connection, archive "
                      "stopped after %uL entries",
                      image_ingest_archive_counts(st->arc)->entries);

        c->error = 1;
        ngx_http_finalize_request(r, NGX_HTTP_CLIENT_CLOSED_REQUEST);
        return;
    }

    if (!st->finished) {
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, c->log, 0,
                       "image_ingest: archive: %uL entries so far, next",
                       image_ingest_archive_counts(st->arc)->entries);

        if (ctx->s3) {
            ngx_http_image_ingest_s3_renew(r, ctx);
        }

        if (ngx_http_edge_task_post(ctx->task, conf->thread_pool,
                                    &conf->thread_pool_name)
            == NGX_OK)
        {
            return;
        }

        image_ingest_archive_abort(st->arc, "busy: the thread pool queue "
                                            "is full");
        st->status = NGX_HTTP_SERVICE_UNAVAILABLE;
    }

    ngx_http_image_ingest_archive_answer(ctx);
}


/* a stored image is news for the app: now, or with the archive */

static void
ngx_http_image_ingest_archive_notify(ngx_http_image_ingest_ctx_t *ctx)
{
    ngx_http_request_t               *r;
    ngx_http_image_ingest_archive_t  *st;

    r = ctx->request;
    st = ctx->archive;

    if (ctx->conf->notify_batch) {
        if (image_ingest_archive_batch_add(st->arc, st->notify,
                                           st->notify_len)
            != 0)
        {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "image_ingest: notify: out of memory");
        }

    } else {
        (void) ngx_http_image_ingest_notify(r, ctx->conf,
                                            (u_char *) st->notify,
                                            st->notify_len);
    }

    free(st->notify);
    st->notify = NULL;
}


static void
ngx_http_image_ingest_archive_answer(ngx_http_image_ingest_ctx_t *ctx)
{
    char                                 *json;
    u_char                               *p;
    size_t                                len;
    ngx_int_t                             rc;
    ngx_uint_t                            status, level;
    const char                           *why;
    ngx_connection_t                     *c;
    ngx_http_request_t                   *r;
    ngx_http_image_ingest_archive_t      *st;
    const image_ingest_archive_counts_t  *n;

    r = ctx->request;
    c = r->connection;
    st = ctx->archive;
    n = image_ingest_archive_counts(st->arc);

    status = st->status ? st->status
             : n->stored ? NGX_HTTP_CREATED : NGX_HTTP_OK;

    why = image_ingest_archive_error(st->arc);
    level = why ? NGX_LOG_WARN : NGX_LOG_INFO;

    ngx_log_error(level, c->log, 0,
                  "image_ingest: archive of %uL entries: %uL stored, "
                  "%uL duplicates, %uL skipped, %uL refused%s%s",
                  n->entries, n->stored, n->duplicates, n->skipped,
                  n->refused, why ? "; stopped: " : "", why ? why : "");

    json = image_ingest_archive_json(st->arc, &len);

    if (json == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        free(json);
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_memcpy(p, json, len);
    free(json);

    rc = ngx_http_edge_json_send(r, status, p, len);

    /* image_ingest_notify_batch: one notification for the archive */

    if (ctx->conf->notify_batch && ctx->conf->notify.len && n->stored) {
        json = image_ingest_archive_batch_json(st->arc, &len);

        if (json == NULL) {
            ngx_log_error(NGX_LOG_ERR, c->log, 0,
                          "image_ingest: notify: out of memory");

        } else {
            (void) ngx_http_image_ingest_notify(r, ctx->conf,
                                                (u_char *) json, len);
            free(json);
        }
    }

    ngx_http_finalize_request(r, rc);
}


static void
ngx_http_image_ingest_archive_cleanup(void *data)
{
    ngx_http_image_ingest_ctx_t *ctx = data;

    ngx_http_image_ingest_archive_t  *st;

    st = ctx->archive;

    image_ingest_archive_close(st->arc);
    st->arc = NULL;

    free(st->notify);
    st->notify = NULL;

    if (ctx->body_malloc) {
        free(ctx->body);
        ctx->body = NULL;
        ctx->body_malloc = 0;
    }
}


/* ------------------------------------------------------------------------
 * the thread
 */


/*
 * NGX_DECLINED: the body is not an archive, the single upload follows
 * (its body now in memory); else the task's work is done.
 */

ngx_int_t
ngx_http_image_ingest_archive_thread(ngx_http_image_ingest_ctx_t *ctx)
{
    uint64_t                              bytes;
    ngx_uint_t                            skipped;
    ngx_http_image_ingest_archive_t      *st;
    const image_ingest_archive_counts_t  *counts;

    st = ctx->archive;

    if (!ctx->sniffed && ngx_http_image_ingest_archive_sniff(ctx) != NGX_OK)
    {
        /* not an archive, and no single upload either: answered */
        return NGX_OK;
    }

    if (!ctx->is_archive) {
        return NGX_DECLINED;
    }

    if (st->arc == NULL && ngx_http_image_ingest_archive_start(ctx) != NGX_OK)
    {
        return NGX_OK;
    }

    /* an image whose key was locked: again, or given up */

    if (st->pending) {
        if (st->giveup) {
            ctx->status = NGX_HTTP_SERVICE_UNAVAILABLE;
            ngx_snprintf((u_char *) ctx->err, sizeof(ctx->err),
                         "busy: an upload of the same image is in "
                         "progress%Z");
            ngx_http_image_ingest_archive_result(ctx);
            return NGX_OK;
        }

        if (ngx_http_image_ingest_image(ctx) != NGX_AGAIN) {
            ngx_http_image_ingest_archive_result(ctx);
        }

        return NGX_OK;
    }

    counts = image_ingest_archive_counts(st->arc);
    bytes = counts->bytes;

    for (skipped = 0; skipped < NGX_HTTP_IMAGE_INGEST_ARCHIVE_RUN;
         skipped++)
    {
        if (counts->bytes - bytes > NGX_HTTP_IMAGE_INGEST_ARCHIVE_RUN_BYTES)
        {
            break;
        }

        if (image_ingest_archive_next(st->arc, &st->entry)
            != IMAGE_INGEST_ARCHIVE_ENTRY)
        {
            st->finished = 1;
            break;
        }

        if (st->entry.cls == IMAGE_INGEST_ARCHIVE_IMAGE) {
            ngx_http_image_ingest_archive_entry(ctx);

            if (ngx_http_image_ingest_image(ctx) != NGX_AGAIN) {
                ngx_http_image_ingest_archive_result(ctx);
            }

            break;
        }

        if (image_ingest_archive_result(st->arc, &st->entry,
                st->entry.cls == IMAGE_INGEST_ARCHIVE_SKIPPED ? "skipped"
                                                               : "refused",
                NULL, st->entry.reason)
            != 0)
        {
            image_ingest_archive_abort(st->arc, "out of memory");
            st->status = NGX_HTTP_INTERNAL_SERVER_ERROR;
            ngx_snprintf((u_char *) st->err, sizeof(st->err),
                         "out of memory%Z");
        }
    }

    return NGX_OK;
}


/*
 * The body's first bytes: an archive (ctx->is_archive), or a single
 * upload, then read into memory; NGX_ERROR when that cannot be (the
 * status and error set).
 */

static ngx_int_t
ngx_http_image_ingest_archive_sniff(ngx_http_image_ingest_ctx_t *ctx)
{
    u_char   head[512];
    ssize_t  n;

    ctx->sniffed = 1;

    n = ngx_http_image_ingest_archive_read(ctx, head,
                                           ngx_min(sizeof(head),
                                                   ctx->body_len), 0);

    if (n > 0
        && image_ingest_archive_sniff(head, (size_t) n)
           == IMAGE_INGEST_ARCHIVE_SNIFF_ARCHIVE)
    {
        ctx->is_archive = 1;
        return NGX_OK;
    }

    if ((off_t) ctx->body_len
        > ngx_http_image_ingest_body_max(ctx->conf->max_size))
    {
        ctx->status = NGX_HTTP_REQUEST_ENTITY_TOO_LARGE;
        ngx_snprintf((u_char *) ctx->err, sizeof(ctx->err),
                     "body: larger than image_ingest_max_size, and not an "
                     "archive%Z");
        return NGX_ERROR;
    }

    ctx->body = malloc(ctx->body_len);

    if (ctx->body == NULL) {
        ctx->status = NGX_HTTP_INTERNAL_SERVER_ERROR;
        ngx_snprintf((u_char *) ctx->err, sizeof(ctx->err),
                     "out of memory%Z");
        return NGX_ERROR;
    }

    ctx->body_malloc = 1;

    return NGX_OK;
}


static ngx_int_t
ngx_http_image_ingest_archive_start(ngx_http_image_ingest_ctx_t *ctx)
{
    char                               err[200];
    image_ingest_archive_limits_t      limits;
    ngx_http_image_ingest_archive_t   *st;
    ngx_http_image_ingest_loc_conf_t  *conf;

    st = ctx->archive;
    conf = ctx->conf;

    limits.max_entries = conf->archive_max_entries;
    limits.max_bytes = (uint64_t) conf->archive_max_bytes;
    limits.max_ratio = conf->archive_max_ratio;
    limits.max_entry = conf->max_size;

    st->arc = image_ingest_archive_open(ngx_http_image_ingest_archive_read,
                                        ctx, ctx->body_len, &limits, err,
                                        sizeof(err));

    if (st->arc == NULL) {
        ngx_snprintf((u_char *) st->err, sizeof(st->err), "archive: %s%Z",
                     err);
        st->failed = 1;
        st->finished = 1;
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* the upload's context made the entry's: its bytes, its metadata */

static void
ngx_http_image_ingest_archive_entry(ngx_http_image_ingest_ctx_t *ctx)
{
    ngx_uint_t                        i;
    image_ingest_archive_entry_t     *e;
    ngx_http_image_ingest_archive_t  *st;

    st = ctx->archive;
    e = &st->entry;

    ctx->image = e->data;
    ctx->image_len = e->len;
    ctx->probed = 0;
    ctx->status = 0;
    ctx->full = 0;
    ctx->err[0] = '\0';
    ctx->key[0] = '\0';

    for (i = 0; i < ctx->nrenders; i++) {
        ctx->renders[i].format = ctx->renders[i].asked;
    }

    ctx->meta = st->meta;
    ctx->nmeta = st->nmeta;

    st->meta[ctx->nmeta].name = "entry_name";
    st->meta[ctx->nmeta].name_len = sizeof("entry_name") - 1;
    st->meta[ctx->nmeta].value = e->name;
    st->meta[ctx->nmeta].value_len = ngx_strlen(e->name);
    ctx->nmeta++;

    if (e->mtime[0]) {
        st->meta[ctx->nmeta].name = "entry_mtime";
        st->meta[ctx->nmeta].name_len = sizeof("entry_mtime") - 1;
        st->meta[ctx->nmeta].value = e->mtime;
        st->meta[ctx->nmeta].value_len = ngx_strlen(e->mtime);
        ctx->nmeta++;
    }

    st->pending = 1;
}


/* an image entry's outcome, in the results; a store failure stops */

static void
ngx_http_image_ingest_archive_result(ngx_http_image_ingest_ctx_t *ctx)
{
    int                               rc;
    char                             *json;
    size_t                            len;
    const char                       *reason;
    image_ingest_info_t               info;
    image_ingest_archive_entry_t     *e;
    ngx_http_image_ingest_archive_t  *st;

    st = ctx->archive;
    e = &st->entry;

    st->pending = 0;

    switch (ctx->status) {

    case NGX_HTTP_CREATED:
    case NGX_HTTP_OK:
        ngx_http_image_ingest_info(ctx, &info);

        rc = image_ingest_archive_result(st->arc, e,
                                         ctx->status == NGX_HTTP_CREATED
                                         ? "stored" : "duplicate",
                                         &info, NULL);

        if (ctx->status == NGX_HTTP_CREATED && ctx->conf->notify.len) {
            len = image_ingest_json_notify(&info, NULL, 0);

            json = malloc(len);
            if (json) {
                (void) image_ingest_json_notify(&info, json, len);
                st->notify = json;
                st->notify_len = len;
            }
        }

        break;

    default:
        if (ctx->status >= NGX_HTTP_INTERNAL_SERVER_ERROR
            && ctx->status != NGX_HTTP_SERVICE_UNAVAILABLE)
        {
            /* the store: every later entry would fail alike */

            reason = ctx->full ? "insufficient storage: the image store "
                                 "is full"
                     : (ctx->status == NGX_HTTP_BAD_GATEWAY)
                       ? "bad gateway: the image store failed"
                       : "internal error";

            rc = image_ingest_archive_result(st->arc, e, "refused", NULL,
                                             reason);

            image_ingest_archive_abort(st->arc, reason);
            st->status = ctx->status;
            ngx_memcpy(st->err, ctx->err, sizeof(st->err));
            break;
        }

        rc = image_ingest_archive_result(st->arc, e, "refused", NULL,
                                         ctx->err);
        break;
    }

    if (rc != 0) {
        image_ingest_archive_abort(st->arc, "out of memory");
        st->status = NGX_HTTP_INTERNAL_SERVER_ERROR;
        ngx_snprintf((u_char *) st->err, sizeof(st->err), "out of memory%Z");
    }
}


/*
 * The body as one file of body_len bytes: its parts in memory or in the
 * temporary file, read at off; the count read, or -1 (errno set).
 */

static ssize_t
ngx_http_image_ingest_archive_read(void *data, void *buf, size_t len,
    uint64_t off)
{
    ngx_http_image_ingest_ctx_t *ctx = data;

    u_char                        *p;
    size_t                         n, done;
    ssize_t                        got;
    uint64_t                       base, at;
    ngx_uint_t                     i;
    ngx_http_image_ingest_part_t  *part;

    p = buf;
    done = 0;
    base = 0;

    for (i = 0; i < ctx->nparts && done < len; i++) {
        part = &ctx->parts[i];

        if (off + done >= base + part->len) {
            base += part->len;
            continue;
        }

        at = off + done - base;
        n = ngx_min(part->len - (size_t) at, len - done);

        if (part->pos) {
            ngx_memcpy(p + done, part->pos + at, n);

        } else {
            got = pread(part->fd, p + done, n, part->offset + (off_t) at);

            if (got == -1 && ngx_errno == NGX_EINTR) {
                i--;
                continue;
            }

            if (got < 0) {
                return -1;
            }

            if (got == 0) {
                /* the temporary file is shorter than nginx said */
                return done;
            }

            n = (size_t) got;

            if (n < part->len - at) {
                /* the rest of this part on the next turn */
                done += n;
                i--;
                continue;
            }
        }

        done += n;
        base += part->len;
    }

    return done;
}


/* ------------------------------------------------------------------------
 * configuration
 */


/* the entry's metadata names are the archive's */

char *
ngx_http_image_ingest_archive_merge(ngx_conf_t *cf,
    ngx_http_image_ingest_loc_conf_t *conf)
{
    ngx_uint_t                     i;
    ngx_http_image_ingest_meta_t  *m;

    if (conf->archive_max_entries == 0) {
        return "image_ingest_archive_max_entries must be positive";
    }

    if (conf->archive_max_bytes <= 0) {
        return "image_ingest_archive_max_bytes must be positive";
    }

    if (conf->archive_max_ratio == 0) {
        return "image_ingest_archive_max_ratio must be positive";
    }

    if (!conf->archive || conf->meta == NULL) {
        return NGX_CONF_OK;
    }

    m = conf->meta->elts;

    for (i = 0; i < conf->meta->nelts; i++) {
        if ((m[i].name.len == 10
             && ngx_strncmp(m[i].name.data, "entry_name", 10) == 0)
            || (m[i].name.len == 11
                && ngx_strncmp(m[i].name.data, "entry_mtime", 11) == 0))
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "image_ingest_meta \"%V\" is an archive "
                               "entry's own with image_ingest_archive",
                               &m[i].name);
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;
}
