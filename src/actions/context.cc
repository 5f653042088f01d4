#include "actions/context.h"

#include "codec/credential.h"

namespace glide::actions {

using codec::Envelope;
using session::Session;
namespace wire = codec::action;

void reply_text(Session &s, int64_t seq, std::string_view act, std::string text) {
    s.send(codec::make_message(seq, act, codec::Text{std::move(text)}));
}

namespace {

// glide's ticket interceptor (protocol.md §6.5), only for sessions whose credential carried a
// message_deliver_secret (design.md §5.6). False: answered with notify.forbidden.
bool ticket_ok(Session &s, const Envelope &e) {
    if (!s.checks_tickets())
        return true;
    Status st = codec::check_ticket(s.deliver_secret(), s.uid(), e.to, e.ticket);
    if (st)
        return true;
    reply_text(s, e.seq, wire::notify_forbidden, st.error());
    return false;
}

// glide accepts an empty `to` and stores a message nobody can receive; we refuse it.
bool has_receiver(Session &s, const Envelope &e) {
    if (!e.to.empty())
        return true;
    reply_text(s, e.seq, wire::notify_error, std::string(text_no_receiver));
    return false;
}

} // namespace

bool chat_input(Context &ctx, Session &s, Envelope &e, codec::ChatMessage *m) {
    if (!ticket_ok(s, e) || !has_receiver(s, e))
        return false;
    *m = ctx.take_message();
    if (!payload(ctx, s, e, m))
        return false;
    m->from = s.uid();
    m->to = e.to;
    return true;
}

void to_other_nodes(Context &ctx, std::string_view uid, session::Outbound &out) {
    if (port::ClusterPort *bus = ctx.hub.cluster())
        if (session::Encoded *json = out.encoded(codec::Codec::json))
            bus->to_user(uid, json->bytes());
}

std::string store_failure(const port::HostRequest &r) {
    if (r.timed_out())
        return "message store timed out";
    return r.error().empty() ? "message store failed" : r.error();
}

} // namespace glide::actions
