
/*
 * libFuzzer target for the Lambda front's names (src/lambda/core): a
 * FunctionName as nginx decodes it, and a credentials file's line.  What
 * is accepted points into the input, has the lengths Lambda allows, and
 * parses again the same way.
 *
 *     make -C fuzz build/fuzz_lambda_names
 *     fuzz/build/fuzz_lambda_names -max_total_time=60
 */


#include <stdint.h>
#include <string.h>

#include "lambda_names.h"
#include "fuzz_common.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static void
fuzz_inside(const char *in, size_t size, lambda_str_t v)
{
    FUZZ_CHECK(v.len == 0
               || (v.data >= in && v.data + v.len <= in + size));
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char         *s;
    lambda_str_t        id, secret;
    lambda_function_t   f, g;

    s = (const char *) data;

    if (lambda_function_parse(s, size, &f) == LAMBDA_NAMES_OK) {
        FUZZ_CHECK(f.name.len >= 1 && f.name.len <= LAMBDA_NAME_MAX_LEN);
        FUZZ_CHECK(f.qualifier.len <= LAMBDA_QUALIFIER_MAX_LEN);
        FUZZ_CHECK(memchr(f.name.data, ':', f.name.len) == NULL);
        FUZZ_CHECK(memchr(s, '/', size) == NULL);
        fuzz_inside(s, size, f.name);
        fuzz_inside(s, size, f.qualifier);
        fuzz_inside(s, size, f.account);
        fuzz_inside(s, size, f.region);

        /* the name alone, and name:qualifier, are functions too */
        FUZZ_CHECK(lambda_function_parse(f.name.data, f.name.len, &g)
                   == LAMBDA_NAMES_OK);
        FUZZ_CHECK(g.name.len == f.name.len && g.qualifier.len == 0);

        if (f.qualifier.len) {
            FUZZ_CHECK(lambda_qualifier_check(f.qualifier.data,
                                              f.qualifier.len)
                       == LAMBDA_NAMES_OK);
        }
    }

    if (lambda_keys_line(s, size, &id, &secret) == LAMBDA_NAMES_OK) {
        FUZZ_CHECK((id.len == 0) == (secret.len == 0));
        FUZZ_CHECK(id.len <= 128 && secret.len <= 256);
        fuzz_inside(s, size, id);
        fuzz_inside(s, size, secret);
    }

    return 0;
}
