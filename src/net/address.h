// Socket addresses: parsing listen addresses the nginx way and printing them.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <string>
#include <string_view>

#include "common/result.h"

namespace glide::net {

// Room for the families glide listens on, IPv4 and IPv6: 28 bytes where sockaddr_storage
// takes 128 (every connection holds its peer's address).
union InetSockaddr {
    sockaddr sa;
    sockaddr_in in;
    sockaddr_in6 in6;
};

struct Address {
    InetSockaddr ss{};
    socklen_t len = 0;

    const sockaddr *sa() const { return &ss.sa; }
    int family() const { return ss.sa.sa_family; }
    uint16_t port() const;
    // "127.0.0.1:8083", "[::1]:8083"
    std::string text() const;
    // What per-address limits count by: the IPv4 address ("192.0.2.7", an IPv4-mapped IPv6
    // address too), or an IPv6 address's /64 ("2001:db8:1:2::/64"), which one holder has.
    std::string source() const;
    bool operator==(const Address &o) const;
};

// Parses a listen address: "ADDR:PORT", "[V6]:PORT", "*:PORT" or "PORT" (all IPv4 interfaces),
// where ADDR may be a host name (resolved now, first answer). Port 0 asks the kernel for a free
// port. Errors are worded for the directive `name`, e.g.
//   invalid port in "x:99999" of the "glide_listen" directive
//   host not found in "nohost:80" of the "glide_listen" directive
Result<Address> parse_listen_address(std::string_view text, std::string_view directive);

// The address of a bound or connected socket.
Address local_address(int fd);
Address peer_address(int fd);

} // namespace glide::net
