
/*
 * Image variant parameters: the Accept header's negotiation for
 * format=auto, and the variant's ETag.
 *
 *   - Accept: see image_variant_accept_range(); the ETag layout is above
 *     image_variant_etag().
 */


#include <string.h>

#include <openssl/evp.h>

#include "image_variant_params_internal.h"


static size_t image_variant_put32(uint8_t *p, uint32_t v);
static int image_variant_accept_range(const char **pos, const char *end,
    image_variant_accept_e *type);
static int image_variant_accept_param(const char **pos, const char *end);
static int image_variant_qvalue(const char *v, size_t len);
static int image_variant_caseeq(const char *s, size_t len, const char *lc,
    size_t lc_len);
static size_t image_variant_ows(const char *p, const char *end);
static int image_variant_tchar(int c);


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
 *   "IVE2"                      layout version, 4 bytes (IVE2: the
 *                               pipeline of the 2x shrink-on-load rule,
 *                               whose variants differ from IVE1's)
 *   validator length            8 bytes
 *   validator                   that many bytes
 *   width, height, fit, gravity,
 *   format, quality, dpr        4 bytes each
 *   background                  3 bytes: r, g, b
 *   accept class                4 bytes, only when format is auto
 *   fast shrink-on-load         4 bytes (1), only when set
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
    uint8_t      buf[4 + 8 + 4 * 9 + 3];
    uint8_t      md[EVP_MAX_MD_SIZE];
    uint32_t     f[8];
    unsigned     md_len;
    EVP_MD_CTX  *ctx;

    static const char  hex[] = "0123456789abcdef";

    n = 0;
    memcpy(buf, "IVE2", 4);
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

        if (p->fast_shrink) {
            n += image_variant_put32(buf + n, 1);
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


void
image_variant_content_validator(const void *data, size_t len,
    char out[IMAGE_VARIANT_CONTENT_LEN])
{
    size_t    i;
    uint8_t   md[EVP_MAX_MD_SIZE];
    unsigned  md_len;

    static const char  hex[] = "0123456789abcdef";

    md_len = 0;

    if (!EVP_Digest(data, len, md, &md_len, EVP_sha256(), NULL)
        || md_len != 32)
    {
        memset(md, 0, 32);
    }

    memcpy(out, "sha256:", 7);

    for (i = 0; i < 32; i++) {
        out[7 + 2 * i] = hex[md[i] >> 4];
        out[8 + 2 * i] = hex[md[i] & 0x0f];
    }
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
    size_t       tlen;
    const char  *p, *t;

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
        if (!image_variant_accept_param(&p, end)) {
            ok = 0;
        }
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
 * a parameter of a media range, *pos at its ";": OWS name "=" value, the
 * value a token or a quoted string; *pos moves past it and the OWS after
 * it.  0 if it is malformed, or a "q" that is zero or malformed.
 */

static int
image_variant_accept_param(const char **pos, const char *end)
{
    int          ok;
    size_t       nlen;
    const char  *p, *name, *v;

    p = *pos + 1;
    ok = 1;

    p += image_variant_ows(p, end);

    name = p;

    while (p < end && image_variant_tchar(*p)) {
        p++;
    }

    nlen = p - name;

    p += image_variant_ows(p, end);

    if (nlen == 0 || p == end || *p != '=') {
        /* a bare ";" before a comma is tolerated, anything else not */
        *pos = p;
        return (nlen == 0);
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


int
image_variant_etag_listed(const char *list, size_t len, const char *etag)
{
    const char  *p, *last;

    if (len == 1 && list[0] == '*') {
        return 1;
    }

    p = list;
    last = list + len;

    while (p < last) {
        while (p < last && (*p == ' ' || *p == ',' || *p == '\t')) {
            p++;
        }

        if (last - p >= 2 && p[0] == 'W' && p[1] == '/') {
            p += 2;
        }

        if (last - p >= IMAGE_VARIANT_ETAG_LEN
            && memcmp(p, etag, IMAGE_VARIANT_ETAG_LEN) == 0)
        {
            return 1;
        }

        while (p < last && *p != ',') {
            p++;
        }
    }

    return 0;
}
