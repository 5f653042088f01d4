// Where a client connects: "ws://HOST:PORT/PATH" (WebSocket) or "tcp://HOST:PORT" (glide's
// length-prefixed TCP framing), and name resolution for it.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"
#include "net/settings.h"

namespace glide::client {

using net::Transport; // the module's own: ws or tcp framing

struct Endpoint {
    Transport transport = Transport::ws;
    std::string host;
    uint16_t port = 0;
    std::string path = "/ws"; // ws only: the request target
};

struct SockAddr {
    sockaddr_storage ss{};
    socklen_t len = 0;
    const sockaddr *sa() const { return reinterpret_cast<const sockaddr *>(&ss); }
};

// Parses a URL of the two schemes above. IPv6 hosts go in brackets: ws://[::1]:8080/ws.
// wss:// is refused with a clear error (the tools speak plain TCP only).
Result<Endpoint> parse_endpoint(std::string_view url);

// Resolves host and port (numeric or by name, first answer).
Result<SockAddr> resolve(std::string_view host, uint16_t port);

// The "Host" header value: host[:port] with IPv6 brackets restored.
std::string host_header(const Endpoint &ep);

} // namespace glide::client
