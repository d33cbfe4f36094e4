
/*
 * Retry-After (RFC 9110, 10.2.3): delay-seconds or an HTTP-date, in the
 * three forms a recipient must read (IMF-fixdate, RFC 850, asctime).
 * Pure C, no nginx types.
 */


#ifndef _EDGE_RETRY_AFTER_H_INCLUDED_
#define _EDGE_RETRY_AFTER_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


#if (__GNUC__ >= 4)
#define EDGE_RETRY_AFTER_HIDDEN  __attribute__((visibility("hidden")))
#else
#define EDGE_RETRY_AFTER_HIDDEN
#endif


/*
 * The delay a Retry-After value asks for, in seconds from now (seconds
 * since the epoch): 0 for a date in the past; -1 when the value is
 * neither form.  Blanks around the value are ignored; a delay over
 * 2^31 - 1 seconds is 2^31 - 1.
 */
EDGE_RETRY_AFTER_HIDDEN int64_t edge_retry_after(const char *v, size_t len,
    int64_t now);

/* an HTTP-date as seconds since the epoch; -1 if it is not one */
EDGE_RETRY_AFTER_HIDDEN int64_t edge_http_date(const char *v, size_t len);


#endif /* _EDGE_RETRY_AFTER_H_INCLUDED_ */
