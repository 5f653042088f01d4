// The upgrade-request parser and the answer writers. Every case of ws_handshake_cases.h is
// parsed whole and at every prefix (the parser is stateless, so a prefix is exactly what a
// split read gives it): every prefix must answer "need more" or exactly what the whole request
// answers.
#include "glide_cmocka.h"

#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "frame/ws_handshake.h"
#include "ws_handshake_cases.h"

using namespace glide::frame;
using namespace glide::frame::cases;

namespace {

struct Parsed {
    HandshakeResult r;
    Subprotocol proto = Subprotocol::none;
};

Parsed parse(const HandshakeCase &c, std::string_view input) {
    std::vector<std::string_view> origins(c.allowed_origins.begin(), c.allowed_origins.end());
    HandshakeConfig cfg{.path = "/ws"};
    cfg.allowed_origins = origins;
    cfg.max_header_bytes = c.max_header_bytes;
    cfg.max_headers = c.max_headers;
    Header scratch[128];
    HandshakeRequest req;
    // Parse from a heap copy of exactly the prefix, so that valgrind and ASan see any read
    // beyond it.
    std::vector<char> buf(input.begin(), input.end());
    Parsed p;
    p.r = parse_handshake(buf.data(), buf.size(), cfg, &req, scratch);
    p.proto = req.subprotocol;
    if (p.r.status == HandshakeStatus::complete) {
        // Everything the request points to lies inside the input.
        for (const Header &h : req.headers) {
            assert_true(h.name.data() >= buf.data() && h.name.data() < buf.data() + buf.size());
            assert_true(h.value.data() >= buf.data() &&
                        h.value.data() + h.value.size() <= buf.data() + buf.size());
        }
        char out[kMaxUpgradeResponse];
        assert_true(write_upgrade_response(req, out, sizeof out) > 0);
    }
    return p;
}

const char *status_name(HandshakeStatus s) {
    return s == HandshakeStatus::complete ? "complete"
           : s == HandshakeStatus::error  ? "error"
                                          : "need_more";
}

void test_case(void **state) {
    const HandshakeCase &c = *static_cast<const HandshakeCase *>(*state);
    const std::string input = c.request + c.trailing;
    Parsed whole = parse(c, input);
    if (whole.r.status != c.status || whole.r.http_status != c.http_status ||
        whole.proto != c.subprotocol) {
        print_error("%s: got %s %d (%.*s) protocol %d; want %s %d protocol %d\n", c.name.c_str(),
                    status_name(whole.r.status), whole.r.http_status,
                    static_cast<int>(whole.r.reason.size()), whole.r.reason.data(),
                    static_cast<int>(whole.proto), status_name(c.status), c.http_status,
                    static_cast<int>(c.subprotocol));
        fail();
    }
    if (c.status == HandshakeStatus::complete)
        assert_int_equal(whole.r.consumed, c.request.size());
    for (size_t i = 0; i < input.size(); i++) {
        Parsed p = parse(c, std::string_view(input).substr(0, i));
        if (p.r.status == HandshakeStatus::need_more)
            continue;
        if (p.r.status != whole.r.status || p.r.http_status != whole.r.http_status ||
            p.r.consumed != whole.r.consumed || p.proto != whole.proto) {
            print_error("%s: prefix of %zu bytes gives %s %d, whole gives %s %d\n", c.name.c_str(),
                        i, status_name(p.r.status), p.r.http_status, status_name(whole.r.status),
                        whole.r.http_status);
            fail();
        }
    }
}

void test_accept_sample(void **) {
    char out[28];
    assert_int_equal(websocket_accept(kSampleKey, out), 28);
    assert_memory_equal(out, kSampleAccept, 28);
}

void test_upgrade_response(void **) {
    HandshakeCase c{"", request("GET /ws HTTP/1.1", base_headers()), HandshakeStatus::complete};
    Header scratch[16];
    HandshakeRequest req;
    HandshakeConfig cfg{.path = "/ws"};
    HandshakeResult r = parse_handshake(c.request.data(), c.request.size(), cfg, &req, scratch);
    assert_int_equal(static_cast<int>(r.status), static_cast<int>(HandshakeStatus::complete));
    assert_true(req.path == "/ws");
    assert_true(req.host == "example.com");
    assert_true(req.key == kSampleKey);
    assert_int_equal(req.headers.size(), 5);
    char out[kMaxUpgradeResponse];
    size_t n = write_upgrade_response(req, out, sizeof out);
    const std::string want = std::string("HTTP/1.1 101 Switching Protocols\r\n"
                                         "Upgrade: websocket\r\n"
                                         "Connection: Upgrade\r\n"
                                         "Sec-WebSocket-Accept: ") +
                             kSampleAccept + "\r\n\r\n";
    assert_int_equal(n, want.size());
    assert_memory_equal(out, want.data(), n);
    assert_int_equal(write_upgrade_response(req, out, n - 1), 0); // too small

    req.subprotocol = Subprotocol::protobuf;
    n = write_upgrade_response(req, out, sizeof out);
    std::string got(out, n);
    assert_true(got.find("\r\nSec-WebSocket-Protocol: glide.protobuf\r\n\r\n") !=
                std::string::npos);
}

void test_query_and_fields(void **) {
    std::string r = request("GET /ws?a=1&b=2 HTTP/1.1",
                            plus(base_headers(), {"Origin: https://x.example",
                                                  "Sec-WebSocket-Extensions: permessage-deflate",
                                                  "Sec-WebSocket-Protocol: glide.json"}));
    Header scratch[16];
    HandshakeRequest req;
    HandshakeResult res =
        parse_handshake(r.data(), r.size(), HandshakeConfig{.path = "/ws"}, &req, scratch);
    assert_int_equal(static_cast<int>(res.status), static_cast<int>(HandshakeStatus::complete));
    assert_true(req.target == "/ws?a=1&b=2");
    assert_true(req.path == "/ws");
    assert_true(req.query == "a=1&b=2");
    assert_true(req.origin == "https://x.example");
    assert_true(req.extensions == "permessage-deflate");
    assert_true(req.subprotocol == Subprotocol::json);
    assert_true(subprotocol_name(req.subprotocol) == "glide.json");
}

void test_custom_path(void **) {
    std::string r = request("GET /chat/socket HTTP/1.1", base_headers());
    Header scratch[16];
    HandshakeRequest req;
    HandshakeConfig cfg{.path = "/chat/socket"};
    assert_int_equal(
        static_cast<int>(parse_handshake(r.data(), r.size(), cfg, &req, scratch).status),
        static_cast<int>(HandshakeStatus::complete));
    cfg.path = "/ws";
    assert_int_equal(parse_handshake(r.data(), r.size(), cfg, &req, scratch).http_status, 404);
}

void test_scratch_bounds_headers(void **) {
    std::string r = request("GET /ws HTTP/1.1", base_headers());
    Header scratch[3];
    HandshakeRequest req;
    HandshakeResult res =
        parse_handshake(r.data(), r.size(), HandshakeConfig{.path = "/ws"}, &req, scratch);
    assert_int_equal(res.http_status, 431);
}

std::string error_text(int status, std::string_view reason) {
    char out[kMaxUpgradeResponse];
    size_t n = write_error_response(status, reason, out, sizeof out);
    assert_true(n > 0);
    return std::string(out, n);
}

void test_error_responses(void **) {
    std::string s = error_text(400, "invalid Sec-WebSocket-Key");
    const std::string want = "HTTP/1.1 400 Bad Request\r\n"
                             "Content-Type: text/plain\r\n"
                             "Content-Length: 26\r\n"
                             "Connection: close\r\n"
                             "\r\n"
                             "invalid Sec-WebSocket-Key\n";
    assert_string_equal(s.c_str(), want.c_str());
    s = error_text(405, "only GET");
    assert_true(s.rfind("HTTP/1.1 405 Method Not Allowed\r\n", 0) == 0);
    assert_true(s.find("\r\nAllow: GET\r\n") != std::string::npos);
    s = error_text(426, "unsupported Sec-WebSocket-Version");
    assert_true(s.rfind("HTTP/1.1 426 Upgrade Required\r\n", 0) == 0);
    assert_true(s.find("\r\nSec-WebSocket-Version: 13\r\n") != std::string::npos);
    assert_true(error_text(403, "x").rfind("HTTP/1.1 403 Forbidden\r\n", 0) == 0);
    assert_true(error_text(404, "x").rfind("HTTP/1.1 404 Not Found\r\n", 0) == 0);
    assert_true(error_text(431, "x").rfind("HTTP/1.1 431 Request Header Fields Too Large\r\n", 0) ==
                0);
    assert_true(error_text(505, "x").rfind("HTTP/1.1 505 HTTP Version Not Supported\r\n", 0) == 0);
    // The Content-Length is the body's length.
    s = error_text(404, "no WebSocket endpoint at this path");
    size_t body = s.find("\r\n\r\n") + 4;
    assert_int_equal(s.size() - body, std::string("no WebSocket endpoint at this path\n").size());
    char tiny[10];
    assert_int_equal(write_error_response(400, "x", tiny, sizeof tiny), 0);
    // Every error the parser produces has a reason and a status the writer knows.
    for (const HandshakeCase &c : handshake_cases()) {
        if (c.status != HandshakeStatus::error)
            continue;
        std::vector<std::string_view> origins(c.allowed_origins.begin(), c.allowed_origins.end());
        HandshakeConfig cfg{.path = "/ws"};
        cfg.allowed_origins = origins;
        cfg.max_header_bytes = c.max_header_bytes;
        cfg.max_headers = c.max_headers;
        Header scratch[128];
        HandshakeRequest req;
        HandshakeResult r = parse_handshake(c.request.data(), c.request.size(), cfg, &req, scratch);
        assert_false(r.reason.empty());
        assert_true(write_error_response(r, tiny, 0) == 0);
        std::string t = error_text(r.http_status, r.reason);
        assert_true(t.find(" Error\r\n") == std::string::npos);
    }
}

std::vector<HandshakeCase> g_cases;

} // namespace

int main() {
    g_cases = handshake_cases();
    std::vector<CMUnitTest> tests;
    for (const HandshakeCase &c : g_cases)
        tests.push_back(CMUnitTest{c.name.c_str(), test_case, nullptr, nullptr,
                                   const_cast<HandshakeCase *>(&c)});
    std::printf("# %zu handshake cases\n", g_cases.size());
    const CMUnitTest units[] = {
        cmocka_unit_test(test_accept_sample),          cmocka_unit_test(test_upgrade_response),
        cmocka_unit_test(test_query_and_fields),       cmocka_unit_test(test_custom_path),
        cmocka_unit_test(test_scratch_bounds_headers), cmocka_unit_test(test_error_responses),
    };
    for (const CMUnitTest &u : units)
        tests.push_back(u);
    return _cmocka_run_group_tests("ws_handshake", tests.data(), tests.size(), nullptr, nullptr);
}
