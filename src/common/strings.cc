#include "common/strings.h"

#include <cstring>

namespace glide {

std::string errno_text(int err) {
    char buf[256];
    // GNU strerror_r returns the message, which may or may not live in buf.
    const char *msg = strerror_r(err, buf, sizeof buf);
    return std::to_string(err) + ": " + msg;
}

bool take_field(std::string_view &in, std::string_view *f) {
    size_t colon = in.find(':');
    if (colon == std::string_view::npos || colon == 0 || colon > 10)
        return false;
    size_t n = 0;
    for (size_t i = 0; i < colon; i++) {
        if (in[i] < '0' || in[i] > '9')
            return false;
        n = n * 10 + static_cast<size_t>(in[i] - '0');
    }
    if (in.size() - colon - 1 < n)
        return false;
    *f = in.substr(colon + 1, n);
    in.remove_prefix(colon + 1 + n);
    return true;
}

} // namespace glide
