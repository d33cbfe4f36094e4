/*
 * Album zip manifests: the body of a response marked "X-Album-Zip: zip"
 * (or mod_zip's "X-Archive-Files: zip") lists the members of the zip to
 * stream.  This parser has no nginx types; the glue passes the buffered
 * body and an allocator (a pool) and gets back validated members.
 *
 * Two formats:
 *
 *   lines  mod_zip's, one member per line:
 *              <crc32-hex|-> <size|-> <uri> <name>
 *          the uri is URL-encoded and may carry "?args"; "@directory"
 *          with size 0 (or "-") is an empty directory entry.
 *
 *   json   {"name": "Album.zip",
 *           "files": [{"url": "/media/a.jpg", "name": "Day 1/a.jpg",
 *                      "size": 123, "crc32": "0a1b2c3d",
 *                      "mtime": "2024-05-01T12:00:00Z"}, ...]}
 *          "url" and "name" are required; a member without "url" (or
 *          with "url": null) whose name ends in "/" is a directory.
 *
 * Strings in the result are length-counted and not NUL-terminated.  They
 * point either into the input buffer (the lines format, where nothing had
 * to be decoded) or into memory from the caller's allocator: the result is
 * valid as long as both the input buffer and that memory are.  Nothing is
 * allocated that the caller must free individually; the cJSON tree used
 * for the json format is freed before album_zip_manifest_parse() returns.
 */


#ifndef _ALBUM_ZIP_MANIFEST_H_INCLUDED_
#define _ALBUM_ZIP_MANIFEST_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>


/* return codes of album_zip_manifest_parse() */
#define ALBUM_ZIP_MANIFEST_OK          0
#define ALBUM_ZIP_MANIFEST_EINVAL     -1    /* malformed or unsafe manifest */
#define ALBUM_ZIP_MANIFEST_ELIMIT     -2    /* a caller's limit exceeded */
#define ALBUM_ZIP_MANIFEST_ENOMEM     -3    /* the allocator failed */

/* defaults used for a limit that is 0 (or for NULL limits) */
#define ALBUM_ZIP_MANIFEST_MAX_MEMBERS     10000
#define ALBUM_ZIP_MANIFEST_MAX_TOTAL_SIZE  INT64_MAX
#define ALBUM_ZIP_MANIFEST_MAX_NAME_LEN    65535    /* zip's 16-bit field */
#define ALBUM_ZIP_MANIFEST_MAX_URL_LEN     8192

/* the largest mtime accepted: 9999-12-31T23:59:59Z */
#define ALBUM_ZIP_MANIFEST_MAX_MTIME       253402300799LL


typedef enum {
    ALBUM_ZIP_MANIFEST_AUTO = 0,    /* json if the first non-space is '{' */
    ALBUM_ZIP_MANIFEST_LINES,
    ALBUM_ZIP_MANIFEST_JSON
} album_zip_manifest_format_t;


typedef enum {
    ALBUM_ZIP_MANIFEST_LOCAL = 1,   /* fetched by a subrequest */
    ALBUM_ZIP_MANIFEST_REMOTE,      /* fetched through the proxy location */
    ALBUM_ZIP_MANIFEST_DIRECTORY,   /* an empty directory entry */
    ALBUM_ZIP_MANIFEST_S3           /* s3://<bucket>/<key>: a subrequest to
                                       the bucket's album_zip_s3 location */
} album_zip_manifest_kind_t;


typedef struct {
    size_t          len;
    const u_char   *data;
} album_zip_manifest_str_t;


typedef struct {
    album_zip_manifest_kind_t   kind;

    /*
     * LOCAL: the percent-decoded path, starting with "/", without args;
     * REMOTE: the URL exactly as given (scheme and host as written, still
     * percent-encoded, with its query);
     * S3: the URL exactly as given ("s3://<bucket>/<key>", the key still
     * percent-encoded);
     * DIRECTORY: empty
     */
    album_zip_manifest_str_t    url;

    /* LOCAL only: what follows the first "?", not decoded; else empty */
    album_zip_manifest_str_t    args;

    /*
     * S3 only: the bucket's name (in url) and the object key,
     * percent-decoded (no "." or ".." segment, no empty one, no NUL or
     * control character); else empty
     */
    album_zip_manifest_str_t    bucket;
    album_zip_manifest_str_t    key;

    /*
     * as given (only NUL is refused): pass it through album_zip_names
     * before use; never empty; a directory's ends in "/", no other's does
     */
    album_zip_manifest_str_t    name;

    uint64_t                    size;      /* <= INT64_MAX */
    int64_t                     mtime;     /* unix time, 0..MAX_MTIME */
    uint32_t                    crc32;

    unsigned                    has_size:1;
    unsigned                    has_crc:1;
    unsigned                    has_mtime:1;
} album_zip_manifest_member_t;


typedef struct {
    size_t                        max_members;
    uint64_t                      max_total_size;  /* sum of known sizes */
    size_t                        max_name_len;    /* capped at 65535 */
    size_t                        max_url_len;     /* before decoding */
} album_zip_manifest_limits_t;


typedef struct {
    album_zip_manifest_format_t   format;      /* the one actually parsed */

    /* json's top-level "name" (the download name, as given); or empty */
    album_zip_manifest_str_t      name;

    album_zip_manifest_member_t  *members;
    size_t                        nmembers;    /* at least 1 */

    uint64_t                      total_size;  /* sum of the known sizes */
    unsigned                      all_sizes_known:1;
    unsigned                      all_crcs_known:1;
} album_zip_manifest_t;


/*
 * Must return memory aligned for any type (as malloc() or ngx_palloc()
 * do), or NULL.  Nothing is freed individually.
 */
typedef void *(*album_zip_manifest_alloc_pt)(void *ctx, size_t size);


/*
 * Parses buf[0..len) (which need not be NUL-terminated) into *out.
 *
 * Returns ALBUM_ZIP_MANIFEST_OK, or a negative ALBUM_ZIP_MANIFEST_E* code
 * with a short printable-ASCII message in err (always NUL-terminated when
 * err_len > 0), such as
 *
 *     member 3: url: unsupported scheme "ftp"
 *
 * The message quotes at most 64 bytes of input, escaped, so it is safe for
 * the error log and an HTTP error body.  *out is undefined on failure.
 * limits may be NULL; a 0 limit means its default.
 */
int album_zip_manifest_parse(const u_char *buf, size_t len,
    album_zip_manifest_format_t format,
    const album_zip_manifest_limits_t *limits,
    album_zip_manifest_alloc_pt alloc, void *ctx,
    album_zip_manifest_t *out, char *err, size_t err_len);

/*
 * 1 if the member may be fetched: a LOCAL member whose decoded path, or a
 * REMOTE member whose URL, starts with one of the prefixes ("/media/",
 * "https://cdn.example.com/").  Scheme and host are compared without case.
 * A prefix that does not end in "/" only matches up to a boundary: "/media"
 * matches "/media" and "/media/a" but not "/media-private/a".  A
 * DIRECTORY member fetches nothing and is always allowed; with no prefixes
 * (n == 0) no LOCAL or REMOTE member is.
 *
 * Traversal cannot get around a prefix: the parser has already rejected
 * "." and ".." segments (also percent-encoded, also between %2F or %5C),
 * and in local paths "//", %2F and %5C.
 */
int album_zip_manifest_allowed(const album_zip_manifest_member_t *member,
    const album_zip_manifest_str_t *prefixes, size_t n);

/*
 * RFC 3339 date-time ("2024-05-01T12:00:00Z", "...12:00:00.5+02:00") to
 * unix time, independent of the process time zone.  Fractions of a second
 * are dropped, a leap second ":60" counts as ":59".  Returns 0, -1 for
 * bad syntax or an impossible date, -2 for a time outside 1970..9999.
 */
int album_zip_manifest_rfc3339(const u_char *s, size_t len, int64_t *t);


#endif /* _ALBUM_ZIP_MANIFEST_H_INCLUDED_ */
