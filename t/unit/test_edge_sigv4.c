
/*
 * Unit tests for edge_sigv4.c against AWS's Signature Version 4 test
 * suite (the published requests, canonical requests, strings to sign and
 * signatures: signed 2015-08-30T12:36:00Z, us-east-1, service "service",
 * the suite's example key), plus verification, the Authorization parser,
 * dates, and the Lambda path's double encoding.
 */


#include <stddef.h>
#include <stdlib.h>

#include "unit.h"
#include "edge_sigv4.h"


#define KEY_ID    "AKIDEXAMPLE"
#define SECRET    "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define DATE      "20150830T123600Z"
#define SCOPE     "20150830/us-east-1/service/aws4_request"
#define HOST      "example.amazonaws.com"
#define EMPTY     EDGE_SIGV4_EMPTY_SHA256
#define FORM_HASH                                                             \
    "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e"

/* the suite's signing instant */
#define NOW       1440938160


typedef struct {
    const char  *name;
    const char  *method;
    const char  *path;
    const char  *query;
    const char  *headers[12];     /* "Name", "value" pairs; NULL ends */
    const char  *signed_headers;
    const char  *body;
    const char  *creq;           /* NULL: not checked */
    const char  *signature;      /* NULL: not checked (the suite's
                                    authz for that case does not match
                                    its own canonical request) */
} vector_t;


static const vector_t  vectors[] = {

    { "get-vanilla", "GET", "/", "",
      { "Host", HOST, "X-Amz-Date", DATE, NULL },
      "host;x-amz-date", "",
      "GET\n/\n\nhost:" HOST "\nx-amz-date:" DATE "\n\nhost;x-amz-date\n"
      EMPTY,
      "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31" },

    { "get-vanilla-query-order-key-case", "GET", "/",
      "Param2=value2&Param1=value1",
      { "Host", HOST, "X-Amz-Date", DATE, NULL },
      "host;x-amz-date", "",
      "GET\n/\nParam1=value1&Param2=value2\nhost:" HOST "\nx-amz-date:"
      DATE "\n\nhost;x-amz-date\n" EMPTY,
      "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500" },

    { "get-vanilla-query-order-key", "GET", "/",
      "Param1=value2&Param1=Value1",
      { "Host", HOST, "X-Amz-Date", DATE, NULL },
      "host;x-amz-date", "",
      "GET\n/\nParam1=Value1&Param1=value2\nhost:" HOST "\nx-amz-date:"
      DATE "\n\nhost;x-amz-date\n" EMPTY,
      "eedbc4e291e521cf13422ffca22be7d2eb8146eecf653089df300a15b2382bd1" },

    { "get-vanilla-query-order-value", "GET", "/",
      "Param1=value2&Param1=value1",
      { "Host", HOST, "X-Amz-Date", DATE, NULL },
      "host;x-amz-date", "", NULL,
      "5772eed61e12b33fae39ee5e7012498b51d56abc0abb7c60486157bd471c4694" },

    { "get-vanilla-query-unreserved", "GET", "/",
      "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz="
      "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
      { "Host", HOST, "X-Amz-Date", DATE, NULL },
      "host;x-amz-date", "", NULL,
      "9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197" },

    { "get-vanilla-utf8-query", "GET", "/", "\xe1\x88\xb4=bar",
      { "Host", HOST, "X-Amz-Date", DATE, NULL },
      "host;x-amz-date", "",
      "GET\n/\n%E1%88%B4=bar\nhost:" HOST "\nx-amz-date:" DATE
      "\n\nhost;x-amz-date\n" EMPTY,
      "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04" },

    { "get-header-key-duplicate", "GET", "/", "",
      { "Host", HOST, "My-Header1", "value2", "My-Header1", "value2",
        "My-Header1", "value1", NULL },
      "host;my-header1;x-amz-date", "",
      "GET\n/\n\nhost:" HOST "\nmy-header1:value2,value2,value1\n"
      "x-amz-date:" DATE "\n\nhost;my-header1;x-amz-date\n" EMPTY,
      "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea" },

    { "get-header-value-trim", "GET", "/", "",
      { "Host", HOST, "My-Header1", " value1", "My-Header2",
        " \"a   b   c\"", NULL },
      "host;my-header1;my-header2;x-amz-date", "",
      "GET\n/\n\nhost:" HOST "\nmy-header1:value1\nmy-header2:\"a b c\"\n"
      "x-amz-date:" DATE "\n\nhost;my-header1;my-header2;x-amz-date\n"
      EMPTY,
      "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736" },

    { "get-unreserved", "GET",
      "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
      "", { "Host", HOST, NULL },
      "host;x-amz-date", "", NULL,
      "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f" },

    { "get-utf8", "GET", "/\xe1\x88\xb4", "", { "Host", HOST, NULL },
      "host;x-amz-date", "",
      "GET\n/%E1%88%B4\n\nhost:" HOST "\nx-amz-date:" DATE
      "\n\nhost;x-amz-date\n" EMPTY,
      "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85" },

    { "get-space-normalized", "GET", "/example space/", "",
      { "Host", HOST, NULL },
      "host;x-amz-date", "",
      "GET\n/example%20space/\n\nhost:" HOST "\nx-amz-date:" DATE
      "\n\nhost;x-amz-date\n" EMPTY,
      "652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741" },

    { "post-vanilla-query", "POST", "/", "Param1=value1",
      { "Host", HOST, NULL },
      "host;x-amz-date", "",
      "POST\n/\nParam1=value1\nhost:" HOST "\nx-amz-date:" DATE
      "\n\nhost;x-amz-date\n" EMPTY,
      "28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11" },

    { "post-x-www-form-urlencoded-parameters", "POST", "/", "",
      { "Content-Type", "application/x-www-form-urlencoded; charset=utf-8",
        "Host", HOST, "Content-Length", "13", NULL },
      "content-length;content-type;host;x-amz-date", "Param1=value1",
      "POST\n/\n\ncontent-length:13\ncontent-type:application/"
      "x-www-form-urlencoded; charset=utf-8\nhost:" HOST "\nx-amz-date:"
      DATE "\n\ncontent-length;content-type;host;x-amz-date\n" FORM_HASH,
      NULL },

    { "post-x-www-form-urlencoded (signed body hash)", "POST", "/", "",
      { "Content-Type", "application/x-www-form-urlencoded",
        "Content-Length", "13", "Host", HOST,
        "X-Amz-Content-Sha256", FORM_HASH, NULL },
      "content-length;content-type;host;x-amz-content-sha256;x-amz-date",
      "Param1=value1", NULL,
      "d3875051da38690788ef43de4db0d8f280229d82040bfac253562e56c3f20e0b" },
};


/* an arena freed at exit: the tests are short */

typedef struct test_block_s  test_block_t;

struct test_block_s {
    test_block_t  *next;
    max_align_t    data[];
};

static test_block_t  *test_blocks;


static void
test_free(void)
{
    test_block_t  *b;

    while (test_blocks) {
        b = test_blocks;
        test_blocks = b->next;
        free(b);
    }
}


static void *
test_alloc(void *ctx, size_t size)
{
    test_block_t  *b;

    (void) ctx;

    if (test_blocks == NULL) {
        atexit(test_free);
    }

    b = malloc(sizeof(test_block_t) + size);
    if (b == NULL) {
        return NULL;
    }

    b->next = test_blocks;
    test_blocks = b;

    return b->data;
}


static const edge_sigv4_alloc_t  hooks = { test_alloc, NULL };


static edge_sigv4_str_t
str(const char *s)
{
    edge_sigv4_str_t  v;

    v.data = s;
    v.len = strlen(s);

    return v;
}


/* the vector's request; headers gets X-Amz-Date added when absent */

static size_t
request(const vector_t *v, edge_sigv4_header_t *headers,
    edge_sigv4_request_t *req, char *hash)
{
    size_t  i, n;
    int     has_date;

    n = 0;
    has_date = 0;

    for (i = 0; v->headers[i]; i += 2) {
        headers[n].name = str(v->headers[i]);
        headers[n].value = str(v->headers[i + 1]);
        has_date |= (strcmp(v->headers[i], "X-Amz-Date") == 0);
        n++;
    }

    if (!has_date) {
        headers[n].name = str("X-Amz-Date");
        headers[n].value = str(DATE);
        n++;
    }

    edge_sigv4_sha256_hex(v->body, strlen(v->body), hash);

    memset(req, 0, sizeof(edge_sigv4_request_t));
    req->method = str(v->method);
    req->path = str(v->path);
    req->query = str(v->query);
    req->headers = headers;
    req->nheaders = n;
    req->signed_headers = str(v->signed_headers);
    req->payload_hash = str(hash);
    req->flags = EDGE_SIGV4_PATH_DOUBLE | EDGE_SIGV4_PATH_NORMALIZE;

    return n;
}


UNIT_TEST(test_suite_vectors)
{
    int                    rc;
    char                   hash[65], expect[512];
    size_t                 i;
    edge_sigv4_str_t       creq, authz, key_id, date, region, service;
    edge_sigv4_header_t    headers[10];
    edge_sigv4_request_t   req;

    key_id = str(KEY_ID);
    date = str(DATE);
    region = str("us-east-1");
    service = str("service");

    for (i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
        (void) request(&vectors[i], headers, &req, hash);

        rc = edge_sigv4_canonical_request(&req, &hooks, &creq);
        CHECK_INT(rc, EDGE_SIGV4_OK);

        if (rc == EDGE_SIGV4_OK && vectors[i].creq) {
            if (strcmp(creq.data, vectors[i].creq) != 0) {
                fprintf(stderr, "%s\n", vectors[i].name);
            }

            CHECK_STR(creq.data, vectors[i].creq);
            CHECK_INT(creq.len, strlen(vectors[i].creq));
        }

        rc = edge_sigv4_sign(&req, &key_id, SECRET, sizeof(SECRET) - 1,
                             &date, &region, &service, &hooks, &authz);
        CHECK_INT(rc, EDGE_SIGV4_OK);

        if (vectors[i].signature == NULL) {
            continue;
        }

        snprintf(expect, sizeof(expect),
                 "AWS4-HMAC-SHA256 Credential=" KEY_ID "/" SCOPE
                 ", SignedHeaders=%s, Signature=%s",
                 vectors[i].signed_headers, vectors[i].signature);

        if (rc == EDGE_SIGV4_OK && strcmp(authz.data, expect) != 0) {
            fprintf(stderr, "%s\n", vectors[i].name);
        }

        CHECK_STR(rc == EDGE_SIGV4_OK ? authz.data : NULL, expect);
    }
}


UNIT_TEST(test_string_to_sign)
{
    edge_sigv4_str_t  creq, scope, date, sts;

    creq = str(vectors[0].creq);
    scope = str(SCOPE);
    date = str(DATE);

    CHECK_INT(edge_sigv4_string_to_sign(&date, &scope, &creq, &hooks, &sts),
              EDGE_SIGV4_OK);
    CHECK_STR(sts.data, "AWS4-HMAC-SHA256\n" DATE "\n" SCOPE "\n"
              "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c2529292"
              "7e63");
}


/* AWS's documented derivation example: 20150830, us-east-1, iam */

UNIT_TEST(test_signing_key)
{
    char              hex[65];
    size_t            i;
    unsigned char     key[32];
    edge_sigv4_str_t  day, region, service;
    static const char  digits[] = "0123456789abcdef";

    day = str("20150830");
    region = str("us-east-1");
    service = str("iam");

    CHECK_INT(edge_sigv4_signing_key(SECRET, sizeof(SECRET) - 1, &day,
                                     &region, &service, key),
              EDGE_SIGV4_OK);

    for (i = 0; i < 32; i++) {
        hex[2 * i] = digits[key[i] >> 4];
        hex[2 * i + 1] = digits[key[i] & 0x0f];
    }

    hex[64] = '\0';

    CHECK_STR(hex, "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da"
                   "6ed3c154a4b9");
}


static const char *
path_of(const char *path, unsigned flags)
{
    char                  *line, *end;
    edge_sigv4_str_t       creq;
    edge_sigv4_header_t    h;
    edge_sigv4_request_t   req;

    memset(&req, 0, sizeof(req));
    h.name = str("Host");
    h.value = str(HOST);
    req.method = str("GET");
    req.path = str(path);
    req.query = str("");
    req.headers = &h;
    req.nheaders = 1;
    req.signed_headers = str("host");
    req.payload_hash = str(EMPTY);
    req.flags = flags;

    if (edge_sigv4_canonical_request(&req, &hooks, &creq) != EDGE_SIGV4_OK)
    {
        return NULL;
    }

    line = strchr(creq.data, '\n') + 1;
    end = strchr(line, '\n');
    *end = '\0';

    return line;
}


UNIT_TEST(test_paths)
{
    unsigned  all;

    all = EDGE_SIGV4_PATH_DOUBLE | EDGE_SIGV4_PATH_NORMALIZE;

    /* the suite's normalisation cases */
    CHECK_STR(path_of("/example/..", all), "/");
    CHECK_STR(path_of("/example1/example2/../..", all), "/");
    CHECK_STR(path_of("/./", all), "/");
    CHECK_STR(path_of("/./example", all), "/example");
    CHECK_STR(path_of("//example//", all), "/example/");
    CHECK_STR(path_of("", all), "/");

    /* Lambda: a function ARN is encoded by the SDK, then again here */
    CHECK_STR(path_of("/2015-03-31/functions/arn%3Aaws%3Alambda%3Aeu-west-1"
                      "%3A123456789012%3Afunction%3Afd/invocations", all),
              "/2015-03-31/functions/arn%253Aaws%253Alambda%253Aeu-west-1"
              "%253A123456789012%253Afunction%253Afd/invocations");

    /* S3: once, as sent, dot segments kept; an encoded "/" stays one */
    CHECK_STR(path_of("/bucket/a%20b/./c%2Fd+e", 0),
              "/bucket/a%20b/./c%2Fd%2Be");
    CHECK_STR(path_of("/bucket/%e1%88%b4", 0), "/bucket/%E1%88%B4");
}


UNIT_TEST(test_query)
{
    edge_sigv4_str_t       creq;
    edge_sigv4_header_t    h;
    edge_sigv4_request_t   req;

    memset(&req, 0, sizeof(req));
    h.name = str("host");
    h.value = str(HOST);
    req.method = str("GET");
    req.path = str("/");
    req.query = str("b=2&a=x%20y&&a=w&flag&c=%7e%2f");
    req.headers = &h;
    req.nheaders = 1;
    req.signed_headers = str("host");
    req.payload_hash = str("UNSIGNED-PAYLOAD");

    CHECK_INT(edge_sigv4_canonical_request(&req, &hooks, &creq),
              EDGE_SIGV4_OK);
    CHECK_STR(creq.data, "GET\n/\na=w&a=x%20y&b=2&c=~%2F&flag=\nhost:" HOST
              "\n\nhost\nUNSIGNED-PAYLOAD");

    /* a signed header name must be lowercase */
    req.signed_headers = str("Host");
    CHECK_INT(edge_sigv4_canonical_request(&req, &hooks, &creq),
              EDGE_SIGV4_EINVAL);
    req.signed_headers = str("host;;x");
    CHECK_INT(edge_sigv4_canonical_request(&req, &hooks, &creq),
              EDGE_SIGV4_EINVAL);
}


UNIT_TEST(test_parse_authorization)
{
    char               err[EDGE_SIGV4_ERR_LEN];
    edge_sigv4_auth_t  auth;
    const char        *v;

    v = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/"
        "service/aws4_request, SignedHeaders=host;x-amz-date, Signature="
        "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31";

    CHECK_INT(edge_sigv4_parse_authorization(v, strlen(v), &auth, err,
                                             sizeof(err)), EDGE_SIGV4_OK);
    CHECK_INT(auth.access_key.len, 11);
    CHECK(memcmp(auth.access_key.data, "AKIDEXAMPLE", 11) == 0);
    CHECK(auth.date.len == 8 && memcmp(auth.date.data, "20150830", 8) == 0);
    CHECK(auth.region.len == 9
          && memcmp(auth.region.data, "us-east-1", 9) == 0);
    CHECK(auth.service.len == 7
          && memcmp(auth.service.data, "service", 7) == 0);
    CHECK(auth.signed_headers.len == 15);
    CHECK(auth.signature.len == 64);

    /* botocore's spelling has no spaces after the commas */
    v = "AWS4-HMAC-SHA256 Signature=5fa00fa31553b73ebf1942676e86291e8372ff"
        "2a2260956d9b8aae1d763fbf31,SignedHeaders=host;x-amz-date,"
        "Credential=K/20150830/r/s/aws4_request";
    CHECK_INT(edge_sigv4_parse_authorization(v, strlen(v), &auth, err,
                                             sizeof(err)), EDGE_SIGV4_OK);

#define REFUSED(s)                                                            \
    CHECK_INT(edge_sigv4_parse_authorization(s, strlen(s), &auth, err,        \
                                             sizeof(err)), EDGE_SIGV4_EINVAL)

    REFUSED("");
    REFUSED("Basic dXNlcjpwYXNz");
    REFUSED("AWS4-HMAC-SHA256 Credential=K/20150830/r/s/aws4_request, "
            "SignedHeaders=host");
    REFUSED("AWS4-HMAC-SHA256 Credential=K/2015083/r/s/aws4_request, "
            "SignedHeaders=host, Signature=5fa00fa31553b73ebf1942676e86291e"
            "8372ff2a2260956d9b8aae1d763fbf31");
    REFUSED("AWS4-HMAC-SHA256 Credential=K/20150830/r/s/aws4_request/x, "
            "SignedHeaders=host, Signature=5fa00fa31553b73ebf1942676e86291e"
            "8372ff2a2260956d9b8aae1d763fbf31");
    REFUSED("AWS4-HMAC-SHA256 Credential=K/20150830/r/s/aws4_request, "
            "SignedHeaders=host, Signature=5FA00fa31553b73ebf1942676e86291e"
            "8372ff2a2260956d9b8aae1d763fbf31");
    REFUSED("AWS4-HMAC-SHA256 Credential=K/20150830/r/s/aws4_request, "
            "Credential=K/20150830/r/s/aws4_request, SignedHeaders=host, "
            "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8a"
            "ae1d763fbf31");

#undef REFUSED
}


UNIT_TEST(test_dates)
{
    char     out[EDGE_SIGV4_DATE_LEN + 1];
    int64_t  t;

    CHECK_INT(edge_sigv4_parse_date(DATE, 16, &t), EDGE_SIGV4_OK);
    CHECK_INT(t, NOW);

    edge_sigv4_format_date(NOW, out);
    CHECK_STR(out, DATE);

    CHECK_INT(edge_sigv4_parse_date("20240229T000000Z", 16, &t),
              EDGE_SIGV4_OK);
    CHECK_INT(t, 1709164800);
    edge_sigv4_format_date(1709164800, out);
    CHECK_STR(out, "20240229T000000Z");

    edge_sigv4_format_date(0, out);
    CHECK_STR(out, "19700101T000000Z");

    CHECK_INT(edge_sigv4_parse_date("20150830T123600", 15, &t),
              EDGE_SIGV4_EINVAL);
    CHECK_INT(edge_sigv4_parse_date("20151330T123600Z", 16, &t),
              EDGE_SIGV4_EINVAL);
    CHECK_INT(edge_sigv4_parse_date("2015083OT123600Z", 16, &t),
              EDGE_SIGV4_EINVAL);
    CHECK_INT(edge_sigv4_parse_date("20150830T126000Z", 16, &t),
              EDGE_SIGV4_EINVAL);

    /* found by fuzz_edge_sigv4: February 29th of a common year */
    CHECK_INT(edge_sigv4_parse_date("20150229T123600Z", 16, &t),
              EDGE_SIGV4_EINVAL);
    CHECK_INT(edge_sigv4_parse_date("21000229T123600Z", 16, &t),
              EDGE_SIGV4_EINVAL);
    CHECK_INT(edge_sigv4_parse_date("20000229T123600Z", 16, &t),
              EDGE_SIGV4_OK);
}


static int
verify(const vector_t *v, const char *authz, const char *amz_date,
    const char *body, int64_t now)
{
    char                   hash[65], err[EDGE_SIGV4_ERR_LEN];
    edge_sigv4_str_t       date;
    edge_sigv4_auth_t      auth;
    edge_sigv4_header_t    headers[10];
    edge_sigv4_request_t   req;

    (void) request(v, headers, &req, hash);

    if (body) {
        edge_sigv4_sha256_hex(body, strlen(body), hash);
    }

    if (edge_sigv4_parse_authorization(authz, strlen(authz), &auth, err,
                                       sizeof(err))
        != EDGE_SIGV4_OK)
    {
        return 99;
    }

    date = str(amz_date);

    return edge_sigv4_verify(&req, &auth, &date, SECRET, sizeof(SECRET) - 1,
                             now, 900, &hooks, err, sizeof(err));
}


UNIT_TEST(test_verify)
{
    const vector_t  *form;
    char             authz[512];

    form = &vectors[13];

    snprintf(authz, sizeof(authz), "AWS4-HMAC-SHA256 Credential=" KEY_ID "/"
             SCOPE ", SignedHeaders=%s, Signature=%s", form->signed_headers,
             form->signature);

    CHECK_INT(verify(form, authz, DATE, NULL, NOW), EDGE_SIGV4_OK);
    CHECK_INT(verify(form, authz, DATE, NULL, NOW + 900), EDGE_SIGV4_OK);
    CHECK_INT(verify(form, authz, DATE, NULL, NOW - 900), EDGE_SIGV4_OK);

    /* 15 minutes and one second away, either side */
    CHECK_INT(verify(form, authz, DATE, NULL, NOW + 901), EDGE_SIGV4_EDATE);
    CHECK_INT(verify(form, authz, DATE, NULL, NOW - 901), EDGE_SIGV4_EDATE);

    /* the body changed after signing */
    CHECK_INT(verify(form, authz, DATE, "Param1=value2", NOW),
              EDGE_SIGV4_EMISMATCH);

    /* another date than the one signed, same day */
    CHECK_INT(verify(form, authz, "20150830T123601Z", NULL, NOW),
              EDGE_SIGV4_EMISMATCH);

    /* a day other than the credential's */
    CHECK_INT(verify(form, authz, "20150831T000000Z", NULL, NOW),
              EDGE_SIGV4_EMISMATCH);

    CHECK_INT(verify(form, authz, "yesterday", NULL, NOW), EDGE_SIGV4_EINVAL);

    /* one digit of the signature changed */
    authz[strlen(authz) - 1] = 'f';
    CHECK_INT(verify(form, authz, DATE, NULL, NOW), EDGE_SIGV4_EMISMATCH);

    /* x-amz-date not signed: a replay could carry any date */
    snprintf(authz, sizeof(authz), "AWS4-HMAC-SHA256 Credential=" KEY_ID "/"
             SCOPE ", SignedHeaders=host, Signature=%s",
             form->signature);
    CHECK_INT(verify(form, authz, DATE, NULL, NOW), EDGE_SIGV4_EINVAL);
}


UNIT_TEST(test_equal)
{
    CHECK(edge_sigv4_equal("abcd", "abcd", 4));
    CHECK(!edge_sigv4_equal("abcd", "abce", 4));
    CHECK(!edge_sigv4_equal("xbcd", "abcd", 4));
    CHECK(edge_sigv4_equal("", "", 0));
}


UNIT_MAIN(test_suite_vectors, test_string_to_sign, test_signing_key,
          test_paths, test_query, test_parse_authorization, test_dates,
          test_verify, test_equal)
