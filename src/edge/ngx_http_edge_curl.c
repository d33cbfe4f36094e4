
/*
 * The outbound HTTP client's common ground: see ngx_http_edge_curl.h.
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_edge_curl.h"


static curl_socket_t ngx_http_edge_curl_open_socket(void *data,
    curlsocktype purpose, struct curl_sockaddr *address);


CURLcode
ngx_http_edge_curl_common(CURL *curl, ngx_http_edge_curl_guard_t *guard)
{
    CURLcode  code;

#define ngx_http_edge_curl_opt(opt, v)                                        \
    if (code == CURLE_OK) {                                                   \
        code = curl_easy_setopt(curl, opt, v);                                \
    }

    code = curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);

    ngx_http_edge_curl_opt(CURLOPT_PROTOCOLS_STR, "http,https");
    ngx_http_edge_curl_opt(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    ngx_http_edge_curl_opt(CURLOPT_PROXY, "");
    ngx_http_edge_curl_opt(CURLOPT_NOPROXY, "*");
    ngx_http_edge_curl_opt(CURLOPT_CONNECTTIMEOUT_MS,
                           (long) NGX_HTTP_EDGE_CURL_CONNECT_MS);

    if (guard) {
        guard->refused = EDGE_NET_PUBLIC;

        ngx_http_edge_curl_opt(CURLOPT_OPENSOCKETFUNCTION,
                               ngx_http_edge_curl_open_socket);
        ngx_http_edge_curl_opt(CURLOPT_OPENSOCKETDATA, guard);
    }

#undef ngx_http_edge_curl_opt

    return code;
}


/*
 * Every connection of every transfer, redirects included: the address
 * it is about to go to.
 */

static curl_socket_t
ngx_http_edge_curl_open_socket(void *data, curlsocktype purpose,
    struct curl_sockaddr *address)
{
    ngx_http_edge_curl_guard_t *guard = data;

    edge_net_class_e  cls;

    if (purpose != CURLSOCKTYPE_IPCXN) {
        return CURL_SOCKET_BAD;
    }

    cls = edge_net_classify(&address->addr, address->addrlen);

    if (cls != EDGE_NET_PUBLIC && !guard->allow_private) {
        guard->refused = cls;
        return CURL_SOCKET_BAD;
    }

    return socket(address->family, address->socktype, address->protocol);
}
