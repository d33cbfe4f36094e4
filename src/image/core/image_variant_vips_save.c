
/*
 * The image variants' libvips pipeline: 8-bit sRGB, alpha flattening, the
 * fit's padding, no metadata, and the savers with their qualities and
 * efforts.
 */


#include <string.h>

#include "image_variant_vips_internal.h"


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


static void image_variant_webp_unexif(image_variant_job_t *job);


/*
 * For the format: alpha flattened onto the background for JPEG (PNG, WebP
 * and AVIF keep it), contain's padding in the background colour (opaque),
 * and no metadata left.
 */

VipsImage *
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


/*
 * The savers strip all metadata (EXIF, XMP, IPTC, ICC: the pixels are
 * sRGB).  JPEG: progressive with optimised Huffman tables.  AVIF: AV1 in
 * HEIF, 8 bits (libvips defaults to 12).
 */

int
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
