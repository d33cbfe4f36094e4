
/*
 * Unit tests for image_ingest_sign.c: the canonical string of a
 * presigned upload URL, its HMAC (known answers computed with Python's
 * hmac module), and every way a URL is refused.
 */


#include "unit.h"
#include "image_ingest_sign.h"


#define S(s)   s, sizeof(s) - 1
#define KEY    (const uint8_t *) "test-key-0123456789", 19

/* HMAC-SHA256 of "PUT\n/upload/avatar\n1767225600" under KEY */
#define SIG    "MYx70Dyv3vLirQaCWgV0FzhNFRKConN2DZeBwQByZ7Q"
#define EXP    1767225600


static int
check(const char *method, const char *path, const char *args, int64_t now,
    int64_t max_age)
{
    return image_ingest_sign_check(KEY, method, strlen(method), path,
                                   strlen(path), args, strlen(args), now,
                                   max_age);
}


UNIT_TEST(test_canonical)
{
    char    out[64];
    size_t  n;

    n = image_ingest_sign_canonical(S("PUT"), S("/upload/avatar"),
                                    S("1767225600"), out, sizeof(out));
    CHECK_INT(n, 29);
    CHECK_STR(out, "PUT\n/upload/avatar\n1767225600");

    /* no room for the NUL */
    CHECK_INT(image_ingest_sign_canonical(S("PUT"), S("/upload/avatar"),
                                          S("1767225600"), out, 29), 0);

    CHECK_INT(image_ingest_sign_canonical(S("PUT"), S("/a\nb"), S("1"), out,
                                          sizeof(out)), 0);
    CHECK_INT(image_ingest_sign_canonical(S("P\nT"), S("/a"), S("1"), out,
                                          sizeof(out)), 0);
    CHECK_INT(image_ingest_sign_canonical(S("PUT"), S("/a"), S("-1"), out,
                                          sizeof(out)), 0);
    CHECK_INT(image_ingest_sign_canonical(S("PUT"), S("/a"), S("1e9"), out,
                                          sizeof(out)), 0);
    CHECK_INT(image_ingest_sign_canonical(S("PUT"), S("/a"), "", 0, out,
                                          sizeof(out)), 0);
    CHECK_INT(image_ingest_sign_canonical(S("PUT"), S("/a"),
                                          S("12345678901234567890"), out,
                                          sizeof(out)), 0);
    CHECK_INT(image_ingest_sign_canonical("", 0, S("/a"), S("1"), out,
                                          sizeof(out)), 0);
}


UNIT_TEST(test_valid)
{
    CHECK_INT(check("PUT", "/upload/avatar",
                    "expires=1767225600&s=" SIG, EXP - 100, 3600),
              IMAGE_INGEST_SIGN_OK);

    /* any order, other arguments ignored; the last second still valid */
    CHECK_INT(check("PUT", "/upload/avatar",
                    "x=1&s=" SIG "&expires=1767225600&y", EXP, 0),
              IMAGE_INGEST_SIGN_OK);

    /* a second known answer: the path as sent, escapes and all */
    CHECK_INT(check("POST", "/a%20b",
                    "expires=1&s=HIcFOw71HD7Ufs4-UbvGq62ilFQcdE8uPpRryv7FVlI",
                    0, 0),
              IMAGE_INGEST_SIGN_OK);
}


UNIT_TEST(test_refused)
{
    const char  *path = "/upload/avatar";

    CHECK_INT(check("PUT", path, "", 0, 0), IMAGE_INGEST_SIGN_MISSING);
    CHECK_INT(check("PUT", path, "expires=1767225600", 0, 0),
              IMAGE_INGEST_SIGN_MISSING);
    CHECK_INT(check("PUT", path, "s=" SIG, 0, 0),
              IMAGE_INGEST_SIGN_MISSING);

    /* the wrong method, path, expiry or key */
    CHECK_INT(check("POST", path, "expires=1767225600&s=" SIG, 0, 0),
              IMAGE_INGEST_SIGN_BAD);
    CHECK_INT(check("PUT", "/upload/avatar2", "expires=1767225600&s=" SIG,
                    0, 0),
              IMAGE_INGEST_SIGN_BAD);
    CHECK_INT(check("PUT", path, "expires=1767225601&s=" SIG, 0, 0),
              IMAGE_INGEST_SIGN_BAD);
    CHECK_INT(check("PUT", path, "expires=01767225600&s=" SIG, 0, 0),
              IMAGE_INGEST_SIGN_BAD);
    CHECK_INT(image_ingest_sign_check((const uint8_t *) "other", 5, S("PUT"),
                                      path, strlen(path),
                                      S("expires=1767225600&s=" SIG), 0, 0),
              IMAGE_INGEST_SIGN_BAD);
    CHECK_INT(image_ingest_sign_check((const uint8_t *) "", 0, S("PUT"),
                                      path, strlen(path),
                                      S("expires=1767225600&s=" SIG), 0, 0),
              IMAGE_INGEST_SIGN_BAD);

    /* a malformed signature or argument list */
    CHECK_INT(check("PUT", path, "expires=1767225600&s=" SIG "=", 0, 0),
              IMAGE_INGEST_SIGN_BAD);
    CHECK_INT(check("PUT", path, "expires=1767225600&s=" "MYx7", 0, 0),
              IMAGE_INGEST_SIGN_BAD);
    CHECK_INT(check("PUT", path, "expires=1767225600&s=" SIG "&s=" SIG, 0, 0),
              IMAGE_INGEST_SIGN_BAD);
    CHECK_INT(check("PUT", path, "expires=1767225600&expires=1767225600&s="
                    SIG, 0, 0),
              IMAGE_INGEST_SIGN_BAD);
    CHECK_INT(check("PUT", path, "expires&expires=1767225600&s=" SIG, 0, 0),
              IMAGE_INGEST_SIGN_BAD);
    CHECK_INT(check("PUT", path, "expires=abc&s=" SIG, 0, 0),
              IMAGE_INGEST_SIGN_BAD);

    /* genuine, but out of time */
    CHECK_INT(check("PUT", path, "expires=1767225600&s=" SIG, EXP + 1, 0),
              IMAGE_INGEST_SIGN_EXPIRED);
    CHECK_INT(check("PUT", path, "expires=1767225600&s=" SIG, EXP - 3601,
                    3600),
              IMAGE_INGEST_SIGN_TOO_LONG);
    CHECK_INT(check("PUT", path, "expires=1767225600&s=" SIG, EXP - 3600,
                    3600),
              IMAGE_INGEST_SIGN_OK);
}


UNIT_TEST(test_errors)
{
    CHECK_STR(image_ingest_sign_error(IMAGE_INGEST_SIGN_MISSING),
              "signature missing");
    CHECK_STR(image_ingest_sign_error(IMAGE_INGEST_SIGN_EXPIRED),
              "signature expired");
    CHECK_STR(image_ingest_sign_error(IMAGE_INGEST_SIGN_BAD),
              "signature invalid");
    CHECK_STR(image_ingest_sign_error(IMAGE_INGEST_SIGN_TOO_LONG),
              "signature valid for too long");
}


UNIT_MAIN(test_canonical, test_valid, test_refused, test_errors)
