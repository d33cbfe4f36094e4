
/*
 * The bucket store's pure parts; see the header.
 */


#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "image_ingest_s3.h"


static int image_ingest_s3_prefix_ok(const char *p, size_t len);


int
image_ingest_s3_is(const char *s, size_t len)
{
    return len >= 5 && memcmp(s, "s3://", 5) == 0;
}


int
image_ingest_s3_parse(const char *s, size_t len,
    image_ingest_s3_location_t *loc, char *err, size_t err_len)
{
    size_t       n, i;
    const char  *p, *end, *slash;

    memset(loc, 0, sizeof(image_ingest_s3_location_t));

    if (!image_ingest_s3_is(s, len)) {
        snprintf(err, err_len, "does not start with \"s3://\"");
        return -1;
    }

    p = s + 5;
    end = s + len;

    slash = memchr(p, '/', (size_t) (end - p));
    n = (size_t) ((slash ? slash : end) - p);

    if (n == 0 || n > IMAGE_INGEST_S3_NAME_LEN) {
        snprintf(err, err_len, "no s3_bucket name of 1 to %d bytes after "
                 "\"s3://\"", IMAGE_INGEST_S3_NAME_LEN);
        return -1;
    }

    for (i = 0; i < n; i++) {
        if (!((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= 'A' && p[i] <= 'Z')
              || (p[i] >= '0' && p[i] <= '9') || p[i] == '_' || p[i] == '-'
              || p[i] == '.'))
        {
            snprintf(err, err_len, "the s3_bucket name is not "
                     "[A-Za-z0-9_.-]");
            return -1;
        }
    }

    memcpy(loc->bucket, p, n);
    loc->bucket[n] = '\0';

    if (slash == NULL || slash + 1 == end) {
        return 0;
    }

    p = slash + 1;
    n = (size_t) (end - p);

    /* at most IMAGE_INGEST_S3_PREFIX_LEN with the "/" added */

    if (n + (p[n - 1] != '/') > IMAGE_INGEST_S3_PREFIX_LEN) {
        snprintf(err, err_len, "the prefix is longer than %d bytes "
                 "(with a final \"/\")", IMAGE_INGEST_S3_PREFIX_LEN);
        return -1;
    }

    if (!image_ingest_s3_prefix_ok(p, n)) {
        snprintf(err, err_len, "the prefix is not segments of "
                 "[A-Za-z0-9._-] (none empty, \".\" or \"..\")");
        return -1;
    }

    memcpy(loc->prefix, p, n);

    if (p[n - 1] != '/') {
        loc->prefix[n++] = '/';
    }

    loc->prefix[n] = '\0';

    return 0;
}


int
image_ingest_s3_key(const image_ingest_s3_location_t *loc, const char *rel,
    char *out, size_t size)
{
    int  n;

    n = snprintf(out, size, "%s%s", loc->prefix, rel);

    return (n < 0 || (size_t) n >= size) ? -1 : 0;
}


void
image_ingest_s3_content_md5(const void *data, size_t len,
    char out[IMAGE_INGEST_S3_MD5_LEN + 1])
{
    unsigned int   n;
    unsigned char  md[EVP_MAX_MD_SIZE];

    n = 0;

    if (EVP_Digest(data, len, md, &n, EVP_md5(), NULL) != 1 || n != 16) {
        memset(md, 0, 16);
    }

    (void) EVP_EncodeBlock((unsigned char *) out, md, 16);
    out[IMAGE_INGEST_S3_MD5_LEN] = '\0';
}


const char *
image_ingest_s3_content_type(const char *rel)
{
    size_t       i;
    const char  *dot;

    static const struct {
        const char  *ext;
        const char  *type;
    }  types[] = {
        { "jpg", "image/jpeg" },
        { "png", "image/png" },
        { "webp", "image/webp" },
        { "gif", "image/gif" },
        { "avif", "image/avif" },
        { "heic", "image/heic" },
        { "tif", "image/tiff" },
        { "json", "application/json" }
    };

    dot = strrchr(rel, '.');

    if (dot && strchr(dot, '/') == NULL) {
        for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
            if (strcmp(dot + 1, types[i].ext) == 0) {
                return types[i].type;
            }
        }
    }

    return "application/octet-stream";
}


image_ingest_s3_outcome_e
image_ingest_s3_outcome(long status, int conditional_put)
{
    if (status >= 200 && status <= 299) {
        return IMAGE_INGEST_S3_DONE;
    }

    if (status == 404 && !conditional_put) {
        return IMAGE_INGEST_S3_MISSING;
    }

    /*
     * AWS's 409 ConditionalRequestConflict (another conditional PUT of
     * the key under way) is a failure: that PUT may fail too
     */

    if (status == 412 && conditional_put) {
        return IMAGE_INGEST_S3_EXISTS;
    }

    if (status == 403) {
        return IMAGE_INGEST_S3_DENIED;
    }

    return IMAGE_INGEST_S3_FAILED;
}


/* segments of [A-Za-z0-9._-], none empty, "." or "..", the last may */

static int
image_ingest_s3_prefix_ok(const char *p, size_t len)
{
    size_t  i, seg;

    seg = 0;

    for (i = 0; i <= len; i++) {
        if (i == len || p[i] == '/') {
            if ((seg == 0 && i < len)
                || (seg == 1 && p[i - 1] == '.')
                || (seg == 2 && p[i - 1] == '.' && p[i - 2] == '.'))
            {
                return 0;
            }

            seg = 0;
            continue;
        }

        if (!((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= 'A' && p[i] <= 'Z')
              || (p[i] >= '0' && p[i] <= '9') || p[i] == '.' || p[i] == '_'
              || p[i] == '-'))
        {
            return 0;
        }

        seg++;
    }

    return 1;
}
