
/*
 * What an upload produces, as JSON: the response, the metadata file
 * <key>.json and the notification to the app; and the notification's
 * retry policy.  No nginx types, no allocation: each writer returns the
 * length, and writes only when given a buffer that large (out NULL: the
 * length only), so the caller sizes, allocates, writes.
 */


#ifndef _IMAGE_INGEST_JSON_H_INCLUDED_
#define _IMAGE_INGEST_JSON_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


typedef struct {
    const char              *name;
    size_t                   name_len;
    const char              *value;
    size_t                   value_len;
} image_ingest_pair_t;


typedef struct {
    const char              *key;         /* 32 hex digits */
    unsigned                 width;
    unsigned                 height;
    const char              *format;      /* "jpeg", "png", ... */
    uint64_t                 bytes;
    int64_t                  uploaded;    /* unix time */

    image_ingest_pair_t     *variants;    /* preset: its URI */
    size_t                   nvariants;
    const char             **formats;     /* of the variants */
    size_t                   nformats;
    image_ingest_pair_t     *meta;        /* image_ingest_meta */
    size_t                   nmeta;
    const char              *moderation;  /* a JSON object, or NULL */
} image_ingest_info_t;


/*
 * {"key": "..", "width": N, "height": N, "format": "..", "bytes": N,
 *  "variants": {"avatar": "/a/avatar/<key>.jpg", ..},
 *  "formats": ["jpeg", ..]}
 *
 * "formats" (image_ingest_formats) only when nformats is not 0;
 * "moderation" (image_ingest_moderation: {"flagged": .., "scores": {..}},
 * written as given) only when not NULL.
 */
size_t image_ingest_json_response(const image_ingest_info_t *info,
    char *out, size_t len);

/* the response's members, then "uploaded": "YYYY-MM-DDTHH:MM:SSZ", "meta" */
size_t image_ingest_json_meta(const image_ingest_info_t *info, char *out,
    size_t len);

/* the notification: the same as the metadata file */
#define image_ingest_json_notify  image_ingest_json_meta

/*
 * Strings are escaped for JSON: '"', '\\' and control characters, and
 * bytes that are not UTF-8 become U+FFFD (a header value may hold
 * anything).
 */
size_t image_ingest_json_string(const char *s, size_t n, char *out,
    size_t len);


/*
 * The notification's retries: retry after a connection error or a
 * timeout (status 0), a 5xx, 408 or 429; never after any other status.
 */
int image_ingest_notify_retryable(long status);

/*
 * The wait before retry number attempt (1, 2, ...): base doubled each
 * time, at most max; all in milliseconds.
 */
uint64_t image_ingest_notify_backoff(unsigned attempt, uint64_t base,
    uint64_t max);


#endif /* _IMAGE_INGEST_JSON_H_INCLUDED_ */
