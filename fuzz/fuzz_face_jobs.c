/*
 * libFuzzer target for the face jobs' parsers (src/face/core): the
 * facedetection payload, the spool file format, and the SSRF helpers
 * (IPv4 literals, URL hosts, address literals, the host allow-list).
 *
 * The input is a payload.  On success every source's callback URL and
 * body are built and checked: the URL starts with api_url, the body is
 * JSON whose every number is a float.  The same bytes go through the
 * spool parser (behind a valid header, and raw) and, for each source's
 * photo_url and the raw input, through the address helpers, which must
 * take any bytes.
 *
 *     make -C fuzz build/fuzz_face_jobs
 *     fuzz/build/fuzz_face_jobs -max_total_time=60
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "face_jobs.h"
#include "edge_net.h"
#include "face_spool.h"
#include "fuzz_common.h"


static void fuzz_source(const face_jobs_payload_t *p,
    const face_jobs_source_t *s);
static void fuzz_net(const char *s, size_t len);
static void fuzz_spool(const char *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static volatile unsigned  fuzz_sink;


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                  rc;
    char                 err[FACE_JOBS_ERR_LEN];
    size_t               i;
    fuzz_block_t        *blocks;
    face_jobs_alloc_t    hooks;
    face_jobs_payload_t  p;

    blocks = NULL;
    hooks.alloc = fuzz_alloc;
    hooks.ctx = &blocks;

    rc = face_jobs_parse((const char *) data, size, &hooks, &p, err,
                         sizeof(err));

    if (rc == FACE_JOBS_OK) {
        FUZZ_CHECK(err[0] == '\0');
        FUZZ_CHECK(p.api_url.len == strlen(p.api_url.data));
        FUZZ_CHECK(p.api_url.len == 0
                   || p.api_url.data[p.api_url.len - 1] != '/');

        for (i = 0; i < p.nsources; i++) {
            fuzz_source(&p, &p.sources[i]);
        }

    } else {
        FUZZ_CHECK(rc == FACE_JOBS_EINVAL || rc == FACE_JOBS_ENOMEM);
        FUZZ_CHECK(strlen(err) > 0 && strlen(err) < sizeof(err));
    }

    fuzz_free(&blocks);

    fuzz_spool((const char *) data, size);
    fuzz_net((const char *) data, size);

    return 0;
}


static void
fuzz_source(const face_jobs_payload_t *p, const face_jobs_source_t *s)
{
    char    *url, *body, *q;
    float    enc[2 * FACE_JOBS_ENCODING];
    size_t   len, n, i;
    cJSON   *root;

    FUZZ_CHECK(s->pk >= 0);
    FUZZ_CHECK(s->type == FACE_JOBS_PHOTO || s->type == FACE_JOBS_REFERENCE);
    FUZZ_CHECK(s->photo_url.len == strlen(s->photo_url.data));
    FUZZ_CHECK(s->token.len <= FACE_JOBS_MAX_TOKEN_LEN);

    len = face_jobs_callback_url(NULL, 0, p, s);
    url = malloc(len + 1);
    FUZZ_CHECK(url != NULL);
    FUZZ_CHECK(face_jobs_callback_url(url, len + 1, p, s) == len);
    FUZZ_CHECK(strncmp(url, p->api_url.data, p->api_url.len) == 0);
    FUZZ_CHECK(url[len - 1] == '/');
    free(url);

    for (i = 0; i < 2 * FACE_JOBS_ENCODING; i++) {
        enc[i] = (float) ((double) s->pk / (i + 1)) - 0.5f;
    }

    n = s->pk % 3;
    body = face_jobs_callback_body(s->token.data, s->token.len, enc, n,
                                   &len);
    FUZZ_CHECK(body != NULL && strlen(body) == len);

    root = cJSON_Parse(body);
    FUZZ_CHECK(root != NULL);
    FUZZ_CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(root, "encodings"))
               == (int) n);
    cJSON_Delete(root);

    /* no number in the encodings is a JSON integer */

    q = strstr(body, "\"encodings\": [");
    FUZZ_CHECK(q != NULL);

    for (q += 14; *q; q += strcspn(q, ", []")) {
        q += strspn(q, ", []");

        if (*q == '\0' || *q == '}') {
            break;
        }

        FUZZ_CHECK(strcspn(q, ".e") < strcspn(q, ", []}"));
    }

    free(body);

    fuzz_net(s->photo_url.data, s->photo_url.len);
}


static void
fuzz_net(const char *s, size_t len)
{
    size_t            hl;
    uint32_t          a4;
    const char       *host;
    edge_net_class_e  cls;
    static const char  *names[] = { "cdn.example", ".media.example" };
    static const size_t  lens[] = { 11, 14 };

    if (edge_net_parse_ipv4(s, len, &a4) == 0) {
        fuzz_sink += edge_net_classify_ipv4(a4);
    }

    if (edge_net_url_host(s, len, &host, &hl) == 0) {
        FUZZ_CHECK(host >= s && host + hl <= s + len && hl > 0);

        if (edge_net_host_literal(host, hl, &cls) == 0) {
            FUZZ_CHECK(cls <= EDGE_NET_RESERVED);
        }

        fuzz_sink += edge_net_host_allowed(host, hl, names, lens, 2);
    }

    if (edge_net_host_literal(s, len, &cls) == 0) {
        FUZZ_CHECK(cls <= EDGE_NET_RESERVED);
    }
}


static void
fuzz_spool(const char *data, size_t size)
{
    char    *buf, hdr[FACE_SPOOL_HEADER_LEN];
    size_t   n, so, po, hl;

    if (face_spool_parse(data, size, &n, &so, &po) == 0) {
        FUZZ_CHECK(so + n < po && po <= size);
    }

    /* behind a header that matches the first byte's count */

    n = size ? (unsigned char) data[0] % 8 : 0;
    hl = face_spool_header(hdr, n);

    buf = malloc(hl + size);
    FUZZ_CHECK(buf != NULL);
    memcpy(buf, hdr, hl);
    memcpy(buf + hl, data, size);

    if (face_spool_parse(buf, hl + size, &n, &so, &po) == 0) {
        FUZZ_CHECK(so == hl && po == hl + n + 1 && po + 2 <= hl + size);
    }

    free(buf);
}

