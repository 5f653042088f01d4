// What the cluster bus hands this node (port::ClusterSink): envelopes for local devices,
// kick-outs and kicks from other nodes, cluster-wide state changes, other nodes' group messages
// and invalidations, and the replay of every local session's backlog when the bus returns.
#pragma once

#include "codec/message.h"
#include "port/cluster_port.h"

namespace glide::actions {

class Context;

class ClusterInput final : public port::ClusterSink {
public:
    explicit ClusterInput(Context &ctx) : ctx_(ctx) {}

    void deliver(std::string_view uid, std::string_view json) override;
    void kicked_out(std::string_view uid, std::string_view device_id,
                    std::string_view device_name) override;
    void kick(std::string_view uid, std::string_view device_id) override;
    void state(std::string_view uid, bool online) override;
    void group(std::string_view gid, int64_t seq, std::string_view json) override;
    void group_invalidate(std::string_view gid) override;
    void bus_returned() override;
    void each_identity(const std::function<void(std::string_view, std::string_view,
                                                std::string_view)> &fn) override;

private:
    // Decodes an envelope another node encoded; false (logged) when it does not decode.
    bool decode(std::string_view json, codec::Envelope *out);

    Context &ctx_;
};

} // namespace glide::actions
