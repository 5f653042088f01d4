// libFuzzer target: the WebSocket frame decoder. The first input byte picks the message size
// limit and the chunking; the rest is the client's byte stream. The stream is decoded whole and
// in chunks, and both must give the same events (the property test_ws_frame checks on known
// cases), besides ASan/UBSan finding nothing. Built by tests/fuzz/build_frame.sh.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "frame/ws_frame.h"

using namespace glide::frame;

namespace {

struct Got {
    FrameEventType type;
    uint16_t code;
    std::string payload;
    bool operator==(const Got &o) const {
        return type == o.type && code == o.code && payload == o.payload;
    }
};

std::vector<Got> run(const uint8_t *data, size_t n, uint64_t max, uint32_t seed) {
    FrameDecoder dec({max});
    std::vector<Got> got;
    std::vector<uint8_t> pending;
    size_t from = 0;
    while (from < n) {
        size_t chunk = n - from;
        if (seed) {
            seed = seed * 1103515245u + 12345u;
            chunk = 1 + (seed >> 16) % 17;
            if (chunk > n - from)
                chunk = n - from;
        }
        pending.insert(pending.end(), data + from, data + from + chunk);
        from += chunk;
        size_t off = 0;
        for (;;) {
            FrameEvent ev;
            DecodeResult r = dec.decode({pending.data() + off, pending.size() - off}, &ev);
            if (r.consumed > pending.size() - off)
                abort();
            off += r.consumed;
            if (r.status == DecodeStatus::need_more) {
                if (off != pending.size())
                    abort();
                break;
            }
            if (ev.type == FrameEventType::text && !utf8_valid(ev.payload))
                abort();
            if (ev.payload.size() > max &&
                (ev.type == FrameEventType::text || ev.type == FrameEventType::binary))
                abort();
            got.push_back({ev.type, ev.code, std::string(ev.text())});
            if (ev.type == FrameEventType::error)
                return got;
        }
        pending.erase(pending.begin(), pending.begin() + static_cast<long>(off));
    }
    return got;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1)
        return 0;
    const uint64_t max = uint64_t(1) << (4 + (data[0] & 15)); // 16 B .. 512 KiB
    const uint32_t seed = data[0] | 1u;
    std::vector<Got> whole = run(data + 1, size - 1, max, 0);
    std::vector<Got> chunked = run(data + 1, size - 1, max, seed);
    if (!(whole == chunked))
        abort();

    // The close frame writer on whatever follows: always a legal frame.
    uint8_t out[kMaxCloseFrame];
    uint16_t code = size >= 3 ? static_cast<uint16_t>(data[1] << 8 | data[2]) : 1000;
    std::string_view reason(reinterpret_cast<const char *>(data), size);
    size_t n = encode_close_frame(out, code, reason);
    if (n < 2 || n > kMaxCloseFrame || out[1] != n - 2)
        abort();
    if (utf8_valid(data, size) && n > 4 && !utf8_valid(out + 4, n - 4))
        abort();
    return 0;
}
