
/*
 * The serverless "zipper" contract: payload validation and the names of
 * what the job zips and uploads.  See album_zip_job.h for the contract.
 *
 * Decisions, and why:
 *
 * - Only http and https URLs with a host are accepted, without spaces or
 *   control characters: libcurl is restricted to those protocols anyway,
 *   and URLs end up in logs.  A URL longer than 8 KiB is refused.
 * - A known key given twice is an error: first-wins and last-wins
 *   parsers disagree, and a checker upstream may read the other one.
 * - cJSON accepts garbage after the value when given a length; the
 *   parser does not (only JSON whitespace may follow).
 * - Error messages never quote input: they go into logs and JSON bodies
 *   as they are.
 */


#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "album_zip_job.h"
#include "edge_json_check.h"
#include "edge_hex.h"


static int album_zip_job_opt_str(const cJSON *root, const char *key,
    const album_zip_alloc_t *alloc, album_zip_job_str_t *str, char *err,
    size_t err_len);
static int album_zip_job_url_ok(const char *s, size_t len);
static int album_zip_job_copy(const album_zip_alloc_t *alloc,
    album_zip_job_str_t *str, const char *s, size_t len);
static size_t album_zip_job_scheme(const char *s, size_t len);
static size_t album_zip_job_authority(const char *s, size_t len);
static size_t album_zip_job_decode(char *dst, const char *src, size_t len);
static int album_zip_job_is_fallback(const char *name, size_t n,
    const char *src, size_t len);
static int album_zip_job_dot_segments(const char *path, size_t len);
static int album_zip_job_encoded_slash(const char *path, size_t len);
static int album_zip_job_prefix(const char *url, size_t len,
    const char *prefix, size_t plen);
static int album_zip_job_lower(int c);


static const char  *album_zip_job_keys[] = {
    "api_url", "upload_url", "token", "sources", NULL
};


int
album_zip_job_parse(const char *buf, size_t len, size_t max_sources,
    const album_zip_alloc_t *alloc, album_zip_job_payload_t *out,
    char *err, size_t err_len)
{
    int           rc;
    cJSON        *root;
    size_t        n, i;
    const char   *s;
    const cJSON  *sources, *item;

    if (err_len) {
        err[0] = '\0';
    }

    memset(out, 0, sizeof(album_zip_job_payload_t));

    root = edge_json_parse_object(buf, len, err, err_len);

    if (root == NULL) {
        return ALBUM_ZIP_JOB_EINVAL;
    }

    if (edge_json_dup_keys(root, album_zip_job_keys, "", err, err_len) != 0)
    {
        rc = ALBUM_ZIP_JOB_EINVAL;
        goto done;
    }

    /* sources */

    sources = cJSON_GetObjectItemCaseSensitive(root, "sources");

    if (!cJSON_IsArray(sources) || sources->child == NULL) {
        rc = edge_json_error(ALBUM_ZIP_JOB_EINVAL, err, err_len,
                             "sources: must be a non-empty array of "
                             "strings");
        goto done;
    }

    n = 0;

    for (item = sources->child; item != NULL; item = item->next) {
        n++;
    }

    if (max_sources && n > max_sources) {
        rc = edge_json_error(ALBUM_ZIP_JOB_ELIMIT, err, err_len,
                             "sources: more than %zu sources",
                             max_sources);
        goto done;
    }

    out->sources = alloc->alloc(alloc->ctx, n * sizeof(album_zip_job_str_t));
    if (out->sources == NULL) {
        rc = edge_json_error(ALBUM_ZIP_JOB_ENOMEM, err, err_len,
                             "payload: out of memory");
        goto done;
    }

    for (item = sources->child, i = 0; item != NULL; item = item->next, i++) {

        if (!cJSON_IsString(item) || item->valuestring == NULL) {
            rc = edge_json_error(ALBUM_ZIP_JOB_EINVAL, err, err_len,
                                 "sources[%zu]: must be a string", i);
            goto done;
        }

        s = item->valuestring;

        if (!album_zip_job_url_ok(s, strlen(s))) {
            rc = edge_json_error(ALBUM_ZIP_JOB_EINVAL, err, err_len,
                                 "sources[%zu]: must be an http or "
                                 "https URL", i);
            goto done;
        }

        if (album_zip_job_copy(alloc, &out->sources[i], s, strlen(s)) != 0)
        {
            rc = edge_json_error(ALBUM_ZIP_JOB_ENOMEM, err, err_len,
                                 "payload: out of memory");
            goto done;
        }
    }

    out->nsources = n;

    /* upload_url */

    item = cJSON_GetObjectItemCaseSensitive(root, "upload_url");

    if (item == NULL || cJSON_IsNull(item)) {
        rc = edge_json_error(ALBUM_ZIP_JOB_EINVAL, err, err_len,
                             "upload_url: is required");
        goto done;
    }

    if (!cJSON_IsString(item) || item->valuestring == NULL) {
        rc = edge_json_error(ALBUM_ZIP_JOB_EINVAL, err, err_len,
                             "upload_url: must be a string");
        goto done;
    }

    s = item->valuestring;

    if (!album_zip_job_url_ok(s, strlen(s))) {
        rc = edge_json_error(ALBUM_ZIP_JOB_EINVAL, err, err_len,
                             "upload_url: must be an http or https "
                             "URL");
        goto done;
    }

    if (album_zip_job_copy(alloc, &out->upload_url, s, strlen(s)) != 0) {
        rc = edge_json_error(ALBUM_ZIP_JOB_ENOMEM, err, err_len,
                             "payload: out of memory");
        goto done;
    }

    /* token, api_url: optional strings */

    rc = album_zip_job_opt_str(root, "token", alloc, &out->token, err,
                               err_len);
    if (rc != ALBUM_ZIP_JOB_OK) {
        goto done;
    }

    rc = album_zip_job_opt_str(root, "api_url", alloc, &out->api_url, err,
                               err_len);

done:

    cJSON_Delete(root);

    return rc;
}


static int
album_zip_job_opt_str(const cJSON *root, const char *key,
    const album_zip_alloc_t *alloc, album_zip_job_str_t *str, char *err,
    size_t err_len)
{
    const cJSON  *item;

    item = cJSON_GetObjectItemCaseSensitive(root, key);

    if (item == NULL || cJSON_IsNull(item)) {
        str->data = "";
        str->len = 0;
        return ALBUM_ZIP_JOB_OK;
    }

    if (!cJSON_IsString(item) || item->valuestring == NULL) {
        return edge_json_error(ALBUM_ZIP_JOB_EINVAL, err, err_len,
                               "%s: must be a string", key);
    }

    if (album_zip_job_copy(alloc, str, item->valuestring,
                           strlen(item->valuestring))
        != 0)
    {
        return edge_json_error(ALBUM_ZIP_JOB_ENOMEM, err, err_len,
                               "payload: out of memory");
    }

    return ALBUM_ZIP_JOB_OK;
}


/* an http or https URL with a host, without spaces or controls */

static int
album_zip_job_url_ok(const char *s, size_t len)
{
    size_t  i, scheme;

    if (len > ALBUM_ZIP_JOB_MAX_URL_LEN) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if ((unsigned char) s[i] <= 0x20 || s[i] == 0x7f) {
            return 0;
        }
    }

    scheme = album_zip_job_scheme(s, len);

    if (scheme == 0) {
        return 0;
    }

    if (!(scheme == 7 && strncasecmp(s, "http://", 7) == 0)
        && !(scheme == 8 && strncasecmp(s, "https://", 8) == 0))
    {
        return 0;
    }

    return album_zip_job_authority(s + scheme, len - scheme) > 0;
}


static int
album_zip_job_copy(const album_zip_alloc_t *alloc, album_zip_job_str_t *str,
    const char *s, size_t len)
{
    char  *p;

    p = alloc->alloc(alloc->ctx, len + 1);
    if (p == NULL) {
        return -1;
    }

    memcpy(p, s, len);
    p[len] = '\0';

    str->data = p;
    str->len = len;

    return 0;
}


/* the length of "scheme://" at the start of s, or 0 */

static size_t
album_zip_job_scheme(const char *s, size_t len)
{
    int     c;
    size_t  i;

    for (i = 0; i < len; i++) {
        c = album_zip_job_lower(s[i]);

        if (c >= 'a' && c <= 'z') {
            continue;
        }

        if (i > 0 && ((c >= '0' && c <= '9') || c == '+' || c == '-'
                      || c == '.'))
        {
            continue;
        }

        break;
    }

    if (i == 0 || len - i < 3 || memcmp(s + i, "://", 3) != 0) {
        return 0;
    }

    return i + 3;
}


/* the length of the authority that starts s: up to "/", "?" or "#" */

static size_t
album_zip_job_authority(const char *s, size_t len)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        if (s[i] == '/' || s[i] == '?' || s[i] == '#') {
            break;
        }
    }

    return i;
}


size_t
album_zip_job_member_name(char *dst, const char *url, size_t len)
{
    char        *tmp;
    size_t       n, i, scheme;
    const char  *p, *end, *seg;

    p = url;
    end = url + len;

    /* the query and the fragment go */

    for (seg = p; seg < end; seg++) {
        if (*seg == '?' || *seg == '#') {
            end = seg;
            break;
        }
    }

    /* so do the scheme and the host */

    scheme = album_zip_job_scheme(p, end - p);

    if (scheme) {
        p += scheme;
        p += album_zip_job_authority(p, end - p);
    }

    /* the last non-empty path segment */

    while (end > p && end[-1] == '/') {
        end--;
    }

    seg = end;

    while (seg > p && seg[-1] != '/') {
        seg--;
    }

    /* decoded into the scratch part of dst; a name gets no directory */

    tmp = dst + ALBUM_ZIP_NAME_BOUND(len);
    n = album_zip_job_decode(tmp, seg, end - seg);

    for (i = 0; i < n; i++) {
        if (tmp[i] == '/' || tmp[i] == '\\') {
            tmp[i] = '_';
        }
    }

    return album_zip_name_sanitize(dst, tmp, n, 0);
}


int
album_zip_job_member_names(const album_zip_job_payload_t *p,
    album_zip_name_t *names, const album_zip_alloc_t *alloc, uint64_t seed)
{
    char    *buf;
    size_t   i, len;

    for (i = 0; i < p->nsources; i++) {
        len = p->sources[i].len;

        buf = alloc->alloc(alloc->ctx, ALBUM_ZIP_JOB_NAME_BOUND(len));
        if (buf == NULL) {
            return ALBUM_ZIP_ENOMEM;
        }

        names[i].len = album_zip_job_member_name(buf, p->sources[i].data,
                                                 len);
        names[i].data = buf;
        names[i].omit = 0;
    }

    return album_zip_names_dedup(names, p->nsources, alloc, seed);
}


size_t
album_zip_job_upload_name(char *dst, const char *token, size_t len)
{
    char    *tmp;
    size_t   n, i;

    tmp = dst + ALBUM_ZIP_NAME_BOUND(len + 4);

    for (i = 0; i < len; i++) {
        tmp[i] = (token[i] == '/' || token[i] == '\\' || token[i] == '"')
                 ? '_' : token[i];
    }

    n = album_zip_name_sanitize(dst, tmp, len, 0);

    if (len == 0 || album_zip_job_is_fallback(dst, n, tmp, len)) {
        memcpy(dst, ALBUM_ZIP_JOB_UPLOAD_NAME,
               sizeof(ALBUM_ZIP_JOB_UPLOAD_NAME));
        return sizeof(ALBUM_ZIP_JOB_UPLOAD_NAME) - 1;
    }

    /* again with the extension, so that cutting a long name keeps it */

    memcpy(tmp + len, ".zip", 4);

    return album_zip_name_sanitize(dst, tmp, len + 4, 0);
}


int
album_zip_job_url_host(const char *url, size_t len, const char **host,
    size_t *host_len)
{
    size_t       scheme, n, i;
    const char  *p;

    scheme = album_zip_job_scheme(url, len);

    if (scheme == 0) {
        return -1;
    }

    p = url + scheme;
    n = album_zip_job_authority(p, len - scheme);

    for (i = n; i > 0; i--) {
        if (p[i - 1] == '@') {
            break;
        }
    }

    *host = p + i;
    *host_len = n - i;

    return 0;
}


int
album_zip_job_allowed(const char *url, size_t len,
    const album_zip_job_str_t *prefixes, size_t n)
{
    size_t       i, scheme, auth;
    const char  *path, *end;

    if (memchr(url, '\\', len) != NULL) {
        return 0;
    }

    scheme = album_zip_job_scheme(url, len);
    auth = album_zip_job_authority(url + scheme, len - scheme);

    if (memchr(url + scheme, '@', auth) != NULL) {
        return 0;
    }

    path = url + scheme + auth;

    for (end = path; end < url + len; end++) {
        if (*end == '?' || *end == '#') {
            break;
        }
    }

    if (album_zip_job_dot_segments(path, end - path)
        || album_zip_job_encoded_slash(path, end - path))
    {
        return 0;
    }

    for (i = 0; i < n; i++) {
        if (album_zip_job_prefix(url, len, prefixes[i].data,
                                 prefixes[i].len))
        {
            return 1;
        }
    }

    return 0;
}


/* percent-decoding; a "%" without two hex digits stays as it is */

static size_t
album_zip_job_decode(char *dst, const char *src, size_t len)
{
    int     hi, lo;
    size_t  i, n;

    n = 0;

    for (i = 0; i < len; i++) {

        if (src[i] == '%' && len - i > 2) {
            hi = edge_hex_digit(src[i + 1]);
            lo = edge_hex_digit(src[i + 2]);

            if (hi >= 0 && lo >= 0) {
                dst[n++] = (char) (hi << 4 | lo);
                i += 2;
                continue;
            }
        }

        dst[n++] = src[i];
    }

    return n;
}



/* the sanitiser gave its fallback because nothing was left of src */

static int
album_zip_job_is_fallback(const char *name, size_t n, const char *src,
    size_t len)
{
    size_t  f;

    f = sizeof(ALBUM_ZIP_NAME_FALLBACK) - 1;

    return n == f && memcmp(name, ALBUM_ZIP_NAME_FALLBACK, f) == 0
           && !(len == f && memcmp(src, ALBUM_ZIP_NAME_FALLBACK, f) == 0);
}


/* a "." or ".." segment, also with the dots percent-encoded or ";x" */

static int
album_zip_job_dot_segments(const char *path, size_t len)
{
    size_t  i, dots, other;

    dots = 0;
    other = 0;

    for (i = 0; i <= len; i++) {

        /* "..;x": a parameter ends the segment for Java servers */

        if (i == len || path[i] == '/' || (path[i] == ';' && other == 0)) {
            if (other == 0 && (dots == 1 || dots == 2)) {
                return 1;
            }

            dots = 0;
            other = 0;
            continue;
        }

        if (path[i] == '.') {
            dots++;

        } else if (path[i] == '%' && len - i > 2 && path[i + 1] == '2'
                   && album_zip_job_lower(path[i + 2]) == 'e')
        {
            dots++;
            i += 2;

        } else {
            other++;
        }
    }

    return 0;
}


/*
 * "%2F" or "%5C" (either case): a server that decodes the path before
 * resolving it (nginx does) reads "/photos/..%2fsecret" as "/secret"
 */

static int
album_zip_job_encoded_slash(const char *path, size_t len)
{
    int     c;
    size_t  i;

    for (i = 0; i + 2 < len; i++) {

        if (path[i] != '%') {
            continue;
        }

        c = album_zip_job_lower(path[i + 2]);

        if ((path[i + 1] == '2' && c == 'f')
            || (path[i + 1] == '5' && c == 'c'))
        {
            return 1;
        }
    }

    return 0;
}


static int
album_zip_job_prefix(const char *url, size_t len, const char *prefix,
    size_t plen)
{
    size_t  i, origin, scheme;

    if (plen == 0 || plen > len) {
        return 0;
    }

    /* scheme and host without case, the rest exactly */

    scheme = album_zip_job_scheme(prefix, plen);
    origin = scheme ? scheme + album_zip_job_authority(prefix + scheme,
                                                       plen - scheme)
                    : 0;

    for (i = 0; i < plen; i++) {
        if (i < origin) {
            if (album_zip_job_lower(url[i]) != album_zip_job_lower(prefix[i]))
            {
                return 0;
            }

        } else if (url[i] != prefix[i]) {
            return 0;
        }
    }

    if (prefix[plen - 1] == '/' || plen == len) {
        return 1;
    }

    return url[plen] == '/' || url[plen] == '?' || url[plen] == '#';
}


static int
album_zip_job_lower(int c)
{
    return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}
