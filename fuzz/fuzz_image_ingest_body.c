
/*
 * libFuzzer target for image_ingest_body.c (the upload body: the JSON
 * check that finds data.image, the in-place base64 decoder) and the
 * argument parsing of image_ingest_sign.c, with the invariants the
 * module relies on.
 *
 * Input: a body.  It is also decoded as base64 directly, and given to
 * the presigned-URL check as a query string.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined \
 *       -Isrc/image/core -Isrc/image/core \
 *       fuzz/fuzz_image_ingest_body.c src/image/core/image_ingest_body.c \
 *       src/image/core/image_ingest_sign.c \
 *       src/image/core/image_variant_params.c -lcrypto
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image_ingest_body.h"
#include "image_ingest_sign.h"
#include "fuzz_common.h"


#define MAX_INPUT  65536

#define KEY        (const uint8_t *) "fuzz-key-0123456789", 19


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int      rc;
    char    *buf, err[128];
    size_t   off, slen, len;

    if (size > MAX_INPUT) {
        return 0;
    }

    /* an exact-size copy: ASan sees any read past the end */

    buf = malloc(size ? size : 1);
    if (buf == NULL) {
        return 0;
    }

    memcpy(buf, data, size);

    (void) image_ingest_body_is_json(buf, size);

    rc = image_ingest_body_json(buf, size, &off, &slen, err, sizeof(err));

    if (rc == IMAGE_INGEST_BODY_OK) {
        if (!image_ingest_body_is_json(buf, size)) {
            FUZZ_FAIL("accepted JSON that is not JSON by the sniff");
        }

        if (off == 0 || off + slen >= size || buf[off - 1] != '"'
            || buf[off + slen] != '"')
        {
            FUZZ_FAIL("data.image is not a string's contents");
        }

        rc = image_ingest_body_base64(buf + off, slen, &len, err,
                                      sizeof(err));

        if (rc == IMAGE_INGEST_BODY_OK) {
            if (len == 0 || len > slen) {
                FUZZ_FAIL("decoded length out of range");
            }

        } else if (rc != IMAGE_INGEST_BODY_EINVAL) {
            FUZZ_FAIL("unknown base64 result");

        } else {
            fuzz_check_err(err, sizeof(err));
        }

    } else if (rc != IMAGE_INGEST_BODY_EINVAL) {
        FUZZ_FAIL("unknown JSON result");

    } else {
        fuzz_check_err(err, sizeof(err));
    }

    /* the raw input as base64 */

    memcpy(buf, data, size);

    rc = image_ingest_body_base64(buf, size, &len, err, sizeof(err));

    if (rc == IMAGE_INGEST_BODY_OK) {
        if (len == 0 || len > size || len > size / 4 * 3 + 2) {
            FUZZ_FAIL("decoded length out of range");
        }

    } else {
        fuzz_check_err(err, sizeof(err));
    }

    /* the raw input as a presigned URL's query string */

    memcpy(buf, data, size);

    rc = image_ingest_sign_check(KEY, "PUT", 3, "/up", 3, buf, size,
                                 1767225600, 3600);

    if (rc < IMAGE_INGEST_SIGN_OK || rc > IMAGE_INGEST_SIGN_TOO_LONG) {
        FUZZ_FAIL("unknown signature result");
    }

    free(buf);

    return 0;
}
