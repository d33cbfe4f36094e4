
/*
 * Unit tests for image_ingest_store.c, in a scratch directory: the key,
 * a committed transaction, one ended without commit, the roll-back of
 * what a dead holder left (temporary files, an interrupted commit),
 * lock contention between processes, a duplicate gaining variants,
 * names refused, and the sweep.
 */


#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "unit.h"
#include "image_ingest_store.h"


#define KEY   "5d41402abc4b2a76b9719d911017c592"     /* MD5 of "hello" */
#define KEY2  "d41d8cd98f00b204e9800998ecf8427e"     /* MD5 of "" */


static char                 dir[256];
static image_ingest_txn_t   txn;


static const char *
path(const char *rel)
{
    static char  buf[512];

    snprintf(buf, sizeof(buf), "%s/%s", dir, rel);
    return buf;
}


static int
exists(const char *rel)
{
    struct stat  st;

    return stat(path(rel), &st) == 0;
}


static const char *
slurp(const char *rel)
{
    int          fd;
    ssize_t      n;
    static char  buf[256];

    fd = open(path(rel), O_RDONLY);
    if (fd == -1) {
        return NULL;
    }

    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    buf[n > 0 ? n : 0] = '\0';

    return buf;
}


static void
put(const char *rel, const char *data)
{
    int  fd;

    fd = open(path(rel), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd != -1) {
        if (write(fd, data, strlen(data)) < 0) {
            /* checked by the callers' reads */
        }
        close(fd);
    }
}


/* entries of .tmp, "." and ".." aside */

static int
temps(void)
{
    int             n;
    DIR            *d;
    struct dirent  *de;

    d = opendir(path(".tmp"));
    if (d == NULL) {
        return -1;
    }

    n = 0;

    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
            n++;
        }
    }

    closedir(d);

    return n;
}


UNIT_TEST(test_key)
{
    char  key[IMAGE_INGEST_KEY_LEN + 1];

    image_ingest_key("hello", 5, key);
    CHECK_STR(key, KEY);

    image_ingest_key("", 0, key);
    CHECK_STR(key, KEY2);
}


UNIT_TEST(test_commit)
{
    CHECK_INT(image_ingest_begin(&txn, dir, KEY, 0), IMAGE_INGEST_STORE_OK);
    CHECK(exists(".tmp/" KEY ".lock"));
    CHECK_INT(image_ingest_exists(&txn, KEY ".png"), 0);

    CHECK_INT(image_ingest_stage(&txn, "avatar/" KEY ".jpg", "A", 1),
              IMAGE_INGEST_STORE_OK);
    CHECK_INT(image_ingest_stage(&txn, KEY ".json", "{}", 2),
              IMAGE_INGEST_STORE_OK);
    CHECK_INT(image_ingest_stage(&txn, KEY ".png", "hello", 5),
              IMAGE_INGEST_STORE_OK);

    /* staged: nothing under a final name yet */
    CHECK(!exists("avatar/" KEY ".jpg"));
    CHECK(!exists(KEY ".png"));
    CHECK_INT(temps(), 4);

    CHECK_INT(image_ingest_commit(&txn, KEY ".png"), IMAGE_INGEST_STORE_OK);
    image_ingest_end(&txn);

    CHECK_STR(slurp("avatar/" KEY ".jpg"), "A");
    CHECK_STR(slurp(KEY ".json"), "{}");
    CHECK_STR(slurp(KEY ".png"), "hello");
    CHECK_INT(temps(), 0);

    CHECK_INT(image_ingest_begin(&txn, dir, KEY, 0), IMAGE_INGEST_STORE_OK);
    CHECK_INT(image_ingest_exists(&txn, KEY ".png"), 1);
    CHECK_INT(txn.recovered, 0);
    image_ingest_end(&txn);
}


UNIT_TEST(test_no_commit)
{
    CHECK_INT(image_ingest_begin(&txn, dir, KEY2, 0), IMAGE_INGEST_STORE_OK);
    CHECK_INT(image_ingest_stage(&txn, "avatar/" KEY2 ".jpg", "A", 1),
              IMAGE_INGEST_STORE_OK);
    CHECK_INT(image_ingest_stage(&txn, KEY2 ".png", "", 0),
              IMAGE_INGEST_STORE_OK);
    image_ingest_end(&txn);

    CHECK(!exists("avatar/" KEY2 ".jpg"));
    CHECK(!exists(KEY2 ".png"));
    CHECK_INT(temps(), 0);
}


UNIT_TEST(test_names)
{
    static const char  *bad[] = {
        "", ".x", "../x", "a/../x", ".tmp/x", "a/.x", "a/b/c", "/abs",
        "a/", "a b", "a\\b", "caf\xc3\xa9"
    };

    size_t  i;

    CHECK_INT(image_ingest_begin(&txn, dir, KEY2, 0), IMAGE_INGEST_STORE_OK);

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (image_ingest_stage(&txn, bad[i], "x", 1)
            != IMAGE_INGEST_STORE_ERROR)
        {
            CHECK(!"a bad name was staged");
            fprintf(stderr, "  name: \"%s\"\n", bad[i]);
        }
    }

    CHECK_INT(txn.nfiles, 0);
    CHECK_INT(txn.errnum, 0);          /* no system call failed */
    CHECK_INT(image_ingest_commit(&txn, "../x"), IMAGE_INGEST_STORE_ERROR);
    image_ingest_end(&txn);

    CHECK_INT(image_ingest_begin(&txn, "relative", KEY2, 0),
              IMAGE_INGEST_STORE_ERROR);
    CHECK_INT(image_ingest_begin(&txn, dir, "abc", 0),
              IMAGE_INGEST_STORE_ERROR);
}


/* a commit cut after the variants were renamed: rolled back */

UNIT_TEST(test_interrupted_commit)
{
    mkdir(path("thumb"), 0755);
    put(".tmp/" KEY2 ".lock", KEY2 ".gif\nthumb/" KEY2 ".jpg\n" KEY2
        ".json\nthumb/torn");
    put("thumb/" KEY2 ".jpg", "orphan");
    put(KEY2 ".json", "orphan");
    put("thumb/torn", "not in the intent: never renamed");
    put(".tmp/" KEY2 ".AbCdEf", "temporary");

    CHECK_INT(image_ingest_begin(&txn, dir, KEY2, 0), IMAGE_INGEST_STORE_OK);
    CHECK_INT(txn.recovered, 3);
    image_ingest_end(&txn);

    CHECK(!exists("thumb/" KEY2 ".jpg"));
    CHECK(!exists(KEY2 ".json"));
    CHECK(exists("thumb/torn"));
    CHECK_INT(temps(), 0);

    /* the original was there: the commit had completed, nothing removed */
    put(".tmp/" KEY ".lock", KEY ".png\navatar/" KEY ".jpg\n");

    CHECK_INT(image_ingest_begin(&txn, dir, KEY, 0), IMAGE_INGEST_STORE_OK);
    CHECK_INT(txn.recovered, 0);
    image_ingest_end(&txn);

    CHECK_STR(slurp("avatar/" KEY ".jpg"), "A");
}


/* a holder that dies mid-transaction, and one that is alive */

UNIT_TEST(test_processes)
{
    int    fds[2], status;
    char   c;
    pid_t  pid;

    if (pipe(fds) != 0) {
        CHECK(!"pipe");
        return;
    }

    pid = fork();

    if (pid == 0) {
        close(fds[0]);

        if (image_ingest_begin(&txn, dir, KEY2, 0) != IMAGE_INGEST_STORE_OK
            || image_ingest_stage(&txn, KEY2 ".png", "x", 1)
               != IMAGE_INGEST_STORE_OK)
        {
            _exit(1);
        }

        if (write(fds[1], "l", 1) != 1) {
            _exit(1);
        }

        usleep(300000);
        _exit(0);              /* a crash: no commit, no end */
    }

    close(fds[1]);
    CHECK_INT(read(fds[0], &c, 1), 1);
    close(fds[0]);

    /* alive: busy for a try, untouched by a sweep */

    CHECK_INT(image_ingest_begin(&txn, dir, KEY2, 1),
              IMAGE_INGEST_STORE_BUSY);

    {
        char  err[256];

        CHECK_INT(image_ingest_sweep(dir, err, sizeof(err)), 0);
    }

    CHECK_INT(temps(), 2);

    /* a waiter gets the lock when the holder dies, and its leftovers */

    CHECK_INT(image_ingest_begin(&txn, dir, KEY2, 0), IMAGE_INGEST_STORE_OK);
    CHECK_INT(txn.recovered, 1);
    image_ingest_end(&txn);

    waitpid(pid, &status, 0);
    CHECK_INT(WEXITSTATUS(status), 0);
    CHECK_INT(temps(), 0);
    CHECK(!exists(KEY2 ".png"));
}


UNIT_TEST(test_duplicate_gains_variants)
{
    CHECK_INT(image_ingest_begin(&txn, dir, KEY, 0), IMAGE_INGEST_STORE_OK);
    CHECK_INT(image_ingest_exists(&txn, KEY ".png"), 1);
    CHECK_INT(image_ingest_stage(&txn, "banner/" KEY ".webp", "B", 1),
              IMAGE_INGEST_STORE_OK);
    CHECK_INT(image_ingest_commit(&txn, KEY ".png"), IMAGE_INGEST_STORE_OK);
    image_ingest_end(&txn);

    CHECK_STR(slurp("banner/" KEY ".webp"), "B");
    CHECK_STR(slurp(KEY ".png"), "hello");
    CHECK_INT(temps(), 0);
}


/* a commit failing half-way (here: "block" is a file, not a directory) */

UNIT_TEST(test_failed_commit)
{
    put("block", "a file where a directory should be");

    CHECK_INT(image_ingest_begin(&txn, dir, KEY2, 0), IMAGE_INGEST_STORE_OK);
    CHECK_INT(image_ingest_stage(&txn, "avatar/" KEY2 ".jpg", "A", 1),
              IMAGE_INGEST_STORE_OK);
    CHECK_INT(image_ingest_stage(&txn, "block/" KEY2 ".jpg", "B", 1),
              IMAGE_INGEST_STORE_OK);
    CHECK_INT(image_ingest_stage(&txn, KEY2 ".png", "", 0),
              IMAGE_INGEST_STORE_OK);
    CHECK_INT(image_ingest_commit(&txn, KEY2 ".png"),
              IMAGE_INGEST_STORE_ERROR);
    CHECK(strstr(txn.error, "rename") != NULL);
    CHECK_INT(txn.errnum, ENOTDIR);

    /* renamed before the failure: there until the transaction ends */
    CHECK(exists("avatar/" KEY2 ".jpg"));
    image_ingest_end(&txn);

    CHECK(!exists("avatar/" KEY2 ".jpg"));
    CHECK(!exists(KEY2 ".png"));
    CHECK_INT(temps(), 0);
    unlink(path("block"));
}


UNIT_TEST(test_sweep)
{
    char  err[256];

    put(".tmp/" KEY2 ".lock", KEY2 ".gif\nthumb/" KEY2 ".jpg\n");
    put("thumb/" KEY2 ".jpg", "orphan");
    put(".tmp/" KEY2 ".Zz9Zz9", "temporary");
    put(".tmp/not-a-key", "left alone");

    /* a lock and two temporary files: one interrupted upload */
    put(".tmp/" KEY2 ".Yy8Yy8", "temporary");

    CHECK_INT(image_ingest_sweep(dir, err, sizeof(err)), 1);
    CHECK(!exists("thumb/" KEY2 ".jpg"));
    CHECK_INT(temps(), 1);
    CHECK(exists(".tmp/not-a-key"));

    /* two keys: two */
    put(".tmp/" KEY ".lock", "");
    put(".tmp/" KEY ".Xx7Xx7", "temporary");
    put(".tmp/" KEY2 ".Ww6Ww6", "temporary");

    CHECK_INT(image_ingest_sweep(dir, err, sizeof(err)), 2);
    CHECK_INT(temps(), 1);

    unlink(path(".tmp/not-a-key"));
    CHECK_INT(image_ingest_sweep(dir, err, sizeof(err)), 0);
    CHECK_INT(image_ingest_sweep("/nonexistent-store", err, sizeof(err)), 0);
}


UNIT_MAIN(test_key, test_commit, test_no_commit, test_names,
          test_interrupted_commit, test_processes,
          test_duplicate_gains_variants, test_failed_commit, test_sweep)


/* the scratch directory: made before main() runs the cases, removed after */

__attribute__((constructor)) static void
setup(void)
{
    const char  *tmp;

    tmp = getenv("TMPDIR");
    snprintf(dir, sizeof(dir), "%s/image-ingest-store-XXXXXX",
             tmp ? tmp : "/tmp");

    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        exit(1);
    }
}


__attribute__((destructor)) static void
teardown(void)
{
    char  cmd[512];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "could not remove %s\n", dir);
    }
}
