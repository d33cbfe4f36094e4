
/*
 * Quality measures for the image variant tests: see the header.
 */


#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <vips/vips.h>

#include "image_variant_quality.h"


#define IV_SSIM_RADIUS  5
#define IV_SSIM_SIGMA   1.5


static int iv_rgb_from_image(VipsImage *in, iv_rgb_t *out);
static double iv_lanczos3(double x);
static int iv_weights(int in_size, int out_size, double offset, double span,
    int **first, int **count, double **weights, int *taps);


int
iv_rgb_load_file(const char *path, iv_rgb_t *out)
{
    int         rc;
    VipsImage  *in;

    in = vips_image_new_from_file(path, NULL);
    if (in == NULL) {
        return -1;
    }

    rc = iv_rgb_from_image(in, out);
    g_object_unref(in);

    return rc;
}


int
iv_rgb_load_buffer(const void *data, size_t len, iv_rgb_t *out)
{
    int         rc;
    VipsImage  *in;

    in = vips_image_new_from_buffer(data, len, "", NULL);
    if (in == NULL) {
        return -1;
    }

    rc = iv_rgb_from_image(in, out);
    g_object_unref(in);

    return rc;
}


void
iv_rgb_free(iv_rgb_t *img)
{
    g_free(img->pixels);
    img->pixels = NULL;
}


static int
iv_rgb_from_image(VipsImage *in, iv_rgb_t *out)
{
    int               rc;
    size_t            size;
    VipsImage        *t[4];
    VipsArrayDouble  *white;

    memset(t, 0, sizeof(t));
    rc = -1;

    if (vips_autorot(in, &t[0], NULL) != 0
        || vips_colourspace(t[0], &t[1], VIPS_INTERPRETATION_sRGB, NULL)
           != 0)
    {
        goto done;
    }

    if (vips_image_hasalpha(t[1])) {
        white = vips_array_double_newv(3, 255.0, 255.0, 255.0);
        rc = vips_flatten(t[1], &t[2], "background", white, NULL);
        vips_area_unref(VIPS_AREA(white));

        if (rc != 0) {
            rc = -1;
            goto done;
        }

    } else {
        t[2] = t[1];
        g_object_ref(t[2]);
    }

    if (vips_cast(t[2], &t[3], VIPS_FORMAT_UCHAR, NULL) != 0
        || t[3]->Bands != 3)
    {
        goto done;
    }

    out->width = t[3]->Xsize;
    out->height = t[3]->Ysize;
    out->pixels = vips_image_write_to_memory(t[3], &size);

    rc = out->pixels ? 0 : -1;

done:

    for (size = 0; size < 4; size++) {
        if (t[size] != NULL) {
            g_object_unref(t[size]);
        }
    }

    return rc;
}


static double
iv_lanczos3(double x)
{
    double  px;

    x = fabs(x);

    if (x < 1e-9) {
        return 1.0;
    }

    if (x >= 3.0) {
        return 0.0;
    }

    px = M_PI * x;

    return 3.0 * sin(px) * sin(px / 3.0) / (px * px);
}


/*
 * For each of out_size output pixels, the input pixels and weights: output
 * pixel i covers [offset + i * span / out_size, ...) of the input, its
 * centre is sampled with the kernel stretched by the scale (never
 * narrower than the kernel itself), edges clamped.
 */

static int
iv_weights(int in_size, int out_size, double offset, double span,
    int **first, int **count, double **weights, int *taps)
{
    int     i, j, k, lo, hi, n;
    double  scale, support, centre, sum, w;

    scale = span / out_size;
    if (scale < 1.0) {
        scale = 1.0;
    }

    support = 3.0 * scale;
    n = (int) ceil(2.0 * support) + 2;

    *first = calloc(out_size, sizeof(int));
    *count = calloc(out_size, sizeof(int));
    *weights = calloc((size_t) out_size * n, sizeof(double));

    if (*first == NULL || *count == NULL || *weights == NULL) {
        return -1;
    }

    for (i = 0; i < out_size; i++) {
        centre = offset + (i + 0.5) * span / out_size;

        lo = (int) floor(centre - support);
        hi = (int) ceil(centre + support);

        if (hi - lo > n) {
            hi = lo + n;
        }

        sum = 0.0;
        k = 0;

        for (j = lo; j < hi; j++) {
            w = iv_lanczos3((j + 0.5 - centre) / scale);
            (*weights)[(size_t) i * n + k++] = w;
            sum += w;
        }

        for (j = 0; j < k; j++) {
            (*weights)[(size_t) i * n + j] /= sum;
        }

        (*first)[i] = lo;
        (*count)[i] = k;
    }

    (void) in_size;
    *taps = n;

    return 0;
}


int
iv_reference_cover(const iv_rgb_t *src, int width, int height,
    iv_rgb_t *out)
{
    int      rc, x, y, c, k, j, taps_h, taps_v;
    int     *hfirst, *hcount, *vfirst, *vcount;
    double   s, cw, ch, acc, *hw, *vw, *tmp, *row;

    rc = -1;
    hfirst = hcount = vfirst = vcount = NULL;
    hw = vw = tmp = NULL;
    out->pixels = NULL;

    /* the part of the source with the box's aspect, centred exactly */
    s = fmax((double) width / src->width, (double) height / src->height);
    cw = width / s;
    ch = height / s;

    if (iv_weights(src->width, width, (src->width - cw) / 2.0, cw,
                   &hfirst, &hcount, &hw, &taps_h) != 0
        || iv_weights(src->height, height, (src->height - ch) / 2.0, ch,
                      &vfirst, &vcount, &vw, &taps_v) != 0)
    {
        goto done;
    }

    tmp = malloc((size_t) width * src->height * 3 * sizeof(double));
    out->pixels = g_malloc((size_t) width * height * 3);

    if (tmp == NULL) {
        goto done;
    }

    /* horizontally: every source row to width columns */

    for (y = 0; y < src->height; y++) {
        const unsigned char  *in = src->pixels + (size_t) y * src->width * 3;

        row = tmp + (size_t) y * width * 3;

        for (x = 0; x < width; x++) {
            for (c = 0; c < 3; c++) {
                acc = 0.0;

                for (k = 0; k < hcount[x]; k++) {
                    j = hfirst[x] + k;
                    j = j < 0 ? 0 : j >= src->width ? src->width - 1 : j;
                    acc += hw[(size_t) x * taps_h + k] * in[j * 3 + c];
                }

                row[x * 3 + c] = acc;
            }
        }
    }

    /* vertically */

    for (y = 0; y < height; y++) {
        for (x = 0; x < width; x++) {
            for (c = 0; c < 3; c++) {
                acc = 0.0;

                for (k = 0; k < vcount[y]; k++) {
                    j = vfirst[y] + k;
                    j = j < 0 ? 0 : j >= src->height ? src->height - 1 : j;
                    acc += vw[(size_t) y * taps_v + k]
                           * tmp[((size_t) j * width + x) * 3 + c];
                }

                acc = floor(acc + 0.5);
                out->pixels[((size_t) y * width + x) * 3 + c] =
                    (unsigned char) (acc < 0 ? 0 : acc > 255 ? 255 : acc);
            }
        }
    }

    out->width = width;
    out->height = height;
    rc = 0;

done:

    if (rc != 0) {
        g_free(out->pixels);
        out->pixels = NULL;
    }

    free(hfirst);
    free(hcount);
    free(hw);
    free(vfirst);
    free(vcount);
    free(vw);
    free(tmp);

    return rc;
}


double
iv_ssim(const iv_rgb_t *a, const iv_rgb_t *b)
{
    int      x, y, i, j, w, h, n;
    double   g[2 * IV_SSIM_RADIUS + 1], gsum, wt;
    double   ma, mb, va, vb, cov, pa, pb, c1, c2, total;
    double  *ya, *yb;
    const unsigned char  *p, *q;

    if (a->width != b->width || a->height != b->height) {
        return -1.0;
    }

    w = a->width;
    h = a->height;

    ya = malloc((size_t) w * h * sizeof(double));
    yb = malloc((size_t) w * h * sizeof(double));

    if (ya == NULL || yb == NULL) {
        free(ya);
        free(yb);
        return -1.0;
    }

    for (i = 0; i < w * h; i++) {
        p = a->pixels + (size_t) i * 3;
        q = b->pixels + (size_t) i * 3;
        ya[i] = 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2];
        yb[i] = 0.299 * q[0] + 0.587 * q[1] + 0.114 * q[2];
    }

    gsum = 0.0;

    for (i = -IV_SSIM_RADIUS; i <= IV_SSIM_RADIUS; i++) {
        g[i + IV_SSIM_RADIUS] = exp(-(i * i)
                                    / (2.0 * IV_SSIM_SIGMA * IV_SSIM_SIGMA));
        gsum += g[i + IV_SSIM_RADIUS];
    }

    c1 = (0.01 * 255) * (0.01 * 255);
    c2 = (0.03 * 255) * (0.03 * 255);

    total = 0.0;
    n = 0;

    for (y = IV_SSIM_RADIUS; y < h - IV_SSIM_RADIUS; y++) {
        for (x = IV_SSIM_RADIUS; x < w - IV_SSIM_RADIUS; x++) {
            ma = mb = va = vb = cov = 0.0;

            for (j = -IV_SSIM_RADIUS; j <= IV_SSIM_RADIUS; j++) {
                for (i = -IV_SSIM_RADIUS; i <= IV_SSIM_RADIUS; i++) {
                    wt = g[j + IV_SSIM_RADIUS] * g[i + IV_SSIM_RADIUS]
                         / (gsum * gsum);
                    pa = ya[(size_t) (y + j) * w + x + i];
                    pb = yb[(size_t) (y + j) * w + x + i];
                    ma += wt * pa;
                    mb += wt * pb;
                    va += wt * pa * pa;
                    vb += wt * pb * pb;
                    cov += wt * pa * pb;
                }
            }

            va -= ma * ma;
            vb -= mb * mb;
            cov -= ma * mb;

            total += ((2 * ma * mb + c1) * (2 * cov + c2))
                     / ((ma * ma + mb * mb + c1) * (va + vb + c2));
            n++;
        }
    }

    free(ya);
    free(yb);

    return n ? total / n : -1.0;
}
