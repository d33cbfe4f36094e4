
/*
 * libFuzzer target for JWT verification (src/image/core/image_ingest_jwt.c).
 *
 * The first byte picks what the rest is:
 *
 *   0  a JWKS document: loaded and freed (no crash, an error message when
 *      refused);
 *   1  a token, verified against a fixed key set (an RSA and a P-256 key
 *      made at start, and an HS256 secret with kid "k1"): accepted only
 *      when it is an HS256 token whose HMAC, recomputed here, is the
 *      signature (nobody forges the RSA or EC ones by chance);
 *   2  the signing input of a token: the target signs it with the HS256
 *      secret, so the claims are reached; an accepted token is refused
 *      once any character of its signature changes, and every claim it
 *      lists is found again by name.
 *
 *     make -C fuzz build/fuzz_image_ingest_jwt
 *     fuzz/build/fuzz_image_ingest_jwt -max_total_time=60
 */


#define _GNU_SOURCE                 /* memrchr() */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/rsa.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "image_ingest_jwt.h"
#include "fuzz_common.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static const uint8_t  fuzz_secret[32] = "0123456789abcdef0123456789abcdef";

static image_ingest_jwt_keys_t  *fuzz_keys;

static const image_ingest_jwt_require_t  fuzz_require[] = {
    { "aud", "photos" }
};


static size_t
fuzz_b64url(const uint8_t *in, size_t len, char *out)
{
    static const char  abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                               "abcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t    i, o;
    uint32_t  acc;
    unsigned  bits;

    acc = 0;
    bits = 0;
    o = 0;

    for (i = 0; i < len; i++) {
        acc = (acc << 8) | in[i];
        bits += 8;

        while (bits >= 6) {
            bits -= 6;
            out[o++] = abc[(acc >> bits) & 0x3f];
        }
    }

    if (bits > 0) {
        out[o++] = abc[(acc << (6 - bits)) & 0x3f];
    }

    out[o] = '\0';
    return o;
}


static void
fuzz_member(EVP_PKEY *pkey, const char *param, size_t pad, char *out)
{
    int        n;
    BIGNUM    *bn;
    uint8_t    buf[512];

    bn = NULL;
    FUZZ_CHECK(EVP_PKEY_get_bn_param(pkey, param, &bn) == 1);
    n = BN_bn2binpad(bn, buf, pad ? (int) pad : BN_num_bytes(bn));
    FUZZ_CHECK(n > 0);
    fuzz_b64url(buf, (size_t) n, out);
    BN_free(bn);
}


static void
fuzz_init(void)
{
    char       jwks[2048], n[400], e[16], x[64], y[64], k[64], err[128];
    EVP_PKEY  *rsa, *ec;

    rsa = EVP_RSA_gen(2048);
    ec = EVP_EC_gen("P-256");
    FUZZ_CHECK(rsa != NULL && ec != NULL);

    fuzz_member(rsa, OSSL_PKEY_PARAM_RSA_N, 0, n);
    fuzz_member(rsa, OSSL_PKEY_PARAM_RSA_E, 0, e);
    fuzz_member(ec, OSSL_PKEY_PARAM_EC_PUB_X, 32, x);
    fuzz_member(ec, OSSL_PKEY_PARAM_EC_PUB_Y, 32, y);
    fuzz_b64url(fuzz_secret, sizeof(fuzz_secret), k);

    snprintf(jwks, sizeof(jwks),
             "{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"r1\",\"n\":\"%s\","
             "\"e\":\"%s\"},{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"e1\","
             "\"x\":\"%s\",\"y\":\"%s\"},{\"kty\":\"oct\",\"kid\":\"k1\","
             "\"k\":\"%s\"}]}", n, e, x, y, k);

    fuzz_keys = image_ingest_jwt_keys_jwks(jwks, strlen(jwks), err,
                                           sizeof(err));
    if (fuzz_keys == NULL) {
        fprintf(stderr, "fuzz key set: %s\n", err);
        abort();
    }

    FUZZ_CHECK(image_ingest_jwt_keys_count(fuzz_keys) == 3);

    EVP_PKEY_free(rsa);
    EVP_PKEY_free(ec);
}


static image_ingest_jwt_rc_e
fuzz_verify(const char *token, size_t len, image_ingest_jwt_t **jwt)
{
    image_ingest_jwt_rc_e  rc;

    rc = image_ingest_jwt_verify(fuzz_keys, token, len, 1767225600, 60, 0,
                                 fuzz_require, 1, jwt);

    FUZZ_CHECK((unsigned) rc < IMAGE_INGEST_JWT_NRESULTS);
    fuzz_check_err(image_ingest_jwt_reason(rc), 64);

    return rc;
}


/* an accepted token: an HS256 one whose signature is the HMAC */

static void
fuzz_accepted(const char *token, size_t len, image_ingest_jwt_t *jwt)
{
    char          *t, b64[64];
    size_t         i, n, dot;
    uint8_t        mac[32];
    unsigned       mac_len;
    const char    *name, *value;

    FUZZ_CHECK(strcmp(image_ingest_jwt_alg(jwt), "HS256") == 0);

    dot = (size_t) ((const char *) memrchr(token, '.', len) - token);
    HMAC(EVP_sha256(), fuzz_secret, sizeof(fuzz_secret),
         (const uint8_t *) token, dot, mac, &mac_len);
    n = fuzz_b64url(mac, sizeof(mac), b64);
    FUZZ_CHECK(len - dot - 1 == n && memcmp(token + dot + 1, b64, n) == 0);

    n = image_ingest_jwt_claims(jwt);

    for (i = 0; i < n; i++) {
        FUZZ_CHECK(image_ingest_jwt_claim_at(jwt, i, &name, &value) == 0);
        FUZZ_CHECK(name != NULL && value != NULL);
        FUZZ_CHECK(image_ingest_jwt_claim(jwt, name) == value);
    }

    FUZZ_CHECK(image_ingest_jwt_claim_at(jwt, n, &name, &value) == -1);

    t = malloc(len);
    FUZZ_CHECK(t != NULL);
    memcpy(t, token, len);

    for (i = dot + 1; i < len; i++) {
        t[i] = (t[i] == 'A') ? 'B' : 'A';
        FUZZ_CHECK(fuzz_verify(t, len, NULL) != IMAGE_INGEST_JWT_OK);
        t[i] = token[i];
    }

    FUZZ_CHECK(fuzz_verify(t, len, NULL) == IMAGE_INGEST_JWT_OK);
    free(t);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char                     err[128], *token;
    size_t                   len;
    uint8_t                  mac[32];
    unsigned                 mac_len;
    image_ingest_jwt_t      *jwt;
    image_ingest_jwt_keys_t *keys;
    image_ingest_jwt_rc_e    rc;

    if (fuzz_keys == NULL) {
        fuzz_init();
    }

    if (size == 0 || size > IMAGE_INGEST_JWT_MAX_TOKEN + 64) {
        return 0;
    }

    jwt = NULL;

    switch (data[0] % 3) {

    case 0:
        err[0] = '\0';
        keys = image_ingest_jwt_keys_jwks((const char *) data + 1, size - 1,
                                          err, sizeof(err));
        if (keys == NULL) {
            fuzz_check_err(err, sizeof(err));
        } else {
            FUZZ_CHECK(image_ingest_jwt_keys_count(keys) > 0);
            image_ingest_jwt_keys_free(keys);
        }

        break;

    case 1:
        rc = fuzz_verify((const char *) data + 1, size - 1, &jwt);

        if (rc == IMAGE_INGEST_JWT_OK) {
            FUZZ_CHECK(jwt != NULL);
            fuzz_accepted((const char *) data + 1, size - 1, jwt);
        } else {
            FUZZ_CHECK(jwt == NULL);
        }

        break;

    default:
        len = size - 1;
        token = malloc(len + 1 + 44);
        FUZZ_CHECK(token != NULL);
        memcpy(token, data + 1, len);
        HMAC(EVP_sha256(), fuzz_secret, sizeof(fuzz_secret), data + 1, len,
             mac, &mac_len);
        token[len] = '.';
        len += 1 + fuzz_b64url(mac, sizeof(mac), token + len + 1);

        rc = fuzz_verify(token, len, &jwt);

        if (rc == IMAGE_INGEST_JWT_OK) {
            FUZZ_CHECK(jwt != NULL);
            fuzz_accepted(token, len, jwt);
        }

        free(token);
        break;
    }

    image_ingest_jwt_free(jwt);

    return 0;
}
