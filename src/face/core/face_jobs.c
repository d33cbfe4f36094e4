
/*
 * The serverless "facedetection" contract: payload validation, the
 * callback's URL and body, the retry schedule.  See face_jobs.h.
 *
 * Decisions, and why:
 *
 * - The whole payload is checked before anything runs, as the old
 *   function did: one bad source refuses the invocation.
 * - "pk" must be an integral JSON number from 0 to 2^53 - 1 (booleans,
 *   strings and fractions are refused): it becomes a path segment that
 *   the site's URL pattern reads as digits.
 * - A known key given twice is an error: first-wins and last-wins
 *   parsers disagree, and a checker upstream may read the other one.
 * - cJSON accepts garbage after the value when given a length; the
 *   parser does not (only JSON whitespace may follow).
 * - Error messages never quote input: they go into logs and JSON bodies
 *   as they are.
 */


#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "face_jobs.h"
#include "edge_json_check.h"


static int face_jobs_source(const cJSON *item, size_t i,
    const face_jobs_alloc_t *alloc, face_jobs_source_t *s, char *err,
    size_t err_len);
static int face_jobs_url_ok(const char *s, size_t len);
static int face_jobs_copy(const face_jobs_alloc_t *alloc,
    face_jobs_str_t *str, const char *s, size_t len);
static size_t face_jobs_escape(char *dst, const char *s, size_t len);


static const char  *face_jobs_keys[] = {
    "api_url", "sources", NULL
};

static const char  *face_jobs_source_keys[] = {
    "pk", "type", "photo_url", "token", NULL
};


int
face_jobs_parse(const char *buf, size_t len, const face_jobs_alloc_t *alloc,
    face_jobs_payload_t *out, char *err, size_t err_len)
{
    int           rc;
    cJSON        *root;
    size_t        n, i;
    const char   *s;
    const cJSON  *item, *sources;

    if (err_len) {
        err[0] = '\0';
    }

    memset(out, 0, sizeof(face_jobs_payload_t));

    root = edge_json_parse_object(buf, len, err, err_len);

    if (root == NULL) {
        return FACE_JOBS_EINVAL;
    }

    if (edge_json_dup_keys(root, face_jobs_keys, "", err, err_len) != 0) {
        rc = FACE_JOBS_EINVAL;
        goto done;
    }

    /* api_url */

    item = cJSON_GetObjectItemCaseSensitive(root, "api_url");

    if (item == NULL) {
        rc = edge_json_error(FACE_JOBS_EINVAL, err, err_len,
                             "api_url: is required");
        goto done;
    }

    if (!cJSON_IsString(item) || item->valuestring == NULL) {
        rc = edge_json_error(FACE_JOBS_EINVAL, err, err_len,
                             "api_url: must be a string");
        goto done;
    }

    s = item->valuestring;
    n = strlen(s);

    while (n > 0 && s[n - 1] == '/') {
        n--;
    }

    if (!face_jobs_url_ok(s, n)) {
        rc = edge_json_error(FACE_JOBS_EINVAL, err, err_len,
                             "api_url: must be an http or https URL");
        goto done;
    }

    if (face_jobs_copy(alloc, &out->api_url, s, n) != 0) {
        goto nomem;
    }

    /* sources */

    sources = cJSON_GetObjectItemCaseSensitive(root, "sources");

    if (sources == NULL) {
        rc = edge_json_error(FACE_JOBS_EINVAL, err, err_len,
                             "sources: is required");
        goto done;
    }

    if (!cJSON_IsArray(sources)) {
        rc = edge_json_error(FACE_JOBS_EINVAL, err, err_len,
                             "sources: must be an array");
        goto done;
    }

    n = 0;

    for (item = sources->child; item != NULL; item = item->next) {
        n++;
    }

    if (n == 0) {
        rc = FACE_JOBS_OK;
        goto done;
    }

    out->sources = alloc->alloc(alloc->ctx, n * sizeof(face_jobs_source_t));
    if (out->sources == NULL) {
        goto nomem;
    }

    for (item = sources->child, i = 0; item != NULL; item = item->next, i++)
    {
        rc = face_jobs_source(item, i, alloc, &out->sources[i], err,
                              err_len);
        if (rc != FACE_JOBS_OK) {
            goto done;
        }
    }

    out->nsources = n;
    rc = FACE_JOBS_OK;

done:

    cJSON_Delete(root);
    return rc;

nomem:

    cJSON_Delete(root);
    return edge_json_error(FACE_JOBS_ENOMEM, err, err_len,
                           "payload: out of memory");
}


static int
face_jobs_source(const cJSON *item, size_t i, const face_jobs_alloc_t *alloc,
    face_jobs_source_t *s, char *err, size_t err_len)
{
    char          where[32];
    double        d;
    const char   *v;
    const cJSON  *f;

    if (!cJSON_IsObject(item)) {
        return edge_json_error(FACE_JOBS_EINVAL, err, err_len,
                               "sources[%zu]: must be an object", i);
    }

    snprintf(where, sizeof(where), "sources[%zu].", i);

    if (edge_json_dup_keys(item, face_jobs_source_keys, where, err, err_len)
        != 0)
    {
        return FACE_JOBS_EINVAL;
    }

    /* pk: an integral number; cJSON_IsNumber() is false for booleans */

    f = cJSON_GetObjectItemCaseSensitive(item, "pk");
    d = cJSON_IsNumber(f) ? f->valuedouble : -1.5;

    if (!cJSON_IsNumber(f) || d != floor(d) || d > FACE_JOBS_MAX_PK) {
        return edge_json_error(FACE_JOBS_EINVAL, err, err_len,
                               "sources[%zu].pk: must be an integer", i);
    }

    if (d < 0) {
        return edge_json_error(FACE_JOBS_EINVAL, err, err_len,
                               "sources[%zu].pk: must not be negative", i);
    }

    s->pk = (int64_t) d;

    /* type */

    f = cJSON_GetObjectItemCaseSensitive(item, "type");
    v = cJSON_IsString(f) ? f->valuestring : NULL;

    if (v != NULL && strcmp(v, "photo") == 0) {
        s->type = FACE_JOBS_PHOTO;

    } else if (v != NULL && strcmp(v, "reference") == 0) {
        s->type = FACE_JOBS_REFERENCE;

    } else {
        return edge_json_error(FACE_JOBS_EINVAL, err, err_len,
                               "sources[%zu].type: must be \"photo\" or "
                               "\"reference\"", i);
    }

    /* photo_url */

    f = cJSON_GetObjectItemCaseSensitive(item, "photo_url");
    v = cJSON_IsString(f) ? f->valuestring : NULL;

    if (v == NULL) {
        return edge_json_error(FACE_JOBS_EINVAL, err, err_len,
                               "sources[%zu].photo_url: must be a string",
                               i);
    }

    if (!face_jobs_url_ok(v, strlen(v))) {
        return edge_json_error(FACE_JOBS_EINVAL, err, err_len,
                               "sources[%zu].photo_url: must be an http or "
                               "https URL", i);
    }

    if (face_jobs_copy(alloc, &s->photo_url, v, strlen(v)) != 0) {
        return edge_json_error(FACE_JOBS_ENOMEM, err, err_len,
                               "payload: out of memory");
    }

    /* token */

    f = cJSON_GetObjectItemCaseSensitive(item, "token");
    v = cJSON_IsString(f) ? f->valuestring : NULL;

    if (v == NULL) {
        return edge_json_error(FACE_JOBS_EINVAL, err, err_len,
                               "sources[%zu].token: must be a string", i);
    }

    if (strlen(v) > FACE_JOBS_MAX_TOKEN_LEN) {
        return edge_json_error(FACE_JOBS_EINVAL, err, err_len,
                               "sources[%zu].token: longer than %d bytes",
                               i, FACE_JOBS_MAX_TOKEN_LEN);
    }

    if (face_jobs_copy(alloc, &s->token, v, strlen(v)) != 0) {
        return edge_json_error(FACE_JOBS_ENOMEM, err, err_len,
                               "payload: out of memory");
    }

    return FACE_JOBS_OK;
}


const char *
face_jobs_type_name(face_jobs_type_e type)
{
    return (type == FACE_JOBS_REFERENCE) ? "reference" : "photo";
}


size_t
face_jobs_callback_url(char *dst, size_t size, const face_jobs_payload_t *p,
    const face_jobs_source_t *s)
{
    int  n;

    n = snprintf(dst, size, "%s/api/facedetection/encodings/%s/%lld/",
                 p->api_url.data, face_jobs_type_name(s->type),
                 (long long) s->pk);

    return (n < 0) ? 0 : (size_t) n;
}


char *
face_jobs_callback_body(const char *token, size_t token_len,
    const float *enc, size_t n, size_t *len)
{
    char    *body, *p;
    size_t   size, i, j;

    /* the worst case: every token byte as \u00XX, every float full */

    if (n > ((size_t) -1 - 256 - token_len * 6)
            / (FACE_JOBS_ENCODING * (FACE_JOBS_FLOAT_LEN + 2) + 4))
    {
        return NULL;
    }

    size = sizeof("{\"token\": \"\", \"encodings\": []}") + token_len * 6
           + n * (FACE_JOBS_ENCODING * (FACE_JOBS_FLOAT_LEN + 2) + 4);

    body = malloc(size);
    if (body == NULL) {
        return NULL;
    }

    p = body;
    memcpy(p, "{\"token\": \"", sizeof("{\"token\": \"") - 1);
    p += sizeof("{\"token\": \"") - 1;
    p += face_jobs_escape(p, token, token_len);
    memcpy(p, "\", \"encodings\": [", sizeof("\", \"encodings\": [") - 1);
    p += sizeof("\", \"encodings\": [") - 1;

    for (i = 0; i < n; i++) {
        if (i) {
            *p++ = ',';
            *p++ = ' ';
        }

        *p++ = '[';

        for (j = 0; j < FACE_JOBS_ENCODING; j++) {
            if (j) {
                *p++ = ',';
                *p++ = ' ';
            }

            p += face_jobs_float(p, enc[i * FACE_JOBS_ENCODING + j]);
        }

        *p++ = ']';
    }

    *p++ = ']';
    *p++ = '}';
    *p = '\0';

    *len = p - body;

    return body;
}


size_t
face_jobs_float(char *buf, double v)
{
    int     n;
    size_t  i;

    if (!isfinite(v)) {
        v = 0.0;
    }

    n = snprintf(buf, FACE_JOBS_FLOAT_LEN, "%.9g", v);
    if (n < 0) {
        memcpy(buf, "0.0", sizeof("0.0"));
        return 3;
    }

    for (i = 0; i < (size_t) n; i++) {
        if (buf[i] == '.' || buf[i] == 'e') {
            return n;
        }
    }

    /* an integral value: "1" would read back as an integer */

    buf[n++] = '.';
    buf[n++] = '0';
    buf[n] = '\0';

    return n;
}


face_jobs_verdict_e
face_jobs_verdict(long status)
{
    if (status >= 200 && status <= 299) {
        return FACE_JOBS_DELIVERED;
    }

    /* 429: the site throttles (with Retry-After, the engine waits) */

    if (status == 0 || status == 429 || (status >= 500 && status <= 599)) {
        return FACE_JOBS_RETRY;
    }

    return FACE_JOBS_REJECTED;
}


uint64_t
face_jobs_backoff_ms(unsigned attempt, uint64_t base_ms, uint64_t cap_ms)
{
    uint64_t  ms;

    if (attempt == 0) {
        return 0;
    }

    ms = base_ms;

    while (--attempt && ms < cap_ms) {
        ms *= 2;
    }

    return (ms > cap_ms) ? cap_ms : ms;
}


/*
 * "http://" or "https://", then a non-empty host before any "/", "?" or
 * "#"; no spaces or control characters anywhere.
 */

static int
face_jobs_url_ok(const char *s, size_t len)
{
    size_t  i, start;

    if (len > FACE_JOBS_MAX_URL_LEN) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if ((unsigned char) s[i] <= 0x20 || s[i] == 0x7f || s[i] == '\\') {
            return 0;
        }
    }

    if (len > 7 && strncasecmp(s, "http://", 7) == 0) {
        start = 7;

    } else if (len > 8 && strncasecmp(s, "https://", 8) == 0) {
        start = 8;

    } else {
        return 0;
    }

    for (i = start; i < len; i++) {
        if (s[i] == '/' || s[i] == '?' || s[i] == '#') {
            break;
        }
    }

    /* a host, not only user info or a port */

    if (i == start || s[i - 1] == '@' || s[start] == ':') {
        return 0;
    }

    return 1;
}


static int
face_jobs_copy(const face_jobs_alloc_t *alloc, face_jobs_str_t *str,
    const char *s, size_t len)
{
    char  *p;

    p = alloc->alloc(alloc->ctx, len + 1);
    if (p == NULL) {
        return -1;
    }

    memcpy(p, s, len);
    p[len] = '\0';

    str->data = p;
    str->len = len;

    return 0;
}


/* a JSON string's contents; dst holds 6 bytes per input byte */

static size_t
face_jobs_escape(char *dst, const char *s, size_t len)
{
    char                 *p;
    size_t                i;
    unsigned char         c;
    static const char     hex[] = "0123456789abcdef";

    p = dst;

    for (i = 0; i < len; i++) {
        c = (unsigned char) s[i];

        if (c == '"' || c == '\\') {
            *p++ = '\\';
            *p++ = c;

        } else if (c < 0x20 || c == 0x7f) {
            *p++ = '\\';
            *p++ = 'u';
            *p++ = '0';
            *p++ = '0';
            *p++ = hex[c >> 4];
            *p++ = hex[c & 0xf];

        } else {
            *p++ = c;
        }
    }

    return p - dst;
}
