
/*
 * What the engine's files share: the networks' parameters (load time,
 * immutable), the per-thread context and the pure geometry helpers.
 */

#ifndef FACE_INTERNAL_H
#define FACE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "face.h"
#include "face_weights.h"
#include "face_nn.h"


#define FACE_SSD_SIZE       512
#define FACE_SSD_ANCHORS    5118
#define FACE_SSD_PARTS      3      /* non-square SSD runtimes a context keeps */
#define FACE_LM_SIZE        112
#define FACE_RESIZE_MAX     2048   /* largest network input side */
#define FACE_CHIP_SIZE      150
#define FACE_DECODE_KEEP    2048   /* long side a JPEG's DCT scaling keeps */
#ifndef FACE_REC_BATCH
#define FACE_REC_BATCH      1      /* chips per run of the recognition net */
#endif


/* an RGB image, 3 bytes a pixel, rows back to back */
typedef struct {
    const uint8_t  *px;
    int             w;
    int             h;
} face_image_t;


/* a detection in image pixels */
typedef struct {
    float   x;
    float   y;
    float   w;
    float   h;
    float   score;
} face_box_t;


/* a region of the image; the engine's crops use whole pixels */
typedef struct {
    int     x;
    int     y;
    int     w;
    int     h;
} face_rect_t;


typedef struct {
    face_layer_t   conv0;
    face_layer_t   dw[13];
    face_layer_t   pw[13];
    face_layer_t   extra[8];
    face_layer_t   box[6];
    face_layer_t   cls[6];
    float         *anchors;       /* [5118][ymin, xmin, ymax, xmax] */
} face_ssd_t;


typedef struct {
    face_layer_t   conv0;
    face_layer_t   dw[5];
    face_layer_t   pw[5];
    face_layer_t   conv8;
} face_tiny_t;


typedef struct {
    face_layer_t   conv0;         /* dense0: plain convolution */
    face_layer_t   dw[4][4];      /* [block][conv]; dw[0][0] unused */
    face_layer_t   pw[4][4];
    face_layer_t   fc;
} face_lm_t;


#define FACE_REC_BLOCKS  14

typedef struct {
    face_layer_t   conv0;
    face_layer_t   conv1[FACE_REC_BLOCKS];
    face_layer_t   conv2[FACE_REC_BLOCKS];
    face_layer_t   fc;
} face_rec_t;


struct face_models_s {
    face_ssd_t     ssd;
    face_tiny_t    tiny;
    face_lm_t      lm;
    face_rec_t     rec;
    size_t         bytes;
};


struct face_ctx_s {
    const face_models_t  *models;
    face_net_t            ssd;           /* 512x512: face-api's input */
    face_net_t            ssd_part[FACE_SSD_PARTS];
    unsigned              ssd_part_used[FACE_SSD_PARTS];
    unsigned              ssd_tick;
    face_net_t            tiny;
    int                   tiny_size;
    face_net_t            lm;
    face_net_t            rec;
    int                   rec_batch;
};


/* networks: load (fold weights), build (a runtime), run */
int face_ssd_load(face_ssd_t *p, const face_weights_t *w, char *err,
    size_t errlen);
void face_ssd_free(face_ssd_t *p);
int face_ssd_build(face_net_t *net, const face_ssd_t *p, char *err,
    size_t errlen);
/* the top left rows x cols of the 512x512 input (multiples of 32) */
int face_ssd_build_part(face_net_t *net, const face_ssd_t *p, int rows,
    int cols, char *err, size_t errlen);
/* the input size for a region: a bucket of the long side's 512 */
void face_ssd_bucket(const face_rect_t *region, int *rows, int *cols);
int face_ssd_detect(face_net_t *net, const face_ssd_t *p,
    const face_image_t *img, const face_rect_t *region, float min_conf,
    face_box_t **boxes, size_t *n);

int face_tiny_load(face_tiny_t *p, const face_weights_t *w, char *err,
    size_t errlen);
void face_tiny_free(face_tiny_t *p);
int face_tiny_build(face_net_t *net, const face_tiny_t *p, int size,
    char *err, size_t errlen);
int face_tiny_detect(face_net_t *net, int size, const face_image_t *img,
    float min_conf, face_box_t **boxes, size_t *n);

int face_lm_load(face_lm_t *p, const face_weights_t *w, char *err,
    size_t errlen);
void face_lm_free(face_lm_t *p);
int face_lm_build(face_net_t *net, const face_lm_t *p, char *err,
    size_t errlen);
int face_lm_run(face_net_t *net, const face_image_t *img,
    const face_box_t *box, float lm[FACE_LANDMARKS][2]);
/* a second pass on an upright crop placed by the first pass's points */
int face_lm_refine(face_net_t *net, const face_image_t *img,
    float lm[FACE_LANDMARKS][2]);

int face_rec_load(face_rec_t *p, const face_weights_t *w, char *err,
    size_t errlen);
void face_rec_free(face_rec_t *p);
/* batch: chips a run takes; unused slots cost as much as used ones */
int face_rec_build(face_net_t *net, const face_rec_t *p, int batch,
    char *err, size_t errlen);
/* chip: 150x150 RGB as floats 0..255 */
void face_rec_input(face_net_t *net, int slot, const float *chip);
const float *face_rec_output(const face_net_t *net, int slot);
/* slot 0 alone */
int face_rec_run(face_net_t *net, const float *chip,
    float out[FACE_DESCRIPTOR]);
/* the mean of the descriptors of the chip and of its mirror image (the
   chip is mirrored in place); batch: the net's */
int face_rec_flip(face_net_t *net, int batch, float *chip,
    float out[FACE_DESCRIPTOR]);

/* everything after decoding */
face_status_e face_pipeline(face_ctx_t *ctx, const face_image_t *img,
    const face_options_t *opt, face_result_t *res, char *err,
    size_t errlen);

/* SSD (plus tiles) or tiny, boxes best first (face_detect.c) */
int face_detect(face_ctx_t *ctx, const face_image_t *img,
    const face_options_t *opt, face_box_t **boxes, size_t *n);

/* geometry, crops and resampling (face_align.c) */
face_rect_t face_clip_rect(float x, float y, float w, float h, int iw,
    int ih);
void face_square_resize(const face_image_t *img, const face_rect_t *r,
    int center, int size, const float mean[3], float scale, float *out);
/* the first rows x cols samples of that square (a cropped network input) */
void face_square_resize_part(const face_image_t *img, const face_rect_t *r,
    int center, int size, int rows, int cols, const float mean[3],
    float scale, float *out);
face_rect_t face_faceapi_rect(const float lm[FACE_LANDMARKS][2],
    const face_rect_t *lm_crop);

typedef struct {
    double  c;           /* scale, chip -> image */
    double  cs;          /* cos theta */
    double  sn;          /* sin theta */
    double  tx;
    double  ty;
} face_similarity_t;

face_similarity_t face_similarity(const double (*from)[2],
    const double (*to)[2], int n);
/* chip -> image of dlib's 150x150 chip for these landmarks */
face_similarity_t face_dlib_transform(const float lm[FACE_LANDMARKS][2]);
void face_rotated_resize(const face_image_t *img, double x0, double y0,
    double side, double cs, double sn, int size, const float mean[3],
    float scale, float *out);
void face_dlib_chip(const face_image_t *img,
    const float lm[FACE_LANDMARKS][2], float *out);

/* non-maximum suppression (face_nms.c) */
float face_iou(const face_box_t *a, const face_box_t *b);
size_t face_nms(face_box_t *boxes, size_t n, float iou, size_t max);

/* SSD anchor decoding (face_ssd.c, pure) */
void face_ssd_decode(const float *anchor, const float *code, float *box);

/* libjpeg-turbo, libwebp or libvips (face_image.c) */
/* keep: a JPEG's long side is decoded at 1/2, 1/4 or 1/8 as long as it
   stays at least this (0: full size); fw, fh: the full oriented size */
face_status_e face_image_decode_scaled(const void *data, size_t len,
    uint64_t max_pixels, int keep, uint8_t **px, int *w, int *h, int *fw,
    int *fh, char *err, size_t errlen);
int face_exif_orientation(const uint8_t *p, size_t len);
int face_exif_tiff_orientation(const uint8_t *p, size_t len);
face_status_e face_image_decode(const void *data, size_t len,
    uint64_t max_pixels, uint8_t **px, int *w, int *h, char *err,
    size_t errlen);
void face_image_free(uint8_t *px);

#endif /* FACE_INTERNAL_H */
