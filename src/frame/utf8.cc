#include "frame/utf8.h"

#include <array>
#include <cstring>

namespace glide::frame {

namespace {

// Automaton states. The table is derived from RFC 3629's grammar at compile time instead of
// being typed in, so it can be read against the RFC:
//   UTF8-2 = %xC2-DF UTF8-tail
//   UTF8-3 = %xE0 %xA0-BF UTF8-tail / %xE1-EC 2( UTF8-tail ) /
//            %xED %x80-9F UTF8-tail / %xEE-EF 2( UTF8-tail )
//   UTF8-4 = %xF0 %x90-BF 2( UTF8-tail ) / %xF1-F3 3( UTF8-tail ) / %xF4 %x80-8F 2( UTF8-tail )
enum : uint8_t {
    kAccept = 0,
    kReject = 1,
    kTail1 = 2, // one continuation byte left
    kTail2 = 3,
    kTail3 = 4,
    kAfterE0 = 5, // next must be A0..BF (no overlongs)
    kAfterED = 6, // next must be 80..9F (no surrogates)
    kAfterF0 = 7, // next must be 90..BF (no overlongs)
    kAfterF4 = 8, // next must be 80..8F (nothing above U+10FFFF)
    kStates = 9,
};

constexpr uint8_t step(uint8_t s, uint8_t b) {
    auto in = [b](int lo, int hi) { return b >= lo && b <= hi; };
    switch (s) {
    case kAccept:
        if (b < 0x80)
            return kAccept;
        if (in(0xC2, 0xDF))
            return kTail1;
        if (b == 0xE0)
            return kAfterE0;
        if (b == 0xED)
            return kAfterED;
        if (in(0xE1, 0xEF))
            return kTail2;
        if (b == 0xF0)
            return kAfterF0;
        if (b == 0xF4)
            return kAfterF4;
        if (in(0xF1, 0xF3))
            return kTail3;
        return kReject;
    case kTail1:
        return in(0x80, 0xBF) ? kAccept : kReject;
    case kTail2:
        return in(0x80, 0xBF) ? kTail1 : kReject;
    case kTail3:
        return in(0x80, 0xBF) ? kTail2 : kReject;
    case kAfterE0:
        return in(0xA0, 0xBF) ? kTail1 : kReject;
    case kAfterED:
        return in(0x80, 0x9F) ? kTail1 : kReject;
    case kAfterF0:
        return in(0x90, 0xBF) ? kTail2 : kReject;
    case kAfterF4:
        return in(0x80, 0x8F) ? kTail2 : kReject;
    default:
        return kReject;
    }
}

constexpr std::array<uint8_t, kStates * 256> make_table() {
    std::array<uint8_t, kStates * 256> t{};
    for (int s = 0; s < kStates; s++)
        for (int b = 0; b < 256; b++)
            t[s * 256 + b] = step(static_cast<uint8_t>(s), static_cast<uint8_t>(b));
    return t;
}

constexpr auto kTable = make_table();

// Runs the automaton. Between code points two shortcuts avoid its byte-by-byte dependency
// chain, which is where chat text spends almost all of its bytes: ASCII runs are skipped eight
// bytes at a time, and a multi-byte sequence that lies wholly in the buffer is checked with
// branches on its own bytes. Only a sequence cut by the end of the buffer goes through the
// table, which carries its state into the next call.
inline uint8_t run(uint8_t state, const uint8_t *p, size_t n) {
    size_t i = 0;
    while (i < n) {
        if (state == kAccept) {
            while (i + 8 <= n) {
                uint64_t w;
                std::memcpy(&w, p + i, 8);
                if (w & 0x8080808080808080ull)
                    break;
                i += 8;
            }
            if (i == n)
                break;
            const uint8_t b = p[i];
            if (b < 0x80) {
                i++;
                continue;
            }
            if (n - i >= 4) {
                auto tail = [](uint8_t c) { return (c & 0xC0) == 0x80; };
                const uint8_t c1 = p[i + 1];
                if (b >= 0xC2 && b <= 0xDF) {
                    if (!tail(c1))
                        return kReject;
                    i += 2;
                    continue;
                }
                if ((b & 0xF0) == 0xE0) {
                    const uint8_t lo = b == 0xE0 ? 0xA0 : 0x80, hi = b == 0xED ? 0x9F : 0xBF;
                    if (c1 < lo || c1 > hi || !tail(p[i + 2]))
                        return kReject;
                    i += 3;
                    continue;
                }
                if (b >= 0xF0 && b <= 0xF4) {
                    const uint8_t lo = b == 0xF0 ? 0x90 : 0x80, hi = b == 0xF4 ? 0x8F : 0xBF;
                    if (c1 < lo || c1 > hi || !tail(p[i + 2]) || !tail(p[i + 3]))
                        return kReject;
                    i += 4;
                    continue;
                }
                return kReject;
            }
        }
        state = kTable[state * 256 + p[i]];
        if (state == kReject)
            return kReject;
        i++;
    }
    return state;
}

} // namespace

bool Utf8Validator::feed(std::span<const uint8_t> bytes) {
    if (state_ == kReject)
        return false;
    state_ = run(state_, bytes.data(), bytes.size());
    return state_ != kReject;
}

bool utf8_valid(std::span<const uint8_t> bytes) {
    return run(kAccept, bytes.data(), bytes.size()) == kAccept;
}

size_t utf8_truncate(const uint8_t *p, size_t n, size_t max) {
    if (n <= max)
        return n;
    // Cut before the lead byte of the sequence that straddles `max`: p[max] is the first byte
    // dropped; if it is a continuation byte, back up to its lead byte and drop that too.
    size_t cut = max;
    while (cut > 0 && (p[cut] & 0xC0) == 0x80)
        cut--;
    return cut;
}

} // namespace glide::frame
