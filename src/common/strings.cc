#include "common/strings.h"

#include <cstring>

namespace glide {

std::string errno_text(int err) {
    char buf[256];
    // GNU strerror_r returns the message, which may or may not live in buf.
    const char *msg = strerror_r(err, buf, sizeof buf);
    return std::to_string(err) + ": " + msg;
}

} // namespace glide
