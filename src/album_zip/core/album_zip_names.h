
/*
 * Member names for album ZIPs: sanitising to safe relative paths,
 * de-duplication, and the archive's own name for Content-Disposition.
 *
 * Memory: the sanitisers write into a caller buffer of the documented
 * bound.  album_zip_names_dedup() takes memory from caller-supplied
 * allocator hooks and never frees: with nginx the hooks allocate from
 * the request pool, which is freed as a whole; elsewhere use an arena
 * (the unit tests do).  Everything is deterministic: the output depends
 * on the input bytes and their order only.
 */


#ifndef _ALBUM_ZIP_NAMES_H_INCLUDED_
#define _ALBUM_ZIP_NAMES_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


#define ALBUM_ZIP_OK                   0
#define ALBUM_ZIP_EINVAL             (-1)
#define ALBUM_ZIP_ENOMEM             (-3)

#define ALBUM_ZIP_NAME_MAX             65535   /* ZIP name field */
#define ALBUM_ZIP_NAME_COMPONENT_MAX   255     /* common file systems */

/* the name used when nothing is left of the input */
#define ALBUM_ZIP_NAME_FALLBACK        "unnamed"
#define ALBUM_ZIP_NAME_DOWNLOAD        "download"

/* buffer sizes for len input bytes, including the terminating NUL */
#define ALBUM_ZIP_NAME_BOUND(len)      ((len) + sizeof("unnamed/"))
#define ALBUM_ZIP_ASCII_BOUND(len)     ((len) + sizeof("download"))
#define ALBUM_ZIP_RFC5987_BOUND(len)   (3 * (len) + 3 * sizeof("download"))
#define ALBUM_ZIP_DISPOSITION_BOUND(len)                                      \
    (sizeof("attachment; filename=\"\"; filename*=UTF-8''")                   \
     + ALBUM_ZIP_ASCII_BOUND(len) + ALBUM_ZIP_RFC5987_BOUND(len))


typedef struct {
    void               *(*alloc)(void *ctx, size_t size);
    void                *ctx;
} album_zip_alloc_t;


typedef struct {
    const char          *data;      /* not necessarily NUL-terminated */
    size_t               len;
    unsigned             omit:1;    /* set by dedup: repeated directory */
} album_zip_name_t;


/*
 * Makes src (len bytes, any content) a safe relative member name:
 *   - '\\' becomes '/', leading '/' and drive letters ("C:") go away;
 *   - empty, "." and ".." components, and any component made of dots
 *     and spaces only (Windows trims those to "." or ".."), are dropped,
 *     so a name can never climb out of the extraction directory;
 *   - C0 controls, DEL and C1 controls are removed;
 *   - every byte that is not part of a valid UTF-8 sequence (RFC 3629:
 *     no overlongs, surrogates or values above U+10FFFF) becomes '_';
 *   - components are cut to 255 bytes keeping an extension of up to
 *     16 bytes, the whole name to 65535 bytes keeping the last
 *     component, never inside a UTF-8 sequence;
 *   - nothing left gives "unnamed";
 *   - is_dir adds the trailing '/', otherwise there is none.
 * dst must hold ALBUM_ZIP_NAME_BOUND(len) bytes; the result is
 * NUL-terminated, its length (1..65535) is returned.  The function is
 * idempotent.  O(len), no allocation.
 */
size_t album_zip_name_sanitize(char *dst, const char *src, size_t len,
    unsigned is_dir);

/*
 * Makes the n sanitised names unique, keeping the first of equal names
 * and renaming the later ones "stem (k).ext", k = 2, 3, ...; "ext"
 * starts at the last dot of the last component ("a.tar.gz" becomes
 * "a.tar (2).gz"), a leading dot does not count (".hidden (2)").  A
 * generated name is unique against every name of the set, including
 * later ones: "a.jpg", "a.jpg", "a (2).jpg" gives "a (3).jpg" for the
 * second.  Comparison is byte-wise, so case-sensitive: case folding
 * depends on the extracting file system (NTFS tables, APFS, HFS+
 * normalisation) and cannot be done right here; an extractor on a
 * case-insensitive system asks or renames.  A repeated directory gets
 * "omit" set instead: it is the same directory, drop that entry.
 *
 * Renamed entries get data from alloc.  seed keys the hash (SipHash) so
 * that crafted names cannot flood it; pass a random value, the result
 * does not depend on it.  Expected O(n) time, O(n) memory.  Returns
 * ALBUM_ZIP_OK, ALBUM_ZIP_ENOMEM or ALBUM_ZIP_EINVAL (n >= 2^31).
 */
int album_zip_names_dedup(album_zip_name_t *names, size_t n,
    const album_zip_alloc_t *alloc, uint64_t seed);

/*
 * The archive's own name for Content-Disposition.  Invalid UTF-8 is
 * '_', controls are dropped, '/' and '\\' become '_'.
 *
 * album_zip_name_ascii(): the quoted-string value of filename="...":
 * printable ASCII only, '"', '\\', '%' and every non-ASCII character
 * become '_'; dst holds ALBUM_ZIP_ASCII_BOUND(len).
 *
 * album_zip_name_rfc5987(): the value of filename*=UTF-8''...: UTF-8
 * with everything but RFC 5987 attr-chars percent-encoded; dst holds
 * ALBUM_ZIP_RFC5987_BOUND(len).
 *
 * album_zip_content_disposition(): the whole header value
 * "attachment; filename=\"...\"; filename*=UTF-8''..."; dst holds
 * ALBUM_ZIP_DISPOSITION_BOUND(len).
 *
 * An empty result is "download".  All return the length and add a NUL.
 */
size_t album_zip_name_ascii(char *dst, const char *src, size_t len);
size_t album_zip_name_rfc5987(char *dst, const char *src, size_t len);
size_t album_zip_content_disposition(char *dst, const char *src,
    size_t len);

/*
 * The file name a Content-Disposition header value (len bytes) gives:
 * the UTF-8 "filename*" (RFC 6266, 5987) if there is one, else the
 * "filename" parameter, unquoted; its raw bytes, to be sanitised like
 * any name.  dst holds ALBUM_ZIP_DISPOSITION_NAME_BOUND(len) bytes (it
 * is also the scratch space); returns the length, 0 for no name.
 */
#define ALBUM_ZIP_DISPOSITION_NAME_BOUND(len)  (3 * ((len) + 1))

size_t album_zip_disposition_name(char *dst, const char *value, size_t len);


#endif /* _ALBUM_ZIP_NAMES_H_INCLUDED_ */
