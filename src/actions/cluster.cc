#include "actions/cluster.h"

#include "actions/auth.h"
#include "actions/context.h"

namespace glide::actions {

using session::Session;

bool ClusterInput::decode(std::string_view json, codec::Envelope *out) {
    if (Status st = codec::decode_json(json, out); !st) {
        ctx_.hub.log(GLIDE_LOG_WARN, "cluster bus: an envelope from another node does not "
                                     "decode: " + st.error());
        return false;
    }
    return true;
}

void ClusterInput::deliver(std::string_view uid, std::string_view json) {
    if (ctx_.hub.devices(uid).empty())
        return; // left meanwhile: the message waits in the store
    codec::Envelope e;
    if (!decode(json, &e))
        return;
    session::Outbound out(std::move(e));
    out.set_encoded(codec::Codec::json, std::string(json)); // JSON sessions send it as it came
    ctx_.hub.for_each_device(uid, [&](Session &d) { d.send(out); });
}

void ClusterInput::kicked_out(std::string_view uid, std::string_view device_id,
                              std::string_view device_name) {
    ctx_.hub.kicked_out(uid, device_id, device_name);
}

void ClusterInput::kick(std::string_view uid, std::string_view device_id) {
    ctx_.hub.kick_here(uid, device_id);
}

void ClusterInput::state(std::string_view uid, bool online) {
    ctx_.hub.state_changed(uid, online);
}

void ClusterInput::group(std::string_view gid, int64_t seq, std::string_view json) {
    codec::Envelope e;
    if (!decode(json, &e))
        return;
    ctx_.groups.remote(ctx_, gid, seq, std::move(e), json);
}

void ClusterInput::group_invalidate(std::string_view gid) {
    ctx_.groups.invalidate(gid);
}

void ClusterInput::bus_returned() {
    std::vector<uint64_t> ids;
    ctx_.hub.list_sessions({}, [&](const hub::SessionInfo &i) {
        ids.push_back(i.id);
        return true;
    });
    if (!ids.empty())
        ctx_.hub.log(GLIDE_LOG_NOTICE, "cluster bus: replaying the undelivered messages of " +
                                           std::to_string(ids.size()) + " session(s)");
    for (uint64_t id : ids)
        if (Session *s = ctx_.hub.find(id); s && s->authenticated())
            replay_all_of(ctx_, *s);
}

void ClusterInput::each_identity(
    const std::function<void(std::string_view, std::string_view, std::string_view)> &fn) {
    ctx_.hub.list_sessions({}, [&](const hub::SessionInfo &i) {
        fn(i.uid, i.device_id, i.device_name);
        return true;
    });
}

} // namespace glide::actions
