
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
 * flag reaches the decoder, the resampler and the saver.  The steps are in
 * their own files, see image_variant_vips_internal.h; this one has the
 * render itself, the images a render holds and its time limit.
 *
 * vips_thumbnail_buffer() was measured against this and not kept: it
 * parses the header twice after our own parse for the pixel limit, and
 * with export_profile "srgb" pays an lcms transform even for sRGB sources
 * (~21 ms CPU against ~10 ms for the 1920x1280 sample cut to 256x256
 * JPEG).  Its shrink-on-load rule is kept: at least 2x is left to the
 * Lanczos-3 resampler (see image_variant_preshrink()).
 */


#include <string.h>

#include "image_variant_vips_internal.h"


typedef struct {
    const char             *type;
    image_variant_load_e    load;
} image_variant_loader_t;


static void image_variant_eval(VipsImage *image, VipsProgress *progress,
    void *data);
static void image_variant_watch(image_variant_clock_t *clock,
    VipsImage *image, int n);
static void image_variant_unwatch(image_variant_clock_t *clock);
static int image_variant_late(image_variant_clock_t *clock);
static int image_variant_alpha_used(image_variant_run_t *run,
    VipsImage **image);
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
            format = IMAGE_VARIANT_FORMAT_JPEG;

            if (!vips_image_hasalpha(in)) {
                break;
            }

            switch (image_variant_alpha_used(&run, &in)) {

            case 1:
                format = IMAGE_VARIANT_FORMAT_PNG;
                break;

            case 0:
                break;

            default:
                image_variant_fail(job, run.clock.expired
                                        ? IMAGE_VARIANT_E_TIMEOUT
                                        : IMAGE_VARIANT_E_NOT_IMAGE,
                                   "render");
                goto done;
            }
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

    /* after the images: a loader may read it until its last unref */
    g_free(run.owned);

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


/* the run holds a reference to every image until the end */

VipsImage *
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

VipsImage *
image_variant_copy(image_variant_run_t *run, VipsImage *in)
{
    VipsImage  *out;

    if (vips_copy(in, &out, NULL) != 0) {
        return NULL;
    }

    return image_variant_keep(run, out);
}


image_variant_load_e
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
 * Whether the alpha band of the resized image is used: an alpha of 255
 * everywhere (an RGBA PNG of a photo, most gif2webp outputs) is no
 * transparency, and format auto then gives JPEG rather than a PNG ten
 * times its size.  The variant is small (it is the box's size): computed
 * once into memory, where both the minimum and the saver read it.
 * 1 used, 0 not, -1 error (the image replaced by its memory copy).
 */

static int
image_variant_alpha_used(image_variant_run_t *run, VipsImage **image)
{
    double      min;
    VipsImage  *in, *alpha;

    in = image_variant_keep(run, vips_image_copy_memory(*image));
    if (in == NULL) {
        return -1;
    }

    *image = in;

    if (vips_extract_band(in, &alpha, in->Bands - 1, NULL) != 0) {
        return -1;
    }

    if (vips_min(alpha, &min, NULL) != 0) {
        g_object_unref(alpha);
        return -1;
    }

    g_object_unref(alpha);

    /* 8-bit here: image_variant_resize() made it so */
    return min < 255.0;
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
 * libvips' error buffer is one for the whole process, shared by all the
 * renders running at once: take it (copy and clear, under libvips' lock)
 * right after the failing call.  A message of another render may come
 * along; the status never does.
 */

void
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
