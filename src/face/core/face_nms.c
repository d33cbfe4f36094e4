
/*
 * Greedy non-maximum suppression as face-api does it (ops/
 * nonMaxSuppression.ts, ssdMobilenetv1/nonMaxSuppression.ts): best score
 * first, a box goes when it overlaps an accepted one by more than iou.
 */

#include <stdlib.h>

#include "face_internal.h"


static int face_nms_cmp(const void *a, const void *b);


float
face_iou(const face_box_t *a, const face_box_t *b)
{
    float  ix0, iy0, ix1, iy1, inter, aa, ab;

    aa = a->w * a->h;
    ab = b->w * b->h;

    if (aa <= 0.0f || ab <= 0.0f) {
        return 0.0f;
    }

    ix0 = a->x > b->x ? a->x : b->x;
    iy0 = a->y > b->y ? a->y : b->y;
    ix1 = a->x + a->w < b->x + b->w ? a->x + a->w : b->x + b->w;
    iy1 = a->y + a->h < b->y + b->h ? a->y + a->h : b->y + b->h;

    if (ix1 <= ix0 || iy1 <= iy0) {
        return 0.0f;
    }

    inter = (ix1 - ix0) * (iy1 - iy0);

    return inter / (aa + ab - inter);
}


static int
face_nms_cmp(const void *a, const void *b)
{
    const face_box_t  *x = a, *y = b;

    /* descending; ties keep no particular order (qsort is not stable) */
    return (x->score < y->score) - (x->score > y->score);
}


size_t
face_nms(face_box_t *boxes, size_t n, float iou, size_t max)
{
    size_t  i, j, kept;

    qsort(boxes, n, sizeof(face_box_t), face_nms_cmp);

    kept = 0;

    for (i = 0; i < n && kept < max; i++) {
        for (j = 0; j < kept; j++) {
            if (face_iou(&boxes[j], &boxes[i]) > iou) {
                break;
            }
        }

        if (j == kept) {
            boxes[kept++] = boxes[i];
        }
    }

    return kept;
}
