
/*
 * libFuzzer target for the SigV4 core (src/edge/core/edge_sigv4.c).
 *
 * The input is cut at NUL bytes into: an Authorization value, an
 * X-Amz-Date value, a path, a query, signed header names, and header
 * name/value pairs.  Each goes through the parsers and the canonical
 * request; then the same request is signed with a fixed key and the
 * Authorization produced must parse and verify (a signature round trip),
 * and must not verify once the payload hash changes.
 *
 *     make -C fuzz build/fuzz_edge_sigv4
 *     fuzz/build/fuzz_edge_sigv4 -max_total_time=60
 */


#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edge_sigv4.h"
#include "fuzz_common.h"


#define FUZZ_FIELDS   6
#define FUZZ_HEADERS  16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static const char  fuzz_secret[] = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                    rc;
    char                   err[EDGE_SIGV4_ERR_LEN], hash[65];
    size_t                 i, n, nh, start;
    int64_t                t;
    fuzz_block_t          *blocks;
    edge_sigv4_str_t       f[FUZZ_FIELDS + 2 * FUZZ_HEADERS], creq, authz;
    edge_sigv4_str_t       date, region, service, key_id;
    edge_sigv4_auth_t      auth;
    edge_sigv4_alloc_t     hooks;
    edge_sigv4_header_t    headers[FUZZ_HEADERS + 2];
    edge_sigv4_request_t   req;

    blocks = NULL;
    hooks.alloc = fuzz_alloc;
    hooks.ctx = &blocks;

    /* the fields */

    memset(f, 0, sizeof(f));
    n = 0;
    start = 0;

    for (i = 0; i <= size && n < sizeof(f) / sizeof(f[0]); i++) {
        if (i < size && data[i] != '\0') {
            continue;
        }

        f[n].data = (const char *) data + start;
        f[n].len = i - start;
        n++;
        start = i + 1;
    }

    for (i = n; i < sizeof(f) / sizeof(f[0]); i++) {
        f[i].data = "";
    }

    /* the parsers take any bytes */

    rc = edge_sigv4_parse_authorization(f[0].data, f[0].len, &auth, err,
                                        sizeof(err));
    if (rc != EDGE_SIGV4_OK) {
        FUZZ_CHECK(rc == EDGE_SIGV4_EINVAL);
        fuzz_check_err(err, sizeof(err));

    } else {
        FUZZ_CHECK(auth.signature.len == 64 && auth.date.len == 8);
    }

    if (edge_sigv4_parse_date(f[1].data, f[1].len, &t) == EDGE_SIGV4_OK) {
        char  out[EDGE_SIGV4_DATE_LEN + 1];

        edge_sigv4_format_date(t, out);
        /* a leap second ("...60Z") is the next minute's first */
        FUZZ_CHECK(memcmp(out, f[1].data, EDGE_SIGV4_DATE_LEN) == 0
                   || f[1].data[13] == '6');
    }

    /* the request */

    nh = 0;

    for (i = FUZZ_FIELDS; i + 1 < sizeof(f) / sizeof(f[0]); i += 2) {
        if (f[i].len == 0) {
            continue;
        }

        headers[nh].name = f[i];
        headers[nh].value = f[i + 1];
        nh++;
    }

    headers[nh].name.data = "Host";
    headers[nh].name.len = 4;
    headers[nh].value.data = "example.amazonaws.com";
    headers[nh].value.len = 21;
    nh++;

    headers[nh].name.data = "X-Amz-Date";
    headers[nh].name.len = 10;
    headers[nh].value.data = "20150830T123600Z";
    headers[nh].value.len = 16;
    nh++;

    edge_sigv4_sha256_hex(data, size, hash);

    memset(&req, 0, sizeof(req));
    req.method.data = "POST";
    req.method.len = 4;
    req.path = f[2];
    req.query = f[3];
    req.headers = headers;
    req.nheaders = nh;
    req.signed_headers = f[4];
    req.payload_hash.data = hash;
    req.payload_hash.len = 64;
    req.flags = (size & 1) ? 0 : (EDGE_SIGV4_PATH_DOUBLE
                                  | EDGE_SIGV4_PATH_NORMALIZE);

    rc = edge_sigv4_canonical_request(&req, &hooks, &creq);

    if (rc != EDGE_SIGV4_OK) {
        FUZZ_CHECK(rc == EDGE_SIGV4_EINVAL);
        goto done;
    }

    FUZZ_CHECK(strlen(creq.data) == creq.len || memchr(data, 0, size));

    /* a round trip: what we sign verifies, once; a changed body does not */

    date.data = "20150830T123600Z";
    date.len = 16;
    region.data = "eu-west-1";
    region.len = 9;
    service.data = "lambda";
    service.len = 6;
    key_id.data = "AKIDEXAMPLE";
    key_id.len = 11;

    if (f[4].len == 0 || memchr(f[4].data, 'h', f[4].len) == NULL) {
        req.signed_headers.data = "host;x-amz-date";
        req.signed_headers.len = 15;
    }

    rc = edge_sigv4_sign(&req, &key_id, fuzz_secret, sizeof(fuzz_secret) - 1,
                         &date, &region, &service, &hooks, &authz);
    FUZZ_CHECK(rc == EDGE_SIGV4_OK || rc == EDGE_SIGV4_EINVAL);

    if (rc != EDGE_SIGV4_OK) {
        goto done;
    }

    rc = edge_sigv4_parse_authorization(authz.data, authz.len, &auth, err,
                                        sizeof(err));

    if (rc != EDGE_SIGV4_OK) {
        /* only signed header names the parser cannot take back */
        FUZZ_CHECK(memchr(req.signed_headers.data, ',',
                          req.signed_headers.len) != NULL
                   || memchr(req.signed_headers.data, ' ',
                             req.signed_headers.len) != NULL);
        goto done;
    }

    rc = edge_sigv4_verify(&req, &auth, &date, fuzz_secret,
                           sizeof(fuzz_secret) - 1, 1440938160, 900, &hooks,
                           err, sizeof(err));

    if (rc != EDGE_SIGV4_OK) {
        /* verification also wants host and x-amz-date signed */
        FUZZ_CHECK(rc == EDGE_SIGV4_EINVAL);
        goto done;
    }

    hash[0] = (hash[0] == '0') ? '1' : '0';

    rc = edge_sigv4_verify(&req, &auth, &date, fuzz_secret,
                           sizeof(fuzz_secret) - 1, 1440938160, 900, &hooks,
                           err, sizeof(err));
    FUZZ_CHECK(rc == EDGE_SIGV4_EMISMATCH);

done:

    fuzz_free(&blocks);

    return 0;
}
