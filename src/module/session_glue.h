// The glue between the transport (net::Connection on libevent) and the I/O-free protocol core
// (hub::Hub): a session::Link over a connection, a session::TimerService over the module's
// event_base, and the net::MessageHandler that routes transport events into the hub.
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
#include <unordered_map>
#include <vector>

#include "hub/hub.h"
#include "net/connection.h"
#include "net/libevent.h"
#include "session/link.h"
#include "session/timer.h"

namespace glide {

// One-shot timers as libevent timers, one event per timer.
class EventTimers final : public session::TimerService {
public:
    explicit EventTimers(event_base *base) : base_(base) {}
    ~EventTimers() override;
    EventTimers(const EventTimers &) = delete;
    EventTimers &operator=(const EventTimers &) = delete;

    Handle schedule(uint64_t ms, std::function<void()> fn) override;
    void cancel(Handle h) override;
    int64_t now_ms() const override;
    int64_t wall_ms() const override;
    size_t pending() const { return timers_.size(); }

private:
    struct Timer {
        EventTimers *owner;
        Handle h;
        event *ev = nullptr;
        std::function<void()> fn;
    };
    static void on_timer(evutil_socket_t, short, void *arg);

    event_base *base_;
    Handle next_ = 1;
    std::unordered_map<Handle, std::unique_ptr<Timer>> timers_;
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
    std::string_view peer() const override { return peer_; }

    void detach() { conn_ = nullptr; }
    net::Connection *conn() const { return conn_; }
    session::Session *session = nullptr;

private:
    net::Connection *conn_;
    codec::Codec codec_;
    std::string peer_;
};

// Routes a module's connections into its hub.
class ProtocolHandler final : public net::MessageHandler {
public:
    // `wake` asks the module to run its reaper soon (it calls reap()).
    ProtocolHandler(hub::Hub *hub, std::function<void()> wake)
        : hub_(hub), wake_(std::move(wake)) {}
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
    std::function<void()> wake_;
    std::vector<ConnLink *> ended_;
};

} // namespace glide
