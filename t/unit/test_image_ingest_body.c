
/*
 * Unit tests for image_ingest_body.c: which bodies are JSON, the strict
 * JSON check that finds data.image, and the in-place base64 decoder.
 */


#include <stdlib.h>

#include "unit.h"
#include "image_ingest_body.h"


#define S(s)  s, sizeof(s) - 1


/* the decoded data.image of a JSON body, or NULL with err set */

static const char *
decode(const char *json, size_t *len, char *err, size_t err_len)
{
    size_t       off, n;
    static char  buf[4096];

    n = strlen(json);
    memcpy(buf, json, n);

    if (image_ingest_body_json(buf, n, &off, &n, err, err_len)
        != IMAGE_INGEST_BODY_OK)
    {
        return NULL;
    }

    if (image_ingest_body_base64(buf + off, n, len, err, err_len)
        != IMAGE_INGEST_BODY_OK)
    {
        return NULL;
    }

    return buf + off;
}


static int
refused(const char *json, const char *message)
{
    char    err[128];
    size_t  len;

    err[0] = '\0';

    if (decode(json, &len, err, sizeof(err)) != NULL) {
        fprintf(stderr, "accepted: %s\n", json);
        return 0;
    }

    if (strstr(err, message) == NULL) {
        fprintf(stderr, "%s: \"%s\" lacks \"%s\"\n", json, err, message);
        return 0;
    }

    return 1;
}


UNIT_TEST(test_is_json)
{
    CHECK_INT(image_ingest_body_is_json(S("{}")), 1);
    CHECK_INT(image_ingest_body_is_json(S(" \r\n\t{\"a\":1}")), 1);
    CHECK_INT(image_ingest_body_is_json(S("\xff\xd8\xff\xe0")), 0);
    CHECK_INT(image_ingest_body_is_json(S("\x89PNG\r\n")), 0);
    CHECK_INT(image_ingest_body_is_json(S("[]")), 0);
    CHECK_INT(image_ingest_body_is_json(S("   ")), 0);
    CHECK_INT(image_ingest_body_is_json("", 0), 0);
}


UNIT_TEST(test_json_found)
{
    char        err[128];
    size_t      len;
    const char  *p;

    p = decode("{\"data\": {\"image\": \"aGVsbG8=\"}}", &len, err,
               sizeof(err));
    CHECK(p != NULL);
    CHECK_INT(len, 5);
    CHECK(p && memcmp(p, "hello", 5) == 0);

    /* other members, nested, before and after; whitespace everywhere */
    p = decode(" { \"token\" : [1, -2.5e+3, true, false, null, {\"x\": "
               "\"\\u00e9\\n\"}], \"data\" : { \"name\": \"a\", \"image\" "
               ": \"aGk\" , \"data\": {} } , \"z\": 0 } \n",
               &len, err, sizeof(err));
    CHECK(p != NULL);
    CHECK_INT(len, 2);
    CHECK(p && memcmp(p, "hi", 2) == 0);

    /* "image" only counts inside the top "data" */
    p = decode("{\"image\": 5, \"x\": {\"data\": {\"image\": 1}}, "
               "\"data\": {\"image\": \"AAEC\"}}", &len, err, sizeof(err));
    CHECK(p != NULL);
    CHECK_INT(len, 3);
    CHECK(p && p[0] == 0 && p[1] == 1 && p[2] == 2);
}


UNIT_TEST(test_json_refused)
{
    CHECK(refused("", "must be a JSON object"));
    CHECK(refused("[1]", "must be a JSON object"));
    CHECK(refused("{}", "data: missing"));
    CHECK(refused("{\"data\": {}}", "data.image: missing"));
    CHECK(refused("{\"data\": []}", "data: must be an object"));
    CHECK(refused("{\"data\": null}", "data: must be an object"));
    CHECK(refused("{\"data\": {\"image\": null}}", "must be a string"));
    CHECK(refused("{\"data\": {\"image\": [\"QQ==\"]}}", "must be a string"));
    CHECK(refused("{\"data\": {\"image\": \"QQ==\"}, \"data\": 1}",
                  "given twice"));
    CHECK(refused("{\"data\": {\"image\": \"QQ==\", \"image\": \"QQ==\"}}",
                  "given twice"));
    CHECK(refused("{\"d\\u0061ta\": {\"image\": \"QQ==\"}}",
                  "data: missing"));
    CHECK(refused("{\"data\": {\"image\": \"QQ==\"}", "truncated"));
    CHECK(refused("{\"data\": {\"image\": \"QQ==", "truncated"));
    CHECK(refused("{\"data\": {\"image\": \"QQ==\"}} {}", "after"));
    CHECK(refused("{\"data\": {\"image\": \"QQ==\"},}", "expected a key"));
    CHECK(refused("{\"a\" 1}", "expected \":\""));
    CHECK(refused("{\"a\": [1 2]}", "expected"));
    CHECK(refused("{\"a\": tru}", "unexpected"));
    CHECK(refused("{\"a\": 01}", "expected"));
    CHECK(refused("{\"a\": 1.}", "bad number"));
    CHECK(refused("{\"a\": -}", "unexpected"));
    CHECK(refused("{\"a\": 1e}", "bad number"));
    CHECK(refused("{\"a\": \"\\x\"}", "bad escape"));
    CHECK(refused("{\"a\": \"\\u12g4\"}", "bad \\u escape"));
    CHECK(refused("{\"a\": \"tab\there\"}", "control character"));
    CHECK(refused("{'a': 1}", "expected a key"));
}


UNIT_TEST(test_json_depth)
{
    int     i;
    char    buf[256], err[128], *p;
    size_t  len;

    /* 32 levels are fine, 33 are not */

    p = buf;
    p += sprintf(p, "{\"data\": {\"image\": \"QQ==\"}, \"x\": ");
    for (i = 0; i < 30; i++) {
        *p++ = '[';
    }
    for (i = 0; i < 30; i++) {
        *p++ = ']';
    }
    strcpy(p, "}");
    CHECK(decode(buf, &len, err, sizeof(err)) != NULL);

    p = buf;
    p += sprintf(p, "{\"data\": {\"image\": \"QQ==\"}, \"x\": ");
    for (i = 0; i < 32; i++) {
        *p++ = '[';
    }
    for (i = 0; i < 32; i++) {
        *p++ = ']';
    }
    strcpy(p, "}");
    CHECK(refused(buf, "nested too deeply"));
}


UNIT_TEST(test_base64)
{
    char        err[128];
    size_t      len;
    const char  *p;

    /* padding optional; URL-safe alphabet; JSON "\/" and line breaks */
    p = decode("{\"data\": {\"image\": \"+/8=\"}}", &len, err, sizeof(err));
    CHECK(p && len == 2 && (unsigned char) p[0] == 0xfb
          && (unsigned char) p[1] == 0xff);

    p = decode("{\"data\": {\"image\": \"-_8\"}}", &len, err, sizeof(err));
    CHECK(p && len == 2 && (unsigned char) p[0] == 0xfb);

    p = decode("{\"data\": {\"image\": \"+\\/8=\"}}", &len, err,
               sizeof(err));
    CHECK(p && len == 2 && (unsigned char) p[1] == 0xff);

    p = decode("{\"data\": {\"image\": \"aGVs\\nbG8=\\r\\n \"}}", &len, err,
               sizeof(err));
    CHECK(p && len == 5 && memcmp(p, "hello", 5) == 0);

    p = decode("{\"data\": {\"image\": "
               "\"data:image/png;base64,aGVsbG8\"}}", &len, err,
               sizeof(err));
    CHECK(p && len == 5 && memcmp(p, "hello", 5) == 0);

    CHECK(refused("{\"data\": {\"image\": \"data:image/png,aGk=\"}}",
                  "must be base64"));
    CHECK(refused("{\"data\": {\"image\": \"data:aGk=\"}}",
                  "must be base64"));
    CHECK(refused("{\"data\": {\"image\": \"aGk*\"}}", "not base64"));
    CHECK(refused("{\"data\": {\"image\": \"aGk=aGk=\"}}", "after"));
    CHECK(refused("{\"data\": {\"image\": \"a\"}}", "truncated"));
    CHECK(refused("{\"data\": {\"image\": \"aGk==\"}}", "truncated"));
    CHECK(refused("{\"data\": {\"image\": \"aG===\"}}", "truncated"));
    CHECK(refused("{\"data\": {\"image\": \"====\"}}", "truncated"));
    CHECK(refused("{\"data\": {\"image\": \"\"}}", "empty"));
    CHECK(refused("{\"data\": {\"image\": \" \\n \"}}", "empty"));
    CHECK(refused("{\"data\": {\"image\": \"aG\\u0041k\"}}", "bad escape"));
    CHECK(refused("{\"data\": {\"image\": \"aG\\\"k\"}}", "bad escape"));
}


/* every length round-trips through our decoder */

UNIT_TEST(test_base64_lengths)
{
    int            ok;
    char           text[512], err[64];
    size_t         n, i, len, t;
    unsigned char  data[300];
    unsigned long  v;

    static const char  alpha[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

    for (i = 0; i < sizeof(data); i++) {
        data[i] = (unsigned char) (i * 37 + 11);
    }

    ok = 1;

    for (n = 1; n < sizeof(data); n++) {
        t = 0;

        for (i = 0; i + 2 < n; i += 3) {
            v = (unsigned long) data[i] << 16 | data[i + 1] << 8
                | data[i + 2];
            text[t++] = alpha[v >> 18];
            text[t++] = alpha[(v >> 12) & 63];
            text[t++] = alpha[(v >> 6) & 63];
            text[t++] = alpha[v & 63];
        }

        if (n - i == 1) {
            v = (unsigned long) data[i] << 16;
            text[t++] = alpha[v >> 18];
            text[t++] = alpha[(v >> 12) & 63];
            text[t++] = '=';
            text[t++] = '=';

        } else if (n - i == 2) {
            v = (unsigned long) data[i] << 16 | data[i + 1] << 8;
            text[t++] = alpha[v >> 18];
            text[t++] = alpha[(v >> 12) & 63];
            text[t++] = alpha[(v >> 6) & 63];
            text[t++] = '=';
        }

        if (image_ingest_body_base64(text, t, &len, err, sizeof(err))
            != IMAGE_INGEST_BODY_OK
            || len != n || memcmp(text, data, n) != 0)
        {
            ok = 0;
            fprintf(stderr, "length %zu does not round-trip\n", n);
            break;
        }
    }

    CHECK(ok);
}


UNIT_MAIN(test_is_json, test_json_found, test_json_refused, test_json_depth,
          test_base64, test_base64_lengths)
