/*
 * Face engine: detection, 68-point landmarks, alignment and 128-d
 * descriptors (face-api 1.7.15 weights, run with oneDNN).  No nginx types:
 * the nginx module, the faceenc CLI, unit tests and fuzzers link it alike.
 *
 * Threading: face_models_t is loaded once and never changes afterwards, so
 * any number of threads may share it.  A face_ctx_t (oneDNN runtimes and
 * their workspace) belongs to one thread at a time; oneDNN runs on the
 * calling thread only (no OpenMP workers).
 *
 * The caller initialises libvips (VIPS_INIT) once per process before
 * face_encode(); oneDNN needs no initialisation.
 */

#ifndef FACE_H
#define FACE_H

#include <stddef.h>
#include <stdint.h>


#define FACE_LANDMARKS      68
#define FACE_DESCRIPTOR     128


typedef struct face_models_s  face_models_t;
typedef struct face_ctx_s     face_ctx_t;


typedef enum {
    FACE_OK = 0,
    FACE_EDECODE,          /* not an image, corrupt, unsupported: 415 */
    FACE_ETOOBIG,          /* over max_pixels (from the header): 413 */
    FACE_ENOMEM,
    FACE_EINTERNAL         /* oneDNN or libvips failure: 500 */
} face_status_e;


typedef enum {
    FACE_DETECTOR_SSD = 0,
    FACE_DETECTOR_TINY
} face_detector_e;


typedef enum {
    FACE_ALIGN_DLIB = 0,   /* dlib's similarity-aligned 150x150 chip */
    FACE_ALIGN_FACEAPI     /* face-api's axis-aligned crop (parity) */
} face_alignment_e;


typedef struct {
    face_detector_e    detector;        /* default SSD */
    int                tiny_input_size; /* multiple of 32, default 416 */
    face_alignment_e   alignment;       /* default dlib */
    float              min_confidence;  /* default 0.5 */
    int                max_faces;       /* default 100 */
    int                tiles;           /* small-face tiles; default 0 */
    int                refine;          /* dlib alignment: second landmark
                                           pass on an upright crop;
                                           default 0 */
    int                flip;            /* descriptor: mean of the net on
                                           the chip and on its mirror
                                           image; default 0, as dlib */
    uint64_t           max_pixels;      /* 0: no limit */
} face_options_t;


typedef struct {
    float              box[4];          /* x, y, w, h in image pixels */
    float              score;
    float              landmarks[FACE_LANDMARKS][2];
    float              encoding[FACE_DESCRIPTOR];
} face_t;


typedef struct {
    int                width;           /* after EXIF orientation */
    int                height;
    size_t             nfaces;
    face_t            *faces;           /* malloc()ed, face_result_free() */
    double             ms_decode;
    double             ms_detect;
    double             ms_landmarks;
    double             ms_encode;
} face_result_t;


void face_options_init(face_options_t *opt);

/* Reads <dir>/<net>-weights_manifest.json and .bin for every network. */
face_status_e face_models_load(const char *dir, face_models_t **models,
    char *err, size_t errlen);
void face_models_free(face_models_t *models);

face_ctx_t *face_ctx_create(const face_models_t *models, char *err,
    size_t errlen);
void face_ctx_free(face_ctx_t *ctx);

/*
 * Builds now the runtimes that opt needs (otherwise built on first use):
 * a warm-up for benchmarks and for threads that should not pay it later.
 */
face_status_e face_ctx_prepare(face_ctx_t *ctx, const face_options_t *opt,
    char *err, size_t errlen);

/*
 * Decodes an encoded image (JPEG, PNG, WebP, GIF, HEIC/AVIF, TIFF; EXIF
 * orientation applied, alpha dropped) and runs the whole pipeline.
 * On success *res holds the faces, best score first.
 */
face_status_e face_encode(face_ctx_t *ctx, const void *data, size_t len,
    const face_options_t *opt, face_result_t *res, char *err, size_t errlen);

void face_result_free(face_result_t *res);

/* the kernels the context's runtimes use, per network ("ssd 512x352:
   jit_1x1:avx2 x13, ...; lm: ..."), and the instruction set oneDNN picked
   for this process ("avx2", "avx512_core", ...): for benchmarks */
void face_ctx_kernels(const face_ctx_t *ctx, char *buf, size_t len);
const char *face_engine_isa(void);
/* bytes of the context's activation, scratch and I/O buffers */
size_t face_ctx_bytes(const face_ctx_t *ctx);

/*
 * Detection only, on RGB pixels the caller decoded (3 bytes a pixel, rows
 * back to back): the faces above opt->min_confidence, best first, at most
 * max, as x, y, w, h in pixels and score; their count in *n.  For the
 * image variants' gravity=face, which has the image shrunk already.
 */
face_status_e face_detect_rgb(face_ctx_t *ctx, const uint8_t *rgb, int w,
    int h, const face_options_t *opt, float (*boxes)[5], size_t max,
    size_t *n, char *err, size_t errlen);

/*
 * JSON of a result: {"width","height","faces":[{"box","score","landmarks",
 * "encoding"}]}, with "file" first when file is not NULL and "ms" last when
 * with_ms is set.  Every number carries a decimal point or an exponent, never
 * NaN.  malloc()ed; NULL when out of memory.
 */
char *face_result_json(const face_result_t *res, const char *file,
    int with_ms);

/* A float as JSON that always reads back as a float: "0.0", "1.5e-05". */
size_t face_json_float(char *buf, size_t len, double v);

const char *face_status_text(face_status_e status);

#endif /* FACE_H */
