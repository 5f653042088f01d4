// libFuzzer target: the upgrade-request parser and the answer writers. Besides the sanitizers
// it checks that a prefix of the input never answers differently from the whole (it may only
// ask for more), that every returned string points into the input, and that an answer always
// fits kMaxUpgradeResponse. The first byte picks the limits and the allow-list.
// Built by tests/fuzz/build_frame.sh.
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "frame/ws_handshake.h"

using namespace glide::frame;

namespace {

bool inside(std::string_view s, const char *base, size_t n) {
    return s.empty() || (s.data() >= base && s.data() + s.size() <= base + n);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1)
        return 0;
    static const std::string_view origins[] = {"https://chat.example.com", "http://localhost"};
    HandshakeConfig cfg{.path = "/ws"};
    cfg.max_header_bytes = (data[0] & 1) ? 256 : kDefaultMaxHeaderBytes;
    cfg.max_headers = (data[0] & 2) ? 4 : kDefaultMaxHeaders;
    if (data[0] & 4)
        cfg.allowed_origins = origins;
    // A heap copy of exactly the input, so that ASan catches reads past its end.
    std::vector<char> in(data + 1, data + size);
    const size_t n = in.size();
    Header scratch[kDefaultMaxHeaders];
    HandshakeRequest req;
    HandshakeResult whole = parse_handshake(in.data(), n, cfg, &req, scratch);
    char out[kMaxUpgradeResponse];
    if (whole.status == HandshakeStatus::complete) {
        if (whole.consumed > n || !inside(req.path, in.data(), n) ||
            !inside(req.key, in.data(), n) || !inside(req.host, in.data(), n))
            abort();
        for (const Header &h : req.headers)
            if (!inside(h.name, in.data(), n) || !inside(h.value, in.data(), n))
                abort();
        if (write_upgrade_response(req, out, sizeof out) == 0)
            abort();
    } else if (whole.status == HandshakeStatus::error) {
        if (write_error_response(whole, out, sizeof out) == 0)
            abort();
    }
    // A few prefixes (all of them for short inputs).
    const size_t step = n > 64 ? n / 32 : 1;
    for (size_t i = 0; i < n; i += step) {
        std::vector<char> pre(in.begin(), in.begin() + static_cast<long>(i));
        HandshakeResult p = parse_handshake(pre.data(), pre.size(), cfg, &req, scratch);
        if (p.status == HandshakeStatus::need_more)
            continue;
        if (p.status != whole.status || p.http_status != whole.http_status ||
            p.consumed != whole.consumed)
            abort();
    }
    return 0;
}
