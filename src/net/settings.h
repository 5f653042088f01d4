// What a connection needs from the configuration: the listener's transport and codec, and the
// limits of the directives that govern connections. The module fills it (Module::
// build_settings) from its configuration, which the directive records of
// src/module/directives.cc fill; the records are the single source of every default, so no
// directive-backed field has a default here: whoever builds settings sets each one.
#pragma once

#include <openssl/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common/log.h"

namespace glide::net {

enum class Transport : uint8_t { ws, tcp };
enum class CodecKind : uint8_t { json, protobuf };

// Immutable and shared by the connections of one listener, so a reload that builds new
// settings never changes a running connection's limits under it.
struct ConnectionSettings {
    Transport transport;                      // glide_listen
    CodecKind codec;                          // glide_listen; ws: the codec without a subprotocol
    SSL_CTX *ssl_ctx = nullptr;               // borrowed from the owner; nullptr: plain TCP
    std::string ws_path;                      // glide_ws_path
    std::vector<std::string> allowed_origins; // glide_allowed_origins; empty: any
    uint64_t max_message_size;                // glide_max_message_size
    uint64_t send_buffer_limit;               // glide_send_buffer_limit
    uint64_t handshake_timeout_ms;            // glide_handshake_timeout
    uint64_t linger_ms;                       // glide_linger_timeout
    Logger *log = nullptr;                    // borrowed from the owner; may be null
};

} // namespace glide::net
