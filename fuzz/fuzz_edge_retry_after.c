
/*
 * libFuzzer target for Retry-After (src/edge/core/edge_retry_after.c),
 * which every outbound client reads from a 429 or 503 of a site it does
 * not control: any value gives -1 or a delay in [0, 2^31 - 1]; a date
 * gives a time the delay agrees with; blanks around the value change
 * nothing.
 *
 *     make -C fuzz build/fuzz_edge_retry_after
 *     fuzz/build/fuzz_edge_retry_after -max_total_time=60
 */


#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "edge_retry_after.h"
#include "fuzz_common.h"


#define FUZZ_NOW  1796601600     /* a fixed "now": 2026-12-07 */


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char     *padded;
    int64_t   d, t, p;

    /* the input in a buffer of its own size: a read past it is caught */
    padded = malloc(size + 2);
    if (padded == NULL) {
        return 0;
    }

    d = edge_retry_after((const char *) data, size, FUZZ_NOW);

    FUZZ_CHECK(d == -1 || (d >= 0 && d <= 0x7fffffff));

    t = edge_http_date((const char *) data, size);

    if (t != -1) {
        FUZZ_CHECK(t >= 0);

        /* a date is a delay from now, 0 when past */
        FUZZ_CHECK(d == (t <= FUZZ_NOW ? 0
                         : (t - FUZZ_NOW > 0x7fffffff ? 0x7fffffff
                                                      : t - FUZZ_NOW)));
    }

    padded[0] = ' ';
    memcpy(padded + 1, data, size);
    padded[size + 1] = '\t';

    p = edge_retry_after(padded, size + 2, FUZZ_NOW);

    FUZZ_CHECK(p == d);

    free(padded);

    return 0;
}
