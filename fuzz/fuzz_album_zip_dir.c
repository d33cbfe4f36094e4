
/*
 * libFuzzer target for album_zip_dir.c: whatever URI and location the
 * check accepts, the album directory it names is strictly below the
 * location's directory, or is the location's own directory where the URI
 * is its name.
 *
 * Input: the first byte is the length of the location's part of the URI
 * (taken modulo the URI's length + 1), the rest is the decoded URI with
 * ".zip" already cut off.
 */


#include <stdint.h>

#include "fuzz_common.h"
#include "album_zip_dir.h"
#include "album_zip_dir_below.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    long    at;
    size_t  len, loc;

    if (size < 1 || size - 1 > ALBUM_ZIP_DIR_BELOW_MAX) {
        return 0;
    }

    len = size - 1;
    loc = data[0] % (len + 1);

    at = album_zip_dir_rel(data + 1, len, loc);
    if (at < 0) {
        return 0;
    }

    FUZZ_CHECK((size_t) at >= loc && (size_t) at <= len);
    FUZZ_CHECK(memchr(data + 1 + at, '\0', len - at) == NULL);
    FUZZ_CHECK(album_zip_dir_below("/srv/site/albums",
                                   (const char *) data + 1, len,
                                   (size_t) at));

    return 0;
}
