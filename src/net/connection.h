// One accepted connection and its lifecycle:
//
//   open ──close_politely()──▶ closing ──(output flushed)──▶ write side shut ──▶ lingering
//     │                          │                                               │ peer EOF,
//     └──────── abort() / error ─┴──────────────▶ closed ◀──────────────────────┘ error or
//                                                                                  linger timer
//
// A connection is never freed inside its own callbacks: when it reaches `closed` it tells its
// owner, which queues it and frees it later in the loop (ConnectionOwner::connection_closed).
#pragma once

#include <cstdint>
#include <string>

#include "net/address.h"
#include "net/libevent.h"

namespace glide::net {

class Connection;

class ConnectionOwner {
public:
    // The connection is closed (socket gone); free it later, not inside this call.
    virtual void connection_closed(Connection &c) = 0;

protected:
    ~ConnectionOwner() = default;
};

class Connection {
public:
    enum class State { open, closing, lingering, closed };

    Connection(event_base *base, int fd, ConnectionOwner &owner, uint64_t linger_ms);
    ~Connection();
    Connection(const Connection &) = delete;
    Connection &operator=(const Connection &) = delete;

    // False when libevent could not set the connection up (then it is already closed).
    bool ok() const { return bev_ != nullptr; }
    State state() const { return state_; }
    const Address &peer() const { return peer_; }

    // Stops reading, sends what is queued, shuts the write side and waits (bounded by the
    // linger time) for the peer to close.
    void close_politely();
    // Drops the socket now.
    void abort();

    uint64_t bytes_in = 0;
    uint64_t bytes_out = 0;

    // The owner's intrusive list (O(1) removal without allocation).
    Connection *prev = nullptr;
    Connection *next = nullptr;

private:
    static void on_read(bufferevent *, void *self);
    static void on_write(bufferevent *, void *self);
    static void on_event(bufferevent *, short what, void *self);
    static void on_linger(evutil_socket_t, short, void *self);
    void shut_write();
    void finish();

    BuffereventPtr bev_;
    EventPtr linger_;
    ConnectionOwner &owner_;
    Address peer_;
    uint64_t linger_ms_;
    State state_ = State::open;
};

} // namespace glide::net
