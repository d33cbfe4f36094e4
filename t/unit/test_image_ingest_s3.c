
/*
 * Unit tests for image_ingest_s3.c: "s3://<bucket>/<prefix>" parsed or
 * refused, object keys, Content-MD5 against RFC 1864's form (base64 of
 * the binary MD5, not of its hex), content types, and what each answer
 * means for an upload.
 */


#include "unit.h"
#include "image_ingest_s3.h"


UNIT_TEST(test_parse)
{
    char                        err[256];
    image_ingest_s3_location_t  loc;

    CHECK(image_ingest_s3_is("s3://a/b", 8));
    CHECK(!image_ingest_s3_is("/srv/img", 8));
    CHECK(!image_ingest_s3_is("s3:/", 4));

    CHECK_INT(image_ingest_s3_parse("s3://photos/img/", 16, &loc, err,
                                    sizeof(err)), 0);
    CHECK_STR(loc.bucket, "photos");
    CHECK_STR(loc.prefix, "img/");

    /* a prefix is a folder: the "/" added */
    CHECK_INT(image_ingest_s3_parse("s3://photos/a/b-c_d.e", 21, &loc, err,
                                    sizeof(err)), 0);
    CHECK_STR(loc.prefix, "a/b-c_d.e/");

    /* no prefix: the bucket's root */
    CHECK_INT(image_ingest_s3_parse("s3://photos", 11, &loc, err,
                                    sizeof(err)), 0);
    CHECK_STR(loc.bucket, "photos");
    CHECK_STR(loc.prefix, "");

    CHECK_INT(image_ingest_s3_parse("s3://photos/", 12, &loc, err,
                                    sizeof(err)), 0);
    CHECK_STR(loc.prefix, "");

    /* the length given is the string: nothing after it is read */
    CHECK_INT(image_ingest_s3_parse("s3://photos/imgXXX", 15, &loc, err,
                                    sizeof(err)), 0);
    CHECK_STR(loc.prefix, "img/");
}


UNIT_TEST(test_parse_refused)
{
    size_t                      i;
    char                        err[256], big[700];
    image_ingest_s3_location_t  loc;

    static const char  *bad[] = {
        "/srv/img",
        "s3://",
        "s3:///img/",
        "s3://pho tos/img/",
        "s3://photos/img//a/",
        "s3://photos//",
        "s3://photos/../img/",
        "s3://photos/img/./a",
        "s3://photos/img/..",
        "s3://photos/im g/",
        "s3://photos/img%2F/",
        "s3://photos/img+/",
        "s3://photos/\xc3\xa9/"
    };

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';

        if (image_ingest_s3_parse(bad[i], strlen(bad[i]), &loc, err,
                                  sizeof(err))
            != -1)
        {
            UNIT_FAIL_(__FILE__, __LINE__, "accepted \"%s\"", bad[i]);
        }

        CHECK(err[0] != '\0');
    }

    /* a 65-byte bucket name, a 512-byte prefix */

    memset(big, 'a', sizeof(big));
    memcpy(big, "s3://", 5);
    CHECK_INT(image_ingest_s3_parse(big, 5 + 65, &loc, err, sizeof(err)),
              -1);
    CHECK_INT(image_ingest_s3_parse(big, 5 + 64, &loc, err, sizeof(err)),
              0);

    big[5 + 3] = '/';
    CHECK_INT(image_ingest_s3_parse(big, 5 + 4 + 511, &loc, err,
                                    sizeof(err)), 0);
    CHECK_INT(strlen(loc.prefix), 512);
    CHECK_INT(image_ingest_s3_parse(big, 5 + 4 + 512, &loc, err,
                                    sizeof(err)), -1);

    /* 512 with its own final "/": accepted, and what it gives parses again */
    big[5 + 4 + 511] = '/';
    CHECK_INT(image_ingest_s3_parse(big, 5 + 4 + 512, &loc, err,
                                    sizeof(err)), 0);
    CHECK_INT(strlen(loc.prefix), 512);
    CHECK_INT(image_ingest_s3_parse(big, 5 + 4 + 513, &loc, err,
                                    sizeof(err)), -1);

    /* the message quotes nothing of the input: printable whatever it is */
    CHECK_INT(image_ingest_s3_parse("s3:///x!/y\xcc\x9d\xd1/", 14, &loc, err,
                                    sizeof(err)), -1);
    for (i = 0; err[i]; i++) {
        CHECK(err[i] >= 0x20 && err[i] < 0x7f);
    }
    CHECK_INT(image_ingest_s3_parse("s3://ph\x01otos/", 15, &loc, err,
                                    sizeof(err)), -1);
    CHECK(strchr(err, '\x01') == NULL);
}


UNIT_TEST(test_key)
{
    char                        key[IMAGE_INGEST_S3_KEY_LEN], small[8];
    image_ingest_s3_location_t  loc;

    memset(&loc, 0, sizeof(loc));
    strcpy(loc.prefix, "img/");

    CHECK_INT(image_ingest_s3_key(&loc, "thumb/5d41.jpg", key, sizeof(key)),
              0);
    CHECK_STR(key, "img/thumb/5d41.jpg");

    CHECK_INT(image_ingest_s3_key(&loc, "5d41.jpg", small, sizeof(small)),
              -1);
    CHECK_INT(image_ingest_s3_key(&loc, "a.b", small, sizeof(small)), 0);
    CHECK_STR(small, "img/a.b");
}


UNIT_TEST(test_content_md5)
{
    char  md5[IMAGE_INGEST_S3_MD5_LEN + 1];

    /* MD5("hello") = 5d41402abc4b2a76b9719d911017c592 */
    image_ingest_s3_content_md5("hello", 5, md5);
    CHECK_STR(md5, "XUFAKrxLKna5cZ2REBfFkg==");

    /* MD5("") = d41d8cd98f00b204e9800998ecf8427e */
    image_ingest_s3_content_md5("", 0, md5);
    CHECK_STR(md5, "1B2M2Y8AsgTpgAmY7PhCfg==");
}


UNIT_TEST(test_content_type)
{
    CHECK_STR(image_ingest_s3_content_type("a.jpg"), "image/jpeg");
    CHECK_STR(image_ingest_s3_content_type("thumb/a.webp"), "image/webp");
    CHECK_STR(image_ingest_s3_content_type("a.avif"), "image/avif");
    CHECK_STR(image_ingest_s3_content_type("a.tif"), "image/tiff");
    CHECK_STR(image_ingest_s3_content_type("a.json"), "application/json");
    CHECK_STR(image_ingest_s3_content_type("a.jpeg"),
              "application/octet-stream");
    CHECK_STR(image_ingest_s3_content_type("a.jpg/b"),
              "application/octet-stream");
    CHECK_STR(image_ingest_s3_content_type("jpg"),
              "application/octet-stream");
}


UNIT_TEST(test_outcome)
{
    CHECK_INT(image_ingest_s3_outcome(200, 0), IMAGE_INGEST_S3_DONE);
    CHECK_INT(image_ingest_s3_outcome(200, 1), IMAGE_INGEST_S3_DONE);
    CHECK_INT(image_ingest_s3_outcome(204, 1), IMAGE_INGEST_S3_DONE);
    CHECK_INT(image_ingest_s3_outcome(404, 0), IMAGE_INGEST_S3_MISSING);
    CHECK_INT(image_ingest_s3_outcome(412, 1), IMAGE_INGEST_S3_EXISTS);
    CHECK_INT(image_ingest_s3_outcome(403, 0), IMAGE_INGEST_S3_DENIED);
    CHECK_INT(image_ingest_s3_outcome(403, 1), IMAGE_INGEST_S3_DENIED);

    /* a 404 of a PUT (no such bucket), a 412 of a HEAD: failures */
    CHECK_INT(image_ingest_s3_outcome(404, 1), IMAGE_INGEST_S3_FAILED);
    CHECK_INT(image_ingest_s3_outcome(412, 0), IMAGE_INGEST_S3_FAILED);
    CHECK_INT(image_ingest_s3_outcome(409, 1), IMAGE_INGEST_S3_FAILED);
    CHECK_INT(image_ingest_s3_outcome(500, 1), IMAGE_INGEST_S3_FAILED);
    CHECK_INT(image_ingest_s3_outcome(503, 0), IMAGE_INGEST_S3_FAILED);
    CHECK_INT(image_ingest_s3_outcome(301, 0), IMAGE_INGEST_S3_FAILED);
    CHECK_INT(image_ingest_s3_outcome(0, 0), IMAGE_INGEST_S3_FAILED);
}


UNIT_MAIN(test_parse, test_parse_refused, test_key, test_content_md5,
          test_content_type, test_outcome)
