// The tools' client library: URLs, the client half of the WebSocket handshake, server frames
// decoded and client frames encoded with the module's framing, options, the bench histogram,
// and glidectl's credential and ticket checked by the codec's own verification.
#include <arpa/inet.h>
#include <pthread.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench.h"
#include "bench/histogram.h"
#include "client/connection.h"
#include "client/endpoint.h"
#include "client/handshake.h"
#include "client/options.h"
#include "codec/credential.h"
#include "frame/tcp_frame.h"
#include "frame/ws_frame.h"
#include "frame/ws_handshake.h"

#include "glide_cmocka.h"

using namespace glide;
using namespace glide::client;

namespace {

void test_endpoint(void **) {
    auto ws = parse_endpoint("ws://127.0.0.1:8083/ws");
    assert_true(ws.ok());
    assert_true(ws->transport == Transport::ws);
    assert_string_equal(ws->host.c_str(), "127.0.0.1");
    assert_int_equal(ws->port, 8083);
    assert_string_equal(ws->path.c_str(), "/ws");
    auto v6 = parse_endpoint("ws://[::1]:9/chat?x=1");
    assert_true(v6.ok());
    assert_string_equal(v6->host.c_str(), "::1");
    assert_string_equal(v6->path.c_str(), "/chat?x=1");
    assert_string_equal(host_header(*v6).c_str(), "[::1]:9");
    auto tcp = parse_endpoint("tcp://localhost:7000");
    assert_true(tcp.ok());
    assert_true(tcp->transport == Transport::tcp);
    const char *bad[] = {"http://h:1/", "ws://h/ws", "ws://:80/ws", "ws://h:0/ws",
                         "ws://h:65536/ws", "ws://h:8x/ws", "tcp://h:1/path", "wss://h:1/ws",
                         "ws://[::1/ws"};
    for (const char *b : bad) {
        auto r = parse_endpoint(b);
        if (r.ok())
            fail_msg("accepted %s", b);
        assert_true(r.error().find(b) != std::string::npos);
    }
}

void test_handshake(void **) {
    auto ep = parse_endpoint("ws://127.0.0.1:8083/ws");
    std::string key = make_websocket_key();
    assert_int_equal(key.size(), 24);
    std::string req = upgrade_request(*ep, key, frame::Subprotocol::protobuf);
    // The module's own parser accepts it and selects the subprotocol.
    frame::Header scratch[frame::kDefaultMaxHeaders];
    frame::HandshakeRequest parsed;
    const frame::HandshakeConfig cfg{.path = "/ws"};
    frame::HandshakeResult r =
        frame::parse_handshake(req.data(), req.size(), cfg, &parsed, scratch);
    assert_true(r.status == frame::HandshakeStatus::complete);
    assert_int_equal(r.consumed, req.size());
    assert_true(parsed.subprotocol == frame::Subprotocol::protobuf);
    char answer[frame::kMaxUpgradeResponse];
    size_t n = frame::write_upgrade_response(parsed, answer, sizeof answer);
    std::string full = std::string(answer, n) + "rest";
    // Every prefix needs more; the whole head is accepted.
    for (size_t i = 0; i < n; i++)
        assert_true(parse_upgrade_answer(full.substr(0, i), key, frame::Subprotocol::protobuf)
                        .status == AnswerStatus::need_more);
    UpgradeAnswer a = parse_upgrade_answer(full, key, frame::Subprotocol::protobuf);
    assert_true(a.status == AnswerStatus::ok);
    assert_int_equal(a.consumed, n);
    assert_true(a.subprotocol == frame::Subprotocol::protobuf);
    // Another key's accept value is refused.
    UpgradeAnswer wrong = parse_upgrade_answer(full, make_websocket_key(),
                                               frame::Subprotocol::protobuf);
    assert_true(wrong.status == AnswerStatus::error);
    assert_non_null(strstr(wrong.error.c_str(), "Sec-WebSocket-Accept"));
    // A subprotocol that was not offered is refused.
    UpgradeAnswer unoffered = parse_upgrade_answer(full, key, frame::Subprotocol::none);
    assert_true(unoffered.status == AnswerStatus::error);
    // An error answer is reported with its status and reason.
    char err[256];
    size_t en = frame::write_error_response(404, "no WebSocket endpoint at this path", err,
                                            sizeof err);
    UpgradeAnswer e = parse_upgrade_answer({err, en}, key, frame::Subprotocol::none);
    assert_true(e.status == AnswerStatus::error);
    assert_int_equal(e.http_status, 404);
    assert_non_null(strstr(e.error.c_str(), "no WebSocket endpoint"));
    assert_true(parse_upgrade_answer("garbage\r\n\r\n", key, frame::Subprotocol::none).status ==
                AnswerStatus::error);
}

void test_frames(void **) {
    // A client frame (masked) decodes with the server-side decoder to the same payload.
    const std::string payload(300, 'q');
    uint8_t key[4] = {1, 2, 3, 4};
    uint8_t hdr[frame::kMaxMaskedFrameHeader];
    size_t h = frame::encode_masked_frame_header(hdr, frame::Opcode::text, payload.size(), key);
    assert_int_equal(h, 8);
    std::string wire(reinterpret_cast<char *>(hdr), h);
    std::string masked = payload;
    frame::unmask(reinterpret_cast<uint8_t *>(masked.data()), masked.size(), key, 0);
    wire += masked;
    frame::FrameDecoder server({.max_message_size = 65536});
    frame::FrameEvent ev;
    auto r = server.decode({reinterpret_cast<uint8_t *>(wire.data()), wire.size()}, &ev);
    assert_true(r.status == frame::DecodeStatus::event);
    assert_true(ev.type == frame::FrameEventType::text);
    assert_true(ev.text() == payload);

    // A server frame (unmasked) decodes on the client side; the server decoder refuses it.
    uint8_t out[400];
    size_t n = frame::encode_frame(out, sizeof out, frame::Opcode::binary,
                                   {reinterpret_cast<const uint8_t *>(payload.data()), 100});
    frame::FrameDecoder client({.max_message_size = 65536, .from_server = true});
    std::string copy(reinterpret_cast<char *>(out), n);
    r = client.decode({reinterpret_cast<uint8_t *>(copy.data()), copy.size()}, &ev);
    assert_true(r.status == frame::DecodeStatus::event);
    assert_true(ev.type == frame::FrameEventType::binary);
    assert_int_equal(ev.payload.size(), 100);
    frame::FrameDecoder strict({.max_message_size = 65536});
    copy.assign(reinterpret_cast<char *>(out), n);
    strict.decode({reinterpret_cast<uint8_t *>(copy.data()), copy.size()}, &ev);
    assert_true(ev.type == frame::FrameEventType::error);
    // ... and the client side refuses a masked frame, byte by byte as well.
    frame::FrameDecoder client2({.max_message_size = 65536, .from_server = true});
    bool failed = false;
    for (char &c : wire) {
        auto rr = client2.decode({reinterpret_cast<uint8_t *>(&c), 1}, &ev);
        if (rr.status == frame::DecodeStatus::event) {
            failed = ev.type == frame::FrameEventType::error;
            break;
        }
    }
    assert_true(failed);
    assert_string_equal(std::string(ev.reason).c_str(), "server frame masked");
}

void test_options(void **) {
    const char *argv[] = {"x", "sub", "--a", "1", "pos", "--flag", "--t=2s", "--", "--b"};
    auto o = Options::parse(9, const_cast<char **>(argv), 2, {"a", "t", "size"}, {"flag"});
    assert_true(o.ok());
    assert_string_equal(o->get("a").c_str(), "1");
    assert_true(o->has("flag"));
    assert_int_equal(o->positional().size(), 2);
    assert_string_equal(o->positional()[1].c_str(), "--b");
    auto t = o->number("t", 0, 0, 100000, true);
    assert_true(t.ok());
    assert_int_equal(*t, 2000);
    assert_false(o->number("a", 0, 5, 10).ok());
    const char *bad[] = {"x", "--nope"};
    assert_false(Options::parse(2, const_cast<char **>(bad), 1, {}, {}).ok());
    const char *missing[] = {"x", "--a"};
    assert_false(Options::parse(2, const_cast<char **>(missing), 1, {"a"}, {}).ok());
    const char *sz[] = {"x", "--size", "64k"};
    auto s = Options::parse(3, const_cast<char **>(sz), 1, {"size"}, {});
    assert_int_equal(*s->number("size", 0, 0, 1 << 30), 65536);
    // Times read as in glided.conf: a bare number is seconds; units, combined; bounds in ms.
    const char *tm[] = {"x", "--d", "15", "--w", "1m30s", "--m", "250ms", "--z", "2x"};
    auto t2 = Options::parse(9, const_cast<char **>(tm), 1, {"d", "w", "m", "z"}, {});
    assert_int_equal(*t2->number("d", 0, 0, 86400000, true), 15000);
    assert_int_equal(*t2->number("w", 0, 0, 86400000, true), 90000);
    assert_int_equal(*t2->number("m", 0, 0, 86400000, true), 250);
    assert_false(t2->number("m", 0, 1000, 86400000, true).ok()); // below the minimum
    assert_false(t2->number("d", 0, 0, 10000, true).ok());        // above the maximum
    assert_false(t2->number("z", 0, 0, 86400000, true).ok());
    // --secret-file: the file's first line is the secret; not together with --secret.
    char path[] = "/tmp/glide-secret-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "s3cret\nignored\n", 15), 15);
    close(fd);
    const char *sf[] = {"x", "--secret-file", path};
    auto o2 = Options::parse(3, const_cast<char **>(sf), 1, {"secret"}, {});
    assert_true(o2.ok());
    assert_string_equal(o2->get("secret").c_str(), "s3cret");
    const char *both[] = {"x", "--secret", "a", "--secret-file", path};
    assert_false(Options::parse(5, const_cast<char **>(both), 1, {"secret"}, {}).ok());
    assert_false(Options::parse(3, const_cast<char **>(sf), 1, {"uid"}, {}).ok()); // no secret
    unlink(path);
    const char *missing_file[] = {"x", "--secret-file", "/nonexistent/secret"};
    assert_false(Options::parse(3, const_cast<char **>(missing_file), 1, {"secret"}, {}).ok());
}

void test_histogram(void **) {
    bench::Histogram h;
    for (uint64_t v = 1; v <= 100000; v++)
        h.record(v * 1000);
    assert_int_equal(h.count(), 100000);
    assert_int_equal(h.max(), 100000000);
    // Within the 1/64 resolution of the true quantiles.
    auto near = [](uint64_t got, double want) {
        return got >= want * 0.98 && got <= want * 1.02;
    };
    assert_true(near(h.quantile(0.5), 50000000.0));
    assert_true(near(h.quantile(0.99), 99000000.0));
    assert_true(near(h.quantile(0.999), 99900000.0));
    assert_int_equal(h.quantile(1.0), 100000000);
    bench::Histogram g;
    g.record(5);
    g.merge(h);
    assert_int_equal(g.count(), 100001);
    assert_int_equal(g.quantile(0.0), 5);
    // --interval: what was recorded since an earlier copy, alone (its max the top of its
    // highest bucket, within the resolution).
    bench::Histogram earlier = h;
    for (uint64_t v = 1; v <= 1000; v++)
        h.record(v);
    bench::Histogram d = h.since(earlier);
    assert_int_equal(d.count(), 1000);
    assert_true(near(d.quantile(0.5), 500.0));
    assert_true(d.max() >= 1000 && d.max() <= 1016);
    assert_int_equal(h.since(h).count(), 0);
}

// glide-bench's --interval: the open descriptors of a process, as /proc/PID/fd lists them.
void test_fd_count(void **) {
    const uint64_t before = bench::proc_fd_count(getpid());
    assert_true(before >= 3);
    int fd = dup(0);
    assert_true(fd >= 0);
    assert_int_equal(bench::proc_fd_count(getpid()), before + 1);
    close(fd);
    assert_int_equal(bench::proc_fd_count(getpid()), before);
    assert_int_equal(bench::proc_fd_count(0), 0); // no such process
}

// glide-bench's server CPU split by thread: this process' threads as /proc shows them, and the
// split of two readings (busiest first, threads under 1 % left out, nothing for one thread).
void test_thread_cpu(void **) {
    std::atomic<bool> stop{false};
    pthread_t me = pthread_self();
    pthread_setname_np(me, "test-main");
    std::thread spinner([&] {
        pthread_setname_np(pthread_self(), "test-spinner");
        volatile uint64_t x = 0;
        while (!stop.load())
            x = x + 1;
    });
    std::vector<bench::ThreadCpu> a;
    bool saw = false;
    for (int i = 0; i < 2000 && !saw; i++) { // until the spinner has run (and was named)
        a = bench::proc_thread_cpu(getpid());
        for (const auto &t : a)
            saw |= t.name == "test-spinner" && t.cpu_ns > 0;
        if (!saw)
            usleep(10000);
    }
    stop = true;
    spinner.join();
    assert_true(saw);
    bool main_seen = false;
    for (const auto &t : a)
        main_seen |= t.name == "test-main" && t.tid == getpid();
    assert_true(main_seen);

    using T = bench::ThreadCpu;
    std::vector<T> before{{1, "loop", 1000000000}, {2, "store", 0}, {3, "timer", 0}};
    std::vector<T> after{{1, "loop", 3000000000}, {2, "store", 7000000000}, {3, "timer", 1000},
                         {4, "new", 1000000000}};
    // Deltas: loop 2 s, store 7 s, timer 1 µs (< 1 %), new 1 s; 1,000,000 messages over 10 s.
    assert_string_equal(bench::thread_cpu_split(before, after, 1e6, "/msg", 10.0).c_str(),
                        "store 7.0 µs/msg (0.70 cores), loop 2.0 µs/msg (0.20 cores), "
                        "new 1.0 µs/msg (0.10 cores)");
    std::vector<T> one{{1, "loop", 5000000000}, {2, "store", 0}};
    assert_true(bench::thread_cpu_split(before, one, 1e6, "/msg", 10.0).empty());
    assert_true(bench::thread_cpu_split(before, after, 0, "/msg", 10.0).empty());
}

std::string run(const std::string &cmd) {
    FILE *p = popen(cmd.c_str(), "r");
    assert_non_null(p);
    std::string out;
    char buf[512];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0)
        out.append(buf, n);
    pclose(p);
    while (!out.empty() && out.back() == '\n')
        out.pop_back();
    return out;
}

void test_glidectl_credential(void **) {
    const char *b = getenv("B");
    std::string ctl = std::string(b ? b : "build") + "/glidectl";
    std::string cred = run(ctl + " credential --secret 'the secret' --uid 1002 --device 7 "
                                 "--deliver-secret abc --timestamp 1720000000000");
    auto c = codec::open_credential("the secret", cred);
    assert_true(c.ok());
    assert_string_equal(c->user_id.c_str(), "1002");
    assert_string_equal(c->device_id.c_str(), "7");
    assert_true(c->has_secrets);
    assert_string_equal(c->secrets.message_deliver_secret.c_str(), "abc");
    assert_int_equal(c->timestamp, 1720000000000);
    assert_false(codec::open_credential("another secret", cred).ok() &&
                 codec::open_credential("another secret", cred)->user_id == "1002");
    std::string ticket = run(ctl + " ticket --secret s3cr3t --from 1001 --to 1002");
    assert_string_equal(ticket.c_str(), "937116764d1d428c8e47b0d8f985b1d543363f1d");
    codec::ClientSecrets s{"s3cr3t", ""};
    assert_true(codec::check_ticket(&s, "1001", "1002", ticket).ok());
    // Usage errors exit 2 with a message.
    assert_int_equal(WEXITSTATUS(system((ctl + " credential --uid 1 2>/dev/null").c_str())), 2);
    assert_int_equal(WEXITSTATUS(system((ctl + " nope 2>/dev/null").c_str())), 2);
    assert_int_equal(WEXITSTATUS(system((ctl + " chat http://x:1 --secret s --uid 1 2>/dev/null").c_str())), 2);
}

// The flush queue: many sends in one turn leave in one writev per connection; a peer that
// does not read makes the socket block, the write event takes over, and once the peer reads
// everything arrives whole and in order (TCP framing: the payloads are easy to check).
struct Sink final : ConnectionHandler {
    bool opened = false, closed = false;
    void on_open(Connection &) override { opened = true; }
    void on_message(Connection &, std::string_view) override {}
    void on_close(Connection &, const CloseInfo &) override { closed = true; }
};

void test_flush_queue(void **) {
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(lfd, reinterpret_cast<sockaddr *>(&sin), sizeof sin), 0);
    assert_int_equal(listen(lfd, 4), 0);
    socklen_t sl = sizeof sin;
    getsockname(lfd, reinterpret_cast<sockaddr *>(&sin), &sl);
    int small = 32 * 1024;
    setsockopt(lfd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);

    event_base *base = event_base_new();
    {
        FlushQueue q(base);
        assert_true(q.ok());
        Sink sink;
        Connection c(base, &sink);
        ConnectOptions opt;
        opt.endpoint.transport = Transport::tcp;
        std::memcpy(&opt.address.ss, &sin, sizeof sin);
        opt.address.len = sizeof sin;
        opt.flush = &q;
        assert_true(c.connect(opt).ok());
        while (!sink.opened && !sink.closed)
            event_base_loop(base, EVLOOP_ONCE);
        assert_true(sink.opened);
        int sfd = accept(lfd, nullptr, nullptr);
        assert_true(sfd >= 0);

        // A turn of small sends: one writev.
        for (int i = 0; i < 100; i++)
            c.send_payload("m" + std::to_string(i));
        assert_int_equal(q.writes, 0); // nothing is written inside send
        event_base_loop(base, EVLOOP_NONBLOCK);
        assert_int_equal(q.writes, 1);
        assert_int_equal(c.pending_output(), 0);

        // 8 MB against a peer that does not read: the socket blocks.
        const int n = 128;
        std::string big(64 * 1024, 'x');
        for (int i = 0; i < n; i++) {
            big[0] = static_cast<char>(i);
            c.send_payload(big);
        }
        event_base_loop(base, EVLOOP_NONBLOCK);
        assert_int_equal(q.blocked, 1);
        assert_true(c.pending_output() > 0);

        // The peer reads; the loop writes the rest.
        std::vector<uint8_t> got;
        uint8_t buf[65536];
        size_t want = 100 * frame::kTcpHeaderSize + 290 /* "m0".."m99" */ +
                      n * (frame::kTcpHeaderSize + big.size());
        while (got.size() < want) {
            event_base_loop(base, EVLOOP_NONBLOCK);
            ssize_t r = recv(sfd, buf, sizeof buf, MSG_DONTWAIT);
            if (r > 0)
                got.insert(got.end(), buf, buf + r);
            else
                assert_true(r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
        }
        assert_int_equal(got.size(), want);
        assert_int_equal(c.pending_output(), 0);
        frame::TcpDecoder d(frame::TcpLimits{.max_message_size = 1 << 20});
        size_t off = 0;
        for (int i = 0; i < 100 + n; i++) {
            frame::TcpEvent ev;
            frame::DecodeResult r = d.decode({got.data() + off, got.size() - off}, &ev);
            off += r.consumed;
            assert_true(r.status != frame::DecodeStatus::need_more);
            assert_true(ev.type == frame::TcpEventType::message);
            if (i < 100) {
                std::string m(reinterpret_cast<const char *>(ev.payload.data()), ev.payload.size());
                assert_string_equal(m.c_str(), ("m" + std::to_string(i)).c_str());
            } else {
                assert_int_equal(ev.payload.size(), big.size());
                assert_int_equal(ev.payload[0], static_cast<uint8_t>(i - 100));
            }
        }
        assert_int_equal(off, got.size());
        // The write event is off again: the next sends go through the queue.
        uint64_t w = q.writes;
        c.send_payload("again");
        event_base_loop(base, EVLOOP_NONBLOCK);
        assert_int_equal(q.writes, w + 1);
        close(sfd);
    }
    event_base_free(base);
    close(lfd);
}

} // namespace

int main() {
    const CMUnitTest tests[] = {
        cmocka_unit_test(test_endpoint),   cmocka_unit_test(test_handshake),
        cmocka_unit_test(test_frames),     cmocka_unit_test(test_options),
        cmocka_unit_test(test_histogram), cmocka_unit_test(test_fd_count),  cmocka_unit_test(test_glidectl_credential),
        cmocka_unit_test(test_flush_queue), cmocka_unit_test(test_thread_cpu),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
