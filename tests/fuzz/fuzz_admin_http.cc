// libFuzzer target: glided's admin HTTP request-head parser and its path and query helpers.
// Besides the sanitizers it checks that a parsed head lies inside the input and within the
// limit, that every returned string points into the input, and that a prefix of a complete
// head never parses as done with a different length. The first byte picks the head limit.
// Built by tests/fuzz/build_host.sh.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "host/admin/admin_http.h"

using namespace glide::host;

namespace {

bool inside(std::string_view s, const char *base, size_t n) {
    return s.empty() || (s.data() >= base && s.data() + s.size() <= base + n);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1)
        return 0;
    size_t max = (data[0] & 1) ? 64 : 8192;
    std::string_view in(reinterpret_cast<const char *>(data + 1), size - 1);
    http::Request r;
    http::ParseResult p = http::parse_request(in, max, &r);
    if (p.state == http::Parse::error && (p.status < 400 || p.status > 599 || !p.error))
        abort();
    if (p.state != http::Parse::done)
        return 0;
    if (r.head_bytes == 0 || r.head_bytes > in.size() || r.head_bytes > max)
        abort();
    for (std::string_view s : {r.method, r.target, r.path, r.query, r.authorization,
                               r.content_type})
        if (!inside(s, in.data(), r.head_bytes))
            abort();
    // The head alone parses the same; one byte less is never done.
    http::Request again;
    if (http::parse_request(in.substr(0, r.head_bytes), max, &again).state != http::Parse::done ||
        again.head_bytes != r.head_bytes)
        abort();
    if (http::parse_request(in.substr(0, r.head_bytes - 1), max, &again).state ==
        http::Parse::done)
        abort();
    std::string v;
    (void)http::query_param(r.query, "uid", &v);
    for (std::string_view seg : http::split_path(r.path)) {
        if (!inside(seg, in.data(), r.head_bytes))
            abort();
        if (http::percent_decode(seg, &v) && v.size() > seg.size())
            abort();
    }
    (void)http::format_response(200, "application/json", r.target, r.keep_alive);
    return 0;
}
