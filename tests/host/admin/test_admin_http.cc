// The admin API's pure parts: the HTTP request-head parser (whole and byte by byte), query and
// path helpers, response formatting, the /metrics text and the loopback rule of admin_token off.
#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>
#include <string>

#include "host/admin/admin_http.h"
#include "host/admin/admin_metrics.h"
#include "host/host_conf.h"
// cmocka last: its macros clash with the standard library's headers.
#include "glide_cmocka.h"

using namespace glide::host;
using http::Parse;

namespace {

http::ParseResult parse(const std::string &in, http::Request *r, size_t max = 8192) {
    return http::parse_request(in, max, r);
}

void expect_error(const std::string &in, int status) {
    http::Request r;
    http::ParseResult p = parse(in, &r);
    assert_int_equal(static_cast<int>(p.state), static_cast<int>(Parse::error));
    assert_int_equal(p.status, status);
    assert_non_null(p.error);
}

void test_request(void **) {
    std::string in = "POST /v1/groups/g%201?x=1 HTTP/1.1\r\nHost: a\r\n"
                     "authorization:   Bearer t0k  \r\nContent-Length: 5\r\n"
                     "Content-Type: application/json\r\n\r\nhello";
    http::Request r;
    http::ParseResult p = parse(in, &r);
    assert_int_equal(static_cast<int>(p.state), static_cast<int>(Parse::done));
    assert_true(r.method == "POST");
    assert_true(r.target == "/v1/groups/g%201?x=1");
    assert_true(r.path == "/v1/groups/g%201");
    assert_true(r.query == "x=1");
    assert_true(r.authorization == "Bearer t0k");
    assert_true(r.content_type == "application/json");
    assert_int_equal(r.content_length, 5);
    assert_true(r.keep_alive);
    assert_int_equal(r.head_bytes, in.size() - 5);
}

// Every prefix of a complete head needs more; the whole one is done. Bare LF lines too.
void test_byte_by_byte(void **) {
    for (const std::string &in : {std::string("GET /healthz HTTP/1.1\r\nA: b\r\n\r\n"),
                                 std::string("GET /healthz HTTP/1.1\nA: b\n\n")}) {
        http::Request r;
        for (size_t n = 0; n < in.size(); n++)
            assert_int_equal(static_cast<int>(parse(in.substr(0, n), &r).state),
                             static_cast<int>(Parse::need_more));
        assert_int_equal(static_cast<int>(parse(in, &r).state), static_cast<int>(Parse::done));
        assert_int_equal(r.head_bytes, in.size());
    }
}

void test_keep_alive(void **) {
    http::Request r;
    assert_true(parse("GET / HTTP/1.1\r\nConnection: close\r\n\r\n", &r).state == Parse::done);
    assert_false(r.keep_alive);
    assert_true(parse("GET / HTTP/1.0\r\n\r\n", &r).state == Parse::done);
    assert_false(r.keep_alive);
    assert_true(parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", &r).state ==
                Parse::done);
    assert_true(r.keep_alive);
    assert_true(parse("GET / HTTP/1.1\r\nExpect: 100-continue\r\n\r\n", &r).state ==
                Parse::done);
    assert_true(r.expect_continue);
}

void test_errors(void **) {
    expect_error("GARBAGE\r\n\r\n", 400);
    expect_error("GET  / HTTP/1.1\r\n\r\n", 400);
    expect_error("GET http://x/ HTTP/1.1\r\n\r\n", 400);
    expect_error("GET / HTTP/2.0\r\n\r\n", 505);
    expect_error("GET / FTP/1.0\r\n\r\n", 400);
    expect_error("G(T / HTTP/1.1\r\n\r\n", 400);
    expect_error("GET / HTTP/1.1\r\nNoColon\r\n\r\n", 400);
    expect_error("GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n", 400);
    expect_error("GET / HTTP/1.1\r\nBad Name: b\r\n\r\n", 400);
    expect_error("GET / HTTP/1.1\r\nA: b\x01\r\n\r\n", 400);
    expect_error("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400);
    expect_error("POST / HTTP/1.1\r\nContent-Length: 1234567890123456\r\n\r\n", 400);
    expect_error("POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400);
    expect_error("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 411);
    expect_error("POST / HTTP/1.1\r\nExpect: magic\r\n\r\n", 417);
    // Equal repeated lengths are one length.
    http::Request r;
    assert_true(parse("POST / HTTP/1.1\r\nContent-Length: 2\r\ncontent-length: 2\r\n\r\n", &r)
                    .state == Parse::done);
    assert_int_equal(r.content_length, 2);
}

void test_head_limit(void **) {
    http::Request r;
    std::string big = "GET / HTTP/1.1\r\nX: " + std::string(200, 'a');
    http::ParseResult p = parse(big, &r, 100);
    assert_int_equal(static_cast<int>(p.state), static_cast<int>(Parse::error));
    assert_int_equal(p.status, 431);
    p = parse(big + "\r\n\r\n", &r, 100);
    assert_int_equal(p.status, 431);
    assert_true(parse(big.substr(0, 50), &r, 100).state == Parse::need_more);
}

void test_query_and_path(void **) {
    std::string v;
    assert_true(http::query_param("a=1&uid=b%20c+d&x", "uid", &v));
    assert_string_equal(v.c_str(), "b c d");
    assert_true(http::query_param("x&uid=", "uid", &v));
    assert_string_equal(v.c_str(), "");
    assert_false(http::query_param("a=1", "uid", &v));
    assert_false(http::query_param("uid=%zz", "uid", &v));
    assert_false(http::query_param("uid=%2", "uid", &v));
    assert_true(http::percent_decode("g%2F1+x", &v));
    assert_string_equal(v.c_str(), "g/1+x");
    assert_false(http::percent_decode("a%00", &v));
    assert_false(http::percent_decode("a%", &v));
    auto parts = http::split_path("/v1/groups/g1/");
    assert_int_equal(parts.size(), 4);
    assert_true(parts[0] == "v1" && parts[2] == "g1" && parts[3].empty());
    assert_int_equal(http::split_path("/").size(), 1);
}

void test_response(void **) {
    std::string r = http::format_response(404, "application/json", "{}", false, "X-A: b\r\n");
    assert_string_equal(r.c_str(), "HTTP/1.1 404 Not Found\r\nServer: glided\r\n"
                                   "Content-Type: application/json\r\nContent-Length: 2\r\n"
                                   "Cache-Control: no-store\r\nConnection: close\r\nX-A: b\r\n"
                                   "\r\n{}");
    r = http::format_response(200, "text/plain", "", true);
    assert_null(strstr(r.c_str(), "Connection:"));
    assert_string_equal(http::reason_phrase(413), "Content Too Large");
}

void test_metrics_text(void **) {
    MetricsInput in;
    in.stats.connections = 2;
    in.stats.sessions_authenticated = 1;
    in.stats.sessions_guest = 1;
    in.stats.bytes_in = 10;
    in.stats.store_calls = 3;
    in.stats.store_latency_ms_sum = 1500;
    in.stats.store_latency[0] = 1;                             // <= 1 ms
    in.stats.store_latency[3] = 1;                             // <= 10 ms
    in.stats.store_latency[GLIDE_STATS_LATENCY_BUCKETS - 1] = 1; // > 5 s
    in.series = {{GLIDE_STAT_MESSAGES_IN, "message.chat", 4},
                 {GLIDE_STAT_MESSAGES_IN, "authenticate", 1},
                 {GLIDE_STAT_MESSAGES_IN, "authenticate", 2}, // a second module
                 {GLIDE_STAT_MESSAGES_OUT, "we\"ird\\\n", 1},
                 {GLIDE_STAT_CLOSES, "4001", 2},
                 {GLIDE_STAT_LIMITED, "rate", 5}};
    std::string t = format_metrics(in);
    auto has = [&](const char *line) {
        if (t.find(std::string(line) + "\n") == std::string::npos) {
            fprintf(stderr, "missing: %s\n%s", line, t.c_str());
            fail();
        }
    };
    has("# TYPE glide_connections gauge");
    has("glide_connections 2");
    has("glide_sessions{state=\"guest\"} 1");
    has("glide_sessions{state=\"authenticated\"} 1");
    has("glide_sessions{state=\"closing\"} 0");
    has("glide_messages_received_total{action=\"authenticate\"} 3");
    has("glide_messages_received_total{action=\"message.chat\"} 4");
    has("glide_messages_sent_total{action=\"we\\\"ird\\\\\\n\"} 1");
    has("glide_session_closes_total{code=\"4001\"} 2");
    has("glide_limited_total{limit=\"rate\"} 5");
    has("glide_received_bytes_total 10");
    has("# TYPE glide_store_latency_seconds histogram");
    has("glide_store_latency_seconds_bucket{le=\"0.001\"} 1");
    has("glide_store_latency_seconds_bucket{le=\"0.005\"} 1");
    has("glide_store_latency_seconds_bucket{le=\"0.01\"} 2");
    has("glide_store_latency_seconds_bucket{le=\"5\"} 2");
    has("glide_store_latency_seconds_bucket{le=\"+Inf\"} 3");
    has("glide_store_latency_seconds_sum 1.500");
    has("glide_store_latency_seconds_count 3");
    has("glide_draining 0");
    // Labels sorted: authenticate before message.chat.
    assert_true(t.find("action=\"authenticate\"") < t.find("action=\"message.chat\""));
}

void test_add_stats(void **) {
    glide_stats a{}, b{};
    a.connections = 1;
    b.connections = 2;
    b.draining = 1;
    b.store_latency[5] = 7;
    add_stats(a, b);
    assert_int_equal(a.connections, 3);
    assert_int_equal(a.draining, 1);
    assert_int_equal(a.store_latency[5], 7);
}

void test_loopback(void **) {
    auto is = [](const char *text) {
        auto a = glide::net::parse_listen_address(text, "admin_listen");
        assert_true(a.ok());
        return is_loopback(a.value());
    };
    assert_true(is("127.0.0.1:0"));
    assert_true(is("127.1.2.3:80"));
    assert_true(is("[::1]:80"));
    assert_true(is("[::ffff:127.0.0.1]:80"));
    assert_false(is("0.0.0.0:80"));
    assert_false(is("[::]:80"));
    assert_false(is("10.0.0.1:80"));
}

} // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request),      cmocka_unit_test(test_byte_by_byte),
        cmocka_unit_test(test_keep_alive),   cmocka_unit_test(test_errors),
        cmocka_unit_test(test_head_limit),   cmocka_unit_test(test_query_and_path),
        cmocka_unit_test(test_response),     cmocka_unit_test(test_metrics_text),
        cmocka_unit_test(test_add_stats),    cmocka_unit_test(test_loopback),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
