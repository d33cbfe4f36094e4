
/*
 * The body of an upload: raw image bytes, or JSON
 *
 *     {"data": {"image": "<base64>"}}
 *
 * as the old serverless function took it.  No nginx types, no allocation:
 * the JSON is checked in place and the base64 decoded in place (the
 * decoded bytes are never longer than their text).
 */


#ifndef _IMAGE_INGEST_BODY_H_INCLUDED_
#define _IMAGE_INGEST_BODY_H_INCLUDED_


#include <stddef.h>


#define IMAGE_INGEST_BODY_OK        0
#define IMAGE_INGEST_BODY_EINVAL  (-1)

/* nesting deeper than this is refused (the parser recurses) */
#define IMAGE_INGEST_BODY_MAX_DEPTH  32


/*
 * 1 when the body is JSON: its first byte that is not JSON whitespace is
 * "{" (no image format starts so), else 0.
 */
int image_ingest_body_is_json(const char *buf, size_t len);

/*
 * Checks that buf[0..len) is one well-formed JSON object (RFC 8259:
 * strings with valid escapes and no raw control characters, numbers,
 * literals, nesting up to IMAGE_INGEST_BODY_MAX_DEPTH, only whitespace
 * after it) whose member "data" is an object whose member "image" is a
 * string.  Keys are compared as written ("d\u0061ta" is another key); a
 * "data" or an "image" given twice is an error.  Other members are
 * ignored.
 *
 * On success *off and *slen give the string's contents (between the
 * quotes, escapes still in) within buf.  Otherwise EINVAL, with a short
 * message that quotes no input in err (err_len may be 0).
 */
int image_ingest_body_json(const char *buf, size_t len, size_t *off,
    size_t *slen, char *err, size_t err_len);

/*
 * Decodes the contents of that JSON string in place: JSON escapes first
 * ("\/" is "/", "\n", "\r", "\t" and spaces are skipped, any other escape
 * is an error), an optional data URL prefix ("data:<type>;base64,"), then
 * base64 in the standard or the URL-safe alphabet, "=" padding optional
 * but only at the end.  Sets *out_len (bytes at p).  EINVAL with a
 * message for anything else, an empty result included.
 */
int image_ingest_body_base64(char *p, size_t len, size_t *out_len,
    char *err, size_t err_len);


#endif /* _IMAGE_INGEST_BODY_H_INCLUDED_ */
