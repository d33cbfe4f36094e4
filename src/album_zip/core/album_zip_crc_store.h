
/*
 * CRC-32s of local album files: computing one from the file, and a store
 * on disk that remembers them across downloads and restarts.
 *
 * A file is known by its key: device, inode, size and modification time
 * to the nanosecond.  A rewritten or replaced file has another key, so a
 * remembered CRC is never applied to other bytes (a file rewritten within
 * the same nanosecond keeping its size, inode and mtime is the one case a
 * key cannot tell; nothing that writes files does that).
 *
 * The store is a directory of small files, one per key, in 256
 * subdirectories: "<dir>/<xx>/<72 hex digits of the key>" holding the CRC
 * as 8 hex digits and a newline.  There is no index and no size limit: a
 * lookup is one open() and read(), an insertion one exclusive create and
 * one write() (safe for concurrent workers and threads).  A damaged or
 * truncated entry reads as absent, is removed and computed again.
 * Entries of files that changed stay behind: a periodic
 * "find <dir> -type f -atime +30 -delete" (or -mtime) removes them.
 *
 * Everything here blocks (file I/O): call it from a thread.  Nothing
 * allocates; the caller gives the read buffer.
 */


#ifndef _ALBUM_ZIP_CRC_STORE_H_INCLUDED_
#define _ALBUM_ZIP_CRC_STORE_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


#define ALBUM_ZIP_CRC_OK         0
#define ALBUM_ZIP_CRC_ABSENT     1    /* not in the store */
#define ALBUM_ZIP_CRC_CHANGED    2    /* the file is not the key's */
#define ALBUM_ZIP_CRC_ERROR    (-1)   /* errno says why */

/* "xx/" + 72 hex digits + NUL, after the directory and a '/' */
#define ALBUM_ZIP_CRC_NAME_LEN   (3 + 72 + 1)


typedef struct {
    uint64_t    dev;
    uint64_t    ino;
    int64_t     size;
    int64_t     mtime;
    int64_t     nsec;
} album_zip_file_key_t;


/*
 * The entry's path below the store: "xx/<hex>", NUL-terminated, into dst
 * (ALBUM_ZIP_CRC_NAME_LEN bytes); returns its length.
 */
size_t album_zip_crc_store_name(char *dst, const album_zip_file_key_t *key);

/* ALBUM_ZIP_CRC_OK and *crc, ALBUM_ZIP_CRC_ABSENT or ALBUM_ZIP_CRC_ERROR */
int album_zip_crc_store_get(const char *dir, const album_zip_file_key_t *key,
    uint32_t *crc);

/*
 * Remembers crc for key (creating the subdirectory when needed).  A
 * concurrent insertion of the same key makes one of them give up, which
 * is fine: both write the same CRC.  ALBUM_ZIP_CRC_OK or
 * ALBUM_ZIP_CRC_ERROR.
 */
int album_zip_crc_store_put(const char *dir, const album_zip_file_key_t *key,
    uint32_t crc);

/*
 * The CRC-32 of the file at path, read through buf (size bytes), if it
 * still is the key's file before and after the read:
 * ALBUM_ZIP_CRC_OK, ALBUM_ZIP_CRC_CHANGED or ALBUM_ZIP_CRC_ERROR.
 */
int album_zip_crc_file(const char *path, const album_zip_file_key_t *key,
    uint8_t *buf, size_t size, uint32_t *crc);


#endif /* _ALBUM_ZIP_CRC_STORE_H_INCLUDED_ */
