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

// Loads the page after the replay's cursor (the session has claimed the load: replay_load).
void load_page(Context &ctx, Session &s) {
    uint64_t sid = s.id();
    std::string uid(s.uid()), dev(s.device_id());
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

// Loads the next page of the session's replay, unless one is loading or the replay is over.
void replay_next(Context &ctx, Session &s) {
    if (s.replay_load())
        load_page(ctx, s);
}

// The wait before the n-th retry of a failed page load: 100 ms, doubling up to 5 s.
uint64_t replay_backoff_ms(uint32_t n) {
    return n >= 7 ? 5000 : uint64_t{100} << (n - 1);
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
        // A store fault (a full disk, a lost database connection, a timeout): the replay stays
        // and loads the same page again with back-off while the session does, so what was
        // acknowledged to its senders reaches the device once the store recovers. Logged once
        // when it starts failing, once when it recovers.
        const uint32_t n = s->replay_failed();
        if (n == 1)
            ctx.hub.log(GLIDE_LOG_WARN, cat("offline replay for ", s->uid(), " (",
                                            s->device_id(), ") failed: ", store_failure(r),
                                            "; retrying while the session stays"));
        ctx.timers.schedule(replay_backoff_ms(n), [c = &ctx, sid] {
            if (Session *t = c->hub.find(sid))
                load_page(*c, *t);
        });
        return;
    }
    if (const uint32_t n = s->replay_failures())
        ctx.hub.log(GLIDE_LOG_NOTICE, cat("offline replay for ", s->uid(), " (", s->device_id(),
                                          ") resumed after ", std::to_string(n),
                                          " failed attempt", n == 1 ? "" : "s"));
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

// A failed authentication of s, answered already: counted against the connection
// (glide_limit_auth_failures: the last one allowed closes it) and, when the host refused it,
// against the source address (glide_limit_auth_failures_per_address; logged once when the
// address runs out).
void auth_failed(Context &ctx, Session &s, const std::string &source, bool by_host) {
    const hub::Limits &l = ctx.conf().limits;
    if (by_host && l.auth_failures_per_address.on() && !source.empty()) {
        const int64_t now = ctx.timers.now_ms();
        if (ctx.auth_failures.take(source, now, l.auth_failures_per_address) &&
            !ctx.auth_failures.available(source, now, l.auth_failures_per_address))
            ctx.hub.log(GLIDE_LOG_NOTICE,
                        "authentications from " + source + " are refused for now: " +
                            std::to_string(l.auth_failures_per_address.count) +
                            " failed within a minute (glide_limit_auth_failures_per_address)");
    }
    if (l.auth_failures && s.open() && s.auth_failed() >= l.auth_failures) {
        ctx.stats.limited.add("auth_failures");
        ctx.hub.log(GLIDE_LOG_INFO, "closing " + s.link()->peer() + ": " +
                                        std::to_string(l.auth_failures) +
                                        " failed authentications (glide_limit_auth_failures)");
        s.close(session::close_code::policy_violation, text_auth_limited);
    }
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
    s.set_client_version(r->client_version);
}

void on_heartbeat(Context &, Session &, Envelope &) {}

void on_authenticate(Context &ctx, Session &s, Envelope &e) {
    auto cred = codec::decode_payload<codec::EncryptedCredential>(e);
    if (!cred || cred->credential.size() < 5) {
        reply_text(s, e.seq, wire::notify_error, "invalid authenticate message");
        auth_failed(ctx, s, {}, false);
        return;
    }
    const hub::Limits &limits = ctx.conf().limits;
    std::string source;
    if (limits.auth_failures_per_address.on()) {
        source = s.link()->source();
        if (!ctx.auth_failures.available(source, ctx.timers.now_ms(),
                                         limits.auth_failures_per_address)) {
            ctx.stats.limited.add("auth_failures_per_address");
            reply_text(s, e.seq, wire::notify_error, std::string(text_auth_limited));
            auth_failed(ctx, s, source, false);
            return;
        }
    }
    const int64_t seq = e.seq;
    s.set_auth_pending(true);
    uint64_t sid = s.id();
    const std::string peer = s.link()->peer(), temp_id = s.temp_id();
    port::AuthInput in{cred->credential, cred->version, peer, temp_id};
    ctx.call(
        HostRequest::Kind::auth,
        [c = &ctx, sid, seq, source = std::move(source)](HostRequest &r) {
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
                auth_failed(*c, *t, source, true);
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
