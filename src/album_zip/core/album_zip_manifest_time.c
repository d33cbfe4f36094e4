
/*
 * Album zip manifests: RFC 3339 date-times to unix time, for "mtime"; see
 * album_zip_manifest_rfc3339() in album_zip_manifest.h.
 *
 * - A leap second ":60" is taken as ":59": a timestamp is not worth failing
 *   a download for, and zip times have 2-second resolution anyway.
 */


#include "album_zip_manifest_internal.h"


static int64_t album_zip_manifest_days(int64_t y, unsigned m, unsigned d);
static int album_zip_manifest_digits(const u_char *s, size_t n,
    unsigned *value);


int
album_zip_manifest_rfc3339(const u_char *s, size_t len, int64_t *t)
{
    int       sign;
    size_t    i;
    int64_t   v;
    unsigned  year, mon, mday, hour, min, sec, oh, om, dim;

    static const u_char  days[] = {
        31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
    };

    /* 2024-05-01T12:00:00 */

    if (len < 20
        || album_zip_manifest_digits(s, 4, &year) != 0 || s[4] != '-'
        || album_zip_manifest_digits(s + 5, 2, &mon) != 0 || s[7] != '-'
        || album_zip_manifest_digits(s + 8, 2, &mday) != 0
        || (s[10] != 'T' && s[10] != 't')
        || album_zip_manifest_digits(s + 11, 2, &hour) != 0 || s[13] != ':'
        || album_zip_manifest_digits(s + 14, 2, &min) != 0 || s[16] != ':'
        || album_zip_manifest_digits(s + 17, 2, &sec) != 0)
    {
        return -1;
    }

    i = 19;

    if (s[i] == '.') {
        for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
            /* void */
        }

        if (i == 20) {
            return -1;
        }
    }

    if (i == len) {
        return -1;
    }

    if (s[i] == 'Z' || s[i] == 'z') {
        sign = 0;
        oh = 0;
        om = 0;
        i++;

    } else if (s[i] == '+' || s[i] == '-') {
        sign = (s[i] == '+') ? 1 : -1;

        if (len - i != 6
            || album_zip_manifest_digits(s + i + 1, 2, &oh) != 0
            || s[i + 3] != ':'
            || album_zip_manifest_digits(s + i + 4, 2, &om) != 0
            || oh > 23 || om > 59)
        {
            return -1;
        }

        i += 6;

    } else {
        return -1;
    }

    if (i != len) {
        return -1;
    }

    if (mon < 1 || mon > 12 || mday < 1 || hour > 23 || min > 59
        || sec > 60)
    {
        return -1;
    }

    dim = days[mon - 1];

    if (mon == 2
        && year % 4 == 0 && (year % 100 != 0 || year % 400 == 0))
    {
        dim = 29;
    }

    if (mday > dim) {
        return -1;
    }

    if (sec == 60) {
        sec = 59;
    }

    v = album_zip_manifest_days(year, mon, mday) * 86400
        + hour * 3600 + min * 60 + sec
        - sign * (int64_t) (oh * 3600 + om * 60);

    if (v < 0 || v > ALBUM_ZIP_MANIFEST_MAX_MTIME) {
        return -2;
    }

    *t = v;

    return 0;
}


/*
 * Days since 1970-01-01 of a proleptic Gregorian date.  Years are counted
 * from March so that February's leap day falls at the end of a year, in
 * 400-year eras of 146097 days.
 */

static int64_t
album_zip_manifest_days(int64_t y, unsigned m, unsigned d)
{
    int64_t   era;
    unsigned  yoe, doy, doe;

    if (m <= 2) {
        y--;
        m += 9;

    } else {
        m -= 3;
    }

    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (unsigned) (y - era * 400);
    doy = (153 * m + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

    /* 719468: days from 0000-03-01 to 1970-01-01 */
    return era * 146097 + (int64_t) doe - 719468;
}


static int
album_zip_manifest_digits(const u_char *s, size_t n, unsigned *value)
{
    size_t    i;
    unsigned  v;

    v = 0;

    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return -1;
        }

        v = v * 10 + (s[i] - '0');
    }

    *value = v;

    return 0;
}
