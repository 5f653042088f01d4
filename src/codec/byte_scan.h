// Word-at-a-time byte scanning for the JSON scanner and writer (codec-internal).
//
// The hot loops of JSON work skip long runs of plain text (a chat message's content) looking
// for the few bytes that need attention: quotes, backslashes, control characters, bytes of
// multi-byte UTF-8. These helpers test 8 bytes per step with portable bit tricks (no SIMD
// intrinsics) and fall back to one byte at a time for the last few bytes.
//
// Each mask function returns a word with the high bit set in the bytes that match; only the
// lowest set byte is exact (a match can produce false flags in the bytes above it, never below),
// which is all the "find the first" loops need.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace glide::codec::bytes {

inline constexpr uint64_t ones = 0x0101010101010101ull;
inline constexpr uint64_t highs = 0x8080808080808080ull;

inline uint64_t load8(const unsigned char *p) {
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

// Bytes equal to zero.
inline uint64_t zero_mask(uint64_t x) {
    return (x - ones) & ~x & highs;
}
// Bytes equal to c.
inline uint64_t eq_mask(uint64_t x, unsigned char c) {
    return zero_mask(x ^ (ones * c));
}
// Bytes below n (n <= 0x80); bytes >= 0x80 are not flagged.
inline uint64_t below_mask(uint64_t x, unsigned char n) {
    return (x - ones * n) & ~x & highs;
}
// Index of the first flagged byte in memory order of a non-zero mask.
inline size_t first_flag(uint64_t mask) {
    if constexpr (std::endian::native == std::endian::little)
        return size_t(std::countr_zero(mask)) / 8;
    else
        return size_t(std::countl_zero(mask)) / 8;
}

// The first byte in [p, end) for which the mask function `flags(word)` flags a byte and the
// byte test `stop(c)` agrees, or end. flags must flag at least every byte stop() accepts.
template <typename Flags, typename Stop>
inline const unsigned char *find_first(const unsigned char *p, const unsigned char *end,
                                       Flags flags, Stop stop) {
    while (end - p >= 8) {
        if (uint64_t m = flags(load8(p)))
            return p + first_flag(m);
        p += 8;
    }
    while (p < end && !stop(*p))
        ++p;
    return p;
}

// First '"' or '\\' (skipping the body of a validated string).
inline const unsigned char *find_quote_or_backslash(const unsigned char *p,
                                                    const unsigned char *end) {
    return find_first(
        p, end, [](uint64_t x) { return eq_mask(x, '"') | eq_mask(x, '\\'); },
        [](unsigned char c) { return c == '"' || c == '\\'; });
}

// First byte that is not plain printable ASCII inside a JSON string: '"', '\\', a control
// character or a byte >= 0x80.
inline const unsigned char *find_string_special(const unsigned char *p, const unsigned char *end) {
    return find_first(
        p, end,
        [](uint64_t x) {
            return eq_mask(x, '"') | eq_mask(x, '\\') | below_mask(x, 0x20) | (x & highs);
        },
        [](unsigned char c) { return c == '"' || c == '\\' || c < 0x20 || c >= 0x80; });
}

// Flags the bytes json.Marshal (HTML escaping on) may have to escape: '"', '\\', '<', '>', '&',
// a control character, or a byte >= 0x80 (to check for invalid UTF-8 and U+2028/U+2029).
inline uint64_t marshal_flags(uint64_t x) {
    // '<' (0x3c) and '>' (0x3e) are the only bytes that read 0x3e with bit 1 set.
    return eq_mask(x, '"') | eq_mask(x, '\\') | eq_mask(x | (ones * 2), '>') | eq_mask(x, '&') |
           below_mask(x, 0x20) | (x & highs);
}

// First byte marshal_flags flags.
inline const unsigned char *find_marshal_special(const unsigned char *p,
                                                 const unsigned char *end) {
    return find_first(
        p, end, marshal_flags,
        [](unsigned char c) {
            return c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' || c < 0x20 ||
                   c >= 0x80;
        });
}

// First byte >= 0x80.
inline const unsigned char *find_non_ascii(const unsigned char *p, const unsigned char *end) {
    return find_first(
        p, end, [](uint64_t x) { return x & highs; }, [](unsigned char c) { return c >= 0x80; });
}

} // namespace glide::codec::bytes
