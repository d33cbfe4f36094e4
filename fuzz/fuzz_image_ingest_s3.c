
/*
 * libFuzzer target for image_ingest_s3.c: "s3://<bucket>/<prefix>" as
 * image_ingest_store gives it, with the invariants the bucket store
 * relies on: an accepted prefix is "" or safe segments ending in "/"
 * (no empty, "." or ".." segment, nothing to percent-encode), the bucket
 * a plain name, the result parses again to itself, and object keys built
 * from it fit or are refused.  The content type of any name is a type.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Isrc/image/core \
 *       fuzz/fuzz_image_ingest_s3.c src/image/core/image_ingest_s3.c \
 *       -lcrypto
 */


#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image_ingest_s3.h"
#include "fuzz_common.h"


#define MAX_INPUT  4096


static int
safe(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
           || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}


static void
check_prefix(const char *p)
{
    size_t       n, seg;
    const char  *s;

    n = strlen(p);

    if (n == 0) {
        return;
    }

    FUZZ_CHECK(n <= IMAGE_INGEST_S3_PREFIX_LEN);
    FUZZ_CHECK(p[n - 1] == '/');

    seg = 0;

    for (s = p; *s; s++) {
        if (*s == '/') {
            FUZZ_CHECK(seg > 0);
            FUZZ_CHECK(!(seg == 1 && s[-1] == '.'));
            FUZZ_CHECK(!(seg == 2 && s[-1] == '.' && s[-2] == '.'));
            seg = 0;
            continue;
        }

        FUZZ_CHECK(safe((unsigned char) *s));
        seg++;
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                          rc;
    char                        *buf, err[256], again[800];
    char                         key[IMAGE_INGEST_S3_KEY_LEN];
    size_t                       i, n;
    const char                  *type;
    image_ingest_s3_location_t   loc, loc2;

    if (size > MAX_INPUT) {
        return 0;
    }

    /* an exact-size copy: ASan sees any read past the end */

    buf = malloc(size ? size : 1);
    if (buf == NULL) {
        return 0;
    }

    memcpy(buf, data, size);

    err[0] = '\0';
    rc = image_ingest_s3_parse(buf, size, &loc, err, sizeof(err));

    if (rc == 0) {
        FUZZ_CHECK(image_ingest_s3_is(buf, size));

        n = strlen(loc.bucket);
        FUZZ_CHECK(n >= 1 && n <= IMAGE_INGEST_S3_NAME_LEN);

        for (i = 0; i < n; i++) {
            FUZZ_CHECK(safe((unsigned char) loc.bucket[i]));
        }

        check_prefix(loc.prefix);

        /* what it stands for parses to the same */

        n = (size_t) snprintf(again, sizeof(again), "s3://%s/%s",
                              loc.bucket, loc.prefix);
        FUZZ_CHECK(n < sizeof(again));
        FUZZ_CHECK(image_ingest_s3_parse(again, n, &loc2, err, sizeof(err))
                   == 0);
        FUZZ_CHECK(strcmp(loc.bucket, loc2.bucket) == 0);
        FUZZ_CHECK(strcmp(loc.prefix, loc2.prefix) == 0);

        /* the longest name of the store fits any accepted prefix */

        memset(again, 'a', 159);
        again[159] = '\0';
        FUZZ_CHECK(image_ingest_s3_key(&loc, again, key, sizeof(key)) == 0);
        FUZZ_CHECK(strncmp(key, loc.prefix, strlen(loc.prefix)) == 0);

    } else {
        FUZZ_CHECK(rc == -1);
        fuzz_check_err(err, sizeof(err));
    }

    /* the input as a name: some type, never NULL */

    if (memchr(buf, '\0', size) == NULL && size < 200) {
        memcpy(again, buf, size);
        again[size] = '\0';
        type = image_ingest_s3_content_type(again);
        FUZZ_CHECK(type != NULL && strchr(type, '/') != NULL);
    }

    free(buf);

    return 0;
}
