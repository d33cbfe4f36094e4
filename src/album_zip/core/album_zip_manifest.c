/*
 * Album zip manifests: mod_zip's line format and JSON, parsed into members
 * the nginx glue can fetch.  See album_zip_manifest.h for the contract.
 *
 * Decisions, and why:
 *
 * - Everything that could let a manifest reach something a prefix of the
 *   allow-list does not cover is rejected outright rather than normalised:
 *   "." and ".." segments (also as %2e, also between %2F or %5C, which some
 *   servers decode before resolving dot segments), "//" in local paths,
 *   %00, %2F and %5C in local paths, "\" and "#" anywhere in a URL, user
 *   info ("user@") in remote URLs.  Legitimate manifests never need them.
 * - Names are passed on byte for byte, only NUL is refused: making them
 *   safe (controls, invalid UTF-8, "..", absolute paths) is the one job of
 *   album_zip_names, and mod_zip users with non-UTF-8 names keep working.
 * - JSON: unknown keys are ignored; a known key given twice is an error
 *   (first-wins and last-wins parsers disagree, and a checker upstream may
 *   read the other one); null means "absent" for url, size, crc32, mtime.
 *   "crc32" may be a hex string or an integer 0..0xFFFFFFFF (zlib bindings
 *   return integers).  Numbers are checked by value: 1.0 and 1e3 are
 *   integers, 1.5, -1, 1e30 and anything above 2^53 - 1 are not (a double
 *   cannot tell 2^53 + 1 from 2^53).  "\u0000" and raw NUL bytes are
 *   rejected before cJSON sees the text, which would silently cut strings.
 * - A manifest without members is an error: an empty zip is never what an
 *   album page meant to send.
 * - A leap second ":60" is taken as ":59": a timestamp is not worth failing
 *   a download for, and zip times have 2-second resolution anyway.
 * - A lone CR (not followed by LF) is an error, not part of a name.
 */


#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "album_zip_manifest.h"
#include "edge_hex.h"


/* input bytes quoted in an error message, each escaped to at most 4 */
#define ALBUM_ZIP_MANIFEST_QUOTE     64

/* JSON numbers above this may have been rounded by the double */
#define ALBUM_ZIP_MANIFEST_MAX_SAFE  9007199254740991.0


typedef struct {
    album_zip_manifest_limits_t   limits;
    album_zip_manifest_alloc_pt   alloc;
    void                         *ctx;
    album_zip_manifest_t         *out;
    char                         *err;
    size_t                        err_len;
    size_t                        member;    /* 1-based; 0: none */
    int                           copy;      /* input does not outlive us */
} album_zip_manifest_parser_t;


static int album_zip_manifest_parse_lines(album_zip_manifest_parser_t *p,
    const u_char *buf, size_t len);
static const u_char *album_zip_manifest_line(const u_char *pos,
    const u_char *end, const u_char **next);
static int album_zip_manifest_blank(const u_char *pos, const u_char *last);
static int album_zip_manifest_parse_line(album_zip_manifest_parser_t *p,
    album_zip_manifest_member_t *m, const u_char *pos, const u_char *last);
static int album_zip_manifest_parse_json(album_zip_manifest_parser_t *p,
    const u_char *buf, size_t len);
static int album_zip_manifest_json_scan(album_zip_manifest_parser_t *p,
    const u_char *buf, size_t len);
static int album_zip_manifest_json_root(album_zip_manifest_parser_t *p,
    const cJSON *root);
static int album_zip_manifest_json_member(album_zip_manifest_parser_t *p,
    album_zip_manifest_member_t *m, const cJSON *item);
static int album_zip_manifest_json_crc(album_zip_manifest_parser_t *p,
    album_zip_manifest_member_t *m, const cJSON *crc);
static int album_zip_manifest_json_mtime(album_zip_manifest_parser_t *p,
    album_zip_manifest_member_t *m, const cJSON *mtime);
static int album_zip_manifest_json_uint(const cJSON *item, double max,
    uint64_t *value);
static int album_zip_manifest_set_url(album_zip_manifest_parser_t *p,
    album_zip_manifest_member_t *m, const u_char *url, size_t len);
static int album_zip_manifest_url_chars(album_zip_manifest_parser_t *p,
    const u_char *url, size_t len);
static int album_zip_manifest_local(album_zip_manifest_parser_t *p,
    album_zip_manifest_member_t *m, const u_char *url, size_t len);
static int album_zip_manifest_remote(album_zip_manifest_parser_t *p,
    album_zip_manifest_member_t *m, const u_char *url, size_t len,
    size_t scheme);
static int album_zip_manifest_segments(const u_char *s, size_t len,
    int empty_ok);
static int album_zip_manifest_set_name(album_zip_manifest_parser_t *p,
    album_zip_manifest_member_t *m, const u_char *name, size_t len,
    int dir);
static int album_zip_manifest_text(album_zip_manifest_parser_t *p,
    const char *field, const u_char *s, size_t len);
static int album_zip_manifest_add(album_zip_manifest_parser_t *p,
    album_zip_manifest_member_t *m);
static int album_zip_manifest_hex(const u_char *s, size_t len,
    uint32_t *value);
static int album_zip_manifest_str(album_zip_manifest_parser_t *p,
    album_zip_manifest_str_t *str, const u_char *s, size_t len);
static void *album_zip_manifest_alloc(album_zip_manifest_parser_t *p,
    size_t size);
static size_t album_zip_manifest_origin(const album_zip_manifest_str_t *url);
static int album_zip_manifest_prefix(const album_zip_manifest_str_t *url,
    const album_zip_manifest_str_t *prefix, size_t origin, int remote);
static int64_t album_zip_manifest_days(int64_t y, unsigned m, unsigned d);
static int album_zip_manifest_digits(const u_char *s, size_t n,
    unsigned *value);
static const char *album_zip_manifest_quote(char *buf, const u_char *s,
    size_t len);
static int album_zip_manifest_error(album_zip_manifest_parser_t *p, int rc,
    const char *field, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;


static const u_char  album_zip_manifest_empty[] = "";


int
album_zip_manifest_parse(const u_char *buf, size_t len,
    album_zip_manifest_format_t format,
    const album_zip_manifest_limits_t *limits,
    album_zip_manifest_alloc_pt alloc, void *ctx,
    album_zip_manifest_t *out, char *err, size_t err_len)
{
    size_t                       i;
    album_zip_manifest_parser_t  p;

    memset(&p, 0, sizeof(album_zip_manifest_parser_t));
    memset(out, 0, sizeof(album_zip_manifest_t));

    if (limits != NULL) {
        p.limits = *limits;
    }

    if (p.limits.max_members == 0) {
        p.limits.max_members = ALBUM_ZIP_MANIFEST_MAX_MEMBERS;
    }

    if (p.limits.max_total_size == 0
        || p.limits.max_total_size > ALBUM_ZIP_MANIFEST_MAX_TOTAL_SIZE)
    {
        p.limits.max_total_size = ALBUM_ZIP_MANIFEST_MAX_TOTAL_SIZE;
    }

    if (p.limits.max_name_len == 0
        || p.limits.max_name_len > ALBUM_ZIP_MANIFEST_MAX_NAME_LEN)
    {
        p.limits.max_name_len = ALBUM_ZIP_MANIFEST_MAX_NAME_LEN;
    }

    if (p.limits.max_url_len == 0) {
        p.limits.max_url_len = ALBUM_ZIP_MANIFEST_MAX_URL_LEN;
    }

    p.alloc = alloc;
    p.ctx = ctx;
    p.out = out;
    p.err = err;
    p.err_len = err_len;

    if (err != NULL && err_len > 0) {
        err[0] = '\0';

    } else {
        p.err_len = 0;
    }

    out->name.data = album_zip_manifest_empty;
    out->all_sizes_known = 1;
    out->all_crcs_known = 1;

    if (format == ALBUM_ZIP_MANIFEST_AUTO) {
        format = ALBUM_ZIP_MANIFEST_LINES;

        for (i = 0; i < len; i++) {
            if (buf[i] != ' ' && buf[i] != '\t' && buf[i] != '\r'
                && buf[i] != '\n')
            {
                if (buf[i] == '{') {
                    format = ALBUM_ZIP_MANIFEST_JSON;
                }

                break;
            }
        }
    }

    out->format = format;

    if (len == 0) {
        return album_zip_manifest_error(&p, ALBUM_ZIP_MANIFEST_EINVAL, NULL,
                                        "manifest lists no members");
    }

    switch (format) {

    case ALBUM_ZIP_MANIFEST_LINES:
        return album_zip_manifest_parse_lines(&p, buf, len);

    case ALBUM_ZIP_MANIFEST_JSON:
        p.copy = 1;
        return album_zip_manifest_parse_json(&p, buf, len);

    default:
        return album_zip_manifest_error(&p, ALBUM_ZIP_MANIFEST_EINVAL, NULL,
                                        "unknown manifest format %d",
                                        (int) format);
    }
}


/* mod_zip's format: "<crc32-hex|-> <size|-> <uri> <name>" per line */

static int
album_zip_manifest_parse_lines(album_zip_manifest_parser_t *p,
    const u_char *buf, size_t len)
{
    int                           rc;
    size_t                        n;
    const u_char                 *pos, *last, *end, *next;
    album_zip_manifest_member_t  *m;

    end = buf + len;

    /* count first, so that the array is allocated once and exactly */

    n = 0;

    for (pos = buf; pos < end; pos = next) {
        last = album_zip_manifest_line(pos, end, &next);

        if (album_zip_manifest_blank(pos, last)) {
            continue;
        }

        if (++n > p->limits.max_members) {
            return album_zip_manifest_error(p, ALBUM_ZIP_MANIFEST_ELIMIT,
                                            NULL,
                                            "manifest has more than %zu "
                                            "members",
                                            p->limits.max_members);
        }
    }

    if (n == 0) {
        return album_zip_manifest_error(p, ALBUM_ZIP_MANIFEST_EINVAL, NULL,
                                        "manifest lists no members");
    }

    if (n > SIZE_MAX / sizeof(album_zip_manifest_member_t)) {
        return album_zip_manifest_error(p, ALBUM_ZIP_MANIFEST_ENOMEM, NULL,
                                        "out of memory");
    }

    m = album_zip_manifest_alloc(p, n * sizeof(album_zip_manifest_member_t));
    if (m == NULL) {
        return album_zip_manifest_error(p, ALBUM_ZIP_MANIFEST_ENOMEM, NULL,
                                        "out of memory");
    }

    memset(m, 0, n * sizeof(album_zip_manifest_member_t));
    p->out->members = m;

    for (pos = buf; pos < end; pos = next) {
        last = album_zip_manifest_line(pos, end, &next);

        if (album_zip_manifest_blank(pos, last)) {
            continue;
        }

        p->member++;
        m = &p->out->members[p->member - 1];

        rc = album_zip_manifest_parse_line(p, m, pos, last);
        if (rc != ALBUM_ZIP_MANIFEST_OK) {
            return rc;
        }

        rc = album_zip_manifest_add(p, m);
        if (rc != ALBUM_ZIP_MANIFEST_OK) {
            return rc;
        }
    }

    return ALBUM_ZIP_MANIFEST_OK;
}


/* the end of the line at pos without its LF or CRLF; *next: the next line */

static const u_char *
album_zip_manifest_line(const u_char *pos, const u_char *end,
    const u_char **next)
{
    const u_char  *lf;

    lf = memchr(pos, '\n', end - pos);

    if (lf == NULL) {
        *next = end;
        return end;
    }

    *next = lf + 1;

    if (lf > pos && lf[-1] == '\r') {
        return lf - 1;
    }

    return lf;
}


static int
album_zip_manifest_blank(const u_char *pos, const u_char *last)
{
    while (pos < last) {
        if (*pos++ != ' ') {
            return 0;
        }
    }

    return 1;
}


static int
album_zip_manifest_parse_line(album_zip_manifest_parser_t *p,
    album_zip_manifest_member_t *m, const u_char *pos, const u_char *last)
{
    int            rc, dir;
    char           q[ALBUM_ZIP_MANIFEST_QUOTE * 4 + 4];
    size_t         n;
    uint64_t       size;
    const u_char  *crc, *sz, *uri, *name, *c;

    if (memchr(pos, '\0', last - pos) != NULL) {
        return album_zip_manifest_error(p, ALBUM_ZIP_MANIFEST_EINVAL, NULL,
                                        "NUL byte");
    }

    if (memchr(pos, '\r', last - pos) != NULL) {
        return album_zip_manifest_error(p, ALBUM_ZIP_MANIFEST_EINVAL, NULL,
                                        "CR not followed by LF");
    }

    /* four fields; the last, the name, runs to the end of the line */

    while (pos < last && *pos == ' ') {
        pos++;
    }

    crc = pos;

    while (pos < last && *pos != ' ') {
        pos++;
    }

    n = pos - crc;

    while (pos < last && *pos == ' ') {
        pos++;
    }

    if (pos == last) {
        return album_zip_manifest_error(p, ALBUM_ZIP_MANIFEST_EINVAL, "size",
                                        "missing");
    }

    if (n == 1 && crc[0] == '-') {
        m->has_crc = 0;

    } else if (album_zip_manifest_hex(crc, n, &m->crc32) == 0) {
        m->has_crc = 1;

    } else {
        return album_zip_manifest_error(p, ALBUM_ZIP_MANIFEST_EINVAL,
                                        "crc32",
                                        "not 1 to 8 hex digits: \"%s\"",
                                        album_zip_manifest_quote(q, crc, n));
    }

    sz = pos;

    while (pos < last && *pos != ' ') {
        pos++;
    }

    n = pos - sz;

    while (pos < last && *pos == ' ') {
        pos++;
    }

    if (pos == last) {
        return album_zip_manifest_error(p, ALBUM_ZIP_MANIFEST_EINVAL, "url",
                                        "missing");
    }

    if (n == 1 && sz[0] == '-') {
        m->has_size = 0;

    } else {
        size = 0;

        for (c = sz; c < sz + n; c++) {
            if (*c < '0' || *c > '9') {
                return album_zip_manifest_error(p,
                                        ALBUM_ZIP_MANIFEST_EINVAL, "size",
                                        "not a number: \"%s\"",
                                        album_zip_manifest_quote(q, sz, n));
            }

            if (size > (INT64_MAX - (uint64_t) (*c - '0')) / 10) {
                return album_zip_manifest_error(p,
                                        ALBUM_ZIP_MANIFEST_EINVAL, "size",
                                        "too large: \"%s\"",
                                        album_zip_manifest_quote(q, sz, n));
            }

            size = size * 10 + (*c - '0');
        }

        m->size = size;
        m->has_size = 1;
    }

    uri = pos;

    while (pos < last && *pos != ' ') {
        pos++;
    }

    n = pos - uri;

    while (pos < last && *pos == ' ') {
        pos++;
    }

    name = pos;

    if (name == last) {
        return album_zip_manifest_error(p, ALBUM_ZIP_MANIFEST_EINVAL, "name",
                                        "missing");
    }

    dir = (n == sizeof("@directory") - 1
           && memcmp(uri, "@directory", n) == 0);

    if (dir) {
        if (m->has_size && m->size != 0) {
            return album_zip_manifest_error(p, ALBUM_ZIP_MANIFEST_EINVAL,
                                            "size",
                                            "not 0 for a directory");
        }

        if (m->has_crc && m->crc32 != 0) {
            return album_zip_manifest_error(p, ALBUM_ZIP_MANIFEST_EINVAL,
                                            "crc32",
                                            "not 0 for a directory");
        }

        m->kind = ALBUM_ZIP_MANIFEST_DIRECTORY;
        m->url.data = album_zip_manifest_empty;
        m->args.data = album_zip_manifest_empty;

    } else {
        rc = album_zip_manifest_set_url(p, m, uri, n);
        if (rc != ALBUM_ZIP_MANIFEST_OK) {
            return rc;
        }
    }

    return album_zip_manifest_set_name(p, m, name, last - name, dir);
}


static int
album_zip_manifest_parse_json(album_zip_manifest_parser_t *p,
    const u_char *buf, size_t len)
{
    int            rc;
    cJSON         *root;
    const char    *end;
    const u_char  *c;

    rc = album_zip_manifest_json_scan(p, buf, len);
    if (rc != ALBUM_ZIP_MANIFEST_OK) {
        return rc;
    }

    end = NULL;

    root = cJSON_ParseWithLengthOpts((const char *) buf, len, &end, 0);

    if (root == NULL) {
        return album_zip_manifest_error(p, ALBUM_ZIP_MANIFEST_EINVAL, NULL,
                                        "JSON syntax error near byte %zu",
                                        end != NULL
                                        ? (size_t) ((const u_char *) end - buf)
                                          + 1
                                        : (size_t) 1);
    }

    /* cJSON stops after the value; only whitespace may follow it */

    for (c = (const u_char *) end; c != NULL && c < buf + len; c++) {
        if (*c != ' ' && *c != '\t' && *c != '\r' && *c != '\n') {
            cJSON_Delete(root);
            return album_zip_manifest_error(p, ALBUM_ZIP_MANIFEST_EINVAL,
                                            NULL,
                                            "JSON: data after the object "
                                            "at byte %zu",
                                            (size_t) (c - buf) + 1);
        }
    }

    rc = album_zip_manifest_json_root(p, root);

    cJSON_Delete(root);

    return rc;
}


/*
 * cJSON keeps strings NUL-terminated: a raw NUL or "\u0000" would cut a
 * name or url short without telling, so both are refused up front
 */

static int
album_zip_manifest_json_scan(album_zip_manifest_parser_t *p,
    const u_char *buf, size_t len)
{
    int     string;
    size_t  i;

    string = 0;

    for (i = 0; i < len; i++) {

        if (buf[i] == '\0') {
            return album_zip_manifest_error(p, ALBUM_ZIP_MANIFEST_EINVAL,
                                            NULL,
                                            "JSON: NUL byte at byte %zu",
                                            i + 1);
        }

        if (!string) {
            string = (buf[i] == '"');
            continue;
        }

        if (buf[i] == '"') {
            string = 0;
            continue;
        }

        if (buf[i] != '\\' || i + 1 == len) {
            continue;
        }

        i++;

        if (buf[i] == '\0') {
            return album_zip_manifest_error(p, ALBUM_ZIP_MANIFEST_EINVAL,
                                            NULL,
                                            "JSON: NUL byte at byte %zu",
                                            i + 1);
        }

        if (buf[i] == 'u' && len - i > 4
            && memcmp(&buf[i + 1], "0000", 4) == 0)
        {
            return album_zip_manifest_error(p, ALBUM_ZIP_MANIFEST_EINVAL,
                                            NULL,
                                            "JSON: \\u0000 at byte %zu", i);
        }
    }

    return ALBUM_ZIP_MANIFEST_OK;
}


static int
album_zip_manifest_json_root(album_zip_manifest_parser_t *p,
    const cJSON *root)
{
    int                           rc;
    size_t                        n;
    const cJSON                  *item, *files, *name;
    album_zip_manifest_member_t  *m;

    if (!cJSON_IsObject(root)) {
        return album_zip_manifest_error(p, ALBUM_ZIP_MANIFEST_EINVAL, NULL,
                                        "JSON: not an object");
    }

    files = NULL;
    name = NULL;

    for (item = root->child; item != NULL; item = item->next) {

        if (strcmp(item->string, "files") == 0) {
            if (files != NULL) {
                return album_zip_manifest_error(p, ALBUM_ZIP_MANIFEST_EINVAL,
                                                "files", "duplicate key");
            }

            files = item;

        } else if (strcmp(item->string, "name") == 0) {
            if (name != NULL) {
                return album_zip_manifest_error(p, ALBUM_ZIP_MANIFEST_EINVAL,
                                                "name", "duplicate key");
            }

            name = item;
        }
    }

    if (name != NULL && !cJSON_IsNull(name)) {
        if (!cJSON_IsString(name)) {
            return album_zip_manifest_error(p, ALBUM_ZIP_MANIFEST_EINVAL,
                                            "name", "not a string");
        }

        n = strlen(name->valuestring);

        if (n > 0) {
            rc = album_zip_manifest_text(p, "name",
                                         (const u_char *) name->valuestring,
                                         n);
            if (rc != ALBUM_ZIP_MANIFEST_OK) {
                return rc;
            }

            rc = album_zip_manifest_str(p, &p->out->name,
                                        (const u_char *) name->valuestring,
                                        n);
            if (rc != ALBUM_ZIP_MANIFEST_OK) {
                return rc;
            }
        }
    }

    if (files == NULL) {
        return album_zip_manifest_error(p, ALBUM_ZIP_MANIFEST_EINVAL,
                                        "files", "missing");
    }

    if (!cJSON_IsArray(files)) {
        return album_zip_manifest_error(p, ALBUM_ZIP_MANIFEST_EINVAL,
                                        "files", "not an array");
    }

    n = 0;

    for (item = files->child; item != NULL; item = item->next) {
        if (++n > p->limits.max_members) {
            return album_zip_manifest_error(p, ALBUM_ZIP_MANIFEST_ELIMIT,
                                            NULL,
                                            "manifest has more than %zu "
                                            "members",
                                            p->limits.max_members);
        }
    }

    if (n == 0) {
        return album_zip_manifest_error(p, ALBUM_ZIP_MANIFEST_EINVAL, NULL,
                                        "manifest lists no members");
    }

    if (n > SIZE_MAX / sizeof(album_zip_manifest_member_t)) {
        return album_zip_manifest_error(p, ALBUM_ZIP_MANIFEST_ENOMEM, NULL,
                                        "out of memory");
    }

    m = album_zip_manifest_alloc(p, n * sizeof(album_zip_manifest_member_t));
    if (m == NULL) {
        return album_zip_manifest_error(p, ALBUM_ZIP_MANIFEST_ENOMEM, NULL,
                                        "out of memory");
    }

    memset(m, 0, n * sizeof(album_zip_manifest_member_t));
    p->out->members = m;

    for (item = files->child; item != NULL; item = item->next) {
        p->member++;
        m = &p->out->members[p->member - 1];

        rc = album_zip_manifest_json_member(p, m, item);
        if (rc != ALBUM_ZIP_MANIFEST_OK) {
            return rc;
        }

        rc = album_zip_manifest_add(p, m);
        if (rc != ALBUM_ZIP_MANIFEST_OK) {
            return rc;
        }
    }

    return ALBUM_ZIP_MANIFEST_OK;
}


static int
album_zip_manifest_json_member(album_zip_manifest_parser_t *p,
    album_zip_manifest_member_t *m, const cJSON *item)
{
    int           rc, dir;
    size_t        n;
    uint64_t      v;
    const char   *s;
    const cJSON  *c, *url, *name, *size, *crc, *mtime, **slot;

    if (!cJSON_IsObject(item)) {
        return album_zip_manifest_error(p, ALBUM_ZIP_MANIFEST_EINVAL, NULL,
                                        "not an object");
    }

    url = NULL;
    name = NULL;
    size = NULL;
    crc = NULL;
    mtime = NULL;

    for (c = item->child; c != NULL; c = c->next) {
        s = c->string;

        if (strcmp(s, "url") == 0) {
            slot = &url;

        } else if (strcmp(s, "name") == 0) {
            slot = &name;

        } else if (strcmp(s, "size") == 0) {
            slot = &size;

        } else if (strcmp(s, "crc32") == 0) {
            slot = &crc;

        } else if (strcmp(s, "mtime") == 0) {
            slot = &mtime;

        } else {
            continue;
        }

        if (*slot != NULL) {
            return album_zip_manifest_error(p, ALBUM_ZIP_MANIFEST_EINVAL, s,
                                            "duplicate key");
        }

        *slot = c;
    }

    if (name == NULL || cJSON_IsNull(name)) {
        return album_zip_manifest_error(p, ALBUM_ZIP_MANIFEST_EINVAL, "name",
                                        "missing");
    }

    if (!cJSON_IsString(name)) {
        return album_zip_manifest_error(p, ALBUM_ZIP_MANIFEST_EINVAL, "name",
                                        "not a string");
    }

    n = strlen(name->valuestring);

    /* no url makes a directory, which its name must say */

    dir = (url == NULL || cJSON_IsNull(url));

    if (dir) {
        if (n == 0 || name->valuestring[n - 1] != '/') {
            return album_zip_manifest_error(p, ALBUM_ZIP_MANIFEST_EINVAL,
                                            "url", "missing");
        }

        m->kind = ALBUM_ZIP_MANIFEST_DIRECTORY;
        m->url.data = album_zip_manifest_empty;
        m->args.data = album_zip_manifest_empty;

    } else {
        if (!cJSON_IsString(url)) {
            return album_zip_manifest_error(p, ALBUM_ZIP_MANIFEST_EINVAL,
                                            "url", "not a string");
        }

        rc = album_zip_manifest_set_url(p, m,
                                        (const u_char *) url->valuestring,
                                        strlen(url->valuestring));
        if (rc != ALBUM_ZIP_MANIFEST_OK) {
            return rc;
        }
    }

    rc = album_zip_manifest_set_name(p, m, (const u_char *) name->valuestring,
                                     n, dir);
    if (rc != ALBUM_ZIP_MANIFEST_OK) {
        return rc;
    }

    if (size != NULL && !cJSON_IsNull(size)) {
        if (album_zip_manifest_json_uint(size, ALBUM_ZIP_MANIFEST_MAX_SAFE,
                                         &v)
            != 0)
        {
            return album_zip_manifest_error(p, ALBUM_ZIP_MANIFEST_EINVAL,
                                            "size",
                                            "not an integer from 0 to "
                                            "2^53-1");
        }

        if (dir && v != 0) {
            return album_zip_manifest_error(p, ALBUM_ZIP_MANIFEST_EINVAL,
                                            "size",
                                            "not 0 for a directory");
        }

        m->size = v;
        m->has_size = 1;
    }

    if (crc != NULL && !cJSON_IsNull(crc)) {
        rc = album_zip_manifest_json_crc(p, m, crc);
        if (rc != ALBUM_ZIP_MANIFEST_OK) {
            return rc;
        }

        if (dir && m->crc32 != 0) {
            return album_zip_manifest_error(p, ALBUM_ZIP_MANIFEST_EINVAL,
                                            "crc32",
                                            "not 0 for a directory");
        }
    }

    if (mtime != NULL && !cJSON_IsNull(mtime)) {
        return album_zip_manifest_json_mtime(p, m, mtime);
    }

    return ALBUM_ZIP_MANIFEST_OK;
}


/* "0a1b2c3d" or 169552957 */

static int
album_zip_manifest_json_crc(album_zip_manifest_parser_t *p,
    album_zip_manifest_member_t *m, const cJSON *crc)
{
    char      q[ALBUM_ZIP_MANIFEST_QUOTE * 4 + 4];
    size_t    n;
    uint64_t  v;

    if (cJSON_IsString(crc)) {
        n = strlen(crc->valuestring);

        if (album_zip_manifest_hex((const u_char *) crc->valuestring, n,
                                   &m->crc32)
            != 0)
        {
            return album_zip_manifest_error(p, ALBUM_ZIP_MANIFEST_EINVAL,
                       "crc32", "not 1 to 8 hex digits: \"%s\"",
                       album_zip_manifest_quote(q,
                           (const u_char *) crc->valuestring, n));
        }

    } else if (album_zip_manifest_json_uint(crc, 4294967295.0, &v) == 0) {
        m->crc32 = (uint32_t) v;

    } else {
        return album_zip_manifest_error(p, ALBUM_ZIP_MANIFEST_EINVAL, "crc32",
                                        "not a hex string or an integer "
                                        "from 0 to 4294967295");
    }

    m->has_crc = 1;

    return ALBUM_ZIP_MANIFEST_OK;
}


/* "2024-05-01T12:00:00Z" or 1714564800 */

static int
album_zip_manifest_json_mtime(album_zip_manifest_parser_t *p,
    album_zip_manifest_member_t *m, const cJSON *mtime)
{
    int            rc;
    char           q[ALBUM_ZIP_MANIFEST_QUOTE * 4 + 4];
    size_t         n;
    int64_t        t;
    uint64_t       v;
    const u_char  *s;

    if (cJSON_IsString(mtime)) {
        s = (const u_char *) mtime->valuestring;
        n = strlen(mtime->valuestring);

        rc = album_zip_manifest_rfc3339(s, n, &t);

        if (rc == -2) {
            return album_zip_manifest_error(p, ALBUM_ZIP_MANIFEST_EINVAL,
                                            "mtime",
                                            "outside 1970..9999: \"%s\"",
                                            album_zip_manifest_quote(q, s,
                                                                     n));
        }

        if (rc != 0) {
            return album_zip_manifest_error(p, ALBUM_ZIP_MANIFEST_EINVAL,
                                            "mtime",
                                            "not an RFC 3339 date-time: "
                                            "\"%s\"",
                                            album_zip_manifest_quote(q, s,
                                                                     n));
        }

    } else if (album_zip_manifest_json_uint(mtime,
                                      (double) ALBUM_ZIP_MANIFEST_MAX_MTIME,
                                      &v)
               == 0)
    {
        t = (int64_t) v;

    } else {
        return album_zip_manifest_error(p, ALBUM_ZIP_MANIFEST_EINVAL,
                                        "mtime",
                                        "not an RFC 3339 string or a unix "
                                        "time from 0 to %lld",
                                        ALBUM_ZIP_MANIFEST_MAX_MTIME);
    }

    m->mtime = t;
    m->has_mtime = 1;

    return ALBUM_ZIP_MANIFEST_OK;
}


/* a JSON number whose value is an integer in 0..max */

static int
album_zip_manifest_json_uint(const cJSON *item, double max, uint64_t *value)
{
    double  d;

    if (!cJSON_IsNumber(item)) {
        return -1;
    }

    d = item->valuedouble;

    /* written so that NaN fails too */
    if (!(d >= 0.0 && d <= max)) {
        return -1;
    }

    *value = (uint64_t) d;

    if ((double) *value != d) {
        return -1;
    }

    return 0;
}


static int
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

                if (c == '/' || c == '\\') {
                    return album_zip_manifest_error(p,
                                            ALBUM_ZIP_MANIFEST_EINVAL, "url",
                                            "encoded \"%c\" in the path",
                                            c);
                }

                if (c < ' ' || c == 0x7f) {
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
    size_t         i, port;
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
 * Returns -1 if a path segment is "." or "..", also spelled with %2e and
 * also when delimited by %2F or %5C (servers that decode those before
 * resolving dot segments would step out of the prefix), -2 for an empty
 * segment ("//") unless empty_ok, 0 otherwise.  A trailing "/" is fine.
 */

static int
album_zip_manifest_segments(const u_char *s, size_t len, int empty_ok)
{
    int     dots;
    size_t  i, step, seg;

    dots = 0;
    seg = 0;

    for (i = 0; i <= len; i += step) {
        step = 1;

        if (i == len || s[i] == '/'
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

            if (seg == 0 && i != 0 && i != len && !empty_ok) {
                return -2;
            }

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


static int
album_zip_manifest_set_name(album_zip_manifest_parser_t *p,
    album_zip_manifest_member_t *m, const u_char *name, size_t len,
    int dir)
{
    int      rc;
    u_char  *dst;

    rc = album_zip_manifest_text(p, "name", name, len);
    if (rc != ALBUM_ZIP_MANIFEST_OK) {
        return rc;
    }

    if (!dir) {
        if (name[len - 1] == '/') {
            return album_zip_manifest_error(p, ALBUM_ZIP_MANIFEST_EINVAL,
                                            "name",
                                            "ends in \"/\" but the member is "
                                            "not a directory");
        }

        return album_zip_manifest_str(p, &m->name, name, len);
    }

    if (len == 1 && name[0] == '/') {
        return album_zip_manifest_error(p, ALBUM_ZIP_MANIFEST_EINVAL, "name",
                                        "a directory named \"/\"");
    }

    if (name[len - 1] == '/') {
        return album_zip_manifest_str(p, &m->name, name, len);
    }

    /* mod_zip's "@directory" names need not end in "/"; zip's do */

    if (len + 1 > p->limits.max_name_len) {
        return album_zip_manifest_error(p, ALBUM_ZIP_MANIFEST_ELIMIT, "name",
                                        "longer than %zu bytes",
                                        p->limits.max_name_len);
    }

    dst = album_zip_manifest_alloc(p, len + 1);
    if (dst == NULL) {
        return album_zip_manifest_error(p, ALBUM_ZIP_MANIFEST_ENOMEM, NULL,
                                        "out of memory");
    }

    memcpy(dst, name, len);
    dst[len] = '/';

    m->name.data = dst;
    m->name.len = len + 1;

    return ALBUM_ZIP_MANIFEST_OK;
}


/* a name: not empty, not too long, no NUL; album_zip_names does the rest */

static int
album_zip_manifest_text(album_zip_manifest_parser_t *p, const char *field,
    const u_char *s, size_t len)
{
    if (len == 0) {
        return album_zip_manifest_error(p, ALBUM_ZIP_MANIFEST_EINVAL, field,
                                        "empty");
    }

    if (len > p->limits.max_name_len) {
        return album_zip_manifest_error(p, ALBUM_ZIP_MANIFEST_ELIMIT, field,
                                        "longer than %zu bytes",
                                        p->limits.max_name_len);
    }

    if (memchr(s, '\0', len) != NULL) {
        return album_zip_manifest_error(p, ALBUM_ZIP_MANIFEST_EINVAL, field,
                                        "NUL byte");
    }

    return ALBUM_ZIP_MANIFEST_OK;
}


static int
album_zip_manifest_add(album_zip_manifest_parser_t *p,
    album_zip_manifest_member_t *m)
{
    album_zip_manifest_t  *out;

    out = p->out;

    if (m->kind == ALBUM_ZIP_MANIFEST_DIRECTORY) {
        m->size = 0;
        m->has_size = 1;
        m->crc32 = 0;
        m->has_crc = 1;
    }

    if (m->has_size) {
        if (m->size > p->limits.max_total_size - out->total_size) {
            return album_zip_manifest_error(p, ALBUM_ZIP_MANIFEST_ELIMIT,
                                            NULL,
                                            "total size exceeds %llu bytes",
                                            (unsigned long long)
                                            p->limits.max_total_size);
        }

        out->total_size += m->size;

    } else {
        out->all_sizes_known = 0;
    }

    if (!m->has_crc) {
        out->all_crcs_known = 0;
    }

    out->nmembers++;

    return ALBUM_ZIP_MANIFEST_OK;
}


/* exactly 1 to 8 hex digits, either case */

static int
album_zip_manifest_hex(const u_char *s, size_t len, uint32_t *value)
{
    int       d;
    size_t    i;
    uint32_t  v;

    if (len == 0 || len > 8) {
        return -1;
    }

    v = 0;

    for (i = 0; i < len; i++) {
        d = edge_hex_digit(s[i]);
        if (d < 0) {
            return -1;
        }

        v = (v << 4) | (uint32_t) d;
    }

    *value = v;

    return 0;
}



/* a string of the result: the input itself if it outlives us, else a copy */

static int
album_zip_manifest_str(album_zip_manifest_parser_t *p,
    album_zip_manifest_str_t *str, const u_char *s, size_t len)
{
    u_char  *dst;

    if (len == 0) {
        str->len = 0;
        str->data = album_zip_manifest_empty;
        return ALBUM_ZIP_MANIFEST_OK;
    }

    if (!p->copy) {
        str->len = len;
        str->data = s;
        return ALBUM_ZIP_MANIFEST_OK;
    }

    dst = album_zip_manifest_alloc(p, len);
    if (dst == NULL) {
        return album_zip_manifest_error(p, ALBUM_ZIP_MANIFEST_ENOMEM, NULL,
                                        "out of memory");
    }

    memcpy(dst, s, len);

    str->len = len;
    str->data = dst;

    return ALBUM_ZIP_MANIFEST_OK;
}


static void *
album_zip_manifest_alloc(album_zip_manifest_parser_t *p, size_t size)
{
    if (p->alloc == NULL) {
        return NULL;
    }

    return p->alloc(p->ctx, size);
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
        && member->kind != ALBUM_ZIP_MANIFEST_REMOTE)
    {
        return 0;
    }

    remote = (member->kind == ALBUM_ZIP_MANIFEST_REMOTE);
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


int
album_zip_manifest_rfc3339(const u_char *s, size_t len, int64_t *t)
{
    int       sign;
    size_t    i;
    int64_t   v;
    unsigned  year, mon, mday, hour, min, sec, oh, om, dim;

    static const u_char  days[] = {
        31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
    };

    /* 2024-05-01T12:00:00 */

    if (len < 20
        || album_zip_manifest_digits(s, 4, &year) != 0 || s[4] != '-'
        || album_zip_manifest_digits(s + 5, 2, &mon) != 0 || s[7] != '-'
        || album_zip_manifest_digits(s + 8, 2, &mday) != 0
        || (s[10] != 'T' && s[10] != 't')
        || album_zip_manifest_digits(s + 11, 2, &hour) != 0 || s[13] != ':'
        || album_zip_manifest_digits(s + 14, 2, &min) != 0 || s[16] != ':'
        || album_zip_manifest_digits(s + 17, 2, &sec) != 0)
    {
        return -1;
    }

    i = 19;

    if (s[i] == '.') {
        for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
            /* void */
        }

        if (i == 20) {
            return -1;
        }
    }

    if (i == len) {
        return -1;
    }

    if (s[i] == 'Z' || s[i] == 'z') {
        sign = 0;
        oh = 0;
        om = 0;
        i++;

    } else if (s[i] == '+' || s[i] == '-') {
        sign = (s[i] == '+') ? 1 : -1;

        if (len - i != 6
            || album_zip_manifest_digits(s + i + 1, 2, &oh) != 0
            || s[i + 3] != ':'
            || album_zip_manifest_digits(s + i + 4, 2, &om) != 0
            || oh > 23 || om > 59)
        {
            return -1;
        }

        i += 6;

    } else {
        return -1;
    }

    if (i != len) {
        return -1;
    }

    if (mon < 1 || mon > 12 || mday < 1 || hour > 23 || min > 59
        || sec > 60)
    {
        return -1;
    }

    dim = days[mon - 1];

    if (mon == 2
        && year % 4 == 0 && (year % 100 != 0 || year % 400 == 0))
    {
        dim = 29;
    }

    if (mday > dim) {
        return -1;
    }

    if (sec == 60) {
        sec = 59;
    }

    v = album_zip_manifest_days(year, mon, mday) * 86400
        + hour * 3600 + min * 60 + sec
        - sign * (int64_t) (oh * 3600 + om * 60);

    if (v < 0 || v > ALBUM_ZIP_MANIFEST_MAX_MTIME) {
        return -2;
    }

    *t = v;

    return 0;
}


/*
 * Days since 1970-01-01 of a proleptic Gregorian date.  Years are counted
 * from March so that February's leap day falls at the end of a year, in
 * 400-year eras of 146097 days.
 */

static int64_t
album_zip_manifest_days(int64_t y, unsigned m, unsigned d)
{
    int64_t   era;
    unsigned  yoe, doy, doe;

    if (m <= 2) {
        y--;
        m += 9;

    } else {
        m -= 3;
    }

    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (unsigned) (y - era * 400);
    doy = (153 * m + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

    /* 719468: days from 0000-03-01 to 1970-01-01 */
    return era * 146097 + (int64_t) doe - 719468;
}


static int
album_zip_manifest_digits(const u_char *s, size_t n, unsigned *value)
{
    size_t    i;
    unsigned  v;

    v = 0;

    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return -1;
        }

        v = v * 10 + (s[i] - '0');
    }

    *value = v;

    return 0;
}


/* up to ALBUM_ZIP_MANIFEST_QUOTE bytes of s, escaped to printable ASCII */

static const char *
album_zip_manifest_quote(char *buf, const u_char *s, size_t len)
{
    char    *d;
    size_t   i, n;

    static const char  hex[] = "0123456789abcdef";

    d = buf;
    n = (len > ALBUM_ZIP_MANIFEST_QUOTE) ? ALBUM_ZIP_MANIFEST_QUOTE : len;

    for (i = 0; i < n; i++) {
        if (s[i] == '"' || s[i] == '\\') {
            *d++ = '\\';
            *d++ = (char) s[i];

        } else if (s[i] >= ' ' && s[i] < 0x7f) {
            *d++ = (char) s[i];

        } else {
            *d++ = '\\';
            *d++ = 'x';
            *d++ = hex[s[i] >> 4];
            *d++ = hex[s[i] & 0xf];
        }
    }

    if (n < len) {
        *d++ = '.';
        *d++ = '.';
        *d++ = '.';
    }

    *d = '\0';

    return buf;
}


static int
album_zip_manifest_error(album_zip_manifest_parser_t *p, int rc,
    const char *field, const char *fmt, ...)
{
    int      k;
    size_t   n;
    va_list  args;

    if (p->err_len == 0) {
        return rc;
    }

    n = 0;

    if (p->member > 0) {
        k = snprintf(p->err, p->err_len, "member %zu: ", p->member);
        n = (k < 0) ? 0 : (size_t) k;
    }

    if (field != NULL && n < p->err_len) {
        k = snprintf(p->err + n, p->err_len - n, "%s: ", field);
        n += (k < 0) ? 0 : (size_t) k;
    }

    if (n < p->err_len) {
        va_start(args, fmt);
        vsnprintf(p->err + n, p->err_len - n, fmt, args);
        va_end(args);
    }

    return rc;
}
