
/*
 * ngx_http_image_ingest_module: the thread pool task of an upload.  It
 * reads the body, decodes it, checks the image's header, renders the
 * variants and stores everything as one transaction, or rolls it back.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <vips/vips.h>

#include "image_variant_params.h"
#include "image_variant_vips.h"
#include "image_ingest_body.h"
#include "image_ingest_json.h"
#include "image_ingest_store.h"
#include "image_ingest_vips.h"
#include "ngx_http_image_variant.h"
#include "ngx_http_image_ingest.h"


static ngx_int_t ngx_http_image_ingest_read(ngx_http_image_ingest_ctx_t *ctx);
static ngx_int_t ngx_http_image_ingest_decode(
    ngx_http_image_ingest_ctx_t *ctx);
static ngx_int_t ngx_http_image_ingest_probe(
    ngx_http_image_ingest_ctx_t *ctx);
static ngx_int_t ngx_http_image_ingest_store(
    ngx_http_image_ingest_ctx_t *ctx);
static void ngx_http_image_ingest_store_error(
    ngx_http_image_ingest_ctx_t *ctx);
static ngx_int_t ngx_http_image_ingest_render(
    ngx_http_image_ingest_ctx_t *ctx, ngx_http_image_ingest_render_t *rd,
    ngx_int_t duplicate);
static ngx_int_t ngx_http_image_ingest_local_begin(
    ngx_http_image_ingest_ctx_t *ctx);
static ngx_int_t ngx_http_image_ingest_local_exists(
    ngx_http_image_ingest_ctx_t *ctx, const char *rel);
static ngx_int_t ngx_http_image_ingest_local_stage(
    ngx_http_image_ingest_ctx_t *ctx, const char *rel, const void *data,
    size_t len);
static ngx_int_t ngx_http_image_ingest_local_commit(
    ngx_http_image_ingest_ctx_t *ctx);
static void ngx_http_image_ingest_local_end(
    ngx_http_image_ingest_ctx_t *ctx);
static void ngx_http_image_ingest_fail(ngx_http_image_ingest_ctx_t *ctx,
    ngx_uint_t status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;


/* image_ingest_store <directory>: image_ingest_store.c's transactions */
const ngx_http_image_ingest_store_t  ngx_http_image_ingest_local = {
    ngx_http_image_ingest_local_begin,
    ngx_http_image_ingest_local_exists,
    ngx_http_image_ingest_local_stage,
    ngx_http_image_ingest_local_commit,
    ngx_http_image_ingest_local_end
};


/* file name extensions, by image_variant_format_e */
static const char  *ngx_http_image_ingest_exts[] = {
    "", "jpg", "png", "webp", "avif"
};


/* ------------------------------------------------------------------------
 * the thread: only the task context, libvips and system calls here.
 * Renders run at nice +10, as image_variant's do: the event loop of the
 * same worker must still answer at once.
 */


/* the JSON's view of a finished upload; no allocation (used by the thread) */

void
ngx_http_image_ingest_info(ngx_http_image_ingest_ctx_t *ctx,
    image_ingest_info_t *info)
{
    ngx_uint_t  i, n, per;

    ngx_memzero(info, sizeof(image_ingest_info_t));

    info->key = ctx->key;
    info->width = ctx->probe.width;
    info->height = ctx->probe.height;
    info->format = ctx->probe.format;
    info->bytes = ctx->image_len;
    info->uploaded = ctx->now;
    info->formats = ctx->format_names;
    info->nformats = ctx->nformats;
    info->meta = ctx->meta;
    info->nmeta = ctx->nmeta;

    if (ctx->moderated) {
        info->moderation = ctx->moderation_json;
    }

    /* a quarantined image has no public URI */

    if (ctx->nrenders == 0 || ctx->quarantined) {
        return;
    }

    /* each preset: its first format's URI */

    n = ctx->conf->variants->nelts;
    per = ctx->nrenders / n;

    for (i = 0; i < n; i++) {
        ctx->pairs[i].name = (char *) ctx->renders[i * per].variant->name.data;
        ctx->pairs[i].name_len = ctx->renders[i * per].variant->name.len;
        ctx->pairs[i].value = ctx->renders[i * per].uri;
        ctx->pairs[i].value_len = ngx_strlen(ctx->renders[i * per].uri);
    }

    info->variants = ctx->pairs;
    info->nvariants = n;
}


void
ngx_http_image_ingest_thread(void *data, ngx_log_t *log)
{
    ngx_http_image_ingest_ctx_t *ctx = data;

    ngx_http_edge_nice(log);

    /*
     * Another upload of the same bytes holding the key's lock: the task
     * ends BUSY, and the event loop posts it again later (the pool thread
     * is not held while the other renders); the body is read, decoded
     * and probed once.
     */

    ctx->busy = 0;

    /* image_ingest_archive: an archive's next entries, or NGX_DECLINED */

    if (ctx->archive
        && ngx_http_image_ingest_archive_thread(ctx) != NGX_DECLINED)
    {
        vips_thread_shutdown();
        return;
    }

    if (ctx->probed
        || (ngx_http_image_ingest_read(ctx) == NGX_OK
            && ngx_http_image_ingest_decode(ctx) == NGX_OK))
    {
        (void) ngx_http_image_ingest_image(ctx);
    }

    /* libvips' per-thread buffers: this thread may idle for long */
    vips_thread_shutdown();
}


/*
 * An image in ctx->image: checked (once: ctx->probed), then stored as
 * one transaction; an archive's entries come here one by one.
 */

ngx_int_t
ngx_http_image_ingest_image(ngx_http_image_ingest_ctx_t *ctx)
{
    if (!ctx->probed) {
        if (ngx_http_image_ingest_probe(ctx) != NGX_OK) {
            return NGX_ERROR;
        }

        ctx->probed = 1;
    }

    /* before the key's lock: the network takes a while */

    if (ctx->conf->moderation != NGX_HTTP_IMAGE_INGEST_MODERATION_OFF
        && !ctx->moderated)
    {
        if (ngx_http_image_ingest_moderate(ctx) != NGX_OK) {
            return NGX_ERROR;
        }

        if (ctx->rejected) {
            /* nothing is stored */
            return NGX_OK;
        }
    }

    return ngx_http_image_ingest_store(ctx);
}


static ngx_int_t
ngx_http_image_ingest_read(ngx_http_image_ingest_ctx_t *ctx)
{
    u_char                        *p;
    ssize_t                        n;
    size_t                         done;
    ngx_uint_t                     i;
    ngx_http_image_ingest_part_t  *part;

    p = ctx->body;

    for (i = 0; i < ctx->nparts; i++) {
        part = &ctx->parts[i];

        if (part->pos) {
            p = ngx_cpymem(p, part->pos, part->len);
            continue;
        }

        for (done = 0; done < part->len; done += n) {
            n = pread(part->fd, p + done, part->len - done,
                      part->offset + done);

            if (n == -1 && ngx_errno == NGX_EINTR) {
                n = 0;
                continue;
            }

            if (n == 0) {
                ngx_http_image_ingest_fail(ctx,
                                           NGX_HTTP_INTERNAL_SERVER_ERROR,
                                           "reading the request body "
                                           "failed: end of file");
                return NGX_ERROR;
            }

            if (n < 0) {
                /* %m: errno, this thread's */
                ngx_http_image_ingest_fail(ctx,
                                           NGX_HTTP_INTERNAL_SERVER_ERROR,
                                           "reading the request body "
                                           "failed: %m");
                return NGX_ERROR;
            }
        }

        p += part->len;
    }

    return NGX_OK;
}


/* raw bytes, or the base64 of JSON's data.image, decoded in place */

static ngx_int_t
ngx_http_image_ingest_decode(ngx_http_image_ingest_ctx_t *ctx)
{
    char    err[128];
    size_t  off, len;

    if (!image_ingest_body_is_json((char *) ctx->body, ctx->body_len)) {
        ctx->image = ctx->body;
        ctx->image_len = ctx->body_len;

    } else {
        if (image_ingest_body_json((char *) ctx->body, ctx->body_len, &off,
                                   &len, err, sizeof(err))
            != IMAGE_INGEST_BODY_OK
            || image_ingest_body_base64((char *) ctx->body + off, len, &len,
                                        err, sizeof(err))
               != IMAGE_INGEST_BODY_OK)
        {
            ngx_http_image_ingest_fail(ctx, NGX_HTTP_BAD_REQUEST, "%s", err);
            return NGX_ERROR;
        }

        ctx->image = ctx->body + off;
        ctx->image_len = len;
    }

    if (ctx->image_len > ctx->conf->max_size) {
        ngx_http_image_ingest_fail(ctx, NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                   "image: %zu bytes, larger than "
                                   "image_ingest_max_size (%zu)",
                                   ctx->image_len, ctx->conf->max_size);
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* header check, key, and the names of every file */

static ngx_int_t
ngx_http_image_ingest_probe(ngx_http_image_ingest_ctx_t *ctx)
{
    ngx_uint_t                         i;
    ngx_http_image_ingest_loc_conf_t  *conf;

    conf = ctx->conf;

    image_ingest_probe(ctx->image, ctx->image_len, conf->max_pixels,
                       &ctx->probe);

    switch (ctx->probe.status) {

    case IMAGE_VARIANT_DONE:
        break;

    case IMAGE_VARIANT_E_TOO_LARGE:
        ngx_http_image_ingest_fail(ctx, NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                   "image: %s", ctx->probe.error);
        return NGX_ERROR;

    case IMAGE_VARIANT_E_NOT_IMAGE:
        ngx_http_image_ingest_fail(ctx, NGX_HTTP_UNSUPPORTED_MEDIA_TYPE,
                                   "image: %s", ctx->probe.error);
        return NGX_ERROR;

    default:
        ngx_http_image_ingest_fail(ctx, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                   "image: %s", ctx->probe.error);
        return NGX_ERROR;
    }

    image_ingest_key(ctx->image, ctx->image_len, ctx->key);

    ngx_snprintf((u_char *) ctx->original, sizeof(ctx->original), "%s.%s%Z",
                 ctx->key, ctx->probe.ext);

    /* where each variant goes, and its URI */

    for (i = 0; i < ctx->nrenders; i++) {
        if (ctx->renders[i].format == IMAGE_VARIANT_FORMAT_AUTO) {
            ctx->renders[i].format = ctx->probe.alpha
                                     ? IMAGE_VARIANT_FORMAT_PNG
                                     : IMAGE_VARIANT_FORMAT_JPEG;
        }

        ngx_snprintf((u_char *) ctx->renders[i].rel, IMAGE_INGEST_REL_LEN,
                     "%V/%s.%s%Z", &ctx->renders[i].variant->name, ctx->key,
                     ngx_http_image_ingest_exts[ctx->renders[i].format]);

        ngx_snprintf((u_char *) ctx->renders[i].uri,
                     NGX_HTTP_IMAGE_INGEST_URI_LEN, "%V%s%Z", &conf->uri,
                     ctx->renders[i].rel);
    }

    return NGX_OK;
}


/*
 * One transaction: every variant rendered and staged first (a render that
 * fails stores nothing), the metadata, the original last.  A duplicate
 * gains only the variants it lacks.  NGX_AGAIN: the key is locked by
 * another upload, ctx->busy set.
 */

static ngx_int_t
ngx_http_image_ingest_store(ngx_http_image_ingest_ctx_t *ctx)
{
    char                                 *meta;
    char                                  rel[IMAGE_INGEST_REL_LEN];
    size_t                                len;
    ngx_int_t                             rc, duplicate;
    ngx_uint_t                            i;
    image_ingest_info_t                   info;
    const ngx_http_image_ingest_store_t  *store;

    store = ctx->conf->backend;

    /*
     * image_ingest_moderation flag: a flagged image, all of it, under the
     * store's quarantine/ (the backend's begin and names look at this)
     */

    ctx->quarantined = ctx->flagged
                       && ctx->conf->moderation
                          == NGX_HTTP_IMAGE_INGEST_MODERATION_FLAG;

    rc = store->begin(ctx);

    if (rc == NGX_AGAIN) {
        ctx->busy = 1;
        return NGX_AGAIN;
    }

    if (rc != NGX_OK) {
        return NGX_ERROR;
    }

    rc = store->exists(ctx, ctx->original);

    if (rc == NGX_ERROR) {
        goto failed;
    }

    duplicate = (rc == NGX_OK);

    for (i = 0; i < ctx->nrenders; i++) {
        if (ngx_http_image_ingest_render(ctx, &ctx->renders[i], duplicate)
            != NGX_OK)
        {
            goto failed;
        }
    }

    if (!duplicate) {
        ngx_http_image_ingest_info(ctx, &info);

        len = image_ingest_json_meta(&info, NULL, 0);

        meta = malloc(len);
        if (meta == NULL) {
            ngx_http_image_ingest_fail(ctx, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                       "out of memory");
            goto failed;
        }

        (void) image_ingest_json_meta(&info, meta, len);

        ngx_snprintf((u_char *) rel, sizeof(rel), "%s.json%Z", ctx->key);

        rc = store->stage(ctx, rel, meta, len);
        free(meta);

        if (rc != NGX_OK
            || store->stage(ctx, ctx->original, ctx->image, ctx->image_len)
               != NGX_OK)
        {
            goto failed;
        }
    }

    rc = store->commit(ctx);

    if (rc == NGX_ERROR) {
        goto failed;
    }

    store->end(ctx);

    ctx->fresh = !duplicate && rc != NGX_DECLINED;

    if (ctx->quarantined) {
        ctx->status = NGX_HTTP_ACCEPTED;

    } else {
        /* NGX_DECLINED: another upload (another node) stored it first */
        ctx->status = ctx->fresh ? NGX_HTTP_CREATED : NGX_HTTP_OK;
    }

    return NGX_OK;

failed:

    store->end(ctx);

    return NGX_ERROR;
}


static ngx_int_t
ngx_http_image_ingest_render(ngx_http_image_ingest_ctx_t *ctx,
    ngx_http_image_ingest_render_t *rd, ngx_int_t duplicate)
{
    ngx_int_t             rc;
    ngx_uint_t            status;
    image_variant_job_t  *job;

    if (duplicate) {
        rc = ctx->conf->backend->exists(ctx, rd->rel);

        if (rc != NGX_DECLINED) {
            return (rc == NGX_OK) ? NGX_OK : NGX_ERROR;
        }
    }

    /* ~300 bytes of results and the parameters: not for the stack alone */

    job = calloc(1, sizeof(image_variant_job_t));
    if (job == NULL) {
        ngx_http_image_ingest_fail(ctx, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                   "out of memory");
        return NGX_ERROR;
    }

    job->data = ctx->image;
    job->len = ctx->image_len;
    job->params = rd->variant->params;
    job->params.format = rd->format;
    job->accept = IMAGE_VARIANT_ACCEPT_LEGACY;
    job->max_pixels = ctx->conf->max_pixels;
    job->timeout_ms = (unsigned) ctx->conf->timeout;
    ngx_http_image_variant_face_job(job, ctx->conf->face_models);

    image_variant_render(job);

    if (job->status != IMAGE_VARIANT_DONE) {
        status = ngx_http_image_variant_status(job->status);

        ngx_http_image_ingest_fail(ctx, status, "variant %s: %s", rd->rel,
                                   job->error);
        image_variant_free(job->out);
        free(job);
        return NGX_ERROR;
    }

    rc = ctx->conf->backend->stage(ctx, rd->rel, job->out, job->out_len);

    image_variant_free(job->out);
    free(job);

    return rc;
}


/*
 * The local store.  Never flock() waiting: a pool thread is not to sleep
 * on a lock (NGX_AGAIN: the event loop posts the task again later).
 */

static ngx_int_t
ngx_http_image_ingest_local_begin(ngx_http_image_ingest_ctx_t *ctx)
{
    int    rc;
    char  *dir;

    dir = (char *) ctx->conf->store.data;

    if (ctx->quarantined) {
        /* image_ingest_begin() creates the last directory only */

        if (mkdir(dir, 0755) == -1 && ngx_errno != NGX_EEXIST) {
            ngx_http_image_ingest_fail(ctx, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                       "store: mkdir(\"%s\") failed: %m",
                                       dir);
            return NGX_ERROR;
        }

        dir = (char *) ctx->conf->quarantine.data;
    }

    /* never flock() waiting: a pool thread is not to sleep on a lock */

    rc = image_ingest_begin(&ctx->txn, dir, ctx->key, 1);

    if (rc == IMAGE_INGEST_STORE_BUSY) {
        return NGX_AGAIN;
    }

    if (rc != IMAGE_INGEST_STORE_OK) {
        ngx_http_image_ingest_store_error(ctx);
        return NGX_ERROR;
    }

    ctx->recovered = ctx->txn.recovered;

    return NGX_OK;
}


static ngx_int_t
ngx_http_image_ingest_local_exists(ngx_http_image_ingest_ctx_t *ctx,
    const char *rel)
{
    return image_ingest_exists(&ctx->txn, rel) ? NGX_OK : NGX_DECLINED;
}


static ngx_int_t
ngx_http_image_ingest_local_stage(ngx_http_image_ingest_ctx_t *ctx,
    const char *rel, const void *data, size_t len)
{
    if (image_ingest_stage(&ctx->txn, rel, data, len)
        != IMAGE_INGEST_STORE_OK)
    {
        ngx_http_image_ingest_store_error(ctx);
        return NGX_ERROR;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_image_ingest_local_commit(ngx_http_image_ingest_ctx_t *ctx)
{
    /* the lock was held since begin: nobody else stored the original */

    if (ctx->txn.nfiles
        && image_ingest_commit(&ctx->txn, ctx->original)
           != IMAGE_INGEST_STORE_OK)
    {
        ngx_http_image_ingest_store_error(ctx);
        return NGX_ERROR;
    }

    return NGX_OK;
}


static void
ngx_http_image_ingest_local_end(ngx_http_image_ingest_ctx_t *ctx)
{
    image_ingest_end(&ctx->txn);
}


/* a full store (ENOSPC, EDQUOT) is the client's 507, anything else 500 */

static void
ngx_http_image_ingest_store_error(ngx_http_image_ingest_ctx_t *ctx)
{
    ngx_uint_t  status;

    ctx->full = (ctx->txn.errnum == ENOSPC || ctx->txn.errnum == EDQUOT);

    status = ctx->full ? NGX_HTTP_INSUFFICIENT_STORAGE
                       : NGX_HTTP_INTERNAL_SERVER_ERROR;

    ngx_http_image_ingest_fail(ctx, status, "store: %s", ctx->txn.error);
}


static void
ngx_http_image_ingest_fail(ngx_http_image_ingest_ctx_t *ctx,
    ngx_uint_t status, const char *fmt, ...)
{
    va_list  args;

    va_start(args, fmt);
    vsnprintf(ctx->err, sizeof(ctx->err), fmt, args);
    va_end(args);

    ctx->status = status;
}
