#include "session/session.h"

#include <algorithm>

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

Session::Session(uint64_t id, Link *link, TimerService *timers, SessionOwner *owner,
                 const SessionConfig &conf, std::string_view temp_id)
    : id_(id), link_(link), timers_(timers), owner_(owner), conf_(conf),
      codec_(link->codec()), temp_id_{} {
    std::memcpy(temp_id_, temp_id.data(), std::min(temp_id.size(), kTempIdSize));
}

Session::~Session() {
    timers_->cancel(hb_timer_);
}

void Session::start() {
    last_read_ms_ = last_write_ms_ = timers_->now_ms();
    started_ms_ = timers_->wall_ms();
    arm_heartbeat();
}

void Session::set_identity(std::string uid, std::string device_id, std::string device_name,
                           std::string deliver_secret, uint64_t heartbeat_interval_ms,
                           uint32_t heartbeat_lost) {
    uid_ = std::move(uid);
    device_id_ = std::move(device_id);
    device_name_ = std::move(device_name);
    deliver_secret_ = std::move(deliver_secret);
    if (state_ == State::guest)
        state_ = State::authenticated;
    bool rearm = false;
    if (heartbeat_interval_ms && heartbeat_interval_ms != conf_.heartbeat_interval_ms) {
        conf_.heartbeat_interval_ms = heartbeat_interval_ms;
        rearm = true;
    }
    if (heartbeat_lost)
        conf_.heartbeat_lost = heartbeat_lost;
    if (rearm && open()) {
        timers_->cancel(hb_timer_);
        arm_heartbeat();
    }
}

void Session::touch_read() {
    last_read_ms_ = timers_->now_ms();
    lost_ = 0;
}

// One timer per session, armed for the earlier of the two glide timers (client silence and
// server idle); frames only update timestamps, so a busy session costs no timer operations.
void Session::arm_heartbeat() {
    int64_t now = timers_->now_ms();
    int64_t iv = static_cast<int64_t>(conf_.heartbeat_interval_ms);
    int64_t due = std::min(last_read_ms_, last_write_ms_) + iv;
    uint64_t wait = due > now ? static_cast<uint64_t>(due - now) : 0;
    hb_timer_ = timers_->schedule(wait, [this] {
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
    int64_t now = timers_->now_ms();
    int64_t iv = static_cast<int64_t>(conf_.heartbeat_interval_ms);
    bool beat = false;
    if (now - last_read_ms_ >= iv) {
        last_read_ms_ = now;
        if (++lost_ > conf_.heartbeat_lost) {
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
    if (cls == SendClass::live &&
        link_->buffered() + buf->size() > conf_.send_buffer_limit + replay_.inflight_bytes) {
        close(close_code::slow_consumer, "slow consumer");
        return false;
    }
    SendResult sent = link_->send(*buf);
    if (sent == SendResult::closed) {
        // The transport is already going away; it reports on_closed later.
        state_ = State::closing;
        timers_->cancel(hb_timer_);
        hb_timer_ = 0;
        closing();
        return false;
    }
    if (sent == SendResult::above_soft)
        backpressured_ = true;
    if (cls == SendClass::replay)
        replay_.inflight_bytes += buf->size();
    last_write_ms_ = timers_->now_ms();
    owner_->session_sent(*this, out.envelope().action, buf->size());
    return true;
}

void Session::close(uint16_t code, std::string_view reason) {
    if (!open())
        return;
    state_ = State::closing;
    timers_->cancel(hb_timer_);
    hb_timer_ = 0;
    link_->close(code, reason);
    closing();
}

void Session::mark_closed() {
    if (open()) {
        state_ = State::closing;
        timers_->cancel(hb_timer_);
        hb_timer_ = 0;
        closing();
    }
    state_ = State::closed;
}

// Entered `closing`: frames deferred during auth will never be handled.
void Session::closing() {
    deferred_.clear();
    owner_->session_closing(*this);
}

bool Session::defer(std::string_view frame) {
    if (deferred_.size() >= max_deferred) {
        close(close_code::policy_violation, "too many frames during auth");
        return false;
    }
    deferred_.emplace_back(frame);
    return true;
}

bool Session::take_deferred(std::string *out) {
    if (auth_pending_ || deferred_.empty())
        return false;
    *out = std::move(deferred_.front());
    deferred_.erase(deferred_.begin()); // at most max_deferred: cheap
    return true;
}

bool Session::replay_load() {
    if (!replay_.active || replay_.loading)
        return false;
    replay_.loading = true;
    return true;
}

void Session::replay_loaded(bool more) {
    replay_.loading = false;
    replay_.failures = 0;
    if (!more)
        replay_.active = false;
}

bool Session::replay_send(codec::ChatMessage &&m) {
    const int64_t mid = m.mid;
    bool sent;
    return replay_send(codec::make_message(0, codec::action::chat, std::move(m)), mid, &sent);
}

bool Session::replay_send(codec::Envelope &&e, int64_t mid, bool *sent) {
    *sent = false;
    if (mid <= replay_.cursor)
        return true;
    if (!send(std::move(e), SendClass::replay))
        return false;
    *sent = true;
    replay_.cursor = mid;
    if (backpressured_) {
        replay_.waiting_drain = true;
        return false;
    }
    return true;
}

bool Session::drained() {
    replay_.inflight_bytes = 0;
    backpressured_ = false;
    if (!replay_.active || !replay_.waiting_drain)
        return false;
    replay_.waiting_drain = false;
    return true;
}

int64_t Session::refused(int64_t now_ms) {
    if (refused_since_ms_ < 0 || now_ms - refused_last_ms_ >= 1000)
        refused_since_ms_ = now_ms;
    refused_last_ms_ = now_ms;
    return now_ms - refused_since_ms_;
}

void Session::set_auth_pending(bool pending) {
    if (auth_pending_ == pending)
        return;
    auth_pending_ = pending;
    if (open())
        link_->pause_reading(pending);
}

} // namespace glide::session
