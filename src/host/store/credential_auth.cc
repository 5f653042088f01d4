#include "host/store/credential_auth.h"

namespace glide::store {

void verify_credential(const glide_api *api, std::string_view secret, glide_str credential,
                       int64_t now_ms, const std::function<void(const glide_auth_result &)> &done) {
    glide_auth_result r{};
    r.size = sizeof r;
    r.version = 1;
    auto refuse = [&](std::string_view why) {
        r.error = {why.data(), why.size()};
        done(r);
    };
    if (secret.empty())
        return refuse("authentication is not configured");
    glide_credential *c = nullptr;
    char why[128] = "";
    // The module's texts are glide's ("invalid authenticate message", "credential expired").
    if (api->credential_open({secret.data(), secret.size()}, credential, now_ms, &c, why,
                             sizeof why) != GLIDE_OK)
        return refuse(why[0] ? why : "invalid authenticate message");
    if (c->user_id.len == 0) {
        api->credential_free(c);
        return refuse("invalid authenticate message");
    }
    r.accepted = 1;
    r.uid = c->user_id;
    r.device_id = c->device_id;
    r.device_name = c->device_name;
    if (c->has_secrets)
        r.message_deliver_secret = c->message_deliver_secret;
    if (c->has_connection_config) {
        if (c->heartbeat_duration_s > 0 && c->heartbeat_duration_s < 3600)
            r.heartbeat_interval_ms = static_cast<uint32_t>(c->heartbeat_duration_s * 1000);
        if (c->heartbeat_lost > 0 && c->heartbeat_lost < 1000)
            r.heartbeat_lost = static_cast<uint32_t>(c->heartbeat_lost);
    }
    done(r);
    api->credential_free(c);
}

} // namespace glide::store
