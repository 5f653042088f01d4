// One accepted connection: the transport (plain or TLS), the WebSocket upgrade or plain TCP
// framing, and the seam to the layer above (MessageHandler).
//
// Lifecycle:
//
//   handshake ──(TLS and/or upgrade done)──▶ open ──close()/peer close/error──▶ closing
//       │                                     │                                  │ output
//       │ timeout, error                      │ abort(), EOF, error              │ flushed
//       ▼                                     ▼                                  ▼
//     closed ◀──────────────────────────────────────────────── lingering (write side shut;
//                                              peer EOF, error or linger timer)
//
// `closing` stops reading, sends what is queued (a close frame last), then shuts the write side
// and waits, bounded by glide_linger_timeout from the moment closing began, for the peer to
// close: closing a socket with unread input makes the kernel send a reset, which can destroy
// the close frame before the peer reads it.
//
// A connection is never freed inside its own callbacks: when it reaches `closed` it tells its
// owner, which queues it and frees it later in the loop (ConnectionOwner::connection_closed).
//
// Plain sockets do their own I/O (no bufferevent): the connection owns the socket and one
// embedded `event` (EV_READ|EV_PERSIST while reading; EV_WRITE only while a write would block).
//
// Reading (plain): read(2) into the read buffer that all connections of the event_base share
// (FlushQueue::read_buffer), and decode straight from it: the handler gets spans into that
// buffer. A frame cut by the end of a read is kept by the decoder (its assembly buffer, freed
// when the message is complete); an unfinished upgrade request is kept in a per-connection
// buffer that goes away with the handshake. So an idle connection holds no input memory. A
// short read ends the callback (the socket is drained; level-triggered epoll reports more);
// otherwise reading goes on up to kReadBudget bytes per callback.
//
// Fairness: one connection handles at most kFrameBudget frames per loop turn, however fast its
// peer sends. When the budget runs out inside a read, the rest of that read is kept (spill_, a
// copy: only a connection that floods pays it) and a timer of 0 ms resumes it on the next loop
// turn, after the I/O callbacks of every other connection that turn's poll reported; bytes not
// read yet stay in the socket, and level-triggered epoll reports them again. While a resume is
// due the read event does nothing. TLS keeps the rest in the bufferevent's input buffer (which
// stops reading at its high watermark) and resumes the same way. The connection's timer is the
// resume while it is open (it is the handshake's before and the linger's after).
//
// Writing (plain): a send only appends to the connection's OutQueue (no memory while empty;
// chunks from the base's ChunkPool) and puts the connection on its owner's FlushQueue; once
// per loop turn, after the I/O callbacks, the queue writes each connection's output with one
// writev. Only when the socket would block (a short write or EAGAIN) is EV_WRITE added, and
// the event callback writes the rest; it is removed again once the output is empty.
//
// TLS connections leave reading and writing to bufferevent_openssl (EV_WRITE stays enabled).
//
// Thread model: a connection and its handler run on the owner's event_base thread only.
#pragma once

#include <event2/event_struct.h>
#include <openssl/ssl.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/log.h"
#include "frame/tcp_frame.h"
#include "frame/ws_frame.h"
#include "common/intrusive_list.h"
#include "net/address.h"
#include "net/flush_queue.h"
#include "net/libevent.h"
#include "net/out_queue.h"
#include "net/settings.h"

namespace glide::net {

class Connection;

enum class MessageKind : uint8_t { text, binary };

// What a send did (uWebSockets' SUCCESS / BACKPRESSURE / DROPPED):
//   ok               queued;
//   above_soft_mark  queued, but the connection's queued output is now above half of
//                    glide_send_buffer_limit: slow down and wait for on_send_ready();
//   closed           not queued: the connection is not open (any more). When it is this very
//                    send that would have passed glide_send_buffer_limit, the connection has
//                    just been closed with 1008 "slow consumer" (on_close already ran).
enum class SendResult : uint8_t { ok, above_soft_mark, closed };

// The layer above the transport (the session layer). Calls arrive on the loop thread, from
// inside the connection's callbacks: a handler may send and close but must not free the
// connection (the owner reaps it). The handler must outlive every connection given to it.
class MessageHandler {
public:
    // The connection carries messages now: after the 101 for WebSocket, after the TLS
    // handshake for TLS, at once for plain TCP. codec() is final.
    virtual void on_open(Connection &c) = 0;
    // One complete message. `payload` is borrowed until the call returns (it may point into
    // the input buffer). Text is valid UTF-8. TCP messages are reported as binary.
    virtual void on_message(Connection &c, MessageKind kind, std::span<const uint8_t> payload) = 0;
    // The queued output fell to half of glide_send_buffer_limit again after a send answered
    // above_soft_mark. Default: nothing.
    virtual void on_send_ready(Connection &c) {}
    // The last call for `c`, exactly once for every connection that was opened: the peer's
    // close code (1005 when its close frame had none), the code the server closed with, the
    // decoder's error code, or 1006 when the socket went away without a close handshake.
    // Drop every reference to `c` here; c.user_data is not looked at again.
    virtual void on_close(Connection &c, uint16_t code) = 0;

protected:
    ~MessageHandler() = default;
};

class FlushQueue;
struct ConnectionHome;

class ConnectionOwner {
public:
    // The connection is closed (socket gone); free it later, not inside this call.
    virtual void connection_closed(Connection &c) = 0;

protected:
    ~ConnectionOwner() = default;
};

class Connection {
public:
    enum class State { handshake, open, closing, lingering, closed };

    // Takes the accepted socket `fd` (non-blocking): on failure ok() is false and the socket is
    // closed, unless `keep_fd_on_failure` (a socket the host handed over stays the host's when
    // the module refuses it). Nothing runs until start(). `home` and `handler` must outlive the
    // connection.
    Connection(ConnectionHome &home, int fd, MessageHandler &handler,
               std::shared_ptr<const ConnectionSettings> settings, bool keep_fd_on_failure = false);
    ~Connection();
    Connection(const Connection &) = delete;
    Connection &operator=(const Connection &) = delete;

    // Arms the handshake timer, or opens a plain TCP connection at once (on_open). Call after
    // the owner has registered the connection: the handler may close it from on_open.
    void start();
    // start() for a plain socket someone else began to read (a host's hand-off): `input` are
    // the bytes already read from it. They are handled first, as if read from the socket, on a
    // later loop turn (the socket's read callback, made active), never inside this call.
    void start(std::string input);

    // False when libevent or OpenSSL could not set the connection up (then it is closed).
    bool ok() const { return bev_ != nullptr || fd_ >= 0; }
    State state() const { return state_; }
    bool is_open() const { return state_ == State::open; }
    const Address &peer() const { return peer_; }
    // What the connection runs with (its listener's settings when it was accepted).
    const ConnectionSettings &settings() const { return *settings_; }
    Transport transport() const { return settings_->transport; }
    bool tls() const { return settings_->ssl_ctx != nullptr; }
    // The negotiated codec: from the subprotocol (glide.protobuf → protobuf, glide.json →
    // json), else the listener's.
    CodecKind codec() const { return codec_; }
    // Bytes queued for the peer and not yet written to the socket (or to TLS).
    size_t queued() const;

    // Sends one message: a WebSocket text or binary frame, or a length-prefixed TCP message
    // (kind is then ignored). The payload is copied.
    SendResult send(MessageKind kind, std::span<const uint8_t> payload);
    SendResult send(MessageKind kind, std::string_view payload) {
        return send(kind, std::span<const uint8_t>(
                              reinterpret_cast<const uint8_t *>(payload.data()), payload.size()));
    }
    // The fan-out path: one encoded message shared by many connections. Only the frame header
    // is written per connection; the payload is referenced (plain: by the OutQueue; TLS:
    // evbuffer_add_reference) and the shared_ptr is held until it has been written. `msg`
    // must not be null.
    SendResult send_shared(MessageKind kind, std::shared_ptr<const std::string> msg);
    // Below this size send_shared copies: cheaper than a reference chain plus the holder that
    // keeps the payload alive (two allocations and a callback). Callers with a message that is
    // not shared yet copy below it too (send) and need not make it shareable.
    static constexpr size_t kShareAbove = 1024;
    // Plain sockets: the most bytes one read callback takes from the socket (fairness).
    static constexpr size_t kReadBudget = 256 * 1024;
    // The most frames (control frames included) one connection handles per loop turn.
    static constexpr unsigned kFrameBudget = 64;

    // Before start(): the owner refuses this connection. A WebSocket upgrade request is
    // answered with `http_status` and `reason` (static text) instead of 101, then the
    // connection closes politely; on_open never runs. Plain TCP has nothing to answer with:
    // the owner drops those without a Connection.
    void refuse(uint16_t http_status, const char *reason) {
        refuse_status_ = http_status;
        refuse_reason_ = reason;
    }

    // Server-initiated close: a WebSocket close frame with `code` and `reason` (cut to 123
    // bytes), then the polite close; on_close(code) runs now. TCP: the polite close. During the
    // handshake: the polite close without a frame. No effect once closing.
    void close(uint16_t code, std::string_view reason);
    // Drops the socket now (on_close(1006) if the connection was open).
    void abort();
    // Stops (true) or resumes (false) reading while open (the session layer pauses a session
    // whose authentication is pending). Frames already read are still delivered, in order:
    // the rest of the current read up to the turn's frame budget, even after
    // pause_reading(true) from on_message; what the budget left waits for pause_reading(false).
    void pause_reading(bool paused);

    // The session's pointer; the connection never looks at it.
    void *user_data = nullptr;
    // The owner's bits (what it counted this connection under); never looked at either.
    uint8_t owner_flags = 0;

    // The owner's list of its connections (an IntrusiveList: O(1) removal, no allocation).
    ListHook<Connection> owner_hook;
    // FlushQueue's list: queued for this loop turn's write.
    ListHook<Connection> flush_hook;

private:
    template <typename C, ListHook<C> C::*> friend class FlushList;
    static void on_read(bufferevent *, void *self);
    static void on_write(bufferevent *, void *self);
    static void on_event(bufferevent *, short what, void *self);
    static void on_timer(evutil_socket_t, short, void *self);
    static void on_io(evutil_socket_t, short what, void *self);

    // What parse_head did with an upgrade request.
    enum class Head { need_more, refused, opened, failed };
    // Parses the request head p[0, n) (n at most the header limit plus one byte); on success
    // answers 101 and opens the session, *consumed being the head's length.
    Head parse_head(const char *p, size_t n, size_t *consumed);
    void read_handshake(evbuffer *in);
    // Plain: a request head's bytes (maybe joined to the start kept in the spill), then frames.
    void read_handshake_plain(uint8_t *p, size_t n);
    // Decodes frames or TCP messages from p + off on; advances off past what was consumed and
    // says whether reading goes on. p must be writable (unmasked in place).
    bool decode(uint8_t *p, size_t n, size_t &off);
    // Plain: decode(p, n, off), keeping the bytes the frame budget left for resume().
    void decode_plain(uint8_t *p, size_t n, size_t off);
    // Handles the input the budget left over on the next loop turn (the timer).
    void resume_later();
    void resume();
    void read_chains(evbuffer *in);
    // Plain: reads the socket (see the file comment) and handles what came.
    void read_plain();
    void take_plain(uint8_t *p, size_t n);
    bool reading_plain() const;
    // Plain: (re)registers the event for what is wanted now (EV_READ, EV_WRITE); false (logged)
    // when libevent refused. watch() finishes the connection then.
    bool update_events();
    bool watch();
    // Plain: writev's of the output while they take everything; false when the socket failed
    // (then the connection is finished). `counted`: by FlushQueue::writes.
    bool write_plain(bool counted);
    bool handle_frame(const frame::FrameEvent &ev);
    bool handle_tcp(const frame::TcpEvent &ev); // one TCP message or a framing error
    void open_session();
    void end_session(uint16_t code);
    void close_politely();
    void shut_write();
    void finish();
    // Output was queued: plain sockets join the flush queue unless libevent is writing.
    void queue_flush();
    // Called by the flush queue: one writev of the output; EV_WRITE if the socket would block.
    void flush();
    // Some output was written: shut the write side when closing and the output is empty,
    // on_send_ready at the soft mark, and EV_WRITE off again once the output is empty.
    void after_write();

    // Admission of `n` more outbound bytes against glide_send_buffer_limit; closes the
    // connection with 1008 and answers false when they do not fit.
    bool admit(size_t n);
    // Creates the timer if need be and (re)arms it; false (logged) when it cannot be created.
    bool arm_timer(uint64_t ms);
    SendResult after_send(size_t n);
    // Queues `n` bytes, then `m` bytes of `q` (a frame's header and payload in one go).
    bool append(const void *p, size_t n, const void *q = nullptr, size_t m = 0);
    SendResult send_control(frame::Opcode op, std::span<const uint8_t> payload);
    void log(glide_log_level level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

    ConnectionHome &home_;
    MessageHandler &handler_;
    BuffereventPtr bev_; // TLS only
    // Plain sockets only: the socket, its event (embedded: no allocation) and the output.
    int fd_ = -1;
    short ev_flags_ = 0; // what ev_ is added with; 0: not added
    bool paused_ = false; // pause_reading (TLS too)
    event ev_;
    OutQueue out_;
    // Plain, and rare: what a connection keeps between reads. The start of an unfinished
    // upgrade request (head), and bytes read before (handed over, or left by the frame budget:
    // input), handled first by the next read_plain. Allocated when needed, freed when empty.
    struct Spill {
        std::string head;
        std::string input;
    };
    std::unique_ptr<Spill> spill_;
    Spill *spill(); // allocates it when needed; nullptr when out of memory
    void unspill(); // frees it when both are empty
    bool has_input() const { return spill_ && !spill_->input.empty(); }
    // The handshake timeout, the linger bound of the polite close, and while open the resume of
    // the frame budget (created when first needed: most open connections never carry one).
    EventPtr timer_;
    std::shared_ptr<const ConnectionSettings> settings_;
    Address peer_;
    State state_ = State::handshake;
    CodecKind codec_;
    bool opened_ = false;     // on_open ran, so on_close is owed
    bool opened_tls_ = false; // the TLS handshake completed: close with close_notify
    bool close_reported_ = false;
    bool want_ready_ = false; // a send answered above_soft_mark; on_send_ready is owed
    bool writing_ = false;    // plain: the socket would block; EV_WRITE writes the rest
    bool resuming_ = false;   // the budget ran out with input left: the timer resumes it
    unsigned budget_ = kFrameBudget; // frames left this turn
    uint16_t refuse_status_ = 0;     // refuse(): the upgrade's answer
    const char *refuse_reason_ = "";
    // The decoder, from on_open on: one of the two, in place.
    std::variant<std::monostate, frame::FrameDecoder, frame::TcpDecoder> decoder_;
    bool ws() const { return std::holds_alternative<frame::FrameDecoder>(decoder_); }
};

// The module's flush queue (flush_queue.h) for the connections of one event_base. It also owns
// what the plain connections of the base share: the read buffer and the pool of output chunks.
class FlushQueue : public FlushList<Connection, &Connection::flush_hook> {
public:
    // ok() is false when the event or the read buffer could not be created.
    explicit FlushQueue(event_base *base);
    bool ok() const { return FlushList::ok() && read_buf_ != nullptr; }

    // Plain sockets read into this buffer, one connection at a time.
    static constexpr size_t kReadBuffer = 64 * 1024;
    uint8_t *read_buffer() { return read_buf_.get(); }
    ChunkPool &chunks() { return chunks_; }

private:
    ChunkPool chunks_;
    std::unique_ptr<uint8_t[]> read_buf_;
};

// The frames and bytes connections carried (their payloads and framing, TLS records not
// counted).
struct Traffic {
    uint64_t bytes_in = 0;
    uint64_t bytes_out = 0;
    uint64_t messages_in = 0;
    uint64_t messages_out = 0;
};

// What the connections of one owner on one event_base share: each holds one reference to it
// instead of a copy of each (thousands of idle connections are the common case, so a
// connection's size is the broker's memory). It must outlive its connections.
struct ConnectionHome {
    ConnectionHome(event_base *base, ConnectionOwner &owner);
    bool ok() const { return flush.ok(); }

    event_base *const base;
    ConnectionOwner &owner;
    FlushQueue flush;
    // Counted as they happen, so that the totals include the open connections without a walk
    // over them.
    Traffic traffic;
};

} // namespace glide::net
