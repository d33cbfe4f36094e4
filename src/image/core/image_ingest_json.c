
/*
 * JSON writers and the notification's retry policy; see the header.
 */


#include <stdio.h>
#include <string.h>
#include <time.h>

#include "image_ingest_json.h"


typedef struct {
    char    *out;
    size_t   len;
    size_t   n;
} image_ingest_writer_t;


static void image_ingest_put(image_ingest_writer_t *w, const char *s,
    size_t n);
static void image_ingest_puts(image_ingest_writer_t *w, const char *s);
static void image_ingest_put_string(image_ingest_writer_t *w,
    const char *s, size_t n);
static void image_ingest_put_uint(image_ingest_writer_t *w, uint64_t v);
static void image_ingest_put_object(image_ingest_writer_t *w,
    const image_ingest_pair_t *pairs, size_t n);
static void image_ingest_put_common(image_ingest_writer_t *w,
    const image_ingest_info_t *info);
static size_t image_ingest_utf8(const unsigned char *p, size_t n);


size_t
image_ingest_json_response(const image_ingest_info_t *info, char *out,
    size_t len)
{
    image_ingest_writer_t  w = { out, len, 0 };

    image_ingest_puts(&w, "{");
    image_ingest_put_common(&w, info);
    image_ingest_puts(&w, "}");

    return w.n;
}


size_t
image_ingest_json_meta(const image_ingest_info_t *info, char *out,
    size_t len)
{
    char                   date[32];
    time_t                 t;
    struct tm              tm;
    image_ingest_writer_t  w = { out, len, 0 };

    t = (time_t) info->uploaded;

    if (gmtime_r(&t, &tm) == NULL
        || strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
    {
        date[0] = '\0';
    }

    image_ingest_puts(&w, "{");
    image_ingest_put_common(&w, info);
    image_ingest_puts(&w, ", \"uploaded\": ");
    image_ingest_put_string(&w, date, strlen(date));
    image_ingest_puts(&w, ", \"meta\": ");
    image_ingest_put_object(&w, info->meta, info->nmeta);
    image_ingest_puts(&w, "}");

    return w.n;
}


size_t
image_ingest_json_string(const char *s, size_t n, char *out, size_t len)
{
    image_ingest_writer_t  w = { out, len, 0 };

    image_ingest_put_string(&w, s, n);

    return w.n;
}


int
image_ingest_notify_retryable(long status)
{
    return status == 0 || status == 408 || status == 429
           || (status >= 500 && status <= 599);
}


uint64_t
image_ingest_notify_backoff(unsigned attempt, uint64_t base, uint64_t max)
{
    unsigned  i;
    uint64_t  wait;

    wait = base;

    for (i = 1; i < attempt && wait < max; i++) {
        if (wait > max / 2) {
            return max;
        }

        wait *= 2;
    }

    return wait < max ? wait : max;
}


static void
image_ingest_put_common(image_ingest_writer_t *w,
    const image_ingest_info_t *info)
{
    size_t  i;

    image_ingest_puts(w, "\"key\": ");
    image_ingest_put_string(w, info->key, strlen(info->key));
    image_ingest_puts(w, ", \"width\": ");
    image_ingest_put_uint(w, info->width);
    image_ingest_puts(w, ", \"height\": ");
    image_ingest_put_uint(w, info->height);
    image_ingest_puts(w, ", \"format\": ");
    image_ingest_put_string(w, info->format, strlen(info->format));
    image_ingest_puts(w, ", \"bytes\": ");
    image_ingest_put_uint(w, info->bytes);
    image_ingest_puts(w, ", \"variants\": ");
    image_ingest_put_object(w, info->variants, info->nvariants);

    if (info->nformats) {
        image_ingest_puts(w, ", \"formats\": [");

        for (i = 0; i < info->nformats; i++) {
            if (i) {
                image_ingest_puts(w, ", ");
            }

            image_ingest_put_string(w, info->formats[i],
                                    strlen(info->formats[i]));
        }

        image_ingest_puts(w, "]");
    }

    if (info->moderation) {
        image_ingest_puts(w, ", \"moderation\": ");
        image_ingest_puts(w, info->moderation);
    }
}


static void
image_ingest_put_object(image_ingest_writer_t *w,
    const image_ingest_pair_t *pairs, size_t n)
{
    size_t  i;

    image_ingest_puts(w, "{");

    for (i = 0; i < n; i++) {
        if (i) {
            image_ingest_puts(w, ", ");
        }

        image_ingest_put_string(w, pairs[i].name, pairs[i].name_len);
        image_ingest_puts(w, ": ");
        image_ingest_put_string(w, pairs[i].value, pairs[i].value_len);
    }

    image_ingest_puts(w, "}");
}


static void
image_ingest_put_string(image_ingest_writer_t *w, const char *s, size_t n)
{
    char                  esc[8];
    size_t                i, k;
    const unsigned char  *p;

    static const char     hex[] = "0123456789abcdef";

    p = (const unsigned char *) s;

    image_ingest_puts(w, "\"");

    for (i = 0; i < n; /* void */) {
        if (p[i] == '"' || p[i] == '\\') {
            esc[0] = '\\';
            esc[1] = (char) p[i];
            image_ingest_put(w, esc, 2);
            i++;
            continue;
        }

        if (p[i] < 0x20 || p[i] == 0x7f) {
            memcpy(esc, "\\u00", 4);
            esc[4] = hex[p[i] >> 4];
            esc[5] = hex[p[i] & 0xf];
            image_ingest_put(w, esc, 6);
            i++;
            continue;
        }

        if (p[i] < 0x80) {
            image_ingest_put(w, (const char *) p + i, 1);
            i++;
            continue;
        }

        k = image_ingest_utf8(p + i, n - i);

        if (k == 0) {
            image_ingest_puts(w, "\xef\xbf\xbd");    /* U+FFFD */
            i++;
            continue;
        }

        image_ingest_put(w, (const char *) p + i, k);
        i += k;
    }

    image_ingest_puts(w, "\"");
}


/* the length of the UTF-8 sequence at p (RFC 3629), 0 if invalid */

static size_t
image_ingest_utf8(const unsigned char *p, size_t n)
{
    size_t    k, i;
    uint32_t  c, min;

    if (p[0] >= 0xc2 && p[0] <= 0xdf) {
        k = 2;
        c = p[0] & 0x1f;
        min = 0x80;

    } else if (p[0] >= 0xe0 && p[0] <= 0xef) {
        k = 3;
        c = p[0] & 0x0f;
        min = 0x800;

    } else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
        k = 4;
        c = p[0] & 0x07;
        min = 0x10000;

    } else {
        return 0;
    }

    if (n < k) {
        return 0;
    }

    for (i = 1; i < k; i++) {
        if ((p[i] & 0xc0) != 0x80) {
            return 0;
        }

        c = (c << 6) | (p[i] & 0x3f);
    }

    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) {
        return 0;
    }

    return k;
}


static void
image_ingest_put_uint(image_ingest_writer_t *w, uint64_t v)
{
    char  buf[24];
    int   n;

    n = snprintf(buf, sizeof(buf), "%llu", (unsigned long long) v);
    image_ingest_put(w, buf, (size_t) n);
}


static void
image_ingest_puts(image_ingest_writer_t *w, const char *s)
{
    image_ingest_put(w, s, strlen(s));
}


static void
image_ingest_put(image_ingest_writer_t *w, const char *s, size_t n)
{
    if (w->out != NULL && w->n + n <= w->len) {
        memcpy(w->out + w->n, s, n);
    }

    w->n += n;
}
