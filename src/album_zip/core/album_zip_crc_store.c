
/*
 * CRC-32s of local album files and their store on disk; see the header.
 */


#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "album_zip_format.h"
#include "album_zip_crc_store.h"


/* the store's path of a key: dir, '/', the name, NUL */
#define ALBUM_ZIP_CRC_PATH_MAX  4096


static const char  album_zip_hex[] = "0123456789abcdef";


static char *
album_zip_crc_hex(char *p, uint64_t v, int digits)
{
    int  i;

    for (i = digits - 1; i >= 0; i--) {
        p[i] = album_zip_hex[v & 0xf];
        v >>= 4;
    }

    return p + digits;
}


size_t
album_zip_crc_store_name(char *dst, const album_zip_file_key_t *key)
{
    char      *p;
    uint32_t   h;
    size_t     i;
    uint8_t    bytes[sizeof(album_zip_file_key_t)];

    /* the subdirectory: a hash of the key spreads keys of one device */
    memcpy(bytes, key, sizeof(bytes));

    h = 2166136261u;

    for (i = 0; i < sizeof(bytes); i++) {
        h = (h ^ bytes[i]) * 16777619u;
    }

    p = album_zip_crc_hex(dst, (h ^ (h >> 8) ^ (h >> 16) ^ (h >> 24)) & 0xff,
                          2);
    *p++ = '/';

    p = album_zip_crc_hex(p, key->dev, 16);
    p = album_zip_crc_hex(p, key->ino, 16);
    p = album_zip_crc_hex(p, (uint64_t) key->size, 16);
    p = album_zip_crc_hex(p, (uint64_t) key->mtime, 16);
    p = album_zip_crc_hex(p, (uint64_t) key->nsec, 8);
    *p = '\0';

    return p - dst;
}


static int
album_zip_crc_store_path(char *path, const char *dir,
    const album_zip_file_key_t *key)
{
    size_t  len;

    len = strlen(dir);

    if (len + 1 + ALBUM_ZIP_CRC_NAME_LEN > ALBUM_ZIP_CRC_PATH_MAX) {
        errno = ENAMETOOLONG;
        return ALBUM_ZIP_CRC_ERROR;
    }

    memcpy(path, dir, len);
    path[len++] = '/';

    return (int) (len + album_zip_crc_store_name(path + len, key));
}


int
album_zip_crc_store_get(const char *dir, const album_zip_file_key_t *key,
    uint32_t *crc)
{
    int          fd, i, d;
    char         path[ALBUM_ZIP_CRC_PATH_MAX];
    char         buf[16];
    ssize_t      n;
    uint32_t     v;
    struct stat  st;

    if (album_zip_crc_store_path(path, dir, key) < 0) {
        return ALBUM_ZIP_CRC_ERROR;
    }

    fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd == -1) {
        return (errno == ENOENT) ? ALBUM_ZIP_CRC_ABSENT : ALBUM_ZIP_CRC_ERROR;
    }

    n = read(fd, buf, sizeof(buf));

    if (n == 0 && fstat(fd, &st) == 0 && st.st_mtime >= time(NULL) - 60) {
        /* being written just now */
        (void) close(fd);
        return ALBUM_ZIP_CRC_ABSENT;
    }

    (void) close(fd);

    /* exactly 8 hex digits and a newline */
    v = 0;

    for (i = 0; n == 9 && buf[8] == '\n' && i < 8; i++) {
        d = (buf[i] >= '0' && buf[i] <= '9') ? buf[i] - '0'
            : (buf[i] >= 'a' && buf[i] <= 'f') ? buf[i] - 'a' + 10 : -1;

        if (d < 0) {
            break;
        }

        v = (v << 4) | (uint32_t) d;
    }

    if (i != 8) {
        /* damaged: removed, so that it is stored anew */
        (void) unlink(path);
        return ALBUM_ZIP_CRC_ABSENT;
    }

    *crc = v;

    return ALBUM_ZIP_CRC_OK;
}


int
album_zip_crc_store_put(const char *dir, const album_zip_file_key_t *key,
    uint32_t crc)
{
    int      fd, len, err;
    char     path[ALBUM_ZIP_CRC_PATH_MAX];
    char     buf[9];
    size_t   sub;

    len = album_zip_crc_store_path(path, dir, key);
    if (len < 0) {
        return ALBUM_ZIP_CRC_ERROR;
    }

    (void) album_zip_crc_hex(buf, crc, 8);
    buf[8] = '\n';

    /*
     * One write() of 9 bytes into a file only this call created: a
     * reader sees the entry whole, or empty or absent (and computes the
     * CRC itself); a writer that died midway leaves an entry that reads
     * as damaged, which get() removes.
     */

    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);

    if (fd == -1 && errno == ENOENT) {
        /* the first entry of its subdirectory */
        sub = strlen(dir) + 3;
        path[sub] = '\0';

        if (mkdir(path, 0755) == -1 && errno == ENOENT) {
            /* the store itself, once */
            path[sub - 3] = '\0';
            (void) mkdir(path, 0755);
            path[sub - 3] = '/';
        }

        if (mkdir(path, 0755) == -1 && errno != EEXIST) {
            return ALBUM_ZIP_CRC_ERROR;
        }

        path[sub] = '/';

        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    }

    if (fd == -1) {
        /* another thread or worker stored it meanwhile */
        return (errno == EEXIST) ? ALBUM_ZIP_CRC_OK : ALBUM_ZIP_CRC_ERROR;
    }

    if (write(fd, buf, sizeof(buf)) != (ssize_t) sizeof(buf)) {
        err = errno ? errno : EIO;
        (void) close(fd);
        (void) unlink(path);
        errno = err;
        return ALBUM_ZIP_CRC_ERROR;
    }

    if (close(fd) == -1) {
        return ALBUM_ZIP_CRC_ERROR;
    }

    return ALBUM_ZIP_CRC_OK;
}


static int
album_zip_crc_same(const struct stat *st, const album_zip_file_key_t *key)
{
    return (uint64_t) st->st_dev == key->dev
           && (uint64_t) st->st_ino == key->ino
           && (int64_t) st->st_size == key->size
           && (int64_t) st->st_mtim.tv_sec == key->mtime
           && (int64_t) st->st_mtim.tv_nsec == key->nsec;
}


int
album_zip_crc_file(const char *path, const album_zip_file_key_t *key,
    uint8_t *buf, size_t size, uint32_t *crc)
{
    int          fd, err;
    ssize_t      n;
    int64_t      left;
    uint32_t     v;
    struct stat  st;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd == -1) {
        return (errno == ENOENT) ? ALBUM_ZIP_CRC_CHANGED : ALBUM_ZIP_CRC_ERROR;
    }

    if (fstat(fd, &st) == -1) {
        goto failed;
    }

    if (!album_zip_crc_same(&st, key)) {
        (void) close(fd);
        return ALBUM_ZIP_CRC_CHANGED;
    }

#ifdef POSIX_FADV_SEQUENTIAL
    (void) posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif

    v = 0;
    left = key->size;

    while (left > 0) {
        n = read(fd, buf, (size_t) left < size ? (size_t) left : size);

        if (n == -1) {
            if (errno == EINTR) {
                continue;
            }

            goto failed;
        }

        if (n == 0) {
            /* shorter than its key: it is being rewritten */
            (void) close(fd);
            return ALBUM_ZIP_CRC_CHANGED;
        }

        v = album_zip_crc32(v, buf, (size_t) n);
        left -= n;
    }

    if (fstat(fd, &st) == -1) {
        goto failed;
    }

    (void) close(fd);

    if (!album_zip_crc_same(&st, key)) {
        return ALBUM_ZIP_CRC_CHANGED;
    }

    *crc = v;

    return ALBUM_ZIP_CRC_OK;

failed:

    err = errno;
    (void) close(fd);
    errno = err;

    return ALBUM_ZIP_CRC_ERROR;
}
