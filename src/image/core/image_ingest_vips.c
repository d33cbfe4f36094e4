
/*
 * The header check of an upload; see the header.  Loading goes through
 * vips_image_new_from_buffer(): the loaders image_variant_init() blocked
 * (SVG, PDF, ImageMagick, ...) fail there, and what no loader knows is
 * refused by the sniffing before.
 */


#include <string.h>

#include <vips/vips.h>

#include "image_variant_vips.h"
#include "image_ingest_vips.h"


typedef struct {
    const char   *type;         /* a prefix of the loader's type name */
    const char   *format;
    const char   *ext;
} image_ingest_loader_t;


static const image_ingest_loader_t  image_ingest_loaders[] = {
    { "VipsForeignLoadJpeg",   "jpeg",  "jpg" },
    { "VipsForeignLoadPng",    "png",   "png" },
    { "VipsForeignLoadWebp",   "webp",  "webp" },
    { "VipsForeignLoadNsgif",  "gif",   "gif" },
    { "VipsForeignLoadHeif",   "heic",  "heic" },
    { "VipsForeignLoadTiff",   "tiff",  "tif" }
};


static void image_ingest_probe_fail(image_ingest_probe_t *p, int status,
    const char *what);


void
image_ingest_probe(const void *data, size_t len, uint64_t max_pixels,
    image_ingest_probe_t *p)
{
    size_t       i;
    uint64_t     pixels;
    VipsImage   *in;
    const char  *type, *compression;

    memset(p, 0, sizeof(image_ingest_probe_t));
    p->status = IMAGE_VARIANT_E_INTERNAL;

    type = vips_foreign_find_load_buffer(data, len);
    if (type == NULL) {
        image_ingest_probe_fail(p, IMAGE_VARIANT_E_NOT_IMAGE,
                                "not an image");
        return;
    }

    for (i = 0; i < sizeof(image_ingest_loaders)
                    / sizeof(image_ingest_loaders[0]); i++)
    {
        if (strncmp(type, image_ingest_loaders[i].type,
                    strlen(image_ingest_loaders[i].type)) == 0)
        {
            break;
        }
    }

    if (i == sizeof(image_ingest_loaders) / sizeof(image_ingest_loaders[0]))
    {
        vips_error_clear();
        g_snprintf(p->error, sizeof(p->error),
                   "unsupported image format (%s)", type);
        p->status = IMAGE_VARIANT_E_NOT_IMAGE;
        return;
    }

    p->format = image_ingest_loaders[i].format;
    p->ext = image_ingest_loaders[i].ext;

    in = vips_image_new_from_buffer(data, len, "",
                                    "access", VIPS_ACCESS_SEQUENTIAL, NULL);
    if (in == NULL) {
        image_ingest_probe_fail(p, IMAGE_VARIANT_E_NOT_IMAGE, "bad image");
        return;
    }

    /* as in image_variant_render(): each factor at most 1e7 */
    pixels = (uint64_t) in->Xsize * (uint64_t) in->Ysize
             * (uint64_t) vips_image_get_n_pages(in);

    if (pixels > max_pixels) {
        g_snprintf(p->error, sizeof(p->error),
                   "%dx%d, %d page(s): more than %llu pixels",
                   in->Xsize, in->Ysize, vips_image_get_n_pages(in),
                   (unsigned long long) max_pixels);
        p->status = IMAGE_VARIANT_E_TOO_LARGE;
        g_object_unref(in);
        return;
    }

    /* HEIF holds HEVC (HEIC) or AV1 (AVIF) */

    if (strcmp(p->format, "heic") == 0
        && vips_image_get_typeof(in, "heif-compression")
        && vips_image_get_string(in, "heif-compression", &compression) == 0
        && strcmp(compression, "av1") == 0)
    {
        p->format = "avif";
        p->ext = "avif";
    }

    if (vips_image_get_orientation_swap(in)) {
        p->width = (unsigned) in->Ysize;
        p->height = (unsigned) in->Xsize;

    } else {
        p->width = (unsigned) in->Xsize;
        p->height = (unsigned) in->Ysize;
    }

    p->alpha = vips_image_hasalpha(in);
    p->status = IMAGE_VARIANT_DONE;

    g_object_unref(in);
}


/* libvips' error buffer is the process's: taken at once, one line */

static void
image_ingest_probe_fail(image_ingest_probe_t *p, int status,
    const char *what)
{
    char  *msg, *c;

    msg = vips_error_buffer_copy();

    for (c = msg; *c != '\0'; c++) {
        if (*c == '\n') {
            *c = (c[1] == '\0') ? '\0' : ' ';
        }
    }

    g_snprintf(p->error, sizeof(p->error), "%s%s%s", what,
               msg[0] ? ": " : "", msg);
    g_free(msg);

    p->status = status;
}
