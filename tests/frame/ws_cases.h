// WebSocket conformance cases, modelled on Autobahn|Testsuite sections 1-7 and 9, as data:
// a name, the bytes a client sends after the handshake, and what the server must make of them.
//
// The same table drives the I/O-free decoder test (tests/frame/test_ws_frame.cc: each case fed
// whole, split at every point and one byte at a time) and can drive a real server over a socket:
// a `text`/`binary` expectation is a message the server echoes or dispatches, `ping` must be
// answered by a pong with the same payload, `close` is the peer's close frame (the server
// answers with a close frame), and `error` means the server fails the connection with a close
// frame carrying `code`. Nothing is expected after a close or an error.
//
// Numbering follows Autobahn where a case has an Autobahn counterpart ("5.19"); cases of our own
// extend a section ("1.3.4"). Sizes are kept small enough for exhaustive split feeding.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "frame/ws_frame.h"

namespace glide::frame::cases {

struct Expect {
    FrameEventType type;
    uint16_t code = 0;   // close: the peer's code (1005 when none); error: the code to send
    std::string payload; // message, ping/pong payload or close reason; ignored for error
};

struct WsCase {
    std::string name;
    std::string input; // client bytes (masked frames unless the case is about that)
    std::vector<Expect> expect;
    uint64_t max_message = 1 << 20;
};

// --- builders -------------------------------------------------------------------------------

inline uint32_t next_mask_key() {
    // Deterministic but varied keys, so that unmasking offsets are exercised.
    static uint32_t s = 0x1f2e3d4c;
    s = s * 1664525u + 1013904223u;
    return s;
}

enum class LenForm { minimal, ext16, ext64 };

struct FrameSpec {
    uint8_t opcode;
    std::string payload;
    bool fin = true;
    uint8_t rsv = 0; // 0..7, RSV1 is 4
    bool masked = true;
    LenForm form = LenForm::minimal;
    bool zero_key = false;
};

inline std::string build(const FrameSpec &f) {
    std::string out;
    out += static_cast<char>((f.fin ? 0x80 : 0) | (f.rsv << 4) | f.opcode);
    const uint64_t n = f.payload.size();
    const uint8_t m = f.masked ? 0x80 : 0;
    LenForm form = f.form;
    if (form == LenForm::minimal)
        form = n <= 125 ? LenForm::minimal : n <= 0xFFFF ? LenForm::ext16 : LenForm::ext64;
    if (form == LenForm::minimal) {
        out += static_cast<char>(m | n);
    } else if (form == LenForm::ext16) {
        out += static_cast<char>(m | 126);
        out += static_cast<char>(n >> 8);
        out += static_cast<char>(n);
    } else {
        out += static_cast<char>(m | 127);
        for (int i = 7; i >= 0; i--)
            out += static_cast<char>(n >> (8 * i));
    }
    if (!f.masked)
        return out + f.payload;
    uint32_t key = f.zero_key ? 0 : next_mask_key();
    char k[4] = {static_cast<char>(key >> 24), static_cast<char>(key >> 16),
                 static_cast<char>(key >> 8), static_cast<char>(key)};
    out.append(k, 4);
    for (size_t i = 0; i < f.payload.size(); i++)
        out += static_cast<char>(f.payload[i] ^ k[i & 3]);
    return out;
}

inline std::string frame(uint8_t op, std::string_view payload, bool fin = true, uint8_t rsv = 0) {
    return build({op, std::string(payload), fin, rsv});
}
inline std::string text(std::string_view p, bool fin = true) {
    return frame(1, p, fin);
}
inline std::string binary(std::string_view p, bool fin = true) {
    return frame(2, p, fin);
}
inline std::string cont(std::string_view p, bool fin = true) {
    return frame(0, p, fin);
}
inline std::string ping(std::string_view p = {}) {
    return frame(9, p);
}
inline std::string pong(std::string_view p = {}) {
    return frame(10, p);
}
inline std::string close_payload(uint16_t code, std::string_view reason = {}) {
    std::string p;
    p += static_cast<char>(code >> 8);
    p += static_cast<char>(code);
    return p + std::string(reason);
}
inline std::string close(uint16_t code, std::string_view reason = {}) {
    return frame(8, close_payload(code, reason));
}
inline std::string close_empty() {
    return frame(8, {});
}

// Header of a masked frame announcing `len` bytes, without the payload (for size limits).
inline std::string header_only(uint8_t op, uint64_t len, bool fin = true) {
    std::string h = build({op, std::string(), fin});
    // Rebuild the length field for `len` (build() wrote 0).
    std::string out;
    out += h[0];
    if (len <= 125) {
        out += static_cast<char>(0x80 | len);
    } else if (len <= 0xFFFF) {
        out += static_cast<char>(0x80 | 126);
        out += static_cast<char>(len >> 8);
        out += static_cast<char>(len);
    } else {
        out += static_cast<char>(0x80 | 127);
        for (int i = 7; i >= 0; i--)
            out += static_cast<char>(len >> (8 * i));
    }
    return out + h.substr(2, 4);
}

inline Expect e_text(std::string p) {
    return {FrameEventType::text, 0, std::move(p)};
}
inline Expect e_binary(std::string p) {
    return {FrameEventType::binary, 0, std::move(p)};
}
inline Expect e_ping(std::string p = {}) {
    return {FrameEventType::ping, 0, std::move(p)};
}
inline Expect e_pong(std::string p = {}) {
    return {FrameEventType::pong, 0, std::move(p)};
}
inline Expect e_close(uint16_t code, std::string reason = {}) {
    return {FrameEventType::close, code, std::move(reason)};
}
inline Expect e_fail(uint16_t code) {
    return {FrameEventType::error, code, {}};
}

inline std::string hex(std::string_view h) {
    std::string out;
    int nib = -1;
    for (char c : h) {
        int v = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (v < 0)
            continue;
        if (nib < 0) {
            nib = v;
        } else {
            out += static_cast<char>(nib << 4 | v);
            nib = -1;
        }
    }
    return out;
}

inline std::string utf8_encode(uint32_t cp) {
    std::string s;
    if (cp < 0x80) {
        s += static_cast<char>(cp);
    } else if (cp < 0x800) {
        s += static_cast<char>(0xC0 | cp >> 6);
        s += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        s += static_cast<char>(0xE0 | cp >> 12);
        s += static_cast<char>(0x80 | (cp >> 6 & 0x3F));
        s += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        s += static_cast<char>(0xF0 | cp >> 18);
        s += static_cast<char>(0x80 | (cp >> 12 & 0x3F));
        s += static_cast<char>(0x80 | (cp >> 6 & 0x3F));
        s += static_cast<char>(0x80 | (cp & 0x3F));
    }
    return s;
}

// A UTF-8 stress sequence (Markus Kuhn's decoder test, as Autobahn 6.x uses it).
struct Utf8Seq {
    const char *name;
    std::string bytes;
    bool valid;
};

inline std::vector<Utf8Seq> utf8_sequences() {
    std::vector<Utf8Seq> v;
    const std::string kosme = hex("ce ba e1 bd b9 cf 83 ce bc ce b5");
    // 6.6: every prefix of "κόσμε"; complete only at code point ends.
    static const char *kappa[] = {"6.6.1", "6.6.2", "6.6.3", "6.6.4",  "6.6.5", "6.6.6",
                                  "6.6.7", "6.6.8", "6.6.9", "6.6.10", "6.6.11"};
    for (size_t i = 1; i <= kosme.size(); i++)
        v.push_back(
            {kappa[i - 1], kosme.substr(0, i), i == 2 || i == 5 || i == 7 || i == 9 || i == 11});
    auto add = [&v](const char *n, std::string_view h, bool ok) { v.push_back({n, hex(h), ok}); };
    // 6.7 first possible sequence of each length; 6.8 of 5 and 6 bytes (not UTF-8 any more).
    add("6.7.1", "00", true);
    add("6.7.2", "c2 80", true);
    add("6.7.3", "e0 a0 80", true);
    add("6.7.4", "f0 90 80 80", true);
    add("6.8.1", "f8 88 80 80 80", false);
    add("6.8.2", "fc 84 80 80 80 80", false);
    // 6.9 last possible sequence of each length; 6.10 beyond U+10FFFF.
    add("6.9.1", "7f", true);
    add("6.9.2", "df bf", true);
    add("6.9.3", "ef bf bf", true);
    add("6.9.4", "f4 8f bf bf", true);
    add("6.10.1", "f7 bf bf bf", false);
    add("6.10.2", "fb bf bf bf bf", false);
    add("6.10.3", "fd bf bf bf bf bf", false);
    // 6.11 other boundary conditions.
    add("6.11.1", "ed 9f bf", true);
    add("6.11.2", "ee 80 80", true);
    add("6.11.3", "ef bf bd", true);
    add("6.11.4", "f4 8f bf bf", true);
    add("6.11.5", "f4 90 80 80", false);
    // 6.12 unexpected continuation bytes.
    add("6.12.1", "80", false);
    add("6.12.2", "bf", false);
    add("6.12.3", "80 bf", false);
    add("6.12.4", "80 bf 80", false);
    add("6.12.5", "80 bf 80 bf", false);
    add("6.12.6", "80 bf 80 bf 80", false);
    add("6.12.7", "80 bf 80 bf 80 bf", false);
    {
        std::string all;
        for (int b = 0x80; b <= 0xBF; b++)
            all += static_cast<char>(b);
        v.push_back({"6.12.8", all, false});
    }
    // 6.13 lonely start bytes, each followed by a space.
    auto lonely = [&v](const char *n, int lo, int hi) {
        std::string s;
        for (int b = lo; b <= hi; b++) {
            s += static_cast<char>(b);
            s += ' ';
        }
        v.push_back({n, s, false});
    };
    lonely("6.13.1", 0xC0, 0xDF);
    lonely("6.13.2", 0xE0, 0xEF);
    lonely("6.13.3", 0xF0, 0xF7);
    lonely("6.13.4", 0xF8, 0xFB);
    lonely("6.13.5", 0xFC, 0xFD);
    // 6.14 sequences with the last continuation byte missing; 6.15 all of them in a row.
    static const char *missing[] = {"c0", "e0 80", "f0 80 80", "f8 80 80 80", "fc 80 80 80 80",
                                    "df", "ef bf", "f7 bf bf", "fb bf bf bf", "fd bf bf bf bf"};
    static const char *missing_names[] = {"6.14.1", "6.14.2", "6.14.3", "6.14.4", "6.14.5",
                                          "6.14.6", "6.14.7", "6.14.8", "6.14.9", "6.14.10"};
    std::string concat;
    for (int i = 0; i < 10; i++) {
        add(missing_names[i], missing[i], false);
        concat += hex(missing[i]);
    }
    v.push_back({"6.15.1", concat, false});
    // 6.16 impossible bytes.
    add("6.16.1", "fe", false);
    add("6.16.2", "ff", false);
    add("6.16.3", "fe fe ff ff", false);
    // 6.17 overlong '/'; 6.18 maximum overlongs; 6.19 overlong NUL.
    add("6.17.1", "c0 af", false);
    add("6.17.2", "e0 80 af", false);
    add("6.17.3", "f0 80 80 af", false);
    add("6.17.4", "f8 80 80 80 af", false);
    add("6.17.5", "fc 80 80 80 80 af", false);
    add("6.18.1", "c1 bf", false);
    add("6.18.2", "e0 9f bf", false);
    add("6.18.3", "f0 8f bf bf", false);
    add("6.18.4", "f8 87 bf bf bf", false);
    add("6.18.5", "fc 83 bf bf bf bf", false);
    add("6.19.1", "c0 80", false);
    add("6.19.2", "e0 80 80", false);
    add("6.19.3", "f0 80 80 80", false);
    add("6.19.4", "f8 80 80 80 80", false);
    add("6.19.5", "fc 80 80 80 80 80", false);
    // 6.20 single UTF-16 surrogates; 6.21 paired surrogates.
    add("6.20.1", "ed a0 80", false);
    add("6.20.2", "ed ad bf", false);
    add("6.20.3", "ed ae 80", false);
    add("6.20.4", "ed af bf", false);
    add("6.20.5", "ed b0 80", false);
    add("6.20.6", "ed be 80", false);
    add("6.20.7", "ed bf bf", false);
    add("6.21.1", "ed a0 80 ed b0 80", false);
    add("6.21.2", "ed a0 80 ed bf bf", false);
    add("6.21.3", "ed ad bf ed b0 80", false);
    add("6.21.4", "ed ad bf ed bf bf", false);
    add("6.21.5", "ed ae 80 ed b0 80", false);
    add("6.21.6", "ed ae 80 ed bf bf", false);
    add("6.21.7", "ed af bf ed b0 80", false);
    add("6.21.8", "ed af bf ed bf bf", false);
    // 6.22 noncharacters: valid UTF-8 (U+FFFE, U+FFFF and the last two of planes 1-16).
    static const char *nonchar_names[] = {
        "6.22.1",  "6.22.2",  "6.22.3",  "6.22.4",  "6.22.5",  "6.22.6",  "6.22.7",
        "6.22.8",  "6.22.9",  "6.22.10", "6.22.11", "6.22.12", "6.22.13", "6.22.14",
        "6.22.15", "6.22.16", "6.22.17", "6.22.18", "6.22.19", "6.22.20", "6.22.21",
        "6.22.22", "6.22.23", "6.22.24", "6.22.25", "6.22.26", "6.22.27", "6.22.28",
        "6.22.29", "6.22.30", "6.22.31", "6.22.32", "6.22.33", "6.22.34"};
    int k = 0;
    for (uint32_t plane = 0; plane <= 16; plane++)
        for (uint32_t low : {0xFFFEu, 0xFFFFu})
            v.push_back({nonchar_names[k++], utf8_encode(plane << 16 | low), true});
    // 6.23 assorted valid text.
    add("6.23.1", "ef bf bd", true);                            // U+FFFD
    add("6.23.2", "ef bb bf 61", true);                         // BOM then 'a'
    add("6.23.3", "e2 80 a8 e2 80 a9", true);                   // line/paragraph separators
    add("6.23.4", "f0 9f 98 80 f0 9f 91 8d", true);             // emoji
    add("6.23.5", "61 cc 81 65 cc 81", true);                   // combining accents
    add("6.23.6", "e4 bd a0 e5 a5 bd e4 b8 96 e7 95 8c", true); // CJK
    add("6.23.7", "ef b7 90 ef b7 af", true);                   // U+FDD0, U+FDEF noncharacters
    return v;
}

// --- the table ------------------------------------------------------------------------------

inline std::vector<WsCase> ws_cases() {
    std::vector<WsCase> c;
    auto add = [&c](std::string name, std::string input, std::vector<Expect> expect,
                    uint64_t max = 1 << 20) {
        c.push_back({std::move(name), std::move(input), std::move(expect), max});
    };
    const std::string hello = "Hello, world!";

    // 1.x framing and length encodings.
    {
        const size_t sizes[] = {0, 125, 126, 127, 128, 65535, 65536};
        int i = 1;
        for (size_t n : sizes) {
            std::string p(n, '*');
            add("1.1." + std::to_string(i) + " text, " + std::to_string(n) + " bytes", text(p),
                {e_text(p)});
            std::string b(n, '\xfe');
            add("1.2." + std::to_string(i) + " binary, " + std::to_string(n) + " bytes", binary(b),
                {e_binary(b)});
            i++;
        }
    }
    add("1.3.1 16-bit length for 125 bytes (non-minimal)",
        build({1, std::string(125, 'a'), true, 0, true, LenForm::ext16}), {e_fail(1002)});
    add("1.3.2 64-bit length for 126 bytes (non-minimal)",
        build({1, std::string(126, 'a'), true, 0, true, LenForm::ext64}), {e_fail(1002)});
    add("1.3.3 64-bit length for 65535 bytes (non-minimal)",
        build({2, std::string(65535, 'a'), true, 0, true, LenForm::ext64}), {e_fail(1002)});
    add("1.3.4 16-bit length for 0 bytes (non-minimal)",
        build({2, std::string(), true, 0, true, LenForm::ext16}), {e_fail(1002)});
    add("1.3.5 64-bit length with the top bit set",
        hex("82 ff 80 00 00 00 00 00 00 01 00 00 00 00"), {e_fail(1002)});
    add("1.3.6 unmasked text frame", build({1, hello, true, 0, false}), {e_fail(1002)});
    add("1.3.7 unmasked empty binary frame", build({2, "", true, 0, false}), {e_fail(1002)});
    add("1.3.8 unmasked ping", build({9, "x", true, 0, false}), {e_fail(1002)});
    add("1.3.9 unmasked close", build({8, close_payload(1000), true, 0, false}), {e_fail(1002)});
    add("1.3.10 masked with an all-zero key",
        build({1, hello, true, 0, true, LenForm::minimal, true}), {e_text(hello)});
    add("1.3.11 valid text then unmasked text",
        text("first") + build({1, "second", true, 0, false}), {e_text("first"), e_fail(1002)});
    {
        std::string in;
        std::vector<Expect> ex;
        for (int i = 0; i < 10; i++) {
            std::string p = "message " + std::to_string(i) + std::string(i * 13, 'z');
            in += (i % 2) ? binary(p) : text(p);
            ex.push_back((i % 2) ? e_binary(p) : e_text(p));
        }
        add("1.3.12 ten messages in one read, text and binary alternating", in, ex);
    }
    {
        std::string p(300, 'q');
        add("1.3.13 16-bit length for 300 bytes", text(p), {e_text(p)});
        std::string b(70000, '\x01');
        add("1.3.14 64-bit length for 70000 bytes", binary(b), {e_binary(b)});
    }
    add("1.3.15 binary with every byte value",
        [] {
            std::string b;
            for (int i = 0; i < 256; i++)
                b += static_cast<char>(i);
            return binary(b);
        }(),
        {[] {
            std::string b;
            for (int i = 0; i < 256; i++)
                b += static_cast<char>(i);
            return e_binary(b);
        }()});

    // 2.x pings and pongs.
    add("2.1 ping without payload", ping(), {e_ping()});
    add("2.2 ping with text payload", ping(hello), {e_ping(hello)});
    add("2.3 ping with binary payload", ping(hex("00 ff fe fd fc fb 00 ff")),
        {e_ping(hex("00 ff fe fd fc fb 00 ff"))});
    add("2.4 ping with 125-byte payload", ping(std::string(125, '\xfe')),
        {e_ping(std::string(125, '\xfe'))});
    add("2.5 ping with 126-byte payload", build({9, std::string(126, '\xfe')}), {e_fail(1002)});
    add("2.6 ping with 125-byte payload, chopped", ping(std::string(125, 'c')),
        {e_ping(std::string(125, 'c'))});
    add("2.7 unsolicited pong without payload", pong(), {e_pong()});
    add("2.8 unsolicited pong with payload", pong("unsolicited pong payload"),
        {e_pong("unsolicited pong payload")});
    add("2.9 unsolicited pong, then ping", pong("unsolicited pong payload") + ping("ping payload"),
        {e_pong("unsolicited pong payload"), e_ping("ping payload")});
    {
        std::string in;
        std::vector<Expect> ex;
        for (int i = 0; i < 10; i++) {
            std::string p = "payload-" + std::to_string(i);
            in += ping(p);
            ex.push_back(e_ping(p));
        }
        add("2.10 ten pings", in, ex);
        add("2.11 ten pings, chopped", in, ex);
    }
    add("2.12 ping with 127-byte payload in a 16-bit length",
        build({9, std::string(127, 'x'), true, 0, true, LenForm::ext16}), {e_fail(1002)});
    add("2.13 pong with 126-byte payload", build({10, std::string(126, 'x')}), {e_fail(1002)});
    add("2.14 ping with 64-bit length",
        build({9, std::string(5, 'x'), true, 0, true, LenForm::ext64}), {e_fail(1002)});

    // 3.x reserved bits.
    add("3.1 text with RSV1", frame(1, hello, true, 4), {e_fail(1002)});
    add("3.2 text, then text with RSV2, then ping", text(hello) + frame(1, hello, true, 2) + ping(),
        {e_text(hello), e_fail(1002)});
    add("3.3 text, then text with RSV3, then ping", text(hello) + frame(1, hello, true, 1) + ping(),
        {e_text(hello), e_fail(1002)});
    add("3.4 text, then text with RSV1+RSV2, then ping",
        text(hello) + frame(1, hello, true, 6) + ping(), {e_text(hello), e_fail(1002)});
    add("3.5 binary with RSV1+RSV3", frame(2, hex("00 ff fe fd"), true, 5), {e_fail(1002)});
    add("3.6 ping with RSV2+RSV3", frame(9, hello, true, 3), {e_fail(1002)});
    add("3.7 close with all RSV bits", frame(8, close_payload(1000), true, 7), {e_fail(1002)});
    add("3.8 continuation with RSV1", text("a", false) + frame(0, "b", true, 4), {e_fail(1002)});
    add("3.9 pong with RSV1", frame(10, "", true, 4), {e_fail(1002)});
    add("3.10 empty text with RSV3", frame(1, "", true, 1), {e_fail(1002)});

    // 4.x opcodes.
    add("4.1.1 reserved non-control opcode 3", frame(3, ""), {e_fail(1002)});
    add("4.1.2 reserved non-control opcode 4 with payload", frame(4, "reserved opcode payload"),
        {e_fail(1002)});
    add("4.1.3 text, opcode 5, ping", text(hello) + frame(5, "") + ping(),
        {e_text(hello), e_fail(1002)});
    add("4.1.4 text, opcode 6 with payload, ping", text(hello) + frame(6, "payload") + ping(),
        {e_text(hello), e_fail(1002)});
    add("4.1.5 text, opcode 7 with payload, ping", text(hello) + frame(7, "payload") + ping(),
        {e_text(hello), e_fail(1002)});
    add("4.2.1 reserved control opcode 11", frame(11, ""), {e_fail(1002)});
    add("4.2.2 reserved control opcode 12 with payload", frame(12, "payload"), {e_fail(1002)});
    add("4.2.3 text, opcode 13, ping", text(hello) + frame(13, "") + ping(),
        {e_text(hello), e_fail(1002)});
    add("4.2.4 text, opcode 14 with payload, ping", text(hello) + frame(14, "payload") + ping(),
        {e_text(hello), e_fail(1002)});
    add("4.2.5 text, opcode 15 with payload, ping", text(hello) + frame(15, "payload") + ping(),
        {e_text(hello), e_fail(1002)});
    for (int op : {3, 4, 5, 6, 7, 11, 12, 13, 14, 15})
        add("4.3." + std::to_string(op) + " opcode " + std::to_string(op) +
                " inside a fragmented message",
            text("frag", false) + frame(static_cast<uint8_t>(op), "x", true) + cont("ment"),
            {e_fail(1002)});

    // 5.x fragmentation.
    add("5.1 ping in two fragments", frame(9, "ping", false) + cont("payload"), {e_fail(1002)});
    add("5.2 pong in two fragments", frame(10, "pong", false) + cont("payload"), {e_fail(1002)});
    add("5.3 text in two fragments", text("fragment1", false) + cont("fragment2"),
        {e_text("fragment1fragment2")});
    add("5.4 text in two fragments, chopped", text("fragment1", false) + cont("fragment2"),
        {e_text("fragment1fragment2")});
    add("5.5 text in two fragments, one write per frame",
        text("fragment1", false) + cont("fragment2"), {e_text("fragment1fragment2")});
    add("5.6 text in two fragments with a ping between",
        text("fragment1", false) + ping("pongme!") + cont("fragment2"),
        {e_ping("pongme!"), e_text("fragment1fragment2")});
    add("5.7 text in two fragments with a ping between, chopped",
        text("fragment1", false) + ping("pongme!") + cont("fragment2"),
        {e_ping("pongme!"), e_text("fragment1fragment2")});
    add("5.8 text in two fragments with a ping between, one write per frame",
        text("fragment1", false) + ping("pongme!") + cont("fragment2"),
        {e_ping("pongme!"), e_text("fragment1fragment2")});
    add("5.9 final continuation without a message, then text",
        cont("non-continuation payload") + text(hello), {e_fail(1002)});
    add("5.10 final continuation without a message, chopped",
        cont("non-continuation payload") + text(hello), {e_fail(1002)});
    add("5.11 final continuation without a message, one write per frame",
        cont("non-continuation payload") + text(hello), {e_fail(1002)});
    add("5.12 non-final continuation without a message, then text",
        cont("non-continuation payload", false) + text(hello), {e_fail(1002)});
    add("5.13 non-final continuation without a message, chopped",
        cont("non-continuation payload", false) + text(hello), {e_fail(1002)});
    add("5.14 non-final continuation without a message, one write per frame",
        cont("non-continuation payload", false) + text(hello), {e_fail(1002)});
    add("5.15 text in two fragments, then a continuation, then a new text",
        text("fragment1", false) + cont("fragment2") + cont("fragment3", false) + text("fragment4"),
        {e_text("fragment1fragment2"), e_fail(1002)});
    add("5.16 continuation, text, continuation (twice)",
        cont("fragment1", false) + text("fragment2", false) + cont("fragment3") +
            cont("fragment1", false) + text("fragment2", false) + cont("fragment3"),
        {e_fail(1002)});
    add("5.17 final continuation, text, continuation (twice)",
        cont("fragment1") + text("fragment2", false) + cont("fragment3") + cont("fragment1") +
            text("fragment2", false) + cont("fragment3"),
        {e_fail(1002)});
    add("5.18 text fragment, then a new final text", text("fragment1", false) + text("fragment2"),
        {e_fail(1002)});
    {
        std::string in = text("fragment1", false) + cont("fragment2", false) + ping("pongme 1!") +
                         cont("fragment3", false) + cont("fragment4", false) + ping("pongme 2!") +
                         cont("fragment5");
        std::vector<Expect> ex = {e_ping("pongme 1!"), e_ping("pongme 2!"),
                                  e_text("fragment1fragment2fragment3fragment4fragment5")};
        add("5.19 text in five fragments with two pings between", in, ex);
        add("5.20 text in five fragments with two pings between, chopped", in, ex);
    }
    add("5.21 binary in three fragments",
        binary("\x01\x02", false) + cont("\x03", false) + cont("\x04\x05"),
        {e_binary("\x01\x02\x03\x04\x05")});
    add("5.22 text in empty fragments", text("", false) + cont("", false) + cont(""), {e_text("")});
    add("5.23 text fragments with a pong between", text("a", false) + pong("p") + cont("b"),
        {e_pong("p"), e_text("ab")});
    add("5.24 fragmented binary, then fragmented text",
        binary("b1", false) + cont("b2") + text("t1", false) + cont("t2"),
        {e_binary("b1b2"), e_text("t1t2")});
    add("5.25 binary fragment, then a new binary", binary("x", false) + binary("y"),
        {e_fail(1002)});
    add("5.26 text fragment, then a binary fragment", text("x", false) + binary("y", false),
        {e_fail(1002)});
    {
        std::string in = text("", false);
        std::string whole;
        for (int i = 0; i < 40; i++) {
            std::string p = std::to_string(i) + ",";
            in += cont(p, false);
            whole += p;
        }
        in += cont("end");
        add("5.27 text in 42 fragments", in, {e_text(whole + "end")});
    }
    add("5.28 close between fragments", text("fragment1", false) + close(1000) + cont("x"),
        {e_close(1000)});
    add("5.29 a 300-byte fragment, then a 70000-byte fragment",
        binary(std::string(300, 'a'), false) + cont(std::string(70000, 'b')),
        {e_binary(std::string(300, 'a') + std::string(70000, 'b'))});

    // 6.x UTF-8 handling.
    add("6.1.1 empty text", text(""), {e_text("")});
    add("6.1.2 three empty text fragments", text("", false) + cont("", false) + cont(""),
        {e_text("")});
    add("6.1.3 empty, non-empty, empty text fragments",
        text("", false) + cont("middle frame payload", false) + cont(""),
        {e_text("middle frame payload")});
    {
        const std::string s =
            "Hello-\xc2\xb5@\xc3\x9f\xc3\xb6\xc3\xa4\xc3\xbc\xc3\xa0\xc3\xa1-UTF-8!!";
        add("6.2.1 valid UTF-8 in one frame", text(s), {e_text(s)});
        add("6.2.2 valid UTF-8 fragmented on code points",
            text(s.substr(0, 11), false) + cont(s.substr(11)), {e_text(s)});
        std::string per;
        for (size_t i = 0; i < s.size(); i++)
            per += i == 0 ? text(s.substr(0, 1), false) : cont(s.substr(i, 1), i + 1 == s.size());
        add("6.2.3 valid UTF-8 fragmented into single bytes", per, {e_text(s)});
        const std::string k = hex("ce ba e1 bd b9 cf 83 ce bc ce b5");
        std::string perk;
        for (size_t i = 0; i < k.size(); i++)
            perk += i == 0 ? text(k.substr(0, 1), false) : cont(k.substr(i, 1), i + 1 == k.size());
        add("6.2.4 kosme fragmented into single bytes", perk, {e_text(k)});
        const std::string bad = k + hex("ed a0 80") + "edited";
        add("6.3.1 invalid UTF-8 (surrogate) in one frame", text(bad), {e_fail(1007)});
        std::string perb;
        for (size_t i = 0; i < bad.size(); i++)
            perb += i == 0 ? text(bad.substr(0, 1), false)
                           : cont(bad.substr(i, 1), i + 1 == bad.size());
        add("6.3.2 invalid UTF-8 fragmented into single bytes", perb, {e_fail(1007)});

        // 6.4: fail fast. The input stops before the message ends; the error must come from
        // the invalid prefix alone.
        add("6.4.1 invalid fragment inside a message that never ends",
            text(k, false) + cont(hex("f4 90 80 80"), false), {e_fail(1007)});
        add("6.4.2 invalid byte at the start of the second fragment",
            text(k + hex("f4"), false) + cont(hex("90 80 80"), false), {e_fail(1007)});
        const std::string whole = text(k + hex("f4 90 80 80") + "edited");
        const size_t hdr = 6; // 2 + mask key
        add("6.4.3 invalid byte in a frame whose rest never arrives",
            whole.substr(0, hdr + k.size() + 2), {e_fail(1007)});
        add("6.4.4 invalid sequence in a frame whose rest never arrives",
            whole.substr(0, hdr + k.size() + 4), {e_fail(1007)});
        add("6.5.1 kosme in one frame", text(k), {e_text(k)});
        add("6.5.2 kosme in two fragments on a code point boundary",
            text(k.substr(0, 5), false) + cont(k.substr(5)), {e_text(k)});
        add("6.5.3 kosme in two fragments inside a code point",
            text(k.substr(0, 3), false) + cont(k.substr(3)), {e_text(k)});
        add("6.5.4 kosme with a ping inside a code point",
            text(k.substr(0, 4), false) + ping("p") + cont(k.substr(4)), {e_ping("p"), e_text(k)});
        add("6.5.5 text ending inside a code point", text(k.substr(0, 4)), {e_fail(1007)});
        add("6.5.6 fragmented text ending inside a code point",
            text(k.substr(0, 3), false) + cont(k.substr(3, 1)), {e_fail(1007)});
    }
    for (const Utf8Seq &s : utf8_sequences()) {
        std::vector<Expect> ex =
            s.valid ? std::vector<Expect>{e_text(s.bytes)} : std::vector<Expect>{e_fail(1007)};
        add(std::string(s.name) + " " + (s.valid ? "valid" : "invalid") + " in one frame",
            text(s.bytes), ex);
        std::string per;
        for (size_t i = 0; i < s.bytes.size(); i++)
            per += i == 0 ? text(s.bytes.substr(0, 1), s.bytes.size() == 1)
                          : cont(s.bytes.substr(i, 1), i + 1 == s.bytes.size());
        add(std::string(s.name) + " " + (s.valid ? "valid" : "invalid") + " in one-byte fragments",
            per, ex);
    }
    add("6.24.1 binary messages are not UTF-8 checked", binary(hex("ff fe c0 80 ed a0 80")),
        {e_binary(hex("ff fe c0 80 ed a0 80"))});
    add("6.24.2 ping payloads are not UTF-8 checked", ping(hex("ff c0")), {e_ping(hex("ff c0"))});

    // 7.x closing.
    add("7.1.1 text, then close", text(hello) + close(1000), {e_text(hello), e_close(1000)});
    add("7.1.2 close twice", close(1000) + close(1000), {e_close(1000)});
    add("7.1.3 close, then ping", close(1000) + ping(hello), {e_close(1000)});
    add("7.1.4 close, then text", close(1000) + text(hello), {e_close(1000)});
    add("7.1.5 fragment, close, fragment",
        text("fragment1", false) + close(1000) + cont("fragment2"), {e_close(1000)});
    add("7.1.6 large text, close, ping", text(std::string(100000, 'B')) + close(1000) + ping(),
        {e_text(std::string(100000, 'B')), e_close(1000)});
    add("7.1.7 close, then garbage", close(1000) + hex("ff ff ff ff"), {e_close(1000)});
    add("7.3.1 close without payload", close_empty(), {e_close(1005)});
    add("7.3.2 close with 1-byte payload", frame(8, "a"), {e_fail(1002)});
    add("7.3.3 close with code only", close(1000), {e_close(1000)});
    add("7.3.4 close with code and reason", close(1000, hello), {e_close(1000, hello)});
    add("7.3.5 close with 123-byte reason", close(1000, std::string(123, '*')),
        {e_close(1000, std::string(123, '*'))});
    add("7.3.6 close with 124-byte reason", build({8, close_payload(1000, std::string(124, '*'))}),
        {e_fail(1002)});
    add("7.5.1 close reason with invalid UTF-8",
        close(1000, hex("ce ba e1 bd b9 cf 83 ce bc ce b5 ed a0 80 65 64 69 74 65 64")),
        {e_fail(1007)});
    add("7.5.2 close reason ending inside a code point", close(1000, hex("ce")), {e_fail(1007)});
    add("7.5.3 close reason with valid multi-byte UTF-8", close(1001, hex("ce ba e1 bd b9")),
        {e_close(1001, hex("ce ba e1 bd b9"))});
    {
        const uint16_t valid[] = {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010,
                                  1011, 3000, 3999, 4000, 4999, 1012, 1013, 1014};
        int i = 1;
        for (uint16_t code : valid)
            add("7.7." + std::to_string(i++) + " close with valid code " + std::to_string(code),
                close(code), {e_close(code)});
        const uint16_t invalid[] = {0,    999,  1004, 1005, 1006,  1015, 1016,
                                    1100, 2000, 2999, 5000, 65535, 1};
        i = 1;
        for (uint16_t code : invalid)
            add("7.9." + std::to_string(i++) + " close with invalid code " + std::to_string(code),
                close(code), {e_fail(1002)});
    }
    add("7.13.1 close with code 5000 and a reason", close(5000, "reason"), {e_fail(1002)});
    add("7.13.2 close with code 65535 and a reason", close(65535, "reason"), {e_fail(1002)});

    // 9.x limits and many messages (max_message is 1 MiB unless the case says otherwise).
    {
        const size_t sizes[] = {65536, 262144, 1 << 20};
        int i = 1;
        for (size_t n : sizes) {
            std::string p(n, 'x');
            add("9.1." + std::to_string(i) + " text of " + std::to_string(n) + " bytes", text(p),
                {e_text(p)});
            std::string b(n, '\xfe');
            add("9.2." + std::to_string(i) + " binary of " + std::to_string(n) + " bytes",
                binary(b), {e_binary(b)});
            i++;
        }
        const size_t frags[] = {64, 256, 1024, 4096, 16384, 65536};
        i = 1;
        for (size_t f : frags) {
            const size_t total = 131072;
            std::string p(total, '*');
            std::string in_t, in_b;
            for (size_t off = 0; off < total; off += f) {
                bool last = off + f >= total;
                std::string piece = p.substr(off, f);
                in_t += off == 0 ? text(piece, last) : cont(piece, last);
                in_b += off == 0 ? binary(piece, last) : cont(piece, last);
            }
            add("9.3." + std::to_string(i) + " text of 128 KiB in " + std::to_string(f) +
                    "-byte fragments",
                in_t, {e_text(p)});
            add("9.4." + std::to_string(i) + " binary of 128 KiB in " + std::to_string(f) +
                    "-byte fragments",
                in_b, {e_binary(std::string(total, '*'))});
            i++;
        }
        std::string in_t, in_b;
        std::vector<Expect> ex_t, ex_b;
        for (int k = 0; k < 1000; k++) {
            std::string p = "m" + std::to_string(k);
            in_t += text(p);
            ex_t.push_back(e_text(p));
            in_b += binary(p);
            ex_b.push_back(e_binary(p));
        }
        add("9.7.1 1000 small text messages", in_t, ex_t);
        add("9.8.1 1000 small binary messages", in_b, ex_b);
    }
    const uint64_t lim = 65536;
    add("9.9.1 text of exactly the limit", text(std::string(lim, 'a')),
        {e_text(std::string(lim, 'a'))}, lim);
    add("9.9.2 text one byte over the limit", text(std::string(lim + 1, 'a')), {e_fail(1009)}, lim);
    add("9.9.3 binary one byte over the limit", binary(std::string(lim + 1, 'a')), {e_fail(1009)},
        lim);
    add("9.9.4 oversize header alone fails before the payload arrives", header_only(1, lim + 1),
        {e_fail(1009)}, lim);
    add("9.9.5 64-bit length of 2^40 fails at once", header_only(2, 1ull << 40), {e_fail(1009)},
        lim);
    add("9.9.6 fragments summing to the limit",
        text(std::string(30000, 'a'), false) + cont(std::string(30000, 'b'), false) +
            cont(std::string(5536, 'c')),
        {e_text(std::string(30000, 'a') + std::string(30000, 'b') + std::string(5536, 'c'))}, lim);
    add("9.9.7 fragments summing to one over the limit",
        text(std::string(30000, 'a'), false) + cont(std::string(30000, 'b'), false) +
            cont(std::string(5537, 'c')),
        {e_fail(1009)}, lim);
    add("9.9.8 oversize continuation header fails before its payload",
        binary(std::string(60000, 'a'), false) + header_only(0, 6000), {e_fail(1009)}, lim);
    add("9.9.9 ping between fragments does not count toward the limit",
        text(std::string(65000, 'a'), false) + ping(std::string(125, 'p')) +
            cont(std::string(536, 'b')),
        {e_ping(std::string(125, 'p')), e_text(std::string(65000, 'a') + std::string(536, 'b'))},
        lim);
    add("9.9.10 a message after a message at the limit", text(std::string(lim, 'a')) + text("next"),
        {e_text(std::string(lim, 'a')), e_text("next")}, lim);
    add("9.9.11 tiny limit: 10 bytes ok, 11 fail", text("0123456789") + text("0123456789a"),
        {e_text("0123456789"), e_fail(1009)}, 10);
    add("9.9.12 control frames are not bound by a tiny message limit", ping(std::string(100, 'p')),
        {e_ping(std::string(100, 'p'))}, 10);
    return c;
}

} // namespace glide::frame::cases
