
/*
 * The bucket store of uploads (image_ingest_store s3://<bucket>/<prefix>):
 * the pure parts, no nginx types, no network.  The glue
 * (src/image/ngx_http_image_ingest_s3.c) sends the requests.
 *
 * Objects, under <prefix> in the bucket, named as in a local store:
 *
 *     <prefix><key>.<ext>              the original (key: MD5, hex)
 *     <prefix><key>.json               its metadata
 *     <prefix><preset>/<key>.<ext>     variants
 *     <prefix>quarantine/...           the same, for a flagged image
 *                                      (image_ingest_moderation flag)
 *
 * An upload PUTs the variants and the metadata first, each complete
 * (Content-MD5), then the original with "If-None-Match: *": the original
 * is the commit record.  Its 412 means another node stored the same
 * bytes first (a duplicate).  Nothing is ever deleted by an upload: a
 * node that dies leaves at most variants and metadata without an
 * original, which scripts/image-ingest-s3-sweep removes.
 */


#ifndef _IMAGE_INGEST_S3_H_INCLUDED_
#define _IMAGE_INGEST_S3_H_INCLUDED_


#include <stddef.h>


#define IMAGE_INGEST_S3_NAME_LEN     64     /* an s3_bucket's name */
#define IMAGE_INGEST_S3_PREFIX_LEN   512
#define IMAGE_INGEST_S3_KEY_LEN      (IMAGE_INGEST_S3_PREFIX_LEN + 160)
#define IMAGE_INGEST_S3_MD5_LEN      24     /* base64 of 16 bytes */
#define IMAGE_INGEST_S3_QUARANTINE   "quarantine/"


/* what an answer of the bucket means for the upload */
typedef enum {
    IMAGE_INGEST_S3_DONE = 0,       /* 2xx: stored, or it exists */
    IMAGE_INGEST_S3_MISSING,        /* 404 of a HEAD */
    IMAGE_INGEST_S3_EXISTS,         /* 412 of a conditional PUT */
    IMAGE_INGEST_S3_DENIED,         /* 403: credentials, clock skew */
    IMAGE_INGEST_S3_FAILED          /* anything else: the store failed */
} image_ingest_s3_outcome_e;


typedef struct {
    char    bucket[IMAGE_INGEST_S3_NAME_LEN + 1];   /* the s3_bucket */
    char    prefix[IMAGE_INGEST_S3_PREFIX_LEN + 1]; /* "" or ".../" */
} image_ingest_s3_location_t;


/*
 * "s3://<bucket>/<prefix>": 1 when s starts with "s3://", else 0 (a
 * local directory).
 */
int image_ingest_s3_is(const char *s, size_t len);

/*
 * Parses "s3://<bucket>[/<prefix>]".  The bucket is an s3_bucket's name
 * ([A-Za-z0-9_.-]{1,64}); the prefix, of [A-Za-z0-9._/-] with no empty,
 * "." or ".." segment, gets a final "/" when it has none.  0, or -1 with
 * a message in err that quotes nothing of s (printable whatever s is).
 */
int image_ingest_s3_parse(const char *s, size_t len,
    image_ingest_s3_location_t *loc, char *err, size_t err_len);

/* prefix + rel into out; -1 when it does not fit */
int image_ingest_s3_key(const image_ingest_s3_location_t *loc,
    const char *rel, char *out, size_t size);

/* base64 of the MD5 of data, for Content-MD5, NUL-terminated */
void image_ingest_s3_content_md5(const void *data, size_t len,
    char out[IMAGE_INGEST_S3_MD5_LEN + 1]);

/* the Content-Type of an object, by the extension of its name */
const char *image_ingest_s3_content_type(const char *rel);

/* an HTTP status of a HEAD (conditional: 0) or of a PUT of the commit */
image_ingest_s3_outcome_e image_ingest_s3_outcome(long status,
    int conditional_put);


#endif /* _IMAGE_INGEST_S3_H_INCLUDED_ */
