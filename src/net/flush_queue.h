// Output written once per loop turn, for the module's connections (net::Connection) and the
// client library's (client::Connection) alike: a send only appends to the connection's output
// and queues the connection here; one event, made active by the first push of a turn, runs
// after that turn's I/O callbacks and calls each queued connection's flush() once. A thousand
// connections that each send a message or two per turn cost a writev each and no epoll_ctl
// (a connection adds its write event only when the socket would block).
//
// The event keeps the default priority, that of the I/O events: made active from their
// callbacks, it joins the end of the same active queue and runs after the I/O callbacks of
// this loop turn. (At a lower priority a busy loop could starve it.)
//
// Conn provides a `ListHook<Conn>` member (Hook) and a `void flush()` this template may call
// (a friend); flush() may push connections again, which are written in the same run. A
// connection must leave the queue (remove) before it is freed. Loop thread only.
#pragma once

#include <event2/event.h>

#include <cstdint>

#include "common/intrusive_list.h"
#include "net/libevent.h"

namespace glide::net {

template <typename Conn, ListHook<Conn> Conn::*Hook>
class FlushList {
public:
    // ok() is false when the event could not be created.
    explicit FlushList(event_base *base) : ev_(event_new(base, -1, 0, on_flush, this)) {}
    FlushList(const FlushList &) = delete;
    FlushList &operator=(const FlushList &) = delete;
    bool ok() const { return ev_ != nullptr; }

    // Turns that ran; writev calls made by the connections' flush(); connections whose socket
    // would block, so that their write event took over (its writes are not counted).
    uint64_t runs = 0;
    uint64_t writes = 0;
    uint64_t blocked = 0;

    // Queues `c` for this turn's run (no effect when it is queued already).
    void push(Conn &c) {
        if ((c.*Hook).linked())
            return;
        if (list_.empty() && !running_)
            event_active(ev_.get(), 0, 0);
        list_.push_back(c);
    }
    // Takes `c` off the queue (no effect when it is not queued).
    void remove(Conn &c) {
        if ((c.*Hook).linked())
            list_.remove(c);
    }

private:
    static void on_flush(evutil_socket_t, short, void *self) {
        auto *q = static_cast<FlushList *>(self);
        q->runs++;
        q->running_ = true;
        while (Conn *c = q->list_.pop_front())
            c->flush();
        q->running_ = false;
    }

    EventPtr ev_;
    IntrusiveList<Conn, Hook> list_;
    bool running_ = false;
};

} // namespace glide::net
