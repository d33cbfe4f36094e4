
/*
 * libFuzzer target for album_zip_names.c: sanitise and de-duplicate
 * arbitrary names, then check the invariants every extractor relies on.
 *
 * Input: names ending in '\n' (a file) or '\v' (a directory), the last
 * one may be unterminated.  To reach the 255 and 65535 byte limits,
 * "\x0e" N appends what the name has so far N more times, and "\x0f" N
 * repeats its last byte N * 300 times.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Isrc/album_zip/core \
 *       fuzz/fuzz_album_zip_names.c src/album_zip/core/album_zip_names.c
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "album_zip_names.h"


#define MAX_NAMES  256
#define MAX_BYTES  (160 * 1024)


typedef struct {
    void   *blocks[4 * MAX_NAMES + 8];
    size_t  n;
} arena_t;


static void *
arena_alloc(void *ctx, size_t size)
{
    void     *p;
    arena_t  *a;

    a = ctx;

    if (a->n == sizeof(a->blocks) / sizeof(a->blocks[0])) {
        return NULL;
    }

    p = malloc(size);
    a->blocks[a->n++] = p;

    return p;
}


static void
arena_free(arena_t *a)
{
    while (a->n > 0) {
        free(a->blocks[--a->n]);
    }
}


#define fail(what)                                                            \
    do {                                                                      \
        fprintf(stderr, "invariant broken: %s\n", what);                      \
        abort();                                                              \
    } while (0)


/* strict RFC 3629; returns the sequence length or 0 */

static size_t
utf8_len(const unsigned char *p, const unsigned char *end, unsigned *cp)
{
    size_t    n, i;
    unsigned  c, min;

    c = *p;

    if (c < 0x80) {
        *cp = c;
        return 1;
    }

    if ((c & 0xe0) == 0xc0) {
        n = 2;
        c &= 0x1f;
        min = 0x80;

    } else if ((c & 0xf0) == 0xe0) {
        n = 3;
        c &= 0x0f;
        min = 0x800;

    } else if ((c & 0xf8) == 0xf0) {
        n = 4;
        c &= 0x07;
        min = 0x10000;

    } else {
        return 0;
    }

    if ((size_t) (end - p) < n) {
        return 0;
    }

    for (i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80) {
            return 0;
        }

        c = (c << 6) | (p[i] & 0x3f);
    }

    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) {
        return 0;
    }

    *cp = c;

    return n;
}


static void
check_name(const char *name, size_t len, int is_dir)
{
    size_t               n, i, cs;
    unsigned             cp;
    const unsigned char  *p, *end;

    if (len == 0 || len > ALBUM_ZIP_NAME_MAX) {
        fail("length");
    }

    p = (const unsigned char *) name;
    end = p + len;

    while (p < end) {
        n = utf8_len(p, end, &cp);

        if (n == 0) {
            fail("invalid UTF-8");
        }

        if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0)) {
            fail("control character");
        }

        if (cp == '\\') {
            fail("backslash");
        }

        p += n;
    }

    if (name[0] == '/') {
        fail("leading slash");
    }

    if ((name[len - 1] == '/') != (is_dir != 0)) {
        fail("trailing slash vs. directory");
    }

    if (len >= 2 && name[1] == ':'
        && ((name[0] >= 'A' && name[0] <= 'Z')
            || (name[0] >= 'a' && name[0] <= 'z')))
    {
        fail("drive letter");
    }

    /* components: non-empty, not only dots and spaces, <= 255 bytes */
    cs = 0;

    for (i = 0; i <= len; i++) {
        if (i < len && name[i] != '/') {
            continue;
        }

        if (i == len && is_dir) {
            break;
        }

        if (i == cs) {
            fail("empty component");
        }

        if (i - cs > ALBUM_ZIP_NAME_COMPONENT_MAX) {
            fail("component too long");
        }

        n = cs;

        while (n < i && (name[n] == '.' || name[n] == ' ')) {
            n++;
        }

        if (n == i) {
            fail("dot component");
        }

        cs = i + 1;
    }
}


static void
check_idempotent(const char *name, size_t len, int is_dir)
{
    char    *again;
    size_t   n;

    again = malloc(ALBUM_ZIP_NAME_BOUND(len));
    n = album_zip_name_sanitize(again, name, len, is_dir);

    if (n != len || memcmp(again, name, len) != 0) {
        fail("sanitize is not idempotent");
    }

    free(again);
}


/* upper-case hex digits only, as the encoder writes them */

static int
hex(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }

    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }

    return -1;
}


static void
check_disposition(const char *src, size_t len)
{
    char         *buf;
    size_t        n, i, k;
    unsigned      cp;
    unsigned char c, *dec;

    buf = malloc(ALBUM_ZIP_DISPOSITION_BOUND(len));

    n = album_zip_name_ascii(buf, src, len);

    if (n == 0 || n + 1 > ALBUM_ZIP_ASCII_BOUND(len) || buf[n] != '\0') {
        fail("ascii length");
    }

    for (i = 0; i < n; i++) {
        c = buf[i];

        if (c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '%'
            || c == '/')
        {
            fail("ascii character");
        }
    }

    n = album_zip_name_rfc5987(buf, src, len);

    if (n == 0 || n + 1 > ALBUM_ZIP_RFC5987_BOUND(len) || buf[n] != '\0') {
        fail("rfc5987 length");
    }

    /* only attr-chars and %XX; decoded, valid UTF-8 without controls */
    dec = malloc(n + 1);
    k = 0;

    for (i = 0; i < n; i++) {
        c = buf[i];

        if (c == '%') {
            if (i + 2 >= n || hex(buf[i + 1]) < 0 || hex(buf[i + 2]) < 0) {
                fail("bad escape");
            }

            dec[k++] = (unsigned char) (hex(buf[i + 1]) * 16
                                        + hex(buf[i + 2]));
            i += 2;
            continue;
        }

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9') || strchr("!#$&+-.^_`|~", c)))
        {
            fail("rfc5987 character");
        }

        dec[k++] = c;
    }

    for (i = 0; i < k; i += n) {
        n = utf8_len(dec + i, dec + k, &cp);

        if (n == 0 || cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0)
            || cp == '/' || cp == '\\')
        {
            fail("rfc5987 decodes to a bad character");
        }
    }

    free(dec);

    /* the file name of a Content-Disposition value: never longer */
    free(buf);
    buf = malloc(ALBUM_ZIP_DISPOSITION_NAME_BOUND(len));
    n = album_zip_disposition_name(buf, src, len);

    if (n > len) {
        fail("disposition name");
    }

    free(buf);
    buf = malloc(ALBUM_ZIP_DISPOSITION_BOUND(len));

    n = album_zip_content_disposition(buf, src, len);

    if (n + 1 > ALBUM_ZIP_DISPOSITION_BOUND(len) || strlen(buf) != n
        || memcmp(buf, "attachment; filename=\"", 22) != 0)
    {
        fail("disposition");
    }

    free(buf);
}


int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    int                i, j, n, is_dir[MAX_NAMES];
    char              *clean[MAX_NAMES];
    size_t             k, len, rlen, start, m;
    arena_t            arena;
    album_zip_name_t   names[MAX_NAMES], again[MAX_NAMES];
    album_zip_alloc_t  alloc;

    static char        raw[MAX_BYTES];

    n = 0;
    rlen = 0;
    start = 0;

    /* expand repeats, split into names */
    for (k = 0; k <= size && n < MAX_NAMES; k++) {

        if (k + 1 < size && data[k] == 0x0e && rlen > start) {
            for (m = data[++k]; m > 0; m--) {
                len = rlen - start;

                if (rlen + len > MAX_BYTES) {
                    break;
                }

                memcpy(raw + rlen, raw + start, len);
                rlen += len;
            }

            continue;
        }

        if (k + 1 < size && data[k] == 0x0f && rlen > start) {
            m = (size_t) data[++k] * 300;

            if (rlen + m > MAX_BYTES) {
                m = MAX_BYTES - rlen;
            }

            memset(raw + rlen, raw[rlen - 1], m);
            rlen += m;
            continue;
        }

        if (k < size && data[k] != '\n' && data[k] != '\v') {
            if (rlen < MAX_BYTES) {
                raw[rlen++] = data[k];
            }

            continue;
        }

        if (k == size && rlen == start && n > 0) {
            break;
        }

        len = rlen - start;
        is_dir[n] = (k < size && data[k] == '\v');

        clean[n] = malloc(ALBUM_ZIP_NAME_BOUND(len));
        names[n].len = album_zip_name_sanitize(clean[n], raw + start, len,
                                               is_dir[n]);
        names[n].data = clean[n];

        if (strlen(clean[n]) != names[n].len) {
            fail("NUL inside or missing");
        }

        check_name(clean[n], names[n].len, is_dir[n]);
        check_idempotent(clean[n], names[n].len, is_dir[n]);

        if (n == 0) {
            check_disposition(raw + start, len < 4096 ? len : 4096);
        }

        n++;
        start = rlen;
    }

    memset(&arena, 0, sizeof(arena));
    alloc.alloc = arena_alloc;
    alloc.ctx = &arena;

    memcpy(again, names, n * sizeof(album_zip_name_t));

    if (album_zip_names_dedup(names, n, &alloc, 0x1234) != ALBUM_ZIP_OK) {
        fail("dedup failed");
    }

    if (album_zip_names_dedup(again, n, &alloc, size) != ALBUM_ZIP_OK) {
        fail("dedup failed");
    }

    for (i = 0; i < n; i++) {
        if (names[i].omit != again[i].omit || names[i].len != again[i].len
            || memcmp(names[i].data, again[i].data, names[i].len) != 0)
        {
            fail("the seed changes the result");
        }

        if (names[i].omit) {
            /* a repeated directory: an earlier kept entry has its name */
            if (!is_dir[i]) {
                fail("omitted a file");
            }

            for (j = 0; j < i; j++) {
                if (!names[j].omit && names[j].len == names[i].len
                    && memcmp(names[j].data, names[i].data, names[i].len)
                       == 0)
                {
                    break;
                }
            }

            if (j == i) {
                fail("omitted a directory that was not repeated");
            }

            continue;
        }

        check_name(names[i].data, names[i].len, is_dir[i]);
        check_idempotent(names[i].data, names[i].len, is_dir[i]);

        if (names[i].data != clean[i]
            && (names[i].len < 4 || names[i].data[names[i].len] != '\0'))
        {
            fail("generated name");
        }

        for (j = 0; j < i; j++) {
            if (!names[j].omit && names[j].len == names[i].len
                && memcmp(names[j].data, names[i].data, names[i].len) == 0)
            {
                fail("not unique");
            }
        }

        /* no file is named as a folder of another name ("a", "a/b") */
        for (j = 0; !is_dir[i] && j < n; j++) {
            if (!names[j].omit && names[j].len > names[i].len
                && names[j].data[names[i].len] == '/'
                && memcmp(names[j].data, names[i].data, names[i].len) == 0)
            {
                fail("a file named as a folder");
            }
        }
    }

    arena_free(&arena);

    for (i = 0; i < n; i++) {
        free(clean[i]);
    }

    return 0;
}
