// Small string helpers shared by the layers.
#pragma once

#include <cstddef>
#include <cstring>
#include <string>
#include <string_view>

namespace glide {

// Copies `s` into buf[len] NUL-terminated, truncating; a no-op when buf is NULL or len is 0.
inline void copy_out(std::string_view s, char *buf, size_t len) {
    if (!buf || len == 0)
        return;
    size_t n = s.size() < len - 1 ? s.size() : len - 1;
    memcpy(buf, s.data(), n);
    buf[n] = '\0';
}

// "strerror text" with the errno number, nginx style: "98: Address already in use".
std::string errno_text(int err);

} // namespace glide
