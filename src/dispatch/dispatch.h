// The action table: which client actions exist, who may send them, what their data holds, and
// the handler of each (design.md §5.2, §5.5); and the Dispatcher, which the transport glue
// hands every frame of a session: decode, the checks below, the handler (actions/).
//
// Adding an action: a handler in the actions/ file of its family, and a row in the table
// (dispatch.cc).
//
// Order of the checks for one decoded frame, whatever the session's state:
//   internal.*            → notify.forbidden (request seq), no effect;
//   not in the table      → notify.unknown.action (request seq, the action as data);
//   needs auth, guest     → notify.unauthenticated (request seq);
//   otherwise             → the handler.
// Handlers answer payload decode errors with notify.error and the request seq (glide drops
// them silently; design.md §5.13: never a silent drop). Texts chosen here:
//   notify.forbidden data       "forbidden"
//   notify.unauthenticated data "unauthenticated"
//   message.chat.resend, mid 0  notify.error "invalid resend message: mid is required"
//   chat/resend/group, empty to notify.error "message has no receiver" (glide stores it)
// A frame that does not decode: notify.error "message decode error: ...", the session stays
// (design.md §5.2). Frames parsed while an auth is pending wait in the session and run after
// it, in order (session::Session::defer).
//
// Before all of these, the rate limits (glide_limit_message_rate per connection,
// glide_limit_user_message_rate per uid on this node; token buckets): every frame counts but
// heartbeats and receipts (ack.*), so that heartbeats never trip a limit and a client may
// acknowledge a long offline replay as fast as it arrives. A frame over a limit is not handled:
//   notify.error (request seq) "rate limit exceeded: N messages per second"
//                              "rate limit exceeded: N messages per second per user"
// and a connection whose frames keep being refused, without a pause of a second, for
// glide_limit_message_rate_close is closed with 1008 "rate limit exceeded".
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "actions/context.h"
#include "codec/message.h"
#include "codec/payload.h"
#include "common/stats.h"
#include "hub/hub.h"
#include "session/session.h"

namespace glide::dispatch {

using Handler = void (*)(actions::Context &ctx, session::Session &s, codec::Envelope &e);

struct ActionSpec {
    std::string_view name;
    Handler handler;
    bool needs_auth;
    codec::PayloadKind payload; // what `data` holds (documentation and the codec table)
};

std::span<const ActionSpec> action_table();
const ActionSpec *find_action(std::string_view name);

// Runs the checks above and the handler for one decoded envelope; `spec` is
// find_action(e.action), which the caller has looked up already (for its statistics).
void dispatch(actions::Context &ctx, session::Session &s, codec::Envelope &e,
              const ActionSpec *spec);

// Texts.
inline constexpr std::string_view text_forbidden = "forbidden";
inline constexpr std::string_view text_unauthenticated = "unauthenticated";

// The frame path of one module instance; owns the actions' Context.
class Dispatcher {
public:
    // `stats` is the instance's counter set: frames in by action, the store latency.
    Dispatcher(hub::Hub &hub, Stats &stats);
    Dispatcher(const Dispatcher &) = delete;
    Dispatcher &operator=(const Dispatcher &) = delete;

    // One decoded frame's payload from the session's link.
    void on_frame(session::Session *s, std::string_view bytes);
    // The link's output buffer emptied (resumes a paced replay).
    void on_drained(session::Session *s);

    actions::Context &actions() { return ctx_; }

private:
    void process_deferred(uint64_t sid);
    // The rate limits for one frame of `action` (empty: it did not decode); false when it was
    // refused (answered, maybe closed).
    bool admit(session::Session &s, std::string_view action, int64_t seq);

    Stats &stats_;
    actions::Context ctx_;
    // The buffer the next inbound frame's raw data is copied into (on_frame), up to this size.
    static constexpr size_t max_raw_spare = 64 * 1024;
    std::string raw_spare_;
};

} // namespace glide::dispatch
