// The glide credential check (protocol.md §6.4) as glided answers `authenticate`, through the
// module's own primitive (glide_api.credential_open, include/glide/credential.h): glided links
// no module code, and the module and its host cannot disagree about the format.
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>

#include "glide/module.h"

namespace glide::store {

// Opens `credential` with `secret` and applies the 25-minute expiry against now_ms (wall clock),
// then calls done once, before returning, with the verdict (its strings borrowed for the call).
// Refusals carry glide's texts: "authentication is not configured" (empty secret), "invalid
// authenticate message", "credential expired". Heartbeat settings from the credential are kept
// only when they make sense (glide applies zero values too, which would close every session).
void verify_credential(const glide_api *api, std::string_view secret, glide_str credential,
                       int64_t now_ms, const std::function<void(const glide_auth_result &)> &done);

} // namespace glide::store
