
/*
 * Unit tests for the face engine's pure logic: TF SAME padding, SSD
 * anchor decoding, IoU and NMS, the similarity transform of dlib's
 * alignment, face-api's crop and square resize, JSON floats.
 */


#include <stdlib.h>
#include <math.h>

#include "unit.h"
#include "face_internal.h"


#define NEAR(a, b, eps)  (fabs((double) (a) - (double) (b)) <= (eps))


UNIT_TEST(test_same_pad)
{
    int  before, after;

    /* stride 2 on an even size: nothing before, one after */
    CHECK_INT(face_same_pad(512, 3, 2, &before, &after), 256);
    CHECK_INT(before, 0);
    CHECK_INT(after, 1);

    /* stride 1, 3x3: one each side */
    CHECK_INT(face_same_pad(35, 3, 1, &before, &after), 35);
    CHECK_INT(before, 1);
    CHECK_INT(after, 1);

    /* odd size, stride 2: 207 -> 104, (103 * 2 + 2 - 207) = 1 after */
    CHECK_INT(face_same_pad(207, 2, 2, &before, &after), 104);
    CHECK_INT(before, 0);
    CHECK_INT(after, 1);

    /* 2 -> 1 with 3x3/2: one after; 1x1: none */
    CHECK_INT(face_same_pad(2, 3, 2, &before, &after), 1);
    CHECK_INT(before + after, 1);
    CHECK_INT(face_same_pad(16, 1, 1, &before, &after), 16);
    CHECK_INT(before + after, 0);

    /* 7x7 stride 1: three each side */
    CHECK_INT(face_same_pad(10, 7, 1, &before, &after), 10);
    CHECK_INT(before, 3);
    CHECK_INT(after, 3);
}


UNIT_TEST(test_ssd_decode)
{
    float  anchor[4] = { 0.1f, 0.2f, 0.3f, 0.6f };
    float  zero[4] = { 0, 0, 0, 0 };
    float  code[4] = { 10, -5, 5 * 0.6931472f, 0 };
    float  b[4];

    /* zero codes: the anchor itself */
    face_ssd_decode(anchor, zero, b);
    CHECK(NEAR(b[0], 0.1, 1e-6) && NEAR(b[1], 0.2, 1e-6));
    CHECK(NEAR(b[2], 0.3, 1e-6) && NEAR(b[3], 0.6, 1e-6));

    /* ty = 10: centre moves by one anchor height; th: height doubles;
       tx = -5: half an anchor width left */
    face_ssd_decode(anchor, code, b);
    CHECK(NEAR((b[0] + b[2]) / 2, 0.4, 1e-5));
    CHECK(NEAR(b[2] - b[0], 0.4, 1e-5));
    CHECK(NEAR((b[1] + b[3]) / 2, 0.2, 1e-5));
    CHECK(NEAR(b[3] - b[1], 0.4, 1e-5));
}


UNIT_TEST(test_nms)
{
    face_box_t  a = { 0, 0, 10, 10, 0.9f };
    face_box_t  b = { 5, 0, 10, 10, 0.8f };
    face_box_t  boxes[4] = {
        { 1, 0, 10, 10, 0.7f },      /* overlaps the best by 0.82 */
        { 0, 0, 10, 10, 0.95f },
        { 50, 50, 5, 5, 0.6f },      /* alone */
        { 6, 0, 10, 10, 0.8f }       /* 0.25 with the best */
    };
    size_t      n;

    CHECK(NEAR(face_iou(&a, &b), 50.0 / 150.0, 1e-6));
    CHECK(NEAR(face_iou(&a, &a), 1.0, 1e-6));
    b.w = 0;
    CHECK(face_iou(&a, &b) == 0.0f);

    n = face_nms(boxes, 4, 0.5f, 100);
    CHECK_INT(n, 3);
    CHECK(boxes[0].score == 0.95f);
    CHECK(boxes[1].score == 0.8f);
    CHECK(boxes[2].score == 0.6f);

    /* a stricter threshold drops the 0.25 overlap too; max caps */
    boxes[0].x = 6;
    boxes[0].score = 0.5f;
    n = face_nms(boxes, 3, 0.2f, 100);
    CHECK_INT(n, 2);
    n = face_nms(boxes, 2, 0.5f, 1);
    CHECK_INT(n, 1);
}


UNIT_TEST(test_similarity)
{
    int                i;
    double             from[5][2], to[5][2], th, c, x, y;
    face_similarity_t  s;

    /* to = 1.5 * Rot(30 deg) * from + (10, -4): recovered exactly */

    th = 30 * M_PI / 180;
    c = 1.5;

    for (i = 0; i < 5; i++) {
        from[i][0] = 10 * i + (i == 3 ? 7 : 0);
        from[i][1] = 3 * i * i - 2;
        to[i][0] = c * (cos(th) * from[i][0] - sin(th) * from[i][1]) + 10;
        to[i][1] = c * (sin(th) * from[i][0] + cos(th) * from[i][1]) - 4;
    }

    s = face_similarity((const double (*)[2]) from, (const double (*)[2]) to,
                        5);

    CHECK(NEAR(s.c, 1.5, 1e-9));
    CHECK(NEAR(atan2(s.sn, s.cs), th, 1e-9));
    CHECK(NEAR(s.tx, 10, 1e-9));
    CHECK(NEAR(s.ty, -4, 1e-9));

    x = s.c * (s.cs * from[2][0] - s.sn * from[2][1]) + s.tx;
    y = s.c * (s.sn * from[2][0] + s.cs * from[2][1]) + s.ty;
    CHECK(NEAR(x, to[2][0], 1e-9) && NEAR(y, to[2][1], 1e-9));
}


UNIT_TEST(test_clip_and_resize)
{
    float         out[4 * 4 * 3];
    uint8_t       px[2 * 1 * 3] = { 10, 20, 30, 50, 60, 70 };
    face_rect_t   r;
    face_image_t  img = { px, 2, 1 };
    const float   zero[3] = { 0, 0, 0 };

    /* clipAtImageBorders + floor */
    r = face_clip_rect(-5.5f, 2.7f, 20.0f, 10.0f, 100, 50);
    CHECK_INT(r.x, 0);
    CHECK_INT(r.y, 2);
    CHECK_INT(r.w, 14);
    CHECK_INT(r.h, 10);
    r = face_clip_rect(95.0f, 45.0f, 20.0f, 20.0f, 100, 50);
    CHECK_INT(r.w, 5);
    CHECK_INT(r.h, 5);
    r = face_clip_rect(120.0f, 0.0f, 20.0f, 20.0f, 100, 50);
    CHECK(r.w == 0 || r.h == 0);

    /* 2x1 padded (after) to 2x2 and resized to 4x4: src = dst / 2 */
    r.x = 0;
    r.y = 0;
    r.w = 2;
    r.h = 1;
    face_square_resize(&img, &r, 0, 4, zero, 1.0f, out);
    CHECK(out[0] == 10.0f);                     /* (0, 0) */
    CHECK(out[3] == 30.0f);                     /* (0, 0.5): 10..50 */
    CHECK(out[6] == 50.0f);                     /* (0, 1) */
    CHECK(out[4 * 3 * 1] == 5.0f);              /* (0.5, 0): half zero */
    CHECK(out[4 * 3 * 2] == 0.0f);              /* padding row */
    CHECK(out[4 * 3 * 3 + 3 * 3 + 2] == 0.0f);

    /* centred, diff 1: after = round(0.5) = 1, so nothing before */
    face_square_resize(&img, &r, 1, 2, zero, 1.0f, out);
    CHECK(out[0] == 10.0f && out[3] == 50.0f);
    CHECK(out[6] == 0.0f && out[9] == 0.0f);

    /* centred, 1x2: the padding column goes after as well */
    img.w = 1;
    img.h = 2;
    r.w = 1;
    r.h = 2;
    face_square_resize(&img, &r, 1, 2, zero, 1.0f, out);
    CHECK(out[0] == 10.0f && out[3] == 0.0f && out[6] == 50.0f);
    img.w = 2;
    img.h = 1;
    r.w = 2;
    r.h = 1;

    /* normalisation */
    face_square_resize(&img, &r, 0, 2, (const float[3]) { 10, 0, 0 },
                       0.5f, out);
    CHECK(out[0] == 0.0f && out[1] == 10.0f && out[3] == 20.0f);
}


UNIT_TEST(test_json_float)
{
    char    buf[64];
    size_t  n;

    n = face_json_float(buf, sizeof(buf), 0.0);
    CHECK_STR(buf, "0.0");
    CHECK_INT(n, 3);
    face_json_float(buf, sizeof(buf), 1.0);
    CHECK_STR(buf, "1.0");
    face_json_float(buf, sizeof(buf), -42.0);
    CHECK_STR(buf, "-42.0");
    face_json_float(buf, sizeof(buf), 0.25);
    CHECK_STR(buf, "0.25");
    face_json_float(buf, sizeof(buf), 1.5e-05);
    CHECK_STR(buf, "1.5e-05");
    face_json_float(buf, sizeof(buf), 1e20);
    CHECK_STR(buf, "1e+20");
    face_json_float(buf, sizeof(buf), NAN);
    CHECK_STR(buf, "0.0");
    face_json_float(buf, sizeof(buf), INFINITY);
    CHECK_STR(buf, "0.0");

    /* float32 values read back exactly from 9 digits */
    face_json_float(buf, sizeof(buf), (double) 0.1f);
    CHECK((float) strtod(buf, NULL) == 0.1f);

    /* too small a buffer: empty, never a bare integer */
    CHECK_INT(face_json_float(buf, 3, 1.0), 0);
    CHECK_STR(buf, "");
}


UNIT_TEST(test_result_json)
{
    char           *s;
    face_t          f;
    face_result_t   res;

    memset(&res, 0, sizeof(res));
    memset(&f, 0, sizeof(f));

    res.width = 640;
    res.height = 480;

    s = face_result_json(&res, "a \"b\".jpg", 0);
    CHECK_STR(s, "{\"file\":\"a \\\"b\\\".jpg\",\"width\":640,"
                 "\"height\":480,\"faces\":[]}");
    free(s);

    f.box[2] = 3;
    f.score = 1;
    res.faces = &f;
    res.nfaces = 1;
    res.ms_decode = 1.23456;

    s = face_result_json(&res, NULL, 1);
    CHECK(s != NULL);
    CHECK(strncmp(s, "{\"width\":640,\"height\":480,\"faces\":[{\"box\":"
                     "[0.0,0.0,3.0,0.0],\"score\":1.0,\"landmarks\":[[0.0,"
                     "0.0],", 88) == 0);
    CHECK(strstr(s, "\"ms\":{\"decode\":1.235,\"detect\":0.0,") != NULL);
    CHECK(strstr(s, ",0]") == NULL && strstr(s, "[0,") == NULL);
    free(s);
}


UNIT_TEST(test_ssd_bucket)
{
    int          rows, cols;
    face_rect_t  r;

    r.x = 0;
    r.y = 0;

    /* 3:2 landscape: 512x341 -> 352 rows; portrait: 352 columns */
    r.w = 1920;
    r.h = 1280;
    face_ssd_bucket(&r, &rows, &cols);
    CHECK_INT(rows, 352);
    CHECK_INT(cols, 512);

    r.w = 1280;
    r.h = 1920;
    face_ssd_bucket(&r, &rows, &cols);
    CHECK_INT(rows, 512);
    CHECK_INT(cols, 352);

    /* 16:9 -> 288, 4:3 -> 384, a panorama -> 288, 1920x1448 -> 416 */
    r.w = 1920;
    r.h = 1080;
    face_ssd_bucket(&r, &rows, &cols);
    CHECK_INT(rows, 288);

    r.h = 1440;
    face_ssd_bucket(&r, &rows, &cols);
    CHECK_INT(rows, 384);

    r.h = 300;
    face_ssd_bucket(&r, &rows, &cols);
    CHECK_INT(rows, 288);

    r.h = 1448;
    face_ssd_bucket(&r, &rows, &cols);
    CHECK_INT(rows, 416);

    /* near square and square: face-api's 512x512 */
    r.h = 1700;
    face_ssd_bucket(&r, &rows, &cols);
    CHECK_INT(rows, 512);
    CHECK_INT(cols, 512);

    r.h = 1920;
    face_ssd_bucket(&r, &rows, &cols);
    CHECK_INT(rows, 512);
    CHECK_INT(cols, 512);
}


UNIT_MAIN(test_same_pad, test_ssd_decode, test_ssd_bucket, test_nms,
          test_similarity, test_clip_and_resize, test_json_float,
          test_result_json)
