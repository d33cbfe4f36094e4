
/*
 * JWT verification against tokens and keys made by PyJWT and
 * python3-cryptography (t/unit/jwt_vectors.py, run by the build: fresh
 * keys each time).
 */


#include <stdlib.h>
#include <time.h>

#include "unit.h"
#include "image_ingest_jwt.h"
#include "jwt_vectors.h"


static image_ingest_jwt_keys_t  *jwks;
static image_ingest_jwt_keys_t  *jwks_rsa;
static image_ingest_jwt_keys_t  *hs_keys;

static const image_ingest_jwt_require_t  req[] = {
    { "iss", "https://id.example" },
    { "aud", "photos" }
};


static image_ingest_jwt_rc_e
verify_at(const image_ingest_jwt_keys_t *keys, const char *token,
    long long now, long long leeway)
{
    return image_ingest_jwt_verify(keys, token, strlen(token), now, leeway,
                                   1, req, 2, NULL);
}


static image_ingest_jwt_rc_e
verify(const image_ingest_jwt_keys_t *keys, const char *token)
{
    return verify_at(keys, token, JWT_NOW, 60);
}


static void
load_keys(void)
{
    char  err[128];

    if (jwks != NULL) {
        return;
    }

    err[0] = '\0';
    jwks = image_ingest_jwt_keys_jwks(jwt_jwks, strlen(jwt_jwks), err,
                                      sizeof(err));
    CHECK_STR(err, "");
    jwks_rsa = image_ingest_jwt_keys_jwks(jwt_jwks_rsa_only,
                                          strlen(jwt_jwks_rsa_only), err,
                                          sizeof(err));
    hs_keys = image_ingest_jwt_keys_hs256(
                  (const uint8_t *) jwt_hs_secret_file,
                  strlen(jwt_hs_secret_file), err, sizeof(err));

    if (jwks == NULL || jwks_rsa == NULL || hs_keys == NULL) {
        fprintf(stderr, "cannot load the test keys: %s\n", err);
        exit(1);
    }
}


UNIT_TEST(test_keys)
{
    static const char         bad_kid[] = "{\"keys\":[{\"kty\":\"oct\","
        "\"kid\":\"a\\u0001\xbc\\\"\",\"k\":\"c2hvcnQ\"}]}";
    char                      err[128], *big;
    image_ingest_jwt_keys_t  *k;

    load_keys();

    /* rsa1, ec1, hs1; the "enc" key, the P-384 key, the OKP key skipped */
    CHECK_INT(image_ingest_jwt_keys_count(jwks), 3);
    CHECK_INT(image_ingest_jwt_keys_count(jwks_rsa), 1);
    CHECK_INT(image_ingest_jwt_keys_count(hs_keys), 1);

    k = image_ingest_jwt_keys_jwks(jwt_jwks_rsa_small,
                                   strlen(jwt_jwks_rsa_small), err,
                                   sizeof(err));
    CHECK(k == NULL);
    CHECK(strstr(err, "shorter than 2048 bits") != NULL);

    /* a 8808-bit modulus (1101 bytes of 0xff, "_" in base64url) */
    big = malloc(1600);
    strcpy(big, "{\"keys\":[{\"kty\":\"RSA\",\"e\":\"AQAB\",\"n\":\"");
    memset(big + strlen(big), '_', 1468);
    strcpy(big + 38 + 1468, "\"}]}");
    k = image_ingest_jwt_keys_jwks(big, strlen(big), err, sizeof(err));
    CHECK(k == NULL);
    CHECK_STR(err, "RSA key \"\": longer than 8192 bits");
    free(big);

    k = image_ingest_jwt_keys_jwks(jwt_jwks_enc_only,
                                   strlen(jwt_jwks_enc_only), err,
                                   sizeof(err));
    CHECK(k == NULL);
    CHECK(strstr(err, "no RS256, ES256 or HS256") != NULL);

    k = image_ingest_jwt_keys_jwks("{\"keys\":", 8, err, sizeof(err));
    CHECK(k == NULL);
    CHECK_STR(err, "JWKS is not a JSON object");

    k = image_ingest_jwt_keys_jwks("{\"k\":[]}", 8, err, sizeof(err));
    CHECK(k == NULL);
    CHECK_STR(err, "JWKS has no \"keys\" array");

    /* an EC point off the curve */
    k = image_ingest_jwt_keys_jwks("{\"keys\":[{\"kty\":\"EC\",\"crv\":"
            "\"P-256\",\"x\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE\","
            "\"y\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE\"}]}",
            strlen("{\"keys\":[{\"kty\":\"EC\",\"crv\":"
            "\"P-256\",\"x\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE\","
            "\"y\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE\"}]}"),
            err, sizeof(err));
    CHECK(k == NULL);
    CHECK(strstr(err, "bad \"x\" or \"y\"") != NULL);

    /* a short oct key; a short hs256 secret, newline trimmed first */
    k = image_ingest_jwt_keys_jwks("{\"keys\":[{\"kty\":\"oct\",\"k\":"
                                   "\"c2hvcnQ\"}]}", 38, err, sizeof(err));
    CHECK(k == NULL);
    CHECK(strstr(err, "shorter than 32 bytes") != NULL);

    /* a kid in a message: printable only (the fuzzer's first find) */
    k = image_ingest_jwt_keys_jwks(bad_kid, sizeof(bad_kid) - 1, err,
                                   sizeof(err));
    CHECK(k == NULL);
    CHECK_STR(err, "oct key \"a???\": shorter than 32 bytes");

    k = image_ingest_jwt_keys_hs256((const uint8_t *)
              "0123456789abcdef0123456789abcde\n\n", 33, err, sizeof(err));
    CHECK(k == NULL);

    k = image_ingest_jwt_keys_hs256((const uint8_t *)
              "0123456789abcdef0123456789abcdef\r\n", 34, err, sizeof(err));
    CHECK(k != NULL);
    image_ingest_jwt_keys_free(k);
}


UNIT_TEST(test_accepted)
{
    const char          *name, *value;
    image_ingest_jwt_t  *jwt;

    load_keys();

    CHECK_INT(verify(jwks, jwt_rs256_ok), IMAGE_INGEST_JWT_OK);
    CHECK_INT(verify(jwks, jwt_rs256_nokid), IMAGE_INGEST_JWT_OK);
    CHECK_INT(verify(jwks, jwt_es256_ok), IMAGE_INGEST_JWT_OK);
    CHECK_INT(verify(jwks, jwt_es256_nokid), IMAGE_INGEST_JWT_OK);
    CHECK_INT(verify(jwks, jwt_hs256_ok), IMAGE_INGEST_JWT_OK);
    CHECK_INT(verify(hs_keys, jwt_hs256_file), IMAGE_INGEST_JWT_OK);
    CHECK_INT(verify(jwks_rsa, jwt_rs256_ok), IMAGE_INGEST_JWT_OK);

    jwt = NULL;
    CHECK_INT(image_ingest_jwt_verify(jwks, jwt_rs256_ok,
                                      strlen(jwt_rs256_ok), JWT_NOW, 60, 1,
                                      req, 2, &jwt),
              IMAGE_INGEST_JWT_OK);
    if (jwt == NULL) {
        return;
    }

    CHECK_STR(image_ingest_jwt_claim(jwt, "sub"), "user-42");
    CHECK_STR(image_ingest_jwt_claim(jwt, "iss"), "https://id.example");
    CHECK_STR(image_ingest_jwt_claim(jwt, "n"), "42");
    CHECK_STR(image_ingest_jwt_claim(jwt, "ratio"), "0.1");
    CHECK_STR(image_ingest_jwt_claim(jwt, "third"), "0.33333333333333331");
    CHECK(image_ingest_jwt_claim(jwt, "admin") == NULL);
    CHECK(image_ingest_jwt_claim(jwt, "groups") == NULL);
    CHECK(image_ingest_jwt_claim(jwt, "nope") == NULL);
    CHECK_STR(image_ingest_jwt_alg(jwt), "RS256");
    CHECK_STR(image_ingest_jwt_kid(jwt), "rsa1");

    /* sub iss aud iat nbf exp n ratio third: in token order, booleans
     * and arrays left out */
    CHECK_INT(image_ingest_jwt_claims(jwt), 9);
    CHECK_INT(image_ingest_jwt_claim_at(jwt, 0, &name, &value), 0);
    CHECK_STR(name, "sub");
    CHECK_STR(value, "user-42");
    CHECK_INT(image_ingest_jwt_claim_at(jwt, 5, &name, &value), 0);
    CHECK_STR(name, "exp");
    CHECK_INT(atoll(value), JWT_NOW + 600);
    CHECK_INT(image_ingest_jwt_claim_at(jwt, 9, &name, &value), -1);

    image_ingest_jwt_free(jwt);

    jwt = NULL;
    CHECK_INT(image_ingest_jwt_verify(jwks, jwt_es256_ok,
                                      strlen(jwt_es256_ok), JWT_NOW, 60, 1,
                                      req, 2, &jwt),
              IMAGE_INGEST_JWT_OK);
    if (jwt != NULL) {
        CHECK_STR(image_ingest_jwt_alg(jwt), "ES256");
        CHECK(image_ingest_jwt_claim(jwt, "aud") == NULL);
        image_ingest_jwt_free(jwt);
    }
}


UNIT_TEST(test_time)
{
    load_keys();

    /* exp = now + 600, nbf = now - 10 */
    CHECK_INT(verify_at(jwks, jwt_rs256_ok, JWT_NOW + 659, 60),
              IMAGE_INGEST_JWT_OK);
    CHECK_INT(verify_at(jwks, jwt_rs256_ok, JWT_NOW + 660, 60),
              IMAGE_INGEST_JWT_EXPIRED);
    CHECK_INT(verify_at(jwks, jwt_rs256_ok, JWT_NOW + 600, 0),
              IMAGE_INGEST_JWT_EXPIRED);
    CHECK_INT(verify_at(jwks, jwt_rs256_ok, JWT_NOW - 10, 0),
              IMAGE_INGEST_JWT_OK);
    CHECK_INT(verify_at(jwks, jwt_rs256_ok, JWT_NOW - 11, 0),
              IMAGE_INGEST_JWT_NOT_YET_VALID);

    /* exp = now - 100; nbf = now + 100: with and without leeway */
    CHECK_INT(verify(jwks, jwt_expired), IMAGE_INGEST_JWT_EXPIRED);
    CHECK_INT(verify_at(jwks, jwt_expired, JWT_NOW, 200),
              IMAGE_INGEST_JWT_OK);
    CHECK_INT(verify(jwks, jwt_not_yet), IMAGE_INGEST_JWT_NOT_YET_VALID);
    CHECK_INT(verify_at(jwks, jwt_not_yet, JWT_NOW, 200),
              IMAGE_INGEST_JWT_OK);

    /* no exp: refused only when required */
    CHECK_INT(verify(jwks, jwt_no_exp), IMAGE_INGEST_JWT_MISSING_CLAIM);
    CHECK_INT(image_ingest_jwt_verify(jwks, jwt_no_exp, strlen(jwt_no_exp),
                                      JWT_NOW, 60, 0, req, 2, NULL),
              IMAGE_INGEST_JWT_OK);

    CHECK_INT(verify(jwks, jwt_exp_string), IMAGE_INGEST_JWT_BAD_CLAIM);
}


UNIT_TEST(test_claims)
{
    image_ingest_jwt_require_t  r[2];

    load_keys();

    CHECK_INT(verify(jwks, jwt_wrong_aud), IMAGE_INGEST_JWT_CLAIM_MISMATCH);
    CHECK_INT(verify(jwks, jwt_wrong_aud_list),
              IMAGE_INGEST_JWT_CLAIM_MISMATCH);
    CHECK_INT(verify(jwks, jwt_wrong_iss), IMAGE_INGEST_JWT_CLAIM_MISMATCH);

    r[0].name = "n";
    r[0].value = "42";
    r[1].name = "sub";
    r[1].value = "user-42";
    CHECK_INT(image_ingest_jwt_verify(jwks, jwt_rs256_ok,
                                      strlen(jwt_rs256_ok), JWT_NOW, 60, 1,
                                      r, 2, NULL),
              IMAGE_INGEST_JWT_OK);

    r[0].value = "42.0";
    CHECK_INT(image_ingest_jwt_verify(jwks, jwt_rs256_ok,
                                      strlen(jwt_rs256_ok), JWT_NOW, 60, 1,
                                      r, 2, NULL),
              IMAGE_INGEST_JWT_CLAIM_MISMATCH);

    r[0].name = "tenant";
    CHECK_INT(image_ingest_jwt_verify(jwks, jwt_rs256_ok,
                                      strlen(jwt_rs256_ok), JWT_NOW, 60, 1,
                                      r, 2, NULL),
              IMAGE_INGEST_JWT_MISSING_CLAIM);

    /* a boolean never equals a text */
    r[0].name = "admin";
    r[0].value = "true";
    CHECK_INT(image_ingest_jwt_verify(jwks, jwt_rs256_ok,
                                      strlen(jwt_rs256_ok), JWT_NOW, 60, 1,
                                      r, 1, NULL),
              IMAGE_INGEST_JWT_CLAIM_MISMATCH);

    /* "aud" twice (one of them matching): refused as malformed */
    CHECK_INT(verify(jwks, jwt_dup_claim), IMAGE_INGEST_JWT_MALFORMED);
}


UNIT_TEST(test_refused)
{
    load_keys();

    CHECK_INT(verify(jwks, jwt_wrong_key_rs), IMAGE_INGEST_JWT_BAD_SIGNATURE);
    CHECK_INT(verify(jwks, jwt_wrong_key_es), IMAGE_INGEST_JWT_BAD_SIGNATURE);
    CHECK_INT(verify(jwks, jwt_wrong_key_hs), IMAGE_INGEST_JWT_BAD_SIGNATURE);
    CHECK_INT(verify(hs_keys, jwt_hs256_file_wrong),
              IMAGE_INGEST_JWT_BAD_SIGNATURE);
    CHECK_INT(verify(hs_keys, jwt_hs256_ok), IMAGE_INGEST_JWT_BAD_SIGNATURE);

    CHECK_INT(verify(jwks, jwt_unknown_kid), IMAGE_INGEST_JWT_UNKNOWN_KID);
    CHECK_INT(verify(hs_keys, jwt_hs256_ok), IMAGE_INGEST_JWT_BAD_SIGNATURE);

    CHECK_INT(verify(jwks, jwt_alg_none), IMAGE_INGEST_JWT_ALG_NONE);
    CHECK_INT(verify(jwks, jwt_alg_none_kid), IMAGE_INGEST_JWT_ALG_NONE);
    CHECK_INT(verify(hs_keys, jwt_alg_none), IMAGE_INGEST_JWT_ALG_NONE);

    CHECK_INT(verify(jwks, jwt_rs384), IMAGE_INGEST_JWT_UNSUPPORTED_ALG);

    /* an RS256 token on an HS256 secret and the other way round */
    CHECK_INT(verify(hs_keys, jwt_rs256_ok),
              IMAGE_INGEST_JWT_ALG_KEY_MISMATCH);
    CHECK_INT(verify(jwks, jwt_hs256_rsa_kid),
              IMAGE_INGEST_JWT_ALG_KEY_MISMATCH);
    CHECK_INT(verify(jwks_rsa, jwt_hs256_ok),
              IMAGE_INGEST_JWT_UNKNOWN_KID);
}


/* HS256 signed with the RSA public key's PEM: never checked with it */

UNIT_TEST(test_confusion)
{
    load_keys();

    CHECK_INT(verify(jwks, jwt_confusion_kid),
              IMAGE_INGEST_JWT_ALG_KEY_MISMATCH);
    CHECK_INT(verify(jwks_rsa, jwt_confusion_kid),
              IMAGE_INGEST_JWT_ALG_KEY_MISMATCH);
    CHECK_INT(verify(jwks_rsa, jwt_confusion_nokid),
              IMAGE_INGEST_JWT_ALG_KEY_MISMATCH);
    /* only the oct key is tried, and it is not the PEM */
    CHECK_INT(verify(jwks, jwt_confusion_nokid),
              IMAGE_INGEST_JWT_BAD_SIGNATURE);
}


static char *
part_swap(const char *token, const char *other, int part)
{
    char        *out;
    const char  *a[3], *b[3], *ea[3], *eb[3], *t;
    int          i;

    for (i = 0, t = token; i < 3; i++) {
        a[i] = t;
        ea[i] = strchr(t, '.') ? strchr(t, '.') : t + strlen(t);
        t = ea[i] + 1;
    }

    for (i = 0, t = other; i < 3; i++) {
        b[i] = t;
        eb[i] = strchr(t, '.') ? strchr(t, '.') : t + strlen(t);
        t = eb[i] + 1;
    }

    out = malloc(strlen(token) + strlen(other) + 3);
    out[0] = '\0';

    for (i = 0; i < 3; i++) {
        if (i == part) {
            strncat(out, b[i], eb[i] - b[i]);
        } else {
            strncat(out, a[i], ea[i] - a[i]);
        }

        if (i < 2) {
            strcat(out, ".");
        }
    }

    return out;
}


UNIT_TEST(test_tampered)
{
    char                   *t;
    size_t                  i, len, sig;
    image_ingest_jwt_rc_e   rc;
    const char             *ok[] = { jwt_rs256_ok, jwt_es256_ok, jwt_hs256_ok };
    size_t                  k;

    load_keys();

    /* another token's payload (aud "elsewhere") under rs256_ok's
     * signature; another header */
    t = part_swap(jwt_rs256_ok, jwt_wrong_aud, 1);
    CHECK_INT(verify(jwks, t), IMAGE_INGEST_JWT_BAD_SIGNATURE);
    free(t);

    t = part_swap(jwt_hs256_ok, jwt_rs256_ok, 0);
    CHECK_INT(verify(jwks, t), IMAGE_INGEST_JWT_BAD_SIGNATURE);
    free(t);

    /* an ES256 signature on the RS256 token */
    t = part_swap(jwt_rs256_ok, jwt_es256_ok, 2);
    CHECK_INT(verify(jwks, t), IMAGE_INGEST_JWT_BAD_SIGNATURE);
    free(t);

    for (k = 0; k < 3; k++) {
        len = strlen(ok[k]);

        /* every prefix refused */
        for (i = 0; i < len; i++) {
            rc = image_ingest_jwt_verify(jwks, ok[k], i, JWT_NOW, 60, 1, req,
                                         2, NULL);
            if (rc == IMAGE_INGEST_JWT_OK) {
                CHECK_INT(i, len);
            }
        }

        /* a signature cut short: too short, or not base64url */
        for (i = 1; i <= 4; i++) {
            rc = image_ingest_jwt_verify(jwks, ok[k], len - i, JWT_NOW, 60,
                                         1, req, 2, NULL);
            CHECK(rc == IMAGE_INGEST_JWT_BAD_SIGNATURE
                  || rc == IMAGE_INGEST_JWT_MALFORMED);
        }

        /* every byte of the signature changed: refused */
        t = strdup(ok[k]);
        sig = strrchr(t, '.') - t + 1;

        for (i = sig; i < len; i++) {
            t[i] = (t[i] == 'A') ? 'B' : 'A';
            CHECK(verify(jwks, t) != IMAGE_INGEST_JWT_OK);
            t[i] = ok[k][i];
        }

        CHECK_INT(verify(jwks, t), IMAGE_INGEST_JWT_OK);
        free(t);
    }
}


UNIT_TEST(test_malformed)
{
    char    *t, *big;
    size_t   len;

    load_keys();

    len = strlen(jwt_hs256_ok);
    t = malloc(len + 8);

    /* '+' and '/' are base64, not base64url */
    strcpy(t, jwt_hs256_ok);
    t[3] = '+';
    CHECK_INT(verify(jwks, t), IMAGE_INGEST_JWT_MALFORMED);
    t[3] = '/';
    CHECK_INT(verify(jwks, t), IMAGE_INGEST_JWT_MALFORMED);

    /* padding */
    strcpy(t, jwt_hs256_ok);
    strcat(t, "=");
    CHECK_INT(verify(jwks, t), IMAGE_INGEST_JWT_MALFORMED);

    /* a fourth part; blanks */
    strcpy(t, jwt_hs256_ok);
    strcat(t, ".");
    CHECK_INT(verify(jwks, t), IMAGE_INGEST_JWT_MALFORMED);
    strcpy(t, jwt_hs256_ok);
    strcat(t, " ");
    CHECK_INT(verify(jwks, t), IMAGE_INGEST_JWT_MALFORMED);

    /* the signature's last character with non-zero unused bits: 32 bytes
     * are 43 characters whose last carries 4 bits, 2 unused */
    strcpy(t, jwt_hs256_ok);
    t[len - 1] = (t[len - 1] == 'A') ? 'B' : t[len - 1] + 1;
    CHECK(verify(jwks, t) != IMAGE_INGEST_JWT_OK);

    CHECK_INT(verify(jwks, ""), IMAGE_INGEST_JWT_MALFORMED);
    CHECK_INT(verify(jwks, ".."), IMAGE_INGEST_JWT_MALFORMED);
    CHECK_INT(verify(jwks, "e30.e30."), IMAGE_INGEST_JWT_MALFORMED);
    CHECK_INT(verify(jwks, "W10.e30.AAAA"), IMAGE_INGEST_JWT_MALFORMED);
    CHECK_INT(verify(jwks, "bm90IGpzb24.e30.AAAA"),
              IMAGE_INGEST_JWT_MALFORMED);

    free(t);

    big = malloc(IMAGE_INGEST_JWT_MAX_TOKEN + 2);
    memset(big, 'A', IMAGE_INGEST_JWT_MAX_TOKEN + 1);
    big[IMAGE_INGEST_JWT_MAX_TOKEN + 1] = '\0';
    CHECK_INT(verify(jwks, big), IMAGE_INGEST_JWT_TOO_LONG);
    free(big);
}


/* time per verification (signature, claims), printed for the docs */

UNIT_TEST(test_bench)
{
    int              i, k, n;
    double           us;
    struct timespec  t0, t1;
    const char      *name[] = { "RS256", "ES256", "HS256" };
    const char      *tok[] = { jwt_rs256_ok, jwt_es256_ok, jwt_hs256_ok };

    load_keys();

    n = 500;

    for (k = 0; k < 3; k++) {
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);

        for (i = 0; i < n; i++) {
            CHECK_INT(verify(jwks, tok[k]), IMAGE_INGEST_JWT_OK);
        }

        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);

        us = ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec))
             / 1e3 / n;
        printf("# bench: %s verify (%zu-byte token, 3-key JWKS): %.1f us "
               "CPU\n", name[k], strlen(tok[k]), us);
    }
}


UNIT_TEST(test_reasons)
{
    int  i, j;

    for (i = 0; i < IMAGE_INGEST_JWT_NRESULTS; i++) {
        CHECK(image_ingest_jwt_reason(i) != NULL);

        for (j = 0; j < i; j++) {
            CHECK(strcmp(image_ingest_jwt_reason(i),
                         image_ingest_jwt_reason(j)) != 0);
        }
    }

    CHECK_STR(image_ingest_jwt_reason(IMAGE_INGEST_JWT_ALG_NONE),
              "alg none refused");
    CHECK_STR(image_ingest_jwt_reason(IMAGE_INGEST_JWT_NRESULTS),
              "unknown error");

    image_ingest_jwt_keys_free(jwks);
    image_ingest_jwt_keys_free(jwks_rsa);
    image_ingest_jwt_keys_free(hs_keys);
    jwks = NULL;
}


UNIT_MAIN(test_keys, test_accepted, test_time, test_claims, test_refused,
          test_confusion, test_tampered, test_malformed, test_bench,
          test_reasons)
