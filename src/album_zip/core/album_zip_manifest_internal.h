
/*
 * What the files of the album zip manifest parser share; not part of its
 * API (that is album_zip_manifest.h).  The parser is split by topic:
 *
 *   album_zip_manifest.c        the entry point, members, names, errors
 *   album_zip_manifest_lines.c  mod_zip's line format
 *   album_zip_manifest_json.c   the JSON format
 *   album_zip_manifest_url.c    member URLs and the allow-list
 *   album_zip_manifest_time.c   RFC 3339 date-times
 *
 * The files are compiled into the album zip module's .so, and modules are
 * loaded with RTLD_GLOBAL, so these functions are hidden.
 */


#ifndef _ALBUM_ZIP_MANIFEST_INTERNAL_H_INCLUDED_
#define _ALBUM_ZIP_MANIFEST_INTERNAL_H_INCLUDED_


#include "album_zip_manifest.h"


#if (__GNUC__ >= 4)
#define ALBUM_ZIP_MANIFEST_HIDDEN  __attribute__((visibility("hidden")))
#else
#define ALBUM_ZIP_MANIFEST_HIDDEN
#endif


/* input bytes quoted in an error message, each escaped to at most 4 */
#define ALBUM_ZIP_MANIFEST_QUOTE     64


typedef struct {
    album_zip_manifest_limits_t   limits;
    album_zip_manifest_alloc_pt   alloc;
    void                         *ctx;
    album_zip_manifest_t         *out;
    char                         *err;
    size_t                        err_len;
    size_t                        member;    /* 1-based; 0: none */
    int                           copy;      /* input does not outlive us */
} album_zip_manifest_parser_t;


ALBUM_ZIP_MANIFEST_HIDDEN int album_zip_manifest_parse_lines(
    album_zip_manifest_parser_t *p, const u_char *buf, size_t len);
ALBUM_ZIP_MANIFEST_HIDDEN int album_zip_manifest_parse_json(
    album_zip_manifest_parser_t *p, const u_char *buf, size_t len);
ALBUM_ZIP_MANIFEST_HIDDEN int album_zip_manifest_set_url(
    album_zip_manifest_parser_t *p, album_zip_manifest_member_t *m,
    const u_char *url, size_t len);
ALBUM_ZIP_MANIFEST_HIDDEN int album_zip_manifest_set_name(
    album_zip_manifest_parser_t *p, album_zip_manifest_member_t *m,
    const u_char *name, size_t len, int dir);
ALBUM_ZIP_MANIFEST_HIDDEN int album_zip_manifest_text(
    album_zip_manifest_parser_t *p, const char *field, const u_char *s,
    size_t len);
ALBUM_ZIP_MANIFEST_HIDDEN int album_zip_manifest_members(
    album_zip_manifest_parser_t *p, size_t n);
ALBUM_ZIP_MANIFEST_HIDDEN int album_zip_manifest_add(
    album_zip_manifest_parser_t *p, album_zip_manifest_member_t *m);
ALBUM_ZIP_MANIFEST_HIDDEN int album_zip_manifest_hex(
    const u_char *s, size_t len, uint32_t *value);
ALBUM_ZIP_MANIFEST_HIDDEN int album_zip_manifest_str(
    album_zip_manifest_parser_t *p, album_zip_manifest_str_t *str,
    const u_char *s, size_t len);
ALBUM_ZIP_MANIFEST_HIDDEN void *album_zip_manifest_alloc(
    album_zip_manifest_parser_t *p, size_t size);
ALBUM_ZIP_MANIFEST_HIDDEN const char *album_zip_manifest_quote(
    char *buf, const u_char *s, size_t len);
ALBUM_ZIP_MANIFEST_HIDDEN int album_zip_manifest_error(
    album_zip_manifest_parser_t *p, int rc, const char *field,
    const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;


/* the data of every empty string in a result */
ALBUM_ZIP_MANIFEST_HIDDEN extern const u_char  album_zip_manifest_empty[];


#endif /* _ALBUM_ZIP_MANIFEST_INTERNAL_H_INCLUDED_ */
