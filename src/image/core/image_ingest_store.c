
/*
 * The store's transactions; see the header for the protocol.
 */


#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "image_ingest_store.h"


#define IMAGE_INGEST_PATH_LEN  (IMAGE_INGEST_DIR_LEN + 256)

/* the intent: one rel per line, the original first */
#define IMAGE_INGEST_INTENT_LEN  (IMAGE_INGEST_MAX_FILES                      \
                                  * IMAGE_INGEST_REL_LEN)


static int image_ingest_lock(image_ingest_txn_t *t, int try);
static int image_ingest_recover(image_ingest_txn_t *t);
static void image_ingest_remove_temps(image_ingest_txn_t *t);
static int image_ingest_rel_ok(const char *rel);
static int image_ingest_path(char *buf, const char *dir, const char *a,
    const char *b);
static int image_ingest_mkdir(const char *path);
static int image_ingest_fsync_dir(const char *path);
static int image_ingest_write_all(int fd, const void *data, size_t len);
static int image_ingest_fail(image_ingest_txn_t *t, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;


void
image_ingest_key(const void *data, size_t len,
    char key[IMAGE_INGEST_KEY_LEN + 1])
{
    unsigned       i, n;
    unsigned char  md[EVP_MAX_MD_SIZE];

    static const char  hex[] = "0123456789abcdef";

    n = 0;

    if (EVP_Digest(data, len, md, &n, EVP_md5(), NULL) != 1 || n != 16) {
        memset(md, 0, 16);
    }

    for (i = 0; i < 16; i++) {
        key[i * 2] = hex[md[i] >> 4];
        key[i * 2 + 1] = hex[md[i] & 0xf];
    }

    key[IMAGE_INGEST_KEY_LEN] = '\0';
}


int
image_ingest_begin(image_ingest_txn_t *t, const char *dir, const char *key,
    int try)
{
    int   rc;
    char  tmp[IMAGE_INGEST_PATH_LEN];

    t->dir = dir;
    t->lock_fd = -1;
    t->nfiles = 0;
    t->recovered = 0;
    t->intent = 0;
    t->errnum = 0;
    t->error[0] = '\0';

    if (strlen(dir) > IMAGE_INGEST_DIR_LEN || dir[0] != '/'
        || strlen(key) != IMAGE_INGEST_KEY_LEN)
    {
        return image_ingest_fail(t, "bad store path or key");
    }

    memcpy(t->key, key, IMAGE_INGEST_KEY_LEN + 1);

    if (image_ingest_mkdir(dir) != 0) {
        return image_ingest_fail(t, "mkdir(\"%s\") failed: %m", dir);
    }

    (void) image_ingest_path(tmp, dir, ".tmp", NULL);

    if (image_ingest_mkdir(tmp) != 0) {
        return image_ingest_fail(t, "mkdir(\"%s\") failed: %m", tmp);
    }

    rc = image_ingest_lock(t, try);
    if (rc != IMAGE_INGEST_STORE_OK) {
        return rc;
    }

    if (image_ingest_recover(t) != 0) {
        image_ingest_end(t);
        return IMAGE_INGEST_STORE_ERROR;
    }

    return IMAGE_INGEST_STORE_OK;
}


int
image_ingest_exists(image_ingest_txn_t *t, const char *rel)
{
    char         path[IMAGE_INGEST_PATH_LEN];
    struct stat  st;

    if (image_ingest_path(path, t->dir, rel, NULL) != 0) {
        return 0;
    }

    return stat(path, &st) == 0;
}


int
image_ingest_stage(image_ingest_txn_t *t, const char *rel, const void *data,
    size_t len)
{
    int                   fd;
    char                  path[IMAGE_INGEST_PATH_LEN];
    image_ingest_file_t  *f;

    if (t->lock_fd == -1) {
        return image_ingest_fail(t, "stage: no transaction");
    }

    if (t->nfiles == IMAGE_INGEST_MAX_FILES) {
        return image_ingest_fail(t, "stage: too many files");
    }

    if (!image_ingest_rel_ok(rel)) {
        return image_ingest_fail(t, "stage: bad name \"%.64s\"", rel);
    }

    f = &t->files[t->nfiles];
    f->committed = 0;

    snprintf(f->rel, sizeof(f->rel), "%s", rel);
    snprintf(f->temp, sizeof(f->temp), "%s.XXXXXX", t->key);

    (void) image_ingest_path(path, t->dir, ".tmp", f->temp);

    fd = mkstemp(path);
    if (fd == -1) {
        return image_ingest_fail(t, "mkstemp(\"%s\") failed: %m", path);
    }

    /* the name mkstemp() chose, for commit and clean-up */
    memcpy(f->temp, path + strlen(path) - strlen(f->temp),
           strlen(f->temp));
    t->nfiles++;

    if (fchmod(fd, 0644) != 0
        || image_ingest_write_all(fd, data, len) != 0
        || fsync(fd) != 0)
    {
        (void) image_ingest_fail(t, "writing \"%s\" failed: %m", path);
        (void) close(fd);
        return IMAGE_INGEST_STORE_ERROR;
    }

    if (close(fd) != 0) {
        return image_ingest_fail(t, "close(\"%s\") failed: %m", path);
    }

    return IMAGE_INGEST_STORE_OK;
}


int
image_ingest_commit(image_ingest_txn_t *t, const char *original)
{
    char                  intent[IMAGE_INGEST_INTENT_LEN];
    char                  from[IMAGE_INGEST_PATH_LEN];
    char                  to[IMAGE_INGEST_PATH_LEN];
    char                  sub[IMAGE_INGEST_PATH_LEN];
    char                 *slash;
    size_t                i, n;
    image_ingest_file_t  *f, *orig;

    if (t->lock_fd == -1 || !image_ingest_rel_ok(original)) {
        return image_ingest_fail(t, "commit: no transaction");
    }

    /* the intent: what to remove should the original never appear */

    n = (size_t) snprintf(intent, sizeof(intent), "%s\n", original);
    orig = NULL;

    for (i = 0; i < t->nfiles; i++) {
        f = &t->files[i];

        if (strcmp(f->rel, original) == 0) {
            orig = f;
            continue;
        }

        n += (size_t) snprintf(intent + n, sizeof(intent) - n, "%s\n",
                               f->rel);
    }

    if (ftruncate(t->lock_fd, 0) != 0
        || pwrite(t->lock_fd, intent, n, 0) != (ssize_t) n
        || fsync(t->lock_fd) != 0)
    {
        return image_ingest_fail(t, "writing the intent to \"%s\" "
                                 "failed: %m", t->lock_path);
    }

    t->intent = 1;

    /* variants and metadata: complete files, renamed into place */

    for (i = 0; i < t->nfiles; i++) {
        f = &t->files[i];

        if (f == orig) {
            continue;
        }

        (void) image_ingest_path(from, t->dir, ".tmp", f->temp);
        (void) image_ingest_path(to, t->dir, f->rel, NULL);

        slash = strchr(f->rel, '/');

        if (slash) {
            snprintf(sub, sizeof(sub), "%s/%.*s", t->dir,
                     (int) (slash - f->rel), f->rel);

            if (image_ingest_mkdir(sub) != 0) {
                return image_ingest_fail(t, "mkdir(\"%s\") failed: %m",
                                         sub);
            }
        }

        if (rename(from, to) != 0) {
            return image_ingest_fail(t, "rename(\"%s\", \"%s\") failed: %m",
                                     from, to);
        }

        f->committed = 1;

        if (slash && image_ingest_fsync_dir(sub) != 0) {
            return image_ingest_fail(t, "fsync(\"%s\") failed: %m", sub);
        }
    }

    if (image_ingest_fsync_dir(t->dir) != 0) {
        return image_ingest_fail(t, "fsync(\"%s\") failed: %m", t->dir);
    }

    /* the original last: link() never replaces a file */

    if (orig) {
        (void) image_ingest_path(from, t->dir, ".tmp", orig->temp);
        (void) image_ingest_path(to, t->dir, orig->rel, NULL);

        if (link(from, to) != 0 && errno != EEXIST) {
            return image_ingest_fail(t, "link(\"%s\", \"%s\") failed: %m",
                                     from, to);
        }

        (void) unlink(from);
        orig->committed = 1;

        if (image_ingest_fsync_dir(t->dir) != 0) {
            return image_ingest_fail(t, "fsync(\"%s\") failed: %m",
                                     t->dir);
        }
    }

    /* done: nothing to roll back */

    t->intent = 0;

    if (ftruncate(t->lock_fd, 0) != 0) {
        return image_ingest_fail(t, "ftruncate(\"%s\") failed: %m",
                                 t->lock_path);
    }

    return IMAGE_INGEST_STORE_OK;
}


void
image_ingest_end(image_ingest_txn_t *t)
{
    size_t  i;
    char    path[IMAGE_INGEST_PATH_LEN];

    /*
     * A commit that failed (a full disk, say) after renaming some files:
     * the intent is in the lock file, and the original is not in place
     * (it is linked last and only then the intent cleared).  Roll back
     * now, as a later holder would.
     */

    if (t->intent && t->lock_fd != -1) {
        (void) image_ingest_recover(t);
        t->intent = 0;
    }

    for (i = 0; i < t->nfiles; i++) {
        if (!t->files[i].committed) {
            (void) image_ingest_path(path, t->dir, ".tmp",
                                     t->files[i].temp);
            (void) unlink(path);
        }
    }

    t->nfiles = 0;

    if (t->lock_fd != -1) {
        /* unlinked while locked: a waiter then finds another inode */
        (void) unlink(t->lock_path);
        (void) close(t->lock_fd);
        t->lock_fd = -1;
    }
}


int
image_ingest_sweep(const char *dir, char *err, size_t err_len)
{
    int                  n, rc;
    DIR                 *d;
    char                 tmp[IMAGE_INGEST_PATH_LEN];
    char                 key[IMAGE_INGEST_KEY_LEN + 1];
    size_t               i;
    struct stat          st;
    struct dirent       *de;
    image_ingest_txn_t  *t;

    if (image_ingest_path(tmp, dir, ".tmp", NULL) != 0) {
        snprintf(err, err_len, "path too long");
        return -1;
    }

    d = opendir(tmp);
    if (d == NULL) {
        if (errno == ENOENT) {
            return 0;
        }

        snprintf(err, err_len, "opendir(\"%s\") failed: %m", tmp);
        return -1;
    }

    t = malloc(sizeof(image_ingest_txn_t));
    if (t == NULL) {
        (void) closedir(d);
        snprintf(err, err_len, "out of memory");
        return -1;
    }

    n = 0;

    while ((de = readdir(d)) != NULL) {
        if (strlen(de->d_name) <= IMAGE_INGEST_KEY_LEN
            || de->d_name[IMAGE_INGEST_KEY_LEN] != '.')
        {
            continue;
        }

        for (i = 0; i < IMAGE_INGEST_KEY_LEN; i++) {
            key[i] = de->d_name[i];

            if (!((key[i] >= '0' && key[i] <= '9')
                  || (key[i] >= 'a' && key[i] <= 'f')))
            {
                break;
            }
        }

        if (i < IMAGE_INGEST_KEY_LEN) {
            continue;
        }

        key[IMAGE_INGEST_KEY_LEN] = '\0';

        /*
         * One upload leaves several entries (its lock, its temporary
         * files): the first rolls the key back and removes them all, and
         * readdir() may still return the others.  Gone: counted already.
         */

        if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
            continue;
        }

        /* begin() rolls back, end() removes the lock file */

        rc = image_ingest_begin(t, dir, key, 1);

        if (rc == IMAGE_INGEST_STORE_OK) {
            n++;
            image_ingest_end(t);
        }
    }

    (void) closedir(d);
    free(t);

    return n;
}


/*
 * The key's lock.  The file may be unlinked by its previous holder
 * between our open() and flock(): then it is not the file at the path
 * any more, and we start again.
 */

static int
image_ingest_lock(image_ingest_txn_t *t, int try)
{
    int          fd, rc;
    struct stat  a, b;

    if (image_ingest_path(t->lock_path, t->dir, ".tmp", t->key) != 0
        || strlen(t->lock_path) + 6 > sizeof(t->lock_path))
    {
        return image_ingest_fail(t, "path too long");
    }

    strcat(t->lock_path, ".lock");

    for ( ;; ) {
        fd = open(t->lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (fd == -1) {
            return image_ingest_fail(t, "open(\"%s\") failed: %m",
                                     t->lock_path);
        }

        do {
            rc = flock(fd, LOCK_EX | (try ? LOCK_NB : 0));
        } while (rc == -1 && errno == EINTR);

        if (rc == -1) {
            if (errno == EWOULDBLOCK) {
                (void) close(fd);
                return IMAGE_INGEST_STORE_BUSY;
            }

            (void) image_ingest_fail(t, "flock(\"%s\") failed: %m",
                                     t->lock_path);
            (void) close(fd);
            return IMAGE_INGEST_STORE_ERROR;
        }

        if (fstat(fd, &a) == 0 && stat(t->lock_path, &b) == 0
            && a.st_dev == b.st_dev && a.st_ino == b.st_ino)
        {
            t->lock_fd = fd;
            return IMAGE_INGEST_STORE_OK;
        }

        (void) close(fd);
    }
}


/*
 * What a dead holder of the lock left: its temporary files, and, when
 * its commit did not reach the original, the files it had already moved
 * into place.
 */

static int
image_ingest_recover(image_ingest_txn_t *t)
{
    char     intent[IMAGE_INGEST_INTENT_LEN + 1];
    char     path[IMAGE_INGEST_PATH_LEN];
    char    *line, *next;
    ssize_t  n;

    image_ingest_remove_temps(t);

    n = pread(t->lock_fd, intent, IMAGE_INGEST_INTENT_LEN, 0);

    if (n < 0) {
        return image_ingest_fail(t, "reading \"%s\" failed: %m",
                                 t->lock_path);
    }

    if (n == 0) {
        return 0;
    }

    intent[n] = '\0';

    next = strchr(intent, '\n');

    if (next != NULL) {
        *next++ = '\0';

        if (image_ingest_rel_ok(intent) && !image_ingest_exists(t, intent)) {
            for (line = next; *line; line = next) {
                next = strchr(line, '\n');
                if (next == NULL) {
                    break;      /* a torn last line: never was renamed */
                }

                *next++ = '\0';

                if (image_ingest_rel_ok(line)
                    && image_ingest_path(path, t->dir, line, NULL) == 0
                    && unlink(path) == 0)
                {
                    t->recovered++;
                }
            }
        }
    }

    if (ftruncate(t->lock_fd, 0) != 0 || fsync(t->lock_fd) != 0) {
        return image_ingest_fail(t, "ftruncate(\"%s\") failed: %m",
                                 t->lock_path);
    }

    return 0;
}


/* <key>.* in .tmp but the lock: only the lock's holder can make them */

static void
image_ingest_remove_temps(image_ingest_txn_t *t)
{
    DIR            *d;
    char            path[IMAGE_INGEST_PATH_LEN];
    struct dirent  *de;

    (void) image_ingest_path(path, t->dir, ".tmp", NULL);

    d = opendir(path);
    if (d == NULL) {
        return;
    }

    while ((de = readdir(d)) != NULL) {
        if (strncmp(de->d_name, t->key, IMAGE_INGEST_KEY_LEN) != 0
            || de->d_name[IMAGE_INGEST_KEY_LEN] != '.'
            || strcmp(de->d_name + IMAGE_INGEST_KEY_LEN, ".lock") == 0)
        {
            continue;
        }

        if (image_ingest_path(path, t->dir, ".tmp", de->d_name) == 0
            && unlink(path) == 0)
        {
            t->recovered++;
        }
    }

    (void) closedir(d);
}


/* "name" or "dir/name": [A-Za-z0-9._-], no part empty or starting "." */

static int
image_ingest_rel_ok(const char *rel)
{
    int          slashes;
    const char  *p;

    if (rel == NULL || rel[0] == '\0' || rel[0] == '.' || rel[0] == '/'
        || strlen(rel) >= IMAGE_INGEST_REL_LEN)
    {
        return 0;
    }

    slashes = 0;

    for (p = rel; *p; p++) {
        if (*p == '/') {
            if (++slashes > 1 || p[1] == '\0' || p[1] == '.') {
                return 0;
            }

            continue;
        }

        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
              || (*p >= '0' && *p <= '9') || *p == '.' || *p == '_'
              || *p == '-'))
        {
            return 0;
        }
    }

    return 1;
}


/* dir "/" a ["/" b]; -1 when it does not fit */

static int
image_ingest_path(char *buf, const char *dir, const char *a, const char *b)
{
    int  n;

    if (b) {
        n = snprintf(buf, IMAGE_INGEST_PATH_LEN, "%s/%s/%s", dir, a, b);

    } else {
        n = snprintf(buf, IMAGE_INGEST_PATH_LEN, "%s/%s", dir, a);
    }

    return (n < 0 || n >= IMAGE_INGEST_PATH_LEN) ? -1 : 0;
}


static int
image_ingest_mkdir(const char *path)
{
    if (mkdir(path, 0755) == 0 || errno == EEXIST) {
        return 0;
    }

    return -1;
}


static int
image_ingest_fsync_dir(const char *path)
{
    int  fd, rc;

    fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd == -1) {
        return -1;
    }

    rc = fsync(fd);
    (void) close(fd);

    return rc;
}


static int
image_ingest_write_all(int fd, const void *data, size_t len)
{
    ssize_t      n;
    const char  *p;

    p = data;

    while (len) {
        n = write(fd, p, len);

        if (n == -1) {
            if (errno == EINTR) {
                continue;
            }

            return -1;
        }

        p += n;
        len -= (size_t) n;
    }

    return 0;
}


/* a message with "%m" is a system call's failure: its errno is kept */

static int
image_ingest_fail(image_ingest_txn_t *t, const char *fmt, ...)
{
    va_list  args;

    t->errnum = strstr(fmt, "%m") ? errno : 0;

    va_start(args, fmt);
    vsnprintf(t->error, sizeof(t->error), fmt, args);
    va_end(args);

    return IMAGE_INGEST_STORE_ERROR;
}
