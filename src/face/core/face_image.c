
/*
 * Decoding.  JPEG (the usual upload) with libjpeg-turbo directly: a third
 * of libvips' time on a 1920x1280 photo, the same pixels (libvips decodes
 * with the same library and settings); a photo far larger than the
 * networks need is decoded at 1/2, 1/4 or 1/8 in the IDCT itself.  WebP
 * (the website's photos) with libwebp directly, on the calling thread:
 * libvips decodes it on its own worker threads, up to six of them in the
 * nginx worker beside the thread pool's; the same pixels, since libvips
 * decodes with libwebp too (an animation: its first frame, composed on
 * the canvas, as libvips loads it).  Everything else with libvips: any
 * loader the process allows.  Either way EXIF orientation is applied,
 * the result is sRGB, alpha dropped, 8 bits a channel, and the pixel
 * limit is checked on the header, before any pixel is decoded.
 */

#include <stdio.h>
#include <string.h>
#include <setjmp.h>

#include <jpeglib.h>
#include <jerror.h>
#include <webp/decode.h>
#include <webp/demux.h>
#include <vips/vips.h>

#include "face_internal.h"


typedef struct {
    struct jpeg_error_mgr   pub;
    jmp_buf                 jmp;
    int                     truncated;
    char                    msg[JMSG_LENGTH_MAX];
} face_jpeg_error_t;


static face_status_e face_image_vips(const void *data, size_t len,
    uint64_t max_pixels, uint8_t **px, int *w, int *h, char *err,
    size_t errlen);
static face_status_e face_image_jpeg(const void *data, size_t len,
    uint64_t max_pixels, int keep, uint8_t **px, int *w, int *h, int *fw,
    int *fh, char *err, size_t errlen);
static face_status_e face_image_webp(const void *data, size_t len,
    uint64_t max_pixels, uint8_t **px, int *w, int *h, char *err,
    size_t errlen);
static int face_webp_orientation(const WebPDemuxer *demux);
static face_status_e face_webp_frame(const WebPData *wd, int w, int h,
    uint8_t *out, char *err, size_t errlen);
static void face_jpeg_error_exit(j_common_ptr cinfo);
static void face_jpeg_message(j_common_ptr cinfo, int level);
static uint8_t *face_image_orient(uint8_t *px, int *w, int *h, int orient);
static void face_image_error(const char *what, char *err, size_t errlen);


face_status_e
face_image_decode(const void *data, size_t len, uint64_t max_pixels,
    uint8_t **px, int *w, int *h, char *err, size_t errlen)
{
    int  fw, fh;

    return face_image_decode_scaled(data, len, max_pixels, 0, px, w, h, &fw,
                                    &fh, err, errlen);
}


face_status_e
face_image_decode_scaled(const void *data, size_t len, uint64_t max_pixels,
    int keep, uint8_t **px, int *w, int *h, int *fw, int *fh, char *err,
    size_t errlen)
{
    face_status_e   rc;
    const uint8_t  *p;

    p = data;
    *px = NULL;

    if (len > 3 && p[0] == 0xff && p[1] == 0xd8 && p[2] == 0xff) {
        rc = face_image_jpeg(data, len, max_pixels, keep, px, w, h, fw, fh,
                             err, errlen);

        /* FACE_EINTERNAL: a colour space libjpeg does not turn into RGB */
        if (rc != FACE_EINTERNAL) {
            return rc;
        }

    } else if (len > 12 && memcmp(p, "RIFF", 4) == 0
               && memcmp(p + 8, "WEBP", 4) == 0)
    {
        rc = face_image_webp(data, len, max_pixels, px, w, h, err, errlen);

        *fw = *w;
        *fh = *h;

        return rc;
    }

    rc = face_image_vips(data, len, max_pixels, px, w, h, err, errlen);

    *fw = *w;
    *fh = *h;

    return rc;
}


static void
face_jpeg_error_exit(j_common_ptr cinfo)
{
    face_jpeg_error_t  *e;

    e = (face_jpeg_error_t *) cinfo->err;
    cinfo->err->format_message(cinfo, e->msg);
    longjmp(e->jmp, 1);
}


static void
face_jpeg_message(j_common_ptr cinfo, int level)
{
    face_jpeg_error_t  *e;

    /* warnings are ignored as libvips does, but for a truncated file */

    e = (face_jpeg_error_t *) cinfo->err;

    if (level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF) {
        e->truncated = 1;
    }
}


static face_status_e
face_image_jpeg(const void *data, size_t len, uint64_t max_pixels, int keep,
    uint8_t **px, int *w, int *h, int *fw, int *fh, char *err, size_t errlen)
{
    int                                      orient, denom, side;
    uint8_t                                 *out;
    JSAMPROW                                 row;
    jpeg_saved_marker_ptr                    m;
    face_jpeg_error_t                        e;
    volatile face_status_e                   rc;
    struct jpeg_decompress_struct            d;
    uint8_t                        *volatile buf;

    buf = NULL;
    rc = FACE_EDECODE;

    memset(&e, 0, sizeof(face_jpeg_error_t));
    d.err = jpeg_std_error(&e.pub);
    e.pub.error_exit = face_jpeg_error_exit;
    e.pub.emit_message = face_jpeg_message;

    if (setjmp(e.jmp)) {
        snprintf(err, errlen, "not a supported image: %s", e.msg);
        jpeg_destroy_decompress(&d);
        g_free(buf);
        return rc;
    }

    jpeg_create_decompress(&d);
    jpeg_mem_src(&d, data, len);
    jpeg_save_markers(&d, JPEG_APP0 + 1, 0xffff);

    (void) jpeg_read_header(&d, TRUE);

    if (max_pixels
        && (uint64_t) d.image_width * (uint64_t) d.image_height > max_pixels)
    {
        snprintf(err, errlen, "image of %ux%u pixels is over the limit of "
                 "%llu", d.image_width, d.image_height,
                 (unsigned long long) max_pixels);
        jpeg_destroy_decompress(&d);
        return FACE_ETOOBIG;
    }

    if (d.jpeg_color_space != JCS_GRAYSCALE
        && d.jpeg_color_space != JCS_YCbCr && d.jpeg_color_space != JCS_RGB)
    {
        /* CMYK, YCCK: libvips converts them */
        jpeg_destroy_decompress(&d);
        return FACE_EINTERNAL;
    }

    orient = 1;

    for (m = d.marker_list; m != NULL; m = m->next) {
        if (m->marker == JPEG_APP0 + 1) {
            orient = face_exif_orientation(m->data, m->data_length);
            if (orient != 1) {
                break;
            }
        }
    }

    /* the largest power-of-two reduction that keeps a long side of keep */

    side = d.image_width > d.image_height ? d.image_width : d.image_height;
    denom = 1;

    while (keep > 0 && denom < 8 && side / (denom * 2) >= keep) {
        denom *= 2;
    }

    d.out_color_space = JCS_RGB;
    d.scale_num = 1;
    d.scale_denom = denom;

    (void) jpeg_start_decompress(&d);

    if (d.output_components != 3) {
        snprintf(err, errlen, "decoder returned %d channels",
                 d.output_components);
        jpeg_destroy_decompress(&d);
        return FACE_EDECODE;
    }

    buf = g_try_malloc((size_t) d.output_width * d.output_height * 3);
    if (buf == NULL) {
        snprintf(err, errlen, "out of memory");
        jpeg_destroy_decompress(&d);
        return FACE_ENOMEM;
    }

    while (d.output_scanline < d.output_height && !e.truncated) {
        row = buf + (size_t) d.output_scanline * d.output_width * 3;
        (void) jpeg_read_scanlines(&d, &row, 1);
    }

    if (e.truncated) {
        snprintf(err, errlen, "not a supported image: truncated JPEG");
        jpeg_destroy_decompress(&d);
        g_free(buf);
        return FACE_EDECODE;
    }

    *w = d.output_width;
    *h = d.output_height;
    *fw = d.image_width;
    *fh = d.image_height;

    (void) jpeg_finish_decompress(&d);
    jpeg_destroy_decompress(&d);

    out = buf;

    if (orient >= 5) {
        side = *fw;
        *fw = *fh;
        *fh = side;
    }

    if (orient != 1) {
        out = face_image_orient(buf, w, h, orient);
        g_free(buf);

        if (out == NULL) {
            snprintf(err, errlen, "out of memory");
            return FACE_ENOMEM;
        }
    }

    *px = out;

    return FACE_OK;
}


static face_status_e
face_image_webp(const void *data, size_t len, uint64_t max_pixels,
    uint8_t **px, int *w, int *h, char *err, size_t errlen)
{
    int                     orient;
    uint8_t                *buf, *out;
    WebPData                wd;
    VP8StatusCode           st;
    face_status_e           rc;
    WebPDemuxer            *demux;
    WebPDecoderConfig       config;

    *w = 0;
    *h = 0;

    if (!WebPInitDecoderConfig(&config)) {
        snprintf(err, errlen, "libwebp's version does not match its headers");
        return FACE_EINTERNAL;
    }

    /* the header only: the canvas' size, an animation or not */

    st = WebPGetFeatures(data, len, &config.input);
    if (st != VP8_STATUS_OK) {
        snprintf(err, errlen, "not a supported image: WebP header (%d)",
                 (int) st);
        return FACE_EDECODE;
    }

    if (max_pixels
        && (uint64_t) config.input.width * (uint64_t) config.input.height
           > max_pixels)
    {
        snprintf(err, errlen, "image of %dx%d pixels is over the limit of "
                 "%llu", config.input.width, config.input.height,
                 (unsigned long long) max_pixels);
        return FACE_ETOOBIG;
    }

    /* the whole file, its chunks checked: a truncated one is refused */

    wd.bytes = data;
    wd.size = len;

    demux = WebPDemux(&wd);
    if (demux == NULL) {
        snprintf(err, errlen, "not a supported image: truncated or damaged "
                 "WebP");
        return FACE_EDECODE;
    }

    orient = face_webp_orientation(demux);
    WebPDemuxDelete(demux);

    buf = g_try_malloc((size_t) config.input.width * config.input.height
                       * 3);
    if (buf == NULL) {
        snprintf(err, errlen, "out of memory");
        return FACE_ENOMEM;
    }

    if (config.input.has_animation) {
        rc = face_webp_frame(&wd, config.input.width, config.input.height,
                             buf, err, errlen);
        if (rc != FACE_OK) {
            g_free(buf);
            return rc;
        }

    } else {
        config.output.colorspace = MODE_RGB;
        config.output.is_external_memory = 1;
        config.output.u.RGBA.rgba = buf;
        config.output.u.RGBA.stride = config.input.width * 3;
        config.output.u.RGBA.size = (size_t) config.input.width
                                    * config.input.height * 3;

        st = WebPDecode(data, len, &config);
        WebPFreeDecBuffer(&config.output);

        if (st != VP8_STATUS_OK) {
            snprintf(err, errlen, "not a supported image: WebP decoding "
                     "failed (%d)", (int) st);
            g_free(buf);
            return FACE_EDECODE;
        }
    }

    *w = config.input.width;
    *h = config.input.height;

    out = buf;

    if (orient != 1) {
        out = face_image_orient(buf, w, h, orient);
        g_free(buf);

        if (out == NULL) {
            snprintf(err, errlen, "out of memory");
            return FACE_ENOMEM;
        }
    }

    *px = out;

    return FACE_OK;
}


/* EXIF orientation of the EXIF chunk, 1 without one */

static int
face_webp_orientation(const WebPDemuxer *demux)
{
    int                 orient;
    const uint8_t      *p;
    WebPChunkIterator   it;

    if (!(WebPDemuxGetI(demux, WEBP_FF_FORMAT_FLAGS) & EXIF_FLAG)
        || !WebPDemuxGetChunk(demux, "EXIF", 1, &it))
    {
        return 1;
    }

    p = it.chunk.bytes;

    if (it.chunk.size >= 6 && memcmp(p, "Exif\0\0", 6) == 0) {
        orient = face_exif_orientation(p, it.chunk.size);

    } else {
        orient = face_exif_tiff_orientation(p, it.chunk.size);
    }

    WebPDemuxReleaseChunkIterator(&it);

    return orient;
}


/* an animation's first frame on its canvas, alpha dropped */

static face_status_e
face_webp_frame(const WebPData *wd, int w, int h, uint8_t *out, char *err,
    size_t errlen)
{
    int                       ts;
    size_t                    i, n;
    uint8_t                  *rgba;
    WebPAnimDecoder          *dec;
    WebPAnimDecoderOptions    opt;

    if (!WebPAnimDecoderOptionsInit(&opt)) {
        snprintf(err, errlen, "libwebp's version does not match its headers");
        return FACE_EINTERNAL;
    }

    opt.color_mode = MODE_RGBA;
    opt.use_threads = 0;

    dec = WebPAnimDecoderNew(wd, &opt);
    if (dec == NULL) {
        snprintf(err, errlen, "not a supported image: damaged WebP "
                 "animation");
        return FACE_EDECODE;
    }

    if (!WebPAnimDecoderGetNext(dec, &rgba, &ts)) {
        WebPAnimDecoderDelete(dec);
        snprintf(err, errlen, "not a supported image: WebP animation "
                 "frame");
        return FACE_EDECODE;
    }

    n = (size_t) w * h;

    for (i = 0; i < n; i++) {
        memcpy(out + i * 3, rgba + i * 4, 3);
    }

    WebPAnimDecoderDelete(dec);

    return FACE_OK;
}


/* the pixels turned as EXIF orientation says (libvips' autorot) */

static uint8_t *
face_image_orient(uint8_t *px, int *w, int *h, int orient)
{
    int       x, y, sx, sy, W, H, ow, oh;
    uint8_t  *out, *o;

    W = *w;
    H = *h;
    ow = orient >= 5 ? H : W;
    oh = orient >= 5 ? W : H;

    out = g_try_malloc((size_t) ow * oh * 3);
    if (out == NULL) {
        return NULL;
    }

    o = out;

    for (y = 0; y < oh; y++) {
        for (x = 0; x < ow; x++, o += 3) {
            switch (orient) {
            case 2:  sx = W - 1 - x; sy = y;         break;
            case 3:  sx = W - 1 - x; sy = H - 1 - y; break;
            case 4:  sx = x;         sy = H - 1 - y; break;
            case 5:  sx = y;         sy = x;         break;
            case 6:  sx = y;         sy = H - 1 - x; break;
            case 7:  sx = W - 1 - y; sy = H - 1 - x; break;
            default: sx = W - 1 - y; sy = x;         break;
            }

            memcpy(o, px + ((size_t) sy * W + sx) * 3, 3);
        }
    }

    *w = ow;
    *h = oh;

    return out;
}


static face_status_e
face_image_vips(const void *data, size_t len, uint64_t max_pixels,
    uint8_t **px, int *w, int *h, char *err, size_t errlen)
{
    int             i, n;
    size_t          size;
    void           *mem;
    VipsImage      *img[6];
    face_status_e   rc;

    *px = NULL;
    n = 0;
    rc = FACE_EDECODE;

    if (len == 0) {
        snprintf(err, errlen, "empty image");
        return FACE_EDECODE;
    }

    /* a truncated or damaged file is an error, not a grey half-photo */
    img[n] = vips_image_new_from_buffer(data, len, "", "fail_on",
                                        VIPS_FAIL_ON_TRUNCATED, NULL);
    if (img[n] == NULL) {
        face_image_error("not a supported image", err, errlen);
        return FACE_EDECODE;
    }

    n++;

    if (max_pixels
        && (uint64_t) img[0]->Xsize * (uint64_t) img[0]->Ysize > max_pixels)
    {
        snprintf(err, errlen, "image of %dx%d pixels is over the limit of "
                 "%llu", img[0]->Xsize, img[0]->Ysize,
                 (unsigned long long) max_pixels);
        rc = FACE_ETOOBIG;
        goto done;
    }

    if (vips_autorot(img[n - 1], &img[n], NULL) != 0) {
        face_image_error("cannot orient the image", err, errlen);
        goto done;
    }

    n++;

    if (vips_image_guess_interpretation(img[n - 1])
        != VIPS_INTERPRETATION_sRGB
        || img[n - 1]->BandFmt != VIPS_FORMAT_UCHAR)
    {
        if (vips_colourspace(img[n - 1], &img[n], VIPS_INTERPRETATION_sRGB,
                             NULL)
            != 0)
        {
            face_image_error("cannot convert to sRGB", err, errlen);
            goto done;
        }

        n++;
    }

    if (img[n - 1]->Bands != 3) {
        if (img[n - 1]->Bands < 3
            || vips_extract_band(img[n - 1], &img[n], 0, "n", 3, NULL) != 0)
        {
            face_image_error("cannot take the RGB channels", err, errlen);
            goto done;
        }

        n++;
    }

    if (img[n - 1]->BandFmt != VIPS_FORMAT_UCHAR) {
        if (vips_cast_uchar(img[n - 1], &img[n], NULL) != 0) {
            face_image_error("cannot convert to 8 bits", err, errlen);
            goto done;
        }

        n++;
    }

    mem = vips_image_write_to_memory(img[n - 1], &size);
    if (mem == NULL) {
        face_image_error("cannot decode the image", err, errlen);
        goto done;
    }

    if (size != (size_t) img[n - 1]->Xsize * img[n - 1]->Ysize * 3) {
        g_free(mem);
        snprintf(err, errlen, "decoder returned an unexpected size");
        goto done;
    }

    *px = mem;
    *w = img[n - 1]->Xsize;
    *h = img[n - 1]->Ysize;
    rc = FACE_OK;

done:

    for (i = n - 1; i >= 0; i--) {
        g_object_unref(img[i]);
    }

    return rc;
}


void
face_image_free(uint8_t *px)
{
    g_free(px);
}


static void
face_image_error(const char *what, char *err, size_t errlen)
{
    size_t   n;
    char    *msg;

    msg = vips_error_buffer_copy();

    /* libvips' messages end with a newline: keep the first line */
    n = strcspn(msg, "\n");
    if (n == 0) {
        snprintf(err, errlen, "%s", what);

    } else {
        snprintf(err, errlen, "%s: %.*s", what, (int) n, msg);
    }

    g_free(msg);
}
