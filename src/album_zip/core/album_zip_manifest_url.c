
/*
 * Album zip manifests: the URL of a member, local path or remote URL,
 * checked and decoded; and the allow-list check of
 * album_zip_manifest_allowed().  See album_zip_manifest.h.
 *
 * - Everything that could let a manifest reach something a prefix of the
 *   allow-list does not cover is rejected outright rather than normalised:
 *   "." and ".." segments (also as %2e, also between %2F or %5C, which some
 *   servers decode before resolving dot segments), "//" in local paths,
 *   %00, %2F and %5C in local paths, "\" and "#" anywhere in a URL, user
 *   info ("user@") in remote URLs.  Legitimate manifests never need them.
 */


#include <string.h>
#include <strings.h>

#include "album_zip_manifest_internal.h"
#include "edge_hex.h"


static int album_zip_manifest_url_chars(album_zip_manifest_parser_t *p,
    const u_char *url, size_t len);
static int album_zip_manifest_local(album_zip_manifest_parser_t *p,
    album_zip_manifest_member_t *m, const u_char *url, size_t len);
static int album_zip_manifest_remote(album_zip_manifest_parser_t *p,
    album_zip_manifest_member_t *m, const u_char *url, size_t len,
    size_t scheme);
static int album_zip_manifest_s3(album_zip_manifest_parser_t *p,
    album_zip_manifest_member_t *m, const u_char *url, size_t len);
static int album_zip_manifest_authority(album_zip_manifest_parser_t *p,
    const u_char *url, const u_char *host, const u_char *path);
static int album_zip_manifest_segments(const u_char *s, size_t len,
    int empty_ok);
static size_t album_zip_manifest_origin(const album_zip_manifest_str_t *url);
static int album_zip_manifest_prefix(const album_zip_manifest_str_t *url,
    const album_zip_manifest_str_t *prefix, size_t origin, int remote);


int
album_zip_manifest_set_url(album_zip_manifest_parser_t *p,
    album_zip_manifest_member_t *m, const u_char *url, size_t len)
{
    char    q[ALBUM_ZIP_MANIFEST_QUOTE * 4 + 4];
    u_char  c;
    size_t  n;

    if (len == 0) {
        return album_zip_manifest_error(p, ALBUM_ZIP_MANIFEST_EINVAL, "url",
                                        "empty");
    }

    if (len > p->limits.max_url_len) {
        return album_zip_manifest_error(p, ALBUM_ZIP_MANIFEST_ELIMIT, "url",
                                        "longer than %zu bytes",
                                        p->limits.max_url_len);
    }

    if (url[0] == '/') {
        if (len > 1 && url[1] == '/') {
            return album_zip_manifest_error(p, ALBUM_ZIP_MANIFEST_EINVAL,
                                            "url",
                                            "protocol-relative URL \"%s\" "
                                            "not supported",
                                            album_zip_manifest_quote(q, url,
                                                                     len));
        }

        return album_zip_manifest_local(p, m, url, len);
    }

    /* scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) */

    for (n = 0; n < len; n++) {
        c = url[n] | 0x20;

        if ((c >= 'a' && c <= 'z')
            || (n > 0 && ((url[n] >= '0' && url[n] <= '9')
                          || url[n] == '+' || url[n] == '-'
                          || url[n] == '.')))
        {
            continue;
        }

        break;
    }

    if (n == 0 || n == len || url[n] != ':') {
        return album_zip_manifest_error(p, ALBUM_ZIP_MANIFEST_EINVAL, "url",
                                        "not a path or an http(s) URL: "
                                        "\"%s\"",
                                        album_zip_manifest_quote(q, url,
                                                                 len));
    }

    if ((n == 4 && strncasecmp((const char *) url, "http", 4) == 0)
        || (n == 5 && strncasecmp((const char *) url, "https", 5) == 0))
    {
        if (len - n < 3 || url[n + 1] != '/' || url[n + 2] != '/') {
            return album_zip_manifest_error(p, ALBUM_ZIP_MANIFEST_EINVAL,
                                            "url",
                                            "no \"//\" after \"%s:\"",
                                            album_zip_manifest_quote(q, url,
                                                                     n));
        }

        return album_zip_manifest_remote(p, m, url, len, n);
    }

    if (n == 2 && strncasecmp((const char *) url, "s3", 2) == 0) {
        return album_zip_manifest_s3(p, m, url, len);
    }

    return album_zip_manifest_error(p, ALBUM_ZIP_MANIFEST_EINVAL, "url",
                                    "unsupported scheme \"%s\"",
                                    album_zip_manifest_quote(q, url, n));
}


/* what no URL here may contain, before any decoding */

static int
album_zip_manifest_url_chars(album_zip_manifest_parser_t *p,
    const u_char *url, size_t len)
{
    size_t  i;

    for (i = 0; i < len; i++) {

        if (url[i] == '\0') {
            return album_zip_manifest_error(p, ALBUM_ZIP_MANIFEST_EINVAL,
                                            "url", "NUL byte");
        }

        if (url[i] <= ' ' || url[i] == 0x7f) {
            return album_zip_manifest_error(p, ALBUM_ZIP_MANIFEST_EINVAL,
                                            "url",
                                            "space or control character at "
                                            "byte %zu", i + 1);
        }

        /* some servers take "\" for "/"; "#" would never reach one */

        if (url[i] == '\\' || url[i] == '#') {
            return album_zip_manifest_error(p, ALBUM_ZIP_MANIFEST_EINVAL,
                                            "url",
                                            "\"%c\" at byte %zu (encode it)",
                                            url[i], i + 1);
        }
    }

    return ALBUM_ZIP_MANIFEST_OK;
}


static int
album_zip_manifest_local(album_zip_manifest_parser_t *p,
    album_zip_manifest_member_t *m, const u_char *url, size_t len)
{
    int            rc, hi, lo;
    u_char        *dst, c;
    size_t         n, i;
    const u_char  *q;

    rc = album_zip_manifest_url_chars(p, url, len);
    if (rc != ALBUM_ZIP_MANIFEST_OK) {
        return rc;
    }

    m->kind = ALBUM_ZIP_MANIFEST_LOCAL;

    q = memchr(url, '?', len);
    n = (q != NULL) ? (size_t) (q - url) : len;

    if (q != NULL) {
        rc = album_zip_manifest_str(p, &m->args, q + 1, len - n - 1);
        if (rc != ALBUM_ZIP_MANIFEST_OK) {
            return rc;
        }

    } else {
        m->args.data = album_zip_manifest_empty;
    }

    if (memchr(url, '%', n) == NULL) {
        rc = album_zip_manifest_str(p, &m->url, url, n);
        if (rc != ALBUM_ZIP_MANIFEST_OK) {
            return rc;
        }

    } else {
        dst = album_zip_manifest_alloc(p, n);
        if (dst == NULL) {
            return album_zip_manifest_error(p, ALBUM_ZIP_MANIFEST_ENOMEM,
                                            NULL, "out of memory");
        }

        m->url.data = dst;

        for (i = 0; i < n; i++) {
            c = url[i];

            if (c == '%') {
                hi = (n - i > 2) ? edge_hex_digit(url[i + 1]) : -1;
                lo = (n - i > 2) ? edge_hex_digit(url[i + 2]) : -1;

                if (hi < 0 || lo < 0) {
                    return album_zip_manifest_error(p,
                                            ALBUM_ZIP_MANIFEST_EINVAL, "url",
                                            "bad percent-encoding at byte "
                                            "%zu", i + 1);
                }

                c = (u_char) (hi * 16 + lo);
                i += 2;

                if (c == '\0') {
                    return album_zip_manifest_error(p,
                                            ALBUM_ZIP_MANIFEST_EINVAL, "url",
                                            "encoded NUL byte (%%00)");
                }

                /*
                 * A file name may hold "\" and a tab: a directory album
                 * takes them, so a manifest does too (a "\" is no
                 * separator in a Unix file name).
                 */

                if (c == '/') {
                    return album_zip_manifest_error(p,
                                            ALBUM_ZIP_MANIFEST_EINVAL, "url",
                                            "encoded \"%c\" in the path",
                                            c);
                }

                if ((c < ' ' && c != '\t') || c == 0x7f) {
                    return album_zip_manifest_error(p,
                                            ALBUM_ZIP_MANIFEST_EINVAL, "url",
                                            "encoded control character in "
                                            "the path");
                }
            }

            *dst++ = c;
        }

        m->url.len = dst - m->url.data;
    }

    rc = album_zip_manifest_segments(m->url.data, m->url.len, 0);

    if (rc == -1) {
        return album_zip_manifest_error(p, ALBUM_ZIP_MANIFEST_EINVAL, "url",
                                        "\".\" or \"..\" in the path");
    }

    if (rc == -2) {
        return album_zip_manifest_error(p, ALBUM_ZIP_MANIFEST_EINVAL, "url",
                                        "\"//\" in the path");
    }

    return ALBUM_ZIP_MANIFEST_OK;
}


/* http(s)://host[:port][/path][?query]; scheme is the length of "http(s)" */

static int
album_zip_manifest_remote(album_zip_manifest_parser_t *p,
    album_zip_manifest_member_t *m, const u_char *url, size_t len,
    size_t scheme)
{
    int            rc;
    size_t         i;
    const u_char  *host, *end, *path, *c;

    rc = album_zip_manifest_url_chars(p, url, len);
    if (rc != ALBUM_ZIP_MANIFEST_OK) {
        return rc;
    }

    for (i = 0; i < len; i++) {
        if (url[i] == '%'
            && (len - i < 3
                || edge_hex_digit(url[i + 1]) < 0
                || edge_hex_digit(url[i + 2]) < 0))
        {
            return album_zip_manifest_error(p, ALBUM_ZIP_MANIFEST_EINVAL,
                                            "url",
                                            "bad percent-encoding at byte "
                                            "%zu", i + 1);
        }
    }

    host = url + scheme + 3;
    end = url + len;

    for (path = host; path < end; path++) {
        if (*path == '/' || *path == '?') {
            break;
        }
    }

    rc = album_zip_manifest_authority(p, url, host, path);
    if (rc != ALBUM_ZIP_MANIFEST_OK) {
        return rc;
    }

    for (c = path; c < end && *c != '?'; c++) {
        /* void */
    }

    if (album_zip_manifest_segments(path, c - path, 1) != 0) {
        return album_zip_manifest_error(p, ALBUM_ZIP_MANIFEST_EINVAL, "url",
                                        "\".\" or \"..\" in the path");
    }

    m->kind = ALBUM_ZIP_MANIFEST_REMOTE;
    m->args.data = album_zip_manifest_empty;

    return album_zip_manifest_str(p, &m->url, url, len);
}


/*
 * s3://<bucket>/<key>: the bucket an s3_bucket block's name (letters,
 * digits, "." "_" "-"), the key percent-encoded as in a local path (no
 * query: a "?" of a key is %3F), checked as one: no dot or empty segment,
 * no encoded "/", NUL or control character.
 */

static int
album_zip_manifest_s3(album_zip_manifest_parser_t *p,
    album_zip_manifest_member_t *m, const u_char *url, size_t len)
{
    int            rc, hi, lo;
    u_char        *dst, c;
    size_t         i;
    const u_char  *bucket, *path, *end;

    rc = album_zip_manifest_url_chars(p, url, len);
    if (rc != ALBUM_ZIP_MANIFEST_OK) {
        return rc;
    }

    if (len < 5 || url[3] != '/' || url[4] != '/') {
        return album_zip_manifest_error(p, ALBUM_ZIP_MANIFEST_EINVAL, "url",
                                        "no \"//\" after \"s3:\"");
    }

    bucket = url + 5;
    end = url + len;

    for (path = bucket; path < end; path++) {
        if (!((*path >= 'a' && *path <= 'z') || (*path >= 'A' && *path <= 'Z')
              || (*path >= '0' && *path <= '9')
              || *path == '.' || *path == '_' || *path == '-'))
        {
            break;
        }
    }

    if (path == bucket || path == end || *path != '/') {
        return album_zip_manifest_error(p, ALBUM_ZIP_MANIFEST_EINVAL, "url",
                                        "not s3://<bucket>/<key>");
    }

    if (end - path < 2) {
        return album_zip_manifest_error(p, ALBUM_ZIP_MANIFEST_EINVAL, "url",
                                        "no object key");
    }

    if (memchr(path, '?', end - path) != NULL) {
        return album_zip_manifest_error(p, ALBUM_ZIP_MANIFEST_EINVAL, "url",
                                        "\"?\" in an s3:// URL (encode it "
                                        "as %%3F)");
    }

    rc = album_zip_manifest_segments(path, end - path, 0);

    if (rc == -1) {
        return album_zip_manifest_error(p, ALBUM_ZIP_MANIFEST_EINVAL, "url",
                                        "\".\" or \"..\" in the key");
    }

    if (rc == -2 || end[-1] == '/') {
        return album_zip_manifest_error(p, ALBUM_ZIP_MANIFEST_EINVAL, "url",
                                        "an empty segment in the key");
    }

    dst = album_zip_manifest_alloc(p, end - path);
    if (dst == NULL) {
        return album_zip_manifest_error(p, ALBUM_ZIP_MANIFEST_ENOMEM, NULL,
                                        "out of memory");
    }

    m->key.data = dst;

    for (i = 1; i < (size_t) (end - path); i++) {
        c = path[i];

        if (c == '%') {
            hi = (end - path - i > 2) ? edge_hex_digit(path[i + 1]) : -1;
            lo = (end - path - i > 2) ? edge_hex_digit(path[i + 2]) : -1;

            if (hi < 0 || lo < 0) {
                return album_zip_manifest_error(p, ALBUM_ZIP_MANIFEST_EINVAL,
                                                "url",
                                                "bad percent-encoding in "
                                                "the key");
            }

            c = (u_char) (hi * 16 + lo);
            i += 2;

            if (c == '/' || c == '\\' || c < ' ' || c == 0x7f) {
                return album_zip_manifest_error(p, ALBUM_ZIP_MANIFEST_EINVAL,
                                                "url",
                                                "an encoded \"/\", \"\\\" "
                                                "or control character in "
                                                "the key");
            }
        }

        *dst++ = c;
    }

    m->key.len = dst - m->key.data;

    m->kind = ALBUM_ZIP_MANIFEST_S3;
    m->args.data = album_zip_manifest_empty;
    m->bucket.data = bucket;
    m->bucket.len = path - bucket;

    rc = album_zip_manifest_str(p, &m->url, url, len);
    if (rc != ALBUM_ZIP_MANIFEST_OK) {
        return rc;
    }

    /* the bucket's name as stored with the URL */
    m->bucket.data = m->url.data + 5;

    return ALBUM_ZIP_MANIFEST_OK;
}


/*
 * the host[:port] of a remote URL, from host up to path: a name, or an
 * IPv6 literal in brackets; no user info
 */

static int
album_zip_manifest_authority(album_zip_manifest_parser_t *p,
    const u_char *url, const u_char *host, const u_char *path)
{
    size_t         i, port;
    const u_char  *c;

    if (memchr(host, '@', path - host) != NULL) {
        return album_zip_manifest_error(p, ALBUM_ZIP_MANIFEST_EINVAL, "url",
                                        "user info (\"@\") not supported");
    }

    c = host;

    if (c < path && *c == '[') {

        /* an IPv6 literal; its contents are left to the resolver */

        for (c++; c < path && *c != ']'; c++) {
            if (edge_hex_digit(*c) < 0 && *c != ':'
                && *c != '.')
            {
                break;
            }
        }

        if (c == path || *c != ']' || c == host + 1) {
            return album_zip_manifest_error(p, ALBUM_ZIP_MANIFEST_EINVAL,
                                            "url", "bad IPv6 host");
        }

        c++;

    } else {
        for ( /* void */ ; c < path; c++) {
            if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z')
                || (*c >= '0' && *c <= '9')
                || *c == '-' || *c == '.' || *c == '_')
            {
                continue;
            }

            break;
        }

        if (c == host) {
            return album_zip_manifest_error(p, ALBUM_ZIP_MANIFEST_EINVAL,
                                            "url", "no host");
        }
    }

    if (c < path) {
        if (*c != ':') {
            return album_zip_manifest_error(p, ALBUM_ZIP_MANIFEST_EINVAL,
                                            "url",
                                            "bad character in the host at "
                                            "byte %zu",
                                            (size_t) (c - url) + 1);
        }

        port = 0;

        for (c++, i = 0; c < path; c++, i++) {
            if (*c < '0' || *c > '9' || i == 5) {
                break;
            }

            port = port * 10 + (*c - '0');
        }

        if (c != path || i == 0 || port == 0 || port > 65535) {
            return album_zip_manifest_error(p, ALBUM_ZIP_MANIFEST_EINVAL,
                                            "url", "bad port");
        }
    }

    return ALBUM_ZIP_MANIFEST_OK;
}


/*
 * Returns -1 if a path segment is "." or "..", also spelled with %2e and
 * also when delimited by %2F, %5C or a decoded "\" (servers that take
 * those for "/" before resolving dot segments would step out of the
 * prefix), -2 for an empty segment ("//") unless empty_ok, 0 otherwise.
 * A trailing "/" is fine.
 */

static int
album_zip_manifest_segments(const u_char *s, size_t len, int empty_ok)
{
    int     dots, bs;
    size_t  i, step, seg;

    dots = 0;
    seg = 0;
    bs = 0;

    for (i = 0; i <= len; i += step) {
        step = 1;

        if (i == len || s[i] == '/' || s[i] == '\\'
            || (s[i] == '%' && len - i >= 3
                && ((s[i + 1] == '2' && (s[i + 2] | 0x20) == 'f')
                    || (s[i + 1] == '5' && (s[i + 2] | 0x20) == 'c'))))
        {
            if (i < len && s[i] == '%') {
                step = 3;
            }

            if (dots == 1 || dots == 2) {
                return -1;
            }

            /* a "\" only delimits dot segments: "/\x" is a file "\x" */
            if (seg == 0 && i != 0 && i != len && !empty_ok && !bs
                && s[i] != '\\')
            {
                return -2;
            }

            bs = (i < len && s[i] == '\\');
            dots = 0;
            seg = 0;
            continue;
        }

        if (s[i] == '.') {
            dots = (dots < 0) ? dots : dots + 1;

        } else if (s[i] == '%' && len - i >= 3 && s[i + 1] == '2'
                   && (s[i + 2] | 0x20) == 'e')
        {
            dots = (dots < 0) ? dots : dots + 1;
            step = 3;

        } else {
            dots = -1;
        }

        seg++;
    }

    return 0;
}


int
album_zip_manifest_allowed(const album_zip_manifest_member_t *member,
    const album_zip_manifest_str_t *prefixes, size_t n)
{
    int     remote;
    size_t  i, origin;

    if (member->kind == ALBUM_ZIP_MANIFEST_DIRECTORY) {
        return 1;
    }

    if (member->kind != ALBUM_ZIP_MANIFEST_LOCAL
        && member->kind != ALBUM_ZIP_MANIFEST_REMOTE
        && member->kind != ALBUM_ZIP_MANIFEST_S3)
    {
        return 0;
    }

    /* s3://bucket is an origin as scheme://host is */
    remote = (member->kind != ALBUM_ZIP_MANIFEST_LOCAL);
    origin = remote ? album_zip_manifest_origin(&member->url) : 0;

    for (i = 0; i < n; i++) {
        if (album_zip_manifest_prefix(&member->url, &prefixes[i], origin,
                                      remote))
        {
            return 1;
        }
    }

    return 0;
}


/* the length of "scheme://host:port", compared without case */

static size_t
album_zip_manifest_origin(const album_zip_manifest_str_t *url)
{
    size_t  i;

    for (i = 0; i + 2 < url->len; i++) {
        if (url->data[i] == ':') {
            break;
        }
    }

    for (i += 3; i < url->len; i++) {
        if (url->data[i] == '/' || url->data[i] == '?') {
            break;
        }
    }

    return i < url->len ? i : url->len;
}


static int
album_zip_manifest_prefix(const album_zip_manifest_str_t *url,
    const album_zip_manifest_str_t *prefix, size_t origin, int remote)
{
    u_char  a, b;
    size_t  i, n;

    n = prefix->len;

    if (n == 0 || n > url->len) {
        return 0;
    }

    for (i = 0; i < n; i++) {
        a = url->data[i];
        b = prefix->data[i];

        if (i < origin) {
            a = (a >= 'A' && a <= 'Z') ? (a | 0x20) : a;
            b = (b >= 'A' && b <= 'Z') ? (b | 0x20) : b;
        }

        if (a != b) {
            return 0;
        }
    }

    /* "/media" must not match "/media-private/..." */

    if (prefix->data[n - 1] == '/' || n == url->len) {
        return 1;
    }

    return url->data[n] == '/' || (remote && url->data[n] == '?');
}
