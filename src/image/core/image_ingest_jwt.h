
/*
 * JWT verification for uploads: a compact JWS (RFC 7515) checked against
 * a key set, then its claims (RFC 7519).  No nginx types; libcrypto and
 * cJSON.
 *
 * Keys come from a JWKS document ({"keys": [...]}: RSA "n"/"e", EC P-256
 * "crv"/"x"/"y", oct "k"; "kid", "alg" and "use" honoured) or from a raw
 * HS256 secret (the bytes of a file, trailing newlines trimmed).  Keys of
 * other types, curves or uses are skipped, as identity providers publish
 * encryption keys next to signing ones.
 *
 * Algorithms: RS256, ES256 (the JOSE r||s signature), HS256.  "none" is
 * refused, and so is a token whose alg does not match the type of the
 * key it names: an HS256 token is only ever checked with an oct secret,
 * never with an RSA or EC key's material.  A "kid" picks its key (one not
 * in the set is UNKNOWN_KID); without one, every key of the alg's type is
 * tried.
 *
 * Time is the caller's: now and leeway in seconds.  Pure functions; a key
 * set is read-only once built and may be shared by threads.
 */


#ifndef _IMAGE_INGEST_JWT_H_INCLUDED_
#define _IMAGE_INGEST_JWT_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


/* limits: a longer token or JWKS is refused before any parsing */
#define IMAGE_INGEST_JWT_MAX_TOKEN   8192
#define IMAGE_INGEST_JWT_MAX_JWKS    (256 * 1024)
#define IMAGE_INGEST_JWT_MAX_KEYS    64
/* an RSA modulus shorter or longer is refused when the keys are loaded
 * (a huge one would make every verification slow) */
#define IMAGE_INGEST_JWT_MIN_RSA_BITS  2048
#define IMAGE_INGEST_JWT_MAX_RSA_BITS  8192
/* an HS256 secret shorter than the hash (RFC 7518, 3.2) is refused */
#define IMAGE_INGEST_JWT_MIN_HMAC    32


typedef enum {
    IMAGE_INGEST_JWT_OK = 0,
    IMAGE_INGEST_JWT_MALFORMED,        /* not 3 base64url parts, bad JSON */
    IMAGE_INGEST_JWT_TOO_LONG,
    IMAGE_INGEST_JWT_ALG_NONE,
    IMAGE_INGEST_JWT_UNSUPPORTED_ALG,  /* or a "crit" header */
    IMAGE_INGEST_JWT_ALG_KEY_MISMATCH, /* no key of the alg's type */
    IMAGE_INGEST_JWT_UNKNOWN_KID,
    IMAGE_INGEST_JWT_BAD_SIGNATURE,
    IMAGE_INGEST_JWT_BAD_CLAIM,        /* exp/nbf not a number */
    IMAGE_INGEST_JWT_EXPIRED,
    IMAGE_INGEST_JWT_NOT_YET_VALID,
    IMAGE_INGEST_JWT_MISSING_CLAIM,    /* a required claim absent */
    IMAGE_INGEST_JWT_CLAIM_MISMATCH,
    IMAGE_INGEST_JWT_NO_MEMORY,
    IMAGE_INGEST_JWT_NRESULTS
} image_ingest_jwt_rc_e;


typedef struct image_ingest_jwt_keys_s  image_ingest_jwt_keys_t;
typedef struct image_ingest_jwt_s       image_ingest_jwt_t;


/* a required claim: name and value as text */
typedef struct {
    const char  *name;
    const char  *value;
} image_ingest_jwt_require_t;


/*
 * A key set from a JWKS document of len bytes (not NUL-terminated).
 * NULL on error, with a message in err (printable ASCII, NUL-terminated):
 * not JSON, no "keys" array, a usable-looking key that is broken (an RSA
 * modulus too short, an EC point not on the curve), or no usable key.
 */
image_ingest_jwt_keys_t *image_ingest_jwt_keys_jwks(const char *json,
    size_t len, char *err, size_t err_len);

/*
 * A key set of one HS256 secret: the bytes given, trailing "\n" and "\r"
 * trimmed (a file written by echo).  NULL when shorter than
 * IMAGE_INGEST_JWT_MIN_HMAC after trimming.  A token's "kid" is ignored
 * with such a set: the one secret is the key.
 */
image_ingest_jwt_keys_t *image_ingest_jwt_keys_hs256(const uint8_t *secret,
    size_t len, char *err, size_t err_len);

size_t image_ingest_jwt_keys_count(const image_ingest_jwt_keys_t *keys);
void image_ingest_jwt_keys_free(image_ingest_jwt_keys_t *keys);


/*
 * Verifies token (len bytes, not NUL-terminated): its signature with keys,
 * then "exp" (now >= exp + leeway: EXPIRED) and "nbf" (nbf > now + leeway:
 * NOT_YET_VALID) when present, "exp" required when require_exp, and each
 * required claim: a string claim equal to its value, a number claim whose
 * decimal text (integers without a fraction) equals it, "aud" an array
 * of which any string equals it.  Claims are looked at only once the
 * signature holds.  On OK and when out is not NULL, *out receives the
 * verified token (free it with image_ingest_jwt_free()).
 */
image_ingest_jwt_rc_e image_ingest_jwt_verify(
    const image_ingest_jwt_keys_t *keys, const char *token, size_t len,
    int64_t now, int64_t leeway, int require_exp,
    const image_ingest_jwt_require_t *require, size_t nrequire,
    image_ingest_jwt_t **out);

/* a short lowercase reason for logs and a JSON error, never NULL */
const char *image_ingest_jwt_reason(image_ingest_jwt_rc_e rc);


/*
 * The verified payload's top-level string and number claims, in token
 * order: count, the i-th name and value as text (numbers: an integer in
 * decimal, others the shortest of "%.15g" and "%.17g" that reads back
 * as the same double), and the value of a claim by name (NULL when
 * absent or neither string nor number).  Strings live as long as jwt.
 */
size_t image_ingest_jwt_claims(const image_ingest_jwt_t *jwt);
int image_ingest_jwt_claim_at(const image_ingest_jwt_t *jwt, size_t i,
    const char **name, const char **value);
const char *image_ingest_jwt_claim(const image_ingest_jwt_t *jwt,
    const char *name);
/* the alg and kid ("" when none) of the verified header */
const char *image_ingest_jwt_alg(const image_ingest_jwt_t *jwt);
const char *image_ingest_jwt_kid(const image_ingest_jwt_t *jwt);

void image_ingest_jwt_free(image_ingest_jwt_t *jwt);


#endif /* _IMAGE_INGEST_JWT_H_INCLUDED_ */
