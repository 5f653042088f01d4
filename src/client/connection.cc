#include "client/connection.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include "client/handshake.h"
#include "codec/payload.h"
#include "common/strings.h"

namespace glide::client {

namespace {

frame::Subprotocol subprotocol_for(codec::Codec c) {
    return c == codec::Codec::protobuf ? frame::Subprotocol::protobuf : frame::Subprotocol::json;
}

uint64_t seed() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_nsec) * 0x9E3779B97F4A7C15ull ^
           reinterpret_cast<uintptr_t>(&ts) ^ static_cast<uint64_t>(getpid());
}

} // namespace

// --- Connection ----------------------------------------------------------------------------------

Connection::Connection(event_base *base, ConnectionHandler *handler)
    : base_(base), handler_(handler), mask_state_(seed() | 1) {}

Connection::~Connection() {
    if (flush_)
        flush_->remove(*this);
}

Status Connection::connect(const ConnectOptions &opt) {
    endpoint_ = opt.endpoint;
    codec_ = opt.codec;
    flush_ = opt.flush;
    if (endpoint_.transport == Transport::ws)
        ws_decoder_ = std::make_unique<frame::FrameDecoder>(
            frame::FrameLimits{.max_message_size = opt.max_message_size, .from_server = true});
    else
        tcp_decoder_ = std::make_unique<frame::TcpDecoder>(
            frame::TcpLimits{.max_message_size = opt.max_message_size});

    int fd = ::socket(opt.address.ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return make_error("socket() failed (" + errno_text(errno) + ")");
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (opt.source) {
        // Leave the port to connect(): many connections may then share a source port toward
        // different destinations, and one source address serves ~28,000 connections.
#ifdef IP_BIND_ADDRESS_NO_PORT
        setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
#endif
        if (::bind(fd, opt.source->sa(), opt.source->len) != 0) {
            int err = errno;
            ::close(fd);
            return make_error("bind() to the source address failed (" + errno_text(err) + ")");
        }
    }
    bev_.reset(bufferevent_socket_new(base_, fd, BEV_OPT_CLOSE_ON_FREE));
    if (!bev_) {
        ::close(fd);
        return make_error("bufferevent_socket_new() failed");
    }
    bufferevent_setcb(bev_.get(), read_cb, nullptr, event_cb, this);
    state_ = State::connecting;
    if (bufferevent_socket_connect(bev_.get(), const_cast<sockaddr *>(opt.address.sa()),
                                   static_cast<int>(opt.address.len)) != 0) {
        int err = errno;
        bev_.reset();
        state_ = State::idle;
        return make_error("connect() failed (" + errno_text(err) + ")");
    }
    bufferevent_enable(bev_.get(), EV_READ | EV_WRITE);
    return Status::success();
}

size_t Connection::pending_output() const {
    return bev_ ? evbuffer_get_length(bufferevent_get_output(bev_.get())) : 0;
}

void Connection::set_reading(bool on) {
    if (!bev_)
        return;
    if (on)
        bufferevent_enable(bev_.get(), EV_READ);
    else
        bufferevent_disable(bev_.get(), EV_READ);
}

void Connection::read_cb(bufferevent *, void *self) {
    static_cast<Connection *>(self)->on_readable();
}

void Connection::write_cb(bufferevent *, void *self) {
    // The output is empty now: the end finish_after_flush waited for, or (flush queue) the
    // write event is no longer needed.
    auto *c = static_cast<Connection *>(self);
    if (c->finishing_after_flush_) {
        c->finish(std::move(c->close_info_));
        return;
    }
    c->writing_ = false;
    bufferevent_disable(c->bev_.get(), EV_WRITE);
}

void Connection::output_added() {
    if (flush_ && !writing_)
        flush_->push(*this);
}

void Connection::flush() {
    if (!bev_ || writing_)
        return;
    evbuffer *out = bufferevent_get_output(bev_.get());
    if (evbuffer_get_length(out) == 0)
        return;
    flush_->writes++;
    int n = evbuffer_write(out, bufferevent_getfd(bev_.get()));
    if (evbuffer_get_length(out) > 0 || n < 0) {
        // The socket is full (or failed): libevent writes the rest, or reports the error
        // through event_cb.
        flush_->blocked++;
        writing_ = true;
        bufferevent_enable(bev_.get(), EV_WRITE);
    }
}

void Connection::event_cb(bufferevent *, short what, void *self) {
    auto *c = static_cast<Connection *>(self);
    if (what & BEV_EVENT_CONNECTED) {
        c->on_connected();
        return;
    }
    CloseInfo info;
    info.connected = c->state_ == State::open || c->state_ == State::closing;
    if (what & BEV_EVENT_EOF) {
        info.reason = c->state_ == State::closing ? c->close_info_.reason
                                                  : "connection closed by the server";
        if (c->state_ == State::closing)
            info.code = c->close_info_.code;
    } else {
        int err = EVUTIL_SOCKET_ERROR();
        info.reason = (c->state_ == State::connecting ? "connect failed: " : "socket error: ") +
                      std::string(evutil_socket_error_to_string(err));
    }
    c->finish(std::move(info));
}

void Connection::on_connected() {
    if (flush_) {
        // From now on the flush queue writes; the write callback turns the write event off
        // again whenever it had to be used.
        bufferevent_setcb(bev_.get(), read_cb, write_cb, event_cb, this);
        if (pending_output() == 0) {
            writing_ = false;
            bufferevent_disable(bev_.get(), EV_WRITE);
        }
    }
    if (endpoint_.transport == Transport::tcp) {
        state_ = State::open;
        handler_->on_open(*this);
        return;
    }
    ws_key_ = make_websocket_key();
    std::string req = upgrade_request(endpoint_, ws_key_, subprotocol_for(codec_));
    bufferevent_write(bev_.get(), req.data(), req.size());
    output_added();
    state_ = State::upgrading;
}

void Connection::on_readable() {
    in_read_ = true;
    evbuffer *in = bufferevent_get_input(bev_.get());
    if (state_ == State::upgrading && !read_upgrade(in)) {
        in_read_ = false;
        if (finish_pending_)
            finish(std::move(close_info_));
        return;
    }
    if (state_ == State::open || state_ == State::closing) {
        if (endpoint_.transport == Transport::ws)
            read_ws(in);
        else
            read_tcp(in);
    }
    in_read_ = false;
    if (finish_pending_)
        finish(std::move(close_info_));
}

bool Connection::read_upgrade(evbuffer *in) {
    size_t len = evbuffer_get_length(in);
    const char *p = reinterpret_cast<const char *>(evbuffer_pullup(in, -1));
    UpgradeAnswer a = parse_upgrade_answer({p, len}, ws_key_, subprotocol_for(codec_));
    if (a.status == AnswerStatus::need_more)
        return false;
    if (a.status == AnswerStatus::error) {
        finish(CloseInfo{1006, a.error, false});
        return false;
    }
    evbuffer_drain(in, a.consumed);
    // A server that ignores the subprotocol speaks JSON (glide itself never answers one).
    if (a.subprotocol == frame::Subprotocol::none && codec_ == codec::Codec::protobuf) {
        finish(CloseInfo{1006, "the server did not accept subprotocol glide.protobuf", false});
        return false;
    }
    state_ = State::open;
    handler_->on_open(*this);
    return state_ == State::open || state_ == State::closing;
}

void Connection::read_ws(evbuffer *in) {
    size_t len = evbuffer_get_length(in);
    if (len == 0)
        return;
    uint8_t *data = evbuffer_pullup(in, -1);
    size_t off = 0;
    while (!finish_pending_ && state_ != State::closed) {
        frame::FrameEvent ev;
        frame::DecodeResult r = ws_decoder_->decode({data + off, len - off}, &ev);
        off += r.consumed;
        if (r.status == frame::DecodeStatus::need_more)
            break;
        switch (ev.type) {
        case frame::FrameEventType::text:
        case frame::FrameEventType::binary:
            if (state_ == State::open)
                handler_->on_message(*this, ev.text());
            break;
        case frame::FrameEventType::ping:
            send_ws_frame(frame::Opcode::pong, ev.text());
            break;
        case frame::FrameEventType::pong:
            break;
        case frame::FrameEventType::close: {
            CloseInfo info{ev.code, std::string(ev.text()), true};
            if (state_ == State::open) {
                // Echo the code (RFC 6455 §5.5.1), then end once it is written.
                uint8_t body[2] = {static_cast<uint8_t>(ev.code >> 8),
                                   static_cast<uint8_t>(ev.code)};
                send_ws_frame(frame::Opcode::close,
                              ev.code == frame::kCloseNoStatus
                                  ? std::string_view()
                                  : std::string_view(reinterpret_cast<char *>(body), 2));
            }
            state_ = State::closing;
            finish_after_flush(std::move(info));
            break;
        }
        case frame::FrameEventType::error: {
            uint8_t close[frame::kMaxCloseFrame];
            size_t n = frame::encode_close_frame(close, ev.code, ev.reason);
            // encode_close_frame writes an unmasked frame; ours must be masked.
            send_ws_frame(frame::Opcode::close,
                          std::string_view(reinterpret_cast<char *>(close) + 2, n - 2));
            state_ = State::closing;
            finish_after_flush(CloseInfo{ev.code, "server frame error: " + std::string(ev.reason),
                                         true});
            break;
        }
        }
    }
    evbuffer_drain(in, off);
}

void Connection::read_tcp(evbuffer *in) {
    size_t len = evbuffer_get_length(in);
    if (len == 0)
        return;
    const uint8_t *data = evbuffer_pullup(in, -1);
    size_t off = 0;
    while (!finish_pending_ && state_ == State::open) {
        frame::TcpEvent ev;
        frame::DecodeResult r = tcp_decoder_->decode({data + off, len - off}, &ev);
        off += r.consumed;
        if (r.status == frame::DecodeStatus::need_more)
            break;
        if (ev.type == frame::TcpEventType::error) {
            finish_pending_ = true;
            close_info_ = CloseInfo{1006, "server framing error: " + std::string(ev.reason), true};
            break;
        }
        handler_->on_message(
            *this, {reinterpret_cast<const char *>(ev.payload.data()), ev.payload.size()});
    }
    evbuffer_drain(in, off);
}

void Connection::send_ws_frame(frame::Opcode op, std::string_view payload) {
    // xorshift64: masking keys need not be secret here, only vary (RFC 6455 §10.3 is about
    // browsers' scripts; these tools are not one).
    mask_state_ ^= mask_state_ << 13;
    mask_state_ ^= mask_state_ >> 7;
    mask_state_ ^= mask_state_ << 17;
    uint8_t key[4];
    std::memcpy(key, &mask_state_, 4);
    uint8_t hdr[frame::kMaxMaskedFrameHeader];
    size_t h = frame::encode_masked_frame_header(hdr, op, payload.size(), key);
    evbuffer *out = bufferevent_get_output(bev_.get());
    evbuffer_iovec v;
    if (evbuffer_reserve_space(out, static_cast<ev_ssize_t>(h + payload.size()), &v, 1) < 1)
        return;
    auto *dst = static_cast<uint8_t *>(v.iov_base);
    std::memcpy(dst, hdr, h);
    if (!payload.empty()) {
        std::memcpy(dst + h, payload.data(), payload.size());
        frame::unmask(dst + h, payload.size(), key, 0);
    }
    v.iov_len = h + payload.size();
    evbuffer_commit_space(out, &v, 1);
    output_added();
}

void Connection::send_payload(std::string_view payload) {
    if (state_ != State::open)
        return;
    if (endpoint_.transport == Transport::ws) {
        send_ws_frame(codec_ == codec::Codec::json ? frame::Opcode::text : frame::Opcode::binary,
                      payload);
        return;
    }
    uint8_t hdr[frame::kTcpHeaderSize];
    frame::encode_tcp_header(hdr, static_cast<uint32_t>(payload.size()));
    evbuffer *out = bufferevent_get_output(bev_.get());
    evbuffer_add(out, hdr, sizeof hdr);
    evbuffer_add(out, payload.data(), payload.size());
    output_added();
}

bool Connection::send(const codec::Envelope &e) {
    scratch_.clear();
    if (!codec::encode(codec_, e, &scratch_))
        return false;
    send_payload(scratch_);
    return true;
}

void Connection::close(uint16_t code, std::string_view reason) {
    if (state_ == State::closed || state_ == State::closing)
        return;
    if (state_ != State::open || endpoint_.transport == Transport::tcp) {
        const bool was_open = state_ == State::open;
        state_ = State::closing;
        finish_after_flush(CloseInfo{code, "closed by the client", was_open});
        return;
    }
    uint8_t close[frame::kMaxCloseFrame];
    size_t n = frame::encode_close_frame(close, code, reason);
    send_ws_frame(frame::Opcode::close,
                  std::string_view(reinterpret_cast<char *>(close) + 2, n - 2));
    state_ = State::closing;
    close_info_ = CloseInfo{code, "closed by the client", true};
    // The server answers with its close frame and ends the TCP connection: read_ws or
    // event_cb (EOF) finish then.
}

void Connection::finish_after_flush(CloseInfo info) {
    if (!bev_ || pending_output() == 0) {
        if (in_read_) {
            finish_pending_ = true;
            close_info_ = std::move(info);
        } else {
            finish(std::move(info));
        }
        return;
    }
    close_info_ = std::move(info);
    finishing_after_flush_ = true;
    bufferevent_disable(bev_.get(), EV_READ);
    bufferevent_setcb(bev_.get(), nullptr, write_cb, event_cb, this);
    writing_ = true;
    bufferevent_enable(bev_.get(), EV_WRITE);
}

void Connection::finish(CloseInfo info) {
    if (state_ == State::closed)
        return;
    if (in_read_) {
        finish_pending_ = true;
        close_info_ = std::move(info);
        return;
    }
    finish_pending_ = false;
    state_ = State::closed;
    bev_.reset();
    handler_->on_close(*this, info);
}

} // namespace glide::client
