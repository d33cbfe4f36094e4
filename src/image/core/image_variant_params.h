
/*
 * Image variant parameters: preset specs, signed query parameters,
 * Accept negotiation and the variant's ETag.  No nginx types, no libvips.
 */


#ifndef _IMAGE_VARIANT_PARAMS_H_INCLUDED_
#define _IMAGE_VARIANT_PARAMS_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


#define IMAGE_VARIANT_OK           0
#define IMAGE_VARIANT_EINVAL     (-1)

#define IMAGE_VARIANT_MAX_SIDE     8192     /* width/height after dpr */
#define IMAGE_VARIANT_MAX_DPR      4
#define IMAGE_VARIANT_SIG_LEN      43       /* base64url of 32 bytes */
#define IMAGE_VARIANT_ETAG_LEN     34       /* '"' + 32 hex + '"' */
#define IMAGE_VARIANT_CONTENT_LEN  71       /* "sha256:" + 64 hex */


typedef enum {
    IMAGE_VARIANT_FIT_COVER = 0,    /* fill width x height, crop */
    IMAGE_VARIANT_FIT_CONTAIN,      /* fit inside, pad with background */
    IMAGE_VARIANT_FIT_INSIDE,       /* fit inside, no padding */
    IMAGE_VARIANT_FIT_FILL          /* stretch to width x height */
} image_variant_fit_e;


typedef enum {
    IMAGE_VARIANT_GRAVITY_CENTRE = 0,
    IMAGE_VARIANT_GRAVITY_ATTENTION,
    IMAGE_VARIANT_GRAVITY_ENTROPY,
    IMAGE_VARIANT_GRAVITY_FACE      /* the detector's faces, else attention */
} image_variant_gravity_e;


typedef enum {
    IMAGE_VARIANT_FORMAT_AUTO = 0,
    IMAGE_VARIANT_FORMAT_JPEG,
    IMAGE_VARIANT_FORMAT_PNG,
    IMAGE_VARIANT_FORMAT_WEBP,
    IMAGE_VARIANT_FORMAT_AVIF
} image_variant_format_e;


/* what an Accept header allows, for format=auto */
typedef enum {
    IMAGE_VARIANT_ACCEPT_LEGACY = 0,  /* JPEG, or PNG for alpha sources */
    IMAGE_VARIANT_ACCEPT_WEBP,
    IMAGE_VARIANT_ACCEPT_AVIF
} image_variant_accept_e;


typedef struct {
    unsigned                  width;     /* 0: from height and aspect */
    unsigned                  height;    /* 0: from width and aspect */
    image_variant_fit_e       fit;
    image_variant_gravity_e   gravity;
    image_variant_format_e    format;
    unsigned                  quality;   /* 1..100; 0: the format's default */
    unsigned                  dpr;       /* 1..4, already applied to sizes */
    uint8_t                   background[3];   /* RGB, default white */
    unsigned                  fast_shrink;     /* 1: shrink-on-load leaves
                                                  1.25x to the resampler,
                                                  0: 2x (vips_thumbnail) */
} image_variant_params_t;


/* the defaults: cover, centre, auto, quality 0, dpr 1, white */
void image_variant_params_init(image_variant_params_t *p);

/*
 * One "key=value" argument of image_variant_preset (width, height, fit,
 * gravity, format, quality, background=#rrggbb).  Returns OK or EINVAL
 * with a message in err.
 *
 * width, height 1..8192 and quality 1..100 are decimal digits only (no
 * sign, leading zeros allowed); fit, gravity and format take the names of
 * the enums above in lowercase, plus "center" and "jpg"; background is
 * "#rrggbb" or "rrggbb", hex in either case.  An unknown key, a bad value
 * or an argument without "=" is EINVAL, the message naming the key or
 * value (cut to 32 bytes, non-printable bytes as '?'), and p unchanged.  A
 * key given twice: the later one wins.  err may be NULL when err_len is 0.
 */
int image_variant_preset_arg(image_variant_params_t *p, const char *arg,
    size_t len, char *err, size_t err_len);

/*
 * Free-form parameters from a query string (w, h, fit, gravity, format, q,
 * dpr; "s" is the signature, other arguments are ignored).  p starts from
 * the caller's defaults (a preset, or image_variant_params_init()).  *found
 * tells whether any of the parameters was present.
 *
 * Arguments are split on "&"; keys are compared exactly, without
 * percent-decoding.  Values are percent-decoded, then checked as in a
 * preset (w, h 1..8192, q 1..100, dpr 1..4).  dpr multiplies the final
 * width and height, the preset's included, and EINVAL when a side would
 * pass 8192.  A repeated parameter, a key without "=" or an empty value,
 * a bad escape: EINVAL.  p changes only on success; *found is set either
 * way (found may be NULL).
 */
int image_variant_params_query(image_variant_params_t *p, const char *args,
    size_t len, int *found, char *err, size_t err_len);

/*
 * The signature check.  The canonical string is the request path exactly
 * as sent (before "?"), a newline, then those of w, h, fit, gravity,
 * format, q, dpr that are present, in this order, as "k=v" joined by "&",
 * values exactly as sent.  The signature ("s") is the HMAC-SHA256 of it
 * under key, base64url without padding.  Constant-time comparison.
 * Returns 1 when valid, 0 when missing, malformed or wrong.
 *
 * 0 as well for: an empty key; no "s", or more than one; an "s" that is
 * not exactly 43 characters of the base64url alphabet with zero unused
 * bits ('=' padding, '+', '/', '%' are refused); a repeated parameter or
 * one without "="; a path holding '\n'; a canonical string of 8192 bytes
 * or more.  Arguments other than the seven are not signed.
 */
int image_variant_signature_ok(const uint8_t *key, size_t key_len,
    const char *path, size_t path_len, const char *args, size_t args_len);

/*
 * The same canonical string and signature, for the signing side and tests.
 * image_variant_canonical() returns the length and writes the string with
 * a terminating NUL; out NULL: the length only.  0 when the arguments have
 * no canonical string (see above) or out_len is not more than the length;
 * path_len + args_len + 2 bytes always suffice.  image_variant_sign()
 * writes 43 characters and a NUL, or only the NUL should OpenSSL fail.
 */
size_t image_variant_canonical(const char *path, size_t path_len,
    const char *args, size_t args_len, char *out, size_t out_len);
void image_variant_sign(const uint8_t *key, size_t key_len,
    const char *canonical, size_t len, char sig[IMAGE_VARIANT_SIG_LEN + 1]);

/*
 * AVIF when Accept lists image/avif (q > 0), else WebP likewise, else
 * legacy.  Media ranges are split on commas outside quoted strings; types
 * compare case-insensitively and exactly, so the wildcard ranges count for
 * nothing: curl's, which is only the wildcard, gets legacy.  Relative q
 * values do not matter; a type refused with q=0 anywhere in the header
 * stays refused, and a malformed range or qvalue counts as a refusal.
 */
image_variant_accept_e image_variant_negotiate(const char *accept,
    size_t len);

/*
 * The variant's ETag: a digest of the source's validator (its ETag, or its
 * Last-Modified and length) and every parameter, plus the Accept class when
 * the format is auto.  Same inputs, same tag: If-None-Match can be answered
 * before anything is decoded.  Writes IMAGE_VARIANT_ETAG_LEN bytes.
 *
 * SHA-256 of a fixed big-endian layout (see the .c), never of struct
 * memory; no NUL is written.  Should OpenSSL fail, the 32 digits are zeros.
 */
void image_variant_etag(const char *validator, size_t len,
    const image_variant_params_t *p, image_variant_accept_e accept,
    char out[IMAGE_VARIANT_ETAG_LEN]);

/*
 * The validator of a source that came without one (no ETag, no
 * Last-Modified): "sha256:" and the hex SHA-256 of its bytes, for
 * image_variant_etag().  Two different sources never share a tag, and a
 * changed source gets a new one, whatever its length.  Writes
 * IMAGE_VARIANT_CONTENT_LEN bytes, no NUL; zeros should OpenSSL fail.
 */
void image_variant_content_validator(const void *data, size_t len,
    char out[IMAGE_VARIANT_CONTENT_LEN]);

/*
 * 1 when an If-None-Match value (len bytes, not NUL-terminated) is "*" or
 * lists etag (IMAGE_VARIANT_ETAG_LEN bytes, quoted), weak or strong (RFC
 * 9110, 13.1.2: If-None-Match compares weakly); else 0.
 */
int image_variant_etag_listed(const char *list, size_t len,
    const char *etag);


#endif /* _IMAGE_VARIANT_PARAMS_H_INCLUDED_ */
