
/*
 * ngx_http_album_zip_module: "album_zip_directory on" answers
 * GET /<path>.zip with every regular file under <path> of the location's
 * root or alias, as a zip: a whole album with no app at all.
 *
 * The directory walk (opendir/lstat of possibly thousands of files) runs
 * on the thread pool; the members are then sent by the same engine as a
 * manifest's, each as a subrequest to its own URI in this location.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <dirent.h>

#include "ngx_http_album_zip.h"
#include "album_zip_dir.h"


#define NGX_HTTP_ALBUM_ZIP_MAX_DEPTH  32


typedef struct {
    ngx_str_t                 rel;       /* album-relative, '/'-separated */
    ngx_http_album_zip_file_id_t  id;
} ngx_http_album_zip_file_t;


typedef struct {
    /* in: copied before the task is posted */
    u_char                   *path;      /* NUL-terminated */
    size_t                    path_len;
    u_char                   *base;      /* the location's directory */
    ngx_uint_t                max_files;
    ngx_pool_t               *pool;      /* the task's own */

    /* out */
    ngx_array_t               files;     /* ngx_http_album_zip_file_t */
    ngx_err_t                 err;
    const char               *failed;    /* the call that failed */
    ngx_uint_t                refused;   /* symlinks leaving the album */
    unsigned                  too_many:1;
    unsigned                  outside:1; /* the album leaves the base */
    unsigned                  own:1;     /* the location's own directory */

    ngx_http_request_t       *request;
    char                      root[PATH_MAX];
} ngx_http_album_zip_walk_t;


static ngx_int_t ngx_http_album_zip_map(ngx_http_request_t *r,
    ngx_http_album_zip_walk_t *w);
static void ngx_http_album_zip_walk_thread(void *data, ngx_log_t *log);
static ngx_int_t ngx_http_album_zip_inside(ngx_http_album_zip_walk_t *w);
static ngx_int_t ngx_http_album_zip_walk(ngx_http_album_zip_walk_t *w,
    char *path, size_t len, size_t rel, ngx_uint_t depth);
static int ngx_libc_cdecl ngx_http_album_zip_cmp(const void *a,
    const void *b);
static void ngx_http_album_zip_walk_done(void *data);
static ngx_int_t ngx_http_album_zip_directory_start(ngx_http_request_t *r,
    ngx_http_album_zip_walk_t *w);
static void ngx_http_album_zip_walk_cleanup(void *data);


ngx_int_t
ngx_http_album_zip_directory_handler(ngx_http_request_t *r)
{
    ngx_int_t                       rc;
    ngx_pool_cleanup_t             *cln;
    ngx_http_edge_task_t           *t;
    ngx_http_album_zip_walk_t      *w;
    ngx_http_album_zip_loc_conf_t  *conf;

    if (r != r->main) {
        /* members of the archive are served by the location as usual */
        return NGX_DECLINED;
    }

    conf = ngx_http_get_module_loc_conf(r, ngx_http_album_zip_module);

    if (!conf->directory
        || r->uri.len < sizeof("/x.zip") - 1
        || ngx_strncasecmp(r->uri.data + r->uri.len - 4, (u_char *) ".zip", 4)
           != 0
        || r->uri.data[r->uri.len - 5] == '/')
    {
        return NGX_DECLINED;
    }

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    t = ngx_http_edge_task_alloc(r->pool, sizeof(ngx_http_album_zip_walk_t));
    if (t == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    w = t->data;

    rc = ngx_http_album_zip_map(r, w);
    if (rc != NGX_OK) {
        return rc;
    }

    w->max_files = conf->max_files;
    w->request = r;

    /* the task allocates only from its own pool, never from r->pool */
    w->pool = ngx_create_pool(16384, r->connection->log);
    if (w->pool == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        ngx_destroy_pool(w->pool);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln->handler = ngx_http_album_zip_walk_cleanup;
    cln->data = w;

    if (ngx_array_init(&w->files, w->pool, 64,
                       sizeof(ngx_http_album_zip_file_t))
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    t->task->handler = ngx_http_album_zip_walk_thread;
    t->request = r;
    t->module = "album_zip";
    t->work = "directory walk";
    t->timeout = conf->thread_timeout;
    t->done = ngx_http_album_zip_walk_done;

    if (ngx_http_edge_task_post(t, conf->thread_pool, &conf->thread_pool_name)
        != NGX_OK)
    {
        return NGX_HTTP_SERVICE_UNAVAILABLE;
    }

    /* the handler's reference, which the completion's finalize ends */
    r->main->count++;

    return NGX_DONE;
}


/*
 * The album directory: the URI without ".zip", mapped like a file, once
 * album_zip_dir_rel() has found it strictly below the location.  The
 * location's own directory (w->base) is what the walk checks the real
 * path against: a symlinked album may not lead out of it.
 */

static ngx_int_t
ngx_http_album_zip_map(ngx_http_request_t *r, ngx_http_album_zip_walk_t *w)
{
    long                       rel;
    size_t                     root, len, loc, base;
    u_char                    *last;
    ngx_str_t                  path;
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    len = r->uri.len - 4;

    /* a prefix location's part of the URI; "/" for any other */
    loc = 1;

    if (
#if (NGX_PCRE)
        clcf->regex == NULL &&
#endif
        !clcf->named && !clcf->exact_match
        && clcf->name.len > 0 && clcf->name.len <= len
        && ngx_strncmp(r->uri.data, clcf->name.data, clcf->name.len) == 0)
    {
        loc = clcf->name.len;
    }

    if (clcf->alias != NGX_MAX_SIZE_T_VALUE && clcf->alias > loc) {
        loc = clcf->alias;
    }

    rel = album_zip_dir_rel(r->uri.data, len, loc);

    if (rel < 0) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "album_zip: \"%V\" names no album below the "
                      "location", &r->uri);
        return NGX_HTTP_NOT_FOUND;
    }

    r->uri.len = len;
    last = ngx_http_map_uri_to_path(r, &path, &root, 0);
    r->uri.len = len + 4;

    if (last == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    w->path = path.data;
    w->path_len = last - path.data;

    /*
     * The mapped path ends with the URI from the alias' length on (all of
     * it under root), so the location's directory is the path without
     * the URI's last len - loc bytes.  A regex alias names the directory
     * itself: only the URI check above applies to it.
     */

    w->base = NULL;

    if (clcf->alias == NGX_MAX_SIZE_T_VALUE
        || w->path_len < len - loc + root)
    {
        return NGX_OK;
    }

    base = w->path_len - (len - loc);
    w->own = ((size_t) rel == len);

    w->base = ngx_pnalloc(r->pool, base + 1);
    if (w->base == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_memcpy(w->base, w->path, base);
    w->base[base] = '\0';

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "album_zip: album \"%s\" below \"%s\" (uri from %l)",
                   w->path, w->base, rel);

    return NGX_OK;
}


static void
ngx_http_album_zip_walk_cleanup(void *data)
{
    ngx_http_album_zip_walk_t *w = data;

    ngx_destroy_pool(w->pool);
}


/* in a thread: touches only the walk struct and its pool */

static void
ngx_http_album_zip_walk_thread(void *data, ngx_log_t *log)
{
    ngx_http_album_zip_walk_t *w = data;

    char  path[PATH_MAX];

    if (realpath((char *) w->path, w->root) == NULL) {
        w->err = ngx_errno;
        w->failed = "realpath()";
        return;
    }

    if (ngx_http_album_zip_inside(w) != NGX_OK) {
        return;
    }

    if (ngx_strlen(w->root) + 2 > PATH_MAX) {
        w->err = NGX_ENAMETOOLONG;
        w->failed = "realpath()";
        return;
    }

    ngx_cpystrn((u_char *) path, (u_char *) w->root, PATH_MAX);

    if (ngx_http_album_zip_walk(w, path, ngx_strlen(path),
                                ngx_strlen(path) + 1, 0)
        != NGX_OK)
    {
        return;
    }

    ngx_qsort(w->files.elts, w->files.nelts,
              sizeof(ngx_http_album_zip_file_t), ngx_http_album_zip_cmp);
}


/* in a thread: a symlinked album stays inside the location's directory */

static ngx_int_t
ngx_http_album_zip_inside(ngx_http_album_zip_walk_t *w)
{
    char    base[PATH_MAX];
    size_t  len;

    if (w->base == NULL) {
        return NGX_OK;
    }

    if (realpath((char *) w->base, base) == NULL) {
        w->err = ngx_errno;
        w->failed = "realpath()";
        return NGX_ERROR;
    }

    len = ngx_strlen(base);

    if (len == 1) {
        /* "/": anything but itself is below it */
        len = 0;
    }

    if (ngx_strncmp(w->root, base, len) == 0 && w->root[len] == '/'
        && w->root[len + 1] != '\0')
    {
        return NGX_OK;
    }

    if (w->own && ngx_strcmp(w->root, base) == 0) {
        /* "/albums.zip" in "location /albums" */
        return NGX_OK;
    }

    w->outside = 1;

    return NGX_ERROR;
}


static ngx_int_t
ngx_http_album_zip_walk(ngx_http_album_zip_walk_t *w, char *path,
    size_t len, size_t rel, ngx_uint_t depth)
{
    DIR                        *dir;
    char                        real[PATH_MAX];
    size_t                      nlen, rlen;
    struct stat                 st;
    struct dirent              *de;
    ngx_http_album_zip_file_t  *f;

    dir = opendir(path);
    if (dir == NULL) {
        w->err = ngx_errno;
        w->failed = "opendir()";
        return NGX_ERROR;
    }

    rlen = ngx_strlen(w->root);

    for ( ;; ) {
        ngx_set_errno(0);

        de = readdir(dir);
        if (de == NULL) {
            if (ngx_errno != 0) {
                w->err = ngx_errno;
                w->failed = "readdir()";
                (void) closedir(dir);
                return NGX_ERROR;
            }

            break;
        }

        /* hidden files ("." and ".." too) are not part of an album */
        if (de->d_name[0] == '.') {
            continue;
        }

        nlen = ngx_strlen(de->d_name);

        if (len + 1 + nlen + 1 > PATH_MAX) {
            continue;
        }

        path[len] = '/';
        ngx_memcpy(path + len + 1, de->d_name, nlen + 1);

        if (lstat(path, &st) == -1) {
            continue;
        }

        if (S_ISLNK(st.st_mode)) {
            /* a link may point inside the album, never out of it */
            if (realpath(path, real) == NULL
                || ngx_strncmp(real, w->root, rlen) != 0
                || real[rlen] != '/'
                || stat(real, &st) == -1
                || !S_ISREG(st.st_mode))
            {
                w->refused++;
                continue;
            }
        }

        if (S_ISDIR(st.st_mode)) {
            if (depth + 1 >= NGX_HTTP_ALBUM_ZIP_MAX_DEPTH) {
                w->refused++;
                continue;
            }

            if (ngx_http_album_zip_walk(w, path, len + 1 + nlen, rel,
                                        depth + 1)
                != NGX_OK)
            {
                (void) closedir(dir);
                return NGX_ERROR;
            }

            continue;
        }

        if (!S_ISREG(st.st_mode)) {
            continue;
        }

        if (w->files.nelts >= w->max_files) {
            w->too_many = 1;
            (void) closedir(dir);
            return NGX_ERROR;
        }

        f = ngx_array_push(&w->files);
        if (f == NULL) {
            w->err = NGX_ENOMEM;
            w->failed = "allocation";
            (void) closedir(dir);
            return NGX_ERROR;
        }

        f->rel.len = len + 1 + nlen - rel;
        f->rel.data = ngx_pnalloc(w->pool, f->rel.len);
        if (f->rel.data == NULL) {
            w->err = NGX_ENOMEM;
            w->failed = "allocation";
            (void) closedir(dir);
            return NGX_ERROR;
        }

        ngx_memcpy(f->rel.data, path + rel, f->rel.len);

        ngx_memzero(&f->id, sizeof(f->id));
        f->id.dev = st.st_dev;
        f->id.ino = st.st_ino;
        f->id.size = st.st_size;
        f->id.mtime = st.st_mtim.tv_sec;
        f->id.mtime_nsec = st.st_mtim.tv_nsec;
    }

    (void) closedir(dir);

    return NGX_OK;
}


static int ngx_libc_cdecl
ngx_http_album_zip_cmp(const void *a, const void *b)
{
    const ngx_http_album_zip_file_t  *fa = a, *fb = b;

    size_t  n;
    int     rc;

    n = ngx_min(fa->rel.len, fb->rel.len);

    rc = ngx_memcmp(fa->rel.data, fb->rel.data, n);
    if (rc != 0) {
        return rc;
    }

    return (fa->rel.len > fb->rel.len) - (fa->rel.len < fb->rel.len);
}


/* back on the event loop */

static void
ngx_http_album_zip_walk_done(void *data)
{
    ngx_http_album_zip_walk_t *w = data;

    ngx_int_t            rc;
    ngx_http_request_t  *r;

    r = w->request;

    rc = ngx_http_album_zip_directory_start(r, w);

    ngx_http_finalize_request(r, rc);
}


static ngx_int_t
ngx_http_album_zip_directory_start(ngx_http_request_t *r,
    ngx_http_album_zip_walk_t *w)
{
    u_char                         *p;
    size_t                          root;
    ngx_int_t                       rc;
    ngx_str_t                       msg, dir;
    ngx_uint_t                      i, n;
    album_zip_entry_t              *e;
    ngx_http_album_zip_ctx_t       *ctx;
    ngx_http_album_zip_file_t      *f;
    ngx_http_album_zip_member_t    *m;
    ngx_http_album_zip_loc_conf_t  *conf;

    conf = ngx_http_get_module_loc_conf(r, ngx_http_album_zip_module);

    if (w->too_many) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "album_zip: \"%s\" has more than album_zip_max_files "
                      "%ui files", w->path, conf->max_files);
        return NGX_HTTP_REQUEST_ENTITY_TOO_LARGE;
    }

    if (w->outside) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "album_zip: \"%s\" leads to \"%s\", outside \"%s\"",
                      w->path, w->root, w->base);
        return NGX_HTTP_NOT_FOUND;
    }

    if (w->failed) {
        if (w->err == NGX_ENOENT || w->err == NGX_ENOTDIR) {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, w->err,
                          "album_zip: %s \"%s\" failed", w->failed, w->path);
            return NGX_HTTP_NOT_FOUND;
        }

        ngx_log_error(NGX_LOG_CRIT, r->connection->log, w->err,
                      "album_zip: %s \"%s\" failed", w->failed, w->path);

        return (w->err == NGX_EACCES) ? NGX_HTTP_FORBIDDEN
                                      : NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (w->refused) {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "album_zip: \"%s\": %ui links leaving the album or "
                      "too deep left out", w->path, w->refused);
    }

    n = w->files.nelts;

    if (n == 0) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "album_zip: \"%s\" holds no files", w->path);
        return NGX_HTTP_NOT_FOUND;
    }

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_album_zip_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->type = NGX_HTTP_ALBUM_ZIP_MAIN;
    ctx->state = NGX_HTTP_ALBUM_ZIP_PASS;
    ctx->request = r;
    ctx->conf = conf;
    ctx->content = 1;
    ctx->head = (r->method == NGX_HTTP_HEAD);
    ctx->range = r->headers_in.range;
    ctx->if_range = r->headers_in.if_range;

    /*
     * The client's Range is the archive's, not the members'.  Conditionals
     * stay: nginx's not-modified filter answers If-None-Match with 304 from
     * the archive's ETag, and ignores them in the members' subrequests, as
     * gzip_static ignores Accept-Encoding there.
     */
    r->headers_in.range = NULL;
    r->headers_in.if_range = NULL;

    ctx->entries = ngx_pcalloc(r->pool, n * sizeof(album_zip_entry_t));
    ctx->members = ngx_pcalloc(r->pool,
                               n * sizeof(ngx_http_album_zip_member_t));
    if (ctx->entries == NULL || ctx->members == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    dir.data = r->uri.data;
    dir.len = r->uri.len - 4;

    root = ngx_strlen(w->root);

    f = w->files.elts;

    for (i = 0; i < n; i++) {
        e = &ctx->entries[i];
        m = &ctx->members[i];

        p = ngx_pnalloc(r->pool, dir.len + 1 + f[i].rel.len);
        if (p == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        m->uri.data = p;
        p = ngx_cpymem(p, dir.data, dir.len);
        *p++ = '/';
        p = ngx_cpymem(p, f[i].rel.data, f[i].rel.len);
        m->uri.len = p - m->uri.data;

        m->kind = ALBUM_ZIP_MANIFEST_LOCAL;
        m->source = m->uri;
        m->size_known = 1;
        m->trusted = 1;

        m->id = f[i].id;
        m->has_id = 1;

        m->path.len = root + 1 + f[i].rel.len;
        m->path.data = ngx_pnalloc(r->pool, m->path.len + 1);
        if (m->path.data == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        p = ngx_cpymem(m->path.data, w->root, root);
        *p++ = '/';
        p = ngx_cpymem(p, f[i].rel.data, f[i].rel.len);
        *p = '\0';

        /* the name is copied into r->pool by the sanitiser */
        e->name = (const char *) f[i].rel.data;
        e->name_len = f[i].rel.len;
        e->size = f[i].id.size;
        e->mtime = f[i].id.mtime;

        /*
         * The CRC goes into the local header: remembered, or computed on
         * the thread pool before the member is sent (ngx_http_album_zip_
         * crc.c).  The layout, and so every byte, does not depend on
         * which.
         */
        e->has_crc = 1;

        if (e->size != 0
            && (conf->crc_cache == NULL
                || ngx_http_album_zip_crc_get(conf->crc_cache, &m->id,
                                              &e->crc32)
                   != NGX_OK))
        {
            m->crc_pending = 1;
            ctx->npending++;
        }
    }

    ctx->nentries = n;

    /* the download is named after the album directory */
    for (p = dir.data + dir.len; p > dir.data && p[-1] != '/'; p--) {
        /* void */
    }

    ctx->name.data = p;
    ctx->name.len = r->uri.data + r->uri.len - p;

    ngx_http_set_ctx(r, ctx, ngx_http_album_zip_module);

    rc = ngx_http_album_zip_prepare(r, ctx, &msg);

    if (rc != NGX_OK && rc != NGX_HTTP_RANGE_NOT_SATISFIABLE) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "album_zip: \"%s\": %V", w->path, &msg);
        ngx_http_set_ctx(r, NULL, ngx_http_album_zip_module);
        return rc;
    }

    return ngx_http_album_zip_start(r, ctx);
}


/*
 * A directory album's member must still be the file the listing saw: the
 * layout (sizes, remembered CRCs, Content-Length) was made from it, and
 * another file under its name, or the same one rewritten, would make an
 * archive that arrives complete and corrupt.  fd is the descriptor it is
 * sent from, or NGX_INVALID_FILE to look at its path: a stat() of a file
 * just opened, as nginx's static module does on the event loop.
 */

ngx_int_t
ngx_http_album_zip_unchanged(ngx_http_request_t *r,
    ngx_http_album_zip_member_t *m, ngx_fd_t fd)
{
    struct stat                    st;
    ngx_http_album_zip_file_id_t  *id;

    if (!m->has_id) {
        return NGX_OK;
    }

    if ((fd != NGX_INVALID_FILE ? fstat(fd, &st)
                                : stat((char *) m->path.data, &st))
        == -1)
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, ngx_errno,
                      "album_zip: %s \"%s\" failed",
                      fd != NGX_INVALID_FILE ? "fstat()" : "stat()",
                      m->path.data);
        return NGX_DECLINED;
    }

    id = &m->id;

    if (st.st_dev == id->dev && st.st_ino == id->ino
        && st.st_size == id->size && st.st_mtim.tv_sec == id->mtime
        && st.st_mtim.tv_nsec == id->mtime_nsec)
    {
        return NGX_OK;
    }

    ngx_log_debug5(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "album_zip: \"%s\" is now inode %uL, %O bytes, "
                   "mtime %T.%09l", m->path.data, (uint64_t) st.st_ino,
                   st.st_size, st.st_mtim.tv_sec, st.st_mtim.tv_nsec);

    return NGX_DECLINED;
}
