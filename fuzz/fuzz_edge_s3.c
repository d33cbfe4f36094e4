
/*
 * libFuzzer target for the S3 request core (src/edge/core/edge_s3.c).
 *
 * The input is cut at NUL bytes into: an endpoint, a bucket, an object
 * key, a query, a credentials file, a header name and value, and an
 * error document.  Each parser takes any bytes; a request that signs
 * must have a path of unreserved bytes and %XX only that decodes back to
 * the bucket and the key, and its Authorization must verify against the
 * request as sent (edge_sigv4_verify), and fail once the key changes.
 *
 *     make -C fuzz build/fuzz_edge_s3
 *     fuzz/build/fuzz_edge_s3 -max_total_time=60
 */


#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edge_s3.h"
#include "edge_hex.h"
#include "fuzz_common.h"


#define FUZZ_FIELDS  8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static size_t
fuzz_decode(const char *s, size_t len, char *out)
{
    size_t  i, n;

    for (i = 0, n = 0; i < len; i++) {
        if (s[i] == '%') {
            FUZZ_CHECK(i + 2 < len);
            FUZZ_CHECK(edge_hex_digit((unsigned char) s[i + 1]) >= 0);
            FUZZ_CHECK(edge_hex_digit((unsigned char) s[i + 2]) >= 0);
            out[n++] = (char) (edge_hex_digit((unsigned char) s[i + 1]) << 4
                               | edge_hex_digit((unsigned char) s[i + 2]));
            i += 2;
            continue;
        }

        FUZZ_CHECK((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z')
                   || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'
                   || s[i] == '.' || s[i] == '_' || s[i] == '~'
                   || s[i] == '/');
        out[n++] = s[i];
    }

    return n;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                    rc, https, style;
    char                   err[EDGE_S3_ERR_LEN], code[64], *dec, *q;
    size_t                 i, n, start, off, len, plen;
    fuzz_block_t          *blocks;
    edge_sigv4_str_t       f[FUZZ_FIELDS], amz_date;
    edge_s3_target_t      *t;
    edge_s3_signed_t       s;
    edge_s3_request_t      r;
    edge_sigv4_auth_t      auth;
    edge_sigv4_alloc_t     hooks;
    edge_sigv4_header_t    extra, sent[EDGE_S3_MAX_HEADERS + 4];
    edge_sigv4_request_t   req;

    blocks = NULL;
    hooks.alloc = fuzz_alloc;
    hooks.ctx = &blocks;

    memset(f, 0, sizeof(f));
    n = 0;
    start = 0;

    for (i = 0; i <= size && n < FUZZ_FIELDS; i++) {
        if (i < size && data[i] != '\0') {
            continue;
        }

        f[n].data = (const char *) data + start;
        f[n].len = i - start;
        n++;
        start = i + 1;
    }

    for (i = n; i < FUZZ_FIELDS; i++) {
        f[i].data = "";
    }

    t = calloc(1, sizeof(edge_s3_target_t));
    FUZZ_CHECK(t != NULL);

    /* the parsers */

    rc = edge_s3_parse_endpoint(f[0].data, f[0].len, &https, &off, &len,
                                &style, err, sizeof(err));
    if (rc != EDGE_S3_OK) {
        FUZZ_CHECK(rc == EDGE_S3_EINVAL);
        fuzz_check_err(err, sizeof(err));
        f[0].data = "http://127.0.0.1:7480";
        f[0].len = 21;

    } else {
        FUZZ_CHECK(off + len <= f[0].len && len > 0);
    }

    rc = edge_s3_parse_credentials(f[4].data, f[4].len, &t->credentials,
                                   err, sizeof(err));
    if (rc != EDGE_S3_OK) {
        FUZZ_CHECK(rc == EDGE_S3_EINVAL);
        fuzz_check_err(err, sizeof(err));
        strcpy(t->credentials.key_id, "AKIDEXAMPLE");
        t->credentials.key_id_len = 11;
        strcpy(t->credentials.secret, "secret");
        t->credentials.secret_len = 6;

    } else {
        FUZZ_CHECK(t->credentials.key_id_len > 0);
        FUZZ_CHECK(t->credentials.secret_len > 0);
        FUZZ_CHECK(strlen(t->credentials.key_id)
                   == t->credentials.key_id_len);
        FUZZ_CHECK(strlen(t->credentials.token) == t->credentials.token_len);
    }

    if (edge_s3_error_code(f[7].data, f[7].len, code, sizeof(code))) {
        FUZZ_CHECK(strlen(code) > 0 && strstr(f[7].data, code) != NULL);
    }

    /* the request */

    t->endpoint = f[0];
    t->style = (size & 2) ? EDGE_S3_STYLE_VIRTUAL : EDGE_S3_STYLE_PATH;
    t->bucket = f[1];
    t->region.data = "us-east-1";
    t->region.len = 9;

    memset(&r, 0, sizeof(r));
    r.method.data = (size & 1) ? "PUT" : "GET";
    r.method.len = 3;
    r.key = f[2];
    r.query = f[3];
    extra.name = f[5];
    extra.value = f[6];
    r.headers = &extra;
    r.nheaders = f[5].len ? 1 : 0;
    r.time = 1700000000 + (int64_t) size * 86399;

    rc = edge_s3_sign(t, &r, &hooks, &s, err, sizeof(err));

    if (rc != EDGE_S3_OK) {
        FUZZ_CHECK(rc == EDGE_S3_EINVAL);
        fuzz_check_err(err, sizeof(err));
        goto done;
    }

    FUZZ_CHECK(strlen(s.url.data) == s.url.len);
    FUZZ_CHECK(s.url.len > s.uri.len);
    FUZZ_CHECK(memcmp(s.url.data + s.url.len - s.uri.len, s.uri.data,
                      s.uri.len) == 0);

    /* the path decodes back to the bucket and the key */

    q = memchr(s.uri.data, '?', s.uri.len);
    plen = q ? (size_t) (q - s.uri.data) : s.uri.len;
    dec = malloc(plen + 1);
    FUZZ_CHECK(dec != NULL);
    n = fuzz_decode(s.uri.data, plen, dec);
    FUZZ_CHECK(n >= 1 && dec[0] == '/');

    if (t->style == EDGE_S3_STYLE_PATH) {
        FUZZ_CHECK(n >= 1 + t->bucket.len);
        FUZZ_CHECK(memcmp(dec + 1, t->bucket.data, t->bucket.len) == 0);
        off = 1 + t->bucket.len + (r.key.len ? 1 : 0);

    } else {
        off = 1;
    }

    FUZZ_CHECK(n - off == r.key.len);
    FUZZ_CHECK(memcmp(dec + off, r.key.data, r.key.len) == 0);
    free(dec);

    /* the signature verifies against the request as it is sent */

    n = 0;
    sent[n].name.data = "Host";
    sent[n].name.len = 4;
    sent[n++].value = s.host;
    sent[n].name.data = "X-Amz-Date";
    sent[n].name.len = 10;
    sent[n].value.data = s.amz_date;
    sent[n++].value.len = EDGE_SIGV4_DATE_LEN;
    sent[n].name.data = "X-Amz-Content-Sha256";
    sent[n].name.len = 20;
    sent[n++].value = s.payload_hash;

    if (r.nheaders) {
        sent[n++] = extra;
    }

    rc = edge_sigv4_parse_authorization(s.authorization.data,
                                        s.authorization.len, &auth, err,
                                        sizeof(err));
    FUZZ_CHECK(rc == EDGE_SIGV4_OK);

    memset(&req, 0, sizeof(req));
    req.method = r.method;
    req.path.data = s.uri.data;
    req.path.len = plen;
    req.query.data = q ? q + 1 : "";
    req.query.len = q ? s.uri.len - plen - 1 : 0;
    req.headers = sent;
    req.nheaders = n;
    req.payload_hash = s.payload_hash;

    amz_date.data = s.amz_date;
    amz_date.len = EDGE_SIGV4_DATE_LEN;

    rc = edge_sigv4_verify(&req, &auth, &amz_date, t->credentials.secret,
                           t->credentials.secret_len, r.time, 60, &hooks,
                           err, sizeof(err));
    FUZZ_CHECK(rc == EDGE_SIGV4_OK);

    /* a longer key: another canonical request */

    dec = malloc(plen + 1);
    FUZZ_CHECK(dec != NULL);
    memcpy(dec, s.uri.data, plen);
    dec[plen] = 'x';
    req.path.data = dec;
    req.path.len = plen + 1;

    rc = edge_sigv4_verify(&req, &auth, &amz_date, t->credentials.secret,
                           t->credentials.secret_len, r.time, 60, &hooks,
                           err, sizeof(err));
    FUZZ_CHECK(rc == EDGE_SIGV4_EMISMATCH);
    free(dec);

done:

    free(t);
    fuzz_free(&blocks);

    return 0;
}
