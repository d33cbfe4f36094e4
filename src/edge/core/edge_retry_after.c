
/*
 * Retry-After (see edge_retry_after.h).
 */


#include <string.h>

#include "edge_time.h"
#include "edge_retry_after.h"


#define EDGE_RETRY_AFTER_MAX  2147483647


static int edge_retry_number(const char **p, const char *end, int min,
    int max, int64_t *v);
static int edge_retry_month(const char **p, const char *end, int64_t *m);
static int edge_retry_time(const char **p, const char *end, int64_t *h,
    int64_t *mi, int64_t *s);
static int edge_retry_lit(const char **p, const char *end, const char *s);
static int edge_retry_day_name(const char *v, size_t len);


/* min to max digits (a leading blank is skipped for asctime's day) */

static int
edge_retry_number(const char **p, const char *end, int min, int max,
    int64_t *v)
{
    int  n;

    *v = 0;

    for (n = 0; *p < end && **p >= '0' && **p <= '9' && n < max; n++) {
        *v = *v * 10 + (**p - '0');
        (*p)++;
    }

    return n >= min ? 0 : -1;
}


static int
edge_retry_month(const char **p, const char *end, int64_t *m)
{
    int                 i;
    static const char   months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";

    if (end - *p < 3) {
        return -1;
    }

    for (i = 0; i < 12; i++) {
        if (memcmp(*p, months + 3 * i, 3) == 0) {
            *m = i + 1;
            *p += 3;
            return 0;
        }
    }

    return -1;
}


static int
edge_retry_time(const char **p, const char *end, int64_t *h, int64_t *mi,
    int64_t *s)
{
    if (edge_retry_number(p, end, 2, 2, h) != 0 || *h > 23
        || edge_retry_lit(p, end, ":") != 0
        || edge_retry_number(p, end, 2, 2, mi) != 0 || *mi > 59
        || edge_retry_lit(p, end, ":") != 0
        || edge_retry_number(p, end, 2, 2, s) != 0 || *s > 60)
    {
        return -1;
    }

    return 0;
}


static int
edge_retry_lit(const char **p, const char *end, const char *s)
{
    size_t  n;

    n = strlen(s);

    if ((size_t) (end - *p) < n || memcmp(*p, s, n) != 0) {
        return -1;
    }

    *p += n;

    return 0;
}


/* "Sun", "Sunday": 3 to 9 letters (which day is not checked) */

static int
edge_retry_day_name(const char *v, size_t len)
{
    size_t  i;

    if (len < 3 || len > 9) {
        return -1;
    }

    for (i = 0; i < len; i++) {
        if (!((v[i] >= 'A' && v[i] <= 'Z') || (v[i] >= 'a' && v[i] <= 'z'))) {
            return -1;
        }
    }

    return 0;
}


int64_t
edge_http_date(const char *v, size_t len)
{
    int64_t      y, m, d, h, mi, s;
    const char  *p, *end, *comma;

    p = v;
    end = v + len;

    /* the day name: "Sun," (IMF-fixdate), "Sunday," (RFC 850), "Sun " */

    comma = memchr(p, ',', len);

    if (comma != NULL) {
        if (edge_retry_day_name(v, comma - v) != 0) {
            return -1;
        }

        p = comma + 1;

        if (edge_retry_lit(&p, end, " ") != 0
            || edge_retry_number(&p, end, 2, 2, &d) != 0)
        {
            return -1;
        }

        if (p < end && *p == ' ') {

            /* IMF-fixdate: "06 Nov 1994 08:49:37 GMT" */

            p++;

            if (edge_retry_month(&p, end, &m) != 0
                || edge_retry_lit(&p, end, " ") != 0
                || edge_retry_number(&p, end, 4, 4, &y) != 0)
            {
                return -1;
            }

        } else {

            /* RFC 850: "06-Nov-94 08:49:37 GMT", two-digit years */

            if (edge_retry_lit(&p, end, "-") != 0
                || edge_retry_month(&p, end, &m) != 0
                || edge_retry_lit(&p, end, "-") != 0
                || edge_retry_number(&p, end, 2, 2, &y) != 0)
            {
                return -1;
            }

            y += (y < 70) ? 2000 : 1900;
        }

        if (edge_retry_lit(&p, end, " ") != 0
            || edge_retry_time(&p, end, &h, &mi, &s) != 0
            || edge_retry_lit(&p, end, " GMT") != 0)
        {
            return -1;
        }

    } else {

        /* asctime: "Sun Nov  6 08:49:37 1994" */

        if (len < 4 || v[3] != ' ' || edge_retry_day_name(v, 3) != 0) {
            return -1;
        }

        p = v + 4;

        if (edge_retry_month(&p, end, &m) != 0
            || edge_retry_lit(&p, end, " ") != 0)
        {
            return -1;
        }

        if (p < end && *p == ' ') {
            p++;
        }

        if (edge_retry_number(&p, end, 1, 2, &d) != 0
            || edge_retry_lit(&p, end, " ") != 0
            || edge_retry_time(&p, end, &h, &mi, &s) != 0
            || edge_retry_lit(&p, end, " ") != 0
            || edge_retry_number(&p, end, 4, 4, &y) != 0)
        {
            return -1;
        }
    }

    /* before the epoch is no date a server sends; -1 stays the error */

    if (p != end || d < 1 || d > 31 || y < 1970) {
        return -1;
    }

    return edge_days_from_civil(y, m, d) * 86400 + h * 3600 + mi * 60 + s;
}


int64_t
edge_retry_after(const char *v, size_t len, int64_t now)
{
    size_t   i;
    int64_t  t, n;

    while (len && (v[0] == ' ' || v[0] == '\t')) {
        v++;
        len--;
    }

    while (len && (v[len - 1] == ' ' || v[len - 1] == '\t'
                   || v[len - 1] == '\r' || v[len - 1] == '\n'))
    {
        len--;
    }

    if (len == 0) {
        return -1;
    }

    if (v[0] >= '0' && v[0] <= '9') {
        n = 0;

        for (i = 0; i < len; i++) {
            if (v[i] < '0' || v[i] > '9') {
                return -1;
            }

            if (n < EDGE_RETRY_AFTER_MAX) {
                n = n * 10 + (v[i] - '0');
            }
        }

        return n < EDGE_RETRY_AFTER_MAX ? n : EDGE_RETRY_AFTER_MAX;
    }

    t = edge_http_date(v, len);

    if (t == -1) {
        return -1;
    }

    if (t <= now) {
        return 0;
    }

    return (t - now < EDGE_RETRY_AFTER_MAX) ? t - now : EDGE_RETRY_AFTER_MAX;
}
