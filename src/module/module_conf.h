// The module's configuration: the struct its directives fill, and the directive table.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "cluster/redis_url.h"
#include "common/rate.h"
#include "conf/conf.h"
#include "net/address.h"
#include "net/settings.h"

namespace glide {

struct ListenConf {
    std::string text;     // as written, for messages
    net::Address address;
    net::Transport transport = net::Transport::ws;
    // tcp: the codec; ws: the codec when no subprotocol
    net::CodecKind codec = net::CodecKind::json;
    bool ssl = false;
    uint32_t backlog = 511;
    std::string file;     // where it was configured, for errors found at finish
    unsigned line = 0;
};

struct ModuleConf {
    std::vector<ListenConf> listens;
    std::string ws_path;
    std::string node_id;
    uint64_t heartbeat_interval_ms = 0;
    uint64_t heartbeat_lost = 0;
    uint64_t max_message_size = 0;
    uint64_t send_buffer_limit = 0;
    uint64_t handshake_timeout_ms = 0;
    uint64_t callback_timeout_ms = 0;
    uint64_t linger_timeout_ms = 0;
    std::vector<std::string> allowed_origins; // empty: any
    std::string ssl_certificate;
    std::string ssl_certificate_key;
    std::vector<cluster::RedisUrl> cluster; // glide_cluster: empty when off
    std::string cluster_file;               // where glide_cluster was last given (conf_info)
    unsigned cluster_line = 0;
    // The limits (glide_limit_*, glide_max_connections): a RateLimit of count 0, or a 0, is off.
    RateLimit limit_message_rate;      // per second
    RateLimit limit_user_message_rate; // per second
    uint64_t limit_message_rate_close_ms = 0;
    uint64_t limit_auth_failures = 0;
    uint64_t limit_auth_failures_per_address = 0; // per minute
    uint64_t limit_connections_per_address = 0;
    uint64_t max_connections = 0;
    bool max_connections_auto = false; // from the open-file limit (module.cc)
};

// The directive table of the module (the single source of truth for code, man page and the
// example configuration).
std::span<const conf::Spec> module_directives();

// Checks that only the whole configuration can tell; errors carry their location.
Status finish_module_conf(ModuleConf &c);

} // namespace glide
