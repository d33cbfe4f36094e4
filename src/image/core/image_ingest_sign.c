
/*
 * Presigned upload URLs; see the header.  The HMAC is the image variant
 * signature's (image_variant_sign()), over another canonical string.
 */


#include <string.h>

#include "image_variant_params.h"
#include "image_ingest_sign.h"


static int image_ingest_sign_arg(const char *args, size_t len,
    const char *name, size_t name_len, const char **value, size_t *vlen);


size_t
image_ingest_sign_canonical(const char *method, size_t method_len,
    const char *path, size_t path_len, const char *expires,
    size_t expires_len, char *out, size_t out_len)
{
    size_t  i, n;

    if (method_len == 0 || expires_len == 0 || expires_len > 19
        || memchr(method, '\n', method_len) != NULL
        || memchr(path, '\n', path_len) != NULL)
    {
        return 0;
    }

    for (i = 0; i < expires_len; i++) {
        if (expires[i] < '0' || expires[i] > '9') {
            return 0;
        }
    }

    n = method_len + 1 + path_len + 1 + expires_len;

    if (n >= out_len || n >= IMAGE_INGEST_SIGN_MAX_LEN) {
        return 0;
    }

    memcpy(out, method, method_len);
    out[method_len] = '\n';
    memcpy(out + method_len + 1, path, path_len);
    out[method_len + 1 + path_len] = '\n';
    memcpy(out + method_len + 2 + path_len, expires, expires_len);
    out[n] = '\0';

    return n;
}


int
image_ingest_sign_check(const uint8_t *key, size_t key_len,
    const char *method, size_t method_len, const char *path,
    size_t path_len, const char *args, size_t args_len, int64_t now,
    int64_t max_age)
{
    int           rc;
    char          canonical[IMAGE_INGEST_SIGN_MAX_LEN];
    char          sig[IMAGE_VARIANT_SIG_LEN + 1];
    size_t        i, n, elen, slen;
    int64_t       expires;
    const char   *e, *s;
    unsigned char diff;

    if (key_len == 0) {
        return IMAGE_INGEST_SIGN_BAD;
    }

    rc = image_ingest_sign_arg(args, args_len, "expires", 7, &e, &elen);
    if (rc != IMAGE_INGEST_SIGN_OK) {
        return rc;
    }

    rc = image_ingest_sign_arg(args, args_len, "s", 1, &s, &slen);
    if (rc != IMAGE_INGEST_SIGN_OK) {
        return rc;
    }

    if (slen != IMAGE_VARIANT_SIG_LEN) {
        return IMAGE_INGEST_SIGN_BAD;
    }

    n = image_ingest_sign_canonical(method, method_len, path, path_len,
                                    e, elen, canonical, sizeof(canonical));
    if (n == 0) {
        return IMAGE_INGEST_SIGN_BAD;
    }

    image_variant_sign(key, key_len, canonical, n, sig);

    if (sig[0] == '\0') {
        return IMAGE_INGEST_SIGN_BAD;
    }

    diff = 0;

    for (i = 0; i < IMAGE_VARIANT_SIG_LEN; i++) {
        diff |= (unsigned char) (sig[i] ^ s[i]);
    }

    if (diff != 0) {
        return IMAGE_INGEST_SIGN_BAD;
    }

    /* at most 19 digits: may still pass INT64_MAX */

    expires = 0;

    for (i = 0; i < elen; i++) {
        if (expires > (INT64_MAX - 9) / 10) {
            return IMAGE_INGEST_SIGN_TOO_LONG;
        }

        expires = expires * 10 + (e[i] - '0');
    }

    if (now > expires) {
        return IMAGE_INGEST_SIGN_EXPIRED;
    }

    if (max_age > 0 && expires - now > max_age) {
        return IMAGE_INGEST_SIGN_TOO_LONG;
    }

    return IMAGE_INGEST_SIGN_OK;
}


const char *
image_ingest_sign_error(int rc)
{
    switch (rc) {

    case IMAGE_INGEST_SIGN_OK:
        return "valid";

    case IMAGE_INGEST_SIGN_MISSING:
        return "signature missing";

    case IMAGE_INGEST_SIGN_EXPIRED:
        return "signature expired";

    case IMAGE_INGEST_SIGN_TOO_LONG:
        return "signature valid for too long";

    default:
        return "signature invalid";
    }
}


/* the one value of name in args; MISSING when absent, BAD when repeated */

static int
image_ingest_sign_arg(const char *args, size_t len, const char *name,
    size_t name_len, const char **value, size_t *vlen)
{
    int          found;
    const char  *p, *end, *amp;

    found = 0;
    p = args;
    end = args + len;

    while (p < end) {
        amp = memchr(p, '&', end - p);
        if (amp == NULL) {
            amp = end;
        }

        if ((size_t) (amp - p) > name_len && p[name_len] == '='
            && memcmp(p, name, name_len) == 0)
        {
            if (found) {
                return IMAGE_INGEST_SIGN_BAD;
            }

            found = 1;
            *value = p + name_len + 1;
            *vlen = amp - *value;

        } else if ((size_t) (amp - p) == name_len
                   && memcmp(p, name, name_len) == 0)
        {
            return IMAGE_INGEST_SIGN_BAD;
        }

        p = amp + 1;
    }

    return found ? IMAGE_INGEST_SIGN_OK : IMAGE_INGEST_SIGN_MISSING;
}
