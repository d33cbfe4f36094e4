
/*
 * What the files of the image variant parameters share; not part of their
 * API (that is image_variant_params.h).  They are split by topic:
 *
 *   image_variant_params.c         preset arguments, the names and numbers
 *                                  both presets and queries use, errors
 *   image_variant_params_query.c   the free-form query parameters
 *   image_variant_params_sign.c    signatures of the query
 *   image_variant_params_accept.c  Accept negotiation and the ETag
 *
 * The files are compiled into the image module's .so, and modules are
 * loaded with RTLD_GLOBAL, so these functions are hidden.
 */


#ifndef _IMAGE_VARIANT_PARAMS_INTERNAL_H_INCLUDED_
#define _IMAGE_VARIANT_PARAMS_INTERNAL_H_INCLUDED_


#include "image_variant_params.h"


#if (__GNUC__ >= 4)
#define IMAGE_VARIANT_PARAMS_HIDDEN  __attribute__((visibility("hidden")))
#else
#define IMAGE_VARIANT_PARAMS_HIDDEN
#endif


/* the quoted excerpt of untrusted input in error messages */
#define IMAGE_VARIANT_QUOTE_MAX      32

/* the free-form query parameters, in canonical order */
#define IMAGE_VARIANT_Q_W            0
#define IMAGE_VARIANT_Q_H            1
#define IMAGE_VARIANT_Q_FIT          2
#define IMAGE_VARIANT_Q_GRAVITY      3
#define IMAGE_VARIANT_Q_FORMAT       4
#define IMAGE_VARIANT_Q_Q            5
#define IMAGE_VARIANT_Q_DPR          6
#define IMAGE_VARIANT_Q_N            7

#define image_variant_str(s)         s, sizeof(s) - 1


typedef struct {
    const char  *name;
    size_t       len;
    unsigned     value;
} image_variant_name_t;


typedef struct {
    const char  *value;
    size_t       len;
    unsigned     eq;           /* "k=v", not a bare "k" */
} image_variant_arg_t;


typedef struct {
    image_variant_arg_t  arg[IMAGE_VARIANT_Q_N];
    image_variant_arg_t  sig;
    unsigned             present;      /* a bit per arg[] */
    unsigned             nsig;         /* how many "s" */
    int                  repeated;     /* the first repeated arg[], or -1 */
} image_variant_query_t;


IMAGE_VARIANT_PARAMS_HIDDEN void image_variant_scan(
    const char *args, size_t len, image_variant_query_t *q);
IMAGE_VARIANT_PARAMS_HIDDEN int image_variant_number(
    const char *v, size_t len, unsigned max, unsigned *out);
IMAGE_VARIANT_PARAMS_HIDDEN int image_variant_lookup(
    const image_variant_name_t *names, const char *v, size_t len,
    unsigned *out);
IMAGE_VARIANT_PARAMS_HIDDEN const char *image_variant_quote(
    const char *s, size_t len, char *buf, size_t size);
IMAGE_VARIANT_PARAMS_HIDDEN int image_variant_error(char *err, size_t err_len,
    const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;


/* the free-form query parameters' names, indexed by IMAGE_VARIANT_Q_* */
IMAGE_VARIANT_PARAMS_HIDDEN extern const image_variant_name_t
    image_variant_query_keys[IMAGE_VARIANT_Q_N];

/* the names of fit, gravity and format values, ending with a NULL name */
IMAGE_VARIANT_PARAMS_HIDDEN extern const image_variant_name_t
    image_variant_fits[];
IMAGE_VARIANT_PARAMS_HIDDEN extern const image_variant_name_t
    image_variant_gravities[];
IMAGE_VARIANT_PARAMS_HIDDEN extern const image_variant_name_t
    image_variant_formats[];


#endif /* _IMAGE_VARIANT_PARAMS_INTERNAL_H_INCLUDED_ */
