
/*
 * AWS Signature Version 4 (see edge_sigv4.h).
 *
 * The rules, as AWS's signers and its test suite apply them:
 * - URI encoding: every byte but A-Z a-z 0-9 - . _ ~ becomes %XX in
 *   uppercase hex ("/" is kept in the path).
 * - The query: parameters split on "&", each name and value decoded and
 *   encoded again, sorted by name then value; "a" alone is "a=".
 * - Headers: names lowercased; values trimmed, inner runs of blanks made
 *   one space; several headers of one name joined with ",", in order.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "edge_time.h"
#include "edge_sigv4.h"
#include "edge_hex.h"


#define EDGE_SIGV4_ALGORITHM  "AWS4-HMAC-SHA256"
#define EDGE_SIGV4_TERMINAL   "aws4_request"


typedef struct {
    const char  *key;
    size_t       key_len;
    const char  *value;
    size_t       value_len;
} edge_sigv4_param_t;


static int edge_sigv4_unreserved(unsigned char c);
static char *edge_sigv4_encode(char *dst, const char *src, size_t len,
    int keep_slash);
static char *edge_sigv4_recode(char *dst, const char *src, size_t len,
    int keep_slash);
static int edge_sigv4_path(const edge_sigv4_request_t *req,
    const edge_sigv4_alloc_t *a, edge_sigv4_str_t *out);
static int edge_sigv4_query(const edge_sigv4_str_t *query,
    const edge_sigv4_alloc_t *a, edge_sigv4_str_t *out);
static int edge_sigv4_param_cmp(const void *one, const void *two);
static int edge_sigv4_header_match(const edge_sigv4_str_t *name,
    const edge_sigv4_header_t *h);
static char *edge_sigv4_header_value(char *p, const edge_sigv4_str_t *v);
static int edge_sigv4_list_has(const edge_sigv4_str_t *list,
    const char *name);
static void edge_sigv4_hex(const unsigned char *in, size_t len, char *out);
static int edge_sigv4_err(int rc, char *err, size_t err_len,
    const char *msg);
static void edge_sigv4_digits(char *p, int64_t v, int n);


static int
edge_sigv4_unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
           || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_'
           || c == '~';
}


/* every byte of src encoded (3 bytes out per byte in at most) */

static char *
edge_sigv4_encode(char *dst, const char *src, size_t len, int keep_slash)
{
    size_t          i;
    unsigned char   c;
    static const char  hex[] = "0123456789ABCDEF";

    for (i = 0; i < len; i++) {
        c = (unsigned char) src[i];

        if (edge_sigv4_unreserved(c) || (keep_slash && c == '/')) {
            *dst++ = (char) c;
            continue;
        }

        *dst++ = '%';
        *dst++ = hex[c >> 4];
        *dst++ = hex[c & 0x0f];
    }

    return dst;
}


/* src decoded (a "%" not followed by two hex digits is itself) and encoded */

static char *
edge_sigv4_recode(char *dst, const char *src, size_t len, int keep_slash)
{
    int     hi, lo, decoded;
    char    c;
    size_t  i;

    for (i = 0; i < len; i++) {
        c = src[i];
        decoded = 0;

        if (c == '%' && i + 2 < len) {
            hi = edge_hex_digit((unsigned char) src[i + 1]);
            lo = edge_hex_digit((unsigned char) src[i + 2]);

            if (hi >= 0 && lo >= 0) {
                c = (char) (hi << 4 | lo);
                decoded = 1;
                i += 2;
            }
        }

        /* an encoded "/" stays encoded */

        dst = edge_sigv4_encode(dst, &c, 1, keep_slash && !decoded);
    }

    return dst;
}


/* the canonical URI */

static int
edge_sigv4_path(const edge_sigv4_request_t *req,
    const edge_sigv4_alloc_t *a, edge_sigv4_str_t *out)
{
    char        *buf, *p;
    size_t       i, start, n, nseg, len;
    size_t      *stack;
    const char  *path, *s;

    path = req->path.data;
    len = req->path.len;

    if (req->flags & EDGE_SIGV4_PATH_NORMALIZE) {

        /* "." and empty segments dropped, ".." removes the one before */

        buf = a->alloc(a->ctx, len + 2);
        stack = a->alloc(a->ctx, (len / 2 + 2) * sizeof(size_t));
        if (buf == NULL || stack == NULL) {
            return EDGE_SIGV4_ENOMEM;
        }

        n = 0;
        nseg = 0;
        start = 0;

        for (i = 0; i <= len; i++) {
            if (i < len && path[i] != '/') {
                continue;
            }

            s = path + start;

            if (i - start == 0 || (i - start == 1 && s[0] == '.')) {
                /* void */

            } else if (i - start == 2 && s[0] == '.' && s[1] == '.') {
                if (nseg) {
                    n = stack[--nseg];
                }

            } else {
                stack[nseg++] = n;
                buf[n++] = '/';
                memcpy(buf + n, s, i - start);
                n += i - start;
            }

            start = i + 1;
        }

        if (nseg && len && path[len - 1] == '/') {
            buf[n++] = '/';
        }

        path = buf;
        len = n;
    }

    if (len == 0) {
        path = "/";
        len = 1;
    }

    p = a->alloc(a->ctx, 3 * len + 1);
    if (p == NULL) {
        return EDGE_SIGV4_ENOMEM;
    }

    out->data = p;

    if (req->flags & EDGE_SIGV4_PATH_DOUBLE) {
        p = edge_sigv4_encode(p, path, len, 1);

    } else {
        p = edge_sigv4_recode(p, path, len, 1);
    }

    *p = '\0';
    out->len = p - out->data;

    return EDGE_SIGV4_OK;
}


/* the canonical query string */

static int
edge_sigv4_query(const edge_sigv4_str_t *query, const edge_sigv4_alloc_t *a,
    edge_sigv4_str_t *out)
{
    char                *buf, *p;
    size_t               i, n, start, eq;
    const char          *q;
    edge_sigv4_param_t  *params;

    q = query->data;

    out->data = "";
    out->len = 0;

    if (query->len == 0) {
        return EDGE_SIGV4_OK;
    }

    params = a->alloc(a->ctx, EDGE_SIGV4_MAX_PARAMS
                              * sizeof(edge_sigv4_param_t));
    buf = a->alloc(a->ctx, 3 * query->len + 1);

    if (params == NULL || buf == NULL) {
        return EDGE_SIGV4_ENOMEM;
    }

    /* each name and value recoded into buf, then sorted */

    p = buf;
    n = 0;
    start = 0;

    for (i = 0; i <= query->len; i++) {
        if (i < query->len && q[i] != '&') {
            continue;
        }

        if (i > start) {
            if (n == EDGE_SIGV4_MAX_PARAMS) {
                return EDGE_SIGV4_EINVAL;
            }

            for (eq = start; eq < i && q[eq] != '='; eq++) {
                /* void */
            }

            params[n].key = p;
            p = edge_sigv4_recode(p, q + start, eq - start, 0);
            params[n].key_len = p - params[n].key;

            params[n].value = p;

            if (eq < i) {
                p = edge_sigv4_recode(p, q + eq + 1, i - eq - 1, 0);
            }

            params[n].value_len = p - params[n].value;
            n++;
        }

        start = i + 1;
    }

    qsort(params, n, sizeof(edge_sigv4_param_t), edge_sigv4_param_cmp);

    /* joined: the recoded bytes, a "=" and a "&" per parameter */

    p = a->alloc(a->ctx, (size_t) (p - buf) + 2 * n + 1);
    if (p == NULL) {
        return EDGE_SIGV4_ENOMEM;
    }

    out->data = p;

    for (i = 0; i < n; i++) {
        if (i) {
            *p++ = '&';
        }

        memcpy(p, params[i].key, params[i].key_len);
        p += params[i].key_len;
        *p++ = '=';
        memcpy(p, params[i].value, params[i].value_len);
        p += params[i].value_len;
    }

    out->len = p - out->data;

    return EDGE_SIGV4_OK;
}


static int
edge_sigv4_param_cmp(const void *one, const void *two)
{
    int                        rc;
    size_t                     n;
    const edge_sigv4_param_t  *x = one, *y = two;

    n = x->key_len < y->key_len ? x->key_len : y->key_len;
    rc = memcmp(x->key, y->key, n);

    if (rc || x->key_len != y->key_len) {
        return rc ? rc : (x->key_len < y->key_len ? -1 : 1);
    }

    n = x->value_len < y->value_len ? x->value_len : y->value_len;
    rc = memcmp(x->value, y->value, n);

    if (rc || x->value_len == y->value_len) {
        return rc;
    }

    return x->value_len < y->value_len ? -1 : 1;
}


/* 1 if the header's name is name (lowercase), compared without case */

static int
edge_sigv4_header_match(const edge_sigv4_str_t *name,
    const edge_sigv4_header_t *h)
{
    size_t  i;
    char    c;

    if (h->name.len != name->len) {
        return 0;
    }

    for (i = 0; i < name->len; i++) {
        c = h->name.data[i];

        if (c >= 'A' && c <= 'Z') {
            c = (char) (c | 0x20);
        }

        if (c != name->data[i]) {
            return 0;
        }
    }

    return 1;
}


/* the value trimmed, every inner run of blanks one space */

static char *
edge_sigv4_header_value(char *p, const edge_sigv4_str_t *v)
{
    size_t       i, start, end;
    const char  *s;

    s = v->data;
    start = 0;
    end = v->len;

    while (start < end && (s[start] == ' ' || s[start] == '\t')) {
        start++;
    }

    while (end > start && (s[end - 1] == ' ' || s[end - 1] == '\t')) {
        end--;
    }

    for (i = start; i < end; i++) {
        if (s[i] == ' ' || s[i] == '\t') {
            if (s[i - 1] == ' ' || s[i - 1] == '\t') {
                continue;
            }

            *p++ = ' ';
            continue;
        }

        *p++ = s[i];
    }

    return p;
}


int
edge_sigv4_canonical_request(const edge_sigv4_request_t *req,
    const edge_sigv4_alloc_t *a, edge_sigv4_str_t *out)
{
    int                        rc, first;
    char                      *buf, *p;
    size_t                     i, j, start, len, nnames;
    edge_sigv4_str_t           path, query, name;
    const edge_sigv4_str_t    *sh;

    rc = edge_sigv4_path(req, a, &path);
    if (rc != EDGE_SIGV4_OK) {
        return rc;
    }

    rc = edge_sigv4_query(&req->query, a, &query);
    if (rc != EDGE_SIGV4_OK) {
        return rc;
    }

    sh = &req->signed_headers;

    if (sh->len == 0) {
        return EDGE_SIGV4_EINVAL;
    }

    /* the size: every name with the values of all its headers */

    len = req->method.len + path.len + query.len + sh->len
          + req->payload_hash.len + 8;
    nnames = 0;
    start = 0;

    for (i = 0; i <= sh->len; i++) {
        if (i < sh->len && sh->data[i] != ';') {
            if (!((sh->data[i] >= 'a' && sh->data[i] <= 'z')
                  || (sh->data[i] >= '0' && sh->data[i] <= '9')
                  || sh->data[i] == '-' || sh->data[i] == '_'))
            {
                return EDGE_SIGV4_EINVAL;
            }

            continue;
        }

        if (i == start || ++nnames > EDGE_SIGV4_MAX_PARAMS) {
            return EDGE_SIGV4_EINVAL;
        }

        name.data = sh->data + start;
        name.len = i - start;
        len += name.len + 2;

        for (j = 0; j < req->nheaders; j++) {
            if (edge_sigv4_header_match(&name, &req->headers[j])) {
                len += req->headers[j].value.len + 1;
            }
        }

        start = i + 1;
    }

    buf = a->alloc(a->ctx, len + 1);
    if (buf == NULL) {
        return EDGE_SIGV4_ENOMEM;
    }

    p = buf;
    memcpy(p, req->method.data, req->method.len);
    p += req->method.len;
    *p++ = '\n';
    memcpy(p, path.data, path.len);
    p += path.len;
    *p++ = '\n';
    memcpy(p, query.data, query.len);
    p += query.len;
    *p++ = '\n';

    start = 0;

    for (i = 0; i <= sh->len; i++) {
        if (i < sh->len && sh->data[i] != ';') {
            continue;
        }

        name.data = sh->data + start;
        name.len = i - start;

        memcpy(p, name.data, name.len);
        p += name.len;
        *p++ = ':';

        first = 1;

        for (j = 0; j < req->nheaders; j++) {
            if (!edge_sigv4_header_match(&name, &req->headers[j])) {
                continue;
            }

            if (!first) {
                *p++ = ',';
            }

            p = edge_sigv4_header_value(p, &req->headers[j].value);
            first = 0;
        }

        *p++ = '\n';
        start = i + 1;
    }

    *p++ = '\n';
    memcpy(p, sh->data, sh->len);
    p += sh->len;
    *p++ = '\n';
    memcpy(p, req->payload_hash.data, req->payload_hash.len);
    p += req->payload_hash.len;
    *p = '\0';

    out->data = buf;
    out->len = p - buf;

    return EDGE_SIGV4_OK;
}


int
edge_sigv4_string_to_sign(const edge_sigv4_str_t *amz_date,
    const edge_sigv4_str_t *scope, const edge_sigv4_str_t *creq,
    const edge_sigv4_alloc_t *a, edge_sigv4_str_t *out)
{
    int   n;
    char  *buf, hash[65];

    edge_sigv4_sha256_hex(creq->data, creq->len, hash);

    buf = a->alloc(a->ctx, sizeof(EDGE_SIGV4_ALGORITHM) + amz_date->len
                           + scope->len + 64 + 4);
    if (buf == NULL) {
        return EDGE_SIGV4_ENOMEM;
    }

    n = sprintf(buf, EDGE_SIGV4_ALGORITHM "\n%.*s\n%.*s\n%s",
                (int) amz_date->len, amz_date->data, (int) scope->len,
                scope->data, hash);

    out->data = buf;
    out->len = (size_t) n;

    return EDGE_SIGV4_OK;
}


int
edge_sigv4_signing_key(const char *secret, size_t secret_len,
    const edge_sigv4_str_t *day, const edge_sigv4_str_t *region,
    const edge_sigv4_str_t *service, unsigned char key[32])
{
    unsigned int   n;
    unsigned char  k[32];
    unsigned char  buf[4 + EDGE_SIGV4_MAX_SECRET];

    if (secret_len > EDGE_SIGV4_MAX_SECRET) {
        return EDGE_SIGV4_EINVAL;
    }

    memcpy(buf, "AWS4", 4);
    memcpy(buf + 4, secret, secret_len);

    n = 32;
    HMAC(EVP_sha256(), buf, (int) (4 + secret_len),
         (const unsigned char *) day->data, day->len, k, &n);
    HMAC(EVP_sha256(), k, 32, (const unsigned char *) region->data,
         region->len, k, &n);
    HMAC(EVP_sha256(), k, 32, (const unsigned char *) service->data,
         service->len, k, &n);
    HMAC(EVP_sha256(), k, 32, (const unsigned char *) EDGE_SIGV4_TERMINAL,
         sizeof(EDGE_SIGV4_TERMINAL) - 1, key, &n);

    OPENSSL_cleanse(buf, sizeof(buf));
    OPENSSL_cleanse(k, sizeof(k));

    return EDGE_SIGV4_OK;
}


void
edge_sigv4_signature(const unsigned char key[32],
    const edge_sigv4_str_t *sts, char hex[65])
{
    unsigned int   n;
    unsigned char  mac[32];

    n = 32;
    HMAC(EVP_sha256(), key, 32, (const unsigned char *) sts->data,
         sts->len, mac, &n);

    edge_sigv4_hex(mac, 32, hex);
}


void
edge_sigv4_sha256_hex(const void *data, size_t len, char hex[65])
{
    unsigned char  md[SHA256_DIGEST_LENGTH];

    SHA256(data ? data : (const void *) "", len, md);
    edge_sigv4_hex(md, sizeof(md), hex);
}


int
edge_sigv4_equal(const void *a, const void *b, size_t n)
{
    return CRYPTO_memcmp(a, b, n) == 0;
}


static void
edge_sigv4_hex(const unsigned char *in, size_t len, char *out)
{
    size_t             i;
    static const char  hex[] = "0123456789abcdef";

    for (i = 0; i < len; i++) {
        *out++ = hex[in[i] >> 4];
        *out++ = hex[in[i] & 0x0f];
    }

    *out = '\0';
}


static int
edge_sigv4_err(int rc, char *err, size_t err_len, const char *msg)
{
    if (err_len) {
        snprintf(err, err_len, "%s", msg);
    }

    return rc;
}


int
edge_sigv4_parse_authorization(const char *value, size_t len,
    edge_sigv4_auth_t *out, char *err, size_t err_len)
{
    size_t             i, start, end, eq, nparts;
    const char        *s, *part[5];
    size_t             part_len[5];
    edge_sigv4_str_t   v;

    memset(out, 0, sizeof(edge_sigv4_auth_t));

    if (len < sizeof(EDGE_SIGV4_ALGORITHM)
        || memcmp(value, EDGE_SIGV4_ALGORITHM " ",
                  sizeof(EDGE_SIGV4_ALGORITHM)) != 0)
    {
        return edge_sigv4_err(EDGE_SIGV4_EINVAL, err, err_len,
                              "Authorization: must start with "
                              "\"AWS4-HMAC-SHA256 \"");
    }

    /* the components, comma-separated */

    start = sizeof(EDGE_SIGV4_ALGORITHM);

    while (start < len) {
        while (start < len && value[start] == ' ') {
            start++;
        }

        for (end = start; end < len && value[end] != ','; end++) {
            /* void */
        }

        for (eq = start; eq < end && value[eq] != '='; eq++) {
            /* void */
        }

        if (eq == end) {
            return edge_sigv4_err(EDGE_SIGV4_EINVAL, err, err_len,
                                  "Authorization: a component without "
                                  "\"=\"");
        }

        s = value + start;
        v.data = value + eq + 1;
        v.len = end - eq - 1;

        while (v.len && v.data[v.len - 1] == ' ') {
            v.len--;
        }

#define EDGE_SIGV4_IS(name)                                                   \
        (eq - start == sizeof(name) - 1 && memcmp(s, name, eq - start) == 0)

        if (EDGE_SIGV4_IS("Credential")) {
            if (out->access_key.data) {
                goto twice;
            }

            nparts = 0;
            part[0] = v.data;

            for (i = 0; i <= v.len; i++) {
                if (i < v.len && v.data[i] != '/') {
                    continue;
                }

                if (nparts == 5) {
                    goto credential;
                }

                part_len[nparts] = v.data + i - part[nparts];
                nparts++;

                if (nparts < 5) {
                    part[nparts] = v.data + i + 1;
                }
            }

            if (nparts != 5 || part_len[0] == 0 || part_len[1] != 8
                || part_len[2] == 0 || part_len[3] == 0
                || part_len[4] != sizeof(EDGE_SIGV4_TERMINAL) - 1
                || memcmp(part[4], EDGE_SIGV4_TERMINAL, part_len[4]) != 0)
            {
                goto credential;
            }

            for (i = 0; i < 8; i++) {
                if (part[1][i] < '0' || part[1][i] > '9') {
                    goto credential;
                }
            }

            out->access_key.data = part[0];
            out->access_key.len = part_len[0];
            out->date.data = part[1];
            out->date.len = 8;
            out->region.data = part[2];
            out->region.len = part_len[2];
            out->service.data = part[3];
            out->service.len = part_len[3];

        } else if (EDGE_SIGV4_IS("SignedHeaders")) {
            if (out->signed_headers.data) {
                goto twice;
            }

            if (v.len == 0) {
                return edge_sigv4_err(EDGE_SIGV4_EINVAL, err, err_len,
                                      "Authorization: SignedHeaders is "
                                      "empty");
            }

            out->signed_headers = v;

        } else if (EDGE_SIGV4_IS("Signature")) {
            if (out->signature.data) {
                goto twice;
            }

            if (v.len != 64) {
                goto signature;
            }

            for (i = 0; i < 64; i++) {
                if (!((v.data[i] >= '0' && v.data[i] <= '9')
                      || (v.data[i] >= 'a' && v.data[i] <= 'f')))
                {
                    goto signature;
                }
            }

            out->signature = v;

        } else {
            return edge_sigv4_err(EDGE_SIGV4_EINVAL, err, err_len,
                                  "Authorization: an unknown component");
        }

#undef EDGE_SIGV4_IS

        start = end + 1;
    }

    if (out->access_key.data == NULL) {
        return edge_sigv4_err(EDGE_SIGV4_EINVAL, err, err_len,
                              "Authorization header requires 'Credential' "
                              "parameter");
    }

    if (out->signed_headers.data == NULL) {
        return edge_sigv4_err(EDGE_SIGV4_EINVAL, err, err_len,
                              "Authorization header requires "
                              "'SignedHeaders' parameter");
    }

    if (out->signature.data == NULL) {
        return edge_sigv4_err(EDGE_SIGV4_EINVAL, err, err_len,
                              "Authorization header requires 'Signature' "
                              "parameter");
    }

    return EDGE_SIGV4_OK;

twice:

    return edge_sigv4_err(EDGE_SIGV4_EINVAL, err, err_len,
                          "Authorization: a component given twice");

credential:

    return edge_sigv4_err(EDGE_SIGV4_EINVAL, err, err_len,
                          "Authorization: Credential must be <access key>/"
                          "<YYYYMMDD>/<region>/<service>/aws4_request");

signature:

    return edge_sigv4_err(EDGE_SIGV4_EINVAL, err, err_len,
                          "Authorization: Signature must be 64 lowercase "
                          "hexadecimal digits");
}



int
edge_sigv4_parse_date(const char *s, size_t len, int64_t *t)
{
    size_t   i;
    int64_t  v[6];
    static const unsigned char  pos[6] = { 0, 4, 6, 9, 11, 13 };
    static const unsigned char  width[6] = { 4, 2, 2, 2, 2, 2 };
    static const unsigned char  mdays[12] = { 31, 29, 31, 30, 31, 30, 31,
                                              31, 30, 31, 30, 31 };

    if (len != EDGE_SIGV4_DATE_LEN || s[8] != 'T' || s[15] != 'Z') {
        return EDGE_SIGV4_EINVAL;
    }

    for (i = 0; i < 6; i++) {
        size_t  j;

        v[i] = 0;

        for (j = pos[i]; j < (size_t) pos[i] + width[i]; j++) {
            if (s[j] < '0' || s[j] > '9') {
                return EDGE_SIGV4_EINVAL;
            }

            v[i] = v[i] * 10 + (s[j] - '0');
        }
    }

    if (v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > mdays[v[1] - 1]
        || v[3] > 23 || v[4] > 59 || v[5] > 60)
    {
        return EDGE_SIGV4_EINVAL;
    }

    /* February 29th of a common year */

    if (v[1] == 2 && v[2] == 29
        && (v[0] % 4 != 0 || (v[0] % 100 == 0 && v[0] % 400 != 0)))
    {
        return EDGE_SIGV4_EINVAL;
    }

    *t = edge_days_from_civil(v[0], v[1], v[2]) * 86400 + v[3] * 3600
         + v[4] * 60 + v[5];

    return EDGE_SIGV4_OK;
}


static void
edge_sigv4_digits(char *p, int64_t v, int n)
{
    while (n--) {
        p[n] = (char) ('0' + v % 10);
        v /= 10;
    }
}


void
edge_sigv4_format_date(int64_t t, char out[EDGE_SIGV4_DATE_LEN + 1])
{
    int64_t  days, secs, z, era, doe, yoe, y, doy, mp, d, m;

    days = t / 86400;
    secs = t % 86400;

    if (secs < 0) {
        secs += 86400;
        days--;
    }

    /* the inverse of edge_days_from_civil() */

    z = days + 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    y = yoe + era * 400;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    d = doy - (153 * mp + 2) / 5 + 1;
    m = mp < 10 ? mp + 3 : mp - 9;
    y += m <= 2;

    if (y < 0 || y > 9999) {
        y = 0;
    }

    edge_sigv4_digits(out, y, 4);
    edge_sigv4_digits(out + 4, m, 2);
    edge_sigv4_digits(out + 6, d, 2);
    out[8] = 'T';
    edge_sigv4_digits(out + 9, secs / 3600, 2);
    edge_sigv4_digits(out + 11, secs / 60 % 60, 2);
    edge_sigv4_digits(out + 13, secs % 60, 2);
    out[15] = 'Z';
    out[16] = '\0';
}


/* 1 if the ";"-separated list has name */

static int
edge_sigv4_list_has(const edge_sigv4_str_t *list, const char *name)
{
    size_t  i, start, n;

    n = strlen(name);
    start = 0;

    for (i = 0; i <= list->len; i++) {
        if (i < list->len && list->data[i] != ';') {
            continue;
        }

        if (i - start == n && memcmp(list->data + start, name, n) == 0) {
            return 1;
        }

        start = i + 1;
    }

    return 0;
}


int
edge_sigv4_verify(const edge_sigv4_request_t *req,
    const edge_sigv4_auth_t *auth, const edge_sigv4_str_t *amz_date,
    const char *secret, size_t secret_len, int64_t now, int64_t max_skew,
    const edge_sigv4_alloc_t *a, char *err, size_t err_len)
{
    int                   rc;
    char                  sig[65], *scope_buf;
    int64_t               t;
    unsigned char         key[32];
    edge_sigv4_str_t      creq, sts, scope;
    edge_sigv4_request_t  r;

    if (amz_date->len == 0
        || edge_sigv4_parse_date(amz_date->data, amz_date->len, &t)
           != EDGE_SIGV4_OK)
    {
        return edge_sigv4_err(EDGE_SIGV4_EINVAL, err, err_len,
                              "X-Amz-Date: must be YYYYMMDDTHHMMSSZ");
    }

    if (!edge_sigv4_list_has(&auth->signed_headers, "host")
        || !edge_sigv4_list_has(&auth->signed_headers, "x-amz-date"))
    {
        return edge_sigv4_err(EDGE_SIGV4_EINVAL, err, err_len,
                              "Authorization: SignedHeaders must include "
                              "host and x-amz-date");
    }

    if (auth->date.len != 8 || memcmp(auth->date.data, amz_date->data, 8))
    {
        return edge_sigv4_err(EDGE_SIGV4_EMISMATCH, err, err_len,
                              "Credential should be scoped to a valid "
                              "date: the day of X-Amz-Date");
    }

    if (t < now - max_skew || t > now + max_skew) {
        return edge_sigv4_err(EDGE_SIGV4_EDATE, err, err_len,
                              "Signature expired: X-Amz-Date is too far "
                              "from the server's time");
    }

    r = *req;
    r.signed_headers = auth->signed_headers;

    rc = edge_sigv4_canonical_request(&r, a, &creq);
    if (rc != EDGE_SIGV4_OK) {
        return edge_sigv4_err(rc, err, err_len,
                              (rc == EDGE_SIGV4_ENOMEM)
                              ? "out of memory"
                              : "Authorization: bad SignedHeaders, or too "
                                "many query parameters");
    }

    /* the scope: "<day>/<region>/<service>/aws4_request" */

    scope.len = auth->date.len + auth->region.len + auth->service.len
                + sizeof(EDGE_SIGV4_TERMINAL) + 2;
    scope_buf = a->alloc(a->ctx, scope.len + 1);
    if (scope_buf == NULL) {
        return edge_sigv4_err(EDGE_SIGV4_ENOMEM, err, err_len,
                              "out of memory");
    }

    snprintf(scope_buf, scope.len + 1, "%.*s/%.*s/%.*s/" EDGE_SIGV4_TERMINAL,
             (int) auth->date.len, auth->date.data, (int) auth->region.len,
             auth->region.data, (int) auth->service.len, auth->service.data);
    scope.data = scope_buf;

    rc = edge_sigv4_string_to_sign(amz_date, &scope, &creq, a, &sts);
    if (rc != EDGE_SIGV4_OK) {
        return edge_sigv4_err(rc, err, err_len, "out of memory");
    }

    if (edge_sigv4_signing_key(secret, secret_len, &auth->date,
                               &auth->region, &auth->service, key)
        != EDGE_SIGV4_OK)
    {
        return edge_sigv4_err(EDGE_SIGV4_EMISMATCH, err, err_len,
                              "the secret access key is too long");
    }

    edge_sigv4_signature(key, &sts, sig);
    OPENSSL_cleanse(key, sizeof(key));

    if (!edge_sigv4_equal(sig, auth->signature.data, 64)) {
        return edge_sigv4_err(EDGE_SIGV4_EMISMATCH, err, err_len,
                              "The request signature we calculated does "
                              "not match the signature you provided");
    }

    return EDGE_SIGV4_OK;
}


int
edge_sigv4_sign(const edge_sigv4_request_t *req,
    const edge_sigv4_str_t *access_key, const char *secret,
    size_t secret_len, const edge_sigv4_str_t *amz_date,
    const edge_sigv4_str_t *region, const edge_sigv4_str_t *service,
    const edge_sigv4_alloc_t *a, edge_sigv4_str_t *authorization)
{
    int               rc, n;
    char              sig[65], *scope_buf, *buf;
    size_t            len;
    unsigned char     key[32];
    edge_sigv4_str_t  creq, sts, scope, day;

    if (amz_date->len != EDGE_SIGV4_DATE_LEN) {
        return EDGE_SIGV4_EINVAL;
    }

    day.data = amz_date->data;
    day.len = 8;

    rc = edge_sigv4_canonical_request(req, a, &creq);
    if (rc != EDGE_SIGV4_OK) {
        return rc;
    }

    scope.len = 8 + region->len + service->len
                + sizeof(EDGE_SIGV4_TERMINAL) + 2;
    scope_buf = a->alloc(a->ctx, scope.len + 1);
    if (scope_buf == NULL) {
        return EDGE_SIGV4_ENOMEM;
    }

    snprintf(scope_buf, scope.len + 1, "%.8s/%.*s/%.*s/" EDGE_SIGV4_TERMINAL,
             amz_date->data, (int) region->len, region->data,
             (int) service->len, service->data);
    scope.data = scope_buf;

    rc = edge_sigv4_string_to_sign(amz_date, &scope, &creq, a, &sts);
    if (rc != EDGE_SIGV4_OK) {
        return rc;
    }

    rc = edge_sigv4_signing_key(secret, secret_len, &day, region, service,
                                key);
    if (rc != EDGE_SIGV4_OK) {
        return rc;
    }

    edge_sigv4_signature(key, &sts, sig);
    OPENSSL_cleanse(key, sizeof(key));

    len = sizeof(EDGE_SIGV4_ALGORITHM " Credential=/, SignedHeaders=, "
                 "Signature=") + access_key->len + scope.len
          + req->signed_headers.len + 64;

    buf = a->alloc(a->ctx, len);
    if (buf == NULL) {
        return EDGE_SIGV4_ENOMEM;
    }

    n = snprintf(buf, len, EDGE_SIGV4_ALGORITHM " Credential=%.*s/%s, "
                 "SignedHeaders=%.*s, Signature=%s", (int) access_key->len,
                 access_key->data, scope_buf,
                 (int) req->signed_headers.len, req->signed_headers.data,
                 sig);

    authorization->data = buf;
    authorization->len = (size_t) n;

    return EDGE_SIGV4_OK;
}
