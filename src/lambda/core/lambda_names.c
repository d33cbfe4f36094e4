
/*
 * The Lambda Invoke API's names (see lambda_names.h).
 */


#include <string.h>

#include "lambda_names.h"


#define LAMBDA_NAMES_MAX_PARTS  8


static int lambda_name_char(unsigned char c);
static int lambda_check(const char *s, size_t len, size_t max, int dollar);
static int lambda_is(const char *s, size_t len, const char *word);


static int
lambda_name_char(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
           || (c >= '0' && c <= '9') || c == '-' || c == '_';
}


static int
lambda_check(const char *s, size_t len, size_t max, int dollar)
{
    size_t  i;

    if (len == 0 || len > max) {
        return LAMBDA_NAMES_EINVAL;
    }

    for (i = 0; i < len; i++) {
        if (!lambda_name_char((unsigned char) s[i])
            && !(dollar && s[i] == '$'))
        {
            return LAMBDA_NAMES_EINVAL;
        }
    }

    return LAMBDA_NAMES_OK;
}


static int
lambda_is(const char *s, size_t len, const char *word)
{
    return len == strlen(word) && memcmp(s, word, len) == 0;
}


int
lambda_qualifier_check(const char *s, size_t len)
{
    return lambda_check(s, len, LAMBDA_QUALIFIER_MAX_LEN, 1);
}


int
lambda_function_parse(const char *s, size_t len, lambda_function_t *f)
{
    size_t        i, n, start, first;
    lambda_str_t  part[LAMBDA_NAMES_MAX_PARTS];

    memset(f, 0, sizeof(lambda_function_t));

    if (len == 0 || len > LAMBDA_FUNCTION_MAX_LEN) {
        return LAMBDA_NAMES_EINVAL;
    }

    /* the ":"-separated parts */

    n = 0;
    start = 0;

    for (i = 0; i <= len; i++) {
        if (i < len && s[i] != ':') {
            continue;
        }

        if (n == LAMBDA_NAMES_MAX_PARTS) {
            return LAMBDA_NAMES_EINVAL;
        }

        part[n].data = s + start;
        part[n].len = i - start;
        n++;
        start = i + 1;
    }

    first = 0;

    if (n >= 7 && lambda_is(part[0].data, part[0].len, "arn")) {

        /* arn:<partition>:lambda:<region>:<account>:function:<name>... */

        if (!(lambda_is(part[1].data, part[1].len, "aws")
              || (part[1].len > 4 && memcmp(part[1].data, "aws-", 4) == 0))
            || !lambda_is(part[2].data, part[2].len, "lambda")
            || part[3].len == 0)
        {
            return LAMBDA_NAMES_EINVAL;
        }

        for (i = 0; i < part[3].len; i++) {
            if (!((part[3].data[i] >= 'a' && part[3].data[i] <= 'z')
                  || (part[3].data[i] >= '0' && part[3].data[i] <= '9')
                  || part[3].data[i] == '-'))
            {
                return LAMBDA_NAMES_EINVAL;
            }
        }

        f->region = part[3];
        first = 4;

    } else if (n >= 3 && lambda_is(part[1].data, part[1].len, "function")) {
        first = 0;

    } else if (n <= 2) {
        f->name = part[0];

        if (n == 2) {
            f->qualifier = part[1];

            if (lambda_qualifier_check(part[1].data, part[1].len)
                != LAMBDA_NAMES_OK)
            {
                return LAMBDA_NAMES_EINVAL;
            }
        }

        return lambda_check(f->name.data, f->name.len, LAMBDA_NAME_MAX_LEN,
                            0);

    } else {
        return LAMBDA_NAMES_EINVAL;
    }

    /* <account>:function:<name>[:<qualifier>] from part[first] on */

    if (n - first != 3 && n - first != 4) {
        return LAMBDA_NAMES_EINVAL;
    }

    if (part[first].len != 12
        || !lambda_is(part[first + 1].data, part[first + 1].len, "function"))
    {
        return LAMBDA_NAMES_EINVAL;
    }

    for (i = 0; i < 12; i++) {
        if (part[first].data[i] < '0' || part[first].data[i] > '9') {
            return LAMBDA_NAMES_EINVAL;
        }
    }

    f->account = part[first];
    f->name = part[first + 2];

    if (lambda_check(f->name.data, f->name.len, LAMBDA_NAME_MAX_LEN, 0)
        != LAMBDA_NAMES_OK)
    {
        return LAMBDA_NAMES_EINVAL;
    }

    if (n - first == 4) {
        f->qualifier = part[first + 3];

        return lambda_qualifier_check(f->qualifier.data, f->qualifier.len);
    }

    return LAMBDA_NAMES_OK;
}


int
lambda_keys_line(const char *line, size_t len, lambda_str_t *key_id,
    lambda_str_t *secret)
{
    size_t        i, n, start;
    lambda_str_t  field[2];

    key_id->data = "";
    key_id->len = 0;
    secret->data = "";
    secret->len = 0;

    n = 0;
    i = 0;

    for ( ;; ) {
        while (i < len && (line[i] == ' ' || line[i] == '\t'
                           || line[i] == '\r'))
        {
            i++;
        }

        if (i == len) {
            break;
        }

        if (n == 0 && line[i] == '#') {
            return LAMBDA_NAMES_OK;
        }

        if (n == 2) {
            return LAMBDA_NAMES_EINVAL;
        }

        start = i;

        while (i < len && line[i] != ' ' && line[i] != '\t'
               && line[i] != '\r')
        {
            if ((unsigned char) line[i] < 0x21
                || (unsigned char) line[i] > 0x7e)
            {
                return LAMBDA_NAMES_EINVAL;
            }

            i++;
        }

        field[n].data = line + start;
        field[n].len = i - start;
        n++;
    }

    if (n == 0) {
        return LAMBDA_NAMES_OK;
    }

    if (n != 2 || field[0].len > 128 || field[1].len > 256) {
        return LAMBDA_NAMES_EINVAL;
    }

    for (i = 0; i < field[0].len; i++) {
        if (!((field[0].data[i] >= 'A' && field[0].data[i] <= 'Z')
              || (field[0].data[i] >= 'a' && field[0].data[i] <= 'z')
              || (field[0].data[i] >= '0' && field[0].data[i] <= '9')))
        {
            return LAMBDA_NAMES_EINVAL;
        }
    }

    *key_id = field[0];
    *secret = field[1];

    return LAMBDA_NAMES_OK;
}
