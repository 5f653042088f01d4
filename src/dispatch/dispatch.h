// The action table: which client actions exist, who may send them, what their data holds, and
// the handler of each (design.md §5.2, §5.5).
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
#pragma once

#include <span>
#include <string_view>

#include "codec/message.h"
#include "codec/payload.h"

namespace glide::session {
class Session;
}

namespace glide::hub {
class Hub;
}

namespace glide::dispatch {

using Handler = void (*)(hub::Hub &hub, session::Session &s, codec::Envelope &e);

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
void dispatch(hub::Hub &hub, session::Session &s, codec::Envelope &e, const ActionSpec *spec);

// Texts.
inline constexpr std::string_view text_forbidden = "forbidden";
inline constexpr std::string_view text_unauthenticated = "unauthenticated";
inline constexpr std::string_view text_no_receiver = "message has no receiver";

} // namespace glide::dispatch
