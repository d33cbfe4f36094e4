
/*
 * Unit tests for image_ingest_json.c: the response, metadata and
 * notification JSON (exact text, with and without moderation), string
 * escaping, and the notification's retry policy.
 */


#include <stdlib.h>

#include "unit.h"
#include "image_ingest_json.h"


#define S(s)  s, sizeof(s) - 1
#define KEY   "5d41402abc4b2a76b9719d911017c592"


static char *
render(size_t (*fn)(const image_ingest_info_t *, char *, size_t),
    const image_ingest_info_t *info)
{
    size_t       n;
    static char  buf[4096];

    n = fn(info, NULL, 0);

    if (n >= sizeof(buf) || fn(info, buf, n) != n) {
        return NULL;
    }

    buf[n] = '\0';

    return buf;
}


static const char *
escape(const char *s, size_t len)
{
    size_t       n;
    static char  buf[256];

    n = image_ingest_json_string(s, len, buf, sizeof(buf) - 1);
    buf[n < sizeof(buf) ? n : 0] = '\0';

    return buf;
}


UNIT_TEST(test_response)
{
    char                  small[16];
    image_ingest_pair_t   v[2] = {
        { S("avatar"), S("/a/avatar/" KEY ".jpg") },
        { S("thumb"), S("/a/thumb/" KEY ".webp") }
    };
    const char           *formats[] = { "jpeg", "webp" };
    image_ingest_info_t   info;

    memset(&info, 0, sizeof(info));
    info.key = KEY;
    info.width = 1920;
    info.height = 1280;
    info.format = "jpeg";
    info.bytes = 123456;
    info.variants = v;
    info.nvariants = 2;

    CHECK_STR(render(image_ingest_json_response, &info),
              "{\"key\": \"" KEY "\", \"width\": 1920, \"height\": 1280, "
              "\"format\": \"jpeg\", \"bytes\": 123456, \"variants\": "
              "{\"avatar\": \"/a/avatar/" KEY ".jpg\", \"thumb\": "
              "\"/a/thumb/" KEY ".webp\"}}");

    info.formats = formats;
    info.nformats = 2;
    info.nvariants = 0;

    CHECK_STR(render(image_ingest_json_response, &info),
              "{\"key\": \"" KEY "\", \"width\": 1920, \"height\": 1280, "
              "\"format\": \"jpeg\", \"bytes\": 123456, \"variants\": {}, "
              "\"formats\": [\"jpeg\", \"webp\"]}");

    /* too small a buffer: the length, nothing written past it */
    memset(small, 'x', sizeof(small));
    CHECK(image_ingest_json_response(&info, small, 8) > 100);
    CHECK(small[8] == 'x');
}


UNIT_TEST(test_meta)
{
    image_ingest_pair_t  m[2] = {
        { S("user"), S("u-42") },
        { S("note"), S("say \"hi\"\n") }
    };
    image_ingest_info_t  info;

    memset(&info, 0, sizeof(info));
    info.key = KEY;
    info.width = 10;
    info.height = 20;
    info.format = "png";
    info.bytes = 99;
    info.uploaded = 1767225600;
    info.meta = m;
    info.nmeta = 2;

    CHECK_STR(render(image_ingest_json_meta, &info),
              "{\"key\": \"" KEY "\", \"width\": 10, \"height\": 20, "
              "\"format\": \"png\", \"bytes\": 99, \"variants\": {}, "
              "\"uploaded\": \"2026-01-01T00:00:00Z\", \"meta\": "
              "{\"user\": \"u-42\", \"note\": \"say \\\"hi\\\"\\u000a\"}}");

    info.nmeta = 0;

    CHECK_STR(render(image_ingest_json_notify, &info),
              "{\"key\": \"" KEY "\", \"width\": 10, \"height\": 20, "
              "\"format\": \"png\", \"bytes\": 99, \"variants\": {}, "
              "\"uploaded\": \"2026-01-01T00:00:00Z\", \"meta\": {}}");

    /* image_ingest_moderation: its object, as given, after the rest */

    info.moderation = "{\"flagged\": true, \"scores\": {\"porn\":0.9}}";

    CHECK_STR(render(image_ingest_json_notify, &info),
              "{\"key\": \"" KEY "\", \"width\": 10, \"height\": 20, "
              "\"format\": \"png\", \"bytes\": 99, \"variants\": {}, "
              "\"moderation\": {\"flagged\": true, \"scores\": "
              "{\"porn\":0.9}}, \"uploaded\": \"2026-01-01T00:00:00Z\", "
              "\"meta\": {}}");
}


UNIT_TEST(test_escape)
{
    CHECK_STR(escape(S("plain")), "\"plain\"");
    CHECK_STR(escape(S("a\\b\"c")), "\"a\\\\b\\\"c\"");
    CHECK_STR(escape(S("\x01\x1f\x7f")), "\"\\u0001\\u001f\\u007f\"");
    CHECK_STR(escape("a\0b", 3), "\"a\\u0000b\"");

    /* valid UTF-8 kept, anything else U+FFFD per byte */
    CHECK_STR(escape(S("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80")),
              "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
    CHECK_STR(escape(S("\xff")), "\"\xef\xbf\xbd\"");
    CHECK_STR(escape(S("\xc3")), "\"\xef\xbf\xbd\"");
    CHECK_STR(escape(S("\xc0\xaf")), "\"\xef\xbf\xbd\xef\xbf\xbd\"");
    CHECK_STR(escape(S("\xed\xa0\x80")),
              "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"");
    CHECK_STR(escape(S("\xf4\x90\x80\x80")),
              "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"");
    CHECK_STR(escape(S("\xe2\x82")), "\"\xef\xbf\xbd\xef\xbf\xbd\"");
}


UNIT_TEST(test_retry)
{
    CHECK_INT(image_ingest_notify_retryable(0), 1);
    CHECK_INT(image_ingest_notify_retryable(500), 1);
    CHECK_INT(image_ingest_notify_retryable(503), 1);
    CHECK_INT(image_ingest_notify_retryable(599), 1);
    CHECK_INT(image_ingest_notify_retryable(408), 1);
    CHECK_INT(image_ingest_notify_retryable(429), 1);
    CHECK_INT(image_ingest_notify_retryable(200), 0);
    CHECK_INT(image_ingest_notify_retryable(301), 0);
    CHECK_INT(image_ingest_notify_retryable(400), 0);
    CHECK_INT(image_ingest_notify_retryable(404), 0);
    CHECK_INT(image_ingest_notify_retryable(600), 0);

    CHECK_INT(image_ingest_notify_backoff(1, 1000, 60000), 1000);
    CHECK_INT(image_ingest_notify_backoff(2, 1000, 60000), 2000);
    CHECK_INT(image_ingest_notify_backoff(5, 1000, 60000), 16000);
    CHECK_INT(image_ingest_notify_backoff(7, 1000, 60000), 60000);
    CHECK_INT(image_ingest_notify_backoff(1000, 1000, 60000), 60000);
    CHECK_INT(image_ingest_notify_backoff(0, 1000, 60000), 1000);
    CHECK_INT(image_ingest_notify_backoff(3, 5000, 1000), 1000);
    CHECK_INT(image_ingest_notify_backoff(100, UINT64_MAX / 2, UINT64_MAX),
              UINT64_MAX);
}


UNIT_MAIN(test_response, test_meta, test_escape, test_retry)
