
/*
 * Image variant parameters: HMAC-SHA256 signatures of the query; see
 * image_variant_signature_ok() in the header.
 *
 *   - Signatures: exactly one "s", exactly 43 base64url characters whose
 *     unused low bits are zero (one encoding per MAC); an empty key never
 *     verifies; a path with '\n' or a canonical string of 8192 bytes or
 *     more has no signature.  The MAC is compared with CRYPTO_memcmp().
 */


#include <string.h>
#include <limits.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "image_variant_params_internal.h"


#define IMAGE_VARIANT_MAC_LEN        32      /* HMAC-SHA256 */

/*
 * The canonical string is built on the stack for HMAC(); a longer one
 * fails the check.  Path and arguments have to fit in nginx's request
 * line, 8k by default (large_client_header_buffers).
 */
#define IMAGE_VARIANT_CANONICAL_MAX  8192


static size_t image_variant_canonical_write(const image_variant_query_t *q,
    const char *path, size_t path_len, char *out, size_t out_len);
static void image_variant_b64url_encode(const uint8_t *src, size_t len,
    char *dst);
static size_t image_variant_b64url_decode(const char *src, size_t len,
    uint8_t *dst, size_t size);


static const char  image_variant_b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";


int
image_variant_signature_ok(const uint8_t *key, size_t key_len,
    const char *path, size_t path_len, const char *args, size_t args_len)
{
    size_t                 n;
    uint8_t                sig[IMAGE_VARIANT_MAC_LEN];
    uint8_t                mac[EVP_MAX_MD_SIZE];
    unsigned               mac_len;
    image_variant_query_t  q;
    char                   buf[IMAGE_VARIANT_CANONICAL_MAX];

    if (key == NULL || key_len == 0 || key_len > INT_MAX) {
        return 0;
    }

    image_variant_scan(args, args_len, &q);

    if (q.nsig != 1 || !q.sig.eq || q.sig.len != IMAGE_VARIANT_SIG_LEN) {
        return 0;
    }

    if (image_variant_b64url_decode(q.sig.value, q.sig.len, sig, sizeof(sig))
        != IMAGE_VARIANT_MAC_LEN)
    {
        return 0;
    }

    n = image_variant_canonical_write(&q, path, path_len, buf, sizeof(buf));
    if (n == 0) {
        return 0;
    }

    mac_len = 0;

    if (HMAC(EVP_sha256(), key, (int) key_len, (const uint8_t *) buf, n,
             mac, &mac_len)
        == NULL
        || mac_len != IMAGE_VARIANT_MAC_LEN)
    {
        return 0;
    }

    return CRYPTO_memcmp(mac, sig, IMAGE_VARIANT_MAC_LEN) == 0;
}


size_t
image_variant_canonical(const char *path, size_t path_len,
    const char *args, size_t args_len, char *out, size_t out_len)
{
    image_variant_query_t  q;

    image_variant_scan(args, args_len, &q);

    return image_variant_canonical_write(&q, path, path_len, out, out_len);
}


void
image_variant_sign(const uint8_t *key, size_t key_len,
    const char *canonical, size_t len, char sig[IMAGE_VARIANT_SIG_LEN + 1])
{
    uint8_t   mac[EVP_MAX_MD_SIZE];
    unsigned  mac_len;

    static const uint8_t  empty[1] = { 0 };

    sig[0] = '\0';

    if (key_len > INT_MAX) {
        return;
    }

    if (key == NULL) {
        key = empty;
        key_len = 0;
    }

    mac_len = 0;

    if (HMAC(EVP_sha256(), key, (int) key_len,
             (const uint8_t *) (canonical ? canonical : (const char *) empty),
             len, mac, &mac_len)
        == NULL
        || mac_len != IMAGE_VARIANT_MAC_LEN)
    {
        return;
    }

    image_variant_b64url_encode(mac, IMAGE_VARIANT_MAC_LEN, sig);
    sig[IMAGE_VARIANT_SIG_LEN] = '\0';
}


/*
 * path "\n" k=v&k=v..., the parameters present in canonical order, as
 * sent.  Returns the length (a terminating NUL follows it in out), or 0
 * when a parameter repeats or has no "=", when the path holds a newline,
 * or when out_len is not more than the length.  out NULL: the length only.
 */

static size_t
image_variant_canonical_write(const image_variant_query_t *q,
    const char *path, size_t path_len, char *out, size_t out_len)
{
    size_t                      i, n;
    char                       *w;
    const image_variant_arg_t  *a;

    if (q->repeated >= 0) {
        return 0;
    }

    if (path_len > 0 && memchr(path, '\n', path_len) != NULL) {
        return 0;
    }

    n = path_len + 1;

    for (i = 0; i < IMAGE_VARIANT_Q_N; i++) {
        if (!(q->present & (1u << i))) {
            continue;
        }

        if (!q->arg[i].eq) {
            return 0;
        }

        n += (n > path_len + 1) + image_variant_query_keys[i].len + 1
             + q->arg[i].len;
    }

    if (out == NULL) {
        return n;
    }

    if (n >= out_len) {
        return 0;
    }

    w = out;

    if (path_len > 0) {
        memcpy(w, path, path_len);
        w += path_len;
    }

    *w++ = '\n';

    for (i = 0; i < IMAGE_VARIANT_Q_N; i++) {
        if (!(q->present & (1u << i))) {
            continue;
        }

        a = &q->arg[i];

        if (w > out + path_len + 1) {
            *w++ = '&';
        }

        memcpy(w, image_variant_query_keys[i].name,
               image_variant_query_keys[i].len);
        w += image_variant_query_keys[i].len;
        *w++ = '=';

        if (a->len > 0) {
            memcpy(w, a->value, a->len);
            w += a->len;
        }
    }

    *w = '\0';

    return n;
}


/* RFC 4648 section 5, no padding; dst gets (4 * len + 2) / 3 bytes */

static void
image_variant_b64url_encode(const uint8_t *src, size_t len, char *dst)
{
    uint32_t  v;

    while (len >= 3) {
        v = (uint32_t) src[0] << 16 | (uint32_t) src[1] << 8 | src[2];

        *dst++ = image_variant_b64url[v >> 18];
        *dst++ = image_variant_b64url[(v >> 12) & 0x3f];
        *dst++ = image_variant_b64url[(v >> 6) & 0x3f];
        *dst++ = image_variant_b64url[v & 0x3f];

        src += 3;
        len -= 3;
    }

    if (len == 0) {
        return;
    }

    v = (uint32_t) src[0] << 16;

    if (len == 2) {
        v |= (uint32_t) src[1] << 8;
    }

    *dst++ = image_variant_b64url[v >> 18];
    *dst++ = image_variant_b64url[(v >> 12) & 0x3f];

    if (len == 2) {
        *dst++ = image_variant_b64url[(v >> 6) & 0x3f];
    }
}


/*
 * The strict inverse of the encoder: only the 64 URL-safe characters, no
 * '=' padding, no whitespace, and the unused low bits of the last
 * character must be zero, so that each value has one encoding.  Returns
 * the decoded length, or 0 when src is not such an encoding or does not
 * fit in size bytes.
 */

static size_t
image_variant_b64url_decode(const char *src, size_t len, uint8_t *dst,
    size_t size)
{
    int       d;
    size_t    i, n, bits;
    uint32_t  acc;

    if (len % 4 == 1 || (len / 4) * 3 + (len % 4 ? len % 4 - 1 : 0) > size) {
        return 0;
    }

    acc = 0;
    bits = 0;
    n = 0;

    for (i = 0; i < len; i++) {
        d = (unsigned char) src[i];

        if (d >= 'A' && d <= 'Z') {
            d -= 'A';

        } else if (d >= 'a' && d <= 'z') {
            d = d - 'a' + 26;

        } else if (d >= '0' && d <= '9') {
            d = d - '0' + 52;

        } else if (d == '-') {
            d = 62;

        } else if (d == '_') {
            d = 63;

        } else {
            return 0;
        }

        acc = (acc << 6) | (uint32_t) d;
        bits += 6;

        if (bits >= 8) {
            bits -= 8;
            dst[n++] = (uint8_t) (acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }

    if (acc != 0) {
        return 0;
    }

    return n;
}
