#include "store/credential_auth.h"

#include "codec/credential.h"

namespace glide::store {

port::AuthResult verify_credential(std::string_view secret, std::string_view credential,
                                  int64_t now_ms) {
    port::AuthResult r;
    if (secret.empty()) {
        r.error = "authentication is not configured";
        return r;
    }
    auto c = codec::open_credential(secret, credential);
    if (!c) {
        r.error = "invalid authenticate message";
        return r;
    }
    if (codec::credential_expired(c.value(), now_ms)) {
        r.error = "credential expired";
        return r;
    }
    if (c->user_id.empty()) {
        r.error = "invalid authenticate message";
        return r;
    }
    r.accepted = true;
    r.uid = c->user_id;
    r.device_id = c->device_id;
    r.device_name = c->device_name;
    if (c->has_secrets)
        r.message_deliver_secret = c->secrets.message_deliver_secret;
    // glide applies connection_config as given; zero values would make no sense, so they keep
    // the configured settings here.
    if (c->has_connection_config) {
        const auto &cc = c->connection_config;
        if (cc.heartbeat_duration > 0 && cc.heartbeat_duration < 3600)
            r.heartbeat_interval_ms = static_cast<uint32_t>(cc.heartbeat_duration * 1000);
        if (cc.allow_max_heartbeat_lost > 0 && cc.allow_max_heartbeat_lost < 1000)
            r.heartbeat_lost = static_cast<uint32_t>(cc.allow_max_heartbeat_lost);
    }
    return r;
}

} // namespace glide::store
