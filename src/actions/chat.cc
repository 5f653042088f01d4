#include "actions/chat.h"

#include "actions/context.h"

namespace glide::actions {

using codec::Envelope;
using codec::make_message;
using codec::Text;
namespace wire = codec::action;
using port::HostRequest;
using session::Outbound;
using session::Session;

namespace {

// Delivers a stored chat message to the receiver's devices and a copy to the sender's other
// devices (sender null: no copy exclusion). The message's buffers are then kept for
// Context::take_message().
void deliver_chat(Context &ctx, codec::ChatMessage &&msg, const Session *sender) {
    Outbound out(0, wire::chat, std::move(msg));
    const auto &m = std::get<codec::ChatMessage>(out.envelope().data);
    if (port::ClusterPort *bus = ctx.hub.cluster())
        if (session::Encoded *json = out.encoded(codec::Codec::json)) {
            if (m.from != m.to)
                bus->to_users(m.to, m.from, json->bytes());
            else
                bus->to_user(m.to, json->bytes());
        }
    ctx.hub.for_each_device(m.to, [&](Session &d) { d.send(out); });
    if (m.from != m.to)
        ctx.hub.for_each_device(m.from, [&](Session &d) {
            if (&d != sender)
                d.send(out);
        });
    // Sent (the encodings are made): the message's buffers serve the next inbound chat.
    ctx.spare_message = std::move(std::get<codec::ChatMessage>(out.envelope().data));
}

// message.chat after the ticket check and normalisation: stored first (§5.7).
void store_chat(Context &ctx, Session &s, int64_t seq, codec::ChatMessage &&msg) {
    ctx.call(
        HostRequest::Kind::store_message,
        [c = &ctx](HostRequest &r) {
            Session *t = c->hub.find(r.session_id);
            if (r.timed_out() || r.status() < 0) {
                if (t)
                    t->send(make_message(r.seq, wire::notify_error, Text{store_failure(r)}));
                return;
            }
            const port::StoreResult &res = r.store_result();
            codec::ChatMessage &m = r.message;
            m.mid = res.mid;
            // Only now, the store having committed, is the sender acknowledged (§5.7). The ack
            // borrows cli_mid and gives it back once sent (encoded), sparing a copy.
            if (t) {
                codec::AckMessage a{std::move(m.cli_mid), m.mid, {}, m.seq};
                Outbound ack(0, wire::ack_message, std::move(a));
                t->send(ack);
                m.cli_mid = std::move(std::get<codec::AckMessage>(ack.envelope().data).cli_mid);
            }
            if (!res.duplicate)
                deliver_chat(*c, std::move(m), t);
        },
        [&](const port::RequestPtr &r) {
            r->session_id = s.id();
            r->seq = seq;
            r->message = std::move(msg);
            return ctx.host.store_message(r, r->message);
        });
}

// ack.request: ack.notify to the original sender and mark_delivered.
void ack_request(Context &ctx, Session &s, const codec::AckRequest &a) {
    // v1.6 clients send {mid, from: original sender}; later ones {mid, from: receiver,
    // to: sender}.
    const std::string &sender = a.to.empty() ? a.from : a.to;
    Outbound out(0, wire::ack_notify, codec::AckNotify{a.cli_mid, a.seq, a.mid, a.from, a.to});
    to_other_nodes(ctx, sender, out);
    ctx.hub.for_each_device(sender, [&](Session &d) { d.send(out); });
    if (a.mid <= 0)
        return;
    ctx.call(
        HostRequest::Kind::mark_delivered,
        [c = &ctx](HostRequest &r) {
            if (r.timed_out() || r.status() < 0)
                c->hub.log(GLIDE_LOG_WARN, "mark_delivered " + r.message.to + " " +
                                               std::to_string(r.message.mid) +
                                               " failed: " + r.error());
        },
        [&](const port::RequestPtr &r) {
            r->message.to = s.uid(); // kept for the log line
            r->message.mid = a.mid;
            return ctx.host.mark_delivered(r, s.uid(), s.device_id(), a.mid);
        });
}

} // namespace

void on_chat(Context &ctx, Session &s, Envelope &e) {
    codec::ChatMessage m;
    if (!chat_input(ctx, s, e, &m))
        return;
    // A client-supplied mid is not trusted for storing: retries are made idempotent by cliMid,
    // re-deliveries of a stored message use message.chat.resend.
    m.mid = 0;
    store_chat(ctx, s, e.seq, std::move(m));
}

void on_chat_resend(Context &ctx, Session &s, Envelope &e) {
    codec::ChatMessage m;
    if (!chat_input(ctx, s, e, &m))
        return;
    if (m.mid <= 0) {
        reply_text(s, e.seq, wire::notify_error, "invalid resend message: mid is required");
        return;
    }
    s.send(make_message(0, wire::ack_message, codec::AckMessage{m.cli_mid, m.mid, {}, m.seq}));
    deliver_chat(ctx, std::move(m), &s);
}

// message.cli: the envelope as received, from forced to the sender; not stored, no ack.
void on_client_custom(Context &ctx, Session &s, Envelope &e) {
    // Protobuf data must be a ClientCustom, or JSON receivers could not be given valid JSON
    // (which would be a silent drop); JSON data always crosses to protobuf (as data_json).
    if (const auto *raw = std::get_if<codec::RawData>(&e.data);
        raw && raw->codec == codec::Codec::protobuf) {
        codec::ClientCustom cc;
        if (!payload(ctx, s, e, &cc))
            return;
    }
    e.from = s.uid();
    session::Outbound out(std::move(e));
    to_other_nodes(ctx, out.envelope().to, out);
    ctx.hub.for_each_device(out.envelope().to, [&](Session &d) { d.send(out); });
}

void on_ack_request(Context &ctx, Session &s, Envelope &e) {
    codec::AckRequest a;
    if (!payload(ctx, s, e, &a))
        return;
    ack_request(ctx, s, a);
}

// ack.group.msg (glide ignores it) and ack.offline (glide's Redis offline set; our store tracks
// receipts per message instead): accepted, no effect, no reply.
void on_ignored(Context &, Session &, Envelope &) {}

} // namespace glide::actions
