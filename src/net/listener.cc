#include "net/listener.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "common/strings.h"

namespace glide::net {

Result<std::unique_ptr<Listener>> Listener::open(event_base *base, const Address &addr,
                                                 int backlog, AcceptFn fn, void *arg,
                                                 Logger *log) {
    auto fail = [&](const char *call, int fd) -> Error {
        int err = errno;
        if (fd >= 0)
            ::close(fd);
        return make_error(std::string(call) + "() to " + addr.text() + " failed (" +
                          errno_text(err) + ")");
    };
    int fd = socket(addr.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return fail("socket", -1);
    int one = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0)
        return fail("setsockopt(SO_REUSEADDR)", fd);
    if (addr.family() == AF_INET6 &&
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) != 0)
        return fail("setsockopt(IPV6_V6ONLY)", fd);
    if (bind(fd, addr.sa(), addr.len) != 0)
        return fail("bind", fd);
    if (::listen(fd, backlog) != 0)
        return fail("listen", fd);

    std::unique_ptr<Listener> l(new Listener);
    l->fn_ = fn;
    l->arg_ = arg;
    l->log_ = log;
    l->bound_ = local_address(fd);
    // Backlog 0: the socket is already listening. The listener owns the fd from here on.
    l->ev_.reset(evconnlistener_new(base, on_accept, l.get(),
                                    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, fd));
    if (!l->ev_) {
        ::close(fd);
        return make_error("evconnlistener_new() for " + addr.text() + " failed");
    }
    evconnlistener_set_error_cb(l->ev_.get(), on_error);
    l->resume_.reset(evtimer_new(base, on_resume, l.get()));
    if (!l->resume_)
        return make_error("evtimer_new() failed");
    return l;
}

Listener::~Listener() = default;

void Listener::on_accept(evconnlistener *, evutil_socket_t fd, sockaddr *, int, void *self) {
    auto *l = static_cast<Listener *>(self);
    l->fn_(l->arg_, *l, fd);
}

// accept() failed. Out of descriptors (EMFILE/ENFILE) would make the loop spin on a readable
// listening socket, so accepting pauses for half a second, as nginx does.
void Listener::on_error(evconnlistener *, void *self) {
    auto *l = static_cast<Listener *>(self);
    int err = EVUTIL_SOCKET_ERROR();
    if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
        evconnlistener_disable(l->ev_.get());
        timeval tv = ms_to_tv(500);
        evtimer_add(l->resume_.get(), &tv);
    }
    // Logged last: the log callback may drain the module, which frees this listener.
    if (l->log_)
        l->log_->log(GLIDE_LOG_ERROR, "accept() on %s failed (%s)", l->bound_.text().c_str(),
                     errno_text(err).c_str());
}

void Listener::on_resume(evutil_socket_t, short, void *self) {
    auto *l = static_cast<Listener *>(self);
    evconnlistener_enable(l->ev_.get());
}

} // namespace glide::net
