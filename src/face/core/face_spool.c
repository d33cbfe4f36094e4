
/*
 * The spool of face jobs: names and the job file's format.  See
 * face_spool.h.
 */


#include <stdio.h>
#include <string.h>

#include "face_spool.h"


#define FACE_SPOOL_MAGIC  "face-job 1 "


size_t
face_spool_name(char *buf, uint64_t ms, unsigned long pid, unsigned long seq)
{
    int  n;

    n = snprintf(buf, FACE_SPOOL_NAME_LEN, "%013llu-%lu-%lu.job",
                 (unsigned long long) ms, pid, seq);

    return (n < 0) ? 0 : (size_t) n;
}


int
face_spool_name_ok(const char *name)
{
    size_t       i, n;
    const char  *p;

    p = name;

    /* three runs of digits separated by "-", then ".job" */

    for (i = 0; i < 3; i++) {
        for (n = 0; p[n] >= '0' && p[n] <= '9'; n++) { /* void */ }

        if (n == 0 || n > 20 || (i == 0 && n != 13)) {
            return 0;
        }

        p += n;

        if (i < 2) {
            if (*p != '-') {
                return 0;
            }

            p++;
        }
    }

    return strcmp(p, ".job") == 0;
}


int
face_spool_tmp_stale(const char *name, int64_t mtime, int64_t now)
{
    if (!face_spool_name_ok(name)) {
        return 0;
    }

    return mtime <= now && now - mtime >= FACE_SPOOL_TMP_STALE;
}


size_t
face_spool_header(char *buf, size_t nsources)
{
    int  n;

    n = snprintf(buf, FACE_SPOOL_HEADER_LEN, FACE_SPOOL_MAGIC "%zu\n",
                 nsources);

    return (n < 0) ? 0 : (size_t) n;
}


int
face_spool_parse(const char *buf, size_t len, size_t *nsources,
    size_t *state_off, size_t *payload_off)
{
    size_t  i, n, digits;

    if (len < sizeof(FACE_SPOOL_MAGIC) - 1
        || memcmp(buf, FACE_SPOOL_MAGIC, sizeof(FACE_SPOOL_MAGIC) - 1) != 0)
    {
        return -1;
    }

    i = sizeof(FACE_SPOOL_MAGIC) - 1;
    n = 0;

    for (digits = 0; i < len && buf[i] >= '0' && buf[i] <= '9'; i++) {
        if (++digits > 9) {
            return -1;
        }

        n = n * 10 + (buf[i] - '0');
    }

    if (digits == 0 || i == len || buf[i] != '\n') {
        return -1;
    }

    i++;

    /* n state bytes and a newline, then a payload of at least "{}" */

    if (len - i < n + 1 + 2 || buf[i + n] != '\n') {
        return -1;
    }

    *state_off = i;

    for ( /* void */ ; i < *state_off + n; i++) {
        if (buf[i] != FACE_SPOOL_PENDING && buf[i] != FACE_SPOOL_DELIVERED
            && buf[i] != FACE_SPOOL_FAILED)
        {
            return -1;
        }
    }

    *nsources = n;
    *payload_off = i + 1;

    return 0;
}
