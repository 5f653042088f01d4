// Small string helpers shared by the layers.
#pragma once

#include <cstddef>
#include <cstring>
#include <string>
#include <string_view>
#include <functional>
#include <unordered_map>

namespace glide {

inline constexpr char kHexDigits[] = "0123456789abcdef";

// Appends the lower-case hexadecimal of n bytes (two digits each).
inline void append_hex(std::string &out, const void *p, size_t n) {
    const auto *b = static_cast<const unsigned char *>(p);
    for (size_t i = 0; i < n; i++) {
        out += kHexDigits[b[i] >> 4];
        out += kHexDigits[b[i] & 15];
    }
}

// Concatenates strings, string views and C strings into one string (the std::string +
// std::string_view that C++20 lacks), with one allocation.
template <typename... T> std::string cat(const T &...parts) {
    std::string out;
    out.reserve((std::string_view(parts).size() + ...));
    (out.append(std::string_view(parts)), ...);
    return out;
}

// Copies `s` into buf[len] NUL-terminated, truncating; a no-op when buf is NULL or len is 0.
inline void copy_out(std::string_view s, char *buf, size_t len) {
    if (!buf || len == 0)
        return;
    size_t n = s.size() < len - 1 ? s.size() : len - 1;
    memcpy(buf, s.data(), n);
    buf[n] = '\0';
}

// Lookups by string_view without building a std::string (C++20 heterogeneous lookup).
struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const noexcept {
        return std::hash<std::string_view>{}(s);
    }
};
template <typename V>
using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;

// Length-prefixed fields, "LEN:BYTES" (a netstring without its trailing comma): any bytes may
// follow each other without escaping. append_field adds one to out; take_field moves the first
// one of in into *f and drops it from in, false (in unchanged) when in does not start with one.
inline void append_field(std::string &out, std::string_view f) {
    out += std::to_string(f.size());
    out += ':';
    out += f;
}
bool take_field(std::string_view &in, std::string_view *f);

// "strerror text" with the errno number, nginx style: "98: Address already in use".
std::string errno_text(int err);

} // namespace glide
