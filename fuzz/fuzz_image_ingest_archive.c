
/*
 * libFuzzer target for image_ingest_archive.c: any body read as an
 * archive, entry by entry, with small limits, and the invariants the
 * module relies on: every name is valid UTF-8 without control
 * characters and within its bound, an image entry's bytes are within
 * max_entry and start like an image, a refused or skipped entry has a
 * reason, the counts add up, STOP and END are final, and the results'
 * JSON is produced.  The input is also given to the name sanitiser.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Isrc/image/core \
 *       fuzz/fuzz_image_ingest_archive.c \
 *       src/image/core/image_ingest_archive.c \
 *       src/image/core/image_ingest_json.c -larchive
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image_ingest_archive.h"
#include "fuzz_common.h"


#define MAX_INPUT  (1024 * 1024)


typedef struct {
    const uint8_t  *data;
    size_t          size;
} input_t;


static ssize_t
input_read(void *data, void *buf, size_t len, uint64_t off)
{
    input_t  *in = data;

    if (off >= in->size) {
        return 0;
    }

    if (len > in->size - off) {
        len = in->size - off;
    }

    memcpy(buf, in->data + off, len);

    return (ssize_t) len;
}


/* valid UTF-8, no C0, DEL or C1 */

static void
check_name(const char *s, size_t len)
{
    size_t               i, n;
    uint32_t             c;
    const unsigned char *p = (const unsigned char *) s;

    FUZZ_CHECK(len <= IMAGE_INGEST_ARCHIVE_NAME_MAX + 3);
    FUZZ_CHECK(strlen(s) == len);

    for (i = 0; i < len; i += n) {
        if (p[i] < 0x80) {
            FUZZ_CHECK(p[i] >= 0x20 && p[i] != 0x7f);
            n = 1;
            continue;
        }

        if ((p[i] & 0xe0) == 0xc0) {
            n = 2; c = p[i] & 0x1f;
        } else if ((p[i] & 0xf0) == 0xe0) {
            n = 3; c = p[i] & 0x0f;
        } else {
            FUZZ_CHECK((p[i] & 0xf8) == 0xf0);
            n = 4; c = p[i] & 0x07;
        }

        FUZZ_CHECK(i + n <= len);

        for (size_t k = 1; k < n; k++) {
            FUZZ_CHECK((p[i + k] & 0xc0) == 0x80);
            c = (c << 6) | (p[i + k] & 0x3f);
        }

        FUZZ_CHECK(c >= 0xa0 && c <= 0x10ffff);
        FUZZ_CHECK(c < 0xd800 || c > 0xdfff);
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                                   rc, last;
    char                                  err[200], *json;
    char                                  name[IMAGE_INGEST_ARCHIVE_NAME_MAX
                                               + 4];
    size_t                                len, n;
    input_t                               in = { data, size };
    image_ingest_archive_t               *a;
    image_ingest_archive_entry_t          e;
    const image_ingest_archive_counts_t  *c;
    image_ingest_archive_limits_t         l = { 64, 4 << 20, 50, 1 << 20 };

    if (size > MAX_INPUT) {
        return 0;
    }

    len = image_ingest_archive_name((const char *) data, size, name);
    check_name(name, len);

    (void) image_ingest_archive_sniff(data, size);

    a = image_ingest_archive_open(input_read, &in, size, &l, err,
                                  sizeof(err));
    if (a == NULL) {
        FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL);
        return 0;
    }

    last = IMAGE_INGEST_ARCHIVE_ENTRY;

    for (n = 0; n < 200; n++) {
        rc = image_ingest_archive_next(a, &e);

        if (rc != IMAGE_INGEST_ARCHIVE_ENTRY) {
            FUZZ_CHECK(rc == IMAGE_INGEST_ARCHIVE_END
                       || rc == IMAGE_INGEST_ARCHIVE_STOP);
            FUZZ_CHECK((rc == IMAGE_INGEST_ARCHIVE_STOP)
                       == (image_ingest_archive_error(a) != NULL));
            /* final */
            FUZZ_CHECK(image_ingest_archive_next(a, &e) == rc);
            last = rc;
            break;
        }

        check_name(e.name, strlen(e.name));

        if (e.cls == IMAGE_INGEST_ARCHIVE_IMAGE) {
            FUZZ_CHECK(e.data != NULL && e.len > 0 && e.len <= l.max_entry);
            FUZZ_CHECK(image_ingest_archive_sniff(e.data, e.len)
                       == IMAGE_INGEST_ARCHIVE_SNIFF_IMAGE);
            rc = image_ingest_archive_result(a, &e, "duplicate", NULL,
                                             NULL);
        } else {
            FUZZ_CHECK(e.reason != NULL);
            rc = image_ingest_archive_result(a, &e,
                     e.cls == IMAGE_INGEST_ARCHIVE_SKIPPED ? "skipped"
                                                           : "refused",
                     NULL, e.reason);
        }

        FUZZ_CHECK(rc == 0);
    }

    c = image_ingest_archive_counts(a);
    FUZZ_CHECK(c->entries <= l.max_entries);
    FUZZ_CHECK(c->bytes <= l.max_bytes);
    FUZZ_CHECK(c->stored + c->duplicates + c->skipped + c->refused
               <= c->entries);
    FUZZ_CHECK(last != IMAGE_INGEST_ARCHIVE_ENTRY || n == 200);

    json = image_ingest_archive_json(a, &len);
    FUZZ_CHECK(json != NULL && strlen(json) == len);
    free(json);

    image_ingest_archive_close(a);

    return 0;
}
