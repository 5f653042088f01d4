// The glide credential check (protocol.md §6.4) as both hosts answer `authenticate`: glided's
// host services and the tests' MemoryStore.
#pragma once

#include <cstdint>
#include <string_view>

#include "port/host_port.h"

namespace glide::store {

// Opens `credential` with `secret` and applies the 25-minute expiry against now_ms (wall
// clock). Refusals carry glide's texts: "authentication is not configured" (empty secret),
// "invalid authenticate message", "credential expired".
port::AuthResult verify_credential(std::string_view secret, std::string_view credential,
                                  int64_t now_ms);

} // namespace glide::store
