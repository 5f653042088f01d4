// The lower edge of the protocol core: what a session needs from its connection.
//
// The transport (WebSocket or TCP framing on libevent) implements Link; the protocol core never
// touches a socket. A Link carries whole messages: send() takes one encoded message (the
// transport frames it), and the transport hands each decoded frame's payload to
// dispatch::Dispatcher::on_frame().
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "codec/message.h"

namespace glide::session {

// What a send did. Modelled on uWebSockets: a send never fails silently.
enum class SendResult : uint8_t {
    ok,         // queued; the output buffer is below the transport's soft mark
    above_soft, // queued, but the output buffer is above the soft mark: stop feeding optional
                // traffic (the offline replay) until the transport reports it drained
    closed,     // refused: the link is closing or closed
};

// One encoded message as the transport gets it. A transport copies bytes() into its output
// buffer, or, for a large message, takes share(): a reference to one immutable buffer for
// every recipient of a fan-out (made on the first share(), without copying the bytes), kept
// until written (by the plain connection's output queue, or evbuffer_add_reference under
// TLS). A message sent to one connection and copied costs
// one buffer, reused by nobody else.
class Encoded {
public:
    std::string_view bytes() const { return shared_ ? std::string_view(*shared_) : text_; }
    size_t size() const { return bytes().size(); }
    const std::shared_ptr<const std::string> &share() {
        if (!shared_)
            shared_ = std::make_shared<const std::string>(std::move(text_));
        return shared_;
    }
    // The encoder's output; only before the first share().
    std::string &text() { return text_; }

private:
    std::string text_;
    std::shared_ptr<const std::string> shared_;
};

// One connection as the protocol core sees it. All calls happen on the loop thread.
class Link {
public:
    virtual ~Link() = default;

    // The codec of this connection (WebSocket subprotocol or the TCP listener's setting).
    virtual codec::Codec codec() const = 0;

    // Queues one encoded message (see Encoded: copied, or shared by reference).
    virtual SendResult send(Encoded &msg) = 0;

    // Bytes accepted by send() and not yet written to the socket. The session compares it with
    // glide_send_buffer_limit (the slow-consumer rule, design.md §5.13).
    virtual size_t buffered() const = 0;

    // Starts an orderly close: pending output is flushed, then a close frame with `code` and
    // `reason` (WebSocket; TCP just closes). After close() the Link refuses sends; the transport
    // reports the end with Hub::on_closed() later, never from inside close().
    virtual void close(uint16_t code, std::string_view reason) = 0;

    // Stops (true) or resumes (false) reading from the socket. Frames already parsed may still
    // be delivered after pause_reading(true); the session queues them.
    virtual void pause_reading(bool paused) = 0;

    // "ip:port" of the peer, for logs and the auth request (made when asked for: a connection
    // does not carry its text); empty once the connection is gone.
    virtual std::string peer() const = 0;

    // What per-address limits count the peer by: its IPv4 address, or its IPv6 address's /64
    // ("2001:db8:1:2::/64"); empty once the connection is gone.
    virtual std::string source() const = 0;
};

// WebSocket close codes the core uses (design.md §5.12).
namespace close_code {
inline constexpr uint16_t going_away = 1001;
inline constexpr uint16_t protocol_error = 1002;
inline constexpr uint16_t slow_consumer = 1008; // RFC 6455 "policy violation"
inline constexpr uint16_t policy_violation = 1008;
inline constexpr uint16_t heartbeat_timeout = 4000;
inline constexpr uint16_t kicked_out = 4001;
} // namespace close_code

} // namespace glide::session
