// message.group: the publish through the host (membership, sequence and store in one call),
// the sender's ack, and delivery to every member device in sequence order; the membership
// cache behind it, which the host invalidates through the control API.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "codec/message.h"
#include "hub/hub.h"
#include "session/session.h"

namespace glide::actions {

class Context;

// The groups this instance is publishing to or has the membership of.
class Groups {
public:
    // How long a group message waits for a lower sequence another node published first.
    static constexpr uint64_t gap_wait_ms = 100;

    // message.group after the ticket check and normalisation (actions/context.h chat_input).
    void publish(Context &ctx, session::Session &s, const codec::Envelope &req,
                 codec::ChatMessage msg);
    // A group message published on another node (the cluster bus): delivered to the members
    // here, in sequence order with this node's own publishes.
    void remote(Context &ctx, std::string_view gid, int64_t seq, codec::Envelope env);
    // Forgets the cached membership of gid (the control API, or the bus for another node's).
    void invalidate(std::string_view gid);

private:
    void pump(Context &ctx, const std::string &gid);
    void load_members(Context &ctx, const std::string &gid);

    struct Publish {
        uint64_t sid; // the publisher's session; 0 for another node's publish
        bool done = false;
        bool ok = false;
        int64_t seq = 0;
        codec::Envelope env; // the delivery envelope, data filled at completion
    };
    struct Group {
        enum class Members : uint8_t { unknown, loading, ready } members = Members::unknown;
        bool pumping = false; // a delivery is on the stack (pump)
        // With the cluster bus: the highest sequence delivered here (0: none yet), and the wait
        // for a missing lower one (another node's publish still on its way).
        int64_t delivered_seq = 0;
        bool gap_waited = false;
        session::TimerService::Handle gap_timer = 0;
        // Shared with a delivery in progress, which a callback may not pull from under it.
        std::shared_ptr<const std::vector<std::string>> uids;
        std::deque<std::unique_ptr<Publish>> fifo; // in call order, which is seq order
    };
    hub::StringMap<Group> groups_;
    std::string json_; // a publish's JSON for the cluster bus, reused
};

void on_group(Context &ctx, session::Session &s, codec::Envelope &e);

} // namespace glide::actions
