
/*
 * The property the album directory check must keep, shared by the unit
 * test and the fuzz target: "<base>/<rel>", resolved lexically as the
 * kernel would without symlinks, is a path strictly below <base>, or
 * <base> itself where the URI is the location's name (at == len).
 */


#ifndef _ALBUM_ZIP_DIR_BELOW_H_INCLUDED_
#define _ALBUM_ZIP_DIR_BELOW_H_INCLUDED_


#include <string.h>


/* the longest URI it takes */
#define ALBUM_ZIP_DIR_BELOW_MAX  4096


static int
album_zip_dir_below(const char *base, const char *uri, size_t len, size_t at)
{
    char    path[ALBUM_ZIP_DIR_BELOW_MAX + 64];
    size_t  n, blen, i, seg;

    blen = strlen(base);
    memcpy(path, base, blen);
    n = blen;

    for (i = at, seg = at; i <= len; i++) {
        if (i < len && uri[i] != '/') {
            continue;
        }

        if (i - seg == 0 || (i - seg == 1 && uri[seg] == '.')) {
            /* nothing */

        } else if (i - seg == 2 && uri[seg] == '.' && uri[seg + 1] == '.') {
            while (n > 0 && path[n - 1] != '/') {
                n--;
            }

            if (n > 0) {
                n--;
            }

        } else {
            path[n++] = '/';
            memcpy(path + n, uri + seg, i - seg);
            n += i - seg;
        }

        seg = i + 1;
    }

    if (at == len) {
        return n == blen;
    }

    return n > blen && memcmp(path, base, blen) == 0 && path[blen] == '/';
}


#endif /* _ALBUM_ZIP_DIR_BELOW_H_INCLUDED_ */
