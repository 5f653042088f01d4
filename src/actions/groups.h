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
    // message.group after the ticket check and normalisation (actions/context.h chat_input).
    void publish(Context &ctx, session::Session &s, const codec::Envelope &req,
                 codec::ChatMessage msg);
    // Forgets the cached membership of gid (the control API).
    void invalidate(std::string_view gid);

private:
    void pump(Context &ctx, const std::string &gid);
    void load_members(Context &ctx, const std::string &gid);

    struct Publish {
        uint64_t sid;
        bool done = false;
        bool ok = false;
        codec::Envelope env; // the delivery envelope, data filled at completion
    };
    struct Group {
        enum class Members : uint8_t { unknown, loading, ready } members = Members::unknown;
        bool pumping = false; // a delivery is on the stack (pump)
        // Shared with a delivery in progress, which a callback may not pull from under it.
        std::shared_ptr<const std::vector<std::string>> uids;
        std::deque<std::unique_ptr<Publish>> fifo; // in call order, which is seq order
    };
    hub::StringMap<Group> groups_;
};

void on_group(Context &ctx, session::Session &s, codec::Envelope &e);

} // namespace glide::actions
