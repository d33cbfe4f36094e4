
/*
 * Unit tests for image_variant_params.c: preset arguments, query
 * parameters, the canonical string and its HMAC, Accept negotiation and
 * the variant's ETag.
 *
 * The known answers were computed once with Python's hmac, hashlib and
 * struct modules, and with scripts/sign-variant-url, then pasted here.
 */


#include <stdlib.h>

#include "unit.h"
#include "image_variant_params.h"


#define S(s)       s, sizeof(s) - 1
#define KEY        (const uint8_t *) "test-key", 8
#define NONE       0xffffffffu     /* this field is not checked */


typedef struct {
    const char  *arg;
    unsigned     width;
    unsigned     height;
    unsigned     fit;
    unsigned     gravity;
    unsigned     format;
    unsigned     quality;
    unsigned     dpr;
    unsigned     found;
} params_case_t;


typedef struct {
    const char  *arg;
    const char  *message;       /* a substring of the error */
} bad_case_t;


static int
verify(const char *path, const char *args)
{
    return image_variant_signature_ok(KEY, path, strlen(path), args,
                                      strlen(args));
}


/* args + "&s=" + the signature of path and args under "test-key" */

static const char *
sign_args(const char *path, const char *args)
{
    size_t       n;
    char         canonical[1024];
    char         sig[IMAGE_VARIANT_SIG_LEN + 1];

    static char  out[1024];

    n = image_variant_canonical(path, strlen(path), args, strlen(args),
                                canonical, sizeof(canonical));
    if (n == 0) {
        fprintf(stderr, "no canonical string for \"%s\"\n", args);
        abort();
    }

    image_variant_sign(KEY, canonical, n, sig);

    snprintf(out, sizeof(out), "%s%ss=%s", args, args[0] ? "&" : "", sig);

    return out;
}


static void
check_params(const char *what, const image_variant_params_t *p,
    const params_case_t *c)
{
    unsigned  got[7], want[7], i;

    static const char  *names[] = {
        "width", "height", "fit", "gravity", "format", "quality", "dpr"
    };

    got[0] = p->width;
    got[1] = p->height;
    got[2] = p->fit;
    got[3] = p->gravity;
    got[4] = p->format;
    got[5] = p->quality;
    got[6] = p->dpr;

    want[0] = c->width;
    want[1] = c->height;
    want[2] = c->fit;
    want[3] = c->gravity;
    want[4] = c->format;
    want[5] = c->quality;
    want[6] = c->dpr;

    for (i = 0; i < 7; i++) {
        if (want[i] != NONE && got[i] != want[i]) {
            UNIT_FAIL_(__FILE__, __LINE__, "%s \"%s\": %s %u, expected %u",
                       what, c->arg, names[i], got[i], want[i]);
        }
    }
}


UNIT_TEST(test_init)
{
    image_variant_params_t  p;

    memset(&p, 0x5a, sizeof(p));
    image_variant_params_init(&p);

    CHECK_INT(p.width, 0);
    CHECK_INT(p.height, 0);
    CHECK_INT(p.fit, IMAGE_VARIANT_FIT_COVER);
    CHECK_INT(p.gravity, IMAGE_VARIANT_GRAVITY_CENTRE);
    CHECK_INT(p.format, IMAGE_VARIANT_FORMAT_AUTO);
    CHECK_INT(p.quality, 0);
    CHECK_INT(p.dpr, 1);
    CHECK_MEM(p.background, "\xff\xff\xff", 3);
}


/* --- image_variant_preset_arg -------------------------------------------- */


#define D  NONE

static const params_case_t  preset_good[] = {
    { "width=256", 256, 0, D, D, D, D, 1, 0 },
    { "height=256", 0, 256, D, D, D, D, 1, 0 },
    { "width=1", 1, D, D, D, D, D, D, 0 },
    { "width=8192", 8192, D, D, D, D, D, D, 0 },
    { "height=0008192", D, 8192, D, D, D, D, D, 0 },
    { "fit=cover", D, D, IMAGE_VARIANT_FIT_COVER, D, D, D, D, 0 },
    { "fit=contain", D, D, IMAGE_VARIANT_FIT_CONTAIN, D, D, D, D, 0 },
    { "fit=inside", D, D, IMAGE_VARIANT_FIT_INSIDE, D, D, D, D, 0 },
    { "fit=fill", D, D, IMAGE_VARIANT_FIT_FILL, D, D, D, D, 0 },
    { "gravity=centre", D, D, D, IMAGE_VARIANT_GRAVITY_CENTRE, D, D, D, 0 },
    { "gravity=center", D, D, D, IMAGE_VARIANT_GRAVITY_CENTRE, D, D, D, 0 },
    { "gravity=attention", D, D, D, IMAGE_VARIANT_GRAVITY_ATTENTION, D, D,
      D, 0 },
    { "gravity=entropy", D, D, D, IMAGE_VARIANT_GRAVITY_ENTROPY, D, D, D,
      0 },
    { "gravity=face", D, D, D, IMAGE_VARIANT_GRAVITY_FACE, D, D, D, 0 },
    { "format=jpeg", D, D, D, D, IMAGE_VARIANT_FORMAT_JPEG, D, D, 0 },
    { "format=jpg", D, D, D, D, IMAGE_VARIANT_FORMAT_JPEG, D, D, 0 },
    { "format=png", D, D, D, D, IMAGE_VARIANT_FORMAT_PNG, D, D, 0 },
    { "format=webp", D, D, D, D, IMAGE_VARIANT_FORMAT_WEBP, D, D, 0 },
    { "format=avif", D, D, D, D, IMAGE_VARIANT_FORMAT_AVIF, D, D, 0 },
    { "format=auto", D, D, D, D, IMAGE_VARIANT_FORMAT_AUTO, D, D, 0 },
    { "quality=1", D, D, D, D, D, 1, D, 0 },
    { "quality=100", D, D, D, D, D, 100, D, 0 },
    { "background=#ffffff", D, D, D, D, D, D, D, 0 },
};


static const bad_case_t  preset_bad[] = {
    { "width=0", "invalid width \"0\", expected 1..8192" },
    { "width=8193", "invalid width \"8193\"" },
    { "width=99999999999999999999999", "invalid width" },
    { "width=", "invalid width \"\"" },
    { "width=-1", "invalid width" },
    { "width=+1", "invalid width" },
    { "width=1.5", "invalid width" },
    { "width= 256", "invalid width" },
    { "width=256 ", "invalid width" },
    { "width=0x100", "invalid width" },
    { "height=0", "invalid height" },
    { "quality=0", "invalid quality \"0\", expected 1..100" },
    { "quality=101", "invalid quality" },
    { "fit=crop", "invalid fit \"crop\"" },
    { "fit=Cover", "invalid fit" },
    { "fit=", "invalid fit" },
    { "gravity=north", "invalid gravity \"north\"" },
    { "format=gif", "invalid format \"gif\"" },
    { "format=JPEG", "invalid format" },
    { "background=#fff", "invalid background \"#fff\"" },
    { "background=#gggggg", "invalid background" },
    { "background=##ffffff", "invalid background" },
    { "background=#ffffff0", "invalid background" },
    { "background=white", "invalid background" },
    { "background=x000000", "invalid background" },
    { "size=256", "unknown parameter \"size\"" },
    { "Width=256", "unknown parameter \"Width\"" },
    { "dpr=2", "unknown parameter \"dpr\"" },
    { "q=80", "unknown parameter \"q\"" },
    { "=256", "unknown parameter \"\"" },
    { "width", "\"width\" is not key=value" },
    { "", "\"\" is not key=value" },
};


UNIT_TEST(test_preset_good)
{
    size_t                  i;
    char                    err[128];
    image_variant_params_t  p;

    for (i = 0; i < sizeof(preset_good) / sizeof(preset_good[0]); i++) {
        image_variant_params_init(&p);

        if (image_variant_preset_arg(&p, preset_good[i].arg,
                                     strlen(preset_good[i].arg), err,
                                     sizeof(err))
            != IMAGE_VARIANT_OK)
        {
            UNIT_FAIL_(__FILE__, __LINE__, "\"%s\" rejected: %s",
                       preset_good[i].arg, err);
            continue;
        }

        check_params("preset", &p, &preset_good[i]);
    }
}


UNIT_TEST(test_preset_background)
{
    image_variant_params_t  p;

    image_variant_params_init(&p);

    CHECK_INT(image_variant_preset_arg(&p, S("background=#ff8000"), NULL, 0),
              IMAGE_VARIANT_OK);
    CHECK_MEM(p.background, "\xff\x80\x00", 3);

    CHECK_INT(image_variant_preset_arg(&p, S("background=0aFf1B"), NULL, 0),
              IMAGE_VARIANT_OK);
    CHECK_MEM(p.background, "\x0a\xff\x1b", 3);

    CHECK_INT(image_variant_preset_arg(&p, S("background=#000000"), NULL, 0),
              IMAGE_VARIANT_OK);
    CHECK_MEM(p.background, "\x00\x00\x00", 3);
}


UNIT_TEST(test_preset_bad)
{
    size_t                  i;
    char                    err[128];
    image_variant_params_t  p, before;

    for (i = 0; i < sizeof(preset_bad) / sizeof(preset_bad[0]); i++) {
        image_variant_params_init(&p);
        before = p;
        err[0] = 'x';
        err[1] = '\0';

        if (image_variant_preset_arg(&p, preset_bad[i].arg,
                                     strlen(preset_bad[i].arg), err,
                                     sizeof(err))
            != IMAGE_VARIANT_EINVAL)
        {
            UNIT_FAIL_(__FILE__, __LINE__, "\"%s\" accepted",
                       preset_bad[i].arg);
            continue;
        }

        if (strstr(err, preset_bad[i].message) == NULL) {
            UNIT_FAIL_(__FILE__, __LINE__, "\"%s\": message \"%s\", "
                       "expected \"%s\"", preset_bad[i].arg, err,
                       preset_bad[i].message);
        }

        if (memcmp(&p, &before, sizeof(p)) != 0) {
            UNIT_FAIL_(__FILE__, __LINE__, "\"%s\" changed the params",
                       preset_bad[i].arg);
        }
    }
}


/* the directive's arguments one by one; the length is what counts */

UNIT_TEST(test_preset_directive)
{
    size_t                  i;
    image_variant_params_t  p;

    static const char  *args[] = {
        "width=256", "height=256", "fit=cover", "format=auto"
    };

    image_variant_params_init(&p);

    for (i = 0; i < 4; i++) {
        CHECK_INT(image_variant_preset_arg(&p, args[i], strlen(args[i]),
                                           NULL, 0),
                  IMAGE_VARIANT_OK);
    }

    CHECK_INT(p.width, 256);
    CHECK_INT(p.height, 256);
    CHECK_INT(p.fit, IMAGE_VARIANT_FIT_COVER);
    CHECK_INT(p.format, IMAGE_VARIANT_FORMAT_AUTO);

    /* not NUL-terminated: only len bytes are read */
    CHECK_INT(image_variant_preset_arg(&p, "width=1289999", 9, NULL, 0),
              IMAGE_VARIANT_OK);
    CHECK_INT(p.width, 128);

    /* a later argument wins */
    CHECK_INT(image_variant_preset_arg(&p, S("width=64"), NULL, 0),
              IMAGE_VARIANT_OK);
    CHECK_INT(p.width, 64);
}


UNIT_TEST(test_preset_messages)
{
    char                    err[128], small[8];
    image_variant_params_t  p;

    image_variant_params_init(&p);

    /* untrusted bytes are cut and made printable */
    CHECK_INT(image_variant_preset_arg(&p, S("fit=\x1b[31m\"\n"), err,
                                       sizeof(err)),
              IMAGE_VARIANT_EINVAL);
    CHECK(strstr(err, "\"?[31m??\"") != NULL);

    CHECK_INT(image_variant_preset_arg(&p,
                  S("format=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
                  err, sizeof(err)),
              IMAGE_VARIANT_EINVAL);
    CHECK(strstr(err, "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...\"") != NULL);

    /* a short buffer is still terminated */
    memset(small, 'x', sizeof(small));
    CHECK_INT(image_variant_preset_arg(&p, S("colour=red"), small,
                                       sizeof(small)),
              IMAGE_VARIANT_EINVAL);
    CHECK_INT(strlen(small), sizeof(small) - 1);
}


/* --- image_variant_params_query ------------------------------------------ */


static const params_case_t  query_good[] = {
    { "", 0, 0, 0, 0, 0, 0, 1, 0 },
    { "utm_source=x&x&=y&&", 0, 0, 0, 0, 0, 0, 1, 0 },
    { "s=abc", 0, 0, 0, 0, 0, 0, 1, 0 },
    { "W=5&%77=5&width=5&ww=5&w%3D5", 0, 0, 0, 0, 0, 0, 1, 0 },
    { "w=300", 300, 0, D, D, D, D, 1, 1 },
    { "h=200", 0, 200, D, D, D, D, 1, 1 },
    { "w=300&h=200&fit=contain&gravity=attention&format=webp&q=80&dpr=2",
      600, 400, IMAGE_VARIANT_FIT_CONTAIN, IMAGE_VARIANT_GRAVITY_ATTENTION,
      IMAGE_VARIANT_FORMAT_WEBP, 80, 2, 1 },
    { "w=256&h=256&gravity=face", 256, 256, D,
      IMAGE_VARIANT_GRAVITY_FACE, D, D, D, 1 },
    { "dpr=3&h=100&w=50", 150, 300, D, D, D, D, 3, 1 },
    { "dpr=1&w=8192", 8192, 0, D, D, D, D, 1, 1 },
    { "w=4096&h=2048&dpr=2", 8192, 4096, D, D, D, D, 2, 1 },
    { "w=2048&dpr=4", 8192, 0, D, D, D, D, 4, 1 },
    { "w=0300", 300, D, D, D, D, D, D, 1 },
    { "w=%33%30%30", 300, D, D, D, D, D, D, 1 },
    { "fit=%63over&gravity=%65ntropy", D, D, IMAGE_VARIANT_FIT_COVER,
      IMAGE_VARIANT_GRAVITY_ENTROPY, D, D, D, 1 },
    { "fit=inside", D, D, IMAGE_VARIANT_FIT_INSIDE, D, D, D, D, 1 },
    { "fit=fill", D, D, IMAGE_VARIANT_FIT_FILL, D, D, D, D, 1 },
    { "gravity=center", D, D, D, IMAGE_VARIANT_GRAVITY_CENTRE, D, D, D, 1 },
    { "format=jpg", D, D, D, D, IMAGE_VARIANT_FORMAT_JPEG, D, D, 1 },
    { "format=png", D, D, D, D, IMAGE_VARIANT_FORMAT_PNG, D, D, 1 },
    { "format=avif", D, D, D, D, IMAGE_VARIANT_FORMAT_AVIF, D, D, 1 },
    { "format=auto", D, D, D, D, IMAGE_VARIANT_FORMAT_AUTO, D, D, 1 },
    { "q=1", D, D, D, D, D, 1, D, 1 },
    { "q=100", D, D, D, D, D, 100, D, 1 },
    { "&&w=1&&h=2&", 1, 2, D, D, D, D, D, 1 },
    { "a=1&w=7&b=2&s=zzz&c", 7, D, D, D, D, D, D, 1 },
};


static const bad_case_t  query_bad[] = {
    { "w=0", "invalid w \"0\", expected 1..8192" },
    { "w=8193", "invalid w \"8193\"" },
    { "h=8193", "invalid h" },
    { "w=99999999999999999999", "invalid w" },
    { "w=-1", "invalid w" },
    { "w=+1", "invalid w" },
    { "w=%2B1", "invalid w \"+1\"" },
    { "w=1.5", "invalid w" },
    { "w=1%20", "invalid w" },
    { "w=1+", "invalid w" },
    { "w=", "parameter \"w\" has no value" },
    { "w", "parameter \"w\" has no value" },
    { "w=%", "bad escape" },
    { "w=%3", "bad escape" },
    { "w=%zz", "bad escape" },
    { "w=%%33", "bad escape" },
    { "w=000000000000000000000000000000001", "too long" },
    { "w=1&w=2", "repeated parameter \"w\"" },
    { "w=1&w=1", "repeated parameter \"w\"" },
    { "h=1&w=2&h=1", "repeated parameter \"h\"" },
    { "dpr=2&dpr", "repeated parameter \"dpr\"" },
    { "fit=crop", "invalid fit \"crop\"" },
    { "fit=Cover", "invalid fit" },
    { "fit=cover%00", "invalid fit \"cover?\"" },
    { "gravity=north", "invalid gravity" },
    { "format=gif", "invalid format" },
    { "q=0", "invalid q \"0\", expected 1..100" },
    { "q=101", "invalid q" },
    { "dpr=0", "invalid dpr \"0\", expected 1..4" },
    { "dpr=5", "invalid dpr" },
    { "dpr=1.5", "invalid dpr" },
    { "dpr=2&w=4097", "dpr 2 makes the image larger than 8192" },
    { "h=2049&dpr=4", "dpr 4 makes" },
    { "w=300&fit=cover&q=abc", "invalid q \"abc\"" },
};


UNIT_TEST(test_query_good)
{
    int                     found;
    size_t                  i;
    char                    err[128];
    image_variant_params_t  p;

    for (i = 0; i < sizeof(query_good) / sizeof(query_good[0]); i++) {
        image_variant_params_init(&p);
        found = -1;

        if (image_variant_params_query(&p, query_good[i].arg,
                                       strlen(query_good[i].arg), &found,
                                       err, sizeof(err))
            != IMAGE_VARIANT_OK)
        {
            UNIT_FAIL_(__FILE__, __LINE__, "\"%s\" rejected: %s",
                       query_good[i].arg, err);
            continue;
        }

        if ((unsigned) found != query_good[i].found) {
            UNIT_FAIL_(__FILE__, __LINE__, "\"%s\": found %d",
                       query_good[i].arg, found);
        }

        check_params("query", &p, &query_good[i]);
    }
}


UNIT_TEST(test_query_bad)
{
    int                     found;
    size_t                  i;
    char                    err[128];
    image_variant_params_t  p, before;

    for (i = 0; i < sizeof(query_bad) / sizeof(query_bad[0]); i++) {
        image_variant_params_init(&p);
        p.width = 100;
        before = p;
        found = -1;

        if (image_variant_params_query(&p, query_bad[i].arg,
                                       strlen(query_bad[i].arg), &found,
                                       err, sizeof(err))
            != IMAGE_VARIANT_EINVAL)
        {
            UNIT_FAIL_(__FILE__, __LINE__, "\"%s\" accepted",
                       query_bad[i].arg);
            continue;
        }

        if (strstr(err, query_bad[i].message) == NULL) {
            UNIT_FAIL_(__FILE__, __LINE__, "\"%s\": message \"%s\", "
                       "expected \"%s\"", query_bad[i].arg, err,
                       query_bad[i].message);
        }

        if (found != 1) {
            UNIT_FAIL_(__FILE__, __LINE__, "\"%s\": found %d",
                       query_bad[i].arg, found);
        }

        if (memcmp(&p, &before, sizeof(p)) != 0) {
            UNIT_FAIL_(__FILE__, __LINE__, "\"%s\" changed the params",
                       query_bad[i].arg);
        }
    }
}


/* the query refines a preset; dpr scales the preset's sizes too */

UNIT_TEST(test_query_over_preset)
{
    int                     found;
    image_variant_params_t  p, preset;

    image_variant_params_init(&preset);
    CHECK_INT(image_variant_preset_arg(&preset, S("width=256"), NULL, 0),
              IMAGE_VARIANT_OK);
    CHECK_INT(image_variant_preset_arg(&preset, S("format=webp"), NULL, 0),
              IMAGE_VARIANT_OK);
    CHECK_INT(image_variant_preset_arg(&preset, S("background=#000000"),
                                       NULL, 0),
              IMAGE_VARIANT_OK);

    p = preset;
    CHECK_INT(image_variant_params_query(&p, S("dpr=2"), &found, NULL, 0),
              IMAGE_VARIANT_OK);
    CHECK_INT(found, 1);
    CHECK_INT(p.width, 512);
    CHECK_INT(p.height, 0);
    CHECK_INT(p.dpr, 2);
    CHECK_INT(p.format, IMAGE_VARIANT_FORMAT_WEBP);
    CHECK_MEM(p.background, "\0\0\0", 3);

    p = preset;
    CHECK_INT(image_variant_params_query(&p, S("h=100&q=70"), &found, NULL,
                                         0),
              IMAGE_VARIANT_OK);
    CHECK_INT(p.width, 256);
    CHECK_INT(p.height, 100);
    CHECK_INT(p.quality, 70);
    CHECK_INT(p.dpr, 1);

    p = preset;
    p.width = 5000;
    CHECK_INT(image_variant_params_query(&p, S("dpr=2"), &found, NULL, 0),
              IMAGE_VARIANT_EINVAL);
    CHECK_INT(p.width, 5000);

    /* no parameters: nothing changes, found may be NULL */
    p = preset;
    CHECK_INT(image_variant_params_query(&p, S("page=2"), NULL, NULL, 0),
              IMAGE_VARIANT_OK);
    CHECK(memcmp(&p, &preset, sizeof(p)) == 0);
    CHECK_INT(image_variant_params_query(&p, NULL, 0, &found, NULL, 0),
              IMAGE_VARIANT_OK);
    CHECK_INT(found, 0);
}


/* only len bytes of the query are read */

UNIT_TEST(test_query_length)
{
    image_variant_params_t  p;

    image_variant_params_init(&p);

    CHECK_INT(image_variant_params_query(&p, "w=12&w=5", 4, NULL, NULL, 0),
              IMAGE_VARIANT_OK);
    CHECK_INT(p.width, 12);

    CHECK_INT(image_variant_params_query(&p, "w=1", 2, NULL, NULL, 0),
              IMAGE_VARIANT_EINVAL);

    /* an escape cut by the length */
    CHECK_INT(image_variant_params_query(&p, "w=%33", 4, NULL, NULL, 0),
              IMAGE_VARIANT_EINVAL);
    CHECK_INT(image_variant_params_query(&p, "w=%33", 3, NULL, NULL, 0),
              IMAGE_VARIANT_EINVAL);
    CHECK_INT(p.width, 12);
}


/* --- the canonical string ------------------------------------------------ */


typedef struct {
    const char  *path;
    const char  *args;
    const char  *canonical;     /* NULL: refused */
} canonical_case_t;


static const canonical_case_t  canonical_cases[] = {
    { "/originals/a.jpg", "", "/originals/a.jpg\n" },
    { "/originals/a.jpg", "w=300&h=200&fit=cover",
      "/originals/a.jpg\nw=300&h=200&fit=cover" },
    { "/originals/a.jpg", "fit=cover&h=200&w=300",
      "/originals/a.jpg\nw=300&h=200&fit=cover" },
    { "/a", "dpr=2&q=80&format=webp&gravity=entropy&fit=fill&h=1&w=2",
      "/a\nw=2&h=1&fit=fill&gravity=entropy&format=webp&q=80&dpr=2" },
    { "/a", "utm=1&w=3&s=sig&x&W=4", "/a\nw=3" },
    { "/a", "w=%33&fit=%63over", "/a\nw=%33&fit=%63over" },
    { "/a%20b", "w=", "/a%20b\nw=" },
    { "", "q=1", "\nq=1" },
    { "/a", "w=1&w=1", NULL },
    { "/a", "w", NULL },
    { "/a\nw=1", "", NULL },
};


UNIT_TEST(test_canonical)
{
    size_t                   i, n, want;
    char                     out[256];
    const canonical_case_t  *c;

    for (i = 0; i < sizeof(canonical_cases) / sizeof(canonical_cases[0]);
         i++)
    {
        c = &canonical_cases[i];

        n = image_variant_canonical(c->path, strlen(c->path), c->args,
                                    strlen(c->args), out, sizeof(out));

        if (c->canonical == NULL) {
            if (n != 0) {
                UNIT_FAIL_(__FILE__, __LINE__, "\"%s\": not refused",
                           c->args);
            }

            continue;
        }

        want = strlen(c->canonical);

        if (n != want || strcmp(out, c->canonical) != 0) {
            UNIT_FAIL_(__FILE__, __LINE__, "\"%s\": \"%s\" (%zu)",
                       c->args, n ? out : "", n);
            continue;
        }

        /* out NULL gives the length */
        CHECK_INT(image_variant_canonical(c->path, strlen(c->path), c->args,
                                          strlen(c->args), NULL, 0),
                  want);

        /* the string and its NUL have to fit */
        CHECK_INT(image_variant_canonical(c->path, strlen(c->path), c->args,
                                          strlen(c->args), out, want),
                  0);
        CHECK_INT(image_variant_canonical(c->path, strlen(c->path), c->args,
                                          strlen(c->args), out, want + 1),
                  want);
    }
}


/* --- the signature -------------------------------------------------------- */


UNIT_TEST(test_sign_known_answers)
{
    char  sig[IMAGE_VARIANT_SIG_LEN + 1];

    /* RFC 4231, test case 2: 5bdcc146...64ec3843 */
    image_variant_sign((const uint8_t *) "Jefe", 4,
                       S("what do ya want for nothing?"), sig);
    CHECK_STR(sig, "W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM");

    /*
     * python3 -c 'import hmac,hashlib,base64; print(base64.
     *   urlsafe_b64encode(hmac.new(b"test-key", b"/originals/a.jpg\n"
     *   b"w=300&h=200&fit=cover&dpr=2", hashlib.sha256).digest())
     *   .rstrip(b"=").decode())'
     */
    image_variant_sign(KEY, S("/originals/a.jpg\nw=300&h=200&fit=cover&dpr=2"),
                       sig);
    CHECK_STR(sig, "4QBT_aq29vnbWz1Kx_QTnPlf8g-q-B2kJorv3c0vwAw");

    image_variant_sign(KEY, S("/originals/a.jpg\n"), sig);
    CHECK_STR(sig, "QvCVqIYm-iwDFb52BZ2RqwYvZoaqEgWWLdvR-yLIabI");

    image_variant_sign((const uint8_t *) "", 0, S("/x\nw=1"), sig);
    CHECK_STR(sig, "knIFzrOg-TemQ91HPRhf602uxhnjRhNTPxf0jcruRD0");

    CHECK_INT(strlen(sig), IMAGE_VARIANT_SIG_LEN);
}


UNIT_TEST(test_signature_valid)
{
    CHECK(verify("/originals/a.jpg",
                 "w=300&h=200&fit=cover&dpr=2"
                 "&s=4QBT_aq29vnbWz1Kx_QTnPlf8g-q-B2kJorv3c0vwAw"));

    /* s anywhere, other arguments anywhere and unsigned */
    CHECK(verify("/originals/a.jpg",
                 "s=4QBT_aq29vnbWz1Kx_QTnPlf8g-q-B2kJorv3c0vwAw"
                 "&w=300&utm_source=x&h=200&fit=cover&dpr=2&v=3"));

    /* reordered: the canonical order is fixed */
    CHECK(verify("/originals/a.jpg",
                 "dpr=2&fit=cover&h=200&w=300"
                 "&s=4QBT_aq29vnbWz1Kx_QTnPlf8g-q-B2kJorv3c0vwAw"));

    CHECK(verify("/originals/a.jpg",
                 "s=QvCVqIYm-iwDFb52BZ2RqwYvZoaqEgWWLdvR-yLIabI"));

    CHECK(verify("/p", sign_args("/p", "w=%33%30%30&fit=%63over")));
    CHECK(verify("/p", sign_args("/p", "format=auto&q=75&gravity=entropy")));
}


UNIT_TEST(test_signature_tampered)
{
    size_t       i, off;
    const char  *a;
    char         buf[256];

    a = "w=300&h=200&fit=cover&dpr=2"
        "&s=4QBT_aq29vnbWz1Kx_QTnPlf8g-q-B2kJorv3c0vwAw";

    CHECK(verify("/originals/a.jpg", a));

    /* a value */
    CHECK(!verify("/originals/a.jpg",
                  "w=301&h=200&fit=cover&dpr=2"
                  "&s=4QBT_aq29vnbWz1Kx_QTnPlf8g-q-B2kJorv3c0vwAw"));
    CHECK(!verify("/originals/a.jpg",
                  "w=300&h=200&fit=cover&dpr=3"
                  "&s=4QBT_aq29vnbWz1Kx_QTnPlf8g-q-B2kJorv3c0vwAw"));

    /* the same value, encoded differently: signed as sent */
    CHECK(!verify("/originals/a.jpg",
                  "w=%33%30%30&h=200&fit=cover&dpr=2"
                  "&s=4QBT_aq29vnbWz1Kx_QTnPlf8g-q-B2kJorv3c0vwAw"));

    /* a parameter added or dropped */
    CHECK(!verify("/originals/a.jpg",
                  "w=300&h=200&fit=cover&dpr=2&q=100"
                  "&s=4QBT_aq29vnbWz1Kx_QTnPlf8g-q-B2kJorv3c0vwAw"));
    CHECK(!verify("/originals/a.jpg",
                  "w=300&h=200&fit=cover"
                  "&s=4QBT_aq29vnbWz1Kx_QTnPlf8g-q-B2kJorv3c0vwAw"));

    /* a repeated parameter, even with the same value */
    CHECK(!verify("/originals/a.jpg",
                  "w=300&h=200&fit=cover&dpr=2&w=300"
                  "&s=4QBT_aq29vnbWz1Kx_QTnPlf8g-q-B2kJorv3c0vwAw"));

    /* the path */
    CHECK(!verify("/originals/b.jpg", a));
    CHECK(!verify("/originals/a.jpg/", a));
    CHECK(!verify("/originals//a.jpg", a));
    CHECK(!verify("/Originals/a.jpg", a));
    CHECK(!verify("", a));

    /* the signature itself, every position */
    strcpy(buf, a);
    off = strlen(buf) - IMAGE_VARIANT_SIG_LEN;

    for (i = off; buf[i] != '\0'; i++) {
        buf[i] = (buf[i] == 'A') ? 'B' : 'A';
        CHECK(!verify("/originals/a.jpg", buf));
        strcpy(buf, a);
    }
}


UNIT_TEST(test_signature_missing)
{
    CHECK(!verify("/originals/a.jpg", "w=300&h=200&fit=cover&dpr=2"));
    CHECK(!verify("/originals/a.jpg", "w=300&h=200&fit=cover&dpr=2&s="));
    CHECK(!verify("/originals/a.jpg", "w=300&h=200&fit=cover&dpr=2&s"));
    CHECK(!verify("/originals/a.jpg", ""));
    CHECK(!image_variant_signature_ok(KEY, S("/a"), NULL, 0));

    /* "S" or "sig" is not "s" */
    CHECK(!verify("/originals/a.jpg",
                  "w=300&h=200&fit=cover&dpr=2"
                  "&S=4QBT_aq29vnbWz1Kx_QTnPlf8g-q-B2kJorv3c0vwAw"));
    CHECK(!verify("/originals/a.jpg",
                  "w=300&h=200&fit=cover&dpr=2"
                  "&sig=4QBT_aq29vnbWz1Kx_QTnPlf8g-q-B2kJorv3c0vwAw"));
}


UNIT_TEST(test_signature_wrong_key)
{
    static const char  a[] = "w=300&h=200&fit=cover&dpr=2"
                             "&s=4QBT_aq29vnbWz1Kx_QTnPlf8g-q-B2kJorv3c0vwAw";

    CHECK(image_variant_signature_ok(KEY, S("/originals/a.jpg"), S(a)));
    CHECK(!image_variant_signature_ok((const uint8_t *) "test-kez", 8,
                                      S("/originals/a.jpg"), S(a)));
    CHECK(!image_variant_signature_ok((const uint8_t *) "test-key2", 9,
                                      S("/originals/a.jpg"), S(a)));
    CHECK(!image_variant_signature_ok((const uint8_t *) "test-ke", 7,
                                      S("/originals/a.jpg"), S(a)));

    /* an empty key never verifies, even a signature made with it */
    CHECK(!image_variant_signature_ok((const uint8_t *) "", 0, S("/x"),
              S("w=1&s=knIFzrOg-TemQ91HPRhf602uxhnjRhNTPxf0jcruRD0")));
    CHECK(!image_variant_signature_ok(NULL, 0, S("/x"),
              S("w=1&s=knIFzrOg-TemQ91HPRhf602uxhnjRhNTPxf0jcruRD0")));
}


UNIT_TEST(test_signature_encoding)
{
    size_t  i;
    char    buf[256];

    static const char  *bad[] = {
        /* padding */
        "s=QvCVqIYm-iwDFb52BZ2RqwYvZoaqEgWWLdvR-yLIabI=",
        "s=QvCVqIYm-iwDFb52BZ2RqwYvZoaqEgWWLdvR-yLIab=",
        /* standard base64 instead of base64url */
        "s=QvCVqIYm+iwDFb52BZ2RqwYvZoaqEgWWLdvR+yLIabI",
        "s=QvCVqIYm/iwDFb52BZ2RqwYvZoaqEgWWLdvR/yLIabI",
        /* percent-encoded characters are not decoded */
        "s=QvCVqIYm%2DiwDFb52BZ2RqwYvZoaqEgWWLdvR-yLIabI",
        /* length */
        "s=QvCVqIYm-iwDFb52BZ2RqwYvZoaqEgWWLdvR-yLIab",
        "s=QvCVqIYm-iwDFb52BZ2RqwYvZoaqEgWWLdvR-yLIabIA",
        "s=QvCVqIYm-iwDFb52BZ2RqwYvZoaqEgWWLdvR-yLIabIAAAA",
        "s=QvCVqIYm",
        /* whitespace, NUL */
        "s=QvCVqIYm-iwDFb52BZ2RqwYvZoaqEgWWLdvR-yLIab ",
        "s= QvCVqIYm-iwDFb52BZ2RqwYvZoaqEgWWLdvR-yLIab",
        "s=QvCVqIYm-iwDFb52BZ2RqwYvZoaqEgWWLdvR-yLIab.",
        /* the unused low bits of the last character are not zero */
        "s=QvCVqIYm-iwDFb52BZ2RqwYvZoaqEgWWLdvR-yLIabJ",
        "s=QvCVqIYm-iwDFb52BZ2RqwYvZoaqEgWWLdvR-yLIabL",
    };

    CHECK(verify("/originals/a.jpg",
                 "s=QvCVqIYm-iwDFb52BZ2RqwYvZoaqEgWWLdvR-yLIabI"));

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (verify("/originals/a.jpg", bad[i])) {
            UNIT_FAIL_(__FILE__, __LINE__, "\"%s\" accepted", bad[i]);
        }
    }

    /* a NUL inside the signature */
    memcpy(buf, "s=QvCVqIYm-iwDFb52BZ2RqwYvZoaqEgWWLdvR-yLIabI", 46);
    buf[10] = '\0';
    CHECK(!image_variant_signature_ok(KEY, S("/originals/a.jpg"), buf, 45));
}


UNIT_TEST(test_signature_repeated_s)
{
    size_t  i;

    static const char  *bad[] = {
        ("s=QvCVqIYm-iwDFb52BZ2RqwYvZoaqEgWWLdvR-yLIabI"
         "&s=QvCVqIYm-iwDFb52BZ2RqwYvZoaqEgWWLdvR-yLIabI"),
        "s=QvCVqIYm-iwDFb52BZ2RqwYvZoaqEgWWLdvR-yLIabI&s=",
        "s&s=QvCVqIYm-iwDFb52BZ2RqwYvZoaqEgWWLdvR-yLIabI",
        "s=x&s=QvCVqIYm-iwDFb52BZ2RqwYvZoaqEgWWLdvR-yLIabI",
    };

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (verify("/originals/a.jpg", bad[i])) {
            UNIT_FAIL_(__FILE__, __LINE__, "\"%s\" accepted", bad[i]);
        }
    }
}


/*
 * scripts/sign-variant-url test-key '/originals/summer 2024/a.jpg' \
 *     'dpr=2&w=300&format=webp&utm_source=mail&fit=cover'
 */

UNIT_TEST(test_signature_script)
{
    CHECK(verify("/originals/summer%202024/a.jpg",
                 "dpr=2&w=300&format=webp&utm_source=mail&fit=cover"
                 "&s=mH76Z_iyU72p139kihclt8MfaE8_uo25_erjZackmJY"));

    CHECK(!verify("/originals/summer 2024/a.jpg",
                  "dpr=2&w=300&format=webp&utm_source=mail&fit=cover"
                  "&s=mH76Z_iyU72p139kihclt8MfaE8_uo25_erjZackmJY"));

    /* another key does not verify it */
    CHECK(!image_variant_signature_ok((const uint8_t *) "test-key ", 9,
              S("/originals/summer%202024/a.jpg"),
              S("dpr=2&w=300&format=webp&utm_source=mail&fit=cover"
                "&s=mH76Z_iyU72p139kihclt8MfaE8_uo25_erjZackmJY")));
}


/* a canonical string beyond the stack buffer fails; so does a '\n' path */

UNIT_TEST(test_signature_limits)
{
    char         *path;
    size_t        n;
    const char   *a;

    n = 9000;
    path = malloc(n + 1);
    if (path == NULL) {
        abort();
    }

    memset(path, 'a', n);
    path[0] = '/';
    path[n] = '\0';

    a = sign_args("/x", "w=1");
    CHECK(verify("/x", a));
    CHECK(!verify(path, a));

    path[1000] = '\0';
    CHECK(verify(path, sign_args(path, "w=1")));

    free(path);

    CHECK(!verify("/x\n", "s=QvCVqIYm-iwDFb52BZ2RqwYvZoaqEgWWLdvR-yLIabI"));
}


/* --- Accept negotiation -------------------------------------------------- */


typedef struct {
    const char              *accept;
    image_variant_accept_e   want;
} accept_case_t;


#define AVIF    IMAGE_VARIANT_ACCEPT_AVIF
#define WEBP    IMAGE_VARIANT_ACCEPT_WEBP
#define LEGACY  IMAGE_VARIANT_ACCEPT_LEGACY

static const accept_case_t  accept_cases[] = {
    /* Chrome, Edge */
    { "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8",
      AVIF },
    /* Safari 17 */
    { "image/webp,image/avif,image/jxl,image/heic,image/heic-sequence,"
      "video/*;q=0.8,image/png,image/svg+xml,image/*;q=0.8,*/*;q=0.5",
      AVIF },
    /* Safari 14..15 */
    { "image/webp,image/png,image/svg+xml,image/*;q=0.8,video/*;q=0.8,"
      "*/*;q=0.5", WEBP },
    /* Safari 13 */
    { "image/png,image/svg+xml,image/*;q=0.8,video/*;q=0.8,*/*;q=0.5",
      LEGACY },
    /* Firefox 128 */
    { "image/avif,image/webp,image/png,image/svg+xml,image/*;q=0.8,"
      "*/*;q=0.5", AVIF },
    /* Firefox 93 */
    { "image/avif,image/webp,*/*", AVIF },
    /* Firefox 65 */
    { "image/webp,*/*", WEBP },
    /* curl, wget, a navigation */
    { "*/*", LEGACY },
    { "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
      LEGACY },
    { "image/*", LEGACY },
    { "image/*;q=1, */*", LEGACY },
    { "", LEGACY },

    /* q */
    { "image/webp;q=0", LEGACY },
    { "image/webp;q=0.0", LEGACY },
    { "image/webp;q=0.000", LEGACY },
    { "image/webp;q=0.001", WEBP },
    { "image/webp;q=0.5", WEBP },
    { "image/webp;q=1", WEBP },
    { "image/webp;q=1.", WEBP },
    { "image/webp;q=1.000", WEBP },
    { "image/webp;Q=0", LEGACY },
    { "image/avif;q=0,image/webp", WEBP },
    { "image/avif;q=0.1,image/webp;q=0.9", AVIF },
    { "image/avif, image/avif;q=0", LEGACY },
    { "image/avif;q=0, image/avif", LEGACY },
    { "image/avif;level=1;q=0.5", AVIF },
    { "image/avif;q=0.5;level=1", AVIF },
    { "image/avif;level=1;q=0", LEGACY },

    /* malformed q: not acceptable */
    { "image/webp;q=1.001", LEGACY },
    { "image/webp;q=0.0001", LEGACY },
    { "image/webp;q=2", LEGACY },
    { "image/webp;q=-1", LEGACY },
    { "image/webp;q=.5", LEGACY },
    { "image/webp;q=abc", LEGACY },
    { "image/webp;q=", LEGACY },
    { "image/webp;q", LEGACY },
    { "image/webp;q=\"0.5\"", LEGACY },
    { "image/webp;q=0.5x", LEGACY },

    /* case, spaces, empty elements */
    { "IMAGE/AVIF", AVIF },
    { "Image/WebP", WEBP },
    { "  image/avif  ;  q=0.5  ,image/webp", AVIF },
    { "image/webp\t;\tq=0.5", WEBP },
    { " , ,image/webp,,", WEBP },
    { "image/webp;", WEBP },
    { "text/plain, image/webp", WEBP },

    /* near misses */
    { "image/avifs", LEGACY },
    { "image/avi", LEGACY },
    { "ximage/avif", LEGACY },
    { "image/avif/x", LEGACY },
    { "image/ avif", LEGACY },
    { "image/avif junk", LEGACY },
    { "image/avif q=0.5", LEGACY },
    { "image/webp+xml", LEGACY },

    /* quoted parameter values may hold commas */
    { "image/webp;x=\"a,image/avif\"", WEBP },
    { "image/webp;x=\"a,b\",image/avif", AVIF },
    { "image/webp;x=\"a\\\",image/avif\"", WEBP },
    { "image/webp;x=\"unterminated,image/avif", LEGACY },
    { "image/webp;x=\"a\\\",image/avif;q=1,b\"", WEBP },
    { "text/html x=\"a,image/webp;q=1,b\"", LEGACY },
    { "text/html x=\"a,image/webp;q=1,b\",image/avif", AVIF },
};


UNIT_TEST(test_negotiate)
{
    size_t                  i;
    image_variant_accept_e  got;

    for (i = 0; i < sizeof(accept_cases) / sizeof(accept_cases[0]); i++) {
        got = image_variant_negotiate(accept_cases[i].accept,
                                      strlen(accept_cases[i].accept));

        if (got != accept_cases[i].want) {
            UNIT_FAIL_(__FILE__, __LINE__, "\"%s\": %d, expected %d",
                       accept_cases[i].accept, (int) got,
                       (int) accept_cases[i].want);
        }
    }

    CHECK_INT(image_variant_negotiate(NULL, 0), LEGACY);

    /* only len bytes are read */
    CHECK_INT(image_variant_negotiate("image/avif;q=0", 10), AVIF);
    CHECK_INT(image_variant_negotiate("image/webpx", 10), WEBP);
    CHECK_INT(image_variant_negotiate("image/avif\0,image/webp", 22), WEBP);
}


/* --- the ETag ------------------------------------------------------------ */


static void
etag(const char *validator, const image_variant_params_t *p,
    image_variant_accept_e accept, char out[IMAGE_VARIANT_ETAG_LEN + 1])
{
    image_variant_etag(validator, strlen(validator), p, accept, out);
    out[IMAGE_VARIANT_ETAG_LEN] = '\0';
}


UNIT_TEST(test_etag_format)
{
    size_t                  i;
    char                    t[IMAGE_VARIANT_ETAG_LEN + 1];
    image_variant_params_t  p;

    image_variant_params_init(&p);

    memset(t, 'x', sizeof(t));
    image_variant_etag(S("\"abc\""), &p, LEGACY, t);

    CHECK(t[0] == '"');
    CHECK(t[IMAGE_VARIANT_ETAG_LEN - 1] == '"');
    CHECK(t[IMAGE_VARIANT_ETAG_LEN] == 'x');

    for (i = 1; i < IMAGE_VARIANT_ETAG_LEN - 1; i++) {
        CHECK((t[i] >= '0' && t[i] <= '9') || (t[i] >= 'a' && t[i] <= 'f'));
    }
}


/*
 * python3: sha256(b"IVE2" + pack(">Q", len(v)) + v + pack(">7I", width,
 * height, fit, gravity, format, quality, dpr) + bytes(background)
 * [+ pack(">I", accept) when format is auto]).hexdigest()[:32]
 */

UNIT_TEST(test_etag_known_answers)
{
    char                    t[IMAGE_VARIANT_ETAG_LEN + 1];
    image_variant_params_t  p;

    image_variant_params_init(&p);
    etag("\"5f3c-1a2b\"", &p, AVIF, t);
    CHECK_STR(t, "\"df9cce17cee69a757c2806cd9e7462fc\"");

    p.width = 512;
    p.height = 512;
    p.gravity = IMAGE_VARIANT_GRAVITY_ATTENTION;
    p.format = IMAGE_VARIANT_FORMAT_WEBP;
    p.quality = 80;
    p.dpr = 2;
    memset(p.background, 0, 3);
    etag("\"5f3c-1a2b\"", &p, AVIF, t);
    CHECK_STR(t, "\"6f19732dfe8749f0acdfb0c77022b9f2\"");
}


/*
 * Sources without a validator: the tag comes from the bytes.  python3:
 * "sha256:" + sha256(b"abc").hexdigest() is the known answer.
 */

UNIT_TEST(test_content_validator)
{
    char  a[IMAGE_VARIANT_CONTENT_LEN + 1], b[IMAGE_VARIANT_CONTENT_LEN + 1];

    a[IMAGE_VARIANT_CONTENT_LEN] = '\0';
    b[IMAGE_VARIANT_CONTENT_LEN] = '\0';

    image_variant_content_validator("abc", 3, a);
    CHECK_STR(a, "sha256:ba7816bf8f01cfea414140de5dae2223"
                 "b00361a396177a9cb410ff61f20015ad");

    /* same length, one byte apart */
    image_variant_content_validator("abd", 3, b);
    CHECK(strcmp(a, b) != 0);
}


/* If-None-Match lists, as the thread matches them for hashed sources */

UNIT_TEST(test_etag_listed)
{
    const char  *tag = "\"0123456789abcdef0123456789abcdef\"";
    const char  *other = "\"0123456789abcdef0123456789abcdee\"";
    char         list[128];

    CHECK_INT(image_variant_etag_listed("*", 1, tag), 1);
    CHECK_INT(image_variant_etag_listed(tag, strlen(tag), tag), 1);
    CHECK_INT(image_variant_etag_listed(other, strlen(other), tag), 0);

    snprintf(list, sizeof(list), "%s, W/%s", other, tag);
    CHECK_INT(image_variant_etag_listed(list, strlen(list), tag), 1);

    snprintf(list, sizeof(list), "%s,\t%s", other, other);
    CHECK_INT(image_variant_etag_listed(list, strlen(list), tag), 0);

    /* cut short: no read past the value, no match */
    CHECK_INT(image_variant_etag_listed(tag, strlen(tag) - 1, tag), 0);
    CHECK_INT(image_variant_etag_listed("", 0, tag), 0);
    CHECK_INT(image_variant_etag_listed("**", 2, tag), 0);
}


/* image_variant_shrink_on_load fast makes other variants: another tag */

UNIT_TEST(test_etag_fast_shrink)
{
    char                    a[IMAGE_VARIANT_ETAG_LEN + 1];
    char                    b[IMAGE_VARIANT_ETAG_LEN + 1];
    image_variant_params_t  p;

    image_variant_params_init(&p);
    CHECK_INT(p.fast_shrink, 0);
    etag("\"5f3c-1a2b\"", &p, AVIF, a);
    p.fast_shrink = 1;
    etag("\"5f3c-1a2b\"", &p, AVIF, b);
    CHECK(strcmp(a, b) != 0);
}


UNIT_TEST(test_etag_fields)
{
    size_t                  i, j, n;
    image_variant_params_t  base, p, a, b;
    char                    tags[16][IMAGE_VARIANT_ETAG_LEN + 1];

    image_variant_params_init(&base);
    base.width = 300;
    base.height = 200;
    base.quality = 80;

    /* padding bytes differ, fields do not: the same tag */
    memset(&a, 0x00, sizeof(a));
    memset(&b, 0xa5, sizeof(b));
    a.width = b.width = base.width;
    a.height = b.height = base.height;
    a.fit = b.fit = base.fit;
    a.gravity = b.gravity = base.gravity;
    a.format = b.format = base.format;
    a.quality = b.quality = base.quality;
    a.dpr = b.dpr = base.dpr;
    memcpy(a.background, base.background, 3);
    memcpy(b.background, base.background, 3);
    a.fast_shrink = b.fast_shrink = base.fast_shrink;

    etag("v", &a, WEBP, tags[0]);
    etag("v", &b, WEBP, tags[1]);
    CHECK_STR(tags[0], tags[1]);

    /* stable */
    etag("v", &base, WEBP, tags[1]);
    CHECK_STR(tags[0], tags[1]);

    /* every field, the validator and (format auto) the accept class */
    n = 0;
    etag("v", &base, WEBP, tags[n++]);

    p = base; p.width = 301;
    etag("v", &p, WEBP, tags[n++]);
    p = base; p.height = 201;
    etag("v", &p, WEBP, tags[n++]);
    p = base; p.fit = IMAGE_VARIANT_FIT_CONTAIN;
    etag("v", &p, WEBP, tags[n++]);
    p = base; p.gravity = IMAGE_VARIANT_GRAVITY_ENTROPY;
    etag("v", &p, WEBP, tags[n++]);
    p = base; p.format = IMAGE_VARIANT_FORMAT_JPEG;
    etag("v", &p, WEBP, tags[n++]);
    p = base; p.quality = 81;
    etag("v", &p, WEBP, tags[n++]);
    p = base; p.dpr = 2;
    etag("v", &p, WEBP, tags[n++]);
    p = base; p.background[0] = 0xfe;
    etag("v", &p, WEBP, tags[n++]);
    p = base; p.background[1] = 0xfe;
    etag("v", &p, WEBP, tags[n++]);
    p = base; p.background[2] = 0xfe;
    etag("v", &p, WEBP, tags[n++]);
    etag("w", &base, WEBP, tags[n++]);
    etag("", &base, WEBP, tags[n++]);
    etag("v", &base, AVIF, tags[n++]);
    etag("v", &base, LEGACY, tags[n++]);

    for (i = 0; i < n; i++) {
        for (j = i + 1; j < n; j++) {
            if (strcmp(tags[i], tags[j]) == 0) {
                UNIT_FAIL_(__FILE__, __LINE__, "tags %zu and %zu are the "
                           "same: %s", i, j, tags[i]);
            }
        }
    }
}


UNIT_TEST(test_etag_accept)
{
    unsigned                f;
    image_variant_params_t  p;
    char                    a[IMAGE_VARIANT_ETAG_LEN + 1];
    char                    b[IMAGE_VARIANT_ETAG_LEN + 1];
    char                    c[IMAGE_VARIANT_ETAG_LEN + 1];

    image_variant_params_init(&p);
    p.width = 640;

    /* a fixed format: the Accept class does not matter */
    for (f = IMAGE_VARIANT_FORMAT_JPEG; f <= IMAGE_VARIANT_FORMAT_AVIF; f++) {
        p.format = (image_variant_format_e) f;
        etag("\"x\"", &p, LEGACY, a);
        etag("\"x\"", &p, WEBP, b);
        etag("\"x\"", &p, AVIF, c);
        CHECK_STR(a, b);
        CHECK_STR(a, c);
    }

    /* auto: it does */
    p.format = IMAGE_VARIANT_FORMAT_AUTO;
    etag("\"x\"", &p, LEGACY, a);
    etag("\"x\"", &p, WEBP, b);
    etag("\"x\"", &p, AVIF, c);
    CHECK(strcmp(a, b) != 0);
    CHECK(strcmp(a, c) != 0);
    CHECK(strcmp(b, c) != 0);
}


/* the validator's length is hashed: bytes cannot move across fields */

UNIT_TEST(test_etag_validator)
{
    image_variant_params_t  p;
    char                    a[IMAGE_VARIANT_ETAG_LEN + 1];
    char                    b[IMAGE_VARIANT_ETAG_LEN + 1];

    image_variant_params_init(&p);

    image_variant_etag(S("abc"), &p, LEGACY, a);
    image_variant_etag("abcd", 3, &p, LEGACY, b);
    a[IMAGE_VARIANT_ETAG_LEN] = b[IMAGE_VARIANT_ETAG_LEN] = '\0';
    CHECK_STR(a, b);

    image_variant_etag(S("abc\0"), &p, LEGACY, b);
    CHECK(memcmp(a, b, IMAGE_VARIANT_ETAG_LEN) != 0);

    image_variant_etag(NULL, 0, &p, LEGACY, a);
    image_variant_etag(S(""), &p, LEGACY, b);
    CHECK_MEM(a, b, IMAGE_VARIANT_ETAG_LEN);
}


UNIT_MAIN(test_init, test_content_validator, test_etag_listed,
          test_etag_fast_shrink,
          test_preset_good,
          test_preset_background,
          test_preset_bad, test_preset_directive, test_preset_messages,
          test_query_good, test_query_bad, test_query_over_preset,
          test_query_length, test_canonical, test_sign_known_answers,
          test_signature_valid, test_signature_tampered,
          test_signature_missing, test_signature_wrong_key,
          test_signature_encoding, test_signature_repeated_s,
          test_signature_script, test_signature_limits, test_negotiate,
          test_etag_format, test_etag_known_answers, test_etag_fields,
          test_etag_accept, test_etag_validator)
