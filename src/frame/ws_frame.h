// WebSocket framing (RFC 6455 §5): an incremental decoder for client-to-server frames and an
// encoder for server-to-client frames. No I/O and no libevent: bytes in, events and bytes out.
//
// Decoding, the way the I/O layer uses it:
//
//     FrameDecoder dec({.max_message_size = 65536});
//     // buf/len: everything currently readable (e.g. evbuffer_pullup), writable memory
//     size_t off = 0;
//     for (;;) {
//         FrameEvent ev;
//         DecodeResult r = dec.decode({buf + off, len - off}, &ev);
//         off += r.consumed;
//         if (r.status == DecodeStatus::need_more)
//             break;
//         handle(ev);                    // ev.payload is valid until the next decode() call
//         if (ev.type == FrameEventType::error || ev.type == FrameEventType::close)
//             break;                    // send the close frame, stop reading
//     }
//     evbuffer_drain(input, off);
//
// Zero-copy: an unfragmented frame that lies wholly in the input is unmasked in place and its
// event points into the caller's buffer; nothing is allocated or copied. Frames that arrive in
// pieces, fragmented messages, and control frames that arrive in pieces (they may come between
// a message's fragments) are assembled in one buffer the decoder owns, which it sizes from the
// frame header after the size limit has been checked. The decoder always consumes
// every byte it is given unless it returns an event, so the caller may drain what was consumed
// and never needs to keep a partial frame itself.
//
// Errors (the decoder then stays failed and answers the same error again):
//   1002 protocol error: RSV bits set (no extension is ever negotiated), reserved opcode,
//        unmasked frame, control frame fragmented or longer than 125 bytes, continuation
//        without a message, data frame inside a fragmented message, non-minimal length
//        encoding (RFC 6455 §5.2 says the minimal number of bytes MUST be used; we enforce it),
//        64-bit length with the most significant bit set, close payload of 1 byte, close code
//        not allowed on the wire;
//   1007 invalid UTF-8 in a text message (checked as bytes arrive, so a bad prefix fails at
//        once) or in a close reason;
//   1009 message larger than max_message_size, summed over fragments, checked from the frame
//        header before any of its payload is buffered;
//   1011 the assembly buffer could not be allocated.
// After a close frame the decoder ignores (consumes and drops) whatever follows it.
//
// Thread model: a decoder belongs to one connection and one thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "frame/utf8.h"

namespace glide::frame {

enum class Opcode : uint8_t {
    continuation = 0x0,
    text = 0x1,
    binary = 0x2,
    close = 0x8,
    ping = 0x9,
    pong = 0xA,
};

// Close codes this layer produces (design.md §5 item 12 lists the whole set).
inline constexpr uint16_t kCloseNormal = 1000;
inline constexpr uint16_t kCloseGoingAway = 1001;
inline constexpr uint16_t kCloseProtocolError = 1002;
inline constexpr uint16_t kCloseNoStatus = 1005; // reported, never sent
inline constexpr uint16_t kCloseInvalidPayload = 1007;
inline constexpr uint16_t kClosePolicy = 1008;
inline constexpr uint16_t kCloseTooBig = 1009;
inline constexpr uint16_t kCloseInternalError = 1011;

// Whether a peer may put `code` in a close frame: 1000-1003, 1007-1014 and 3000-4999.
// 1004, 1005, 1006 and 1015 are reserved or local-only; 1016-2999 are unassigned.
constexpr bool close_code_valid(uint16_t code) {
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
           (code >= 3000 && code <= 4999);
}

struct FrameLimits {
    // Largest message accepted, summed over its fragments: glide_max_message_size, whose
    // directive record holds the default (no default here; the caller always says).
    uint64_t max_message_size;
    // The client side (src/client): frames come from a server, so they are never masked, and a
    // masked one is a protocol error (RFC 6455 §5.1).
    bool from_server = false;
};

enum class FrameEventType : uint8_t {
    text,   // a complete text message, valid UTF-8
    binary, // a complete binary message
    ping,   // answer with a pong carrying the same payload
    pong,
    close, // the peer's close frame: code (1005 when it carried none) and reason in payload
    error, // the connection must be failed: send a close frame with `code` and `reason`
};

struct FrameEvent {
    FrameEventType type = FrameEventType::error;
    // close: the peer's code or kCloseNoStatus; error: the code to close with.
    uint16_t code = 0;
    // Message, ping or pong payload, or close reason (UTF-8). Borrowed: it points into the
    // caller's input or into the decoder, and is valid until the next decode() call.
    std::span<const uint8_t> payload;
    // error: a short static English sentence, suitable as the close reason.
    std::string_view reason;

    std::string_view text() const {
        return {reinterpret_cast<const char *>(payload.data()), payload.size()};
    }
};

enum class DecodeStatus : uint8_t {
    need_more, // everything given was consumed; no event yet
    event,     // *ev is filled; `consumed` bytes belong to it (and to earlier partial data)
};

struct DecodeResult {
    size_t consumed = 0;
    DecodeStatus status = DecodeStatus::need_more;
};

class FrameDecoder {
public:
    explicit FrameDecoder(FrameLimits limits);
    ~FrameDecoder();
    FrameDecoder(const FrameDecoder &) = delete;
    FrameDecoder &operator=(const FrameDecoder &) = delete;

    // Decodes from `in` up to and including the next event. The input must be writable: masked
    // payloads are unmasked in place. Returns at most one event per call.
    DecodeResult decode(std::span<uint8_t> in, FrameEvent *ev);

    // True while a message is being assembled: between its fragments, or while one frame
    // arrives in pieces.
    bool in_message() const { return in_message_; }
    // True once a close frame or an error was returned.
    bool finished() const { return state_ == State::closed || state_ == State::failed; }

private:
    enum class State : uint8_t { header, payload, closed, failed };
    enum class HeaderStatus : uint8_t { need_more, ok, error };

    HeaderStatus parse_header(const uint8_t *h, size_t avail, size_t *header_len);
    // `reason` is a static text.
    DecodeResult fail_with(size_t consumed, uint16_t code, const char *reason, FrameEvent *ev);
    DecodeResult control_event(std::span<uint8_t> payload, size_t consumed, FrameEvent *ev);
    bool reserve(uint64_t total);
    void release_buffer();

    // Where a control frame that arrives in pieces is assembled: in buf_, after the bytes of
    // the message it interleaves with (if any).
    size_t ctrl_offset() const { return in_message_ ? buf_len_ : 0; }

    // One decoder per connection (88 bytes): members ordered to keep padding small, and no
    // fixed control-frame buffer (see ctrl_offset()).
    uint64_t max_message_size_; // FrameLimits'

    // The frame being received.
    uint64_t frame_len_ = 0;
    uint64_t received_ = 0; // payload bytes of this frame received so far

    // The message being assembled (fragmented, or one frame that arrived in pieces), and a
    // control frame that arrived in pieces.
    uint8_t *buf_ = nullptr;
    size_t buf_len_ = 0; // message bytes
    size_t buf_cap_ = 0;

    // The error returned again when decode() is called after a failure (a static text).
    const char *err_reason_ = "";
    uint16_t err_code_ = 0;
    bool from_server_; // FrameLimits'

    State state_ = State::header;
    uint8_t opcode_ = 0;
    bool fin_ = false;
    bool in_message_ = false;
    bool release_pending_ = false;
    uint8_t msg_opcode_ = 0;
    Utf8Validator utf8_;
    uint8_t mask_[4] = {0, 0, 0, 0};

    // Header bytes received so far when a header arrives in pieces (at most 2 + 8 + 4).
    uint8_t hdr_len_ = 0;
    uint8_t hdr_[14];
};

// XORs `p[0..n)` with the masking key, starting at payload offset `offset` (so that a payload
// may be unmasked piece by piece). Works a machine word at a time.
void unmask(uint8_t *p, size_t n, const uint8_t key[4], uint64_t offset);

// --- encoding (server to client: never masked) ----------------------------------------------

inline constexpr size_t kMaxFrameHeader = 10;
// Largest control payload (RFC 6455 §5.5) and largest close reason beside its code.
inline constexpr size_t kMaxControlPayload = 125;
inline constexpr size_t kMaxCloseReason = 123;
inline constexpr size_t kMaxCloseFrame = 2 + kMaxControlPayload;

// Bytes of the header for a payload of `len` bytes: 2, 4 or 10.
constexpr size_t frame_header_size(uint64_t len) {
    return len <= 125 ? 2 : len <= 0xFFFF ? 4 : 10;
}

// Writes the header of an unmasked frame (minimal length encoding) into `out`, which must have
// room for kMaxFrameHeader bytes, and returns its size. The payload is then sent by the caller
// right after it: this is how one encoded message is shared by reference between many
// connections (evbuffer_add then evbuffer_add_reference of the shared payload).
size_t encode_frame_header(uint8_t *out, Opcode op, uint64_t payload_len, bool fin = true);

// Writes a whole unmasked frame (header and a copy of the payload) into out[0..cap). Returns
// its size, or 0 when `cap` is too small or a control payload is longer than 125 bytes.
size_t encode_frame(uint8_t *out, size_t cap, Opcode op, std::span<const uint8_t> payload,
                    bool fin = true);

// Writes a close frame into `out` (room for kMaxCloseFrame bytes) and returns its size.
// code 0 sends an empty close payload (no status). Otherwise the reason is cut to 123 bytes at
// a UTF-8 code point boundary. A code that may not appear on the wire (1005, 1006, 1015,
// unassigned ranges; see close_code_valid) also yields an empty close payload, which is always
// legal, rather than a frame the peer would have to reject.
size_t encode_close_frame(uint8_t *out, uint16_t code, std::string_view reason);

// --- encoding (client to server: always masked) ---------------------------------------------

inline constexpr size_t kMaxMaskedFrameHeader = kMaxFrameHeader + 4;

// Writes the header of a masked frame with masking key `key` into `out` (room for
// kMaxMaskedFrameHeader bytes) and returns its size. The caller then appends the payload and
// masks it with unmask(payload, len, key, 0) (XOR is its own inverse).
size_t encode_masked_frame_header(uint8_t *out, Opcode op, uint64_t payload_len,
                                  const uint8_t key[4], bool fin = true);

} // namespace glide::frame
