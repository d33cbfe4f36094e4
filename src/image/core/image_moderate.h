
/*
 * Moderation: nsfwjs 4.4.0's MobileNetV2 classifier (224x224, five
 * classes) run in C on the face engine's graph API (face_nn.h), from
 * pixels decoded once.  No nginx types.
 *
 * The model (image_moderate_model_t) is loaded once and shared read-only
 * by any number of threads; a context (the network's runtime and its
 * buffers) belongs to one thread at a time.
 *
 * Preprocessing as nsfwjs's infer(): the RGB image divided by 255, then
 * tf.image.resizeBilinear of the whole image to 224x224 with
 * alignCorners (no crop, no aspect ratio kept); the net's softmax gives
 * the five scores in the order of image_moderate_names.
 */


#ifndef _IMAGE_MODERATE_H_INCLUDED_
#define _IMAGE_MODERATE_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


#define IMAGE_MODERATE_CLASSES   5
#define IMAGE_MODERATE_SIZE      224
#define IMAGE_MODERATE_NET       "nsfwjs_mobilenet_v2"

/* "drawing", "hentai", "neutral", "porn", "sexy": nsfwjs's class order */
#define IMAGE_MODERATE_DRAWING   0
#define IMAGE_MODERATE_HENTAI    1
#define IMAGE_MODERATE_NEUTRAL   2
#define IMAGE_MODERATE_PORN      3
#define IMAGE_MODERATE_SEXY      4

/* "porn=0.7 hentai=0.7 sexy=0.9", the documented defaults */
#define IMAGE_MODERATE_OFF       2.0f   /* a threshold that never flags */


typedef struct image_moderate_model_s  image_moderate_model_t;
typedef struct image_moderate_ctx_s    image_moderate_ctx_t;


extern const char  *image_moderate_names[IMAGE_MODERATE_CLASSES];


/*
 * Reads <dir>/nsfwjs_mobilenet_v2-weights_manifest.json and its .bin
 * ("make models"), batch norms folded into the convolutions.  Returns 0,
 * or -1 with a message in err.
 */
int image_moderate_load(const char *dir, image_moderate_model_t **model,
    char *err, size_t errlen);
void image_moderate_model_free(image_moderate_model_t *model);

/* the network's runtime, for one thread at a time; NULL: err set */
image_moderate_ctx_t *image_moderate_ctx_create(
    const image_moderate_model_t *model, char *err, size_t errlen);
void image_moderate_ctx_free(image_moderate_ctx_t *ctx);

/*
 * Scores of RGB pixels (3 bytes a pixel, rows of stride bytes).
 * Returns 0, or -1 with a message in err.
 */
int image_moderate_rgb(image_moderate_ctx_t *ctx, const uint8_t *px,
    int width, int height, size_t stride,
    float scores[IMAGE_MODERATE_CLASSES], char *err, size_t errlen);

/*
 * tf.image.resizeBilinear(px / 255, [size, size], alignCorners = true)
 * into out (size * size * 3 floats).
 */
void image_moderate_resize(const uint8_t *px, int width, int height,
    size_t stride, int size, float *out);

/*
 * 1 when a score reaches its class's threshold (thresholds: one per
 * class, IMAGE_MODERATE_OFF for a class that never flags).
 */
int image_moderate_flagged(const float scores[IMAGE_MODERATE_CLASSES],
    const float thresholds[IMAGE_MODERATE_CLASSES]);

/* the documented default thresholds */
void image_moderate_default_thresholds(
    float thresholds[IMAGE_MODERATE_CLASSES]);

/*
 * {"drawing":0.012345,...}: the five scores as a JSON object; returns
 * the length (without the NUL) it needs, writing at most len bytes.
 */
size_t image_moderate_json(const float scores[IMAGE_MODERATE_CLASSES],
    char *buf, size_t len);

/*
 * Decodes an encoded image with the face engine's decoder (EXIF
 * orientation applied, sRGB, alpha dropped, 8 bits): *px is width * 3
 * bytes a row, image_moderate_pixels_free().  max_pixels (0: none) is
 * checked on the header.  Returns 0, 1 when the bytes are not an image it
 * takes, 2 over max_pixels, -1 on other failures; err set.
 */
int image_moderate_decode(const void *data, size_t len, uint64_t max_pixels,
    uint8_t **px, int *width, int *height, char *err, size_t errlen);
void image_moderate_pixels_free(uint8_t *px);


#endif /* _IMAGE_MODERATE_H_INCLUDED_ */
