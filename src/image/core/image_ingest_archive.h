
/*
 * Archive uploads (image_ingest_archive): a zip, tar (plain, gzip, bzip2,
 * xz) or 7z body read as a stream with libarchive, one entry at a time,
 * never extracted to disk.  This file classifies each entry (an image to
 * ingest, or skipped, or refused, and why), enforces the limits (entries,
 * total uncompressed bytes, the compression ratio of an entry, the size
 * of an entry), turns the entry's name into UTF-8 without control
 * characters (a name is metadata only, never a path) and writes the
 * per-entry results as JSON.  No nginx types: a unit test and a libFuzzer
 * target link it.
 *
 * The body is read through the caller's pread-like callback in blocks of
 * IMAGE_INGEST_ARCHIVE_BLOCK bytes, so that memory stays bounded by one
 * entry (at most max_entry bytes) and one block, and so that the input
 * consumed by an entry is known to within a block (the ratio check).
 */


#ifndef _IMAGE_INGEST_ARCHIVE_H_INCLUDED_
#define _IMAGE_INGEST_ARCHIVE_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "image_ingest_json.h"


#define IMAGE_INGEST_ARCHIVE_BLOCK      65536

/* a name in the results: at most this many bytes of UTF-8, then "..." */
#define IMAGE_INGEST_ARCHIVE_NAME_MAX   1024

/* an entry's ratio is checked once it has produced this much */
#define IMAGE_INGEST_ARCHIVE_RATIO_MIN  (1024 * 1024)


/* image_ingest_archive_next() */
#define IMAGE_INGEST_ARCHIVE_ENTRY      0   /* e filled in */
#define IMAGE_INGEST_ARCHIVE_END        1   /* no more entries */
#define IMAGE_INGEST_ARCHIVE_STOP     (-1)  /* see a->error; a->stopped */


/* what an entry is */
typedef enum {
    IMAGE_INGEST_ARCHIVE_IMAGE = 0,     /* e->data, e->len: ingest it */
    IMAGE_INGEST_ARCHIVE_SKIPPED,       /* e->reason */
    IMAGE_INGEST_ARCHIVE_REFUSED        /* e->reason */
} image_ingest_archive_class_e;


/* the first bytes of a body or of an entry */
typedef enum {
    IMAGE_INGEST_ARCHIVE_SNIFF_OTHER = 0,
    IMAGE_INGEST_ARCHIVE_SNIFF_IMAGE,
    IMAGE_INGEST_ARCHIVE_SNIFF_ARCHIVE  /* zip, 7z, gzip, bzip2, xz, tar */
} image_ingest_archive_sniff_e;


/* reads up to len bytes at offset off; returns the count, or -1 */
typedef ssize_t (*image_ingest_archive_read_pt)(void *data, void *buf,
    size_t len, uint64_t off);


typedef struct {
    uint64_t                       max_entries;
    uint64_t                       max_bytes;    /* uncompressed, total */
    uint64_t                       max_ratio;    /* uncompressed : input */
    uint64_t                       max_entry;    /* image_ingest_max_size */
} image_ingest_archive_limits_t;


typedef struct {
    image_ingest_archive_class_e   cls;
    char                           name[IMAGE_INGEST_ARCHIVE_NAME_MAX + 4];
    char                           mtime[24];    /* "" when not set */
    const char                    *reason;
    unsigned char                 *data;         /* the archive's buffer */
    size_t                         len;
} image_ingest_archive_entry_t;


typedef struct image_ingest_archive_s  image_ingest_archive_t;


/* counts of the results so far */
typedef struct {
    uint64_t                       entries;      /* headers read */
    uint64_t                       stored;
    uint64_t                       duplicates;
    uint64_t                       skipped;
    uint64_t                       refused;
    uint64_t                       bytes;        /* uncompressed so far */
} image_ingest_archive_counts_t;


/* what the first bytes of data are (len: as many as there are, <= 512) */
image_ingest_archive_sniff_e image_ingest_archive_sniff(const void *data,
    size_t len);

/*
 * A name as UTF-8 without control characters: invalid sequences and
 * control characters (C0, DEL, C1) become U+FFFD; cut to
 * IMAGE_INGEST_ARCHIVE_NAME_MAX bytes at a character boundary, with
 * "..." appended then.  out has IMAGE_INGEST_ARCHIVE_NAME_MAX + 4 bytes;
 * returns the length written (NUL-terminated).
 */
size_t image_ingest_archive_name(const char *in, size_t len, char *out);

/*
 * NULL for an ordinary name, else why it is skipped unread: ".DS_Store",
 * "Thumbs.db", "desktop.ini", "._*" (AppleDouble), anything in
 * "__MACOSX/".
 */
const char *image_ingest_archive_junk(const char *name);

/* 1 when the name ends in an archive's extension (.zip, .tar.gz, ...) */
int image_ingest_archive_nested_name(const char *name);

/*
 * Opens the body (size bytes, read through read(data, ...)) with
 * libarchive: zip, tar, 7z; gzip, bzip2, xz.  NULL when out of memory,
 * or when libarchive takes no format: err says why.
 */
image_ingest_archive_t *image_ingest_archive_open(
    image_ingest_archive_read_pt read, void *data, uint64_t size,
    const image_ingest_archive_limits_t *limits, char *err, size_t err_len);

/*
 * The next entry, classified; an image's bytes are read whole into the
 * archive's buffer (valid until the next call).  STOP ends the archive:
 * corrupt or truncated, a limit passed, a compression bomb; a->error
 * (image_ingest_archive_error()) says why, and an entry that caused it
 * is still returned as refused first (ENTRY, then STOP on the next
 * call).
 */
int image_ingest_archive_next(image_ingest_archive_t *a,
    image_ingest_archive_entry_t *e);

/* stops the archive for the caller's reason (a store that failed) */
void image_ingest_archive_abort(image_ingest_archive_t *a, const char *why);

/* why the archive stopped, or NULL */
const char *image_ingest_archive_error(image_ingest_archive_t *a);

const image_ingest_archive_counts_t *image_ingest_archive_counts(
    image_ingest_archive_t *a);

/*
 * Records one entry's result in archive order: "stored", "duplicate",
 * "skipped" or "refused", with the single upload's response JSON (info,
 * for stored and duplicate) or a reason.  -1 when out of memory.
 */
int image_ingest_archive_result(image_ingest_archive_t *a,
    const image_ingest_archive_entry_t *e, const char *status,
    const image_ingest_info_t *info, const char *reason);

/*
 * {"entries": [..], "stored": N, "duplicates": N, "skipped": N,
 *  "refused": N} with "error": ".." when the archive stopped early;
 * malloc()ed, *len set; NULL when out of memory.
 */
char *image_ingest_archive_json(image_ingest_archive_t *a, size_t *len);

/*
 * The batch notification: {"archive": true, "images": [<each stored
 * image's notification>], "stored": N}; images are added one by one.
 */
int image_ingest_archive_batch_add(image_ingest_archive_t *a,
    const char *json, size_t len);
char *image_ingest_archive_batch_json(image_ingest_archive_t *a,
    size_t *len);

void image_ingest_archive_close(image_ingest_archive_t *a);


#endif /* _IMAGE_INGEST_ARCHIVE_H_INCLUDED_ */
