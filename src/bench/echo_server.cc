// glide-bench --baseline: a minimal WebSocket echo server on libevent, built from the module's
// own handshake parser and frame decoder, that the same client code drives with the same frame
// sizes. What glide's figures add to it is the cost of the glide protocol itself.
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <csignal>
#include <cstring>
#include <memory>

#include "bench/bench.h"
#include "frame/ws_frame.h"
#include "frame/ws_handshake.h"
#include "net/libevent.h"

namespace glide::bench {

namespace {

struct EchoConn {
    net::BuffereventPtr bev;
    bool upgraded = false;
    frame::FrameDecoder decoder{frame::FrameLimits{.max_message_size = 1 << 20}};
};

void on_event(bufferevent *, short what, void *arg) {
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
        delete static_cast<EchoConn *>(arg);
}

void on_read(bufferevent *bev, void *arg) {
    auto *c = static_cast<EchoConn *>(arg);
    evbuffer *in = bufferevent_get_input(bev);
    evbuffer *out = bufferevent_get_output(bev);
    size_t len = evbuffer_get_length(in);
    uint8_t *data = evbuffer_pullup(in, -1);
    size_t off = 0;
    if (!c->upgraded) {
        frame::Header scratch[frame::kDefaultMaxHeaders];
        frame::HandshakeRequest req;
        frame::HandshakeConfig cfg{.path = "/ws"}; // the bench clients' default path
        frame::HandshakeResult r = frame::parse_handshake(reinterpret_cast<char *>(data), len,
                                                          cfg, &req, scratch);
        if (r.status == frame::HandshakeStatus::need_more)
            return;
        char answer[frame::kMaxUpgradeResponse];
        if (r.status == frame::HandshakeStatus::error) {
            size_t n = frame::write_error_response(r, answer, sizeof answer);
            bufferevent_write(bev, answer, n);
            bufferevent_disable(bev, EV_READ);
            return;
        }
        size_t n = frame::write_upgrade_response(req, answer, sizeof answer);
        bufferevent_write(bev, answer, n);
        c->upgraded = true;
        off = r.consumed;
    }
    for (;;) {
        frame::FrameEvent ev;
        frame::DecodeResult r = c->decoder.decode({data + off, len - off}, &ev);
        off += r.consumed;
        if (r.status == frame::DecodeStatus::need_more)
            break;
        if (ev.type == frame::FrameEventType::text || ev.type == frame::FrameEventType::binary) {
            uint8_t hdr[frame::kMaxFrameHeader];
            size_t h = frame::encode_frame_header(
                hdr, ev.type == frame::FrameEventType::text ? frame::Opcode::text
                                                            : frame::Opcode::binary,
                ev.payload.size());
            evbuffer_add(out, hdr, h);
            evbuffer_add(out, ev.payload.data(), ev.payload.size());
        } else if (ev.type == frame::FrameEventType::ping) {
            uint8_t f[frame::kMaxFrameHeader + frame::kMaxControlPayload];
            evbuffer_add(out, f, frame::encode_frame(f, sizeof f, frame::Opcode::pong, ev.payload));
        } else if (ev.type == frame::FrameEventType::close ||
                   ev.type == frame::FrameEventType::error) {
            uint8_t f[frame::kMaxCloseFrame];
            evbuffer_add(out, f, frame::encode_close_frame(f, ev.code, {}));
            break;
        }
    }
    evbuffer_drain(in, off);
}

void on_accept(evconnlistener *, evutil_socket_t fd, sockaddr *, int, void *arg) {
    auto *base = static_cast<event_base *>(arg);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    auto *c = new EchoConn;
    c->bev.reset(bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE));
    bufferevent_setcb(c->bev.get(), on_read, nullptr, on_event, c);
    bufferevent_enable(c->bev.get(), EV_READ | EV_WRITE);
}

void on_term(evutil_socket_t, short, void *arg) {
    event_base_loopbreak(static_cast<event_base *>(arg));
}

} // namespace

int run_echo_server(int fd) {
    event_base *base = event_base_new();
    if (!base)
        return 1;
    {
        net::ListenerPtr l(evconnlistener_new(base, on_accept, base, LEV_OPT_CLOSE_ON_FREE, 0, fd));
        net::EventPtr term(evsignal_new(base, SIGTERM, on_term, base));
        event_add(term.get(), nullptr);
        event_base_dispatch(base);
    }
    event_base_free(base);
    return 0;
}

} // namespace glide::bench
