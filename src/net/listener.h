// A listening socket on the host's event_base. Accepted sockets are handed to a callback
// already non-blocking and close-on-exec.
//
// Out of descriptors (EMFILE, ENFILE): each listener keeps one reserve descriptor, as haproxy
// and libev users do. When accept() fails for want of one, the reserve is closed, the waiting
// connection accepted and closed at once (the client sees the connection end instead of
// hanging in the backlog), the reserve opened again, until the backlog is empty. The state is
// logged once when it starts and once when a connection is accepted again, with the count of
// connections refused meanwhile. Without a reserve (it could not be reopened), accepting
// pauses for half a second, as nginx does.
#pragma once

#include <functional>
#include <string>

#include "common/log.h"
#include "common/result.h"
#include "net/address.h"
#include "net/libevent.h"

namespace glide::net {

struct ListenOptions {
    int backlog = 511; // the listen(2) queue
    // SO_REUSEPORT: several processes (glided's workers) bind the same address, each with a
    // socket of its own, and the kernel spreads new connections among them.
    bool reuse_port = false;
};

// Creates a listening socket (non-blocking, close-on-exec; SO_REUSEADDR; IPv6 sockets are
// v6-only), binds and listens. Errors in nginx's words:
//   bind() to 0.0.0.0:8083 failed (98: Address already in use)
Result<int> listen_socket(const Address &addr, const ListenOptions &opts);

class Listener {
public:
    using AcceptFn = void (*)(void *arg, Listener &l, int fd);

    // listen_socket() then adopt(): a listener on a socket of its own.
    static Result<std::unique_ptr<Listener>> open(event_base *base, const Address &addr,
                                                  const ListenOptions &opts, AcceptFn fn,
                                                  void *arg, Logger *log);
    // Accepts on `fd`, a socket already listening (made by listen_socket(), perhaps in another
    // process that handed it down by fork). The listener owns fd from the call on: it is
    // closed on failure too. Other processes may accept on their copies of the same socket.
    static Result<std::unique_ptr<Listener>> adopt(event_base *base, int fd, AcceptFn fn,
                                                   void *arg, Logger *log);
    ~Listener();

    const Address &bound() const { return bound_; }
    // Index of the configuration entry this listener serves (set by the owner).
    size_t index = 0;

private:
    Listener() = default;
    static void on_accept(evconnlistener *, evutil_socket_t fd, sockaddr *, int, void *self);
    static void on_error(evconnlistener *, void *self);
    static void on_resume(evutil_socket_t, short, void *self);
    // Accepts and closes what waits in the backlog, through the reserve descriptor.
    void refuse_waiting();

    ListenerPtr ev_;
    EventPtr resume_;
    Address bound_;
    AcceptFn fn_ = nullptr;
    void *arg_ = nullptr;
    Logger *log_ = nullptr;
    int reserve_ = -1;        // /dev/null, closed to make room for one accept() when out of fds
    bool refusing_ = false;   // out of descriptors since the last accepted connection
    uint64_t refused_ = 0;    // connections refused while refusing_
};

} // namespace glide::net
