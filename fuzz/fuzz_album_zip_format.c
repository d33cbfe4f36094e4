
/*
 * libFuzzer target for album_zip_format.c: build an entry table from
 * the input, lay it out, produce the archive, and read it back with an
 * independent reader that follows APPNOTE (ZIP64 markers and extra
 * fields, descriptors); small archives also go through libarchive.
 *
 * Archives up to 1 MiB are produced in memory, sequentially and through
 * the Range path (locate + piece_write) in fuzzer-chosen chunks, and must
 * be identical.  Larger ones (sizes up to 2^62, ZIP64 by size and by
 * offset) are read through a virtual view: member data is a pattern,
 * every other byte comes from piece_write.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Isrc/album_zip/core \
 *       fuzz/fuzz_album_zip_format.c src/album_zip/core/album_zip_format.c \
 *       src/album_zip/core/album_zip_names.c -ldeflate -larchive
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <locale.h>

#include <archive.h>
#include <archive_entry.h>

#include "album_zip_format.h"
#include "album_zip_names.h"


#define MAX_ENTRIES  40
#define MAX_MEMORY   (1 << 20)


#define fail(what)                                                            \
    do {                                                                      \
        fprintf(stderr, "broken: %s\n", what);                                \
        abort();                                                              \
    } while (0)


typedef struct {
    const unsigned char  *p;
    size_t                left;
} input_t;


static unsigned
take(input_t *in, unsigned bytes)
{
    unsigned  v;

    v = 0;

    while (bytes-- > 0) {
        v <<= 8;

        if (in->left > 0) {
            v |= *in->p++;
            in->left--;
        }
    }

    return v;
}


typedef struct {
    album_zip_archive_t  *ar;
    const uint8_t        *mem;      /* the whole archive, or NULL */
} view_t;


static uint8_t
pattern(size_t i, uint64_t k)
{
    return (uint8_t) (i * 31 + k * 7 + (k >> 9));
}


/* archive bytes [off, off + len): from memory or synthesised */

static void
get(const view_t *v, uint64_t off, uint8_t *buf, size_t len)
{
    size_t             n, i;
    album_zip_piece_t  piece;

    if (off + len > v->ar->total) {
        fail("read past the end");
    }

    if (v->mem != NULL) {
        memcpy(buf, v->mem + off, len);
        return;
    }

    while (len > 0) {
        if (album_zip_locate(v->ar, off, &piece) != ALBUM_ZIP_OK) {
            fail("locate inside the archive");
        }

        n = piece.len - piece.offset < len ? piece.len - piece.offset : len;

        if (piece.kind == ALBUM_ZIP_PIECE_DATA) {
            for (i = 0; i < n; i++) {
                buf[i] = pattern(piece.index, piece.offset + i);
            }

        } else if (album_zip_piece_write(v->ar, &piece, buf, n) != n) {
            fail("piece_write short");
        }

        buf += n;
        off += n;
        len -= n;
    }
}


static uint32_t
rd16(const uint8_t *p)
{
    return p[0] | (p[1] << 8);
}


static uint32_t
rd32(const uint8_t *p)
{
    return p[0] | (p[1] << 8) | (p[2] << 16) | ((uint32_t) p[3] << 24);
}


static uint64_t
rd64(const uint8_t *p)
{
    return rd32(p) | ((uint64_t) rd32(p + 4) << 32);
}


/*
 * Finds extra field "id" in [x, x + len); checks the list is well
 * formed.  Returns its data or NULL.
 */

static const uint8_t *
find_extra(const uint8_t *x, size_t len, uint32_t id, size_t *dlen)
{
    size_t          n;
    const uint8_t  *found;

    found = NULL;

    while (len > 0) {
        if (len < 4) {
            fail("extra field header cut");
        }

        n = rd16(x + 2);

        if (n + 4 > len) {
            fail("extra field overruns");
        }

        if (rd16(x) == id) {
            if (found != NULL) {
                fail("extra field twice");
            }

            found = x + 4;
            *dlen = n;
        }

        x += 4 + n;
        len -= 4 + n;
    }

    return found;
}


/* an independent reader: end records, central directory, local headers */

/* DOS date << 16 | time, by the C library, for the oracle */

static uint32_t
dos_time(int64_t t)
{
    time_t     tt;
    struct tm  tm;

    if (t < 315532800) {
        t = 315532800;

    } else if (t > 4354819198LL) {
        t = 4354819198LL;
    }

    tt = (time_t) t;
    gmtime_r(&tt, &tm);

    return ((uint32_t) ((tm.tm_year - 80) << 9 | (tm.tm_mon + 1) << 5
                        | tm.tm_mday) << 16)
           | (tm.tm_hour << 11 | tm.tm_min << 5 | tm.tm_sec / 2);
}


static void
read_back(const view_t *v, album_zip_entry_t *e,
    const album_zip_entry_t *orig, size_t n)
{
    size_t          i, k, dlen, xlen, cxlen, nlen;
    uint8_t         end[98], c[46], h[30], d[24], *name, *extra;
    uint32_t        flags, usize32, csize32, off32, crc;
    uint64_t        total, count, cd_off, cd_size, pos, usize, csize, off;
    uint64_t        data;
    const uint8_t  *z, *t;

    total = v->ar->total;

    if (total < 22) {
        fail("too short");
    }

    get(v, total - 22, end, 22);

    if (rd32(end) != 0x06054b50 || rd16(end + 20) != 0) {
        fail("end record");
    }

    count = rd16(end + 10);
    cd_size = rd32(end + 12);
    cd_off = rd32(end + 16);

    if (rd16(end + 8) != count || rd16(end + 4) != 0 || rd16(end + 6) != 0) {
        fail("end record counts");
    }

    if (count == 0xffff || cd_size == 0xffffffff || cd_off == 0xffffffff
        || v->ar->zip64)
    {
        if (!v->ar->zip64 || total < 98) {
            fail("ZIP64 needed but absent");
        }

        get(v, total - 98, end, 76);

        if (rd32(end + 56) != 0x07064b50 || rd32(end + 56 + 4) != 0
            || rd64(end + 56 + 8) != total - 98 || rd32(end + 56 + 16) != 1)
        {
            fail("ZIP64 locator");
        }

        if (rd32(end) != 0x06064b50 || rd64(end + 4) != 44
            || rd16(end + 14) != 45 || rd32(end + 16) != 0
            || rd32(end + 20) != 0 || rd64(end + 24) != rd64(end + 32))
        {
            fail("ZIP64 end record");
        }

        /* the classic fields are exact or markers */
        if ((count != 0xffff && count != rd64(end + 32))
            || (cd_size != 0xffffffff && cd_size != rd64(end + 40))
            || (cd_off != 0xffffffff && cd_off != rd64(end + 48)))
        {
            fail("classic end record disagrees with ZIP64");
        }

        if ((rd64(end + 32) >= 0xffff) != (count == 0xffff)
            || (rd64(end + 40) >= 0xffffffff) != (cd_size == 0xffffffff)
            || (rd64(end + 48) >= 0xffffffff) != (cd_off == 0xffffffff))
        {
            fail("marker without overflow");
        }

        count = rd64(end + 32);
        cd_size = rd64(end + 40);
        cd_off = rd64(end + 48);

        if (cd_off + cd_size != total - 98) {
            fail("ZIP64 end record position");
        }

        if (!(count >= 0xffff || cd_size >= 0xffffffff
              || cd_off >= 0xffffffff))
        {
            fail("ZIP64 without need");
        }

    } else if (cd_off + cd_size != total - 22) {
        fail("end record position");
    }

    if (count != n) {
        fail("entry count");
    }

    name = malloc(65536);
    extra = malloc(65536);
    pos = cd_off;

    for (i = 0; i < n; i++) {
        get(v, pos, c, 46);

        if (rd32(c) != 0x02014b50) {
            fail("central signature");
        }

        nlen = rd16(c + 28);
        cxlen = rd16(c + 30);
        flags = rd16(c + 8);
        crc = rd32(c + 16);
        csize32 = rd32(c + 20);
        usize32 = rd32(c + 24);
        off32 = rd32(c + 42);

        if (rd16(c + 10) != 0 || rd16(c + 32) != 0 || rd16(c + 34) != 0
            || (c[5] != 3) || rd16(c + 6) != c[4])
        {
            fail("central constants");
        }

        get(v, pos + 46, name, nlen);
        get(v, pos + 46 + nlen, extra, cxlen);

        if (46 + nlen + cxlen != album_zip_central_header_len(&e[i])) {
            fail("central header length");
        }

        if (nlen != e[i].name_len || memcmp(name, e[i].name, nlen) != 0) {
            fail("central name");
        }

        usize = usize32;
        csize = csize32;
        off = off32;

        z = find_extra(extra, cxlen, 0x0001, &dlen);
        k = 0;

        if (usize32 == 0xffffffff) {
            if (z == NULL || dlen < k + 8) {
                fail("ZIP64 size missing");
            }

            usize = rd64(z + k);
            k += 8;
        }

        if (csize32 == 0xffffffff) {
            if (z == NULL || dlen < k + 8) {
                fail("ZIP64 size missing");
            }

            csize = rd64(z + k);
            k += 8;
        }

        if (off32 == 0xffffffff) {
            if (z == NULL || dlen < k + 8) {
                fail("ZIP64 offset missing");
            }

            off = rd64(z + k);
            k += 8;
        }

        if (z != NULL && k != dlen) {
            fail("ZIP64 field has more than the marked fields");
        }

        if ((z != NULL) != (c[6] == 45)) {
            fail("version needed vs ZIP64");
        }

        if (usize != e[i].size || csize != e[i].size || off != e[i].offset
            || crc != e[i].crc32)
        {
            fail("central values");
        }

        if ((usize32 == 0xffffffff) != (e[i].size >= 0xffffffff
                                        || off >= 0xffffffff))
        {
            fail("size markers");
        }

        if ((off32 == 0xffffffff) != (off >= 0xffffffff)) {
            fail("offset marker");
        }

        for (k = 0; k < nlen && name[k] < 0x80; k++) {
            /* void */
        }

        if (((flags & 0x0800) != 0) != (k < nlen)
            || ((flags & 0x0008) != 0)
               != (e[i].size > 0 && (!orig[i].has_crc || orig[i].stream_crc))
            || (flags & ~0x0808) != 0)
        {
            fail("central flags");
        }

        if (rd32(c + 12) != dos_time(orig[i].mtime)) {
            fail("DOS date and time");
        }

        if (rd32(c + 38) != (e[i].is_dir ? 0x41ed0010 : 0x81a40000)) {
            fail("attributes");
        }

        t = find_extra(extra, cxlen, 0x5455, &dlen);

        /* before 1980 (no mtime: 0) the DOS field's 1980-01-01 too */
        if (e[i].mtime >= 0 && e[i].mtime <= 0x7fffffff) {
            if (t == NULL || dlen != 5 || t[0] != 1
                || rd32(t + 1) != (uint32_t) (e[i].mtime < 315532800
                                              ? 315532800 : e[i].mtime))
            {
                fail("central timestamp");
            }

        } else if (t != NULL) {
            fail("timestamp out of range");
        }

        /* the local header and what follows the data */
        get(v, off, h, 30);

        if (rd32(h) != 0x04034b50 || rd16(h + 6) != flags
            || rd16(h + 8) != 0 || rd16(h + 26) != nlen
            || rd32(h + 10) != rd32(c + 12))
        {
            fail("local header");
        }

        if (rd16(h + 4) != (z != NULL ? 45 : 20)) {
            fail("local version");
        }

        if (rd32(h + 14) != ((flags & 8) ? 0 : crc)) {
            fail("local CRC");
        }

        xlen = rd16(h + 28);
        get(v, off + 30, name, nlen);
        get(v, off + 30 + nlen, extra, xlen);

        if (memcmp(name, e[i].name, nlen) != 0) {
            fail("local name");
        }

        z = find_extra(extra, xlen, 0x0001, &dlen);
        usize = rd32(h + 22);
        csize = rd32(h + 18);

        if (usize == 0xffffffff || csize == 0xffffffff) {
            if (z == NULL || dlen != 16 || usize != csize) {
                fail("local ZIP64 needs both sizes");
            }

            usize = rd64(z);
            csize = rd64(z + 8);

        } else if (z != NULL) {
            fail("local ZIP64 without markers");
        }

        if (usize != e[i].size || csize != e[i].size) {
            fail("local sizes");
        }

        data = off + 30 + nlen + xlen;

        if (data != album_zip_data_offset(&e[i])) {
            fail("data offset");
        }

        if (flags & 8) {
            get(v, data + e[i].size, d, z != NULL ? 24 : 16);

            if (rd32(d) != 0x08074b50 || rd32(d + 4) != crc
                || (z != NULL && (rd64(d + 8) != e[i].size
                                  || rd64(d + 16) != e[i].size))
                || (z == NULL && (rd32(d + 8) != e[i].size
                                  || rd32(d + 12) != e[i].size)))
            {
                fail("descriptor");
            }

            data += z != NULL ? 24 : 16;
        }

        if (i == 0 && off != 0) {
            fail("first entry not at 0");
        }

        if (i + 1 < n && data + e[i].size != e[i + 1].offset) {
            fail("entries not contiguous");
        }

        if (i + 1 == n && data + e[i].size != cd_off) {
            fail("central directory not after the last entry");
        }

        pos += 46 + nlen + cxlen;
    }

    if (pos != cd_off + cd_size) {
        fail("central size");
    }

    free(name);
    free(extra);
}


/* the oracle: sizes from the rules, in 128-bit arithmetic */

static int
expect_total(album_zip_entry_t *e, size_t n, unsigned __int128 *total)
{
    size_t             i;
    unsigned __int128  off, cd;
    int                z64s, z64o, xt, desc;

    off = 0;
    cd = 0;

    for (i = 0; i < n; i++) {
        z64s = e[i].size >= 0xffffffffULL;
        z64o = off >= 0xffffffffULL;
        xt = e[i].mtime >= 0 && e[i].mtime <= 0x7fffffff;
        desc = (!e[i].has_crc || e[i].stream_crc) && e[i].size > 0;

        off += 30 + e[i].name_len + (xt ? 9 : 0) + (z64s ? 20 : 0);
        off += e[i].size;
        off += desc ? (z64s ? 24 : 16) : 0;
        cd += 46 + e[i].name_len + (xt ? 9 : 0)
              + ((z64s || z64o) ? (z64o ? 28 : 20) : 0);
    }

    *total = off + cd + 22;

    if (n >= 0xffff || cd >= 0xffffffffULL || off >= 0xffffffffULL) {
        *total += 76;
    }

    return *total <= (unsigned __int128) INT64_MAX;
}


static void
check_libarchive(const uint8_t *mem, size_t len, album_zip_entry_t *e,
    size_t n)
{
    int                    r;
    size_t                 i;
    ssize_t                got;
    uint64_t               k, j;
    struct archive        *a;
    struct archive_entry  *ae;
    const char            *name;
    static uint8_t         buf[65536];

    a = archive_read_new();
    archive_read_support_format_zip_seekable(a);

    if (archive_read_open_memory(a, mem, len) != ARCHIVE_OK) {
        if (n == 0) {
            /* the seekable reader does not bid on an empty archive */
            archive_read_free(a);
            return;
        }

        fail("libarchive open");
    }

    for (i = 0; i <= n; i++) {
        r = archive_read_next_header(a, &ae);

        if (r == ARCHIVE_EOF) {
            break;
        }

        if (r != ARCHIVE_OK || i == n) {
            fprintf(stderr, "%s\n", archive_error_string(a));
            fail("libarchive header");
        }

        name = archive_entry_pathname_utf8(ae);

        /*
         * libarchive composes to NFC when it converts UTF-8 names; that
         * needs a combining character, which is U+0300 or above, lead
         * byte 0xcc or above: such names are compared by our reader only.
         */
        for (j = 0; j < e[i].name_len; j++) {
            if ((unsigned char) e[i].name[j] >= 0xcc) {
                break;
            }
        }

        if (name == NULL
            || (j == e[i].name_len
                && (strlen(name) != e[i].name_len
                    || memcmp(name, e[i].name, e[i].name_len) != 0)))
        {
            fprintf(stderr, "\"%s\" read as \"%s\"\n", e[i].name,
                    name ? name : "(null)");
            fail("libarchive name");
        }

        k = 0;

        while ((got = archive_read_data(a, buf, sizeof(buf))) > 0) {
            for (j = 0; j < (uint64_t) got; j++) {
                if (buf[j] != pattern(i, k + j)) {
                    fail("libarchive data");
                }
            }

            k += got;
        }

        if (got < 0 || k != e[i].size) {
            fprintf(stderr, "%s\n", archive_error_string(a));
            fail("libarchive data size");
        }
    }

    if (i != n) {
        fail("libarchive count");
    }

    archive_read_free(a);
}


int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void) argc;
    (void) argv;

    /* libarchive converts UTF-8 names to the locale's charset */
    setlocale(LC_ALL, "C.UTF-8");

    return 0;
}


int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    int                   rc, big;
    char                 *names[MAX_ENTRIES], raw[300];
    size_t                i, n, len, k, chunk, want;
    uint8_t              *mem, *ranged, *cd1, *cd2;
    uint32_t              crc;
    uint64_t              pos, s;
    input_t               in;
    view_t                v;
    album_zip_cd_t        cd;
    album_zip_piece_t     piece;
    album_zip_entry_t     e[MAX_ENTRIES], e2[MAX_ENTRIES];
    album_zip_archive_t   ar, ar2;
    unsigned __int128     total;

    static const uint64_t  sizes[] = {
        0xfffffffeULL, 0xffffffffULL, 0x100000000ULL, 0x1234567890ULL,
        (uint64_t) 1 << 62, 0x7fffffffffffff00ULL, 0xffffffffffffffffULL,
        0xffffffffULL - 100
    };

    in.p = data;
    in.left = size;

    n = take(&in, 1) % (MAX_ENTRIES + 1);
    chunk = 1 + take(&in, 2) % 5000;
    big = 0;

    memset(e, 0, sizeof(e));

    for (i = 0; i < n; i++) {
        unsigned  flags;

        flags = take(&in, 1);
        len = take(&in, 1) % 40;

        for (k = 0; k < len; k++) {
            raw[k] = (char) take(&in, 1);
        }

        e[i].is_dir = (flags & 1) != 0;
        names[i] = malloc(ALBUM_ZIP_NAME_BOUND(len));
        e[i].name_len = album_zip_name_sanitize(names[i], raw, len,
                                                e[i].is_dir);
        e[i].name = names[i];

        switch ((flags >> 1) & 3) {
        case 0:
            e[i].size = take(&in, 1);
            break;
        case 1:
            e[i].size = take(&in, 2) % 20000;
            break;
        case 2:
            e[i].size = sizes[take(&in, 1) % 8] + take(&in, 1);
            big = 1;
            break;
        default:
            e[i].size = 0;
        }

        if (e[i].is_dir) {
            e[i].size = 0;
        }

        switch ((flags >> 3) & 3) {
        case 0:
            e[i].mtime = 1700000000 + take(&in, 2);
            break;
        case 1:
            e[i].mtime = (int64_t) (((uint64_t) take(&in, 4) << 32)
                                    | take(&in, 4));
            break;
        case 2:
            e[i].mtime = 0x7fffffff - 2 + take(&in, 1) % 5;
            break;
        default:
            e[i].mtime = 315532800 - 2 + take(&in, 1) % 5;
        }

        e[i].has_crc = (flags & 0x20) != 0;
        e[i].stream_crc = (flags & 0x40) != 0;
    }

    /* known CRCs are computed up front, or made up for huge members */
    for (i = 0; i < n; i++) {
        if (!e[i].has_crc) {
            continue;
        }

        if (big) {
            e[i].crc32 = take(&in, 4);
            continue;
        }

        crc = 0;

        for (s = 0; s < e[i].size; s++) {
            uint8_t  b;

            b = pattern(i, s);
            crc = album_zip_crc32(crc, &b, 1);
        }

        e[i].crc32 = crc;
    }

    memcpy(e2, e, sizeof(e));

    rc = album_zip_layout(&ar, e, n);

    if (expect_total(e2, n, &total)) {
        if (rc != ALBUM_ZIP_OK || ar.total != (uint64_t) total) {
            fail("layout total");
        }

    } else {
        if (rc != ALBUM_ZIP_EOVERFLOW) {
            fail("overflow not detected");
        }

        goto done;
    }

    /* the same input lays out the same */
    if (album_zip_layout(&ar2, e2, n) != ALBUM_ZIP_OK
        || ar2.total != ar.total || ar2.cd_size != ar.cd_size)
    {
        fail("layout not deterministic");
    }

    for (i = 0; i < n; i++) {
        if (!e2[i].has_crc && e2[i].size > 0) {
            break;
        }
    }

    if (ar.determined != (i == n)) {
        fail("determined iff every CRC is known");
    }

    mem = NULL;

    if (!big && ar.total <= MAX_MEMORY) {
        /* sequentially, as a sender without Range would */
        mem = malloc(ar.total);
        pos = 0;

        for (i = 0; i < n; i++) {
            if (e[i].offset != pos) {
                fail("offset");
            }

            pos += album_zip_write_local_header(&e[i], mem + pos);

            crc = 0;

            for (s = 0; s < e[i].size; s++) {
                mem[pos + s] = pattern(i, s);
            }

            crc = album_zip_crc32(0, mem + pos, e[i].size);
            pos += e[i].size;

            if (e[i].has_crc && e[i].crc32 != crc) {
                fail("crc");
            }

            if (e[i].descriptor) {
                pos += album_zip_write_descriptor(&e[i], crc, mem + pos);
            }
        }

        if (pos != ar.cd_offset) {
            fail("cd offset");
        }

        album_zip_cd_init(&cd, &ar, 0);

        while ((k = album_zip_cd_write(&cd, mem + pos,
                                       chunk < ar.total - pos
                                       ? chunk : ar.total - pos)) > 0)
        {
            pos += k;
        }

        if (pos != ar.total) {
            fail("total != bytes written");
        }

        /* and through the Range path */
        v.ar = &ar;
        v.mem = NULL;
        ranged = malloc(ar.total);

        for (pos = 0; pos < ar.total; pos += k) {
            k = chunk < ar.total - pos ? chunk : ar.total - pos;
            get(&v, pos, ranged, k);

            if (memcmp(ranged, mem + pos, k) != 0) {
                fail("Range path differs");
            }
        }

        free(ranged);

    } else {
        /* descriptors of huge members: "computed" CRCs */
        for (i = 0; i < n; i++) {
            if (e[i].descriptor) {
                e[i].crc32 = 0x9e3779b9 * (uint32_t) (i + 1);
            }
        }
    }

    /* every piece boundary +-1 */
    for (i = 0; i < n; i++) {
        uint64_t  b[4];

        b[0] = e[i].offset;
        b[1] = album_zip_data_offset(&e[i]);
        b[2] = b[1] + e[i].size;
        b[3] = b[2] + album_zip_descriptor_len(&e[i]);

        for (k = 0; k < 12; k++) {
            pos = b[k / 3] + (k % 3) - 1;

            if (pos >= ar.total) {
                continue;
            }

            if (album_zip_locate(&ar, pos, &piece) != ALBUM_ZIP_OK
                || pos < piece.start || pos - piece.start != piece.offset
                || piece.offset >= piece.len)
            {
                fail("locate");
            }

            want = pos < b[1] ? ALBUM_ZIP_PIECE_LOCAL_HEADER
                   : pos < b[2] ? ALBUM_ZIP_PIECE_DATA
                   : pos < b[3] ? ALBUM_ZIP_PIECE_DESCRIPTOR : 0;

            if (pos >= b[0] && want != 0
                && (piece.kind != want || piece.index != i))
            {
                fail("locate kind");
            }
        }
    }

    if (album_zip_locate(&ar, ar.total, &piece) != ALBUM_ZIP_EINVAL) {
        fail("locate past the end");
    }

    /* the central piece from any offset, in chunks */
    len = album_zip_central_len(&ar);
    cd1 = malloc(len + 1);
    cd2 = malloc(len + 1);

    album_zip_cd_init(&cd, &ar, 0);

    if (album_zip_cd_write(&cd, cd1, len + 1) != len) {
        fail("central length");
    }

    for (pos = take(&in, 1) % 7; pos <= len; pos += 1 + take(&in, 1)) {
        album_zip_cd_init(&cd, &ar, pos);
        k = 0;

        while ((s = album_zip_cd_write(&cd, cd2 + k, chunk % 97 + 1)) > 0) {
            k += s;
        }

        if (k != len - pos || memcmp(cd2, cd1 + pos, k) != 0) {
            fail("central from an offset");
        }

        if (in.left == 0) {
            break;
        }
    }

    free(cd1);
    free(cd2);

    v.ar = &ar;
    v.mem = mem;
    read_back(&v, e, e2, n);

    if (mem != NULL) {
        check_libarchive(mem, ar.total, e, n);
        free(mem);
    }

done:

    for (i = 0; i < n; i++) {
        free(names[i]);
    }

    return 0;
}
