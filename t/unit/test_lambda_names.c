
/*
 * Unit tests for lambda_names.c: the FunctionName forms the SDKs send
 * (name, name:qualifier, partial and full ARN), what is refused, and the
 * lines of a lambda_credentials file.
 */


#include "unit.h"
#include "lambda_names.h"


static lambda_function_t  fn;


static int
parse(const char *s)
{
    return lambda_function_parse(s, strlen(s), &fn);
}


static int
is(lambda_str_t v, const char *s)
{
    return v.len == strlen(s) && memcmp(v.data, s, v.len) == 0;
}


UNIT_TEST(test_forms)
{
    CHECK_INT(parse("zipper"), LAMBDA_NAMES_OK);
    CHECK(is(fn.name, "zipper") && fn.qualifier.len == 0
          && fn.account.len == 0 && fn.region.len == 0);

    CHECK_INT(parse("zipper:$LATEST"), LAMBDA_NAMES_OK);
    CHECK(is(fn.name, "zipper") && is(fn.qualifier, "$LATEST"));

    CHECK_INT(parse("627002765486:function:fd-lambda"), LAMBDA_NAMES_OK);
    CHECK(is(fn.name, "fd-lambda") && is(fn.account, "627002765486")
          && fn.qualifier.len == 0);

    CHECK_INT(parse("627002765486:function:fd-lambda:live"), LAMBDA_NAMES_OK);
    CHECK(is(fn.name, "fd-lambda") && is(fn.qualifier, "live"));

    CHECK_INT(parse("arn:aws:lambda:eu-west-1:627002765486:function:"
                    "concrexit-production-facedetection-lambda"),
              LAMBDA_NAMES_OK);
    CHECK(is(fn.name, "concrexit-production-facedetection-lambda")
          && is(fn.region, "eu-west-1") && is(fn.account, "627002765486")
          && fn.qualifier.len == 0);

    CHECK_INT(parse("arn:aws-cn:lambda:cn-north-1:627002765486:function:"
                    "f_1:7"), LAMBDA_NAMES_OK);
    CHECK(is(fn.name, "f_1") && is(fn.qualifier, "7"));
}


UNIT_TEST(test_refused)
{
    CHECK_INT(parse(""), LAMBDA_NAMES_EINVAL);
    CHECK_INT(parse("a/b"), LAMBDA_NAMES_EINVAL);
    CHECK_INT(parse("a b"), LAMBDA_NAMES_EINVAL);
    CHECK_INT(parse("zipper:"), LAMBDA_NAMES_EINVAL);
    CHECK_INT(parse(":zipper"), LAMBDA_NAMES_EINVAL);
    CHECK_INT(parse("zipper:a:b"), LAMBDA_NAMES_EINVAL);
    CHECK_INT(parse("zipper:a.b"), LAMBDA_NAMES_EINVAL);
    CHECK_INT(parse("12345:function:zipper"), LAMBDA_NAMES_EINVAL);
    CHECK_INT(parse("62700276548x:function:zipper"), LAMBDA_NAMES_EINVAL);
    CHECK_INT(parse("627002765486:layer:zipper"), LAMBDA_NAMES_EINVAL);
    CHECK_INT(parse("arn:aws:s3:eu-west-1:627002765486:function:zipper"),
              LAMBDA_NAMES_EINVAL);
    CHECK_INT(parse("arn:gcp:lambda:eu-west-1:627002765486:function:zipper"),
              LAMBDA_NAMES_EINVAL);
    CHECK_INT(parse("arn:aws:lambda:EU:627002765486:function:zipper"),
              LAMBDA_NAMES_EINVAL);
    CHECK_INT(parse("arn:aws:lambda:eu-west-1:627002765486:function:z:1:2"),
              LAMBDA_NAMES_EINVAL);
    CHECK_INT(parse("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                    "aaaaaaa"), LAMBDA_NAMES_EINVAL);
    CHECK_INT(lambda_qualifier_check("live", 4), LAMBDA_NAMES_OK);
    CHECK_INT(lambda_qualifier_check("", 0), LAMBDA_NAMES_EINVAL);
    CHECK_INT(lambda_qualifier_check("a:b", 3), LAMBDA_NAMES_EINVAL);
}


static int
line(const char *s, lambda_str_t *id, lambda_str_t *secret)
{
    return lambda_keys_line(s, strlen(s), id, secret);
}


UNIT_TEST(test_keys)
{
    lambda_str_t  id, secret;

    CHECK_INT(line("AKIDEXAMPLE wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                   &id, &secret), LAMBDA_NAMES_OK);
    CHECK(is(id, "AKIDEXAMPLE")
          && is(secret, "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"));

    CHECK_INT(line("  K1\t s3cr=t \r", &id, &secret), LAMBDA_NAMES_OK);
    CHECK(is(id, "K1") && is(secret, "s3cr=t"));

    CHECK_INT(line("", &id, &secret), LAMBDA_NAMES_OK);
    CHECK(id.len == 0);
    CHECK_INT(line("  # K1 s", &id, &secret), LAMBDA_NAMES_OK);
    CHECK(id.len == 0);

    CHECK_INT(line("K1", &id, &secret), LAMBDA_NAMES_EINVAL);
    CHECK_INT(line("K1 s x", &id, &secret), LAMBDA_NAMES_EINVAL);
    CHECK_INT(line("K-1 s", &id, &secret), LAMBDA_NAMES_EINVAL);
    CHECK_INT(line("K1 s\x7f", &id, &secret), LAMBDA_NAMES_EINVAL);
}


UNIT_MAIN(test_forms, test_refused, test_keys)
