
/*
 * The SSRF guard of face jobs: address classes and host checks.  See
 * edge_net.h.  Everything that is not plainly a public unicast address
 * is refused by the caller unless face_allow_private is on: the list of
 * special ranges follows the IANA special-purpose registries, and the
 * embedded-IPv4 forms are unwrapped because a filter that only knows
 * "127.0.0.1" and "::1" is bypassed by "::ffff:127.0.0.1".
 */


#include <string.h>
#include <strings.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "edge_net.h"


static int edge_net_lower(int c);


edge_net_class_e
edge_net_classify_ipv4(uint32_t a)
{
    uint32_t  b1, b2;

    b1 = a >> 24;
    b2 = (a >> 16) & 0xff;

    if (b1 == 0) {
        return EDGE_NET_UNSPECIFIED;
    }

    if (b1 == 127) {
        return EDGE_NET_LOOPBACK;
    }

    if (b1 == 10
        || (b1 == 172 && (b2 & 0xf0) == 16)
        || (b1 == 192 && b2 == 168)
        || (b1 == 100 && (b2 & 0xc0) == 64))
    {
        return EDGE_NET_PRIVATE;
    }

    if (b1 == 169 && b2 == 254) {
        return EDGE_NET_LINK_LOCAL;
    }

    if ((b1 & 0xf0) == 224) {
        return EDGE_NET_MULTICAST;
    }

    /*
     * 240/4 and broadcast; 192.0.0/24 (protocol assignments), the three
     * documentation nets, 198.18/15 (benchmarks)
     */

    if ((b1 & 0xf0) == 240
        || (a & 0xffffff00) == 0xc0000000
        || (a & 0xffffff00) == 0xc0000200
        || (a & 0xffffff00) == 0xc6336400
        || (a & 0xffffff00) == 0xcb007100
        || (a & 0xfffe0000) == 0xc6120000)
    {
        return EDGE_NET_RESERVED;
    }

    return EDGE_NET_PUBLIC;
}


edge_net_class_e
edge_net_classify_ipv6(const uint8_t a[16])
{
    size_t    i;
    uint32_t  v4;

    static const uint8_t  zero[16];
    static const uint8_t  mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0,
                                         0, 0, 0xff, 0xff };
    static const uint8_t  nat64[12] = { 0, 0x64, 0xff, 0x9b, 0, 0, 0, 0,
                                        0, 0, 0, 0 };

    if (memcmp(a, zero, 16) == 0) {
        return EDGE_NET_UNSPECIFIED;
    }

    for (i = 0; i < 15 && a[i] == 0; i++) { /* void */ }

    if (i == 15 && a[15] == 1) {
        return EDGE_NET_LOOPBACK;
    }

    /* IPv4-mapped, IPv4-compatible (::a.b.c.d), NAT64: the IPv4 inside */

    if (memcmp(a, mapped, 12) == 0 || memcmp(a, zero, 12) == 0
        || memcmp(a, nat64, 12) == 0)
    {
        v4 = ((uint32_t) a[12] << 24) | ((uint32_t) a[13] << 16)
             | ((uint32_t) a[14] << 8) | a[15];
        return edge_net_classify_ipv4(v4);
    }

    /* 6to4: 2002:AABB:CCDD::/48 carries AA.BB.CC.DD */

    if (a[0] == 0x20 && a[1] == 0x02) {
        v4 = ((uint32_t) a[2] << 24) | ((uint32_t) a[3] << 16)
             | ((uint32_t) a[4] << 8) | a[5];
        return edge_net_classify_ipv4(v4);
    }

    if (a[0] == 0xff) {
        return EDGE_NET_MULTICAST;
    }

    if ((a[0] & 0xfe) == 0xfc || (a[0] == 0xfe && (a[1] & 0xc0) == 0xc0)) {
        return EDGE_NET_PRIVATE;
    }

    if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) {
        return EDGE_NET_LINK_LOCAL;
    }

    /*
     * Teredo 2001::/32 (tunnels to an obfuscated IPv4), 2001:db8::/32
     * (documentation), 100::/64 (discard), and everything outside the
     * global unicast 2000::/3
     */

    if ((a[0] == 0x20 && a[1] == 0x01 && a[2] == 0 && a[3] == 0)
        || (a[0] == 0x20 && a[1] == 0x01 && a[2] == 0x0d && a[3] == 0xb8)
        || (a[0] & 0xe0) != 0x20)
    {
        return EDGE_NET_RESERVED;
    }

    return EDGE_NET_PUBLIC;
}


edge_net_class_e
edge_net_classify(const struct sockaddr *sa, socklen_t len)
{
    const struct sockaddr_in   *sin;
    const struct sockaddr_in6  *sin6;

    if (sa == NULL) {
        return EDGE_NET_RESERVED;
    }

    if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
        sin = (const struct sockaddr_in *) sa;
        return edge_net_classify_ipv4(ntohl(sin->sin_addr.s_addr));
    }

    if (sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
        sin6 = (const struct sockaddr_in6 *) sa;
        return edge_net_classify_ipv6(sin6->sin6_addr.s6_addr);
    }

    return EDGE_NET_RESERVED;
}


const char *
edge_net_class_name(edge_net_class_e cls)
{
    switch (cls) {

    case EDGE_NET_PUBLIC:
        return "public";

    case EDGE_NET_LOOPBACK:
        return "loopback";

    case EDGE_NET_PRIVATE:
        return "private";

    case EDGE_NET_LINK_LOCAL:
        return "link-local";

    case EDGE_NET_UNSPECIFIED:
        return "unspecified";

    case EDGE_NET_MULTICAST:
        return "multicast";

    default:
        return "reserved";
    }
}


int
edge_net_parse_ipv4(const char *s, size_t len, uint32_t *addr)
{
    int       base, digits;
    size_t    i, nparts;
    uint64_t  parts[4], v;

    if (len == 0 || len > 64) {
        return -1;
    }

    i = 0;
    nparts = 0;

    while (i < len) {

        if (nparts == 4) {
            return -1;
        }

        base = 10;

        if (s[i] == '0' && i + 1 < len && (s[i + 1] == 'x' || s[i + 1] == 'X'))
        {
            base = 16;
            i += 2;

        } else if (s[i] == '0' && i + 1 < len && s[i + 1] != '.') {
            base = 8;
            i++;
        }

        v = 0;
        digits = 0;

        for ( /* void */ ; i < len && s[i] != '.'; i++) {
            int  c, d;

            c = edge_net_lower((unsigned char) s[i]);

            if (c >= '0' && c <= '9') {
                d = c - '0';

            } else if (c >= 'a' && c <= 'f') {
                d = c - 'a' + 10;

            } else {
                return -1;
            }

            if (d >= base) {
                return -1;
            }

            v = v * base + d;
            digits++;

            if (v > 0xffffffffULL) {
                return -1;
            }
        }

        /* "0x" alone is not a number; "0" (octal prefix eaten) is */

        if (digits == 0 && base != 8) {
            return -1;
        }

        parts[nparts++] = v;

        if (i < len) {
            i++;                       /* the dot */

            if (i == len) {
                return -1;             /* "1.2.3." */
            }
        }
    }

    /* a.b.c.d, a.b.c (c: 16 bits), a.b (b: 24 bits), a (32 bits) */

    for (i = 0; i + 1 < nparts; i++) {
        if (parts[i] > 0xff) {
            return -1;
        }
    }

    if (parts[nparts - 1] > (0xffffffffULL >> (8 * (nparts - 1)))) {
        return -1;
    }

    v = parts[nparts - 1];

    for (i = 0; i + 1 < nparts; i++) {
        v |= parts[i] << (24 - 8 * i);
    }

    *addr = (uint32_t) v;

    return 0;
}


int
edge_net_url_host(const char *url, size_t len, const char **host,
    size_t *host_len)
{
    size_t       i, start, end, at;
    const char  *p;

    for (i = 0; i + 2 < len; i++) {
        if (url[i] == ':' && url[i + 1] == '/' && url[i + 2] == '/') {
            break;
        }
    }

    if (i + 2 >= len) {
        return -1;
    }

    start = i + 3;

    for (end = start; end < len; end++) {
        if (url[end] == '/' || url[end] == '?' || url[end] == '#') {
            break;
        }
    }

    /* user info ends at the last "@" of the authority */

    for (at = end; at > start; at--) {
        if (url[at - 1] == '@') {
            break;
        }
    }

    if (at > start) {
        start = at;
    }

    p = url + start;

    if (start < end && *p == '[') {
        for (i = start; i < end && url[i] != ']'; i++) { /* void */ }

        if (i == end || i == start + 1) {
            return -1;
        }

        *host = p + 1;
        *host_len = i - start - 1;
        return 0;
    }

    for (i = start; i < end && url[i] != ':'; i++) { /* void */ }

    if (i == start) {
        return -1;
    }

    *host = p;
    *host_len = i - start;

    return 0;
}


int
edge_net_host_literal(const char *host, size_t len, edge_net_class_e *cls)
{
    char            buf[64];
    uint8_t         a6[16];
    uint32_t        a4;

    if (edge_net_parse_ipv4(host, len, &a4) == 0) {
        *cls = edge_net_classify_ipv4(a4);
        return 0;
    }

    if (len == 0 || len >= sizeof(buf) || memchr(host, ':', len) == NULL) {
        return -1;
    }

    memcpy(buf, host, len);
    buf[len] = '\0';

    /* a zone ("fe80::1%eth0") does not change the class */

    if (strchr(buf, '%') != NULL) {
        *strchr(buf, '%') = '\0';
    }

    if (inet_pton(AF_INET6, buf, a6) != 1) {
        return -1;
    }

    *cls = edge_net_classify_ipv6(a6);

    return 0;
}


int
edge_net_host_allowed(const char *host, size_t len,
    const char *const *names, const size_t *lens, size_t n)
{
    size_t       i, nl;
    const char  *name;

    if (len > 0 && host[len - 1] == '.') {
        len--;
    }

    for (i = 0; i < n; i++) {
        name = names[i];
        nl = lens[i];

        if (nl > 1 && name[0] == '*' && name[1] == '.') {
            name++;
            nl--;
        }

        if (nl > 0 && name[0] == '.') {
            /* ".example.com": any name below example.com */

            if (len > nl && strncasecmp(host + len - nl, name, nl) == 0) {
                return 1;
            }

            continue;
        }

        if (nl == len && strncasecmp(host, name, len) == 0) {
            return 1;
        }
    }

    return 0;
}


static int
edge_net_lower(int c)
{
    return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}
