
/*
 * One S3 request, signed (see edge_s3.h).
 */


#include <stdio.h>
#include <string.h>

#include "edge_s3.h"


#define EDGE_S3_MAX_KEY     1024


static int edge_s3_err(int rc, char *err, size_t err_len, const char *msg);
static int edge_s3_lower(int c);
static int edge_s3_casecmp(const char *a, size_t alen, const char *b);
static int edge_s3_visible(const char *s, size_t len);
static int edge_s3_set(char *dst, size_t *dst_len, size_t max,
    const char *v, size_t len);
static int edge_s3_name_cmp(const edge_sigv4_str_t *a,
    const edge_sigv4_str_t *b);


static int
edge_s3_err(int rc, char *err, size_t err_len, const char *msg)
{
    if (err != NULL && err_len > 0) {
        snprintf(err, err_len, "%s", msg);
    }

    return rc;
}


static int
edge_s3_lower(int c)
{
    return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}


/* 0 when a (alen bytes) equals the NUL-terminated b, in any case */

static int
edge_s3_casecmp(const char *a, size_t alen, const char *b)
{
    size_t  i;

    for (i = 0; i < alen; i++) {
        if (b[i] == '\0'
            || edge_s3_lower((unsigned char) a[i])
               != edge_s3_lower((unsigned char) b[i]))
        {
            return 1;
        }
    }

    return b[alen] != '\0';
}


/* printable ASCII, no blank: what a key id, a secret or a token is */

static int
edge_s3_visible(const char *s, size_t len)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        if ((unsigned char) s[i] <= 0x20 || (unsigned char) s[i] >= 0x7f) {
            return 0;
        }
    }

    return 1;
}


static int
edge_s3_set(char *dst, size_t *dst_len, size_t max, const char *v,
    size_t len)
{
    if (len > max || !edge_s3_visible(v, len)) {
        return 0;
    }

    memcpy(dst, v, len);
    dst[len] = '\0';
    *dst_len = len;

    return 1;
}


int
edge_s3_parse_endpoint(const char *s, size_t len, int *https,
    size_t *host_off, size_t *host_len, int *style, char *err,
    size_t err_len)
{
    size_t       i, start, end, name_end, port_len;
    unsigned     port;
    const char  *suffix = ".amazonaws.com";
    size_t       slen = sizeof(".amazonaws.com") - 1;

    if (len > 7 && edge_s3_casecmp(s, 7, "http://") == 0) {
        *https = 0;
        start = 7;

    } else if (len > 8 && edge_s3_casecmp(s, 8, "https://") == 0) {
        *https = 1;
        start = 8;

    } else {
        return edge_s3_err(EDGE_S3_EINVAL, err, err_len,
                           "the endpoint must start with http:// or "
                           "https://");
    }

    end = len;

    if (s[end - 1] == '/') {
        end--;
    }

    i = start;

    if (i < end && s[i] == '[') {
        while (i < end && s[i] != ']') {
            if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')
                  || (s[i] >= 'A' && s[i] <= 'F') || s[i] == ':'
                  || s[i] == '[' || s[i] == '.'))
            {
                break;
            }

            i++;
        }

        if (i == end || s[i] != ']' || i == start + 1) {
            return edge_s3_err(EDGE_S3_EINVAL, err, err_len,
                               "the endpoint has a bad IPv6 address");
        }

        i++;

    } else {
        while (i < end && ((s[i] >= 'a' && s[i] <= 'z')
                           || (s[i] >= 'A' && s[i] <= 'Z')
                           || (s[i] >= '0' && s[i] <= '9')
                           || s[i] == '.' || s[i] == '-'))
        {
            i++;
        }

        if (i == start) {
            return edge_s3_err(EDGE_S3_EINVAL, err, err_len,
                               "the endpoint has no host");
        }
    }

    name_end = i;

    if (i < end && s[i] == ':') {
        i++;
        port = 0;
        port_len = 0;

        while (i < end && s[i] >= '0' && s[i] <= '9' && port_len < 6) {
            port = port * 10 + (unsigned) (s[i] - '0');
            port_len++;
            i++;
        }

        if (port_len == 0 || port == 0 || port > 65535) {
            return edge_s3_err(EDGE_S3_EINVAL, err, err_len,
                               "the endpoint has a bad port");
        }
    }

    if (i != end) {
        return edge_s3_err(EDGE_S3_EINVAL, err, err_len,
                           "the endpoint must be scheme://host[:port], "
                           "with no path, user or query");
    }

    *host_off = start;
    *host_len = end - start;

    *style = EDGE_S3_STYLE_PATH;

    if (name_end - start > slen
        && edge_s3_casecmp(s + name_end - slen, slen, suffix) == 0)
    {
        *style = EDGE_S3_STYLE_VIRTUAL;
    }

    return EDGE_S3_OK;
}


int
edge_s3_valid_bucket(const char *s, size_t len)
{
    size_t  i;

    if (len < 3 || len > 63) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9')) {
            continue;
        }

        if ((s[i] == '.' || s[i] == '-') && i > 0 && i < len - 1) {
            continue;
        }

        return 0;
    }

    return 1;
}


int
edge_s3_parse_credentials(const char *text, size_t len,
    edge_s3_credentials_t *out, char *err, size_t err_len)
{
    int          have_id, have_secret, ok;
    size_t       i, line, eol, eq, ns, ne, vs, ve, lineno;
    const char  *name;

    if (len > EDGE_S3_MAX_CRED_FILE) {
        return edge_s3_err(EDGE_S3_EINVAL, err, err_len,
                           "the credentials file is too large");
    }

    memset(out, 0, sizeof(edge_s3_credentials_t));
    have_id = 0;
    have_secret = 0;
    lineno = 0;

    for (line = 0; line < len; line = eol + 1) {
        lineno++;

        for (eol = line; eol < len && text[eol] != '\n'; eol++) {
            /* void */
        }

        ns = line;
        ne = eol;

        while (ns < ne && (text[ns] == ' ' || text[ns] == '\t')) {
            ns++;
        }

        while (ne > ns && (text[ne - 1] == ' ' || text[ne - 1] == '\t'
                           || text[ne - 1] == '\r'))
        {
            ne--;
        }

        if (ns == ne || text[ns] == '#' || text[ns] == ';'
            || text[ns] == '[')
        {
            continue;
        }

        for (eq = ns; eq < ne && text[eq] != '='; eq++) {
            /* void */
        }

        if (eq == ne) {
            if (err != NULL && err_len > 0) {
                snprintf(err, err_len, "line %zu: not \"name = value\"",
                         lineno);
            }

            return EDGE_S3_EINVAL;
        }

        vs = eq + 1;
        ve = ne;

        while (vs < ve && (text[vs] == ' ' || text[vs] == '\t')) {
            vs++;
        }

        name = text + ns;

        for (i = eq; i > ns && (text[i - 1] == ' ' || text[i - 1] == '\t');
             i--)
        {
            /* void */
        }

        if (edge_s3_casecmp(name, i - ns, "aws_access_key_id") == 0) {
            ok = vs < ve && edge_s3_set(out->key_id, &out->key_id_len,
                                        EDGE_S3_MAX_KEY_ID, text + vs,
                                        ve - vs);
            have_id = ok;

        } else if (edge_s3_casecmp(name, i - ns, "aws_secret_access_key")
                   == 0)
        {
            ok = vs < ve && edge_s3_set(out->secret, &out->secret_len,
                                        EDGE_S3_MAX_SECRET, text + vs,
                                        ve - vs);
            have_secret = ok;

        } else if (edge_s3_casecmp(name, i - ns, "aws_session_token") == 0) {
            ok = edge_s3_set(out->token, &out->token_len, EDGE_S3_MAX_TOKEN,
                             text + vs, ve - vs);

        } else {
            /* other settings of an AWS credentials file: region... */
            continue;
        }

        if (!ok) {
            if (err != NULL && err_len > 0) {
                snprintf(err, err_len, "line %zu: an empty, too long or "
                         "not printable value", lineno);
            }

            memset(out, 0, sizeof(edge_s3_credentials_t));

            return EDGE_S3_EINVAL;
        }
    }

    if (!have_id || !have_secret) {
        memset(out, 0, sizeof(edge_s3_credentials_t));

        return edge_s3_err(EDGE_S3_EINVAL, err, err_len,
                           "aws_access_key_id and aws_secret_access_key "
                           "are required");
    }

    return EDGE_S3_OK;
}


char *
edge_s3_encode_key(char *dst, const char *key, size_t len)
{
    size_t          i;
    unsigned char   c;
    static const char  hex[] = "0123456789ABCDEF";

    for (i = 0; i < len; i++) {
        c = (unsigned char) key[i];

        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
            || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_'
            || c == '~' || c == '/')
        {
            *dst++ = (char) c;
            continue;
        }

        *dst++ = '%';
        *dst++ = hex[c >> 4];
        *dst++ = hex[c & 0x0f];
    }

    return dst;
}


static int
edge_s3_name_cmp(const edge_sigv4_str_t *a, const edge_sigv4_str_t *b)
{
    size_t  n;
    int     rc;

    n = a->len < b->len ? a->len : b->len;
    rc = memcmp(a->data, b->data, n);

    if (rc != 0) {
        return rc;
    }

    return (a->len > b->len) - (a->len < b->len);
}


int
edge_s3_sign(const edge_s3_target_t *t, const edge_s3_request_t *r,
    const edge_sigv4_alloc_t *a, edge_s3_signed_t *out, char *err,
    size_t err_len)
{
    int                  rc, https, style;
    char                *buf, *p, *lower;
    size_t               i, j, k, n, host_off, host_len, nh, len;
    edge_sigv4_str_t     names[EDGE_S3_MAX_HEADERS + 4], tmp, service;
    edge_sigv4_str_t     host, uri, amz_date;
    edge_sigv4_header_t  hdrs[EDGE_S3_MAX_HEADERS + 4];
    edge_sigv4_request_t req;

    memset(out, 0, sizeof(edge_s3_signed_t));

    rc = edge_s3_parse_endpoint(t->endpoint.data, t->endpoint.len, &https,
                                &host_off, &host_len, &style, err, err_len);
    if (rc != EDGE_S3_OK) {
        return rc;
    }

    if (t->style == EDGE_S3_STYLE_VIRTUAL || t->style == EDGE_S3_STYLE_PATH)
    {
        style = t->style;
    }

    if (!edge_s3_valid_bucket(t->bucket.data, t->bucket.len)) {
        return edge_s3_err(EDGE_S3_EINVAL, err, err_len,
                           "an invalid bucket name");
    }

    if (t->region.len == 0 || t->region.len > 64
        || !edge_s3_visible(t->region.data, t->region.len))
    {
        return edge_s3_err(EDGE_S3_EINVAL, err, err_len,
                           "an invalid region");
    }

    if (t->credentials.key_id_len == 0 || t->credentials.secret_len == 0) {
        return edge_s3_err(EDGE_S3_EINVAL, err, err_len,
                           "no credentials");
    }

    if (r->key.len > EDGE_S3_MAX_KEY) {
        return edge_s3_err(EDGE_S3_EINVAL, err, err_len,
                           "the key is longer than 1024 bytes");
    }

    if (r->method.len == 0 || r->method.len > 16) {
        return edge_s3_err(EDGE_S3_EINVAL, err, err_len,
                           "an invalid method");
    }

    for (i = 0; i < r->method.len; i++) {
        if (r->method.data[i] < 'A' || r->method.data[i] > 'Z') {
            return edge_s3_err(EDGE_S3_EINVAL, err, err_len,
                               "an invalid method");
        }
    }

    for (i = 0; i < r->query.len; i++) {
        if ((unsigned char) r->query.data[i] <= 0x20
            || (unsigned char) r->query.data[i] >= 0x7f
            || r->query.data[i] == '#')
        {
            return edge_s3_err(EDGE_S3_EINVAL, err, err_len,
                               "the query must be encoded");
        }
    }

    if (r->payload_hash.len == 0) {
        out->payload_hash.data = EDGE_S3_UNSIGNED_PAYLOAD;
        out->payload_hash.len = sizeof(EDGE_S3_UNSIGNED_PAYLOAD) - 1;

    } else {
        if (r->payload_hash.len == 64) {
            for (i = 0; i < 64; i++) {
                if (!((r->payload_hash.data[i] >= '0'
                       && r->payload_hash.data[i] <= '9')
                      || (r->payload_hash.data[i] >= 'a'
                          && r->payload_hash.data[i] <= 'f')))
                {
                    break;
                }
            }

        } else {
            i = 0;
        }

        if (i != 64
            && !(r->payload_hash.len == sizeof(EDGE_S3_UNSIGNED_PAYLOAD) - 1
                 && memcmp(r->payload_hash.data, EDGE_S3_UNSIGNED_PAYLOAD,
                           r->payload_hash.len) == 0))
        {
            return edge_s3_err(EDGE_S3_EINVAL, err, err_len,
                               "the payload hash must be 64 lowercase hex "
                               "digits or UNSIGNED-PAYLOAD");
        }

        out->payload_hash = r->payload_hash;
    }

    if (r->nheaders > EDGE_S3_MAX_HEADERS) {
        return edge_s3_err(EDGE_S3_EINVAL, err, err_len,
                           "too many headers to sign");
    }

    /* Host */

    len = host_len + (style == EDGE_S3_STYLE_VIRTUAL ? t->bucket.len + 1 : 0);
    buf = a->alloc(a->ctx, len + 1);
    if (buf == NULL) {
        return EDGE_S3_ENOMEM;
    }

    p = buf;

    if (style == EDGE_S3_STYLE_VIRTUAL) {
        memcpy(p, t->bucket.data, t->bucket.len);
        p += t->bucket.len;
        *p++ = '.';
    }

    memcpy(p, t->endpoint.data + host_off, host_len);
    p += host_len;
    *p = '\0';

    for (i = 0; i < (size_t) (p - buf); i++) {
        buf[i] = (char) edge_s3_lower((unsigned char) buf[i]);
    }

    host.data = buf;
    host.len = p - buf;

    /* the URL: scheme://host/path?query, and the URI in it */

    n = (https ? 8 : 7);
    len = n + host.len + 1 + t->bucket.len + 1 + 3 * r->key.len + 1
          + r->query.len;
    buf = a->alloc(a->ctx, len + 1);
    if (buf == NULL) {
        return EDGE_S3_ENOMEM;
    }

    p = buf;
    memcpy(p, https ? "https://" : "http://", n);
    p += n;
    memcpy(p, host.data, host.len);
    p += host.len;

    uri.data = p;
    *p++ = '/';

    if (style == EDGE_S3_STYLE_PATH) {
        memcpy(p, t->bucket.data, t->bucket.len);
        p += t->bucket.len;

        if (r->key.len) {
            *p++ = '/';
        }
    }

    p = edge_s3_encode_key(p, r->key.data, r->key.len);

    if (r->query.len) {
        *p++ = '?';
        memcpy(p, r->query.data, r->query.len);
        p += r->query.len;
    }

    *p = '\0';

    out->url.data = buf;
    out->url.len = p - buf;
    uri.len = p - uri.data;
    out->uri = uri;
    out->host = host;

    edge_sigv4_format_date(r->time, out->amz_date);
    amz_date.data = out->amz_date;
    amz_date.len = EDGE_SIGV4_DATE_LEN;

    if (t->credentials.token_len) {
        /* a copy: the caller may wipe the target's credentials */
        buf = a->alloc(a->ctx, t->credentials.token_len + 1);
        if (buf == NULL) {
            return EDGE_S3_ENOMEM;
        }

        memcpy(buf, t->credentials.token, t->credentials.token_len + 1);
        out->token.data = buf;
        out->token.len = t->credentials.token_len;

    } else {
        out->token.data = "";
        out->token.len = 0;
    }

    /* the headers to sign, lowercase names; then the sorted name list */

    nh = 0;

#define EDGE_S3_ADD(n, v)                                                     \
    hdrs[nh].name.data = n;                                                   \
    hdrs[nh].name.len = sizeof(n) - 1;                                        \
    hdrs[nh].value = v;                                                       \
    nh++

    EDGE_S3_ADD("host", host);
    EDGE_S3_ADD("x-amz-content-sha256", out->payload_hash);
    EDGE_S3_ADD("x-amz-date", amz_date);

    if (out->token.len) {
        EDGE_S3_ADD("x-amz-security-token", out->token);
    }

#undef EDGE_S3_ADD

    for (i = 0; i < r->nheaders; i++) {
        tmp = r->headers[i].name;

        if (tmp.len == 0 || tmp.len > 64) {
            return edge_s3_err(EDGE_S3_EINVAL, err, err_len,
                               "an invalid header name");
        }

        lower = a->alloc(a->ctx, tmp.len + 1);
        if (lower == NULL) {
            return EDGE_S3_ENOMEM;
        }

        for (j = 0; j < tmp.len; j++) {
            lower[j] = (char) edge_s3_lower((unsigned char) tmp.data[j]);

            if (!((lower[j] >= 'a' && lower[j] <= 'z')
                  || (lower[j] >= '0' && lower[j] <= '9')
                  || lower[j] == '-'))
            {
                return edge_s3_err(EDGE_S3_EINVAL, err, err_len,
                                   "an invalid header name");
            }
        }

        lower[tmp.len] = '\0';

        for (j = 0; j < r->headers[i].value.len; j++) {
            if (r->headers[i].value.data[j] == '\r'
                || r->headers[i].value.data[j] == '\n'
                || r->headers[i].value.data[j] == '\0')
            {
                return edge_s3_err(EDGE_S3_EINVAL, err, err_len,
                                   "a header value with a line break");
            }
        }

        for (j = 0; j < nh; j++) {
            if (hdrs[j].name.len == tmp.len
                && memcmp(hdrs[j].name.data, lower, tmp.len) == 0)
            {
                return edge_s3_err(EDGE_S3_EINVAL, err, err_len,
                                   "a header given twice, or one the "
                                   "signer sets");
            }
        }

        hdrs[nh].name.data = lower;
        hdrs[nh].name.len = tmp.len;
        hdrs[nh].value = r->headers[i].value;
        nh++;
    }

    for (i = 0; i < nh; i++) {
        names[i] = hdrs[i].name;
    }

    for (i = 1; i < nh; i++) {
        tmp = names[i];

        for (k = i; k > 0 && edge_s3_name_cmp(&names[k - 1], &tmp) > 0; k--)
        {
            names[k] = names[k - 1];
        }

        names[k] = tmp;
    }

    len = 0;

    for (i = 0; i < nh; i++) {
        len += names[i].len + 1;
    }

    buf = a->alloc(a->ctx, len);
    if (buf == NULL) {
        return EDGE_S3_ENOMEM;
    }

    p = buf;

    for (i = 0; i < nh; i++) {
        if (i) {
            *p++ = ';';
        }

        memcpy(p, names[i].data, names[i].len);
        p += names[i].len;
    }

    *p = '\0';

    out->signed_headers.data = buf;
    out->signed_headers.len = p - buf;

    /* the path as sent is signed decoded and encoded once: the same */

    memset(&req, 0, sizeof(edge_sigv4_request_t));
    req.method = r->method;

    for (i = 0; i < uri.len && uri.data[i] != '?'; i++) {
        /* void */
    }

    req.path.data = uri.data;
    req.path.len = i;

    if (i < uri.len) {
        req.query.data = uri.data + i + 1;
        req.query.len = uri.len - i - 1;

    } else {
        req.query.data = "";
        req.query.len = 0;
    }

    req.headers = hdrs;
    req.nheaders = nh;
    req.signed_headers = out->signed_headers;
    req.payload_hash = out->payload_hash;
    req.flags = 0;

    service.data = "s3";
    service.len = 2;

    tmp.data = t->credentials.key_id;
    tmp.len = t->credentials.key_id_len;

    rc = edge_sigv4_sign(&req, &tmp, t->credentials.secret,
                         t->credentials.secret_len, &amz_date, &t->region,
                         &service, a, &out->authorization);

    if (rc == EDGE_SIGV4_ENOMEM) {
        return EDGE_S3_ENOMEM;
    }

    if (rc != EDGE_SIGV4_OK) {
        return edge_s3_err(EDGE_S3_EINVAL, err, err_len,
                           "the request cannot be signed");
    }

    return EDGE_S3_OK;
}


int
edge_s3_error_code(const char *xml, size_t len, char *code, size_t code_len)
{
    size_t  i, j, n;

    if (code_len == 0) {
        return 0;
    }

    for (i = 0; i + 6 <= len; i++) {
        if (memcmp(xml + i, "<Code>", 6) != 0) {
            continue;
        }

        i += 6;

        for (j = i; j < len && xml[j] != '<'; j++) {
            if (!((xml[j] >= 'A' && xml[j] <= 'Z')
                  || (xml[j] >= 'a' && xml[j] <= 'z')
                  || (xml[j] >= '0' && xml[j] <= '9')))
            {
                return 0;
            }
        }

        n = j - i;

        if (j == len || n == 0 || n >= code_len
            || len - j < 7 || memcmp(xml + j, "</Code>", 7) != 0)
        {
            return 0;
        }

        memcpy(code, xml + i, n);
        code[n] = '\0';

        return 1;
    }

    return 0;
}
