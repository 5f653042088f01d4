// Streaming UTF-8 validation for WebSocket text messages (RFC 6455 §8.1, RFC 3629).
//
// The validator is a deterministic automaton over bytes, so a message may be checked piece by
// piece as its fragments arrive, and it reports failure on the first byte that can no longer
// begin or continue a well-formed sequence. That is the "fail fast" behaviour Autobahn|Testsuite
// 6.4.x expects: a message is rejected before its end arrives when its prefix is already wrong.
//
// Rejected: overlong forms (C0, C1, E0 80..9F, F0 80..8F), UTF-16 surrogates (ED A0..BF),
// code points above U+10FFFF (F4 90.., F5..FF), stray continuation bytes, and truncated
// sequences at the end of a message. Noncharacters (U+FFFE, U+FFFF, ...) are valid UTF-8.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace glide::frame {

class Utf8Validator {
public:
    // Consumes the next bytes of the text. Returns false once the text so far can no longer be
    // the prefix of valid UTF-8; that answer is sticky until reset().
    bool feed(std::span<const uint8_t> bytes);
    bool feed(const uint8_t *p, size_t n) { return feed(std::span<const uint8_t>(p, n)); }

    // True when everything fed so far is valid and ends on a code point boundary: the text may
    // end here.
    bool complete() const { return state_ == 0; }
    // True once the input was found invalid.
    bool failed() const { return state_ == 1; }

    void reset() { state_ = 0; }

private:
    uint8_t state_ = 0;
};

// Whole-buffer check: valid and complete UTF-8.
bool utf8_valid(std::span<const uint8_t> bytes);
inline bool utf8_valid(const void *p, size_t n) {
    return utf8_valid(std::span<const uint8_t>(static_cast<const uint8_t *>(p), n));
}

// The longest prefix of `p[0..n)` not longer than `max` that does not end inside a multi-byte
// sequence (only lead/continuation byte shapes are looked at; the input is assumed valid).
size_t utf8_truncate(const uint8_t *p, size_t n, size_t max);

} // namespace glide::frame
