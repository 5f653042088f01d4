#include "module/session_glue.h"

#include <time.h>

namespace glide {

// --- EventTimers -------------------------------------------------------------------------------

EventTimers::EventTimers(event_base *base) : base_(base) {
    ev_ = evtimer_new(base_, on_event, this);
    if (!ev_)
        throw std::bad_alloc();
}

EventTimers::~EventTimers() {
    event_free(ev_);
}

session::TimerService::Handle EventTimers::schedule(uint64_t ms, std::function<void()> fn) {
    // Far beyond any real timer, and no overflow below.
    constexpr uint64_t kMaxMs = uint64_t{1} << 40;
    if (ms > kMaxMs)
        ms = kMaxMs;
    int64_t due = clock_ms() + static_cast<int64_t>(ms);
    if (ms >= kCoarseFromMs)
        due = (due + kCoarseMs - 1) / kCoarseMs * kCoarseMs;

    uint32_t slot;
    if (free_head_) {
        slot = free_head_ - 1;
        free_head_ = slots_[slot].link;
    } else {
        if (slots_.size() >= UINT32_MAX - 1)
            throw std::bad_alloc();
        slots_.emplace_back();
        slot = static_cast<uint32_t>(slots_.size() - 1);
    }
    const Entry e{due, seq_++, slot};
    try {
        heap_.push_back(e);
    } catch (...) {
        free_slot(slot);
        throw;
    }
    sift_up(heap_.size() - 1, e);
    Slot &s = slots_[slot];
    s.fn = std::move(fn);
    if (!running_ && (armed_due_ < 0 || due < armed_due_))
        arm();
    return static_cast<Handle>(s.gen) << 32 | (slot + 1);
}

void EventTimers::cancel(Handle h) {
    const uint64_t index = (h & 0xFFFFFFFF);
    if (index == 0 || index > slots_.size())
        return;
    const uint32_t slot = static_cast<uint32_t>(index - 1);
    Slot &s = slots_[slot];
    // A fired or cancelled timer's slot has a newer generation (it may be pending again).
    if (s.gen != static_cast<uint32_t>(h >> 32) || s.link >= heap_.size() ||
        heap_[s.link].slot != slot)
        return;
    remove_at(s.link);
    // The callback's captures are destroyed after the slot is consistent again: their
    // destructors may use the timers.
    std::function<void()> fn = std::move(s.fn);
    free_slot(slot);
    if (heap_.empty() && !running_)
        arm(); // disarms: an early wake-up for a cancelled first timer is harmless otherwise
}

void EventTimers::free_slot(uint32_t slot) {
    Slot &s = slots_[slot];
    s.fn = nullptr;
    s.gen++;
    s.link = free_head_;
    free_head_ = slot + 1;
}

void EventTimers::place(size_t pos, const Entry &e) {
    heap_[pos] = e;
    slots_[e.slot].link = static_cast<uint32_t>(pos);
}

void EventTimers::sift_up(size_t pos, Entry e) {
    while (pos > 0) {
        const size_t parent = (pos - 1) / 2;
        if (!before(e, heap_[parent]))
            break;
        place(pos, heap_[parent]);
        pos = parent;
    }
    place(pos, e);
}

void EventTimers::sift_down(size_t pos, Entry e) {
    const size_t n = heap_.size();
    for (;;) {
        size_t c = 2 * pos + 1;
        if (c >= n)
            break;
        if (c + 1 < n && before(heap_[c + 1], heap_[c]))
            c++;
        if (!before(heap_[c], e))
            break;
        place(pos, heap_[c]);
        pos = c;
    }
    place(pos, e);
}

void EventTimers::remove_at(size_t pos) {
    const Entry last = heap_.back();
    heap_.pop_back();
    if (pos == heap_.size())
        return;
    if (pos > 0 && before(last, heap_[(pos - 1) / 2]))
        sift_up(pos, last);
    else
        sift_down(pos, last);
}

// Arms the one event for the first timer, or disarms it when none is pending.
void EventTimers::arm() {
    if (heap_.empty()) {
        if (armed_due_ >= 0)
            evtimer_del(ev_);
        armed_due_ = -1;
        return;
    }
    const int64_t due = heap_.front().due;
    const int64_t now = clock_ms();
    timeval tv = net::ms_to_tv(due > now ? static_cast<uint64_t>(due - now) : 0);
    evtimer_add(ev_, &tv);
    armed_due_ = due;
}

void EventTimers::on_event(evutil_socket_t, short, void *arg) {
    static_cast<EventTimers *>(arg)->run();
}

// Runs the timers that are due, in (due, schedule order). Timers scheduled by the callbacks
// wait for the next loop turn, even those of 0 ms, so a callback that reschedules itself cannot
// keep the loop from its I/O. libevent may wake us a little early (its clock is coarser): the
// first timer is then not due yet and the event is simply armed again.
void EventTimers::run() {
    running_ = true;
    armed_due_ = -1; // the event fired, so it is no longer pending
    const int64_t now = clock_ms();
    const uint64_t limit = seq_;
    while (!heap_.empty() && heap_.front().due <= now && heap_.front().seq < limit) {
        const uint32_t slot = heap_.front().slot;
        remove_at(0);
        // Forget the timer before running it: fn may schedule or cancel others (itself too).
        std::function<void()> fn = std::move(slots_[slot].fn);
        free_slot(slot);
        fn();
    }
    running_ = false;
    arm();
}

int64_t EventTimers::clock_ms() const {
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
      codec_(c->codec() == net::CodecKind::protobuf ? codec::Codec::protobuf : codec::Codec::json) {
}

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
    session::EventClock clock(*hub_->timers());
    // While draining the hub closes the link at once (on_close runs inside open()).
    session::Session *s = hub_->open(link);
    link->session = s;
}

void ProtocolHandler::on_message(net::Connection &c, net::MessageKind,
                                 std::span<const uint8_t> payload) {
    auto *link = static_cast<ConnLink *>(c.user_data);
    if (!link || !link->session)
        return;
    session::EventClock clock(*hub_->timers());
    dispatcher_->on_frame(link->session,
                          std::string_view(reinterpret_cast<const char *>(payload.data()),
                                           payload.size()));
}

void ProtocolHandler::on_send_ready(net::Connection &c) {
    auto *link = static_cast<ConnLink *>(c.user_data);
    if (link && link->session) {
        session::EventClock clock(*hub_->timers());
        dispatcher_->on_drained(link->session);
    }
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
