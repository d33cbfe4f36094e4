
/*
 * The image variants' libvips pipeline: what vips_thumbnail_image() is
 * asked for (the box of the fit), and the resize and crop.
 */


#include <math.h>

#include "image_variant_vips_internal.h"


static int image_variant_precrop(image_variant_run_t *run,
    VipsImage **in);


/*
 * The fit modes in vips_thumbnail_image() terms.  One side only, or fill
 * without both sides: proportional.  No side at all: the source's size
 * (VIPS_SIZE_DOWN of an unreachable box).
 */

void
image_variant_box(const image_variant_params_t *p, image_variant_box_t *box)
{
    box->width = p->width ? (int) p->width : VIPS_MAX_COORD;
    box->height = p->height ? (int) p->height : VIPS_MAX_COORD;
    box->size = VIPS_SIZE_BOTH;
    box->crop = VIPS_INTERESTING_NONE;
    box->pad = 0;
    box->face = 0;
    box->resample = p->fast_shrink ? 1.25 : 2.0;

    if (p->width == 0 && p->height == 0) {
        box->size = VIPS_SIZE_DOWN;
        return;
    }

    if (p->width == 0 || p->height == 0) {
        return;
    }

    switch (p->fit) {

    case IMAGE_VARIANT_FIT_COVER:
        switch (p->gravity) {

        case IMAGE_VARIANT_GRAVITY_ATTENTION:
            box->crop = VIPS_INTERESTING_ATTENTION;
            break;

        case IMAGE_VARIANT_GRAVITY_ENTROPY:
            box->crop = VIPS_INTERESTING_ENTROPY;
            break;

        case IMAGE_VARIANT_GRAVITY_FACE:
            /* scaled to cover, then image_variant_face() crops */
            box->crop = VIPS_INTERESTING_NONE;
            box->face = 1;
            break;

        default:
            box->crop = VIPS_INTERESTING_CENTRE;
        }

        break;

    case IMAGE_VARIANT_FIT_CONTAIN:
        box->pad = 1;
        break;

    case IMAGE_VARIANT_FIT_FILL:
        box->size = VIPS_SIZE_FORCE;
        break;

    default: /* IMAGE_VARIANT_FIT_INSIDE */
        break;
    }
}


/* gravity=face has its own step (image_variant_vips_face.c) */

VipsImage *
image_variant_resize(image_variant_run_t *run, VipsImage *in)
{
    return run->box.face ? image_variant_face(run, in)
                         : image_variant_scale(run, in);
}


/*
 * vips_thumbnail_image(): EXIF rotation, resize (premultiplied when there
 * is alpha), crop, and sRGB: through lcms with export_profile "srgb" when
 * a profile is left, else with vips_colourspace(), which takes libvips'
 * built-in CMYK profile for CMYK.  Then 8-bit sRGB whatever the source:
 * 16-bit, grey, float and the like come out as RGB(A).
 */

VipsImage *
image_variant_scale(image_variant_run_t *run, VipsImage *in)
{
    int                   icc;
    VipsSize              size;
    VipsImage            *out;
    VipsInteresting       crop;
    image_variant_job_t  *job;

    job = run->job;
    size = run->box.size;
    crop = run->box.crop;

    if (crop == VIPS_INTERESTING_CENTRE) {
        switch (image_variant_precrop(run, &in)) {

        case 1:
            /* the box's aspect now: scaled to it exactly, nothing cut */
            size = VIPS_SIZE_FORCE;
            crop = VIPS_INTERESTING_NONE;
            break;

        case -1:
            image_variant_fail(job, IMAGE_VARIANT_E_INTERNAL, "crop");
            return NULL;

        default:
            break;
        }
    }

    icc = vips_image_get_typeof(in, VIPS_META_ICC_NAME) != 0;

    if (vips_thumbnail_image(in, &out, run->box.width,
                             "height", run->box.height,
                             "size", size,
                             "crop", crop,
                             "export_profile", icc ? "srgb" : NULL,
                             NULL)
        != 0)
    {
        image_variant_fail(job, run->clock.expired ? IMAGE_VARIANT_E_TIMEOUT
                                                   : IMAGE_VARIANT_E_NOT_IMAGE,
                           "thumbnail");
        return NULL;
    }

    in = image_variant_keep(run, out);

    if (in->Type == VIPS_INTERPRETATION_sRGB
        && in->BandFmt == VIPS_FORMAT_UCHAR
        && (in->Bands == 3 || in->Bands == 4))
    {
        return in;
    }

    if (vips_colourspace(in, &out, VIPS_INTERPRETATION_sRGB, NULL) != 0) {
        image_variant_fail(job, IMAGE_VARIANT_E_NOT_IMAGE, "colourspace");
        return NULL;
    }

    in = image_variant_keep(run, out);

    if (in->BandFmt != VIPS_FORMAT_UCHAR) {
        if (vips_cast(in, &out, VIPS_FORMAT_UCHAR, NULL) != 0) {
            image_variant_fail(job, IMAGE_VARIANT_E_INTERNAL, "cast");
            return NULL;
        }

        in = image_variant_keep(run, out);
    }

    if (in->Bands != 3 && in->Bands != 4) {
        g_snprintf(job->error, sizeof(job->error),
                   "unsupported image layout (%d bands)", in->Bands);
        job->status = IMAGE_VARIANT_E_NOT_IMAGE;
        return NULL;
    }

    return in;
}


/*
 * A centred cover crop, cut from the source before it is resampled rather
 * than from the resampled image after: vips_thumbnail_image() would resize
 * the whole image (a third more pixels through the kernels for a 3:2
 * photo cut to a square), copy it to memory to stay sequential, and crop
 * there.  The part cut here is the box's aspect ratio, centred, in the
 * orientation thumbnail will see after its EXIF rotation; thumbnail then
 * only scales it to the box (size "force": both axes exactly, the part's
 * edges on the box's edges).
 *
 * The part is placed in the source's own pixels, to a fraction of one,
 * and only then mapped onto the shrunk image: each edge is within half a
 * shrunk pixel of the exact one (a quarter of an output pixel, since at
 * least 2x is left to the resampler).  Placing it in shrunk pixels, from
 * the shrunk size (rounded up by the decoder) and with the margin halved
 * by integer division, shifted the picture by up to 0.7 output pixels.
 * Returns 1 when the image has the box's aspect now, 0 when thumbnail
 * must crop (several pages), -1 on error.
 */

static int
image_variant_precrop(image_variant_run_t *run, VipsImage **image)
{
    int         swap, left, top, right, bottom;
    double      w, h, cw, ch, scale, x0, y0;
    VipsImage  *in, *out;

    in = *image;

    if (vips_image_get_page_height(in) != in->Ysize) {
        return 0;
    }

    swap = vips_image_get_orientation_swap(in);

    /* the source as thumbnail will see it, and the part that covers */
    w = swap ? run->src_height : run->src_width;
    h = swap ? run->src_width : run->src_height;

    scale = VIPS_MAX(run->box.width / w, run->box.height / h);
    cw = VIPS_MIN(w, run->box.width / scale);
    ch = VIPS_MIN(h, run->box.height / scale);

    if (swap) {
        x0 = cw;
        cw = ch;
        ch = x0;
    }

    /* centred in the stored pixels, then in the loaded ones */
    x0 = (run->src_width - cw) / 2.0;
    y0 = (run->src_height - ch) / 2.0;

    left = (int) floor(x0 * run->load_x + 0.5);
    top = (int) floor(y0 * run->load_y + 0.5);
    right = (int) floor((x0 + cw) * run->load_x + 0.5);
    bottom = (int) floor((y0 + ch) * run->load_y + 0.5);

    right = VIPS_MIN(VIPS_MAX(right, left + 1), in->Xsize);
    bottom = VIPS_MIN(VIPS_MAX(bottom, top + 1), in->Ysize);
    left = VIPS_MIN(left, right - 1);
    top = VIPS_MIN(top, bottom - 1);

    if (left == 0 && top == 0 && right == in->Xsize && bottom == in->Ysize) {
        /* the box's aspect already, to the loaded pixel */
        return 1;
    }

    if (vips_extract_area(in, &out, left, top, right - left, bottom - top,
                          NULL)
        != 0)
    {
        return -1;
    }

    *image = image_variant_keep(run, out);

    return *image ? 1 : -1;
}
