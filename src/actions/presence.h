// The presence family: api.state.sub (design.md §5.11). The hub keeps who watches whom and
// sends notify.state on each change; this answers the subscription.
#pragma once

#include <cstddef>

#include "codec/message.h"
#include "session/session.h"

namespace glide::actions {

class Context;

// A session watches at most max_watch uids (then notify.error "too many state
// subscriptions"), which bounds what a client can make the hub remember.
inline constexpr size_t max_watch = 1024;

// Subscribes to each uid and answers at once with its current state (notify.state).
void on_state_sub(Context &ctx, session::Session &s, codec::Envelope &e);

} // namespace glide::actions
