
/*
 * Unit tests for album_zip_names.c: sanitising, de-duplication and the
 * Content-Disposition helpers.
 */


#include <stdlib.h>
#include <time.h>

#include "unit.h"
#include "album_zip_names.h"


/* an arena for the dedup allocator hooks; freed at the end of a test */

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


static void *
failing_alloc(void *ctx, size_t size)
{
    (void) ctx;
    (void) size;

    return NULL;
}


static char *
sanitize(const char *src, size_t len, unsigned is_dir)
{
    char  *dst;

    dst = malloc(ALBUM_ZIP_NAME_BOUND(len));
    if (dst == NULL) {
        abort();
    }

    if (album_zip_name_sanitize(dst, src, len, is_dir) != strlen(dst)) {
        fprintf(stderr, "sanitize: length differs from strlen()\n");
    }

    return dst;
}


typedef struct {
    const char  *in;
    size_t       len;
    unsigned     is_dir;
    const char  *out;
} case_t;


#define S(s)  s, sizeof(s) - 1


static const case_t  cases[] = {
    { S("Day 1/IMG_0001.jpg"), 0, "Day 1/IMG_0001.jpg" },
    { S("../x"), 0, "x" },
    { S("..\\x"), 0, "x" },
    { S("../../../../etc/passwd"), 0, "etc/passwd" },
    { S("a/../../b"), 0, "a/b" },
    { S("/etc/x"), 0, "etc/x" },
    { S("///etc//x"), 0, "etc/x" },
    { S("C:x"), 0, "x" },
    { S("C:\\x"), 0, "x" },
    { S("c:/Windows/x"), 0, "Windows/x" },
    { S("C:/D:x"), 0, "x" },
    { S("\\\\server\\share\\x.jpg"), 0, "server/share/x.jpg" },
    { S("a/C:x"), 0, "a/C:x" },
    { S("a/./b"), 0, "a/b" },
    { S("a//b"), 0, "a/b" },
    { S("./a"), 0, "a" },
    { S("a/ ../b"), 0, "a/b" },
    { S("a/.. /b"), 0, "a/b" },
    { S("a/.../b"), 0, "a/b" },
    { S("a/. ./b"), 0, "a/b" },
    { S(".\x01./x"), 0, "x" },
    { S("a\0b\x1f c\x7f"), 0, "ab c" },
    { S("a\nb\r\tc"), 0, "abc" },
    { S("a\xc2\x9b" "b"), 0, "ab" },
    { S(""), 0, "unnamed" },
    { S("/"), 0, "unnamed" },
    { S("../.."), 0, "unnamed" },
    { S("\x01\x02"), 0, "unnamed" },
    { S("a\xff" "b"), 0, "a_b" },
    { S("\xc0\xaf"), 0, "__" },
    { S("\xe0\x80\xaf"), 0, "___" },
    { S("\xed\xa0\x80"), 0, "___" },
    { S("\xf4\x90\x80\x80"), 0, "____" },
    { S("\xe2\x82"), 0, "__" },
    { S("x\xe2\x82"), 0, "x__" },
    { S("caf\xc3\xa9.jpg"), 0, "caf\xc3\xa9.jpg" },
    { S("\xf0\x9f\x93\xb7/\xe5\x86\x99\xe7\x9c\x9f.jpg"), 0,
      "\xf0\x9f\x93\xb7/\xe5\x86\x99\xe7\x9c\x9f.jpg" },
    { S("Day 1"), 1, "Day 1/" },
    { S("Day 1/"), 1, "Day 1/" },
    { S("Day 1\\"), 1, "Day 1/" },
    { S("../"), 1, "unnamed/" },
    { S("a/b/"), 0, "a/b" },
    { S(".hidden"), 0, ".hidden" },
    { S("a/.b/c"), 0, "a/.b/c" },
    { S("...x"), 0, "...x" },
};


UNIT_TEST(test_sanitize_table)
{
    char    *out;
    size_t   i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        out = sanitize(cases[i].in, cases[i].len, cases[i].is_dir);

        if (strcmp(out, cases[i].out) != 0) {
            fprintf(stderr, "case %zu\n", i);
        }

        CHECK_STR(out, cases[i].out);
        free(out);
    }
}


UNIT_TEST(test_sanitize_idempotent)
{
    char    *once, *twice;
    size_t   i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        once = sanitize(cases[i].in, cases[i].len, cases[i].is_dir);
        twice = sanitize(once, strlen(once), cases[i].is_dir);

        CHECK_STR(twice, once);

        free(once);
        free(twice);
    }
}


UNIT_TEST(test_sanitize_long_component)
{
    char    *in, *out, *expect;
    size_t   i;

    in = malloc(70001);
    expect = malloc(70001);

    /* 300 bytes with an extension: the extension survives */
    memset(in, 'x', 296);
    memcpy(in + 296, ".jpg", 4);
    out = sanitize(in, 300, 0);
    memset(expect, 'x', 251);
    memcpy(expect + 251, ".jpg", 5);
    CHECK_INT(strlen(out), 255);
    CHECK_STR(out, expect);
    free(out);

    /* an extension longer than 16 bytes is not one */
    memset(in, 'x', 280);
    memcpy(in + 280, ".abcdefghijklmnopqrs", 20);
    out = sanitize(in, 300, 0);
    memset(expect, 'x', 255);
    expect[255] = '\0';
    CHECK_STR(out, expect);
    free(out);

    /* 300 bytes, no extension */
    memset(in, 'x', 300);
    out = sanitize(in, 300, 0);
    CHECK_STR(out, expect);
    free(out);

    /* 255 is allowed as is, also for a directory */
    out = sanitize(in, 255, 1);
    CHECK_INT(strlen(out), 256);
    CHECK_INT(out[255], '/');
    free(out);

    /* 200 two-byte characters: cut at 254, not inside "\xc3\xa9" */
    for (i = 0; i < 200; i++) {
        in[2 * i] = '\xc3';
        in[2 * i + 1] = '\xa9';
    }

    out = sanitize(in, 400, 0);
    CHECK_INT(strlen(out), 254);
    CHECK_MEM(out, in, 254);
    free(out);

    /* 3-byte characters with an extension: 85 * 3 = 255 */
    for (i = 0; i < 100; i++) {
        memcpy(in + 3 * i, "\xe5\x86\x99", 3);
    }

    memcpy(in + 300, ".jpg", 4);
    out = sanitize(in, 304, 0);
    CHECK_INT(strlen(out), 249 + 4);
    CHECK_MEM(out, in, 249);
    CHECK_STR(out + 249, ".jpg");
    free(out);

    /* a 70000-byte single component */
    memset(in, 'a', 70000);
    out = sanitize(in, 70000, 0);
    memset(expect, 'a', 255);
    expect[255] = '\0';
    CHECK_STR(out, expect);
    free(out);

    /* 300 dots: dropped, not cut to 255 dots */
    memset(in, '.', 300);
    memcpy(in + 300, "/x", 2);
    out = sanitize(in, 302, 0);
    CHECK_STR(out, "x");
    free(out);

    free(in);
    free(expect);
}


UNIT_TEST(test_sanitize_long_name)
{
    char    *in, *out;
    size_t   i, n;

    in = malloc(70000 + 300);

    /* "a/a/a/.../a": 35000 components, 69999 bytes; keeps the leaf */
    for (i = 0; i < 35000; i++) {
        in[2 * i] = 'a';
        in[2 * i + 1] = '/';
    }

    memcpy(in + 70000, "z.jpg", 5);
    out = sanitize(in, 70005, 0);
    n = strlen(out);
    CHECK_INT(n, 65535);
    CHECK(memcmp(out + n - 6, "/z.jpg", 6) == 0);
    CHECK_MEM(out, in, 65530);
    free(out);

    /* the same as a directory keeps room for the '/' */
    out = sanitize(in, 69999, 1);
    n = strlen(out);
    CHECK_INT(n, 65534);
    CHECK_INT(out[n - 1], '/');
    CHECK_INT(out[n - 2], 'a');
    free(out);

    /* 65535 exactly is allowed */
    out = sanitize(in, 65535, 0);
    CHECK_INT(strlen(out), 65535);
    CHECK_MEM(out, in, 65535);
    free(out);

    /* 256 components of 255 bytes, leaf of 255: prefix cut, leaf kept */
    free(in);
    in = malloc(300 * 256);

    for (i = 0; i < 300; i++) {
        memset(in + 256 * i, 'a' + i % 26, 255);
        in[256 * i + 255] = '/';
    }

    out = sanitize(in, 256 * 300 - 1, 0);
    n = strlen(out);
    CHECK(n <= 65535);
    CHECK(n > 65535 - 512);
    CHECK_INT(out[n - 256], '/');
    CHECK_MEM(out + n - 255, in + 256 * 299, 255);
    free(out);

    free(in);
}


static int
run_dedup(album_zip_name_t *names, size_t n, uint64_t seed, arena_t *arena)
{
    album_zip_alloc_t  alloc;

    alloc.alloc = arena_alloc;
    alloc.ctx = arena;

    return album_zip_names_dedup(names, n, &alloc, seed);
}


static void
set_names(album_zip_name_t *names, const char **in, size_t n)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        names[i].data = in[i];
        names[i].len = strlen(in[i]);
        names[i].omit = 1;
    }
}


static int
name_is(const album_zip_name_t *name, const char *s)
{
    if (name->len == strlen(s) && memcmp(name->data, s, name->len) == 0) {
        return 1;
    }

    fprintf(stderr, "  got \"%.*s\", expected \"%s\"\n",
            (int) name->len, name->data, s);

    return 0;
}


UNIT_TEST(test_dedup_table)
{
    arena_t            arena;
    album_zip_name_t   names[8];

    static const char  *three[] = { "a.jpg", "a.jpg", "a.jpg" };
    static const char  *given[] = { "a.jpg", "a.jpg", "a (2).jpg" };
    static const char  *given2[] = { "a.jpg", "a (2).jpg", "a.jpg",
                                     "a (3).jpg", "a.jpg" };
    static const char  *tar[] = { "a.tar.gz", "a.tar.gz" };
    static const char  *hidden[] = { ".hidden", ".hidden" };
    static const char  *noext[] = { "noext", "noext", "noext" };
    static const char  *dir[] = { "Day 1/a.jpg", "Day 1/a.jpg",
                                  "Day 2/a.jpg" };
    static const char  *dotdir[] = { "x.d/a", "x.d/a" };
    static const char  *cased[] = { "A.jpg", "a.jpg", "a.JPG" };
    static const char  *dirs[] = { "d/", "d/x", "d/", "d/" };
    static const char  *dotend[] = { "a.", "a." };
    static const char  *utf8[] = { "\xc3\xa9t\xc3\xa9.jpg",
                                   "\xc3\xa9t\xc3\xa9.jpg" };

    memset(&arena, 0, sizeof(arena));

    set_names(names, three, 3);
    CHECK_INT(run_dedup(names, 3, 1, &arena), ALBUM_ZIP_OK);
    CHECK(name_is(&names[0], "a.jpg"));
    CHECK(name_is(&names[1], "a (2).jpg"));
    CHECK(name_is(&names[2], "a (3).jpg"));
    CHECK(!names[0].omit && !names[1].omit && !names[2].omit);

    set_names(names, given, 3);
    CHECK_INT(run_dedup(names, 3, 1, &arena), ALBUM_ZIP_OK);
    CHECK(name_is(&names[0], "a.jpg"));
    CHECK(name_is(&names[1], "a (3).jpg"));
    CHECK(name_is(&names[2], "a (2).jpg"));

    set_names(names, given2, 5);
    CHECK_INT(run_dedup(names, 5, 1, &arena), ALBUM_ZIP_OK);
    CHECK(name_is(&names[2], "a (4).jpg"));
    CHECK(name_is(&names[3], "a (3).jpg"));
    CHECK(name_is(&names[4], "a (5).jpg"));

    set_names(names, tar, 2);
    CHECK_INT(run_dedup(names, 2, 1, &arena), ALBUM_ZIP_OK);
    CHECK(name_is(&names[1], "a.tar (2).gz"));

    set_names(names, hidden, 2);
    CHECK_INT(run_dedup(names, 2, 1, &arena), ALBUM_ZIP_OK);
    CHECK(name_is(&names[1], ".hidden (2)"));

    set_names(names, noext, 3);
    CHECK_INT(run_dedup(names, 3, 1, &arena), ALBUM_ZIP_OK);
    CHECK(name_is(&names[1], "noext (2)"));
    CHECK(name_is(&names[2], "noext (3)"));

    set_names(names, dir, 3);
    CHECK_INT(run_dedup(names, 3, 1, &arena), ALBUM_ZIP_OK);
    CHECK(name_is(&names[1], "Day 1/a (2).jpg"));
    CHECK(name_is(&names[2], "Day 2/a.jpg"));

    set_names(names, dotdir, 2);
    CHECK_INT(run_dedup(names, 2, 1, &arena), ALBUM_ZIP_OK);
    CHECK(name_is(&names[1], "x.d/a (2)"));

    set_names(names, cased, 3);
    CHECK_INT(run_dedup(names, 3, 1, &arena), ALBUM_ZIP_OK);
    CHECK(name_is(&names[0], "A.jpg"));
    CHECK(name_is(&names[1], "a.jpg"));
    CHECK(name_is(&names[2], "a.JPG"));

    set_names(names, dirs, 4);
    CHECK_INT(run_dedup(names, 4, 1, &arena), ALBUM_ZIP_OK);
    CHECK(!names[0].omit && !names[1].omit);
    CHECK(names[2].omit && names[3].omit);
    CHECK(name_is(&names[2], "d/"));

    set_names(names, dotend, 2);
    CHECK_INT(run_dedup(names, 2, 1, &arena), ALBUM_ZIP_OK);
    CHECK(name_is(&names[1], "a (2)."));

    set_names(names, utf8, 2);
    CHECK_INT(run_dedup(names, 2, 1, &arena), ALBUM_ZIP_OK);
    CHECK(name_is(&names[1], "\xc3\xa9t\xc3\xa9 (2).jpg"));

    set_names(names, three, 3);
    CHECK_INT(run_dedup(names, 0, 1, &arena), ALBUM_ZIP_OK);

    arena_free(&arena);
}


/* a file named as a folder of other names is renamed, the folder stays */

UNIT_TEST(test_dedup_folder)
{
    arena_t            arena;
    album_zip_name_t   names[8];

    static const char  *day[] = { "Day1", "Day1/a.jpg" };
    static const char  *after[] = { "Day1/a.jpg", "Day1", "Day1" };
    static const char  *deep[] = { "a/b/c.jpg", "a/b", "a", "a/b (2)" };
    static const char  *dir[] = { "x/", "x", "x (2)/y" };
    static const char  *plain[] = { "Day1.jpg", "Day1/a.jpg", "Day" };

    memset(&arena, 0, sizeof(arena));

    set_names(names, day, 2);
    CHECK_INT(run_dedup(names, 2, 1, &arena), ALBUM_ZIP_OK);
    CHECK(name_is(&names[0], "Day1 (2)"));
    CHECK(name_is(&names[1], "Day1/a.jpg"));

    set_names(names, after, 3);
    CHECK_INT(run_dedup(names, 3, 7, &arena), ALBUM_ZIP_OK);
    CHECK(name_is(&names[0], "Day1/a.jpg"));
    CHECK(name_is(&names[1], "Day1 (2)"));
    CHECK(name_is(&names[2], "Day1 (3)"));

    set_names(names, deep, 4);
    CHECK_INT(run_dedup(names, 4, 3, &arena), ALBUM_ZIP_OK);
    CHECK(name_is(&names[0], "a/b/c.jpg"));
    CHECK(name_is(&names[1], "a/b (3)"));
    CHECK(name_is(&names[2], "a (2)"));
    CHECK(name_is(&names[3], "a/b (2)"));

    /* "x (2)" is a folder too: the file becomes "x (3)" */
    set_names(names, dir, 3);
    CHECK_INT(run_dedup(names, 3, 5, &arena), ALBUM_ZIP_OK);
    CHECK(name_is(&names[0], "x/"));
    CHECK(!names[0].omit);
    CHECK(name_is(&names[1], "x (3)"));
    CHECK(name_is(&names[2], "x (2)/y"));

    set_names(names, plain, 3);
    CHECK_INT(run_dedup(names, 3, 1, &arena), ALBUM_ZIP_OK);
    CHECK(name_is(&names[0], "Day1.jpg"));
    CHECK(name_is(&names[2], "Day"));

    arena_free(&arena);
}


UNIT_TEST(test_dedup_long)
{
    char              *a, *b;
    size_t             i;
    arena_t            arena;
    album_zip_name_t   names[3];

    memset(&arena, 0, sizeof(arena));

    a = malloc(65536);
    b = malloc(65536);

    /* a 255-byte leaf: the stem gives way, the extension stays */
    memset(a, 'x', 251);
    memcpy(a + 251, ".jpg", 4);
    names[0].data = a;
    names[0].len = 255;
    names[1] = names[0];

    CHECK_INT(run_dedup(names, 2, 7, &arena), ALBUM_ZIP_OK);
    memset(b, 'x', 247);
    memcpy(b + 247, " (2).jpg", 9);
    CHECK(name_is(&names[1], b));

    /* an extension too long to keep next to the suffix is cut instead */
    a[0] = 'a';
    a[1] = '.';
    memset(a + 2, 'e', 253);
    names[0].data = a;
    names[0].len = 255;
    names[1] = names[0];

    CHECK_INT(run_dedup(names, 2, 7, &arena), ALBUM_ZIP_OK);
    memcpy(b, a, 251);
    memcpy(b + 251, " (2)", 5);
    CHECK(name_is(&names[1], b));

    /* cut stems: "x...x1.jpg" and "x...x2.jpg" must not collide */
    memcpy(a + 250, "1.jpg", 5);
    memcpy(b, a, 255);
    b[250] = '2';
    names[0].data = a;
    names[0].len = 255;
    names[1].data = b;
    names[1].len = 255;
    names[2] = names[0];

    {
        album_zip_name_t  more[4];

        more[0] = names[0];
        more[1] = names[1];
        more[2] = names[0];
        more[3] = names[1];

        CHECK_INT(run_dedup(more, 4, 7, &arena), ALBUM_ZIP_OK);
        CHECK_INT(more[2].len, 255);
        CHECK_INT(more[3].len, 255);
        CHECK(memcmp(more[2].data + 247, " (2).jpg", 8) == 0);
        CHECK(memcmp(more[3].data + 247, " (3).jpg", 8) == 0);
    }

    /* a 65535-byte name: trailing directories give way */
    for (i = 0; i < 32767; i++) {
        a[2 * i] = 'd';
        a[2 * i + 1] = '/';
    }

    a[65534] = 'f';
    names[0].data = a;
    names[0].len = 65535;
    names[1] = names[0];

    CHECK_INT(run_dedup(names, 2, 7, &arena), ALBUM_ZIP_OK);
    CHECK(names[1].len <= 65535);
    CHECK(names[1].len > 65535 - 16);
    CHECK(memcmp(names[1].data + names[1].len - 6, "/f (2)", 6) == 0);
    CHECK(memcmp(names[1].data, a, names[1].len - 6) == 0);

    free(a);
    free(b);
    arena_free(&arena);
}


UNIT_TEST(test_dedup_seed_and_nomem)
{
    size_t             i;
    arena_t            arena;
    album_zip_alloc_t  alloc;
    album_zip_name_t   x[6], y[6];

    static const char  *in[] = { "b", "a", "b", "a", "a (2)", "b" };

    memset(&arena, 0, sizeof(arena));

    set_names(x, in, 6);
    set_names(y, in, 6);
    CHECK_INT(run_dedup(x, 6, 0, &arena), ALBUM_ZIP_OK);
    CHECK_INT(run_dedup(y, 6, 0xdeadbeefcafef00dULL, &arena), ALBUM_ZIP_OK);

    for (i = 0; i < 6; i++) {
        CHECK(x[i].len == y[i].len
              && memcmp(x[i].data, y[i].data, x[i].len) == 0);
    }

    CHECK(name_is(&x[2], "b (2)"));
    CHECK(name_is(&x[3], "a (3)"));
    CHECK(name_is(&x[5], "b (3)"));

    alloc.alloc = failing_alloc;
    alloc.ctx = NULL;
    set_names(x, in, 6);
    CHECK_INT(album_zip_names_dedup(x, 6, &alloc, 0), ALBUM_ZIP_ENOMEM);

    arena_free(&arena);
}


static double
now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return ts.tv_sec + ts.tv_nsec / 1e9;
}


static int
unique(album_zip_name_t *names, size_t n)
{
    size_t             i, j;
    unsigned long      h;
    size_t            *head, *next;
    const char        *p;

    /* a chained table of our own, independent of the code under test */
    head = malloc(sizeof(size_t) * 131072);
    next = malloc(sizeof(size_t) * n);

    for (i = 0; i < 131072; i++) {
        head[i] = (size_t) -1;
    }

    for (i = 0; i < n; i++) {
        h = 5381;

        for (p = names[i].data; p < names[i].data + names[i].len; p++) {
            h = h * 33 + (unsigned char) *p;
        }

        h &= 131071;

        for (j = head[h]; j != (size_t) -1; j = next[j]) {
            if (names[j].len == names[i].len
                && memcmp(names[j].data, names[i].data, names[i].len) == 0)
            {
                free(head);
                free(next);
                return 0;
            }
        }

        next[i] = head[h];
        head[h] = i;
    }

    free(head);
    free(next);

    return 1;
}


UNIT_TEST(test_dedup_70000)
{
    char              *buf;
    double             t, t1, t2, t3;
    size_t             i, n;
    arena_t            arena;
    album_zip_name_t  *names;

    n = 70000;
    names = malloc(n * sizeof(album_zip_name_t));
    buf = malloc(n * 32);
    memset(&arena, 0, sizeof(arena));

    /* a realistic album: 70 days, half the names repeat */
    for (i = 0; i < n; i++) {
        names[i].data = buf + 32 * i;
        names[i].len = sprintf(buf + 32 * i, "Day %zu/IMG_%04zu.jpg",
                               i % 70, (i / 70) % 500);
    }

    t = now();
    CHECK_INT(run_dedup(names, n, 42, &arena), ALBUM_ZIP_OK);
    t1 = now() - t;
    CHECK(unique(names, n));
    CHECK(t1 < 0.5);

    /* worst case for the counters: 70000 copies of one name */
    for (i = 0; i < n; i++) {
        names[i].data = "a.jpg";
        names[i].len = 5;
    }

    t = now();
    CHECK_INT(run_dedup(names, n, 42, &arena), ALBUM_ZIP_OK);
    t2 = now() - t;
    CHECK(unique(names, n));
    CHECK(name_is(&names[n - 1], "a (70000).jpg"));
    CHECK(t2 < 0.5);

    /* the numbers taken by real names: 35000 "a (k).jpg" given */
    for (i = 0; i < n; i++) {
        if (i % 2) {
            names[i].data = buf + 32 * i;
            names[i].len = sprintf(buf + 32 * i, "a (%zu).jpg", i / 2 + 2);

        } else {
            names[i].data = "a.jpg";
            names[i].len = 5;
        }
    }

    t = now();
    CHECK_INT(run_dedup(names, n, 42, &arena), ALBUM_ZIP_OK);
    t3 = now() - t;
    CHECK(unique(names, n));
    CHECK(name_is(&names[2], "a (35002).jpg"));
    CHECK(t3 < 0.5);

    printf("dedup of %zu names: %.3f s, %.3f s, %.3f s; %zu bytes\n",
           n, t1, t2, t3, arena.bytes);

    free(names);
    free(buf);
    arena_free(&arena);
}


UNIT_TEST(test_disposition)
{
    char  buf[512];

    CHECK_INT(album_zip_name_ascii(buf, S("Summer 2024.zip")), 15);
    CHECK_STR(buf, "Summer 2024.zip");

    album_zip_name_rfc5987(buf, S("Summer 2024.zip"));
    CHECK_STR(buf, "Summer%202024.zip");

    album_zip_name_ascii(buf, S("\xc3\x89t\xc3\xa9/\"x\"%.zip"));
    CHECK_STR(buf, "_t___x__.zip");

    album_zip_name_rfc5987(buf, S("\xc3\x89t\xc3\xa9/\"x\"%.zip"));
    CHECK_STR(buf, "%C3%89t%C3%A9_%22x%22%25.zip");

    album_zip_name_ascii(buf, S("a\xff\x01;b\\c"));
    CHECK_STR(buf, "a_;b_c");

    album_zip_name_rfc5987(buf, S("a\xff\x01;b\\c'*()"));
    CHECK_STR(buf, "a_%3Bb_c%27%2A%28%29");

    album_zip_name_rfc5987(buf, S("!#$&+-.^_`|~"));
    CHECK_STR(buf, "!#$&+-.^_`|~");

    album_zip_name_ascii(buf, S("\x01"));
    CHECK_STR(buf, "download");

    album_zip_name_rfc5987(buf, S(""));
    CHECK_STR(buf, "download");

    album_zip_content_disposition(buf, S("\xe5\x86\x99\xe7\x9c\x9f 1.zip"));
    CHECK_STR(buf, "attachment; filename=\"__ 1.zip\"; "
                   "filename*=UTF-8''%E5%86%99%E7%9C%9F%201.zip");

    CHECK(ALBUM_ZIP_DISPOSITION_BOUND(0) > strlen("attachment; "
          "filename=\"download\"; filename*=UTF-8''download"));
}


static int
disposition_is(const char *value, const char *want)
{
    char    *dst;
    size_t   n, len;

    len = strlen(value);
    dst = malloc(ALBUM_ZIP_DISPOSITION_NAME_BOUND(len));
    n = album_zip_disposition_name(dst, value, len);

    if (n == strlen(want) && memcmp(dst, want, n) == 0) {
        free(dst);
        return 1;
    }

    fprintf(stderr, "  \"%s\": got \"%.*s\", expected \"%s\"\n",
            value, (int) n, dst, want);
    free(dst);

    return 0;
}


UNIT_TEST(test_disposition_name)
{
    CHECK(disposition_is("attachment; filename=\"Summer 2024.zip\"",
                         "Summer 2024.zip"));
    CHECK(disposition_is("attachment;filename=plain.zip", "plain.zip"));
    CHECK(disposition_is("attachment; filename = plain.zip ; size=3",
                         "plain.zip"));
    CHECK(disposition_is("attachment; filename=\"a\\\"b;c.zip\"",
                         "a\"b;c.zip"));
    CHECK(disposition_is("attachment; filename*=UTF-8''%C3%89t%C3%A9.zip; "
                         "filename=\"Ete.zip\"", "\xc3\x89t\xc3\xa9.zip"));
    CHECK(disposition_is("attachment; filename=\"Ete.zip\"; "
                         "filename*=utf-8'fr'%C3%89t%C3%A9.zip",
                         "\xc3\x89t\xc3\xa9.zip"));
    CHECK(disposition_is("attachment; filename*=ISO-8859-1''x.zip; "
                         "filename=y.zip", "y.zip"));
    CHECK(disposition_is("attachment; filename*=UTF-8''bad%zz.zip", ""));
    CHECK(disposition_is("attachment; name=\"filename=no\"", ""));
    CHECK(disposition_is("attachment", ""));
    CHECK(disposition_is("", ""));
    CHECK(disposition_is("attachment; filename=\"unterminated",
                         "unterminated"));
    CHECK(disposition_is(";;;=;filename", ""));
}


UNIT_TEST(test_bounds)
{
    char           *dst, *src;
    size_t          len, n, i;
    unsigned        seed;

    /* random bytes: the results never exceed the documented bounds */
    seed = 1;

    for (i = 0; i < 2000; i++) {
        len = i % 64;
        src = malloc(len + 1);
        dst = malloc(ALBUM_ZIP_DISPOSITION_BOUND(len));

        for (n = 0; n < len; n++) {
            seed = seed * 1103515245 + 12345;
            src[n] = "a./\\:\x01\xc3\xa9\xff "[(seed >> 16) % 11];
        }

        n = album_zip_name_sanitize(dst, src, len, i & 1);
        CHECK(n + 1 <= ALBUM_ZIP_NAME_BOUND(len));
        CHECK(n >= 1 && dst[0] != '/');

        n = album_zip_name_ascii(dst, src, len);
        CHECK(n + 1 <= ALBUM_ZIP_ASCII_BOUND(len));

        n = album_zip_name_rfc5987(dst, src, len);
        CHECK(n + 1 <= ALBUM_ZIP_RFC5987_BOUND(len));

        n = album_zip_content_disposition(dst, src, len);
        CHECK(n + 1 <= ALBUM_ZIP_DISPOSITION_BOUND(len));

        free(src);
        free(dst);
    }
}


UNIT_MAIN(test_sanitize_table, test_sanitize_idempotent,
          test_sanitize_long_component, test_sanitize_long_name,
          test_dedup_table, test_dedup_folder, test_dedup_long,
          test_dedup_seed_and_nomem, test_dedup_70000, test_disposition,
          test_disposition_name, test_bounds)
