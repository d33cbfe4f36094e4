
/*
 * ZIP framing for streamed photo-album archives; see the header for the
 * API and the PKWARE APPNOTE (6.3.x) for the record layouts.
 */


#include <string.h>
#include <libdeflate.h>

#include "album_zip_format.h"


#define ALBUM_ZIP_SIG_LOCAL        0x04034b50
#define ALBUM_ZIP_SIG_DESCRIPTOR   0x08074b50
#define ALBUM_ZIP_SIG_CENTRAL      0x02014b50
#define ALBUM_ZIP_SIG_END64        0x06064b50
#define ALBUM_ZIP_SIG_LOCATOR64    0x07064b50
#define ALBUM_ZIP_SIG_END          0x06054b50

#define ALBUM_ZIP_LOCAL_FIXED      30
#define ALBUM_ZIP_CENTRAL_FIXED    46
#define ALBUM_ZIP_END64_LEN        56
#define ALBUM_ZIP_LOCATOR64_LEN    20
#define ALBUM_ZIP_END_LEN          22

#define ALBUM_ZIP_XTIME_LEN        9     /* 0x5455: id, len, flags, mtime */
#define ALBUM_ZIP_XTIME_ID         0x5455
#define ALBUM_ZIP_ZIP64_ID         0x0001

/* the longest extra fields: central ZIP64 with offset, then 0x5455 */
#define ALBUM_ZIP_EXTRA_MAX        (4 + 24 + ALBUM_ZIP_XTIME_LEN)

#define ALBUM_ZIP_VERSION          20    /* 2.0: stored, directories */
#define ALBUM_ZIP_VERSION_ZIP64    45    /* 4.5: ZIP64 */
#define ALBUM_ZIP_HOST_UNIX        3

#define ALBUM_ZIP_FLAG_DESCRIPTOR  0x0008
#define ALBUM_ZIP_FLAG_UTF8        0x0800

/*
 * Upper 16 bits: st_mode (S_IFREG|0644, S_IFDIR|0755) for Unix
 * extractors; low byte: MS-DOS attributes (0x10 directory) for the rest.
 */
#define ALBUM_ZIP_ATTR_FILE        0x81a40000
#define ALBUM_ZIP_ATTR_DIR         0x41ed0010

/*
 * A 32-bit field holds the value itself when it is below 0xffffffff;
 * 0xffffffff is the "see ZIP64" marker, so a value equal to it needs
 * ZIP64 as well (the same goes for 0xffff and the entry count).
 */
#define ALBUM_ZIP_MAX32            0xffffffffULL
#define ALBUM_ZIP_MAX16            0xffff

/* DOS dates cover 1980-01-01 00:00:00 .. 2107-12-31 23:59:58 */
#define ALBUM_ZIP_DOS_MIN          315532800LL
#define ALBUM_ZIP_DOS_MAX          4354819198LL


typedef struct {
    uint8_t   *buf;
    size_t     len;
    size_t     done;
    uint64_t   skip;
} album_zip_out_t;


static void album_zip_dos_time(album_zip_entry_t *e);
static size_t album_zip_zip64_central_len(const album_zip_entry_t *e);
static size_t album_zip_local_fixed(const album_zip_entry_t *e,
    uint8_t *p, uint8_t *extra);
static size_t album_zip_central_fixed(const album_zip_entry_t *e,
    uint8_t *p, uint8_t *extra);
static size_t album_zip_descriptor_bytes(const album_zip_entry_t *e,
    uint32_t crc, uint8_t *p);
static size_t album_zip_end_bytes(const album_zip_archive_t *ar,
    uint8_t *p);
static void album_zip_put(album_zip_out_t *out, const void *data,
    size_t len);
static int album_zip_add(uint64_t *sum, uint64_t n);


static uint8_t *
album_zip_w16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t) v;
    p[1] = (uint8_t) (v >> 8);

    return p + 2;
}


static uint8_t *
album_zip_w32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t) v;
    p[1] = (uint8_t) (v >> 8);
    p[2] = (uint8_t) (v >> 16);
    p[3] = (uint8_t) (v >> 24);

    return p + 4;
}


static uint8_t *
album_zip_w64(uint8_t *p, uint64_t v)
{
    p = album_zip_w32(p, (uint32_t) v);

    return album_zip_w32(p, (uint32_t) (v >> 32));
}


static uint32_t
album_zip_field32(uint64_t v)
{
    return v >= ALBUM_ZIP_MAX32 ? (uint32_t) ALBUM_ZIP_MAX32 : (uint32_t) v;
}


int
album_zip_layout(album_zip_archive_t *ar, album_zip_entry_t *entries,
    size_t n)
{
    size_t              i;
    uint64_t            off, cd;
    const uint8_t      *p, *last;
    album_zip_entry_t  *e;

    memset(ar, 0, sizeof(album_zip_archive_t));

    ar->entries = entries;
    ar->nentries = n;
    ar->determined = 1;

    off = 0;
    cd = 0;

    for (i = 0; i < n; i++) {
        e = &entries[i];
        ar->bad_entry = i;

        if (e->name == NULL || e->name_len == 0
            || e->name_len > ALBUM_ZIP_NAME_MAX)
        {
            return ALBUM_ZIP_EINVAL;
        }

        /* extractors decide "directory" by the trailing slash */
        if ((e->name[e->name_len - 1] == '/') != (e->is_dir != 0)) {
            return ALBUM_ZIP_EINVAL;
        }

        if (e->is_dir && e->size != 0) {
            return ALBUM_ZIP_EINVAL;
        }

        /* nothing to checksum: the CRC of no bytes is 0 */
        if (e->size == 0) {
            e->crc32 = 0;
            e->has_crc = 1;
        }

        e->descriptor = !e->has_crc || (e->stream_crc && e->size != 0);
        e->zip64_size = e->size >= ALBUM_ZIP_MAX32;
        e->zip64_offset = off >= ALBUM_ZIP_MAX32;
        e->xtime = e->mtime >= 0 && e->mtime <= INT32_MAX;
        e->offset = off;
        e->cd_offset = cd;

        /*
         * Bit 11 only for names with non-ASCII bytes: ASCII reads the
         * same as CP437 and as UTF-8, and headers of plain names then
         * match what every other writer produces.
         */
        e->utf8 = 0;

        for (p = (const uint8_t *) e->name, last = p + e->name_len;
             p < last;
             p++)
        {
            if (*p >= 0x80) {
                e->utf8 = 1;
                break;
            }
        }

        album_zip_dos_time(e);

        if (!e->has_crc) {
            ar->determined = 0;
        }

        if (album_zip_add(&off, album_zip_local_header_len(e))
            || album_zip_add(&off, e->size)
            || album_zip_add(&off, album_zip_descriptor_len(e))
            || album_zip_add(&cd, album_zip_central_header_len(e)))
        {
            return ALBUM_ZIP_EOVERFLOW;
        }
    }

    ar->bad_entry = n;
    ar->cd_offset = off;
    ar->cd_size = cd;

    ar->zip64 = n >= ALBUM_ZIP_MAX16
                || cd >= ALBUM_ZIP_MAX32
                || off >= ALBUM_ZIP_MAX32;

    ar->end_size = ALBUM_ZIP_END_LEN;

    if (ar->zip64) {
        ar->end_size += ALBUM_ZIP_END64_LEN + ALBUM_ZIP_LOCATOR64_LEN;
    }

    if (album_zip_add(&off, cd) || album_zip_add(&off, ar->end_size)) {
        return ALBUM_ZIP_EOVERFLOW;
    }

    ar->total = off;

    return ALBUM_ZIP_OK;
}


static int
album_zip_add(uint64_t *sum, uint64_t n)
{
    if (n > ALBUM_ZIP_MAX_SIZE - *sum) {
        return 1;
    }

    *sum += n;

    return 0;
}


/*
 * DOS date and time from unix time, in UTC (the extended timestamp
 * carries the exact value).  The calendar is the usual "civil from
 * days" arithmetic over 400-year eras, starting the year in March so
 * that the leap day comes last; gmtime() would do, but is not
 * reentrant and depends on time_t's width.
 */

static void
album_zip_dos_time(album_zip_entry_t *e)
{
    int64_t   t, days, secs, doe, yoe, doy, mp, y, m, d;

    t = e->mtime;

    if (t < ALBUM_ZIP_DOS_MIN) {
        t = ALBUM_ZIP_DOS_MIN;

    } else if (t > ALBUM_ZIP_DOS_MAX) {
        t = ALBUM_ZIP_DOS_MAX;
    }

    days = t / 86400;
    secs = t % 86400;

    /* days since 0000-03-01; one 400-year era is 146097 days */
    days += 719468;
    doe = days % 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    y = yoe + (days / 146097) * 400;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    d = doy - (153 * mp + 2) / 5 + 1;
    m = mp < 10 ? mp + 3 : mp - 9;

    if (m <= 2) {
        y++;
    }

    e->dos_date = (uint16_t) (((y - 1980) << 9) | (m << 5) | d);
    e->dos_time = (uint16_t) (((secs / 3600) << 11)
                              | (((secs / 60) % 60) << 5)
                              | ((secs % 60) / 2));
}


size_t
album_zip_local_header_len(const album_zip_entry_t *e)
{
    return ALBUM_ZIP_LOCAL_FIXED + e->name_len
           + (e->xtime ? ALBUM_ZIP_XTIME_LEN : 0)
           + (e->zip64_size ? 4 + 16 : 0);
}


size_t
album_zip_descriptor_len(const album_zip_entry_t *e)
{
    if (!e->descriptor) {
        return 0;
    }

    /* readers size the descriptor by the local ZIP64 extra field */
    return e->zip64_size ? 24 : 16;
}


/*
 * A central ZIP64 field always carries both sizes (and the 32-bit size
 * fields then hold 0xffffffff), plus the offset when that overflows.
 * APPNOTE allows ZIP64 sizes for any size; "only the overflowing
 * fields" is not enough in practice: Info-ZIP UnZip 6.0 decides which
 * fields to read from the previous entry's sizes as well, so after an
 * entry of exactly 0xffffffff bytes it misreads an offset-only field
 * (and then reports overlapping entries).
 */

static size_t
album_zip_zip64_central_len(const album_zip_entry_t *e)
{
    if (!e->zip64_size && !e->zip64_offset) {
        return 0;
    }

    return 4 + 16 + (e->zip64_offset ? 8 : 0);
}


size_t
album_zip_central_header_len(const album_zip_entry_t *e)
{
    return ALBUM_ZIP_CENTRAL_FIXED + e->name_len
           + (e->xtime ? ALBUM_ZIP_XTIME_LEN : 0)
           + album_zip_zip64_central_len(e);
}


uint64_t
album_zip_data_offset(const album_zip_entry_t *e)
{
    return e->offset + album_zip_local_header_len(e);
}


uint64_t
album_zip_central_len(const album_zip_archive_t *ar)
{
    return ar->cd_size + ar->end_size;
}


static uint32_t
album_zip_version(const album_zip_entry_t *e)
{
    return (e->zip64_size || e->zip64_offset) ? ALBUM_ZIP_VERSION_ZIP64
                                              : ALBUM_ZIP_VERSION;
}


static uint32_t
album_zip_flags(const album_zip_entry_t *e)
{
    return (e->descriptor ? ALBUM_ZIP_FLAG_DESCRIPTOR : 0)
           | (e->utf8 ? ALBUM_ZIP_FLAG_UTF8 : 0);
}


/*
 * The extended timestamp says what the DOS field says for a time before
 * 1980 (and for a member without one, whose mtime is 0): 1980-01-01
 * 00:00:00 UTC, the earliest DOS date, so that every reader shows, and
 * every extractor sets, one date.
 */

static uint8_t *
album_zip_xtime(const album_zip_entry_t *e, uint8_t *p)
{
    int64_t  t;

    if (!e->xtime) {
        return p;
    }

    t = e->mtime < ALBUM_ZIP_DOS_MIN ? ALBUM_ZIP_DOS_MIN : e->mtime;

    /* flags 1: only the modification time, in local and central */
    p = album_zip_w16(p, ALBUM_ZIP_XTIME_ID);
    p = album_zip_w16(p, 5);
    *p++ = 1;

    return album_zip_w32(p, (uint32_t) t);
}


/*
 * Builds the fixed part of a local header in p and its extra fields in
 * extra (ALBUM_ZIP_EXTRA_MAX bytes); returns the length of the latter.
 *
 * With a data descriptor the CRC is 0 here, but the sizes are the real
 * ones, as they are known: a streaming reader (libarchive) then reads
 * stored data without having to guess where it ends, and readers that
 * follow the spec and take the sizes from the descriptor or the central
 * directory see the same values there.
 */

static size_t
album_zip_local_fixed(const album_zip_entry_t *e, uint8_t *p, uint8_t *extra)
{
    uint8_t  *x;

    x = extra;

    if (e->zip64_size) {
        /* the local ZIP64 field must hold both sizes */
        x = album_zip_w16(x, ALBUM_ZIP_ZIP64_ID);
        x = album_zip_w16(x, 16);
        x = album_zip_w64(x, e->size);
        x = album_zip_w64(x, e->size);
    }

    x = album_zip_xtime(e, x);

    p = album_zip_w32(p, ALBUM_ZIP_SIG_LOCAL);
    p = album_zip_w16(p, album_zip_version(e));
    p = album_zip_w16(p, album_zip_flags(e));
    p = album_zip_w16(p, 0);
    p = album_zip_w16(p, e->dos_time);
    p = album_zip_w16(p, e->dos_date);
    p = album_zip_w32(p, e->descriptor ? 0 : e->crc32);
    p = album_zip_w32(p, album_zip_field32(e->size));
    p = album_zip_w32(p, album_zip_field32(e->size));
    p = album_zip_w16(p, (uint32_t) e->name_len);
    (void) album_zip_w16(p, (uint32_t) (x - extra));

    return x - extra;
}


static size_t
album_zip_central_fixed(const album_zip_entry_t *e, uint8_t *p,
    uint8_t *extra)
{
    uint8_t   *x;
    uint32_t   version, size;
    unsigned   zip64;

    x = extra;

    zip64 = e->zip64_size || e->zip64_offset;

    if (zip64) {
        /* in the APPNOTE 4.5.3 order: sizes, then the offset */
        x = album_zip_w16(x, ALBUM_ZIP_ZIP64_ID);
        x = album_zip_w16(x, (uint32_t) album_zip_zip64_central_len(e) - 4);
        x = album_zip_w64(x, e->size);
        x = album_zip_w64(x, e->size);

        if (e->zip64_offset) {
            x = album_zip_w64(x, e->offset);
        }
    }

    x = album_zip_xtime(e, x);

    version = album_zip_version(e);
    size = zip64 ? (uint32_t) ALBUM_ZIP_MAX32 : (uint32_t) e->size;

    p = album_zip_w32(p, ALBUM_ZIP_SIG_CENTRAL);
    p = album_zip_w16(p, (ALBUM_ZIP_HOST_UNIX << 8) | version);
    p = album_zip_w16(p, version);
    p = album_zip_w16(p, album_zip_flags(e));
    p = album_zip_w16(p, 0);
    p = album_zip_w16(p, e->dos_time);
    p = album_zip_w16(p, e->dos_date);
    p = album_zip_w32(p, e->crc32);
    p = album_zip_w32(p, size);
    p = album_zip_w32(p, size);
    p = album_zip_w16(p, (uint32_t) e->name_len);
    p = album_zip_w16(p, (uint32_t) (x - extra));
    p = album_zip_w16(p, 0);
    p = album_zip_w16(p, 0);
    p = album_zip_w16(p, 0);
    p = album_zip_w32(p, e->is_dir ? ALBUM_ZIP_ATTR_DIR : ALBUM_ZIP_ATTR_FILE);
    (void) album_zip_w32(p, album_zip_field32(e->offset));

    return x - extra;
}


static size_t
album_zip_descriptor_bytes(const album_zip_entry_t *e, uint32_t crc,
    uint8_t *p)
{
    uint8_t  *start;

    start = p;

    p = album_zip_w32(p, ALBUM_ZIP_SIG_DESCRIPTOR);
    p = album_zip_w32(p, crc);

    if (e->zip64_size) {
        p = album_zip_w64(p, e->size);
        p = album_zip_w64(p, e->size);

    } else {
        p = album_zip_w32(p, (uint32_t) e->size);
        p = album_zip_w32(p, (uint32_t) e->size);
    }

    return p - start;
}


/*
 * ZIP64 end record and locator when needed, then the classic end
 * record; in the latter only the fields that do not fit hold the
 * 0xffff/0xffffffff markers, the others stay exact for old readers.
 */

static size_t
album_zip_end_bytes(const album_zip_archive_t *ar, uint8_t *p)
{
    uint8_t   *start;
    uint64_t   n;

    start = p;
    n = ar->nentries;

    if (ar->zip64) {
        p = album_zip_w32(p, ALBUM_ZIP_SIG_END64);
        p = album_zip_w64(p, ALBUM_ZIP_END64_LEN - 12);
        p = album_zip_w16(p, (ALBUM_ZIP_HOST_UNIX << 8)
                             | ALBUM_ZIP_VERSION_ZIP64);
        p = album_zip_w16(p, ALBUM_ZIP_VERSION_ZIP64);
        p = album_zip_w32(p, 0);
        p = album_zip_w32(p, 0);
        p = album_zip_w64(p, n);
        p = album_zip_w64(p, n);
        p = album_zip_w64(p, ar->cd_size);
        p = album_zip_w64(p, ar->cd_offset);

        p = album_zip_w32(p, ALBUM_ZIP_SIG_LOCATOR64);
        p = album_zip_w32(p, 0);
        p = album_zip_w64(p, ar->cd_offset + ar->cd_size);
        p = album_zip_w32(p, 1);
    }

    p = album_zip_w32(p, ALBUM_ZIP_SIG_END);
    p = album_zip_w16(p, 0);
    p = album_zip_w16(p, 0);
    p = album_zip_w16(p, (uint32_t) (n >= ALBUM_ZIP_MAX16 ? ALBUM_ZIP_MAX16
                                                          : n));
    p = album_zip_w16(p, (uint32_t) (n >= ALBUM_ZIP_MAX16 ? ALBUM_ZIP_MAX16
                                                          : n));
    p = album_zip_w32(p, album_zip_field32(ar->cd_size));
    p = album_zip_w32(p, album_zip_field32(ar->cd_offset));
    p = album_zip_w16(p, 0);

    return p - start;
}


/* copies the part of a byte span that falls into the output window */

static void
album_zip_put(album_zip_out_t *out, const void *data, size_t len)
{
    size_t  room;

    if (out->skip >= len) {
        out->skip -= len;
        return;
    }

    data = (const uint8_t *) data + out->skip;
    len -= (size_t) out->skip;
    out->skip = 0;

    room = out->len - out->done;

    if (len > room) {
        len = room;
    }

    memcpy(out->buf + out->done, data, len);
    out->done += len;
}


size_t
album_zip_write_local_header(const album_zip_entry_t *e, uint8_t *buf)
{
    size_t  xlen;

    xlen = album_zip_local_fixed(e, buf, buf + ALBUM_ZIP_LOCAL_FIXED
                                         + e->name_len);

    memcpy(buf + ALBUM_ZIP_LOCAL_FIXED, e->name, e->name_len);

    return ALBUM_ZIP_LOCAL_FIXED + e->name_len + xlen;
}


size_t
album_zip_write_descriptor(album_zip_entry_t *e, uint32_t crc, uint8_t *buf)
{
    e->crc32 = crc;

    return album_zip_descriptor_bytes(e, crc, buf);
}


void
album_zip_cd_init(album_zip_cd_t *cd, const album_zip_archive_t *ar,
    uint64_t offset)
{
    size_t  lo, hi, mid;

    cd->ar = ar;
    cd->pos = offset;

    if (offset >= ar->cd_size) {
        cd->index = ar->nentries;
        return;
    }

    /* the last entry whose central header starts at or before offset */
    lo = 0;
    hi = ar->nentries - 1;

    while (lo < hi) {
        mid = lo + (hi - lo + 1) / 2;

        if (ar->entries[mid].cd_offset <= offset) {
            lo = mid;

        } else {
            hi = mid - 1;
        }
    }

    cd->index = lo;
}


size_t
album_zip_cd_write(album_zip_cd_t *cd, uint8_t *buf, size_t len)
{
    size_t                      xlen, before;
    uint64_t                    end, total;
    album_zip_out_t             out;
    const album_zip_entry_t    *e;
    const album_zip_archive_t  *ar;
    uint8_t                     head[ALBUM_ZIP_CENTRAL_FIXED];
    uint8_t                     extra[ALBUM_ZIP_EXTRA_MAX];
    uint8_t                     tail[ALBUM_ZIP_END_MAX];

    ar = cd->ar;
    total = ar->cd_size + ar->end_size;

    out.buf = buf;
    out.len = len;
    out.done = 0;

    while (out.done < out.len && cd->pos < total) {
        before = out.done;

        if (cd->index < ar->nentries) {
            e = &ar->entries[cd->index];
            end = e->cd_offset + album_zip_central_header_len(e);
            out.skip = cd->pos - e->cd_offset;

            xlen = album_zip_central_fixed(e, head, extra);

            album_zip_put(&out, head, sizeof(head));
            album_zip_put(&out, e->name, e->name_len);
            album_zip_put(&out, extra, xlen);

        } else {
            end = total;
            out.skip = cd->pos - ar->cd_size;

            album_zip_put(&out, tail, album_zip_end_bytes(ar, tail));
        }

        cd->pos += out.done - before;

        if (cd->pos == end && cd->index < ar->nentries) {
            cd->index++;
        }
    }

    return out.done;
}


int
album_zip_locate(const album_zip_archive_t *ar, uint64_t pos,
    album_zip_piece_t *piece)
{
    size_t                    lo, hi, mid;
    uint64_t                  start, len;
    const album_zip_entry_t  *e;

    if (pos >= ar->total) {
        return ALBUM_ZIP_EINVAL;
    }

    if (pos >= ar->cd_offset) {
        piece->kind = ALBUM_ZIP_PIECE_CENTRAL;
        piece->index = ar->nentries;
        piece->start = ar->cd_offset;
        piece->len = ar->cd_size + ar->end_size;
        piece->offset = pos - ar->cd_offset;

        return ALBUM_ZIP_OK;
    }

    /* the last entry whose local header starts at or before pos */
    lo = 0;
    hi = ar->nentries - 1;

    while (lo < hi) {
        mid = lo + (hi - lo + 1) / 2;

        if (ar->entries[mid].offset <= pos) {
            lo = mid;

        } else {
            hi = mid - 1;
        }
    }

    e = &ar->entries[lo];
    piece->index = lo;

    start = e->offset;
    len = album_zip_local_header_len(e);

    if (pos < start + len) {
        piece->kind = ALBUM_ZIP_PIECE_LOCAL_HEADER;
        goto found;
    }

    start += len;
    len = e->size;

    if (pos < start + len) {
        piece->kind = ALBUM_ZIP_PIECE_DATA;
        goto found;
    }

    start += len;
    len = album_zip_descriptor_len(e);
    piece->kind = ALBUM_ZIP_PIECE_DESCRIPTOR;

found:

    piece->start = start;
    piece->len = len;
    piece->offset = pos - start;

    return ALBUM_ZIP_OK;
}


size_t
album_zip_piece_write(const album_zip_archive_t *ar,
    const album_zip_piece_t *piece, uint8_t *buf, size_t len)
{
    size_t                    xlen;
    album_zip_cd_t            cd;
    album_zip_out_t           out;
    const album_zip_entry_t  *e;
    uint8_t                   head[ALBUM_ZIP_LOCAL_FIXED];
    uint8_t                   extra[ALBUM_ZIP_EXTRA_MAX];

    out.buf = buf;
    out.len = len;
    out.done = 0;
    out.skip = piece->offset;

    switch (piece->kind) {

    case ALBUM_ZIP_PIECE_LOCAL_HEADER:
        e = &ar->entries[piece->index];
        xlen = album_zip_local_fixed(e, head, extra);

        album_zip_put(&out, head, sizeof(head));
        album_zip_put(&out, e->name, e->name_len);
        album_zip_put(&out, extra, xlen);
        break;

    case ALBUM_ZIP_PIECE_DESCRIPTOR:
        e = &ar->entries[piece->index];
        xlen = album_zip_descriptor_bytes(e, e->crc32, extra);

        album_zip_put(&out, extra, xlen);
        break;

    case ALBUM_ZIP_PIECE_CENTRAL:
        album_zip_cd_init(&cd, ar, piece->offset);
        return album_zip_cd_write(&cd, buf, len);

    default:
        break;
    }

    return out.done;
}


uint32_t
album_zip_crc32(uint32_t crc, const void *data, size_t len)
{
    return libdeflate_crc32(crc, data, len);
}
