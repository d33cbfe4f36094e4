
/*
 * Unit tests for album_zip_format.c: header bytes, layout arithmetic,
 * ZIP64 boundaries, the piece locator and writers, and real archives
 * checked by three independent readers: libarchive (seekable and
 * streaming), Info-ZIP "unzip -t" and Python's zipfile.
 */


#include <stdlib.h>
#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <unistd.h>
#include <sys/stat.h>

#include <archive.h>
#include <archive_entry.h>

#include "unit.h"
#include "album_zip_format.h"
#include "album_zip_names.h"


typedef struct {
    const char         *name;
    const char         *data;       /* NULL: a hole, see head */
    uint64_t            size;
    int64_t             mtime;
    unsigned            has_crc:1;
    unsigned            is_dir:1;
    unsigned            stream_crc:1;
    const char         *head;       /* a hole starts with head_len */
    size_t              head_len;   /* bytes of head, then zeros */
} member_t;


static char  tmpdir[256];


static member_t
mem(const char *name, const char *data, uint64_t size, int64_t mtime,
    unsigned has_crc, unsigned is_dir)
{
    member_t  m;

    memset(&m, 0, sizeof(member_t));

    m.name = name;
    m.data = data;
    m.size = size;
    m.mtime = mtime;
    m.has_crc = has_crc;
    m.is_dir = is_dir;

    return m;
}


/* --- helpers ------------------------------------------------------------ */


static const char *
tmp_path(const char *name)
{
    const char   *base;
    static char   path[512];

    if (tmpdir[0] == '\0') {
        base = getenv("TMPDIR");
        snprintf(tmpdir, sizeof(tmpdir), "%s/album_zip_test.XXXXXX",
                 base != NULL && base[0] != '\0' ? base : "/tmp");

        if (mkdtemp(tmpdir) == NULL) {
            perror("mkdtemp");
            exit(2);
        }
    }

    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);

    return path;
}


static uint32_t
le16(const uint8_t *p)
{
    return p[0] | (p[1] << 8);
}


static uint32_t
le32(const uint8_t *p)
{
    return p[0] | (p[1] << 8) | (p[2] << 16) | ((uint32_t) p[3] << 24);
}


static uint64_t
le64(const uint8_t *p)
{
    return le32(p) | ((uint64_t) le32(p + 4) << 32);
}


/* ALBUM_ZIP_TEST_KEEP=1 keeps the archives for a look */

static void
remove_file(const char *path)
{
    if (getenv("ALBUM_ZIP_TEST_KEEP") == NULL) {
        unlink(path);
    }
}


/* "50 4b 03 04" to bytes; returns the count */

static size_t
unhex(uint8_t *dst, const char *hex)
{
    size_t        n;
    unsigned int  v;

    n = 0;

    while (*hex != '\0') {
        if (*hex == ' ') {
            hex++;
            continue;
        }

        sscanf(hex, "%2x", &v);
        dst[n++] = (uint8_t) v;
        hex += 2;
    }

    return n;
}


static int
bytes_are(const uint8_t *p, const char *hex)
{
    size_t   n, i;
    uint8_t  want[512];

    n = unhex(want, hex);

    if (memcmp(p, want, n) == 0) {
        return 1;
    }

    fprintf(stderr, "  got ");

    for (i = 0; i < n; i++) {
        fprintf(stderr, "%02x ", p[i]);
    }

    fprintf(stderr, "\n  not %s\n", hex);

    return 0;
}


static uint32_t
member_crc(const member_t *m)
{
    uint32_t        crc;
    uint64_t        left;
    size_t          n;
    static uint8_t  zeros[1 << 20];

    if (m->data != NULL) {
        return album_zip_crc32(0, m->data, m->size);
    }

    /* a hole: the head, then stream the zeros */
    crc = album_zip_crc32(0, m->head, m->head_len);

    for (left = m->size - m->head_len; left > 0; left -= n) {
        n = left < sizeof(zeros) ? left : sizeof(zeros);
        crc = album_zip_crc32(crc, zeros, n);
    }

    return crc;
}


static album_zip_entry_t *
make_entries(const member_t *m, size_t n)
{
    size_t              i;
    album_zip_entry_t  *e;

    e = calloc(n ? n : 1, sizeof(album_zip_entry_t));

    for (i = 0; i < n; i++) {
        e[i].name = m[i].name;
        e[i].name_len = strlen(m[i].name);
        e[i].size = m[i].size;
        e[i].mtime = m[i].mtime;
        e[i].is_dir = m[i].is_dir;
        e[i].has_crc = m[i].has_crc;
        e[i].stream_crc = m[i].stream_crc;

        if (m[i].has_crc) {
            e[i].crc32 = member_crc(&m[i]);
        }
    }

    return e;
}


/*
 * Writes the archive the way a sequential sender would: whole-piece
 * writers, CRCs of unknown members computed while "sending", the
 * central piece in 4 KiB chunks; holes stay holes.
 */

static int
write_zip(const char *path, album_zip_archive_t *ar, const member_t *m)
{
    int                 fd;
    size_t              i, n;
    uint8_t            *buf;
    uint64_t            pos;
    struct stat         st;
    album_zip_cd_t      cd;
    album_zip_entry_t  *e;

    fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd == -1) {
        perror(path);
        return -1;
    }

    buf = malloc(ALBUM_ZIP_LOCAL_HEADER_MAX);

    for (i = 0; i < ar->nentries; i++) {
        e = &ar->entries[i];

        n = album_zip_write_local_header(e, buf);
        if (n != album_zip_local_header_len(e)
            || pwrite(fd, buf, n, e->offset) != (ssize_t) n)
        {
            goto failed;
        }

        if (m[i].data != NULL && m[i].size > 0
            && pwrite(fd, m[i].data, m[i].size, album_zip_data_offset(e))
               != (ssize_t) m[i].size)
        {
            goto failed;
        }

        if (m[i].data == NULL && m[i].head_len > 0
            && pwrite(fd, m[i].head, m[i].head_len, album_zip_data_offset(e))
               != (ssize_t) m[i].head_len)
        {
            goto failed;
        }

        if (e->descriptor) {
            n = album_zip_write_descriptor(e, member_crc(&m[i]), buf);

            if (n != album_zip_descriptor_len(e)
                || pwrite(fd, buf, n, album_zip_data_offset(e) + m[i].size)
                   != (ssize_t) n)
            {
                goto failed;
            }
        }
    }

    album_zip_cd_init(&cd, ar, 0);
    pos = ar->cd_offset;

    while ((n = album_zip_cd_write(&cd, buf, 4096)) > 0) {
        if (pwrite(fd, buf, n, pos) != (ssize_t) n) {
            goto failed;
        }

        pos += n;
    }

    if (pos != ar->total || ftruncate(fd, ar->total) != 0
        || fstat(fd, &st) != 0 || (uint64_t) st.st_size != ar->total)
    {
        goto failed;
    }

    free(buf);
    close(fd);

    return 0;

failed:

    perror("write_zip");
    free(buf);
    close(fd);

    return -1;
}


static uint8_t *
read_all(const char *path, size_t *len)
{
    int          fd;
    uint8_t     *p;
    struct stat  st;

    fd = open(path, O_RDONLY);
    if (fd == -1 || fstat(fd, &st) != 0) {
        return NULL;
    }

    p = malloc(st.st_size + 1);

    if (read(fd, p, st.st_size) != st.st_size) {
        free(p);
        p = NULL;
    }

    close(fd);
    *len = st.st_size;

    return p;
}


/* bytes of member data at an offset, holes included */

static void
member_bytes(const member_t *m, uint64_t off, uint8_t *buf, size_t n)
{
    size_t  k;

    if (m->data != NULL) {
        memcpy(buf, m->data + off, n);
        return;
    }

    memset(buf, 0, n);

    if (off < m->head_len) {
        k = m->head_len - off < n ? m->head_len - off : n;
        memcpy(buf, m->head + off, k);
    }
}


/*
 * The archive in memory through the Range path: locate + piece_write
 * with a given chunk size, member data from the test table.
 */

static uint8_t *
range_zip(const album_zip_archive_t *ar, const member_t *m, size_t chunk)
{
    size_t             n;
    uint8_t           *out;
    uint64_t           pos;
    album_zip_piece_t  piece;

    out = malloc(ar->total + 1);
    pos = 0;

    while (album_zip_locate(ar, pos, &piece) == ALBUM_ZIP_OK) {
        n = chunk;

        if (n > piece.len - piece.offset) {
            n = piece.len - piece.offset;
        }

        if (piece.kind == ALBUM_ZIP_PIECE_DATA) {
            member_bytes(&m[piece.index], piece.offset, out + pos, n);

        } else if (album_zip_piece_write(ar, &piece, out + pos, n) != n) {
            free(out);
            return NULL;
        }

        pos += n;
    }

    if (pos != ar->total) {
        free(out);
        return NULL;
    }

    return out;
}


/* --- the three readers --------------------------------------------------- */


typedef struct {
    int      fd;
    uint8_t  buf[65536];
} reader_t;


static la_ssize_t
read_cb(struct archive *a, void *ctx, const void **buf)
{
    reader_t  *r;

    (void) a;

    r = ctx;
    *buf = r->buf;

    return read(r->fd, r->buf, sizeof(r->buf));
}


/*
 * Reads every entry with libarchive and compares names, types, mtimes
 * and bytes with the table; "streaming" reads through a pipe-like
 * callback with the streaming ZIP reader (local headers only).
 */

static int
check_libarchive(const char *path, const member_t *m, size_t n,
    int streaming)
{
    int                    r, ok;
    size_t                 i;
    ssize_t                got;
    uint64_t               off;
    reader_t              *rd;
    const char            *name;
    struct archive        *a;
    struct archive_entry  *ae;
    static uint8_t         buf[65536], want[65536];

    setlocale(LC_ALL, "C.UTF-8");

    ok = 1;
    rd = NULL;
    a = archive_read_new();

    if (streaming) {
        archive_read_support_format_zip_streamable(a);
        rd = malloc(sizeof(reader_t));
        rd->fd = open(path, O_RDONLY);
        r = archive_read_open(a, rd, NULL, read_cb, NULL);

    } else {
        archive_read_support_format_zip_seekable(a);
        r = archive_read_open_filename(a, path, 65536);
    }

    if (r != ARCHIVE_OK) {
        fprintf(stderr, "  libarchive open: %s\n", archive_error_string(a));
        ok = 0;
        goto done;
    }

    for (i = 0; /* void */; i++) {
        r = archive_read_next_header(a, &ae);

        if (r == ARCHIVE_EOF) {
            break;
        }

        if (r != ARCHIVE_OK || i >= n) {
            fprintf(stderr, "  libarchive entry %zu: %s\n", i,
                    archive_error_string(a));
            ok = 0;
            goto done;
        }

        name = archive_entry_pathname_utf8(ae);

        if (name == NULL || strcmp(name, m[i].name) != 0) {
            fprintf(stderr, "  libarchive name %zu: \"%s\"\n", i,
                    name ? name : "(null)");
            ok = 0;
        }

        if ((archive_entry_filetype(ae) == AE_IFDIR) != m[i].is_dir) {
            fprintf(stderr, "  libarchive type %zu\n", i);
            ok = 0;
        }

        /* before 1980 (no mtime: 0) is 1980-01-01, as in the DOS field */
        if (m[i].mtime >= 0 && m[i].mtime <= INT32_MAX
            && archive_entry_mtime(ae) != (m[i].mtime < 315532800
                                           ? 315532800 : m[i].mtime))
        {
            fprintf(stderr, "  libarchive mtime %zu\n", i);
            ok = 0;
        }

        off = 0;

        while ((got = archive_read_data(a, buf, sizeof(buf))) > 0) {
            if (off + got <= m[i].size) {
                member_bytes(&m[i], off, want, got);
            }

            if (off + got > m[i].size || memcmp(buf, want, got) != 0) {
                fprintf(stderr, "  libarchive data %zu at %llu\n", i,
                        (unsigned long long) off);
                ok = 0;
                break;
            }

            off += got;
        }

        if (got < 0 || off != m[i].size) {
            fprintf(stderr, "  libarchive data %zu: %s\n", i,
                    archive_error_string(a));
            ok = 0;
        }
    }

    if (i != n) {
        fprintf(stderr, "  libarchive: %zu entries, expected %zu\n", i, n);
        ok = 0;
    }

done:

    archive_read_free(a);

    if (rd != NULL) {
        close(rd->fd);
        free(rd);
    }

    return ok;
}


/*
 * "members": test only these (shell words), still reading the whole
 * central directory; UnZip's CRC runs at ~200 MB/s, so the 4 GiB
 * member is tested only with ALBUM_ZIP_TEST_FULL=1.
 */

static int
check_unzip(const char *path, const char *members)
{
    char  cmd[1024];

    if (members == NULL || getenv("ALBUM_ZIP_TEST_FULL") != NULL) {
        members = "";
    }

    snprintf(cmd, sizeof(cmd), "unzip -tq '%s' %s >/dev/null 2>&1",
             path, members);

    if (system(cmd) == 0) {
        return 1;
    }

    snprintf(cmd, sizeof(cmd), "unzip -tq '%s' %s >&2", path, members);
    (void) system(cmd);

    return 0;
}


/* testzip() checks every CRC; the names come back one per line */

static const char  python_script[] =
    "import sys, zipfile\n"
    "z = zipfile.ZipFile(sys.argv[1])\n"
    "bad = z.testzip()\n"
    "if bad is not None:\n"
    "    sys.exit('bad member: %r' % bad)\n"
    "with open(sys.argv[2], 'w', encoding='utf-8', newline='\\n') as f:\n"
    "    for i in z.infolist():\n"
    "        f.write(i.filename + '\\n')\n";


static int
check_python(const char *path, const member_t *m, size_t n)
{
    int      ok;
    char     cmd[2048], names[600], *p, *nl;
    size_t   len, i;
    uint8_t  *list;

    snprintf(names, sizeof(names), "%s.names", path);
    snprintf(cmd, sizeof(cmd), "python3 -c \"$ALBUM_ZIP_PY\" '%s' '%s' >&2",
             path, names);

    setenv("ALBUM_ZIP_PY", python_script, 1);

    if (system(cmd) != 0) {
        return 0;
    }

    list = read_all(names, &len);
    unlink(names);

    if (list == NULL) {
        return 0;
    }

    list[len] = '\0';
    p = (char *) list;

    for (i = 0; i < n; i++) {
        nl = strchr(p, '\n');

        if (nl == NULL) {
            break;
        }

        *nl = '\0';

        if (strcmp(p, m[i].name) != 0) {
            fprintf(stderr, "  python name %zu: \"%s\"\n", i, p);
            break;
        }

        p = nl + 1;
    }

    ok = (i == n && *p == '\0');
    free(list);

    return ok;
}


/* --- checks of one laid-out archive -------------------------------------- */


typedef struct {
    album_zip_piece_e   kind;
    size_t              index;
    uint64_t            start;
    uint64_t            len;
} span_t;


/* the pieces, from the layout functions alone */

static span_t *
spans_of(const album_zip_archive_t *ar, size_t *count)
{
    size_t                    i, n;
    span_t                   *s;
    uint64_t                  pos;
    const album_zip_entry_t  *e;

    s = malloc((3 * ar->nentries + 1) * sizeof(span_t));
    n = 0;
    pos = 0;

    for (i = 0; i < ar->nentries; i++) {
        e = &ar->entries[i];

        s[n].kind = ALBUM_ZIP_PIECE_LOCAL_HEADER;
        s[n].index = i;
        s[n].start = pos;
        s[n].len = album_zip_local_header_len(e);
        pos += s[n++].len;

        if (e->size > 0) {
            s[n].kind = ALBUM_ZIP_PIECE_DATA;
            s[n].index = i;
            s[n].start = pos;
            s[n].len = e->size;
            pos += s[n++].len;
        }

        if (album_zip_descriptor_len(e) > 0) {
            s[n].kind = ALBUM_ZIP_PIECE_DESCRIPTOR;
            s[n].index = i;
            s[n].start = pos;
            s[n].len = album_zip_descriptor_len(e);
            pos += s[n++].len;
        }
    }

    s[n].kind = ALBUM_ZIP_PIECE_CENTRAL;
    s[n].index = ar->nentries;
    s[n].start = pos;
    s[n].len = album_zip_central_len(ar);
    n++;

    *count = n;

    return s;
}


static int
locate_is(const album_zip_archive_t *ar, uint64_t pos, const span_t *s)
{
    album_zip_piece_t  p;

    if (album_zip_locate(ar, pos, &p) != ALBUM_ZIP_OK
        || p.kind != s->kind || p.index != s->index || p.start != s->start
        || p.len != s->len || p.offset != pos - s->start)
    {
        fprintf(stderr, "  locate(%llu) wrong\n", (unsigned long long) pos);
        return 0;
    }

    return 1;
}


/* every piece boundary, +-1, against the layout */

static int
check_locate(const album_zip_archive_t *ar)
{
    int                ok;
    size_t             i, count;
    span_t            *s;
    uint64_t           end;
    album_zip_piece_t  p;

    s = spans_of(ar, &count);
    ok = 1;

    if (s[count - 1].start != ar->cd_offset
        || s[count - 1].start + s[count - 1].len != ar->total)
    {
        ok = 0;
    }

    for (i = 0; ok && i < count; i++) {
        end = s[i].start + s[i].len;

        ok = locate_is(ar, s[i].start, &s[i])
             && locate_is(ar, end - 1, &s[i])
             && (s[i].len < 3 || locate_is(ar, s[i].start + 1, &s[i]))
             && (s[i].len < 3 || locate_is(ar, end - 2, &s[i]))
             && (i == 0 || locate_is(ar, s[i].start - 1, &s[i - 1]))
             && (i == count - 1 || locate_is(ar, end, &s[i + 1]));
    }

    if (album_zip_locate(ar, ar->total, &p) != ALBUM_ZIP_EINVAL
        || album_zip_locate(ar, ar->total + 1, &p) != ALBUM_ZIP_EINVAL)
    {
        ok = 0;
    }

    free(s);

    return ok;
}


/* the central piece in chunks and from offsets equals the whole */

static int
check_central(const album_zip_archive_t *ar, const uint8_t *whole,
    size_t step)
{
    size_t          len, i, n, got;
    uint8_t        *buf;
    uint64_t        off;
    album_zip_cd_t  cd;

    static const size_t  chunks[] = { 1, 2, 3, 7, 45, 46, 47, 64, 4096 };

    len = album_zip_central_len(ar);
    buf = malloc(len + 1);

    for (i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
        album_zip_cd_init(&cd, ar, 0);
        got = 0;

        while ((n = album_zip_cd_write(&cd, buf + got, chunks[i])) > 0) {
            got += n;
        }

        if (got != len || memcmp(buf, whole, len) != 0) {
            fprintf(stderr, "  central in chunks of %zu\n", chunks[i]);
            free(buf);
            return 0;
        }
    }

    for (off = 0; off <= len; off += step) {
        album_zip_cd_init(&cd, ar, off);
        got = 0;

        /* up to 5000 bytes from each start: enough to cross records */
        while (got < 5000
               && (n = album_zip_cd_write(&cd, buf + got, 1000)) > 0)
        {
            got += n;
        }

        if (got != (len - off < 5000 ? len - off : 5000)
            || memcmp(buf, whole + off, got) != 0)
        {
            fprintf(stderr, "  central from %llu\n",
                    (unsigned long long) off);
            free(buf);
            return 0;
        }
    }

    free(buf);

    return 1;
}


/* every sub-range of every non-data piece equals the whole archive */

static int
check_subranges(const album_zip_archive_t *ar, const uint8_t *whole)
{
    size_t             i, count, n;
    span_t            *s;
    uint8_t            buf[4096];
    uint64_t           off, len;
    album_zip_piece_t  p;

    s = spans_of(ar, &count);

    for (i = 0; i < count; i++) {
        if (s[i].kind == ALBUM_ZIP_PIECE_DATA) {
            continue;
        }

        for (off = 0; off < s[i].len; off++) {
            for (len = 1; len <= 3 * 64; len += 64) {
                if (album_zip_locate(ar, s[i].start + off, &p)
                    != ALBUM_ZIP_OK)
                {
                    free(s);
                    return 0;
                }

                n = album_zip_piece_write(ar, &p, buf, len);

                if (n != (len < s[i].len - off ? len : s[i].len - off)
                    || memcmp(buf, whole + s[i].start + off, n) != 0)
                {
                    fprintf(stderr, "  piece %zu at %llu\n", i,
                            (unsigned long long) off);
                    free(s);
                    return 0;
                }
            }
        }
    }

    free(s);

    return 1;
}


/*
 * Lays out, writes, reads back with every reader and checks the
 * Range machinery on one table.
 */

static void
full_check(const char *file, const member_t *m, size_t n, size_t step)
{
    size_t               len;
    uint8_t             *whole, *ranged, *again;
    const char          *path;
    album_zip_entry_t   *e, *e2;
    album_zip_archive_t  ar, ar2;

    e = make_entries(m, n);
    CHECK_INT(album_zip_layout(&ar, e, n), ALBUM_ZIP_OK);

    path = tmp_path(file);
    CHECK_INT(write_zip(path, &ar, m), 0);

    whole = read_all(path, &len);
    CHECK(whole != NULL);
    CHECK_INT(len, ar.total);

    CHECK(check_libarchive(path, m, n, 0));
    CHECK(check_libarchive(path, m, n, 1));
    CHECK(check_unzip(path, NULL));
    CHECK(check_python(path, m, n));

    CHECK(check_locate(&ar));

    if (whole != NULL && len == ar.total) {
        CHECK(check_central(&ar, whole + ar.cd_offset, step));

        if (n < 100) {
            CHECK(check_subranges(&ar, whole));
        }

        /* the Range path gives the same bytes, in any chunking */
        ranged = range_zip(&ar, m, n < 100 ? 1 : 61);
        CHECK(ranged != NULL && memcmp(ranged, whole, len) == 0);
        free(ranged);

        ranged = range_zip(&ar, m, 7000);
        CHECK(ranged != NULL && memcmp(ranged, whole, len) == 0);
        free(ranged);

        /* same input, fresh tables: the same bytes */
        e2 = make_entries(m, n);
        CHECK_INT(album_zip_layout(&ar2, e2, n), ALBUM_ZIP_OK);
        CHECK_INT(write_zip(path, &ar2, m), 0);
        again = read_all(path, &len);
        CHECK(again != NULL && len == ar.total
              && memcmp(again, whole, len) == 0);
        free(again);
        free(e2);
    }

    remove_file(path);
    free(whole);
    free(e);
}


/* --- the tests ------------------------------------------------------------ */


UNIT_TEST(test_header_bytes)
{
    uint8_t              buf[256];
    album_zip_cd_t       cd;
    album_zip_entry_t    e[1];
    album_zip_archive_t  ar;

    memset(e, 0, sizeof(e));
    e[0].name = "a.txt";
    e[0].name_len = 5;
    e[0].size = 5;
    e[0].mtime = 1614834368;                /* 2021-03-04 05:06:08 UTC */
    e[0].crc32 = album_zip_crc32(0, "hello", 5);
    e[0].has_crc = 1;

    CHECK_INT(e[0].crc32, 0x3610a686);
    CHECK_INT(album_zip_layout(&ar, e, 1), ALBUM_ZIP_OK);
    CHECK_INT(ar.total, 44 + 5 + 60 + 22);
    CHECK_INT(ar.cd_offset, 49);
    CHECK_INT(ar.cd_size, 60);
    CHECK(ar.determined && !ar.zip64);

    CHECK_INT(album_zip_write_local_header(&e[0], buf), 44);
    CHECK(bytes_are(buf, "50 4b 03 04 14 00 00 00 00 00 c4 28 64 52"
                         " 86 a6 10 36 05 00 00 00 05 00 00 00 05 00 09 00"
                         " 61 2e 74 78 74"
                         " 55 54 05 00 01 c0 6a 40 60"));

    album_zip_cd_init(&cd, &ar, 0);
    CHECK_INT(album_zip_cd_write(&cd, buf, sizeof(buf)), 82);
    CHECK_INT(album_zip_cd_write(&cd, buf + 82, sizeof(buf)), 0);
    CHECK(bytes_are(buf, "50 4b 01 02 14 03 14 00 00 00 00 00 c4 28 64 52"
                         " 86 a6 10 36 05 00 00 00 05 00 00 00 05 00 09 00"
                         " 00 00 00 00 00 00 00 00 a4 81 00 00 00 00"
                         " 61 2e 74 78 74"
                         " 55 54 05 00 01 c0 6a 40 60"));
    CHECK(bytes_are(buf + 60, "50 4b 05 06 00 00 00 00 01 00 01 00"
                              " 3c 00 00 00 31 00 00 00 00 00"));

    /* CRC not known: flag 3, CRC 0, real sizes, then a descriptor */
    e[0].has_crc = 0;
    e[0].crc32 = 0;
    CHECK_INT(album_zip_layout(&ar, e, 1), ALBUM_ZIP_OK);
    CHECK(!ar.determined);
    CHECK_INT(ar.total, 44 + 5 + 16 + 60 + 22);
    CHECK_INT(album_zip_descriptor_len(&e[0]), 16);

    CHECK_INT(album_zip_write_local_header(&e[0], buf), 44);
    CHECK(bytes_are(buf, "50 4b 03 04 14 00 08 00 00 00 c4 28 64 52"
                         " 00 00 00 00 05 00 00 00 05 00 00 00 05 00 09 00"));

    CHECK_INT(album_zip_write_descriptor(&e[0], 0x3610a686, buf), 16);
    CHECK(bytes_are(buf, "50 4b 07 08 86 a6 10 36 05 00 00 00 05 00 00 00"));
    CHECK_INT(e[0].crc32, 0x3610a686);

    album_zip_cd_init(&cd, &ar, 0);
    CHECK_INT(album_zip_cd_write(&cd, buf, sizeof(buf)), 82);
    CHECK(bytes_are(buf, "50 4b 01 02 14 03 14 00 08 00 00 00 c4 28 64 52"
                         " 86 a6 10 36 05 00 00 00 05 00 00 00"));
    CHECK(bytes_are(buf + 60, "50 4b 05 06 00 00 00 00 01 00 01 00"
                              " 3c 00 00 00 41 00 00 00 00 00"));

    /* a UTF-8 name sets bit 11 in both headers */
    e[0].name = "\xc3\xa9";
    e[0].name_len = 2;
    e[0].has_crc = 1;
    CHECK_INT(album_zip_layout(&ar, e, 1), ALBUM_ZIP_OK);
    CHECK_INT(album_zip_write_local_header(&e[0], buf), 41);
    CHECK(bytes_are(buf, "50 4b 03 04 14 00 00 08"));
    CHECK(bytes_are(buf + 30, "c3 a9"));
    album_zip_cd_init(&cd, &ar, 0);
    album_zip_cd_write(&cd, buf, sizeof(buf));
    CHECK(bytes_are(buf, "50 4b 01 02 14 03 14 00 00 08"));

    /* a directory: size 0, CRC 0, 0755 dir + DOS dir bit; old mtime */
    e[0].name = "d/";
    e[0].name_len = 2;
    e[0].size = 0;
    e[0].is_dir = 1;
    e[0].has_crc = 0;
    e[0].mtime = -5;
    CHECK_INT(album_zip_layout(&ar, e, 1), ALBUM_ZIP_OK);
    CHECK(ar.determined);
    CHECK_INT(album_zip_descriptor_len(&e[0]), 0);
    CHECK_INT(album_zip_write_local_header(&e[0], buf), 32);
    CHECK(bytes_are(buf, "50 4b 03 04 14 00 00 00 00 00 00 00 21 00"
                         " 00 00 00 00 00 00 00 00 00 00 00 00 02 00 00 00"
                         " 64 2f"));
    album_zip_cd_init(&cd, &ar, 0);
    CHECK_INT(album_zip_cd_write(&cd, buf, sizeof(buf)), 48 + 22);
    CHECK(bytes_are(buf, "50 4b 01 02 14 03 14 00 00 00 00 00 00 00 21 00"
                         " 00 00 00 00 00 00 00 00 00 00 00 00 02 00 00 00"
                         " 00 00 00 00 00 00 10 00 ed 41 00 00 00 00"
                         " 64 2f"));

    /* no entries: the end record alone */
    CHECK_INT(album_zip_layout(&ar, e, 0), ALBUM_ZIP_OK);
    CHECK_INT(ar.total, 22);
    album_zip_cd_init(&cd, &ar, 0);
    CHECK_INT(album_zip_cd_write(&cd, buf, sizeof(buf)), 22);
    CHECK(bytes_are(buf, "50 4b 05 06 00 00 00 00 00 00 00 00"
                         " 00 00 00 00 00 00 00 00 00 00"));
}


UNIT_TEST(test_dos_time)
{
    size_t              i;
    album_zip_entry_t   e;
    album_zip_archive_t ar;

    static const struct {
        int64_t   t;
        uint32_t  date;
        uint32_t  time;
        unsigned  xtime;
    } cases[] = {
        { 1614834368, 0x5264, 0x28c4, 1 },      /* 2021-03-04 05:06:08 */
        { 1614834369, 0x5264, 0x28c4, 1 },      /* odd second: down */
        { 0, 0x0021, 0x0000, 1 },               /* before 1980: clamp */
        { -5, 0x0021, 0x0000, 0 },
        { 315532800, 0x0021, 0x0000, 1 },       /* 1980-01-01 00:00:00 */
        { 315532799, 0x0021, 0x0000, 1 },
        { 951782400, 0x285d, 0x0000, 1 },       /* 2000-02-29 */
        { 1709210096, 0x585d, 0x645c, 1 },      /* 2024-02-29 12:34:56 */
        { 4102444799LL, 0xef9f, 0xbf7d, 0 },    /* 2099-12-31 23:59:59 */
        { 2147483647, 0x7433, 0x19c3, 1 },      /* 2038-01-19 03:14:07 */
        { 2147483648LL, 0x7433, 0x19c4, 0 },
        { 4354819198LL, 0xff9f, 0xbf7d, 0 },    /* 2107-12-31 23:59:58 */
        { 4354819199LL, 0xff9f, 0xbf7d, 0 },
        { INT64_MAX, 0xff9f, 0xbf7d, 0 },
        { INT64_MIN, 0x0021, 0x0000, 0 },
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        memset(&e, 0, sizeof(e));
        e.name = "x";
        e.name_len = 1;
        e.mtime = cases[i].t;

        CHECK_INT(album_zip_layout(&ar, &e, 1), ALBUM_ZIP_OK);

        if (e.dos_date != cases[i].date || e.dos_time != cases[i].time
            || e.xtime != cases[i].xtime)
        {
            fprintf(stderr, "  case %zu: %04x %04x %u\n", i, e.dos_date,
                    e.dos_time, e.xtime);
        }

        CHECK_INT(e.dos_date, cases[i].date);
        CHECK_INT(e.dos_time, cases[i].time);
        CHECK_INT(e.xtime, cases[i].xtime);
        CHECK_INT(album_zip_local_header_len(&e),
                  31 + (cases[i].xtime ? 9 : 0));
    }
}


/* no mtime (0) or one before 1980: one date, 1980-01-01, in both fields */

UNIT_TEST(test_no_mtime)
{
    size_t               len, i;
    uint8_t              buf[128];
    album_zip_entry_t    e;
    album_zip_archive_t  ar;

    static const int64_t  t[] = { 0, 1, 315532799 };

    for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        memset(&e, 0, sizeof(e));
        e.name = "x";
        e.name_len = 1;
        e.mtime = t[i];

        CHECK_INT(album_zip_layout(&ar, &e, 1), ALBUM_ZIP_OK);
        CHECK_INT(e.dos_date, 0x0021);
        CHECK_INT(e.dos_time, 0x0000);
        CHECK_INT(e.xtime, 1);

        len = album_zip_write_local_header(&e, buf);
        CHECK_INT(len, 40);

        /* 0x5455, 5 bytes, flags 1, 315532800 = 0x12cea600 */
        CHECK(bytes_are(buf + 31, "55 54 05 00 01 00 a6 ce 12"));
    }
}


UNIT_TEST(test_layout_errors)
{
    char                *big;
    album_zip_entry_t    e[3];
    album_zip_archive_t  ar;

    memset(e, 0, sizeof(e));
    e[0].name = "a";
    e[0].name_len = 1;
    e[1].name = "b";
    e[1].name_len = 1;
    e[2].name = "c/";
    e[2].name_len = 2;
    e[2].is_dir = 1;

    CHECK_INT(album_zip_layout(&ar, e, 3), ALBUM_ZIP_OK);

    e[1].name_len = 0;
    CHECK_INT(album_zip_layout(&ar, e, 3), ALBUM_ZIP_EINVAL);
    CHECK_INT(ar.bad_entry, 1);

    e[1].name = NULL;
    e[1].name_len = 1;
    CHECK_INT(album_zip_layout(&ar, e, 3), ALBUM_ZIP_EINVAL);

    big = calloc(65536, 1);
    memset(big, 'x', 65536);
    e[1].name = big;
    e[1].name_len = 65536;
    CHECK_INT(album_zip_layout(&ar, e, 3), ALBUM_ZIP_EINVAL);
    e[1].name_len = 65535;
    CHECK_INT(album_zip_layout(&ar, e, 3), ALBUM_ZIP_OK);
    CHECK_INT(album_zip_local_header_len(&e[1]), 30 + 65535 + 9);
    CHECK(album_zip_local_header_len(&e[1]) <= ALBUM_ZIP_LOCAL_HEADER_MAX);

    /* "directory" is the trailing slash, both ways */
    e[1].name = "b/";
    e[1].name_len = 2;
    CHECK_INT(album_zip_layout(&ar, e, 3), ALBUM_ZIP_EINVAL);
    e[1].is_dir = 1;
    CHECK_INT(album_zip_layout(&ar, e, 3), ALBUM_ZIP_OK);
    e[1].size = 1;
    CHECK_INT(album_zip_layout(&ar, e, 3), ALBUM_ZIP_EINVAL);
    e[1].name = "b";
    e[1].name_len = 1;
    e[1].size = 0;
    CHECK_INT(album_zip_layout(&ar, e, 3), ALBUM_ZIP_EINVAL);
    CHECK_INT(ar.bad_entry, 1);
    e[1].is_dir = 0;

    /* sizes: the archive must fit in 2^63 - 1 */
    e[0].size = (uint64_t) INT64_MAX;
    CHECK_INT(album_zip_layout(&ar, e, 3), ALBUM_ZIP_EOVERFLOW);
    CHECK_INT(ar.bad_entry, 0);
    e[0].size = UINT64_MAX;
    CHECK_INT(album_zip_layout(&ar, e, 3), ALBUM_ZIP_EOVERFLOW);
    e[0].size = (uint64_t) 1 << 62;
    e[1].size = (uint64_t) 1 << 62;
    CHECK_INT(album_zip_layout(&ar, e, 3), ALBUM_ZIP_EOVERFLOW);
    CHECK_INT(ar.bad_entry, 1);

    /* the last byte that fits, then one more */
    e[1].size = 0;
    CHECK_INT(album_zip_layout(&ar, e, 2), ALBUM_ZIP_OK);
    e[0].size += (uint64_t) INT64_MAX - ar.total;
    CHECK_INT(album_zip_layout(&ar, e, 2), ALBUM_ZIP_OK);
    CHECK_INT(ar.total, INT64_MAX);
    e[0].size++;
    CHECK_INT(album_zip_layout(&ar, e, 2), ALBUM_ZIP_EOVERFLOW);
    CHECK_INT(ar.bad_entry, 2);

    free(big);
}


static void
tiny_entries(album_zip_entry_t *e, size_t n, char *names)
{
    size_t  i;

    memset(e, 0, n * sizeof(album_zip_entry_t));

    for (i = 0; i < n; i++) {
        e[i].name = names + 8 * i;
        e[i].name_len = sprintf(names + 8 * i, "%07zu", i);
        e[i].has_crc = 1;
    }
}


UNIT_TEST(test_zip64_boundaries)
{
    char                *names;
    uint8_t              buf[ALBUM_ZIP_END_MAX + 100];
    uint64_t             lh;
    album_zip_cd_t       cd;
    album_zip_entry_t    e[3], *many;
    album_zip_archive_t  ar;

    memset(e, 0, sizeof(e));
    e[0].name = "a";
    e[0].name_len = 1;
    e[0].has_crc = 1;
    e[0].mtime = -1;
    e[1].name = "b";
    e[1].name_len = 1;
    e[1].has_crc = 1;
    e[1].mtime = -1;

    /* size: 0xfffffffe fits, 0xffffffff is the marker, so ZIP64 */
    e[0].size = 0xfffffffeULL;
    CHECK_INT(album_zip_layout(&ar, e, 1), ALBUM_ZIP_OK);
    CHECK(!e[0].zip64_size && !e[0].zip64_offset);
    CHECK_INT(album_zip_local_header_len(&e[0]), 31);
    CHECK_INT(album_zip_central_header_len(&e[0]), 47);
    CHECK(ar.zip64);                 /* the CD starts above 4 GiB */

    e[0].size = 0xffffffffULL;
    CHECK_INT(album_zip_layout(&ar, e, 1), ALBUM_ZIP_OK);
    CHECK(e[0].zip64_size && !e[0].zip64_offset);
    CHECK_INT(album_zip_local_header_len(&e[0]), 31 + 20);
    CHECK_INT(album_zip_central_header_len(&e[0]), 47 + 20);

    /* offset: the second header exactly at 0xfffffffe, 0xffffffff */
    lh = album_zip_local_header_len(&e[0]) - 20;
    e[0].size = 0xfffffffeULL - lh;
    CHECK_INT(album_zip_layout(&ar, e, 2), ALBUM_ZIP_OK);
    CHECK_INT(e[1].offset, 0xfffffffeULL);
    CHECK(!e[1].zip64_offset);
    CHECK_INT(album_zip_central_header_len(&e[1]), 47);

    e[0].size++;
    CHECK_INT(album_zip_layout(&ar, e, 2), ALBUM_ZIP_OK);
    CHECK_INT(e[1].offset, 0xffffffffULL);
    CHECK(e[1].zip64_offset && !e[1].zip64_size);
    CHECK_INT(album_zip_local_header_len(&e[1]), 31);
    CHECK_INT(album_zip_central_header_len(&e[1]), 47 + 28);

    /* the CD offset exactly at 0xfffffffe, 0xffffffff */
    e[0].size = 0xfffffffeULL - lh;
    CHECK_INT(album_zip_layout(&ar, e, 1), ALBUM_ZIP_OK);
    CHECK_INT(ar.cd_offset, 0xfffffffeULL);
    CHECK(!ar.zip64);
    CHECK_INT(ar.end_size, 22);

    e[0].size++;
    CHECK_INT(album_zip_layout(&ar, e, 1), ALBUM_ZIP_OK);
    CHECK_INT(ar.cd_offset, 0xffffffffULL);
    CHECK(ar.zip64);
    CHECK_INT(ar.end_size, 22 + 56 + 20);

    album_zip_cd_init(&cd, &ar, ar.cd_size);
    CHECK_INT(album_zip_cd_write(&cd, buf, sizeof(buf)), 98);
    CHECK(bytes_are(buf, "50 4b 06 06 2c 00 00 00 00 00 00 00 2d 03 2d 00"
                         " 00 00 00 00 00 00 00 00"
                         " 01 00 00 00 00 00 00 00 01 00 00 00 00 00 00 00"
                         " 2f 00 00 00 00 00 00 00 ff ff ff ff 00 00 00 00"));
    CHECK(bytes_are(buf + 56, "50 4b 06 07 00 00 00 00"
                              " 2e 00 00 00 01 00 00 00 01 00 00 00"));
    /* only the field that overflows is a marker */
    CHECK(bytes_are(buf + 76, "50 4b 05 06 00 00 00 00 01 00 01 00"
                              " 2f 00 00 00 ff ff ff ff 00 00"));

    /* entry count: 0xfffe fits, 0xffff is the marker */
    many = malloc(0xffff * sizeof(album_zip_entry_t));
    names = malloc(0xffff * 8);

    tiny_entries(many, 0xfffe, names);
    CHECK_INT(album_zip_layout(&ar, many, 0xfffe), ALBUM_ZIP_OK);
    CHECK(!ar.zip64);
    album_zip_cd_init(&cd, &ar, ar.cd_size);
    CHECK_INT(album_zip_cd_write(&cd, buf, sizeof(buf)), 22);
    CHECK(bytes_are(buf, "50 4b 05 06 00 00 00 00 fe ff fe ff"));

    tiny_entries(many, 0xffff, names);
    CHECK_INT(album_zip_layout(&ar, many, 0xffff), ALBUM_ZIP_OK);
    CHECK(ar.zip64);
    CHECK(ar.cd_offset < 0xffffffffULL && ar.cd_size < 0xffffffffULL);
    album_zip_cd_init(&cd, &ar, ar.cd_size);
    CHECK_INT(album_zip_cd_write(&cd, buf, sizeof(buf)), 98);
    CHECK_INT(le64(buf + 24), 0xffff);
    CHECK_INT(le64(buf + 32), 0xffff);
    CHECK_INT(le64(buf + 40), ar.cd_size);
    CHECK_INT(le64(buf + 48), ar.cd_offset);
    CHECK(bytes_are(buf + 76, "50 4b 05 06 00 00 00 00 ff ff ff ff"));
    CHECK_INT(le32(buf + 76 + 12), ar.cd_size);
    CHECK_INT(le32(buf + 76 + 16), ar.cd_offset);

    free(many);
    free(names);
}


UNIT_TEST(test_small_archive)
{
    char                *big;
    size_t               i;
    member_t             m[12];

    big = malloc(200000);

    for (i = 0; i < 200000; i++) {
        big[i] = (char) (i * 7 + i / 256);
    }

    /* data that looks like a descriptor signature must not confuse */
    memcpy(big + 1000, "PK\x07\x08", 4);

    memset(m, 0, sizeof(m));
    m[0] = mem("Day 1/", NULL, 0, 1700000000, 1, 1);
    m[1] = mem("Day 1/IMG_0001.jpg", "hello, world\n", 13,
                        1700000001, 1, 0);
    m[2] = mem("Day 1/empty.txt", "", 0, 1700000002, 0, 0);
    m[3] = mem("Day 1/big.bin", big, 200000, 1700000003, 0, 0);
    m[4] = mem("caf\xc3\xa9 \xe5\x86\x99\xe7\x9c\x9f/", NULL, 0,
                        1700000004, 0, 1);
    m[5] = mem("caf\xc3\xa9 \xe5\x86\x99\xe7\x9c\x9f/"
                        "\xf0\x9f\x93\xb7 1.jpg", "photo", 5, 1700000005,
                        1, 0);
    m[6] = mem("caf\xc3\xa9 \xe5\x86\x99\xe7\x9c\x9f/stream.jpg",
                        "no crc yet", 10, 1700000006, 0, 0);
    m[7] = mem("old.txt", "1970", 4, 0, 1, 0);
    m[8] = mem("future.txt", "2100", 4, 4102444800LL, 0, 0);
    m[9] = mem("x", "y", 1, 1700000009, 1, 0);
    m[10] = mem("big-known.bin", big, 150000, 1700000010, 1, 0);

    full_check("small.zip", m, 11, 1);

    free(big);
}


UNIT_TEST(test_descriptor_archive)
{
    size_t    i;
    member_t  m[20];
    char      names[20][32], data[20][64];

    for (i = 0; i < 20; i++) {
        snprintf(names[i], sizeof(names[i]), "d%zu/file %zu.txt", i % 3, i);
        memset(data[i], 'a' + i, i * 3);

        m[i] = mem(names[i], data[i], i * 3, 1600000000 + i,
                            0, 0);
    }

    full_check("desc.zip", m, 20, 1);
}


UNIT_TEST(test_empty_archive)
{
    size_t               len;
    uint8_t             *whole;
    const char          *path;
    album_zip_entry_t    e[1];
    album_zip_archive_t  ar;

    CHECK_INT(album_zip_layout(&ar, e, 0), ALBUM_ZIP_OK);
    CHECK_INT(ar.total, 22);

    path = tmp_path("empty.zip");
    CHECK_INT(write_zip(path, &ar, NULL), 0);

    whole = read_all(path, &len);
    CHECK_INT(len, 22);

    /*
     * UnZip says "zipfile is empty" with status 1; libarchive's seekable
     * ZIP reader does not bid on an archive without entries (bsdtar
     * reads it with the streaming one), as for any other writer's.
     */
    CHECK(check_libarchive(path, NULL, 0, 1));
    CHECK(check_python(path, NULL, 0));
    CHECK(check_locate(&ar));

    remove_file(path);
    free(whole);
}


static void *
test_alloc(void *ctx, size_t size)
{
    void  **blocks, *p;

    /* ctx: an array of 64 pointers to free at the end */
    blocks = ctx;
    p = malloc(size);

    while (*blocks != NULL) {
        blocks++;
    }

    *blocks = p;

    return p;
}


/* raw names through sanitize and dedup into a real archive */

UNIT_TEST(test_names_pipeline)
{
    char               *clean[8];
    void               *blocks[64];
    size_t              i;
    member_t            m[8];
    album_zip_name_t    names[8];
    album_zip_alloc_t   alloc;

    static const char  *raw[8] = {
        "../../etc/passwd", "C:\\Users\\me\\a.jpg", "Users/me/a.jpg",
        "a\001b\xff.jpg", "/Users/me/a.jpg", "\xc3\xa9t\xc3\xa9/",
        "\xc3\xa9t\xc3\xa9\\x.jpg", "./././"
    };

    memset(blocks, 0, sizeof(blocks));
    alloc.alloc = test_alloc;
    alloc.ctx = blocks;

    for (i = 0; i < 8; i++) {
        clean[i] = malloc(ALBUM_ZIP_NAME_BOUND(strlen(raw[i])));
        names[i].len = album_zip_name_sanitize(clean[i], raw[i],
                                               strlen(raw[i]), i == 5);
        names[i].data = clean[i];
    }

    CHECK_INT(album_zip_names_dedup(names, 8, &alloc, 12345), ALBUM_ZIP_OK);

    for (i = 0; i < 8; i++) {
        m[i] = mem(names[i].data, "z", 1, 1700000000, 1, 0);

        if (i == 5) {
            m[i].data = NULL;
            m[i].size = 0;
            m[i].is_dir = 1;
        }
    }

    CHECK_STR(m[0].name, "etc/passwd");
    CHECK_STR(m[1].name, "Users/me/a.jpg");
    CHECK_STR(m[2].name, "Users/me/a (2).jpg");
    CHECK_STR(m[3].name, "ab_.jpg");
    CHECK_STR(m[4].name, "Users/me/a (3).jpg");
    CHECK_STR(m[5].name, "\xc3\xa9t\xc3\xa9/");
    CHECK_STR(m[6].name, "\xc3\xa9t\xc3\xa9/x.jpg");
    CHECK_STR(m[7].name, "unnamed");

    full_check("names.zip", m, 8, 1);

    for (i = 0; i < 8; i++) {
        free(clean[i]);
    }

    for (i = 0; blocks[i] != NULL; i++) {
        free(blocks[i]);
    }
}


/*
 * stream_crc: a known CRC still goes into a descriptor, so the archive
 * is the same whether the CRC was known in advance or not, and it stays
 * Range-able.
 */

UNIT_TEST(test_stream_crc)
{
    size_t               i, la, lb;
    uint8_t              buf[256], *a, *b;
    member_t             m[4];
    const char          *path;
    album_zip_entry_t    e[1], *ea, *eb;
    album_zip_archive_t  ar;
    album_zip_piece_t    piece;

    memset(e, 0, sizeof(e));
    e[0].name = "a.txt";
    e[0].name_len = 5;
    e[0].size = 5;
    e[0].mtime = 1614834368;
    e[0].crc32 = 0x3610a686;
    e[0].has_crc = 1;
    e[0].stream_crc = 1;

    CHECK_INT(album_zip_layout(&ar, e, 1), ALBUM_ZIP_OK);
    CHECK(ar.determined);
    CHECK(e[0].descriptor);
    CHECK_INT(ar.total, 44 + 5 + 16 + 60 + 22);

    CHECK_INT(album_zip_write_local_header(&e[0], buf), 44);
    CHECK(bytes_are(buf, "50 4b 03 04 14 00 08 00 00 00 c4 28 64 52"
                         " 00 00 00 00 05 00 00 00 05 00 00 00"));

    /* the descriptor comes from the known CRC, no streaming needed */
    CHECK_INT(album_zip_locate(&ar, 49, &piece), ALBUM_ZIP_OK);
    CHECK_INT(piece.kind, ALBUM_ZIP_PIECE_DESCRIPTOR);
    CHECK_INT(album_zip_piece_write(&ar, &piece, buf, sizeof(buf)), 16);
    CHECK(bytes_are(buf, "50 4b 07 08 86 a6 10 36 05 00 00 00 05 00 00 00"));

    /* empty members and directories never get a descriptor */
    e[0].size = 0;
    CHECK_INT(album_zip_layout(&ar, e, 1), ALBUM_ZIP_OK);
    CHECK(!e[0].descriptor && ar.determined);

    m[0] = mem("d/", NULL, 0, 1700000000, 1, 1);
    m[1] = mem("d/a.jpg", "photo bytes", 11, 1700000001, 1, 0);
    m[2] = mem("d/empty", "", 0, 1700000002, 1, 0);
    m[3] = mem("b.jpg", "more", 4, 1700000003, 1, 0);

    for (i = 0; i < 4; i++) {
        m[i].stream_crc = 1;
    }

    full_check("stream.zip", m, 4, 1);

    /* the same bytes as when no CRC was known */
    path = tmp_path("stream.zip");

    ea = make_entries(m, 4);
    CHECK_INT(album_zip_layout(&ar, ea, 4), ALBUM_ZIP_OK);
    CHECK(ar.determined);
    CHECK_INT(write_zip(path, &ar, m), 0);
    a = read_all(path, &la);

    for (i = 0; i < 4; i++) {
        m[i].has_crc = 0;
        m[i].stream_crc = 0;
    }

    eb = make_entries(m, 4);
    CHECK_INT(album_zip_layout(&ar, eb, 4), ALBUM_ZIP_OK);
    CHECK(!ar.determined);
    CHECK_INT(write_zip(path, &ar, m), 0);
    b = read_all(path, &lb);

    CHECK(a != NULL && b != NULL && la == lb && memcmp(a, b, la) == 0);

    remove_file(path);
    free(a);
    free(b);
    free(ea);
    free(eb);
}


static char   *many_names;
static size_t  many_n;


UNIT_TEST(test_zip64_many_entries)
{
    size_t               i;
    member_t            *m;
    static const char    digits[] = "0123456789";

    many_n = 70000;
    m = calloc(many_n, sizeof(member_t));
    many_names = malloc(many_n * 16);

    for (i = 0; i < many_n; i++) {
        sprintf(many_names + 16 * i, "f/%05zu.txt", i);

        m[i].name = many_names + 16 * i;
        m[i].data = digits + i % 10;
        m[i].size = i % 3;
        m[i].mtime = 1700000000 + i;
        m[i].has_crc = (i % 7) != 0;
    }

    /* the CD is checked from every 997th offset, ~5000 starts */
    full_check("many.zip", m, many_n, 997);

    {
        album_zip_entry_t    *e;
        album_zip_archive_t   ar;
        uint8_t               buf[ALBUM_ZIP_END_MAX];
        album_zip_cd_t        cd;

        e = make_entries(m, many_n);
        CHECK_INT(album_zip_layout(&ar, e, many_n), ALBUM_ZIP_OK);
        CHECK(ar.zip64);
        CHECK(ar.cd_offset < 0xffffffffULL);

        album_zip_cd_init(&cd, &ar, ar.cd_size);
        CHECK_INT(album_zip_cd_write(&cd, buf, sizeof(buf)), 98);
        CHECK_INT(le32(buf), 0x06064b50);
        CHECK_INT(le64(buf + 24), 70000);
        CHECK_INT(le64(buf + 32), 70000);
        CHECK_INT(le32(buf + 56), 0x07064b50);
        CHECK_INT(le64(buf + 56 + 8), ar.cd_offset + ar.cd_size);
        CHECK(bytes_are(buf + 76, "50 4b 05 06 00 00 00 00 ff ff ff ff"));
        CHECK_INT(le16(buf + 76 + 10), 0xffff);

        free(e);
    }

    free(m);
    free(many_names);
}


/*
 * Above 4 GiB for real: a sparse file, the big member a hole of zeros.
 * Entry 1 is exactly 0xffffffff bytes (the first size needing ZIP64),
 * without a known CRC (24-byte descriptor); entries 2 and 3 start above
 * 4 GiB (ZIP64 offsets only).
 */

UNIT_TEST(test_zip64_large_file)
{
    int                  fd;
    uint8_t              buf[256];
    uint64_t             off;
    const char          *path;
    member_t             m[4];
    album_zip_entry_t   *e;
    album_zip_archive_t  ar;

    m[0] = mem("small.txt", "hello", 5, 1700000000, 1, 0);
    m[1] = mem("big.bin", NULL, 0xffffffffULL, 1700000001, 0, 0);
    m[1].head = "not only zeros";
    m[1].head_len = 14;
    m[2] = mem("after.txt", "after", 5, 1700000002, 1, 0);
    m[3] = mem("dir/", NULL, 0, 1700000003, 1, 1);

    e = make_entries(m, 4);
    CHECK_INT(album_zip_layout(&ar, e, 4), ALBUM_ZIP_OK);

    CHECK_INT(e[0].offset, 0);
    CHECK_INT(e[1].offset, 48 + 5);
    CHECK_INT(album_zip_local_header_len(&e[1]), 30 + 7 + 20 + 9);
    CHECK_INT(album_zip_data_offset(&e[1]), 53 + 66);
    CHECK_INT(album_zip_descriptor_len(&e[1]), 24);
    CHECK_INT(e[2].offset, 53 + 66 + 0xffffffffULL + 24);
    CHECK(e[1].zip64_size && !e[1].zip64_offset);
    CHECK(!e[2].zip64_size && e[2].zip64_offset);
    CHECK(e[3].zip64_offset);
    CHECK_INT(ar.cd_size, (46 + 9 + 9) + (46 + 7 + 9 + 20) + (46 + 9 + 9 + 28)
                          + (46 + 4 + 9 + 28));
    CHECK(ar.zip64);
    CHECK(!ar.determined);

    path = tmp_path("large.zip");
    CHECK_INT(write_zip(path, &ar, m), 0);

    /* byte checks on the file: local header, descriptor, central */
    fd = open(path, O_RDONLY);

    CHECK_INT(pread(fd, buf, 66, 53), 66);
    CHECK(bytes_are(buf, "50 4b 03 04 2d 00 08 00 00 00"));
    CHECK(bytes_are(buf + 14, "00 00 00 00 ff ff ff ff ff ff ff ff"
                              " 07 00 1d 00 62 69 67 2e 62 69 6e"
                              " 01 00 10 00 ff ff ff ff 00 00 00 00"
                              " ff ff ff ff 00 00 00 00"
                              " 55 54 05 00 01"));

    off = album_zip_data_offset(&e[1]) + 0xffffffffULL;
    CHECK_INT(pread(fd, buf, 24, off), 24);
    CHECK(bytes_are(buf, "50 4b 07 08"));
    CHECK_INT(le32(buf + 4), member_crc(&m[1]));
    CHECK(le32(buf + 4) != 0);      /* 2^32 - 1 zeros alone would give 0 */
    CHECK(bytes_are(buf + 8, "ff ff ff ff 00 00 00 00"
                             " ff ff ff ff 00 00 00 00"));

    CHECK_INT(pread(fd, buf, 48, e[2].offset), 48);
    CHECK(bytes_are(buf, "50 4b 03 04 2d 00 00 00 00 00"));
    CHECK(bytes_are(buf + 18, "05 00 00 00 05 00 00 00 09 00 09 00"));

    off = ar.cd_offset + 64;
    CHECK_INT(pread(fd, buf, 82, off), 82);
    CHECK(bytes_are(buf, "50 4b 01 02 2d 03 2d 00 08 00 00 00"));
    CHECK_INT(le32(buf + 16), member_crc(&m[1]));
    CHECK(bytes_are(buf + 20, "ff ff ff ff ff ff ff ff 07 00 1d 00"
                              " 00 00 00 00 00 00 00 00 a4 81"
                              " 35 00 00 00 62 69 67 2e 62 69 6e"
                              " 01 00 10 00 ff ff ff ff 00 00 00 00"
                              " ff ff ff ff 00 00 00 00 55 54 05 00 01"));

    /* an offset-only overflow: both sizes too, see the format code */
    off += 82;
    CHECK_INT(pread(fd, buf, 92, off), 92);
    CHECK(bytes_are(buf, "50 4b 01 02 2d 03 2d 00 00 00 00 00"));
    CHECK(bytes_are(buf + 20, "ff ff ff ff ff ff ff ff 09 00 25 00"
                              " 00 00 00 00 00 00 00 00 a4 81"
                              " ff ff ff ff 61 66 74 65 72 2e 74 78 74"
                              " 01 00 18 00 05 00 00 00 00 00 00 00"
                              " 05 00 00 00 00 00 00 00"
                              " 8e 00 00 00 01 00 00 00"
                              " 55 54 05 00 01"));

    off += 92;
    CHECK_INT(pread(fd, buf, 87, off), 87);
    CHECK(bytes_are(buf, "50 4b 01 02 2d 03 2d 00 00 00 00 00"));
    CHECK(bytes_are(buf + 20, "ff ff ff ff ff ff ff ff 04 00 25 00"));
    CHECK(bytes_are(buf + 36, "00 00 10 00 ed 41 ff ff ff ff 64 69 72 2f"
                              " 01 00 18 00 00 00 00 00 00 00 00 00"
                              " 00 00 00 00 00 00 00 00"));
    CHECK_INT(le64(buf + 50 + 20), e[3].offset);

    off += 87;
    CHECK_INT(off, ar.cd_offset + ar.cd_size);
    CHECK_INT(pread(fd, buf, 98, off), 98);
    CHECK(bytes_are(buf, "50 4b 06 06 2c 00 00 00 00 00 00 00 2d 03 2d 00"
                         " 00 00 00 00 00 00 00 00"
                         " 04 00 00 00 00 00 00 00 04 00 00 00 00 00 00 00"
                         " 45 01 00 00 00 00 00 00"));
    CHECK_INT(le64(buf + 48), ar.cd_offset);
    CHECK(bytes_are(buf + 56, "50 4b 06 07 00 00 00 00"));
    CHECK_INT(le64(buf + 64), off);
    CHECK(bytes_are(buf + 72, "01 00 00 00"));
    CHECK(bytes_are(buf + 76, "50 4b 05 06 00 00 00 00 04 00 04 00"
                              " 45 01 00 00 ff ff ff ff 00 00"));

    close(fd);

    CHECK(check_locate(&ar));

    CHECK(check_libarchive(path, m, 4, 0));
    CHECK(check_libarchive(path, m, 4, 1));
    CHECK(check_unzip(path, "small.txt after.txt dir/"));
    CHECK(check_python(path, m, 4));

    remove_file(path);
    free(e);
}


UNIT_TEST(test_crc32)
{
    uint32_t  crc;

    CHECK_INT(album_zip_crc32(0, "", 0), 0);
    CHECK_INT(album_zip_crc32(0, "123456789", 9), 0xcbf43926);

    crc = album_zip_crc32(0, "1234", 4);
    CHECK_INT(album_zip_crc32(crc, "56789", 5), 0xcbf43926);
}


UNIT_TEST(test_cleanup)
{
    if (tmpdir[0] != '\0' && getenv("ALBUM_ZIP_TEST_KEEP") == NULL) {
        CHECK_INT(rmdir(tmpdir), 0);
    }
}


UNIT_MAIN(test_header_bytes, test_dos_time, test_no_mtime, test_layout_errors,
          test_zip64_boundaries, test_crc32, test_small_archive,
          test_descriptor_archive, test_stream_crc, test_empty_archive,
          test_names_pipeline, test_zip64_many_entries,
          test_zip64_large_file, test_cleanup)
