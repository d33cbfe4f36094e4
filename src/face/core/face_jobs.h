
/*
 * The serverless "facedetection" contract: the payload the old AWS Lambda
 * function took, the callback it made for every source, and the retry
 * schedule of those callbacks.
 *
 *     {"api_url": "https://site",
 *      "sources": [{"pk": 1, "type": "photo", "photo_url": "https://...",
 *                   "token": "..."}, ...]}
 *
 * "api_url" is an http or https URL (trailing slashes are dropped);
 * "sources" an array, possibly empty (the old function accepted that as
 * a no-op).  Each source needs "pk" (a non-negative integer), "type"
 * ("photo" or "reference"), "photo_url" (an http or https URL) and
 * "token" (a string).  Unknown keys are ignored; a known key given twice
 * is an error, and so is a NUL character (raw or as "\u0000"), which
 * cJSON would silently cut strings at.
 *
 * No nginx types here.  Strings in the results are NUL-terminated copies
 * in memory from the caller's allocator hooks (never freed one by one:
 * with nginx they come from a pool); the cJSON tree is freed before
 * face_jobs_parse() returns.
 */


#ifndef _FACE_JOBS_H_INCLUDED_
#define _FACE_JOBS_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


#define FACE_JOBS_OK               0
#define FACE_JOBS_EINVAL          (-1)    /* malformed payload */
#define FACE_JOBS_ENOMEM          (-2)    /* the allocator failed */

/* longer URLs and tokens are refused */
#define FACE_JOBS_MAX_URL_LEN      8192
#define FACE_JOBS_MAX_TOKEN_LEN    1024

/* the largest pk: every integer up to here is exact in a JSON double */
#define FACE_JOBS_MAX_PK           9007199254740991LL

/* error messages are at most this long, including the NUL */
#define FACE_JOBS_ERR_LEN          128

/* floats per encoding */
#define FACE_JOBS_ENCODING         128

/* a JSON float is at most this long: "-1.23456789e-38" and a NUL */
#define FACE_JOBS_FLOAT_LEN        32


typedef enum {
    FACE_JOBS_PHOTO = 0,
    FACE_JOBS_REFERENCE
} face_jobs_type_e;


typedef struct {
    void                *(*alloc)(void *ctx, size_t size);
    void                  *ctx;
} face_jobs_alloc_t;


typedef struct {
    const char            *data;       /* NUL-terminated */
    size_t                 len;
} face_jobs_str_t;


typedef struct {
    int64_t                pk;
    face_jobs_type_e       type;
    face_jobs_str_t        photo_url;
    face_jobs_str_t        token;
} face_jobs_source_t;


typedef struct {
    face_jobs_str_t        api_url;    /* without trailing slashes */
    face_jobs_source_t    *sources;    /* NULL when there are none */
    size_t                 nsources;
} face_jobs_payload_t;


/* what to do after a callback attempt */
typedef enum {
    FACE_JOBS_DELIVERED = 0,           /* 2xx */
    FACE_JOBS_RETRY,                   /* no answer, 429 or 5xx */
    FACE_JOBS_REJECTED                 /* any other status: final */
} face_jobs_verdict_e;


/*
 * Parses and validates buf[0..len) (need not be NUL-terminated), the
 * whole payload before anything is done with it.  Returns FACE_JOBS_OK
 * or a negative FACE_JOBS_E* code with a message in err that names the
 * bad field and quotes no input (safe for logs and JSON):
 *
 *     sources[2].pk: must be an integer
 *     api_url: must be an http or https URL
 *
 * Source indexes count from 0, as in the JSON array.
 */
int face_jobs_parse(const char *buf, size_t len,
    const face_jobs_alloc_t *alloc, face_jobs_payload_t *out, char *err,
    size_t err_len);

/* "photo" or "reference" */
const char *face_jobs_type_name(face_jobs_type_e type);

/*
 * "{api_url}/api/facedetection/encodings/{type}/{pk}/" into dst (size
 * bytes, NUL-terminated when size > 0).  Returns the length the URL
 * needs without the NUL, like snprintf().
 */
size_t face_jobs_callback_url(char *dst, size_t size,
    const face_jobs_payload_t *p, const face_jobs_source_t *s);

/*
 * The callback's body: {"token": "...", "encodings": [[128 floats], ...]}
 * for n encodings of FACE_JOBS_ENCODING floats each, one after another
 * in enc.  Every number has a decimal point or an exponent (the site
 * rejects JSON integers); NaN and infinities become 0.0.  malloc()ed,
 * NUL-terminated, its length in *len; NULL when out of memory.
 */
char *face_jobs_callback_body(const char *token, size_t token_len,
    const float *enc, size_t n, size_t *len);

/*
 * A float as JSON that always reads back as a float ("0.0", "1.5e-05"),
 * with the 9 significant digits that give back the same float32.
 * Returns its length; buf must hold FACE_JOBS_FLOAT_LEN bytes.
 */
size_t face_jobs_float(char *buf, double v);

/* status: the HTTP status of the answer, 0 when none came */
face_jobs_verdict_e face_jobs_verdict(long status);

/*
 * The pause before retry number attempt (1, 2, ...): base_ms doubled for
 * each further attempt, at most cap_ms.
 */
uint64_t face_jobs_backoff_ms(unsigned attempt, uint64_t base_ms,
    uint64_t cap_ms);


#endif /* _FACE_JOBS_H_INCLUDED_ */
