
/*
 * The photo-edge metrics' layout and exposition (see the header).
 */


#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "edge_metrics.h"


typedef struct {
    char       *p;
    size_t      left;
    int         overflow;
} edge_metrics_out_t;


static void edge_metrics_printf(edge_metrics_out_t *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void edge_metrics_head(edge_metrics_out_t *o, const char *name,
    const char *type, const char *help);
static void edge_metrics_seconds(edge_metrics_out_t *o, uint64_t us);


static const char  *edge_metrics_modules[EDGE_METRICS_NMODULES] = {
    "album_zip", "image_variant", "image_ingest", "face", "lambda"
};

static const char  *edge_metrics_outbound[EDGE_METRICS_NOUTBOUND] = {
    "refused", "too_big", "sink", "failed", "status"
};

/* 1 ms .. 30 s, in microseconds */
static const uint64_t  edge_metrics_bounds[EDGE_METRICS_NBUCKETS] = {
    1000, 5000, 10000, 25000, 50000, 100000, 250000, 500000,
    1000000, 2500000, 10000000, 30000000
};

static const struct {
    const char  *name;
    const char  *help;
} edge_metrics_module_counters[EDGE_METRICS_NMODULE_COUNTERS] = {
    { "photo_edge_task_rejections_total",
      "Thread-pool tasks refused because the pool's queue was full." },
    { "photo_edge_task_watchdog_expiries_total",
      "Thread-pool tasks still running when their watchdog expired." },
};

static const struct {
    const char  *name;
    const char  *help;
} edge_metrics_counters[EDGE_METRICS_NCOUNTERS] = {
    { "photo_edge_album_zip_sent_bytes_total",
      "Bytes of album zip bodies sent to clients." },
    { "photo_edge_album_zip_crc_cache_hits_total",
      "Album zip members whose CRC-32 came from the CRC cache." },
    { "photo_edge_album_zip_crc_cache_misses_total",
      "Album zip members whose CRC-32 was not in the CRC cache." },
    { "photo_edge_face_jobs_accepted_total",
      "Face jobs accepted into the spool (Event invocations)." },
    { "photo_edge_face_jobs_delivered_total",
      "Face job sources whose encodings were delivered." },
    { "photo_edge_face_jobs_retried_total",
      "Face job callbacks scheduled again after a failed attempt." },
    { "photo_edge_face_jobs_failed_total",
      "Face job sources that failed for good." },
    { "photo_edge_image_ingest_commits_total",
      "Uploads committed to the store." },
    { "photo_edge_image_ingest_duplicates_total",
      "Uploads whose content was already stored." },
};

static const struct {
    const char  *name;
    const char  *help;
} edge_metrics_histograms[EDGE_METRICS_NHISTOGRAMS] = {
    { "photo_edge_image_render_seconds",
      "Time to render an image variant on the thread pool." },
    { "photo_edge_face_inference_seconds",
      "Time to detect and encode the faces of one image." },
};


void
edge_metrics_init(edge_metrics_t *m)
{
    memset(m, 0, sizeof(edge_metrics_t));

    m->magic = EDGE_METRICS_MAGIC;
    m->version = EDGE_METRICS_VERSION;
    m->size = sizeof(edge_metrics_t);
}


int
edge_metrics_valid(const edge_metrics_t *m)
{
    return m->magic == EDGE_METRICS_MAGIC
           && m->version == EDGE_METRICS_VERSION
           && m->size == sizeof(edge_metrics_t);
}


int
edge_metrics_module(const char *name)
{
    size_t    len;
    unsigned  i;

    if (name == NULL) {
        return -1;
    }

    /* "face job" counts as "face" */
    len = strcspn(name, " ");

    for (i = 0; i < EDGE_METRICS_NMODULES; i++) {
        if (strlen(edge_metrics_modules[i]) == len
            && strncmp(edge_metrics_modules[i], name, len) == 0)
        {
            return (int) i;
        }
    }

    return -1;
}


const char *
edge_metrics_module_name(edge_metrics_module_e m)
{
    return (unsigned) m < EDGE_METRICS_NMODULES ? edge_metrics_modules[m]
                                                : "?";
}


unsigned
edge_metrics_bucket(uint64_t us)
{
    unsigned  i;

    for (i = 0; i < EDGE_METRICS_NBUCKETS; i++) {
        if (us <= edge_metrics_bounds[i]) {
            return i;
        }
    }

    return EDGE_METRICS_NBUCKETS;
}


int
edge_metrics_class(unsigned status)
{
    if (status < 100 || status > 599) {
        return -1;
    }

    return (int) (status / 100) - 1;
}


static void
edge_metrics_printf(edge_metrics_out_t *o, const char *fmt, ...)
{
    int      n;
    va_list  args;

    if (o->overflow) {
        return;
    }

    va_start(args, fmt);
    n = vsnprintf(o->p, o->left, fmt, args);
    va_end(args);

    if (n < 0 || (size_t) n >= o->left) {
        o->overflow = 1;
        return;
    }

    o->p += n;
    o->left -= (size_t) n;
}


static void
edge_metrics_head(edge_metrics_out_t *o, const char *name, const char *type,
    const char *help)
{
    edge_metrics_printf(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
                        type);
}


/* seconds with microseconds, without a trailing fraction of zeroes */

static void
edge_metrics_seconds(edge_metrics_out_t *o, uint64_t us)
{
    unsigned  frac, digits;

    frac = (unsigned) (us % 1000000);

    if (frac == 0) {
        edge_metrics_printf(o, "%llu", (unsigned long long) (us / 1000000));
        return;
    }

    digits = 6;

    while (frac % 10 == 0) {
        frac /= 10;
        digits--;
    }

    edge_metrics_printf(o, "%llu.%0*u", (unsigned long long) (us / 1000000),
                        (int) digits, frac);
}


size_t
edge_metrics_text_max(void)
{
    /* generous: about 5 kB of text today */
    return 32768;
}


size_t
edge_metrics_text(const edge_metrics_t *m, char *buf, size_t size)
{
    unsigned                         i, j, c;
    uint64_t                         cum;
    const char                      *name;
    edge_metrics_out_t               o;
    const edge_metrics_histogram_t  *h;

    o.p = buf;
    o.left = size;
    o.overflow = 0;

    edge_metrics_head(&o, "photo_edge_requests_total", "counter",
                      "Responses of the locations each module handles, "
                      "by status class.");

    for (i = 0; i < EDGE_METRICS_NMODULES; i++) {
        for (c = 0; c < EDGE_METRICS_NCLASSES; c++) {
            edge_metrics_printf(&o, "photo_edge_requests_total"
                                "{module=\"%s\",code=\"%uxx\"} %llu\n",
                                edge_metrics_modules[i], c + 1,
                                (unsigned long long) m->requests[i][c]);
        }
    }

    for (j = 0; j < EDGE_METRICS_NMODULE_COUNTERS; j++) {
        name = edge_metrics_module_counters[j].name;
        edge_metrics_head(&o, name, "counter",
                          edge_metrics_module_counters[j].help);

        for (i = 0; i < EDGE_METRICS_NMODULES; i++) {
            edge_metrics_printf(&o, "%s{module=\"%s\"} %llu\n", name,
                                edge_metrics_modules[i],
                                (unsigned long long)
                                    m->module_counter[i][j]);
        }
    }

    edge_metrics_head(&o, "photo_edge_tasks_in_flight", "gauge",
                      "Thread-pool tasks queued or running.");

    for (i = 0; i < EDGE_METRICS_NMODULES; i++) {
        edge_metrics_printf(&o, "photo_edge_tasks_in_flight{module=\"%s\"} "
                            "%lld\n", edge_metrics_modules[i],
                            (long long) m->in_flight[i]);
    }

    edge_metrics_head(&o, "photo_edge_outbound_errors_total", "counter",
                      "Outbound HTTP requests (S3, sources, callbacks) "
                      "that failed, by reason.");

    for (i = 0; i < EDGE_METRICS_NOUTBOUND; i++) {
        edge_metrics_printf(&o, "photo_edge_outbound_errors_total"
                            "{reason=\"%s\"} %llu\n", edge_metrics_outbound[i],
                            (unsigned long long) m->outbound_errors[i]);
    }

    for (j = 0; j < EDGE_METRICS_NCOUNTERS; j++) {
        name = edge_metrics_counters[j].name;
        edge_metrics_head(&o, name, "counter", edge_metrics_counters[j].help);
        edge_metrics_printf(&o, "%s %llu\n", name,
                            (unsigned long long) m->counter[j]);
    }

    for (j = 0; j < EDGE_METRICS_NHISTOGRAMS; j++) {
        name = edge_metrics_histograms[j].name;
        h = &m->histogram[j];

        edge_metrics_head(&o, name, "histogram",
                          edge_metrics_histograms[j].help);

        cum = 0;

        for (i = 0; i < EDGE_METRICS_NBUCKETS; i++) {
            cum += h->bucket[i];
            edge_metrics_printf(&o, "%s_bucket{le=\"", name);
            edge_metrics_seconds(&o, edge_metrics_bounds[i]);
            edge_metrics_printf(&o, "\"} %llu\n", (unsigned long long) cum);
        }

        /* the count is the buckets' total: consistent in any snapshot */
        cum += h->bucket[EDGE_METRICS_NBUCKETS];

        edge_metrics_printf(&o, "%s_bucket{le=\"+Inf\"} %llu\n", name,
                            (unsigned long long) cum);
        edge_metrics_printf(&o, "%s_sum ", name);
        edge_metrics_seconds(&o, h->sum_us);
        edge_metrics_printf(&o, "\n%s_count %llu\n", name,
                            (unsigned long long) cum);
    }

    if (o.overflow) {
        return 0;
    }

    return size - o.left;
}
