
/*
 * JWT verification; see the header.  Keys are built with OpenSSL 3's
 * EVP_PKEY_fromdata(); JSON is cJSON's, with duplicate member names
 * refused in a token (two "aud" would let a reader pick either).
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>

#include <cjson/cJSON.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>

#include "image_ingest_jwt.h"


#define JWT_ALG_RS256  1
#define JWT_ALG_ES256  2
#define JWT_ALG_HS256  3

#define JWT_KTY_RSA    1
#define JWT_KTY_EC     2
#define JWT_KTY_OCT    3


typedef struct {
    int            kty;
    int            alg;          /* 0: any alg of the key's type */
    char          *kid;          /* NULL: none */
    EVP_PKEY      *pkey;         /* RSA, EC */
    uint8_t       *secret;       /* oct */
    size_t         secret_len;
} jwt_key_t;


struct image_ingest_jwt_keys_s {
    size_t         n;
    int            any_kid;      /* a bare secret: a token's kid ignored */
    jwt_key_t      key[IMAGE_INGEST_JWT_MAX_KEYS];
};


struct image_ingest_jwt_s {
    cJSON         *payload;
    size_t         n;
    char         **names;
    char         **values;
    char           alg[8];
    char          *kid;
};


static const char  *jwt_reasons[IMAGE_INGEST_JWT_NRESULTS] = {
    "ok",
    "malformed token",
    "token too long",
    "alg none refused",
    "unsupported alg",
    "alg does not match the key type",
    "unknown kid",
    "bad signature",
    "bad exp or nbf claim",
    "token expired",
    "token not yet valid",
    "required claim missing",
    "claim mismatch",
    "out of memory"
};


static ssize_t jwt_b64url_decode(const char *in, size_t len, uint8_t *out);
static int jwt_alg(const char *name);
static int jwt_alg_kty(int alg);
static int jwt_key_jwk(const cJSON *jwk, jwt_key_t *key, char *err,
    size_t err_len);
static EVP_PKEY *jwt_pkey_rsa(const uint8_t *n, size_t n_len,
    const uint8_t *e, size_t e_len);
static EVP_PKEY *jwt_pkey_ec(const uint8_t *x, const uint8_t *y);
static uint8_t *jwt_b64url_member(const cJSON *obj, const char *name,
    size_t *len);
static const char *jwt_printable(const char *s, char *buf, size_t len);
static void jwt_key_free(jwt_key_t *key);
static int jwt_key_verify(const jwt_key_t *key, int alg,
    const uint8_t *data, size_t data_len, const uint8_t *sig,
    size_t sig_len);
static cJSON *jwt_parse_object(const uint8_t *text, size_t len);
static int jwt_claim_matches(const cJSON *claim, const char *value);
static int jwt_number_text(double v, char *buf, size_t len);
static image_ingest_jwt_rc_e jwt_result(const cJSON *header, cJSON *payload,
    int alg, image_ingest_jwt_t **out);


static const signed char  jwt_b64url[256] = {
    ['A'] = 1, ['B'] = 2, ['C'] = 3, ['D'] = 4, ['E'] = 5, ['F'] = 6,
    ['G'] = 7, ['H'] = 8, ['I'] = 9, ['J'] = 10, ['K'] = 11, ['L'] = 12,
    ['M'] = 13, ['N'] = 14, ['O'] = 15, ['P'] = 16, ['Q'] = 17,
    ['R'] = 18, ['S'] = 19, ['T'] = 20, ['U'] = 21, ['V'] = 22,
    ['W'] = 23, ['X'] = 24, ['Y'] = 25, ['Z'] = 26,
    ['a'] = 27, ['b'] = 28, ['c'] = 29, ['d'] = 30, ['e'] = 31,
    ['f'] = 32, ['g'] = 33, ['h'] = 34, ['i'] = 35, ['j'] = 36,
    ['k'] = 37, ['l'] = 38, ['m'] = 39, ['n'] = 40, ['o'] = 41,
    ['p'] = 42, ['q'] = 43, ['r'] = 44, ['s'] = 45, ['t'] = 46,
    ['u'] = 47, ['v'] = 48, ['w'] = 49, ['x'] = 50, ['y'] = 51,
    ['z'] = 52, ['0'] = 53, ['1'] = 54, ['2'] = 55, ['3'] = 56,
    ['4'] = 57, ['5'] = 58, ['6'] = 59, ['7'] = 60, ['8'] = 61,
    ['9'] = 62, ['-'] = 63, ['_'] = 64
};


/*
 * Strict base64url (RFC 4648, 5) without padding: the alphabet only, no
 * length of 4k+1, and the unused low bits of the last character zero (one
 * encoding per byte string).  out holds len * 3 / 4 bytes; returns the
 * decoded length or -1.
 */

static ssize_t
jwt_b64url_decode(const char *in, size_t len, uint8_t *out)
{
    int       v;
    size_t    i, o;
    uint32_t  acc;
    unsigned  bits;

    if (len % 4 == 1) {
        return -1;
    }

    acc = 0;
    bits = 0;
    o = 0;

    for (i = 0; i < len; i++) {
        v = jwt_b64url[(unsigned char) in[i]];
        if (v == 0) {
            return -1;
        }

        acc = (acc << 6) | (uint32_t) (v - 1);
        bits += 6;

        if (bits >= 8) {
            bits -= 8;
            out[o++] = (uint8_t) (acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }

    if (acc != 0) {
        return -1;
    }

    return (ssize_t) o;
}


static int
jwt_alg(const char *name)
{
    if (strcmp(name, "RS256") == 0) {
        return JWT_ALG_RS256;
    }

    if (strcmp(name, "ES256") == 0) {
        return JWT_ALG_ES256;
    }

    if (strcmp(name, "HS256") == 0) {
        return JWT_ALG_HS256;
    }

    return 0;
}


static int
jwt_alg_kty(int alg)
{
    switch (alg) {
    case JWT_ALG_RS256:
        return JWT_KTY_RSA;
    case JWT_ALG_ES256:
        return JWT_KTY_EC;
    default:
        return JWT_KTY_OCT;
    }
}


image_ingest_jwt_keys_t *
image_ingest_jwt_keys_jwks(const char *json, size_t len, char *err,
    size_t err_len)
{
    int                       rc;
    cJSON                    *doc, *list, *jwk;
    image_ingest_jwt_keys_t  *keys;

    if (len > IMAGE_INGEST_JWT_MAX_JWKS) {
        snprintf(err, err_len, "JWKS longer than %d bytes",
                 IMAGE_INGEST_JWT_MAX_JWKS);
        return NULL;
    }

    doc = cJSON_ParseWithLength(json, len);
    if (doc == NULL || !cJSON_IsObject(doc)) {
        cJSON_Delete(doc);
        snprintf(err, err_len, "JWKS is not a JSON object");
        return NULL;
    }

    list = cJSON_GetObjectItemCaseSensitive(doc, "keys");
    if (!cJSON_IsArray(list)) {
        cJSON_Delete(doc);
        snprintf(err, err_len, "JWKS has no \"keys\" array");
        return NULL;
    }

    keys = calloc(1, sizeof(image_ingest_jwt_keys_t));
    if (keys == NULL) {
        cJSON_Delete(doc);
        snprintf(err, err_len, "out of memory");
        return NULL;
    }

    cJSON_ArrayForEach(jwk, list) {
        if (keys->n == IMAGE_INGEST_JWT_MAX_KEYS) {
            snprintf(err, err_len, "JWKS has more than %d keys",
                     IMAGE_INGEST_JWT_MAX_KEYS);
            goto failed;
        }

        rc = jwt_key_jwk(jwk, &keys->key[keys->n], err, err_len);
        if (rc < 0) {
            goto failed;
        }

        if (rc == 1) {
            keys->n++;
        }
    }

    cJSON_Delete(doc);

    if (keys->n == 0) {
        image_ingest_jwt_keys_free(keys);
        snprintf(err, err_len,
                 "JWKS has no RS256, ES256 or HS256 signing key");
        return NULL;
    }

    return keys;

failed:

    cJSON_Delete(doc);
    image_ingest_jwt_keys_free(keys);
    return NULL;
}


/*
 * One JWK: 1 when loaded into key, 0 when skipped (another type, curve,
 * alg or use), -1 when broken.
 */

static int
jwt_key_jwk(const cJSON *jwk, jwt_key_t *key, char *err, size_t err_len)
{
    int           kty, alg;
    char          kid[48];
    size_t        n_len, e_len, x_len, y_len;
    cJSON        *item;
    uint8_t      *n, *e, *x, *y;
    const char   *s;

    if (!cJSON_IsObject(jwk)) {
        snprintf(err, err_len, "a JWKS key is not an object");
        return -1;
    }

    item = cJSON_GetObjectItemCaseSensitive(jwk, "kty");
    if (!cJSON_IsString(item)) {
        snprintf(err, err_len, "a JWKS key has no \"kty\"");
        return -1;
    }

    s = item->valuestring;

    if (strcmp(s, "RSA") == 0) {
        kty = JWT_KTY_RSA;

    } else if (strcmp(s, "EC") == 0) {
        kty = JWT_KTY_EC;

    } else if (strcmp(s, "oct") == 0) {
        kty = JWT_KTY_OCT;

    } else {
        return 0;
    }

    item = cJSON_GetObjectItemCaseSensitive(jwk, "use");
    if (item != NULL
        && (!cJSON_IsString(item) || strcmp(item->valuestring, "sig") != 0))
    {
        return 0;
    }

    alg = 0;
    item = cJSON_GetObjectItemCaseSensitive(jwk, "alg");
    if (item != NULL) {
        if (!cJSON_IsString(item)) {
            return 0;
        }

        alg = jwt_alg(item->valuestring);
        if (alg == 0 || jwt_alg_kty(alg) != kty) {
            return 0;
        }
    }

    if (kty == JWT_KTY_EC) {
        item = cJSON_GetObjectItemCaseSensitive(jwk, "crv");
        if (!cJSON_IsString(item) || strcmp(item->valuestring, "P-256") != 0)
        {
            return 0;
        }
    }

    memset(key, 0, sizeof(jwt_key_t));
    key->kty = kty;
    key->alg = alg;

    item = cJSON_GetObjectItemCaseSensitive(jwk, "kid");
    if (item != NULL) {
        if (!cJSON_IsString(item)) {
            snprintf(err, err_len, "a JWKS key's \"kid\" is not a string");
            return -1;
        }

        key->kid = strdup(item->valuestring);
        if (key->kid == NULL) {
            snprintf(err, err_len, "out of memory");
            return -1;
        }
    }

    jwt_printable(key->kid, kid, sizeof(kid));

    switch (kty) {

    case JWT_KTY_RSA:
        n = jwt_b64url_member(jwk, "n", &n_len);
        e = jwt_b64url_member(jwk, "e", &e_len);

        if (n != NULL && e != NULL && e_len <= 8) {
            key->pkey = jwt_pkey_rsa(n, n_len, e, e_len);
        }

        free(n);
        free(e);

        if (key->pkey == NULL) {
            snprintf(err, err_len, "RSA key \"%s\": bad \"n\" or \"e\"", kid);
            goto failed;
        }

        if (EVP_PKEY_get_bits(key->pkey) < IMAGE_INGEST_JWT_MIN_RSA_BITS) {
            snprintf(err, err_len, "RSA key \"%s\": shorter than %d bits",
                     kid, IMAGE_INGEST_JWT_MIN_RSA_BITS);
            goto failed;
        }

        if (EVP_PKEY_get_bits(key->pkey) > IMAGE_INGEST_JWT_MAX_RSA_BITS) {
            snprintf(err, err_len, "RSA key \"%s\": longer than %d bits",
                     kid, IMAGE_INGEST_JWT_MAX_RSA_BITS);
            goto failed;
        }

        break;

    case JWT_KTY_EC:
        x = jwt_b64url_member(jwk, "x", &x_len);
        y = jwt_b64url_member(jwk, "y", &y_len);

        if (x != NULL && y != NULL && x_len == 32 && y_len == 32) {
            key->pkey = jwt_pkey_ec(x, y);
        }

        free(x);
        free(y);

        if (key->pkey == NULL) {
            snprintf(err, err_len,
                     "EC key \"%s\": bad \"x\" or \"y\" for P-256", kid);
            goto failed;
        }

        break;

    default: /* JWT_KTY_OCT */
        key->secret = jwt_b64url_member(jwk, "k", &key->secret_len);

        if (key->secret == NULL) {
            snprintf(err, err_len, "oct key \"%s\": bad \"k\"", kid);
            goto failed;
        }

        if (key->secret_len < IMAGE_INGEST_JWT_MIN_HMAC) {
            snprintf(err, err_len, "oct key \"%s\": shorter than %d bytes",
                     kid, IMAGE_INGEST_JWT_MIN_HMAC);
            goto failed;
        }

        break;
    }

    return 1;

failed:

    ERR_clear_error();
    jwt_key_free(key);
    return -1;
}


/*
 * A kid for a message: at most len - 1 bytes, printable ASCII ("?" for
 * anything else, "..." when cut), "" for none.
 */

static const char *
jwt_printable(const char *s, char *buf, size_t len)
{
    size_t  i;

    for (i = 0; s != NULL && s[i] != '\0' && i + 1 < len; i++) {
        buf[i] = (s[i] >= 0x20 && s[i] <= 0x7e && s[i] != '"') ? s[i] : '?';
    }

    if (s != NULL && s[i] != '\0' && i >= 3) {
        memcpy(buf + i - 3, "...", 3);
    }

    buf[i] = '\0';

    return buf;
}


/* a base64url string member, decoded into a malloc()ed buffer */

static uint8_t *
jwt_b64url_member(const cJSON *obj, const char *name, size_t *len)
{
    size_t    slen;
    ssize_t   n;
    cJSON    *item;
    uint8_t  *buf;

    item = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (!cJSON_IsString(item)) {
        return NULL;
    }

    slen = strlen(item->valuestring);
    if (slen == 0) {
        return NULL;
    }

    buf = malloc(slen * 3 / 4 + 1);
    if (buf == NULL) {
        return NULL;
    }

    n = jwt_b64url_decode(item->valuestring, slen, buf);
    if (n <= 0) {
        free(buf);
        return NULL;
    }

    *len = (size_t) n;
    return buf;
}


static EVP_PKEY *
jwt_pkey_rsa(const uint8_t *n, size_t n_len, const uint8_t *e, size_t e_len)
{
    BIGNUM          *bn_n, *bn_e;
    EVP_PKEY        *pkey;
    OSSL_PARAM      *params;
    EVP_PKEY_CTX    *ctx;
    OSSL_PARAM_BLD  *bld;

    pkey = NULL;
    params = NULL;
    ctx = NULL;

    bn_n = BN_bin2bn(n, (int) n_len, NULL);
    bn_e = BN_bin2bn(e, (int) e_len, NULL);
    bld = OSSL_PARAM_BLD_new();

    if (bn_n == NULL || bn_e == NULL || bld == NULL
        || !BN_is_odd(bn_e) || BN_is_one(bn_e)
        || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n)
        || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e))
    {
        goto done;
    }

    params = OSSL_PARAM_BLD_to_param(bld);
    ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);

    if (params == NULL || ctx == NULL
        || EVP_PKEY_fromdata_init(ctx) != 1
        || EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
    {
        EVP_PKEY_free(pkey);
        pkey = NULL;
    }

done:

    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(bn_n);
    BN_free(bn_e);

    return pkey;
}


/* a P-256 public key from its coordinates; NULL when not on the curve */

static EVP_PKEY *
jwt_pkey_ec(const uint8_t *x, const uint8_t *y)
{
    uint8_t          point[65];
    EVP_PKEY        *pkey;
    OSSL_PARAM      *params;
    EVP_PKEY_CTX    *ctx, *check;
    OSSL_PARAM_BLD  *bld;

    pkey = NULL;
    params = NULL;
    ctx = NULL;

    point[0] = 0x04;
    memcpy(point + 1, x, 32);
    memcpy(point + 33, y, 32);

    bld = OSSL_PARAM_BLD_new();

    if (bld == NULL
        || !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
                                            "prime256v1", 0)
        || !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY,
                                             point, sizeof(point)))
    {
        goto done;
    }

    params = OSSL_PARAM_BLD_to_param(bld);
    ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);

    if (params == NULL || ctx == NULL
        || EVP_PKEY_fromdata_init(ctx) != 1
        || EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
    {
        EVP_PKEY_free(pkey);
        pkey = NULL;
        goto done;
    }

    check = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);

    if (check == NULL || EVP_PKEY_public_check(check) != 1) {
        EVP_PKEY_free(pkey);
        pkey = NULL;
    }

    EVP_PKEY_CTX_free(check);

done:

    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);

    return pkey;
}


image_ingest_jwt_keys_t *
image_ingest_jwt_keys_hs256(const uint8_t *secret, size_t len, char *err,
    size_t err_len)
{
    image_ingest_jwt_keys_t  *keys;

    while (len > 0 && (secret[len - 1] == '\n' || secret[len - 1] == '\r')) {
        len--;
    }

    if (len < IMAGE_INGEST_JWT_MIN_HMAC) {
        snprintf(err, err_len, "HS256 secret shorter than %d bytes",
                 IMAGE_INGEST_JWT_MIN_HMAC);
        return NULL;
    }

    keys = calloc(1, sizeof(image_ingest_jwt_keys_t));
    if (keys == NULL) {
        snprintf(err, err_len, "out of memory");
        return NULL;
    }

    keys->key[0].secret = malloc(len);
    if (keys->key[0].secret == NULL) {
        free(keys);
        snprintf(err, err_len, "out of memory");
        return NULL;
    }

    memcpy(keys->key[0].secret, secret, len);
    keys->key[0].secret_len = len;
    keys->key[0].kty = JWT_KTY_OCT;
    keys->key[0].alg = JWT_ALG_HS256;
    keys->n = 1;
    keys->any_kid = 1;

    return keys;
}


size_t
image_ingest_jwt_keys_count(const image_ingest_jwt_keys_t *keys)
{
    return keys->n;
}


static void
jwt_key_free(jwt_key_t *key)
{
    free(key->kid);
    EVP_PKEY_free(key->pkey);

    if (key->secret != NULL) {
        OPENSSL_cleanse(key->secret, key->secret_len);
        free(key->secret);
    }

    memset(key, 0, sizeof(jwt_key_t));
}


void
image_ingest_jwt_keys_free(image_ingest_jwt_keys_t *keys)
{
    size_t  i;

    if (keys == NULL) {
        return;
    }

    for (i = 0; i < keys->n; i++) {
        jwt_key_free(&keys->key[i]);
    }

    free(keys);
}


image_ingest_jwt_rc_e
image_ingest_jwt_verify(const image_ingest_jwt_keys_t *keys,
    const char *token, size_t len, int64_t now, int64_t leeway,
    int require_exp, const image_ingest_jwt_require_t *require,
    size_t nrequire, image_ingest_jwt_t **out)
{
    int                     alg, verified;
    size_t                  i, tried, named;
    double                  t;
    cJSON                  *header, *payload, *item, *kid;
    ssize_t                 hlen, plen, slen;
    uint8_t                *buf, *h, *p, *s;
    const char             *dot1, *dot2, *name;
    const jwt_key_t        *key;
    image_ingest_jwt_rc_e   rc;

    if (out != NULL) {
        *out = NULL;
    }

    if (len > IMAGE_INGEST_JWT_MAX_TOKEN) {
        return IMAGE_INGEST_JWT_TOO_LONG;
    }

    dot1 = memchr(token, '.', len);
    if (dot1 == NULL) {
        return IMAGE_INGEST_JWT_MALFORMED;
    }

    dot2 = memchr(dot1 + 1, '.', token + len - (dot1 + 1));
    if (dot2 == NULL
        || memchr(dot2 + 1, '.', token + len - (dot2 + 1)) != NULL
        || dot1 == token || dot2 == dot1 + 1)
    {
        return IMAGE_INGEST_JWT_MALFORMED;
    }

    buf = malloc(len + 3);
    if (buf == NULL) {
        return IMAGE_INGEST_JWT_NO_MEMORY;
    }

    header = NULL;
    payload = NULL;

    h = buf;
    hlen = jwt_b64url_decode(token, dot1 - token, h);
    p = h + (hlen < 0 ? 0 : hlen) + 1;
    plen = jwt_b64url_decode(dot1 + 1, dot2 - (dot1 + 1), p);
    s = p + (plen < 0 ? 0 : plen) + 1;
    slen = jwt_b64url_decode(dot2 + 1, token + len - (dot2 + 1), s);

    if (hlen <= 0 || plen <= 0 || slen < 0) {
        rc = IMAGE_INGEST_JWT_MALFORMED;
        goto done;
    }

    header = jwt_parse_object(h, hlen);
    if (header == NULL) {
        rc = IMAGE_INGEST_JWT_MALFORMED;
        goto done;
    }

    item = cJSON_GetObjectItemCaseSensitive(header, "alg");
    if (!cJSON_IsString(item)) {
        rc = IMAGE_INGEST_JWT_MALFORMED;
        goto done;
    }

    if (strcasecmp(item->valuestring, "none") == 0) {
        rc = IMAGE_INGEST_JWT_ALG_NONE;
        goto done;
    }

    alg = jwt_alg(item->valuestring);
    if (alg == 0 || cJSON_GetObjectItemCaseSensitive(header, "crit") != NULL)
    {
        rc = IMAGE_INGEST_JWT_UNSUPPORTED_ALG;
        goto done;
    }

    kid = cJSON_GetObjectItemCaseSensitive(header, "kid");
    if (kid != NULL && !cJSON_IsString(kid)) {
        rc = IMAGE_INGEST_JWT_MALFORMED;
        goto done;
    }

    /* the signing input: the first two parts exactly as sent */

    verified = 0;
    tried = 0;
    named = 0;

    for (i = 0; i < keys->n && !verified; i++) {
        key = &keys->key[i];

        if (kid != NULL && !keys->any_kid) {
            if (key->kid == NULL || strcmp(key->kid, kid->valuestring) != 0)
            {
                continue;
            }

            named++;
        }

        if (key->kty != jwt_alg_kty(alg)
            || (key->alg != 0 && key->alg != alg))
        {
            continue;
        }

        tried++;

        verified = jwt_key_verify(key, alg, (const uint8_t *) token,
                                  dot2 - token, s, slen);
    }

    if (!verified) {
        if (kid != NULL && !keys->any_kid && named == 0) {
            rc = IMAGE_INGEST_JWT_UNKNOWN_KID;

        } else if (tried == 0) {
            rc = IMAGE_INGEST_JWT_ALG_KEY_MISMATCH;

        } else {
            rc = IMAGE_INGEST_JWT_BAD_SIGNATURE;
        }

        goto done;
    }

    /* the claims, now that they are the signer's */

    payload = jwt_parse_object(p, plen);
    if (payload == NULL) {
        rc = IMAGE_INGEST_JWT_MALFORMED;
        goto done;
    }

    item = cJSON_GetObjectItemCaseSensitive(payload, "exp");
    if (item != NULL) {
        t = item->valuedouble;

        if (!cJSON_IsNumber(item) || !(t > -1e18 && t < 1e18)) {
            rc = IMAGE_INGEST_JWT_BAD_CLAIM;
            goto done;
        }

        if ((double) now >= t + (double) leeway) {
            rc = IMAGE_INGEST_JWT_EXPIRED;
            goto done;
        }

    } else if (require_exp) {
        rc = IMAGE_INGEST_JWT_MISSING_CLAIM;
        goto done;
    }

    item = cJSON_GetObjectItemCaseSensitive(payload, "nbf");
    if (item != NULL) {
        t = item->valuedouble;

        if (!cJSON_IsNumber(item) || !(t > -1e18 && t < 1e18)) {
            rc = IMAGE_INGEST_JWT_BAD_CLAIM;
            goto done;
        }

        if (t > (double) now + (double) leeway) {
            rc = IMAGE_INGEST_JWT_NOT_YET_VALID;
            goto done;
        }
    }

    for (i = 0; i < nrequire; i++) {
        name = require[i].name;
        item = cJSON_GetObjectItemCaseSensitive(payload, name);

        if (item == NULL) {
            rc = IMAGE_INGEST_JWT_MISSING_CLAIM;
            goto done;
        }

        if (!jwt_claim_matches(item, require[i].value)) {
            rc = IMAGE_INGEST_JWT_CLAIM_MISMATCH;
            goto done;
        }
    }

    rc = IMAGE_INGEST_JWT_OK;

    if (out != NULL) {
        rc = jwt_result(header, payload, alg, out);
        if (rc == IMAGE_INGEST_JWT_OK) {
            payload = NULL;
        }
    }

done:

    ERR_clear_error();
    cJSON_Delete(header);
    cJSON_Delete(payload);
    free(buf);

    return rc;
}


static int
jwt_key_verify(const jwt_key_t *key, int alg, const uint8_t *data,
    size_t data_len, const uint8_t *sig, size_t sig_len)
{
    int             ok, der_len;
    BIGNUM         *r, *s;
    uint8_t         mac[EVP_MAX_MD_SIZE], *der;
    unsigned        mac_len;
    ECDSA_SIG      *es;
    EVP_MD_CTX     *md;

    if (alg == JWT_ALG_HS256) {
        if (sig_len != 32
            || HMAC(EVP_sha256(), key->secret, (int) key->secret_len, data,
                    data_len, mac, &mac_len) == NULL
            || mac_len != 32)
        {
            return 0;
        }

        return CRYPTO_memcmp(mac, sig, 32) == 0;
    }

    der = NULL;
    der_len = 0;

    if (alg == JWT_ALG_ES256) {
        if (sig_len != 64) {
            return 0;
        }

        es = ECDSA_SIG_new();
        r = BN_bin2bn(sig, 32, NULL);
        s = BN_bin2bn(sig + 32, 32, NULL);

        if (es == NULL || r == NULL || s == NULL
            || ECDSA_SIG_set0(es, r, s) != 1)
        {
            BN_free(r);
            BN_free(s);
            ECDSA_SIG_free(es);
            return 0;
        }

        der_len = i2d_ECDSA_SIG(es, &der);
        ECDSA_SIG_free(es);

        if (der_len <= 0) {
            return 0;
        }

        sig = der;
        sig_len = (size_t) der_len;

    } else if (sig_len != (size_t) EVP_PKEY_get_size(key->pkey)) {
        return 0;
    }

    md = EVP_MD_CTX_new();

    ok = md != NULL
         && EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key->pkey) == 1
         && EVP_DigestVerify(md, sig, sig_len, data, data_len) == 1;

    EVP_MD_CTX_free(md);
    OPENSSL_free(der);

    return ok;
}


/*
 * A JSON object of exactly len bytes (whitespace around it allowed);
 * NULL when not, when two members share a name, or when a string holds
 * an escaped NUL (cJSON would cut the string there).
 */

static cJSON *
jwt_parse_object(const uint8_t *text, size_t len)
{
    size_t        i;
    cJSON        *obj, *a, *b;
    const char   *end, *t;

    t = (const char *) text;

    for (i = 0; i + 6 <= len; i++) {
        if (t[i] == '\\' && t[i + 1] == 'u' && memcmp(t + i + 2, "0000", 4)
            == 0)
        {
            return NULL;
        }
    }

    if (memchr(t, '\0', len) != NULL) {
        return NULL;
    }

    end = NULL;
    obj = cJSON_ParseWithLengthOpts(t, len, &end, 0);
    if (obj == NULL) {
        return NULL;
    }

    if (!cJSON_IsObject(obj) || end == NULL) {
        goto failed;
    }

    while (end < t + len) {
        if (*end != ' ' && *end != '\t' && *end != '\r' && *end != '\n') {
            goto failed;
        }

        end++;
    }

    for (a = obj->child; a != NULL; a = a->next) {
        for (b = a->next; b != NULL; b = b->next) {
            if (strcmp(a->string, b->string) == 0) {
                goto failed;
            }
        }
    }

    return obj;

failed:

    cJSON_Delete(obj);
    return NULL;
}


static int
jwt_claim_matches(const cJSON *claim, const char *value)
{
    char    num[32];
    cJSON  *item;

    if (cJSON_IsString(claim)) {
        return strcmp(claim->valuestring, value) == 0;
    }

    if (cJSON_IsNumber(claim)) {
        return jwt_number_text(claim->valuedouble, num, sizeof(num)) == 0
               && strcmp(num, value) == 0;
    }

    if (cJSON_IsArray(claim)) {
        cJSON_ArrayForEach(item, claim) {
            if (cJSON_IsString(item)
                && strcmp(item->valuestring, value) == 0)
            {
                return 1;
            }
        }
    }

    return 0;
}


/*
 * An integer as decimal digits; other numbers with 15 significant digits
 * when that reads back as the same double (0.1 is "0.1"), else 17.
 */

static int
jwt_number_text(double v, char *buf, size_t len)
{
    int  n;

    if (v > -9007199254740992.0 && v < 9007199254740992.0
        && (double) (long long) v == v)
    {
        n = snprintf(buf, len, "%lld", (long long) v);

    } else {
        n = snprintf(buf, len, "%.15g", v);

        if (n > 0 && (size_t) n < len && strtod(buf, NULL) != v) {
            n = snprintf(buf, len, "%.17g", v);
        }
    }

    return (n > 0 && (size_t) n < len) ? 0 : -1;
}


static image_ingest_jwt_rc_e
jwt_result(const cJSON *header, cJSON *payload, int alg,
    image_ingest_jwt_t **out)
{
    char                 num[32];
    size_t               n;
    cJSON               *item;
    const char          *value;
    image_ingest_jwt_t  *jwt;

    jwt = calloc(1, sizeof(image_ingest_jwt_t));
    if (jwt == NULL) {
        return IMAGE_INGEST_JWT_NO_MEMORY;
    }

    n = (size_t) cJSON_GetArraySize(payload);

    jwt->names = calloc(n + 1, sizeof(char *));
    jwt->values = calloc(n + 1, sizeof(char *));

    item = cJSON_GetObjectItemCaseSensitive(header, "kid");
    jwt->kid = strdup(cJSON_IsString(item) ? item->valuestring : "");

    if (jwt->names == NULL || jwt->values == NULL || jwt->kid == NULL) {
        goto failed;
    }

    strcpy(jwt->alg, alg == JWT_ALG_RS256 ? "RS256"
                     : alg == JWT_ALG_ES256 ? "ES256" : "HS256");

    cJSON_ArrayForEach(item, payload) {
        if (cJSON_IsString(item)) {
            value = item->valuestring;

        } else if (cJSON_IsNumber(item)
                   && jwt_number_text(item->valuedouble, num, sizeof(num))
                      == 0)
        {
            value = num;

        } else {
            continue;
        }

        jwt->names[jwt->n] = strdup(item->string);
        jwt->values[jwt->n] = strdup(value);
        jwt->n++;

        if (jwt->names[jwt->n - 1] == NULL
            || jwt->values[jwt->n - 1] == NULL)
        {
            goto failed;
        }
    }

    jwt->payload = payload;
    *out = jwt;

    return IMAGE_INGEST_JWT_OK;

failed:

    image_ingest_jwt_free(jwt);
    return IMAGE_INGEST_JWT_NO_MEMORY;
}


const char *
image_ingest_jwt_reason(image_ingest_jwt_rc_e rc)
{
    if ((unsigned) rc >= IMAGE_INGEST_JWT_NRESULTS) {
        return "unknown error";
    }

    return jwt_reasons[rc];
}


size_t
image_ingest_jwt_claims(const image_ingest_jwt_t *jwt)
{
    return jwt->n;
}


int
image_ingest_jwt_claim_at(const image_ingest_jwt_t *jwt, size_t i,
    const char **name, const char **value)
{
    if (i >= jwt->n) {
        return -1;
    }

    *name = jwt->names[i];
    *value = jwt->values[i];

    return 0;
}


const char *
image_ingest_jwt_claim(const image_ingest_jwt_t *jwt, const char *name)
{
    size_t  i;

    for (i = 0; i < jwt->n; i++) {
        if (strcmp(jwt->names[i], name) == 0) {
            return jwt->values[i];
        }
    }

    return NULL;
}


const char *
image_ingest_jwt_alg(const image_ingest_jwt_t *jwt)
{
    return jwt->alg;
}


const char *
image_ingest_jwt_kid(const image_ingest_jwt_t *jwt)
{
    return jwt->kid;
}


void
image_ingest_jwt_free(image_ingest_jwt_t *jwt)
{
    size_t  i;

    if (jwt == NULL) {
        return;
    }

    for (i = 0; i < jwt->n; i++) {
        free(jwt->names[i]);
        free(jwt->values[i]);
    }

    free(jwt->names);
    free(jwt->values);
    free(jwt->kid);
    cJSON_Delete(jwt->payload);
    free(jwt);
}
