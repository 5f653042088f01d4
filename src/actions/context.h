// What every action handler gets: the hub, the host's request queue, the actions' own state
// (groups), and the scratch of the frame being dispatched. One Context per module instance,
// owned by dispatch::Dispatcher. Helpers the handlers share are declared here too.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "actions/groups.h"
#include "codec/json.h"
#include "codec/message.h"
#include "codec/payload.h"
#include "common/rate.h"
#include "common/stats.h"
#include "hub/hub.h"
#include "port/requests.h"
#include "session/session.h"

namespace glide::actions {

// Hands the frames a session deferred while its auth was pending back to dispatch (the layer
// above), which runs them in order. Called from a timer, never from inside a host completion.
using ResumeDeferred = std::function<void(uint64_t session_id)>;

class Context {
public:
    Context(hub::Hub &hub_, Stats &stats_, ResumeDeferred resume)
        : hub(hub_), host(*hub_.host()), timers(*hub_.timers()), stats(stats_),
          requests(*hub_.timers(), stats_.store_latency), resume_deferred(std::move(resume)) {}
    Context(const Context &) = delete;
    Context &operator=(const Context &) = delete;

    hub::Hub &hub;
    port::HostPort &host;
    session::TimerService &timers;
    Stats &stats; // the instance's counters (the limits count what they refused)
    port::Requests requests;
    Groups groups;
    // Failed authentications by source address (glide_limit_auth_failures_per_address).
    KeyedBuckets auth_failures{65536};
    ResumeDeferred resume_deferred;

    const hub::HubConfig &conf() const { return hub.conf(); }

    // Issues a host call with the configured deadline (glide_callback_timeout); see
    // port::Requests::call.
    template <typename Invoke>
    port::RequestPtr call(port::HostRequest::Kind kind, port::HostRequest::Continuation k,
                          Invoke &&invoke) {
        return requests.call(kind, hub.conf().callback_timeout_ms, std::move(k),
                             std::forward<Invoke>(invoke));
    }

    // An empty ChatMessage to decode an inbound chat into, with the string buffers of the last
    // one delivered (a chat then travels decode → store request → delivery without allocating).
    codec::ChatMessage take_message() {
        codec::ChatMessage m = std::move(spare_message);
        codec::clear_keeping_buffers(m);
        return m;
    }
    // Kept after a delivery for take_message().
    codec::ChatMessage spare_message;

    // The data dispatch decoded with the envelope it is dispatching (pre_decoded_for; null
    // outside a dispatch): swapped into *out, which is left with out's old buffers. False when
    // there is none of type T for e: the handler decodes the data itself.
    template <typename T> bool take_pre_decoded(const codec::Envelope &e, T *out) {
        return pre_decoded_for == &e && codec::take_pre_decoded(&pre_decoded, out);
    }
    codec::PreDecoded pre_decoded;
    const codec::Envelope *pre_decoded_for = nullptr;
};

// -- shared by the handlers --

inline constexpr std::string_view text_no_receiver = "message has no receiver";

void reply_text(session::Session &s, int64_t seq, std::string_view act, std::string text);

// Decodes the data into *out (default-constructed or cleared), or takes it when dispatch
// decoded it with the envelope, or answers notify.error with the request seq.
template <typename T>
bool payload(Context &ctx, session::Session &s, const codec::Envelope &e, T *out) {
    if (ctx.take_pre_decoded(e, out))
        return true;
    if (Status st = codec::decode_payload(e, out); !st) {
        reply_text(s, e.seq, codec::action::notify_error, st.error());
        return false;
    }
    return true;
}

// The common preamble of chat, resend and group: the ticket, a receiver, the payload (decoded
// into the recycled message); the sender is forced to the session's uid. False: the client has
// been answered.
bool chat_input(Context &ctx, session::Session &s, codec::Envelope &e, codec::ChatMessage *m);

// Hands out's JSON to the cluster bus for uid's devices on other nodes (none: nothing).
void to_other_nodes(Context &ctx, std::string_view uid, session::Outbound &out);

// The notify.error text for a store or publish that did not succeed.
std::string store_failure(const port::HostRequest &r);

} // namespace glide::actions
