
/*
 * tfjs weight manifests (tfjs-core io/weights_loader): an array of groups
 * {"paths": [...], "weights": [{"name", "shape", "dtype",
 * "quantization": {"dtype": "uint8", "scale", "min"}}]}.  The .bin files of
 * all groups, in order, hold the weights back to back without alignment.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <math.h>

#include <cjson/cJSON.h>

#include "face_weights.h"


#define FACE_WEIGHTS_MAX_FILE  (256 * 1024 * 1024)


static int face_weights_entry(face_tensor_t *t, const cJSON *e,
    const unsigned char *bin, size_t bin_len, size_t *off, char *err,
    size_t errlen);
static unsigned char *face_weights_read(const char *path, size_t *len,
    char *err, size_t errlen);


int
face_weights_parse(face_weights_t *w, const char *json, size_t len,
    const unsigned char *bin, size_t bin_len, char *err, size_t errlen)
{
    size_t        n, off;
    cJSON        *root;
    const cJSON  *group, *weights, *e;

    w->n = 0;
    w->t = NULL;

    root = cJSON_ParseWithLength(json, len);
    if (root == NULL || !cJSON_IsArray(root)) {
        snprintf(err, errlen, "manifest is not a JSON array");
        cJSON_Delete(root);
        return -1;
    }

    n = 0;

    cJSON_ArrayForEach(group, root) {
        weights = cJSON_GetObjectItemCaseSensitive(group, "weights");
        if (!cJSON_IsArray(weights)) {
            snprintf(err, errlen, "manifest group without \"weights\"");
            goto failed;
        }

        n += (size_t) cJSON_GetArraySize(weights);
    }

    if (n == 0) {
        snprintf(err, errlen, "manifest lists no weights");
        goto failed;
    }

    w->t = calloc(n + 1, sizeof(face_tensor_t));
    if (w->t == NULL) {
        snprintf(err, errlen, "out of memory");
        goto failed;
    }

    off = 0;

    cJSON_ArrayForEach(group, root) {
        weights = cJSON_GetObjectItemCaseSensitive(group, "weights");

        cJSON_ArrayForEach(e, weights) {
            if (face_weights_entry(&w->t[w->n], e, bin, bin_len, &off, err,
                                   errlen)
                != 0)
            {
                goto failed;
            }

            w->n++;
        }
    }

    if (off != bin_len) {
        snprintf(err, errlen, "weights take %zu bytes, files hold %zu",
                 off, bin_len);
        goto failed;
    }

    cJSON_Delete(root);
    return 0;

failed:

    cJSON_Delete(root);
    face_weights_free(w);
    return -1;
}


static int
face_weights_entry(face_tensor_t *t, const cJSON *e, const unsigned char *bin,
    size_t bin_len, size_t *off, char *err, size_t errlen)
{
    int           i, is_int, quant;
    size_t        k, size, count;
    float         scale, min;
    double        v;
    int32_t       i32;
    const cJSON  *name, *shape, *dtype, *q, *qdtype, *qscale, *qmin, *d;

    name = cJSON_GetObjectItemCaseSensitive(e, "name");
    shape = cJSON_GetObjectItemCaseSensitive(e, "shape");
    dtype = cJSON_GetObjectItemCaseSensitive(e, "dtype");
    q = cJSON_GetObjectItemCaseSensitive(e, "quantization");

    if (!cJSON_IsString(name) || !cJSON_IsArray(shape)
        || !cJSON_IsString(dtype))
    {
        snprintf(err, errlen, "weight entry needs name, shape and dtype");
        return -1;
    }

    if (strcmp(dtype->valuestring, "float32") == 0) {
        is_int = 0;

    } else if (strcmp(dtype->valuestring, "int32") == 0) {
        is_int = 1;

    } else {
        snprintf(err, errlen, "weight \"%.64s\": dtype \"%.16s\" unsupported",
                 name->valuestring, dtype->valuestring);
        return -1;
    }

    if (cJSON_GetArraySize(shape) > FACE_WEIGHTS_MAX_DIMS) {
        snprintf(err, errlen, "weight \"%.64s\": more than %d dimensions",
                 name->valuestring, FACE_WEIGHTS_MAX_DIMS);
        return -1;
    }

    count = 1;
    t->ndims = 0;

    cJSON_ArrayForEach(d, shape) {
        if (!cJSON_IsNumber(d) || d->valuedouble < 0
            || d->valuedouble > 1e8 || d->valuedouble != (double) (size_t)
                                                         d->valuedouble)
        {
            snprintf(err, errlen, "weight \"%.64s\": bad shape",
                     name->valuestring);
            return -1;
        }

        t->dims[t->ndims++] = (size_t) d->valuedouble;
        count *= (size_t) d->valuedouble;

        if (count > FACE_WEIGHTS_MAX_FILE) {
            snprintf(err, errlen, "weight \"%.64s\": too large",
                     name->valuestring);
            return -1;
        }
    }

    quant = 0;
    scale = 1.0f;
    min = 0.0f;

    if (q != NULL) {
        qdtype = cJSON_GetObjectItemCaseSensitive(q, "dtype");
        qscale = cJSON_GetObjectItemCaseSensitive(q, "scale");
        qmin = cJSON_GetObjectItemCaseSensitive(q, "min");

        if (!cJSON_IsString(qdtype) || strcmp(qdtype->valuestring, "uint8")
            || !cJSON_IsNumber(qscale) || !cJSON_IsNumber(qmin)
            || !isfinite(qscale->valuedouble) || !isfinite(qmin->valuedouble))
        {
            snprintf(err, errlen, "weight \"%.64s\": only uint8 "
                     "quantization with scale and min is supported",
                     name->valuestring);
            return -1;
        }

        quant = 1;
        scale = (float) qscale->valuedouble;
        min = (float) qmin->valuedouble;
    }

    size = quant ? count : count * 4;

    if (size > bin_len - *off) {
        snprintf(err, errlen, "weight \"%.64s\" runs past the end of the "
                 "weight files", name->valuestring);
        return -1;
    }

    t->name = strdup(name->valuestring);
    t->data = malloc((count ? count : 1) * sizeof(float));
    if (t->name == NULL || t->data == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }

    t->count = count;

    if (size) {
        bin += *off;
    }

    for (k = 0; k < count; k++) {
        if (quant) {
            /* tfjs: float32 arithmetic, int32 rounded */
            v = (float) bin[k] * scale + min;

            t->data[k] = is_int ? (float) round(v) : (float) v;
            continue;
        }

        if (is_int) {
            memcpy(&i32, bin + 4 * k, 4);
            t->data[k] = (float) i32;

        } else {
            memcpy(&t->data[k], bin + 4 * k, 4);
        }
    }

    for (i = t->ndims; i < FACE_WEIGHTS_MAX_DIMS; i++) {
        t->dims[i] = 1;
    }

    *off += size;

    return 0;
}


int
face_weights_load(face_weights_t *w, const char *dir, const char *net,
    char *err, size_t errlen)
{
    int             rc;
    char            path[4096];
    size_t          len, bin_len, part_len;
    cJSON          *root;
    unsigned char  *json, *bin, *part, *p;
    const cJSON    *group, *paths, *file;

    w->n = 0;
    w->t = NULL;
    bin = NULL;
    bin_len = 0;
    root = NULL;
    rc = -1;

    snprintf(path, sizeof(path), "%s/%s-weights_manifest.json", dir, net);

    json = face_weights_read(path, &len, err, errlen);
    if (json == NULL) {
        return -1;
    }

    root = cJSON_ParseWithLength((char *) json, len);
    if (!cJSON_IsArray(root)) {
        snprintf(err, errlen, "%s: not a JSON array", path);
        goto done;
    }

    cJSON_ArrayForEach(group, root) {
        paths = cJSON_GetObjectItemCaseSensitive(group, "paths");
        if (!cJSON_IsArray(paths)) {
            snprintf(err, errlen, "%s: group without \"paths\"", path);
            goto done;
        }

        cJSON_ArrayForEach(file, paths) {
            /* file names only: a manifest never points elsewhere */
            if (!cJSON_IsString(file) || file->valuestring[0] == '\0'
                || file->valuestring[0] == '.'
                || strchr(file->valuestring, '/') != NULL)
            {
                snprintf(err, errlen, "%s: bad weight file name", path);
                goto done;
            }

            snprintf(path, sizeof(path), "%s/%s", dir, file->valuestring);

            part = face_weights_read(path, &part_len, err, errlen);
            if (part == NULL) {
                goto done;
            }

            p = realloc(bin, bin_len + part_len + 1);
            if (p == NULL) {
                free(part);
                snprintf(err, errlen, "out of memory");
                goto done;
            }

            bin = p;
            memcpy(bin + bin_len, part, part_len);
            bin_len += part_len;
            free(part);
        }
    }

    rc = face_weights_parse(w, (char *) json, len, bin, bin_len, err,
                            errlen);

    if (rc != 0) {
        /* say which net */
        snprintf(path, sizeof(path), "%s", err);
        snprintf(err, errlen, "%s: %s", net, path);
    }

done:

    cJSON_Delete(root);
    free(json);
    free(bin);

    return rc;
}


static unsigned char *
face_weights_read(const char *path, size_t *len, char *err, size_t errlen)
{
    long            size;
    FILE           *f;
    unsigned char  *buf;

    f = fopen(path, "rb");
    if (f == NULL) {
        snprintf(err, errlen, "cannot open %s", path);
        return NULL;
    }

    if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0
        || size > FACE_WEIGHTS_MAX_FILE || fseek(f, 0, SEEK_SET) != 0)
    {
        snprintf(err, errlen, "cannot read %s", path);
        fclose(f);
        return NULL;
    }

    buf = malloc((size_t) size + 1);
    if (buf == NULL) {
        snprintf(err, errlen, "out of memory");
        fclose(f);
        return NULL;
    }

    if (fread(buf, 1, (size_t) size, f) != (size_t) size) {
        snprintf(err, errlen, "cannot read %s", path);
        free(buf);
        fclose(f);
        return NULL;
    }

    fclose(f);

    buf[size] = '\0';
    *len = (size_t) size;

    return buf;
}


const face_tensor_t *
face_weights_get(const face_weights_t *w, const char *name, size_t count,
    char *err, size_t errlen)
{
    size_t  i;

    for (i = 0; i < w->n; i++) {
        if (strcmp(w->t[i].name, name) != 0) {
            continue;
        }

        if (w->t[i].count != count) {
            snprintf(err, errlen, "weight \"%s\" has %zu values, "
                     "expected %zu", name, w->t[i].count, count);
            return NULL;
        }

        return &w->t[i];
    }

    snprintf(err, errlen, "weight \"%s\" missing", name);

    return NULL;
}


void
face_weights_free(face_weights_t *w)
{
    size_t  i;

    /* entry n (calloc()ed, spare) is the one a failed parse half-built */

    if (w->t != NULL) {
        for (i = 0; i <= w->n; i++) {
            free(w->t[i].name);
            free(w->t[i].data);
        }
    }

    free(w->t);
    w->t = NULL;
    w->n = 0;
}
