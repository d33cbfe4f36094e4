/*
 * Unit tests of the album zip manifest parser (src/album_zip).
 */


#include <stdlib.h>
#include <time.h>

#include "unit.h"
#include "album_zip_manifest.h"


/* a string literal and its length, NUL bytes included */
#define S(s)  (s), (sizeof(s) - 1)

#define N(a)  (sizeof(a) / sizeof((a)[0]))


/* the allocator: a list of malloc()ed blocks, freed all at once */

typedef struct block_s  block_t;

struct block_s {
    block_t      *next;
    max_align_t   data[];
};


static block_t  *blocks;
static long      alloc_fail_at = -1;    /* fail the n-th allocation */
static long      alloc_count;


static void *
test_alloc(void *ctx, size_t size)
{
    block_t  *b;

    (void) ctx;

    if (alloc_fail_at >= 0 && alloc_count++ == alloc_fail_at) {
        return NULL;
    }

    b = malloc(sizeof(block_t) + size);
    if (b == NULL) {
        return NULL;
    }

    b->next = blocks;
    blocks = b;

    return b->data;
}


static void
test_free_all(void)
{
    block_t  *b;

    while (blocks != NULL) {
        b = blocks;
        blocks = b->next;
        free(b);
    }
}


/* valgrind's leak check runs after main(); the last results go first */

__attribute__((destructor))
static void
test_cleanup(void)
{
    test_free_all();
}


static char  err[256];


/* results of the previous call are freed: check them before the next */

static int
parse(const char *buf, size_t len, album_zip_manifest_format_t format,
    const album_zip_manifest_limits_t *limits, album_zip_manifest_t *out)
{
    test_free_all();

    memset(err, 'X', sizeof(err));

    return album_zip_manifest_parse((const u_char *) buf, len, format,
                                    limits, test_alloc, NULL, out, err,
                                    sizeof(err));
}


/* a result string as a C string, for CHECK_STR (a few may be live) */

static const char *
cstr(album_zip_manifest_str_t s)
{
    size_t       n;
    char        *b;
    static int   i;
    static char  ring[4][1024];

    b = ring[i++ % 4];
    n = s.len < 1023 ? s.len : 1023;

    if (s.data == NULL) {
        return "(null data)";
    }

    memcpy(b, s.data, n);
    b[n] = '\0';

    return b;
}


static int
printable(const char *s, size_t size)
{
    size_t  i;

    for (i = 0; i < size; i++) {
        if (s[i] == '\0') {
            return 1;
        }

        if (s[i] < ' ' || s[i] > '~') {
            return 0;
        }
    }

    return 0;
}


/* every error: NUL-terminated printable ASCII, and says what it should */

#define CHECK_ERR(rc, want_rc, want)                                          \
    do {                                                                      \
        CHECK_INT(rc, want_rc);                                               \
        CHECK(printable(err, sizeof(err)));                                   \
        if (strstr(err, (want)) == NULL) {                                    \
            UNIT_FAIL_(__FILE__, __LINE__, "error \"%s\" lacks \"%s\"",       \
                       err, (want));                                          \
        }                                                                     \
    } while (0)


static double
now_ms(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return ts.tv_sec * 1000.0 + ts.tv_nsec / 1000000.0;
}


/* timing under a sanitizer or valgrind says nothing */

static int
slow_build(void)
{
    const char  *preload;

#if defined(__SANITIZE_ADDRESS__)
    return 1;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
    return 1;
#endif
#endif

    preload = getenv("LD_PRELOAD");

    return preload != NULL && strstr(preload, "vgpreload") != NULL;
}


/* --- the line format ----------------------------------------------------- */

typedef struct {
    const char                 *in;
    size_t                      len;
    size_t                      count;
    size_t                      at;        /* the member checked, 0-based */
    album_zip_manifest_kind_t   kind;
    const char                 *url;
    const char                 *args;
    const char                 *name;
    int                         has_size;
    uint64_t                    size;
    int                         has_crc;
    uint32_t                    crc;
} good_t;


static const good_t  lines_good[] = {

    { S("- 123 /media/a.jpg a.jpg\n"), 1, 0, ALBUM_ZIP_MANIFEST_LOCAL,
      "/media/a.jpg", "", "a.jpg", 1, 123, 0, 0 },

    /* no trailing newline, spaces in the name, hex of either case */
    { S("0a1B2c3D 5 /media/a.jpg My Photo 1.jpg"), 1, 0,
      ALBUM_ZIP_MANIFEST_LOCAL, "/media/a.jpg", "", "My Photo 1.jpg",
      1, 5, 1, 0x0a1b2c3d },

    { S("- - /a.jpg a.jpg\r\n- 1 /b.jpg b b\r\n"), 2, 1,
      ALBUM_ZIP_MANIFEST_LOCAL, "/b.jpg", "", "b b", 1, 1, 0, 0 },

    { S("- - /a.jpg a.jpg\r\n"), 1, 0, ALBUM_ZIP_MANIFEST_LOCAL, "/a.jpg",
      "", "a.jpg", 0, 0, 0, 0 },

    /* runs of spaces separate fields; the name keeps its own */
    { S("-  -   /media/x.jpg?w=100&h=%20 Name  with  spaces  \n"), 1, 0,
      ALBUM_ZIP_MANIFEST_LOCAL, "/media/x.jpg", "w=100&h=%20",
      "Name  with  spaces  ", 0, 0, 0, 0 },

    { S("- 1 /a?b?c x"), 1, 0, ALBUM_ZIP_MANIFEST_LOCAL, "/a", "b?c", "x",
      1, 1, 0, 0 },

    { S("- 1 /a? x"), 1, 0, ALBUM_ZIP_MANIFEST_LOCAL, "/a", "", "x",
      1, 1, 0, 0 },

    { S("- 1 /media/Day%201/a%2bb%25.jpg x"), 1, 0,
      ALBUM_ZIP_MANIFEST_LOCAL, "/media/Day 1/a+b%.jpg", "", "x",
      1, 1, 0, 0 },

    /* "+" is not a space */
    { S("- 1 /media/a+b.jpg?q=a+b%20 x"), 1, 0, ALBUM_ZIP_MANIFEST_LOCAL,
      "/media/a+b.jpg", "q=a+b%20", "x", 1, 1, 0, 0 },

    { S("- 0 @directory Day 1\n"), 1, 0, ALBUM_ZIP_MANIFEST_DIRECTORY, "",
      "", "Day 1/", 1, 0, 1, 0 },

    { S("0 - @directory Day 2/\n"), 1, 0, ALBUM_ZIP_MANIFEST_DIRECTORY, "",
      "", "Day 2/", 1, 0, 1, 0 },

    { S("- 7 /m/%C3%A9t%C3%A9.jpg \xc3\x89t\xc3\xa9/\xe6\x97\xa5 "
        "\xf0\x9f\x93\xb7.jpg"), 1, 0, ALBUM_ZIP_MANIFEST_LOCAL,
      "/m/\xc3\xa9t\xc3\xa9.jpg", "",
      "\xc3\x89t\xc3\xa9/\xe6\x97\xa5 \xf0\x9f\x93\xb7.jpg", 1, 7, 0, 0 },

    /* empty and blank lines are skipped */
    { S("\n\n- 1 /a a\n\n   \n\r\n- 2 /b b\n\n"), 2, 1,
      ALBUM_ZIP_MANIFEST_LOCAL, "/b", "", "b", 1, 2, 0, 0 },

    { S("   - 1 /a a"), 1, 0, ALBUM_ZIP_MANIFEST_LOCAL, "/a", "", "a",
      1, 1, 0, 0 },

    { S("0 9223372036854775807 /a a"), 1, 0, ALBUM_ZIP_MANIFEST_LOCAL, "/a",
      "", "a", 1, 9223372036854775807ULL, 1, 0 },

    { S("FFFFFFFF 00012 /a a"), 1, 0, ALBUM_ZIP_MANIFEST_LOCAL, "/a", "",
      "a", 1, 12, 1, 0xffffffff },

    { S("- 1 https://cdn.example.com/a.jpg?sig=x%2B a.jpg"), 1, 0,
      ALBUM_ZIP_MANIFEST_REMOTE, "https://cdn.example.com/a.jpg?sig=x%2B",
      "", "a.jpg", 1, 1, 0, 0 },

    { S("- 1 /a a\n- 2 /b b\n- 3 /c c"), 3, 2, ALBUM_ZIP_MANIFEST_LOCAL,
      "/c", "", "c", 1, 3, 0, 0 },

    /* names are album_zip_names' business: Latin-1, controls pass */
    { S("- 1 /a \xe9t\xe9\tb\x7f\xc0\xaf/../x"), 1, 0,
      ALBUM_ZIP_MANIFEST_LOCAL, "/a", "", "\xe9t\xe9\tb\x7f\xc0\xaf/../x",
      1, 1, 0, 0 },
};


static void
check_good(const good_t *t, size_t i, album_zip_manifest_format_t format)
{
    int                           rc;
    album_zip_manifest_t          out;
    album_zip_manifest_member_t  *m;

    rc = parse(t->in, t->len, format, NULL, &out);

    if (rc != ALBUM_ZIP_MANIFEST_OK) {
        UNIT_FAIL_(__FILE__, __LINE__, "case %zu: rc %d: %s", i, rc, err);
        return;
    }

    CHECK_STR(err, "");
    CHECK_INT(out.nmembers, t->count);

    if (t->at >= out.nmembers) {
        return;
    }

    m = &out.members[t->at];

    CHECK_INT(m->kind, t->kind);
    CHECK_STR(cstr(m->url), t->url);
    CHECK_STR(cstr(m->args), t->args);
    CHECK_STR(cstr(m->name), t->name);
    CHECK_INT(m->has_size, t->has_size);
    CHECK_INT(m->size, t->size);
    CHECK_INT(m->has_crc, t->has_crc);
    CHECK_INT(m->crc32, t->crc);

    if (format == ALBUM_ZIP_MANIFEST_LINES) {
        CHECK_INT(m->has_mtime, 0);
        CHECK_INT(out.name.len, 0);
    }
}


UNIT_TEST(test_lines_good)
{
    size_t  i;

    for (i = 0; i < N(lines_good); i++) {
        check_good(&lines_good[i], i, ALBUM_ZIP_MANIFEST_LINES);
        check_good(&lines_good[i], i, ALBUM_ZIP_MANIFEST_AUTO);
    }
}


/* the line format points into the input wherever nothing was decoded */

UNIT_TEST(test_lines_no_copy)
{
    int                   rc;
    album_zip_manifest_t  out;

    static const char  in[] = "- 1 /a?x=1 Photo 1.jpg\n- 1 /b%20c b\n";

    rc = parse(in, sizeof(in) - 1, ALBUM_ZIP_MANIFEST_LINES, NULL, &out);

    CHECK_INT(rc, ALBUM_ZIP_MANIFEST_OK);
    CHECK(out.members[0].url.data == (const u_char *) in + 4);
    CHECK(out.members[0].args.data == (const u_char *) in + 7);
    CHECK(out.members[0].name.data == (const u_char *) in + 11);
    CHECK(out.members[1].name.data == (const u_char *) in + 34);

    /* decoded: a copy */
    CHECK(out.members[1].url.data < (const u_char *) in
          || out.members[1].url.data >= (const u_char *) in + sizeof(in));
}


typedef struct {
    const char  *in;
    size_t       len;
    int          rc;
    const char  *err;
} bad_t;


static const bad_t  lines_bad[] = {
    { S("- 1 /a.jpg"), ALBUM_ZIP_MANIFEST_EINVAL, "member 1: name: missing" },
    { S("- 1 /a.jpg   "), ALBUM_ZIP_MANIFEST_EINVAL,
      "member 1: name: missing" },
    { S("- 1"), ALBUM_ZIP_MANIFEST_EINVAL, "member 1: url: missing" },
    { S("-"), ALBUM_ZIP_MANIFEST_EINVAL, "member 1: size: missing" },
    { S("- 1 /a a\n-\n"), ALBUM_ZIP_MANIFEST_EINVAL,
      "member 2: size: missing" },
    { S("123456789 1 /a a"), ALBUM_ZIP_MANIFEST_EINVAL,
      "member 1: crc32: not 1 to 8 hex digits: \"123456789\"" },
    { S("xyz 1 /a a"), ALBUM_ZIP_MANIFEST_EINVAL,
      "crc32: not 1 to 8 hex digits: \"xyz\"" },
    { S("0x12 1 /a a"), ALBUM_ZIP_MANIFEST_EINVAL, "crc32: not 1 to 8" },
    { S("-- 1 /a a"), ALBUM_ZIP_MANIFEST_EINVAL, "crc32: not 1 to 8" },
    { S("\xff\x01\" 1 /a a"), ALBUM_ZIP_MANIFEST_EINVAL,
      "crc32: not 1 to 8 hex digits: \"\\xff\\x01\\\"\"" },
    { S("- 99999999999999999999 /a a"), ALBUM_ZIP_MANIFEST_EINVAL,
      "member 1: size: too large: \"99999999999999999999\"" },
    { S("- 9223372036854775808 /a a"), ALBUM_ZIP_MANIFEST_EINVAL,
      "size: too large" },
    { S("- -1 /a a"), ALBUM_ZIP_MANIFEST_EINVAL,
      "size: not a number: \"-1\"" },
    { S("- +1 /a a"), ALBUM_ZIP_MANIFEST_EINVAL, "size: not a number" },
    { S("- 1.5 /a a"), ALBUM_ZIP_MANIFEST_EINVAL, "size: not a number" },
    { S("- 1 /a a\0b"), ALBUM_ZIP_MANIFEST_EINVAL, "member 1: NUL byte" },
    { S("- 1 /a a\n\0"), ALBUM_ZIP_MANIFEST_EINVAL, "member 2: NUL byte" },
    { S("- 1 /a a\rb\n"), ALBUM_ZIP_MANIFEST_EINVAL,
      "member 1: CR not followed by LF" },
    { S("- 1 /a a\r"), ALBUM_ZIP_MANIFEST_EINVAL, "CR not followed by LF" },
    { S("- 1 /a a\n\r\r\n"), ALBUM_ZIP_MANIFEST_EINVAL,
      "member 2: CR not followed by LF" },
    { S("- 1 /a a\n- 1 /b b\n- 1 ftp://x/y c\n"), ALBUM_ZIP_MANIFEST_EINVAL,
      "member 3: url: unsupported scheme \"ftp\"" },
    { S("- 5 @directory d"), ALBUM_ZIP_MANIFEST_EINVAL,
      "member 1: size: not 0 for a directory" },
    { S("1 0 @directory d"), ALBUM_ZIP_MANIFEST_EINVAL,
      "crc32: not 0 for a directory" },
    { S("- 0 @directory /"), ALBUM_ZIP_MANIFEST_EINVAL,
      "name: a directory named \"/\"" },
    { S("- 1 /a a/"), ALBUM_ZIP_MANIFEST_EINVAL,
      "name: ends in \"/\" but the member is not a directory" },
    { S(""), ALBUM_ZIP_MANIFEST_EINVAL, "manifest lists no members" },
    { S("\n\n  \n\r\n"), ALBUM_ZIP_MANIFEST_EINVAL,
      "manifest lists no members" },
    { S("- 1 @named a"), ALBUM_ZIP_MANIFEST_EINVAL,
      "url: not a path or an http(s) URL: \"@named\"" },
    { S("- 1 /a%zz a"), ALBUM_ZIP_MANIFEST_EINVAL,
      "url: bad percent-encoding at byte 3" },
    { S("- 1 /a% a"), ALBUM_ZIP_MANIFEST_EINVAL, "url: bad percent-encoding" },
    { S("- 1 /a%00 a"), ALBUM_ZIP_MANIFEST_EINVAL,
      "url: encoded NUL byte (%00)" },
    { S("- 1 /a%2Fb a"), ALBUM_ZIP_MANIFEST_EINVAL,
      "url: encoded \"/\" in the path" },
    { S("- 1 /media/../admin/x a"), ALBUM_ZIP_MANIFEST_EINVAL,
      "url: \".\" or \"..\" in the path" },
    { S("- 1 /a\x01 a"), ALBUM_ZIP_MANIFEST_EINVAL,
      "url: space or control character at byte 3" },
};


static void
check_bad(const bad_t *t, size_t i, album_zip_manifest_format_t format)
{
    int                   rc;
    album_zip_manifest_t  out;

    rc = parse(t->in, t->len, format, NULL, &out);

    if (rc != t->rc || strstr(err, t->err) == NULL) {
        UNIT_FAIL_(__FILE__, __LINE__, "case %zu: rc %d \"%s\", expected "
                   "%d \"%s\"", i, rc, err, t->rc, t->err);
    }

    CHECK(printable(err, sizeof(err)));
}


UNIT_TEST(test_lines_bad)
{
    size_t  i;

    for (i = 0; i < N(lines_bad); i++) {
        check_bad(&lines_bad[i], i, ALBUM_ZIP_MANIFEST_LINES);
    }
}


/* --- JSON ---------------------------------------------------------------- */

static const good_t  json_good[] = {

    { S("{\"name\": \"Album.zip\", \"files\": [{\"url\": \"/media/a.jpg\", "
        "\"name\": \"Day 1/a.jpg\", \"size\": 123, \"crc32\": \"0a1b2c3d\", "
        "\"mtime\": \"2024-05-01T12:00:00Z\"}]}"), 1, 0,
      ALBUM_ZIP_MANIFEST_LOCAL, "/media/a.jpg", "", "Day 1/a.jpg", 1, 123, 1,
      0x0a1b2c3d },

    { S("{\"files\":[{\"url\":\"/a\",\"name\":\"a\"}]}"), 1, 0,
      ALBUM_ZIP_MANIFEST_LOCAL, "/a", "", "a", 0, 0, 0, 0 },

    { S("  \r\n\t{\"files\":[{\"name\":\"a\",\"url\":\"/a?x=%20+\"}]}\n "),
      1, 0, ALBUM_ZIP_MANIFEST_LOCAL, "/a", "x=%20+", "a", 0, 0, 0, 0 },

    /* directories: no url, or a null one; the name ends in "/" */
    { S("{\"files\":[{\"name\":\"Day 1/\"},{\"url\":null,\"name\":\"d/\","
        "\"mtime\":0,\"size\":0}]}"), 2, 1, ALBUM_ZIP_MANIFEST_DIRECTORY, "",
      "", "d/", 1, 0, 1, 0 },

    /* unknown keys, of any type, are ignored */
    { S("{\"v\":2,\"files\":[{\"url\":\"/a\",\"name\":\"a\",\"exif\":{\"x\":"
        "[1.5,null]},\"URL\":7}],\"extra\":null}"), 1, 0,
      ALBUM_ZIP_MANIFEST_LOCAL, "/a", "", "a", 0, 0, 0, 0 },

    { S("{\"files\":[{\"url\":\"/a\",\"name\":\"a\",\"crc32\":4294967295}]}"),
      1, 0, ALBUM_ZIP_MANIFEST_LOCAL, "/a", "", "a", 0, 0, 1, 0xffffffff },

    { S("{\"files\":[{\"url\":\"/a\",\"name\":\"a\",\"crc32\":0,"
        "\"size\":0}]}"), 1, 0, ALBUM_ZIP_MANIFEST_LOCAL, "/a", "", "a",
      1, 0, 1, 0 },

    { S("{\"files\":[{\"url\":\"/a\",\"name\":\"a\",\"crc32\":\"FfFf\","
        "\"size\":9007199254740991}]}"), 1, 0, ALBUM_ZIP_MANIFEST_LOCAL, "/a",
      "", "a", 1, 9007199254740991ULL, 1, 0xffff },

    /* a number is checked by value */
    { S("{\"files\":[{\"url\":\"/a\",\"name\":\"a\",\"size\":1e3}]}"), 1, 0,
      ALBUM_ZIP_MANIFEST_LOCAL, "/a", "", "a", 1, 1000, 0, 0 },

    { S("{\"files\":[{\"url\":\"/a\",\"name\":\"a\",\"size\":1.0}]}"), 1, 0,
      ALBUM_ZIP_MANIFEST_LOCAL, "/a", "", "a", 1, 1, 0, 0 },

    { S("{\"files\":[{\"url\":\"/a\",\"name\":\"a\",\"size\":null,"
        "\"crc32\":null,\"mtime\":null}]}"), 1, 0, ALBUM_ZIP_MANIFEST_LOCAL,
      "/a", "", "a", 0, 0, 0, 0 },

    { S("{\"files\":[{\"url\":\"/media/caf%C3%A9.jpg\","
        "\"name\":\"caf\\u00e9 \\ud83d\\udcf7.jpg\"}]}"), 1, 0,
      ALBUM_ZIP_MANIFEST_LOCAL, "/media/caf\xc3\xa9.jpg", "",
      "caf\xc3\xa9 \xf0\x9f\x93\xb7.jpg", 0, 0, 0, 0 },

    { S("{\"files\":[{\"url\":\"HTTPS://cdn.example.com:8443/a%20b.jpg?s=1\","
        "\"name\":\"a\"}]}"), 1, 0, ALBUM_ZIP_MANIFEST_REMOTE,
      "HTTPS://cdn.example.com:8443/a%20b.jpg?s=1", "", "a", 0, 0, 0, 0 },

    { S("{\"files\":[{\"url\":\"/a\",\"name\":\"a\"},{\"url\":\"/b\","
        "\"name\":\"b\",\"size\":2},{\"url\":\"/c\",\"name\":\"c\"}]}"),
      3, 1, ALBUM_ZIP_MANIFEST_LOCAL, "/b", "", "b", 1, 2, 0, 0 },

    { S("{\"files\":[{\"url\":\"/a\",\"name\":\"a\\nb\\u007f/..\"}]}"),
      1, 0, ALBUM_ZIP_MANIFEST_LOCAL, "/a", "", "a\nb\x7f/..", 0, 0, 0, 0 },
};


UNIT_TEST(test_json_good)
{
    size_t  i;

    for (i = 0; i < N(json_good); i++) {
        check_good(&json_good[i], i, ALBUM_ZIP_MANIFEST_JSON);
        check_good(&json_good[i], i, ALBUM_ZIP_MANIFEST_AUTO);
    }
}


UNIT_TEST(test_json_fields)
{
    int                   rc;
    album_zip_manifest_t  out;

    rc = parse(json_good[0].in, json_good[0].len, ALBUM_ZIP_MANIFEST_AUTO,
               NULL, &out);

    CHECK_INT(rc, ALBUM_ZIP_MANIFEST_OK);
    CHECK_INT(out.format, ALBUM_ZIP_MANIFEST_JSON);
    CHECK_STR(cstr(out.name), "Album.zip");
    CHECK_INT(out.members[0].has_mtime, 1);
    CHECK_INT(out.members[0].mtime, 1714564800);
    CHECK(out.all_sizes_known);
    CHECK(out.all_crcs_known);
    CHECK_INT(out.total_size, 123);

    /* JSON strings are copies: the tree is gone */
    CHECK(out.members[0].name.data < (const u_char *) json_good[0].in
          || out.members[0].name.data
             >= (const u_char *) json_good[0].in + json_good[0].len);

    rc = parse(S("{\"name\":null,\"files\":[{\"url\":\"/a\",\"name\":\"a\","
                 "\"mtime\":1714564800},{\"url\":\"/b\",\"name\":\"b\","
                 "\"mtime\":\"2000-02-29T23:59:59.5+01:00\"}]}"),
               ALBUM_ZIP_MANIFEST_JSON, NULL, &out);

    CHECK_INT(rc, ALBUM_ZIP_MANIFEST_OK);
    CHECK_INT(out.name.len, 0);
    CHECK(out.name.data != NULL);
    CHECK_INT(out.members[0].mtime, 1714564800);
    CHECK_INT(out.members[1].mtime, 951865199);
    CHECK(!out.all_sizes_known);
    CHECK(!out.all_crcs_known);
    CHECK_INT(out.total_size, 0);

    rc = parse(S("{\"name\":\"\",\"files\":[{\"name\":\"d/\"}]}"),
               ALBUM_ZIP_MANIFEST_JSON, NULL, &out);

    CHECK_INT(rc, ALBUM_ZIP_MANIFEST_OK);
    CHECK_INT(out.name.len, 0);

    /* as given: album_zip_names makes the header value */
    rc = parse(S("{\"name\":\"a\\r\\nX: 1\",\"files\":[{\"name\":\"d/\"}]}"),
               ALBUM_ZIP_MANIFEST_JSON, NULL, &out);

    CHECK_INT(rc, ALBUM_ZIP_MANIFEST_OK);
    CHECK_STR(cstr(out.name), "a\r\nX: 1");
    CHECK(out.all_sizes_known);
    CHECK(out.all_crcs_known);
}


static const bad_t  json_bad[] = {
    { S("{\"files\":[{\"name\":\"a\"}]}"), ALBUM_ZIP_MANIFEST_EINVAL,
      "member 1: url: missing" },
    { S("{\"files\":[{\"url\":\"/a\"}]}"), ALBUM_ZIP_MANIFEST_EINVAL,
      "member 1: name: missing" },
    { S("{\"files\":[{\"url\":\"/a\",\"name\":null}]}"),
      ALBUM_ZIP_MANIFEST_EINVAL, "member 1: name: missing" },
    { S("{\"files\":[{\"url\":1,\"name\":\"a\"}]}"), ALBUM_ZIP_MANIFEST_EINVAL,
      "member 1: url: not a string" },
    { S("{\"files\":[{\"url\":\"/a\",\"name\":[\"a\"]}]}"),
      ALBUM_ZIP_MANIFEST_EINVAL, "member 1: name: not a string" },
    { S("{\"files\":[{\"url\":\"/a\",\"name\":\"\"}]}"),
      ALBUM_ZIP_MANIFEST_EINVAL, "member 1: name: empty" },
    { S("{\"files\":[{\"url\":\"/a\",\"name\":\"a\",\"size\":1.5}]}"),
      ALBUM_ZIP_MANIFEST_EINVAL,
      "member 1: size: not an integer from 0 to 2^53-1" },
    { S("{\"files\":[{\"url\":\"/a\",\"name\":\"a\",\"size\":-1}]}"),
      ALBUM_ZIP_MANIFEST_EINVAL, "size: not an integer" },
    { S("{\"files\":[{\"url\":\"/a\",\"name\":\"a\",\"size\":1e30}]}"),
      ALBUM_ZIP_MANIFEST_EINVAL, "size: not an integer" },
    { S("{\"files\":[{\"url\":\"/a\",\"name\":\"a\","
        "\"size\":9007199254740993}]}"),
      ALBUM_ZIP_MANIFEST_EINVAL, "size: not an integer" },
    { S("{\"files\":[{\"url\":\"/a\",\"name\":\"a\","
        "\"size\":9007199254740992}]}"),
      ALBUM_ZIP_MANIFEST_EINVAL, "size: not an integer" },
    { S("{\"files\":[{\"url\":\"/a\",\"name\":\"a\",\"size\":\"12\"}]}"),
      ALBUM_ZIP_MANIFEST_EINVAL, "size: not an integer" },
    { S("{\"files\":[{\"url\":\"/a\",\"name\":\"a\",\"size\":true}]}"),
      ALBUM_ZIP_MANIFEST_EINVAL, "size: not an integer" },
    { S("{\"files\":[{\"url\":\"/a\",\"name\":\"a\",\"crc32\":\"xyz\"}]}"),
      ALBUM_ZIP_MANIFEST_EINVAL,
      "member 1: crc32: not 1 to 8 hex digits: \"xyz\"" },
    { S("{\"files\":[{\"url\":\"/a\",\"name\":\"a\","
        "\"crc32\":\"123456789\"}]}"),
      ALBUM_ZIP_MANIFEST_EINVAL, "crc32: not 1 to 8 hex digits" },
    { S("{\"files\":[{\"url\":\"/a\",\"name\":\"a\",\"crc32\":\"\"}]}"),
      ALBUM_ZIP_MANIFEST_EINVAL, "crc32: not 1 to 8 hex digits: \"\"" },
    { S("{\"files\":[{\"url\":\"/a\",\"name\":\"a\",\"crc32\":-1}]}"),
      ALBUM_ZIP_MANIFEST_EINVAL,
      "crc32: not a hex string or an integer from 0 to 4294967295" },
    { S("{\"files\":[{\"url\":\"/a\",\"name\":\"a\",\"crc32\":4294967296}]}"),
      ALBUM_ZIP_MANIFEST_EINVAL, "crc32: not a hex string" },
    { S("{\"files\":[{\"url\":\"/a\",\"name\":\"a\",\"crc32\":1.5}]}"),
      ALBUM_ZIP_MANIFEST_EINVAL, "crc32: not a hex string" },
    { S("{\"files\":[{\"url\":\"/a\",\"name\":\"a\",\"crc32\":false}]}"),
      ALBUM_ZIP_MANIFEST_EINVAL, "crc32: not a hex string" },
    { S("{\"files\":[{\"url\":\"/a\",\"name\":\"a\","
        "\"mtime\":\"2024-02-30T00:00:00Z\"}]}"),
      ALBUM_ZIP_MANIFEST_EINVAL,
      "member 1: mtime: not an RFC 3339 date-time: "
      "\"2024-02-30T00:00:00Z\"" },
    { S("{\"files\":[{\"url\":\"/a\",\"name\":\"a\","
        "\"mtime\":\"1969-12-31T23:59:59Z\"}]}"),
      ALBUM_ZIP_MANIFEST_EINVAL, "mtime: outside 1970..9999" },
    { S("{\"files\":[{\"url\":\"/a\",\"name\":\"a\",\"mtime\":-1}]}"),
      ALBUM_ZIP_MANIFEST_EINVAL,
      "mtime: not an RFC 3339 string or a unix time from 0 to "
      "253402300799" },
    { S("{\"files\":[{\"url\":\"/a\",\"name\":\"a\",\"mtime\":1.5}]}"),
      ALBUM_ZIP_MANIFEST_EINVAL, "mtime: not an RFC 3339 string" },
    { S("{\"files\":[{\"url\":\"/a\",\"name\":\"a\","
        "\"mtime\":253402300800}]}"),
      ALBUM_ZIP_MANIFEST_EINVAL, "mtime: not an RFC 3339 string" },
    { S("{\"files\":[{\"url\":\"/a\",\"name\":\"a\",\"mtime\":\"now\"}]}"),
      ALBUM_ZIP_MANIFEST_EINVAL, "mtime: not an RFC 3339 date-time" },
    { S("{\"name\":\"x\"}"), ALBUM_ZIP_MANIFEST_EINVAL, "files: missing" },
    { S("{\"files\":{}}"), ALBUM_ZIP_MANIFEST_EINVAL, "files: not an array" },
    { S("{\"files\":[]}"), ALBUM_ZIP_MANIFEST_EINVAL,
      "manifest lists no members" },
    { S("{\"files\":[\"/a\"]}"), ALBUM_ZIP_MANIFEST_EINVAL,
      "member 1: not an object" },
    { S("{\"files\":[{\"url\":\"/a\",\"url\":\"/b\",\"name\":\"a\"}]}"),
      ALBUM_ZIP_MANIFEST_EINVAL, "member 1: url: duplicate key" },
    { S("{\"files\":[{\"url\":\"/a\",\"name\":\"a\",\"size\":1,"
        "\"size\":2}]}"), ALBUM_ZIP_MANIFEST_EINVAL,
      "member 1: size: duplicate key" },
    { S("{\"files\":[],\"files\":[]}"), ALBUM_ZIP_MANIFEST_EINVAL,
      "files: duplicate key" },
    { S("{\"name\":\"a\",\"name\":\"b\",\"files\":[]}"),
      ALBUM_ZIP_MANIFEST_EINVAL, "name: duplicate key" },
    { S("{\"name\":1,\"files\":[{\"url\":\"/a\",\"name\":\"a\"}]}"),
      ALBUM_ZIP_MANIFEST_EINVAL, "name: not a string" },
    { S("{\"files\":["), ALBUM_ZIP_MANIFEST_EINVAL, "JSON syntax error" },
    { S("{\"files\":[{\"url\":\"/a\",\"name\":\"a\"}]} x"),
      ALBUM_ZIP_MANIFEST_EINVAL, "JSON: data after the object at byte 37" },
    { S("{\"files\":[{\"url\":\"/a\",\"name\":\"a\"}]}{}"),
      ALBUM_ZIP_MANIFEST_EINVAL, "JSON: data after the object" },
    { S("{\"files\":[{\"url\":\"/a\",\"name\":\"a\\u0000b\"}]}"),
      ALBUM_ZIP_MANIFEST_EINVAL, "JSON: \\u0000 at byte 32" },
    { S("{\"files\":[{\"url\":\"/a\\\\\\u0000\",\"name\":\"a\"}]}"),
      ALBUM_ZIP_MANIFEST_EINVAL, "JSON: \\u0000" },
    { S("{\"files\":[{\"url\":\"/a\",\"name\":\"a\0b\"}]}"),
      ALBUM_ZIP_MANIFEST_EINVAL, "JSON: NUL byte at byte 32" },
    { S("{\"files\":[{\"url\":\"/a\",\"name\":\"a\\\0\"}]}"),
      ALBUM_ZIP_MANIFEST_EINVAL, "JSON: NUL byte at byte 33" },
    { S("{\"files\":[{\"url\":\"/a\",\"name\":\"d/\"}]}"),
      ALBUM_ZIP_MANIFEST_EINVAL,
      "member 1: name: ends in \"/\" but the member is not a directory" },
    { S("{\"files\":[{\"name\":\"d/\",\"size\":5}]}"),
      ALBUM_ZIP_MANIFEST_EINVAL, "member 1: size: not 0 for a directory" },
    { S("{\"files\":[{\"name\":\"d/\",\"crc32\":\"1\"}]}"),
      ALBUM_ZIP_MANIFEST_EINVAL, "member 1: crc32: not 0 for a directory" },
    { S("{\"files\":[{\"url\":\"/a\",\"name\":\"a\"},{\"url\":\"/b\","
        "\"name\":\"b\"},{\"url\":\"ftp://h/c\",\"name\":\"c\"}]}"),
      ALBUM_ZIP_MANIFEST_EINVAL, "member 3: url: unsupported scheme \"ftp\"" },
};


UNIT_TEST(test_json_bad)
{
    size_t  i;

    for (i = 0; i < N(json_bad); i++) {
        check_bad(&json_bad[i], i, ALBUM_ZIP_MANIFEST_JSON);
    }
}


UNIT_TEST(test_json_exact_errors)
{
    int                   rc;
    album_zip_manifest_t  out;

    rc = parse(json_bad[N(json_bad) - 1].in, json_bad[N(json_bad) - 1].len,
               ALBUM_ZIP_MANIFEST_AUTO, NULL, &out);

    CHECK_INT(rc, ALBUM_ZIP_MANIFEST_EINVAL);
    CHECK_STR(err, "member 3: url: unsupported scheme \"ftp\"");

    rc = parse(S("[1]"), ALBUM_ZIP_MANIFEST_JSON, NULL, &out);

    CHECK_ERR(rc, ALBUM_ZIP_MANIFEST_EINVAL, "JSON: not an object");

    /* AUTO sees a line manifest unless the text starts with "{" */
    rc = parse(S("[1]"), ALBUM_ZIP_MANIFEST_AUTO, NULL, &out);

    CHECK_ERR(rc, ALBUM_ZIP_MANIFEST_EINVAL, "member 1: size: missing");
    CHECK_INT(out.format, ALBUM_ZIP_MANIFEST_LINES);

    rc = parse(S("- 1 /a a"), ALBUM_ZIP_MANIFEST_JSON, NULL, &out);

    CHECK_ERR(rc, ALBUM_ZIP_MANIFEST_EINVAL, "JSON syntax error near byte");

    rc = parse(S("{\"files\": [{\"url\": \"/a\", \"name\": \"a\"}]}"),
               ALBUM_ZIP_MANIFEST_LINES, NULL, &out);

    CHECK_ERR(rc, ALBUM_ZIP_MANIFEST_EINVAL, "member 1: crc32: not 1 to 8");

    rc = parse(S("- 1 /a a"), (album_zip_manifest_format_t) 7, NULL, &out);

    CHECK_ERR(rc, ALBUM_ZIP_MANIFEST_EINVAL, "unknown manifest format 7");
}


/* --- RFC 3339 ------------------------------------------------------------ */

typedef struct {
    const char  *in;
    int          rc;
    int64_t      t;
} time_t_case_t;


static const time_t_case_t  times[] = {
    { "2024-05-01T12:00:00Z", 0, 1714564800 },
    { "2024-05-01t12:00:00z", 0, 1714564800 },
    { "2024-05-01T12:00:00.999999999Z", 0, 1714564800 },
    { "2024-05-01T14:00:00+02:00", 0, 1714564800 },
    { "2000-02-29T23:59:59+01:00", 0, 951865199 },
    { "2000-02-29T00:00:00Z", 0, 951782400 },
    { "2024-03-10T02:30:00-05:30", 0, 1710057600 },
    { "1970-01-01T00:00:00Z", 0, 0 },
    { "1970-01-01T01:00:00+01:00", 0, 0 },
    { "1969-12-31T23:00:00-01:00", 0, 0 },
    { "1970-01-01T00:00:00-00:00", 0, 0 },
    { "1980-01-01T00:00:00Z", 0, 315532800 },
    { "2107-12-31T23:59:59Z", 0, 4354819199LL },
    { "2016-12-31T23:59:60Z", 0, 1483228799 },    /* leap second: :59 */
    { "9999-12-31T23:59:59Z", 0, 253402300799LL },
    { "1970-01-01T00:00:00+01:00", -2, 0 },
    { "1969-12-31T23:59:59Z", -2, 0 },
    { "0000-01-01T00:00:00Z", -2, 0 },
    { "9999-12-31T23:59:59-00:01", -2, 0 },
    { "2024-02-30T00:00:00Z", -1, 0 },
    { "2023-02-29T00:00:00Z", -1, 0 },
    { "1900-02-29T00:00:00Z", -1, 0 },
    { "2024-04-31T00:00:00Z", -1, 0 },
    { "2024-13-01T00:00:00Z", -1, 0 },
    { "2024-00-10T00:00:00Z", -1, 0 },
    { "2024-05-00T00:00:00Z", -1, 0 },
    { "2024-05-01T24:00:00Z", -1, 0 },
    { "2024-05-01T12:60:00Z", -1, 0 },
    { "2024-05-01T12:00:61Z", -1, 0 },
    { "2024-05-01T12:00:00", -1, 0 },
    { "2024-05-01T12:00:00.Z", -1, 0 },
    { "2024-05-01T12:00:00.", -1, 0 },
    { "2024-05-01 12:00:00Z", -1, 0 },
    { "2024-05-01T12:00:00+0100", -1, 0 },
    { "2024-05-01T12:00:00+01", -1, 0 },
    { "2024-05-01T12:00:00+24:00", -1, 0 },
    { "2024-05-01T12:00:00+01:60", -1, 0 },
    { "2024-05-01T12:00:00+01:00 ", -1, 0 },
    { "2024-05-01T12:00:00Zjunk", -1, 0 },
    { "2024-5-01T12:00:00Z", -1, 0 },
    { "+2024-05-01T12:00:00Z", -1, 0 },
    { "2024-05-01", -1, 0 },
    { "", -1, 0 },
};


UNIT_TEST(test_rfc3339)
{
    int      rc;
    size_t   i;
    int64_t  t;

    for (i = 0; i < N(times); i++) {
        t = -12345;
        rc = album_zip_manifest_rfc3339((const u_char *) times[i].in,
                                        strlen(times[i].in), &t);

        if (rc != times[i].rc || (rc == 0 && t != times[i].t)) {
            UNIT_FAIL_(__FILE__, __LINE__, "%s: rc %d t %lld, expected "
                       "rc %d t %lld", times[i].in, rc, (long long) t,
                       times[i].rc, (long long) times[i].t);
        }
    }
}


/* every day from 1970 to 2400 against a plain day count */

UNIT_TEST(test_rfc3339_every_day)
{
    int       rc, leap;
    char      buf[32];
    int64_t   t, day;
    unsigned  y, m, d, dim;

    static const unsigned  mdays[] = {
        31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
    };

    day = 0;

    for (y = 1970; y <= 2400; y++) {
        leap = (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0));

        for (m = 1; m <= 12; m++) {
            dim = mdays[m - 1] + (m == 2 && leap);

            for (d = 1; d <= dim; d++, day++) {
                snprintf(buf, sizeof(buf), "%04u-%02u-%02uT01:02:03Z",
                         y, m, d);

                rc = album_zip_manifest_rfc3339((const u_char *) buf,
                                                strlen(buf), &t);

                if (rc != 0 || t != day * 86400 + 3723) {
                    UNIT_FAIL_(__FILE__, __LINE__, "%s: rc %d t %lld", buf,
                               rc, (long long) t);
                    return;
                }
            }

            snprintf(buf, sizeof(buf), "%04u-%02u-%02uT01:02:03Z",
                     y, m, dim + 1);

            CHECK(album_zip_manifest_rfc3339((const u_char *) buf,
                                             strlen(buf), &t) == -1);
        }
    }
}


/* --- classification ------------------------------------------------------ */

typedef struct {
    const char  *url;     /* JSON-escaped */
    int          kind;    /* 0: rejected */
    const char  *err;
} class_t;


static const class_t  classes[] = {
    { "/media/a.jpg", ALBUM_ZIP_MANIFEST_LOCAL, NULL },
    { "/", ALBUM_ZIP_MANIFEST_LOCAL, NULL },
    { "/a/", ALBUM_ZIP_MANIFEST_LOCAL, NULL },
    { "/media/...", ALBUM_ZIP_MANIFEST_LOCAL, NULL },
    { "/media/.hidden/..x", ALBUM_ZIP_MANIFEST_LOCAL, NULL },
    { "/caf\\u00e9.jpg", ALBUM_ZIP_MANIFEST_LOCAL, NULL },
    /* names a directory album takes: "\\" and a tab, encoded */
    { "/media/a%5Cb.jpg", ALBUM_ZIP_MANIFEST_LOCAL, NULL },
    { "/media/a%09b.jpg", ALBUM_ZIP_MANIFEST_LOCAL, NULL },

    { "http://cdn.example.com/a.jpg", ALBUM_ZIP_MANIFEST_REMOTE, NULL },
    { "https://cdn.example.com/a.jpg", ALBUM_ZIP_MANIFEST_REMOTE, NULL },
    { "HTTPS://CDN.example.com/a.jpg", ALBUM_ZIP_MANIFEST_REMOTE, NULL },
    { "hTtP://h:8080/a", ALBUM_ZIP_MANIFEST_REMOTE, NULL },
    { "https://h:65535/a", ALBUM_ZIP_MANIFEST_REMOTE, NULL },
    { "https://[::1]:8443/a", ALBUM_ZIP_MANIFEST_REMOTE, NULL },
    { "https://192.0.2.1/a", ALBUM_ZIP_MANIFEST_REMOTE, NULL },
    { "https://cdn.example.com", ALBUM_ZIP_MANIFEST_REMOTE, NULL },
    { "https://cdn.example.com?x=1", ALBUM_ZIP_MANIFEST_REMOTE, NULL },
    { "https://h_o-st.example/a", ALBUM_ZIP_MANIFEST_REMOTE, NULL },
    { "https://cdn/a//b", ALBUM_ZIP_MANIFEST_REMOTE, NULL },
    { "https://cdn/a%2Fb?x=../..", ALBUM_ZIP_MANIFEST_REMOTE, NULL },
    { "ftp://x/y", 0, "url: unsupported scheme \"ftp\"" },
    { "file:///etc/passwd", 0, "url: unsupported scheme \"file\"" },
    { "javascript:alert(1)", 0, "url: unsupported scheme \"javascript\"" },
    { "JavaScript:alert(1)", 0, "url: unsupported scheme \"JavaScript\"" },
    { "data:text/plain,hi", 0, "url: unsupported scheme \"data\"" },
    { "httpx://h/a", 0, "url: unsupported scheme \"httpx\"" },
    { "C:\\\\x", 0, "url: unsupported scheme \"C\"" },
    { "//evil.example/x", 0,
      "url: protocol-relative URL \"//evil.example/x\" not supported" },
    { "", 0, "url: empty" },
    { "media/a.jpg", 0, "url: not a path or an http(s) URL: \"media/a.jpg\"" },
    { " /a", 0, "url: not a path or an http(s) URL" },
    { "\\u00e9", 0, "url: not a path or an http(s) URL: \"\\xc3\\xa9\"" },
    { "http:/x", 0, "url: no \"//\" after \"http:\"" },
    { "https:", 0, "url: no \"//\" after \"https:\"" },
    { "https://", 0, "url: no host" },
    { "https:///a", 0, "url: no host" },
    { "https://:80/a", 0, "url: no host" },
    { "https://user:pw@cdn/a", 0, "url: user info (\"@\") not supported" },
    { "https://cdn.example.com@evil.example/a", 0, "url: user info" },
    { "https://cdn.example.com:0/a", 0, "url: bad port" },
    { "https://cdn.example.com:65536/a", 0, "url: bad port" },
    { "https://cdn.example.com:000080/a", 0, "url: bad port" },
    { "https://cdn.example.com:/a", 0, "url: bad port" },
    { "https://cdn.example.com:80a/a", 0, "url: bad port" },
    { "https://[::1/a", 0, "url: bad IPv6 host" },
    { "https://[]/a", 0, "url: bad IPv6 host" },
    { "https://[::1]x/a", 0, "url: bad character in the host at byte 14" },
    { "https://cdn!x/a", 0, "url: bad character in the host" },
    { "https://cdn ex/a", 0, "url: space or control character at byte 12" },
    { "/a b", 0, "url: space or control character at byte 3" },
    { "/a\\tb", 0, "url: space or control character" },
    { "/a\\u007f", 0, "url: space or control character" },
    { "/a\\\\b", 0, "url: \"\\\" at byte 3 (encode it)" },
    { "/a#b", 0, "url: \"#\" at byte 3" },
    { "https://cdn/a#b", 0, "url: \"#\"" },
    { "https://cdn/a/../b", 0, "url: \".\" or \"..\" in the path" },
    { "https://cdn/a/..", 0, "url: \".\" or \"..\"" },
    { "https://cdn/a/%2e%2E/b", 0, "url: \".\" or \"..\"" },
    { "https://cdn/a/.%2e?x", 0, "url: \".\" or \"..\"" },
    { "https://cdn/a/..%2Fb", 0, "url: \".\" or \"..\"" },
    { "https://cdn/a%5c..%5cb", 0, "url: \".\" or \"..\"" },
    { "https://cdn/a/./b", 0, "url: \".\" or \"..\"" },
    { "https://cdn/a%zz", 0, "url: bad percent-encoding at byte 14" },
    { "https://cdn/a?x=%", 0, "url: bad percent-encoding" },
    { "/media//a", 0, "url: \"//\" in the path" },
    { "/media/./a", 0, "url: \".\" or \"..\"" },
    { "/media/.", 0, "url: \".\" or \"..\"" },
    { "/media/%2e/a", 0, "url: \".\" or \"..\"" },
    { "/media/%2E%2e", 0, "url: \".\" or \"..\"" },
    { "/media/%252e%252e/a", 0, "url: \".\" or \"..\"" },
    { "/media/..%252fadmin", 0, "url: \".\" or \"..\"" },
    { "/media/a%2fb", 0, "url: encoded \"/\" in the path" },
    { "/media/%5c..%5cb", 0, "url: \".\" or \"..\"" },
    { "/a%0a", 0, "url: encoded control character" },
    { "/a%0d", 0, "url: encoded control character" },
    { "/a%7f", 0, "url: encoded control character" },
    { "/a%7", 0, "url: bad percent-encoding at byte 3" },
};


UNIT_TEST(test_classify)
{
    int                   rc;
    char                  buf[512];
    size_t                i, n;
    album_zip_manifest_t  out;

    for (i = 0; i < N(classes); i++) {
        n = snprintf(buf, sizeof(buf),
                     "{\"files\":[{\"url\":\"%s\",\"name\":\"x\"}]}",
                     classes[i].url);

        rc = parse(buf, n, ALBUM_ZIP_MANIFEST_JSON, NULL, &out);

        if (classes[i].kind != 0) {
            if (rc != ALBUM_ZIP_MANIFEST_OK
                || (int) out.members[0].kind != classes[i].kind)
            {
                UNIT_FAIL_(__FILE__, __LINE__, "%s: rc %d \"%s\"",
                           classes[i].url, rc, err);
            }

            continue;
        }

        if (rc != ALBUM_ZIP_MANIFEST_EINVAL
            || strncmp(err, "member 1: ", 10) != 0
            || strstr(err, classes[i].err) == NULL)
        {
            UNIT_FAIL_(__FILE__, __LINE__, "%s: rc %d \"%s\", expected "
                       "\"%s\"", classes[i].url, rc, err, classes[i].err);
        }

        CHECK(printable(err, sizeof(err)));
    }
}


/* --- the allow-list ------------------------------------------------------ */

typedef struct {
    const char  *url;       /* JSON-escaped */
    int          set;       /* which prefixes */
    int          allowed;   /* -1: the parser rejects it already */
} allow_t;


static const album_zip_manifest_str_t  prefixes0[] = {
    { 7, (const u_char *) "/media/" },
    { 24, (const u_char *) "https://cdn.example.com/" },
    { 7, (const u_char *) "/public" },
    { 19, (const u_char *) "s3://photos/albums/" },
};

static const album_zip_manifest_str_t  prefixes1[] = {
    { 23, (const u_char *) "HTTPS://CDN.example.com" },
    { 0, (const u_char *) "" },
};


static const allow_t  allows[] = {
    { "/media/a.jpg", 0, 1 },
    { "/media/Day%201/a.jpg", 0, 1 },
    { "/media/", 0, 1 },
    { "/media", 0, 0 },
    { "/mediax/a", 0, 0 },
    { "/MEDIA/a.jpg", 0, 0 },
    { "/public", 0, 1 },
    { "/public/a", 0, 1 },
    { "/public?x=1", 0, 1 },
    { "/public-private/a", 0, 0 },
    { "/publicx", 0, 0 },
    { "/admin/x", 0, 0 },
    { "/%6dedia/a.jpg", 0, 1 },       /* compared decoded */
    { "/media/../admin/x", 0, -1 },
    { "/media/%2e%2e/admin", 0, -1 },
    { "/media/%2E%2E%2Fadmin", 0, -1 },
    { "/media%2F..%2Fadmin", 0, -1 },
    { "/media/..%5cadmin", 0, -1 },
    { "/media//../admin", 0, -1 },
    { "/media/.%2e/admin", 0, -1 },
    { "https://cdn.example.com/a.jpg", 0, 1 },
    { "HTTPS://CDN.EXAMPLE.COM/a.jpg", 0, 1 },
    { "https://cdn.example.com/A.jpg?x", 0, 1 },
    { "https://cdn.example.com.evil.example/a", 0, 0 },
    { "https://cdn.example.com@evil.example/a", 0, -1 },
    { "https://cdn.example.com:8443/a", 0, 0 },
    { "http://cdn.example.com/a", 0, 0 },
    { "https://cdn.example.com", 0, 0 },
    { "https://cdn.example.com/x/../../admin", 0, -1 },
    { "https://cdn.example.com/x/%2e%2e/admin", 0, -1 },
    { "https://evil.example/https://cdn.example.com/", 0, 0 },
    { "https://evil.example/media/a.jpg", 0, 0 },
    { "https://cdn.example.com/a", 1, 1 },
    { "https://cdn.example.com", 1, 1 },
    { "https://cdn.example.com?x", 1, 1 },
    { "https://cdn.example.com.evil.example/a", 1, 0 },
    { "https://cdn.example.com:443/a", 1, 0 },
    { "/media/a.jpg", 1, 0 },
    { "/media/a.jpg", 2, 0 },         /* no prefixes: nothing */
    { "s3://photos/albums/2024/a.jpg", 0, 1 },
    { "S3://PHOTOS/albums/a.jpg", 0, 1 },
    { "s3://photos/albums2/a.jpg", 0, 0 },
    { "s3://photos/Albums/a.jpg", 0, 0 },
    { "s3://photos/private/a.jpg", 0, 0 },
    { "s3://photosx/albums/a.jpg", 0, 0 },
    { "s3://other/albums/a.jpg", 0, 0 },
    { "s3://photos/albums/../private/a.jpg", 0, -1 },
    { "s3://photos/albums/%2e%2e/private/a", 0, -1 },
    { "s3://photos/albums%2F..%2Fprivate/a", 0, -1 },
    { "s3://photos/albums//a.jpg", 0, -1 },
    { "s3://photos/albums/a.jpg", 1, 0 },
    { "s3://photos/albums/a.jpg", 2, 0 },
};


/* s3:// members: the bucket's name and the key, decoded once */

UNIT_TEST(test_s3)
{
    int                    rc;
    size_t                 i;
    album_zip_manifest_t   out;

    static const char     *bad[] = {
        "- - s3:/photos/a.jpg a",
        "- - s3://photos a",
        "- - s3://photos/ a",
        "- - s3:///a.jpg a",
        "- - s3://pho:tos/a.jpg a",
        "- - s3://photos/a.jpg?x=1 a",
        "- - s3://photos/dir/ a",
        "- - s3://photos/a%2Fb a",
        "- - s3://photos/a%00b a",
        "- - s3://photos/a%0Ab a",
        "- - s3://photos/a%zz a",
        "- - s3://photos/./a a",
    };

    rc = parse(S("1234abcd 42 s3://photos/albums/Day%201/a+b'%25%C3%A9.jpg "
                 "x.jpg\n"), ALBUM_ZIP_MANIFEST_LINES, NULL, &out);
    CHECK_INT(rc, ALBUM_ZIP_MANIFEST_OK);
    CHECK_INT(out.members[0].kind, ALBUM_ZIP_MANIFEST_S3);
    CHECK_INT(out.members[0].bucket.len, 6);
    CHECK_MEM(out.members[0].bucket.data, "photos", 6);
    CHECK_INT(out.members[0].key.len, 24);
    CHECK_MEM(out.members[0].key.data, "albums/Day 1/a+b'%\xc3\xa9.jpg", 24);
    CHECK_INT(out.members[0].url.len, 44);
    CHECK_INT(out.members[0].args.len, 0);
    CHECK_INT(out.members[0].crc32, 0x1234abcd);

    rc = parse(S("{\"files\":[{\"url\":\"s3://b-1.x/k\",\"name\":\"k\"}]}"),
               ALBUM_ZIP_MANIFEST_JSON, NULL, &out);
    CHECK_INT(rc, ALBUM_ZIP_MANIFEST_OK);
    CHECK_INT(out.members[0].kind, ALBUM_ZIP_MANIFEST_S3);
    CHECK_INT(out.members[0].key.len, 1);

    for (i = 0; i < N(bad); i++) {
        rc = parse(bad[i], strlen(bad[i]), ALBUM_ZIP_MANIFEST_LINES, NULL,
                   &out);

        if (rc != ALBUM_ZIP_MANIFEST_EINVAL) {
            UNIT_FAIL_(__FILE__, __LINE__, "%s: %d", bad[i], rc);
        }
    }
}


UNIT_TEST(test_allowed)
{
    int                              rc, a;
    char                             buf[512];
    size_t                           i, n, np;
    album_zip_manifest_t             out;
    const album_zip_manifest_str_t  *p;

    for (i = 0; i < N(allows); i++) {
        n = snprintf(buf, sizeof(buf),
                     "{\"files\":[{\"url\":\"%s\",\"name\":\"x\"}]}",
                     allows[i].url);

        rc = parse(buf, n, ALBUM_ZIP_MANIFEST_JSON, NULL, &out);

        if (allows[i].allowed == -1) {
            if (rc != ALBUM_ZIP_MANIFEST_EINVAL) {
                UNIT_FAIL_(__FILE__, __LINE__, "%s: parsed", allows[i].url);
            }

            continue;
        }

        if (rc != ALBUM_ZIP_MANIFEST_OK) {
            UNIT_FAIL_(__FILE__, __LINE__, "%s: %s", allows[i].url, err);
            continue;
        }

        p = (allows[i].set == 0) ? prefixes0 : prefixes1;
        np = (allows[i].set == 0) ? N(prefixes0)
                                  : (allows[i].set == 1) ? N(prefixes1) : 0;

        a = album_zip_manifest_allowed(&out.members[0], p, np);

        if (a != allows[i].allowed) {
            UNIT_FAIL_(__FILE__, __LINE__, "%s (set %d): %d, expected %d",
                       allows[i].url, allows[i].set, a, allows[i].allowed);
        }
    }

    /* a directory fetches nothing */
    rc = parse(S("- 0 @directory d"), ALBUM_ZIP_MANIFEST_LINES, NULL, &out);

    CHECK_INT(rc, ALBUM_ZIP_MANIFEST_OK);
    CHECK_INT(album_zip_manifest_allowed(&out.members[0], NULL, 0), 1);
}


/* --- limits -------------------------------------------------------------- */

static char *
make_lines(size_t n, size_t *len)
{
    char    *buf, *p;
    size_t   i;

    buf = malloc(n * 96 + 1);
    p = buf;

    for (i = 0; i < n; i++) {
        p += sprintf(p, "%08zx %zu /media/album/photo%%20%zu.jpg?w=1 "
                     "Day %zu/photo %zu.jpg\r\n", i, i * 1000, i, i % 7, i);
    }

    *len = p - buf;

    return buf;
}


static char *
make_json(size_t n, size_t *len)
{
    char    *buf, *p;
    size_t   i;

    buf = malloc(n * 192 + 64);
    p = buf;

    p += sprintf(p, "{\"name\": \"Album.zip\", \"files\": [\n");

    for (i = 0; i < n; i++) {
        p += sprintf(p, "%s{\"url\": \"/media/album/photo%%20%zu.jpg?w=1\", "
                     "\"name\": \"Day %zu/photo %zu.jpg\", \"size\": %zu, "
                     "\"crc32\": \"%08zx\", "
                     "\"mtime\": \"2024-05-01T12:00:00+02:00\"}\n",
                     i ? "," : "", i, i % 7, i, i * 1000, i);
    }

    p += sprintf(p, "]}\n");

    *len = p - buf;

    return buf;
}


UNIT_TEST(test_limit_members)
{
    int                          rc;
    char                        *buf;
    size_t                       len;
    album_zip_manifest_t         out;
    album_zip_manifest_limits_t  lim;

    buf = make_lines(10001, &len);

    rc = parse(buf, len, ALBUM_ZIP_MANIFEST_LINES, NULL, &out);

    CHECK_INT(rc, ALBUM_ZIP_MANIFEST_ELIMIT);
    CHECK_STR(err, "manifest has more than 10000 members");

    free(buf);

    buf = make_json(10001, &len);

    rc = parse(buf, len, ALBUM_ZIP_MANIFEST_AUTO, NULL, &out);

    CHECK_INT(rc, ALBUM_ZIP_MANIFEST_ELIMIT);
    CHECK_STR(err, "manifest has more than 10000 members");

    free(buf);

    memset(&lim, 0, sizeof(lim));
    lim.max_members = 3;

    buf = make_lines(3, &len);
    rc = parse(buf, len, ALBUM_ZIP_MANIFEST_LINES, &lim, &out);
    CHECK_INT(rc, ALBUM_ZIP_MANIFEST_OK);
    CHECK_INT(out.nmembers, 3);
    free(buf);

    buf = make_lines(4, &len);
    rc = parse(buf, len, ALBUM_ZIP_MANIFEST_LINES, &lim, &out);
    CHECK_INT(rc, ALBUM_ZIP_MANIFEST_ELIMIT);
    CHECK_STR(err, "manifest has more than 3 members");
    free(buf);

    buf = make_json(3, &len);
    rc = parse(buf, len, ALBUM_ZIP_MANIFEST_JSON, &lim, &out);
    CHECK_INT(rc, ALBUM_ZIP_MANIFEST_OK);
    CHECK_INT(out.nmembers, 3);
    free(buf);

    buf = make_json(4, &len);
    rc = parse(buf, len, ALBUM_ZIP_MANIFEST_JSON, &lim, &out);
    CHECK_INT(rc, ALBUM_ZIP_MANIFEST_ELIMIT);
    CHECK_STR(err, "manifest has more than 3 members");
    free(buf);
}


UNIT_TEST(test_limit_total_size)
{
    int                          rc;
    album_zip_manifest_t         out;
    album_zip_manifest_limits_t  lim;

    /* 2^62 + 2^62 overflows INT64_MAX, the default */
    rc = parse(S("- 4611686018427387904 /a a\n"
                 "- 4611686018427387903 /b b\n"
                 "- 1 /c c\n"),
               ALBUM_ZIP_MANIFEST_LINES, NULL, &out);

    CHECK_INT(rc, ALBUM_ZIP_MANIFEST_ELIMIT);
    CHECK_STR(err, "member 3: total size exceeds 9223372036854775807 bytes");

    rc = parse(S("- 9223372036854775807 /a a\n"
                 "- 9223372036854775807 /b b\n"),
               ALBUM_ZIP_MANIFEST_LINES, NULL, &out);

    CHECK_ERR(rc, ALBUM_ZIP_MANIFEST_ELIMIT, "member 2: total size exceeds");

    memset(&lim, 0, sizeof(lim));
    lim.max_total_size = 100;

    rc = parse(S("- 60 /a a\n- - /b b\n- 40 /c c\n"),
               ALBUM_ZIP_MANIFEST_LINES, &lim, &out);

    CHECK_INT(rc, ALBUM_ZIP_MANIFEST_OK);
    CHECK_INT(out.total_size, 100);
    CHECK(!out.all_sizes_known);

    rc = parse(S("{\"files\":[{\"url\":\"/a\",\"name\":\"a\",\"size\":60},"
                 "{\"url\":\"/b\",\"name\":\"b\",\"size\":41}]}"),
               ALBUM_ZIP_MANIFEST_JSON, &lim, &out);

    CHECK_INT(rc, ALBUM_ZIP_MANIFEST_ELIMIT);
    CHECK_STR(err, "member 2: total size exceeds 100 bytes");

    rc = parse(S("0 60 /a a\n1 40 /c c\n- 0 @directory d\n"),
               ALBUM_ZIP_MANIFEST_LINES, &lim, &out);

    CHECK_INT(rc, ALBUM_ZIP_MANIFEST_OK);
    CHECK(out.all_sizes_known);
    CHECK(out.all_crcs_known);
}


UNIT_TEST(test_limit_lengths)
{
    int                          rc;
    char                        *buf;
    size_t                       n, len;
    album_zip_manifest_t         out;
    album_zip_manifest_limits_t  lim;

    buf = malloc(70000 + 64);

    /* names: 65535 at most, also when a caller asks for more */

    for (n = 65535; n <= 65536; n++) {
        len = sprintf(buf, "- 1 /a ");
        memset(buf + len, 'n', n);
        len += n;

        rc = parse(buf, len, ALBUM_ZIP_MANIFEST_LINES, NULL, &out);

        if (n == 65535) {
            CHECK_INT(rc, ALBUM_ZIP_MANIFEST_OK);
            CHECK_INT(out.members[0].name.len, 65535);

        } else {
            CHECK_INT(rc, ALBUM_ZIP_MANIFEST_ELIMIT);
            CHECK_STR(err, "member 1: name: longer than 65535 bytes");
        }
    }

    memset(&lim, 0, sizeof(lim));
    lim.max_name_len = 100000;

    rc = parse(buf, len, ALBUM_ZIP_MANIFEST_LINES, &lim, &out);
    CHECK_ERR(rc, ALBUM_ZIP_MANIFEST_ELIMIT, "name: longer than 65535");

    /* "@directory" adds a "/" */
    len = sprintf(buf, "- 0 @directory ");
    memset(buf + len, 'd', 65535);
    len += 65535;

    rc = parse(buf, len, ALBUM_ZIP_MANIFEST_LINES, NULL, &out);
    CHECK_ERR(rc, ALBUM_ZIP_MANIFEST_ELIMIT, "name: longer than 65535");

    lim.max_name_len = 5;
    rc = parse(S("- 1 /a 12345\n- 1 /b 123456\n"), ALBUM_ZIP_MANIFEST_LINES,
               &lim, &out);
    CHECK_ERR(rc, ALBUM_ZIP_MANIFEST_ELIMIT,
              "member 2: name: longer than 5 bytes");

    rc = parse(S("{\"name\":\"123456\",\"files\":[{\"url\":\"/a\","
                 "\"name\":\"a\"}]}"), ALBUM_ZIP_MANIFEST_JSON, &lim, &out);
    CHECK_ERR(rc, ALBUM_ZIP_MANIFEST_ELIMIT, "name: longer than 5 bytes");
    CHECK(strncmp(err, "member", 6) != 0);

    /* urls: 8192 by default, before decoding */

    for (n = 8192; n <= 8193; n++) {
        len = sprintf(buf, "- 1 /");
        memset(buf + len, 'u', n - 1);
        len += n - 1;
        len += sprintf(buf + len, " a");

        rc = parse(buf, len, ALBUM_ZIP_MANIFEST_LINES, NULL, &out);

        if (n == 8192) {
            CHECK_INT(rc, ALBUM_ZIP_MANIFEST_OK);

        } else {
            CHECK_INT(rc, ALBUM_ZIP_MANIFEST_ELIMIT);
            CHECK_STR(err, "member 1: url: longer than 8192 bytes");
        }
    }

    memset(&lim, 0, sizeof(lim));
    lim.max_url_len = 6;

    rc = parse(S("- 1 /a%20bc a"), ALBUM_ZIP_MANIFEST_LINES, &lim, &out);
    CHECK_ERR(rc, ALBUM_ZIP_MANIFEST_ELIMIT, "url: longer than 6 bytes");

    free(buf);
}


/* --- memory, error texts ------------------------------------------------- */

UNIT_TEST(test_out_of_memory)
{
    int                   rc;
    long                  i;
    size_t                k;
    album_zip_manifest_t  out;

    static const struct {
        const char  *in;
        size_t       len;
    } inputs[] = {
        { S("- 1 /a%20b?x a\n- 0 @directory d\n") },
        { S("{\"name\":\"A\",\"files\":[{\"url\":\"/a%20b?x\",\"name\":\"a\"},"
            "{\"url\":\"https://h/a\",\"name\":\"b\"},{\"name\":\"d/\"}]}") },
    };

    for (k = 0; k < N(inputs); k++) {
        for (i = 0; i < 100; i++) {
            alloc_fail_at = i;
            alloc_count = 0;

            rc = parse(inputs[k].in, inputs[k].len, ALBUM_ZIP_MANIFEST_AUTO,
                       NULL, &out);

            if (rc == ALBUM_ZIP_MANIFEST_OK) {
                break;
            }

            CHECK_ERR(rc, ALBUM_ZIP_MANIFEST_ENOMEM, "out of memory");
        }

        CHECK(i > 1 && i < 100);
    }

    alloc_fail_at = -1;

    /* no allocator at all */
    rc = album_zip_manifest_parse((const u_char *) S("- 1 /a a"),
                                  ALBUM_ZIP_MANIFEST_AUTO, NULL, NULL, NULL,
                                  &out, err, sizeof(err));
    CHECK_ERR(rc, ALBUM_ZIP_MANIFEST_ENOMEM, "out of memory");
}


UNIT_TEST(test_error_buffer)
{
    int                   rc;
    char                  small[12];
    album_zip_manifest_t  out;

    test_free_all();

    memset(small, 'X', sizeof(small));

    rc = album_zip_manifest_parse((const u_char *) S("- 1 ftp://x/y a"),
                                  ALBUM_ZIP_MANIFEST_LINES, NULL, test_alloc,
                                  NULL, &out, small, sizeof(small));

    CHECK_INT(rc, ALBUM_ZIP_MANIFEST_EINVAL);
    CHECK_STR(small, "member 1: u");

    rc = album_zip_manifest_parse((const u_char *) S("- 1 ftp://x/y a"),
                                  ALBUM_ZIP_MANIFEST_LINES, NULL, test_alloc,
                                  NULL, &out, small, 1);

    CHECK_INT(rc, ALBUM_ZIP_MANIFEST_EINVAL);
    CHECK_INT(small[0], '\0');

    rc = album_zip_manifest_parse((const u_char *) S("- 1 ftp://x/y a"),
                                  ALBUM_ZIP_MANIFEST_LINES, NULL, test_alloc,
                                  NULL, &out, NULL, 0);

    CHECK_INT(rc, ALBUM_ZIP_MANIFEST_EINVAL);

    rc = album_zip_manifest_parse(NULL, 0, ALBUM_ZIP_MANIFEST_AUTO, NULL,
                                  test_alloc, NULL, &out, small,
                                  sizeof(small));

    CHECK_INT(rc, ALBUM_ZIP_MANIFEST_EINVAL);
    CHECK_INT(out.format, ALBUM_ZIP_MANIFEST_LINES);

    test_free_all();
}


/* long or hostile input is quoted short and escaped */

UNIT_TEST(test_error_quoting)
{
    int                   rc;
    char                  buf[300];
    size_t                len;
    album_zip_manifest_t  out;

    len = sprintf(buf, "- 1 ftp");
    memset(buf + len, 'A', 200);
    len += 200;
    len += sprintf(buf + len, "://x a");

    rc = parse(buf, len, ALBUM_ZIP_MANIFEST_LINES, NULL, &out);

    CHECK_ERR(rc, ALBUM_ZIP_MANIFEST_EINVAL, "AAAA...\"");
    CHECK(strlen(err) < 120);

    rc = parse(S("{\"files\":[{\"url\":\"/a\",\"name\":\"a\","
                 "\"crc32\":\"\\u001b[31m\\\"\\\\\"}]}"),
               ALBUM_ZIP_MANIFEST_JSON, NULL, &out);

    CHECK_ERR(rc, ALBUM_ZIP_MANIFEST_EINVAL,
              "crc32: not 1 to 8 hex digits: \"\\x1b[31m\\\"\\\\\"");

    rc = parse(S("- 1 \xe2\x80\xae:x a"), ALBUM_ZIP_MANIFEST_LINES, NULL,
               &out);

    CHECK_ERR(rc, ALBUM_ZIP_MANIFEST_EINVAL,
              "url: not a path or an http(s) URL: \"\\xe2\\x80\\xae:x\"");
}


/* --- 10,000 members ------------------------------------------------------ */

static void
check_big(const char *what, char *(*make)(size_t, size_t *))
{
    int                   rc, run;
    char                 *buf;
    size_t                len, i;
    double                t, best;
    album_zip_manifest_t  out;

    buf = make(10000, &len);
    best = 1e9;

    for (run = 0; run < 3; run++) {
        test_free_all();

        t = now_ms();
        rc = album_zip_manifest_parse((const u_char *) buf, len,
                                      ALBUM_ZIP_MANIFEST_AUTO, NULL,
                                      test_alloc, NULL, &out, err,
                                      sizeof(err));
        t = now_ms() - t;

        best = (t < best) ? t : best;

        CHECK_INT(rc, ALBUM_ZIP_MANIFEST_OK);
    }

    printf("%s: 10000 members, %zu bytes, parsed in %.2f ms%s\n", what, len,
           best, slow_build() ? " (instrumented build, not checked)" : "");

    if (!slow_build()) {
        CHECK(best < 50.0);
    }

    CHECK_INT(out.nmembers, 10000);
    CHECK(out.all_sizes_known);
    CHECK(out.all_crcs_known);
    CHECK_INT(out.total_size, 1000ULL * (9999ULL * 10000 / 2));

    for (i = 0; i < out.nmembers; i += 997) {
        CHECK_INT(out.members[i].kind, ALBUM_ZIP_MANIFEST_LOCAL);
        CHECK_INT(out.members[i].crc32, i);
        CHECK_INT(out.members[i].size, i * 1000);
        CHECK_STR(cstr(out.members[i].args), "w=1");
    }

    CHECK_STR(cstr(out.members[9999].url), "/media/album/photo 9999.jpg");
    CHECK_STR(cstr(out.members[9999].name), "Day 3/photo 9999.jpg");

    free(buf);
}


UNIT_TEST(test_big_lines)
{
    check_big("lines", make_lines);
}


UNIT_TEST(test_big_json)
{
    check_big("json", make_json);
}


UNIT_MAIN(test_lines_good, test_lines_no_copy, test_lines_bad,
          test_json_good, test_json_fields, test_json_bad,
          test_json_exact_errors, test_rfc3339, test_rfc3339_every_day,
          test_classify, test_allowed, test_s3, test_limit_members,
          test_limit_total_size, test_limit_lengths, test_out_of_memory,
          test_error_buffer, test_error_quoting, test_big_lines,
          test_big_json)
