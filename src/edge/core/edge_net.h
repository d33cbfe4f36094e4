
/*
 * The SSRF guard of every outbound request (face jobs' downloads and
 * callbacks, the zipper job's downloads, redirects and upload): which
 * destination addresses a connection may go to, and which hosts a URL
 * may name.
 *
 * Every address a connection is about to be opened to is classified
 * (libcurl's open-socket callback calls edge_net_classify() on every hop,
 * redirects included, so a name that resolves to a private address, or
 * changes its answer between checks, is still caught).  IPv4 embedded in
 * IPv6 (mapped ::ffff:a.b.c.d, compatible ::a.b.c.d, NAT64 64:ff9b::/96,
 * 6to4 2002::/16) is classified by the IPv4 address it carries.
 *
 * No nginx types here.  The file is compiled into the face and the album
 * zip modules' .so (the zipper job applies the same policy); the modules
 * are loaded with RTLD_GLOBAL, so these functions are hidden: each .so
 * binds its own copy.
 */


#ifndef _EDGE_NET_H_INCLUDED_
#define _EDGE_NET_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>

#include <sys/socket.h>


#if (__GNUC__ >= 4)
#define EDGE_NET_HIDDEN  __attribute__((visibility("hidden")))
#else
#define EDGE_NET_HIDDEN
#endif


typedef enum {
    EDGE_NET_PUBLIC = 0,
    EDGE_NET_LOOPBACK,        /* 127/8, ::1 */
    EDGE_NET_PRIVATE,         /* 10/8, 172.16/12, 192.168/16, 100.64/10,
                                 fc00::/7, fec0::/10 */
    EDGE_NET_LINK_LOCAL,      /* 169.254/16, fe80::/10 */
    EDGE_NET_UNSPECIFIED,     /* 0/8, :: */
    EDGE_NET_MULTICAST,       /* 224/4, ff00::/8 */
    EDGE_NET_RESERVED         /* 240/4, broadcast, documentation, Teredo,
                                 anything not IPv4 or IPv6 */
} edge_net_class_e;


/* addr in host byte order */
EDGE_NET_HIDDEN edge_net_class_e edge_net_classify_ipv4(uint32_t addr);

EDGE_NET_HIDDEN edge_net_class_e edge_net_classify_ipv6(
    const uint8_t addr[16]);

/* an AF_INET or AF_INET6 socket address; others are RESERVED */
EDGE_NET_HIDDEN edge_net_class_e edge_net_classify(
    const struct sockaddr *sa, socklen_t len);

/* "loopback", "private", ...: for logs and errors */
EDGE_NET_HIDDEN const char *edge_net_class_name(edge_net_class_e cls);

/*
 * An IPv4 literal as inet_aton() reads it: one to four parts, each
 * decimal, octal (leading 0) or hex (0x): "127.0.0.1", "2130706433",
 * "0x7f000001", "0177.0.0.1", "127.1".  Returns 0 and sets *addr (host
 * byte order), or -1 when s is not such a literal.
 */
EDGE_NET_HIDDEN int edge_net_parse_ipv4(const char *s, size_t len,
    uint32_t *addr);

/*
 * The host of an http(s) URL, without user info, port or IPv6 brackets,
 * pointing into url.  Returns 0, or -1 when there is none.
 */
EDGE_NET_HIDDEN int edge_net_url_host(const char *url, size_t len,
    const char **host, size_t *host_len);

/*
 * When host is an address literal (any IPv4 form above, or an IPv6
 * address), its class in *cls and 0; -1 for a name.
 */
EDGE_NET_HIDDEN int edge_net_host_literal(const char *host, size_t len,
    edge_net_class_e *cls);

/*
 * 1 if host (case-insensitive) equals one of the n names, or ends in
 * ".<suffix>" for a name given as ".<suffix>" or "*.<suffix>"; else 0.
 * A trailing dot of the host is ignored.
 */
EDGE_NET_HIDDEN int edge_net_host_allowed(const char *host, size_t len,
    const char *const *names, const size_t *lens, size_t n);


#endif /* _EDGE_NET_H_INCLUDED_ */
