
/*
 * gravity=face: fit=cover with the crop window around the faces.
 *
 * The image is scaled to cover the box (thumbnail with shrink-on-load,
 * as any variant), copied to memory once, and the caller's detector
 * looks at an RGB copy no larger than IMAGE_VARIANT_FACE_SIDE on a side
 * (the SSD's input is 512x512 anyway).  image_variant_face_window()
 * places the window; without a face, or without a detector, or for
 * animations, libvips' attention crop decides as gravity=attention.
 */


#include <math.h>
#include <time.h>

#include "image_variant_vips_internal.h"


static int image_variant_face_detect(image_variant_run_t *run,
    VipsImage *in, image_variant_face_box_t *boxes);
static double image_variant_face_cpu(void);


VipsImage *
image_variant_face(image_variant_run_t *run, VipsImage *in)
{
    int                       bw, bh, swap, kept, left, top, n;
    double                    w, h, scale;
    VipsImage                *out;
    image_variant_job_t      *job;
    image_variant_face_box_t  boxes[IMAGE_VARIANT_FACE_MAX];

    job = run->job;
    bw = run->box.width;
    bh = run->box.height;

    if (job->faces == NULL || vips_image_get_page_height(in) != in->Ysize) {
        run->box.crop = VIPS_INTERESTING_ATTENTION;
        return image_variant_scale(run, in);
    }

    /* the size that covers the box, in the orientation thumbnail gives */

    swap = vips_image_get_orientation_swap(in);
    w = swap ? run->src_height : run->src_width;
    h = swap ? run->src_width : run->src_height;

    scale = fmax(bw / w, bh / h);

    run->box.width = VIPS_MAX(bw, (int) floor(w * scale + 0.5));
    run->box.height = VIPS_MAX(bh, (int) floor(h * scale + 0.5));
    run->box.size = VIPS_SIZE_FORCE;

    in = image_variant_scale(run, in);

    run->box.width = bw;
    run->box.height = bh;

    if (in == NULL) {
        return NULL;
    }

    if (in->Xsize <= bw && in->Ysize <= bh) {
        /* the box's aspect already: nothing to place */
        return in;
    }

    /* once in memory: the detector and the crop read it */

    out = vips_image_copy_memory(in);
    in = image_variant_keep(run, out);

    if (in == NULL) {
        image_variant_fail(job, IMAGE_VARIANT_E_INTERNAL, "copy");
        return NULL;
    }

    n = image_variant_face_detect(run, in, boxes);

    kept = 0;

    if (n > 0) {
        kept = (int) image_variant_face_window(in->Xsize, in->Ysize, bw, bh,
                                               boxes, (size_t) n, &left,
                                               &top);
    }

    job->out_faces = kept;
    job->out_crop[2] = in->Xsize;
    job->out_crop[3] = in->Ysize;

    if (kept) {
        job->out_crop[0] = left;
        job->out_crop[1] = top;

        if (vips_extract_area(in, &out, left, top, bw, bh, NULL) != 0) {
            image_variant_fail(job, IMAGE_VARIANT_E_INTERNAL, "crop");
            return NULL;
        }

    } else {
        job->out_crop[0] = -1;
        job->out_crop[1] = -1;

        if (vips_smartcrop(in, &out, bw, bh,
                           "interesting", VIPS_INTERESTING_ATTENTION, NULL)
            != 0)
        {
            image_variant_fail(job, IMAGE_VARIANT_E_INTERNAL, "smartcrop");
            return NULL;
        }
    }

    return image_variant_keep(run, out);
}


/*
 * The detector on an RGB copy of at most IMAGE_VARIANT_FACE_SIDE on its
 * longer side; the boxes mapped back to in's pixels.  The count, or -1.
 */

static int
image_variant_face_detect(image_variant_run_t *run, VipsImage *in,
    image_variant_face_box_t *boxes)
{
    int                   i, n;
    size_t                size;
    double                f, fx, fy, cpu;
    gint64                t0;
    uint8_t              *rgb;
    VipsImage            *small, *x;
    image_variant_job_t  *job;

    job = run->job;

    f = (double) IMAGE_VARIANT_FACE_SIDE / VIPS_MAX(in->Xsize, in->Ysize);

    g_object_ref(in);
    small = in;

    if (f < 1.0) {
        if (vips_resize(small, &x, f, NULL) != 0) {
            g_object_unref(small);
            return -1;
        }

        g_object_unref(small);
        small = x;
    }

    if (small->Bands == 4) {
        if (vips_extract_band(small, &x, 0, "n", 3, NULL) != 0) {
            g_object_unref(small);
            return -1;
        }

        g_object_unref(small);
        small = x;
    }

    rgb = vips_image_write_to_memory(small, &size);

    if (rgb == NULL || small->Bands != 3
        || size != (size_t) small->Xsize * small->Ysize * 3)
    {
        g_free(rgb);
        g_object_unref(small);
        return -1;
    }

    t0 = g_get_monotonic_time();
    cpu = image_variant_face_cpu();

    n = job->faces(job->faces_data, rgb, small->Xsize, small->Ysize, boxes,
                   IMAGE_VARIANT_FACE_MAX);

    job->ms_faces = (g_get_monotonic_time() - t0) / 1000.0;
    job->cpu_faces = image_variant_face_cpu() - cpu;

    fx = (double) in->Xsize / small->Xsize;
    fy = (double) in->Ysize / small->Ysize;

    g_free(rgb);
    g_object_unref(small);

    for (i = 0; i < n; i++) {
        boxes[i].x *= fx;
        boxes[i].y *= fy;
        boxes[i].w *= fx;
        boxes[i].h *= fy;
    }

    return n;
}


/* the calling thread's CPU time in ms (the detector runs in it alone) */

static double
image_variant_face_cpu(void)
{
    struct timespec  ts;

    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0) {
        return 0;
    }

    return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}
