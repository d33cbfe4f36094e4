
/*
 * libFuzzer target for image_variant_face_window() (gravity=face's crop
 * window): the input is an image size, a window size and up to 64 boxes
 * as raw doubles and ints, NaN, infinities and huge values included.
 * Invariants: a window is always inside the image; when the union of the
 * clipped boxes fits in it, every box is whole inside; the count is 0
 * only without a usable box, and never more than the boxes given.
 */


#include <math.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_common.h"
#include "image_variant_face_crop.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                       dims[4], left, top, usable;
    size_t                    i, n, kept;
    double                    x0, y0, x1, y1, ux0, uy0, ux1, uy1;
    image_variant_face_box_t  boxes[IMAGE_VARIANT_FACE_MAX + 2];

    if (size < sizeof(dims)) {
        return 0;
    }

    memcpy(dims, data, sizeof(dims));
    data += sizeof(dims);
    size -= sizeof(dims);

    /* sizes as an image variant has them: up to 8192, or anything */
    if (dims[0] & 1) {
        for (i = 0; i < 4; i++) {
            dims[i] = (int) ((unsigned) dims[i] % 8193);
        }
    }

    n = size / sizeof(image_variant_face_box_t);
    if (n > IMAGE_VARIANT_FACE_MAX + 2) {
        n = IMAGE_VARIANT_FACE_MAX + 2;
    }

    memcpy(boxes, data, n * sizeof(image_variant_face_box_t));

    left = -12345;
    top = -12345;

    kept = image_variant_face_window(dims[0], dims[1], dims[2], dims[3],
                                     boxes, n, &left, &top);

    FUZZ_CHECK(kept <= n);

    if (kept == 0) {
        FUZZ_CHECK(left == -12345 && top == -12345);
        return 0;
    }

    FUZZ_CHECK(left >= 0 && top >= 0);
    FUZZ_CHECK(left + dims[2] <= dims[0] && top + dims[3] <= dims[1]);

    /* the union of the boxes the function looks at, clipped */

    ux0 = INFINITY;
    uy0 = INFINITY;
    ux1 = -INFINITY;
    uy1 = -INFINITY;
    usable = 0;

    for (i = 0; i < n && i < IMAGE_VARIANT_FACE_MAX; i++) {
        if (!isfinite(boxes[i].x) || !isfinite(boxes[i].y)
            || !isfinite(boxes[i].w) || !isfinite(boxes[i].h))
        {
            continue;
        }

        x0 = fmax(boxes[i].x, 0.0);
        y0 = fmax(boxes[i].y, 0.0);
        x1 = fmin(boxes[i].x + boxes[i].w, dims[0]);
        y1 = fmin(boxes[i].y + boxes[i].h, dims[1]);

        if (!(x1 > x0 && y1 > y0)) {
            continue;
        }

        usable++;
        ux0 = fmin(ux0, x0);
        uy0 = fmin(uy0, y0);
        ux1 = fmax(ux1, x1);
        uy1 = fmax(uy1, y1);
    }

    FUZZ_CHECK(usable > 0);

    if (ceil(ux1) - floor(ux0) <= dims[2]
        && ceil(uy1) - floor(uy0) <= dims[3])
    {
        FUZZ_CHECK(ux0 >= left && ux1 <= (double) left + dims[2]);
        FUZZ_CHECK(uy0 >= top && uy1 <= (double) top + dims[3]);
        FUZZ_CHECK(kept == (size_t) usable);
    }

    return 0;
}
