// TCP framing for glide's plain-TCP listeners (design.md §5): every message is a 4-byte
// big-endian length followed by that many bytes of one encoded message (JSON or protobuf, fixed
// per listener). No I/O: bytes in, events out, like FrameDecoder.
//
//     TcpDecoder dec({.max_message_size = 65536});
//     size_t off = 0;
//     for (;;) {
//         TcpEvent ev;
//         DecodeResult r = dec.decode({buf + off, len - off}, &ev);
//         off += r.consumed;
//         if (r.status == DecodeStatus::need_more)
//             break;
//         if (ev.type == TcpEventType::error)
//             break; // close the connection; ev.reason says why
//         handle(ev.payload); // valid until the next decode() call
//     }
//     evbuffer_drain(input, off);
//
// A message that lies wholly in the input is returned in place (zero-copy); one that arrives in
// pieces is assembled in a buffer sized from its header after the limit check. The decoder
// consumes every byte it is given unless it returns an event.
//
// Errors (sticky): a zero length (no encoded message is empty, and a stream of zero headers
// would otherwise be a free busy loop for a peer), a length above max_message_size (checked
// before anything is buffered), or a failed allocation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "frame/ws_frame.h" // DecodeStatus, DecodeResult

namespace glide::frame {

inline constexpr size_t kTcpHeaderSize = 4;

struct TcpLimits {
    // glide_max_message_size, whose directive record holds the default (none here).
    uint32_t max_message_size;
};

enum class TcpEventType : uint8_t { message, error };

struct TcpEvent {
    TcpEventType type = TcpEventType::error;
    // The message. Borrowed: it points into the input or into the decoder and is valid until
    // the next decode() call.
    std::span<const uint8_t> payload;
    // error: a short static English sentence.
    std::string_view reason;
};

class TcpDecoder {
public:
    explicit TcpDecoder(TcpLimits limits);
    ~TcpDecoder();
    TcpDecoder(const TcpDecoder &) = delete;
    TcpDecoder &operator=(const TcpDecoder &) = delete;

    // Decodes from `in` up to and including the next event; at most one event per call.
    DecodeResult decode(std::span<const uint8_t> in, TcpEvent *ev);

    bool failed() const { return failed_; }

private:
    DecodeResult fail_with(size_t consumed, std::string_view reason, TcpEvent *ev);

    TcpLimits limits_;
    bool failed_ = false;
    bool release_pending_ = false;
    std::string_view err_reason_;
    uint8_t hdr_[kTcpHeaderSize];
    uint8_t hdr_len_ = 0;
    bool in_payload_ = false;
    uint32_t msg_len_ = 0;
    uint8_t *buf_ = nullptr;
    size_t buf_len_ = 0;
    size_t buf_cap_ = 0;
};

// Writes the 4-byte header for a message of `len` bytes. The message itself follows, sent by
// reference when it is shared between connections.
inline void encode_tcp_header(uint8_t out[kTcpHeaderSize], uint32_t len) {
    out[0] = static_cast<uint8_t>(len >> 24);
    out[1] = static_cast<uint8_t>(len >> 16);
    out[2] = static_cast<uint8_t>(len >> 8);
    out[3] = static_cast<uint8_t>(len);
}

} // namespace glide::frame
