
/*
 * Unit tests for face_jobs.c: the facedetection payload, the callback's
 * URL and body, floats that stay floats, the retry schedule.
 */


#include <math.h>
#include <stdlib.h>

#include <cjson/cJSON.h>

#include "unit.h"
#include "face_jobs.h"


/* an arena for the allocator hooks; each test frees it at its end */

typedef struct arena_block_s  arena_block_t;

struct arena_block_s {
    arena_block_t  *next;
};


static arena_block_t  *arena;


static void *
test_alloc(void *ctx, size_t size)
{
    arena_block_t  *b;

    (void) ctx;

    /* sizeof(arena_block_t) keeps the result pointer-aligned */

    b = malloc(sizeof(arena_block_t) + size);
    if (b == NULL) {
        return NULL;
    }

    b->next = arena;
    arena = b;

    return b + 1;
}


static void
arena_free(void)
{
    arena_block_t  *b, *next;

    for (b = arena; b != NULL; b = next) {
        next = b->next;
        free(b);
    }

    arena = NULL;
}


static face_jobs_alloc_t  hooks = { test_alloc, NULL };


static int
parse(const char *json, face_jobs_payload_t *p, char *err)
{
    return face_jobs_parse(json, strlen(json), &hooks, p, err,
                           FACE_JOBS_ERR_LEN);
}


/* the error message for a payload; "" when it parses */

static const char *
error_of(const char *json)
{
    static char          err[FACE_JOBS_ERR_LEN];
    face_jobs_payload_t  p;

    if (parse(json, &p, err) == FACE_JOBS_OK) {
        return "";
    }

    return err;
}


#define SRC(pk, type, url, token)                                             \
    "{\"pk\": " pk ", \"type\": " type ", \"photo_url\": " url                \
    ", \"token\": " token "}"

#define OK_SRC  SRC("1", "\"photo\"", "\"https://cdn.example/a.webp\"",      \
                    "\"tok\"")


UNIT_TEST(test_parse_full)
{
    char                 err[FACE_JOBS_ERR_LEN];
    face_jobs_payload_t  p;

    CHECK_INT(parse("{\"api_url\": \"https://site.example//\", \"sources\": ["
                    SRC("12", "\"photo\"", "\"https://cdn.example/a.webp\"",
                        "\"t1\"") ", "
                    SRC("9007199254740991", "\"reference\"",
                        "\"http://cdn.example:8080/b?x=1\"", "\"\"")
                    "], \"extra\": [1, 2]}", &p, err), FACE_JOBS_OK);
    CHECK_STR(err, "");
    CHECK_STR(p.api_url.data, "https://site.example");
    CHECK_INT(p.api_url.len, 20);
    CHECK_INT(p.nsources, 2);
    CHECK_INT(p.sources[0].pk, 12);
    CHECK_INT(p.sources[0].type, FACE_JOBS_PHOTO);
    CHECK_STR(p.sources[0].photo_url.data, "https://cdn.example/a.webp");
    CHECK_STR(p.sources[0].token.data, "t1");
    CHECK_INT(p.sources[1].pk, 9007199254740991LL);
    CHECK_INT(p.sources[1].type, FACE_JOBS_REFERENCE);
    CHECK_STR(p.sources[1].token.data, "");
    CHECK_INT(p.sources[1].token.len, 0);

    arena_free();
}


UNIT_TEST(test_parse_empty_sources)
{
    char                 err[FACE_JOBS_ERR_LEN];
    face_jobs_payload_t  p;

    /* the old function accepted an empty batch as a no-op */
    CHECK_INT(parse("{\"api_url\": \"http://a\", \"sources\": []}  \n", &p,
                    err), FACE_JOBS_OK);
    CHECK_INT(p.nsources, 0);
    CHECK(p.sources == NULL);

    arena_free();
}


UNIT_TEST(test_parse_bad_top)
{
    CHECK_STR(error_of(""), "payload: not valid JSON");
    CHECK_STR(error_of("{"), "payload: not valid JSON");
    CHECK_STR(error_of("{} x"), "payload: not valid JSON");
    CHECK_STR(error_of("[]"), "payload: must be a JSON object");
    CHECK_STR(error_of("{\"sources\": []}"), "api_url: is required");
    CHECK_STR(error_of("{\"api_url\": 1, \"sources\": []}"),
              "api_url: must be a string");
    CHECK_STR(error_of("{\"api_url\": \"ftp://a\", \"sources\": []}"),
              "api_url: must be an http or https URL");
    CHECK_STR(error_of("{\"api_url\": \"http://\", \"sources\": []}"),
              "api_url: must be an http or https URL");
    CHECK_STR(error_of("{\"api_url\": \"http://u@/x\", \"sources\": []}"),
              "api_url: must be an http or https URL");
    CHECK_STR(error_of("{\"api_url\": \"http://a b\", \"sources\": []}"),
              "api_url: must be an http or https URL");
    CHECK_STR(error_of("{\"api_url\": \"http://a\"}"), "sources: is required");
    CHECK_STR(error_of("{\"api_url\": \"http://a\", \"sources\": {}}"),
              "sources: must be an array");
    CHECK_STR(error_of("{\"api_url\": \"http://a\", \"api_url\": "
                       "\"http://b\", \"sources\": []}"),
              "api_url: given twice");

    arena_free();
}


UNIT_TEST(test_parse_nul)
{
    char                 err[FACE_JOBS_ERR_LEN];
    face_jobs_payload_t  p;
    static const char    raw[] = "{\"api_url\": \"http://a\", \"sources\": "
                                 "[]}\0";

    CHECK_INT(face_jobs_parse(raw, sizeof(raw) - 1, &hooks, &p, err,
                              sizeof(err)), FACE_JOBS_EINVAL);
    CHECK_STR(err, "payload: must not contain NUL characters");

    CHECK_STR(error_of("{\"api_url\": \"http://a\", \"sources\": ["
                       SRC("1", "\"photo\"", "\"http://b/\"",
                           "\"a\\u0000b\"") "]}"),
              "payload: must not contain NUL characters");

    /* an escaped backslash before "u0000" is not a NUL */
    CHECK_STR(error_of("{\"api_url\": \"http://a\", \"sources\": ["
                       SRC("1", "\"photo\"", "\"http://b/\"",
                           "\"a\\\\u0000b\"") "]}"), "");

    arena_free();
}


UNIT_TEST(test_parse_bad_sources)
{
#define BAD(s)  error_of("{\"api_url\": \"http://a\", \"sources\": ["        \
                         OK_SRC ", " OK_SRC ", " s "]}")

    CHECK_STR(BAD("1"), "sources[2]: must be an object");
    CHECK_STR(BAD(SRC("\"1\"", "\"photo\"", "\"http://b/\"", "\"t\"")),
              "sources[2].pk: must be an integer");
    CHECK_STR(BAD(SRC("true", "\"photo\"", "\"http://b/\"", "\"t\"")),
              "sources[2].pk: must be an integer");
    CHECK_STR(BAD(SRC("1.5", "\"photo\"", "\"http://b/\"", "\"t\"")),
              "sources[2].pk: must be an integer");
    CHECK_STR(BAD(SRC("1e300", "\"photo\"", "\"http://b/\"", "\"t\"")),
              "sources[2].pk: must be an integer");
    CHECK_STR(BAD(SRC("null", "\"photo\"", "\"http://b/\"", "\"t\"")),
              "sources[2].pk: must be an integer");
    CHECK_STR(BAD(SRC("-3", "\"photo\"", "\"http://b/\"", "\"t\"")),
              "sources[2].pk: must not be negative");
    CHECK_STR(BAD(SRC("3", "\"Photo\"", "\"http://b/\"", "\"t\"")),
              "sources[2].type: must be \"photo\" or \"reference\"");
    CHECK_STR(BAD(SRC("3", "1", "\"http://b/\"", "\"t\"")),
              "sources[2].type: must be \"photo\" or \"reference\"");
    CHECK_STR(BAD(SRC("3", "\"photo\"", "1", "\"t\"")),
              "sources[2].photo_url: must be a string");
    CHECK_STR(BAD(SRC("3", "\"photo\"", "\"file:///etc/passwd\"", "\"t\"")),
              "sources[2].photo_url: must be an http or https URL");
    CHECK_STR(BAD(SRC("3", "\"photo\"", "\"gopher://b/\"", "\"t\"")),
              "sources[2].photo_url: must be an http or https URL");
    CHECK_STR(BAD(SRC("3", "\"photo\"", "\"http://b/\"", "null")),
              "sources[2].token: must be a string");
    CHECK_STR(BAD("{\"pk\": 1, \"pk\": 2, \"type\": \"photo\", "
                  "\"photo_url\": \"http://b/\", \"token\": \"t\"}"),
              "sources[2].pk: given twice");
    CHECK_STR(BAD("{\"type\": \"photo\", \"photo_url\": \"http://b/\", "
                  "\"token\": \"t\"}"),
              "sources[2].pk: must be an integer");

#undef BAD

    arena_free();
}


UNIT_TEST(test_parse_long)
{
    char  *json, *p;
    size_t  i;

    json = malloc(FACE_JOBS_MAX_URL_LEN + FACE_JOBS_MAX_TOKEN_LEN + 256);

    /* a token one byte over the limit */

    p = json + sprintf(json, "{\"api_url\": \"http://a\", \"sources\": "
                       "[{\"pk\": 1, \"type\": \"photo\", \"photo_url\": "
                       "\"http://b/\", \"token\": \"");

    for (i = 0; i <= FACE_JOBS_MAX_TOKEN_LEN; i++) {
        *p++ = 'x';
    }

    strcpy(p, "\"}]}");
    CHECK_STR(error_of(json), "sources[0].token: longer than 1024 bytes");

    /* an api_url one byte over its limit */

    p = json + sprintf(json, "{\"sources\": [], \"api_url\": \"http://");

    for (i = 7; i <= FACE_JOBS_MAX_URL_LEN; i++) {
        *p++ = 'a';
    }

    strcpy(p, "\"}");
    CHECK_STR(error_of(json), "api_url: must be an http or https URL");

    free(json);

    arena_free();
}


UNIT_TEST(test_callback_url)
{
    char                 buf[128];
    face_jobs_source_t   s;
    face_jobs_payload_t  p;

    p.api_url.data = "https://site.example";
    p.api_url.len = 20;
    s.pk = 42;
    s.type = FACE_JOBS_REFERENCE;

    CHECK_INT(face_jobs_callback_url(buf, sizeof(buf), &p, &s),
              strlen("https://site.example/api/facedetection/encodings/"
                     "reference/42/"));
    CHECK_STR(buf, "https://site.example/api/facedetection/encodings/"
                   "reference/42/");

    s.type = FACE_JOBS_PHOTO;
    s.pk = 0;
    face_jobs_callback_url(buf, sizeof(buf), &p, &s);
    CHECK_STR(buf, "https://site.example/api/facedetection/encodings/"
                   "photo/0/");

    /* too small: truncated, NUL-terminated, the needed length returned */
    CHECK_INT(face_jobs_callback_url(buf, 10, &p, &s), 57);
    CHECK_STR(buf, "https://s");
}


UNIT_TEST(test_float)
{
    char    buf[FACE_JOBS_FLOAT_LEN];
    float   back;
    size_t  n;

    CHECK_INT(face_jobs_float(buf, 0.0), 3);
    CHECK_STR(buf, "0.0");
    face_jobs_float(buf, 1.0);
    CHECK_STR(buf, "1.0");
    face_jobs_float(buf, -2.0);
    CHECK_STR(buf, "-2.0");
    face_jobs_float(buf, 0.5);
    CHECK_STR(buf, "0.5");
    face_jobs_float(buf, 1.5e-5);
    CHECK(strchr(buf, 'e') != NULL);
    face_jobs_float(buf, 123456789.0);
    CHECK_STR(buf, "123456789.0");
    face_jobs_float(buf, 1e20);
    CHECK_STR(buf, "1e+20");
    face_jobs_float(buf, NAN);
    CHECK_STR(buf, "0.0");
    face_jobs_float(buf, -INFINITY);
    CHECK_STR(buf, "0.0");

    /* the worst case fits */
    n = face_jobs_float(buf, -1.17549435e-38);
    CHECK(n < FACE_JOBS_FLOAT_LEN);

    /* 9 digits give back the same float32 */
    face_jobs_float(buf, (float) 0.1f);
    back = strtof(buf, NULL);
    CHECK(back == 0.1f);
    face_jobs_float(buf, (float) -0.0123456789f);
    back = strtof(buf, NULL);
    CHECK(back == -0.0123456789f);
}


/* every number in the body is a JSON float: Python reads float, not int */

static int
all_floats(const char *s)
{
    const char  *p;
    size_t       n;

    for (p = s; *p; p += n ? n : 1) {
        n = strspn(p, "-+0123456789.e");

        if (n && (p[0] == '-' || (p[0] >= '0' && p[0] <= '9'))
            && strcspn(p, ".e") >= n)
        {
            return 0;
        }
    }

    return 1;
}


UNIT_TEST(test_callback_body)
{
    char         *body;
    float         enc[2 * FACE_JOBS_ENCODING];
    size_t        len, i;
    cJSON        *root, *e;

    for (i = 0; i < 2 * FACE_JOBS_ENCODING; i++) {
        enc[i] = (i % 3 == 0) ? (float) (i / 3) : (float) i / 1000.0f - 0.1f;
    }

    enc[5] = NAN;

    body = face_jobs_callback_body("t\"k\\\n", 5, enc, 2, &len);
    CHECK(body != NULL);
    CHECK_INT(len, strlen(body));
    CHECK(strncmp(body, "{\"token\": \"t\\\"k\\\\\\u000a\", \"encodings\": "
                        "[[0.0, ", 40) == 0);
    CHECK(all_floats(strchr(body, '[')));

    root = cJSON_Parse(body);
    CHECK(root != NULL);
    CHECK_STR(cJSON_GetObjectItem(root, "token")->valuestring, "t\"k\\\n");
    e = cJSON_GetObjectItem(root, "encodings");
    CHECK_INT(cJSON_GetArraySize(e), 2);
    CHECK_INT(cJSON_GetArraySize(cJSON_GetArrayItem(e, 0)), 128);
    CHECK_INT(cJSON_GetArraySize(cJSON_GetArrayItem(e, 1)), 128);
    CHECK(cJSON_GetArrayItem(cJSON_GetArrayItem(e, 1), 127)->valuedouble
          == (double) enc[255]);
    CHECK(cJSON_GetArrayItem(cJSON_GetArrayItem(e, 0), 5)->valuedouble
          == 0.0);
    cJSON_Delete(root);
    free(body);

    /* no faces: an empty list */
    body = face_jobs_callback_body("", 0, NULL, 0, &len);
    CHECK_STR(body, "{\"token\": \"\", \"encodings\": []}");
    free(body);
}


UNIT_TEST(test_verdict)
{
    CHECK_INT(face_jobs_verdict(200), FACE_JOBS_DELIVERED);
    CHECK_INT(face_jobs_verdict(204), FACE_JOBS_DELIVERED);
    CHECK_INT(face_jobs_verdict(0), FACE_JOBS_RETRY);
    CHECK_INT(face_jobs_verdict(500), FACE_JOBS_RETRY);
    CHECK_INT(face_jobs_verdict(503), FACE_JOBS_RETRY);
    CHECK_INT(face_jobs_verdict(400), FACE_JOBS_REJECTED);
    CHECK_INT(face_jobs_verdict(403), FACE_JOBS_REJECTED);
    CHECK_INT(face_jobs_verdict(404), FACE_JOBS_REJECTED);
    CHECK_INT(face_jobs_verdict(429), FACE_JOBS_RETRY);
    CHECK_INT(face_jobs_verdict(301), FACE_JOBS_REJECTED);
    CHECK_INT(face_jobs_verdict(100), FACE_JOBS_REJECTED);
}


UNIT_TEST(test_backoff)
{
    CHECK_INT(face_jobs_backoff_ms(0, 1000, 60000), 0);
    CHECK_INT(face_jobs_backoff_ms(1, 1000, 60000), 1000);
    CHECK_INT(face_jobs_backoff_ms(2, 1000, 60000), 2000);
    CHECK_INT(face_jobs_backoff_ms(3, 1000, 60000), 4000);
    CHECK_INT(face_jobs_backoff_ms(7, 1000, 60000), 60000);
    CHECK_INT(face_jobs_backoff_ms(4000000000u, 1000, 60000), 60000);
    CHECK_INT(face_jobs_backoff_ms(2, 50000, 60000), 60000);
}


UNIT_TEST(test_type_name)
{
    CHECK_STR(face_jobs_type_name(FACE_JOBS_PHOTO), "photo");
    CHECK_STR(face_jobs_type_name(FACE_JOBS_REFERENCE), "reference");
}


UNIT_MAIN(test_parse_full, test_parse_empty_sources, test_parse_bad_top,
          test_parse_nul, test_parse_bad_sources, test_parse_long,
          test_callback_url, test_float, test_callback_body, test_verdict,
          test_backoff, test_type_name)
