// The chat family: one-to-one messages (store first, then ack and delivery), resends, client
// custom messages, receipts (design.md §5.7, §5.8, §5.10).
#pragma once

#include "codec/message.h"
#include "session/session.h"

namespace glide::actions {

class Context;

void on_chat(Context &ctx, session::Session &s, codec::Envelope &e);
void on_chat_resend(Context &ctx, session::Session &s, codec::Envelope &e);
void on_client_custom(Context &ctx, session::Session &s, codec::Envelope &e);
void on_ack_request(Context &ctx, session::Session &s, codec::Envelope &e);
// ack.group.msg, ack.offline: accepted, no effect, no reply.
void on_ignored(Context &ctx, session::Session &s, codec::Envelope &e);

} // namespace glide::actions
