
/*
 * Image variant parameters: preset arguments, signed query parameters,
 * Accept negotiation and the variant's ETag; see the header for the API.
 *
 * Decisions, in one place:
 *
 *   - Numbers are ASCII decimal digits only: no sign, no '+', no spaces,
 *     no fraction; leading zeros are allowed ("0256" is 256).  Parsing
 *     stops as soon as the value passes the maximum, so any number of
 *     digits is safe.
 *   - width/height and w/h: 1..8192; quality and q: 1..100; dpr: 1..4.
 *     The query's dpr multiplies the final width and height (the preset's
 *     or the query's), and a product over 8192 is EINVAL, never clamped.
 *   - Names are matched exactly and case-sensitively: fit cover, contain,
 *     inside, fill; gravity centre, center, attention, entropy; format
 *     jpeg, jpg, png, webp, avif, auto.
 *   - background is "#rrggbb" or "rrggbb", hex digits in either case.
 *     nginx starts a comment with '#' only at the start of a token, so
 *     "background=#ffffff" needs no quotes.  It is a preset key only.
 *   - A preset argument that repeats a key overrides the earlier one: the
 *     function sees one argument at a time and keeps no state.
 *   - Query strings are split on '&'; empty arguments are skipped; keys
 *     are compared raw (no percent-decoding, "W" or "%77" is not "w") and
 *     unknown keys are ignored, for parsing and signing alike.  Values are
 *     percent-decoded ("%XX", either case; '+' stays '+') before parsing,
 *     but the signature covers them as sent.  A decoded value longer than
 *     32 bytes, a bad escape, a key without "=", an empty value and any
 *     repeated parameter are EINVAL.
 *   - image_variant_params_query() changes *p only when it succeeds.
 *   - Signatures: exactly one "s", exactly 43 base64url characters whose
 *     unused low bits are zero (one encoding per MAC); an empty key never
 *     verifies; a path with '\n' or a canonical string of 8192 bytes or
 *     more has no signature.  The MAC is compared with CRYPTO_memcmp().
 *   - Accept: see image_variant_accept_range(); the ETag layout is above
 *     image_variant_etag().
 */


#include <stdio.h>
#include <stdarg.h>
#include <string.h>
#include <limits.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "image_variant_params.h"
#include "edge_hex.h"


#define IMAGE_VARIANT_MAC_LEN        32      /* HMAC-SHA256 */

/* longest decoded query value that is looked at */
#define IMAGE_VARIANT_VALUE_MAX      32

/*
 * The canonical string is built on the stack for HMAC(); a longer one
 * fails the check.  Path and arguments have to fit in nginx's request
 * line, 8k by default (large_client_header_buffers).
 */
#define IMAGE_VARIANT_CANONICAL_MAX  8192

/* the quoted excerpt of untrusted input in error messages */
#define IMAGE_VARIANT_QUOTE_MAX      32

/* the free-form query parameters, in canonical order */
#define IMAGE_VARIANT_Q_W            0
#define IMAGE_VARIANT_Q_H            1
#define IMAGE_VARIANT_Q_FIT          2
#define IMAGE_VARIANT_Q_GRAVITY      3
#define IMAGE_VARIANT_Q_FORMAT       4
#define IMAGE_VARIANT_Q_Q            5
#define IMAGE_VARIANT_Q_DPR          6
#define IMAGE_VARIANT_Q_N            7

#define image_variant_str(s)         s, sizeof(s) - 1


typedef struct {
    const char  *name;
    size_t       len;
    unsigned     value;
} image_variant_name_t;


typedef struct {
    const char  *value;
    size_t       len;
    unsigned     eq;           /* "k=v", not a bare "k" */
} image_variant_arg_t;


typedef struct {
    image_variant_arg_t  arg[IMAGE_VARIANT_Q_N];
    image_variant_arg_t  sig;
    unsigned             present;      /* a bit per arg[] */
    unsigned             nsig;         /* how many "s" */
    int                  repeated;     /* the first repeated arg[], or -1 */
} image_variant_query_t;


static void image_variant_scan(const char *args, size_t len,
    image_variant_query_t *q);
static size_t image_variant_canonical_write(const image_variant_query_t *q,
    const char *path, size_t path_len, char *out, size_t out_len);
static int image_variant_number(const char *v, size_t len, unsigned max,
    unsigned *out);
static int image_variant_lookup(const image_variant_name_t *names,
    const char *v, size_t len, unsigned *out);
static int image_variant_background(const char *v, size_t len,
    uint8_t rgb[3]);
static size_t image_variant_put32(uint8_t *p, uint32_t v);
static int image_variant_decode(const char *src, size_t len, char *dst,
    size_t size, size_t *out);
static void image_variant_b64url_encode(const uint8_t *src, size_t len,
    char *dst);
static size_t image_variant_b64url_decode(const char *src, size_t len,
    uint8_t *dst, size_t size);
static int image_variant_accept_range(const char **pos, const char *end,
    image_variant_accept_e *type);
static int image_variant_qvalue(const char *v, size_t len);
static int image_variant_caseeq(const char *s, size_t len, const char *lc,
    size_t lc_len);
static size_t image_variant_ows(const char *p, const char *end);
static int image_variant_tchar(int c);
static const char *image_variant_quote(const char *s, size_t len, char *buf,
    size_t size);
static int image_variant_error(char *err, size_t err_len, const char *fmt,
    ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;


static const image_variant_name_t  image_variant_query_keys[] = {
    { image_variant_str("w"), IMAGE_VARIANT_Q_W },
    { image_variant_str("h"), IMAGE_VARIANT_Q_H },
    { image_variant_str("fit"), IMAGE_VARIANT_Q_FIT },
    { image_variant_str("gravity"), IMAGE_VARIANT_Q_GRAVITY },
    { image_variant_str("format"), IMAGE_VARIANT_Q_FORMAT },
    { image_variant_str("q"), IMAGE_VARIANT_Q_Q },
    { image_variant_str("dpr"), IMAGE_VARIANT_Q_DPR }
};


static const image_variant_name_t  image_variant_fits[] = {
    { image_variant_str("cover"), IMAGE_VARIANT_FIT_COVER },
    { image_variant_str("contain"), IMAGE_VARIANT_FIT_CONTAIN },
    { image_variant_str("inside"), IMAGE_VARIANT_FIT_INSIDE },
    { image_variant_str("fill"), IMAGE_VARIANT_FIT_FILL },
    { NULL, 0, 0 }
};


static const image_variant_name_t  image_variant_gravities[] = {
    { image_variant_str("centre"), IMAGE_VARIANT_GRAVITY_CENTRE },
    { image_variant_str("center"), IMAGE_VARIANT_GRAVITY_CENTRE },
    { image_variant_str("attention"), IMAGE_VARIANT_GRAVITY_ATTENTION },
    { image_variant_str("entropy"), IMAGE_VARIANT_GRAVITY_ENTROPY },
    { NULL, 0, 0 }
};


static const image_variant_name_t  image_variant_formats[] = {
    { image_variant_str("jpeg"), IMAGE_VARIANT_FORMAT_JPEG },
    { image_variant_str("jpg"), IMAGE_VARIANT_FORMAT_JPEG },
    { image_variant_str("png"), IMAGE_VARIANT_FORMAT_PNG },
    { image_variant_str("webp"), IMAGE_VARIANT_FORMAT_WEBP },
    { image_variant_str("avif"), IMAGE_VARIANT_FORMAT_AVIF },
    { image_variant_str("auto"), IMAGE_VARIANT_FORMAT_AUTO },
    { NULL, 0, 0 }
};


static const char  image_variant_b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";


void
image_variant_params_init(image_variant_params_t *p)
{
    memset(p, 0, sizeof(image_variant_params_t));

    p->width = 0;
    p->height = 0;
    p->fit = IMAGE_VARIANT_FIT_COVER;
    p->gravity = IMAGE_VARIANT_GRAVITY_CENTRE;
    p->format = IMAGE_VARIANT_FORMAT_AUTO;
    p->quality = 0;
    p->dpr = 1;
    p->background[0] = 0xff;
    p->background[1] = 0xff;
    p->background[2] = 0xff;
}


int
image_variant_preset_arg(image_variant_params_t *p, const char *arg,
    size_t len, char *err, size_t err_len)
{
    size_t       klen, vlen;
    uint8_t      rgb[3];
    unsigned     n, max, *field;
    const char  *eq, *v;
    char         qk[IMAGE_VARIANT_QUOTE_MAX + 8];
    char         qv[IMAGE_VARIANT_QUOTE_MAX + 8];

    if (err != NULL && err_len > 0) {
        err[0] = '\0';
    }

    eq = (len > 0) ? memchr(arg, '=', len) : NULL;

    if (eq == NULL) {
        return image_variant_error(err, err_len,
                                   "\"%s\" is not key=value",
                                   image_variant_quote(arg, len, qk,
                                                       sizeof(qk)));
    }

    klen = eq - arg;
    v = eq + 1;
    vlen = len - klen - 1;

    image_variant_quote(arg, klen, qk, sizeof(qk));
    image_variant_quote(v, vlen, qv, sizeof(qv));

    field = NULL;
    max = IMAGE_VARIANT_MAX_SIDE;

    if (klen == 5 && memcmp(arg, "width", 5) == 0) {
        field = &p->width;

    } else if (klen == 6 && memcmp(arg, "height", 6) == 0) {
        field = &p->height;

    } else if (klen == 7 && memcmp(arg, "quality", 7) == 0) {
        field = &p->quality;
        max = 100;
    }

    if (field != NULL) {
        if (image_variant_number(v, vlen, max, &n) != IMAGE_VARIANT_OK) {
            return image_variant_error(err, err_len,
                                       "invalid %s \"%s\", expected 1..%u",
                                       qk, qv, max);
        }

        *field = n;

    } else if (klen == 3 && memcmp(arg, "fit", 3) == 0) {
        if (image_variant_lookup(image_variant_fits, v, vlen, &n)
            != IMAGE_VARIANT_OK)
        {
            return image_variant_error(err, err_len,
                                       "invalid fit \"%s\", expected cover, "
                                       "contain, inside or fill", qv);
        }

        p->fit = (image_variant_fit_e) n;

    } else if (klen == 7 && memcmp(arg, "gravity", 7) == 0) {
        if (image_variant_lookup(image_variant_gravities, v, vlen, &n)
            != IMAGE_VARIANT_OK)
        {
            return image_variant_error(err, err_len,
                                       "invalid gravity \"%s\", expected "
                                       "centre, attention or entropy", qv);
        }

        p->gravity = (image_variant_gravity_e) n;

    } else if (klen == 6 && memcmp(arg, "format", 6) == 0) {
        if (image_variant_lookup(image_variant_formats, v, vlen, &n)
            != IMAGE_VARIANT_OK)
        {
            return image_variant_error(err, err_len,
                                       "invalid format \"%s\", expected "
                                       "jpeg, png, webp, avif or auto", qv);
        }

        p->format = (image_variant_format_e) n;

    } else if (klen == 10 && memcmp(arg, "background", 10) == 0) {
        if (image_variant_background(v, vlen, rgb) != IMAGE_VARIANT_OK) {
            return image_variant_error(err, err_len,
                                       "invalid background \"%s\", "
                                       "expected #rrggbb", qv);
        }

        memcpy(p->background, rgb, 3);

    } else {
        return image_variant_error(err, err_len,
                                   "unknown parameter \"%s\"", qk);
    }

    return IMAGE_VARIANT_OK;
}


int
image_variant_params_query(image_variant_params_t *p, const char *args,
    size_t len, int *found, char *err, size_t err_len)
{
    int                     rc;
    size_t                  i, n;
    unsigned                dpr, value;
    const char             *key;
    image_variant_arg_t    *a;
    image_variant_params_t  v;
    image_variant_query_t   q;
    char                    buf[IMAGE_VARIANT_VALUE_MAX];
    char                    qv[IMAGE_VARIANT_QUOTE_MAX + 8];

    if (err != NULL && err_len > 0) {
        err[0] = '\0';
    }

    image_variant_scan(args, len, &q);

    if (found) {
        *found = (q.present != 0);
    }

    if (q.repeated >= 0) {
        return image_variant_error(err, err_len, "repeated parameter \"%s\"",
                                   image_variant_query_keys[q.repeated].name);
    }

    v = *p;
    dpr = 1;

    for (i = 0; i < IMAGE_VARIANT_Q_N; i++) {

        if (!(q.present & (1u << i))) {
            continue;
        }

        a = &q.arg[i];
        key = image_variant_query_keys[i].name;

        if (!a->eq || a->len == 0) {
            return image_variant_error(err, err_len,
                                       "parameter \"%s\" has no value", key);
        }

        if (image_variant_decode(a->value, a->len, buf, sizeof(buf), &n)
            != IMAGE_VARIANT_OK)
        {
            return image_variant_error(err, err_len,
                                       "invalid %s \"%s\": bad escape or "
                                       "too long", key,
                                       image_variant_quote(a->value, a->len,
                                                           qv, sizeof(qv)));
        }

        image_variant_quote(buf, n, qv, sizeof(qv));

        switch (i) {

        case IMAGE_VARIANT_Q_W:
        case IMAGE_VARIANT_Q_H:
            rc = image_variant_number(buf, n, IMAGE_VARIANT_MAX_SIDE, &value);
            if (rc != IMAGE_VARIANT_OK) {
                return image_variant_error(err, err_len,
                                           "invalid %s \"%s\", expected "
                                           "1..%u", key, qv,
                                           IMAGE_VARIANT_MAX_SIDE);
            }

            if (i == IMAGE_VARIANT_Q_W) {
                v.width = value;

            } else {
                v.height = value;
            }

            break;

        case IMAGE_VARIANT_Q_FIT:
            rc = image_variant_lookup(image_variant_fits, buf, n, &value);
            if (rc != IMAGE_VARIANT_OK) {
                return image_variant_error(err, err_len,
                                           "invalid fit \"%s\"", qv);
            }

            v.fit = (image_variant_fit_e) value;
            break;

        case IMAGE_VARIANT_Q_GRAVITY:
            rc = image_variant_lookup(image_variant_gravities, buf, n,
                                      &value);
            if (rc != IMAGE_VARIANT_OK) {
                return image_variant_error(err, err_len,
                                           "invalid gravity \"%s\"", qv);
            }

            v.gravity = (image_variant_gravity_e) value;
            break;

        case IMAGE_VARIANT_Q_FORMAT:
            rc = image_variant_lookup(image_variant_formats, buf, n, &value);
            if (rc != IMAGE_VARIANT_OK) {
                return image_variant_error(err, err_len,
                                           "invalid format \"%s\"", qv);
            }

            v.format = (image_variant_format_e) value;
            break;

        case IMAGE_VARIANT_Q_Q:
            rc = image_variant_number(buf, n, 100, &value);
            if (rc != IMAGE_VARIANT_OK) {
                return image_variant_error(err, err_len,
                                           "invalid q \"%s\", expected "
                                           "1..100", qv);
            }

            v.quality = value;
            break;

        default: /* IMAGE_VARIANT_Q_DPR */
            rc = image_variant_number(buf, n, IMAGE_VARIANT_MAX_DPR, &dpr);
            if (rc != IMAGE_VARIANT_OK) {
                return image_variant_error(err, err_len,
                                           "invalid dpr \"%s\", expected "
                                           "1..%u", qv,
                                           IMAGE_VARIANT_MAX_DPR);
            }

            break;
        }
    }

    if (q.present & (1u << IMAGE_VARIANT_Q_DPR)) {

        /* both sides are at most 8192 here: no overflow */

        if (v.width * dpr > IMAGE_VARIANT_MAX_SIDE
            || v.height * dpr > IMAGE_VARIANT_MAX_SIDE)
        {
            return image_variant_error(err, err_len,
                                       "dpr %u makes the image larger than "
                                       "%u pixels a side", dpr,
                                       IMAGE_VARIANT_MAX_SIDE);
        }

        v.width *= dpr;
        v.height *= dpr;
        v.dpr = dpr;
    }

    *p = v;

    return IMAGE_VARIANT_OK;
}


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


image_variant_accept_e
image_variant_negotiate(const char *accept, size_t len)
{
    int                     ok;
    unsigned                avif, webp;
    const char             *p, *end;
    image_variant_accept_e  type;

    /* bit 0: listed with q > 0; bit 1: refused (q=0) somewhere */
    avif = 0;
    webp = 0;

    if (accept == NULL || len == 0) {
        return IMAGE_VARIANT_ACCEPT_LEGACY;
    }

    p = accept;
    end = accept + len;

    while (p < end) {
        ok = image_variant_accept_range(&p, end, &type);

        if (type == IMAGE_VARIANT_ACCEPT_AVIF) {
            avif |= ok ? 1 : 2;

        } else if (type == IMAGE_VARIANT_ACCEPT_WEBP) {
            webp |= ok ? 1 : 2;
        }
    }

    if (avif == 1) {
        return IMAGE_VARIANT_ACCEPT_AVIF;
    }

    if (webp == 1) {
        return IMAGE_VARIANT_ACCEPT_WEBP;
    }

    return IMAGE_VARIANT_ACCEPT_LEGACY;
}


/*
 * The serialisation is fixed: no struct is hashed as memory, so padding
 * and enum sizes never matter.  Integers are big-endian.
 *
 *   "IVE1"                      layout version, 4 bytes
 *   validator length            8 bytes
 *   validator                   that many bytes
 *   width, height, fit, gravity,
 *   format, quality, dpr        4 bytes each
 *   background                  3 bytes: r, g, b
 *   accept class                4 bytes, only when format is auto
 *
 * The tag is the first 16 bytes of its SHA-256, in lowercase hex, quoted.
 * Should the digest fail (out of memory inside OpenSSL), the tag is 32
 * zeros, which no digest gives in practice.
 */

void
image_variant_etag(const char *validator, size_t len,
    const image_variant_params_t *p, image_variant_accept_e accept,
    char out[IMAGE_VARIANT_ETAG_LEN])
{
    int          ok;
    size_t       i, n;
    uint8_t      buf[4 + 8 + 4 * 8 + 3];
    uint8_t      md[EVP_MAX_MD_SIZE];
    uint32_t     f[8];
    unsigned     md_len;
    EVP_MD_CTX  *ctx;

    static const char  hex[] = "0123456789abcdef";

    n = 0;
    memcpy(buf, "IVE1", 4);
    n += 4;

    for (i = 0; i < 8; i++) {
        buf[n++] = (uint8_t) ((uint64_t) len >> (56 - 8 * i));
    }

    ok = 0;
    md_len = 0;

    ctx = EVP_MD_CTX_new();

    if (ctx != NULL
        && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)
        && EVP_DigestUpdate(ctx, buf, n)
        && (len == 0 || EVP_DigestUpdate(ctx, validator, len)))
    {
        f[0] = p->width;
        f[1] = p->height;
        f[2] = (uint32_t) p->fit;
        f[3] = (uint32_t) p->gravity;
        f[4] = (uint32_t) p->format;
        f[5] = p->quality;
        f[6] = p->dpr;
        f[7] = (uint32_t) accept;

        n = 0;

        for (i = 0; i < 7; i++) {
            n += image_variant_put32(buf + n, f[i]);
        }

        buf[n++] = p->background[0];
        buf[n++] = p->background[1];
        buf[n++] = p->background[2];

        if (p->format == IMAGE_VARIANT_FORMAT_AUTO) {
            n += image_variant_put32(buf + n, f[7]);
        }

        ok = EVP_DigestUpdate(ctx, buf, n)
             && EVP_DigestFinal_ex(ctx, md, &md_len)
             && md_len >= 16;
    }

    EVP_MD_CTX_free(ctx);

    out[0] = '"';

    for (i = 0; i < 16; i++) {
        out[1 + 2 * i] = ok ? hex[md[i] >> 4] : '0';
        out[2 + 2 * i] = ok ? hex[md[i] & 0x0f] : '0';
    }

    out[IMAGE_VARIANT_ETAG_LEN - 1] = '"';
}


/* finds the free-form parameters and "s" in a query string */

static void
image_variant_scan(const char *args, size_t len, image_variant_query_t *q)
{
    size_t                i, klen;
    const char           *p, *end, *amp, *eq;
    image_variant_arg_t  *a;

    memset(q, 0, sizeof(image_variant_query_t));
    q->repeated = -1;

    if (args == NULL || len == 0) {
        return;
    }

    p = args;
    end = args + len;

    while (p < end) {
        amp = memchr(p, '&', end - p);
        if (amp == NULL) {
            amp = end;
        }

        eq = memchr(p, '=', amp - p);
        klen = (eq ? eq : amp) - p;

        a = NULL;

        if (klen == 1 && p[0] == 's') {
            a = &q->sig;
            q->nsig++;

        } else {
            for (i = 0; i < IMAGE_VARIANT_Q_N; i++) {
                if (klen == image_variant_query_keys[i].len
                    && memcmp(p, image_variant_query_keys[i].name, klen) == 0)
                {
                    break;
                }
            }

            if (i < IMAGE_VARIANT_Q_N) {
                if (q->present & (1u << i)) {
                    if (q->repeated < 0) {
                        q->repeated = (int) i;
                    }

                } else {
                    q->present |= 1u << i;
                    a = &q->arg[i];
                }
            }
        }

        if (a != NULL) {
            a->eq = (eq != NULL);
            a->value = eq ? eq + 1 : amp;
            a->len = eq ? (size_t) (amp - eq - 1) : 0;
        }

        p = (amp < end) ? amp + 1 : end;
    }
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


/* 1..max, decimal digits only */

static int
image_variant_number(const char *v, size_t len, unsigned max, unsigned *out)
{
    size_t    i;
    unsigned  n;

    if (len == 0) {
        return IMAGE_VARIANT_EINVAL;
    }

    n = 0;

    for (i = 0; i < len; i++) {
        if (v[i] < '0' || v[i] > '9') {
            return IMAGE_VARIANT_EINVAL;
        }

        n = n * 10 + (unsigned) (v[i] - '0');

        if (n > max) {
            return IMAGE_VARIANT_EINVAL;
        }
    }

    if (n == 0) {
        return IMAGE_VARIANT_EINVAL;
    }

    *out = n;

    return IMAGE_VARIANT_OK;
}


static int
image_variant_lookup(const image_variant_name_t *names, const char *v,
    size_t len, unsigned *out)
{
    for ( /* void */ ; names->name != NULL; names++) {
        if (len == names->len && memcmp(v, names->name, len) == 0) {
            *out = names->value;
            return IMAGE_VARIANT_OK;
        }
    }

    return IMAGE_VARIANT_EINVAL;
}


static int
image_variant_background(const char *v, size_t len, uint8_t rgb[3])
{
    int     hi, lo;
    size_t  i;

    if (len == 7 && v[0] == '#') {
        v++;
        len--;
    }

    if (len != 6) {
        return IMAGE_VARIANT_EINVAL;
    }

    for (i = 0; i < 3; i++) {
        hi = edge_hex_digit(v[2 * i]);
        lo = edge_hex_digit(v[2 * i + 1]);

        if (hi < 0 || lo < 0) {
            return IMAGE_VARIANT_EINVAL;
        }

        rgb[i] = (uint8_t) (hi << 4 | lo);
    }

    return IMAGE_VARIANT_OK;
}



static size_t
image_variant_put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t) (v >> 24);
    p[1] = (uint8_t) (v >> 16);
    p[2] = (uint8_t) (v >> 8);
    p[3] = (uint8_t) v;

    return 4;
}


/* percent-decoding into dst; EINVAL on a bad escape or when too long */

static int
image_variant_decode(const char *src, size_t len, char *dst, size_t size,
    size_t *out)
{
    int     hi, lo;
    size_t  i, n;

    n = 0;

    for (i = 0; i < len; i++) {
        if (n == size) {
            return IMAGE_VARIANT_EINVAL;
        }

        if (src[i] != '%') {
            dst[n++] = src[i];
            continue;
        }

        if (len - i < 3) {
            return IMAGE_VARIANT_EINVAL;
        }

        hi = edge_hex_digit(src[i + 1]);
        lo = edge_hex_digit(src[i + 2]);

        if (hi < 0 || lo < 0) {
            return IMAGE_VARIANT_EINVAL;
        }

        dst[n++] = (char) (hi << 4 | lo);
        i += 2;
    }

    *out = n;

    return IMAGE_VARIANT_OK;
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


/*
 * One media range of an Accept header (RFC 9110, 12.5.1), from *pos up to
 * and including the comma that ends it.  *type tells whether the range is
 * exactly image/avif or image/webp (case-insensitive), anything else is
 * LEGACY.  Returns 1 when the range is acceptable: well-formed and without
 * a q of zero.  A q that is not a valid qvalue, or junk, makes the range
 * unacceptable: better JPEG than a format the client cannot show.
 * Quoted parameter values may hold commas.
 */

static int
image_variant_accept_range(const char **pos, const char *end,
    image_variant_accept_e *type)
{
    int          ok, quoted;
    size_t       tlen, nlen;
    const char  *p, *t, *name, *v;

    p = *pos;
    ok = 1;
    *type = IMAGE_VARIANT_ACCEPT_LEGACY;

    p += image_variant_ows(p, end);

    /* type "/" subtype */

    t = p;

    while (p < end && (image_variant_tchar(*p) || *p == '/')) {
        p++;
    }

    tlen = p - t;

    if (image_variant_caseeq(t, tlen, image_variant_str("image/avif"))) {
        *type = IMAGE_VARIANT_ACCEPT_AVIF;

    } else if (image_variant_caseeq(t, tlen, image_variant_str("image/webp")))
    {
        *type = IMAGE_VARIANT_ACCEPT_WEBP;
    }

    if (tlen == 0) {
        ok = 0;
    }

    p += image_variant_ows(p, end);

    /* parameters: OWS ";" OWS name "=" value */

    while (p < end && *p == ';') {
        p++;
        p += image_variant_ows(p, end);

        name = p;

        while (p < end && image_variant_tchar(*p)) {
            p++;
        }

        nlen = p - name;

        p += image_variant_ows(p, end);

        if (nlen == 0 || p == end || *p != '=') {
            /* a bare ";" before a comma is tolerated, anything else not */
            if (nlen != 0) {
                ok = 0;
            }

            continue;
        }

        p++;
        p += image_variant_ows(p, end);

        v = p;

        if (p < end && *p == '"') {
            for (p++; p < end && *p != '"'; p++) {
                if (*p == '\\' && p + 1 < end) {
                    p++;
                }
            }

            if (p == end) {
                ok = 0;

            } else {
                p++;
            }

        } else {
            while (p < end && image_variant_tchar(*p)) {
                p++;
            }
        }

        if (image_variant_caseeq(name, nlen, image_variant_str("q"))
            && !image_variant_qvalue(v, p - v))
        {
            ok = 0;
        }

        p += image_variant_ows(p, end);
    }

    /* whatever is left up to the next comma (outside quotes) is junk */

    quoted = 0;

    while (p < end && (quoted || *p != ',')) {
        ok = 0;

        if (*p == '"') {
            quoted = !quoted;

        } else if (*p == '\\' && quoted && p + 1 < end) {
            p++;
        }

        p++;
    }

    if (p < end) {
        p++;
    }

    *pos = p;

    return ok;
}


/*
 * 1 for a qvalue above zero: "0" ["." 0*3DIGIT] or "1" ["." 0*3"0"].
 * 0 for a zero or malformed one.
 */

static int
image_variant_qvalue(const char *v, size_t len)
{
    int     nonzero;
    size_t  i;

    if (len == 0 || (v[0] != '0' && v[0] != '1')) {
        return 0;
    }

    if (len > 1 && (v[1] != '.' || len > 5)) {
        return 0;
    }

    nonzero = (v[0] == '1');

    for (i = 2; i < len; i++) {
        if (v[i] < '0' || v[i] > '9' || (v[0] == '1' && v[i] != '0')) {
            return 0;
        }

        if (v[i] != '0') {
            nonzero = 1;
        }
    }

    return nonzero;
}


/* s equals the lowercase lc, ASCII case-insensitively */

static int
image_variant_caseeq(const char *s, size_t len, const char *lc,
    size_t lc_len)
{
    int     c;
    size_t  i;

    if (len != lc_len) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        c = (unsigned char) s[i];

        if (c >= 'A' && c <= 'Z') {
            c |= 0x20;
        }

        if (c != lc[i]) {
            return 0;
        }
    }

    return 1;
}


static size_t
image_variant_ows(const char *p, const char *end)
{
    size_t  n;

    for (n = 0; p + n < end && (p[n] == ' ' || p[n] == '\t'); n++) {
        /* void */
    }

    return n;
}


/* RFC 9110 tchar */

static int
image_variant_tchar(int c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
        || (c >= '0' && c <= '9'))
    {
        return 1;
    }

    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}


/*
 * Untrusted input for an error message: at most 32 bytes, anything but
 * printable ASCII (and '"', '\\') as '?', "..." when cut.
 */

static const char *
image_variant_quote(const char *s, size_t len, char *buf, size_t size)
{
    size_t  i, n;

    n = (len > IMAGE_VARIANT_QUOTE_MAX) ? IMAGE_VARIANT_QUOTE_MAX : len;

    if (n + 4 > size) {
        n = (size > 4) ? size - 4 : 0;
    }

    for (i = 0; i < n; i++) {
        buf[i] = (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '"'
                  && s[i] != '\\')
                 ? s[i] : '?';
    }

    if (n < len && size >= 4) {
        memcpy(buf + i, "...", 3);
        i += 3;
    }

    if (size > 0) {
        buf[i < size ? i : size - 1] = '\0';
    }

    return buf;
}


static int
image_variant_error(char *err, size_t err_len, const char *fmt, ...)
{
    va_list  args;

    if (err != NULL && err_len > 0) {
        va_start(args, fmt);
        vsnprintf(err, err_len, fmt, args);
        va_end(args);
    }

    return IMAGE_VARIANT_EINVAL;
}
