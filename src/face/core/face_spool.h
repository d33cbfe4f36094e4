
/*
 * The spool of face jobs: file names and the job file's format.
 *
 * A job file is a header, one state byte per source, a newline, then the
 * payload exactly as it was accepted:
 *
 *     face-job 1 3\n
 *     .D.\n
 *     {"api_url": ..., "sources": [...]}
 *
 * A state byte is rewritten in place (pwrite) once its source's outcome
 * is final, so that a job resumed after a restart skips what is done.
 * Names sort by acceptance time: "<ms since epoch, 13 digits>-<pid>-<seq>
 * .job".
 *
 * No nginx types here.
 */


#ifndef _FACE_SPOOL_H_INCLUDED_
#define _FACE_SPOOL_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


#define FACE_SPOOL_PENDING     '.'
#define FACE_SPOOL_DELIVERED   'D'
#define FACE_SPOOL_FAILED      'F'

/* a name, with its NUL, fits in this */
#define FACE_SPOOL_NAME_LEN    64

/* the header, with its NUL, fits in this */
#define FACE_SPOOL_HEADER_LEN  48

/*
 * A temporary job file (in the spool's tmp/) is written, synced and
 * renamed by one thread task, in milliseconds; one not modified for this
 * long (seconds) was left by a crash before the rename.
 */
#define FACE_SPOOL_TMP_STALE   60


/* Writes the job's file name into buf; returns its length. */
size_t face_spool_name(char *buf, uint64_t ms, unsigned long pid,
    unsigned long seq);

/* 1 if name (NUL-terminated) is a job name as made above, else 0. */
int face_spool_name_ok(const char *name);

/*
 * 1 if a file of tmp/ with this name, last modified at mtime, is at now
 * (both in seconds) a temporary job file left behind: a job name, and
 * not modified for FACE_SPOOL_TMP_STALE seconds.  The client never heard
 * 202 for it: removing it loses nothing.  Else 0 (a clock set back
 * makes mtime later than now: kept).
 */
int face_spool_tmp_stale(const char *name, int64_t mtime, int64_t now);

/*
 * "face-job 1 <n>\n" into buf; returns its length.  The state bytes
 * follow at that offset.
 */
size_t face_spool_header(char *buf, size_t nsources);

/*
 * Checks a job file read back: sets the number of sources, the offset of
 * the state bytes and that of the payload.  Returns 0, or -1 when the
 * file is not a complete job file.
 */
int face_spool_parse(const char *buf, size_t len, size_t *nsources,
    size_t *state_off, size_t *payload_off);


#endif /* _FACE_SPOOL_H_INCLUDED_ */
