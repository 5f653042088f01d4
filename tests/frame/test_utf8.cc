// The streaming UTF-8 validator against a plain reference decoder: every sequence of up to three
// bytes, every four-byte sequence with a plausible lead byte, Markus Kuhn's stress sequences,
// and the streaming property (any split gives the same answer, failure as early as possible).
#include "glide_cmocka.h"

#include <cstring>
#include <string>
#include <vector>

#include "frame/utf8.h"
#include "ws_cases.h"

using namespace glide::frame;

namespace {

// Reference: decode code point by code point with the rules written out longhand.
// Returns -1 when valid and complete, else the index of the first byte that proves the input
// invalid (n when the input ends inside a sequence).
long reference(const uint8_t *p, size_t n) {
    size_t i = 0;
    while (i < n) {
        uint8_t b = p[i];
        size_t len;
        uint32_t cp;
        if (b < 0x80) {
            i++;
            continue;
        }
        if (b == 0xC0 || b == 0xC1 || b >= 0xF5)
            return static_cast<long>(i); // overlong 2-byte forms, beyond U+10FFFF, 5/6-byte
        if ((b & 0xE0) == 0xC0) {
            len = 2;
            cp = b & 0x1F;
        } else if ((b & 0xF0) == 0xE0) {
            len = 3;
            cp = b & 0x0F;
        } else if ((b & 0xF8) == 0xF0) {
            len = 4;
            cp = b & 0x07;
        } else {
            return static_cast<long>(i);
        }
        for (size_t k = 1; k < len; k++) {
            if (i + k >= n)
                return static_cast<long>(n);
            uint8_t c = p[i + k];
            if ((c & 0xC0) != 0x80)
                return static_cast<long>(i + k);
            cp = cp << 6 | (c & 0x3F);
            // The first byte that makes the value impossible decides (fail fast): after the
            // second byte we know overlong/surrogate/too-large for 3- and 4-byte forms.
            if (k == 1) {
                uint32_t lead = p[i];
                if (len == 3 && lead == 0xE0 && c < 0xA0)
                    return static_cast<long>(i + k);
                if (len == 3 && lead == 0xED && c > 0x9F)
                    return static_cast<long>(i + k);
                if (len == 4 && lead == 0xF0 && c < 0x90)
                    return static_cast<long>(i + k);
                if (len == 4 && lead == 0xF4 && c > 0x8F)
                    return static_cast<long>(i + k);
            }
        }
        if (len == 2 && cp < 0x80)
            return static_cast<long>(i); // unreachable after the lead byte check
        if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
            (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
            return static_cast<long>(i); // unreachable after the second-byte checks
        i += len;
    }
    return -1;
}

// Index of the first byte at which the streaming validator reports failure, -1 if it accepts
// the whole input, n if it only fails because the input ends mid-sequence.
long streaming(const uint8_t *p, size_t n) {
    Utf8Validator v;
    for (size_t i = 0; i < n; i++)
        if (!v.feed(p + i, 1))
            return static_cast<long>(i);
    return v.complete() ? -1 : static_cast<long>(n);
}

void check_seq(const uint8_t *p, size_t n) {
    long want = reference(p, n);
    long got = streaming(p, n);
    if (want != got) {
        print_error("sequence %02x %02x %02x %02x (len %zu): reference %ld, validator %ld\n",
                    n > 0 ? p[0] : 0, n > 1 ? p[1] : 0, n > 2 ? p[2] : 0, n > 3 ? p[3] : 0, n, want,
                    got);
        fail();
    }
    assert_int_equal(utf8_valid(p, n), want == -1);
    // Followed by ASCII, a whole-buffer check takes the branchy path for complete sequences
    // (the streaming check above only ever sees one byte at a time); preceded by ASCII, the
    // sequence starts after the word loop.
    uint8_t padded[16];
    std::memcpy(padded, "abc", 3);
    std::memcpy(padded + 3, p, n);
    std::memcpy(padded + 3 + n, "defg", 4);
    assert_int_equal(utf8_valid(padded, n + 7), want == -1);
}

void test_exhaustive_short(void **) {
    uint8_t b[3];
    for (int x = 0; x < 256; x++) {
        b[0] = static_cast<uint8_t>(x);
        check_seq(b, 1);
        for (int y = 0; y < 256; y++) {
            b[1] = static_cast<uint8_t>(y);
            check_seq(b, 2);
        }
    }
    // Three bytes: all lead bytes that start multi-byte forms, every continuation pair.
    for (int x = 0xC0; x < 0x100; x++)
        for (int y = 0; y < 256; y++)
            for (int z = 0; z < 256; z++) {
                b[0] = static_cast<uint8_t>(x);
                b[1] = static_cast<uint8_t>(y);
                b[2] = static_cast<uint8_t>(z);
                check_seq(b, 3);
            }
}

void test_four_byte(void **) {
    uint8_t b[4];
    // Lead bytes F0..F7, second and third byte over their interesting ranges, fourth at its
    // boundaries and an ASCII byte.
    for (int w = 0xF0; w <= 0xF7; w++)
        for (int x = 0x70; x < 0xD0; x++)
            for (int y : {0x00, 0x7F, 0x80, 0x9F, 0xA0, 0xBF, 0xC0})
                for (int z : {0x20, 0x7F, 0x80, 0x8F, 0x90, 0xBF, 0xC0, 0xFF}) {
                    b[0] = static_cast<uint8_t>(w);
                    b[1] = static_cast<uint8_t>(x);
                    b[2] = static_cast<uint8_t>(y);
                    b[3] = static_cast<uint8_t>(z);
                    check_seq(b, 4);
                }
}

void test_every_code_point(void **) {
    for (uint32_t cp = 0; cp <= 0x10FFFF; cp++) {
        std::string s = glide::frame::cases::utf8_encode(cp);
        bool surrogate = cp >= 0xD800 && cp <= 0xDFFF;
        assert_int_equal(utf8_valid(s.data(), s.size()), !surrogate);
    }
}

void test_kuhn_sequences(void **) {
    for (const auto &s : glide::frame::cases::utf8_sequences()) {
        const auto *p = reinterpret_cast<const uint8_t *>(s.bytes.data());
        if (utf8_valid(p, s.bytes.size()) != s.valid) {
            print_error("%s: expected %s\n", s.name, s.valid ? "valid" : "invalid");
            fail();
        }
        // Embedded in ASCII on both sides, past the 8-byte fast path.
        std::string padded = std::string(13, 'a') + s.bytes + std::string(9, 'z');
        assert_int_equal(utf8_valid(padded.data(), padded.size()), s.valid);
    }
}

void test_streaming_splits(void **) {
    const std::string text = "ascii then \xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5 and "
                             "\xf0\x9f\x98\x80 and a long ascii tail to use the word loop";
    const auto *p = reinterpret_cast<const uint8_t *>(text.data());
    for (size_t i = 0; i <= text.size(); i++) {
        Utf8Validator v;
        assert_true(v.feed(p, i));
        assert_true(v.feed(p + i, text.size() - i));
        assert_true(v.complete());
    }
    // Invalid in the middle: fails on the bad byte, never later, whatever the split.
    std::string bad = text;
    bad[20] = '\xff';
    const auto *q = reinterpret_cast<const uint8_t *>(bad.data());
    for (size_t i = 0; i <= bad.size(); i++) {
        Utf8Validator v;
        bool first = v.feed(q, i);
        assert_int_equal(first, i <= 20);
        assert_false(v.feed(q + i, bad.size() - i));
        assert_true(v.failed());
        assert_false(v.feed(q, 0)); // sticky
    }
}

void test_truncate(void **) {
    const std::string s = "ab\xc3\xa9"
                          "\xe2\x82\xac"
                          "\xf0\x9f\x98\x80";
    const auto *p = reinterpret_cast<const uint8_t *>(s.data());
    // Prefix lengths that end on a boundary: 0,1,2,4,7,11.
    const size_t want[] = {0, 1, 2, 2, 4, 4, 4, 7, 7, 7, 7, 11};
    for (size_t max = 0; max <= s.size(); max++)
        assert_int_equal(utf8_truncate(p, s.size(), max), want[max]);
    assert_int_equal(utf8_truncate(p, 3, 10), 3);
}

} // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exhaustive_short), cmocka_unit_test(test_four_byte),
        cmocka_unit_test(test_every_code_point), cmocka_unit_test(test_kuhn_sequences),
        cmocka_unit_test(test_streaming_splits), cmocka_unit_test(test_truncate),
    };
    return cmocka_run_group_tests_name("utf8", tests, nullptr, nullptr);
}
