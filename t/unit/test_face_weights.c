
/*
 * Unit tests for face_weights.c: tfjs manifests, uint8 dequantisation,
 * float32 and int32 entries, lookups and the errors a broken file gives.
 */


#include <stdlib.h>
#include <math.h>

#include "unit.h"
#include "face_weights.h"


/* two groups: q [2,2] uint8, f [2] float32, i [] int32 */

static const char  manifest[] =
    "[{\"paths\":[\"a.bin\"],\"weights\":["
    "{\"name\":\"q\",\"shape\":[2,2],\"dtype\":\"float32\","
    "\"quantization\":{\"dtype\":\"uint8\",\"scale\":0.5,\"min\":-1}},"
    "{\"name\":\"f\",\"shape\":[2],\"dtype\":\"float32\"}]},"
    "{\"paths\":[\"b.bin\"],\"weights\":["
    "{\"name\":\"i\",\"shape\":[],\"dtype\":\"int32\"}]}]";


static size_t
make_bin(unsigned char *bin)
{
    float    f[2] = { 1.25f, -3.5f };
    int32_t  i = -7;

    bin[0] = 0;
    bin[1] = 1;
    bin[2] = 4;
    bin[3] = 255;
    memcpy(bin + 4, f, 8);
    memcpy(bin + 12, &i, 4);

    return 16;
}


UNIT_TEST(test_parse_dequantise)
{
    char                  err[256];
    size_t                len;
    unsigned char         bin[16];
    face_weights_t        w;
    const face_tensor_t  *t;

    len = make_bin(bin);

    CHECK_INT(face_weights_parse(&w, manifest, sizeof(manifest) - 1, bin,
                                 len, err, sizeof(err)), 0);
    CHECK_INT(w.n, 3);

    t = face_weights_get(&w, "q", 4, err, sizeof(err));
    CHECK(t != NULL);

    if (t != NULL) {
        CHECK_INT(t->ndims, 2);
        CHECK_INT(t->dims[0], 2);
        CHECK(t->data[0] == -1.0f);          /* 0 * 0.5 - 1 */
        CHECK(t->data[1] == -0.5f);
        CHECK(t->data[2] == 1.0f);
        CHECK(t->data[3] == 126.5f);         /* 255 * 0.5 - 1 */
    }

    t = face_weights_get(&w, "f", 2, err, sizeof(err));
    CHECK(t != NULL && t->data[0] == 1.25f && t->data[1] == -3.5f);

    t = face_weights_get(&w, "i", 1, err, sizeof(err));
    CHECK(t != NULL && t->ndims == 0 && t->data[0] == -7.0f);

    /* lookups by name and count */
    CHECK(face_weights_get(&w, "f", 3, err, sizeof(err)) == NULL);
    CHECK(strstr(err, "expected 3") != NULL);
    CHECK(face_weights_get(&w, "nope", 1, err, sizeof(err)) == NULL);
    CHECK(strstr(err, "missing") != NULL);

    face_weights_free(&w);
    CHECK(w.t == NULL && w.n == 0);
}


UNIT_TEST(test_parse_errors)
{
    char            err[256];
    size_t          len;
    unsigned char   bin[17];
    face_weights_t  w;

    len = make_bin(bin);

    /* the files hold too little, too much */
    CHECK_INT(face_weights_parse(&w, manifest, sizeof(manifest) - 1, bin,
                                 len - 1, err, sizeof(err)), -1);
    CHECK(strstr(err, "past the end") != NULL);
    CHECK(w.t == NULL);

    CHECK_INT(face_weights_parse(&w, manifest, sizeof(manifest) - 1, bin,
                                 len + 1, err, sizeof(err)), -1);
    CHECK(strstr(err, "17") != NULL);

    /* not JSON, not an array, no weights */
    CHECK_INT(face_weights_parse(&w, "{", 1, bin, len, err, sizeof(err)),
              -1);
    CHECK_INT(face_weights_parse(&w, "{}", 2, bin, len, err, sizeof(err)),
              -1);
    CHECK_INT(face_weights_parse(&w, "[]", 2, bin, len, err, sizeof(err)),
              -1);

#define ONE(s)  face_weights_parse(&w, s, sizeof(s) - 1, bin, len, err,   \
                                   sizeof(err))

    CHECK_INT(ONE("[{\"weights\":[{\"name\":\"x\",\"shape\":[4],"
                  "\"dtype\":\"float16\"}]}]"), -1);
    CHECK(strstr(err, "float16") != NULL);

    CHECK_INT(ONE("[{\"weights\":[{\"name\":\"x\",\"shape\":[-1],"
                  "\"dtype\":\"float32\"}]}]"), -1);
    CHECK_INT(ONE("[{\"weights\":[{\"name\":\"x\",\"shape\":[1.5],"
                  "\"dtype\":\"float32\"}]}]"), -1);
    CHECK_INT(ONE("[{\"weights\":[{\"name\":\"x\",\"shape\":[1,1,1,1,1],"
                  "\"dtype\":\"float32\"}]}]"), -1);
    CHECK_INT(ONE("[{\"weights\":[{\"name\":\"x\",\"shape\":[16],"
                  "\"dtype\":\"float32\",\"quantization\":"
                  "{\"dtype\":\"uint16\",\"scale\":1,\"min\":0}}]}]"), -1);
    CHECK_INT(ONE("[{\"weights\":[{\"name\":\"x\",\"shape\":[100000000,"
                  "100000000],\"dtype\":\"float32\"}]}]"), -1);

    /* a whole .bin of uint8 entries is fine */
    CHECK_INT(ONE("[{\"weights\":[{\"name\":\"x\",\"shape\":[16],"
                  "\"dtype\":\"float32\",\"quantization\":"
                  "{\"dtype\":\"uint8\",\"scale\":2,\"min\":1}}]}]"), 0);
    CHECK(w.n == 1 && w.t[0].data[3] == 2 * bin[3] + 1.0f);
    face_weights_free(&w);

#undef ONE
}


UNIT_MAIN(test_parse_dequantise, test_parse_errors)
