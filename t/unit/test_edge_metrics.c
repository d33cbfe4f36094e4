
/*
 * Unit tests for edge_metrics.c: the module labels, buckets and status
 * classes, and the text exposition, checked line by line by a strict
 * reader of format 0.0.4 (families typed once before their samples,
 * names and labels well formed, no sample twice, counters named _total,
 * histograms' buckets cumulative with +Inf equal to _count).
 */


#include <ctype.h>
#include <stdlib.h>

#include "unit.h"
#include "edge_metrics.h"


#define MAX_LINES  1024


static char  text[65536];


static int
name_ok(const char *p, size_t n)
{
    size_t  i;

    if (n == 0 || !(isalpha((unsigned char) p[0]) || p[0] == '_'
                    || p[0] == ':'))
    {
        return 0;
    }

    for (i = 1; i < n; i++) {
        if (!(isalnum((unsigned char) p[i]) || p[i] == '_' || p[i] == ':')) {
            return 0;
        }
    }

    return 1;
}


static int
ends_with(const char *s, size_t n, const char *suffix)
{
    size_t  k = strlen(suffix);

    return n >= k && memcmp(s + n - k, suffix, k) == 0;
}


/*
 * 0: the text is a valid exposition; otherwise the line number of the
 * first fault (reported).
 */

static int
strict_check(const char *t, size_t len)
{
    char        family[128], type[16], line[512];
    static char  seen[MAX_LINES][520];
    size_t      nseen, n, k, i, base;
    double      v, last_le_count, inf_count;
    unsigned    lineno;
    const char  *p, *end, *sp, *brace;

    if (len == 0 || t[len - 1] != '\n') {
        return -1;
    }

    family[0] = '\0';
    type[0] = '\0';
    nseen = 0;
    lineno = 0;
    last_le_count = -1;
    inf_count = -1;

    for (p = t; p < t + len; p = end + 1) {
        end = memchr(p, '\n', (size_t) (t + len - p));
        n = (size_t) (end - p);
        lineno++;

        if (n == 0 || n >= sizeof(line)) {
            goto bad;
        }

        memcpy(line, p, n);
        line[n] = '\0';

        if (strncmp(line, "# HELP ", 7) == 0) {
            sp = strchr(line + 7, ' ');
            if (sp == NULL || !name_ok(line + 7, (size_t) (sp - line - 7))
                || sp[1] == '\0')
            {
                goto bad;
            }
            continue;
        }

        if (strncmp(line, "# TYPE ", 7) == 0) {
            sp = strchr(line + 7, ' ');
            if (sp == NULL || (size_t) (sp - line - 7) >= sizeof(family)) {
                goto bad;
            }

            k = (size_t) (sp - line - 7);
            if (!name_ok(line + 7, k)) {
                goto bad;
            }

            /* a family is typed once */
            for (i = 0; i < nseen; i++) {
                if (strncmp(seen[i], "#", 1) == 0
                    && strcmp(seen[i] + 1, line + 7) == 0)
                {
                    goto bad;
                }
            }

            memcpy(family, line + 7, k);
            family[k] = '\0';
            snprintf(type, sizeof(type), "%s", sp + 1);

            if (strcmp(type, "counter") != 0 && strcmp(type, "gauge") != 0
                && strcmp(type, "histogram") != 0)
            {
                goto bad;
            }

            if (strcmp(type, "counter") == 0
                && !ends_with(family, k, "_total"))
            {
                goto bad;
            }

            snprintf(seen[nseen++], sizeof(seen[0]), "#%s", line + 7);
            last_le_count = -1;
            inf_count = -1;
            continue;
        }

        if (line[0] == '#' || family[0] == '\0') {
            goto bad;
        }

        /* name{labels} value */

        sp = strrchr(line, ' ');
        brace = strchr(line, '{');
        base = (brace && brace < sp) ? (size_t) (brace - line)
                                     : (size_t) (sp - line);

        if (!name_ok(line, base)) {
            goto bad;
        }

        k = strlen(family);

        if (strcmp(type, "histogram") == 0) {
            if (!(base == k + 7 && strncmp(line, family, k) == 0
                  && strncmp(line + k, "_bucket", 7) == 0)
                && !(base == k + 4 && strncmp(line, family, k) == 0
                     && strncmp(line + k, "_sum", 4) == 0)
                && !(base == k + 6 && strncmp(line, family, k) == 0
                     && strncmp(line + k, "_count", 6) == 0))
            {
                goto bad;
            }

        } else if (base != k || strncmp(line, family, k) != 0) {
            goto bad;
        }

        if (brace && brace < sp) {
            const char  *q = brace + 1;

            if (sp[-1] != '}') {
                goto bad;
            }

            while (q < sp - 1) {
                const char  *eq = strchr(q, '=');

                if (eq == NULL || !name_ok(q, (size_t) (eq - q))
                    || eq[1] != '"')
                {
                    goto bad;
                }

                q = strchr(eq + 2, '"');
                if (q == NULL || q[-1] == '\\') {
                    goto bad;
                }

                q++;

                if (*q == ',') {
                    q++;

                } else if (q != sp - 1) {
                    goto bad;
                }
            }
        }

        {
            char  *e;

            v = strtod(sp + 1, &e);
            if (*e != '\0' || sp[1] == '\0') {
                goto bad;
            }
        }

        if (strcmp(type, "counter") == 0 && v < 0) {
            goto bad;
        }

        if (strcmp(type, "histogram") == 0) {
            if (strstr(line, "_bucket{le=\"")) {
                if (v < last_le_count) {
                    goto bad;               /* not cumulative */
                }

                last_le_count = v;

                if (strstr(line, "le=\"+Inf\"")) {
                    inf_count = v;
                }

            } else if (strncmp(line + k, "_count ", 7) == 0) {
                if (inf_count < 0 || v != inf_count) {
                    goto bad;
                }
            }
        }

        /* no sample twice */
        snprintf(seen[nseen], sizeof(seen[0]), "%.*s",
                 (int) (sp - line), line);

        for (i = 0; i < nseen; i++) {
            if (strcmp(seen[i], seen[nseen]) == 0) {
                goto bad;
            }
        }

        if (++nseen == MAX_LINES) {
            goto bad;
        }
    }

    return 0;

bad:

    fprintf(stderr, "exposition line %u is not valid\n", lineno);
    return (int) lineno;
}


static int
has_line(const char *t, const char *want)
{
    size_t       n = strlen(want);
    const char  *p;

    for (p = t; (p = strstr(p, want)) != NULL; p++) {
        if ((p == t || p[-1] == '\n') && p[n] == '\n') {
            return 1;
        }
    }

    return 0;
}


UNIT_TEST(test_labels)
{
    CHECK_INT(edge_metrics_module("face"), EDGE_METRICS_FACE);
    CHECK_INT(edge_metrics_module("face job"), EDGE_METRICS_FACE);
    CHECK_INT(edge_metrics_module("album_zip job"), EDGE_METRICS_ALBUM_ZIP);
    CHECK_INT(edge_metrics_module("image_variant"),
              EDGE_METRICS_IMAGE_VARIANT);
    CHECK_INT(edge_metrics_module("image_ingest"), EDGE_METRICS_IMAGE_INGEST);
    CHECK_INT(edge_metrics_module("lambda"), EDGE_METRICS_LAMBDA);
    CHECK_INT(edge_metrics_module("fac"), -1);
    CHECK_INT(edge_metrics_module("faces"), -1);
    CHECK_INT(edge_metrics_module(""), -1);
    CHECK_INT(edge_metrics_module(NULL), -1);
    CHECK_STR(edge_metrics_module_name(EDGE_METRICS_IMAGE_INGEST),
              "image_ingest");
}


UNIT_TEST(test_buckets)
{
    CHECK_INT(edge_metrics_bucket(0), 0);
    CHECK_INT(edge_metrics_bucket(1000), 0);
    CHECK_INT(edge_metrics_bucket(1001), 1);
    CHECK_INT(edge_metrics_bucket(250000), 6);
    CHECK_INT(edge_metrics_bucket(250001), 7);
    CHECK_INT(edge_metrics_bucket(30000000), EDGE_METRICS_NBUCKETS - 1);
    CHECK_INT(edge_metrics_bucket(30000001), EDGE_METRICS_NBUCKETS);
    CHECK_INT(edge_metrics_bucket(UINT64_MAX), EDGE_METRICS_NBUCKETS);
}


UNIT_TEST(test_classes)
{
    CHECK_INT(edge_metrics_class(0), -1);
    CHECK_INT(edge_metrics_class(99), -1);
    CHECK_INT(edge_metrics_class(100), 0);
    CHECK_INT(edge_metrics_class(200), 1);
    CHECK_INT(edge_metrics_class(304), 2);
    CHECK_INT(edge_metrics_class(415), 3);
    CHECK_INT(edge_metrics_class(499), 3);
    CHECK_INT(edge_metrics_class(599), 4);
    CHECK_INT(edge_metrics_class(600), -1);
}


UNIT_TEST(test_layout)
{
    edge_metrics_t  m;

    memset(&m, 0xff, sizeof(m));
    edge_metrics_init(&m);

    CHECK(edge_metrics_valid(&m));
    CHECK_INT(m.requests[EDGE_METRICS_LAMBDA][4], 0);
    CHECK_INT(m.histogram[1].sum_us, 0);

    /* the snapshot is read in 64-bit words */
    CHECK_INT(sizeof(edge_metrics_t) % 8, 0);

    m.version++;
    CHECK(!edge_metrics_valid(&m));
    m.version--;
    m.magic ^= 1;
    CHECK(!edge_metrics_valid(&m));
}


UNIT_TEST(test_text)
{
    size_t          n;
    edge_metrics_t  m;

    edge_metrics_init(&m);

    m.requests[EDGE_METRICS_FACE][3] = 3;
    m.requests[EDGE_METRICS_IMAGE_VARIANT][1] = 7;
    m.module_counter[EDGE_METRICS_FACE][EDGE_METRICS_TASK_REJECTED] = 2;
    m.in_flight[EDGE_METRICS_IMAGE_VARIANT] = 4;
    m.outbound_errors[EDGE_METRICS_OUT_STATUS] = 5;
    m.counter[EDGE_METRICS_ZIP_BYTES] = 123456789012ULL;

    /* 0.5 ms, 200 ms, 40 s */
    m.histogram[EDGE_METRICS_IMAGE_RENDER].bucket[0] = 1;
    m.histogram[EDGE_METRICS_IMAGE_RENDER].bucket[6] = 1;
    m.histogram[EDGE_METRICS_IMAGE_RENDER].bucket[EDGE_METRICS_NBUCKETS] = 1;
    m.histogram[EDGE_METRICS_IMAGE_RENDER].sum_us = 40200500;

    n = edge_metrics_text(&m, text, sizeof(text));
    CHECK(n > 0 && n < sizeof(text));
    text[n] = '\0';

    CHECK_INT(strict_check(text, n), 0);

    CHECK(has_line(text, "# TYPE photo_edge_requests_total counter"));
    CHECK(has_line(text,
          "photo_edge_requests_total{module=\"face\",code=\"4xx\"} 3"));
    CHECK(has_line(text, "photo_edge_requests_total"
                         "{module=\"image_variant\",code=\"2xx\"} 7"));
    CHECK(has_line(text, "photo_edge_requests_total"
                         "{module=\"lambda\",code=\"5xx\"} 0"));
    CHECK(has_line(text,
          "photo_edge_task_rejections_total{module=\"face\"} 2"));
    CHECK(has_line(text,
          "photo_edge_tasks_in_flight{module=\"image_variant\"} 4"));
    CHECK(has_line(text, "# TYPE photo_edge_tasks_in_flight gauge"));
    CHECK(has_line(text,
          "photo_edge_outbound_errors_total{reason=\"status\"} 5"));
    CHECK(has_line(text,
          "photo_edge_album_zip_sent_bytes_total 123456789012"));

    CHECK(has_line(text, "# TYPE photo_edge_image_render_seconds histogram"));
    CHECK(has_line(text,
          "photo_edge_image_render_seconds_bucket{le=\"0.001\"} 1"));
    CHECK(has_line(text,
          "photo_edge_image_render_seconds_bucket{le=\"0.1\"} 1"));
    CHECK(has_line(text,
          "photo_edge_image_render_seconds_bucket{le=\"0.25\"} 2"));
    CHECK(has_line(text,
          "photo_edge_image_render_seconds_bucket{le=\"30\"} 2"));
    CHECK(has_line(text,
          "photo_edge_image_render_seconds_bucket{le=\"+Inf\"} 3"));
    CHECK(has_line(text, "photo_edge_image_render_seconds_sum 40.2005"));
    CHECK(has_line(text, "photo_edge_image_render_seconds_count 3"));
    CHECK(has_line(text, "photo_edge_face_inference_seconds_sum 0"));
    CHECK(has_line(text, "photo_edge_face_inference_seconds_count 0"));
}


/* the checker itself refuses what it should */

UNIT_TEST(test_strict_check)
{
    static const char  *bad[] = {
        "# TYPE a_total counter\na_total 1",                 /* no \n */
        "a_total 1\n",                                        /* untyped */
        "# TYPE a counter\na 1\n",                            /* no _total */
        "# TYPE a_total counter\na_total{x=\"1\"} 1\n"
            "a_total{x=\"1\"} 2\n",                           /* twice */
        "# TYPE a_total counter\na_total{x=1} 1\n",           /* unquoted */
        "# TYPE a_total counter\na_total one\n",              /* value */
        "# TYPE h histogram\nh_bucket{le=\"1\"} 2\n"
            "h_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n",  /* not cum. */
        "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\n"
            "h_sum 1\nh_count 3\n",                           /* count */
        "# TYPE g gauge\n# TYPE g gauge\ng 1\n",              /* typed 2x */
        "# TYPE g gauge\nother 1\n",                          /* family */
    };
    static const char  *good = "# HELP g x\n# TYPE g gauge\ng -1\n";
    size_t  i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (strict_check(bad[i], strlen(bad[i])) == 0) {
            UNIT_FAIL_(__FILE__, __LINE__, "bad[%zu] accepted", i);
        }
    }

    CHECK_INT(strict_check(good, strlen(good)), 0);
}


UNIT_TEST(test_sizes)
{
    size_t          n;
    edge_metrics_t  m;

    /* every word at its widest still fits in text_max() */
    memset(&m, 0xff, sizeof(m));
    memset(m.in_flight, 0x80, sizeof(m.in_flight));
    memset(m.histogram, 0x00, sizeof(m.histogram));
    m.histogram[0].sum_us = UINT64_MAX;

    n = edge_metrics_text(&m, text, edge_metrics_text_max());
    CHECK(n > 0);

    edge_metrics_init(&m);
    n = edge_metrics_text(&m, text, sizeof(text));

    /* one byte short: nothing */
    CHECK_INT(edge_metrics_text(&m, text, n), 0);
    CHECK_INT(edge_metrics_text(&m, text, n + 1), n);
}


UNIT_MAIN(test_labels, test_buckets, test_classes, test_layout, test_text,
          test_strict_check, test_sizes)
