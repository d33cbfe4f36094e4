
/*
 * Checks shared by the parsers of serverless-function payloads.  See
 * edge_json_check.h.
 *
 * - A NUL byte would silently cut the strings cJSON returns.
 * - cJSON accepts garbage after the value when given a length; these
 *   parsers do not (only JSON whitespace may follow).
 * - A known key given twice is an error: first-wins and last-wins
 *   parsers disagree, and a checker upstream may read the other one.
 */


#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "edge_json_check.h"


static int edge_json_scan(const char *buf, size_t len);


cJSON *
edge_json_parse_object(const char *buf, size_t len, char *err,
    size_t err_len)
{
    cJSON       *root;
    const char  *end, *s;

    if (edge_json_scan(buf, len) != 0) {
        edge_json_error(-1, err, err_len,
                        "payload: must not contain NUL characters");
        return NULL;
    }

    end = NULL;
    root = cJSON_ParseWithLengthOpts(buf, len, &end, 0);

    if (root == NULL) {
        edge_json_error(-1, err, err_len, "payload: not valid JSON");
        return NULL;
    }

    for (s = end; s != NULL && s < buf + len; s++) {
        if (*s != ' ' && *s != '\t' && *s != '\r' && *s != '\n') {
            edge_json_error(-1, err, err_len, "payload: not valid JSON");
            cJSON_Delete(root);
            return NULL;
        }
    }

    if (!cJSON_IsObject(root)) {
        edge_json_error(-1, err, err_len, "payload: must be a JSON object");
        cJSON_Delete(root);
        return NULL;
    }

    return root;
}


/*
 * -1 if buf has a NUL, raw or as "\u0000" inside a string.  Outside
 * strings a backslash is invalid JSON anyway and left to cJSON.
 */

static int
edge_json_scan(const char *buf, size_t len)
{
    int     in_string;
    size_t  i;

    in_string = 0;

    for (i = 0; i < len; i++) {

        if (buf[i] == '\0') {
            return -1;
        }

        if (!in_string) {
            in_string = (buf[i] == '"');
            continue;
        }

        if (buf[i] == '"') {
            in_string = 0;
            continue;
        }

        if (buf[i] != '\\' || i + 1 == len) {
            continue;
        }

        i++;

        if (buf[i] == 'u' && len - i > 4
            && memcmp(&buf[i + 1], "0000", 4) == 0)
        {
            return -1;
        }
    }

    return 0;
}


int
edge_json_dup_keys(const cJSON *obj, const char **keys, const char *where,
    char *err, size_t err_len)
{
    size_t        k;
    unsigned      seen;
    const cJSON  *item;

    seen = 0;

    for (item = obj->child; item != NULL; item = item->next) {

        if (item->string == NULL) {
            continue;
        }

        for (k = 0; keys[k] != NULL; k++) {

            if (strcmp(item->string, keys[k]) != 0) {
                continue;
            }

            if (seen & (1u << k)) {
                return edge_json_error(-1, err, err_len,
                                       "%s%s: given twice", where, keys[k]);
            }

            seen |= 1u << k;
        }
    }

    return 0;
}


int
edge_json_error(int rc, char *err, size_t err_len, const char *fmt, ...)
{
    va_list  args;

    if (err_len) {
        va_start(args, fmt);
        vsnprintf(err, err_len, fmt, args);
        va_end(args);
    }

    return rc;
}
