
/*
 * ngx_http_image_ingest_module: JWT-verified uploads, the nginx side of
 * src/image/core/image_ingest_jwt.c.
 *
 *     location = /upload {
 *         image_ingest;
 *         image_ingest_store       /srv/images;
 *         image_ingest_jwt         /etc/nginx/jwks.json;
 *         image_ingest_jwt_claims  iss=https://id.example aud=photos;
 *         image_ingest_meta        user $jwt_claim_sub;
 *     }
 *
 * The token (Authorization: Bearer, or image_ingest_jwt_token's value)
 * is verified once per request, on the event loop (tens of microseconds),
 * by whichever comes first: the upload handler, before any body byte is
 * read, or a $jwt_claim_<name> variable.  The result lives in a cleanup
 * of the request's pool, found again by its handler, which frees the
 * verified token with the pool.  A refused token answers 401 with
 * WWW-Authenticate (RFC 6750) and a JSON reason, logged once at info,
 * nginx's level for what clients get wrong.
 *
 * The key file is read when the configuration is; each worker then looks
 * at it at most once a second, when a request needs it, and reads it
 * again when its inode, size or modification time changed (a stat()
 * and, on a change, a read of at most 256 KiB, on the event loop, as
 * open_file_cache does).  A new file that does not load keeps the old
 * keys and is logged once, at error.  Keys are only used synchronously,
 * so old ones are freed as soon as new ones are in.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "image_ingest_jwt.h"
#include "ngx_http_image_ingest.h"
#include "ngx_http_edge_json.h"


#define NGX_HTTP_IMAGE_INGEST_JWT_PREFIX  "jwt_claim_"


/* a file's identity: a change of any part means reading it again */
typedef struct {
    ngx_file_uniq_t                    uniq;
    off_t                              size;
    time_t                             mtime;
    long                               mtime_ns;
    ngx_uint_t                         missing;
} ngx_http_image_ingest_jwt_stat_t;


struct ngx_http_image_ingest_jwt_file_s {
    ngx_str_t                          path;        /* NUL-terminated */
    ngx_uint_t                         hs256;
    image_ingest_jwt_keys_t           *keys;
    ngx_http_image_ingest_jwt_stat_t   loaded;
    ngx_http_image_ingest_jwt_stat_t   failed;      /* logged already */
    ngx_uint_t                         has_failed;
    time_t                             checked;
};


/* one request's verification, for one location's configuration */
typedef struct {
    ngx_http_image_ingest_loc_conf_t  *conf;
    image_ingest_jwt_t                *jwt;         /* NULL: not verified */
    image_ingest_jwt_rc_e              rc;
    ngx_uint_t                         missing;     /* no token at all */
} ngx_http_image_ingest_jwt_state_t;


static ngx_int_t ngx_http_image_ingest_jwt_load(
    ngx_http_image_ingest_jwt_file_t *f, ngx_log_t *log, char *err,
    size_t err_len, ngx_http_image_ingest_jwt_stat_t *st);
static void ngx_http_image_ingest_jwt_stat(ngx_file_info_t *fi,
    ngx_http_image_ingest_jwt_stat_t *st);
static ngx_int_t ngx_http_image_ingest_jwt_same(
    ngx_http_image_ingest_jwt_stat_t *a, ngx_http_image_ingest_jwt_stat_t *b);
static void ngx_http_image_ingest_jwt_refresh(
    ngx_http_image_ingest_jwt_file_t *f, ngx_log_t *log);
static void ngx_http_image_ingest_jwt_free_keys(void *data);
static ngx_http_image_ingest_jwt_state_t *ngx_http_image_ingest_jwt_state(
    ngx_http_request_t *r, ngx_http_image_ingest_loc_conf_t *conf);
static ngx_int_t ngx_http_image_ingest_jwt_token(ngx_http_request_t *r,
    ngx_http_image_ingest_loc_conf_t *conf, ngx_str_t *token);
static void ngx_http_image_ingest_jwt_cleanup(void *data);
static ngx_int_t ngx_http_image_ingest_jwt_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);


static ngx_str_t  ngx_http_image_ingest_jwt_prefix =
    ngx_string(NGX_HTTP_IMAGE_INGEST_JWT_PREFIX);


/* ------------------------------------------------------------------------
 * configuration
 */


/* image_ingest_jwt file | hs256:file | off */

char *
ngx_http_image_ingest_jwt(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_image_ingest_loc_conf_t *iilcf = conf;

    char                               err[256];
    ngx_str_t                         *value, path;
    ngx_pool_cleanup_t                *cln;
    ngx_http_image_ingest_jwt_file_t  *f;

    if (iilcf->jwt != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        iilcf->jwt = NULL;
        return NGX_CONF_OK;
    }

    f = ngx_pcalloc(cf->pool, sizeof(ngx_http_image_ingest_jwt_file_t));
    if (f == NULL) {
        return NGX_CONF_ERROR;
    }

    path = value[1];

    if (path.len > 6 && ngx_strncmp(path.data, "hs256:", 6) == 0) {
        f->hs256 = 1;
        path.data += 6;
        path.len -= 6;
    }

    /* relative to the configuration's directory; NUL-terminated */
    if (ngx_conf_full_name(cf->cycle, &path, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    f->path = path;

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        return NGX_CONF_ERROR;
    }

    cln->handler = ngx_http_image_ingest_jwt_free_keys;
    cln->data = f;

    if (ngx_http_image_ingest_jwt_load(f, cf->log, err, sizeof(err),
                                       &f->loaded)
        != NGX_OK)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "image_ingest_jwt: \"%V\": %s", &f->path, err);
        return NGX_CONF_ERROR;
    }

    f->checked = ngx_time();
    iilcf->jwt = f;

    return NGX_CONF_OK;
}


/* image_ingest_jwt_claims name=value ... */

char *
ngx_http_image_ingest_jwt_claims(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_image_ingest_loc_conf_t *iilcf = conf;

    u_char                      *eq, *name;
    ngx_str_t                   *value;
    ngx_uint_t                   i;
    image_ingest_jwt_require_t  *req;

    if (iilcf->jwt_claims != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    iilcf->jwt_claims = ngx_array_create(cf->pool, cf->args->nelts - 1,
                                         sizeof(image_ingest_jwt_require_t));
    if (iilcf->jwt_claims == NULL) {
        return NGX_CONF_ERROR;
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {
        eq = ngx_strlchr(value[i].data, value[i].data + value[i].len, '=');

        if (eq == NULL || eq == value[i].data
            || eq == value[i].data + value[i].len - 1)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "image_ingest_jwt_claims: \"%V\" is not "
                               "name=value", &value[i]);
            return NGX_CONF_ERROR;
        }

        name = ngx_pnalloc(cf->pool, eq - value[i].data + 1);
        if (name == NULL) {
            return NGX_CONF_ERROR;
        }

        ngx_memcpy(name, value[i].data, eq - value[i].data);
        name[eq - value[i].data] = '\0';

        req = ngx_array_push(iilcf->jwt_claims);
        if (req == NULL) {
            return NGX_CONF_ERROR;
        }

        /* the value runs to the argument's NUL */
        req->name = (const char *) name;
        req->value = (const char *) eq + 1;
    }

    return NGX_CONF_OK;
}


char *
ngx_http_image_ingest_jwt_merge(ngx_conf_t *cf,
    ngx_http_image_ingest_loc_conf_t *prev,
    ngx_http_image_ingest_loc_conf_t *conf)
{
    ngx_conf_merge_ptr_value(conf->jwt, prev->jwt, NULL);
    ngx_conf_merge_ptr_value(conf->jwt_claims, prev->jwt_claims, NULL);
    ngx_conf_merge_sec_value(conf->jwt_leeway, prev->jwt_leeway, 60);
    ngx_conf_merge_value(conf->jwt_require_exp, prev->jwt_require_exp, 1);

    if (conf->jwt_token == NULL) {
        conf->jwt_token = prev->jwt_token;
    }

    if (conf->jwt_leeway > 3600) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "image_ingest_jwt_leeway must be at most 1h");
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_image_ingest_jwt_add_variable(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var;

    var = ngx_http_add_variable(cf, &ngx_http_image_ingest_jwt_prefix,
                                NGX_HTTP_VAR_PREFIX);
    if (var == NULL) {
        return NGX_ERROR;
    }

    var->get_handler = ngx_http_image_ingest_jwt_variable;

    return NGX_OK;
}


ngx_int_t
ngx_http_image_ingest_jwt_preconfiguration(ngx_conf_t *cf)
{
    return ngx_http_image_ingest_jwt_add_variable(cf);
}


/* ------------------------------------------------------------------------
 * the key file
 */


/* reads and parses the file; on success, its keys replace f->keys */

static ngx_int_t
ngx_http_image_ingest_jwt_load(ngx_http_image_ingest_jwt_file_t *f,
    ngx_log_t *log, char *err, size_t err_len,
    ngx_http_image_ingest_jwt_stat_t *st)
{
    u_char                   *buf;
    size_t                    size;
    ssize_t                   n;
    ngx_fd_t                  fd;
    ngx_err_t                 e;
    ngx_file_info_t           fi;
    image_ingest_jwt_keys_t  *keys;

    ngx_memzero(st, sizeof(ngx_http_image_ingest_jwt_stat_t));

    fd = ngx_open_file(f->path.data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);

    if (fd == NGX_INVALID_FILE) {
        e = ngx_errno;
        st->missing = 1;
        (void) ngx_snprintf((u_char *) err, err_len, "cannot open: %s%Z",
                            strerror(e));
        return NGX_ERROR;
    }

    buf = NULL;
    keys = NULL;

    if (ngx_fd_info(fd, &fi) == NGX_FILE_ERROR) {
        (void) ngx_snprintf((u_char *) err, err_len, "fstat() failed: %s%Z",
                            strerror(ngx_errno));
        goto failed;
    }

    ngx_http_image_ingest_jwt_stat(&fi, st);

    if (ngx_file_size(&fi) > IMAGE_INGEST_JWT_MAX_JWKS) {
        (void) ngx_snprintf((u_char *) err, err_len,
                            "larger than %d bytes%Z",
                            IMAGE_INGEST_JWT_MAX_JWKS);
        goto failed;
    }

    size = (size_t) ngx_file_size(&fi);

    buf = ngx_alloc(size + 1, log);
    if (buf == NULL) {
        (void) ngx_snprintf((u_char *) err, err_len, "out of memory%Z");
        goto failed;
    }

    n = size ? ngx_read_fd(fd, buf, size) : 0;

    if (n < 0 || (size_t) n != size) {
        (void) ngx_snprintf((u_char *) err, err_len, "short read%Z");
        goto failed;
    }

    if (f->hs256) {
        keys = image_ingest_jwt_keys_hs256(buf, size, err, err_len);

    } else {
        keys = image_ingest_jwt_keys_jwks((const char *) buf, size, err,
                                          err_len);
    }

    if (keys == NULL) {
        goto failed;
    }

    ngx_free(buf);
    (void) ngx_close_file(fd);

    image_ingest_jwt_keys_free(f->keys);
    f->keys = keys;

    return NGX_OK;

failed:

    if (buf) {
        ngx_free(buf);
    }

    (void) ngx_close_file(fd);

    return NGX_ERROR;
}


static void
ngx_http_image_ingest_jwt_stat(ngx_file_info_t *fi,
    ngx_http_image_ingest_jwt_stat_t *st)
{
    st->uniq = ngx_file_uniq(fi);
    st->size = ngx_file_size(fi);
    st->mtime = ngx_file_mtime(fi);
#if (NGX_LINUX)
    st->mtime_ns = fi->st_mtim.tv_nsec;
#endif
    st->missing = 0;
}


static ngx_int_t
ngx_http_image_ingest_jwt_same(ngx_http_image_ingest_jwt_stat_t *a,
    ngx_http_image_ingest_jwt_stat_t *b)
{
    if (a->missing || b->missing) {
        return a->missing == b->missing;
    }

    return a->uniq == b->uniq && a->size == b->size
           && a->mtime == b->mtime && a->mtime_ns == b->mtime_ns;
}


/* per worker, at most once a second: the file changed? */

static void
ngx_http_image_ingest_jwt_refresh(ngx_http_image_ingest_jwt_file_t *f,
    ngx_log_t *log)
{
    char                              err[256];
    ngx_file_info_t                   fi;
    ngx_http_image_ingest_jwt_stat_t  now, st;

    if (f->checked == ngx_time()) {
        return;
    }

    f->checked = ngx_time();

    if (ngx_file_info(f->path.data, &fi) == NGX_FILE_ERROR) {
        ngx_memzero(&now, sizeof(ngx_http_image_ingest_jwt_stat_t));
        now.missing = 1;

    } else {
        ngx_http_image_ingest_jwt_stat(&fi, &now);
    }

    if (ngx_http_image_ingest_jwt_same(&now, &f->loaded)
        || (f->has_failed && ngx_http_image_ingest_jwt_same(&now, &f->failed)))
    {
        return;
    }

    if (ngx_http_image_ingest_jwt_load(f, log, err, sizeof(err), &st)
        == NGX_OK)
    {
        f->loaded = st;
        f->has_failed = 0;

        ngx_log_error(NGX_LOG_NOTICE, log, 0,
                      "image_ingest: jwt: keys of \"%V\" read again: %uz "
                      "key%s", &f->path, image_ingest_jwt_keys_count(f->keys),
                      image_ingest_jwt_keys_count(f->keys) == 1 ? "" : "s");
        return;
    }

    /* once per version of the file; the old keys stay */

    f->failed = st.missing ? now : st;
    f->has_failed = 1;

    ngx_log_error(NGX_LOG_ERR, log, 0,
                  "image_ingest: jwt: \"%V\" changed but does not load, the "
                  "previous keys stay: %s", &f->path, err);
}


static void
ngx_http_image_ingest_jwt_free_keys(void *data)
{
    ngx_http_image_ingest_jwt_file_t  *f = data;

    image_ingest_jwt_keys_free(f->keys);
    f->keys = NULL;
}


/* ------------------------------------------------------------------------
 * requests
 */


/*
 * The upload handler's check: NGX_OK for a verified token (or when the
 * location has no image_ingest_jwt), NGX_DECLINED otherwise.
 */

ngx_int_t
ngx_http_image_ingest_jwt_verified(ngx_http_request_t *r,
    ngx_http_image_ingest_loc_conf_t *conf)
{
    ngx_http_image_ingest_jwt_state_t  *s;

    if (conf->jwt == NULL) {
        return NGX_OK;
    }

    s = ngx_http_image_ingest_jwt_state(r, conf);

    return (s && s->jwt) ? NGX_OK : NGX_DECLINED;
}


/*
 * The answer to a refused token: 401 with WWW-Authenticate (RFC 6750)
 * and the reason in JSON, logged once.  No body byte is asked for: an
 * "Expect: 100-continue" gets no 100, and a body already on its way is
 * discarded as for nginx's own errors, the connection closed after it.
 */

ngx_int_t
ngx_http_image_ingest_jwt_refuse(ngx_http_request_t *r,
    ngx_http_image_ingest_loc_conf_t *conf)
{
    u_char                              msg[64];
    ngx_int_t                           rc;
    const char                         *reason;
    ngx_table_elt_t                    *h;
    ngx_http_image_ingest_jwt_state_t  *s;

    s = ngx_http_image_ingest_jwt_state(r, conf);

    if (s == NULL || s->rc == IMAGE_INGEST_JWT_NO_MEMORY) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "WWW-Authenticate");

    if (s->missing) {
        /* RFC 6750, 3.1: no error code when no credentials came */
        ngx_str_set(&h->value, "Bearer");
        reason = "no bearer token";

    } else {
        reason = image_ingest_jwt_reason(s->rc);

        h->value.len = sizeof("Bearer error=\"invalid_token\", "
                              "error_description=\"\"") - 1
                       + ngx_strlen(reason);
        h->value.data = ngx_pnalloc(r->pool, h->value.len);
        if (h->value.data == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        (void) ngx_sprintf(h->value.data, "Bearer error=\"invalid_token\", "
                           "error_description=\"%s\"", reason);
    }

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "image_ingest: jwt: %s", reason);

    if (r->headers_in.expect && !r->expect_tested) {
        r->expect_tested = 1;
        r->keepalive = 0;
    }

    rc = ngx_http_discard_request_body(r);

    if (rc != NGX_OK) {
        return rc;
    }

    (void) ngx_snprintf(msg, sizeof(msg), "jwt: %s%Z", reason);

    return ngx_http_edge_json_error(r, NGX_HTTP_UNAUTHORIZED,
                                    (const char *) msg);
}


/*
 * The request's verification for the location's configuration, done on
 * first use; found again among the pool's cleanups, which free it.
 */

static ngx_http_image_ingest_jwt_state_t *
ngx_http_image_ingest_jwt_state(ngx_http_request_t *r,
    ngx_http_image_ingest_loc_conf_t *conf)
{
    size_t                              nreq;
    ngx_str_t                           token;
    ngx_int_t                           rc;
    ngx_pool_cleanup_t                 *cln;
    image_ingest_jwt_require_t         *req;
    ngx_http_image_ingest_jwt_state_t  *s;

    for (cln = r->pool->cleanup; cln; cln = cln->next) {
        if (cln->handler == ngx_http_image_ingest_jwt_cleanup) {
            s = cln->data;

            if (s->conf == conf) {
                return s;
            }
        }
    }

    cln = ngx_pool_cleanup_add(r->pool,
                               sizeof(ngx_http_image_ingest_jwt_state_t));
    if (cln == NULL) {
        return NULL;
    }

    s = cln->data;
    ngx_memzero(s, sizeof(ngx_http_image_ingest_jwt_state_t));
    s->conf = conf;
    cln->handler = ngx_http_image_ingest_jwt_cleanup;

    rc = ngx_http_image_ingest_jwt_token(r, conf, &token);

    if (rc == NGX_ERROR) {
        s->rc = IMAGE_INGEST_JWT_NO_MEMORY;
        return s;
    }

    if (rc == NGX_DECLINED) {
        s->missing = 1;
        s->rc = IMAGE_INGEST_JWT_MALFORMED;
        return s;
    }

    ngx_http_image_ingest_jwt_refresh(conf->jwt, r->connection->log);

    if (conf->jwt_claims) {
        req = conf->jwt_claims->elts;
        nreq = conf->jwt_claims->nelts;

    } else {
        req = NULL;
        nreq = 0;
    }

    s->rc = image_ingest_jwt_verify(conf->jwt->keys, (const char *) token.data,
                                    token.len, (int64_t) ngx_time(),
                                    (int64_t) conf->jwt_leeway,
                                    conf->jwt_require_exp ? 1 : 0, req, nreq,
                                    &s->jwt);

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "image_ingest: jwt: %s, alg %s, kid \"%s\"",
                   image_ingest_jwt_reason(s->rc),
                   s->jwt ? image_ingest_jwt_alg(s->jwt) : "-",
                   s->jwt ? image_ingest_jwt_kid(s->jwt) : "");

    if (s->rc != IMAGE_INGEST_JWT_OK && s->jwt) {
        image_ingest_jwt_free(s->jwt);
        s->jwt = NULL;
    }

    return s;
}


/*
 * The token: image_ingest_jwt_token's value, or the credentials of an
 * "Authorization: Bearer" header (the scheme in any case, RFC 7235).
 * NGX_DECLINED when there is none.
 */

static ngx_int_t
ngx_http_image_ingest_jwt_token(ngx_http_request_t *r,
    ngx_http_image_ingest_loc_conf_t *conf, ngx_str_t *token)
{
    u_char  *p, *last;

    if (conf->jwt_token) {
        if (ngx_http_complex_value(r, conf->jwt_token, token) != NGX_OK) {
            return NGX_ERROR;
        }

        return token->len ? NGX_OK : NGX_DECLINED;
    }

    if (r->headers_in.authorization == NULL) {
        return NGX_DECLINED;
    }

    p = r->headers_in.authorization->value.data;
    last = p + r->headers_in.authorization->value.len;

    if (last - p < (ssize_t) sizeof("Bearer ") - 1
        || ngx_strncasecmp(p, (u_char *) "Bearer ", sizeof("Bearer ") - 1)
           != 0)
    {
        return NGX_DECLINED;
    }

    p += sizeof("Bearer ") - 1;

    while (p < last && *p == ' ') {
        p++;
    }

    while (last > p && last[-1] == ' ') {
        last--;
    }

    if (p == last) {
        return NGX_DECLINED;
    }

    token->data = p;
    token->len = last - p;

    return NGX_OK;
}


static void
ngx_http_image_ingest_jwt_cleanup(void *data)
{
    ngx_http_image_ingest_jwt_state_t  *s = data;

    if (s->jwt) {
        image_ingest_jwt_free(s->jwt);
        s->jwt = NULL;
    }
}


/*
 * $jwt_claim_<name>: a string or number claim of the verified token.
 * nginx lowercases variable names: a claim of that exact name first,
 * else the first whose name matches in any case.  A value with control
 * characters is not found (it could split a header of add_header).
 */

static ngx_int_t
ngx_http_image_ingest_jwt_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_str_t *var = (ngx_str_t *) data;

    u_char                             *p;
    size_t                              i, n, len;
    ngx_str_t                           want;
    const char                         *name, *value, *found;
    ngx_http_image_ingest_jwt_state_t  *s;
    ngx_http_image_ingest_loc_conf_t   *conf;

    v->not_found = 1;

    conf = ngx_http_get_module_loc_conf(r, ngx_http_image_ingest_module);

    if (conf == NULL || conf->jwt == NULL) {
        return NGX_OK;
    }

    s = ngx_http_image_ingest_jwt_state(r, conf);
    if (s == NULL) {
        return NGX_ERROR;
    }

    if (s->jwt == NULL) {
        return NGX_OK;
    }

    want.data = var->data + ngx_http_image_ingest_jwt_prefix.len;
    want.len = var->len - ngx_http_image_ingest_jwt_prefix.len;

    found = NULL;
    n = image_ingest_jwt_claims(s->jwt);

    for (i = 0; i < n; i++) {
        if (image_ingest_jwt_claim_at(s->jwt, i, &name, &value) != 0) {
            continue;
        }

        len = ngx_strlen(name);

        if (len != want.len) {
            continue;
        }

        if (ngx_strncmp(name, want.data, len) == 0) {
            found = value;
            break;
        }

        if (found == NULL && ngx_strncasecmp((u_char *) name, want.data, len)
                             == 0)
        {
            found = value;
        }
    }

    if (found == NULL) {
        return NGX_OK;
    }

    len = ngx_strlen(found);

    for (p = (u_char *) found; p < (u_char *) found + len; p++) {
        if (*p < 0x20 || *p == 0x7f) {
            ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                           "image_ingest: jwt: $%V has control characters, "
                           "not found", var);
            return NGX_OK;
        }
    }

    v->data = (u_char *) found;
    v->len = len;
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;

    return NGX_OK;
}
