
/*
 * Archive uploads: entries read with libarchive, classified, limited and
 * reported (see the header).
 */


#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <archive.h>
#include <archive_entry.h>

#include "image_ingest_archive.h"


typedef struct {
    char                           *p;
    size_t                          len;
    size_t                          cap;
    int                             failed;     /* out of memory once */
} image_ingest_archive_buf_t;


struct image_ingest_archive_s {
    struct archive                 *ar;
    image_ingest_archive_read_pt    read;
    void                           *data;
    uint64_t                        size;
    uint64_t                        pos;
    uint64_t                        delivered;  /* input read, in total */
    unsigned char                  *block;

    unsigned char                  *entry;      /* one entry's bytes */
    size_t                          entry_cap;

    image_ingest_archive_limits_t   limits;
    image_ingest_archive_counts_t   counts;
    image_ingest_archive_buf_t      results;
    image_ingest_archive_buf_t      batch;
    uint64_t                        nbatch;

    int                             stopped;
    int                             ended;
    char                            error[256];
};


static la_ssize_t image_ingest_archive_cb_read(struct archive *ar,
    void *data, const void **buf);
static la_int64_t image_ingest_archive_cb_skip(struct archive *ar,
    void *data, la_int64_t request);
static la_int64_t image_ingest_archive_cb_seek(struct archive *ar,
    void *data, la_int64_t offset, int whence);
static const char *image_ingest_archive_describe(struct archive_entry *ae,
    image_ingest_archive_entry_t *e);
static int image_ingest_archive_classify(struct archive_entry *ae,
    const char *name, image_ingest_archive_entry_t *e);
static int image_ingest_archive_read_entry(image_ingest_archive_t *a,
    struct archive_entry *ae, image_ingest_archive_entry_t *e);
static int image_ingest_archive_first(image_ingest_archive_t *a,
    image_ingest_archive_entry_t *e, size_t n);
static int image_ingest_archive_grow(image_ingest_archive_t *a,
    image_ingest_archive_entry_t *e, la_int64_t size);
static int image_ingest_archive_drain(image_ingest_archive_t *a,
    image_ingest_archive_entry_t *e, struct archive_entry *ae,
    uint64_t produced, uint64_t start);
static int image_ingest_archive_check(image_ingest_archive_t *a,
    image_ingest_archive_entry_t *e, uint64_t produced, uint64_t start,
    uint64_t more);
static void image_ingest_archive_stop(image_ingest_archive_t *a,
    const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static void image_ingest_archive_put(image_ingest_archive_buf_t *b,
    const char *s, size_t n);
static void image_ingest_archive_puts(image_ingest_archive_buf_t *b,
    const char *s);
static void image_ingest_archive_put_string(image_ingest_archive_buf_t *b,
    const char *s, size_t n);


/* ------------------------------------------------------------------------
 * content, names
 */


image_ingest_archive_sniff_e
image_ingest_archive_sniff(const void *data, size_t len)
{
    const unsigned char  *p = data;

    /* archives and the compressions libarchive is asked to read */

    if (len >= 4 && p[0] == 'P' && p[1] == 'K'
        && ((p[2] == 3 && p[3] == 4) || (p[2] == 5 && p[3] == 6)
            || (p[2] == 7 && p[3] == 8)))
    {
        return IMAGE_INGEST_ARCHIVE_SNIFF_ARCHIVE;
    }

    if (len >= 6 && memcmp(p, "7z\xbc\xaf\x27\x1c", 6) == 0) {
        return IMAGE_INGEST_ARCHIVE_SNIFF_ARCHIVE;
    }

    if (len >= 3 && p[0] == 0x1f && p[1] == 0x8b && p[2] == 8) {
        return IMAGE_INGEST_ARCHIVE_SNIFF_ARCHIVE;
    }

    if (len >= 4 && p[0] == 'B' && p[1] == 'Z' && p[2] == 'h'
        && p[3] >= '1' && p[3] <= '9')
    {
        return IMAGE_INGEST_ARCHIVE_SNIFF_ARCHIVE;
    }

    if (len >= 6 && memcmp(p, "\xfd" "7zXZ\0", 6) == 0) {
        return IMAGE_INGEST_ARCHIVE_SNIFF_ARCHIVE;
    }

    /* POSIX ustar and GNU tar: "ustar" at 257 */
    if (len >= 262 && memcmp(p + 257, "ustar", 5) == 0) {
        return IMAGE_INGEST_ARCHIVE_SNIFF_ARCHIVE;
    }

    /* the formats the upload's loaders may take */

    if (len >= 3 && p[0] == 0xff && p[1] == 0xd8 && p[2] == 0xff) {
        return IMAGE_INGEST_ARCHIVE_SNIFF_IMAGE;                 /* JPEG */
    }

    if (len >= 8 && memcmp(p, "\x89PNG\r\n\x1a\n", 8) == 0) {
        return IMAGE_INGEST_ARCHIVE_SNIFF_IMAGE;
    }

    if (len >= 6
        && (memcmp(p, "GIF87a", 6) == 0 || memcmp(p, "GIF89a", 6) == 0))
    {
        return IMAGE_INGEST_ARCHIVE_SNIFF_IMAGE;
    }

    if (len >= 12 && memcmp(p, "RIFF", 4) == 0
        && memcmp(p + 8, "WEBP", 4) == 0)
    {
        return IMAGE_INGEST_ARCHIVE_SNIFF_IMAGE;
    }

    if (len >= 12 && memcmp(p + 4, "ftyp", 4) == 0) {
        return IMAGE_INGEST_ARCHIVE_SNIFF_IMAGE;           /* AVIF, HEIC */
    }

    if (len >= 4
        && (memcmp(p, "II*\0", 4) == 0 || memcmp(p, "MM\0*", 4) == 0))
    {
        return IMAGE_INGEST_ARCHIVE_SNIFF_IMAGE;                 /* TIFF */
    }

    return IMAGE_INGEST_ARCHIVE_SNIFF_OTHER;
}


/* the length of a valid UTF-8 sequence at p (at most n bytes), or 0 */

static size_t
image_ingest_archive_utf8(const unsigned char *p, size_t n, uint32_t *cp)
{
    size_t    len, i;
    uint32_t  c, min;

    if (p[0] < 0x80) {
        *cp = p[0];
        return 1;
    }

    if ((p[0] & 0xe0) == 0xc0) {
        len = 2; c = p[0] & 0x1f; min = 0x80;

    } else if ((p[0] & 0xf0) == 0xe0) {
        len = 3; c = p[0] & 0x0f; min = 0x800;

    } else if ((p[0] & 0xf8) == 0xf0) {
        len = 4; c = p[0] & 0x07; min = 0x10000;

    } else {
        return 0;
    }

    if (len > n) {
        return 0;
    }

    for (i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80) {
            return 0;
        }

        c = (c << 6) | (p[i] & 0x3f);
    }

    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) {
        return 0;
    }

    *cp = c;

    return len;
}


size_t
image_ingest_archive_name(const char *in, size_t len, char *out)
{
    size_t                n, k, w;
    uint32_t              cp;
    const char           *put;
    const unsigned char  *p;

    p = (const unsigned char *) in;
    w = 0;

    for (n = 0; n < len; n += k) {
        k = image_ingest_archive_utf8(p + n, len - n, &cp);

        if (k == 0 || cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0)) {
            /* U+FFFD in place of a byte that is not UTF-8, or a control */
            put = "\xef\xbf\xbd";
            k = (k == 0) ? 1 : k;

            if (w + 3 > IMAGE_INGEST_ARCHIVE_NAME_MAX) {
                goto cut;
            }

            memcpy(out + w, put, 3);
            w += 3;
            continue;
        }

        if (w + k > IMAGE_INGEST_ARCHIVE_NAME_MAX) {
            goto cut;
        }

        memcpy(out + w, p + n, k);
        w += k;
    }

    out[w] = '\0';

    return w;

cut:

    memcpy(out + w, "...", 4);

    return w + 3;
}


static const char *
image_ingest_archive_base(const char *name)
{
    const char  *s;

    s = strrchr(name, '/');

    return s ? s + 1 : name;
}


const char *
image_ingest_archive_junk(const char *name)
{
    const char  *base;

    if (strncmp(name, "__MACOSX/", 9) == 0 || strstr(name, "/__MACOSX/")) {
        return "system file";
    }

    base = image_ingest_archive_base(name);

    if (strcmp(base, ".DS_Store") == 0 || strcasecmp(base, "Thumbs.db") == 0
        || strcasecmp(base, "desktop.ini") == 0
        || strncmp(base, "._", 2) == 0)
    {
        return "system file";
    }

    return NULL;
}


int
image_ingest_archive_nested_name(const char *name)
{
    size_t        i, n, len;
    const char   *base;

    static const char  *exts[] = {
        ".zip", ".tar", ".tgz", ".tbz", ".tbz2", ".txz", ".gz", ".bz2",
        ".xz", ".7z", ".rar", ".zst", ".lz", ".lzma", ".cpio", ".iso",
        NULL
    };

    base = image_ingest_archive_base(name);
    len = strlen(base);

    for (i = 0; exts[i]; i++) {
        n = strlen(exts[i]);

        if (len > n && strcasecmp(base + len - n, exts[i]) == 0) {
            return 1;
        }
    }

    return 0;
}


/* ------------------------------------------------------------------------
 * the body, through the caller's reader, a block at a time
 */


static la_ssize_t
image_ingest_archive_cb_read(struct archive *ar, void *data,
    const void **buf)
{
    image_ingest_archive_t *a = data;

    size_t   n;
    ssize_t  got;

    if (a->pos >= a->size) {
        return 0;
    }

    n = IMAGE_INGEST_ARCHIVE_BLOCK;

    if (a->size - a->pos < n) {
        n = (size_t) (a->size - a->pos);
    }

    got = a->read(a->data, a->block, n, a->pos);

    if (got < 0) {
        archive_set_error(ar, EIO, "reading the body failed");
        return -1;
    }

    a->pos += (uint64_t) got;
    a->delivered += (uint64_t) got;
    *buf = a->block;

    return got;
}


static la_int64_t
image_ingest_archive_cb_skip(struct archive *ar, void *data,
    la_int64_t request)
{
    image_ingest_archive_t *a = data;

    uint64_t  n;

    (void) ar;

    if (request <= 0) {
        return 0;
    }

    n = a->size - a->pos;

    if ((uint64_t) request < n) {
        n = (uint64_t) request;
    }

    a->pos += n;

    return (la_int64_t) n;
}


static la_int64_t
image_ingest_archive_cb_seek(struct archive *ar, void *data,
    la_int64_t offset, int whence)
{
    image_ingest_archive_t *a = data;

    la_int64_t  to;

    switch (whence) {
    case SEEK_SET:
        to = offset;
        break;
    case SEEK_CUR:
        to = (la_int64_t) a->pos + offset;
        break;
    case SEEK_END:
        to = (la_int64_t) a->size + offset;
        break;
    default:
        return ARCHIVE_FATAL;
    }

    if (to < 0) {
        archive_set_error(ar, EINVAL, "seek before the start of the body");
        return ARCHIVE_FATAL;
    }

    if ((uint64_t) to > a->size) {
        to = (la_int64_t) a->size;
    }

    a->pos = (uint64_t) to;

    return to;
}


image_ingest_archive_t *
image_ingest_archive_open(image_ingest_archive_read_pt read, void *data,
    uint64_t size, const image_ingest_archive_limits_t *limits, char *err,
    size_t err_len)
{
    image_ingest_archive_t  *a;

    a = calloc(1, sizeof(image_ingest_archive_t));
    if (a == NULL) {
        snprintf(err, err_len, "out of memory");
        return NULL;
    }

    a->read = read;
    a->data = data;
    a->size = size;
    a->limits = *limits;

    a->block = malloc(IMAGE_INGEST_ARCHIVE_BLOCK);
    a->ar = archive_read_new();

    if (a->block == NULL || a->ar == NULL) {
        snprintf(err, err_len, "out of memory");
        goto failed;
    }

    /* only what an album can be: no raw, rar, cpio, iso, ... */

    if (archive_read_support_format_zip(a->ar) != ARCHIVE_OK
        || archive_read_support_format_tar(a->ar) != ARCHIVE_OK
        || archive_read_support_format_7zip(a->ar) != ARCHIVE_OK
        || archive_read_support_filter_gzip(a->ar) < ARCHIVE_WARN
        || archive_read_support_filter_bzip2(a->ar) < ARCHIVE_WARN
        || archive_read_support_filter_xz(a->ar) < ARCHIVE_WARN)
    {
        snprintf(err, err_len, "libarchive: %s",
                 archive_error_string(a->ar) ? archive_error_string(a->ar)
                                             : "no support");
        goto failed;
    }

    archive_read_set_read_callback(a->ar, image_ingest_archive_cb_read);
    archive_read_set_skip_callback(a->ar, image_ingest_archive_cb_skip);
    archive_read_set_seek_callback(a->ar, image_ingest_archive_cb_seek);
    archive_read_set_callback_data(a->ar, a);

    if (archive_read_open1(a->ar) != ARCHIVE_OK) {
        snprintf(err, err_len, "not a readable archive: %s",
                 archive_error_string(a->ar) ? archive_error_string(a->ar)
                                             : "unknown format");
        goto failed;
    }

    return a;

failed:

    image_ingest_archive_close(a);

    return NULL;
}


/* ------------------------------------------------------------------------
 * entries
 */


int
image_ingest_archive_next(image_ingest_archive_t *a,
    image_ingest_archive_entry_t *e)
{
    int                    rc;
    const char            *name;
    struct archive_entry  *ae;

    if (a->stopped) {
        return IMAGE_INGEST_ARCHIVE_STOP;
    }

    if (a->ended) {
        return IMAGE_INGEST_ARCHIVE_END;
    }

    memset(e, 0, sizeof(image_ingest_archive_entry_t));

    rc = archive_read_next_header(a->ar, &ae);

    if (rc == ARCHIVE_EOF) {
        a->ended = 1;
        return IMAGE_INGEST_ARCHIVE_END;
    }

    if (rc < ARCHIVE_WARN) {
        image_ingest_archive_stop(a, "archive: corrupt or truncated after "
                                  "%llu entries: %s",
                                  (unsigned long long) a->counts.entries,
                                  archive_error_string(a->ar)
                                  ? archive_error_string(a->ar) : "error");
        return IMAGE_INGEST_ARCHIVE_STOP;
    }

    if (++a->counts.entries > a->limits.max_entries) {
        a->counts.entries--;
        image_ingest_archive_stop(a, "archive: more than "
                                  "image_ingest_archive_max_entries (%llu) "
                                  "entries",
                                  (unsigned long long) a->limits.max_entries);
        return IMAGE_INGEST_ARCHIVE_STOP;
    }

    name = image_ingest_archive_describe(ae, e);

    switch (image_ingest_archive_classify(ae, name, e)) {

    case 0:
        /* not a regular file: nothing to read or count */
        return IMAGE_INGEST_ARCHIVE_ENTRY;

    case 1:
        return image_ingest_archive_read_entry(a, ae, e);

    default:
        /*
         * Not read: libarchive skips the data when the next header is
         * read, which decompresses it unless the format can seek past it;
         * counted by the size the archive declares, or read and counted.
         */
        return image_ingest_archive_drain(a, e, ae, 0, a->delivered);
    }
}


/* the entry's name (sanitised into e) and mtime; the raw name */

static const char *
image_ingest_archive_describe(struct archive_entry *ae,
    image_ingest_archive_entry_t *e)
{
    time_t       t;
    struct tm    tm;
    const char  *name;

    /* the name: metadata only, never a path */

    name = archive_entry_pathname_utf8(ae);
    if (name == NULL) {
        name = archive_entry_pathname(ae);
    }

    if (name == NULL) {
        name = "";
    }

    (void) image_ingest_archive_name(name, strlen(name), e->name);

    if (archive_entry_mtime_is_set(ae)) {
        t = archive_entry_mtime(ae);

        if (gmtime_r(&t, &tm) == NULL
            || strftime(e->mtime, sizeof(e->mtime), "%Y-%m-%dT%H:%M:%SZ",
                        &tm) == 0)
        {
            e->mtime[0] = '\0';
        }
    }

    return name;
}


/*
 * What an entry is, before its data: 1, a regular file to read; 0, not a
 * regular file (skipped, no data); 2, a regular file skipped or refused
 * unread (e->cls and e->reason set).
 */

static int
image_ingest_archive_classify(struct archive_entry *ae, const char *name,
    image_ingest_archive_entry_t *e)
{
    const char  *why;

    e->cls = IMAGE_INGEST_ARCHIVE_SKIPPED;

    if (archive_entry_hardlink(ae)) {
        e->reason = "hard link";
        return 0;
    }

    switch (archive_entry_filetype(ae)) {
    case AE_IFREG:
        break;
    case AE_IFDIR:
        e->reason = "directory";
        return 0;
    case AE_IFLNK:
        e->reason = "symbolic link";
        return 0;
    default:
        e->reason = "device or special file";
        return 0;
    }

    why = image_ingest_archive_junk(name);

    if (why) {
        e->reason = why;

    } else if (archive_entry_size_is_set(ae)
               && archive_entry_size(ae) == 0)
    {
        e->reason = "empty";

    } else if (archive_entry_is_encrypted(ae)) {
        e->cls = IMAGE_INGEST_ARCHIVE_REFUSED;
        e->reason = "encrypted";

    } else if (image_ingest_archive_nested_name(name)) {
        e->cls = IMAGE_INGEST_ARCHIVE_REFUSED;
        e->reason = "nested archive: not opened";

    } else {
        return 1;
    }

    return 2;
}


/*
 * A regular entry: its first block says whether it is an image; an image
 * is read whole, at most max_entry bytes, with the ratio and total
 * checked as it is decompressed.
 */

static int
image_ingest_archive_read_entry(image_ingest_archive_t *a,
    struct archive_entry *ae, image_ingest_archive_entry_t *e)
{
    size_t          want;
    uint64_t        start;
    la_ssize_t      n;
    la_int64_t      size;

    start = a->delivered;
    size = archive_entry_size_is_set(ae) ? archive_entry_size(ae) : -1;

    if (size > 0 && (uint64_t) size > a->limits.max_entry) {
        e->cls = IMAGE_INGEST_ARCHIVE_REFUSED;
        e->reason = "larger than image_ingest_max_size";

        if (image_ingest_archive_check(a, e, 0, start, (uint64_t) size)
            == 0)
        {
            a->counts.bytes += (uint64_t) size;
        }

        return IMAGE_INGEST_ARCHIVE_ENTRY;
    }

    e->len = 0;

    for ( ;; ) {
        /* a block at a time, up to one byte past the limit */

        if (e->len == a->entry_cap) {
            if (a->entry_cap > a->limits.max_entry) {
                break;
            }

            if (image_ingest_archive_grow(a, e, size) != 0) {
                return IMAGE_INGEST_ARCHIVE_ENTRY;
            }
        }

        want = a->entry_cap - e->len;

        if (want > IMAGE_INGEST_ARCHIVE_BLOCK) {
            want = IMAGE_INGEST_ARCHIVE_BLOCK;
        }

        n = archive_read_data(a->ar, a->entry + e->len, want);

        if (n < 0) {
            e->cls = IMAGE_INGEST_ARCHIVE_REFUSED;
            e->reason = "corrupt or truncated";
            image_ingest_archive_stop(a, "archive: corrupt or truncated "
                                      "at entry %llu: %s",
                                      (unsigned long long) a->counts.entries,
                                      archive_error_string(a->ar)
                                      ? archive_error_string(a->ar)
                                      : "error");
            return IMAGE_INGEST_ARCHIVE_ENTRY;
        }

        if (n == 0) {
            break;
        }

        if (image_ingest_archive_check(a, e, e->len + n, start, 0) != 0) {
            return IMAGE_INGEST_ARCHIVE_ENTRY;
        }

        if (e->len == 0 && !image_ingest_archive_first(a, e, (size_t) n)) {
            /* decided by the first bytes: the rest is not read */
            return image_ingest_archive_drain(a, e, ae, (uint64_t) n, start);
        }

        e->len += (size_t) n;
    }

    if (e->len > a->limits.max_entry) {
        e->cls = IMAGE_INGEST_ARCHIVE_REFUSED;
        e->reason = "larger than image_ingest_max_size";
        a->counts.bytes += e->len;
        e->len = 0;

        return image_ingest_archive_drain(a, e, ae, 0, start);
    }

    a->counts.bytes += e->len;

    if (e->len == 0) {
        e->cls = IMAGE_INGEST_ARCHIVE_SKIPPED;
        e->reason = "empty";
        return IMAGE_INGEST_ARCHIVE_ENTRY;
    }

    e->cls = IMAGE_INGEST_ARCHIVE_IMAGE;
    e->data = a->entry;

    return IMAGE_INGEST_ARCHIVE_ENTRY;
}


/* 1 when an entry's first block is an image's, else e->reason set */

static int
image_ingest_archive_first(image_ingest_archive_t *a,
    image_ingest_archive_entry_t *e, size_t n)
{
    switch (image_ingest_archive_sniff(a->entry, n)) {

    case IMAGE_INGEST_ARCHIVE_SNIFF_IMAGE:
        return 1;

    case IMAGE_INGEST_ARCHIVE_SNIFF_ARCHIVE:
        e->cls = IMAGE_INGEST_ARCHIVE_REFUSED;
        e->reason = "nested archive: not opened";
        return 0;

    default:
        e->cls = IMAGE_INGEST_ARCHIVE_SKIPPED;
        e->reason = "not an image";
        return 0;
    }
}


/*
 * The entry's buffer, larger: doubled from 256 KB, or the declared size
 * (and a byte, to see the end) at once; never past max_entry + 1.
 */

static int
image_ingest_archive_grow(image_ingest_archive_t *a,
    image_ingest_archive_entry_t *e, la_int64_t size)
{
    size_t          cap;
    unsigned char  *p;

    cap = a->entry_cap ? a->entry_cap * 2 : 256 * 1024;

    if (size > 0 && (uint64_t) size + 1 > cap) {
        cap = (size_t) size + 1;
    }

    if (cap > a->limits.max_entry + 1) {
        cap = (size_t) a->limits.max_entry + 1;
    }

    p = realloc(a->entry, cap);
    if (p == NULL) {
        image_ingest_archive_stop(a, "out of memory");
        e->cls = IMAGE_INGEST_ARCHIVE_REFUSED;
        e->reason = "out of memory";
        e->len = 0;
        return -1;
    }

    a->entry = p;
    a->entry_cap = cap;

    return 0;
}


/*
 * The rest of an entry that is not kept: its declared size counted when
 * the archive declares one (libarchive skips it), else read into the
 * block and dropped, with the checks.  produced: what was read of it
 * already and is not counted yet.
 */

static int
image_ingest_archive_drain(image_ingest_archive_t *a,
    image_ingest_archive_entry_t *e, struct archive_entry *ae,
    uint64_t produced, uint64_t start)
{
    int          rc;
    size_t       len;
    la_int64_t   size, off;
    const void  *buf;

    size = archive_entry_size_is_set(ae) ? archive_entry_size(ae) : -1;

    if (size >= 0 && (uint64_t) size >= produced) {
        if (image_ingest_archive_check(a, e, produced, start,
                                       (uint64_t) size - produced)
            == 0)
        {
            a->counts.bytes += (uint64_t) size;
        }

        return IMAGE_INGEST_ARCHIVE_ENTRY;
    }

    for ( ;; ) {
        rc = archive_read_data_block(a->ar, &buf, &len, &off);

        if (rc == ARCHIVE_EOF) {
            break;
        }

        if (rc < ARCHIVE_WARN) {
            if (e->cls != IMAGE_INGEST_ARCHIVE_REFUSED) {
                e->cls = IMAGE_INGEST_ARCHIVE_REFUSED;
                e->reason = "corrupt or truncated";
            }

            image_ingest_archive_stop(a, "archive: corrupt or truncated "
                                      "at entry %llu: %s",
                                      (unsigned long long) a->counts.entries,
                                      archive_error_string(a->ar)
                                      ? archive_error_string(a->ar)
                                      : "error");
            return IMAGE_INGEST_ARCHIVE_ENTRY;
        }

        produced += len;

        if (image_ingest_archive_check(a, e, produced, start, 0) != 0) {
            return IMAGE_INGEST_ARCHIVE_ENTRY;
        }
    }

    a->counts.bytes += produced;

    return IMAGE_INGEST_ARCHIVE_ENTRY;
}


/*
 * 0, or the entry refused and the archive stopped: the total would pass
 * max_bytes (what was produced, and more still to come), or the entry
 * decompressed to more than max_ratio times the input it took (within a
 * block: each block of input allows max_ratio blocks out), a bomb.
 */

static int
image_ingest_archive_check(image_ingest_archive_t *a,
    image_ingest_archive_entry_t *e, uint64_t produced, uint64_t start,
    uint64_t more)
{
    uint64_t  input, allowed;

    if (a->counts.bytes + produced + more > a->limits.max_bytes
        || a->counts.bytes + produced + more < a->counts.bytes)
    {
        e->cls = IMAGE_INGEST_ARCHIVE_REFUSED;
        e->reason = "image_ingest_archive_max_bytes reached";
        e->len = 0;
        image_ingest_archive_stop(a, "archive: more than "
                                  "image_ingest_archive_max_bytes (%llu) "
                                  "uncompressed",
                                  (unsigned long long) a->limits.max_bytes);
        return -1;
    }

    if (produced <= IMAGE_INGEST_ARCHIVE_RATIO_MIN) {
        return 0;
    }

    input = a->delivered - start + IMAGE_INGEST_ARCHIVE_BLOCK;
    allowed = input * a->limits.max_ratio;

    if (a->limits.max_ratio && allowed / a->limits.max_ratio == input
        && produced > allowed)
    {
        e->cls = IMAGE_INGEST_ARCHIVE_REFUSED;
        e->reason = "compression ratio above "
                    "image_ingest_archive_max_ratio";
        e->len = 0;
        image_ingest_archive_stop(a, "archive: a compression bomb at entry "
                                  "%llu (more than %llu:1), not read "
                                  "further",
                                  (unsigned long long) a->counts.entries,
                                  (unsigned long long) a->limits.max_ratio);
        return -1;
    }

    return 0;
}


static void
image_ingest_archive_stop(image_ingest_archive_t *a, const char *fmt, ...)
{
    va_list  args;

    if (a->stopped) {
        return;
    }

    a->stopped = 1;

    va_start(args, fmt);
    vsnprintf(a->error, sizeof(a->error), fmt, args);
    va_end(args);
}


void
image_ingest_archive_abort(image_ingest_archive_t *a, const char *why)
{
    image_ingest_archive_stop(a, "%s", why);
}


const char *
image_ingest_archive_error(image_ingest_archive_t *a)
{
    return a->stopped ? a->error : NULL;
}


const image_ingest_archive_counts_t *
image_ingest_archive_counts(image_ingest_archive_t *a)
{
    return &a->counts;
}


/* ------------------------------------------------------------------------
 * results
 */


int
image_ingest_archive_result(image_ingest_archive_t *a,
    const image_ingest_archive_entry_t *e, const char *status,
    const image_ingest_info_t *info, const char *reason)
{
    char                        *json;
    size_t                       len;
    image_ingest_archive_buf_t  *b;

    b = &a->results;

    image_ingest_archive_puts(b, b->len ? ", {\"name\": " : "{\"name\": ");
    image_ingest_archive_put_string(b, e->name, strlen(e->name));
    image_ingest_archive_puts(b, ", \"status\": ");
    image_ingest_archive_put_string(b, status, strlen(status));

    if (info) {
        /* the single upload's answer, its members after the name */

        len = image_ingest_json_response(info, NULL, 0);

        json = malloc(len);
        if (json == NULL) {
            b->failed = 1;
            return -1;
        }

        (void) image_ingest_json_response(info, json, len);

        image_ingest_archive_puts(b, ", ");
        image_ingest_archive_put(b, json + 1, len - 1);
        free(json);

    } else {
        if (reason) {
            image_ingest_archive_puts(b, ", \"reason\": ");
            image_ingest_archive_put_string(b, reason, strlen(reason));
        }

        image_ingest_archive_puts(b, "}");
    }

    if (strcmp(status, "stored") == 0) {
        a->counts.stored++;

    } else if (strcmp(status, "duplicate") == 0) {
        a->counts.duplicates++;

    } else if (strcmp(status, "skipped") == 0) {
        a->counts.skipped++;

    } else {
        a->counts.refused++;
    }

    return b->failed ? -1 : 0;
}


char *
image_ingest_archive_json(image_ingest_archive_t *a, size_t *len)
{
    char                        num[160];
    image_ingest_archive_buf_t  b;

    memset(&b, 0, sizeof(b));

    image_ingest_archive_puts(&b, "{\"entries\": [");

    if (a->results.len) {
        image_ingest_archive_put(&b, a->results.p, a->results.len);
    }

    snprintf(num, sizeof(num), "], \"stored\": %llu, \"duplicates\": %llu, "
             "\"skipped\": %llu, \"refused\": %llu",
             (unsigned long long) a->counts.stored,
             (unsigned long long) a->counts.duplicates,
             (unsigned long long) a->counts.skipped,
             (unsigned long long) a->counts.refused);

    image_ingest_archive_puts(&b, num);

    if (a->stopped) {
        image_ingest_archive_puts(&b, ", \"error\": ");
        image_ingest_archive_put_string(&b, a->error, strlen(a->error));
    }

    image_ingest_archive_puts(&b, "}\n");

    if (b.failed || a->results.failed) {
        free(b.p);
        return NULL;
    }

    *len = b.len;

    return b.p;
}


int
image_ingest_archive_batch_add(image_ingest_archive_t *a, const char *json,
    size_t len)
{
    image_ingest_archive_puts(&a->batch, a->nbatch ? ", " : "");
    image_ingest_archive_put(&a->batch, json, len);
    a->nbatch++;

    return a->batch.failed ? -1 : 0;
}


char *
image_ingest_archive_batch_json(image_ingest_archive_t *a, size_t *len)
{
    char                        num[64];
    image_ingest_archive_buf_t  b;

    memset(&b, 0, sizeof(b));

    image_ingest_archive_puts(&b, "{\"archive\": true, \"images\": [");

    if (a->batch.len) {
        image_ingest_archive_put(&b, a->batch.p, a->batch.len);
    }

    snprintf(num, sizeof(num), "], \"stored\": %llu}",
             (unsigned long long) a->nbatch);
    image_ingest_archive_puts(&b, num);

    if (b.failed || a->batch.failed) {
        free(b.p);
        return NULL;
    }

    *len = b.len;

    return b.p;
}


void
image_ingest_archive_close(image_ingest_archive_t *a)
{
    if (a == NULL) {
        return;
    }

    if (a->ar) {
        archive_read_free(a->ar);
    }

    free(a->block);
    free(a->entry);
    free(a->results.p);
    free(a->batch.p);
    free(a);
}


/* ------------------------------------------------------------------------
 * a growing buffer: a failed allocation is remembered, later writes drop
 */


static void
image_ingest_archive_put(image_ingest_archive_buf_t *b, const char *s,
    size_t n)
{
    char    *p;
    size_t   cap;

    if (b->failed) {
        return;
    }

    if (b->len + n + 1 > b->cap) {
        cap = b->cap ? b->cap : 1024;

        while (cap < b->len + n + 1) {
            cap *= 2;
        }

        p = realloc(b->p, cap);
        if (p == NULL) {
            b->failed = 1;
            return;
        }

        b->p = p;
        b->cap = cap;
    }

    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}


static void
image_ingest_archive_puts(image_ingest_archive_buf_t *b, const char *s)
{
    image_ingest_archive_put(b, s, strlen(s));
}


static void
image_ingest_archive_put_string(image_ingest_archive_buf_t *b,
    const char *s, size_t n)
{
    char    *p;
    size_t   len;

    len = image_ingest_json_string(s, n, NULL, 0);

    p = malloc(len);
    if (p == NULL) {
        b->failed = 1;
        return;
    }

    (void) image_ingest_json_string(s, n, p, len);
    image_ingest_archive_put(b, p, len);
    free(p);
}
