
/*
 * Checks shared by the parsers of serverless-function payloads
 * (src/album_zip/core/album_zip_job.c, src/face/core/face_jobs.c): a strict
 * parse of one JSON object, known keys given twice, error messages.
 * Pure C with cJSON, no nginx types.
 *
 * The file is compiled into each module's .so.  The modules are loaded
 * with RTLD_GLOBAL, so these functions are hidden: each .so binds its own
 * copy and none interposes another's.
 */


#ifndef _EDGE_JSON_CHECK_H_INCLUDED_
#define _EDGE_JSON_CHECK_H_INCLUDED_


#include <stddef.h>

#include <cjson/cJSON.h>


#if (__GNUC__ >= 4)
#define EDGE_JSON_HIDDEN  __attribute__((visibility("hidden")))
#else
#define EDGE_JSON_HIDDEN
#endif


/*
 * Parses buf as one JSON object: no NUL (raw or "\u0000" in a string), no
 * trailing data other than JSON whitespace.  Returns the tree, or NULL
 * with a message in err ("payload: ...").
 */
EDGE_JSON_HIDDEN cJSON *edge_json_parse_object(const char *buf, size_t len,
    char *err, size_t err_len);

/*
 * 0, or -1 with "<where><key>: given twice" in err if one of keys (a NULL
 * terminated list of at most 32) occurs twice among obj's members.
 */
EDGE_JSON_HIDDEN int edge_json_dup_keys(const cJSON *obj, const char **keys,
    const char *where, char *err, size_t err_len);

/* formats the message into err (if err_len) and returns rc */
EDGE_JSON_HIDDEN int edge_json_error(int rc, char *err, size_t err_len,
    const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;


#endif /* _EDGE_JSON_CHECK_H_INCLUDED_ */
