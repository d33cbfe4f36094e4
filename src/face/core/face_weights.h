
/*
 * tfjs weight files: a JSON manifest and the concatenated .bin it names.
 * Pure parsing, no XNNPACK: unit-tested and fuzzed on its own.
 */

#ifndef FACE_WEIGHTS_H
#define FACE_WEIGHTS_H

#include <stddef.h>


#define FACE_WEIGHTS_MAX_DIMS  4


typedef struct {
    char      *name;
    int        ndims;
    size_t     dims[FACE_WEIGHTS_MAX_DIMS];
    size_t     count;
    float     *data;           /* dequantised; int32 stored as floats */
} face_tensor_t;


typedef struct {
    size_t          n;
    face_tensor_t  *t;
} face_weights_t;


/*
 * Parses a manifest (json, len) whose groups' paths, in order, are
 * concatenated in bin.  uint8 entries: value = q * scale + min.
 * Returns 0, or -1 with a message in err.
 */
int face_weights_parse(face_weights_t *w, const char *json, size_t len,
    const unsigned char *bin, size_t bin_len, char *err, size_t errlen);

/* Reads <dir>/<net>-weights_manifest.json and the files it names. */
int face_weights_load(face_weights_t *w, const char *dir, const char *net,
    char *err, size_t errlen);

/* The tensor called name with count elements, or NULL (err set). */
const face_tensor_t *face_weights_get(const face_weights_t *w,
    const char *name, size_t count, char *err, size_t errlen);

void face_weights_free(face_weights_t *w);

#endif /* FACE_WEIGHTS_H */
