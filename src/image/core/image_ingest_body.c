
/*
 * Upload bodies: a small strict JSON checker that remembers where
 * data.image is, and an in-place base64 decoder.  See the header.
 *
 * The checker does not build a tree: the image string can be tens of
 * megabytes, and copying it (as cJSON would) doubles the memory of an
 * upload for nothing.
 */


#include <stdio.h>
#include <string.h>

#include "image_ingest_body.h"
#include "edge_hex.h"


typedef struct {
    const char  *buf;
    size_t       len;
    size_t       pos;
    int          depth;

    /* where data.image is */
    int          seen_data;
    int          seen_image;
    size_t       image_off;
    size_t       image_len;

    const char  *error;
} image_ingest_json_t;


/* what the member being parsed is, for data.image */
#define IMAGE_INGEST_IN_OTHER   0
#define IMAGE_INGEST_IN_DATA    1     /* the value of the top "data" */
#define IMAGE_INGEST_IN_IMAGE   2     /* the value of data's "image" */


static int image_ingest_json_value(image_ingest_json_t *j, int role);
static int image_ingest_json_object(image_ingest_json_t *j, int role);
static int image_ingest_json_array(image_ingest_json_t *j);
static int image_ingest_json_string(image_ingest_json_t *j, size_t *off,
    size_t *slen);
static int image_ingest_json_number(image_ingest_json_t *j);
static int image_ingest_json_literal(image_ingest_json_t *j,
    const char *word, size_t n);
static void image_ingest_json_space(image_ingest_json_t *j);
static int image_ingest_fail(image_ingest_json_t *j, const char *msg);
static int image_ingest_b64(int c);
static void image_ingest_err(char *err, size_t err_len, const char *msg);


int
image_ingest_body_is_json(const char *buf, size_t len)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        switch (buf[i]) {

        case ' ':
        case '\t':
        case '\r':
        case '\n':
            continue;

        case '{':
            return 1;

        default:
            return 0;
        }
    }

    return 0;
}


int
image_ingest_body_json(const char *buf, size_t len, size_t *off,
    size_t *slen, char *err, size_t err_len)
{
    image_ingest_json_t  j;

    memset(&j, 0, sizeof(image_ingest_json_t));
    j.buf = buf;
    j.len = len;

    image_ingest_json_space(&j);

    if (j.pos >= j.len || j.buf[j.pos] != '{') {
        image_ingest_err(err, err_len, "body: must be a JSON object");
        return IMAGE_INGEST_BODY_EINVAL;
    }

    if (image_ingest_json_object(&j, IMAGE_INGEST_IN_OTHER) != 0) {
        image_ingest_err(err, err_len, j.error);
        return IMAGE_INGEST_BODY_EINVAL;
    }

    image_ingest_json_space(&j);

    if (j.pos != j.len) {
        image_ingest_err(err, err_len, "body: text after the JSON object");
        return IMAGE_INGEST_BODY_EINVAL;
    }

    if (!j.seen_data) {
        image_ingest_err(err, err_len, "data: missing");
        return IMAGE_INGEST_BODY_EINVAL;
    }

    if (!j.seen_image) {
        image_ingest_err(err, err_len, "data.image: missing");
        return IMAGE_INGEST_BODY_EINVAL;
    }

    *off = j.image_off;
    *slen = j.image_len;

    return IMAGE_INGEST_BODY_OK;
}


static int
image_ingest_json_value(image_ingest_json_t *j, int role)
{
    size_t  off, n;

    image_ingest_json_space(j);

    if (j->pos >= j->len) {
        return image_ingest_fail(j, "body: malformed JSON (truncated)");
    }

    if (role == IMAGE_INGEST_IN_DATA && j->buf[j->pos] != '{') {
        return image_ingest_fail(j, "data: must be an object");
    }

    if (role == IMAGE_INGEST_IN_IMAGE && j->buf[j->pos] != '"') {
        return image_ingest_fail(j, "data.image: must be a string");
    }

    switch (j->buf[j->pos]) {

    case '{':
        return image_ingest_json_object(j, role);

    case '[':
        return image_ingest_json_array(j);

    case '"':
        if (image_ingest_json_string(j, &off, &n) != 0) {
            return -1;
        }

        if (role == IMAGE_INGEST_IN_IMAGE) {
            j->image_off = off;
            j->image_len = n;
        }

        return 0;

    case 't':
        return image_ingest_json_literal(j, "true", 4);

    case 'f':
        return image_ingest_json_literal(j, "false", 5);

    case 'n':
        return image_ingest_json_literal(j, "null", 4);

    default:
        return image_ingest_json_number(j);
    }
}


/* at "{"; the top object is depth 1, data's value depth 2 */

static int
image_ingest_json_object(image_ingest_json_t *j, int role)
{
    int     child;
    size_t  off, n;

    if (++j->depth > IMAGE_INGEST_BODY_MAX_DEPTH) {
        return image_ingest_fail(j, "body: JSON nested too deeply");
    }

    j->pos++;
    image_ingest_json_space(j);

    if (j->pos < j->len && j->buf[j->pos] == '}') {
        j->pos++;
        j->depth--;
        return 0;
    }

    for ( ;; ) {
        image_ingest_json_space(j);

        if (j->pos >= j->len || j->buf[j->pos] != '"') {
            return image_ingest_fail(j, "body: malformed JSON "
                                        "(expected a key)");
        }

        if (image_ingest_json_string(j, &off, &n) != 0) {
            return -1;
        }

        child = IMAGE_INGEST_IN_OTHER;

        if (j->depth == 1 && n == 4 && memcmp(j->buf + off, "data", 4) == 0)
        {
            if (j->seen_data) {
                return image_ingest_fail(j, "data: given twice");
            }

            j->seen_data = 1;
            child = IMAGE_INGEST_IN_DATA;

        } else if (j->depth == 2 && role == IMAGE_INGEST_IN_DATA && n == 5
                   && memcmp(j->buf + off, "image", 5) == 0)
        {
            if (j->seen_image) {
                return image_ingest_fail(j, "data.image: given twice");
            }

            j->seen_image = 1;
            child = IMAGE_INGEST_IN_IMAGE;
        }

        image_ingest_json_space(j);

        if (j->pos >= j->len || j->buf[j->pos] != ':') {
            return image_ingest_fail(j, "body: malformed JSON "
                                        "(expected \":\")");
        }

        j->pos++;

        if (image_ingest_json_value(j, child) != 0) {
            return -1;
        }

        image_ingest_json_space(j);

        if (j->pos >= j->len) {
            return image_ingest_fail(j, "body: malformed JSON (truncated)");
        }

        if (j->buf[j->pos] == ',') {
            j->pos++;
            continue;
        }

        if (j->buf[j->pos] == '}') {
            j->pos++;
            j->depth--;
            return 0;
        }

        return image_ingest_fail(j, "body: malformed JSON "
                                    "(expected \",\" or \"}\")");
    }
}


static int
image_ingest_json_array(image_ingest_json_t *j)
{
    if (++j->depth > IMAGE_INGEST_BODY_MAX_DEPTH) {
        return image_ingest_fail(j, "body: JSON nested too deeply");
    }

    j->pos++;
    image_ingest_json_space(j);

    if (j->pos < j->len && j->buf[j->pos] == ']') {
        j->pos++;
        j->depth--;
        return 0;
    }

    for ( ;; ) {
        if (image_ingest_json_value(j, IMAGE_INGEST_IN_OTHER) != 0) {
            return -1;
        }

        image_ingest_json_space(j);

        if (j->pos >= j->len) {
            return image_ingest_fail(j, "body: malformed JSON (truncated)");
        }

        if (j->buf[j->pos] == ',') {
            j->pos++;
            continue;
        }

        if (j->buf[j->pos] == ']') {
            j->pos++;
            j->depth--;
            return 0;
        }

        return image_ingest_fail(j, "body: malformed JSON "
                                    "(expected \",\" or \"]\")");
    }
}


/* at '"'; the contents' span, escapes checked but not decoded */

static int
image_ingest_json_string(image_ingest_json_t *j, size_t *off, size_t *slen)
{
    int            i;
    unsigned char  c;

    j->pos++;
    *off = j->pos;

    while (j->pos < j->len) {
        c = (unsigned char) j->buf[j->pos];

        if (c == '"') {
            *slen = j->pos - *off;
            j->pos++;
            return 0;
        }

        if (c < 0x20) {
            return image_ingest_fail(j, "body: malformed JSON "
                                        "(control character in a string)");
        }

        if (c != '\\') {
            j->pos++;
            continue;
        }

        if (j->pos + 1 >= j->len) {
            break;
        }

        c = (unsigned char) j->buf[j->pos + 1];

        switch (c) {

        case '"':
        case '\\':
        case '/':
        case 'b':
        case 'f':
        case 'n':
        case 'r':
        case 't':
            j->pos += 2;
            break;

        case 'u':
            if (j->len - j->pos < 6) {
                return image_ingest_fail(j, "body: malformed JSON "
                                            "(truncated)");
            }

            for (i = 2; i < 6; i++) {
                if (edge_hex_digit(j->buf[j->pos + i]) < 0) {
                    return image_ingest_fail(j, "body: malformed JSON "
                                                "(bad \\u escape)");
                }
            }

            j->pos += 6;
            break;

        default:
            return image_ingest_fail(j, "body: malformed JSON "
                                        "(bad escape)");
        }
    }

    return image_ingest_fail(j, "body: malformed JSON (truncated)");
}


/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */

static int
image_ingest_json_number(image_ingest_json_t *j)
{
    size_t       p, start;
    const char  *b;

    b = j->buf;
    p = j->pos;

    if (p < j->len && b[p] == '-') {
        p++;
    }

    start = p;

    if (p < j->len && b[p] == '0') {
        p++;

    } else {
        while (p < j->len && b[p] >= '0' && b[p] <= '9') {
            p++;
        }
    }

    if (p == start) {
        return image_ingest_fail(j, "body: malformed JSON "
                                    "(unexpected character)");
    }

    if (p < j->len && b[p] == '.') {
        start = ++p;

        while (p < j->len && b[p] >= '0' && b[p] <= '9') {
            p++;
        }

        if (p == start) {
            return image_ingest_fail(j, "body: malformed JSON "
                                        "(bad number)");
        }
    }

    if (p < j->len && (b[p] == 'e' || b[p] == 'E')) {
        p++;

        if (p < j->len && (b[p] == '+' || b[p] == '-')) {
            p++;
        }

        start = p;

        while (p < j->len && b[p] >= '0' && b[p] <= '9') {
            p++;
        }

        if (p == start) {
            return image_ingest_fail(j, "body: malformed JSON "
                                        "(bad number)");
        }
    }

    j->pos = p;

    return 0;
}


static int
image_ingest_json_literal(image_ingest_json_t *j, const char *word,
    size_t n)
{
    if (j->len - j->pos < n || memcmp(j->buf + j->pos, word, n) != 0) {
        return image_ingest_fail(j, "body: malformed JSON "
                                    "(unexpected character)");
    }

    j->pos += n;

    return 0;
}


static void
image_ingest_json_space(image_ingest_json_t *j)
{
    while (j->pos < j->len) {
        switch (j->buf[j->pos]) {

        case ' ':
        case '\t':
        case '\r':
        case '\n':
            j->pos++;
            continue;

        default:
            return;
        }
    }
}


static int
image_ingest_fail(image_ingest_json_t *j, const char *msg)
{
    if (j->error == NULL) {
        j->error = msg;
    }

    return -1;
}


/*
 * In place: the read position always runs ahead of the write position
 * (an escape is two characters for at most one, four base64 characters
 * give at most three bytes).
 */

int
image_ingest_body_base64(char *p, size_t len, size_t *out_len, char *err,
    size_t err_len)
{
    int            v, c;
    size_t         r, w, n, pad, start;
    unsigned long  acc;

    /* the JSON escapes out, whitespace with them: p[0..n) is plain text */

    n = 0;

    for (r = 0; r < len; r++) {
        c = (unsigned char) p[r];

        if (c == ' ') {
            continue;
        }

        if (c == '\\') {
            if (r + 1 >= len) {
                image_ingest_err(err, err_len,
                                 "data.image: bad escape in base64");
                return IMAGE_INGEST_BODY_EINVAL;
            }

            c = (unsigned char) p[++r];

            if (c == 'n' || c == 'r' || c == 't') {
                continue;
            }

            if (c != '/') {
                image_ingest_err(err, err_len,
                                 "data.image: bad escape in base64");
                return IMAGE_INGEST_BODY_EINVAL;
            }
        }

        p[n++] = (char) c;
    }

    /* "data:image/png;base64," as FileReader.readAsDataURL() makes it */

    start = 0;

    if (n >= 5 && memcmp(p, "data:", 5) == 0) {
        for (r = 5; r < n && p[r] != ','; r++) {
            /* void */
        }

        if (r == n || r < 12 || memcmp(p + r - 7, ";base64", 7) != 0) {
            image_ingest_err(err, err_len,
                             "data.image: a data URL must be base64");
            return IMAGE_INGEST_BODY_EINVAL;
        }

        start = r + 1;
    }

    w = 0;
    acc = 0;
    v = 0;
    pad = 0;

    for (r = start; r < n; r++) {
        c = (unsigned char) p[r];

        if (c == '=') {
            pad++;
            continue;
        }

        if (pad) {
            image_ingest_err(err, err_len,
                             "data.image: base64 after \"=\" padding");
            return IMAGE_INGEST_BODY_EINVAL;
        }

        c = image_ingest_b64(c);

        if (c < 0) {
            image_ingest_err(err, err_len,
                             "data.image: not base64");
            return IMAGE_INGEST_BODY_EINVAL;
        }

        acc = (acc << 6) | (unsigned long) c;

        if (++v == 4) {
            p[w++] = (char) (acc >> 16);
            p[w++] = (char) (acc >> 8);
            p[w++] = (char) acc;
            acc = 0;
            v = 0;
        }
    }

    /* a last group of 2 or 3 characters; 1 is no byte at all */

    if (v == 1 || pad > 2 || (pad && (v + pad) != 4)) {
        image_ingest_err(err, err_len, "data.image: truncated base64");
        return IMAGE_INGEST_BODY_EINVAL;
    }

    if (v == 2) {
        p[w++] = (char) (acc >> 4);

    } else if (v == 3) {
        p[w++] = (char) (acc >> 10);
        p[w++] = (char) (acc >> 2);
    }

    if (w == 0) {
        image_ingest_err(err, err_len, "data.image: empty");
        return IMAGE_INGEST_BODY_EINVAL;
    }

    *out_len = w;

    return IMAGE_INGEST_BODY_OK;
}



static int
image_ingest_b64(int c)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }

    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }

    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }

    if (c == '+' || c == '-') {
        return 62;
    }

    if (c == '/' || c == '_') {
        return 63;
    }

    return -1;
}


static void
image_ingest_err(char *err, size_t err_len, const char *msg)
{
    if (err_len) {
        snprintf(err, err_len, "%s", msg);
    }
}
