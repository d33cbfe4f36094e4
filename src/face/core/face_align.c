
/*
 * Crops and chips: face-api's padded-square bilinear resize (dom/
 * NetInput.toBatchTensor: ops/padToSquare + tf.image.resizeBilinear without
 * align corners or half-pixel centres), its axis-aligned face rectangle
 * (FaceLandmarks.alignDlib), and dlib's similarity-aligned 150x150 chip
 * (get_face_chip_details + extract_image_chips) from 5 of the 68 points.
 */

#include <math.h>
#include <string.h>

#include "face_internal.h"


/* dlib's 5-point template and the iBUG-68 points that match it */

static const double  face_dlib_template[5][2] = {
    { 0.8595674595992, 0.2134981538014 },
    { 0.6460604764104, 0.2289674387677 },
    { 0.1205750620789, 0.2137274526848 },
    { 0.3340850613712, 0.2290642403242 },
    { 0.4901123135679, 0.6277975316475 }
};

static const int  face_dlib_points[5] = { 45, 42, 36, 39, 33 };




face_rect_t
face_clip_rect(float x, float y, float w, float h, int iw, int ih)
{
    float        cx, cy, cw, ch;
    face_rect_t  r;

    cx = x > 0.0f ? x : 0.0f;
    cy = y > 0.0f ? y : 0.0f;
    cw = x + w - cx;
    ch = y + h - cy;

    if (cw > iw - cx) {
        cw = iw - cx;
    }

    if (ch > ih - cy) {
        ch = ih - cy;
    }

    r.x = (int) floorf(cx);
    r.y = (int) floorf(cy);
    r.w = (int) floorf(cw);
    r.h = (int) floorf(ch);

    /* the slice must stay inside the image */

    if (r.x >= iw || r.y >= ih || r.w <= 0 || r.h <= 0) {
        r.w = 0;
        r.h = 0;
        return r;
    }

    if (r.x + r.w > iw) {
        r.w = iw - r.x;
    }

    if (r.y + r.h > ih) {
        r.h = ih - r.y;
    }

    return r;
}


/* one axis of the resize: source indices (-1: padding) and weights */

static int
face_resize_axis(int size, int side, int before, int len, int *i0, int *i1,
    float *d)
{
    int    k, a, b;
    float  step, f;

    if (size > FACE_RESIZE_MAX) {
        return -1;
    }

    step = (float) side / (float) size;

    for (k = 0; k < size; k++) {
        f = k * step;
        a = (int) floorf(f);
        b = (int) ceilf(f);
        b = b < side - 1 ? b : side - 1;
        d[k] = f - a;

        /* padded-square coordinates to crop coordinates */
        a -= before;
        b -= before;
        i0[k] = (a >= 0 && a < len) ? a : -1;
        i1[k] = (b >= 0 && b < len) ? b : -1;
    }

    return 0;
}


void
face_square_resize(const face_image_t *img, const face_rect_t *r,
    int center, int size, const float mean[3], float scale, float *out)
{
    face_square_resize_part(img, r, center, size, size, size, mean, scale,
                            out);
}


void
face_square_resize_part(const face_image_t *img, const face_rect_t *r,
    int center, int size, int rows, int cols, const float mean[3],
    float scale, float *out)
{
    int             side, diff, bx, by, row, col, ch, a, b;
    int             x0[FACE_RESIZE_MAX], x1[FACE_RESIZE_MAX];
    int             y0[FACE_RESIZE_MAX], y1[FACE_RESIZE_MAX];
    float           dx[FACE_RESIZE_MAX], dy[FACE_RESIZE_MAX];
    float           tl, tr, bl, br, top, bottom;
    const uint8_t  *p0, *p1;

    side = r->w > r->h ? r->w : r->h;
    diff = r->w > r->h ? r->w - r->h : r->h - r->w;
    bx = 0;
    by = 0;

    if (center) {
        /* padToSquare: after = round(diff / 2), the rest before */
        if (r->w < r->h) {
            bx = diff - (int) floor(diff * 0.5 + 0.5);

        } else {
            by = diff - (int) floor(diff * 0.5 + 0.5);
        }
    }

    if (face_resize_axis(size, side, bx, r->w, x0, x1, dx) != 0
        || face_resize_axis(size, side, by, r->h, y0, y1, dy) != 0)
    {
        return;
    }

    /* pre-scaled byte offsets; a padded sample (index -1) reads zero */

    for (col = 0; col < size; col++) {
        x0[col] = x0[col] < 0 ? -1 : x0[col] * 3;
        x1[col] = x1[col] < 0 ? -1 : x1[col] * 3;
    }

    rows = rows < size ? rows : size;
    cols = cols < size ? cols : size;

    for (row = 0; row < rows; row++) {
        p0 = y0[row] < 0 ? NULL
             : img->px + ((size_t) (r->y + y0[row]) * img->w + r->x) * 3;
        p1 = y1[row] < 0 ? NULL
             : img->px + ((size_t) (r->y + y1[row]) * img->w + r->x) * 3;

        for (col = 0; col < cols; col++, out += 3) {
            a = x0[col];
            b = x1[col];

            if (p0 != NULL && p1 != NULL && a >= 0 && b >= 0) {
                /* the common case, unrolled; the same arithmetic */
                for (ch = 0; ch < 3; ch++) {
                    tl = p0[a + ch];
                    tr = p0[b + ch];
                    bl = p1[a + ch];
                    br = p1[b + ch];
                    top = tl + (tr - tl) * dx[col];
                    bottom = bl + (br - bl) * dx[col];
                    out[ch] = (top + (bottom - top) * dy[row] - mean[ch])
                              * scale;
                }

                continue;
            }

            for (ch = 0; ch < 3; ch++) {
                tl = (p0 && a >= 0) ? p0[a + ch] : 0.0f;
                tr = (p0 && b >= 0) ? p0[b + ch] : 0.0f;
                bl = (p1 && a >= 0) ? p1[a + ch] : 0.0f;
                br = (p1 && b >= 0) ? p1[b + ch] : 0.0f;

                top = tl + (tr - tl) * dx[col];
                bottom = bl + (br - bl) * dx[col];

                out[ch] = (top + (bottom - top) * dy[row] - mean[ch]) * scale;
            }
        }
    }
}


face_rect_t
face_faceapi_rect(const float lm[FACE_LANDMARKS][2],
    const face_rect_t *lm_crop)
{
    int          i, size;
    float        l[2], r[2], m[2], c[2], dl, dr;
    face_rect_t  rect;

    memset(l, 0, sizeof(l));
    memset(r, 0, sizeof(r));
    memset(m, 0, sizeof(m));

    for (i = 36; i < 42; i++) {
        l[0] += lm[i][0] / 6;
        l[1] += lm[i][1] / 6;
    }

    for (i = 42; i < 48; i++) {
        r[0] += lm[i][0] / 6;
        r[1] += lm[i][1] / 6;
    }

    for (i = 48; i < 68; i++) {
        m[0] += lm[i][0] / 20;
        m[1] += lm[i][1] / 20;
    }

    dl = hypotf(m[0] - l[0], m[1] - l[1]);
    dr = hypotf(m[0] - r[0], m[1] - r[1]);
    size = (int) floorf(((dl + dr) / 2) / 0.45f);

    c[0] = (l[0] + r[0] + m[0]) / 3;
    c[1] = (l[1] + r[1] + m[1]) / 3;

    rect.x = (int) floorf(fmaxf(0.0f, c[0] - 0.5f * size));
    rect.y = (int) floorf(fmaxf(0.0f, c[1] - 0.43f * size));

    /* face-api's quirk: bounded by the landmark crop's size plus x, y */
    rect.w = size < lm_crop->w + rect.x ? size : lm_crop->w + rect.x;
    rect.h = size < lm_crop->h + rect.y ? size : lm_crop->h + rect.y;

    return rect;
}


face_similarity_t
face_similarity(const double (*from)[2], const double (*to)[2], int n)
{
    int                i;
    double             mfx, mfy, mtx, mty, ax, ay, bx, by, sxx, sxy, vf, th;
    face_similarity_t  s;

    mfx = mfy = mtx = mty = 0;

    for (i = 0; i < n; i++) {
        mfx += from[i][0];
        mfy += from[i][1];
        mtx += to[i][0];
        mty += to[i][1];
    }

    mfx /= n;
    mfy /= n;
    mtx /= n;
    mty /= n;

    sxx = sxy = vf = 0;

    for (i = 0; i < n; i++) {
        ax = from[i][0] - mfx;
        ay = from[i][1] - mfy;
        bx = to[i][0] - mtx;
        by = to[i][1] - mty;

        sxx += ax * bx + ay * by;
        sxy += ax * by - ay * bx;
        vf += ax * ax + ay * ay;
    }

    th = atan2(sxy, sxx);

    s.c = vf > 0 ? hypot(sxx, sxy) / vf : 0;
    s.cs = cos(th);
    s.sn = sin(th);
    s.tx = mtx - s.c * (s.cs * mfx - s.sn * mfy);
    s.ty = mty - s.c * (s.sn * mfx + s.cs * mfy);

    return s;
}


face_similarity_t
face_dlib_transform(const float lm[FACE_LANDMARKS][2])
{
    int     i;
    double  from[5][2], to[5][2];

    for (i = 0; i < 5; i++) {
        from[i][0] = (0.25 + face_dlib_template[i][0]) / 1.5 * FACE_CHIP_SIZE;
        from[i][1] = (0.25 + face_dlib_template[i][1]) / 1.5 * FACE_CHIP_SIZE;
        to[i][0] = lm[face_dlib_points[i]][0];
        to[i][1] = lm[face_dlib_points[i]][1];
    }

    return face_similarity((const double (*)[2]) from,
                           (const double (*)[2]) to, 5);
}


void
face_rotated_resize(const face_image_t *img, double x0, double y0,
    double side, double cs, double sn, int size, const float mean[3],
    float scale, float *out)
{
    int             row, col, ch, ix, iy, i, j, xx, yy;
    double          lx, ly, px, py, fx, fy, w, v[3];
    const uint8_t  *p;

    /* as face_square_resize, on a square turned by (cs, sn) about (x0, y0),
       its top left corner; samples outside the image are zeros */

    for (row = 0; row < size; row++) {
        for (col = 0; col < size; col++) {
            lx = col * side / size;
            ly = row * side / size;
            px = x0 + cs * lx - sn * ly;
            py = y0 + sn * lx + cs * ly;
            ix = (int) floor(px);
            iy = (int) floor(py);
            fx = px - ix;
            fy = py - iy;

            v[0] = v[1] = v[2] = 0;

            for (j = 0; j < 2; j++) {
                for (i = 0; i < 2; i++) {
                    xx = ix + i;
                    yy = iy + j;

                    if (xx < 0 || yy < 0 || xx >= img->w || yy >= img->h) {
                        continue;
                    }

                    w = (i ? fx : 1 - fx) * (j ? fy : 1 - fy);
                    p = img->px + ((size_t) yy * img->w + xx) * 3;

                    for (ch = 0; ch < 3; ch++) {
                        v[ch] += w * p[ch];
                    }
                }
            }

            for (ch = 0; ch < 3; ch++) {
                *out++ = ((float) v[ch] - mean[ch]) * scale;
            }
        }
    }
}


void
face_dlib_chip(const face_image_t *img, const float lm[FACE_LANDMARKS][2],
    float *out)
{
    int                row, col, ch, x0, y0;
    double             cx, cy, k, dx, dy, px, py, fx, fy, v;
    const uint8_t     *p;
    face_similarity_t  s;

    s = face_dlib_transform(lm);

    /* dlib's chip_details: centred rectangle of side 150 c - 1 */

    cx = s.c * (s.cs * 75.0 - s.sn * 75.0) + s.tx;
    cy = s.c * (s.sn * 75.0 + s.cs * 75.0) + s.ty;
    k = (FACE_CHIP_SIZE * s.c - 1) / (FACE_CHIP_SIZE - 1);

    for (row = 0; row < FACE_CHIP_SIZE; row++) {
        for (col = 0; col < FACE_CHIP_SIZE; col++) {
            dx = (col - (FACE_CHIP_SIZE - 1) / 2.0) * k;
            dy = (row - (FACE_CHIP_SIZE - 1) / 2.0) * k;
            px = cx + s.cs * dx - s.sn * dy;
            py = cy + s.sn * dx + s.cs * dy;

            if (!(px >= 0 && py >= 0 && px < img->w - 1 && py < img->h - 1))
            {
                for (ch = 0; ch < 3; ch++) {
                    *out++ = 0.0f;
                }

                continue;
            }

            x0 = (int) px;
            y0 = (int) py;
            fx = px - x0;
            fy = py - y0;
            p = img->px + ((size_t) y0 * img->w + x0) * 3;

            for (ch = 0; ch < 3; ch++) {
                v = (1 - fy) * ((1 - fx) * p[ch] + fx * p[3 + ch])
                    + fy * ((1 - fx) * p[img->w * 3 + ch]
                            + fx * p[img->w * 3 + 3 + ch]);

                /* the chip is uint8, as dlib's; v >= 0, so the cast
                   rounds as floor(v + 0.5) without a libm call */
                v = (double) (int) (v + 0.5);
                *out++ = (float) (v > 255 ? 255 : v);
            }
        }
    }
}
