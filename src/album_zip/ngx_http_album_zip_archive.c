
/*
 * ngx_http_album_zip_module: from a member list to a laid-out archive and
 * its response headers (names, limits, ETag, Range).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <ngx_md5.h>

#include "ngx_http_album_zip.h"


static ngx_int_t ngx_http_album_zip_names(ngx_http_request_t *r,
    ngx_http_album_zip_ctx_t *ctx);
static void ngx_http_album_zip_etag(ngx_http_album_zip_ctx_t *ctx,
    u_char *buf);
static ngx_int_t ngx_http_album_zip_range(ngx_http_request_t *r,
    ngx_http_album_zip_ctx_t *ctx);
static ngx_int_t ngx_http_album_zip_parse_range(ngx_str_t *value,
    off_t total, off_t *start, off_t *end);
static ngx_int_t ngx_http_album_zip_disposition(ngx_http_request_t *r,
    ngx_http_album_zip_ctx_t *ctx);
static void ngx_http_album_zip_clear_header(ngx_http_request_t *r,
    char *name);
static ngx_int_t ngx_http_album_zip_add_header(ngx_http_request_t *r,
    char *name, ngx_str_t *value, ngx_table_elt_t **out);


#define NGX_HTTP_ALBUM_ZIP_ETAG_LEN  (2 + 2 * 16)


void *
ngx_http_album_zip_palloc(void *pool, size_t size)
{
    return ngx_palloc(pool, size);
}


/*
 * Sanitises and de-duplicates the names, checks the limits, lays the
 * archive out and chooses the range to send.  On failure returns an HTTP
 * status and sets *error to a message for the log and the client.
 */

ngx_int_t
ngx_http_album_zip_prepare(ngx_http_request_t *r,
    ngx_http_album_zip_ctx_t *ctx, ngx_str_t *error)
{
    off_t                           total;
    u_char                         *p;
    uint64_t                       *crcs;
    ngx_int_t                       rc;
    ngx_uint_t                      i;
    album_zip_entry_t              *e;
    ngx_http_album_zip_loc_conf_t  *conf;

    conf = ctx->conf;

    if (ctx->nentries > conf->max_files) {
        error->data = ngx_pnalloc(r->pool, 80);
        if (error->data == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        error->len = ngx_sprintf(error->data,
                                 "the album has %ui files, more than "
                                 "album_zip_max_files %ui",
                                 ctx->nentries, conf->max_files)
                     - error->data;
        return NGX_HTTP_REQUEST_ENTITY_TOO_LARGE;
    }

    rc = ngx_http_album_zip_names(r, ctx);
    if (rc != NGX_OK) {
        ngx_str_set(error, "out of memory");
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* every size known and no member may be dropped: a fixed layout */

    ctx->dynamic = (conf->missing == NGX_HTTP_ALBUM_ZIP_MISSING_SKIP);
    ctx->last_modified = 0;
    total = 0;

    for (i = 0; i < ctx->nentries; i++) {
        e = &ctx->entries[i];

        if (!ctx->members[i].size_known) {
            ctx->dynamic = 1;

        } else if (e->size > (uint64_t) (conf->max_size - total)) {
            error->data = ngx_pnalloc(r->pool, 80);
            if (error->data == NULL) {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

            error->len = ngx_sprintf(error->data,
                                     "the album is larger than "
                                     "album_zip_max_size %O",
                                     conf->max_size)
                         - error->data;
            return NGX_HTTP_REQUEST_ENTITY_TOO_LARGE;

        } else {
            total += e->size;
        }

        if (e->mtime > ctx->last_modified) {
            ctx->last_modified = e->mtime;
        }
    }

    /*
     * album_zip_layout() gives a member of size 0 the CRC of no bytes, as
     * it is empty; a member whose size is unknown yet (0 here) is not:
     * what the manifest said of its CRC is kept for its real layout, or
     * its local header would claim a CRC of 0 and no data descriptor.
     */

    crcs = NULL;

    if (ctx->dynamic) {
        crcs = ngx_palloc(r->pool, (ctx->nentries ? ctx->nentries : 1)
                                   * sizeof(uint64_t));
        if (crcs == NULL) {
            ngx_str_set(error, "out of memory");
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        for (i = 0; i < ctx->nentries; i++) {
            e = &ctx->entries[i];
            crcs[i] = e->has_crc ? (uint64_t) 1 << 32 | e->crc32 : 0;
        }
    }

    if (album_zip_layout(&ctx->ar, ctx->entries, ctx->nentries)
        != ALBUM_ZIP_OK)
    {
        ngx_str_set(error, "the album cannot be laid out as a zip");
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    for (i = 0; crcs && i < ctx->nentries; i++) {
        if (!ctx->members[i].size_known) {
            e = &ctx->entries[i];
            e->has_crc = (crcs[i] >> 32) ? 1 : 0;
            e->crc32 = (uint32_t) crcs[i];
            e->descriptor = !e->has_crc;
        }
    }

    p = ngx_pnalloc(r->pool, sizeof("W/") - 1 + NGX_HTTP_ALBUM_ZIP_ETAG_LEN);
    if (p == NULL) {
        ngx_str_set(error, "out of memory");
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->etag.data = p;

    /*
     * The tag is strong only when it pins the bytes: every CRC known (a
     * directory's files are pinned by size and mtime, as nginx's own
     * ETag is).  Otherwise the archive also depends on what the members
     * answer: their data (CRC), sizes, Last-Modified, skipped members.
     */

    if (ctx->dynamic || (!ctx->ar.determined && !ctx->content)) {
        p = ngx_cpymem(p, "W/", sizeof("W/") - 1);
    }

    ngx_http_album_zip_etag(ctx, p);
    ctx->etag.len = p - ctx->etag.data + NGX_HTTP_ALBUM_ZIP_ETAG_LEN;

    ctx->start = 0;
    ctx->end = ctx->dynamic ? NGX_MAX_OFF_T_VALUE : (off_t) ctx->ar.total;

    if (!ctx->dynamic && ctx->ar.determined) {
        rc = ngx_http_album_zip_range(r, ctx);
        if (rc != NGX_OK) {
            ngx_str_set(error, "requested range not satisfiable");
            return rc;
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_album_zip_names(ngx_http_request_t *r, ngx_http_album_zip_ctx_t *ctx)
{
    u_char             *buf;
    size_t              len;
    ngx_uint_t          i, n;
    album_zip_name_t   *names;
    album_zip_alloc_t   alloc;

    names = ngx_palloc(r->pool, ctx->nentries * sizeof(album_zip_name_t));
    if (names == NULL && ctx->nentries) {
        return NGX_ERROR;
    }

    for (i = 0; i < ctx->nentries; i++) {
        len = ctx->entries[i].name_len;

        buf = ngx_pnalloc(r->pool, ALBUM_ZIP_NAME_BOUND(len));
        if (buf == NULL) {
            return NGX_ERROR;
        }

        names[i].len = album_zip_name_sanitize((char *) buf,
                                               ctx->entries[i].name, len,
                                               ctx->entries[i].is_dir);
        names[i].data = (char *) buf;
        names[i].omit = 0;
    }

    alloc.alloc = ngx_http_album_zip_palloc;
    alloc.ctx = r->pool;

    if (album_zip_names_dedup(names, ctx->nentries, &alloc,
                              (uint64_t) ngx_random() << 32 | ngx_random())
        != ALBUM_ZIP_OK)
    {
        return NGX_ERROR;
    }

    /* a repeated directory entry is the same directory: drop it */

    for (i = 0, n = 0; i < ctx->nentries; i++) {
        if (names[i].omit) {
            continue;
        }

        ctx->entries[n] = ctx->entries[i];
        ctx->members[n] = ctx->members[i];
        ctx->entries[n].name = names[i].data;
        ctx->entries[n].name_len = names[i].len;
        n++;
    }

    ctx->nentries = n;

    return NGX_OK;
}


/*
 * The ETag describes the archive bytes: every input of the layout.  The
 * module version is part of it, so a change of framing changes the tag.
 * A local file stands for its bytes (and so its CRC) by what the CRC
 * store keys it by: device, inode, size and mtime to the nanosecond; a
 * file replaced by one of the same size within the same second (a new
 * inode, or new nanoseconds) is another archive.
 */

static void
ngx_http_album_zip_etag(ngx_http_album_zip_ctx_t *ctx, u_char *buf)
{
    u_char                         digest[16];
    ngx_md5_t                      md5;
    ngx_uint_t                     i;
    album_zip_entry_t             *e;
    ngx_http_album_zip_member_t   *m;
    uint64_t                       fields[7];

    ngx_md5_init(&md5);
    ngx_md5_update(&md5, "album_zip/2", sizeof("album_zip/2"));

    for (i = 0; i < ctx->nentries; i++) {
        e = &ctx->entries[i];
        m = &ctx->members[i];

        fields[0] = e->name_len;
        fields[1] = e->size;
        fields[2] = (uint64_t) e->mtime;

        if (m->has_id) {
            fields[3] = (uint64_t) 2 << 32;
            fields[4] = (uint64_t) m->id.dev;
            fields[5] = (uint64_t) m->id.ino;
            fields[6] = (uint64_t) m->id.mtime_nsec;

        } else {
            fields[3] = e->descriptor ? (uint64_t) 1 << 32 : e->crc32;
            fields[4] = 0;
            fields[5] = 0;
            fields[6] = 0;
        }

        ngx_md5_update(&md5, fields, sizeof(fields));
        ngx_md5_update(&md5, e->name, e->name_len);
    }

    ngx_md5_final(digest, &md5);

    buf[0] = '"';
    ngx_hex_dump(buf + 1, digest, 16);
    buf[NGX_HTTP_ALBUM_ZIP_ETAG_LEN - 1] = '"';
}


/*
 * A single byte range, honoured only when If-Range (if any) names this
 * very archive.  Several ranges are answered with the whole archive, as
 * RFC 9110 allows.
 */

static ngx_int_t
ngx_http_album_zip_range(ngx_http_request_t *r, ngx_http_album_zip_ctx_t *ctx)
{
    time_t      t;
    ngx_str_t  *v;
    ngx_int_t   rc;

    if (ctx->range == NULL) {
        return NGX_OK;
    }

    if (ctx->if_range) {
        v = &ctx->if_range->value;

        if (v->len >= 2 && v->data[v->len - 1] == '"') {
            if (v->len != ctx->etag.len
                || ngx_strncmp(v->data, ctx->etag.data, v->len) != 0)
            {
                return NGX_OK;
            }

        } else {
            t = ngx_parse_http_time(v->data, v->len);
            if (t == NGX_ERROR || t != ctx->last_modified) {
                return NGX_OK;
            }
        }
    }

    rc = ngx_http_album_zip_parse_range(&ctx->range->value,
                                        (off_t) ctx->ar.total,
                                        &ctx->start, &ctx->end);

    if (rc == NGX_DECLINED) {
        ctx->start = 0;
        ctx->end = (off_t) ctx->ar.total;
        return NGX_OK;
    }

    if (rc == NGX_HTTP_RANGE_NOT_SATISFIABLE) {
        /* an empty window: what ngx_http_album_zip_start() answers 416 */
        ctx->start = (off_t) ctx->ar.total;
        ctx->end = ctx->start;
    }

    return rc;
}


static ngx_int_t
ngx_http_album_zip_parse_range(ngx_str_t *value, off_t total, off_t *start,
    off_t *end)
{
    off_t    a, b, cutoff, cutlim;
    u_char  *p, *last;
    ngx_uint_t  suffix;

    p = value->data;
    last = p + value->len;

    if (value->len < 6 || ngx_strncasecmp(p, (u_char *) "bytes=", 6) != 0) {
        return NGX_DECLINED;
    }

    p += 6;

    if (ngx_strlchr(p, last, ',') != NULL) {
        return NGX_DECLINED;
    }

    cutoff = NGX_MAX_OFF_T_VALUE / 10;
    cutlim = NGX_MAX_OFF_T_VALUE % 10;

    while (p < last && *p == ' ') { p++; }

    a = 0;
    suffix = 0;

    if (p < last && *p == '-') {
        suffix = 1;

    } else {
        if (p == last || *p < '0' || *p > '9') {
            return NGX_DECLINED;
        }

        while (p < last && *p >= '0' && *p <= '9') {
            if (a >= cutoff && (a > cutoff || *p - '0' > cutlim)) {
                return NGX_DECLINED;
            }

            a = a * 10 + (*p++ - '0');
        }

        while (p < last && *p == ' ') { p++; }

        if (p == last || *p != '-') {
            return NGX_DECLINED;
        }
    }

    p++;

    while (p < last && *p == ' ') { p++; }

    b = -1;

    if (p < last && *p >= '0' && *p <= '9') {
        b = 0;

        while (p < last && *p >= '0' && *p <= '9') {
            if (b >= cutoff && (b > cutoff || *p - '0' > cutlim)) {
                return NGX_DECLINED;
            }

            b = b * 10 + (*p++ - '0');
        }
    }

    while (p < last && *p == ' ') { p++; }

    if (p != last) {
        return NGX_DECLINED;
    }

    if (suffix) {
        if (b <= 0) {
            return b == 0 ? NGX_HTTP_RANGE_NOT_SATISFIABLE : NGX_DECLINED;
        }

        *start = b >= total ? 0 : total - b;
        *end = total;
        return NGX_OK;
    }

    if (a >= total) {
        return NGX_HTTP_RANGE_NOT_SATISFIABLE;
    }

    if (b != -1 && b < a) {
        return NGX_DECLINED;
    }

    *start = a;
    *end = (b == -1 || b >= total) ? total : b + 1;

    return NGX_OK;
}


/* the archive's headers replace the manifest response's */

ngx_int_t
ngx_http_album_zip_set_headers(ngx_http_request_t *r,
    ngx_http_album_zip_ctx_t *ctx)
{
    u_char                *p;
    size_t                 len;
    ngx_str_t              value;
    ngx_table_elt_t       *h;

    ngx_http_album_zip_clear_header(r, "X-Album-Zip");
    ngx_http_album_zip_clear_header(r, "X-Archive-Files");
    ngx_http_album_zip_clear_header(r, "Content-Encoding");
    ngx_http_album_zip_clear_header(r, "Content-Range");
    ngx_http_album_zip_clear_header(r, "Accept-Ranges");
    ngx_http_album_zip_clear_header(r, "ETag");
    ngx_http_album_zip_clear_header(r, "Last-Modified");

    r->headers_out.content_encoding = NULL;
    r->headers_out.content_range = NULL;
    r->headers_out.accept_ranges = NULL;
    r->headers_out.etag = NULL;
    r->headers_out.last_modified = NULL;
    r->headers_out.content_length = NULL;
    r->headers_out.content_length_n = -1;
    r->headers_out.last_modified_time = -1;

    /* nginx's own range and gzip filters must leave the archive alone */
    r->allow_ranges = 0;
    r->gzip_tested = 1;
    r->gzip_ok = 0;

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.status_line.len = 0;

    ngx_str_set(&r->headers_out.content_type, "application/zip");
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_type_lowcase = NULL;
    r->headers_out.charset.len = 0;

    /*
     * The archive's name: the file name the manifest response gave in its
     * own Content-Disposition, else the manifest's or the album's name;
     * the header is made anew (sanitised) either way.
     */
    if (ngx_http_album_zip_disposition(r, ctx) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_http_album_zip_clear_header(r, "Content-Disposition");

    len = ctx->name.len ? ctx->name.len : sizeof("album.zip") - 1;

    p = ngx_pnalloc(r->pool, ALBUM_ZIP_DISPOSITION_BOUND(len));
    if (p == NULL) {
        return NGX_ERROR;
    }

    value.data = p;
    value.len = album_zip_content_disposition(
                    (char *) p,
                    ctx->name.len ? (char *) ctx->name.data : "album.zip",
                    len);

    if (ngx_http_album_zip_add_header(r, "Content-Disposition", &value,
                                      NULL)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (ngx_http_album_zip_add_header(r, "ETag", &ctx->etag,
                                      &r->headers_out.etag)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (ctx->last_modified > 0) {
        r->headers_out.last_modified_time = ctx->last_modified;
    }

    if (ctx->dynamic) {
        return NGX_OK;
    }

    if (ctx->ar.determined) {
        ngx_str_set(&value, "bytes");

        if (ngx_http_album_zip_add_header(r, "Accept-Ranges", &value,
                                          &r->headers_out.accept_ranges)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    r->headers_out.content_length_n = ctx->end - ctx->start;

    if (ctx->start == 0 && ctx->end == (off_t) ctx->ar.total) {
        return NGX_OK;
    }

    r->headers_out.status = NGX_HTTP_PARTIAL_CONTENT;

    p = ngx_pnalloc(r->pool, sizeof("bytes --/") - 1 + 3 * NGX_OFF_T_LEN);
    if (p == NULL) {
        return NGX_ERROR;
    }

    value.data = p;
    value.len = ngx_sprintf(p, "bytes %O-%O/%O", ctx->start, ctx->end - 1,
                            (off_t) ctx->ar.total)
                - p;

    h = NULL;

    if (ngx_http_album_zip_add_header(r, "Content-Range", &value, &h)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    r->headers_out.content_range = h;

    return NGX_OK;
}


/* the file name of the response's Content-Disposition, if any */

static ngx_int_t
ngx_http_album_zip_disposition(ngx_http_request_t *r,
    ngx_http_album_zip_ctx_t *ctx)
{
    u_char           *p;
    size_t            len;
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    part = &r->headers_out.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                return NGX_OK;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].hash != 0
            && h[i].key.len == sizeof("Content-Disposition") - 1
            && ngx_strncasecmp(h[i].key.data, (u_char *) "Content-Disposition",
                               h[i].key.len)
               == 0)
        {
            break;
        }
    }

    len = h[i].value.len;

    p = ngx_pnalloc(r->pool, ALBUM_ZIP_DISPOSITION_NAME_BOUND(len));
    if (p == NULL) {
        return NGX_ERROR;
    }

    len = album_zip_disposition_name((char *) p, (char *) h[i].value.data,
                                     h[i].value.len);

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "album_zip: Content-Disposition \"%V\" names \"%*s\"",
                   &h[i].value, len, p);

    if (len) {
        ctx->name.data = p;
        ctx->name.len = len;
    }

    return NGX_OK;
}


/* 416 with the size, so that a client can start over */

ngx_int_t
ngx_http_album_zip_set_unsatisfiable(ngx_http_request_t *r,
    ngx_http_album_zip_ctx_t *ctx)
{
    u_char     *p;
    ngx_str_t   value;

    p = ngx_pnalloc(r->pool, sizeof("bytes */") - 1 + NGX_OFF_T_LEN);
    if (p == NULL) {
        return NGX_ERROR;
    }

    value.data = p;
    value.len = ngx_sprintf(p, "bytes */%O", (off_t) ctx->ar.total) - p;

    return ngx_http_album_zip_add_header(r, "Content-Range", &value,
                                         &r->headers_out.content_range);
}


static void
ngx_http_album_zip_clear_header(ngx_http_request_t *r, char *name)
{
    size_t            len;
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    len = ngx_strlen(name);
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

        if (h[i].key.len == len
            && ngx_strncasecmp(h[i].key.data, (u_char *) name, len) == 0)
        {
            h[i].hash = 0;
        }
    }
}


static ngx_int_t
ngx_http_album_zip_add_header(ngx_http_request_t *r, char *name,
    ngx_str_t *value, ngx_table_elt_t **out)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    h->key.data = (u_char *) name;
    h->key.len = ngx_strlen(name);
    h->value = *value;
    h->lowcase_key = NULL;

    if (out) {
        *out = h;
    }

    return NGX_OK;
}
