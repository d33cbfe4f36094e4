
/*
 * Detection: SSD on the whole image (face-api's behaviour) and, with
 * tiles, SSD again on overlapping tiles at higher resolution for small
 * faces in large photos, merged with NMS; or the tiny detector.
 */

#include <stdlib.h>
#include <string.h>

#include "face_internal.h"


#define FACE_TILE_SIDE     1024   /* a tile goes to 512: half resolution */
#define FACE_TILE_MIN      1536   /* smaller images: no tiles */
#define FACE_TILE_EDGE     2.0f   /* px: box cut by an inner tile border */
#define FACE_TILE_IOU      0.5f
#define FACE_TILE_MAX      16


static face_net_t *face_detect_ssd_net(face_ctx_t *ctx,
    const face_options_t *opt, const face_rect_t *r);
static int face_tile_starts(int len, int side, int *start);
static int face_detect_append(face_box_t **all, size_t *n, size_t *size,
    const face_box_t *b, size_t nb, const face_rect_t *tile,
    const face_image_t *img);


/*
 * face-api's parity mode: the 512x512 input; otherwise the region's own
 * aspect ratio (a bucket), the least recently used bucket's runtime freed
 * when a context would keep more than FACE_SSD_PARTS
 */

static face_net_t *
face_detect_ssd_net(face_ctx_t *ctx, const face_options_t *opt,
    const face_rect_t *r)
{
    int          i, lru, rows, cols;
    char         err[128];
    face_net_t  *net;

    rows = FACE_SSD_SIZE;
    cols = FACE_SSD_SIZE;

    if (opt->alignment != FACE_ALIGN_FACEAPI) {
        face_ssd_bucket(r, &rows, &cols);
    }

    if (rows == FACE_SSD_SIZE && cols == FACE_SSD_SIZE) {
        if (ctx->ssd.rt == NULL
            && face_ssd_build(&ctx->ssd, &ctx->models->ssd, err, sizeof(err))
               != 0)
        {
            return NULL;
        }

        return &ctx->ssd;
    }

    lru = 0;

    for (i = 0; i < FACE_SSD_PARTS; i++) {
        net = &ctx->ssd_part[i];

        if (net->rt != NULL && net->in_h == rows && net->in_w == cols) {
            ctx->ssd_part_used[i] = ++ctx->ssd_tick;
            return net;
        }

        if (ctx->ssd_part_used[i] < ctx->ssd_part_used[lru]) {
            lru = i;
        }
    }

    net = &ctx->ssd_part[lru];
    face_net_free(net);

    if (face_ssd_build_part(net, &ctx->models->ssd, rows, cols, err,
                            sizeof(err))
        != 0)
    {
        ctx->ssd_part_used[lru] = 0;
        return NULL;
    }

    ctx->ssd_part_used[lru] = ++ctx->ssd_tick;

    return net;
}


static int
face_tile_starts(int len, int side, int *start)
{
    int  i, n;

    /* overlap of at least a quarter tile, tiles spread evenly */

    if (len <= side) {
        start[0] = 0;
        return 1;
    }

    n = (len - side + side * 3 / 4 - 1) / (side * 3 / 4) + 1;

    if (n > FACE_TILE_MAX) {
        n = FACE_TILE_MAX;
    }

    for (i = 0; i < n; i++) {
        start[i] = (int) ((long long) (len - side) * i / (n - 1));
    }

    return n;
}


static int
face_detect_append(face_box_t **all, size_t *n, size_t *size,
    const face_box_t *b, size_t nb, const face_rect_t *tile,
    const face_image_t *img)
{
    size_t       i;
    face_box_t  *p;

    for (i = 0; i < nb; i++) {
        if (tile != NULL) {
            /* a face cut by a border inside the image: another tile has it */
            if ((tile->x > 0 && b[i].x < tile->x + FACE_TILE_EDGE)
                || (tile->y > 0 && b[i].y < tile->y + FACE_TILE_EDGE)
                || (tile->x + tile->w < img->w
                    && b[i].x + b[i].w > tile->x + tile->w - FACE_TILE_EDGE)
                || (tile->y + tile->h < img->h
                    && b[i].y + b[i].h > tile->y + tile->h - FACE_TILE_EDGE))
            {
                continue;
            }
        }

        if (*n == *size) {
            *size = *size ? *size * 2 : 64;
            p = realloc(*all, *size * sizeof(face_box_t));
            if (p == NULL) {
                return -1;
            }

            *all = p;
        }

        (*all)[(*n)++] = b[i];
    }

    return 0;
}


int
face_detect(face_ctx_t *ctx, const face_image_t *img,
    const face_options_t *opt, face_box_t **boxes, size_t *n)
{
    int           tx, ty, nx, ny, xs[FACE_TILE_MAX], ys[FACE_TILE_MAX];
    size_t        nb, size;
    face_net_t   *net;
    face_box_t   *b;
    face_rect_t   r;

    *boxes = NULL;
    *n = 0;

    if (opt->detector == FACE_DETECTOR_TINY) {
        return face_tiny_detect(&ctx->tiny, opt->tiny_input_size, img,
                                opt->min_confidence, boxes, n);
    }

    r.x = 0;
    r.y = 0;
    r.w = img->w;
    r.h = img->h;

    net = face_detect_ssd_net(ctx, opt, &r);

    if (net == NULL
        || face_ssd_detect(net, &ctx->models->ssd, img, &r,
                           opt->min_confidence, boxes, n)
           != 0)
    {
        return -1;
    }

    if (!opt->tiles || (img->w < FACE_TILE_MIN && img->h < FACE_TILE_MIN)) {
        return 0;
    }

    size = *n;
    nx = face_tile_starts(img->w, FACE_TILE_SIDE, xs);
    ny = face_tile_starts(img->h, FACE_TILE_SIDE, ys);

    for (ty = 0; ty < ny; ty++) {
        for (tx = 0; tx < nx; tx++) {
            r.x = xs[tx];
            r.y = ys[ty];
            r.w = img->w < FACE_TILE_SIDE ? img->w : FACE_TILE_SIDE;
            r.h = img->h < FACE_TILE_SIDE ? img->h : FACE_TILE_SIDE;

            net = face_detect_ssd_net(ctx, opt, &r);

            if (net == NULL
                || face_ssd_detect(net, &ctx->models->ssd, img, &r,
                                   opt->min_confidence, &b, &nb)
                   != 0)
            {
                return -1;
            }

            if (face_detect_append(boxes, n, &size, b, nb, &r, img) != 0) {
                free(b);
                return -1;
            }

            free(b);
        }
    }

    *n = face_nms(*boxes, *n, FACE_TILE_IOU, (size_t) -1);

    return 0;
}
