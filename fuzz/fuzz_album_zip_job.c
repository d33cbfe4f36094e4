/*
 * libFuzzer target for the zipper payload parser (album_zip_job.c).
 *
 * The first byte picks the limit on sources (bit 0: 3, else none); the
 * rest is the payload.  On success the result's invariants are checked
 * and every source goes through the member-name, host and allow-list
 * functions, the token through the upload-name one; on failure the error
 * text is checked.  The raw input also goes straight through the name,
 * host and allow-list functions, which must take any bytes.
 *
 *     clang -g -O1 -fsanitize=fuzzer,address,undefined -Isrc/album_zip/core \
 *         -Isrc/edge/core -I/usr/include/cjson fuzz/fuzz_album_zip_job.c \
 *         src/album_zip/core/album_zip_job.c src/album_zip/core/album_zip_names.c \
 *         src/edge/core/edge_json_check.c -lcjson -o fuzz_album_zip_job
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "album_zip_job.h"
#include "fuzz_common.h"


static void fuzz_check_payload(const album_zip_job_payload_t *p,
    size_t max, fuzz_block_t **blocks);
static void fuzz_check_str(const album_zip_job_str_t *s);
static void fuzz_check_no_encoded_slash(const album_zip_job_str_t *s);
static void fuzz_check_url(const album_zip_job_str_t *s);
static void fuzz_check_name(const char *name, size_t len);
static void fuzz_any_bytes(const char *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static volatile unsigned  fuzz_sink;

static const album_zip_job_str_t  fuzz_prefixes[] = {
    { "https://cdn.example.com/media/", 30 },
    { "http://127.0.0.1:8080", 21 },
    { "http://a", 8 },
};

#define FUZZ_NPREFIXES  (sizeof(fuzz_prefixes) / sizeof(fuzz_prefixes[0]))




static void
fuzz_check_str(const album_zip_job_str_t *s)
{
    size_t  i;

    FUZZ_CHECK(s->data != NULL);
    FUZZ_CHECK(s->data[s->len] == '\0');
    FUZZ_CHECK(strlen(s->data) == s->len);

    for (i = 0; i < s->len; i++) {
        fuzz_sink += (unsigned char) s->data[i];
    }
}


/* nor, before its query, "%2f" or "%5c" in any case */

static void
fuzz_check_no_encoded_slash(const album_zip_job_str_t *s)
{
    size_t  i;

    for (i = 0; i + 2 < s->len; i++) {

        if (s->data[i] == '?' || s->data[i] == '#') {
            break;
        }

        if (s->data[i] != '%') {
            continue;
        }

        FUZZ_CHECK(!(s->data[i + 1] == '2'
                     && (s->data[i + 2] == 'f' || s->data[i + 2] == 'F')));
        FUZZ_CHECK(!(s->data[i + 1] == '5'
                     && (s->data[i + 2] == 'c' || s->data[i + 2] == 'C')));
    }
}


static void
fuzz_check_url(const album_zip_job_str_t *s)
{
    size_t       i, n;
    const char  *host;

    fuzz_check_str(s);

    FUZZ_CHECK(s->len <= ALBUM_ZIP_JOB_MAX_URL_LEN);
    FUZZ_CHECK(strncasecmp(s->data, "http://", 7) == 0
               || strncasecmp(s->data, "https://", 8) == 0);

    for (i = 0; i < s->len; i++) {
        FUZZ_CHECK((unsigned char) s->data[i] > 0x20 && s->data[i] != 0x7f);
    }

    FUZZ_CHECK(album_zip_job_url_host(s->data, s->len, &host, &n) == 0);
    FUZZ_CHECK(host >= s->data && host + n <= s->data + s->len);

    if (album_zip_job_allowed(s->data, s->len, fuzz_prefixes,
                              FUZZ_NPREFIXES))
    {
        /* an allowed URL has no user info, backslash, or "/../" */
        FUZZ_CHECK(strchr(s->data, '\\') == NULL);
        fuzz_check_no_encoded_slash(s);
    }
}


/* a member or upload name: flat, printable, never "." or ".." */

static void
fuzz_check_name(const char *name, size_t len)
{
    size_t  i;

    FUZZ_CHECK(len >= 1 && len <= 65535);
    FUZZ_CHECK(name[len] == '\0');
    FUZZ_CHECK(strlen(name) == len);
    FUZZ_CHECK(memchr(name, '/', len) == NULL);
    FUZZ_CHECK(memchr(name, '\\', len) == NULL);
    FUZZ_CHECK(strcmp(name, ".") != 0 && strcmp(name, "..") != 0);

    for (i = 0; i < len; i++) {
        FUZZ_CHECK((unsigned char) name[i] >= 0x20 && name[i] != 0x7f);
    }
}


static void
fuzz_check_payload(const album_zip_job_payload_t *p, size_t max,
    fuzz_block_t **blocks)
{
    int                 rc;
    char               *buf;
    size_t              i, j, n;
    album_zip_name_t   *names;
    album_zip_alloc_t   hooks;

    FUZZ_CHECK(p->nsources >= 1);
    FUZZ_CHECK(max == 0 || p->nsources <= max);

    fuzz_check_url(&p->upload_url);
    fuzz_check_str(&p->token);
    fuzz_check_str(&p->api_url);

    for (i = 0; i < p->nsources; i++) {
        fuzz_check_url(&p->sources[i]);
    }

    /* member names: sanitised, flat, unique */

    hooks.alloc = fuzz_alloc;
    hooks.ctx = blocks;

    names = fuzz_alloc(blocks, p->nsources * sizeof(album_zip_name_t));
    FUZZ_CHECK(names != NULL);

    rc = album_zip_job_member_names(p, names, &hooks, 7);
    FUZZ_CHECK(rc == ALBUM_ZIP_OK);

    for (i = 0; i < p->nsources; i++) {
        FUZZ_CHECK(!names[i].omit);
        fuzz_check_name(names[i].data, names[i].len);

        for (j = 0; j < i && p->nsources <= 64; j++) {
            FUZZ_CHECK(names[i].len != names[j].len
                       || memcmp(names[i].data, names[j].data, names[i].len)
                          != 0);
        }
    }

    /* the upload's name */

    buf = fuzz_alloc(blocks, ALBUM_ZIP_JOB_UPLOAD_BOUND(p->token.len));
    FUZZ_CHECK(buf != NULL);

    n = album_zip_job_upload_name(buf, p->token.data, p->token.len);

    fuzz_check_name(buf, n);
    FUZZ_CHECK(n <= 255);
    FUZZ_CHECK(n >= 4 && memcmp(buf + n - 4, ".zip", 4) == 0);
    FUZZ_CHECK(memchr(buf, '"', n) == NULL);
}


/* the name, host and allow-list functions take any bytes */

static void
fuzz_any_bytes(const char *data, size_t size)
{
    char        *buf;
    size_t       n;
    const char  *host;

    buf = malloc(ALBUM_ZIP_JOB_NAME_BOUND(size));
    FUZZ_CHECK(buf != NULL);

    n = album_zip_job_member_name(buf, data, size);
    fuzz_check_name(buf, n);
    free(buf);

    buf = malloc(ALBUM_ZIP_JOB_UPLOAD_BOUND(size));
    FUZZ_CHECK(buf != NULL);

    n = album_zip_job_upload_name(buf, data, size);
    fuzz_check_name(buf, n);
    FUZZ_CHECK(n >= 4 && memcmp(buf + n - 4, ".zip", 4) == 0);
    free(buf);

    if (album_zip_job_url_host(data, size, &host, &n) == 0) {
        FUZZ_CHECK(host >= data && host + n <= data + size);
    }

    fuzz_sink += album_zip_job_allowed(data, size, fuzz_prefixes,
                                       FUZZ_NPREFIXES);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                       rc;
    char                     *copy;
    size_t                    max, i, len;
    fuzz_block_t             *blocks;
    album_zip_alloc_t         hooks;
    album_zip_job_payload_t   p;
    char                      err[ALBUM_ZIP_JOB_ERR_LEN];

    if (size == 0) {
        return 0;
    }

    max = (data[0] & 1) ? 3 : 0;

    /* an exact-size copy: ASan sees any read past the end */

    copy = malloc(size - 1 ? size - 1 : 1);
    FUZZ_CHECK(copy != NULL);
    memcpy(copy, data + 1, size - 1);

    blocks = NULL;
    hooks.alloc = fuzz_alloc;
    hooks.ctx = &blocks;

    memset(err, 'x', sizeof(err));

    rc = album_zip_job_parse(copy, size - 1, max, &hooks, &p, err,
                             sizeof(err));

    if (rc == ALBUM_ZIP_JOB_OK) {
        FUZZ_CHECK(err[0] == '\0');
        fuzz_check_payload(&p, max, &blocks);

    } else {
        FUZZ_CHECK(rc == ALBUM_ZIP_JOB_EINVAL || rc == ALBUM_ZIP_JOB_ELIMIT
                   || rc == ALBUM_ZIP_JOB_ENOMEM);

        len = strnlen(err, sizeof(err));
        FUZZ_CHECK(len > 0 && len < sizeof(err));
        FUZZ_CHECK(strstr(err, ": ") != NULL);

        for (i = 0; i < len; i++) {
            FUZZ_CHECK(err[i] >= 0x20 && err[i] < 0x7f && err[i] != '"'
                       && err[i] != '\\');
        }
    }

    fuzz_free(&blocks);

    fuzz_any_bytes(copy, size - 1);

    free(copy);

    return 0;
}
