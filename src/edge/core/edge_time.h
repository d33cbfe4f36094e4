
/*
 * Calendar arithmetic shared by the pure parsers of dates (SigV4's
 * X-Amz-Date, HTTP-dates in Retry-After).  No nginx types.
 */


#ifndef _EDGE_TIME_H_INCLUDED_
#define _EDGE_TIME_H_INCLUDED_


#include <stdint.h>


/* days from 1970-01-01 to y-m-d (proleptic Gregorian; m 1..12) */

static inline int64_t
edge_days_from_civil(int64_t y, int64_t m, int64_t d)
{
    int64_t  era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

    return era * 146097 + doe - 719468;
}


#endif /* _EDGE_TIME_H_INCLUDED_ */
