
/*
 * ZIP framing for streamed photo-album archives: stored (method 0)
 * members only, ZIP64 where needed, byte-for-byte deterministic.
 *
 * No member data passes through this code (except album_zip_crc32()).
 * The caller lays out an entry table once, then asks for the pieces
 * that cover any byte range of the archive: a local header, member
 * data (to be sent from the file, e.g. with sendfile), a data
 * descriptor, or the "central" piece (central directory + end records).
 *
 * Memory: nothing here allocates.  The caller owns the entry array (one
 * small struct per member plus its name bytes, which must stay valid
 * while the archive is served), the album_zip_archive_t and
 * album_zip_cd_t structs and all output buffers; with nginx all of them
 * come from the request pool.
 *
 * Typical use:
 *
 *     album_zip_layout(&ar, entries, n);        ar.total: Content-Length
 *                                               ar.determined: Range ok
 *     album_zip_locate(&ar, start, &piece);
 *     loop:
 *         DATA:  send piece.len - piece.offset bytes of member
 *                piece.index starting at file offset piece.offset;
 *         other: album_zip_piece_write(&ar, &piece, buf, size);
 *         album_zip_locate(&ar, piece.start + piece.len, &piece);
 *
 * For members without a known CRC (has_crc == 0) the archive is not
 * determined (stream_crc only moves a known CRC into a descriptor): it
 * must be sent from the start, the caller computes the CRC of the
 * member data with album_zip_crc32() while sending it and passes it to
 * album_zip_write_descriptor() (or stores it in entry->crc32) before
 * the descriptor and the central directory are produced.
 */


#ifndef _ALBUM_ZIP_FORMAT_H_INCLUDED_
#define _ALBUM_ZIP_FORMAT_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


#define ALBUM_ZIP_OK                 0
#define ALBUM_ZIP_EINVAL            (-1)
#define ALBUM_ZIP_EOVERFLOW         (-2)

/* the archive must stay addressable with a signed 64-bit off_t */
#define ALBUM_ZIP_MAX_SIZE          ((uint64_t) INT64_MAX)

#define ALBUM_ZIP_NAME_MAX          65535

/* fixed part + longest name + timestamp extra + ZIP64 extra */
#define ALBUM_ZIP_LOCAL_HEADER_MAX  (30 + ALBUM_ZIP_NAME_MAX + 9 + 20)
#define ALBUM_ZIP_DESCRIPTOR_MAX    24
#define ALBUM_ZIP_END_MAX           (56 + 20 + 22)


typedef enum {
    ALBUM_ZIP_PIECE_LOCAL_HEADER = 1,
    ALBUM_ZIP_PIECE_DATA,
    ALBUM_ZIP_PIECE_DESCRIPTOR,
    ALBUM_ZIP_PIECE_CENTRAL
} album_zip_piece_e;


typedef struct {
    /* set by the caller; zero the struct first */
    const char         *name;         /* not NUL-terminated, sanitised */
    size_t              name_len;     /* 1..65535 */
    uint64_t            size;         /* member data bytes */
    int64_t             mtime;        /* unix time, UTC */
    uint32_t            crc32;        /* valid if has_crc */
    unsigned            has_crc:1;    /* layout sets it for size 0 */
    unsigned            is_dir:1;     /* name ends in '/', size 0 */

    /*
     * A data descriptor even when the CRC is known: the bytes then do not
     * depend on whether the CRC was known in advance (a directory album
     * whose CRCs were remembered from an earlier download is the same
     * archive as its first download).
     */
    unsigned            stream_crc:1;

    /* set by album_zip_layout(), read-only for the caller */
    unsigned            descriptor:1; /* CRC comes after the data */
    unsigned            zip64_size:1;
    unsigned            zip64_offset:1;
    unsigned            utf8:1;
    unsigned            xtime:1;      /* has the 0x5455 extra field */
    uint16_t            dos_time;
    uint16_t            dos_date;
    uint64_t            offset;       /* local header, from archive start */
    uint64_t            cd_offset;    /* central header, from CD start */
} album_zip_entry_t;


typedef struct {
    album_zip_entry_t  *entries;
    size_t              nentries;
    uint64_t            cd_offset;    /* central directory start */
    uint64_t            cd_size;      /* central headers only */
    uint64_t            end_size;     /* ZIP64 end + locator + end */
    uint64_t            total;        /* archive size: Content-Length */
    size_t              bad_entry;    /* index, when layout fails */
    unsigned            zip64:1;      /* ZIP64 end records present */
    unsigned            determined:1; /* every CRC known: Range-able */
} album_zip_archive_t;


typedef struct {
    album_zip_piece_e   kind;
    size_t              index;        /* entry; nentries for CENTRAL */
    uint64_t            start;        /* piece start in the archive */
    uint64_t            len;          /* piece length, never 0 */
    uint64_t            offset;       /* position inside the piece */
} album_zip_piece_t;


/* resumable writer of the central piece (central directory + ends) */
typedef struct {
    const album_zip_archive_t  *ar;
    uint64_t                    pos;  /* offset inside the central piece */
    size_t                      index;
} album_zip_cd_t;


/*
 * Fills the private fields of every entry and the archive struct.
 * Returns ALBUM_ZIP_OK, ALBUM_ZIP_EINVAL (bad name length, a directory
 * with data or without the trailing '/', a file with it) or
 * ALBUM_ZIP_EOVERFLOW (archive larger than ALBUM_ZIP_MAX_SIZE); on
 * failure ar->bad_entry names the offending entry (nentries when the
 * end records overflowed).  O(n), no allocation.
 */
int album_zip_layout(album_zip_archive_t *ar, album_zip_entry_t *entries,
    size_t n);

/* piece sizes; valid after album_zip_layout() */
size_t album_zip_local_header_len(const album_zip_entry_t *e);
size_t album_zip_descriptor_len(const album_zip_entry_t *e);
size_t album_zip_central_header_len(const album_zip_entry_t *e);
uint64_t album_zip_data_offset(const album_zip_entry_t *e);
uint64_t album_zip_central_len(const album_zip_archive_t *ar);

/*
 * Whole-piece writers.  buf must hold album_zip_local_header_len(e)
 * (at most ALBUM_ZIP_LOCAL_HEADER_MAX) or ALBUM_ZIP_DESCRIPTOR_MAX
 * bytes; the length written is returned.  The descriptor writer also
 * stores crc in e->crc32 for the central directory.
 */
size_t album_zip_write_local_header(const album_zip_entry_t *e,
    uint8_t *buf);
size_t album_zip_write_descriptor(album_zip_entry_t *e, uint32_t crc,
    uint8_t *buf);

/*
 * Central piece writer: starts at "offset" inside the central piece
 * (0 for its first byte, O(log n) to find the place), then every call
 * writes up to len bytes and returns how many; 0 means the archive is
 * complete.  Output is identical however it is split.
 */
void album_zip_cd_init(album_zip_cd_t *cd, const album_zip_archive_t *ar,
    uint64_t offset);
size_t album_zip_cd_write(album_zip_cd_t *cd, uint8_t *buf, size_t len);

/*
 * Finds the piece holding archive byte "pos" in O(log n).  Returns
 * ALBUM_ZIP_EINVAL when pos >= ar->total.
 */
int album_zip_locate(const album_zip_archive_t *ar, uint64_t pos,
    album_zip_piece_t *piece);

/*
 * Writes up to len bytes of a non-DATA piece starting at piece->offset
 * and returns how many (0 for DATA pieces: they come from the file).
 */
size_t album_zip_piece_write(const album_zip_archive_t *ar,
    const album_zip_piece_t *piece, uint8_t *buf, size_t len);

/* running CRC-32 of member data; start with crc 0 */
uint32_t album_zip_crc32(uint32_t crc, const void *data, size_t len);


#endif /* _ALBUM_ZIP_FORMAT_H_INCLUDED_ */
