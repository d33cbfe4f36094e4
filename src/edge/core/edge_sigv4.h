
/*
 * AWS Signature Version 4 (AWS4-HMAC-SHA256): the canonical request, the
 * string to sign, the signing key derived per day, region and service,
 * and the signature, to sign a request (an S3 client) or to verify one
 * (the Lambda front, src/lambda).  Pure C on OpenSSL's libcrypto, no
 * nginx types.
 *
 * The request is given as it travels: the path and the query exactly as
 * sent (still percent-encoded), every header once per line received.
 * Memory for results comes from the caller's allocator hooks and is never
 * freed individually (with nginx: a pool).
 *
 * The functions are hidden, as the other edge files' (see
 * edge_json_check.h): each .so binds its own copy.
 */


#ifndef _EDGE_SIGV4_H_INCLUDED_
#define _EDGE_SIGV4_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


#if (__GNUC__ >= 4)
#define EDGE_SIGV4_HIDDEN  __attribute__((visibility("hidden")))
#else
#define EDGE_SIGV4_HIDDEN
#endif


#define EDGE_SIGV4_OK          0
#define EDGE_SIGV4_EINVAL     (-1)    /* malformed input */
#define EDGE_SIGV4_ENOMEM     (-2)    /* the allocator failed */
#define EDGE_SIGV4_EDATE      (-3)    /* X-Amz-Date too far from now */
#define EDGE_SIGV4_EMISMATCH  (-4)    /* the signature does not match */

/* at most this many query parameters and signed headers */
#define EDGE_SIGV4_MAX_PARAMS      128
/* a secret access key longer than this is refused */
#define EDGE_SIGV4_MAX_SECRET      256

/* error messages are at most this long, including the NUL */
#define EDGE_SIGV4_ERR_LEN         160

/* "YYYYMMDDTHHMMSSZ" */
#define EDGE_SIGV4_DATE_LEN        16

/* the hash of an empty payload */
#define EDGE_SIGV4_EMPTY_SHA256                                               \
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/*
 * Canonical URI flags.  Every service but S3 encodes the path a second
 * time, as sent ("%3A" becomes "%253A"), after removing "." and ".."
 * segments and empty ones.  Without flags (S3) the path is decoded and
 * encoded once, unnormalised.
 */
#define EDGE_SIGV4_PATH_DOUBLE     0x01
#define EDGE_SIGV4_PATH_NORMALIZE  0x02


typedef struct {
    const char                 *data;
    size_t                      len;
} edge_sigv4_str_t;


typedef struct {
    edge_sigv4_str_t            name;     /* any case */
    edge_sigv4_str_t            value;    /* untrimmed */
} edge_sigv4_header_t;


typedef struct {
    void                     *(*alloc)(void *ctx, size_t size);
    void                       *ctx;
} edge_sigv4_alloc_t;


typedef struct {
    edge_sigv4_str_t            method;
    edge_sigv4_str_t            path;            /* as sent, no query */
    edge_sigv4_str_t            query;           /* as sent, no "?" */
    const edge_sigv4_header_t  *headers;         /* all of the request's */
    size_t                      nheaders;
    edge_sigv4_str_t            signed_headers;  /* "host;x-amz-date" */
    edge_sigv4_str_t            payload_hash;    /* hex, or UNSIGNED-... */
    unsigned                    flags;           /* EDGE_SIGV4_PATH_* */
} edge_sigv4_request_t;


/* the parts of an Authorization header, pointing into it */

typedef struct {
    edge_sigv4_str_t            access_key;
    edge_sigv4_str_t            date;            /* "YYYYMMDD" */
    edge_sigv4_str_t            region;
    edge_sigv4_str_t            service;
    edge_sigv4_str_t            signed_headers;
    edge_sigv4_str_t            signature;       /* 64 lowercase hex */
} edge_sigv4_auth_t;


/*
 * The canonical request, with its NUL (not counted in out->len).
 * EDGE_SIGV4_EINVAL: too many query parameters or signed headers, a
 * signed header name not in lowercase, or an empty one.
 */
EDGE_SIGV4_HIDDEN int edge_sigv4_canonical_request(
    const edge_sigv4_request_t *req, const edge_sigv4_alloc_t *a,
    edge_sigv4_str_t *out);

/* the string to sign, with its NUL; scope: "<day>/<region>/<service>/..." */
EDGE_SIGV4_HIDDEN int edge_sigv4_string_to_sign(
    const edge_sigv4_str_t *amz_date, const edge_sigv4_str_t *scope,
    const edge_sigv4_str_t *creq, const edge_sigv4_alloc_t *a,
    edge_sigv4_str_t *out);

/*
 * The signing key of a day ("YYYYMMDD"), region and service.
 * EDGE_SIGV4_EINVAL when the secret is longer than EDGE_SIGV4_MAX_SECRET.
 */
EDGE_SIGV4_HIDDEN int edge_sigv4_signing_key(const char *secret,
    size_t secret_len, const edge_sigv4_str_t *day,
    const edge_sigv4_str_t *region, const edge_sigv4_str_t *service,
    unsigned char key[32]);

/* hex(HMAC-SHA256(key, sts)), 64 characters and a NUL */
EDGE_SIGV4_HIDDEN void edge_sigv4_signature(const unsigned char key[32],
    const edge_sigv4_str_t *sts, char hex[65]);

/* lowercase hex SHA-256 of data, 64 characters and a NUL */
EDGE_SIGV4_HIDDEN void edge_sigv4_sha256_hex(const void *data, size_t len,
    char hex[65]);

/* 1 if a and b (n bytes each) are equal, in time independent of them */
EDGE_SIGV4_HIDDEN int edge_sigv4_equal(const void *a, const void *b,
    size_t n);

/*
 * Parses "AWS4-HMAC-SHA256 Credential=<key>/<day>/<region>/<service>/
 * aws4_request, SignedHeaders=<a;b>, Signature=<hex>" (the three in any
 * order, comma-separated, spaces allowed after the commas).  Returns
 * EDGE_SIGV4_OK or EDGE_SIGV4_EINVAL with a message in err that quotes
 * no input.
 */
EDGE_SIGV4_HIDDEN int edge_sigv4_parse_authorization(const char *value,
    size_t len, edge_sigv4_auth_t *out, char *err, size_t err_len);

/* "YYYYMMDDTHHMMSSZ" as seconds since the epoch; EDGE_SIGV4_EINVAL */
EDGE_SIGV4_HIDDEN int edge_sigv4_parse_date(const char *s, size_t len,
    int64_t *t);

/* seconds since the epoch as "YYYYMMDDTHHMMSSZ" and a NUL */
EDGE_SIGV4_HIDDEN void edge_sigv4_format_date(int64_t t,
    char out[EDGE_SIGV4_DATE_LEN + 1]);

/*
 * Verifies a request against its parsed Authorization (req's
 * signed_headers is ignored: auth's are used).  amz_date is the
 * X-Amz-Date header; it must be signed, within max_skew seconds of now,
 * and of the credential's day; "host" must be signed too.  The caller
 * checks the region and the service and finds the secret.
 *
 * EDGE_SIGV4_OK; EDGE_SIGV4_EINVAL (malformed), EDGE_SIGV4_EDATE (too
 * old or too new) or EDGE_SIGV4_EMISMATCH, with a message in err;
 * EDGE_SIGV4_ENOMEM.
 */
EDGE_SIGV4_HIDDEN int edge_sigv4_verify(const edge_sigv4_request_t *req,
    const edge_sigv4_auth_t *auth, const edge_sigv4_str_t *amz_date,
    const char *secret, size_t secret_len, int64_t now, int64_t max_skew,
    const edge_sigv4_alloc_t *a, char *err, size_t err_len);

/*
 * Signs a request: the Authorization header's value, NUL-terminated.
 * req->signed_headers names the headers to sign (lowercase, sorted); the
 * caller sends X-Amz-Date: amz_date and every header it names.
 */
EDGE_SIGV4_HIDDEN int edge_sigv4_sign(const edge_sigv4_request_t *req,
    const edge_sigv4_str_t *access_key, const char *secret,
    size_t secret_len, const edge_sigv4_str_t *amz_date,
    const edge_sigv4_str_t *region, const edge_sigv4_str_t *service,
    const edge_sigv4_alloc_t *a, edge_sigv4_str_t *authorization);


#endif /* _EDGE_SIGV4_H_INCLUDED_ */
