
/*
 * Presigned upload URLs: the app, having checked its user, hands out
 *
 *     PUT /upload/avatar?expires=<unix time>&s=<signature>
 *
 * where s is base64url(HMAC-SHA256(key, canonical)) without padding and
 * the canonical string is
 *
 *     <METHOD> "\n" <path exactly as sent, before "?"> "\n" <expires>
 *
 * e.g. "PUT\n/upload/avatar\n1767225600".  The HMAC and its encoding are
 * image_variant_sign()'s.  No nginx types.
 */


#ifndef _IMAGE_INGEST_SIGN_H_INCLUDED_
#define _IMAGE_INGEST_SIGN_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


#define IMAGE_INGEST_SIGN_OK         0
#define IMAGE_INGEST_SIGN_MISSING    1    /* no expires or no s */
#define IMAGE_INGEST_SIGN_BAD        2    /* malformed, or the wrong HMAC */
#define IMAGE_INGEST_SIGN_EXPIRED    3
#define IMAGE_INGEST_SIGN_TOO_LONG   4    /* expires beyond now + max_age */

/* a longer method, path or expires has no canonical string */
#define IMAGE_INGEST_SIGN_MAX_LEN    8192


/*
 * Writes the canonical string and a NUL to out; returns its length, or 0
 * when it does not fit in out_len (or has no canonical string: a method
 * or path holding "\n", expires not 1 to 19 decimal digits).
 */
size_t image_ingest_sign_canonical(const char *method, size_t method_len,
    const char *path, size_t path_len, const char *expires,
    size_t expires_len, char *out, size_t out_len);

/*
 * Checks the query string args of a request.  "expires" and "s" must
 * each appear exactly once (other arguments are ignored, not signed);
 * expires is decimal digits, s the 43 characters of the signature.
 * EXPIRED when now > expires; TOO_LONG when expires > now + max_age
 * (a URL signed for too long); max_age 0: no such limit.  The HMAC is
 * compared first, in constant time: only a genuine URL gets to EXPIRED
 * or TOO_LONG.
 */
int image_ingest_sign_check(const uint8_t *key, size_t key_len,
    const char *method, size_t method_len, const char *path,
    size_t path_len, const char *args, size_t args_len, int64_t now,
    int64_t max_age);

/* a readable word for a result, for logs and error bodies */
const char *image_ingest_sign_error(int rc);


#endif /* _IMAGE_INGEST_SIGN_H_INCLUDED_ */
