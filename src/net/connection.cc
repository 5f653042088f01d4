#include "net/connection.h"

#include <event2/bufferevent_ssl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>

#include <algorithm>
#include <array>
#include <cstdarg>
#include <cstdio>
#include <cstring>

#include "frame/ws_handshake.h"
#include "net/tls.h"

namespace glide::net {

namespace {

// The most origins glide_allowed_origins accepts (its arity).
constexpr size_t kMaxOrigins = 64;

void release_shared(const void *, size_t, void *holder) {
    delete static_cast<std::shared_ptr<const std::string> *>(holder);
}

// The close code reported for a TCP framing error (TcpDecoder's documented reasons).
uint16_t tcp_error_code(std::string_view reason) {
    if (reason == "message too big")
        return frame::kCloseTooBig;
    if (reason == "out of memory")
        return frame::kCloseInternalError;
    return frame::kCloseProtocolError;
}

} // namespace

// --- the flush queue ------------------------------------------------------------------------

FlushQueue::FlushQueue(event_base *base)
    : FlushList(base), read_buf_(new (std::nothrow) uint8_t[kReadBuffer]) {}

// --- a connection ---------------------------------------------------------------------------

ConnectionHome::ConnectionHome(event_base *b, ConnectionOwner &o) : base(b), owner(o), flush(b) {}

Connection::Connection(ConnectionHome &home, int fd, MessageHandler &handler,
                       std::shared_ptr<const ConnectionSettings> settings, bool keep_fd_on_failure)
    : home_(home), handler_(handler), settings_(std::move(settings)), peer_(peer_address(fd)), codec_(settings_->codec) {
    // Messages are small and written once per loop turn: Nagle's delay would only add latency.
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

    if (settings_->ssl_ctx) {
        SSL *ssl = SSL_new(settings_->ssl_ctx);
        if (!ssl) {
            ERR_clear_error();
            if (!keep_fd_on_failure)
                ::close(fd);
            state_ = State::closed;
            return;
        }
        // With BEV_OPT_CLOSE_ON_FREE the bufferevent owns both the SSL and the socket.
        bev_.reset(bufferevent_openssl_socket_new(home_.base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                                  BEV_OPT_CLOSE_ON_FREE));
        if (!bev_) {
            // An allocation inside libevent failed. With BEV_OPT_CLOSE_ON_FREE libevent 2.1
            // frees the SSL on this path itself; the socket (a BIO_NOCLOSE BIO) is still ours.
            if (!keep_fd_on_failure)
                ::close(fd);
            state_ = State::closed;
            return;
        }
        // Most clients just close the socket without a TLS close_notify; that is an EOF here,
        // not an error.
        bufferevent_openssl_set_allow_dirty_shutdown(bev_.get(), 1);
        bufferevent_setcb(bev_.get(), on_read, on_write, on_event, this);
        // Input is consumed as it arrives (partial frames are assembled by the decoder), so
        // the input buffer stays small; the watermark is the bound should that ever stop: one
        // largest message with its frame header, or one request head.
        size_t high = std::max<uint64_t>(settings_->max_message_size + frame::kMaxFrameHeader + 4,
                                         frame::kDefaultMaxHeaderBytes + 1);
        bufferevent_setwatermark(bev_.get(), EV_READ, 0, high);
        bufferevent_enable(bev_.get(), EV_READ | EV_WRITE);
        return;
    }
    fd_ = fd;
    if (!update_events()) {
        if (!keep_fd_on_failure)
            ::close(fd_);
        fd_ = -1;
        state_ = State::closed;
    }
}

Connection::~Connection() {
    home_.flush.remove(*this);
    if (ev_flags_)
        event_del(&ev_);
    out_.clear(home_.flush.chunks());
    if (fd_ >= 0)
        ::close(fd_);
}

void Connection::start() {
    if (state_ != State::handshake)
        return;
    if (settings_->transport == Transport::tcp && !tls()) {
        open_session();
        return;
    }
    // The timeout covers the TLS handshake and the upgrade request together.
    if (!arm_timer(settings_->handshake_timeout_ms))
        abort();
}

void Connection::start(std::string input) {
    home_.traffic.bytes_in += input.size();
    if (!input.empty()) {
        if (!spill()) {
            log(GLIDE_LOG_ERROR, "out of memory keeping %zu bytes handed over", input.size());
            return abort();
        }
        spill_->input = std::move(input);
    }
    start();
    // update_events made the read callback active if the connection reads now; else it does
    // when reading resumes.
    if (has_input() && (ev_flags_ & EV_READ))
        event_active(&ev_, EV_READ, 1);
}

// The timer exists only while the handshake or the polite close needs it: an open connection
// does not carry one.
bool Connection::arm_timer(uint64_t ms) {
    if (!timer_)
        timer_.reset(evtimer_new(home_.base, on_timer, this));
    if (!timer_) {
        log(GLIDE_LOG_ERROR, "out of memory creating a timer");
        return false;
    }
    timeval tv = ms_to_tv(ms);
    evtimer_add(timer_.get(), &tv); // (re)schedules
    return true;
}

size_t Connection::queued() const {
    if (!tls())
        return out_.size();
    return bev_ ? evbuffer_get_length(bufferevent_get_output(bev_.get())) : 0;
}

void Connection::log(glide_log_level level, const char *fmt, ...) {
    if (!settings_->log || !settings_->log->enabled())
        return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    settings_->log->log(level, "%s: %s", peer_.text().c_str(), msg);
}

// --- opening --------------------------------------------------------------------------------

void Connection::open_session() {
    timer_.reset();
    state_ = State::open;
    if (!watch()) // plain TCP starts reading now
        return;
    opened_ = true;
    if (settings_->transport == Transport::ws)
        decoder_.emplace<frame::FrameDecoder>(frame::FrameLimits{settings_->max_message_size});
    else
        decoder_.emplace<frame::TcpDecoder>(frame::TcpLimits{
            static_cast<uint32_t>(std::min<uint64_t>(settings_->max_message_size, UINT32_MAX))});
    handler_.on_open(*this);
}

// The request head is parsed again from its start whenever bytes arrive: the parser keeps no
// state, and the head is bounded (kDefaultMaxHeaderBytes) as is the time to send it.
Connection::Head Connection::parse_head(const char *p, size_t n, size_t *consumed) {
    std::array<std::string_view, kMaxOrigins> origins;
    size_t norigins = std::min(settings_->allowed_origins.size(), kMaxOrigins);
    for (size_t i = 0; i < norigins; i++)
        origins[i] = settings_->allowed_origins[i];
    frame::HandshakeConfig cfg;
    cfg.path = settings_->ws_path;
    cfg.allowed_origins = {origins.data(), norigins};
    cfg.max_header_bytes = frame::kDefaultMaxHeaderBytes;

    std::array<frame::Header, frame::kDefaultMaxHeaders> scratch;
    frame::HandshakeRequest req;
    frame::HandshakeResult r = frame::parse_handshake(p, n, cfg, &req, scratch);
    if (r.status == frame::HandshakeStatus::need_more)
        return Head::need_more;

    char out[frame::kMaxUpgradeResponse];
    if (refuse_status_ != 0) {
        // A limit of the owner's: the request is answered, whatever it was, and not upgraded.
        size_t m = frame::write_error_response(refuse_status_, refuse_reason_, out, sizeof out);
        if (m && append(out, m))
            home_.traffic.bytes_out += m;
        if (state_ != State::closed)
            close_politely();
        return Head::refused;
    }
    if (r.status == frame::HandshakeStatus::error) {
        log(GLIDE_LOG_INFO, "WebSocket upgrade refused: %d %.*s", r.http_status,
            static_cast<int>(r.reason.size()), r.reason.data());
        size_t m = frame::write_error_response(r, out, sizeof out);
        if (m && append(out, m))
            home_.traffic.bytes_out += m;
        if (state_ != State::closed)
            close_politely();
        return Head::refused;
    }

    switch (req.subprotocol) {
    case frame::Subprotocol::protobuf:
        codec_ = CodecKind::protobuf;
        break;
    case frame::Subprotocol::json:
        codec_ = CodecKind::json;
        break;
    case frame::Subprotocol::none:
        codec_ = settings_->codec;
        break;
    }
    // `req` points into the input: answer before the caller drops the head.
    size_t m = frame::write_upgrade_response(req, out, sizeof out);
    *consumed = r.consumed;
    if (!m || !append(out, m)) {
        abort();
        return Head::failed;
    }
    home_.traffic.bytes_out += m;
    open_session();
    return Head::opened;
}

void Connection::read_handshake(evbuffer *in) {
    const size_t len = evbuffer_get_length(in);
    // One byte past the limit lets the parser tell "too large" from "need more".
    const size_t n = std::min(len, frame::kDefaultMaxHeaderBytes + 1);
    const char *p = reinterpret_cast<const char *>(evbuffer_pullup(in, static_cast<ssize_t>(n)));
    if (!p) {
        log(GLIDE_LOG_ERROR, "out of memory reading the upgrade request");
        abort();
        return;
    }
    size_t consumed = 0;
    switch (parse_head(p, n, &consumed)) {
    case Head::need_more:
    case Head::failed:
        return;
    case Head::refused:
        home_.traffic.bytes_in += len;
        evbuffer_drain(in, len);
        return;
    case Head::opened:
        home_.traffic.bytes_in += consumed;
        evbuffer_drain(in, consumed);
        // Frames the client sent right behind its request.
        if (state_ == State::open && evbuffer_get_length(in))
            read_chains(in);
        return;
    }
}

// Most requests come in one read and are parsed where they are; only the start of one that
// did not is kept (bounded: the parser refuses more than the limit).
void Connection::read_handshake_plain(uint8_t *p, size_t n) {
    const size_t limit = frame::kDefaultMaxHeaderBytes + 1;
    size_t consumed = 0;
    if (!spill_ || spill_->head.empty()) {
        Head h = parse_head(reinterpret_cast<const char *>(p), std::min(n, limit), &consumed);
        if (h == Head::need_more) {
            try {
                if (!spill())
                    throw std::bad_alloc();
                spill_->head.assign(reinterpret_cast<const char *>(p), n); // n < limit here
            } catch (const std::bad_alloc &) {
                log(GLIDE_LOG_ERROR, "out of memory reading the upgrade request");
                abort();
            }
            return;
        }
        if (h == Head::opened)
            decode_plain(p, n, consumed); // frames the client sent right behind its request
        return;
    }
    std::string &head = spill_->head;
    const size_t before = head.size();
    const size_t take = std::min(n, limit - std::min(limit, before));
    try {
        head.append(reinterpret_cast<const char *>(p), take);
    } catch (const std::bad_alloc &) {
        log(GLIDE_LOG_ERROR, "out of memory reading the upgrade request");
        return abort();
    }
    Head h = parse_head(head.data(), head.size(), &consumed);
    if (h == Head::need_more)
        return;
    if (spill_) { // the connection may have finished meanwhile (then it is gone)
        std::string().swap(spill_->head);
        unspill();
    }
    // The head did not end within `before` (that parse said need_more): it ends in p.
    if (h == Head::opened && consumed >= before)
        decode_plain(p, n, consumed - before);
}

// --- reading --------------------------------------------------------------------------------

namespace {

// Feeds p + off on to a frame or TCP decoder and each event it returns to on_event, until the
// decoder needs more bytes (true) or on_event says stop (false); off advances past what the
// decoder consumed.
template <class Event, class Decoder, class OnEvent>
bool decode_events(Decoder &dec, uint8_t *p, size_t n, size_t &off, OnEvent on_event) {
    while (off < n) {
        Event ev;
        frame::DecodeResult r = dec.decode({p + off, n - off}, &ev);
        off += r.consumed;
        if (r.status == frame::DecodeStatus::need_more)
            return true;
        if (!on_event(ev))
            return false;
    }
    return true;
}

} // namespace

bool Connection::decode(uint8_t *p, size_t n, size_t &off) {
    if (state_ != State::open || budget_ == 0)
        return false;
    // Each frame spends one of this turn's budget; the last one stops the decoding with the
    // rest of the bytes unconsumed (the caller keeps them for a later turn).
    if (ws())
        return decode_events<frame::FrameEvent>(
            std::get<frame::FrameDecoder>(decoder_), p, n, off,
            [this](const auto &ev) { return handle_frame(ev) && --budget_ > 0; });
    return decode_events<frame::TcpEvent>(
        std::get<frame::TcpDecoder>(decoder_), p, n, off,
        [this](const auto &ev) { return handle_tcp(ev) && --budget_ > 0; });
}

void Connection::decode_plain(uint8_t *p, size_t n, size_t off) {
    decode(p, n, off);
    if (state_ != State::open || off >= n)
        return;
    // The budget ran out inside this read: the rest waits for a later turn, in the spill's
    // input (which read_plain handles before reading the socket again).
    try {
        if (!spill())
            throw std::bad_alloc();
        spill_->input.assign(reinterpret_cast<const char *>(p + off), n - off);
    } catch (const std::bad_alloc &) {
        log(GLIDE_LOG_ERROR, "out of memory keeping %zu bytes of input", n - off);
        return abort();
    }
    resume_later();
}

void Connection::resume_later() {
    if (resuming_)
        return;
    resuming_ = true;
    // A timer of 0 runs on the next loop turn, after the I/O callbacks that turn's poll
    // reported: every other connection is served before this one reads again. (An event made
    // active now would run in this very turn, before the loop polls again.)
    if (!arm_timer(0)) {
        resuming_ = false;
        abort();
    }
}

void Connection::resume() {
    resuming_ = false;
    if (state_ != State::open || paused_)
        return; // closing: the input is discarded; paused: pause_reading(false) resumes
    budget_ = kFrameBudget;
    if (tls())
        read_chains(bufferevent_get_input(bev_.get()));
    else
        read_plain();
}

bool Connection::handle_tcp(const frame::TcpEvent &ev) {
    if (ev.type == frame::TcpEventType::error) {
        log(GLIDE_LOG_INFO, "closing: %.*s", static_cast<int>(ev.reason.size()), ev.reason.data());
        close_politely();
        end_session(tcp_error_code(ev.reason));
        return false;
    }
    home_.traffic.messages_in++;
    handler_.on_message(*this, MessageKind::binary, ev.payload);
    return state_ == State::open;
}

// TLS: the decoders work on the input's memory directly, one contiguous chain at a time: a
// frame that lies in one chain is unmasked in place and delivered without a copy, and one that
// spans chains is assembled by the decoder (which consumes every byte it is given unless it
// returns an event), so nothing here copies or pulls up the buffer.
void Connection::read_chains(evbuffer *in) {
    while (state_ == State::open) {
        const size_t len = evbuffer_get_length(in);
        if (len == 0)
            return;
        evbuffer_iovec v;
        if (evbuffer_peek(in, -1, nullptr, &v, 1) < 1)
            return;
        if (v.iov_len == 0) {
            // An empty first chain (left by an earlier drain): move data up front.
            if (!evbuffer_pullup(in, static_cast<ssize_t>(std::min<size_t>(len, 4096))))
                return abort();
            continue;
        }
        size_t off = 0;
        bool go_on = decode(static_cast<uint8_t *>(v.iov_base), v.iov_len, off);
        if (state_ == State::closed)
            return; // the input went with the socket
        home_.traffic.bytes_in += off;
        evbuffer_drain(in, off);
        if (!go_on) {
            // The budget ran out: the rest stays in the input buffer for a later turn
            // (bufferevent stops reading the socket at its high watermark meanwhile).
            if (state_ == State::open && evbuffer_get_length(in))
                resume_later();
            return;
        }
    }
}

// Returns whether reading goes on.
bool Connection::handle_frame(const frame::FrameEvent &ev) {
    using frame::FrameEventType;
    switch (ev.type) {
    case FrameEventType::text:
    case FrameEventType::binary:
        home_.traffic.messages_in++;
        handler_.on_message(
            *this, ev.type == FrameEventType::text ? MessageKind::text : MessageKind::binary,
            ev.payload);
        break;
    case FrameEventType::ping:
        send_control(frame::Opcode::pong, ev.payload);
        break;
    case FrameEventType::pong:
        break; // unsolicited or an answer: either way nothing to do (RFC 6455 §5.5.3)
    case FrameEventType::close: {
        // Echo the peer's code (RFC 6455 §5.5.1); a close without a code gets one without.
        uint8_t f[frame::kMaxCloseFrame];
        uint16_t echo = ev.code == frame::kCloseNoStatus ? 0 : ev.code;
        size_t n = frame::encode_close_frame(f, echo, {});
        if (append(f, n))
            home_.traffic.bytes_out += n;
        if (state_ == State::closed)
            return false;
        close_politely();
        end_session(ev.code);
        return false;
    }
    case FrameEventType::error: {
        log(GLIDE_LOG_INFO, "closing: %.*s (%u)", static_cast<int>(ev.reason.size()),
            ev.reason.data(), ev.code);
        uint8_t f[frame::kMaxCloseFrame];
        size_t n = frame::encode_close_frame(f, ev.code, ev.reason);
        if (append(f, n))
            home_.traffic.bytes_out += n;
        if (state_ == State::closed)
            return false;
        close_politely();
        end_session(ev.code);
        return false;
    }
    }
    return state_ == State::open;
}

void Connection::pause_reading(bool paused) {
    if (state_ != State::open)
        return;
    paused_ = paused;
    if (tls()) {
        if (paused) {
            bufferevent_disable(bev_.get(), EV_READ);
            return;
        }
        bufferevent_enable(bev_.get(), EV_READ);
        // Frames the budget left in the input buffer: bufferevent calls back only for new ones.
        if (evbuffer_get_length(bufferevent_get_input(bev_.get())))
            resume_later();
        return;
    }
    watch();
}

bool Connection::reading_plain() const {
    switch (state_) {
    case State::handshake:
        return settings_->transport == Transport::ws;
    case State::open:
        return !paused_;
    case State::lingering:
        return true; // only to see the peer's EOF
    case State::closing:
    case State::closed:
        break;
    }
    return false;
}

bool Connection::update_events() {
    if (fd_ < 0)
        return true;
    const short want =
        static_cast<short>((reading_plain() ? EV_READ : 0) | (writing_ ? EV_WRITE : 0));
    if (want == ev_flags_)
        return true;
    if (ev_flags_)
        event_del(&ev_);
    ev_flags_ = 0;
    if (!want)
        return true;
    event_assign(&ev_, home_.base, fd_, static_cast<short>(want | EV_PERSIST), on_io, this);
    if (event_add(&ev_, nullptr) != 0) {
        log(GLIDE_LOG_ERROR, "cannot watch the socket (%s)", strerror(errno));
        return false;
    }
    ev_flags_ = want;
    // Bytes handed over wait for the read callback (reading just resumed).
    if ((want & EV_READ) && has_input())
        event_active(&ev_, EV_READ, 1);
    return true;
}

Connection::Spill *Connection::spill() {
    if (!spill_)
        spill_.reset(new (std::nothrow) Spill);
    return spill_.get();
}

void Connection::unspill() {
    if (spill_ && spill_->head.empty() && spill_->input.empty())
        spill_.reset();
}

bool Connection::watch() {
    if (update_events())
        return true;
    finish();
    return false;
}

void Connection::on_io(evutil_socket_t, short what, void *self) {
    auto *c = static_cast<Connection *>(self);
    // While frames of an earlier turn wait (resuming_), the timer reads, after the others.
    if ((what & EV_READ) && !(c->resuming_ && c->state_ == State::open)) {
        c->budget_ = kFrameBudget;
        c->read_plain();
        if (c->state_ == State::closed)
            return;
    }
    if ((what & EV_WRITE) && c->writing_) {
        if (!c->write_plain(false))
            return;
        if (c->out_.empty()) {
            c->writing_ = false;
            if (!c->watch())
                return;
        }
        c->after_write();
    }
}

// One read(2) per call while the socket fills the buffer, up to kReadBudget bytes and
// kFrameBudget frames; a short read means the socket is drained for now. Bytes the frame budget
// left over wait in the spill for resume(); unread bytes wait in the socket (epoll is
// level-triggered: it reports them on the next turn).
void Connection::read_plain() {
    if (has_input() && reading_plain()) {
        // Bytes read before (left by the budget, or handed over): they come first. Decoded in
        // place, as a read.
        std::string input;
        input.swap(spill_->input);
        unspill();
        take_plain(reinterpret_cast<uint8_t *>(input.data()), input.size());
        if (has_input() || budget_ == 0)
            return;
    }
    uint8_t *buf = home_.flush.read_buffer();
    size_t total = 0;
    while (reading_plain() && total < kReadBudget && budget_ > 0) {
        const ssize_t n = ::read(fd_, buf, FlushQueue::kReadBuffer);
        if (n > 0) {
            home_.traffic.bytes_in += static_cast<size_t>(n);
            total += static_cast<size_t>(n);
            take_plain(buf, static_cast<size_t>(n));
            if (static_cast<size_t>(n) < FlushQueue::kReadBuffer || has_input())
                return;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        // EOF or an error: as for a bufferevent's EOF/error event.
        return finish();
    }
}

void Connection::take_plain(uint8_t *p, size_t n) {
    switch (state_) {
    case State::handshake:
        read_handshake_plain(p, n);
        return;
    case State::open:
        decode_plain(p, n, 0);
        return;
    case State::closing:
    case State::lingering:
    case State::closed:
        return; // lingering: what the peer still sends is discarded
    }
}

void Connection::on_read(bufferevent *bev, void *self) {
    auto *c = static_cast<Connection *>(self);
    evbuffer *in = bufferevent_get_input(bev);
    switch (c->state_) {
    case State::handshake:
        if (c->settings_->transport == Transport::ws) {
            c->budget_ = kFrameBudget; // for frames right behind the request
            c->read_handshake(in);
            return;
        }
        break;
    case State::open:
        if (!c->resuming_) { // else the timer reads, after the others
            c->budget_ = kFrameBudget;
            c->read_chains(in);
        }
        return;
    case State::closing:
    case State::lingering:
    case State::closed:
        break;
    }
    // Lingering: read only to notice the peer's EOF; what it still sends is discarded.
    size_t n = evbuffer_get_length(in);
    c->home_.traffic.bytes_in += n;
    evbuffer_drain(in, n);
}

// --- writing --------------------------------------------------------------------------------

bool Connection::append(const void *p, size_t n, const void *q, size_t m) {
    bool added;
    if (tls()) {
        evbuffer *out = bufferevent_get_output(bev_.get());
        added = evbuffer_add(out, p, n) == 0 && (m == 0 || evbuffer_add(out, q, m) == 0);
    } else {
        added = out_.append(home_.flush.chunks(), p, n, q, m);
    }
    if (added) {
        queue_flush();
        return true;
    }
    // A frame cut short would corrupt the stream: drop the connection instead.
    log(GLIDE_LOG_ERROR, "out of memory queueing %zu bytes", n + m);
    abort();
    return false;
}

bool Connection::admit(size_t n) {
    const size_t q = queued();
    if (q + n <= settings_->send_buffer_limit)
        return true;
    log(GLIDE_LOG_INFO,
        "slow consumer: %zu bytes queued, %zu more would pass glide_send_buffer_limit (%llu)", q, n,
        static_cast<unsigned long long>(settings_->send_buffer_limit));
    close(frame::kClosePolicy, "slow consumer");
    return false;
}

SendResult Connection::after_send(size_t n) {
    home_.traffic.bytes_out += n;
    const size_t soft = settings_->send_buffer_limit / 2;
    if (queued() <= soft)
        return SendResult::ok;
    if (!want_ready_) {
        // The write callback then runs when the output has drained to the soft mark (plain:
        // after_write looks after every write).
        want_ready_ = true;
        if (tls())
            bufferevent_setwatermark(bev_.get(), EV_WRITE, soft, 0);
    }
    return SendResult::above_soft_mark;
}

SendResult Connection::send(MessageKind kind, std::span<const uint8_t> payload) {
    if (state_ != State::open)
        return SendResult::closed;
    uint8_t hdr[frame::kMaxFrameHeader];
    size_t h;
    if (ws()) {
        h = frame::encode_frame_header(
            hdr, kind == MessageKind::text ? frame::Opcode::text : frame::Opcode::binary,
            payload.size());
    } else {
        h = frame::kTcpHeaderSize;
        if (payload.size() > UINT32_MAX) {
            close(frame::kCloseTooBig, "message too big");
            return SendResult::closed;
        }
        frame::encode_tcp_header(hdr, static_cast<uint32_t>(payload.size()));
    }
    if (!admit(h + payload.size()))
        return SendResult::closed;
    if (!append(hdr, h, payload.data(), payload.size()))
        return SendResult::closed;
    home_.traffic.messages_out++;
    return after_send(h + payload.size());
}

SendResult Connection::send_shared(MessageKind kind, std::shared_ptr<const std::string> msg) {
    if (state_ != State::open || !msg)
        return SendResult::closed;
    if (msg->size() <= Connection::kShareAbove)
        return send(kind, *msg);
    uint8_t hdr[frame::kMaxFrameHeader];
    size_t h;
    if (ws()) {
        h = frame::encode_frame_header(
            hdr, kind == MessageKind::text ? frame::Opcode::text : frame::Opcode::binary,
            msg->size());
    } else {
        if (msg->size() > UINT32_MAX) {
            close(frame::kCloseTooBig, "message too big");
            return SendResult::closed;
        }
        h = frame::kTcpHeaderSize;
        frame::encode_tcp_header(hdr, static_cast<uint32_t>(msg->size()));
    }
    const size_t total = h + msg->size();
    if (!admit(total))
        return SendResult::closed;
    if (!tls()) {
        if (!out_.append_shared(home_.flush.chunks(), hdr, h, std::move(msg))) {
            log(GLIDE_LOG_ERROR, "out of memory queueing a shared message");
            abort();
            return SendResult::closed;
        }
        queue_flush();
        home_.traffic.messages_out++;
        return after_send(total);
    }
    auto *holder = new (std::nothrow) std::shared_ptr<const std::string>(std::move(msg));
    if (!holder) {
        log(GLIDE_LOG_ERROR, "out of memory queueing a shared message");
        abort();
        return SendResult::closed;
    }
    if (!append(hdr, h)) {
        delete holder;
        return SendResult::closed;
    }
    const std::string &s = **holder;
    // On success libevent calls release_shared once the bytes are written (or the buffer is
    // freed); on failure it does not, and the header already queued makes the stream unusable.
    if (evbuffer_add_reference(bufferevent_get_output(bev_.get()), s.data(), s.size(),
                               release_shared, holder) != 0) {
        delete holder;
        log(GLIDE_LOG_ERROR, "out of memory queueing a shared message");
        abort();
        return SendResult::closed;
    }
    home_.traffic.messages_out++;
    return after_send(total);
}

SendResult Connection::send_control(frame::Opcode op, std::span<const uint8_t> payload) {
    uint8_t f[frame::kMaxFrameHeader + frame::kMaxControlPayload];
    size_t n = frame::encode_frame(f, sizeof f, op, payload);
    if (!n || !admit(n) || !append(f, n))
        return SendResult::closed;
    return after_send(n);
}

void Connection::queue_flush() {
    if (!writing_ && !tls())
        home_.flush.push(*this);
}

void Connection::flush() {
    if (state_ == State::closed || writing_)
        return;
    if (!write_plain(true))
        return;
    if (!out_.empty()) {
        // The socket would block: the event's EV_WRITE finishes the write.
        home_.flush.blocked++;
        writing_ = true;
        if (!watch())
            return;
    }
    after_write();
}

// writev takes at most IOV_MAX vectors: go on while a write takes everything it was given. A
// short write means the socket is full (the next would fail with EAGAIN).
bool Connection::write_plain(bool counted) {
    constexpr int kIov = 64;
    iovec iov[kIov];
    while (!out_.empty()) {
        size_t want = 0;
        const int n = out_.peek(iov, kIov, &want);
        if (counted)
            home_.flush.writes++;
        const ssize_t w = ::writev(fd_, iov, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return true;
            finish(); // as for a bufferevent's error event
            return false;
        }
        out_.consume(home_.flush.chunks(), static_cast<size_t>(w));
        if (static_cast<size_t>(w) < want)
            return true;
    }
    return true;
}

void Connection::after_write() {
    const size_t q = queued();
    if (state_ == State::closing) {
        if (q == 0)
            shut_write();
        return;
    }
    if (state_ == State::open && want_ready_ && q <= settings_->send_buffer_limit / 2) {
        want_ready_ = false;
        if (tls())
            bufferevent_setwatermark(bev_.get(), EV_WRITE, 0, 0);
        handler_.on_send_ready(*this);
    }
}

// bufferevent_openssl wrote output (TLS).
void Connection::on_write(bufferevent *, void *self) {
    static_cast<Connection *>(self)->after_write();
}

// --- closing --------------------------------------------------------------------------------

void Connection::end_session(uint16_t code) {
    if (!opened_ || close_reported_)
        return;
    close_reported_ = true;
    want_ready_ = false;
    handler_.on_close(*this, code);
}

void Connection::close(uint16_t code, std::string_view reason) {
    if (state_ == State::handshake) {
        close_politely();
        return;
    }
    if (state_ != State::open)
        return;
    if (ws()) {
        uint8_t f[frame::kMaxCloseFrame];
        size_t n = frame::encode_close_frame(f, code, reason);
        if (!append(f, n))
            return; // aborted
        home_.traffic.bytes_out += n;
    }
    close_politely();
    end_session(code);
}

void Connection::abort() {
    if (state_ != State::closed)
        finish();
}

void Connection::close_politely() {
    if (state_ != State::handshake && state_ != State::open)
        return;
    state_ = State::closing;
    resuming_ = false; // the timer bounds the linger from now on
    if (tls()) {
        bufferevent_disable(bev_.get(), EV_READ);
        // The write callback must now run when the output is empty, not at the soft mark.
        bufferevent_setwatermark(bev_.get(), EV_WRITE, 0, 0);
    } else if (!watch()) { // stops reading
        return;
    }
    // The linger timer bounds the whole polite close: a peer that neither reads what is queued
    // nor closes cannot hold the socket longer than this. Without one, drop the socket now.
    if (!arm_timer(settings_->linger_ms))
        return finish();
    if (queued() == 0)
        shut_write();
}

void Connection::shut_write() {
    state_ = State::lingering;
    if (tls() && opened_tls_) {
        // close_notify tells a TLS peer that the data ended here and was not truncated.
        SSL_shutdown(bufferevent_openssl_get_ssl(bev_.get()));
        ERR_clear_error();
    }
    // Read again only to see the peer's EOF; what it still sends is discarded.
    if (tls()) {
        shutdown(bufferevent_getfd(bev_.get()), SHUT_WR);
        bufferevent_enable(bev_.get(), EV_READ);
    } else {
        shutdown(fd_, SHUT_WR);
        watch();
    }
}

void Connection::finish() {
    state_ = State::closed;
    home_.flush.remove(*this);
    if (timer_)
        evtimer_del(timer_.get()); // (finish may run inside the timer's callback: not freed)
    bev_.reset(); // TLS: closes the socket
    if (fd_ >= 0) {
        if (ev_flags_)
            event_del(&ev_);
        ev_flags_ = 0;
        writing_ = false;
        out_.clear(home_.flush.chunks());
        spill_.reset();
        ::close(fd_);
        fd_ = -1;
    }
    end_session(1006);
    home_.owner.connection_closed(*this);
}

void Connection::on_event(bufferevent *bev, short what, void *self) {
    auto *c = static_cast<Connection *>(self);
    if (what & BEV_EVENT_CONNECTED) {
        // The TLS handshake is done: a TCP connection carries messages now; a WebSocket one
        // waits for its upgrade request.
        c->opened_tls_ = true;
        if (c->state_ == State::handshake && c->settings_->transport == Transport::tcp)
            c->open_session();
        return;
    }
    if (!(what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)))
        return;
    if ((what & BEV_EVENT_ERROR) && c->tls()) {
        unsigned long e = bufferevent_get_openssl_error(bev);
        if (e && c->state_ == State::handshake)
            c->log(GLIDE_LOG_INFO, "TLS handshake failed (%s)", ssl_error_string(e).c_str());
        while (bufferevent_get_openssl_error(bev)) {
        }
    }
    c->finish();
}

void Connection::on_timer(evutil_socket_t, short, void *self) {
    auto *c = static_cast<Connection *>(self);
    if (c->state_ == State::open) {
        c->resume(); // an open connection's timer is the resume of its budget
        return;
    }
    if (c->state_ == State::handshake)
        c->log(GLIDE_LOG_INFO, "handshake timed out");
    c->finish();
}

} // namespace glide::net
