/*
 * Unit tests for edge_s3.c: AWS's published S3 Signature Version 4
 * examples (the "GET Object" with Range bytes=0-9, "PUT Object",
 * "GET Bucket Lifecycle" and "Get Bucket (List Objects)" requests of
 * examplebucket, signed 2013-05-24T00:00:00Z in us-east-1 with the
 * documentation's example key) byte for byte, then the key encoding,
 * path and virtual styles, session tokens, signed extra headers, the
 * endpoint and credentials parsers and the error <Code> reader.
 */


#include <stddef.h>
#include <stdlib.h>

#include "unit.h"
#include "edge_s3.h"


#define KEY_ID    "AKIAIOSFODNN7EXAMPLE"
#define SECRET    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define EMPTY     EDGE_SIGV4_EMPTY_SHA256
#define CRED      "Credential=" KEY_ID "/20130524/us-east-1/s3/aws4_request"

/* 2013-05-24T00:00:00Z */
#define NOW       1369353600


typedef struct block_s  block_t;

struct block_s {
    block_t      *next;
    max_align_t   data[];
};

static block_t  *blocks;


static void
test_free(void)
{
    block_t  *b;

    while (blocks) {
        b = blocks;
        blocks = b->next;
        free(b);
    }
}


static void *
test_alloc(void *ctx, size_t size)
{
    block_t  *b;

    (void) ctx;

    if (blocks == NULL) {
        atexit(test_free);
    }

    b = malloc(sizeof(block_t) + size);
    if (b == NULL) {
        return NULL;
    }

    b->next = blocks;
    blocks = b;

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


static void
example_target(edge_s3_target_t *t, const char *endpoint, int style)
{
    memset(t, 0, sizeof(edge_s3_target_t));
    t->endpoint = str(endpoint);
    t->style = style;
    t->bucket = str("examplebucket");
    t->region = str("us-east-1");
    strcpy(t->credentials.key_id, KEY_ID);
    t->credentials.key_id_len = strlen(KEY_ID);
    strcpy(t->credentials.secret, SECRET);
    t->credentials.secret_len = strlen(SECRET);
}


static void
example_request(edge_s3_request_t *r, const char *method, const char *key,
    const char *query, const char *payload_hash)
{
    memset(r, 0, sizeof(edge_s3_request_t));
    r->method = str(method);
    r->key = str(key);
    r->query = str(query);
    r->payload_hash = str(payload_hash);
    r->time = NOW;
}


/* the "GET Object" example: Range signed, the empty payload's hash */

UNIT_TEST(test_get_object_example)
{
    char                 err[EDGE_S3_ERR_LEN];
    edge_s3_target_t     t;
    edge_s3_signed_t     s;
    edge_s3_request_t    r;
    edge_sigv4_header_t  range = { { "Range", 5 }, { "bytes=0-9", 9 } };

    /* style 0: implied by the amazonaws.com endpoint (virtual) */
    example_target(&t, "https://s3.amazonaws.com", 0);
    example_request(&r, "GET", "test.txt", "", EMPTY);
    r.headers = &range;
    r.nheaders = 1;

    CHECK_INT(edge_s3_sign(&t, &r, &hooks, &s, err, sizeof(err)),
              EDGE_S3_OK);
    CHECK_STR(s.url.data, "https://examplebucket.s3.amazonaws.com/test.txt");
    CHECK_STR(s.uri.data, "/test.txt");
    CHECK_STR(s.host.data, "examplebucket.s3.amazonaws.com");
    CHECK_STR(s.amz_date, "20130524T000000Z");
    CHECK_STR(s.payload_hash.data, EMPTY);
    CHECK_INT(s.token.len, 0);
    CHECK_STR(s.signed_headers.data,
              "host;range;x-amz-content-sha256;x-amz-date");
    CHECK_STR(s.authorization.data,
              "AWS4-HMAC-SHA256 " CRED ", SignedHeaders=host;range;"
              "x-amz-content-sha256;x-amz-date, Signature="
              "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}


/* the "PUT Object" example: "$" in the key, Date and a storage class */

UNIT_TEST(test_put_object_example)
{
    char                 err[EDGE_S3_ERR_LEN], hash[65];
    edge_s3_target_t     t;
    edge_s3_signed_t     s;
    edge_s3_request_t    r;
    edge_sigv4_header_t  h[2] = {
        { { "Date", 4 }, { "Fri, 24 May 2013 00:00:00 GMT", 29 } },
        { { "x-amz-storage-class", 19 }, { "REDUCED_REDUNDANCY", 18 } }
    };

    edge_sigv4_sha256_hex("Welcome to Amazon S3.", 21, hash);
    CHECK_STR(hash,
        "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");

    example_target(&t, "https://s3.amazonaws.com/", EDGE_S3_STYLE_VIRTUAL);
    example_request(&r, "PUT", "test$file.text", "", hash);
    r.headers = h;
    r.nheaders = 2;

    CHECK_INT(edge_s3_sign(&t, &r, &hooks, &s, err, sizeof(err)),
              EDGE_S3_OK);
    CHECK_STR(s.url.data,
              "https://examplebucket.s3.amazonaws.com/test%24file.text");
    CHECK_STR(s.signed_headers.data,
              "date;host;x-amz-content-sha256;x-amz-date;"
              "x-amz-storage-class");
    CHECK_STR(s.authorization.data,
              "AWS4-HMAC-SHA256 " CRED ", SignedHeaders=date;host;"
              "x-amz-content-sha256;x-amz-date;x-amz-storage-class, "
              "Signature="
              "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
}


/* "GET Bucket Lifecycle" (a parameter without a value) and "List Objects" */

UNIT_TEST(test_bucket_examples)
{
    char               err[EDGE_S3_ERR_LEN];
    edge_s3_target_t   t;
    edge_s3_signed_t   s;
    edge_s3_request_t  r;

    example_target(&t, "https://s3.amazonaws.com", 0);

    example_request(&r, "GET", "", "lifecycle", EMPTY);
    CHECK_INT(edge_s3_sign(&t, &r, &hooks, &s, err, sizeof(err)),
              EDGE_S3_OK);
    CHECK_STR(s.url.data, "https://examplebucket.s3.amazonaws.com/?lifecycle");
    CHECK_STR(s.authorization.data,
              "AWS4-HMAC-SHA256 " CRED ", SignedHeaders=host;"
              "x-amz-content-sha256;x-amz-date, Signature="
              "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");

    example_request(&r, "GET", "", "max-keys=2&prefix=J", EMPTY);
    CHECK_INT(edge_s3_sign(&t, &r, &hooks, &s, err, sizeof(err)),
              EDGE_S3_OK);
    CHECK_STR(s.uri.data, "/?max-keys=2&prefix=J");
    CHECK_STR(s.authorization.data,
              "AWS4-HMAC-SHA256 " CRED ", SignedHeaders=host;"
              "x-amz-content-sha256;x-amz-date, Signature="
              "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");

    /* the query is sorted for signing, sent as given */
    example_request(&r, "GET", "", "prefix=J&max-keys=2", EMPTY);
    CHECK_INT(edge_s3_sign(&t, &r, &hooks, &s, err, sizeof(err)),
              EDGE_S3_OK);
    CHECK_STR(s.uri.data, "/?prefix=J&max-keys=2");
    CHECK(strstr(s.authorization.data, "Signature=34b48302e7b5fa45bde8084f4"
                 "b7868a86f0a534bc59db6670ed5711ef69dc6f7") != NULL);
}


/* path style, UNSIGNED-PAYLOAD, awkward keys encoded once */

UNIT_TEST(test_path_style_and_keys)
{
    char               err[EDGE_S3_ERR_LEN], buf[64], *end;
    edge_s3_target_t   t;
    edge_s3_signed_t   s, s2;
    edge_s3_request_t  r;

    example_target(&t, "http://127.0.0.1:7480", 0);
    example_request(&r, "GET", "albums/a b+c'd%e\xc3\xa9~_.-!.jpg", "", "");

    CHECK_INT(edge_s3_sign(&t, &r, &hooks, &s, err, sizeof(err)),
              EDGE_S3_OK);
    CHECK_STR(s.host.data, "127.0.0.1:7480");
    CHECK_STR(s.url.data, "http://127.0.0.1:7480/examplebucket/albums/"
              "a%20b%2Bc%27d%25e%C3%A9~_.-%21.jpg");
    CHECK_STR(s.uri.data, "/examplebucket/albums/"
              "a%20b%2Bc%27d%25e%C3%A9~_.-%21.jpg");
    CHECK_STR(s.payload_hash.data, "UNSIGNED-PAYLOAD");

    /* the bucket alone */
    example_request(&r, "GET", "", "list-type=2", "");
    CHECK_INT(edge_s3_sign(&t, &r, &hooks, &s, err, sizeof(err)),
              EDGE_S3_OK);
    CHECK_STR(s.uri.data, "/examplebucket?list-type=2");

    /* virtual style on any endpoint when asked */
    t.style = EDGE_S3_STYLE_VIRTUAL;
    example_request(&r, "HEAD", "k", "", "");
    CHECK_INT(edge_s3_sign(&t, &r, &hooks, &s, err, sizeof(err)),
              EDGE_S3_OK);
    CHECK_STR(s.url.data, "http://examplebucket.127.0.0.1:7480/k");

    /* a different day: a different signing key, so another signature */
    t.style = EDGE_S3_STYLE_PATH;
    example_request(&r, "GET", "k", "", "");
    CHECK_INT(edge_s3_sign(&t, &r, &hooks, &s, err, sizeof(err)),
              EDGE_S3_OK);
    r.time = NOW + 86400;
    CHECK_INT(edge_s3_sign(&t, &r, &hooks, &s2, err, sizeof(err)),
              EDGE_S3_OK);
    CHECK_STR(s2.amz_date, "20130525T000000Z");
    CHECK(strstr(s2.authorization.data, "/20130525/us-east-1/s3/") != NULL);
    CHECK(strcmp(s.authorization.data + s.authorization.len - 64,
                 s2.authorization.data + s2.authorization.len - 64) != 0);

    end = edge_s3_encode_key(buf, "a/b c", 5);
    *end = '\0';
    CHECK_STR(buf, "a/b%20c");
}


/* a session token is sent and signed; extra headers are signed too */

UNIT_TEST(test_token_and_headers)
{
    char                 err[EDGE_S3_ERR_LEN];
    edge_s3_target_t     t;
    edge_s3_signed_t     s;
    edge_s3_request_t    r;
    edge_sigv4_header_t  h[2] = {
        { { "If-None-Match", 13 }, { "*", 1 } },
        { { "Content-MD5", 11 }, { "1B2M2Y8AsgTpgAmY7PhCfg==", 24 } }
    };

    example_target(&t, "http://127.0.0.1:7480", 0);
    strcpy(t.credentials.token, "FQoGZXIvYXdzEXAMPLETOKEN");
    t.credentials.token_len = strlen(t.credentials.token);
    example_request(&r, "PUT", "img/x.jpg", "", EMPTY);
    r.headers = h;
    r.nheaders = 2;

    CHECK_INT(edge_s3_sign(&t, &r, &hooks, &s, err, sizeof(err)),
              EDGE_S3_OK);
    /* the signed request outlives the target's credentials */
    memset(&t.credentials, 0, sizeof(t.credentials));
    CHECK_STR(s.token.data, "FQoGZXIvYXdzEXAMPLETOKEN");
    strcpy(t.credentials.key_id, KEY_ID);
    t.credentials.key_id_len = strlen(KEY_ID);
    strcpy(t.credentials.secret, SECRET);
    t.credentials.secret_len = strlen(SECRET);
    strcpy(t.credentials.token, "FQoGZXIvYXdzEXAMPLETOKEN");
    t.credentials.token_len = strlen(t.credentials.token);
    CHECK_STR(s.signed_headers.data,
              "content-md5;host;if-none-match;x-amz-content-sha256;"
              "x-amz-date;x-amz-security-token");

    /* a header the signer sets itself, given again */
    h[0].name = str("X-Amz-Date");
    CHECK_INT(edge_s3_sign(&t, &r, &hooks, &s, err, sizeof(err)),
              EDGE_S3_EINVAL);

    /* a value that would split the request */
    h[0].name = str("if-none-match");
    h[0].value = str("*\r\nx-evil: 1");
    CHECK_INT(edge_s3_sign(&t, &r, &hooks, &s, err, sizeof(err)),
              EDGE_S3_EINVAL);

    /* malformed requests */
    r.nheaders = 0;
    r.payload_hash = str("abc");
    CHECK_INT(edge_s3_sign(&t, &r, &hooks, &s, err, sizeof(err)),
              EDGE_S3_EINVAL);
    r.payload_hash = str("");
    r.method = str("get");
    CHECK_INT(edge_s3_sign(&t, &r, &hooks, &s, err, sizeof(err)),
              EDGE_S3_EINVAL);
    r.method = str("GET");
    r.query = str("a b");
    CHECK_INT(edge_s3_sign(&t, &r, &hooks, &s, err, sizeof(err)),
              EDGE_S3_EINVAL);
    r.query = str("");
    t.bucket = str("Bad_Bucket");
    CHECK_INT(edge_s3_sign(&t, &r, &hooks, &s, err, sizeof(err)),
              EDGE_S3_EINVAL);
    CHECK_STR(err, "an invalid bucket name");
}


UNIT_TEST(test_endpoint)
{
    int     https, style;
    char    err[EDGE_S3_ERR_LEN];
    size_t  off, len;

#define EP(s)  edge_s3_parse_endpoint(s, strlen(s), &https, &off, &len,      \
                                      &style, err, sizeof(err))

    CHECK_INT(EP("http://127.0.0.1:7480"), EDGE_S3_OK);
    CHECK_INT(https, 0);
    CHECK_INT(off, 7);
    CHECK_INT(len, 14);
    CHECK_INT(style, EDGE_S3_STYLE_PATH);

    CHECK_INT(EP("https://s3.eu-west-1.amazonaws.com/"), EDGE_S3_OK);
    CHECK_INT(https, 1);
    CHECK_INT(len, 26);
    CHECK_INT(style, EDGE_S3_STYLE_VIRTUAL);

    CHECK_INT(EP("http://[::1]:9000"), EDGE_S3_OK);
    CHECK_INT(len, 10);

    CHECK_INT(EP("ftp://x"), EDGE_S3_EINVAL);
    CHECK_INT(EP("http://"), EDGE_S3_EINVAL);
    CHECK_INT(EP("http://h/path"), EDGE_S3_EINVAL);
    CHECK_INT(EP("http://user@h"), EDGE_S3_EINVAL);
    CHECK_INT(EP("http://h:0"), EDGE_S3_EINVAL);
    CHECK_INT(EP("http://h:65536"), EDGE_S3_EINVAL);
    CHECK_INT(EP("http://h:80?x"), EDGE_S3_EINVAL);
    CHECK_INT(EP("http://[::1"), EDGE_S3_EINVAL);

#undef EP

    CHECK(edge_s3_valid_bucket("photos", 6));
    CHECK(edge_s3_valid_bucket("my.photos-1", 11));
    CHECK(!edge_s3_valid_bucket("ab", 2));
    CHECK(!edge_s3_valid_bucket("-ab", 3));
    CHECK(!edge_s3_valid_bucket("Photos", 6));
    CHECK(!edge_s3_valid_bucket("a/b", 3));
}


UNIT_TEST(test_credentials)
{
    char                   err[EDGE_S3_ERR_LEN];
    const char            *text;
    edge_s3_credentials_t  c;

    text = "[default]\n# a comment\n"
           "aws_access_key_id = AKIDEXAMPLE\r\n"
           "AWS_SECRET_ACCESS_KEY=s3cr3t/+=x\n"
           "region = eu-west-1\n"
           "  aws_session_token =  tok==  \n";
    CHECK_INT(edge_s3_parse_credentials(text, strlen(text), &c, err,
                                        sizeof(err)), EDGE_S3_OK);
    CHECK_STR(c.key_id, "AKIDEXAMPLE");
    CHECK_STR(c.secret, "s3cr3t/+=x");
    CHECK_STR(c.token, "tok==");
    CHECK_INT(c.token_len, 5);

    text = "aws_access_key_id = A\naws_secret_access_key = S";
    CHECK_INT(edge_s3_parse_credentials(text, strlen(text), &c, err,
                                        sizeof(err)), EDGE_S3_OK);
    CHECK_INT(c.token_len, 0);

    text = "aws_access_key_id = A\n";
    CHECK_INT(edge_s3_parse_credentials(text, strlen(text), &c, err,
                                        sizeof(err)), EDGE_S3_EINVAL);
    CHECK_STR(err, "aws_access_key_id and aws_secret_access_key are "
              "required");

    /* the message names the line, never the value */
    text = "aws_access_key_id = A\naws_secret_access_key = two words\n";
    CHECK_INT(edge_s3_parse_credentials(text, strlen(text), &c, err,
                                        sizeof(err)), EDGE_S3_EINVAL);
    CHECK(strstr(err, "line 2") != NULL);
    CHECK(strstr(err, "words") == NULL);
    CHECK_INT(c.key_id_len, 0);

    text = "garbage\n";
    CHECK_INT(edge_s3_parse_credentials(text, strlen(text), &c, err,
                                        sizeof(err)), EDGE_S3_EINVAL);
}


UNIT_TEST(test_error_code)
{
    char         code[64];
    const char  *xml;

    xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>"
          "SignatureDoesNotMatch</Code><RequestId>tx0</RequestId></Error>";
    CHECK_INT(edge_s3_error_code(xml, strlen(xml), code, sizeof(code)), 1);
    CHECK_STR(code, "SignatureDoesNotMatch");

    xml = "<Error><Code>RequestTimeTooSkewed</Code>";
    CHECK_INT(edge_s3_error_code(xml, strlen(xml), code, sizeof(code)), 1);
    CHECK_STR(code, "RequestTimeTooSkewed");

    xml = "<Error><Code>Bad Code</Code>";
    CHECK_INT(edge_s3_error_code(xml, strlen(xml), code, sizeof(code)), 0);
    xml = "<Error><Code>NoEnd";
    CHECK_INT(edge_s3_error_code(xml, strlen(xml), code, sizeof(code)), 0);
    xml = "<Error><Code>Long</Code>";
    CHECK_INT(edge_s3_error_code(xml, strlen(xml), code, 4), 0);
    CHECK_INT(edge_s3_error_code("", 0, code, sizeof(code)), 0);
}


UNIT_MAIN(test_get_object_example, test_put_object_example,
          test_bucket_examples, test_path_style_and_keys,
          test_token_and_headers, test_endpoint, test_credentials,
          test_error_code)
