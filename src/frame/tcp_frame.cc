#include "frame/tcp_frame.h"

#include <cstdlib>
#include <cstring>

namespace glide::frame {

namespace {
constexpr size_t kKeepBuffer = 16 * 1024; // as in FrameDecoder
}

TcpDecoder::TcpDecoder(TcpLimits limits) : limits_(limits) {}

TcpDecoder::~TcpDecoder() {
    std::free(buf_);
}

DecodeResult TcpDecoder::fail_with(size_t consumed, std::string_view reason, TcpEvent *ev) {
    failed_ = true;
    err_reason_ = reason;
    *ev = TcpEvent{};
    ev->type = TcpEventType::error;
    ev->reason = reason;
    return {consumed, DecodeStatus::event};
}

DecodeResult TcpDecoder::decode(std::span<const uint8_t> in, TcpEvent *ev) {
    if (release_pending_) {
        release_pending_ = false;
        buf_len_ = 0;
        if (buf_cap_ > kKeepBuffer) {
            std::free(buf_);
            buf_ = nullptr;
            buf_cap_ = 0;
        }
    }
    if (failed_)
        return fail_with(0, err_reason_, ev);

    const uint8_t *data = in.data();
    const size_t len = in.size();
    size_t off = 0;

    if (!in_payload_) {
        const size_t take = len < kTcpHeaderSize - hdr_len_ ? len : kTcpHeaderSize - hdr_len_;
        const uint8_t *h;
        if (hdr_len_ == 0 && take == kTcpHeaderSize) {
            h = data; // the usual case: the header is in the input
        } else {
            if (take > 0)
                std::memcpy(hdr_ + hdr_len_, data, take);
            hdr_len_ = static_cast<uint8_t>(hdr_len_ + take);
            if (hdr_len_ < kTcpHeaderSize)
                return {len, DecodeStatus::need_more};
            h = hdr_;
        }
        off = take;
        hdr_len_ = 0;
        const uint32_t n = static_cast<uint32_t>(h[0]) << 24 | static_cast<uint32_t>(h[1]) << 16 |
                           static_cast<uint32_t>(h[2]) << 8 | h[3];
        if (n == 0)
            return fail_with(off, "empty message", ev);
        if (n > limits_.max_message_size)
            return fail_with(off, "message too big", ev);
        if (len - off >= n) {
            *ev = TcpEvent{};
            ev->type = TcpEventType::message;
            ev->payload = {data + off, n};
            return {off + n, DecodeStatus::event};
        }
        if (n > buf_cap_) {
            void *p = std::realloc(buf_, n);
            if (!p)
                return fail_with(off, "out of memory", ev);
            buf_ = static_cast<uint8_t *>(p);
            buf_cap_ = n;
        }
        msg_len_ = n;
        buf_len_ = 0;
        in_payload_ = true;
    }

    const size_t want = msg_len_ - buf_len_;
    const size_t n = want < len - off ? want : len - off;
    if (n > 0)
        std::memcpy(buf_ + buf_len_, data + off, n);
    buf_len_ += n;
    off += n;
    if (buf_len_ < msg_len_)
        return {off, DecodeStatus::need_more};
    in_payload_ = false;
    release_pending_ = true;
    *ev = TcpEvent{};
    ev->type = TcpEventType::message;
    ev->payload = {buf_, buf_len_};
    return {off, DecodeStatus::event};
}

} // namespace glide::frame
