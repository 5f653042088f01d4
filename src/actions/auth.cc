#include "actions/auth.h"

#include "actions/context.h"

namespace glide::actions {

using codec::Envelope;
using codec::make_message;
using codec::Text;
namespace wire = codec::action;
using port::HostRequest;
using session::Session;

namespace {

void replay_page(Context &ctx, uint64_t sid, HostRequest &r);

// Loads the next page of the session's replay, unless one is loading or the replay is over.
void replay_next(Context &ctx, Session &s) {
    if (!s.replay_load())
        return;
    uint64_t sid = s.id();
    std::string uid = s.uid(), dev = s.device_id();
    int64_t after = s.replay_cursor();
    ctx.call(
        HostRequest::Kind::load_undelivered,
        [c = &ctx, sid](HostRequest &r) { replay_page(*c, sid, r); },
        [&](const port::RequestPtr &r) {
            return ctx.host.load_undelivered(r, uid, dev, after, ctx.conf().replay_page);
        });
}

// A group message the member was not sent, as live members got it (groups.cc): message.group
// from the sender to the group, but with seq 0 and no extra (the request's are not stored);
// not when this connection got it live already. Written, it joins the session's group
// receipts. Returns what replay_send does.
bool replay_group(Context &ctx, Session &s, codec::ChatMessage &&m) {
    const int64_t mid = m.mid, seq = m.seq;
    std::string gid = m.to;
    if (ctx.groups.sent_before(s.id(), gid, mid, seq)) {
        s.replay_skip(mid); // this connection got it live while the replay was loading
        return true;
    }
    codec::Envelope e = make_message(0, wire::group, std::move(m));
    e.from = std::get<codec::ChatMessage>(e.data).from;
    e.to = gid;
    const bool flushed = s.link()->buffered() == 0;
    bool sent;
    bool go_on = s.replay_send(std::move(e), mid, &sent);
    if (sent)
        ctx.groups.written(ctx, s, gid, mid, seq, flushed);
    return go_on;
}

// Replay is paced by the send buffer: messages are sent until the transport answers a send
// above its soft mark (half of glide_send_buffer_limit, so the transport's limit is never
// reached by the replay itself), then the replay waits for the link to report it drained and
// loads again from the last mid sent. Its bytes never count against the slow-consumer limit.
void replay_page(Context &ctx, uint64_t sid, HostRequest &r) {
    Session *s = ctx.hub.find(sid);
    if (!s)
        return;
    if (r.status() < 0) {
        s->replay_loaded(false);
        ctx.hub.log(GLIDE_LOG_WARN, "offline replay for " + s->uid() + " stopped: " + r.error());
        return;
    }
    const bool more = r.page().size() >= ctx.conf().replay_page;
    s->replay_loaded(true);
    for (port::PageMessage &p : r.page())
        if (!(p.group ? replay_group(ctx, *s, std::move(p.msg)) : s->replay_send(std::move(p.msg))))
            return;
    if (!more) {
        s->replay_loaded(false);
        return;
    }
    ctx.timers.schedule(0, [c = &ctx, sid] {
        if (Session *t = c->hub.find(sid))
            replay_next(*c, *t);
    });
}

// Starts the session's offline replay; with the cluster bus, once the directory routes the
// uid's messages here (port::ClusterPort::joined), so nothing stored after the replay's first
// page can miss the session.
void replay_when_routed(Context &ctx, Session &s) {
    port::ClusterPort *bus = ctx.hub.cluster();
    if (!bus) {
        s.replay_begin();
        replay_next(ctx, s);
        return;
    }
    bus->joined(s.uid(), s.device_id(), s.device_name(), [c = &ctx, sid = s.id()] {
        if (Session *t = c->hub.find(sid); t && t->authenticated())
            replay_all_of(*c, *t);
    });
}

} // namespace

void replay_all_of(Context &ctx, Session &s) {
    // A replay that runs goes on to the newest message: it covers what the caller wants.
    if (s.replaying())
        return;
    s.replay_begin();
    replay_next(ctx, s);
}

void on_hello(Context &, Session &s, Envelope &e) {
    auto r = codec::decode_payload<codec::Hello>(e);
    if (!r) {
        reply_text(s, 0, wire::notify_error, "invalid handleHello message");
        return;
    }
    s.client_version = std::move(r->client_version);
}

void on_heartbeat(Context &, Session &, Envelope &) {}

void on_authenticate(Context &ctx, Session &s, Envelope &e) {
    auto cred = codec::decode_payload<codec::EncryptedCredential>(e);
    if (!cred || cred->credential.size() < 5) {
        reply_text(s, e.seq, wire::notify_error, "invalid authenticate message");
        return;
    }
    const int64_t seq = e.seq;
    s.set_auth_pending(true);
    uint64_t sid = s.id();
    port::AuthInput in{cred->credential, cred->version, s.link()->peer(), s.temp_id()};
    ctx.call(
        HostRequest::Kind::auth,
        [c = &ctx, sid, seq](HostRequest &r) {
            hub::Hub &hub = c->hub;
            Session *t = hub.find(sid);
            if (!t)
                return;
            t->set_auth_pending(false);
            port::AuthResult &a = r.auth_result();
            if (r.timed_out()) {
                t->send(make_message(seq, wire::notify_error, Text{"authentication timed out"}));
            } else if (r.status() < 0 || !a.accepted || a.uid.empty()) {
                std::string why = a.error.empty() ? "invalid authenticate message" : a.error;
                t->send(make_message(seq, wire::notify_error, Text{std::move(why)}));
            } else {
                hub.register_identity(*t, a);
                t->send(make_message(seq, wire::notify_success, codec::Null{}));
                if (t->open())
                    replay_when_routed(*c, *t);
            }
            // Frames that arrived while the auth was pending, on the next loop turn: never
            // re-enter dispatch from inside a host completion.
            if (hub.find(sid) && hub.find(sid)->has_deferred())
                c->timers.schedule(0, [c, sid] { c->resume_deferred(sid); });
        },
        [&ctx, &in](const port::RequestPtr &r) { return ctx.host.auth(r, in); });
}

void on_drained(Context &ctx, Session &s) {
    if (s.open() && s.drained())
        replay_next(ctx, s);
}

} // namespace glide::actions
