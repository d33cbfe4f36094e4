
/*
 * Unit tests for album_zip_dir.c: which directory "GET <uri>.zip" may
 * name.  Every spelling of the traversal reaches the module decoded (nginx
 * decodes "%2E" into r->uri), so the decoded forms are what is checked;
 * a property check then maps random URIs as nginx would and asserts the
 * directory is strictly below the location's.
 */


#include <stdlib.h>

#include "unit.h"
#include "album_zip_dir.h"
#include "album_zip_dir_below.h"


/* the URI of "GET <uri>.zip" with ".zip" cut off, below location loc */
static long
rel(const char *uri, const char *loc)
{
    return album_zip_dir_rel((const unsigned char *) uri, strlen(uri),
                             strlen(loc));
}


UNIT_TEST(test_albums_accepted)
{
    CHECK_INT(rel("/albums/trip", "/albums/"), 8);
    CHECK_INT(rel("/albums/2024/trip", "/albums/"), 8);
    CHECK_INT(rel("/albums/a..b", "/albums/"), 8);
    CHECK_INT(rel("/albums/...", "/albums/"), 8);
    CHECK_INT(rel("/albums/.trip", "/albums/"), 8);
    CHECK_INT(rel("/albums/x/..y", "/albums/"), 8);
    CHECK_INT(rel("/albums/trip", "/albums"), 8);
    CHECK_INT(rel("/trip", "/"), 1);
    CHECK_INT(rel("/a/b/c", "/"), 1);
    CHECK_INT(rel("/albums/%2e%2e", "/albums/"), 8);   /* a file "%2e%2e" */
    /* "/albums.zip" in "location /albums": its own directory */
    CHECK_INT(rel("/albums", "/albums"), 7);
}


UNIT_TEST(test_traversal_refused)
{
    /* "/albums/...zip", "/albums/%2E%2E.zip", "/albums/..%2ezip" */
    CHECK_INT(rel("/albums/..", "/albums/"), -1);
    /* "/albums/..zip", "/albums/%2E.zip" */
    CHECK_INT(rel("/albums/.", "/albums/"), -1);
    /* "/albums/demo/...zip" and "/albums/demo/..zip" */
    CHECK_INT(rel("/albums/demo/..", "/albums/"), -1);
    CHECK_INT(rel("/albums/demo/.", "/albums/"), -1);
    /* "/%2E%2E.zip" and "/..%2ezip" in "location /" */
    CHECK_INT(rel("/..", "/"), -1);
    CHECK_INT(rel("/.", "/"), -1);
    /* dot segments nginx would have resolved, should one come through */
    CHECK_INT(rel("/albums/../media", "/albums/"), -1);
    CHECK_INT(rel("/albums/./trip", "/albums/"), -1);
    CHECK_INT(rel("/albums/a/../../b", "/albums/"), -1);
}


UNIT_TEST(test_location_itself_refused)
{
    CHECK_INT(rel("/albums/", "/albums/"), -1);
    CHECK_INT(rel("/albums/", "/albums"), -1);
    CHECK_INT(rel("/", "/"), -1);
    CHECK_INT(rel("/albumsX", "/albums"), -1);
    CHECK_INT(rel("/albums/trip/", "/albums/"), -1);
    CHECK_INT(rel("/albums//trip", "/albums/"), -1);
    CHECK_INT(rel("/albums//trip", "/albums"), -1);
    CHECK_INT(album_zip_dir_rel((const unsigned char *) "/a", 2, 3), -1);
    CHECK_INT(album_zip_dir_rel((const unsigned char *) "/a\0b", 4, 1), -1);
}


UNIT_TEST(test_property_random_uris)
{
    static const char  alphabet[] = "/./.a%";
    char               uri[40];
    long               at;
    size_t             len, loc, i;
    unsigned           n, accepted;

    srand(22);
    accepted = 0;

    for (n = 0; n < 200000; n++) {
        len = 1 + rand() % 16;
        uri[0] = '/';

        for (i = 1; i < len; i++) {
            uri[i] = alphabet[rand() % (sizeof(alphabet) - 1)];
        }

        loc = rand() % (len + 1);

        at = album_zip_dir_rel((const unsigned char *) uri, len, loc);
        if (at < 0) {
            continue;
        }

        accepted++;

        if (!album_zip_dir_below("/srv/site/albums", uri, len, (size_t) at)) {
            CHECK(!"an accepted URI maps outside the location");
            fprintf(stderr, "  uri \"%.*s\", location %zu\n",
                    (int) len, uri, loc);
            break;
        }
    }

    CHECK(accepted > 1000);
}


UNIT_MAIN(test_albums_accepted, test_traversal_refused,
          test_location_itself_refused, test_property_random_uris)
