
/*
 * The result as JSON.  Every float carries a decimal point or an exponent
 * (the website rejects 0 as "not a float") and is never NaN or infinite.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#include "face.h"


typedef struct {
    char    *p;
    size_t   len;
    size_t   size;
    int      failed;
} face_buf_t;


static void face_buf_add(face_buf_t *b, const char *s, size_t n);
static void face_buf_str(face_buf_t *b, const char *s);
static void face_buf_float(face_buf_t *b, double v);
static void face_buf_string(face_buf_t *b, const char *s);


size_t
face_json_float(char *buf, size_t len, double v)
{
    int     n;
    size_t  i;

    if (len < 4) {
        if (len) {
            buf[0] = '\0';
        }

        return 0;
    }

    if (!isfinite(v)) {
        v = 0.0;
    }

    /* 9 significant digits read back to the same float32 */
    n = snprintf(buf, len, "%.9g", v);

    if (n < 0 || (size_t) n >= len) {
        snprintf(buf, len, "0.0");
        return 3;
    }

    for (i = 0; i < (size_t) n; i++) {
        if (buf[i] == '.' || buf[i] == 'e') {
            return (size_t) n;
        }
    }

    if ((size_t) n + 2 >= len) {
        snprintf(buf, len, "0.0");
        return 3;
    }

    buf[n++] = '.';
    buf[n++] = '0';
    buf[n] = '\0';

    return (size_t) n;
}


static void
face_buf_add(face_buf_t *b, const char *s, size_t n)
{
    char    *p;
    size_t   size;

    if (b->failed) {
        return;
    }

    if (b->len + n + 1 > b->size) {
        size = b->size ? b->size : 4096;

        while (b->len + n + 1 > size) {
            size *= 2;
        }

        p = realloc(b->p, size);
        if (p == NULL) {
            b->failed = 1;
            return;
        }

        b->p = p;
        b->size = size;
    }

    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}


static void
face_buf_str(face_buf_t *b, const char *s)
{
    face_buf_add(b, s, strlen(s));
}


static void
face_buf_float(face_buf_t *b, double v)
{
    char    num[64];
    size_t  n;

    n = face_json_float(num, sizeof(num), v);
    face_buf_add(b, num, n);
}


static void
face_buf_string(face_buf_t *b, const char *s)
{
    char                  esc[8];
    const unsigned char  *p;

    face_buf_add(b, "\"", 1);

    for (p = (const unsigned char *) s; *p; p++) {
        if (*p == '"' || *p == '\\') {
            esc[0] = '\\';
            esc[1] = (char) *p;
            face_buf_add(b, esc, 2);

        } else if (*p < 0x20) {
            snprintf(esc, sizeof(esc), "\\u%04x", *p);
            face_buf_add(b, esc, 6);

        } else {
            face_buf_add(b, (const char *) p, 1);
        }
    }

    face_buf_add(b, "\"", 1);
}


char *
face_result_json(const face_result_t *res, const char *file, int with_ms)
{
    int            i, k;
    char           num[64];
    size_t         f;
    face_buf_t     b;
    const face_t  *face;

    memset(&b, 0, sizeof(face_buf_t));

    face_buf_str(&b, "{");

    if (file != NULL) {
        face_buf_str(&b, "\"file\":");
        face_buf_string(&b, file);
        face_buf_str(&b, ",");
    }

    snprintf(num, sizeof(num), "\"width\":%d,\"height\":%d,\"faces\":[",
             res->width, res->height);
    face_buf_str(&b, num);

    for (f = 0; f < res->nfaces; f++) {
        face = &res->faces[f];

        face_buf_str(&b, f ? ",{\"box\":[" : "{\"box\":[");

        for (k = 0; k < 4; k++) {
            if (k) {
                face_buf_str(&b, ",");
            }

            face_buf_float(&b, face->box[k]);
        }

        face_buf_str(&b, "],\"score\":");
        face_buf_float(&b, face->score);
        face_buf_str(&b, ",\"landmarks\":[");

        for (i = 0; i < FACE_LANDMARKS; i++) {
            face_buf_str(&b, i ? ",[" : "[");
            face_buf_float(&b, face->landmarks[i][0]);
            face_buf_str(&b, ",");
            face_buf_float(&b, face->landmarks[i][1]);
            face_buf_str(&b, "]");
        }

        face_buf_str(&b, "],\"encoding\":[");

        for (i = 0; i < FACE_DESCRIPTOR; i++) {
            if (i) {
                face_buf_str(&b, ",");
            }

            face_buf_float(&b, face->encoding[i]);
        }

        face_buf_str(&b, "]}");
    }

    face_buf_str(&b, "]");

    if (with_ms) {
        face_buf_str(&b, ",\"ms\":{\"decode\":");
        face_buf_float(&b, round(res->ms_decode * 1000) / 1000);
        face_buf_str(&b, ",\"detect\":");
        face_buf_float(&b, round(res->ms_detect * 1000) / 1000);
        face_buf_str(&b, ",\"landmarks\":");
        face_buf_float(&b, round(res->ms_landmarks * 1000) / 1000);
        face_buf_str(&b, ",\"encode\":");
        face_buf_float(&b, round(res->ms_encode * 1000) / 1000);
        face_buf_str(&b, "}");
    }

    face_buf_str(&b, "}");

    if (b.failed) {
        free(b.p);
        return NULL;
    }

    return b.p;
}
