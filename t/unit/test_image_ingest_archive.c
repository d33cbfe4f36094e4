
/*
 * Unit tests for image_ingest_archive.c: what the first bytes are, names
 * made UTF-8 without control characters, junk and nested archive names;
 * archives written here with libarchive (tar, tar.gz, zip) read entry by
 * entry: the classification and reasons, the limits (entries, total
 * bytes, entry size, ratio), truncation, and the results' JSON text.
 */


#include <stdlib.h>
#include <string.h>

#include <archive.h>
#include <archive_entry.h>

#include "unit.h"
#include "image_ingest_archive.h"


#define PNG_SIG  "\x89PNG\r\n\x1a\n"

#define START                                                                 \
    "{\"entries\": [{\"name\": \"Day 1/\", \"status\": \"skipped\", "         \
    "\"reason\": \"directory\"}, {\"name\": \"Day 1/a.png\", "                \
    "\"status\": \"skipped\"}, {\"name\": \"link.png\", "


/* ------------------------------------------------------------------------
 * archives in memory
 */


typedef struct {
    unsigned char  *p;
    size_t          len;
    size_t          cap;
} mem_t;


static la_ssize_t
mem_write(struct archive *a, void *data, const void *buf, size_t n)
{
    mem_t  *m = data;

    (void) a;

    if (m->len + n > m->cap) {
        m->cap = (m->len + n) * 2;
        m->p = realloc(m->p, m->cap);
    }

    memcpy(m->p + m->len, buf, n);
    m->len += n;

    return (la_ssize_t) n;
}


typedef struct {
    const char     *name;
    int             type;       /* AE_IF* */
    const char     *data;
    size_t          len;
    const char     *link;       /* symlink target, or hard link */
} item_t;


/* format: "tar", "tgz", "zip" */

static mem_t
make(const char *format, const item_t *items, size_t n)
{
    mem_t                  m = { NULL, 0, 0 };
    size_t                 i;
    struct archive        *a;
    struct archive_entry  *e;

    a = archive_write_new();

    if (strcmp(format, "zip") == 0) {
        archive_write_set_format_zip(a);

    } else {
        archive_write_set_format_pax_restricted(a);

        if (strcmp(format, "tgz") == 0) {
            archive_write_add_filter_gzip(a);
        }
    }

    archive_write_set_bytes_in_last_block(a, 1);
    archive_write_open(a, &m, NULL, mem_write, NULL);

    for (i = 0; i < n; i++) {
        e = archive_entry_new();
        archive_entry_set_pathname(e, items[i].name);
        archive_entry_set_mtime(e, 1700000000, 0);
        archive_entry_set_perm(e, 0644);

        if (items[i].type == 0 && items[i].link) {
            archive_entry_set_filetype(e, AE_IFREG);
            archive_entry_set_hardlink(e, items[i].link);
            archive_entry_set_size(e, 0);

        } else {
            archive_entry_set_filetype(e, items[i].type);

            if (items[i].type == AE_IFLNK) {
                archive_entry_set_symlink(e, items[i].link);
            }

            archive_entry_set_size(e, items[i].type == AE_IFREG
                                      ? (la_int64_t) items[i].len : 0);
        }

        archive_write_header(a, e);

        if (items[i].type == AE_IFREG && items[i].len) {
            archive_write_data(a, items[i].data, items[i].len);
        }

        archive_entry_free(e);
    }

    archive_write_close(a);
    archive_write_free(a);

    return m;
}


static ssize_t
mem_read(void *data, void *buf, size_t len, uint64_t off)
{
    mem_t  *m = data;

    if (off >= m->len) {
        return 0;
    }

    if (len > m->len - off) {
        len = m->len - off;
    }

    memcpy(buf, m->p + off, len);

    return (ssize_t) len;
}


static ssize_t
bad_read(void *data, void *buf, size_t len, uint64_t off)
{
    (void) data;
    (void) buf;
    (void) len;
    (void) off;

    return -1;
}


static image_ingest_archive_limits_t  limits = {
    10000, 4ULL << 30, 100, 20 << 20
};


static image_ingest_archive_t *
open_mem(mem_t *m, const image_ingest_archive_limits_t *l)
{
    char  err[200];

    return image_ingest_archive_open(mem_read, m, m->len, l ? l : &limits,
                                     err, sizeof(err));
}


/* ------------------------------------------------------------------------
 * tests
 */


UNIT_TEST(test_sniff)
{
    char  tar[512];

    CHECK_INT(image_ingest_archive_sniff("PK\3\4....", 8),
              IMAGE_INGEST_ARCHIVE_SNIFF_ARCHIVE);
    CHECK_INT(image_ingest_archive_sniff("PK\5\6", 4),
              IMAGE_INGEST_ARCHIVE_SNIFF_ARCHIVE);
    CHECK_INT(image_ingest_archive_sniff("7z\xbc\xaf\x27\x1c", 6),
              IMAGE_INGEST_ARCHIVE_SNIFF_ARCHIVE);
    CHECK_INT(image_ingest_archive_sniff("\x1f\x8b\x08\0", 4),
              IMAGE_INGEST_ARCHIVE_SNIFF_ARCHIVE);
    CHECK_INT(image_ingest_archive_sniff("BZh9", 4),
              IMAGE_INGEST_ARCHIVE_SNIFF_ARCHIVE);
    CHECK_INT(image_ingest_archive_sniff("\xfd" "7zXZ\0", 6),
              IMAGE_INGEST_ARCHIVE_SNIFF_ARCHIVE);

    memset(tar, 0, sizeof(tar));
    memcpy(tar + 257, "ustar", 5);
    CHECK_INT(image_ingest_archive_sniff(tar, sizeof(tar)),
              IMAGE_INGEST_ARCHIVE_SNIFF_ARCHIVE);
    CHECK_INT(image_ingest_archive_sniff(tar, 261),
              IMAGE_INGEST_ARCHIVE_SNIFF_OTHER);

    CHECK_INT(image_ingest_archive_sniff("\xff\xd8\xff\xe0", 4),
              IMAGE_INGEST_ARCHIVE_SNIFF_IMAGE);
    CHECK_INT(image_ingest_archive_sniff(PNG_SIG, 8),
              IMAGE_INGEST_ARCHIVE_SNIFF_IMAGE);
    CHECK_INT(image_ingest_archive_sniff("GIF89a", 6),
              IMAGE_INGEST_ARCHIVE_SNIFF_IMAGE);
    CHECK_INT(image_ingest_archive_sniff("RIFF\0\0\0\0WEBPVP8 ", 16),
              IMAGE_INGEST_ARCHIVE_SNIFF_IMAGE);
    CHECK_INT(image_ingest_archive_sniff("\0\0\0\x1c" "ftypavif", 12),
              IMAGE_INGEST_ARCHIVE_SNIFF_IMAGE);
    CHECK_INT(image_ingest_archive_sniff("II*\0", 4),
              IMAGE_INGEST_ARCHIVE_SNIFF_IMAGE);

    CHECK_INT(image_ingest_archive_sniff("PK", 2),
              IMAGE_INGEST_ARCHIVE_SNIFF_OTHER);
    CHECK_INT(image_ingest_archive_sniff("hello world", 11),
              IMAGE_INGEST_ARCHIVE_SNIFF_OTHER);
    CHECK_INT(image_ingest_archive_sniff("", 0),
              IMAGE_INGEST_ARCHIVE_SNIFF_OTHER);
}


static const char *
name(const char *in, size_t len)
{
    static char  out[IMAGE_INGEST_ARCHIVE_NAME_MAX + 4];

    CHECK_INT(image_ingest_archive_name(in, len, out), strlen(out));

    return out;
}


UNIT_TEST(test_name)
{
    size_t  i, n;
    char    big[3000];

    CHECK_STR(name("Day 1/IMG_001.jpg", 17), "Day 1/IMG_001.jpg");
    CHECK_STR(name("caf\xc3\xa9.jpg", 9), "caf\xc3\xa9.jpg");
    CHECK_STR(name("\xf0\x9f\x93\xb7.jpg", 8), "\xf0\x9f\x93\xb7.jpg");

    /* control characters: C0, DEL, C1 (U+0080..U+009F), NUL */
    CHECK_STR(name("a\x01" "b\x1b[0m\x7f" "c", 9),
              "a\xef\xbf\xbd" "b\xef\xbf\xbd[0m\xef\xbf\xbd" "c");
    CHECK_STR(name("a\xc2\x85" "b", 4), "a\xef\xbf\xbd" "b");
    CHECK_STR(name("a\0b", 3), "a\xef\xbf\xbd" "b");
    CHECK_STR(name("line\nbreak", 10), "line\xef\xbf\xbd" "break");

    /* not UTF-8: a lone byte, overlong, a surrogate, truncated, too big */
    CHECK_STR(name("\xff", 1), "\xef\xbf\xbd");
    CHECK_STR(name("\xc0\xaf", 2), "\xef\xbf\xbd\xef\xbf\xbd");
    CHECK_STR(name("\xed\xa0\x80", 3),
              "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
    CHECK_STR(name("ab\xe2\x82", 4), "ab\xef\xbf\xbd\xef\xbf\xbd");
    CHECK_STR(name("\xf4\x90\x80\x80", 4),
              "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
    CHECK_STR(name("", 0), "");

    /* cut at a character boundary, "..." after */
    for (i = 0; i + 2 <= sizeof(big); i += 2) {
        big[i] = '\xc3';
        big[i + 1] = '\xa9';
    }

    n = strlen(name(big, sizeof(big)));
    CHECK(n <= IMAGE_INGEST_ARCHIVE_NAME_MAX + 3);
    CHECK(n > IMAGE_INGEST_ARCHIVE_NAME_MAX - 4);
    CHECK_STR(name(big, sizeof(big)) + n - 3, "...");
    CHECK_INT(name(big, sizeof(big))[n - 4], (char) 0xa9);
}


UNIT_TEST(test_junk_and_nested)
{
    CHECK_STR(image_ingest_archive_junk(".DS_Store"), "system file");
    CHECK_STR(image_ingest_archive_junk("a/b/.DS_Store"), "system file");
    CHECK_STR(image_ingest_archive_junk("x/Thumbs.db"), "system file");
    CHECK_STR(image_ingest_archive_junk("THUMBS.DB"), "system file");
    CHECK_STR(image_ingest_archive_junk("desktop.ini"), "system file");
    CHECK_STR(image_ingest_archive_junk("__MACOSX/a.jpg"), "system file");
    CHECK_STR(image_ingest_archive_junk("x/__MACOSX/a.jpg"), "system file");
    CHECK_STR(image_ingest_archive_junk("Day 1/._IMG.jpg"), "system file");
    CHECK(image_ingest_archive_junk("IMG.jpg") == NULL);
    CHECK(image_ingest_archive_junk("x.DS_Store.jpg") == NULL);
    CHECK(image_ingest_archive_junk("__MACOSX.jpg") == NULL);

    CHECK_INT(image_ingest_archive_nested_name("a.zip"), 1);
    CHECK_INT(image_ingest_archive_nested_name("dir/b.TAR.GZ"), 1);
    CHECK_INT(image_ingest_archive_nested_name("c.tgz"), 1);
    CHECK_INT(image_ingest_archive_nested_name("d.7z"), 1);
    CHECK_INT(image_ingest_archive_nested_name("e.png"), 0);
    CHECK_INT(image_ingest_archive_nested_name("zip"), 0);
    CHECK_INT(image_ingest_archive_nested_name(".zip"), 0);
    CHECK_INT(image_ingest_archive_nested_name("x.zip/y.jpg"), 0);
}


UNIT_TEST(test_entries)
{
    int                            rc;
    char                          *json;
    size_t                         len;
    mem_t                          m;
    image_ingest_archive_t        *a;
    image_ingest_archive_entry_t   e;

    static const char   png[] = PNG_SIG "pixels";
    static const item_t  items[] = {
        { "Day 1", AE_IFDIR, NULL, 0, NULL },
        { "Day 1/a.png", AE_IFREG, png, sizeof(png) - 1, NULL },
        { "link.png", AE_IFLNK, NULL, 0, "/etc/passwd" },
        { "hard.png", 0, NULL, 0, "Day 1/a.png" },
        { "fifo", AE_IFIFO, NULL, 0, NULL },
        { "empty.png", AE_IFREG, "", 0, NULL },
        { "notes.txt", AE_IFREG, "hello", 5, NULL },
        { ".DS_Store", AE_IFREG, "Bud1", 4, NULL },
        { "inner.zip", AE_IFREG, "PK\3\4", 4, NULL },
        { "disguised.png", AE_IFREG, "\x1f\x8b\x08\0", 4, NULL },
        { "../../etc/x\x01.png", AE_IFREG, png, sizeof(png) - 1, NULL },
    };

    static const struct {
        int          cls;
        const char  *name;
        const char  *reason;
    } want[] = {
        { IMAGE_INGEST_ARCHIVE_SKIPPED, "Day 1/", "directory" },
        { IMAGE_INGEST_ARCHIVE_IMAGE, "Day 1/a.png", NULL },
        { IMAGE_INGEST_ARCHIVE_SKIPPED, "link.png", "symbolic link" },
        { IMAGE_INGEST_ARCHIVE_SKIPPED, "hard.png", "hard link" },
        { IMAGE_INGEST_ARCHIVE_SKIPPED, "fifo", "device or special file" },
        { IMAGE_INGEST_ARCHIVE_SKIPPED, "empty.png", "empty" },
        { IMAGE_INGEST_ARCHIVE_SKIPPED, "notes.txt", "not an image" },
        { IMAGE_INGEST_ARCHIVE_SKIPPED, ".DS_Store", "system file" },
        { IMAGE_INGEST_ARCHIVE_REFUSED, "inner.zip",
          "nested archive: not opened" },
        { IMAGE_INGEST_ARCHIVE_REFUSED, "disguised.png",
          "nested archive: not opened" },
        { IMAGE_INGEST_ARCHIVE_IMAGE, "../../etc/x\xef\xbf\xbd.png", NULL },
    };

    size_t  i;

    m = make("tgz", items, sizeof(items) / sizeof(items[0]));
    CHECK_INT(image_ingest_archive_sniff(m.p, m.len),
              IMAGE_INGEST_ARCHIVE_SNIFF_ARCHIVE);

    a = open_mem(&m, NULL);
    CHECK(a != NULL);
    if (a == NULL) {
        free(m.p);
        return;
    }

    for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        rc = image_ingest_archive_next(a, &e);
        CHECK_INT(rc, IMAGE_INGEST_ARCHIVE_ENTRY);
        CHECK_INT(e.cls, want[i].cls);
        CHECK_STR(e.name, want[i].name);

        if (want[i].reason) {
            CHECK_STR(e.reason ? e.reason : "(null)", want[i].reason);
        }

        if (e.cls == IMAGE_INGEST_ARCHIVE_IMAGE) {
            CHECK_INT(e.len, sizeof(png) - 1);
            CHECK(memcmp(e.data, png, e.len) == 0);
            CHECK_STR(e.mtime, "2023-11-14T22:13:20Z");
        }

        CHECK_INT(image_ingest_archive_result(a, &e,
                      e.cls == IMAGE_INGEST_ARCHIVE_REFUSED ? "refused"
                                                            : "skipped",
                      NULL, e.reason),
                  0);
    }

    CHECK_INT(image_ingest_archive_next(a, &e), IMAGE_INGEST_ARCHIVE_END);
    CHECK_INT(image_ingest_archive_next(a, &e), IMAGE_INGEST_ARCHIVE_END);
    CHECK(image_ingest_archive_error(a) == NULL);
    CHECK_INT(image_ingest_archive_counts(a)->entries, 11);
    CHECK_INT(image_ingest_archive_counts(a)->refused, 2);

    json = image_ingest_archive_json(a, &len);
    CHECK(json != NULL);
    if (json) {
        CHECK_INT(len, strlen(json));
        CHECK(strncmp(json, START, sizeof(START) - 1) == 0);
        CHECK(strstr(json, "], \"stored\": 0, \"duplicates\": 0, "
                           "\"skipped\": 9, \"refused\": 2}\n") != NULL);
        free(json);
    }

    image_ingest_archive_close(a);
    free(m.p);
}


UNIT_TEST(test_result_json)
{
    char                          *json;
    size_t                         len;
    mem_t                          m;
    image_ingest_info_t            info;
    image_ingest_archive_t        *a;
    image_ingest_archive_entry_t   e;
    image_ingest_pair_t            v = { "small", 5, "/i/small/k.jpg", 14 };

    static const item_t  items[] = {
        { "a \"quoted\".png", AE_IFREG, PNG_SIG, 8, NULL },
    };

    m = make("zip", items, 1);
    a = open_mem(&m, NULL);
    CHECK(a != NULL);
    if (a == NULL) {
        free(m.p);
        return;
    }

    CHECK_INT(image_ingest_archive_next(a, &e), IMAGE_INGEST_ARCHIVE_ENTRY);
    CHECK_INT(e.cls, IMAGE_INGEST_ARCHIVE_IMAGE);

    memset(&info, 0, sizeof(info));
    info.key = "0123456789abcdef0123456789abcdef";
    info.width = 2;
    info.height = 3;
    info.format = "png";
    info.bytes = 8;
    info.variants = &v;
    info.nvariants = 1;

    CHECK_INT(image_ingest_archive_result(a, &e, "stored", &info, NULL), 0);
    CHECK_INT(image_ingest_archive_next(a, &e), IMAGE_INGEST_ARCHIVE_END);

    json = image_ingest_archive_json(a, &len);
    CHECK_STR(json ? json : "",
              "{\"entries\": [{\"name\": \"a \\\"quoted\\\".png\", "
              "\"status\": \"stored\", "
              "\"key\": \"0123456789abcdef0123456789abcdef\", "
              "\"width\": 2, \"height\": 3, \"format\": \"png\", "
              "\"bytes\": 8, \"variants\": {\"small\": \"/i/small/k.jpg\"}}"
              "], \"stored\": 1, \"duplicates\": 0, \"skipped\": 0, "
              "\"refused\": 0}\n");
    free(json);

    /* the batch notification */
    CHECK_INT(image_ingest_archive_batch_add(a, "{\"key\": 1}", 10), 0);
    CHECK_INT(image_ingest_archive_batch_add(a, "{\"key\": 2}", 10), 0);
    json = image_ingest_archive_batch_json(a, &len);
    CHECK_STR(json ? json : "", "{\"archive\": true, \"images\": "
              "[{\"key\": 1}, {\"key\": 2}], \"stored\": 2}");
    free(json);

    image_ingest_archive_close(a);
    free(m.p);
}


UNIT_TEST(test_limits)
{
    char                           *zeros, *json;
    size_t                          len;
    mem_t                           m;
    image_ingest_archive_t         *a;
    image_ingest_archive_limits_t   l;
    image_ingest_archive_entry_t    e;

    static const item_t  three[] = {
        { "1.png", AE_IFREG, PNG_SIG "1", 9, NULL },
        { "2.png", AE_IFREG, PNG_SIG "22", 10, NULL },
        { "3.png", AE_IFREG, PNG_SIG "333", 11, NULL },
    };

    /* max_entries: two, then STOP, without the third */

    m = make("tar", three, 3);
    l = limits;
    l.max_entries = 2;
    a = open_mem(&m, &l);
    CHECK_INT(image_ingest_archive_next(a, &e), IMAGE_INGEST_ARCHIVE_ENTRY);
    CHECK_INT(image_ingest_archive_next(a, &e), IMAGE_INGEST_ARCHIVE_ENTRY);
    CHECK_INT(image_ingest_archive_next(a, &e), IMAGE_INGEST_ARCHIVE_STOP);
    CHECK_STR(image_ingest_archive_error(a),
              "archive: more than image_ingest_archive_max_entries (2) "
              "entries");
    CHECK_INT(image_ingest_archive_counts(a)->entries, 2);
    json = image_ingest_archive_json(a, &len);
    CHECK(json && strstr(json, "\"error\": \"archive: more than ") != NULL);
    free(json);
    image_ingest_archive_close(a);

    /* max_bytes: 9 + 10 fit in 20, the third entry is refused */

    l = limits;
    l.max_bytes = 20;
    a = open_mem(&m, &l);
    CHECK_INT(image_ingest_archive_next(a, &e), IMAGE_INGEST_ARCHIVE_ENTRY);
    CHECK_INT(image_ingest_archive_next(a, &e), IMAGE_INGEST_ARCHIVE_ENTRY);
    CHECK_INT(e.cls, IMAGE_INGEST_ARCHIVE_IMAGE);
    CHECK_INT(image_ingest_archive_next(a, &e), IMAGE_INGEST_ARCHIVE_ENTRY);
    CHECK_INT(e.cls, IMAGE_INGEST_ARCHIVE_REFUSED);
    CHECK_STR(e.reason, "image_ingest_archive_max_bytes reached");
    CHECK_INT(image_ingest_archive_next(a, &e), IMAGE_INGEST_ARCHIVE_STOP);
    image_ingest_archive_close(a);

    /* max_entry (image_ingest_max_size): by the declared size */

    l = limits;
    l.max_entry = 9;
    a = open_mem(&m, &l);
    CHECK_INT(image_ingest_archive_next(a, &e), IMAGE_INGEST_ARCHIVE_ENTRY);
    CHECK_INT(e.cls, IMAGE_INGEST_ARCHIVE_IMAGE);
    CHECK_INT(image_ingest_archive_next(a, &e), IMAGE_INGEST_ARCHIVE_ENTRY);
    CHECK_INT(e.cls, IMAGE_INGEST_ARCHIVE_REFUSED);
    CHECK_STR(e.reason, "larger than image_ingest_max_size");
    CHECK_INT(image_ingest_archive_next(a, &e), IMAGE_INGEST_ARCHIVE_ENTRY);
    CHECK_INT(e.cls, IMAGE_INGEST_ARCHIVE_REFUSED);
    CHECK_INT(image_ingest_archive_next(a, &e), IMAGE_INGEST_ARCHIVE_END);
    image_ingest_archive_close(a);

    /* truncated in the second entry's data: it is refused, then STOP */

    m.len = 512 + 512 + 512 + 5;
    a = open_mem(&m, NULL);
    CHECK_INT(image_ingest_archive_next(a, &e), IMAGE_INGEST_ARCHIVE_ENTRY);
    CHECK_INT(e.cls, IMAGE_INGEST_ARCHIVE_IMAGE);
    CHECK_INT(image_ingest_archive_next(a, &e), IMAGE_INGEST_ARCHIVE_ENTRY);
    CHECK_INT(e.cls, IMAGE_INGEST_ARCHIVE_REFUSED);
    CHECK_STR(e.reason, "corrupt or truncated");
    CHECK_INT(image_ingest_archive_next(a, &e), IMAGE_INGEST_ARCHIVE_STOP);
    CHECK(strncmp(image_ingest_archive_error(a), "archive: corrupt or "
                  "truncated", 29) == 0);
    image_ingest_archive_close(a);
    free(m.p);

    /* a bomb: a PNG signature and 8 MB of zeros, gzip'd ~1000:1 */

    zeros = calloc(1, 8 << 20);
    memcpy(zeros, PNG_SIG, 8);

    {
        item_t  bomb[] = {
            { "bomb.png", AE_IFREG, zeros, 8 << 20, NULL },
            { "after.png", AE_IFREG, PNG_SIG, 8, NULL },
        };

        m = make("tgz", bomb, 2);
    }

    CHECK(m.len < 64 * 1024);
    a = open_mem(&m, NULL);
    CHECK_INT(image_ingest_archive_next(a, &e), IMAGE_INGEST_ARCHIVE_ENTRY);
    CHECK_INT(e.cls, IMAGE_INGEST_ARCHIVE_REFUSED);
    CHECK_STR(e.reason, "compression ratio above "
                        "image_ingest_archive_max_ratio");
    CHECK_INT(image_ingest_archive_next(a, &e), IMAGE_INGEST_ARCHIVE_STOP);
    CHECK(strstr(image_ingest_archive_error(a), "compression bomb") != NULL);
    image_ingest_archive_close(a);

    /* the same with a ratio that allows it: read whole */

    l = limits;
    l.max_ratio = 100000;
    a = open_mem(&m, &l);
    CHECK_INT(image_ingest_archive_next(a, &e), IMAGE_INGEST_ARCHIVE_ENTRY);
    CHECK_INT(e.cls, IMAGE_INGEST_ARCHIVE_IMAGE);
    CHECK_INT(e.len, 8 << 20);
    CHECK_INT(image_ingest_archive_next(a, &e), IMAGE_INGEST_ARCHIVE_ENTRY);
    CHECK_STR(e.name, "after.png");
    image_ingest_archive_close(a);

    free(m.p);
    free(zeros);
}


UNIT_TEST(test_open_failures)
{
    char                     err[200];
    mem_t                    m = { (unsigned char *) "not an archive", 14,
                                   14 };
    image_ingest_archive_t  *a;

    a = image_ingest_archive_open(mem_read, &m, m.len, &limits, err,
                                  sizeof(err));
    CHECK(a == NULL);
    CHECK(strncmp(err, "not a readable archive: ", 24) == 0);

    a = image_ingest_archive_open(bad_read, &m, m.len, &limits, err,
                                  sizeof(err));
    CHECK(a == NULL);
    CHECK(strstr(err, "reading the body failed") != NULL);
}


UNIT_MAIN(test_sniff, test_name, test_junk_and_nested, test_entries,
          test_result_json, test_limits, test_open_failures)
