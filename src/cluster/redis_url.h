// glide_cluster's URLs: redis://[[USER]:PASSWORD@]HOST:PORT[/DB]. HOST is an IPv4 address, an
// IPv6 address in brackets or a host name (looked up by hiredis at each connect).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace glide::cluster {

struct RedisUrl {
    std::string text; // as written, the password masked: for messages
    std::string host;
    uint16_t port = 0;
    std::string user; // empty: AUTH PASSWORD (Redis < 6 style)
    std::string password;
    uint32_t db = 0;
};

// Parses one URL; the error says what is wrong with it.
Result<RedisUrl> parse_redis_url(std::string_view url);

} // namespace glide::cluster
