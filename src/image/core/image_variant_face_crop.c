
/*
 * gravity=face: the crop window around the faces; see the header.
 */


#include <math.h>
#include <stdlib.h>

#include "image_variant_face_crop.h"


static double image_variant_face_place(double centre, double lo, double hi,
    double win, double size);
static int image_variant_face_larger(const void *a, const void *b);


size_t
image_variant_face_window(int iw, int ih, int cw, int ch,
    const image_variant_face_box_t *faces, size_t n, int *left, int *top)
{
    size_t                    i, m, kept;
    double                    x0, y0, x1, y1, ux0, uy0, ux1, uy1;
    double                    area, sum, cx, cy, nx0, ny0, nx1, ny1;
    image_variant_face_box_t  box[IMAGE_VARIANT_FACE_MAX];

    if (iw <= 0 || ih <= 0 || cw <= 0 || ch <= 0 || cw > iw || ch > ih) {
        return 0;
    }

    /* clipped to the image; empty boxes (and NaN) dropped */

    m = 0;

    for (i = 0; i < n && i < IMAGE_VARIANT_FACE_MAX; i++) {
        if (!isfinite(faces[i].x) || !isfinite(faces[i].y)
            || !isfinite(faces[i].w) || !isfinite(faces[i].h))
        {
            continue;
        }

        x0 = fmax(faces[i].x, 0.0);
        y0 = fmax(faces[i].y, 0.0);
        x1 = fmin(faces[i].x + faces[i].w, (double) iw);
        y1 = fmin(faces[i].y + faces[i].h, (double) ih);

        if (!(x1 > x0 && y1 > y0)) {
            continue;
        }

        box[m].x = x0;
        box[m].y = y0;
        box[m].w = x1 - x0;
        box[m].h = y1 - y0;
        m++;
    }

    if (m == 0) {
        return 0;
    }

    /* the largest first; it is always kept */

    qsort(box, m, sizeof(image_variant_face_box_t),
          image_variant_face_larger);

    ux0 = box[0].x;
    uy0 = box[0].y;
    ux1 = box[0].x + box[0].w;
    uy1 = box[0].y + box[0].h;

    area = box[0].w * box[0].h;
    sum = area;
    cx = area * (box[0].x + box[0].w / 2);
    cy = area * (box[0].y + box[0].h / 2);
    kept = (box[0].w <= cw && box[0].h <= ch) ? 1 : 0;

    for (i = 1; kept && i < m; i++) {
        nx0 = fmin(ux0, box[i].x);
        ny0 = fmin(uy0, box[i].y);
        nx1 = fmax(ux1, box[i].x + box[i].w);
        ny1 = fmax(uy1, box[i].y + box[i].h);

        if (nx1 - nx0 > cw || ny1 - ny0 > ch) {
            continue;
        }

        ux0 = nx0;
        uy0 = ny0;
        ux1 = nx1;
        uy1 = ny1;

        area = box[i].w * box[i].h;
        sum += area;
        cx += area * (box[i].x + box[i].w / 2);
        cy += area * (box[i].y + box[i].h / 2);
        kept++;
    }

    cx /= sum;
    cy /= sum;

    if (kept == 0) {
        /* one face larger than the window: centred on it */
        ux0 = ux1 = cx;
        uy0 = uy1 = cy;
    }

    *left = (int) image_variant_face_place(cx, ux0, ux1, cw, iw);
    *top = (int) image_variant_face_place(cy, uy0, uy1, ch, ih);

    return kept ? kept : 1;
}


/*
 * Along one axis: the start of a window of length win in [0, size],
 * centred on centre as far as it can while it holds [lo, hi] (which
 * fits) and stays in the image.
 */

static double
image_variant_face_place(double centre, double lo, double hi, double win,
    double size)
{
    double  s, from, to;

    /* whole pixels that still hold [lo, hi] */
    from = fmax(ceil(hi - win), 0.0);
    to = fmin(floor(lo), size - win);

    if (from > to) {
        /* a face at the window's size, off by a fraction: its centre */
        from = to = fmin(fmax(floor(centre - win / 2 + 0.5), 0.0),
                         size - win);
    }

    s = floor(centre - win / 2 + 0.5);

    return fmin(fmax(s, from), to);
}


/* by area, largest first; equal areas: the one further up, then left */

static int
image_variant_face_larger(const void *a, const void *b)
{
    double                           aa, ab;
    const image_variant_face_box_t  *fa = a, *fb = b;

    aa = fa->w * fa->h;
    ab = fb->w * fb->h;

    if (aa != ab) {
        return aa > ab ? -1 : 1;
    }

    if (fa->y != fb->y) {
        return fa->y < fb->y ? -1 : 1;
    }

    return (fa->x > fb->x) - (fa->x < fb->x);
}
