
/*
 * The store of uploads: content-addressed originals, their variants and
 * metadata, written so that a crash at any point leaves either the whole
 * upload or nothing under the final names.  POSIX calls only, no nginx
 * types; every call blocks (a thread-pool task's work).
 *
 * Layout, in the store directory <dir>:
 *
 *     <dir>/<key>.<ext>                the original (key: MD5, hex)
 *     <dir>/<key>.json                 its metadata
 *     <dir>/<preset>/<key>.<ext>       variants
 *     <dir>/.tmp/<key>.XXXXXX          files being written
 *     <dir>/.tmp/<key>.lock            the key's lock and commit intent
 *
 * One upload of a key is a transaction:
 *
 *   begin    lock <key>.lock (flock: released by the kernel when the
 *            process dies); roll back what a dead owner left: temporary
 *            files, and the files of an interrupted commit (below)
 *   exists   is the original there already (a duplicate)?
 *   stage    write a file's bytes to a temporary file, fsync it
 *   commit   write the intent (the original's name, then every other
 *            file's) into the lock file and fsync it; rename the
 *            variants and the metadata into place; link() the original
 *            last (never replacing one) and fsync the directories; clear
 *            the intent
 *   end      remove what was not committed, unlink and unlock the lock
 *
 * The original is the commit record: it appears last, complete.  A crash
 * before it leaves variants under final names only with an intent in the
 * lock file, and whoever takes the lock next (an upload of the same key,
 * or image_ingest_sweep() when a worker starts) removes them, since the
 * original is missing.
 */


#ifndef _IMAGE_INGEST_STORE_H_INCLUDED_
#define _IMAGE_INGEST_STORE_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


#define IMAGE_INGEST_STORE_OK         0
#define IMAGE_INGEST_STORE_ERROR    (-1)    /* see t->error */
#define IMAGE_INGEST_STORE_BUSY     (-2)    /* try-lock: held by another */

#define IMAGE_INGEST_KEY_LEN          32
#define IMAGE_INGEST_MAX_FILES        66    /* 64 variants, meta, original */
#define IMAGE_INGEST_REL_LEN          160   /* "<preset>/<key>.<ext>" */
#define IMAGE_INGEST_DIR_LEN          3072  /* the store's path */


typedef struct {
    char                  rel[IMAGE_INGEST_REL_LEN];   /* in the store */
    char                  temp[48];                    /* in .tmp */
    unsigned              committed:1;
} image_ingest_file_t;


typedef struct {
    const char           *dir;
    char                  key[IMAGE_INGEST_KEY_LEN + 1];
    int                   lock_fd;
    char                  lock_path[IMAGE_INGEST_DIR_LEN + 256];
    size_t                nfiles;
    image_ingest_file_t   files[IMAGE_INGEST_MAX_FILES];
    unsigned              recovered;          /* files rolled back */
    unsigned              intent:1;           /* a commit under way */
    int                   errnum;             /* errno of error, or 0 */
    char                  error[256];
} image_ingest_txn_t;


/* the MD5 of the bytes in lowercase hex, NUL-terminated */
void image_ingest_key(const void *data, size_t len,
    char key[IMAGE_INGEST_KEY_LEN + 1]);

/*
 * Locks key in the store dir (an absolute path, at most
 * IMAGE_INGEST_DIR_LEN bytes; it and its .tmp are created if missing),
 * waiting for another holder unless try is set (then BUSY), and rolls
 * back what a dead holder left.  t->dir points to dir until end.
 *
 * Every ERROR leaves a message in t->error and, when a system call
 * failed, its errno in t->errnum (ENOSPC, EDQUOT: the store is full).
 */
int image_ingest_begin(image_ingest_txn_t *t, const char *dir,
    const char *key, int try);

/* 1 when <dir>/<rel> exists, else 0 */
int image_ingest_exists(image_ingest_txn_t *t, const char *rel);

/*
 * Writes data to a new temporary file (mode 0644) and fsyncs it, to
 * become <dir>/<rel> on commit.  rel is "<name>" or "<subdir>/<name>",
 * of [A-Za-z0-9._-] with no name starting with ".".
 */
int image_ingest_stage(image_ingest_txn_t *t, const char *rel,
    const void *data, size_t len);

/*
 * Moves the staged files into place, the original last; original is the
 * rel of the original, staged or (for a duplicate that only gains
 * variants) already in place.
 */
int image_ingest_commit(image_ingest_txn_t *t, const char *original);

/*
 * Removes uncommitted temporary files, and undoes a commit that failed
 * before its original was in place; releases the lock.  Always works.
 */
void image_ingest_end(image_ingest_txn_t *t);

/*
 * Rolls back every transaction of the store whose holder died (try-lock
 * on each key with files in .tmp).  Returns the number of keys cleaned,
 * or -1 with a message in err when .tmp cannot be read (a missing .tmp
 * is 0).
 */
int image_ingest_sweep(const char *dir, char *err, size_t err_len);


#endif /* _IMAGE_INGEST_STORE_H_INCLUDED_ */
