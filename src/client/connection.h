// One client connection to a glide server on libevent: WebSocket (RFC 6455, client side:
// masked frames out, unmasked frames in) or glide's length-prefixed TCP framing, either codec.
// Framing and codecs are the module's own (src/frame, src/codec); this file adds only the
// client's half of the WebSocket handshake and the socket.
//
//     Connection c(base, &handler);
//     c.connect({.endpoint = ep, .address = addr, .codec = Codec::json});
//     // handler.on_open(c) once the upgrade is done (at once for TCP);
//     // handler.on_message(c, payload) for every encoded message, in arrival order;
//     // handler.on_close(c, info) exactly once, after which the connection is inert.
//
// Reads are batched: one read callback decodes every whole message in the input before it
// returns. Writes go to the bufferevent's output and leave in one write per loop turn: by
// libevent's write event by default, or, with a FlushQueue in ConnectOptions, by the queue
// (no epoll_ctl per send; the write event is enabled only when the socket would block).
// A Connection must not be destroyed inside one of its own handler calls.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "client/endpoint.h"
#include "codec/message.h"
#include "common/result.h"
#include "frame/tcp_frame.h"
#include "frame/ws_frame.h"
#include "common/intrusive_list.h"
#include "net/flush_queue.h"
#include "net/libevent.h"

namespace glide::client {

class Connection;

class FlushQueue;

struct CloseInfo {
    // The close code the server sent (1005 when its close frame carried none), or 1006 when the
    // connection ended without a close frame (EOF, error, refused, TCP framing).
    uint16_t code = 1006;
    std::string reason; // the server's close reason, or what went wrong on our side
    bool connected = false; // false: the connection or the upgrade never completed
};

class ConnectionHandler {
public:
    virtual ~ConnectionHandler() = default;
    virtual void on_open(Connection &) {}
    // One encoded message (JSON text or protobuf bytes). Borrowed: valid during the call.
    virtual void on_message(Connection &, std::string_view payload) = 0;
    virtual void on_close(Connection &, const CloseInfo &) = 0;
};

struct ConnectOptions {
    Endpoint endpoint;
    SockAddr address;                       // resolved endpoint address
    codec::Codec codec = codec::Codec::json; // ws: asked for with the subprotocol
    const SockAddr *source = nullptr;       // bind to this source address (port 0) first
    uint32_t max_message_size = 1 << 20;    // larger inbound messages fail the connection
    FlushQueue *flush = nullptr; // of the connection's event_base; must outlive it. Null:
                                 // libevent's write event writes the output.
};

class Connection {
public:
    Connection(event_base *base, ConnectionHandler *handler);
    ~Connection();
    Connection(const Connection &) = delete;
    Connection &operator=(const Connection &) = delete;

    // Starts connecting. An error here (no socket, bind failed) means on_close is not called.
    Status connect(const ConnectOptions &opt);

    // Frames and queues one encoded message. Ignored unless open.
    void send_payload(std::string_view payload);
    // Encodes e in the connection's codec and sends it. False when it does not encode (only
    // raw data of the other codec that cannot be transcoded fails).
    bool send(const codec::Envelope &e);
    // Starts the close: a WebSocket close frame (the server answers, then on_close), or for TCP
    // an immediate end once the output is flushed.
    void close(uint16_t code = frame::kCloseNormal, std::string_view reason = {});

    bool is_open() const { return state_ == State::open; }
    bool is_closed() const { return state_ == State::closed; }
    codec::Codec codec() const { return codec_; }
    // Bytes queued for the socket and not yet written.
    size_t pending_output() const;
    // Stops and resumes reading from the socket (a deliberately slow receiver).
    void set_reading(bool on);

    void *user = nullptr; // the owner's, untouched by the connection

    // FlushQueue's list: queued for this loop turn's write.
    ListHook<Connection> flush_hook;

private:
    template <typename C, ListHook<C> C::*> friend class net::FlushList;
    enum class State : uint8_t { idle, connecting, upgrading, open, closing, closed };

    static void read_cb(bufferevent *bev, void *self);
    static void write_cb(bufferevent *bev, void *self);
    static void event_cb(bufferevent *bev, short what, void *self);

    void on_connected();
    void on_readable();
    bool read_upgrade(evbuffer *in);
    void read_ws(evbuffer *in);
    void read_tcp(evbuffer *in);
    void send_ws_frame(frame::Opcode op, std::string_view payload);
    // Output was appended: join the flush queue when there is one and the write event is off.
    void output_added();
    // Called by the flush queue: one writev; the write event takes over what is left.
    void flush();
    // Ends the connection after the output is flushed (or now) and reports `info`.
    void finish_after_flush(CloseInfo info);
    void finish(CloseInfo info);

    event_base *base_;
    ConnectionHandler *handler_;
    net::BuffereventPtr bev_;
    FlushQueue *flush_ = nullptr;
    bool writing_ = true; // the write event is enabled (always without a flush queue)
    State state_ = State::idle;
    Endpoint endpoint_;
    codec::Codec codec_ = codec::Codec::json;
    std::string ws_key_;
    std::unique_ptr<frame::FrameDecoder> ws_decoder_; // sized by ConnectOptions
    std::unique_ptr<frame::TcpDecoder> tcp_decoder_;
    std::string scratch_; // encoding buffer, reused
    uint64_t mask_state_;
    bool in_read_ = false;
    bool finish_pending_ = false;
    bool finishing_after_flush_ = false; // the write callback ends the connection
    CloseInfo close_info_;
};

// The connections of one event_base with output to write this loop turn (net/flush_queue.h).
// A load generator with thousands of connections sends one or two messages on each per turn:
// without the queue every send would cost two epoll_ctl calls (libevent adding and removing
// the write event).
class FlushQueue final : public net::FlushList<Connection, &Connection::flush_hook> {
public:
    using FlushList::FlushList;
};

} // namespace glide::client
