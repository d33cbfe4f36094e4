
/*
 * Unit tests for album_zip_job.c: the zipper payload, member names from
 * URLs, the upload's name and the allow-list check.
 */


#include <stdlib.h>

#include "unit.h"
#include "album_zip_job.h"


/* an arena for the allocator hooks; freed at the end of a test */

typedef struct arena_block_s  arena_block_t;

struct arena_block_s {
    arena_block_t  *next;
};


typedef struct {
    arena_block_t  *blocks;
    size_t          bytes;
} arena_t;


static void *
arena_alloc(void *ctx, size_t size)
{
    arena_t        *a;
    arena_block_t  *b;

    a = ctx;

    /* sizeof(arena_block_t) keeps the result pointer-aligned */

    b = malloc(sizeof(arena_block_t) + size);
    if (b == NULL) {
        return NULL;
    }

    b->next = a->blocks;
    a->blocks = b;
    a->bytes += size;

    return b + 1;
}


static void
arena_free(arena_t *a)
{
    arena_block_t  *b, *next;

    for (b = a->blocks; b != NULL; b = next) {
        next = b->next;
        free(b);
    }

    a->blocks = NULL;
    a->bytes = 0;
}


/* fails after "left" allocations */

typedef struct {
    arena_t   arena;
    size_t    left;
} limited_t;


static void *
limited_alloc(void *ctx, size_t size)
{
    limited_t  *l;

    l = ctx;

    if (l->left == 0) {
        return NULL;
    }

    l->left--;

    return arena_alloc(&l->arena, size);
}


static arena_t             arena;
static album_zip_alloc_t   arena_hooks = { arena_alloc, &arena };
static char                err[ALBUM_ZIP_JOB_ERR_LEN];


static int
parse(const char *json, size_t max, album_zip_job_payload_t *p)
{
    return album_zip_job_parse(json, strlen(json), max, &arena_hooks, p,
                               err, sizeof(err));
}


/* a bad payload: the code and the message */

static void
check_bad(const char *json, int rc, const char *msg)
{
    album_zip_job_payload_t  p;

    err[0] = 'x';
    err[1] = '\0';

    CHECK_INT(parse(json, 0, &p), rc);
    CHECK_STR(err, msg);

    if (strcmp(err, msg) != 0) {
        fprintf(stderr, "    payload: %s\n", json);
    }
}


static char *
member_name(const char *url)
{
    size_t       len;
    static char  buf[ALBUM_ZIP_JOB_NAME_BOUND(20000)];

    len = strlen(url);

    if (ALBUM_ZIP_JOB_NAME_BOUND(len) > sizeof(buf)) {
        return NULL;
    }

    album_zip_job_member_name(buf, url, len);

    return buf;
}


static char *
upload_name(const char *token, size_t len)
{
    static char  buf[ALBUM_ZIP_JOB_UPLOAD_BOUND(20000)];

    if (ALBUM_ZIP_JOB_UPLOAD_BOUND(len) > sizeof(buf)) {
        return NULL;
    }

    album_zip_job_upload_name(buf, token, len);

    return buf;
}


UNIT_TEST(test_parse_full)
{
    album_zip_job_payload_t  p;

    CHECK_INT(parse("{\"api_url\": \"https://api.example/x\","
                    " \"upload_url\": \"https://up.example/u?sig=1\","
                    " \"token\": \"t0k\", \"extra\": [1, {}],"
                    " \"sources\": [\"https://cdn.example/a.jpg\","
                    " \"HTTP://cdn.example/b%20c.png?x=1\"]}\n\r\t ",
                    0, &p),
              ALBUM_ZIP_JOB_OK);
    CHECK_STR(err, "");

    CHECK_STR(p.api_url.data, "https://api.example/x");
    CHECK_INT(p.api_url.len, 21);
    CHECK_STR(p.upload_url.data, "https://up.example/u?sig=1");
    CHECK_INT(p.upload_url.len, 26);
    CHECK_STR(p.token.data, "t0k");
    CHECK_INT(p.token.len, 3);
    CHECK_INT(p.nsources, 2);
    CHECK_STR(p.sources[0].data, "https://cdn.example/a.jpg");
    CHECK_INT(p.sources[0].len, 25);
    CHECK_STR(p.sources[1].data, "HTTP://cdn.example/b%20c.png?x=1");

    arena_free(&arena);
}


UNIT_TEST(test_parse_optional)
{
    album_zip_job_payload_t  p;

    CHECK_INT(parse("{\"upload_url\": \"http://u\", \"sources\": "
                    "[\"http://s/a\"]}", 0, &p),
              ALBUM_ZIP_JOB_OK);
    CHECK_STR(p.token.data, "");
    CHECK_INT(p.token.len, 0);
    CHECK_STR(p.api_url.data, "");
    CHECK_INT(p.nsources, 1);

    CHECK_INT(parse("{\"upload_url\": \"http://u\", \"token\": null, "
                    "\"api_url\": null, \"sources\": [\"http://s/a\"]}",
                    0, &p),
              ALBUM_ZIP_JOB_OK);
    CHECK_INT(p.token.len, 0);
    CHECK_INT(p.api_url.len, 0);

    /* an escaped backslash before "u0000" is no NUL */

    CHECK_INT(parse("{\"upload_url\": \"http://u\", \"token\": "
                    "\"a\\\\u0000\", \"sources\": [\"http://s/a\"]}",
                    0, &p),
              ALBUM_ZIP_JOB_OK);
    CHECK_STR(p.token.data, "a\\u0000");

    /* a UTF-8 BOM-less, unicode-escaped token */

    CHECK_INT(parse("{\"upload_url\": \"http://u\", \"token\": "
                    "\"caf\\u00e9\", \"sources\": [\"http://s/a\"]}",
                    0, &p),
              ALBUM_ZIP_JOB_OK);
    CHECK_STR(p.token.data, "caf\xc3\xa9");

    arena_free(&arena);
}


UNIT_TEST(test_parse_bad_json)
{
    check_bad("", ALBUM_ZIP_JOB_EINVAL, "payload: not valid JSON");
    check_bad("not json", ALBUM_ZIP_JOB_EINVAL, "payload: not valid JSON");
    check_bad("{\"sources\": [", ALBUM_ZIP_JOB_EINVAL,
              "payload: not valid JSON");
    check_bad("{} {}", ALBUM_ZIP_JOB_EINVAL, "payload: not valid JSON");
    check_bad("{} x", ALBUM_ZIP_JOB_EINVAL, "payload: not valid JSON");
    check_bad("[]", ALBUM_ZIP_JOB_EINVAL, "payload: must be a JSON object");
    check_bad("\"x\"", ALBUM_ZIP_JOB_EINVAL,
              "payload: must be a JSON object");
    check_bad("null", ALBUM_ZIP_JOB_EINVAL,
              "payload: must be a JSON object");
    check_bad("{\"token\": \"a\\u0000b\"}", ALBUM_ZIP_JOB_EINVAL,
              "payload: must not contain NUL characters");

    arena_free(&arena);
}


UNIT_TEST(test_parse_raw_nul)
{
    album_zip_job_payload_t  p;
    static const char        json[] = "{\"upload_url\": \"http://u\","
                                      " \"sources\": [\"http://s/a\0b\"]}";

    CHECK_INT(album_zip_job_parse(json, sizeof(json) - 1, 0, &arena_hooks,
                                  &p, err, sizeof(err)),
              ALBUM_ZIP_JOB_EINVAL);
    CHECK_STR(err, "payload: must not contain NUL characters");

    /* the input need not be NUL-terminated: only len bytes count */

    CHECK_INT(album_zip_job_parse("{}garbage", 2, 0, &arena_hooks, &p, err,
                                  sizeof(err)),
              ALBUM_ZIP_JOB_EINVAL);
    CHECK_STR(err, "sources: must be a non-empty array of strings");

    arena_free(&arena);
}


UNIT_TEST(test_parse_bad_sources)
{
    const char  *msg;

    msg = "sources: must be a non-empty array of strings";

    check_bad("{\"upload_url\": \"http://u\"}", ALBUM_ZIP_JOB_EINVAL, msg);
    check_bad("{\"sources\": null}", ALBUM_ZIP_JOB_EINVAL, msg);
    check_bad("{\"sources\": []}", ALBUM_ZIP_JOB_EINVAL, msg);
    check_bad("{\"sources\": \"http://s/a\"}", ALBUM_ZIP_JOB_EINVAL, msg);
    check_bad("{\"sources\": {\"0\": \"http://s/a\"}}", ALBUM_ZIP_JOB_EINVAL,
              msg);
    check_bad("{\"Sources\": [\"http://s/a\"]}", ALBUM_ZIP_JOB_EINVAL, msg);

    check_bad("{\"sources\": [1]}", ALBUM_ZIP_JOB_EINVAL,
              "sources[0]: must be a string");
    check_bad("{\"sources\": [\"http://s/a\", null]}", ALBUM_ZIP_JOB_EINVAL,
              "sources[1]: must be a string");
    check_bad("{\"sources\": [\"http://s/a\", \"http://s/b\", [\"x\"]]}",
              ALBUM_ZIP_JOB_EINVAL, "sources[2]: must be a string");

    msg = "sources[0]: must be an http or https URL";

    check_bad("{\"sources\": [\"\"]}", ALBUM_ZIP_JOB_EINVAL, msg);
    check_bad("{\"sources\": [\"/local/a.jpg\"]}", ALBUM_ZIP_JOB_EINVAL, msg);
    check_bad("{\"sources\": [\"ftp://s/a\"]}", ALBUM_ZIP_JOB_EINVAL, msg);
    check_bad("{\"sources\": [\"file:///etc/passwd\"]}",
              ALBUM_ZIP_JOB_EINVAL, msg);
    check_bad("{\"sources\": [\"gopher://s/a\"]}", ALBUM_ZIP_JOB_EINVAL,
              msg);
    check_bad("{\"sources\": [\"http://\"]}", ALBUM_ZIP_JOB_EINVAL, msg);
    check_bad("{\"sources\": [\"http:///a\"]}", ALBUM_ZIP_JOB_EINVAL, msg);
    check_bad("{\"sources\": [\"http:/s/a\"]}", ALBUM_ZIP_JOB_EINVAL, msg);
    check_bad("{\"sources\": [\"http://s/a b\"]}", ALBUM_ZIP_JOB_EINVAL, msg);
    check_bad("{\"sources\": [\"http://s/a\\r\\nX: y\"]}",
              ALBUM_ZIP_JOB_EINVAL, msg);
    check_bad("{\"sources\": [\"http://s/a\\u007f\"]}", ALBUM_ZIP_JOB_EINVAL,
              msg);

    arena_free(&arena);
}


static char *
long_url_payload(size_t url_len)
{
    char    *json, *p;
    size_t   k;

    /* "http://s/" and url_len - 9 letters */

    k = url_len - 9;
    json = malloc(k + 100);

    strcpy(json, "{\"upload_url\": \"http://u\", \"sources\": [\"http://s/");
    p = json + strlen(json);
    memset(p, 'a', k);
    strcpy(p + k, "\"]}");

    return json;
}


UNIT_TEST(test_parse_long_url)
{
    char                     *json;
    album_zip_job_payload_t   p;

    /* exactly the limit is fine, one more is not */

    json = long_url_payload(ALBUM_ZIP_JOB_MAX_URL_LEN);
    CHECK_INT(parse(json, 0, &p), ALBUM_ZIP_JOB_OK);
    CHECK_INT(p.sources[0].len, ALBUM_ZIP_JOB_MAX_URL_LEN);
    free(json);

    json = long_url_payload(ALBUM_ZIP_JOB_MAX_URL_LEN + 1);
    CHECK_INT(parse(json, 0, &p), ALBUM_ZIP_JOB_EINVAL);
    CHECK_STR(err, "sources[0]: must be an http or https URL");
    free(json);

    arena_free(&arena);
}


UNIT_TEST(test_parse_bad_fields)
{
    check_bad("{\"sources\": [\"http://s/a\"]}", ALBUM_ZIP_JOB_EINVAL,
              "upload_url: is required");
    check_bad("{\"sources\": [\"http://s/a\"], \"upload_url\": null}",
              ALBUM_ZIP_JOB_EINVAL, "upload_url: is required");
    check_bad("{\"sources\": [\"http://s/a\"], \"upload_url\": 1}",
              ALBUM_ZIP_JOB_EINVAL, "upload_url: must be a string");
    check_bad("{\"sources\": [\"http://s/a\"], \"upload_url\": [\"x\"]}",
              ALBUM_ZIP_JOB_EINVAL, "upload_url: must be a string");
    check_bad("{\"sources\": [\"http://s/a\"], \"upload_url\": \"u\"}",
              ALBUM_ZIP_JOB_EINVAL,
              "upload_url: must be an http or https URL");
    check_bad("{\"sources\": [\"http://s/a\"], \"upload_url\": \"http://u\","
              " \"token\": 42}",
              ALBUM_ZIP_JOB_EINVAL, "token: must be a string");
    check_bad("{\"sources\": [\"http://s/a\"], \"upload_url\": \"http://u\","
              " \"token\": {}}",
              ALBUM_ZIP_JOB_EINVAL, "token: must be a string");
    check_bad("{\"sources\": [\"http://s/a\"], \"upload_url\": \"http://u\","
              " \"api_url\": true}",
              ALBUM_ZIP_JOB_EINVAL, "api_url: must be a string");
    check_bad("{\"sources\": [\"http://s/a\"], \"upload_url\": \"http://u\","
              " \"sources\": [\"http://evil/\"]}",
              ALBUM_ZIP_JOB_EINVAL, "sources: given twice");
    check_bad("{\"token\": \"a\", \"token\": \"b\"}",
              ALBUM_ZIP_JOB_EINVAL, "token: given twice");

    arena_free(&arena);
}


UNIT_TEST(test_parse_limits)
{
    size_t                   i;
    limited_t                l;
    const char              *json;
    album_zip_alloc_t        hooks;
    album_zip_job_payload_t  p;

    json = "{\"upload_url\": \"http://u\", \"token\": \"t\", \"api_url\":"
           " \"http://a\", \"sources\": [\"http://s/a\", \"http://s/b\","
           " \"http://s/c\"]}";

    CHECK_INT(parse(json, 3, &p), ALBUM_ZIP_JOB_OK);
    CHECK_INT(parse(json, 2, &p), ALBUM_ZIP_JOB_ELIMIT);
    CHECK_STR(err, "sources: more than 2 sources");

    arena_free(&arena);

    /* every allocation failing in turn: ENOMEM, never a crash */

    hooks.alloc = limited_alloc;
    hooks.ctx = &l;

    for (i = 0; i < 7; i++) {
        memset(&l, 0, sizeof(limited_t));
        l.left = i;

        CHECK_INT(album_zip_job_parse(json, strlen(json), 0, &hooks, &p,
                                      err, sizeof(err)),
                  ALBUM_ZIP_JOB_ENOMEM);
        CHECK_STR(err, "payload: out of memory");

        arena_free(&l.arena);
    }

    memset(&l, 0, sizeof(limited_t));
    l.left = 7;

    CHECK_INT(album_zip_job_parse(json, strlen(json), 0, &hooks, &p, err,
                                  sizeof(err)),
              ALBUM_ZIP_JOB_OK);

    arena_free(&l.arena);

    /* a short error buffer is cut and terminated; none at all is fine */

    CHECK_INT(album_zip_job_parse("[]", 2, 0, &arena_hooks, &p, err, 8),
              ALBUM_ZIP_JOB_EINVAL);
    CHECK_STR(err, "payload");
    CHECK_INT(album_zip_job_parse("[]", 2, 0, &arena_hooks, &p, NULL, 0),
              ALBUM_ZIP_JOB_EINVAL);
}


UNIT_TEST(test_member_name)
{
    CHECK_STR(member_name("https://cdn.example/albums/7/a.jpg"), "a.jpg");
    CHECK_STR(member_name("https://cdn.example/a.jpg?X-Amz-Signature=1/b"),
              "a.jpg");
    CHECK_STR(member_name("https://cdn.example/a.jpg#frag/x.png"), "a.jpg");
    CHECK_STR(member_name("https://cdn.example/dir/b.png/"), "b.png");
    CHECK_STR(member_name("https://cdn.example/dir//"), "dir");
    CHECK_STR(member_name("https://u:p@cdn.example:8443/x/c.gif"), "c.gif");
    CHECK_STR(member_name("https://cdn.example/b%20c.jpg"), "b c.jpg");
    CHECK_STR(member_name("https://cdn.example/caf%C3%A9.jpg"),
              "caf\xc3\xa9.jpg");
    CHECK_STR(member_name("https://cdn.example/a+b.jpg"), "a+b.jpg");
    CHECK_STR(member_name("https://cdn.example/100%.jpg"), "100%.jpg");
    CHECK_STR(member_name("https://cdn.example/a%zz%4"), "a%zz%4");
    CHECK_STR(member_name("https://cdn.example/%41%62.JPG"), "Ab.JPG");

    /* decoding never makes a directory, a control or a dot segment */

    CHECK_STR(member_name("https://cdn.example/a%2Fb.jpg"), "a_b.jpg");
    CHECK_STR(member_name("https://cdn.example/a%5Cb.jpg"), "a_b.jpg");
    CHECK_STR(member_name("https://cdn.example/a%5c..%2F..%2fb"),
              "a_.._.._b");
    CHECK_STR(member_name("https://cdn.example/x%00y%0d%0a.jpg"), "xy.jpg");
    CHECK_STR(member_name("https://cdn.example/%ff.jpg"), "_.jpg");
    CHECK_STR(member_name("https://cdn.example/C%3Ax.jpg"), "x.jpg");

    /* no usable last segment: the fallback */

    CHECK_STR(member_name("https://cdn.example/"), "unnamed");
    CHECK_STR(member_name("https://cdn.example"), "unnamed");
    CHECK_STR(member_name("https://cdn.example?a=b/c.jpg"), "unnamed");
    CHECK_STR(member_name("https://cdn.example/a/.."), "unnamed");
    CHECK_STR(member_name("https://cdn.example/%2e%2E"), "unnamed");
    CHECK_STR(member_name("https://cdn.example/%00"), "unnamed");
    CHECK_STR(member_name(""), "unnamed");

    /* not a URL at all: the last segment still */

    CHECK_STR(member_name("a/b/c.txt"), "c.txt");
    CHECK_STR(member_name("c.txt"), "c.txt");
}


UNIT_TEST(test_member_name_long)
{
    char    *url, *name;
    size_t   n;

    /* a 300-byte segment is cut to 255 bytes keeping the extension */

    url = malloc(400);
    strcpy(url, "https://cdn.example/");
    n = strlen(url);
    memset(url + n, 'a', 300);
    strcpy(url + n + 300, ".jpeg");

    name = member_name(url);
    CHECK_INT(strlen(name), 255);
    CHECK_STR(name + 250, ".jpeg");
    CHECK(name[0] == 'a' && name[249] == 'a');

    free(url);
}


UNIT_TEST(test_member_names_dedup)
{
    size_t                    i;
    album_zip_name_t          names[5];
    album_zip_job_payload_t   p;

    CHECK_INT(parse("{\"upload_url\": \"http://u\", \"sources\": ["
                    "\"http://s/1/a.jpg\", \"http://s/2/a.jpg?v=2\","
                    " \"http://s/b.png\", \"http://s/\", \"http://t/\"]}",
                    0, &p),
              ALBUM_ZIP_JOB_OK);

    CHECK_INT(album_zip_job_member_names(&p, names, &arena_hooks, 42),
              ALBUM_ZIP_OK);

    for (i = 0; i < 5; i++) {
        CHECK(names[i].omit == 0);
        CHECK_INT(names[i].data[names[i].len], '\0');
    }

    CHECK_STR(names[0].data, "a.jpg");
    CHECK_STR(names[1].data, "a (2).jpg");
    CHECK_STR(names[2].data, "b.png");
    CHECK_STR(names[3].data, "unnamed");
    CHECK_STR(names[4].data, "unnamed (2)");

    arena_free(&arena);
}


UNIT_TEST(test_member_names_nomem)
{
    int                       rc;
    size_t                    i;
    limited_t                 l;
    album_zip_name_t          names[2];
    album_zip_alloc_t         hooks;
    album_zip_job_payload_t   p;

    CHECK_INT(parse("{\"upload_url\": \"http://u\", \"sources\": ["
                    "\"http://s/a.jpg\", \"http://s/a.jpg\"]}", 0, &p),
              ALBUM_ZIP_JOB_OK);

    hooks.alloc = limited_alloc;
    hooks.ctx = &l;

    /* two names and at least the renamed one: ENOMEM until then */

    for (i = 0; i < 100; i++) {
        memset(&l, 0, sizeof(limited_t));
        l.left = i;

        rc = album_zip_job_member_names(&p, names, &hooks, 1);
        arena_free(&l.arena);

        if (rc == ALBUM_ZIP_OK) {
            break;
        }

        CHECK_INT(rc, ALBUM_ZIP_ENOMEM);
    }

    CHECK(i >= 3 && i < 100);

    arena_free(&arena);
}


UNIT_TEST(test_upload_name)
{
    char    *tok;
    char    *name;

    CHECK_STR(upload_name("abc123", 6), "abc123.zip");
    CHECK_STR(upload_name("", 0), "album.zip");
    CHECK_STR(upload_name("a/b\\c\"d", 7), "a_b_c_d.zip");
    CHECK_STR(upload_name("..", 2), "album.zip");
    CHECK_STR(upload_name(" . ", 3), "album.zip");
    CHECK_STR(upload_name("\x01\x02", 2), "album.zip");
    CHECK_STR(upload_name("../x", 4), ".._x.zip");
    CHECK_STR(upload_name("unnamed", 7), "unnamed.zip");
    CHECK_STR(upload_name("a.tar", 5), "a.tar.zip");
    CHECK_STR(upload_name("x\r\ny", 4), "xy.zip");
    CHECK_STR(upload_name("\xff", 1), "_.zip");

    /* a long token is cut, the extension stays: 255 bytes in all */

    tok = malloc(1000);
    memset(tok, 't', 1000);

    name = upload_name(tok, 1000);
    CHECK_INT(strlen(name), 255);
    CHECK_STR(name + 251, ".zip");

    free(tok);
}


UNIT_TEST(test_url_host)
{
    size_t       n;
    const char  *h, *url;

    url = "https://u:p@h.example:8443/x@y?z";
    CHECK_INT(album_zip_job_url_host(url, strlen(url), &h, &n), 0);
    CHECK_INT(n, 14);
    CHECK_MEM(h, "h.example:8443", 14);

    url = "http://127.0.0.1:8080";
    CHECK_INT(album_zip_job_url_host(url, strlen(url), &h, &n), 0);
    CHECK_INT(n, 14);
    CHECK_MEM(h, "127.0.0.1:8080", 14);

    url = "http://[::1]:80#f";
    CHECK_INT(album_zip_job_url_host(url, strlen(url), &h, &n), 0);
    CHECK_INT(n, 8);
    CHECK_MEM(h, "[::1]:80", 8);

    url = "no-scheme/x";
    CHECK_INT(album_zip_job_url_host(url, strlen(url), &h, &n), -1);
}


static int
allowed(const char *url, const char *p1, const char *p2)
{
    size_t               n;
    album_zip_job_str_t  prefixes[2];

    n = 0;

    if (p1) {
        prefixes[n].data = p1;
        prefixes[n++].len = strlen(p1);
    }

    if (p2) {
        prefixes[n].data = p2;
        prefixes[n++].len = strlen(p2);
    }

    return album_zip_job_allowed(url, strlen(url), prefixes, n);
}


UNIT_TEST(test_allowed)
{
    const char  *cdn, *up;

    cdn = "https://cdn.example/media/";
    up = "http://127.0.0.1:8080";

    CHECK_INT(allowed("https://cdn.example/media/a.jpg", cdn, up), 1);
    CHECK_INT(allowed("HTTPS://CDN.Example/media/a.jpg", cdn, up), 1);
    CHECK_INT(allowed("https://cdn.example/media/", cdn, up), 1);
    CHECK_INT(allowed("https://cdn.example/Media/a.jpg", cdn, up), 0);
    CHECK_INT(allowed("https://cdn.example/media", cdn, up), 0);
    CHECK_INT(allowed("https://cdn.example/mediax/a.jpg", cdn, up), 0);
    CHECK_INT(allowed("http://cdn.example/media/a.jpg", cdn, up), 0);
    CHECK_INT(allowed("https://cdn.example.evil/media/a.jpg", cdn, up), 0);
    CHECK_INT(allowed("https://evil/https://cdn.example/media/", cdn, up),
              0);

    /* a prefix without "/" ends at a boundary */

    CHECK_INT(allowed("http://127.0.0.1:8080", cdn, up), 1);
    CHECK_INT(allowed("http://127.0.0.1:8080/u", cdn, up), 1);
    CHECK_INT(allowed("http://127.0.0.1:8080?x", cdn, up), 1);
    CHECK_INT(allowed("http://127.0.0.1:8080#x", cdn, up), 1);
    CHECK_INT(allowed("http://127.0.0.1:80801/u", cdn, up), 0);
    CHECK_INT(allowed("http://127.0.0.1:8080.evil/u", cdn, up), 0);
    CHECK_INT(allowed("http://127.0.0.1:8080@evil/u", cdn, up), 0);
    CHECK_INT(allowed("http://127.0.0.1:808", cdn, up), 0);

    /* user info, backslashes and dot segments never match */

    CHECK_INT(allowed("https://x@cdn.example/media/a.jpg", cdn, up), 0);
    CHECK_INT(allowed("https://cdn.example/media/../admin", cdn, up), 0);
    CHECK_INT(allowed("https://cdn.example/media/./a.jpg", cdn, up), 0);
    CHECK_INT(allowed("https://cdn.example/media/%2e%2E/admin", cdn, up), 0);
    CHECK_INT(allowed("https://cdn.example/media/.%2e", cdn, up), 0);
    CHECK_INT(allowed("https://cdn.example/media/%2E", cdn, up), 0);
    CHECK_INT(allowed("https://cdn.example/media/..\\a", cdn, up), 0);
    CHECK_INT(allowed("https://cdn.example/media/a\\b", cdn, up), 0);
    CHECK_INT(allowed("http://127.0.0.1:8080/a/..", cdn, up), 0);
    CHECK_INT(allowed("https://cdn.example/media/..;/admin", cdn, up), 0);
    CHECK_INT(allowed("https://cdn.example/media/.;x/a.jpg", cdn, up), 0);

    /* encoded slashes and backslashes: "/media/..%2fadmin" is "/admin" */

    CHECK_INT(allowed("https://cdn.example/media/..%2fadmin", cdn, up), 0);
    CHECK_INT(allowed("https://cdn.example/media/..%2Fadmin", cdn, up), 0);
    CHECK_INT(allowed("https://cdn.example/media/..%5cadmin", cdn, up), 0);
    CHECK_INT(allowed("https://cdn.example/media/..%5Cadmin", cdn, up), 0);
    CHECK_INT(allowed("https://cdn.example/media/a%2fb.jpg", cdn, up), 0);
    CHECK_INT(allowed("https://cdn.example/media/%2e%2e%2fadmin", cdn, up),
              0);
    CHECK_INT(allowed("http://127.0.0.1:8080/%2F", cdn, up), 0);

    /* "%2" at the end, other escapes, and escapes in the query are fine */

    CHECK_INT(allowed("https://cdn.example/media/a%2", cdn, up), 1);
    CHECK_INT(allowed("https://cdn.example/media/a%20b.jpg", cdn, up), 1);
    CHECK_INT(allowed("https://cdn.example/media/a%2e.jpg", cdn, up), 1);
    CHECK_INT(allowed("https://cdn.example/media/a.jpg?p=..%2f", cdn, up),
              1);
    CHECK_INT(allowed("https://cdn.example/media/a;v=1.jpg", cdn, up), 1);
    CHECK_INT(allowed("https://cdn.example/media/...;x", cdn, up), 1);

    /* dots that are no segment, and dots after the path, are fine */

    CHECK_INT(allowed("https://cdn.example/media/...", cdn, up), 1);
    CHECK_INT(allowed("https://cdn.example/media/..a/.b", cdn, up), 1);
    CHECK_INT(allowed("https://cdn.example/media/a.jpg?x=/../y", cdn, up),
              1);
    CHECK_INT(allowed("https://cdn.example/media/a.jpg#/..", cdn, up), 1);

    /* no prefixes, or an empty one: nothing matches */

    CHECK_INT(allowed("https://cdn.example/media/a.jpg", NULL, NULL), 0);
    CHECK_INT(allowed("https://cdn.example/media/a.jpg", "", NULL), 0);
    CHECK_INT(allowed("http://a", "http://a/b", NULL), 0);
}


UNIT_MAIN(test_parse_full, test_parse_optional, test_parse_bad_json,
          test_parse_raw_nul, test_parse_bad_sources, test_parse_long_url,
          test_parse_bad_fields, test_parse_limits, test_member_name,
          test_member_name_long, test_member_names_dedup,
          test_member_names_nomem, test_upload_name, test_url_host,
          test_allowed)
