/*
 * Album zip manifests: mod_zip's line format and JSON, parsed into members
 * the nginx glue can fetch.  See album_zip_manifest.h for the contract and
 * album_zip_manifest_internal.h for how the parser is split into files;
 * this one has the entry point and what both formats share: members,
 * names, strings of the result and error messages.
 *
 * Decisions, and why (those of one format or of URLs are in its file):
 *
 * - Names are passed on byte for byte, only NUL is refused: making them
 *   safe (controls, invalid UTF-8, "..", absolute paths) is the one job of
 *   album_zip_names, and mod_zip users with non-UTF-8 names keep working.
 * - A manifest without members is an error: an empty zip is never what an
 *   album page meant to send.
 */


#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "album_zip_manifest_internal.h"
#include "edge_hex.h"


const u_char  album_zip_manifest_empty[] = "";


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


int
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

int
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


int
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

int
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

int
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


/*
 * Room for the n members a format counted (it stops counting past the
 * limit): the limit, an empty manifest and the allocation, each refused
 * with its message; the array zeroed in p->out.
 */

int
album_zip_manifest_members(album_zip_manifest_parser_t *p, size_t n)
{
    album_zip_manifest_member_t  *m;

    if (n > p->limits.max_members) {
        return album_zip_manifest_error(p, ALBUM_ZIP_MANIFEST_ELIMIT, NULL,
                                        "manifest has more than %zu "
                                        "members", p->limits.max_members);
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

    return ALBUM_ZIP_MANIFEST_OK;
}


void *
album_zip_manifest_alloc(album_zip_manifest_parser_t *p, size_t size)
{
    if (p->alloc == NULL) {
        return NULL;
    }

    return p->alloc(p->ctx, size);
}


/* up to ALBUM_ZIP_MANIFEST_QUOTE bytes of s, escaped to printable ASCII */

const char *
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


int
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
