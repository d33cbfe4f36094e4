
/*
 * The CRC store on disk and the CRC of a file: the entry's name, a
 * round trip, damaged entries, concurrent writers, a file that is no
 * longer its key's.
 */


#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "unit.h"
#include "album_zip_crc_store.h"


static char  dir[64];


static void
make_dir(void)
{
    strcpy(dir, "/tmp/album-zip-crc-XXXXXX");

    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        exit(2);
    }
}


static void
remove_dir(void)
{
    char  cmd[128];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);

    if (system(cmd) != 0) {
        fprintf(stderr, "  %s failed\n", cmd);
    }
}


static void
key_of(const char *path, album_zip_file_key_t *k)
{
    struct stat  st;

    memset(k, 0, sizeof(*k));

    if (stat(path, &st) == 0) {
        k->dev = st.st_dev;
        k->ino = st.st_ino;
        k->size = st.st_size;
        k->mtime = st.st_mtim.tv_sec;
        k->nsec = st.st_mtim.tv_nsec;
    }
}


UNIT_TEST(test_name)
{
    char                  name[ALBUM_ZIP_CRC_NAME_LEN];
    size_t                n;
    album_zip_file_key_t  k;

    memset(&k, 0, sizeof(k));
    k.dev = 0x801;
    k.ino = 0x1234;
    k.size = 1000;
    k.mtime = 1700000000;
    k.nsec = 999999999;

    n = album_zip_crc_store_name(name, &k);

    CHECK_INT(n, 75);
    CHECK_INT(strlen(name), 75);
    CHECK(name[2] == '/');
    CHECK(strcmp(name + 3, "0000000000000801" "0000000000001234"
                 "00000000000003e8" "000000006553f100" "3b9ac9ff") == 0);

    /* every field is part of the key */
    k.nsec--;
    CHECK_INT(album_zip_crc_store_name(name, &k), 75);
    CHECK(strcmp(name + 3 + 64, "3b9ac9fe") == 0);
}


UNIT_TEST(test_round_trip)
{
    int                   fd;
    char                  path[256], name[ALBUM_ZIP_CRC_NAME_LEN];
    uint32_t              crc;
    album_zip_file_key_t  k, k2;

    make_dir();

    memset(&k, 0, sizeof(k));
    k.dev = 1;
    k.ino = 2;
    k.size = 3;
    k.mtime = 4;
    k.nsec = 5;
    k2 = k;
    k2.nsec = 6;

    CHECK_INT(album_zip_crc_store_get(dir, &k, &crc), ALBUM_ZIP_CRC_ABSENT);
    CHECK_INT(album_zip_crc_store_put(dir, &k, 0xdeadbeef), ALBUM_ZIP_CRC_OK);

    crc = 0;
    CHECK_INT(album_zip_crc_store_get(dir, &k, &crc), ALBUM_ZIP_CRC_OK);
    CHECK(crc == 0xdeadbeef);
    CHECK_INT(album_zip_crc_store_get(dir, &k2, &crc), ALBUM_ZIP_CRC_ABSENT);

    /* a second writer of the same key gives up quietly */
    CHECK_INT(album_zip_crc_store_put(dir, &k, 0xdeadbeef), ALBUM_ZIP_CRC_OK);

    /* a damaged entry is absent, removed, and stored anew */
    (void) album_zip_crc_store_name(name, &k);
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    fd = open(path, O_WRONLY | O_TRUNC);
    CHECK(fd != -1);
    CHECK(write(fd, "xyz\n", 4) == 4);
    close(fd);

    CHECK_INT(album_zip_crc_store_get(dir, &k, &crc), ALBUM_ZIP_CRC_ABSENT);
    CHECK(access(path, F_OK) == -1);
    CHECK_INT(album_zip_crc_store_put(dir, &k, 0x12345678), ALBUM_ZIP_CRC_OK);
    CHECK_INT(album_zip_crc_store_get(dir, &k, &crc), ALBUM_ZIP_CRC_OK);
    CHECK(crc == 0x12345678);

    /* a store that cannot be written */
    CHECK_INT(album_zip_crc_store_put("/proc/no-such-store", &k, 1),
              ALBUM_ZIP_CRC_ERROR);

    remove_dir();
}


UNIT_TEST(test_file)
{
    int                   fd;
    char                  path[256];
    uint8_t               buf[7];
    uint32_t              crc;
    unsigned char         data[100000];
    size_t                i;
    album_zip_file_key_t  k;

    make_dir();
    snprintf(path, sizeof(path), "%s/photo.jpg", dir);

    for (i = 0; i < sizeof(data); i++) {
        data[i] = (unsigned char) (i * 7 + i / 300);
    }

    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CHECK(write(fd, data, sizeof(data)) == (ssize_t) sizeof(data));
    close(fd);

    key_of(path, &k);

    /* a buffer smaller than the file: many reads */
    crc = 0;
    CHECK_INT(album_zip_crc_file(path, &k, buf, sizeof(buf), &crc),
              ALBUM_ZIP_CRC_OK);
    CHECK(crc == (uint32_t) crc32(0, data, sizeof(data)));

    /* another key: changed */
    k.nsec++;
    CHECK_INT(album_zip_crc_file(path, &k, buf, sizeof(buf), &crc),
              ALBUM_ZIP_CRC_CHANGED);

    k.nsec--;
    unlink(path);
    CHECK_INT(album_zip_crc_file(path, &k, buf, sizeof(buf), &crc),
              ALBUM_ZIP_CRC_CHANGED);

    remove_dir();
}


UNIT_MAIN(test_name, test_round_trip, test_file)
