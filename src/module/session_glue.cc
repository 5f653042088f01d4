#include "module/session_glue.h"

#include <time.h>

namespace glide {

// --- EventTimers -------------------------------------------------------------------------------

EventTimers::~EventTimers() {
    for (auto &[h, t] : timers_)
        if (t->ev)
            event_free(t->ev);
}

session::TimerService::Handle EventTimers::schedule(uint64_t ms, std::function<void()> fn) {
    auto t = std::make_unique<Timer>();
    t->owner = this;
    t->h = next_++;
    t->fn = std::move(fn);
    t->ev = evtimer_new(base_, on_timer, t.get());
    if (!t->ev)
        throw std::bad_alloc();
    timeval tv = net::ms_to_tv(ms);
    evtimer_add(t->ev, &tv);
    Handle h = t->h;
    timers_.emplace(h, std::move(t));
    return h;
}

void EventTimers::cancel(Handle h) {
    auto it = timers_.find(h);
    if (it == timers_.end())
        return;
    event_free(it->second->ev);
    timers_.erase(it);
}

void EventTimers::on_timer(evutil_socket_t, short, void *arg) {
    auto *t = static_cast<Timer *>(arg);
    EventTimers *self = t->owner;
    std::function<void()> fn = std::move(t->fn);
    // The timer fired: forget it before running fn (which may schedule or cancel others).
    event_free(t->ev);
    self->timers_.erase(t->h);
    fn();
}

int64_t EventTimers::now_ms() const {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

int64_t EventTimers::wall_ms() const {
    timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

// --- ConnLink ----------------------------------------------------------------------------------

ConnLink::ConnLink(net::Connection *c)
    : conn_(c),
      codec_(c->codec() == CodecKind::protobuf ? codec::Codec::protobuf : codec::Codec::json),
      peer_(c->peer().text()) {}

session::SendResult ConnLink::send(session::Encoded &msg) {
    if (!conn_ || !conn_->is_open())
        return session::SendResult::closed;
    auto kind = codec_ == codec::Codec::json ? net::MessageKind::text : net::MessageKind::binary;
    net::SendResult r = msg.size() <= net::Connection::kShareAbove
                            ? conn_->send(kind, msg.bytes())
                            : conn_->send_shared(kind, msg.share());
    switch (r) {
    case net::SendResult::ok: return session::SendResult::ok;
    case net::SendResult::above_soft_mark: return session::SendResult::above_soft;
    case net::SendResult::closed: break;
    }
    return session::SendResult::closed;
}

void ConnLink::close(uint16_t code, std::string_view reason) {
    // Connection::close runs on_close at once, which detaches this link: keep a copy.
    if (net::Connection *c = conn_)
        c->close(code, reason);
}

void ConnLink::pause_reading(bool paused) {
    if (conn_)
        conn_->pause_reading(paused);
}

// --- ProtocolHandler ---------------------------------------------------------------------------

ProtocolHandler::~ProtocolHandler() { clear(); }

void ProtocolHandler::on_open(net::Connection &c) {
    auto *link = new ConnLink(&c);
    c.user_data = link;
    // While draining the hub closes the link at once (on_close runs inside open()).
    session::Session *s = hub_->open(link);
    link->session = s;
}

void ProtocolHandler::on_message(net::Connection &c, net::MessageKind,
                                 std::span<const uint8_t> payload) {
    auto *link = static_cast<ConnLink *>(c.user_data);
    if (!link || !link->session)
        return;
    hub_->on_frame(link->session,
                   std::string_view(reinterpret_cast<const char *>(payload.data()),
                                    payload.size()));
}

void ProtocolHandler::on_send_ready(net::Connection &c) {
    auto *link = static_cast<ConnLink *>(c.user_data);
    if (link && link->session)
        hub_->on_drained(link->session);
}

void ProtocolHandler::on_close(net::Connection &c, uint16_t code) {
    auto *link = static_cast<ConnLink *>(c.user_data);
    c.user_data = nullptr;
    if (!link)
        return;
    if (link->session)
        hub_->count_close(code);
    link->detach();
    ended_.push_back(link);
    if (wake_)
        wake_();
}

void ProtocolHandler::reap() {
    if (ended_.empty()) {
        hub_->reap();
        return;
    }
    std::vector<ConnLink *> ended;
    ended.swap(ended_);
    for (ConnLink *l : ended)
        if (l->session)
            hub_->on_closed(l->session);
    hub_->reap(); // frees those sessions: nothing refers to the links any more
    for (ConnLink *l : ended)
        delete l;
}

void ProtocolHandler::clear() {
    for (ConnLink *l : ended_)
        delete l;
    ended_.clear();
}

} // namespace glide
