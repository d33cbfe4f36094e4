
/*
 * Directory albums: which directory "GET <uri>.zip" may name.
 *
 * With "album_zip_directory on", ".zip" is cut from the URI and the rest
 * mapped to a path under the location's root or alias.  nginx has already
 * resolved every dot segment of the URI, but cutting ".zip" makes new
 * ones: "/albums/...zip" leaves "/albums/..", one level above the
 * location.  The check below is made on the decoded URI (as nginx keeps
 * it in r->uri), before the mapping: what it accepts names a directory
 * strictly below the location's own directory, whatever the root.
 *
 * No nginx types, no allocation: unit tests and a fuzzer link it.
 */


#ifndef _ALBUM_ZIP_DIR_H_INCLUDED_
#define _ALBUM_ZIP_DIR_H_INCLUDED_


#include <stddef.h>


/*
 * uri (len bytes, ".zip" already cut off) with the location's part in
 * its first loc bytes.  The rest, the album below the location, must be:
 *   - a new path segment: when the location's part does not end in '/',
 *     the rest starts with one ("/albums" + "/trip", not "/albumsX");
 *   - not empty, except for a location whose name does not end in '/'
 *     ("/albums.zip" in "location /albums": its own directory);
 *   - made of segments that are neither empty, "." nor "..";
 *   - free of NUL bytes.
 * Returns the offset in uri where the album's relative path starts (past
 * any '/' that separates it from the location; len for the location's
 * own directory), or -1 when refused.
 */
long album_zip_dir_rel(const unsigned char *uri, size_t len, size_t loc);


#endif /* _ALBUM_ZIP_DIR_H_INCLUDED_ */
