#include "client/endpoint.h"

#include <netdb.h>

#include <cstring>

namespace glide::client {

namespace {

Result<uint16_t> parse_port(std::string_view s, std::string_view url) {
    if (s.empty() || s.size() > 5)
        return make_error("invalid port in \"" + std::string(url) + "\"");
    uint32_t v = 0;
    for (char c : s) {
        if (c < '0' || c > '9')
            return make_error("invalid port in \"" + std::string(url) + "\"");
        v = v * 10 + static_cast<uint32_t>(c - '0');
    }
    if (v == 0 || v > 65535)
        return make_error("invalid port in \"" + std::string(url) + "\"");
    return static_cast<uint16_t>(v);
}

} // namespace

Result<Endpoint> parse_endpoint(std::string_view url) {
    Endpoint ep;
    std::string_view rest;
    if (url.starts_with("ws://")) {
        rest = url.substr(5);
    } else if (url.starts_with("tcp://")) {
        ep.transport = Transport::tcp;
        rest = url.substr(6);
    } else if (url.starts_with("wss://")) {
        return make_error("\"" + std::string(url) + "\": wss:// is not supported, use ws://");
    } else {
        return make_error("\"" + std::string(url) +
                          "\": expected ws://HOST:PORT/PATH or tcp://HOST:PORT");
    }
    size_t slash = rest.find('/');
    std::string_view authority = rest.substr(0, slash);
    if (slash != std::string_view::npos) {
        if (ep.transport == Transport::tcp && rest.size() > slash + 1)
            return make_error("\"" + std::string(url) + "\": a tcp:// URL has no path");
        if (ep.transport == Transport::ws)
            ep.path = std::string(rest.substr(slash));
    }
    std::string_view host, port;
    if (authority.starts_with('[')) {
        size_t close = authority.find(']');
        if (close == std::string_view::npos || close + 1 >= authority.size() ||
            authority[close + 1] != ':')
            return make_error("\"" + std::string(url) + "\": expected [IPv6]:PORT");
        host = authority.substr(1, close - 1);
        port = authority.substr(close + 2);
    } else {
        size_t colon = authority.rfind(':');
        if (colon == std::string_view::npos)
            return make_error("\"" + std::string(url) + "\": the port is missing");
        host = authority.substr(0, colon);
        port = authority.substr(colon + 1);
    }
    if (host.empty())
        return make_error("\"" + std::string(url) + "\": the host is missing");
    Result<uint16_t> p = parse_port(port, url);
    if (!p)
        return make_error(p.error());
    ep.host = std::string(host);
    ep.port = *p;
    return ep;
}

Result<SockAddr> resolve(std::string_view host, uint16_t port) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo *res = nullptr;
    std::string h(host), p = std::to_string(port);
    int rc = getaddrinfo(h.c_str(), p.c_str(), &hints, &res);
    if (rc != 0)
        return make_error("cannot resolve \"" + h + "\": " + gai_strerror(rc));
    SockAddr out;
    std::memcpy(&out.ss, res->ai_addr, res->ai_addrlen);
    out.len = res->ai_addrlen;
    freeaddrinfo(res);
    return out;
}

std::string host_header(const Endpoint &ep) {
    std::string h = ep.host.find(':') != std::string::npos ? "[" + ep.host + "]" : ep.host;
    return h + ":" + std::to_string(ep.port);
}

} // namespace glide::client
