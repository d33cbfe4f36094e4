/*
 * libFuzzer target for the album zip manifest parser.
 *
 * The first byte picks the format (bits 0-1: lines, json, auto, auto) and
 * the limits (bit 2: small ones, so that every limit is reached); the rest
 * is the manifest.  On success the result's invariants are checked, on
 * failure the error text.  Every result byte is read, so that the
 * sanitizers see a string pointing outside its buffer.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "album_zip_manifest.h"
#include "fuzz_common.h"


static void fuzz_check(const album_zip_manifest_t *out,
    const album_zip_manifest_limits_t *limits);
static void fuzz_check_str(const album_zip_manifest_str_t *s);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static volatile unsigned  fuzz_sink;

static const album_zip_manifest_str_t  fuzz_prefixes[] = {
    { 7, (const u_char *) "/media/" },
    { 24, (const u_char *) "https://cdn.example.com/" },
    { 2, (const u_char *) "/a" },
};




static void
fuzz_check_str(const album_zip_manifest_str_t *s)
{
    size_t  i;

    FUZZ_CHECK(s->data != NULL);

    for (i = 0; i < s->len; i++) {
        fuzz_sink += s->data[i];
    }
}


static void
fuzz_check(const album_zip_manifest_t *out,
    const album_zip_manifest_limits_t *limits)
{
    int                                 sizes, crcs, a;
    size_t                              i, j, max_name;
    uint64_t                            total;
    const album_zip_manifest_member_t  *m;

    max_name = (limits->max_name_len != 0) ? limits->max_name_len
                                           : ALBUM_ZIP_MANIFEST_MAX_NAME_LEN;

    FUZZ_CHECK(out->nmembers >= 1);
    FUZZ_CHECK(out->nmembers <= (limits->max_members != 0
                                 ? limits->max_members
                                 : ALBUM_ZIP_MANIFEST_MAX_MEMBERS));
    FUZZ_CHECK(out->members != NULL);
    FUZZ_CHECK(out->format == ALBUM_ZIP_MANIFEST_LINES
               || out->format == ALBUM_ZIP_MANIFEST_JSON);
    FUZZ_CHECK(out->name.len <= max_name);

    fuzz_check_str(&out->name);

    sizes = 1;
    crcs = 1;
    total = 0;

    for (i = 0; i < out->nmembers; i++) {
        m = &out->members[i];

        fuzz_check_str(&m->url);
        fuzz_check_str(&m->args);
        fuzz_check_str(&m->name);

        FUZZ_CHECK(m->name.len > 0 && m->name.len <= max_name);
        FUZZ_CHECK(memchr(m->name.data, '\0', m->name.len) == NULL);
        FUZZ_CHECK(memchr(m->url.data, '\0', m->url.len) == NULL);

        switch (m->kind) {

        case ALBUM_ZIP_MANIFEST_LOCAL:
            FUZZ_CHECK(m->url.len > 0 && m->url.data[0] == '/');
            FUZZ_CHECK(m->name.data[m->name.len - 1] != '/');

            for (j = 0; j + 1 < m->url.len; j++) {
                FUZZ_CHECK(m->url.data[j] != '/'
                           || m->url.data[j + 1] != '/');
            }

            for (j = 0; j + 3 <= m->url.len; j++) {
                FUZZ_CHECK(memcmp(&m->url.data[j], "/..", 3) != 0
                           || (j + 3 < m->url.len
                               && m->url.data[j + 3] != '/'));
            }

            break;

        case ALBUM_ZIP_MANIFEST_REMOTE:
            FUZZ_CHECK(m->url.len > 7);
            FUZZ_CHECK(strncasecmp((const char *) m->url.data, "http://", 7)
                       == 0
                       || strncasecmp((const char *) m->url.data,
                                      "https://", 8) == 0);
            FUZZ_CHECK(m->args.len == 0);
            FUZZ_CHECK(m->name.data[m->name.len - 1] != '/');
            break;

        case ALBUM_ZIP_MANIFEST_S3:
            FUZZ_CHECK(m->url.len > 5);
            FUZZ_CHECK(strncasecmp((const char *) m->url.data, "s3://", 5)
                       == 0);
            FUZZ_CHECK(m->bucket.len > 0
                       && m->bucket.data == m->url.data + 5);
            FUZZ_CHECK(m->key.len > 0 && m->key.data[0] != '/'
                       && m->key.data[m->key.len - 1] != '/');
            FUZZ_CHECK(memchr(m->key.data, '\0', m->key.len) == NULL);

            for (j = 0; j + 1 < m->key.len; j++) {
                FUZZ_CHECK(m->key.data[j] != '/'
                           || m->key.data[j + 1] != '/');
            }

            for (j = 0; j + 3 <= m->key.len + 1; j++) {
                /* "/.." of "/" + key, followed by "/" or the end */
                FUZZ_CHECK(j == 0
                           ? !(m->key.len >= 2 && m->key.data[0] == '.'
                               && m->key.data[1] == '.'
                               && (m->key.len == 2 || m->key.data[2] == '/'))
                           : (memcmp(&m->key.data[j - 1], "/..", 3) != 0
                              || (j + 2 < m->key.len
                                  && m->key.data[j + 2] != '/')));
            }

            FUZZ_CHECK(m->args.len == 0);
            FUZZ_CHECK(m->name.data[m->name.len - 1] != '/');
            break;

        case ALBUM_ZIP_MANIFEST_DIRECTORY:
            FUZZ_CHECK(m->url.len == 0 && m->args.len == 0);
            FUZZ_CHECK(m->name.data[m->name.len - 1] == '/');
            FUZZ_CHECK(m->has_size && m->size == 0);
            FUZZ_CHECK(m->has_crc && m->crc32 == 0);
            break;

        default:
            FUZZ_CHECK(0);
        }

        if (m->has_size) {
            FUZZ_CHECK(m->size <= INT64_MAX);
            FUZZ_CHECK(total + m->size >= total);
            total += m->size;

        } else {
            sizes = 0;
        }

        if (!m->has_crc) {
            crcs = 0;
        }

        if (m->has_mtime) {
            FUZZ_CHECK(m->mtime >= 0
                       && m->mtime <= ALBUM_ZIP_MANIFEST_MAX_MTIME);
        }

        a = album_zip_manifest_allowed(m, fuzz_prefixes, 3);
        FUZZ_CHECK(a == 0 || a == 1);

        if (a && m->kind == ALBUM_ZIP_MANIFEST_LOCAL) {
            FUZZ_CHECK((m->url.len >= 7
                        && memcmp(m->url.data, "/media/", 7) == 0)
                       || (m->url.len >= 2
                           && memcmp(m->url.data, "/a", 2) == 0
                           && (m->url.len == 2 || m->url.data[2] == '/')));
        }

        if (a && m->kind == ALBUM_ZIP_MANIFEST_REMOTE) {
            FUZZ_CHECK(m->url.len >= 24
                       && strncasecmp((const char *) m->url.data,
                                      "https://cdn.example.com/", 24) == 0);
        }

        FUZZ_CHECK(album_zip_manifest_allowed(m, NULL, 0)
                   == (m->kind == ALBUM_ZIP_MANIFEST_DIRECTORY));
    }

    FUZZ_CHECK(out->all_sizes_known == (unsigned) sizes);
    FUZZ_CHECK(out->all_crcs_known == (unsigned) crcs);
    FUZZ_CHECK(out->total_size == total);

    if (limits->max_total_size != 0) {
        FUZZ_CHECK(total <= limits->max_total_size);
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                           rc;
    size_t                        i, n;
    fuzz_block_t                 *blocks;
    album_zip_manifest_t          out;
    album_zip_manifest_limits_t   limits;
    album_zip_manifest_format_t   format;
    char                          err[256];

    static const album_zip_manifest_format_t  formats[] = {
        ALBUM_ZIP_MANIFEST_LINES, ALBUM_ZIP_MANIFEST_JSON,
        ALBUM_ZIP_MANIFEST_AUTO, ALBUM_ZIP_MANIFEST_AUTO
    };

    if (size == 0) {
        return 0;
    }

    format = formats[data[0] & 3];

    memset(&limits, 0, sizeof(limits));

    if (data[0] & 4) {
        limits.max_members = 4;
        limits.max_total_size = 1000;
        limits.max_name_len = 16;
        limits.max_url_len = 32;
    }

    blocks = NULL;
    memset(err, 'X', sizeof(err));

    rc = album_zip_manifest_parse(data + 1, size - 1, format, &limits,
                                  fuzz_alloc, &blocks, &out, err,
                                  sizeof(err));

    if (rc == ALBUM_ZIP_MANIFEST_OK) {
        FUZZ_CHECK(err[0] == '\0');
        fuzz_check(&out, &limits);

    } else {
        FUZZ_CHECK(rc == ALBUM_ZIP_MANIFEST_EINVAL
                   || rc == ALBUM_ZIP_MANIFEST_ELIMIT);

        n = sizeof(err);

        for (i = 0; i < sizeof(err); i++) {
            if (err[i] == '\0') {
                n = i;
                break;
            }

            FUZZ_CHECK(err[i] >= ' ' && err[i] <= '~');
        }

        FUZZ_CHECK(n > 0 && n < sizeof(err));
    }

    fuzz_free(&blocks);

    return 0;
}
