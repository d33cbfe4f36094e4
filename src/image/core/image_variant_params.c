
/*
 * Image variant parameters: preset arguments, and what they share with
 * the query parameters (numbers, names, errors); see the header for the
 * API and image_variant_params_internal.h for the other files.
 *
 * Decisions, in one place (those of queries, signatures and Accept are in
 * their files):
 *
 *   - Numbers are ASCII decimal digits only: no sign, no '+', no spaces,
 *     no fraction; leading zeros are allowed ("0256" is 256).  Parsing
 *     stops as soon as the value passes the maximum, so any number of
 *     digits is safe.
 *   - width/height and w/h: 1..8192; quality and q: 1..100; dpr: 1..4.
 *     The query's dpr multiplies the final width and height (the preset's
 *     or the query's), and a product over 8192 is EINVAL, never clamped.
 *   - Names are matched exactly and case-sensitively: fit cover, contain,
 *     inside, fill; gravity centre, center, attention, entropy, face;
 *     format jpeg, jpg, png, webp, avif, auto.
 *   - background is "#rrggbb" or "rrggbb", hex digits in either case.
 *     nginx starts a comment with '#' only at the start of a token, so
 *     "background=#ffffff" needs no quotes.  It is a preset key only.
 *   - A preset argument that repeats a key overrides the earlier one: the
 *     function sees one argument at a time and keeps no state.
 */


#include <stdio.h>
#include <stdarg.h>
#include <string.h>

#include "image_variant_params_internal.h"
#include "edge_hex.h"


static int image_variant_background(const char *v, size_t len,
    uint8_t rgb[3]);


const image_variant_name_t  image_variant_query_keys[] = {
    { image_variant_str("w"), IMAGE_VARIANT_Q_W },
    { image_variant_str("h"), IMAGE_VARIANT_Q_H },
    { image_variant_str("fit"), IMAGE_VARIANT_Q_FIT },
    { image_variant_str("gravity"), IMAGE_VARIANT_Q_GRAVITY },
    { image_variant_str("format"), IMAGE_VARIANT_Q_FORMAT },
    { image_variant_str("q"), IMAGE_VARIANT_Q_Q },
    { image_variant_str("dpr"), IMAGE_VARIANT_Q_DPR }
};


const image_variant_name_t  image_variant_fits[] = {
    { image_variant_str("cover"), IMAGE_VARIANT_FIT_COVER },
    { image_variant_str("contain"), IMAGE_VARIANT_FIT_CONTAIN },
    { image_variant_str("inside"), IMAGE_VARIANT_FIT_INSIDE },
    { image_variant_str("fill"), IMAGE_VARIANT_FIT_FILL },
    { NULL, 0, 0 }
};


const image_variant_name_t  image_variant_gravities[] = {
    { image_variant_str("centre"), IMAGE_VARIANT_GRAVITY_CENTRE },
    { image_variant_str("center"), IMAGE_VARIANT_GRAVITY_CENTRE },
    { image_variant_str("attention"), IMAGE_VARIANT_GRAVITY_ATTENTION },
    { image_variant_str("entropy"), IMAGE_VARIANT_GRAVITY_ENTROPY },
    { image_variant_str("face"), IMAGE_VARIANT_GRAVITY_FACE },
    { NULL, 0, 0 }
};


const image_variant_name_t  image_variant_formats[] = {
    { image_variant_str("jpeg"), IMAGE_VARIANT_FORMAT_JPEG },
    { image_variant_str("jpg"), IMAGE_VARIANT_FORMAT_JPEG },
    { image_variant_str("png"), IMAGE_VARIANT_FORMAT_PNG },
    { image_variant_str("webp"), IMAGE_VARIANT_FORMAT_WEBP },
    { image_variant_str("avif"), IMAGE_VARIANT_FORMAT_AVIF },
    { image_variant_str("auto"), IMAGE_VARIANT_FORMAT_AUTO },
    { NULL, 0, 0 }
};


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
                                       "centre, attention, entropy or face",
                                       qv);
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


/* 1..max, decimal digits only */

int
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


int
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


/*
 * Untrusted input for an error message: at most 32 bytes, anything but
 * printable ASCII (and '"', '\\') as '?', "..." when cut.
 */

const char *
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


int
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
