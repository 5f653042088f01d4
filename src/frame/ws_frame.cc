#include "frame/ws_frame.h"

#include <cstdlib>
#include <cstring>

namespace glide::frame {

namespace {

constexpr bool is_control(uint8_t op) {
    return op & 0x8;
}

// Keep a small assembly buffer between messages; give a large one back so that thousands of
// idle connections do not each hold their largest message ever received.
constexpr size_t kKeepBuffer = 16 * 1024;

uint64_t load_be(const uint8_t *p, size_t n) {
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

} // namespace

void unmask(uint8_t *p, size_t n, const uint8_t key[4], uint64_t offset) {
    uint8_t k[8];
    for (size_t i = 0; i < 8; i++)
        k[i] = key[(offset + i) & 3];
    uint64_t k64;
    std::memcpy(&k64, k, 8);
    size_t i = 0;
    // memcpy keeps the word loads legal at any alignment; compilers turn them into plain
    // (and, at -O2, vectorised) loads.
    for (; i + 32 <= n; i += 32) {
        uint64_t w[4];
        std::memcpy(w, p + i, 32);
        w[0] ^= k64;
        w[1] ^= k64;
        w[2] ^= k64;
        w[3] ^= k64;
        std::memcpy(p + i, w, 32);
    }
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        std::memcpy(&w, p + i, 8);
        w ^= k64;
        std::memcpy(p + i, &w, 8);
    }
    for (; i < n; i++)
        p[i] ^= k[i & 7];
}

FrameDecoder::FrameDecoder(FrameLimits limits)
    : max_message_size_(limits.max_message_size), from_server_(limits.from_server) {}

FrameDecoder::~FrameDecoder() {
    std::free(buf_);
}

void FrameDecoder::release_buffer() {
    buf_len_ = 0;
    if (buf_cap_ > kKeepBuffer) {
        std::free(buf_);
        buf_ = nullptr;
        buf_cap_ = 0;
    }
}

bool FrameDecoder::reserve(uint64_t total) {
    if (total <= buf_cap_)
        return true;
    // The limit was checked against the header, so `total` is bounded by max_message_size;
    // growing to exactly what the frame announces means one allocation per frame.
    void *p = std::realloc(buf_, static_cast<size_t>(total));
    if (!p)
        return false;
    buf_ = static_cast<uint8_t *>(p);
    buf_cap_ = static_cast<size_t>(total);
    return true;
}

DecodeResult FrameDecoder::fail_with(size_t consumed, uint16_t code, const char *reason,
                                     FrameEvent *ev) {
    state_ = State::failed;
    err_code_ = code;
    err_reason_ = reason;
    *ev = FrameEvent{};
    ev->type = FrameEventType::error;
    ev->code = code;
    ev->reason = reason;
    return {consumed, DecodeStatus::event};
}

// Checks the header in `h[0..avail)` byte by byte, in wire order, so that the first error found
// does not depend on how the bytes were split into reads.
FrameDecoder::HeaderStatus FrameDecoder::parse_header(const uint8_t *h, size_t avail,
                                                      size_t *header_len) {
    if (avail < 1)
        return HeaderStatus::need_more;
    const uint8_t b0 = h[0];
    const bool fin = b0 & 0x80;
    const uint8_t op = b0 & 0x0F;
    if (b0 & 0x70) {
        err_reason_ = "reserved bits set";
        return HeaderStatus::error;
    }
    if ((op >= 3 && op <= 7) || op >= 11) {
        err_reason_ = "reserved opcode";
        return HeaderStatus::error;
    }
    if (is_control(op)) {
        if (!fin) {
            err_reason_ = "fragmented control frame";
            return HeaderStatus::error;
        }
    } else if (op == 0 && !in_message_) {
        err_reason_ = "continuation frame without a message";
        return HeaderStatus::error;
    } else if (op != 0 && in_message_) {
        err_reason_ = "new message inside a fragmented message";
        return HeaderStatus::error;
    }
    if (avail < 2)
        return HeaderStatus::need_more;
    const uint8_t b1 = h[1];
    const bool masked = b1 & 0x80;
    if (!masked && !from_server_) {
        err_reason_ = "client frame not masked";
        return HeaderStatus::error;
    }
    if (masked && from_server_) {
        err_reason_ = "server frame masked";
        return HeaderStatus::error;
    }
    const uint8_t len7 = b1 & 0x7F;
    if (is_control(op) && len7 > 125) {
        err_reason_ = "control frame payload too long";
        return HeaderStatus::error;
    }
    size_t ext = len7 == 126 ? 2 : len7 == 127 ? 8 : 0;
    if (avail < 2 + ext)
        return HeaderStatus::need_more;
    uint64_t len = len7;
    if (ext == 2) {
        len = load_be(h + 2, 2);
        if (len < 126) {
            err_reason_ = "non-minimal frame length";
            return HeaderStatus::error;
        }
    } else if (ext == 8) {
        len = load_be(h + 2, 8);
        if (len >> 63) {
            err_reason_ = "frame length too large";
            return HeaderStatus::error;
        }
        if (len <= 0xFFFF) {
            err_reason_ = "non-minimal frame length";
            return HeaderStatus::error;
        }
    }
    if (!is_control(op)) {
        const uint64_t before = op == 0 ? buf_len_ : 0;
        if (len > max_message_size_ || before + len > max_message_size_) {
            err_code_ = kCloseTooBig;
            err_reason_ = "message too big";
            return HeaderStatus::error;
        }
    }
    const size_t key_len = masked ? 4 : 0;
    if (avail < 2 + ext + key_len)
        return HeaderStatus::need_more;
    if (masked)
        std::memcpy(mask_, h + 2 + ext, 4); // else mask_ stays zero: unmask() changes nothing
    fin_ = fin;
    opcode_ = op;
    frame_len_ = len;
    received_ = 0;
    *header_len = 2 + ext + key_len;
    return HeaderStatus::ok;
}

DecodeResult FrameDecoder::control_event(std::span<uint8_t> payload, size_t consumed,
                                         FrameEvent *ev) {
    *ev = FrameEvent{};
    switch (static_cast<Opcode>(opcode_)) {
    case Opcode::ping:
        ev->type = FrameEventType::ping;
        ev->payload = payload;
        return {consumed, DecodeStatus::event};
    case Opcode::pong:
        ev->type = FrameEventType::pong;
        ev->payload = payload;
        return {consumed, DecodeStatus::event};
    default:
        break;
    }
    // Close (RFC 6455 §5.5.1): empty, or a 2-byte code and a UTF-8 reason.
    if (payload.size() == 1)
        return fail_with(consumed, kCloseProtocolError, "close frame payload of 1 byte", ev);
    uint16_t code = kCloseNoStatus;
    std::span<const uint8_t> reason;
    if (payload.size() >= 2) {
        code = static_cast<uint16_t>(payload[0] << 8 | payload[1]);
        if (!close_code_valid(code))
            return fail_with(consumed, kCloseProtocolError, "invalid close code", ev);
        reason = payload.subspan(2);
        if (!utf8_valid(reason))
            return fail_with(consumed, kCloseInvalidPayload, "invalid UTF-8 in close reason", ev);
    }
    state_ = State::closed;
    ev->type = FrameEventType::close;
    ev->code = code;
    ev->payload = reason;
    return {consumed, DecodeStatus::event};
}

DecodeResult FrameDecoder::decode(std::span<uint8_t> in, FrameEvent *ev) {
    if (release_pending_) {
        // The last event pointed into the buffer; the caller is done with it now.
        release_pending_ = false;
        release_buffer();
    }
    if (state_ == State::failed)
        return fail_with(0, err_code_, err_reason_, ev);
    if (state_ == State::closed)
        return {in.size(), DecodeStatus::need_more}; // nothing follows a close (§5.5.1)

    uint8_t *data = in.data();
    const size_t len = in.size();
    size_t off = 0;

    for (;;) {
        if (state_ == State::header) {
            const uint8_t *h = data + off;
            size_t avail = len - off;
            size_t old = hdr_len_;
            if (old > 0) {
                // Complete the saved header bytes with the new input (without consuming yet).
                size_t take = avail < sizeof(hdr_) - old ? avail : sizeof(hdr_) - old;
                if (take > 0)
                    std::memcpy(hdr_ + old, data + off, take);
                h = hdr_;
                avail = old + take;
            }
            size_t header_len = 0;
            err_code_ = kCloseProtocolError;
            switch (parse_header(h, avail, &header_len)) {
            case HeaderStatus::need_more:
                // A header is at most 14 bytes, so everything left fits in hdr_.
                hdr_len_ = static_cast<uint8_t>(avail);
                if (old == 0 && avail > 0)
                    std::memcpy(hdr_, data + off, avail);
                return {len, DecodeStatus::need_more};
            case HeaderStatus::error:
                return fail_with(len, err_code_, err_reason_, ev);
            case HeaderStatus::ok:
                break;
            }
            off += header_len - old;
            hdr_len_ = 0;

            const size_t rest = len - off;
            if (is_control(opcode_)) {
                if (rest >= frame_len_) {
                    // Whole control frame present: unmask in place, no copy.
                    uint8_t *p = data + off;
                    unmask(p, frame_len_, mask_, 0);
                    off += frame_len_;
                    return control_event({p, frame_len_}, off, ev);
                }
                // It arrives in pieces: assemble it in the buffer, after the message bytes
                // (the message resumes only once the control frame is complete).
                if (!reserve(ctrl_offset() + frame_len_))
                    return fail_with(off, kCloseInternalError, "out of memory", ev);
            } else if (opcode_ != 0 && fin_ && rest >= frame_len_) {
                // The common case: an unfragmented message wholly in the input.
                uint8_t *p = data + off;
                const size_t n = static_cast<size_t>(frame_len_);
                unmask(p, n, mask_, 0);
                off += n;
                const bool text = opcode_ == static_cast<uint8_t>(Opcode::text);
                if (text && !utf8_valid(std::span<const uint8_t>(p, n)))
                    return fail_with(off, kCloseInvalidPayload, "invalid UTF-8 in text message",
                                     ev);
                *ev = FrameEvent{};
                ev->type = text ? FrameEventType::text : FrameEventType::binary;
                ev->payload = {p, n};
                return {off, DecodeStatus::event};
            } else {
                if (opcode_ != 0) {
                    in_message_ = true;
                    msg_opcode_ = opcode_;
                    buf_len_ = 0;
                    utf8_.reset();
                }
                if (!reserve(buf_len_ + frame_len_))
                    return fail_with(off, kCloseInternalError, "out of memory", ev);
            }
            state_ = State::payload;
        }

        // State::payload: copy what is here of the current frame.
        const uint64_t want = frame_len_ - received_;
        const size_t n = static_cast<size_t>(want < len - off ? want : len - off);
        if (n == 0) {
            // An empty frame, or an empty call: nothing to copy (and no null pointers to
            // hand to memcpy).
        } else if (is_control(opcode_)) {
            uint8_t *dst = buf_ + ctrl_offset() + received_;
            std::memcpy(dst, data + off, n);
            unmask(dst, n, mask_, received_);
        } else {
            uint8_t *dst = buf_ + buf_len_;
            std::memcpy(dst, data + off, n);
            unmask(dst, n, mask_, received_);
            buf_len_ += n;
            if (msg_opcode_ == static_cast<uint8_t>(Opcode::text) && !utf8_.feed(dst, n))
                return fail_with(off + n, kCloseInvalidPayload, "invalid UTF-8 in text message",
                                 ev);
        }
        off += n;
        received_ += n;
        if (received_ < frame_len_)
            return {off, DecodeStatus::need_more};

        state_ = State::header;
        if (is_control(opcode_))
            return control_event({buf_ + ctrl_offset(), received_}, off, ev);
        if (!fin_)
            continue; // a fragment: the message goes on
        in_message_ = false;
        const bool text = msg_opcode_ == static_cast<uint8_t>(Opcode::text);
        if (text && !utf8_.complete())
            return fail_with(off, kCloseInvalidPayload, "invalid UTF-8 in text message", ev);
        release_pending_ = true;
        *ev = FrameEvent{};
        ev->type = text ? FrameEventType::text : FrameEventType::binary;
        ev->payload = {buf_, buf_len_};
        return {off, DecodeStatus::event};
    }
}

// --- encoding -------------------------------------------------------------------------------

size_t encode_frame_header(uint8_t *out, Opcode op, uint64_t payload_len, bool fin) {
    out[0] = static_cast<uint8_t>((fin ? 0x80 : 0) | static_cast<uint8_t>(op));
    if (payload_len <= 125) {
        out[1] = static_cast<uint8_t>(payload_len);
        return 2;
    }
    if (payload_len <= 0xFFFF) {
        out[1] = 126;
        out[2] = static_cast<uint8_t>(payload_len >> 8);
        out[3] = static_cast<uint8_t>(payload_len);
        return 4;
    }
    out[1] = 127;
    for (int i = 0; i < 8; i++)
        out[2 + i] = static_cast<uint8_t>(payload_len >> (56 - 8 * i));
    return 10;
}

size_t encode_frame(uint8_t *out, size_t cap, Opcode op, std::span<const uint8_t> payload,
                    bool fin) {
    const bool control = static_cast<uint8_t>(op) & 0x8;
    if (control && (payload.size() > kMaxControlPayload || !fin))
        return 0;
    const size_t total = frame_header_size(payload.size()) + payload.size();
    if (cap < total)
        return 0;
    size_t h = encode_frame_header(out, op, payload.size(), fin);
    if (!payload.empty())
        std::memcpy(out + h, payload.data(), payload.size());
    return total;
}

size_t encode_masked_frame_header(uint8_t *out, Opcode op, uint64_t payload_len,
                                  const uint8_t key[4], bool fin) {
    size_t h = encode_frame_header(out, op, payload_len, fin);
    out[1] |= 0x80;
    std::memcpy(out + h, key, 4);
    return h + 4;
}

size_t encode_close_frame(uint8_t *out, uint16_t code, std::string_view reason) {
    if (code == 0 || !close_code_valid(code))
        return encode_frame_header(out, Opcode::close, 0);
    const auto *r = reinterpret_cast<const uint8_t *>(reason.data());
    const size_t rlen = utf8_truncate(r, reason.size(), kMaxCloseReason);
    size_t h = encode_frame_header(out, Opcode::close, 2 + rlen);
    out[h] = static_cast<uint8_t>(code >> 8);
    out[h + 1] = static_cast<uint8_t>(code);
    if (rlen)
        std::memcpy(out + h + 2, r, rlen);
    return h + 2 + rlen;
}

} // namespace glide::frame
