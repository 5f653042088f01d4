// The glue between the transport (net::Connection on libevent) and the I/O-free protocol core:
// a session::Link over a connection, a session::TimerService over the module's event_base, and
// the net::MessageHandler that routes transport events: opens and closes into the hub
// (hub::Hub), frames and drained reports into dispatch (dispatch::Dispatcher).
//
// Lifetimes. net::Connection runs on_close synchronously (also from inside Connection::close),
// while session::Link promises the hub that the end is reported later, never from inside
// close(). So on_close only detaches the link from its connection and queues it; the module's
// reaper (Module::on_reap) calls reap(), which reports Hub::on_closed, runs Hub::reap and only
// then frees the links, outside every callback.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "dispatch/dispatch.h"
#include "hub/hub.h"
#include "net/connection.h"
#include "net/libevent.h"
#include "session/link.h"
#include "session/timer.h"

namespace glide {

// One-shot timers on one libevent timer event. Pending timers live in a binary min-heap of
// {due, sequence, slot} ordered by due time and then by schedule order; each slot holds the
// callback and the heap position, and is reused through a free list. A handle is the slot's
// index and a generation that changes whenever the slot is freed, so a stale handle (fired or
// cancelled) never cancels the slot's next timer. The one event is armed for the earliest due
// time; a pending timer costs no heap allocation of its own (the callback's captures stay in
// std::function's inline storage when they fit: [this] and [this, id] do).
//
// Timers of a second or more are rounded up to a kCoarseMs boundary, so that thousands of idle
// sessions' heartbeat timers share wake-ups; shorter timers keep millisecond resolution.
class EventTimers final : public session::TimerService {
public:
    static constexpr uint64_t kCoarseFromMs = 1000;
    static constexpr int64_t kCoarseMs = 16;

    explicit EventTimers(event_base *base);
    ~EventTimers() override;
    EventTimers(const EventTimers &) = delete;
    EventTimers &operator=(const EventTimers &) = delete;

    Handle schedule(uint64_t ms, std::function<void()> fn) override;
    void cancel(Handle h) override;
    int64_t clock_ms() const override;
    int64_t wall_ms() const override;
    size_t pending() const { return heap_.size(); }

private:
    struct Entry {
        int64_t due;
        uint64_t seq; // schedule order: equal due times run in it
        uint32_t slot;
    };
    struct Slot {
        std::function<void()> fn;
        uint32_t gen = 0;
        uint32_t link = 0; // pending: position in heap_; free: next free slot + 1 (0: none)
    };
    static bool before(const Entry &a, const Entry &b) {
        return a.due < b.due || (a.due == b.due && a.seq < b.seq);
    }
    void place(size_t pos, const Entry &e);
    void sift_up(size_t pos, Entry e);
    void sift_down(size_t pos, Entry e);
    void remove_at(size_t pos);
    void free_slot(uint32_t slot);
    void arm();
    static void on_event(evutil_socket_t, short, void *arg);
    void run();

    event_base *base_;
    event *ev_ = nullptr;
    bool running_ = false;   // inside run(): it arms the event when it is done
    int64_t armed_due_ = -1; // due time the event is armed for, -1: not armed
    uint64_t seq_ = 0;
    uint32_t free_head_ = 0; // first free slot + 1 (0: none)
    std::vector<Entry> heap_;
    std::vector<Slot> slots_;
};

// A session::Link over a net::Connection. Detached (conn null) once the transport reported the
// end: sends are refused from then on.
class ConnLink final : public session::Link {
public:
    explicit ConnLink(net::Connection *c);

    codec::Codec codec() const override { return codec_; }
    session::SendResult send(session::Encoded &msg) override;
    size_t buffered() const override { return conn_ ? conn_->queued() : 0; }
    void close(uint16_t code, std::string_view reason) override;
    void pause_reading(bool paused) override;
    std::string peer() const override { return conn_ ? conn_->peer().text() : std::string(); }
    std::string source() const override { return conn_ ? conn_->peer().source() : std::string(); }

    void detach() { conn_ = nullptr; }
    net::Connection *conn() const { return conn_; }
    session::Session *session = nullptr;

private:
    net::Connection *conn_;
    codec::Codec codec_;
};

// Routes a module's connections into its hub and their frames into dispatch.
class ProtocolHandler final : public net::MessageHandler {
public:
    // `wake` asks the module to run its reaper soon (it calls reap()).
    ProtocolHandler(hub::Hub *hub, dispatch::Dispatcher *dispatcher, std::function<void()> wake)
        : hub_(hub), dispatcher_(dispatcher), wake_(std::move(wake)) {}
    ~ProtocolHandler();

    void on_open(net::Connection &c) override;
    void on_message(net::Connection &c, net::MessageKind kind,
                    std::span<const uint8_t> payload) override;
    void on_send_ready(net::Connection &c) override;
    void on_close(net::Connection &c, uint16_t code) override;

    // Reports ended connections to the hub, reaps the hub, frees their links. Never call it
    // from inside a transport or hub callback.
    void reap();
    // Frees what is left (module destruction, after the hub is gone).
    void clear();

private:
    hub::Hub *hub_;
    dispatch::Dispatcher *dispatcher_;
    std::function<void()> wake_;
    std::vector<ConnLink *> ended_;
};

} // namespace glide
