
/*
 * Directory albums: which directory "GET <uri>.zip" may name.
 */


#include "album_zip_dir.h"


long
album_zip_dir_rel(const unsigned char *uri, size_t len, size_t loc)
{
    size_t  i, start, seg;

    if (loc > len) {
        return -1;
    }

    start = loc;

    if (loc > 0 && uri[loc - 1] != '/') {
        /* "/albums" names the location's own directory */
        if (loc == len) {
            return (long) len;
        }

        /* "/albums/x" an album under it, "/albumsX" nothing of it */
        if (uri[loc] != '/') {
            return -1;
        }

        start++;
    }

    if (start == len) {
        return -1;
    }

    seg = start;

    for (i = start; i <= len; i++) {

        if (i < len && uri[i] == '\0') {
            return -1;
        }

        if (i < len && uri[i] != '/') {
            continue;
        }

        /* the segment [seg, i) */

        switch (i - seg) {

        case 0:
            return -1;

        case 1:
            if (uri[seg] == '.') {
                return -1;
            }

            break;

        case 2:
            if (uri[seg] == '.' && uri[seg + 1] == '.') {
                return -1;
            }

            break;

        default:
            break;
        }

        seg = i + 1;
    }

    return (long) start;
}
