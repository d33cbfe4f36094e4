
/*
 * Image variant parameters: the free-form query parameters (w, h, fit,
 * gravity, format, q, dpr); see image_variant_params_query() in the
 * header.
 *
 *   - Query strings are split on '&'; empty arguments are skipped; keys
 *     are compared raw (no percent-decoding, "W" or "%77" is not "w") and
 *     unknown keys are ignored, for parsing and signing alike.  Values are
 *     percent-decoded ("%XX", either case; '+' stays '+') before parsing,
 *     but the signature covers them as sent.  A decoded value longer than
 *     32 bytes, a bad escape, a key without "=", an empty value and any
 *     repeated parameter are EINVAL.
 *   - image_variant_params_query() changes *p only when it succeeds.
 */


#include <string.h>

#include "image_variant_params_internal.h"
#include "edge_hex.h"


/* longest decoded query value that is looked at */
#define IMAGE_VARIANT_VALUE_MAX      32


static int image_variant_query_set(image_variant_params_t *v,
    unsigned *dpr, size_t i, const char *buf, size_t n, char *err,
    size_t err_len);
static int image_variant_decode(const char *src, size_t len, char *dst,
    size_t size, size_t *out);


int
image_variant_params_query(image_variant_params_t *p, const char *args,
    size_t len, int *found, char *err, size_t err_len)
{
    int                     rc;
    size_t                  i, n;
    unsigned                dpr;
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

        rc = image_variant_query_set(&v, &dpr, i, buf, n, err, err_len);
        if (rc != IMAGE_VARIANT_OK) {
            return rc;
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


/* parameter i of the query, decoded into buf[0..n), set in *v or *dpr */

static int
image_variant_query_set(image_variant_params_t *v, unsigned *dpr, size_t i,
    const char *buf, size_t n, char *err, size_t err_len)
{
    int          rc;
    unsigned     value;
    const char  *key;
    char         qv[IMAGE_VARIANT_QUOTE_MAX + 8];

    key = image_variant_query_keys[i].name;

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
            v->width = value;

        } else {
            v->height = value;
        }

        break;

    case IMAGE_VARIANT_Q_FIT:
        rc = image_variant_lookup(image_variant_fits, buf, n, &value);
        if (rc != IMAGE_VARIANT_OK) {
            return image_variant_error(err, err_len,
                                       "invalid fit \"%s\"", qv);
        }

        v->fit = (image_variant_fit_e) value;
        break;

    case IMAGE_VARIANT_Q_GRAVITY:
        rc = image_variant_lookup(image_variant_gravities, buf, n,
                                  &value);
        if (rc != IMAGE_VARIANT_OK) {
            return image_variant_error(err, err_len,
                                       "invalid gravity \"%s\"", qv);
        }

        v->gravity = (image_variant_gravity_e) value;
        break;

    case IMAGE_VARIANT_Q_FORMAT:
        rc = image_variant_lookup(image_variant_formats, buf, n, &value);
        if (rc != IMAGE_VARIANT_OK) {
            return image_variant_error(err, err_len,
                                       "invalid format \"%s\"", qv);
        }

        v->format = (image_variant_format_e) value;
        break;

    case IMAGE_VARIANT_Q_Q:
        rc = image_variant_number(buf, n, 100, &value);
        if (rc != IMAGE_VARIANT_OK) {
            return image_variant_error(err, err_len,
                                       "invalid q \"%s\", expected "
                                       "1..100", qv);
        }

        v->quality = value;
        break;

    default: /* IMAGE_VARIANT_Q_DPR */
        rc = image_variant_number(buf, n, IMAGE_VARIANT_MAX_DPR, dpr);
        if (rc != IMAGE_VARIANT_OK) {
            return image_variant_error(err, err_len,
                                       "invalid dpr \"%s\", expected "
                                       "1..%u", qv,
                                       IMAGE_VARIANT_MAX_DPR);
        }

        break;
    }

    return IMAGE_VARIANT_OK;
}


/* finds the free-form parameters and "s" in a query string */

void
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
