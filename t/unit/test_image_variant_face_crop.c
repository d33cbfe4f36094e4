
/*
 * Unit tests for image_variant_face_crop.c: the crop window of
 * gravity=face keeps every face whose union fits, is centred on the
 * faces weighted towards the largest, stays in the image, prefers the
 * largest faces when they do not all fit, and says so when there is no
 * face (the caller falls back to attention).
 */


#include <math.h>
#include <stdlib.h>

#include "unit.h"
#include "image_variant_face_crop.h"


static int
inside(int left, int top, int cw, int ch, const image_variant_face_box_t *b)
{
    return b->x >= left && b->y >= top && b->x + b->w <= left + cw
           && b->y + b->h <= top + ch;
}


UNIT_TEST(test_no_face)
{
    int                       left = -7, top = -7;
    image_variant_face_box_t  empty = { 10, 10, 0, 5 };
    image_variant_face_box_t  out = { -50, -50, 20, 20 };
    image_variant_face_box_t  nan = { NAN, 3, 10, 10 };

    CHECK_INT(image_variant_face_window(400, 300, 300, 300, NULL, 0, &left,
                                        &top), 0);
    CHECK_INT(image_variant_face_window(400, 300, 300, 300, &empty, 1,
                                        &left, &top), 0);
    CHECK_INT(image_variant_face_window(400, 300, 300, 300, &out, 1, &left,
                                        &top), 0);
    CHECK_INT(image_variant_face_window(400, 300, 300, 300, &nan, 1, &left,
                                        &top), 0);
    CHECK_INT(left, -7);
    CHECK_INT(top, -7);

    /* a window larger than the image is the caller's error */
    CHECK_INT(image_variant_face_window(400, 300, 500, 300, &empty, 1,
                                        &left, &top), 0);
}


UNIT_TEST(test_one_face_centred)
{
    int                       left, top;
    image_variant_face_box_t  f = { 250, 100, 40, 50 };

    /* a landscape 600x300 cut to 300x300: centred on x = 270 */
    CHECK_INT(image_variant_face_window(600, 300, 300, 300, &f, 1, &left,
                                        &top), 1);
    CHECK_INT(left, 120);
    CHECK_INT(top, 0);
}


UNIT_TEST(test_face_at_the_edge)
{
    int                       left, top;
    image_variant_face_box_t  right = { 560, 120, 40, 60 };
    image_variant_face_box_t  cut = { 580, 120, 60, 60 };
    image_variant_face_box_t  low = { 30, 950, 100, 50 };

    /* the window goes as far as the image allows, the face whole */
    CHECK_INT(image_variant_face_window(600, 300, 300, 300, &right, 1,
                                        &left, &top), 1);
    CHECK_INT(left, 300);
    CHECK(inside(left, top, 300, 300, &right));

    /* a box over the edge is clipped first */
    CHECK_INT(image_variant_face_window(600, 300, 300, 300, &cut, 1,
                                        &left, &top), 1);
    CHECK_INT(left, 300);

    /* a portrait cut to a banner: the face at the bottom is kept */
    CHECK_INT(image_variant_face_window(600, 1000, 600, 200, &low, 1,
                                        &left, &top), 1);
    CHECK_INT(left, 0);
    CHECK_INT(top, 800);
    CHECK(inside(left, top, 600, 200, &low));
}


UNIT_TEST(test_all_faces_kept_when_they_fit)
{
    int                       left, top;
    size_t                    i;
    image_variant_face_box_t  f[3] = {
        { 20, 40, 60, 60 },           /* large, left */
        { 240, 50, 20, 20 },
        { 301, 60, 20, 20 }           /* the union: 20..321 */
    };

    CHECK_INT(image_variant_face_window(800, 300, 300, 300, f, 3, &left,
                                        &top), 2);

    /* 301 wide: the smallest is left out; 20..320 fits exactly */
    f[2].x = 299;
    f[2].w = 21;
    CHECK_INT(image_variant_face_window(800, 300, 300, 300, f, 3, &left,
                                        &top), 3);
    CHECK_INT(left, 20);

    for (i = 0; i < 3; i++) {
        CHECK(inside(left, top, 300, 300, &f[i]));
    }
}


UNIT_TEST(test_weighted_towards_the_largest)
{
    int                       left, top;
    image_variant_face_box_t  f[2] = {
        { 100, 100, 100, 100 },       /* centre 150, area 10000 */
        { 400, 100, 20, 20 }          /* centre 410, area 400 */
    };

    /*
     * A 400 wide window in 1000: both fit (100..420); the weighted centre
     * is (150 * 10000 + 410 * 400) / 10400 = 160, so the window would
     * start at -40: it starts at 20, the least that holds the small face,
     * then no further from the centre
     */
    CHECK_INT(image_variant_face_window(1000, 300, 400, 300, f, 2, &left,
                                        &top), 2);
    CHECK_INT(left, 20);

    /* a 200 wide window: only the largest fits; centred on it */
    CHECK_INT(image_variant_face_window(1000, 300, 200, 300, f, 2, &left,
                                        &top), 1);
    CHECK_INT(left, 50);

    /* the order given does not matter */
    {
        image_variant_face_box_t  g[2] = { f[1], f[0] };

        CHECK_INT(image_variant_face_window(1000, 300, 200, 300, g, 2,
                                            &left, &top), 1);
        CHECK_INT(left, 50);
    }
}


UNIT_TEST(test_face_larger_than_the_window)
{
    int                       left, top;
    image_variant_face_box_t  f = { 300, 0, 400, 300 };

    /* centred on the face, inside the image */
    CHECK_INT(image_variant_face_window(1000, 300, 200, 200, &f, 1, &left,
                                        &top), 1);
    CHECK_INT(left, 400);
    CHECK_INT(top, 50);
}


/* random faces: the window is in the image, and holds them when it can */

UNIT_TEST(test_random)
{
    int                       iw, ih, cw, ch, left, top, all;
    size_t                    i, k, n, kept;
    double                    ux0, uy0, ux1, uy1;
    image_variant_face_box_t  f[8];

    srand(19);

    for (k = 0; k < 20000; k++) {
        iw = 50 + rand() % 2000;
        ih = 50 + rand() % 2000;
        cw = 1 + rand() % iw;
        ch = 1 + rand() % ih;
        n = 1 + rand() % 8;

        for (i = 0; i < n; i++) {
            f[i].w = 1 + rand() % (iw / 2 + 1);
            f[i].h = 1 + rand() % (ih / 2 + 1);
            f[i].x = rand() % iw - f[i].w / 4;
            f[i].y = rand() % ih - f[i].h / 4;
        }

        left = top = -1;
        kept = image_variant_face_window(iw, ih, cw, ch, f, n, &left, &top);

        CHECK(kept >= 1 && kept <= n);
        CHECK(left >= 0 && left + cw <= iw);
        CHECK(top >= 0 && top + ch <= ih);

        /* the union of the clipped boxes: when it fits, all are inside */

        ux0 = iw;
        uy0 = ih;
        ux1 = 0;
        uy1 = 0;

        for (i = 0; i < n; i++) {
            ux0 = fmin(ux0, fmax(f[i].x, 0));
            uy0 = fmin(uy0, fmax(f[i].y, 0));
            ux1 = fmax(ux1, fmin(f[i].x + f[i].w, iw));
            uy1 = fmax(uy1, fmin(f[i].y + f[i].h, ih));
        }

        if (ceil(ux1) - floor(ux0) <= cw && ceil(uy1) - floor(uy0) <= ch) {
            all = ux0 >= left && ux1 <= left + cw && uy0 >= top
                  && uy1 <= top + ch;
            CHECK(all);
            CHECK_INT(kept, n);

            if (!all) {
                break;
            }
        }
    }
}


UNIT_MAIN(test_no_face, test_one_face_centred, test_face_at_the_edge,
          test_all_faces_kept_when_they_fit,
          test_weighted_towards_the_largest,
          test_face_larger_than_the_window, test_random)
