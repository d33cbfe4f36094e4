
/*
 * The quality benchmark's measuring tool (bench/image_variant_quality.py
 * builds and runs it): one original, the module's own render of it (the
 * libvips pipeline of src/image/core, as nginx runs it) and another
 * renderer's output, both against an exactly centred Lanczos-3 reference.
 *
 *   image_variant_quality ORIGINAL OTHER.jpg [WIDTH HEIGHT [QUALITY]]
 *
 * prints one line: "ours_ssim other_ssim ours_bytes other_bytes".  The
 * variant: fit=cover, gravity=centre, JPEG, default 256x256 quality 80;
 * with IMAGE_VARIANT_FAST_SHRINK in the environment, as with
 * image_variant_shrink_on_load fast.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vips/vips.h>

#include "image_variant_params.h"
#include "image_variant_vips.h"
#include "image_variant_quality.h"


int
main(int argc, char **argv)
{
    int                  width, height, quality;
    char                 err[256];
    gchar               *data;
    gsize                len, other_len;
    gchar               *other_data;
    iv_rgb_t             orig, ref, ours, other;
    image_variant_job_t  job;

    if (argc != 3 && argc != 5 && argc != 6) {
        fprintf(stderr, "usage: %s ORIGINAL OTHER.jpg [WIDTH HEIGHT "
                "[QUALITY]]\n", argv[0]);
        return 2;
    }

    width = argc > 3 ? atoi(argv[3]) : 256;
    height = argc > 4 ? atoi(argv[4]) : 256;
    quality = argc > 5 ? atoi(argv[5]) : 80;

    if (image_variant_init(argv[0], err, sizeof(err)) != 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }

    if (!g_file_get_contents(argv[1], &data, &len, NULL)) {
        fprintf(stderr, "cannot read %s\n", argv[1]);
        return 1;
    }

    memset(&job, 0, sizeof(job));
    image_variant_params_init(&job.params);
    job.params.width = width;
    job.params.height = height;
    job.params.fit = IMAGE_VARIANT_FIT_COVER;
    job.params.gravity = IMAGE_VARIANT_GRAVITY_CENTRE;
    job.params.format = IMAGE_VARIANT_FORMAT_JPEG;
    job.params.quality = quality;
    job.params.fast_shrink = getenv("IMAGE_VARIANT_FAST_SHRINK") != NULL;
    job.data = data;
    job.len = len;
    job.max_pixels = 100000000;

    image_variant_render(&job);

    if (job.status != IMAGE_VARIANT_DONE) {
        fprintf(stderr, "render: %s\n", job.error);
        return 1;
    }

    if (!g_file_get_contents(argv[2], &other_data, &other_len, NULL)) {
        fprintf(stderr, "cannot read %s\n", argv[2]);
        return 1;
    }

    if (iv_rgb_load_buffer(data, len, &orig) != 0
        || iv_rgb_load_buffer(job.out, job.out_len, &ours) != 0
        || iv_rgb_load_buffer(other_data, other_len, &other) != 0
        || iv_reference_cover(&orig, width, height, &ref) != 0)
    {
        fprintf(stderr, "%s", vips_error_buffer());
        return 1;
    }

    printf("%.5f %.5f %zu %lld\n", iv_ssim(&ours, &ref),
           iv_ssim(&other, &ref), job.out_len, (long long) other_len);

    image_variant_free(job.out);
    g_free(data);
    g_free(other_data);
    iv_rgb_free(&orig);
    iv_rgb_free(&ref);
    iv_rgb_free(&ours);
    iv_rgb_free(&other);
    image_variant_shutdown();

    return 0;
}
