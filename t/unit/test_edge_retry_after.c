
/*
 * Unit tests for edge_retry_after.c: delay-seconds, the three HTTP-date
 * forms of RFC 9110's example instant, dates past, and garbage.
 */


#include "unit.h"
#include "edge_retry_after.h"


/* Sun, 06 Nov 1994 08:49:37 GMT */
#define T  784111777


static int64_t
ra(const char *s, int64_t now)
{
    return edge_retry_after(s, strlen(s), now);
}


UNIT_TEST(test_seconds)
{
    CHECK_INT(ra("2", 0), 2);
    CHECK_INT(ra(" 120 ", 0), 120);
    CHECK_INT(ra("0", 0), 0);
    CHECK_INT(ra("99999999999999999999", 0), 2147483647);
    CHECK_INT(ra("", 0), -1);
    CHECK_INT(ra("2s", 0), -1);
    CHECK_INT(ra("-1", 0), -1);
    CHECK_INT(ra("1.5", 0), -1);
}


UNIT_TEST(test_dates)
{
    CHECK_INT(edge_http_date("Sun, 06 Nov 1994 08:49:37 GMT", 29), T);
    CHECK_INT(ra("Sun, 06 Nov 1994 08:49:37 GMT", T - 30), 30);
    CHECK_INT(ra("Sunday, 06-Nov-94 08:49:37 GMT", T - 30), 30);
    CHECK_INT(ra("Sun Nov  6 08:49:37 1994", T - 30), 30);
    CHECK_INT(ra("Sun, 06 Nov 1994 08:49:37 GMT", T + 30), 0);
    CHECK_INT(ra("Wed, 09 Dec 2026 10:00:00 GMT", 1796810400 - 2), 2);

    CHECK_INT(ra("Sun, 06 Nov 1994 08:49:37", 0), -1);
    CHECK_INT(ra("Sun, 06 Nov 1994 08:49:37 UTC", 0), -1);
    CHECK_INT(ra("Sun, 06 Foo 1994 08:49:37 GMT", 0), -1);
    CHECK_INT(ra("Sun, 32 Nov 1994 08:49:37 GMT", 0), -1);
    CHECK_INT(ra("Sun, 06 Nov 1994 24:49:37 GMT", 0), -1);
    CHECK_INT(ra("tomorrow", 0), -1);
}


UNIT_MAIN(test_seconds, test_dates)
