#include "net/address.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>

namespace glide::net {

uint16_t Address::port() const {
    if (ss.sa.sa_family == AF_INET)
        return ntohs(reinterpret_cast<const sockaddr_in *>(&ss)->sin_port);
    if (ss.sa.sa_family == AF_INET6)
        return ntohs(reinterpret_cast<const sockaddr_in6 *>(&ss)->sin6_port);
    return 0;
}

std::string Address::text() const {
    char host[INET6_ADDRSTRLEN] = "?";
    if (ss.sa.sa_family == AF_INET) {
        inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in *>(&ss)->sin_addr, host,
                  sizeof host);
        return std::string(host) + ":" + std::to_string(port());
    }
    if (ss.sa.sa_family == AF_INET6) {
        inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6 *>(&ss)->sin6_addr, host,
                  sizeof host);
        return "[" + std::string(host) + "]:" + std::to_string(port());
    }
    return "unknown";
}

std::string Address::source() const {
    char host[INET6_ADDRSTRLEN + 4] = "unknown";
    if (ss.sa.sa_family == AF_INET) {
        inet_ntop(AF_INET, &ss.in.sin_addr, host, sizeof host);
    } else if (ss.sa.sa_family == AF_INET6) {
        in6_addr a = ss.in6.sin6_addr;
        if (IN6_IS_ADDR_V4MAPPED(&a)) {
            inet_ntop(AF_INET, &a.s6_addr[12], host, sizeof host);
        } else {
            // One site or host gets a /64: the address within it is the holder's to pick.
            memset(&a.s6_addr[8], 0, 8);
            inet_ntop(AF_INET6, &a, host, INET6_ADDRSTRLEN);
            strcat(host, "/64");
        }
    }
    return host;
}

bool Address::operator==(const Address &o) const {
    return len == o.len && memcmp(&ss, &o.ss, len) == 0;
}

static Error address_error(std::string_view what, std::string_view text,
                           std::string_view directive) {
    return make_error(std::string(what) + " in \"" + std::string(text) + "\" of the \"" +
                      std::string(directive) + "\" directive");
}

Result<Address> parse_listen_address(std::string_view text, std::string_view directive) {
    std::string host;
    std::string_view port;
    if (!text.empty() && text.front() == '[') {
        size_t close = text.find(']');
        if (close == std::string_view::npos || close + 1 >= text.size() ||
            text[close + 1] != ':')
            return address_error("invalid IPv6 address", text, directive);
        host = std::string(text.substr(1, close - 1));
        port = text.substr(close + 2);
    } else if (size_t colon = text.rfind(':'); colon != std::string_view::npos) {
        host = std::string(text.substr(0, colon));
        port = text.substr(colon + 1);
        if (host.find(':') != std::string::npos)
            return address_error("IPv6 address must be in brackets", text, directive);
    } else {
        port = text;
    }
    if (host == "*")
        host.clear();

    unsigned long p = 0;
    if (port.empty() || port.size() > 5)
        return address_error("invalid port", text, directive);
    for (char c : port) {
        if (c < '0' || c > '9')
            return address_error("invalid port", text, directive);
        p = p * 10 + static_cast<unsigned>(c - '0');
    }
    if (p > 65535)
        return address_error("invalid port", text, directive);

    Address a;
    if (host.empty()) {
        auto *in = reinterpret_cast<sockaddr_in *>(&a.ss);
        in->sin_family = AF_INET;
        in->sin_addr.s_addr = htonl(INADDR_ANY);
        in->sin_port = htons(static_cast<uint16_t>(p));
        a.len = sizeof(sockaddr_in);
        return a;
    }
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    addrinfo *res = nullptr;
    if (getaddrinfo(host.c_str(), nullptr, &hints, &res) != 0 || !res)
        return address_error("host not found", text, directive);
    // SOCK_STREAM answers are IPv4 or IPv6, which InetSockaddr holds.
    a.len = std::min<socklen_t>(res->ai_addrlen, sizeof a.ss);
    memcpy(&a.ss, res->ai_addr, a.len);
    freeaddrinfo(res);
    if (a.ss.sa.sa_family == AF_INET)
        reinterpret_cast<sockaddr_in *>(&a.ss)->sin_port = htons(static_cast<uint16_t>(p));
    else
        reinterpret_cast<sockaddr_in6 *>(&a.ss)->sin6_port = htons(static_cast<uint16_t>(p));
    return a;
}

Address local_address(int fd) {
    Address a;
    a.len = sizeof a.ss;
    if (getsockname(fd, reinterpret_cast<sockaddr *>(&a.ss), &a.len) != 0)
        a.len = 0;
    return a;
}

Address peer_address(int fd) {
    Address a;
    a.len = sizeof a.ss;
    if (getpeername(fd, reinterpret_cast<sockaddr *>(&a.ss), &a.len) != 0)
        a.len = 0;
    return a;
}

} // namespace glide::net
