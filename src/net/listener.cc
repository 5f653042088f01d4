#include "net/listener.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "common/strings.h"

namespace glide::net {

static int open_reserve() { return ::open("/dev/null", O_RDONLY | O_CLOEXEC); }

Result<int> listen_socket(const Address &addr, const ListenOptions &opts) {
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
    if (opts.reuse_port && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0)
        return fail("setsockopt(SO_REUSEPORT)", fd);
    if (addr.family() == AF_INET6 &&
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) != 0)
        return fail("setsockopt(IPV6_V6ONLY)", fd);
    if (bind(fd, addr.sa(), addr.len) != 0)
        return fail("bind", fd);
    if (::listen(fd, opts.backlog) != 0)
        return fail("listen", fd);
    return fd;
}

Result<std::unique_ptr<Listener>> Listener::open(event_base *base, const Address &addr,
                                                 const ListenOptions &opts, AcceptFn fn,
                                                 void *arg, Logger *log) {
    auto fd = listen_socket(addr, opts);
    if (!fd)
        return make_error(fd.error());
    return adopt(base, *fd, fn, arg, log);
}

Result<std::unique_ptr<Listener>> Listener::adopt(event_base *base, int fd, AcceptFn fn,
                                                  void *arg, Logger *log) {
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
        return make_error("evconnlistener_new() for " + l->bound_.text() + " failed");
    }
    evconnlistener_set_error_cb(l->ev_.get(), on_error);
    l->resume_.reset(evtimer_new(base, on_resume, l.get()));
    if (!l->resume_)
        return make_error("evtimer_new() failed");
    l->reserve_ = open_reserve();
    if (l->reserve_ < 0)
        return make_error("open() \"/dev/null\" for the reserve descriptor failed (" +
                          errno_text(errno) + ")");
    return l;
}

Listener::~Listener() {
    if (reserve_ >= 0)
        ::close(reserve_);
}

void Listener::on_accept(evconnlistener *, evutil_socket_t fd, sockaddr *, int, void *self) {
    auto *l = static_cast<Listener *>(self);
    if (!l->refusing_) {
        l->fn_(l->arg_, *l, fd);
        return;
    }
    // Logged after the hand-over, from copies: the owner's accept or the log callback may
    // drain the module, which frees this listener (the logger is the owner's and stays).
    l->refusing_ = false;
    Logger *log = l->log_;
    const std::string where = l->bound_.text();
    const unsigned long long refused = l->refused_;
    l->fn_(l->arg_, *l, fd);
    if (log)
        log->log(GLIDE_LOG_NOTICE,
                 "accepting on %s again: %llu connection(s) were refused while out of file "
                 "descriptors",
                 where.c_str(), refused);
}

void Listener::refuse_waiting() {
    const int lfd = evconnlistener_get_fd(ev_.get());
    while (reserve_ >= 0) {
        ::close(reserve_);
        int fd = ::accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
        int err = errno;
        if (fd >= 0) {
            ::close(fd);
            refused_++;
        }
        reserve_ = open_reserve();
        if (fd < 0 && err != EINTR)
            return; // EAGAIN: the backlog is empty (or another failure: left to the next try)
    }
}

// accept() failed. Out of descriptors the listening socket stays readable, so the waiting
// connections are refused through the reserve (see listener.h); without a reserve, or short
// of memory, accepting pauses for half a second, as nginx does.
void Listener::on_error(evconnlistener *, void *self) {
    auto *l = static_cast<Listener *>(self);
    int err = EVUTIL_SOCKET_ERROR();
    const bool no_fd = err == EMFILE || err == ENFILE;
    const bool starts = no_fd && !l->refusing_;
    if (starts) {
        l->refusing_ = true;
        l->refused_ = 0;
    }
    if (no_fd && l->reserve_ >= 0)
        l->refuse_waiting();
    if ((no_fd && l->reserve_ < 0) || err == ENOBUFS || err == ENOMEM) {
        evconnlistener_disable(l->ev_.get());
        timeval tv = ms_to_tv(500);
        evtimer_add(l->resume_.get(), &tv);
    }
    // Logged last: the log callback may drain the module, which frees this listener. Out of
    // descriptors only once, when it starts.
    if (l->log_ && starts)
        l->log_->log(GLIDE_LOG_ERROR,
                     "accept() on %s failed (%s): refusing new connections until file "
                     "descriptors are free",
                     l->bound_.text().c_str(), errno_text(err).c_str());
    else if (l->log_ && !no_fd)
        l->log_->log(GLIDE_LOG_ERROR, "accept() on %s failed (%s)", l->bound_.text().c_str(),
                     errno_text(err).c_str());
}

void Listener::on_resume(evutil_socket_t, short, void *self) {
    auto *l = static_cast<Listener *>(self);
    evconnlistener_enable(l->ev_.get());
}

} // namespace glide::net
