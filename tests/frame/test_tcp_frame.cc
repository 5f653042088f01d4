// TCP framing: 4-byte big-endian length, then the message. Each case is fed whole, split at
// every point and one byte at a time, with identical results.
#include "glide_cmocka.h"

#include <cstdio>
#include <string>
#include <vector>

#include "frame/tcp_frame.h"

using namespace glide::frame;

namespace {

std::string msg(const std::string &body) {
    uint8_t h[kTcpHeaderSize];
    encode_tcp_header(h, static_cast<uint32_t>(body.size()));
    return std::string(reinterpret_cast<char *>(h), 4) + body;
}

std::string raw_header(uint32_t n) {
    uint8_t h[kTcpHeaderSize];
    encode_tcp_header(h, n);
    return std::string(reinterpret_cast<char *>(h), 4);
}

struct TcpCase {
    const char *name;
    std::string input;
    std::vector<std::string> messages;
    bool error;
    uint32_t max = 65536;
};

// Result as one string: the messages, then "ERR:" and the reason if the stream failed.
std::vector<std::string> run(const TcpCase &c, const std::vector<size_t> &cuts) {
    TcpDecoder dec({c.max});
    std::vector<std::string> out;
    std::string pending;
    size_t from = 0;
    for (size_t cut : cuts) {
        pending.append(c.input, from, cut - from);
        from = cut;
        size_t off = 0;
        for (;;) {
            TcpEvent ev;
            auto *p = reinterpret_cast<const uint8_t *>(pending.data());
            DecodeResult r = dec.decode({p + off, pending.size() - off}, &ev);
            off += r.consumed;
            if (r.status == DecodeStatus::need_more) {
                assert_int_equal(off, pending.size());
                break;
            }
            if (ev.type == TcpEventType::error) {
                out.push_back("ERR:" + std::string(ev.reason));
                return out;
            }
            out.emplace_back(reinterpret_cast<const char *>(ev.payload.data()), ev.payload.size());
        }
        pending.erase(0, off);
    }
    return out;
}

void check(const TcpCase &c, const std::vector<size_t> &cuts, const char *how) {
    std::vector<std::string> got = run(c, cuts);
    bool err = !got.empty() && got.back().rfind("ERR:", 0) == 0;
    if (err)
        got.pop_back();
    if (got != c.messages || err != c.error) {
        print_error("%s fed %s: %zu messages%s, want %zu%s\n", c.name, how, got.size(),
                    err ? " and an error" : "", c.messages.size(), c.error ? " and an error" : "");
        fail();
    }
}

std::vector<TcpCase> cases() {
    std::vector<TcpCase> c;
    c.push_back({"t1 one message",
                 msg("{\"action\":\"heartbeat\"}"),
                 {"{\"action\":\"heartbeat\"}"},
                 false});
    c.push_back(
        {"t2 three messages", msg("a") + msg("bb") + msg("ccc"), {"a", "bb", "ccc"}, false});
    c.push_back({"t3 one-byte message", msg("x"), {"x"}, false});
    c.push_back(
        {"t4 exactly the limit", msg(std::string(65536, 'm')), {std::string(65536, 'm')}, false});
    c.push_back({"t5 one over the limit", msg(std::string(65537, 'm')), {}, true});
    c.push_back({"t6 oversize header fails before its payload", raw_header(65537), {}, true});
    c.push_back({"t7 zero length", raw_header(0), {}, true});
    c.push_back(
        {"t8 message then zero length", msg("ok") + raw_header(0) + msg("never"), {"ok"}, true});
    c.push_back({"t9 length 0xFFFFFFFF", raw_header(0xFFFFFFFFu), {}, true});
    c.push_back({"t10 incomplete header", std::string("\0\0", 2), {}, false});
    c.push_back({"t11 incomplete payload", raw_header(10) + "abc", {}, false});
    c.push_back({"t12 binary payload with every byte",
                 [] {
                     std::string b;
                     for (int i = 0; i < 256; i++)
                         b += static_cast<char>(i);
                     return msg(b);
                 }(),
                 {[] {
                     std::string b;
                     for (int i = 0; i < 256; i++)
                         b += static_cast<char>(i);
                     return b;
                 }()},
                 false});
    c.push_back({"t13 tiny limit", msg("1234") + msg("12345"), {"1234"}, true, 4});
    {
        TcpCase many{"t14 500 messages", "", {}, false};
        for (int i = 0; i < 500; i++) {
            std::string b = "message-" + std::to_string(i);
            many.input += msg(b);
            many.messages.push_back(b);
        }
        c.push_back(many);
    }
    c.push_back({"t15 large then small",
                 msg(std::string(40000, 'L')) + msg("s"),
                 {std::string(40000, 'L'), "s"},
                 false});
    return c;
}

std::vector<TcpCase> g_cases;

void test_case(void **state) {
    const TcpCase &c = *static_cast<const TcpCase *>(*state);
    const size_t n = c.input.size();
    check(c, {n}, "whole");
    const size_t step = n > 4096 ? n / 256 : 1;
    for (size_t i = 1; i < n; i += step) {
        char how[32];
        std::snprintf(how, sizeof how, "split at %zu", i);
        check(c, {i, n}, how);
    }
    std::vector<size_t> cuts;
    for (size_t i = 1; i <= n; i++)
        cuts.push_back(i);
    check(c, cuts, "one byte at a time");
}

void test_zero_copy(void **) {
    std::string in = msg("hello") + msg("world");
    TcpDecoder dec({.max_message_size = 65536});
    TcpEvent ev;
    auto *p = reinterpret_cast<const uint8_t *>(in.data());
    DecodeResult r = dec.decode({p, in.size()}, &ev);
    assert_int_equal(r.consumed, 9);
    assert_ptr_equal(ev.payload.data(), p + 4);
    r = dec.decode({p + 9, in.size() - 9}, &ev);
    assert_ptr_equal(ev.payload.data(), p + 13);
}

void test_sticky_error(void **) {
    std::string in = raw_header(0);
    TcpDecoder dec({.max_message_size = 65536});
    TcpEvent ev;
    auto *p = reinterpret_cast<const uint8_t *>(in.data());
    dec.decode({p, in.size()}, &ev);
    assert_true(dec.failed());
    DecodeResult r = dec.decode({p, in.size()}, &ev);
    assert_int_equal(static_cast<int>(r.status), static_cast<int>(DecodeStatus::event));
    assert_int_equal(static_cast<int>(ev.type), static_cast<int>(TcpEventType::error));
}

void test_header(void **) {
    uint8_t h[4];
    encode_tcp_header(h, 0x01020304);
    const uint8_t want[] = {1, 2, 3, 4};
    assert_memory_equal(h, want, 4);
}

} // namespace

int main() {
    g_cases = cases();
    std::vector<CMUnitTest> tests;
    for (const TcpCase &c : g_cases)
        tests.push_back(CMUnitTest{c.name, test_case, nullptr, nullptr, const_cast<TcpCase *>(&c)});
    const CMUnitTest units[] = {cmocka_unit_test(test_zero_copy),
                                cmocka_unit_test(test_sticky_error), cmocka_unit_test(test_header)};
    for (const CMUnitTest &u : units)
        tests.push_back(u);
    return _cmocka_run_group_tests("tcp_frame", tests.data(), tests.size(), nullptr, nullptr);
}
