
/*
 * libFuzzer target for image_variant_params.c: preset arguments, query
 * parameters, the canonical string and signature, Accept negotiation and
 * the ETag, with the invariants the module relies on.
 *
 * Input: "path \n args \n accept", each part may be missing.  Every
 * "&"-separated piece of args is also tried as a preset argument.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Isrc/image/core \
 *       fuzz/fuzz_image_variant_params.c \
 *       src/image/core/image_variant_params.c -lcrypto
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image_variant_params.h"
#include "fuzz_common.h"


#define MAX_INPUT  16384

#define KEY        (const uint8_t *) "fuzz-key", 8


static void
check_params(const image_variant_params_t *p)
{
    if (p->width > IMAGE_VARIANT_MAX_SIDE
        || p->height > IMAGE_VARIANT_MAX_SIDE)
    {
        FUZZ_FAIL("side over the limit");
    }

    if (p->quality > 100) {
        FUZZ_FAIL("quality over 100");
    }

    if (p->dpr < 1 || p->dpr > IMAGE_VARIANT_MAX_DPR) {
        FUZZ_FAIL("dpr out of range");
    }

    if ((unsigned) p->fit > IMAGE_VARIANT_FIT_FILL
        || (unsigned) p->gravity > IMAGE_VARIANT_GRAVITY_ENTROPY
        || (unsigned) p->format > IMAGE_VARIANT_FORMAT_AVIF)
    {
        FUZZ_FAIL("enum out of range");
    }
}


static int
has_arg(const char *args, size_t len, const char *key)
{
    size_t       klen;
    const char  *p, *end, *amp, *eq;

    p = args;
    end = args + len;
    klen = strlen(key);

    while (p < end) {
        amp = memchr(p, '&', end - p);
        if (amp == NULL) {
            amp = end;
        }

        eq = memchr(p, '=', amp - p);

        if ((size_t) ((eq ? eq : amp) - p) == klen
            && memcmp(p, key, klen) == 0)
        {
            return 1;
        }

        p = (amp < end) ? amp + 1 : end;
    }

    return 0;
}


static int
contains_nocase(const char *s, size_t len, const char *lc)
{
    int     c;
    size_t  i, j, n;

    n = strlen(lc);

    for (i = 0; i + n <= len; i++) {
        for (j = 0; j < n; j++) {
            c = (unsigned char) s[i + j];

            if (c >= 'A' && c <= 'Z') {
                c |= 0x20;
            }

            if (c != lc[j]) {
                break;
            }
        }

        if (j == n) {
            return 1;
        }
    }

    return 0;
}


static void
check_etag(const char *validator, size_t len, const image_variant_params_t *p)
{
    size_t                  i;
    image_variant_params_t  copy;
    char                    a[IMAGE_VARIANT_ETAG_LEN];
    char                    b[IMAGE_VARIANT_ETAG_LEN];

    image_variant_etag(validator, len, p, IMAGE_VARIANT_ACCEPT_WEBP, a);

    if (a[0] != '"' || a[IMAGE_VARIANT_ETAG_LEN - 1] != '"') {
        FUZZ_FAIL("etag quotes");
    }

    for (i = 1; i < IMAGE_VARIANT_ETAG_LEN - 1; i++) {
        if (!((a[i] >= '0' && a[i] <= '9') || (a[i] >= 'a' && a[i] <= 'f'))) {
            FUZZ_FAIL("etag hex");
        }
    }

    /* the same fields in other padding: the same tag */
    memset(&copy, 0xa5, sizeof(copy));
    copy.width = p->width;
    copy.height = p->height;
    copy.fit = p->fit;
    copy.gravity = p->gravity;
    copy.format = p->format;
    copy.quality = p->quality;
    copy.dpr = p->dpr;
    memcpy(copy.background, p->background, 3);
    copy.fast_shrink = p->fast_shrink;

    image_variant_etag(validator, len, &copy, IMAGE_VARIANT_ACCEPT_WEBP, b);

    if (memcmp(a, b, IMAGE_VARIANT_ETAG_LEN) != 0) {
        FUZZ_FAIL("etag depends on padding");
    }

    image_variant_etag(validator, len, p, IMAGE_VARIANT_ACCEPT_AVIF, b);

    if ((memcmp(a, b, IMAGE_VARIANT_ETAG_LEN) == 0)
        != (p->format != IMAGE_VARIANT_FORMAT_AUTO))
    {
        FUZZ_FAIL("etag and the accept class");
    }
}


static void
check_signature(const char *path, size_t path_len, const char *args,
    size_t args_len)
{
    int          ok;
    size_t       n, m;
    char        *canonical, *signed_args;
    char         sig[IMAGE_VARIANT_SIG_LEN + 1];

    n = image_variant_canonical(path, path_len, args, args_len, NULL, 0);

    if (n == 0) {
        if (image_variant_signature_ok(KEY, path, path_len, args, args_len))
        {
            FUZZ_FAIL("verified without a canonical string");
        }

        return;
    }

    if (n > path_len + 1 + args_len) {
        FUZZ_FAIL("canonical string too long");
    }

    canonical = malloc(n + 1);

    if (image_variant_canonical(path, path_len, args, args_len, canonical,
                                n + 1)
        != n)
    {
        FUZZ_FAIL("canonical length differs");
    }

    if (canonical[n] != '\0'
        || (path_len > 0 && memcmp(canonical, path, path_len) != 0)
        || canonical[path_len] != '\n')
    {
        FUZZ_FAIL("canonical layout");
    }

    /* nobody forges HMAC-SHA256 by fuzzing: a raw input never verifies */
    if (image_variant_signature_ok(KEY, path, path_len, args, args_len)) {
        FUZZ_FAIL("an unsigned input verified");
    }

    image_variant_sign(KEY, canonical, n, sig);

    if (strlen(sig) != IMAGE_VARIANT_SIG_LEN) {
        FUZZ_FAIL("signature length");
    }

    free(canonical);

    if (has_arg(args, args_len, "s")) {
        return;
    }

    /* signed, it verifies, wherever s goes; not under another key */

    signed_args = malloc(args_len + IMAGE_VARIANT_SIG_LEN + 4);

    memcpy(signed_args, args, args_len);
    m = args_len;
    memcpy(signed_args + m, "&s=", 3);
    m += 3;
    memcpy(signed_args + m, sig, IMAGE_VARIANT_SIG_LEN);
    m += IMAGE_VARIANT_SIG_LEN;

    ok = image_variant_signature_ok(KEY, path, path_len, signed_args, m);

    if (n < 8192 && !ok) {
        FUZZ_FAIL("a signed input did not verify");
    }

    if (image_variant_signature_ok((const uint8_t *) "fuzz-kez", 8, path,
                                   path_len, signed_args, m))
    {
        FUZZ_FAIL("verified under another key");
    }

    signed_args[m - 5] ^= 1;

    if (image_variant_signature_ok(KEY, path, path_len, signed_args, m)) {
        FUZZ_FAIL("a changed signature verified");
    }

    free(signed_args);
}


int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    int                     rc, found;
    size_t                  path_len, args_len, accept_len, i, start;
    const char             *in, *path, *args, *accept, *nl;
    image_variant_params_t  p, preset, before;
    image_variant_accept_e  accepted;
    char                    err[64];

    if (size > MAX_INPUT) {
        return 0;
    }

    in = (const char *) data;

    path = in;
    nl = memchr(in, '\n', size);
    path_len = nl ? (size_t) (nl - in) : size;

    args = nl ? nl + 1 : in + size;
    nl = memchr(args, '\n', size - (args - in));
    args_len = nl ? (size_t) (nl - args) : size - (args - in);

    accept = nl ? nl + 1 : args + args_len;
    accept_len = size - (accept - in);

    /* preset arguments: each piece of args, and the whole input */

    image_variant_params_init(&preset);

    for (start = 0, i = 0; i <= args_len; i++) {
        if (i < args_len && args[i] != '&') {
            continue;
        }

        before = preset;
        rc = image_variant_preset_arg(&preset, args + start, i - start, err,
                                      sizeof(err));

        if (rc == IMAGE_VARIANT_OK) {
            check_params(&preset);

        } else if (rc == IMAGE_VARIANT_EINVAL) {
            fuzz_check_err(err, sizeof(err));

            if (memcmp(&before, &preset, sizeof(preset)) != 0) {
                FUZZ_FAIL("a failed preset argument changed the params");
            }

        } else {
            FUZZ_FAIL("preset return code");
        }

        start = i + 1;
    }

    image_variant_params_init(&p);

    if (image_variant_preset_arg(&p, in, size, err, sizeof(err))
        == IMAGE_VARIANT_OK)
    {
        check_params(&p);

    } else {
        fuzz_check_err(err, sizeof(err));
    }

    /* the query over the preset */

    p = preset;
    found = -1;

    rc = image_variant_params_query(&p, args, args_len, &found, err,
                                    sizeof(err));

    if (found != 0 && found != 1) {
        FUZZ_FAIL("found");
    }

    if (rc == IMAGE_VARIANT_OK) {
        check_params(&p);

        if (!found && memcmp(&p, &preset, sizeof(p)) != 0) {
            FUZZ_FAIL("params changed without parameters");
        }

        if (image_variant_canonical(path, path_len, args, args_len, NULL, 0)
            == 0
            && memchr(path, '\n', path_len) == NULL)
        {
            FUZZ_FAIL("parsed but no canonical string");
        }

    } else if (rc == IMAGE_VARIANT_EINVAL) {
        fuzz_check_err(err, sizeof(err));

        if (memcmp(&p, &preset, sizeof(p)) != 0) {
            FUZZ_FAIL("a failed query changed the params");
        }

        if (!found) {
            FUZZ_FAIL("failed without parameters");
        }

    } else {
        FUZZ_FAIL("query return code");
    }

    check_signature(path, path_len, args, args_len);

    /* negotiation */

    accepted = image_variant_negotiate(accept, accept_len);

    switch (accepted) {

    case IMAGE_VARIANT_ACCEPT_AVIF:
        if (!contains_nocase(accept, accept_len, "image/avif")) {
            FUZZ_FAIL("avif without image/avif");
        }

        break;

    case IMAGE_VARIANT_ACCEPT_WEBP:
        if (!contains_nocase(accept, accept_len, "image/webp")) {
            FUZZ_FAIL("webp without image/webp");
        }

        break;

    case IMAGE_VARIANT_ACCEPT_LEGACY:
        break;

    default:
        FUZZ_FAIL("accept class out of range");
    }

    check_etag(accept, accept_len, &p);

    return 0;
}
