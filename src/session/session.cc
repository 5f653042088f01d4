#include "session/session.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace glide::session {

const char *state_name(State s) {
    switch (s) {
    case State::guest:
        return "guest";
    case State::authenticated:
        return "authenticated";
    case State::closing:
        return "closing";
    case State::closed:
        return "closed";
    }
    return "?";
}

std::string TempId::text() const {
    std::string out = "tmp@";
    out.reserve(40);
    append_hex(out, bytes, 4);
    for (int i : {4, 6, 8}) {
        out += '-';
        append_hex(out, bytes + i, 2);
    }
    out += '-';
    append_hex(out, bytes + 10, 6);
    return out;
}

// The block: a byte saying how wide the lengths are (0: 16 bits, 1: 32 bits), the five lengths,
// then the bytes.
std::string_view Session::Strings::get(unsigned i) const {
    if (!p_)
        return {};
    const char *p = p_.get();
    const size_t w = p[0] ? 4 : 2;
    const char *q = p + 1 + 5 * w;
    uint32_t len = 0;
    for (unsigned k = 0; k <= i; k++) {
        uint32_t n = 0;
        if (w == 2) {
            uint16_t n16;
            std::memcpy(&n16, p + 1 + k * 2, 2);
            n = n16;
        } else {
            std::memcpy(&n, p + 1 + k * 4, 4);
        }
        if (k < i)
            q += n;
        else
            len = n;
    }
    return {q, len};
}

void Session::Strings::set_all(const std::string_view (&v)[5]) {
    size_t total = 0, longest = 0;
    for (const auto &x : v) {
        if (x.size() > UINT32_MAX)
            throw std::length_error("session string too long");
        total += x.size();
        longest = std::max(longest, x.size());
    }
    if (total == 0) {
        p_.reset();
        return;
    }
    const size_t w = longest > UINT16_MAX ? 4 : 2;
    auto p = std::make_unique<char[]>(1 + 5 * w + total);
    p[0] = w == 4;
    char *q = p.get() + 1 + 5 * w;
    for (unsigned k = 0; k < 5; k++) {
        const auto len = static_cast<uint32_t>(v[k].size());
        if (w == 2) {
            const auto n16 = static_cast<uint16_t>(len);
            std::memcpy(p.get() + 1 + k * 2, &n16, 2);
        } else {
            std::memcpy(p.get() + 1 + k * 4, &len, 4);
        }
        if (len)
            std::memcpy(q, v[k].data(), len);
        q += len;
    }
    p_ = std::move(p); // after the copies: v may point into the old block
}

void Session::Strings::set(unsigned i, std::string_view x) {
    std::string_view v[5];
    for (unsigned k = 0; k < 5; k++)
        v[k] = k == i ? x : get(k);
    set_all(v);
}

Session::Session(uint64_t id, Link *link, const SessionEnv *env, TempId temp_id)
    : id_(id), link_(link), env_(env), codec_(link->codec()),
      heartbeat_lost_(env->conf.heartbeat_lost),
      heartbeat_interval_ms_(env->conf.heartbeat_interval_ms), temp_id_(temp_id) {}

Session::~Session() {
    timers()->cancel(hb_timer_);
}

void Session::start() {
    last_read_ms_ = last_write_ms_ = timers()->now_ms();
    started_ms_ = timers()->wall_ms();
    arm_heartbeat();
}

void Session::set_identity(std::string_view uid, std::string_view device_id,
                           std::string_view device_name, std::string_view deliver_secret,
                           uint64_t heartbeat_interval_ms, uint32_t heartbeat_lost) {
    const std::string_view v[5] = {uid, device_id, device_name, deliver_secret,
                                   client_version()};
    ident_.set_all(v);
    if (state_ == State::guest)
        state_ = State::authenticated;
    bool rearm = false;
    if (heartbeat_interval_ms && heartbeat_interval_ms != heartbeat_interval_ms_) {
        heartbeat_interval_ms_ = heartbeat_interval_ms;
        rearm = true;
    }
    if (heartbeat_lost)
        heartbeat_lost_ = heartbeat_lost;
    if (rearm && open()) {
        timers()->cancel(hb_timer_);
        arm_heartbeat();
    }
}

void Session::touch_read() {
    last_read_ms_ = timers()->now_ms();
    lost_ = 0;
}

// One timer per session, armed for the earlier of the two glide timers (client silence and
// server idle); frames only update timestamps, so a busy session costs no timer operations.
void Session::arm_heartbeat() {
    int64_t now = timers()->now_ms();
    int64_t iv = static_cast<int64_t>(heartbeat_interval_ms_);
    int64_t due = std::min(last_read_ms_, last_write_ms_) + iv;
    uint64_t wait = due > now ? static_cast<uint64_t>(due - now) : 0;
    hb_timer_ = timers()->schedule(wait, [this] {
        hb_timer_ = 0;
        on_heartbeat_timer();
    });
}

// glide's rules (protocol.md §6.3): each silent interval counts one lost heartbeat and sends a
// server heartbeat; more than glide_heartbeat_lost in a row closes the session, with a close
// frame (4000) unlike glide. An interval without writes sends a heartbeat too.
void Session::on_heartbeat_timer() {
    if (!open())
        return;
    int64_t now = timers()->now_ms();
    int64_t iv = static_cast<int64_t>(heartbeat_interval_ms_);
    bool beat = false;
    if (now - last_read_ms_ >= iv) {
        last_read_ms_ = now;
        if (++lost_ > heartbeat_lost_) {
            close(close_code::heartbeat_timeout, "heartbeat timeout");
            return;
        }
        beat = true;
    }
    if (now - last_write_ms_ >= iv)
        beat = true;
    if (beat) {
        // The heartbeat's bytes are the same for every session: encode once per process.
        // Both encodings are built during the (thread-safe) static initialisation, so instances
        // on other threads only ever read it.
        static Outbound hb = [] {
            Outbound o(codec::make_message(0, codec::action::heartbeat, codec::Null{}));
            o.encoded(codec::Codec::json)->share();
            o.encoded(codec::Codec::protobuf)->share();
            return o;
        }();
        send(hb);
        if (!open())
            return;
    }
    trim(link_->buffered() == 0, now);
    arm_heartbeat();
}

bool Session::send(codec::Envelope e, SendClass cls) {
    Outbound out(std::move(e));
    return send(out, cls);
}

bool Session::send(Outbound &out, SendClass cls) {
    if (!open())
        return false;
    Encoded *buf = out.encoded(codec_);
    if (!buf)
        return false;
    // The slow-consumer rule (§5.13): what the server replays itself is exempt, so the limit is
    // raised by the replay bytes still queued.
    const size_t replayed = cold_ ? cold_->replay.inflight_bytes : 0;
    if (cls == SendClass::live &&
        link_->buffered() + buf->size() > env_->conf.send_buffer_limit + replayed) {
        close(close_code::slow_consumer, "slow consumer");
        return false;
    }
    SendResult sent = link_->send(*buf);
    if (sent == SendResult::closed) {
        // The transport is already going away; it reports on_closed later.
        state_ = State::closing;
        timers()->cancel(hb_timer_);
        hb_timer_ = 0;
        closing();
        return false;
    }
    if (sent == SendResult::above_soft)
        backpressured_ = true;
    if (cls == SendClass::replay)
        cold().replay.inflight_bytes += buf->size();
    last_write_ms_ = timers()->now_ms();
    env_->owner->session_sent(*this, out.envelope().action, buf->size());
    return true;
}

void Session::close(uint16_t code, std::string_view reason) {
    if (!open())
        return;
    state_ = State::closing;
    timers()->cancel(hb_timer_);
    hb_timer_ = 0;
    link_->close(code, reason);
    closing();
}

void Session::mark_closed() {
    if (open()) {
        state_ = State::closing;
        timers()->cancel(hb_timer_);
        hb_timer_ = 0;
        closing();
    }
    state_ = State::closed;
}

// Entered `closing`: frames deferred during auth will never be handled.
void Session::closing() {
    if (cold_)
        cold_->deferred.clear();
    env_->owner->session_closing(*this);
}

void Session::trim(bool buffer_empty, int64_t now_ms) {
    if (!cold_)
        return;
    Cold &c = *cold_;
    if (buffer_empty)
        c.replay.inflight_bytes = 0;
    if (now_ms >= 0 && now_ms - c.refused_last_ms >= 1000)
        c.refused_since_ms = -1; // the next refusal starts a new run anyway
    if (c.deferred.empty() && c.watching.empty() && !c.replay.active &&
        c.replay.inflight_bytes == 0 && c.refused_since_ms < 0)
        cold_.reset();
}

bool Session::defer(std::string_view frame) {
    Cold &c = cold();
    if (c.deferred.size() >= max_deferred) {
        close(close_code::policy_violation, "too many frames during auth");
        return false;
    }
    c.deferred.emplace_back(frame);
    return true;
}

bool Session::take_deferred(std::string *out) {
    if (auth_pending_ || !has_deferred())
        return false;
    auto &d = cold_->deferred;
    *out = std::move(d.front());
    d.erase(d.begin()); // at most max_deferred: cheap
    if (d.empty())
        trim(false);
    return true;
}

std::vector<std::string> Session::take_watching() {
    if (!cold_)
        return {};
    std::vector<std::string> w = std::move(cold_->watching);
    cold_->watching.clear();
    trim(false);
    return w;
}

bool Session::replay_load() {
    if (!replaying() || cold_->replay.loading)
        return false;
    cold_->replay.loading = true;
    return true;
}

void Session::replay_loaded(bool more) {
    Replay &r = cold().replay;
    r.loading = false;
    r.failures = 0;
    if (!more) {
        r.active = false;
        trim(open() && link_->buffered() == 0);
    }
}

bool Session::replay_send(codec::ChatMessage &&m) {
    const int64_t mid = m.mid;
    bool sent;
    return replay_send(codec::make_message(0, codec::action::chat, std::move(m)), mid, &sent);
}

bool Session::replay_send(codec::Envelope &&e, int64_t mid, bool *sent) {
    *sent = false;
    if (mid <= replay_cursor())
        return true;
    if (!send(std::move(e), SendClass::replay))
        return false;
    *sent = true;
    Replay &r = cold().replay;
    r.cursor = mid;
    if (backpressured_) {
        r.waiting_drain = true;
        return false;
    }
    return true;
}

bool Session::drained() {
    backpressured_ = false;
    if (!cold_)
        return false;
    Replay &r = cold_->replay;
    r.inflight_bytes = 0;
    if (!r.active || !r.waiting_drain) {
        trim(false);
        return false;
    }
    r.waiting_drain = false;
    return true;
}

int64_t Session::refused(int64_t now_ms) {
    Cold &c = cold();
    if (c.refused_since_ms < 0 || now_ms - c.refused_last_ms >= 1000)
        c.refused_since_ms = now_ms;
    c.refused_last_ms = now_ms;
    return now_ms - c.refused_since_ms;
}

void Session::set_auth_pending(bool pending) {
    if (auth_pending_ == pending)
        return;
    auth_pending_ = pending;
    if (open())
        link_->pause_reading(pending);
}

} // namespace glide::session
