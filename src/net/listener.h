// A listening socket on the host's event_base. Accepted sockets are handed to a callback
// already non-blocking and close-on-exec.
#pragma once

#include <functional>
#include <string>

#include "common/log.h"
#include "common/result.h"
#include "net/address.h"
#include "net/libevent.h"

namespace glide::net {

class Listener {
public:
    using AcceptFn = void (*)(void *arg, Listener &l, int fd);

    // Creates the socket (SO_REUSEADDR; IPv6 sockets are v6-only), binds and listens. Errors in
    // nginx's words: bind() to 0.0.0.0:8083 failed (98: Address already in use).
    static Result<std::unique_ptr<Listener>> open(event_base *base, const Address &addr,
                                                  int backlog, AcceptFn fn, void *arg,
                                                  Logger *log);
    ~Listener();

    const Address &bound() const { return bound_; }
    // Index of the configuration entry this listener serves (set by the owner).
    size_t index = 0;

private:
    Listener() = default;
    static void on_accept(evconnlistener *, evutil_socket_t fd, sockaddr *, int, void *self);
    static void on_error(evconnlistener *, void *self);
    static void on_resume(evutil_socket_t, short, void *self);

    ListenerPtr ev_;
    EventPtr resume_;
    Address bound_;
    AcceptFn fn_ = nullptr;
    void *arg_ = nullptr;
    Logger *log_ = nullptr;
};

} // namespace glide::net
