// The session family: hello, heartbeat, authenticate, and the offline replay that follows a
// login (design.md §5.1, §5.3, §5.7).
#pragma once

#include "codec/message.h"
#include "session/session.h"

namespace glide::actions {

class Context;

void on_hello(Context &ctx, session::Session &s, codec::Envelope &e);
void on_heartbeat(Context &ctx, session::Session &s, codec::Envelope &e);
// Pauses reading, asks the host, answers and registers the identity, starts the replay.
// The failure limits (glide_limit_auth_failures*):
//  - a source address (net::Address::source) whose failures used up its allowance
//    (glide_limit_auth_failures_per_address, a token bucket refilled over a minute) gets
//    notify.error (request seq) text_auth_limited without the host being asked;
//  - a connection's glide_limit_auth_failures-th failure is answered, then the connection is
//    closed with 1008 text_auth_limited.
// A failure is a refusal by the host (a timeout is not the client's doing), a malformed
// authenticate (the connection's count only) or a refusal by the address limit.
void on_authenticate(Context &ctx, session::Session &s, codec::Envelope &e);
inline constexpr std::string_view text_auth_limited = "too many failed authentications";

// Replays the session's undelivered backlog from the beginning, unless a replay runs (the
// cluster bus returned: what it routed meanwhile may be missing).
void replay_all_of(Context &ctx, session::Session &s);

// The session's output buffer drained: a replay that waited for it goes on.
void on_drained(Context &ctx, session::Session &s);

} // namespace glide::actions
