
/*
 * The photo-edge metrics: the layout of the shared memory zone that
 * ngx_http_edge_metrics_module owns and every module's .so updates, and
 * its Prometheus text exposition (format 0.0.4).  No nginx types: the
 * layout is plain 64-bit words, updated with atomic adds by the glue
 * (src/edge/ngx_http_edge_metrics.c) and read word by word for a scrape.
 *
 * The layout is fixed: a module that finds a zone whose magic or version
 * differs from its own leaves metrics off rather than write into it.
 */


#ifndef _EDGE_METRICS_H_INCLUDED_
#define _EDGE_METRICS_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


#define EDGE_METRICS_ZONE_NAME  "photo_edge_metrics"
#define EDGE_METRICS_MAGIC      0x4d455045u        /* "EPEM" */
#define EDGE_METRICS_VERSION    1


/* the module label */
typedef enum {
    EDGE_METRICS_ALBUM_ZIP = 0,
    EDGE_METRICS_IMAGE_VARIANT,
    EDGE_METRICS_IMAGE_INGEST,
    EDGE_METRICS_FACE,
    EDGE_METRICS_LAMBDA,
    EDGE_METRICS_NMODULES
} edge_metrics_module_e;

/* the code label of photo_edge_requests_total: 1xx .. 5xx */
#define EDGE_METRICS_NCLASSES  5

/* per-module counters */
typedef enum {
    EDGE_METRICS_TASK_REJECTED = 0,     /* a full thread-pool queue */
    EDGE_METRICS_TASK_EXPIRED,          /* a watchdog */
    EDGE_METRICS_NMODULE_COUNTERS
} edge_metrics_module_counter_e;

/* the reason label of photo_edge_outbound_errors_total */
typedef enum {
    EDGE_METRICS_OUT_REFUSED = 0,       /* the address or host policy */
    EDGE_METRICS_OUT_TOO_BIG,           /* over the size cap */
    EDGE_METRICS_OUT_SINK,              /* the body could not be stored */
    EDGE_METRICS_OUT_FAILED,            /* no answer: connect, timeout */
    EDGE_METRICS_OUT_STATUS,            /* an answer of 400 or more */
    EDGE_METRICS_NOUTBOUND
} edge_metrics_outbound_e;

/* counters without labels */
typedef enum {
    EDGE_METRICS_ZIP_BYTES = 0,
    EDGE_METRICS_ZIP_CRC_HITS,
    EDGE_METRICS_ZIP_CRC_MISSES,
    EDGE_METRICS_FACE_JOBS_ACCEPTED,
    EDGE_METRICS_FACE_JOBS_DELIVERED,
    EDGE_METRICS_FACE_JOBS_RETRIED,
    EDGE_METRICS_FACE_JOBS_FAILED,
    EDGE_METRICS_INGEST_COMMITS,
    EDGE_METRICS_INGEST_DUPLICATES,
    EDGE_METRICS_NCOUNTERS
} edge_metrics_counter_e;

/* histograms of durations */
typedef enum {
    EDGE_METRICS_IMAGE_RENDER = 0,
    EDGE_METRICS_FACE_INFERENCE,
    EDGE_METRICS_NHISTOGRAMS
} edge_metrics_histogram_e;

/* upper bounds in microseconds; one more bucket for +Inf */
#define EDGE_METRICS_NBUCKETS  12


typedef struct {
    uint64_t    bucket[EDGE_METRICS_NBUCKETS + 1];  /* not cumulative */
    uint64_t    sum_us;
} edge_metrics_histogram_t;


typedef struct {
    uint32_t                   magic;
    uint32_t                   version;
    uint64_t                   size;        /* sizeof(edge_metrics_t) */

    uint64_t                   requests[EDGE_METRICS_NMODULES]
                                       [EDGE_METRICS_NCLASSES];
    uint64_t                   module_counter[EDGE_METRICS_NMODULES]
                                             [EDGE_METRICS_NMODULE_COUNTERS];
    int64_t                    in_flight[EDGE_METRICS_NMODULES];
    uint64_t                   outbound_errors[EDGE_METRICS_NOUTBOUND];
    uint64_t                   counter[EDGE_METRICS_NCOUNTERS];
    edge_metrics_histogram_t   histogram[EDGE_METRICS_NHISTOGRAMS];
} edge_metrics_t;


/* a fresh zone: zeroes and the header */
void edge_metrics_init(edge_metrics_t *m);

/* 1: the zone has this layout */
int edge_metrics_valid(const edge_metrics_t *m);

/* the module label of a task's module name ("face job"), or -1 */
int edge_metrics_module(const char *name);

/* the label text of a module */
const char *edge_metrics_module_name(edge_metrics_module_e m);

/* the bucket of a duration: 0 .. EDGE_METRICS_NBUCKETS (+Inf) */
unsigned edge_metrics_bucket(uint64_t us);

/* the class index of an HTTP status (0: 1xx), or -1 */
int edge_metrics_class(unsigned status);

/*
 * The exposition of a snapshot (a copy of the zone) into buf: the length
 * written, or 0 when size is too small.  edge_metrics_text_max() is
 * always enough.
 */
size_t edge_metrics_text(const edge_metrics_t *m, char *buf, size_t size);
size_t edge_metrics_text_max(void);


#endif /* _EDGE_METRICS_H_INCLUDED_ */
