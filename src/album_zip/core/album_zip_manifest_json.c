
/*
 * Album zip manifests: the JSON format, read with cJSON; see
 * album_zip_manifest.h.
 *
 * - Unknown keys are ignored; a known key given twice is an error
 *   (first-wins and last-wins parsers disagree, and a checker upstream may
 *   read the other one); null means "absent" for url, size, crc32, mtime.
 *   "crc32" may be a hex string or an integer 0..0xFFFFFFFF (zlib bindings
 *   return integers).  Numbers are checked by value: 1.0 and 1e3 are
 *   integers, 1.5, -1, 1e30 and anything above 2^53 - 1 are not (a double
 *   cannot tell 2^53 + 1 from 2^53).  "\u0000" and raw NUL bytes are
 *   rejected before cJSON sees the text, which would silently cut strings.
 */


#include <string.h>

#include <cjson/cJSON.h>

#include "album_zip_manifest_internal.h"
#include "edge_hex.h"


/* JSON numbers above this may have been rounded by the double */
#define ALBUM_ZIP_MANIFEST_MAX_SAFE  9007199254740991.0


static int album_zip_manifest_json_scan(album_zip_manifest_parser_t *p,
    const u_char *buf, size_t len);
static int album_zip_manifest_json_root(album_zip_manifest_parser_t *p,
    const cJSON *root);
static int album_zip_manifest_json_name(album_zip_manifest_parser_t *p,
    const cJSON *name);
static int album_zip_manifest_json_files(album_zip_manifest_parser_t *p,
    const cJSON *files);
static int album_zip_manifest_json_member(album_zip_manifest_parser_t *p,
    album_zip_manifest_member_t *m, const cJSON *item);
static int album_zip_manifest_json_url(album_zip_manifest_parser_t *p,
    album_zip_manifest_member_t *m, const cJSON *url, const char *name,
    size_t n);
static int album_zip_manifest_json_size(album_zip_manifest_parser_t *p,
    album_zip_manifest_member_t *m, const cJSON *size, int dir);
static int album_zip_manifest_json_crc(album_zip_manifest_parser_t *p,
    album_zip_manifest_member_t *m, const cJSON *crc);
static int album_zip_manifest_json_mtime(album_zip_manifest_parser_t *p,
    album_zip_manifest_member_t *m, const cJSON *mtime);
static int album_zip_manifest_json_uint(const cJSON *item, double max,
    uint64_t *value);


int
album_zip_manifest_parse_json(album_zip_manifest_parser_t *p,
    const u_char *buf, size_t len)
{
    int            rc;
    cJSON         *root;
    const char    *end;
    const u_char  *c;

    rc = album_zip_manifest_json_scan(p, buf, len);
    if (rc != ALBUM_ZIP_MANIFEST_OK) {
        return rc;
    }

    end = NULL;

    root = cJSON_ParseWithLengthOpts((const char *) buf, len, &end, 0);

    if (root == NULL) {
        return album_zip_manifest_error(p, ALBUM_ZIP_MANIFEST_EINVAL, NULL,
                                        "JSON syntax error near byte %zu",
                                        end != NULL
                                        ? (size_t) ((const u_char *) end - buf)
                                          + 1
                                        : (size_t) 1);
    }

    /* cJSON stops after the value; only whitespace may follow it */

    for (c = (const u_char *) end; c != NULL && c < buf + len; c++) {
        if (*c != ' ' && *c != '\t' && *c != '\r' && *c != '\n') {
            cJSON_Delete(root);
            return album_zip_manifest_error(p, ALBUM_ZIP_MANIFEST_EINVAL,
                                            NULL,
                                            "JSON: data after the object "
                                            "at byte %zu",
                                            (size_t) (c - buf) + 1);
        }
    }

    rc = album_zip_manifest_json_root(p, root);

    cJSON_Delete(root);

    return rc;
}


/*
 * cJSON keeps strings NUL-terminated: a raw NUL or "\u0000" would cut a
 * name or url short without telling, so both are refused up front
 */

static int
album_zip_manifest_json_scan(album_zip_manifest_parser_t *p,
    const u_char *buf, size_t len)
{
    int     string;
    size_t  i;

    string = 0;

    for (i = 0; i < len; i++) {

        if (buf[i] == '\0') {
            return album_zip_manifest_error(p, ALBUM_ZIP_MANIFEST_EINVAL,
                                            NULL,
                                            "JSON: NUL byte at byte %zu",
                                            i + 1);
        }

        if (!string) {
            string = (buf[i] == '"');
            continue;
        }

        if (buf[i] == '"') {
            string = 0;
            continue;
        }

        if (buf[i] != '\\' || i + 1 == len) {
            continue;
        }

        i++;

        if (buf[i] == '\0') {
            return album_zip_manifest_error(p, ALBUM_ZIP_MANIFEST_EINVAL,
                                            NULL,
                                            "JSON: NUL byte at byte %zu",
                                            i + 1);
        }

        if (buf[i] == 'u' && len - i > 4
            && memcmp(&buf[i + 1], "0000", 4) == 0)
        {
            return album_zip_manifest_error(p, ALBUM_ZIP_MANIFEST_EINVAL,
                                            NULL,
                                            "JSON: \\u0000 at byte %zu", i);
        }
    }

    return ALBUM_ZIP_MANIFEST_OK;
}


static int
album_zip_manifest_json_root(album_zip_manifest_parser_t *p,
    const cJSON *root)
{
    int           rc;
    const cJSON  *item, *files, *name;

    if (!cJSON_IsObject(root)) {
        return album_zip_manifest_error(p, ALBUM_ZIP_MANIFEST_EINVAL, NULL,
                                        "JSON: not an object");
    }

    files = NULL;
    name = NULL;

    for (item = root->child; item != NULL; item = item->next) {

        if (strcmp(item->string, "files") == 0) {
            if (files != NULL) {
                return album_zip_manifest_error(p, ALBUM_ZIP_MANIFEST_EINVAL,
                                                "files", "duplicate key");
            }

            files = item;

        } else if (strcmp(item->string, "name") == 0) {
            if (name != NULL) {
                return album_zip_manifest_error(p, ALBUM_ZIP_MANIFEST_EINVAL,
                                                "name", "duplicate key");
            }

            name = item;
        }
    }

    if (name != NULL && !cJSON_IsNull(name)) {
        rc = album_zip_manifest_json_name(p, name);
        if (rc != ALBUM_ZIP_MANIFEST_OK) {
            return rc;
        }
    }

    if (files == NULL) {
        return album_zip_manifest_error(p, ALBUM_ZIP_MANIFEST_EINVAL,
                                        "files", "missing");
    }

    if (!cJSON_IsArray(files)) {
        return album_zip_manifest_error(p, ALBUM_ZIP_MANIFEST_EINVAL,
                                        "files", "not an array");
    }

    return album_zip_manifest_json_files(p, files);
}


/* the top-level "name", the download name; "" is as good as none */

static int
album_zip_manifest_json_name(album_zip_manifest_parser_t *p,
    const cJSON *name)
{
    int     rc;
    size_t  n;

    if (!cJSON_IsString(name)) {
        return album_zip_manifest_error(p, ALBUM_ZIP_MANIFEST_EINVAL,
                                        "name", "not a string");
    }

    n = strlen(name->valuestring);

    if (n == 0) {
        return ALBUM_ZIP_MANIFEST_OK;
    }

    rc = album_zip_manifest_text(p, "name",
                                 (const u_char *) name->valuestring, n);
    if (rc != ALBUM_ZIP_MANIFEST_OK) {
        return rc;
    }

    return album_zip_manifest_str(p, &p->out->name,
                                  (const u_char *) name->valuestring, n);
}


/* the "files" array: counted against the limit, then each member parsed */

static int
album_zip_manifest_json_files(album_zip_manifest_parser_t *p,
    const cJSON *files)
{
    int                           rc;
    size_t                        n;
    const cJSON                  *item;
    album_zip_manifest_member_t  *m;

    n = 0;

    for (item = files->child; item != NULL; item = item->next) {
        if (++n > p->limits.max_members) {
            break;
        }
    }

    rc = album_zip_manifest_members(p, n);
    if (rc != ALBUM_ZIP_MANIFEST_OK) {
        return rc;
    }

    for (item = files->child; item != NULL; item = item->next) {
        p->member++;
        m = &p->out->members[p->member - 1];

        rc = album_zip_manifest_json_member(p, m, item);
        if (rc != ALBUM_ZIP_MANIFEST_OK) {
            return rc;
        }

        rc = album_zip_manifest_add(p, m);
        if (rc != ALBUM_ZIP_MANIFEST_OK) {
            return rc;
        }
    }

    return ALBUM_ZIP_MANIFEST_OK;
}


static int
album_zip_manifest_json_member(album_zip_manifest_parser_t *p,
    album_zip_manifest_member_t *m, const cJSON *item)
{
    int           rc, dir;
    size_t        n;
    const char   *s;
    const cJSON  *c, *url, *name, *size, *crc, *mtime, **slot;

    if (!cJSON_IsObject(item)) {
        return album_zip_manifest_error(p, ALBUM_ZIP_MANIFEST_EINVAL, NULL,
                                        "not an object");
    }

    url = NULL;
    name = NULL;
    size = NULL;
    crc = NULL;
    mtime = NULL;

    for (c = item->child; c != NULL; c = c->next) {
        s = c->string;

        if (strcmp(s, "url") == 0) {
            slot = &url;

        } else if (strcmp(s, "name") == 0) {
            slot = &name;

        } else if (strcmp(s, "size") == 0) {
            slot = &size;

        } else if (strcmp(s, "crc32") == 0) {
            slot = &crc;

        } else if (strcmp(s, "mtime") == 0) {
            slot = &mtime;

        } else {
            continue;
        }

        if (*slot != NULL) {
            return album_zip_manifest_error(p, ALBUM_ZIP_MANIFEST_EINVAL, s,
                                            "duplicate key");
        }

        *slot = c;
    }

    if (name == NULL || cJSON_IsNull(name)) {
        return album_zip_manifest_error(p, ALBUM_ZIP_MANIFEST_EINVAL, "name",
                                        "missing");
    }

    if (!cJSON_IsString(name)) {
        return album_zip_manifest_error(p, ALBUM_ZIP_MANIFEST_EINVAL, "name",
                                        "not a string");
    }

    n = strlen(name->valuestring);

    dir = (url == NULL || cJSON_IsNull(url));

    rc = album_zip_manifest_json_url(p, m, dir ? NULL : url,
                                     name->valuestring, n);
    if (rc != ALBUM_ZIP_MANIFEST_OK) {
        return rc;
    }

    rc = album_zip_manifest_set_name(p, m, (const u_char *) name->valuestring,
                                     n, dir);
    if (rc != ALBUM_ZIP_MANIFEST_OK) {
        return rc;
    }

    if (size != NULL && !cJSON_IsNull(size)) {
        rc = album_zip_manifest_json_size(p, m, size, dir);
        if (rc != ALBUM_ZIP_MANIFEST_OK) {
            return rc;
        }
    }

    if (crc != NULL && !cJSON_IsNull(crc)) {
        rc = album_zip_manifest_json_crc(p, m, crc);
        if (rc != ALBUM_ZIP_MANIFEST_OK) {
            return rc;
        }

        if (dir && m->crc32 != 0) {
            return album_zip_manifest_error(p, ALBUM_ZIP_MANIFEST_EINVAL,
                                            "crc32",
                                            "not 0 for a directory");
        }
    }

    if (mtime != NULL && !cJSON_IsNull(mtime)) {
        return album_zip_manifest_json_mtime(p, m, mtime);
    }

    return ALBUM_ZIP_MANIFEST_OK;
}


/*
 * a member's "url"; NULL (absent or null) makes a directory, which its
 * name must say
 */

static int
album_zip_manifest_json_url(album_zip_manifest_parser_t *p,
    album_zip_manifest_member_t *m, const cJSON *url, const char *name,
    size_t n)
{
    if (url == NULL) {
        if (n == 0 || name[n - 1] != '/') {
            return album_zip_manifest_error(p, ALBUM_ZIP_MANIFEST_EINVAL,
                                            "url", "missing");
        }

        m->kind = ALBUM_ZIP_MANIFEST_DIRECTORY;
        m->url.data = album_zip_manifest_empty;
        m->args.data = album_zip_manifest_empty;

        return ALBUM_ZIP_MANIFEST_OK;
    }

    if (!cJSON_IsString(url)) {
        return album_zip_manifest_error(p, ALBUM_ZIP_MANIFEST_EINVAL,
                                        "url", "not a string");
    }

    return album_zip_manifest_set_url(p, m,
                                      (const u_char *) url->valuestring,
                                      strlen(url->valuestring));
}


/* 123; 0 for a directory */

static int
album_zip_manifest_json_size(album_zip_manifest_parser_t *p,
    album_zip_manifest_member_t *m, const cJSON *size, int dir)
{
    uint64_t  v;

    if (album_zip_manifest_json_uint(size, ALBUM_ZIP_MANIFEST_MAX_SAFE, &v)
        != 0)
    {
        return album_zip_manifest_error(p, ALBUM_ZIP_MANIFEST_EINVAL,
                                        "size",
                                        "not an integer from 0 to "
                                        "2^53-1");
    }

    if (dir && v != 0) {
        return album_zip_manifest_error(p, ALBUM_ZIP_MANIFEST_EINVAL,
                                        "size",
                                        "not 0 for a directory");
    }

    m->size = v;
    m->has_size = 1;

    return ALBUM_ZIP_MANIFEST_OK;
}


/* "0a1b2c3d" or 169552957 */

static int
album_zip_manifest_json_crc(album_zip_manifest_parser_t *p,
    album_zip_manifest_member_t *m, const cJSON *crc)
{
    char      q[ALBUM_ZIP_MANIFEST_QUOTE * 4 + 4];
    size_t    n;
    uint64_t  v;

    if (cJSON_IsString(crc)) {
        n = strlen(crc->valuestring);

        if (album_zip_manifest_hex((const u_char *) crc->valuestring, n,
                                   &m->crc32)
            != 0)
        {
            return album_zip_manifest_error(p, ALBUM_ZIP_MANIFEST_EINVAL,
                       "crc32", "not 1 to 8 hex digits: \"%s\"",
                       album_zip_manifest_quote(q,
                           (const u_char *) crc->valuestring, n));
        }

    } else if (album_zip_manifest_json_uint(crc, 4294967295.0, &v) == 0) {
        m->crc32 = (uint32_t) v;

    } else {
        return album_zip_manifest_error(p, ALBUM_ZIP_MANIFEST_EINVAL, "crc32",
                                        "not a hex string or an integer "
                                        "from 0 to 4294967295");
    }

    m->has_crc = 1;

    return ALBUM_ZIP_MANIFEST_OK;
}


/* "2024-05-01T12:00:00Z" or 1714564800 */

static int
album_zip_manifest_json_mtime(album_zip_manifest_parser_t *p,
    album_zip_manifest_member_t *m, const cJSON *mtime)
{
    int            rc;
    char           q[ALBUM_ZIP_MANIFEST_QUOTE * 4 + 4];
    size_t         n;
    int64_t        t;
    uint64_t       v;
    const u_char  *s;

    if (cJSON_IsString(mtime)) {
        s = (const u_char *) mtime->valuestring;
        n = strlen(mtime->valuestring);

        rc = album_zip_manifest_rfc3339(s, n, &t);

        if (rc == -2) {
            return album_zip_manifest_error(p, ALBUM_ZIP_MANIFEST_EINVAL,
                                            "mtime",
                                            "outside 1970..9999: \"%s\"",
                                            album_zip_manifest_quote(q, s,
                                                                     n));
        }

        if (rc != 0) {
            return album_zip_manifest_error(p, ALBUM_ZIP_MANIFEST_EINVAL,
                                            "mtime",
                                            "not an RFC 3339 date-time: "
                                            "\"%s\"",
                                            album_zip_manifest_quote(q, s,
                                                                     n));
        }

    } else if (album_zip_manifest_json_uint(mtime,
                                      (double) ALBUM_ZIP_MANIFEST_MAX_MTIME,
                                      &v)
               == 0)
    {
        t = (int64_t) v;

    } else {
        return album_zip_manifest_error(p, ALBUM_ZIP_MANIFEST_EINVAL,
                                        "mtime",
                                        "not an RFC 3339 string or a unix "
                                        "time from 0 to %lld",
                                        ALBUM_ZIP_MANIFEST_MAX_MTIME);
    }

    m->mtime = t;
    m->has_mtime = 1;

    return ALBUM_ZIP_MANIFEST_OK;
}


/* a JSON number whose value is an integer in 0..max */

static int
album_zip_manifest_json_uint(const cJSON *item, double max, uint64_t *value)
{
    double  d;

    if (!cJSON_IsNumber(item)) {
        return -1;
    }

    d = item->valuedouble;

    /* written so that NaN fails too */
    if (!(d >= 0.0 && d <= max)) {
        return -1;
    }

    *value = (uint64_t) d;

    if ((double) *value != d) {
        return -1;
    }

    return 0;
}
