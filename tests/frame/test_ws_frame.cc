// WebSocket frame decoder and encoder. Every conformance case of ws_cases.h is fed whole, split
// in two at every point (at 56 chosen points for inputs over 4 KiB), one byte at a time and in
// pseudo-random chunks; all ways must give the same events.
#include "glide_cmocka.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "frame/ws_frame.h"
#include "ws_cases.h"

using namespace glide::frame;
using namespace glide::frame::cases;

namespace {

struct Got {
    FrameEventType type;
    uint16_t code;
    std::string payload;
};

const char *type_name(FrameEventType t) {
    switch (t) {
    case FrameEventType::text:
        return "text";
    case FrameEventType::binary:
        return "binary";
    case FrameEventType::ping:
        return "ping";
    case FrameEventType::pong:
        return "pong";
    case FrameEventType::close:
        return "close";
    case FrameEventType::error:
        return "error";
    }
    return "?";
}

// Feeds `input` in the chunks `cuts` describes (ascending end offsets) the way the I/O layer
// does: a read appends to a buffer, events are taken while there are any, consumed bytes are
// drained.
std::vector<Got> run(const std::string &input, const std::vector<size_t> &cuts, uint64_t max) {
    FrameDecoder dec({max});
    std::vector<Got> got;
    std::string pending;
    size_t from = 0;
    for (size_t cut : cuts) {
        pending.append(input, from, cut - from);
        from = cut;
        size_t off = 0;
        for (;;) {
            FrameEvent ev;
            auto *base = reinterpret_cast<uint8_t *>(pending.data());
            DecodeResult r = dec.decode({base + off, pending.size() - off}, &ev);
            assert_true(r.consumed <= pending.size() - off);
            off += r.consumed;
            if (r.status == DecodeStatus::need_more) {
                assert_int_equal(off, pending.size()); // the decoder always takes everything
                break;
            }
            got.push_back({ev.type, ev.code, std::string(ev.text())});
            if (ev.type == FrameEventType::error)
                return got;
        }
        pending.erase(0, off);
    }
    return got;
}

std::string describe(const std::vector<Got> &v) {
    std::string s;
    for (const Got &g : v) {
        char buf[64];
        std::snprintf(buf, sizeof buf, "%s(code %u, %zu bytes) ", type_name(g.type), g.code,
                      g.payload.size());
        s += buf;
    }
    return s.empty() ? "(nothing)" : s;
}

bool same(const std::vector<Got> &got, const std::vector<Expect> &want) {
    if (got.size() != want.size())
        return false;
    for (size_t i = 0; i < got.size(); i++) {
        if (got[i].type != want[i].type)
            return false;
        if ((want[i].type == FrameEventType::close || want[i].type == FrameEventType::error) &&
            got[i].code != want[i].code)
            return false;
        if (want[i].type != FrameEventType::error && got[i].payload != want[i].payload)
            return false;
    }
    return true;
}

void check(const WsCase &c, const std::vector<size_t> &cuts, const char *how) {
    std::vector<Got> got = run(c.input, cuts, c.max_message);
    if (!same(got, c.expect)) {
        std::vector<Got> want;
        for (const Expect &e : c.expect)
            want.push_back({e.type, e.code, e.payload});
        print_error("case \"%s\" fed %s: got %s, want %s\n", c.name.c_str(), how,
                    describe(got).c_str(), describe(want).c_str());
        fail();
    }
}

std::vector<WsCase> g_cases;

void test_case(void **state) {
    const WsCase &c = *static_cast<const WsCase *>(*state);
    const size_t n = c.input.size();
    check(c, {n}, "whole");
    // Two chunks, split at every point. Inputs over 4 KiB (the 9.x sizes) are split at every
    // point of their first frame header and first bytes, at their last bytes and at 16 points
    // between: enough to cross every state. Under valgrind (tests/run.sh sets
    // GLIDE_TEST_VALGRIND), whose pass looks for memory errors that the plain run's every
    // split already checked the results of, the sampled splits start at 512 bytes: the full
    // sweep, quadratic in the input, took a minute there.
    static const size_t every_split = getenv("GLIDE_TEST_VALGRIND") ? 512 : 4096;
    std::vector<size_t> splits;
    if (n <= every_split) {
        for (size_t i = 1; i < n; i++)
            splits.push_back(i);
    } else {
        for (size_t i = 1; i <= 32; i++)
            splits.push_back(i);
        for (size_t k = 1; k < 16; k++)
            splits.push_back(n * k / 16);
        for (size_t i = n - 8; i < n; i++)
            splits.push_back(i);
    }
    for (size_t i : splits) {
        char how[48];
        std::snprintf(how, sizeof how, "split at %zu", i);
        check(c, {i, n}, how);
    }
    // One byte at a time.
    std::vector<size_t> cuts;
    for (size_t i = 1; i <= n; i++)
        cuts.push_back(i);
    check(c, cuts, "one byte at a time");
    // Pseudo-random chunk sizes.
    cuts.clear();
    uint32_t s = static_cast<uint32_t>(n) * 2654435761u + 1;
    for (size_t i = 0; i < n;) {
        s = s * 1103515245u + 12345u;
        i += 1 + (s >> 16) % 23;
        cuts.push_back(i < n ? i : n);
    }
    check(c, cuts, "in random chunks");
}

// --- unit tests beyond the table -------------------------------------------------------------

void test_zero_copy(void **) {
    std::string in = text("hello zero copy") + ping("p") + binary("bin");
    FrameDecoder dec({.max_message_size = 65536});
    auto *base = reinterpret_cast<uint8_t *>(in.data());
    size_t off = 0;
    for (int i = 0; i < 3; i++) {
        FrameEvent ev;
        DecodeResult r = dec.decode({base + off, in.size() - off}, &ev);
        assert_int_equal(static_cast<int>(r.status), static_cast<int>(DecodeStatus::event));
        // The payload is the caller's memory, unmasked in place.
        assert_true(ev.payload.data() >= base && ev.payload.data() < base + in.size());
        off += r.consumed;
    }
    assert_int_equal(off, in.size());
}

void test_sticky_error(void **) {
    std::string in = frame(3, "");
    FrameDecoder dec({.max_message_size = 65536});
    FrameEvent ev;
    dec.decode({reinterpret_cast<uint8_t *>(in.data()), in.size()}, &ev);
    assert_int_equal(static_cast<int>(ev.type), static_cast<int>(FrameEventType::error));
    std::string more = text("x");
    DecodeResult r = dec.decode({reinterpret_cast<uint8_t *>(more.data()), more.size()}, &ev);
    assert_int_equal(static_cast<int>(r.status), static_cast<int>(DecodeStatus::event));
    assert_int_equal(static_cast<int>(ev.type), static_cast<int>(FrameEventType::error));
    assert_int_equal(ev.code, 1002);
    assert_true(dec.finished());
}

void test_unmask(void **) {
    const uint8_t key[4] = {0x12, 0x34, 0x56, 0x78};
    for (size_t n = 0; n < 80; n++) {
        for (size_t off = 0; off < 4; off++) {
            uint8_t a[96], b[96];
            for (size_t i = 0; i < n; i++)
                a[i] = b[i] = static_cast<uint8_t>(i * 7 + 3);
            for (size_t i = 0; i < n; i++)
                b[i] ^= key[(off + i) & 3];
            unmask(a, n, key, off);
            if (n > 0)
                assert_memory_equal(a, b, n);
        }
    }
    // Piecewise unmasking equals unmasking at once.
    uint8_t whole[100], parts[100];
    for (int i = 0; i < 100; i++)
        whole[i] = parts[i] = static_cast<uint8_t>(i);
    unmask(whole, 100, key, 0);
    unmask(parts, 13, key, 0);
    unmask(parts + 13, 50, key, 13);
    unmask(parts + 63, 37, key, 63);
    assert_memory_equal(whole, parts, 100);
}

void test_encode_header(void **) {
    uint8_t h[kMaxFrameHeader];
    assert_int_equal(encode_frame_header(h, Opcode::text, 0), 2);
    assert_int_equal(h[0], 0x81);
    assert_int_equal(h[1], 0);
    assert_int_equal(encode_frame_header(h, Opcode::binary, 125), 2);
    assert_int_equal(h[1], 125);
    assert_int_equal(encode_frame_header(h, Opcode::binary, 126), 4);
    assert_int_equal(h[0], 0x82);
    assert_int_equal(h[1], 126);
    assert_int_equal(h[2], 0);
    assert_int_equal(h[3], 126);
    assert_int_equal(encode_frame_header(h, Opcode::text, 65535), 4);
    assert_int_equal(h[2], 0xFF);
    assert_int_equal(h[3], 0xFF);
    assert_int_equal(encode_frame_header(h, Opcode::text, 65536), 10);
    assert_int_equal(h[1], 127);
    const uint8_t want[] = {0, 0, 0, 0, 0, 1, 0, 0};
    assert_memory_equal(h + 2, want, 8);
    assert_int_equal(encode_frame_header(h, Opcode::continuation, 5, false), 2);
    assert_int_equal(h[0], 0x00);
    assert_int_equal(frame_header_size(125), 2);
    assert_int_equal(frame_header_size(126), 4);
    assert_int_equal(frame_header_size(65536), 10);
}

void test_encode_frame(void **) {
    uint8_t out[200];
    const uint8_t pl[] = {'h', 'i'};
    assert_int_equal(encode_frame(out, sizeof out, Opcode::pong, pl), 4);
    const uint8_t want[] = {0x8A, 2, 'h', 'i'};
    assert_memory_equal(out, want, 4);
    assert_int_equal(encode_frame(out, 3, Opcode::pong, pl), 0); // too small
    uint8_t big[126] = {};
    assert_int_equal(encode_frame(out, sizeof out, Opcode::ping, big), 0); // control > 125
    assert_int_equal(encode_frame(out, sizeof out, Opcode::binary, big), 4 + 126);
}

void test_encode_close(void **) {
    uint8_t out[kMaxCloseFrame];
    size_t n = encode_close_frame(out, 1000, "bye");
    const uint8_t want[] = {0x88, 5, 0x03, 0xE8, 'b', 'y', 'e'};
    assert_int_equal(n, sizeof want);
    assert_memory_equal(out, want, n);
    assert_int_equal(encode_close_frame(out, 0, "ignored"), 2);
    assert_int_equal(out[1], 0);
    assert_int_equal(encode_close_frame(out, 1005, "x"), 2); // never sent on the wire
    // A reason of 122 ASCII bytes then a 2-byte character: the character does not fit.
    std::string r(122, 'a');
    r += "\xc3\xa9";
    n = encode_close_frame(out, 1008, r);
    assert_int_equal(n, 2 + 2 + 122);
    // 123 bytes exactly fit.
    std::string r2(121, 'a');
    r2 += "\xc3\xa9";
    n = encode_close_frame(out, 1008, r2);
    assert_int_equal(n, 2 + 2 + 123);
    assert_int_equal(out[1], 125);
    // A long reason is cut inside 4-byte characters at a boundary.
    std::string r3;
    for (int i = 0; i < 40; i++)
        r3 += "\xf0\x9f\x98\x80";
    n = encode_close_frame(out, 4001, r3);
    assert_int_equal(n, 2 + 2 + 120);
    assert_true(utf8_valid(out + 4, n - 4));
}

// What the encoder writes, a decoder (after masking) reads back.
void test_roundtrip(void **) {
    for (size_t len : {0ul, 1ul, 125ul, 126ul, 65535ul, 65536ul, 100000ul}) {
        std::string payload(len, 'r');
        std::vector<uint8_t> out(len + kMaxFrameHeader);
        size_t n = encode_frame(out.data(), out.size(), Opcode::text,
                                {reinterpret_cast<const uint8_t *>(payload.data()), len});
        assert_int_equal(n, frame_header_size(len) + len);
        // Add a zero mask key: set the MASK bit and insert 4 zero bytes after the header.
        size_t h = frame_header_size(len);
        std::string masked(reinterpret_cast<char *>(out.data()), h);
        masked[1] = static_cast<char>(masked[1] | 0x80);
        masked += std::string(4, '\0') + payload;
        FrameDecoder dec({1 << 20});
        FrameEvent ev;
        DecodeResult r =
            dec.decode({reinterpret_cast<uint8_t *>(masked.data()), masked.size()}, &ev);
        assert_int_equal(static_cast<int>(r.status), static_cast<int>(DecodeStatus::event));
        assert_int_equal(static_cast<int>(ev.type), static_cast<int>(FrameEventType::text));
        assert_int_equal(ev.payload.size(), len);
    }
}

void test_close_codes(void **) {
    int valid = 0;
    for (uint32_t c = 0; c < 65536; c++)
        valid += close_code_valid(static_cast<uint16_t>(c));
    assert_int_equal(valid, 4 + 8 + 2000);
}

} // namespace

int main() {
    g_cases = ws_cases();
    std::vector<CMUnitTest> tests;
    for (const WsCase &c : g_cases)
        tests.push_back(
            CMUnitTest{c.name.c_str(), test_case, nullptr, nullptr, const_cast<WsCase *>(&c)});
    std::printf("# %zu conformance cases\n", g_cases.size());
    const CMUnitTest units[] = {
        cmocka_unit_test(test_zero_copy),    cmocka_unit_test(test_sticky_error),
        cmocka_unit_test(test_unmask),       cmocka_unit_test(test_encode_header),
        cmocka_unit_test(test_encode_frame), cmocka_unit_test(test_encode_close),
        cmocka_unit_test(test_roundtrip),    cmocka_unit_test(test_close_codes),
    };
    for (const CMUnitTest &u : units)
        tests.push_back(u);
    return _cmocka_run_group_tests("ws_frame", tests.data(), tests.size(), nullptr, nullptr);
}
