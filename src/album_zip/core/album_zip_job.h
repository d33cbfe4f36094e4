
/*
 * The serverless "zipper" contract: the payload the old AWS Lambda
 * function took, and the names of what it zips and uploads.
 *
 *     {"api_url": "...", "upload_url": "https://...", "token": "...",
 *      "sources": ["https://.../a.jpg", ...]}
 *
 * "sources" (a non-empty array of http or https URLs) and "upload_url"
 * (an http or https URL) are required; "token" (the upload's file name)
 * and "api_url" (accepted and ignored, as the old function did) are
 * optional strings, null meaning absent.  Unknown keys are ignored, a
 * known key given twice is an error, and so is a NUL character (raw or
 * as "\u0000"), which cJSON would silently cut strings at.
 *
 * No nginx types here.  Strings in the results are copies, NUL-terminated,
 * in memory from the caller's allocator hooks (nothing is freed
 * individually: with nginx the hooks allocate from a pool); the cJSON
 * tree is freed before album_zip_job_parse() returns.
 */


#ifndef _ALBUM_ZIP_JOB_H_INCLUDED_
#define _ALBUM_ZIP_JOB_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>

#include "album_zip_names.h"


#define ALBUM_ZIP_JOB_OK            0
#define ALBUM_ZIP_JOB_EINVAL       (-1)    /* malformed payload */
#define ALBUM_ZIP_JOB_ELIMIT       (-2)    /* more sources than allowed */
#define ALBUM_ZIP_JOB_ENOMEM       (-3)    /* the allocator failed */

/* a URL longer than this is refused */
#define ALBUM_ZIP_JOB_MAX_URL_LEN   8192

/* error messages are at most this long, including the NUL */
#define ALBUM_ZIP_JOB_ERR_LEN       128

/* the upload's file name when the token gives none */
#define ALBUM_ZIP_JOB_UPLOAD_NAME   "album.zip"

/*
 * Buffer sizes for len input bytes: the result with its NUL, then room
 * for the decoded input (sanitising needs separate input and output)
 */
#define ALBUM_ZIP_JOB_NAME_BOUND(len)    (ALBUM_ZIP_NAME_BOUND(len) + (len))
#define ALBUM_ZIP_JOB_UPLOAD_BOUND(len)                                       \
    (ALBUM_ZIP_NAME_BOUND((len) + 4) + (len) + 4)


typedef struct {
    const char             *data;      /* NUL-terminated */
    size_t                  len;
} album_zip_job_str_t;


typedef struct {
    album_zip_job_str_t     api_url;     /* empty when absent */
    album_zip_job_str_t     upload_url;
    album_zip_job_str_t     token;       /* empty when absent */
    album_zip_job_str_t    *sources;
    size_t                  nsources;    /* at least 1 */
} album_zip_job_payload_t;


/*
 * Parses and validates buf[0..len) (need not be NUL-terminated).  At
 * most max_sources sources are accepted (0: no limit).
 *
 * Returns ALBUM_ZIP_JOB_OK or a negative ALBUM_ZIP_JOB_E* code with a
 * short message in err (NUL-terminated when err_len > 0) that names the
 * bad field and quotes no input, so it is safe for logs and JSON:
 *
 *     sources: must be a non-empty array of strings
 *     sources[2]: must be an http or https URL
 *     upload_url: must be a string
 *
 * Source indexes count from 0, as in the JSON array.  *out is undefined
 * on failure.
 */
int album_zip_job_parse(const char *buf, size_t len, size_t max_sources,
    const album_zip_alloc_t *alloc, album_zip_job_payload_t *out,
    char *err, size_t err_len);

/*
 * The member name for a source URL: scheme, host, query and fragment are
 * stripped, the last non-empty path segment is percent-decoded ("%2F"
 * and "\\" then become "_": a name never gets a directory), and the
 * result goes through album_zip_name_sanitize().  A URL without a usable
 * last segment ("https://host/", "https://host/a/..") gives
 * ALBUM_ZIP_NAME_FALLBACK ("unnamed").  dst must hold
 * ALBUM_ZIP_JOB_NAME_BOUND(len) bytes; the name is NUL-terminated and
 * its length returned.
 */
size_t album_zip_job_member_name(char *dst, const char *url, size_t len);

/*
 * Member names for all the sources of a payload, sanitised and made
 * unique with album_zip_names_dedup() ("a.jpg", "a (2).jpg").  names
 * must have p->nsources elements; their data comes from alloc.  Returns
 * ALBUM_ZIP_OK or ALBUM_ZIP_ENOMEM.
 */
int album_zip_job_member_names(const album_zip_job_payload_t *p,
    album_zip_name_t *names, const album_zip_alloc_t *alloc, uint64_t seed);

/*
 * The file name of the upload: "<token>.zip" with the token made a safe
 * single file name (no "/", "\\" or '"'), or "album.zip" when nothing is
 * left of it.  dst must hold ALBUM_ZIP_JOB_UPLOAD_BOUND(len) bytes; the
 * name is NUL-terminated and its length returned.
 */
size_t album_zip_job_upload_name(char *dst, const char *token, size_t len);

/*
 * The authority of an http(s) URL without user info ("host:port"), for
 * logs.  Sets *host and *host_len (pointing into url); returns 0, or -1
 * when the URL has no "scheme://".
 */
int album_zip_job_url_host(const char *url, size_t len, const char **host,
    size_t *host_len);

/*
 * The allow-list check (the SSRF guard): 1 if url starts with one of the
 * n prefixes, else 0.  Scheme and host are compared without case.  A
 * prefix that does not end in "/" only matches up to a boundary ("/",
 * "?", "#" or the end): "http://a.example" matches "http://a.example/x"
 * but neither "http://a.example.evil/" nor "http://a.example@evil/".  A
 * URL with user info, a backslash, a "." or ".." path segment (also
 * percent-encoded: "%2e%2e"), or an encoded slash or backslash in its
 * path ("%2f", "%5c", either case: "/photos/..%2fsecret" is "/secret" to
 * a server that decodes before resolving) never matches: libcurl and
 * servers resolve those differently from a plain prefix comparison.  The
 * query and the fragment are not checked.  With n == 0 nothing matches.
 */
int album_zip_job_allowed(const char *url, size_t len,
    const album_zip_job_str_t *prefixes, size_t n);


#endif /* _ALBUM_ZIP_JOB_H_INCLUDED_ */
