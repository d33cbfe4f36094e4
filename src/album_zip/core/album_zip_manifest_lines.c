
/*
 * Album zip manifests: mod_zip's line format,
 *
 *     <crc32-hex|-> <size|-> <uri> <name>
 *
 * one member per line; see album_zip_manifest.h.
 *
 * - A lone CR (not followed by LF) is an error, not part of a name.
 */


#include <string.h>

#include "album_zip_manifest_internal.h"


static const u_char *album_zip_manifest_line(const u_char *pos,
    const u_char *end, const u_char **next);
static int album_zip_manifest_blank(const u_char *pos, const u_char *last);
static int album_zip_manifest_parse_line(album_zip_manifest_parser_t *p,
    album_zip_manifest_member_t *m, const u_char *pos, const u_char *last);
static const u_char *album_zip_manifest_field(const u_char **pos,
    const u_char *last, size_t *n);
static int album_zip_manifest_line_crc(album_zip_manifest_parser_t *p,
    album_zip_manifest_member_t *m, const u_char *crc, size_t n);
static int album_zip_manifest_line_size(album_zip_manifest_parser_t *p,
    album_zip_manifest_member_t *m, const u_char *sz, size_t n);
static int album_zip_manifest_line_directory(album_zip_manifest_parser_t *p,
    album_zip_manifest_member_t *m);


/* mod_zip's format: "<crc32-hex|-> <size|-> <uri> <name>" per line */

int
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
            break;
        }
    }

    rc = album_zip_manifest_members(p, n);
    if (rc != ALBUM_ZIP_MANIFEST_OK) {
        return rc;
    }

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
    size_t         n;
    const u_char  *crc, *sz, *uri, *name;

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

    crc = album_zip_manifest_field(&pos, last, &n);

    if (pos == last) {
        return album_zip_manifest_error(p, ALBUM_ZIP_MANIFEST_EINVAL, "size",
                                        "missing");
    }

    rc = album_zip_manifest_line_crc(p, m, crc, n);
    if (rc != ALBUM_ZIP_MANIFEST_OK) {
        return rc;
    }

    sz = album_zip_manifest_field(&pos, last, &n);

    if (pos == last) {
        return album_zip_manifest_error(p, ALBUM_ZIP_MANIFEST_EINVAL, "url",
                                        "missing");
    }

    rc = album_zip_manifest_line_size(p, m, sz, n);
    if (rc != ALBUM_ZIP_MANIFEST_OK) {
        return rc;
    }

    uri = album_zip_manifest_field(&pos, last, &n);
    name = pos;

    if (name == last) {
        return album_zip_manifest_error(p, ALBUM_ZIP_MANIFEST_EINVAL, "name",
                                        "missing");
    }

    dir = (n == sizeof("@directory") - 1
           && memcmp(uri, "@directory", n) == 0);

    if (dir) {
        rc = album_zip_manifest_line_directory(p, m);

    } else {
        rc = album_zip_manifest_set_url(p, m, uri, n);
    }

    if (rc != ALBUM_ZIP_MANIFEST_OK) {
        return rc;
    }

    return album_zip_manifest_set_name(p, m, name, last - name, dir);
}


/*
 * a field of a line: the bytes up to the next space; *pos moves past them
 * and the spaces after them
 */

static const u_char *
album_zip_manifest_field(const u_char **pos, const u_char *last, size_t *n)
{
    const u_char  *start;

    start = *pos;

    while (*pos < last && **pos != ' ') {
        (*pos)++;
    }

    *n = *pos - start;

    while (*pos < last && **pos == ' ') {
        (*pos)++;
    }

    return start;
}


/* the crc32 field: "-" or 1 to 8 hex digits */

static int
album_zip_manifest_line_crc(album_zip_manifest_parser_t *p,
    album_zip_manifest_member_t *m, const u_char *crc, size_t n)
{
    char  q[ALBUM_ZIP_MANIFEST_QUOTE * 4 + 4];

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

    return ALBUM_ZIP_MANIFEST_OK;
}


/* the size field: "-" or decimal digits, at most INT64_MAX */

static int
album_zip_manifest_line_size(album_zip_manifest_parser_t *p,
    album_zip_manifest_member_t *m, const u_char *sz, size_t n)
{
    char           q[ALBUM_ZIP_MANIFEST_QUOTE * 4 + 4];
    uint64_t       size;
    const u_char  *c;

    if (n == 1 && sz[0] == '-') {
        m->has_size = 0;
        return ALBUM_ZIP_MANIFEST_OK;
    }

    size = 0;

    for (c = sz; c < sz + n; c++) {
        if (*c < '0' || *c > '9') {
            return album_zip_manifest_error(p, ALBUM_ZIP_MANIFEST_EINVAL,
                                            "size", "not a number: \"%s\"",
                                            album_zip_manifest_quote(q, sz,
                                                                     n));
        }

        if (size > (INT64_MAX - (uint64_t) (*c - '0')) / 10) {
            return album_zip_manifest_error(p, ALBUM_ZIP_MANIFEST_EINVAL,
                                            "size", "too large: \"%s\"",
                                            album_zip_manifest_quote(q, sz,
                                                                     n));
        }

        size = size * 10 + (*c - '0');
    }

    m->size = size;
    m->has_size = 1;

    return ALBUM_ZIP_MANIFEST_OK;
}


/* "@directory": an empty directory entry, its size and crc32 0 or "-" */

static int
album_zip_manifest_line_directory(album_zip_manifest_parser_t *p,
    album_zip_manifest_member_t *m)
{
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

    return ALBUM_ZIP_MANIFEST_OK;
}
