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
void on_authenticate(Context &ctx, session::Session &s, codec::Envelope &e);

// Replays the session's undelivered backlog from the beginning, unless a replay runs (the
// cluster bus returned: what it routed meanwhile may be missing).
void replay_all_of(Context &ctx, session::Session &s);

// The session's output buffer drained: a replay that waited for it goes on.
void on_drained(Context &ctx, session::Session &s);

} // namespace glide::actions
