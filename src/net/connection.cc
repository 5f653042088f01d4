#include "net/connection.h"

#include <sys/socket.h>
#include <unistd.h>

namespace glide::net {

Connection::Connection(event_base *base, int fd, ConnectionOwner &owner, uint64_t linger_ms)
    : owner_(owner), peer_(peer_address(fd)), linger_ms_(linger_ms) {
    bev_.reset(bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE));
    linger_.reset(evtimer_new(base, on_linger, this));
    if (!bev_ || !linger_) {
        if (!bev_)
            ::close(fd);
        bev_.reset();
        state_ = State::closed;
        return;
    }
    bufferevent_setcb(bev_.get(), on_read, on_write, on_event, this);
    bufferevent_enable(bev_.get(), EV_READ | EV_WRITE);
}

Connection::~Connection() = default;

void Connection::close_politely() {
    if (state_ != State::open)
        return;
    state_ = State::closing;
    bufferevent_disable(bev_.get(), EV_READ);
    // The linger timer bounds the whole polite close: a peer that neither reads what is queued
    // nor closes cannot hold the socket longer than this.
    timeval tv = ms_to_tv(linger_ms_);
    evtimer_add(linger_.get(), &tv);
    if (evbuffer_get_length(bufferevent_get_output(bev_.get())) == 0)
        shut_write();
}

void Connection::abort() {
    if (state_ == State::closed)
        return;
    finish();
}

void Connection::shut_write() {
    state_ = State::lingering;
    shutdown(bufferevent_getfd(bev_.get()), SHUT_WR);
    // Read again only to see the peer's EOF; what it still sends is discarded.
    bufferevent_enable(bev_.get(), EV_READ);
}

void Connection::finish() {
    state_ = State::closed;
    evtimer_del(linger_.get());
    bufferevent_disable(bev_.get(), EV_READ | EV_WRITE);
    bev_.reset(); // closes the socket
    owner_.connection_closed(*this);
}

void Connection::on_read(bufferevent *bev, void *self) {
    auto *c = static_cast<Connection *>(self);
    evbuffer *in = bufferevent_get_input(bev);
    size_t n = evbuffer_get_length(in);
    c->bytes_in += n;
    // No framing layer consumes input on this connection: discard it. A lingering connection
    // reads only to notice EOF.
    evbuffer_drain(in, n);
    if (c->state_ == State::open)
        c->close_politely();
}

void Connection::on_write(bufferevent *, void *self) {
    auto *c = static_cast<Connection *>(self);
    if (c->state_ == State::closing)
        c->shut_write();
}

void Connection::on_event(bufferevent *, short what, void *self) {
    auto *c = static_cast<Connection *>(self);
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
        c->finish();
}

void Connection::on_linger(evutil_socket_t, short, void *self) {
    static_cast<Connection *>(self)->finish();
}

} // namespace glide::net
