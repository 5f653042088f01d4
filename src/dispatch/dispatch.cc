#include "dispatch/dispatch.h"

#include "actions/auth.h"
#include "actions/chat.h"
#include "actions/groups.h"
#include "actions/presence.h"

namespace glide::dispatch {

using codec::Envelope;
namespace wire = codec::action;
using session::Session;

namespace {

using K = codec::PayloadKind;
const ActionSpec table[] = {
    {wire::hello, actions::on_hello, false, K::hello},
    {wire::heartbeat, actions::on_heartbeat, false, K::none},
    {wire::authenticate, actions::on_authenticate, false, K::credential},
    {wire::chat, actions::on_chat, true, K::chat},
    {wire::chat_resend, actions::on_chat_resend, true, K::chat},
    {wire::group, actions::on_group, true, K::chat},
    {wire::client_custom, actions::on_client_custom, true, K::client_custom},
    {wire::ack_request, actions::on_ack_request, true, K::ack_request},
    {wire::ack_group_msg, actions::on_ignored, true, K::ack_group},
    {wire::ack_offline, actions::on_ignored, true, K::none},
    {wire::api_state_sub, actions::on_state_sub, true, K::state_subscribe},
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

void dispatch(actions::Context &ctx, Session &s, Envelope &e, const ActionSpec *a) {
    if (wire::is_internal(e.action)) {
        actions::reply_text(s, e.seq, wire::notify_forbidden, std::string(text_forbidden));
        return;
    }
    if (!a) {
        actions::reply_text(s, e.seq, wire::notify_unknown_action, e.action);
        return;
    }
    if (a->needs_auth && !s.authenticated()) {
        actions::reply_text(s, e.seq, wire::notify_unauthenticated,
                            std::string(text_unauthenticated));
        return;
    }
    a->handler(ctx, s, e);
}

Dispatcher::Dispatcher(hub::Hub &hub, Stats &stats)
    : stats_(stats), ctx_(hub, stats, [this](uint64_t sid) { process_deferred(sid); }) {}

void Dispatcher::on_frame(Session *s, std::string_view bytes) {
    if (!s || !s->open())
        return;
    if (s->auth_pending()) {
        // Reading is paused; these were parsed before the pause took effect.
        s->defer(bytes);
        return;
    }
    Envelope e;
    Status st = codec::decode(s->codec(), bytes, &e, &raw_spare_, &ctx_.pre_decoded);
    const ActionSpec *spec = st ? find_action(e.action) : nullptr;
    stats_.messages_in_by_action.add(!st ? "invalid" : spec ? e.action : "other");
    if (!st) {
        if (admit(*s, {}, 0))
            s->send(codec::make_message(0, wire::notify_error, codec::Text{st.error()}));
        return;
    }
    s->touch_read();
    if (!admit(*s, e.action, e.seq))
        return;
    ctx_.pre_decoded_for = &e;
    dispatch(ctx_, *s, e, spec);
    ctx_.pre_decoded_for = nullptr;
    // The handlers are done with the data (what outlives them was copied or moved out): its
    // buffer serves the next frame's.
    if (auto *raw = std::get_if<codec::RawData>(&e.data);
        raw && raw->bytes.capacity() > raw_spare_.capacity() &&
        raw->bytes.capacity() <= max_raw_spare)
        raw_spare_ = std::move(raw->bytes);
}

bool Dispatcher::admit(Session &s, std::string_view action, int64_t seq) {
    const hub::Limits &l = ctx_.conf().limits;
    if ((!l.message_rate.on() && !l.user_message_rate.on()) || action == wire::heartbeat ||
        action.starts_with("ack."))
        return true;
    const int64_t now = ctx_.timers.now_ms();
    TokenBucket *user = l.user_message_rate.on() && s.authenticated()
                            ? ctx_.hub.user_bucket(s.uid())
                            : nullptr;
    // Both must have a token before either gives one: a refused frame costs nothing.
    const bool conn_ok = !l.message_rate.on() || s.message_bucket().available(now, l.message_rate);
    const bool user_ok = !user || user->available(now, l.user_message_rate);
    if (conn_ok && user_ok) {
        if (l.message_rate.on())
            s.message_bucket().take(l.message_rate);
        if (user)
            user->take(l.user_message_rate);
        return true;
    }
    stats_.limited.add(conn_ok ? "user_message_rate" : "message_rate");
    const uint32_t n = conn_ok ? l.user_message_rate.count : l.message_rate.count;
    actions::reply_text(s, seq, wire::notify_error,
                        "rate limit exceeded: " + std::to_string(n) + " messages per second" +
                            (conn_ok ? " per user" : ""));
    if (l.message_rate_close_ms && s.open() &&
        static_cast<uint64_t>(s.refused(now)) >= l.message_rate_close_ms) {
        stats_.limited.add("message_rate_close");
        ctx_.hub.log(GLIDE_LOG_NOTICE,
                     cat("closing ", s.link()->peer(),
                         s.authenticated() ? cat(" (", s.uid(), ")") : std::string(),
                         ": over its rate limit for ",
                         std::to_string(l.message_rate_close_ms / 1000), " s"));
        s.close(session::close_code::policy_violation, "rate limit exceeded");
    }
    return false;
}

void Dispatcher::process_deferred(uint64_t sid) {
    std::string f;
    for (Session *s = ctx_.hub.find(sid); s && s->take_deferred(&f); s = ctx_.hub.find(sid))
        on_frame(s, f);
}

void Dispatcher::on_drained(Session *s) {
    if (s)
        actions::on_drained(ctx_, *s);
}

} // namespace glide::dispatch
