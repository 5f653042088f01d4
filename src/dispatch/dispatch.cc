#include "dispatch/dispatch.h"

#include "codec/credential.h"
#include "hub/hub.h"
#include "session/session.h"

namespace glide::dispatch {

using codec::Envelope;
using codec::make_message;
using codec::Text;
namespace action = codec::action;
using hub::Hub;
using session::Session;

namespace {

void reply_text(Session &s, int64_t seq, std::string_view act, std::string text) {
    s.send(make_message(seq, act, Text{std::move(text)}));
}

// glide's ticket interceptor (protocol.md §6.5), only for sessions whose credential carried a
// message_deliver_secret (design.md §5.6). False: answered with notify.forbidden.
bool ticket_ok(Session &s, const Envelope &e) {
    if (!s.checks_tickets())
        return true;
    Status st = codec::check_ticket(s.deliver_secret(), s.uid(), e.to, e.ticket);
    if (st)
        return true;
    reply_text(s, e.seq, action::notify_forbidden, st.error());
    return false;
}

// glide accepts an empty `to` and stores a message nobody can receive; we refuse it.
bool has_receiver(Session &s, const Envelope &e) {
    if (!e.to.empty())
        return true;
    reply_text(s, e.seq, action::notify_error, std::string(text_no_receiver));
    return false;
}

// Decodes the data into *out (default-constructed or cleared), or takes it when the hub decoded
// it with the envelope, or answers notify.error with the request seq.
template <typename T> bool payload(Hub &hub, Session &s, const Envelope &e, T *out) {
    if (hub.take_pre_decoded(e, out))
        return true;
    if (Status st = codec::decode_payload(e, out); !st) {
        reply_text(s, e.seq, action::notify_error, st.error());
        return false;
    }
    return true;
}

void on_hello(Hub &, Session &s, Envelope &e) {
    auto r = codec::decode_payload<codec::Hello>(e);
    if (!r) {
        reply_text(s, 0, action::notify_error, "invalid handleHello message");
        return;
    }
    s.client_version = std::move(r->client_version);
}

void on_heartbeat(Hub &, Session &, Envelope &) {}

void on_authenticate(Hub &hub, Session &s, Envelope &e) {
    auto r = codec::decode_payload<codec::EncryptedCredential>(e);
    if (!r || r->credential.size() < 5) {
        reply_text(s, e.seq, action::notify_error, "invalid authenticate message");
        return;
    }
    hub.authenticate(s, e.seq, r.value());
}

// The common preamble of chat, resend and group: the ticket, a receiver, the payload (decoded
// into the hub's recycled message); the sender is forced to the session's uid. False: the
// client has been answered.
bool chat_input(Hub &hub, Session &s, Envelope &e, codec::ChatMessage *m) {
    if (!ticket_ok(s, e) || !has_receiver(s, e))
        return false;
    *m = hub.take_message();
    if (!payload(hub, s, e, m))
        return false;
    m->from = s.uid();
    m->to = e.to;
    return true;
}

void on_chat(Hub &hub, Session &s, Envelope &e) {
    codec::ChatMessage m;
    if (!chat_input(hub, s, e, &m))
        return;
    // A client-supplied mid is not trusted for storing: retries are made idempotent by cliMid,
    // re-deliveries of a stored message use message.chat.resend.
    m.mid = 0;
    hub.chat(s, e.seq, std::move(m));
}

void on_chat_resend(Hub &hub, Session &s, Envelope &e) {
    codec::ChatMessage m;
    if (!chat_input(hub, s, e, &m))
        return;
    if (m.mid <= 0) {
        reply_text(s, e.seq, action::notify_error, "invalid resend message: mid is required");
        return;
    }
    s.send(make_message(0, action::ack_message, codec::AckMessage{m.cli_mid, m.mid, {}, m.seq}));
    hub.deliver_chat(std::move(m), &s);
}

void on_group(Hub &hub, Session &s, Envelope &e) {
    codec::ChatMessage m;
    if (!chat_input(hub, s, e, &m))
        return;
    m.mid = 0;
    m.seq = 0;
    hub.group(s, e, std::move(m));
}

// message.cli: the envelope as received, from forced to the sender; not stored, no ack.
void on_client_custom(Hub &hub, Session &s, Envelope &e) {
    // Protobuf data must be a ClientCustom, or JSON receivers could not be given valid JSON
    // (which would be a silent drop); JSON data always crosses to protobuf (as data_json).
    if (const auto *raw = std::get_if<codec::RawData>(&e.data);
        raw && raw->codec == codec::Codec::protobuf) {
        codec::ClientCustom cc;
        if (!payload(hub, s, e, &cc))
            return;
    }
    e.from = s.uid();
    session::Outbound out(std::move(e));
    hub.for_each_device(out.envelope().to, [&](Session &d) { d.send(out); });
}

void on_ack_request(Hub &hub, Session &s, Envelope &e) {
    codec::AckRequest a;
    if (!payload(hub, s, e, &a))
        return;
    hub.ack_request(s, a);
}

// ack.group.msg (glide ignores it) and ack.offline (glide's Redis offline set; our store tracks
// receipts per message instead): accepted, no effect, no reply.
void on_ignored(Hub &, Session &, Envelope &) {}

void on_state_sub(Hub &hub, Session &s, Envelope &e) {
    codec::StateSubscribe sub;
    if (!payload(hub, s, e, &sub))
        return;
    hub.subscribe_state(s, sub.uids);
}

using K = codec::PayloadKind;
const ActionSpec table[] = {
    {action::hello, on_hello, false, K::hello},
    {action::heartbeat, on_heartbeat, false, K::none},
    {action::authenticate, on_authenticate, false, K::credential},
    {action::chat, on_chat, true, K::chat},
    {action::chat_resend, on_chat_resend, true, K::chat},
    {action::group, on_group, true, K::chat},
    {action::client_custom, on_client_custom, true, K::client_custom},
    {action::ack_request, on_ack_request, true, K::ack_request},
    {action::ack_group_msg, on_ignored, true, K::ack_group},
    {action::ack_offline, on_ignored, true, K::none},
    {action::api_state_sub, on_state_sub, true, K::state_subscribe},
};

} // namespace

std::span<const ActionSpec> action_table() {
    return table;
}

const ActionSpec *find_action(std::string_view name) {
    for (const ActionSpec &a : table)
        if (a.name == name)
            return &a;
    return nullptr;
}

void dispatch(Hub &hub, Session &s, Envelope &e, const ActionSpec *a) {
    if (action::is_internal(e.action)) {
        reply_text(s, e.seq, action::notify_forbidden, std::string(text_forbidden));
        return;
    }
    if (!a) {
        reply_text(s, e.seq, action::notify_unknown_action, e.action);
        return;
    }
    if (a->needs_auth && !s.authenticated()) {
        reply_text(s, e.seq, action::notify_unauthenticated, std::string(text_unauthenticated));
        return;
    }
    a->handler(hub, s, e);
}

} // namespace glide::dispatch
