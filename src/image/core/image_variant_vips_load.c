
/*
 * The image variants' libvips pipeline: the source is sniffed, its header
 * read (the pixel limit is checked there) and opened again with a
 * JPEG/WebP shrink-on-load factor when one helps; a profile that is sRGB
 * already is recognised so that no lcms transform is paid for it.
 */


#include <string.h>

#include "image_variant_vips_internal.h"


static VipsImage *image_variant_load(image_variant_load_e load,
    const void *data, size_t len, int shrink, double scale);
static int image_variant_jpeg_eoi(image_variant_run_t *run,
    const void **data, size_t *len);
static int image_variant_preshrink(VipsImage *in,
    const image_variant_box_t *box, int any);
static int image_variant_icc_is_srgb(const unsigned char *p, size_t len);
static int image_variant_icc_xyz(const unsigned char *p, size_t len,
    size_t off, size_t size, const int32_t *expect);
static int image_variant_icc_trc(const unsigned char *p, size_t len,
    size_t off, size_t size);


/*
 * Sniff, header, pixel limit, shrink-on-load.  Returns the image to
 * resize, or NULL with the job's status set.
 */

VipsImage *
image_variant_open(image_variant_run_t *run)
{
    int                    shrink, reload;
    double                 scale;
    size_t                 len;
    uint64_t               pixels;
    VipsImage             *in;
    const char            *type;
    const void            *data;
    const void            *icc;
    size_t                 icc_len;
    image_variant_job_t   *job;
    image_variant_load_e   load;

    job = run->job;
    data = job->data;
    len = job->len;
    icc = NULL;
    icc_len = 0;
    reload = 0;

    /* sniffing reads a few bytes; blocked loaders are still found here */

    type = vips_foreign_find_load_buffer(job->data, job->len);
    if (type == NULL) {
        image_variant_fail(job, IMAGE_VARIANT_E_NOT_IMAGE, "not an image");
        return NULL;
    }

    load = image_variant_loader(type);
    if (load == IMAGE_VARIANT_LOAD_NONE) {
        vips_error_clear();
        g_snprintf(job->error, sizeof(job->error),
                   "unsupported image format (%s)", type);
        job->status = IMAGE_VARIANT_E_NOT_IMAGE;
        return NULL;
    }

    /* the header only: a sequential load decodes nothing until asked */

    in = image_variant_keep(run,
                            image_variant_load(load, job->data, job->len,
                                               1, 1.0));
    if (in == NULL) {
        image_variant_fail(job, IMAGE_VARIANT_E_NOT_IMAGE, "bad image");
        return NULL;
    }

    /* each factor is at most VIPS_MAX_COORD (1e7): no overflow below 2^64 */
    pixels = (uint64_t) in->Xsize * (uint64_t) in->Ysize
             * (uint64_t) vips_image_get_n_pages(in);

    if (pixels > job->max_pixels) {
        g_snprintf(job->error, sizeof(job->error),
                   "%dx%d, %d page(s): more than %llu pixels",
                   in->Xsize, in->Ysize, vips_image_get_n_pages(in),
                   (unsigned long long) job->max_pixels);
        job->status = IMAGE_VARIANT_E_TOO_LARGE;
        return NULL;
    }

    if (load == IMAGE_VARIANT_LOAD_JPEG) {
        switch (image_variant_jpeg_eoi(run, &data, &len)) {

        case 0:
            break;

        case 1:
            /* the copy with its EOI is what is decoded from now on */
            reload = 1;
            break;

        default:
            return NULL;
        }
    }

    /*
     * Shrink-on-load means a second header parse of the same buffer (the
     * first told the size and orientation); vips_thumbnail_buffer() would
     * parse it twice too, after ours.  Other formats keep the first image.
     * The source's size stays known: a crop is placed in its pixels.
     */
    shrink = 1;
    scale = 1.0;
    run->src_width = in->Xsize;
    run->src_height = in->Ysize;
    run->load_x = 1.0;
    run->load_y = 1.0;

    if (load == IMAGE_VARIANT_LOAD_JPEG) {
        shrink = image_variant_preshrink(in, &run->box, 0);

    } else if (load == IMAGE_VARIANT_LOAD_WEBP) {
        scale = 1.0 / image_variant_preshrink(in, &run->box, 1);
    }

    if (shrink > 1 || scale < 1.0 || reload) {
        in = image_variant_keep(run,
                                image_variant_load(load, data, len,
                                                   shrink, scale));
        if (in == NULL) {
            image_variant_fail(job, IMAGE_VARIANT_E_NOT_IMAGE, "bad image");
            return NULL;
        }

        /*
         * libjpeg's scaled IDCT maps each block of shrink x shrink source
         * pixels to one (the size rounded up): exactly 1 / shrink.  libwebp
         * scales to the size libvips asked, rounded: its own ratio.
         */
        if (load == IMAGE_VARIANT_LOAD_JPEG) {
            run->load_x = 1.0 / shrink;
            run->load_y = 1.0 / shrink;

        } else {
            run->load_x = (double) in->Xsize / run->src_width;
            run->load_y = (double) in->Ysize / run->src_height;
        }
    }

    /*
     * An embedded profile that is sRGB anyway is dropped: the lcms
     * transform would change nothing and costs ~4 ms per render, mostly
     * building the transform.  Any other profile (Display P3, Adobe RGB,
     * CMYK, grey) is applied by thumbnail, see image_variant_resize().
     */
    if (vips_image_get_typeof(in, VIPS_META_ICC_NAME)
        && vips_image_get_blob(in, VIPS_META_ICC_NAME, &icc, &icc_len) == 0
        && in->Type != VIPS_INTERPRETATION_CMYK
        && image_variant_icc_is_srgb(icc, icc_len))
    {
        in = image_variant_copy(run, in);
        if (in == NULL) {
            image_variant_fail(job, IMAGE_VARIANT_E_INTERNAL, "copy");
            return NULL;
        }

        vips_image_remove(in, VIPS_META_ICC_NAME);
    }

    return in;
}


/*
 * The one rule for truncated JPEGs, whatever the preset: libvips'
 * fail_on "truncated" (a file whose data ends before its last row is an
 * error, not an image with a grey bottom), and a file that lacks only its
 * final EOI marker (FF D9) is an image, as browsers show it.
 *
 * With fail_on alone, the answer depended on the preset: libjpeg finds the
 * end of the data only when it decodes the last rows, which a crop of the
 * top part never asks for (200 for one preset, 415 for another).  So a
 * JPEG that does not end with EOI is copied with one appended (a decoder
 * then sees a complete file when only EOI was missing) and decoded once
 * to its last row, at 1/8 (entropy decoding reads every byte all the
 * same), with fail_on "warning": data cut in the middle of a scan shows
 * as a marker where data was due.  A file that ends with EOI needs none
 * of this: its data cannot end early.  Trailing bytes after EOI (phone
 * makers' trailers) count as a missing EOI and pay the extra pass.
 *
 * Returns 0 (ends with EOI, nothing done), 1 (*data and *len are the
 * complete copy, freed with the run), -1 (truncated: the job's status
 * set).
 */

static int
image_variant_jpeg_eoi(image_variant_run_t *run, const void **data,
    size_t *len)
{
    int                   rc;
    double                avg;
    VipsImage            *t;
    unsigned char        *copy;
    const unsigned char  *p;

    p = *data;

    if (*len >= 2 && p[*len - 2] == 0xff && p[*len - 1] == 0xd9) {
        return 0;
    }

    copy = g_malloc(*len + 2);
    memcpy(copy, p, *len);
    copy[*len] = 0xff;
    copy[*len + 1] = 0xd9;

    run->owned = copy;

    t = NULL;
    rc = vips_jpegload_buffer(copy, *len + 2, &t, "shrink", 8,
                              "access", VIPS_ACCESS_SEQUENTIAL,
                              "fail_on", VIPS_FAIL_ON_WARNING, NULL);

    if (rc == 0) {
        rc = vips_avg(t, &avg, NULL);
    }

    if (t != NULL) {
        g_object_unref(t);
    }

    if (rc != 0) {
        image_variant_fail(run->job, IMAGE_VARIANT_E_NOT_IMAGE,
                           "truncated JPEG (its data ends before its last "
                           "row)");
        return -1;
    }

    *data = copy;
    *len += 2;

    return 1;
}


/*
 * Sequential access: the header now, the pixels in one top-to-bottom pass
 * when the saver asks.  fail_on "truncated": a cut-off upload is an error,
 * not an image with a grey bottom; lesser damage is tolerated.
 */

static VipsImage *
image_variant_load(image_variant_load_e load, const void *data, size_t len,
    int shrink, double scale)
{
    int         rc;
    void       *buf;
    VipsImage  *out;

    buf = (void *) data;
    out = NULL;

    switch (load) {

    case IMAGE_VARIANT_LOAD_JPEG:
        rc = vips_jpegload_buffer(buf, len, &out, "shrink", shrink,
                                  "access", VIPS_ACCESS_SEQUENTIAL,
                                  "fail_on", VIPS_FAIL_ON_TRUNCATED, NULL);
        break;

    case IMAGE_VARIANT_LOAD_PNG:
        rc = vips_pngload_buffer(buf, len, &out,
                                 "access", VIPS_ACCESS_SEQUENTIAL,
                                 "fail_on", VIPS_FAIL_ON_TRUNCATED, NULL);
        break;

    case IMAGE_VARIANT_LOAD_WEBP:
        rc = vips_webpload_buffer(buf, len, &out, "scale", scale,
                                  "access", VIPS_ACCESS_SEQUENTIAL,
                                  "fail_on", VIPS_FAIL_ON_TRUNCATED, NULL);
        break;

    case IMAGE_VARIANT_LOAD_GIF:
        /* the first frame only (n defaults to 1) */
        rc = vips_gifload_buffer(buf, len, &out,
                                 "access", VIPS_ACCESS_SEQUENTIAL,
                                 "fail_on", VIPS_FAIL_ON_TRUNCATED, NULL);
        break;

    case IMAGE_VARIANT_LOAD_HEIF:
        /* the primary image, HEIC and AVIF alike */
        rc = vips_heifload_buffer(buf, len, &out,
                                  "access", VIPS_ACCESS_SEQUENTIAL,
                                  "fail_on", VIPS_FAIL_ON_TRUNCATED, NULL);
        break;

    case IMAGE_VARIANT_LOAD_TIFF:
        rc = vips_tiffload_buffer(buf, len, &out,
                                  "access", VIPS_ACCESS_SEQUENTIAL,
                                  "fail_on", VIPS_FAIL_ON_TRUNCATED, NULL);
        break;

    default:
        return NULL;
    }

    if (rc != 0) {
        if (out != NULL) {
            g_object_unref(out);
        }

        return NULL;
    }

    return out;
}


/*
 * The shrink-on-load factor, in the orientation thumbnail will see after
 * its EXIF rotation: the reduction both axes need (crop and stretch fill
 * the box: the smaller; fitting: the larger), of which at least 2x is
 * left to the resampler, as vips_thumbnail() does (1.25x with
 * image_variant_shrink_on_load fast: on the quality benchmark's photos,
 * the same SSIM as sharp to 0.0002, and the 1920x1280 avatar decoded at
 * 1/4 rather than 1/2, 30% less CPU).  A decoder's shrink
 * is a block average (JPEG's scaled IDCT, libwebp's box rescaler): taken
 * all the way to the target it gives a soft, aliased image (the 1282x1110
 * JPEG cut to 256x256 at 1/4: SSIM 0.89 against an exact Lanczos-3
 * reference; at 1/2 and a 2.2x Lanczos-3 reduction: 0.97, as sharp).
 * JPEG takes the largest of 8, 4, 2 that fits; WebP ("any") any integer.
 */

static int
image_variant_preshrink(VipsImage *in, const image_variant_box_t *box,
    int any)
{
    int     s;
    double  w, h, hs, vs, shrink;

    if (box->size == VIPS_SIZE_DOWN) {
        return 1;
    }

    w = in->Xsize;
    h = in->Ysize;

    if (vips_image_get_orientation_swap(in)) {
        w = in->Ysize;
        h = in->Xsize;
    }

    hs = w / box->width;
    vs = h / box->height;

    shrink = (box->crop != VIPS_INTERESTING_NONE
              || box->size == VIPS_SIZE_FORCE)
             ? VIPS_MIN(hs, vs) : VIPS_MAX(hs, vs);

    /* what the decoder may do, leaving the resampler its part */
    shrink /= box->resample;

    if (any) {
        s = (int) shrink;
        return s > 1 ? s : 1;
    }

    return shrink >= 8.0 ? 8 : shrink >= 4.0 ? 4 : shrink >= 2.0 ? 2 : 1;
}


/*
 * Whether an ICC profile is sRGB in all but name: an RGB matrix/TRC
 * profile with sRGB's D50 colorants (within 0.01) and sRGB's tone curve
 * (checked at 0.05 and 0.5 of the input range, so gamma 2.2 is not).
 * Profiles with LUTs (A2B0/A2B1) are left to lcms.
 */

static int
image_variant_icc_is_srgb(const unsigned char *p, size_t len)
{
    /* s15Fixed16 of sRGB's colorants, as in the common HP profile */
    static const int32_t  rxyz[3] = { 28578, 14581, 912 };
    static const int32_t  gxyz[3] = { 25241, 46983, 6362 };
    static const int32_t  bxyz[3] = { 9376, 3972, 46799 };

    size_t    i, n, off, size;
    uint32_t  sig;
    unsigned  found;

    if (len < 132
        || memcmp(p + 16, "RGB ", 4) != 0
        || memcmp(p + 20, "XYZ ", 4) != 0
        || memcmp(p + 36, "acsp", 4) != 0)
    {
        return 0;
    }

    n = (size_t) p[128] << 24 | (size_t) p[129] << 16
        | (size_t) p[130] << 8 | p[131];

    if (n > (len - 132) / 12) {
        return 0;
    }

    found = 0;

    for (i = 0; i < n; i++) {
        const unsigned char  *e = p + 132 + i * 12;

        sig = (uint32_t) e[0] << 24 | (uint32_t) e[1] << 16
              | (uint32_t) e[2] << 8 | e[3];
        off = (size_t) e[4] << 24 | (size_t) e[5] << 16
              | (size_t) e[6] << 8 | e[7];
        size = (size_t) e[8] << 24 | (size_t) e[9] << 16
               | (size_t) e[10] << 8 | e[11];

        if (off > len || size > len - off) {
            return 0;
        }

        switch (sig) {

        case 0x41324230:    /* A2B0 */
        case 0x41324231:    /* A2B1 */
            return 0;

        case 0x7258595a:    /* rXYZ */
            if (!image_variant_icc_xyz(p, len, off, size, rxyz)) {
                return 0;
            }
            found |= 1;
            break;

        case 0x6758595a:    /* gXYZ */
            if (!image_variant_icc_xyz(p, len, off, size, gxyz)) {
                return 0;
            }
            found |= 2;
            break;

        case 0x6258595a:    /* bXYZ */
            if (!image_variant_icc_xyz(p, len, off, size, bxyz)) {
                return 0;
            }
            found |= 4;
            break;

        case 0x72545243:    /* rTRC */
        case 0x67545243:    /* gTRC */
        case 0x62545243:    /* bTRC */
            if (!image_variant_icc_trc(p, len, off, size)) {
                return 0;
            }
            found |= sig == 0x72545243 ? 8 : sig == 0x67545243 ? 16 : 32;
            break;

        default:
            break;
        }
    }

    return found == 63;
}


static int
image_variant_icc_xyz(const unsigned char *p, size_t len, size_t off,
    size_t size, const int32_t *expect)
{
    int       i;
    int32_t   v;

    (void) len;

    if (size < 20 || memcmp(p + off, "XYZ ", 4) != 0) {
        return 0;
    }

    for (i = 0; i < 3; i++) {
        v = (int32_t) ((uint32_t) p[off + 8 + i * 4] << 24
                       | (uint32_t) p[off + 9 + i * 4] << 16
                       | (uint32_t) p[off + 10 + i * 4] << 8
                       | (uint32_t) p[off + 11 + i * 4]);

        /* 0.01 in s15Fixed16 */
        if (v < expect[i] - 655 || v > expect[i] + 655) {
            return 0;
        }
    }

    return 1;
}


/*
 * A tone curve close to sRGB's: a sampled "curv" (interpolated at 1/20 and
 * 1/2, where sRGB gives 0.00393 and 0.2140), or a "para" of type 3 or 4
 * with sRGB's parameters.  A plain gamma is not sRGB.
 */

static int
image_variant_icc_trc(const unsigned char *p, size_t len, size_t off,
    size_t size)
{
    /* s15Fixed16 of g, a, b, c, d of sRGB's parametric curve */
    static const int32_t  srgb[5] = { 157286, 62119, 3417, 5072, 2651 };

    /* x = num / den, y * 65535 and the tolerance */
    static const struct {
        unsigned  num, den;
        long      y, tol;
    } points[2] = {
        { 1, 20, 258, 66 },         /* 0.00393 +- 0.001 */
        { 1, 2, 14025, 328 }        /* 0.2140 +- 0.005 */
    };

    int            k;
    size_t         i, n, pos, frac, den;
    long           y0, y1, y;
    int32_t        v;
    unsigned       type;
    const uint8_t  *q;

    (void) len;

    if (size < 12) {
        return 0;
    }

    q = p + off;

    if (memcmp(q, "curv", 4) == 0) {
        n = (size_t) q[8] << 24 | (size_t) q[9] << 16
            | (size_t) q[10] << 8 | q[11];

        if (n < 2 || n > (size - 12) / 2) {
            return 0;
        }

        for (k = 0; k < 2; k++) {
            den = points[k].den;
            pos = (n - 1) * points[k].num;
            i = pos / den;
            frac = pos % den;

            y0 = q[12 + i * 2] << 8 | q[13 + i * 2];
            y1 = (i + 1 < n) ? (q[14 + i * 2] << 8 | q[15 + i * 2]) : y0;
            y = y0 + (y1 - y0) * (long) frac / (long) den;

            if (y < points[k].y - points[k].tol
                || y > points[k].y + points[k].tol)
            {
                return 0;
            }
        }

        return 1;
    }

    if (memcmp(q, "para", 4) == 0) {
        type = (unsigned) q[8] << 8 | q[9];

        if ((type != 3 && type != 4) || size < 12 + (type == 3 ? 20 : 28)) {
            return 0;
        }

        for (k = 0; k < 5; k++) {
            v = (int32_t) ((uint32_t) q[12 + k * 4] << 24
                           | (uint32_t) q[13 + k * 4] << 16
                           | (uint32_t) q[14 + k * 4] << 8
                           | (uint32_t) q[15 + k * 4]);

            /* 0.002 in s15Fixed16 */
            if (v < srgb[k] - 131 || v > srgb[k] + 131) {
                return 0;
            }
        }

        if (type == 4) {
            /* e and f: no offsets */
            for (k = 5; k < 7; k++) {
                v = (int32_t) ((uint32_t) q[12 + k * 4] << 24
                               | (uint32_t) q[13 + k * 4] << 16
                               | (uint32_t) q[14 + k * 4] << 8
                               | (uint32_t) q[15 + k * 4]);

                if (v < -131 || v > 131) {
                    return 0;
                }
            }
        }

        return 1;
    }

    return 0;
}
