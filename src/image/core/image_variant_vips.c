
/*
 * The libvips pipeline of the image variants; see the header for the
 * contract.
 *
 * One render: sniff the loader, read the header only (the pixel limit is
 * checked there), open again with a JPEG/WebP shrink-on-load factor when
 * one helps, then vips_thumbnail_image() (EXIF rotation, colour management,
 * resize, crop), 8-bit sRGB, alpha flattening, the fit's padding, no
 * metadata, and the saver.  Everything is lazy until the saver pulls the
 * pixels (or thumbnail does, to crop or rotate), so the time limit's kill
 * flag reaches the decoder, the resampler and the saver.
 *
 * vips_thumbnail_buffer() was measured against this and not kept: it
 * parses the header twice after our own parse for the pixel limit, decodes
 * JPEG at 1/2 where 1/4 is enough, and with export_profile "srgb" pays an
 * lcms transform even for sRGB sources (~21 ms CPU against ~10 ms for the
 * 1920x1280 sample cut to 256x256 JPEG).
 */


#include <string.h>

#include <vips/vips.h>

#include "image_variant_vips.h"


/* default qualities when params.quality is 0 */
#define IMAGE_VARIANT_JPEG_Q        80
#define IMAGE_VARIANT_WEBP_Q        80
#define IMAGE_VARIANT_AVIF_Q        50

/*
 * Encoder effort, chosen for latency (1024x683 photo, one core): AVIF
 * effort 0 (aom speed 9) 28 ms, effort 2 264 ms for 7% fewer bytes, effort
 * 4 (the default) 1 s; WebP effort 2 21 ms, effort 4 (the default) 49 ms
 * for 4% fewer bytes.
 */
#define IMAGE_VARIANT_AVIF_EFFORT   0
#define IMAGE_VARIANT_WEBP_EFFORT   2

/* the images one render holds at most */
#define IMAGE_VARIANT_STEPS         10


typedef enum {
    IMAGE_VARIANT_LOAD_NONE = -1,
    IMAGE_VARIANT_LOAD_JPEG = 0,
    IMAGE_VARIANT_LOAD_PNG,
    IMAGE_VARIANT_LOAD_WEBP,
    IMAGE_VARIANT_LOAD_GIF,
    IMAGE_VARIANT_LOAD_HEIF,
    IMAGE_VARIANT_LOAD_TIFF
} image_variant_load_e;


typedef struct {
    const char             *type;
    image_variant_load_e    load;
} image_variant_loader_t;


/* what vips_thumbnail_image() is asked for */
typedef struct {
    int                     width;
    int                     height;
    VipsSize                size;
    VipsInteresting         crop;
    int                     pad;        /* contain: embed in width x height */
} image_variant_box_t;


/* the time limit of one render; the eval callback runs on libvips' threads */
typedef struct {
    gint64                  deadline;   /* g_get_monotonic_time(); 0: none */
    int                     expired;
    VipsImage              *watched[2];
    gulong                  handler[2];
    VipsImage              *kill[2];
} image_variant_clock_t;


/* one render: on the stack of the calling thread */
typedef struct {
    image_variant_job_t    *job;
    image_variant_box_t     box;
    image_variant_clock_t   clock;
    VipsImage              *images[IMAGE_VARIANT_STEPS];
    int                     n;
} image_variant_run_t;


static VipsImage *image_variant_open(image_variant_run_t *run);
static VipsImage *image_variant_resize(image_variant_run_t *run,
    VipsImage *in);
static int image_variant_precrop(image_variant_run_t *run,
    VipsImage **in);
static VipsImage *image_variant_finish(image_variant_run_t *run,
    VipsImage *in, image_variant_format_e format);
static VipsImage *image_variant_keep(image_variant_run_t *run,
    VipsImage *image);
static VipsImage *image_variant_copy(image_variant_run_t *run,
    VipsImage *in);
static image_variant_load_e image_variant_loader(const char *type);
static VipsImage *image_variant_load(image_variant_load_e load,
    const void *data, size_t len, int shrink, double scale);
static void image_variant_box(const image_variant_params_t *p,
    image_variant_box_t *box);
static int image_variant_preshrink(VipsImage *in,
    const image_variant_box_t *box, int any);
static int image_variant_icc_is_srgb(const unsigned char *p, size_t len);
static int image_variant_icc_xyz(const unsigned char *p, size_t len,
    size_t off, size_t size, const int32_t *expect);
static int image_variant_icc_trc(const unsigned char *p, size_t len,
    size_t off, size_t size);
static void image_variant_eval(VipsImage *image, VipsProgress *progress,
    void *data);
static void image_variant_watch(image_variant_clock_t *clock,
    VipsImage *image, int n);
static void image_variant_unwatch(image_variant_clock_t *clock);
static int image_variant_late(image_variant_clock_t *clock);
static void image_variant_webp_unexif(image_variant_job_t *job);
static int image_variant_save(image_variant_job_t *job, VipsImage *image,
    image_variant_format_e format);
static void image_variant_fail(image_variant_job_t *job, int status,
    const char *what);
static void image_variant_log(const gchar *domain, GLogLevelFlags level,
    const gchar *message, gpointer data);


/*
 * The buffer loaders allowed; every other loader (SVG, PDF, ImageMagick,
 * FITS, ...) stays blocked.  Type names as in libvips 8.14: PNG is
 * VipsForeignLoadPngBuffer whether libpng or libspng is behind it, GIF is
 * the libnsgif loader.
 */
static const image_variant_loader_t  image_variant_loaders[] = {
    { "VipsForeignLoadJpegBuffer",   IMAGE_VARIANT_LOAD_JPEG },
    { "VipsForeignLoadPngBuffer",    IMAGE_VARIANT_LOAD_PNG },
    { "VipsForeignLoadWebpBuffer",   IMAGE_VARIANT_LOAD_WEBP },
    { "VipsForeignLoadNsgifBuffer",  IMAGE_VARIANT_LOAD_GIF },
    { "VipsForeignLoadHeifBuffer",   IMAGE_VARIANT_LOAD_HEIF },
    { "VipsForeignLoadTiffBuffer",   IMAGE_VARIANT_LOAD_TIFF }
};

#define IMAGE_VARIANT_NLOADERS                                                \
    (sizeof(image_variant_loaders) / sizeof(image_variant_loaders[0]))


int
image_variant_init(const char *name, char *err, size_t err_len)
{
    char    *msg;
    size_t   i;

    if (VIPS_INIT(name ? name : "image_variant") != 0) {
        msg = vips_error_buffer_copy();
        g_snprintf(err, err_len, "vips_init() failed: %s", msg);
        g_free(msg);
        return -1;
    }

    /*
     * Every render opens its own buffer once: a cache would only hold
     * memory (and sequential loads must not be shared anyway).  One
     * libvips worker per render: nginx's thread pool is the parallelism.
     */
    vips_cache_set_max(0);
    vips_concurrency_set(1);

    vips_block_untrusted_set(TRUE);
    vips_operation_block_set("VipsForeignLoad", TRUE);

    for (i = 0; i < IMAGE_VARIANT_NLOADERS; i++) {
        if (g_type_from_name(image_variant_loaders[i].type) == 0) {
            g_snprintf(err, err_len, "libvips lacks the loader %s",
                       image_variant_loaders[i].type);
            return -1;
        }

        vips_operation_block_set(image_variant_loaders[i].type, FALSE);
    }

    /*
     * libvips warns on stderr about things the render handles anyway
     * ("ignoring nclx profile" for every AVIF, recoverable JPEG damage):
     * per request, that would flood the error log.  Errors still reach
     * job->error.
     */
    g_log_set_handler("VIPS", G_LOG_LEVEL_WARNING | G_LOG_LEVEL_MESSAGE
                      | G_LOG_LEVEL_INFO | G_LOG_LEVEL_DEBUG,
                      image_variant_log, NULL);

    return 0;
}


void
image_variant_shutdown(void)
{
    vips_shutdown();
}


void
image_variant_render(image_variant_job_t *job)
{
    int                     i;
    VipsImage              *in;
    image_variant_run_t     run;
    image_variant_format_e  format;

    job->status = IMAGE_VARIANT_E_INTERNAL;
    job->out = NULL;
    job->out_len = 0;
    job->out_format = IMAGE_VARIANT_FORMAT_AUTO;
    job->out_width = 0;
    job->out_height = 0;
    job->error[0] = '\0';

    memset(&run, 0, sizeof(image_variant_run_t));
    run.job = job;

    if (job->timeout_ms) {
        run.clock.deadline = g_get_monotonic_time()
                             + (gint64) job->timeout_ms * 1000;
    }

    image_variant_box(&job->params, &run.box);

    in = image_variant_open(&run);
    if (in == NULL) {
        goto done;
    }

    /* from here on, the kill flag stops whatever pulls the pixels */

    run.clock.kill[0] = in;
    image_variant_watch(&run.clock, in, 0);

    in = image_variant_resize(&run, in);
    if (in == NULL) {
        goto done;
    }

    format = job->params.format;

    if (format == IMAGE_VARIANT_FORMAT_AUTO) {
        switch (job->accept) {

        case IMAGE_VARIANT_ACCEPT_AVIF:
            format = IMAGE_VARIANT_FORMAT_AVIF;
            break;

        case IMAGE_VARIANT_ACCEPT_WEBP:
            format = IMAGE_VARIANT_FORMAT_WEBP;
            break;

        default:
            format = vips_image_hasalpha(in) ? IMAGE_VARIANT_FORMAT_PNG
                                             : IMAGE_VARIANT_FORMAT_JPEG;
        }
    }

    in = image_variant_finish(&run, in, format);
    if (in == NULL) {
        goto done;
    }

    /*
     * Thumbnail may have computed everything already (a crop or a rotation
     * copies its input to memory): then the clock says so here.  Otherwise
     * the kill flag of the final image stops the saver, as the one of the
     * first stops the decoder.
     */
    if (image_variant_late(&run.clock)) {
        g_snprintf(job->error, sizeof(job->error), "time limit reached");
        job->status = IMAGE_VARIANT_E_TIMEOUT;
        goto done;
    }

    run.clock.kill[1] = in;
    image_variant_watch(&run.clock, in, 1);

    if (image_variant_save(job, in, format) != 0) {
        image_variant_fail(job, run.clock.expired ? IMAGE_VARIANT_E_TIMEOUT
                                                  : IMAGE_VARIANT_E_NOT_IMAGE,
                           "render");
        goto done;
    }

    job->out_format = format;
    job->out_width = in->Xsize;
    job->out_height = in->Ysize;
    job->status = IMAGE_VARIANT_DONE;

done:

    image_variant_unwatch(&run.clock);

    for (i = run.n - 1; i >= 0; i--) {
        g_object_unref(run.images[i]);
    }

    /* libvips' per-thread buffers: this nginx thread may idle for long */
    vips_thread_shutdown();
}


const char *
image_variant_mime(image_variant_format_e format)
{
    switch (format) {

    case IMAGE_VARIANT_FORMAT_JPEG:
        return "image/jpeg";

    case IMAGE_VARIANT_FORMAT_PNG:
        return "image/png";

    case IMAGE_VARIANT_FORMAT_WEBP:
        return "image/webp";

    case IMAGE_VARIANT_FORMAT_AVIF:
        return "image/avif";

    default:
        return NULL;
    }
}


void
image_variant_free(void *out)
{
    /* the savers' buffers come from g_malloc() */
    g_free(out);
}


/*
 * Sniff, header, pixel limit, shrink-on-load.  Returns the image to
 * resize, or NULL with the job's status set.
 */

static VipsImage *
image_variant_open(image_variant_run_t *run)
{
    int                    shrink;
    double                 scale;
    uint64_t               pixels;
    VipsImage             *in;
    const char            *type;
    const void            *icc;
    size_t                 icc_len;
    image_variant_job_t   *job;
    image_variant_load_e   load;

    job = run->job;
    icc = NULL;
    icc_len = 0;

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

    /*
     * Shrink-on-load means a second header parse of the same buffer (the
     * first told the size and orientation); vips_thumbnail_buffer() would
     * parse it twice too, after ours.  Other formats keep the first image.
     */
    shrink = 1;
    scale = 1.0;

    if (load == IMAGE_VARIANT_LOAD_JPEG) {
        shrink = image_variant_preshrink(in, &run->box, 0);

    } else if (load == IMAGE_VARIANT_LOAD_WEBP) {
        scale = 1.0 / image_variant_preshrink(in, &run->box, 1);
    }

    if (shrink > 1 || scale < 1.0) {
        in = image_variant_keep(run,
                                image_variant_load(load, job->data, job->len,
                                                   shrink, scale));
        if (in == NULL) {
            image_variant_fail(job, IMAGE_VARIANT_E_NOT_IMAGE, "bad image");
            return NULL;
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
 * vips_thumbnail_image(): EXIF rotation, resize (premultiplied when there
 * is alpha), crop, and sRGB: through lcms with export_profile "srgb" when
 * a profile is left, else with vips_colourspace(), which takes libvips'
 * built-in CMYK profile for CMYK.  Then 8-bit sRGB whatever the source:
 * 16-bit, grey, float and the like come out as RGB(A).
 */

static VipsImage *
image_variant_resize(image_variant_run_t *run, VipsImage *in)
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
 * only scales it to the box (size "force": both axes exactly).  Returns
 * 1 when the image has the box's aspect now, 0 when thumbnail must crop
 * (several pages), -1 on error.
 */

static int
image_variant_precrop(image_variant_run_t *run, VipsImage **image)
{
    int         w, h, cw, ch, swap;
    double      sx, sy;
    VipsImage  *in, *out;

    in = *image;

    if (vips_image_get_page_height(in) != in->Ysize) {
        return 0;
    }

    swap = vips_image_get_orientation_swap(in);

    /* the source as thumbnail will see it, and the part that covers */
    w = swap ? in->Ysize : in->Xsize;
    h = swap ? in->Xsize : in->Ysize;

    sx = (double) run->box.width / w;
    sy = (double) run->box.height / h;

    if (sx >= sy) {
        cw = w;
        ch = VIPS_MAX(1, VIPS_MIN(h, (int) (run->box.height / sx + 0.5)));

    } else {
        ch = h;
        cw = VIPS_MAX(1, VIPS_MIN(w, (int) (run->box.width / sy + 0.5)));
    }

    if (cw == w && ch == h) {
        /* the box's aspect to the pixel already */
        return 1;
    }

    if (swap) {
        w = cw;
        cw = ch;
        ch = w;
    }

    if (vips_extract_area(in, &out, (in->Xsize - cw) / 2,
                          (in->Ysize - ch) / 2, cw, ch, NULL)
        != 0)
    {
        return -1;
    }

    *image = image_variant_keep(run, out);

    return *image ? 1 : -1;
}


/*
 * For the format: alpha flattened onto the background for JPEG (PNG, WebP
 * and AVIF keep it), contain's padding in the background colour (opaque),
 * and no metadata left.
 */

static VipsImage *
image_variant_finish(image_variant_run_t *run, VipsImage *in,
    image_variant_format_e format)
{
    int                   rc, i;
    double                bg[4];
    VipsImage            *out;
    VipsArrayDouble      *background;
    image_variant_job_t  *job;
    gchar               **fields;

    job = run->job;

    bg[0] = job->params.background[0];
    bg[1] = job->params.background[1];
    bg[2] = job->params.background[2];
    bg[3] = 255.0;

    if (format == IMAGE_VARIANT_FORMAT_JPEG && vips_image_hasalpha(in)) {
        background = vips_array_double_new(bg, 3);
        rc = vips_flatten(in, &out, "background", background, NULL);
        vips_area_unref(VIPS_AREA(background));

        if (rc != 0) {
            image_variant_fail(job, IMAGE_VARIANT_E_INTERNAL, "flatten");
            return NULL;
        }

        in = image_variant_keep(run, out);
    }

    if (run->box.pad
        && (in->Xsize != run->box.width || in->Ysize != run->box.height))
    {
        background = vips_array_double_new(bg, in->Bands);
        rc = vips_gravity(in, &out, VIPS_COMPASS_DIRECTION_CENTRE,
                          run->box.width, run->box.height,
                          "extend", VIPS_EXTEND_BACKGROUND,
                          "background", background,
                          NULL);
        vips_area_unref(VIPS_AREA(background));

        if (rc != 0) {
            image_variant_fail(job, IMAGE_VARIANT_E_INTERNAL, "embed");
            return NULL;
        }

        in = image_variant_keep(run, out);
    }

    /*
     * The savers' "strip" is not enough: libvips 8.14.1's webpsave still
     * writes the source's EXIF.  The "vips-" fields are libvips' own
     * bookkeeping (the loader, sequential access).
     */
    in = image_variant_copy(run, in);
    if (in == NULL) {
        image_variant_fail(job, IMAGE_VARIANT_E_INTERNAL, "copy");
        return NULL;
    }

    fields = vips_image_get_fields(in);

    for (i = 0; fields[i] != NULL; i++) {
        if (strncmp(fields[i], "vips-", 5) != 0) {
            vips_image_remove(in, fields[i]);
        }
    }

    g_strfreev(fields);

    return in;
}


/* the run holds a reference to every image until the end */

static VipsImage *
image_variant_keep(image_variant_run_t *run, VipsImage *image)
{
    if (image == NULL) {
        return NULL;
    }

    if (run->n == IMAGE_VARIANT_STEPS) {
        /* a bug: more steps than planned */
        g_object_unref(image);
        vips_error("image_variant", "too many steps");
        return NULL;
    }

    run->images[run->n++] = image;

    return image;
}


/* a copy to change metadata on: shares the pixels, costs nothing */

static VipsImage *
image_variant_copy(image_variant_run_t *run, VipsImage *in)
{
    VipsImage  *out;

    if (vips_copy(in, &out, NULL) != 0) {
        return NULL;
    }

    return image_variant_keep(run, out);
}


static image_variant_load_e
image_variant_loader(const char *type)
{
    size_t  i;

    for (i = 0; i < IMAGE_VARIANT_NLOADERS; i++) {
        if (strcmp(type, image_variant_loaders[i].type) == 0) {
            return image_variant_loaders[i].load;
        }
    }

    return IMAGE_VARIANT_LOAD_NONE;
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
 * The fit modes in vips_thumbnail_image() terms.  One side only, or fill
 * without both sides: proportional.  No side at all: the source's size
 * (VIPS_SIZE_DOWN of an unreachable box).
 */

static void
image_variant_box(const image_variant_params_t *p, image_variant_box_t *box)
{
    box->width = p->width ? (int) p->width : VIPS_MAX_COORD;
    box->height = p->height ? (int) p->height : VIPS_MAX_COORD;
    box->size = VIPS_SIZE_BOTH;
    box->crop = VIPS_INTERESTING_NONE;
    box->pad = 0;

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


/*
 * The shrink-on-load factor: what both axes shrink by at least, in the
 * orientation thumbnail will see after its EXIF rotation.  JPEG takes the
 * largest of 8, 4, 2 that still decodes at least the target size, so the
 * resampler never enlarges (vips_thumbnail_buffer() would leave it a
 * further factor of two: on the 1920x1280 sample cut to 256x256, 1/4
 * decodes in ~4 ms less than 1/2, and differs from a full decode by 42 dB
 * PSNR).  WebP ("any") scales by any integer factor.
 */

static int
image_variant_preshrink(VipsImage *in, const image_variant_box_t *box,
    int any)
{
    int       s, h, v;
    uint64_t  w, ht;

    if (box->size == VIPS_SIZE_DOWN) {
        return 1;
    }

    w = in->Xsize;
    ht = in->Ysize;

    if (vips_image_get_orientation_swap(in)) {
        w = in->Ysize;
        ht = in->Xsize;
    }

    h = (int) (w / (uint64_t) box->width);
    v = (int) (ht / (uint64_t) box->height);

    /* crop and stretch fill the box: the smaller factor; fitting: larger */
    s = (box->crop != VIPS_INTERESTING_NONE || box->size == VIPS_SIZE_FORCE)
        ? (h < v ? h : v) : (h > v ? h : v);

    if (any) {
        return s > 1 ? s : 1;
    }

    return s >= 8 ? 8 : s >= 4 ? 4 : s >= 2 ? 2 : 1;
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


/*
 * The "eval" signal of an image with progress on, and of every image
 * computed from it: libvips emits it as tiles are done, from the thread
 * running the pipeline.  Past the deadline, the kill flags make the next
 * region request fail ("killed for image"), which ends the render.
 */

static void
image_variant_eval(VipsImage *image, VipsProgress *progress, void *data)
{
    int                     i;
    image_variant_clock_t  *clock;

    (void) image;
    (void) progress;

    clock = data;

    if (clock->deadline == 0 || g_get_monotonic_time() < clock->deadline) {
        return;
    }

    clock->expired = 1;

    for (i = 0; i < 2; i++) {
        if (clock->kill[i] != NULL) {
            vips_image_set_kill(clock->kill[i], TRUE);
        }
    }
}


/*
 * Progress on an image goes to the first image upstream that had it on
 * (image->progress_signal): connect there, once.
 */

static void
image_variant_watch(image_variant_clock_t *clock, VipsImage *image, int n)
{
    VipsImage  *source;

    if (clock->deadline == 0) {
        return;
    }

    vips_image_set_progress(image, TRUE);

    source = image->progress_signal;

    if (source == NULL || source == clock->watched[0]) {
        return;
    }

    clock->watched[n] = source;
    clock->handler[n] = g_signal_connect(source, "eval",
                                         G_CALLBACK(image_variant_eval),
                                         clock);
}


static void
image_variant_unwatch(image_variant_clock_t *clock)
{
    int  i;

    /* the clock lives on the stack: no callback may outlive the render */

    for (i = 0; i < 2; i++) {
        if (clock->watched[i] != NULL) {
            g_signal_handler_disconnect(clock->watched[i], clock->handler[i]);
            clock->watched[i] = NULL;
        }
    }
}


static int
image_variant_late(image_variant_clock_t *clock)
{
    if (clock->deadline == 0) {
        return 0;
    }

    if (clock->expired || g_get_monotonic_time() >= clock->deadline) {
        clock->expired = 1;
        return 1;
    }

    return 0;
}


/*
 * libvips 8.14.1's webpsave writes an EXIF chunk even with "strip" and no
 * EXIF in the image: one it makes up (orientation 1, resolution, size),
 * ~200 bytes.  Cut it out of the RIFF container and clear its VP8X flag.
 */

static void
image_variant_webp_unexif(image_variant_job_t *job)
{
    size_t          off, chunk, len;
    unsigned char  *p;

    p = job->out;
    len = job->out_len;

    if (len < 30
        || memcmp(p, "RIFF", 4) != 0
        || memcmp(p + 8, "WEBPVP8X", 8) != 0)
    {
        return;
    }

    for (off = 12; off + 8 <= len; off += chunk) {
        chunk = (size_t) p[off + 4] | (size_t) p[off + 5] << 8
                | (size_t) p[off + 6] << 16 | (size_t) p[off + 7] << 24;

        /* the header, the payload and its padding to an even size */
        if (chunk > len - off - 8) {
            return;
        }

        chunk += 8 + (chunk & 1);

        if (chunk > len - off) {
            return;
        }

        if (memcmp(p + off, "EXIF", 4) == 0) {
            memmove(p + off, p + off + chunk, len - off - chunk);
            len -= chunk;

            p[4] = (unsigned char) (len - 8);
            p[5] = (unsigned char) ((len - 8) >> 8);
            p[6] = (unsigned char) ((len - 8) >> 16);
            p[7] = (unsigned char) ((len - 8) >> 24);

            p[20] &= ~0x08;

            job->out_len = len;
            return;
        }
    }
}


/*
 * The savers strip all metadata (EXIF, XMP, IPTC, ICC: the pixels are
 * sRGB).  JPEG: progressive with optimised Huffman tables.  AVIF: AV1 in
 * HEIF, 8 bits (libvips defaults to 12).
 */

static int
image_variant_save(image_variant_job_t *job, VipsImage *image,
    image_variant_format_e format)
{
    int         q, rc;
    VipsImage  *memory;

    q = (int) job->params.quality;

    if (q > 100) {
        q = 100;
    }

    switch (format) {

    case IMAGE_VARIANT_FORMAT_JPEG:
        return vips_jpegsave_buffer(image, &job->out, &job->out_len,
                                    "Q", q ? q : IMAGE_VARIANT_JPEG_Q,
                                    "interlace", TRUE,
                                    "optimize_coding", TRUE,
                                    "strip", TRUE,
                                    NULL);

    case IMAGE_VARIANT_FORMAT_PNG:
        return vips_pngsave_buffer(image, &job->out, &job->out_len,
                                   "strip", TRUE,
                                   NULL);

    case IMAGE_VARIANT_FORMAT_WEBP:
        /*
         * libvips 8.14.1's webpsave leaks its whole pipeline (~50 objects
         * and their buffers) when the pixels fail: corrupt input, or the
         * kill.  It gathers the whole image before encoding anyway, so
         * compute it first, where a failure costs nothing.
         */
        memory = vips_image_copy_memory(image);
        if (memory == NULL) {
            return -1;
        }

        rc = vips_webpsave_buffer(memory, &job->out, &job->out_len,
                                  "Q", q ? q : IMAGE_VARIANT_WEBP_Q,
                                  "effort", IMAGE_VARIANT_WEBP_EFFORT,
                                  "strip", TRUE,
                                  NULL);

        g_object_unref(memory);

        if (rc != 0) {
            return -1;
        }

        image_variant_webp_unexif(job);
        return 0;

    case IMAGE_VARIANT_FORMAT_AVIF:
        return vips_heifsave_buffer(image, &job->out, &job->out_len,
                                    "Q", q ? q : IMAGE_VARIANT_AVIF_Q,
                                    "compression",
                                        VIPS_FOREIGN_HEIF_COMPRESSION_AV1,
                                    "effort", IMAGE_VARIANT_AVIF_EFFORT,
                                    "bitdepth", 8,
                                    "strip", TRUE,
                                    NULL);

    default:
        vips_error("image_variant", "no format");
        return -1;
    }
}


/*
 * libvips' error buffer is one for the whole process, shared by all the
 * renders running at once: take it (copy and clear, under libvips' lock)
 * right after the failing call.  A message of another render may come
 * along; the status never does.
 */

static void
image_variant_fail(image_variant_job_t *job, int status, const char *what)
{
    char  *msg, *p;

    msg = vips_error_buffer_copy();

    /* one line: libvips ends each message with a newline */

    for (p = msg; *p != '\0'; p++) {
        if (*p == '\n') {
            *p = (p[1] == '\0') ? '\0' : ' ';
        }
    }

    if (status == IMAGE_VARIANT_E_TIMEOUT) {
        what = "time limit reached";
    }

    g_snprintf(job->error, sizeof(job->error), "%s%s%s",
               what, msg[0] ? ": " : "", msg);

    g_free(msg);

    job->status = status;
}


static void
image_variant_log(const gchar *domain, GLogLevelFlags level,
    const gchar *message, gpointer data)
{
    /* dropped, see image_variant_init() */

    (void) domain;
    (void) level;
    (void) message;
    (void) data;
}
