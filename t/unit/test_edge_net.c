
/*
 * Unit tests for edge_net.c: address classes over the special ranges
 * (IPv4, IPv6, IPv4 inside IPv6), the IPv4 literal forms inet_aton()
 * accepts, URL hosts and the host allow-list.  No packet is sent.
 */


#include <arpa/inet.h>
#include <netinet/in.h>

#include "unit.h"
#include "edge_net.h"


static int
v4(const char *s)
{
    uint32_t  a;

    if (edge_net_parse_ipv4(s, strlen(s), &a) != 0) {
        return -1;
    }

    return (int) edge_net_classify_ipv4(a);
}


static int
v6(const char *s)
{
    uint8_t  a[16];

    if (inet_pton(AF_INET6, s, a) != 1) {
        return -1;
    }

    return (int) edge_net_classify_ipv6(a);
}


static int
literal(const char *host)
{
    edge_net_class_e  cls;

    if (edge_net_host_literal(host, strlen(host), &cls) != 0) {
        return -1;
    }

    return (int) cls;
}


UNIT_TEST(test_ipv4_ranges)
{
    CHECK_INT(v4("127.0.0.1"), EDGE_NET_LOOPBACK);
    CHECK_INT(v4("127.255.255.254"), EDGE_NET_LOOPBACK);
    CHECK_INT(v4("0.0.0.0"), EDGE_NET_UNSPECIFIED);
    CHECK_INT(v4("0.1.2.3"), EDGE_NET_UNSPECIFIED);
    CHECK_INT(v4("10.0.0.1"), EDGE_NET_PRIVATE);
    CHECK_INT(v4("172.16.0.1"), EDGE_NET_PRIVATE);
    CHECK_INT(v4("172.31.255.255"), EDGE_NET_PRIVATE);
    CHECK_INT(v4("172.32.0.1"), EDGE_NET_PUBLIC);
    CHECK_INT(v4("172.15.255.255"), EDGE_NET_PUBLIC);
    CHECK_INT(v4("192.168.1.1"), EDGE_NET_PRIVATE);
    CHECK_INT(v4("100.64.0.1"), EDGE_NET_PRIVATE);
    CHECK_INT(v4("100.127.255.255"), EDGE_NET_PRIVATE);
    CHECK_INT(v4("100.128.0.1"), EDGE_NET_PUBLIC);
    CHECK_INT(v4("169.254.169.254"), EDGE_NET_LINK_LOCAL);
    CHECK_INT(v4("224.0.0.1"), EDGE_NET_MULTICAST);
    CHECK_INT(v4("239.255.255.250"), EDGE_NET_MULTICAST);
    CHECK_INT(v4("240.0.0.1"), EDGE_NET_RESERVED);
    CHECK_INT(v4("255.255.255.255"), EDGE_NET_RESERVED);
    CHECK_INT(v4("192.0.0.8"), EDGE_NET_RESERVED);
    CHECK_INT(v4("192.0.2.1"), EDGE_NET_RESERVED);
    CHECK_INT(v4("198.51.100.7"), EDGE_NET_RESERVED);
    CHECK_INT(v4("203.0.113.9"), EDGE_NET_RESERVED);
    CHECK_INT(v4("198.18.0.1"), EDGE_NET_RESERVED);
    CHECK_INT(v4("198.19.255.1"), EDGE_NET_RESERVED);
    CHECK_INT(v4("198.20.0.1"), EDGE_NET_PUBLIC);
    CHECK_INT(v4("8.8.8.8"), EDGE_NET_PUBLIC);
    CHECK_INT(v4("93.184.216.34"), EDGE_NET_PUBLIC);
    CHECK_INT(v4("192.169.0.1"), EDGE_NET_PUBLIC);
}


UNIT_TEST(test_ipv4_forms)
{
    uint32_t  a;

    /* every spelling of 127.0.0.1 that inet_aton() and libcurl accept */
    CHECK_INT(v4("2130706433"), EDGE_NET_LOOPBACK);
    CHECK_INT(v4("0x7f000001"), EDGE_NET_LOOPBACK);
    CHECK_INT(v4("0X7F000001"), EDGE_NET_LOOPBACK);
    CHECK_INT(v4("017700000001"), EDGE_NET_LOOPBACK);
    CHECK_INT(v4("0177.0.0.1"), EDGE_NET_LOOPBACK);
    CHECK_INT(v4("0x7f.1"), EDGE_NET_LOOPBACK);
    CHECK_INT(v4("127.1"), EDGE_NET_LOOPBACK);
    CHECK_INT(v4("127.0.1"), EDGE_NET_LOOPBACK);
    CHECK_INT(v4("0x7f.0x0.0x0.0x1"), EDGE_NET_LOOPBACK);
    CHECK_INT(v4("0"), EDGE_NET_UNSPECIFIED);
    CHECK_INT(v4("0x0"), EDGE_NET_UNSPECIFIED);
    CHECK_INT(v4("10.0x10000"), EDGE_NET_PRIVATE);
    CHECK_INT(v4("0xa9fea9fe"), EDGE_NET_LINK_LOCAL);

    CHECK_INT(edge_net_parse_ipv4("1.2.3.4", 7, &a), 0);
    CHECK_INT(a, 0x01020304);
    CHECK_INT(edge_net_parse_ipv4("1.2.65535", 9, &a), 0);
    CHECK_INT(a, 0x0102ffff);
    CHECK_INT(edge_net_parse_ipv4("1.16777215", 10, &a), 0);
    CHECK_INT(a, 0x01ffffff);

    /* not literals: names, overflows, bad digits, empty parts */
    CHECK_INT(v4("localhost"), -1);
    CHECK_INT(v4("face"), -1);
    CHECK_INT(v4("1.2.3.4.5"), -1);
    CHECK_INT(v4("256.0.0.1"), -1);
    CHECK_INT(v4("1.2.3.256"), -1);
    CHECK_INT(v4("1.2.65536"), -1);
    CHECK_INT(v4("4294967296"), -1);
    CHECK_INT(v4("0x100000000"), -1);
    CHECK_INT(v4("08"), -1);
    CHECK_INT(v4("0x"), -1);
    CHECK_INT(v4("1..2"), -1);
    CHECK_INT(v4("1.2.3."), -1);
    CHECK_INT(v4(".1.2.3"), -1);
    CHECK_INT(v4("1.2.3.4 "), -1);
    CHECK_INT(v4(""), -1);
    CHECK_INT(v4("99999999999999999999999"), -1);
}


UNIT_TEST(test_ipv6_ranges)
{
    CHECK_INT(v6("::1"), EDGE_NET_LOOPBACK);
    CHECK_INT(v6("::"), EDGE_NET_UNSPECIFIED);
    CHECK_INT(v6("fc00::1"), EDGE_NET_PRIVATE);
    CHECK_INT(v6("fd12:3456::1"), EDGE_NET_PRIVATE);
    CHECK_INT(v6("fec0::1"), EDGE_NET_PRIVATE);
    CHECK_INT(v6("fe80::1"), EDGE_NET_LINK_LOCAL);
    CHECK_INT(v6("febf::1"), EDGE_NET_LINK_LOCAL);
    CHECK_INT(v6("ff02::1"), EDGE_NET_MULTICAST);
    CHECK_INT(v6("2001:db8::1"), EDGE_NET_RESERVED);
    CHECK_INT(v6("2001:0:4136:e378:8000:63bf:3fff:fdd2"),
              EDGE_NET_RESERVED);
    CHECK_INT(v6("100::1"), EDGE_NET_RESERVED);
    CHECK_INT(v6("2606:4700::1111"), EDGE_NET_PUBLIC);
    CHECK_INT(v6("2a00:1450:4001::200e"), EDGE_NET_PUBLIC);

    /* IPv4 inside IPv6: the IPv4 address decides */
    CHECK_INT(v6("::ffff:127.0.0.1"), EDGE_NET_LOOPBACK);
    CHECK_INT(v6("::ffff:7f00:1"), EDGE_NET_LOOPBACK);
    CHECK_INT(v6("::ffff:10.1.2.3"), EDGE_NET_PRIVATE);
    CHECK_INT(v6("::ffff:169.254.169.254"), EDGE_NET_LINK_LOCAL);
    CHECK_INT(v6("::ffff:8.8.8.8"), EDGE_NET_PUBLIC);
    CHECK_INT(v6("::127.0.0.1"), EDGE_NET_LOOPBACK);
    CHECK_INT(v6("::0.0.0.2"), EDGE_NET_UNSPECIFIED);
    CHECK_INT(v6("64:ff9b::127.0.0.1"), EDGE_NET_LOOPBACK);
    CHECK_INT(v6("64:ff9b::8.8.4.4"), EDGE_NET_PUBLIC);
    CHECK_INT(v6("2002:7f00:1::"), EDGE_NET_LOOPBACK);
    CHECK_INT(v6("2002:c0a8:101::1"), EDGE_NET_PRIVATE);
    CHECK_INT(v6("2002:808:808::1"), EDGE_NET_PUBLIC);
}


UNIT_TEST(test_sockaddr)
{
    struct sockaddr_in   sin;
    struct sockaddr_in6  sin6;
    struct sockaddr      other;

    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(0x7f000001);
    CHECK_INT(edge_net_classify((struct sockaddr *) &sin, sizeof(sin)),
              EDGE_NET_LOOPBACK);

    sin.sin_addr.s_addr = htonl(0x08080808);
    CHECK_INT(edge_net_classify((struct sockaddr *) &sin, sizeof(sin)),
              EDGE_NET_PUBLIC);

    /* a short length is not trusted */
    CHECK_INT(edge_net_classify((struct sockaddr *) &sin, 4),
              EDGE_NET_RESERVED);

    memset(&sin6, 0, sizeof(sin6));
    sin6.sin6_family = AF_INET6;
    inet_pton(AF_INET6, "::ffff:127.0.0.1", &sin6.sin6_addr);
    CHECK_INT(edge_net_classify((struct sockaddr *) &sin6, sizeof(sin6)),
              EDGE_NET_LOOPBACK);

    memset(&other, 0, sizeof(other));
    other.sa_family = AF_UNIX;
    CHECK_INT(edge_net_classify(&other, sizeof(other)), EDGE_NET_RESERVED);
    CHECK_INT(edge_net_classify(NULL, 0), EDGE_NET_RESERVED);
}


UNIT_TEST(test_host_literal)
{
    CHECK_INT(literal("127.0.0.1"), EDGE_NET_LOOPBACK);
    CHECK_INT(literal("0x7f000001"), EDGE_NET_LOOPBACK);
    CHECK_INT(literal("::1"), EDGE_NET_LOOPBACK);
    CHECK_INT(literal("::ffff:127.0.0.1"), EDGE_NET_LOOPBACK);
    CHECK_INT(literal("fe80::1%eth0"), EDGE_NET_LINK_LOCAL);
    CHECK_INT(literal("8.8.8.8"), EDGE_NET_PUBLIC);
    CHECK_INT(literal("localhost"), -1);
    CHECK_INT(literal("cdn.example"), -1);
    CHECK_INT(literal("[::1]"), -1);
    CHECK_INT(literal(":::"), -1);
}


static const char *
host_of(const char *url)
{
    static char   buf[256];
    const char   *h;
    size_t        n;

    if (edge_net_url_host(url, strlen(url), &h, &n) != 0) {
        return "(none)";
    }

    memcpy(buf, h, n);
    buf[n] = '\0';

    return buf;
}


UNIT_TEST(test_url_host)
{
    CHECK_STR(host_of("http://cdn.example/a.jpg"), "cdn.example");
    CHECK_STR(host_of("https://cdn.example:8443/a"), "cdn.example");
    CHECK_STR(host_of("http://user:pw@cdn.example/a"), "cdn.example");
    CHECK_STR(host_of("http://a@b@cdn.example?x"), "cdn.example");
    CHECK_STR(host_of("http://[::1]:8080/x"), "::1");
    CHECK_STR(host_of("http://[::ffff:127.0.0.1]/"), "::ffff:127.0.0.1");
    CHECK_STR(host_of("http://0x7f000001/"), "0x7f000001");
    CHECK_STR(host_of("http://cdn.example#frag"), "cdn.example");
    CHECK_STR(host_of("http://cdn.example/p@q"), "cdn.example");
    CHECK_STR(host_of("http:///x"), "(none)");
    CHECK_STR(host_of("http://:80/x"), "(none)");
    CHECK_STR(host_of("http://[]/x"), "(none)");
    CHECK_STR(host_of("http://[::1/x"), "(none)");
    CHECK_STR(host_of("cdn.example/x"), "(none)");
}


UNIT_TEST(test_host_allowed)
{
    const char  *names[] = { "cdn.example", ".media.example",
                             "*.img.example" };
    size_t       lens[] = { 11, 14, 13 };

#define ALLOWED(h)  edge_net_host_allowed(h, strlen(h), names, lens, 3)

    CHECK_INT(ALLOWED("cdn.example"), 1);
    CHECK_INT(ALLOWED("CDN.Example"), 1);
    CHECK_INT(ALLOWED("cdn.example."), 1);
    CHECK_INT(ALLOWED("a.cdn.example"), 0);
    CHECK_INT(ALLOWED("cdn.example.evil"), 0);
    CHECK_INT(ALLOWED("xcdn.example"), 0);
    CHECK_INT(ALLOWED("eu.media.example"), 1);
    CHECK_INT(ALLOWED("a.b.media.example"), 1);
    CHECK_INT(ALLOWED("media.example"), 0);
    CHECK_INT(ALLOWED("evilmedia.example"), 0);
    CHECK_INT(ALLOWED("x.img.example"), 1);
    CHECK_INT(ALLOWED("img.example"), 0);
    CHECK_INT(ALLOWED(""), 0);
    CHECK_INT(edge_net_host_allowed("cdn.example", 11, NULL, NULL, 0), 0);

#undef ALLOWED
}


UNIT_TEST(test_class_names)
{
    CHECK_STR(edge_net_class_name(EDGE_NET_PUBLIC), "public");
    CHECK_STR(edge_net_class_name(EDGE_NET_LOOPBACK), "loopback");
    CHECK_STR(edge_net_class_name(EDGE_NET_PRIVATE), "private");
    CHECK_STR(edge_net_class_name(EDGE_NET_LINK_LOCAL), "link-local");
    CHECK_STR(edge_net_class_name(EDGE_NET_UNSPECIFIED), "unspecified");
    CHECK_STR(edge_net_class_name(EDGE_NET_MULTICAST), "multicast");
    CHECK_STR(edge_net_class_name(EDGE_NET_RESERVED), "reserved");
}


UNIT_MAIN(test_ipv4_ranges, test_ipv4_forms, test_ipv6_ranges,
          test_sockaddr, test_host_literal, test_url_host,
          test_host_allowed, test_class_names)
