
/*
 * One S3 request, signed: the URL (the object key encoded once), Host,
 * X-Amz-Date, X-Amz-Content-Sha256, X-Amz-Security-Token and
 * Authorization, for an endpoint, an addressing style, a bucket, a
 * region and credentials (AWS Signature Version 4 through edge_sigv4.c).
 * Also the pieces around it: an endpoint URL checked and split, the
 * credentials file read, an S3 error document's <Code>.  Pure C on
 * libcrypto, no nginx types: the s3 module, the image ingest uploads
 * (on a thread pool, with libcurl) and the unit tests and fuzzer link it.
 *
 * Memory for results comes from the caller's allocator (edge_sigv4.h)
 * and is never freed individually.  The functions are hidden, as the
 * other edge files' are: each .so binds its own copy.
 */


#ifndef _EDGE_S3_H_INCLUDED_
#define _EDGE_S3_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>

#include "edge_sigv4.h"


#define EDGE_S3_OK             0
#define EDGE_S3_EINVAL        (-1)    /* malformed input, see err */
#define EDGE_S3_ENOMEM        (-2)

#define EDGE_S3_STYLE_PATH     1      /* http://host/bucket/key */
#define EDGE_S3_STYLE_VIRTUAL  2      /* http://bucket.host/key */

/* the longest credentials accepted */
#define EDGE_S3_MAX_KEY_ID     128
#define EDGE_S3_MAX_SECRET     EDGE_SIGV4_MAX_SECRET
#define EDGE_S3_MAX_TOKEN      4096

/* a credentials file larger than this is refused */
#define EDGE_S3_MAX_CRED_FILE  16384

/* at most this many extra signed headers in a request */
#define EDGE_S3_MAX_HEADERS    16

/* error messages are at most this long, with the NUL */
#define EDGE_S3_ERR_LEN        160

#define EDGE_S3_UNSIGNED_PAYLOAD  "UNSIGNED-PAYLOAD"


typedef struct {
    char                        key_id[EDGE_S3_MAX_KEY_ID + 1];
    size_t                      key_id_len;
    char                        secret[EDGE_S3_MAX_SECRET + 1];
    size_t                      secret_len;
    char                        token[EDGE_S3_MAX_TOKEN + 1];
    size_t                      token_len;       /* 0: no session token */
} edge_s3_credentials_t;


/* where requests go and who signs them: a plain copy a thread can keep */

typedef struct {
    edge_sigv4_str_t            endpoint;        /* "http://127.0.0.1:7480" */
    int                         style;           /* EDGE_S3_STYLE_* */
    edge_sigv4_str_t            bucket;
    edge_sigv4_str_t            region;
    edge_s3_credentials_t       credentials;
} edge_s3_target_t;


typedef struct {
    edge_sigv4_str_t            method;          /* "GET", "PUT"... */
    edge_sigv4_str_t            key;             /* raw bytes, not encoded;
                                                    may be empty (the
                                                    bucket itself) */
    edge_sigv4_str_t            query;           /* as sent, encoded, no
                                                    "?"; may be empty */
    const edge_sigv4_header_t  *headers;         /* more headers to send
                                                    and sign (Content-MD5,
                                                    If-None-Match...) */
    size_t                      nheaders;
    edge_sigv4_str_t            payload_hash;    /* hex SHA-256; empty:
                                                    UNSIGNED-PAYLOAD */
    int64_t                     time;            /* seconds since 1970 */
} edge_s3_request_t;


/*
 * every string NUL-terminated, allocated (or static): none points into
 * the target, whose credentials the caller may wipe after signing
 */

typedef struct {
    edge_sigv4_str_t            url;             /* scheme://host/path?q */
    edge_sigv4_str_t            uri;             /* /path?q */
    edge_sigv4_str_t            host;            /* Host: */
    char                        amz_date[EDGE_SIGV4_DATE_LEN + 1];
    edge_sigv4_str_t            payload_hash;    /* X-Amz-Content-Sha256: */
    edge_sigv4_str_t            token;           /* X-Amz-Security-Token:,
                                                    empty: not sent */
    edge_sigv4_str_t            signed_headers;
    edge_sigv4_str_t            authorization;   /* Authorization: */
} edge_s3_signed_t;


/*
 * Checks an endpoint ("http://host[:port]" or "https://...", no path,
 * no user, no query; a trailing "/" is dropped) and splits it: *https
 * 1 or 0, host_off/host_len the "host[:port]" part in s.  The style an
 * endpoint implies when none is set: virtual for *.amazonaws.com, path
 * otherwise (*style).
 */
EDGE_SIGV4_HIDDEN int edge_s3_parse_endpoint(const char *s, size_t len,
    int *https, size_t *host_off, size_t *host_len, int *style,
    char *err, size_t err_len);

/*
 * A bucket name S3 accepts: 3 to 63 of a-z 0-9 . -, starting and ending
 * with a letter or digit.  1 or 0.
 */
EDGE_SIGV4_HIDDEN int edge_s3_valid_bucket(const char *s, size_t len);

/*
 * Reads a credentials file's text: lines "name = value" (or "name=value")
 * with the names aws_access_key_id, aws_secret_access_key and
 * aws_session_token (any case; "[section]" lines, blank lines and lines
 * starting with "#" or ";" are skipped).  The key id and the secret are
 * required.  EDGE_S3_EINVAL with a message that quotes no value.
 */
EDGE_SIGV4_HIDDEN int edge_s3_parse_credentials(const char *text,
    size_t len, edge_s3_credentials_t *out, char *err, size_t err_len);

/*
 * The object key encoded once, as sent and as signed: every byte but
 * A-Za-z0-9-._~/ as uppercase %XX.  dst has room for 3 * len bytes;
 * returns the end.
 */
EDGE_SIGV4_HIDDEN char *edge_s3_encode_key(char *dst, const char *key,
    size_t len);

/*
 * Builds and signs one request.  Signed: host, x-amz-content-sha256,
 * x-amz-date, x-amz-security-token (when there is a token) and every
 * header of r->headers (names lowercased; at most EDGE_S3_MAX_HEADERS);
 * the caller sends those with the values given and out's.  The signing
 * key is derived from the request's own UTC day.
 */
EDGE_SIGV4_HIDDEN int edge_s3_sign(const edge_s3_target_t *t,
    const edge_s3_request_t *r, const edge_sigv4_alloc_t *a,
    edge_s3_signed_t *out, char *err, size_t err_len);

/*
 * The <Code> of an S3 error document ("SignatureDoesNotMatch"...): the
 * first <Code>...</Code> in the first max bytes, copied to code when it
 * is 1 to code_len - 1 letters and digits; 0 if there is none.
 */
EDGE_SIGV4_HIDDEN int edge_s3_error_code(const char *xml, size_t len,
    char *code, size_t code_len);


#endif /* _EDGE_S3_H_INCLUDED_ */
