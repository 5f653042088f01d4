// libFuzzer target: the TCP length-prefix decoder, whole versus chunked, plus the sanitizers.
// The first byte picks the limit and the chunking. Built by tests/fuzz/build_frame.sh.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "frame/tcp_frame.h"

using namespace glide::frame;

namespace {

std::vector<std::string> run(const uint8_t *data, size_t n, uint32_t max, uint32_t seed) {
    TcpDecoder dec({max});
    std::vector<std::string> got;
    std::vector<uint8_t> pending;
    size_t from = 0;
    while (from < n) {
        size_t chunk = n - from;
        if (seed) {
            seed = seed * 1103515245u + 12345u;
            chunk = 1 + (seed >> 16) % 11;
            if (chunk > n - from)
                chunk = n - from;
        }
        pending.insert(pending.end(), data + from, data + from + chunk);
        from += chunk;
        size_t off = 0;
        for (;;) {
            TcpEvent ev;
            DecodeResult r = dec.decode({pending.data() + off, pending.size() - off}, &ev);
            off += r.consumed;
            if (r.status == DecodeStatus::need_more) {
                if (off != pending.size())
                    abort();
                break;
            }
            if (ev.type == TcpEventType::error) {
                got.push_back("error: " + std::string(ev.reason));
                return got;
            }
            if (ev.payload.empty() || ev.payload.size() > max)
                abort();
            got.emplace_back(reinterpret_cast<const char *>(ev.payload.data()), ev.payload.size());
        }
        pending.erase(pending.begin(), pending.begin() + static_cast<long>(off));
    }
    return got;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1)
        return 0;
    const uint32_t max = 1u << (data[0] & 15);
    if (run(data + 1, size - 1, max, 0) != run(data + 1, size - 1, max, data[0] | 1u))
        abort();
    return 0;
}
