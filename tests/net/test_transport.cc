// The transport over real sockets: the WebSocket upgrade and its refusals, the handshake
// timeout, subprotocol and codec selection, TCP framing, backpressure (soft mark, slow
// consumer), one write per connection per loop turn (and a socket that would block), the
// zero-copy fan-out path, fairness (the frame budget per loop turn), server-initiated close,
// drain, the default handler, and TLS setup errors. The server runs on a loop thread; the client is blocking with long
// timeouts, and every wait is for a condition, never for a fixed time.
#include <openssl/err.h>

#include <csignal>
#include <map>

#include "net/net_test_util.h"
// cmocka last: its macros clash with the standard library's headers.
#include "glide_cmocka.h"

using namespace glide;
using namespace glide::test;
using net::Connection;
using net::MessageKind;
using net::SendResult;

namespace {

// A handler whose behaviour each test scripts; echoes by default. Runs on the loop thread;
// the counters are read by the test thread.
struct ScriptHandler : net::MessageHandler {
    std::function<void(Connection &)> open;
    std::function<void(Connection &, MessageKind, std::string_view)> message;
    std::function<void(Connection &)> ready;

    void on_open(Connection &c) override {
        conns.push_back(&c);
        codec = static_cast<int>(c.codec());
        opened++;
        if (open)
            open(c);
    }
    void on_message(Connection &c, MessageKind kind, std::span<const uint8_t> p) override {
        received++;
        if (message)
            message(c, kind, {reinterpret_cast<const char *>(p.data()), p.size()});
        else
            c.send(kind, p);
    }
    void on_send_ready(Connection &c) override {
        ready_calls++;
        if (ready)
            ready(c);
    }
    void on_close(Connection &c, uint16_t code) override {
        std::erase(conns, &c);
        last_close = code;
        closed++;
    }

    std::vector<Connection *> conns; // loop thread only
    std::atomic<int> opened{0}, closed{0}, received{0}, ready_calls{0}, codec{-1};
    std::atomic<uint16_t> last_close{0};
};

const Directives kWs = {{"glide_listen", {"127.0.0.1:0", "ws"}}};

std::string refused(uint16_t port, const std::string &request, bool *eof) {
    int fd = tcp_connect(port);
    assert_true(fd >= 0);
    write_all(fd, request);
    std::string answer = read_to_eof(fd, eof);
    ::close(fd);
    return answer;
}

// --- the upgrade -----------------------------------------------------------------------------

void test_handshake_refusals(void **) {
    ScriptHandler h;
    TestServer s;
    Module *m = s.add({{"glide_listen", {"127.0.0.1:0", "ws"}},
                       {"glide_allowed_origins", {"https://good.example"}}},
                      &h);
    assert_non_null(m);
    s.loop.start();
    uint16_t port = TestServer::port(m);
    bool eof = false;

    std::string a = refused(port, upgrade_request("/nope"), &eof);
    assert_int_equal(status_of(a), 404);
    assert_true(eof);

    std::string req = upgrade_request();
    req.replace(req.find("Version: 13"), 11, "Version: 8");
    a = refused(port, req, &eof);
    assert_int_equal(status_of(a), 426);
    assert_non_null(strstr(a.c_str(), "Sec-WebSocket-Version: 13\r\n"));
    assert_true(eof);

    req = upgrade_request();
    req.replace(req.find("dGhlIHNhbXBsZSBub25jZQ=="), 24, "tooshort");
    a = refused(port, req, &eof);
    assert_int_equal(status_of(a), 400);
    assert_true(eof);

    a = refused(port, upgrade_request("/ws", "Origin: https://evil.example\r\n"), &eof);
    assert_int_equal(status_of(a), 403);
    assert_true(eof);

    // An allowed origin, and none at all (not a browser), are accepted.
    int fd = ws_connect(port, "Origin: https://good.example\r\n");
    assert_true(fd >= 0);
    ::close(fd);
    fd = ws_connect(port);
    assert_true(fd >= 0);
    ::close(fd);

    // A header block past the limit: 431, even while the request is still arriving.
    a = refused(port, upgrade_request("/ws", "X-Big: " + std::string(9000, 'x') + "\r\n"), &eof);
    assert_int_equal(status_of(a), 431);
    assert_true(eof);
    fd = tcp_connect(port);
    write_all(fd, "GET /ws HTTP/1.1\r\nX-Endless: " + std::string(20000, 'y'));
    a = read_to_eof(fd, &eof);
    assert_int_equal(status_of(a), 431);
    ::close(fd);

    // The request in many small pieces: parsed again as bytes arrive.
    fd = tcp_connect(port);
    req = upgrade_request();
    for (size_t i = 0; i < req.size(); i += 7) {
        write_all(fd, req.substr(i, 7));
        usleep(200);
    }
    assert_int_equal(status_of(read_head(fd)), 101);
    ::close(fd);

    // No handshake ever reached the handler.
    assert_true(wait_for([&] { return h.closed.load() == h.opened.load(); }));
    assert_int_equal(h.opened.load(), 3);
}

void test_handshake_timeout(void **) {
    ScriptHandler h;
    TestServer s;
    Module *m = s.add(
        {{"glide_listen", {"127.0.0.1:0", "ws"}}, {"glide_handshake_timeout", {"200ms"}}}, &h);
    assert_non_null(m);
    s.loop.start();
    // Silent, then half a request: both are closed without an answer.
    int idle = tcp_connect(TestServer::port(m));
    int half = tcp_connect(TestServer::port(m));
    write_all(half, "GET /ws HTTP/1.1\r\nHost: x\r\n");
    auto start = std::chrono::steady_clock::now();
    bool eof = false;
    assert_true(read_to_eof(idle, &eof).empty());
    assert_true(read_to_eof(half, &eof).empty());
    assert_true(std::chrono::steady_clock::now() - start <
                std::chrono::seconds(kClientTimeoutSeconds));
    ::close(idle);
    ::close(half);
    assert_int_equal(h.opened.load(), 0);
}

void test_subprotocols(void **) {
    ScriptHandler h;
    TestServer s;
    Module *json = s.add(kWs, &h);
    Module *pb = s.add({{"glide_listen", {"127.0.0.1:0", "ws", "protobuf"}}}, &h);
    assert_non_null(json);
    assert_non_null(pb);
    s.loop.start();
    struct Case {
        Module *m;
        const char *offer;
        const char *answer; // nullptr: no Sec-WebSocket-Protocol in the answer
        net::CodecKind codec;
    } cases[] = {
        {json, "Sec-WebSocket-Protocol: glide.json\r\n", "glide.json", net::CodecKind::json},
        {json, "Sec-WebSocket-Protocol: glide.protobuf\r\n", "glide.protobuf",
         net::CodecKind::protobuf},
        {json, "Sec-WebSocket-Protocol: chat, glide.protobuf, glide.json\r\n", "glide.protobuf",
         net::CodecKind::protobuf},
        {json, "", nullptr, net::CodecKind::json},
        {json, "Sec-WebSocket-Protocol: chat\r\n", nullptr, net::CodecKind::json},
        {pb, "", nullptr, net::CodecKind::protobuf},
        {pb, "Sec-WebSocket-Protocol: glide.json\r\n", "glide.json", net::CodecKind::json},
    };
    int n = 0;
    for (const Case &c : cases) {
        std::string head;
        int fd = ws_connect(TestServer::port(c.m), c.offer, &head);
        assert_true(fd >= 0);
        const char *p = strstr(head.c_str(), "Sec-WebSocket-Protocol: ");
        if (c.answer) {
            assert_non_null(p);
            assert_int_equal(strncmp(p + 24, c.answer, strlen(c.answer)), 0);
            assert_int_equal(p[24 + strlen(c.answer)], '\r');
        } else {
            assert_null(p);
        }
        n++;
        assert_true(wait_for([&] { return h.opened.load() == n; }));
        assert_int_equal(h.codec.load(), static_cast<int>(c.codec));
        ::close(fd);
    }
}

// --- messages, close -------------------------------------------------------------------------

void test_echo_and_server_close(void **) {
    ScriptHandler h;
    h.message = [](Connection &c, MessageKind kind, std::string_view p) {
        if (p == "bye")
            c.close(4000, "heartbeat timeout");
        else
            c.send(kind, p);
    };
    TestServer s;
    Module *m =
        s.add({{"glide_listen", {"127.0.0.1:0", "ws"}}, {"glide_max_message_size", {"1m"}}}, &h);
    assert_non_null(m);
    s.loop.start();
    int fd = ws_connect(TestServer::port(m));
    assert_true(fd >= 0);
    // A text, a large binary (64-bit length), a ping, then the server closes.
    std::string big(70000, 'z');
    write_all(fd, client_frame(1, "hello") + client_frame(2, big) + client_frame(9, "p?") +
                      client_frame(1, "bye"));
    WsFrame f;
    assert_true(read_ws_frame(fd, &f));
    assert_int_equal(f.opcode, 1);
    assert_string_equal(f.payload.c_str(), "hello");
    assert_true(read_ws_frame(fd, &f));
    assert_int_equal(f.opcode, 2);
    assert_true(f.payload == big);
    assert_true(read_ws_frame(fd, &f));
    assert_int_equal(f.opcode, 0xA);
    assert_string_equal(f.payload.c_str(), "p?");
    assert_true(read_ws_frame(fd, &f));
    assert_int_equal(f.opcode, 8);
    assert_int_equal(f.close_code(), 4000);
    assert_string_equal(f.payload.c_str() + 2, "heartbeat timeout");
    bool eof = false;
    assert_true(read_to_eof(fd, &eof).empty());
    assert_true(eof);
    ::close(fd);
    assert_true(wait_for([&] { return h.closed.load() == 1; }));
    assert_int_equal(h.last_close.load(), 4000);
    assert_int_equal(h.received.load(), 3);

    // The peer's close code reaches the handler; an abrupt EOF is 1006.
    fd = ws_connect(TestServer::port(m));
    write_all(fd, client_close(4321, "done"));
    assert_true(read_ws_frame(fd, &f));
    assert_int_equal(f.close_code(), 4321);
    ::close(fd);
    assert_true(wait_for([&] { return h.closed.load() == 2; }));
    assert_int_equal(h.last_close.load(), 4321);
    fd = ws_connect(TestServer::port(m));
    assert_true(wait_for([&] { return h.opened.load() == 3; }));
    ::close(fd);
    assert_true(wait_for([&] { return h.closed.load() == 3; }));
    assert_int_equal(h.last_close.load(), 1006);
}

void test_default_handler_is_honest(void **) {
    // Without a handler of its own the module speaks the glide protocol: the first frame is
    // the server's hello (text, JSON). The protocol itself is tested in tests/module.
    TestServer s;
    Module *m = s.add(kWs, nullptr); // no handler: the default one
    assert_non_null(m);
    s.loop.start();
    int fd = ws_connect(TestServer::port(m));
    assert_true(fd >= 0);
    WsFrame f;
    assert_true(read_ws_frame(fd, &f));
    assert_int_equal(f.opcode, 1);
    assert_non_null(strstr(f.payload.c_str(), "\"action\":\"hello\""));
    ::close(fd);
}

// --- TCP framing -----------------------------------------------------------------------------

void test_tcp_framing(void **) {
    ScriptHandler h;
    TestServer s;
    Module *m = s.add(
        {{"glide_listen", {"127.0.0.1:0", "tcp", "protobuf"}}, {"glide_max_message_size", {"1k"}}},
        &h);
    assert_non_null(m);
    s.loop.start();
    uint16_t port = TestServer::port(m);

    int fd = tcp_connect(port);
    std::string in = tcp_message("one") + tcp_message(std::string(1024, 'x')) + tcp_message("3");
    // Across segments: the second message cut in its header and payload.
    write_all(fd, in.substr(0, 9));
    usleep(1000);
    write_all(fd, in.substr(9, 500));
    usleep(1000);
    write_all(fd, in.substr(509));
    std::string msg;
    assert_true(read_tcp_message(fd, &msg));
    assert_string_equal(msg.c_str(), "one");
    assert_true(read_tcp_message(fd, &msg));
    assert_true(msg == std::string(1024, 'x'));
    assert_true(read_tcp_message(fd, &msg));
    assert_string_equal(msg.c_str(), "3");
    assert_int_equal(h.codec.load(), static_cast<int>(net::CodecKind::protobuf));

    // A zero length closes the connection.
    write_all(fd, std::string(4, '\0'));
    bool eof = false;
    assert_true(read_to_eof(fd, &eof).empty());
    assert_true(eof);
    ::close(fd);
    assert_true(wait_for([&] { return h.closed.load() == 1; }));
    assert_int_equal(h.last_close.load(), 1002);

    // One byte over the limit closes it before the payload arrives.
    fd = tcp_connect(port);
    write_all(fd, tcp_message("fine") + tcp_message(std::string(1025, 'y')).substr(0, 4));
    assert_true(read_tcp_message(fd, &msg));
    assert_string_equal(msg.c_str(), "fine");
    assert_true(read_to_eof(fd, &eof).empty());
    assert_true(eof);
    ::close(fd);
    assert_true(wait_for([&] { return h.closed.load() == 2; }));
    assert_int_equal(h.last_close.load(), 1009);
}

// --- backpressure ----------------------------------------------------------------------------

// A WebSocket listener with glide_send_buffer_limit `limit`, the loop started, and one client
// connected (receive buffer `rcvbuf`, 0: the kernel's) whose on_open has run.
int connect_limited(TestServer &s, ScriptHandler &h, const char *limit, int rcvbuf, Module **m) {
    *m = s.add({{"glide_listen", {"127.0.0.1:0", "ws"}}, {"glide_send_buffer_limit", {limit}}}, &h);
    assert_non_null(*m);
    s.loop.start();
    int fd = ws_connect(TestServer::port(*m), "", nullptr, rcvbuf);
    assert_true(fd >= 0);
    assert_true(wait_for([&] { return h.opened.load() == 1; }));
    return fd;
}

// A client that never reads while the server keeps sending: sends answer above_soft_mark once
// half the limit is queued, then the send that would pass the limit closes the connection with
// 1008 and answers closed. Queued output never passes the limit.
void test_slow_consumer(void **) {
    constexpr size_t kLimit = 256 * 1024;
    ScriptHandler h;
    TestServer s;
    Module *m = nullptr;
    // A modest receive buffer so that the kernel's share fills soon.
    int fd = connect_limited(s, h, "256k", 128 * 1024, &m);

    const std::string chunk(16 * 1024, 'c');
    bool saw_soft = false, saw_closed = false;
    size_t max_queued = 0, sent = 0;
    // Bursts from the loop thread; the loop writes to the socket between them, until the
    // kernel buffers are full and the output queue grows.
    for (int burst = 0; burst < 10000 && !saw_closed; burst++) {
        s.loop.run([&] {
            if (h.conns.empty()) {
                saw_closed = true;
                return;
            }
            Connection &c = *h.conns.front();
            for (int i = 0; i < 4; i++) {
                SendResult r = c.send(MessageKind::binary, chunk);
                if (r == SendResult::closed) {
                    saw_closed = true;
                    return;
                }
                sent++;
                saw_soft |= r == SendResult::above_soft_mark;
                max_queued = std::max(max_queued, c.queued());
            }
        });
    }
    assert_true(saw_soft);
    assert_true(saw_closed);
    assert_true(max_queued <= kLimit);
    assert_true(wait_for([&] { return h.closed.load() == 1; }));
    assert_int_equal(h.last_close.load(), 1008);

    // The client reads what was queued, then the close frame, then EOF.
    WsFrame f;
    size_t frames = 0;
    while (read_ws_frame(fd, &f) && f.opcode == 2)
        frames++;
    assert_int_equal(frames, sent);
    assert_int_equal(f.opcode, 8);
    assert_int_equal(f.close_code(), 1008);
    assert_string_equal(f.payload.c_str() + 2, "slow consumer");
    bool eof = false;
    read_to_eof(fd, &eof);
    assert_true(eof);
    ::close(fd);
}

// above_soft_mark, then on_send_ready once the client has read enough.
void test_send_ready(void **) {
    ScriptHandler h;
    TestServer s;
    Module *m = nullptr;
    int fd = connect_limited(s, h, "256k", 0, &m);
    const std::string chunk(8 * 1024, 'r');
    size_t sent = 0;
    SendResult r = SendResult::ok;
    // In one loop turn nothing is written yet, so the queue passes the soft mark (128k) here.
    // (No cmocka assertion on the loop thread: a failure there would jump across threads.)
    s.loop.run([&] {
        while (r == SendResult::ok) {
            r = h.conns.front()->send(MessageKind::binary, chunk);
            sent++;
        }
    });
    assert_int_equal(sent, 16);
    assert_int_equal(static_cast<int>(r), static_cast<int>(SendResult::above_soft_mark));
    // The kernel may take it all at once, so on_send_ready may already have run: what matters
    // is that it runs, once, and that nothing was lost.
    WsFrame f;
    for (size_t i = 0; i < sent; i++) {
        assert_true(read_ws_frame(fd, &f));
        assert_int_equal(f.payload.size(), chunk.size());
    }
    assert_true(wait_for([&] { return h.ready_calls.load() == 1; }));
    s.loop.run([&] { r = h.conns.front()->send(MessageKind::binary, chunk); });
    assert_int_equal(static_cast<int>(r), static_cast<int>(SendResult::ok));
    ::close(fd);
}

// One shared payload sent to several connections: the bytes arrive intact everywhere and the
// module holds no reference once they are written.
void test_send_shared(void **) {
    ScriptHandler h;
    TestServer s;
    Module *m = s.add(kWs, &h);
    Module *t = s.add({{"glide_listen", {"127.0.0.1:0", "tcp"}}}, &h);
    assert_non_null(m);
    assert_non_null(t);
    s.loop.start();
    int fds[3] = {ws_connect(TestServer::port(m)), ws_connect(TestServer::port(m)),
                  tcp_connect(TestServer::port(t))};
    assert_true(wait_for([&] { return h.opened.load() == 3; }));
    std::string body(200000, '\0');
    for (size_t i = 0; i < body.size(); i++)
        body[i] = static_cast<char>('a' + i % 26);
    auto shared = std::make_shared<const std::string>(body);
    auto small = std::make_shared<const std::string>("small");
    int refused = 0;
    s.loop.run([&] {
        for (Connection *c : h.conns) {
            refused += c->send_shared(MessageKind::text, shared) == SendResult::closed;
            refused += c->send_shared(MessageKind::text, small) == SendResult::closed;
        }
    });
    assert_int_equal(refused, 0);
    for (int i = 0; i < 2; i++) {
        WsFrame f;
        assert_true(read_ws_frame(fds[i], &f));
        assert_int_equal(f.opcode, 1);
        assert_true(f.payload == body);
        assert_true(read_ws_frame(fds[i], &f));
        assert_string_equal(f.payload.c_str(), "small");
    }
    std::string msg;
    assert_true(read_tcp_message(fds[2], &msg));
    assert_true(msg == body);
    assert_true(read_tcp_message(fds[2], &msg));
    assert_string_equal(msg.c_str(), "small");
    // libevent released its references after writing.
    assert_true(wait_for([&] {
        long n = 0;
        s.loop.run([&] { n = shared.use_count(); });
        return n == 1;
    }));
    for (int fd : fds)
        ::close(fd);
}

// --- writing: once per connection per loop turn --------------------------------------------

// Sends in one loop turn are written with one write per connection, after the turn's callbacks.
void test_one_write_per_turn(void **) {
    ScriptHandler h;
    // A message "burst" is answered with ten messages from inside the read callback.
    h.message = [](Connection &c, MessageKind kind, std::string_view p) {
        for (int i = 0; i < 10; i++)
            c.send(kind, p);
    };
    TestServer s;
    Module *m = s.add(kWs, &h);
    assert_non_null(m);
    s.loop.start();
    int fds[3];
    for (int &fd : fds) {
        fd = ws_connect(TestServer::port(m));
        assert_true(fd >= 0);
    }
    assert_true(wait_for([&] { return h.opened.load() == 3; }));
    uint64_t runs0 = 0, writes0 = 0, runs1 = 0, writes1 = 0, blocked = 0;
    s.loop.run([&] {
        runs0 = m->connection_home()->flush.runs;
        writes0 = m->connection_home()->flush.writes;
        blocked = m->connection_home()->flush.blocked;
        for (Connection *c : h.conns)
            for (int i = 0; i < 10; i++)
                c->send(MessageKind::text, "x" + std::to_string(i));
    });
    WsFrame f;
    for (int fd : fds)
        for (int i = 0; i < 10; i++) {
            assert_true(read_ws_frame(fd, &f));
            assert_string_equal(f.payload.c_str(), ("x" + std::to_string(i)).c_str());
        }
    s.loop.run([&] {
        runs1 = m->connection_home()->flush.runs;
        writes1 = m->connection_home()->flush.writes;
    });
    assert_int_equal(runs1 - runs0, 1);
    assert_int_equal(writes1 - writes0, 3);

    // Ten answers to one client message: one write.
    assert_true(write_all(fds[0], client_frame(1, "burst")));
    for (int i = 0; i < 10; i++) {
        assert_true(read_ws_frame(fds[0], &f));
        assert_string_equal(f.payload.c_str(), "burst");
    }
    s.loop.run([&] {
        writes0 = m->connection_home()->flush.writes;
        blocked = m->connection_home()->flush.blocked - blocked;
    });
    assert_int_equal(writes0 - writes1, 1);
    // Every byte went by those writes: none had to wait for EV_WRITE.
    assert_int_equal(blocked, 0);
    for (int fd : fds)
        ::close(fd);
}

// Numbered messages of `size` bytes: "#<i>" padded with '.'.
std::string numbered(size_t i, size_t size) {
    std::string s = "#" + std::to_string(i);
    s.resize(size, '.');
    return s;
}

// Reads `n` numbered binary frames and checks their order.
void read_numbered(int fd, size_t n, size_t size) {
    WsFrame f;
    for (size_t i = 0; i < n; i++) {
        assert_true(read_ws_frame(fd, &f));
        assert_int_equal(f.opcode, 2);
        assert_true(f.payload == numbered(i, size));
    }
}

// More than the socket takes: the write would block, libevent finishes it, everything arrives
// in order; afterwards the flush queue writes again.
void test_would_block_in_order(void **) {
    constexpr size_t kCount = 6000, kSize = 1000; // more than tcp_wmem's 4 MiB at most
    ScriptHandler h;
    TestServer s;
    Module *m = nullptr;
    int fd = connect_limited(s, h, "16m", 32 * 1024, &m);
    int refused = 0;
    size_t left = 0;
    s.loop.run([&] {
        for (size_t i = 0; i < kCount; i++)
            refused += h.conns.front()->send(MessageKind::binary, numbered(i, kSize)) ==
                       SendResult::closed;
    });
    assert_int_equal(refused, 0);
    // The socket is full before the client reads: part of the output is still queued.
    uint64_t blocked = 0;
    s.loop.run([&] {
        left = h.conns.front()->queued();
        blocked = m->connection_home()->flush.blocked;
    });
    assert_true(left > 0);
    assert_int_equal(blocked, 1);
    read_numbered(fd, kCount, kSize);
    assert_true(wait_for([&] {
        s.loop.run([&] { left = h.conns.front()->queued(); });
        return left == 0;
    }));
    // Back to the flush queue: a later send is written too.
    uint64_t writes0 = 0, writes1 = 0;
    s.loop.run([&] {
        writes0 = m->connection_home()->flush.writes;
        h.conns.front()->send(MessageKind::binary, numbered(0, 10));
    });
    read_numbered(fd, 1, 10);
    s.loop.run([&] {
        writes1 = m->connection_home()->flush.writes;
        blocked = m->connection_home()->flush.blocked;
    });
    assert_int_equal(writes1 - writes0, 1);
    assert_int_equal(blocked, 1);
    ::close(fd);
}

// close() right behind more output than the socket takes: everything, then the close frame,
// then EOF (the write side is shut only after the output is written).
void test_close_after_queued(void **) {
    constexpr size_t kCount = 1000, kSize = 1000;
    ScriptHandler h;
    TestServer s;
    Module *m = nullptr;
    int fd = connect_limited(s, h, "16m", 32 * 1024, &m);
    s.loop.run([&] {
        Connection &c = *h.conns.front();
        for (size_t i = 0; i < kCount; i++)
            c.send(MessageKind::binary, numbered(i, kSize));
        c.close(4000, "bye");
    });
    assert_int_equal(h.last_close.load(), 4000);
    read_numbered(fd, kCount, kSize);
    WsFrame f;
    assert_true(read_ws_frame(fd, &f));
    assert_int_equal(f.opcode, 8);
    assert_int_equal(f.close_code(), 4000);
    assert_string_equal(f.payload.c_str() + 2, "bye");
    bool eof = false;
    read_to_eof(fd, &eof);
    assert_true(eof);
    ::close(fd);
}

// --- plain-socket reading --------------------------------------------------------------------

// Runs on the loop thread: the bytes the first module's connections have read (the tests
// below have one connection at a time).
uint64_t bytes_in_of(TestServer &s) {
    uint64_t n = 0;
    s.loop.run([&] { n = s.modules.front()->connection_home()->traffic.bytes_in; });
    return n;
}

// Writes `data` in pieces cut at `cuts`, each piece read by the server before the next is
// written, so every cut is the end of a read.
void write_in_reads(TestServer &s, ScriptHandler &h, int fd, const std::string &data,
                    std::initializer_list<size_t> cuts) {
    const uint64_t base = bytes_in_of(s);
    size_t at = 0;
    for (size_t cut : cuts) {
        assert_true(write_all(fd, data.substr(at, cut - at)));
        assert_true(wait_for([&] { return bytes_in_of(s) == base + cut; }));
        at = cut;
    }
    assert_true(write_all(fd, data.substr(at)));
}

// The upgrade request in pieces, frames behind it, and frames cut in their header, in their
// mask and in their payload: the start of a request is kept by the connection and a partial
// frame by the decoder until the rest arrives.
void test_split_reads(void **) {
    ScriptHandler h;
    TestServer s;
    Module *m = s.add(kWs, &h);
    assert_non_null(m);
    s.loop.start();
    int fd = tcp_connect(TestServer::port(m));
    assert_true(fd >= 0);
    const std::string req = upgrade_request();
    for (size_t at = 0; at < req.size(); at += 40) {
        assert_true(write_all(fd, req.substr(at, 40)));
        usleep(2000); // most pieces are separate reads; either way the answer is the same
    }
    assert_true(write_all(fd, client_frame(1, "behind the request")));
    assert_int_equal(status_of(read_head(fd)), 101);
    WsFrame f;
    assert_true(read_ws_frame(fd, &f));
    assert_string_equal(f.payload.c_str(), "behind the request");

    const std::string big(300, 'b'); // a 16-bit length
    const std::string in = client_frame(1, "one") + client_frame(2, big) + client_frame(1, "three");
    // "one" is 9 bytes: cut in the second frame's header (at 10), in its mask (at 14) and in
    // its payload (at 100), and in the third frame's header.
    write_in_reads(s, h, fd, in, {10, 14, 100, in.size() - 8});
    assert_true(read_ws_frame(fd, &f));
    assert_string_equal(f.payload.c_str(), "one");
    assert_true(read_ws_frame(fd, &f));
    assert_int_equal(f.opcode, 2);
    assert_true(f.payload == big);
    assert_true(read_ws_frame(fd, &f));
    assert_string_equal(f.payload.c_str(), "three");
    assert_int_equal(h.received.load(), 4);
    ::close(fd);
    assert_true(wait_for([&] { return h.closed.load() == 1; }));
    assert_int_equal(h.last_close.load(), 1006);
}

// A message larger than the shared read buffer arrives over many reads (one write, and in
// pieces), over WebSocket and over TCP framing.
void test_large_message(void **) {
    ScriptHandler h;
    TestServer s;
    Module *m = s.add({{"glide_listen", {"127.0.0.1:0", "ws"}},
                       {"glide_listen", {"127.0.0.1:0", "tcp"}},
                       {"glide_max_message_size", {"1m"}}},
                      &h);
    assert_non_null(m);
    s.loop.start();
    std::string big(900 * 1024, '\0'); // echoed: below glide_send_buffer_limit (1m)
    for (size_t i = 0; i < big.size(); i++)
        big[i] = static_cast<char>('a' + i % 23);

    int fd = ws_connect(TestServer::port(m, 0));
    assert_true(fd >= 0);
    assert_true(wait_for([&] { return h.opened.load() == 1; }));
    // The client writes while the server echoes: read concurrently.
    std::thread writer([&] { write_all(fd, client_frame(2, big) + client_frame(1, "after")); });
    WsFrame f;
    assert_true(read_ws_frame(fd, &f));
    writer.join();
    assert_int_equal(f.opcode, 2);
    assert_true(f.payload == big);
    assert_true(read_ws_frame(fd, &f));
    assert_string_equal(f.payload.c_str(), "after");
    ::close(fd);

    fd = tcp_connect(TestServer::port(m, 1));
    assert_true(fd >= 0);
    assert_true(wait_for([&] { return h.opened.load() == 2; }));
    const std::string in = tcp_message(big);
    write_in_reads(s, h, fd, in, {2, 70000, 700000});
    std::string msg;
    assert_true(read_tcp_message(fd, &msg));
    assert_true(msg == big);
    ::close(fd);
    assert_true(wait_for([&] { return h.closed.load() == 2; }));
}

// A WebSocket server whose handler records every message in *got (loop thread) and pauses
// reading at the message `trigger`, the loop started, and one client whose on_open has run.
int connect_pausing(TestServer &s, ScriptHandler &h, std::vector<std::string> *got,
                    std::string trigger) {
    h.message = [got, trigger](Connection &c, MessageKind, std::string_view p) {
        got->emplace_back(p);
        if (p == trigger)
            c.pause_reading(true);
    };
    Module *m = s.add(kWs, &h);
    assert_non_null(m);
    s.loop.start();
    int fd = ws_connect(TestServer::port(m));
    assert_true(fd >= 0);
    assert_true(wait_for([&] { return h.opened.load() == 1; }));
    return fd;
}

// pause_reading from on_message: the frames already read behind it are still delivered, in
// order; nothing more is read until reading resumes, then the rest arrives.
void test_pause_with_buffered_frames(void **) {
    ScriptHandler h;
    std::vector<std::string> got; // loop thread
    TestServer s;
    int fd = connect_pausing(s, h, &got, "pause");
    assert_true(write_all(fd, client_frame(1, "pause") + client_frame(1, "two") +
                                  client_frame(1, "three")));
    assert_true(wait_for([&] { return h.received.load() == 3; }));
    const uint64_t in0 = bytes_in_of(s);
    assert_true(write_all(fd, client_frame(1, "four")));
    assert_true(settled(s.loop, fd)); // paused: "four" is at the server and was not read
    assert_int_equal(bytes_in_of(s), in0);
    assert_int_equal(h.received.load(), 3);
    s.loop.run([&] { h.conns.front()->pause_reading(false); });
    assert_true(wait_for([&] { return h.received.load() == 4; }));
    std::vector<std::string> seen;
    s.loop.run([&] { seen = got; });
    assert_int_equal(seen.size(), 4);
    assert_string_equal(seen[0].c_str(), "pause");
    assert_string_equal(seen[1].c_str(), "two");
    assert_string_equal(seen[2].c_str(), "three");
    assert_string_equal(seen[3].c_str(), "four");
    ::close(fd);
    assert_true(wait_for([&] { return h.closed.load() == 1; }));
}

// --- fairness --------------------------------------------------------------------------------

// Counts the loop's turns: a timer of 0 ms, armed again whenever it runs, runs once per turn.
// Created and destroyed on the loop thread.
struct TurnCounter {
    explicit TurnCounter(event_base *base) : ev(event_new(base, -1, 0, on_timer, this)) {
        arm();
    }
    ~TurnCounter() { event_free(ev); }
    void arm() {
        timeval zero{0, 0};
        event_add(ev, &zero);
    }
    static void on_timer(evutil_socket_t, short, void *self) {
        auto *t = static_cast<TurnCounter *>(self);
        t->turn++;
        t->arm();
    }
    event *ev;
    uint64_t turn = 0; // loop thread
};

// Connection::kFrameBudget: a peer whose 1000 frames arrive at once gets at most that many
// handled per loop turn (the turn counter may fall between the two halves of a turn: twice the
// budget at most per counted turn); every frame arrives, in order, although no byte comes
// after them (the rest of the read resumes on the next turns); and another connection's frame
// that arrived with them is handled long before the flood's end.
void frame_budget(net::Transport transport) {
    const bool ws = transport == net::Transport::ws;
    constexpr int kFlood = 1000;
    ScriptHandler h;
    std::vector<std::pair<Connection *, uint64_t>> got; // (connection, turn), loop thread
    TestServer s;
    std::unique_ptr<TurnCounter> turns;
    h.message = [&](Connection &c, MessageKind, std::string_view) {
        got.emplace_back(&c, turns->turn);
    };
    Module *m = s.add({{"glide_listen", {"127.0.0.1:0", ws ? "ws" : "tcp"}}}, &h);
    assert_non_null(m);
    s.loop.start();
    auto connect = [&] {
        return ws ? ws_connect(TestServer::port(m)) : tcp_connect(TestServer::port(m));
    };
    int flooder = connect(), other = connect();
    assert_true(flooder >= 0 && other >= 0);
    assert_true(wait_for([&] { return h.opened.load() == 2; }));
    Connection *flood_conn = nullptr;
    s.loop.run([&] {
        flood_conn = h.conns.size() == 2 ? h.conns[0] : nullptr;
        turns = std::make_unique<TurnCounter>(s.loop.base());
    });
    std::string flood;
    for (int i = 0; i < kFlood; i++)
        flood += ws ? client_frame(1, "f" + std::to_string(i))
                    : tcp_message("f" + std::to_string(i));
    assert_true(flood.size() < net::FlushQueue::kReadBuffer); // one read takes it all
    // Both arrive while the loop is held, so that its next poll reports both.
    std::atomic<bool> go{false};
    s.loop.post([&] {
        while (!go.load())
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
    });
    assert_true(write_all(flooder, flood));
    assert_true(write_all(other, ws ? client_frame(1, "other") : tcp_message("other")));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    go = true;
    assert_true(wait_for([&] { return h.received.load() == kFlood + 1; }));
    std::vector<std::pair<Connection *, uint64_t>> seen;
    s.loop.run([&] {
        seen = got;
        turns.reset();
    });
    size_t other_at = seen.size(), most = 0;
    std::map<uint64_t, size_t> per_turn;
    for (size_t i = 0; i < seen.size(); i++) {
        if (seen[i].first != flood_conn)
            other_at = i;
        else
            most = std::max(most, ++per_turn[seen[i].second]);
    }
    assert_true(most <= 2 * Connection::kFrameBudget && most < kFlood / 4);
    assert_true(per_turn.size() >= kFlood / (2 * Connection::kFrameBudget));
    assert_true(other_at <= Connection::kFrameBudget && other_at < kFlood / 4);
    ::close(flooder);
    ::close(other);
    assert_true(wait_for([&] { return h.closed.load() == 2; }));
}

void test_frame_budget_ws(void **) {
    frame_budget(net::Transport::ws);
}

void test_frame_budget_tcp(void **) {
    frame_budget(net::Transport::tcp);
}

// A pause inside a flood: frames of the same read keep coming up to the turn's budget, the
// rest waits (no byte arrives after them) until reading resumes, then comes in order.
void test_pause_with_budget_left(void **) {
    constexpr int kFlood = 300;
    ScriptHandler h;
    std::vector<std::string> got; // loop thread
    TestServer s;
    int fd = connect_pausing(s, h, &got, "10");
    std::string flood;
    for (int i = 0; i < kFlood; i++)
        flood += client_frame(1, std::to_string(i));
    assert_true(write_all(fd, flood));
    assert_true(wait_for([&] { return h.received.load() >= 11; }));
    assert_true(settled(s.loop, fd));
    assert_int_equal(h.received.load(), Connection::kFrameBudget);
    s.loop.run([&] { h.conns.front()->pause_reading(false); });
    assert_true(wait_for([&] { return h.received.load() == kFlood; }));
    std::vector<std::string> seen;
    s.loop.run([&] { seen = got; });
    for (int i = 0; i < kFlood; i++)
        assert_string_equal(seen[static_cast<size_t>(i)].c_str(), std::to_string(i).c_str());
    ::close(fd);
    assert_true(wait_for([&] { return h.closed.load() == 1; }));
}

// The peer goes away in the middle of a frame (the decoder holds its start) or of the upgrade
// request (the connection holds it): on_close(1006) for the open one, the memory is freed
// (valgrind and ASan runs check).
void test_peer_eof_with_remainder(void **) {
    ScriptHandler h;
    TestServer s;
    Module *m = s.add(kWs, &h);
    assert_non_null(m);
    s.loop.start();
    int fd = ws_connect(TestServer::port(m));
    assert_true(fd >= 0);
    assert_true(wait_for([&] { return h.opened.load() == 1; }));
    const std::string frame = client_frame(2, std::string(5000, 'p'));
    const uint64_t in0 = bytes_in_of(s);
    assert_true(write_all(fd, frame.substr(0, 3000)));
    assert_true(wait_for([&] { return bytes_in_of(s) == in0 + 3000; }));
    ::close(fd);
    assert_true(wait_for([&] { return h.closed.load() == 1; }));
    assert_int_equal(h.last_close.load(), 1006);
    assert_int_equal(h.received.load(), 0);

    fd = tcp_connect(TestServer::port(m));
    assert_true(fd >= 0);
    assert_true(write_all(fd, upgrade_request().substr(0, 30)));
    glide_stats st{};
    assert_true(wait_for([&] {
        s.loop.run([&] { m->stats(st); });
        return st.connections == 1;
    }));
    ::close(fd);
    assert_true(wait_for([&] {
        s.loop.run([&] { m->stats(st); });
        return st.connections == 0;
    }));
    assert_int_equal(h.opened.load(), 1);
}

// send_shared to a socket that would block: the payload is held (by reference) until it has
// been written, then released; everything arrives in order.
void test_shared_would_block(void **) {
    constexpr size_t kCount = 400;
    ScriptHandler h;
    TestServer s;
    Module *m = nullptr;
    int fd = connect_limited(s, h, "64m", 32 * 1024, &m);
    auto msg = std::make_shared<const std::string>(numbered(0, 64 * 1024));
    size_t left = 0;
    long uses = 0;
    int refused = 0;
    s.loop.run([&] {
        for (size_t i = 0; i < kCount; i++)
            refused += h.conns.front()->send_shared(MessageKind::binary, msg) ==
                       SendResult::closed;
    });
    assert_int_equal(refused, 0);
    s.loop.run([&] {
        left = h.conns.front()->queued();
        uses = msg.use_count();
    });
    assert_true(left > 0);
    assert_true(uses > 1);
    assert_true(uses <= static_cast<long>(kCount) + 1);
    for (size_t i = 0; i < kCount; i++) {
        WsFrame f;
        assert_true(read_ws_frame(fd, &f));
        assert_true(f.payload == *msg);
    }
    assert_true(wait_for([&] {
        s.loop.run([&] {
            left = h.conns.front()->queued();
            uses = msg.use_count();
        });
        return left == 0;
    }));
    assert_int_equal(uses, 1);
    ::close(fd);
}

// --- drain -----------------------------------------------------------------------------------

void test_drain(void **) {
    ScriptHandler h;
    TestServer s;
    Module *m = s.add(
        {{"glide_listen", {"127.0.0.1:0", "ws"}}, {"glide_listen", {"127.0.0.1:0", "tcp"}}}, &h);
    assert_non_null(m);
    s.loop.start();
    int ws[3];
    for (int &fd : ws) {
        fd = ws_connect(TestServer::port(m, 0));
        assert_true(fd >= 0);
    }
    int tcp = tcp_connect(TestServer::port(m, 1));
    int upgrading = tcp_connect(TestServer::port(m, 0)); // connected, no request yet
    assert_true(wait_for([&] { return h.opened.load() == 4; }));
    glide_stats st{};
    s.loop.run([&] { m->stats(st); });
    assert_int_equal(st.connections, 5);

    std::atomic<int> drained{0};
    int rc = -1;
    s.loop.run([&] {
        rc = m->drain(
            10000, [](void *a) { (*static_cast<std::atomic<int> *>(a))++; }, &drained);
    });
    assert_int_equal(rc, GLIDE_OK);
    for (int fd : ws) {
        WsFrame f;
        assert_true(read_ws_frame(fd, &f));
        assert_int_equal(f.opcode, 8);
        assert_int_equal(f.close_code(), 1001);
        assert_string_equal(f.payload.c_str() + 2, "server shutting down");
        bool eof = false;
        read_to_eof(fd, &eof);
        assert_true(eof);
        ::close(fd);
    }
    bool eof = false;
    assert_true(read_to_eof(tcp, &eof).empty());
    assert_true(eof);
    ::close(tcp);
    assert_true(read_to_eof(upgrading, &eof).empty());
    assert_true(eof);
    ::close(upgrading);
    assert_true(wait_for([&] { return drained.load() == 1; }));
    assert_int_equal(h.closed.load(), 4);
    assert_int_equal(h.last_close.load(), 1001);
}

// --- TLS setup -------------------------------------------------------------------------------

void test_tls_setup_errors(void **) {
    ScriptHandler h;
    TestServer s;
    std::string err;
    Module *m = s.add({{"glide_listen", {"127.0.0.1:0", "ws", "ssl"}},
                       {"glide_ssl_certificate", {"/nonexistent/cert.pem"}},
                       {"glide_ssl_certificate_key", {"/nonexistent/key.pem"}}},
                      &h, {}, &err);
    assert_null(m);
    const char *want = "SSL_CTX_use_certificate_chain_file(\"/nonexistent/cert.pem\") failed (";
    if (err.compare(0, strlen(want), want) != 0) {
        print_error("got: %s\n", err.c_str());
        fail();
    }
    assert_non_null(strstr(err.c_str(), "No such file or directory"));
    assert_int_equal(ERR_peek_error(), 0); // the thread's OpenSSL error queue is left clean
}

} // namespace

// The directive records are the only source of the defaults (net and frame have none): a
// module configured with nothing but its listeners gives its connections exactly the values the
// records' default texts say, and the default glide_max_message_size is the decoder's limit.
void test_directive_defaults_reach_connections(void **) {
    auto record = [](std::string_view name) {
        for (const conf::Spec &spec : module_directives())
            if (name == spec.name)
                return std::string(spec.default_value);
        fail_msg("no record %.*s", static_cast<int>(name.size()), name.data());
        return std::string();
    };
    auto size = [&](std::string_view name) {
        uint64_t v = 0;
        assert_true(conf::parse_size(record(name), v));
        return v;
    };
    auto ms = [&](std::string_view name) {
        uint64_t v = 0;
        assert_true(conf::parse_time_ms(record(name), v));
        return v;
    };
    ScriptHandler h;
    TestServer s;
    Module *m = s.add({{"glide_listen", {"127.0.0.1:0"}}, {"glide_listen", {"127.0.0.1:0", "tcp"}}},
                      &h);
    assert_non_null(m);
    s.loop.start();
    int ws = ws_connect(TestServer::port(m, 0));
    int tcp = tcp_connect(TestServer::port(m, 1));
    assert_true(ws >= 0 && tcp >= 0);
    assert_true(wait_for([&] { return h.opened.load() == 2; }));
    std::vector<net::ConnectionSettings> got;
    s.loop.run([&] {
        for (Connection *c : h.conns)
            got.push_back(c->settings());
    });
    assert_int_equal(got.size(), 2);
    for (const net::ConnectionSettings &c : got) {
        assert_string_equal(c.ws_path.c_str(), record("glide_ws_path").c_str());
        assert_true(c.allowed_origins.empty() && record("glide_allowed_origins") == "*");
        assert_int_equal(c.max_message_size, size("glide_max_message_size"));
        assert_int_equal(c.send_buffer_limit, size("glide_send_buffer_limit"));
        assert_int_equal(c.handshake_timeout_ms, ms("glide_handshake_timeout"));
        assert_int_equal(c.linger_ms, ms("glide_linger_timeout"));
        assert_true(c.codec == net::CodecKind::json);
    }
    // On the wire: a message of the default limit is echoed, one byte more closes with 1009.
    const size_t max = size("glide_max_message_size");
    WsFrame f;
    assert_true(write_all(ws, client_frame(2, std::string(max, 'm'))));
    assert_true(read_ws_frame(ws, &f));
    assert_int_equal(f.payload.size(), max);
    assert_true(write_all(tcp, tcp_message(std::string(max, 't'))));
    std::string msg;
    assert_true(read_tcp_message(tcp, &msg));
    assert_int_equal(msg.size(), max);
    assert_true(write_all(ws, client_frame(2, std::string(max + 1, 'm'))));
    assert_true(read_ws_frame(ws, &f));
    assert_int_equal(f.opcode, 8);
    assert_int_equal(f.close_code(), 1009);
    ::close(ws);
    ::close(tcp);
    assert_true(wait_for([&] { return h.closed.load() == 2; }));
}

int main() {
    signal(SIGPIPE, SIG_IGN); // the host's job; the module never touches signals
    const CMUnitTest tests[] = {
        cmocka_unit_test(test_directive_defaults_reach_connections),
        cmocka_unit_test(test_handshake_refusals),
        cmocka_unit_test(test_handshake_timeout),
        cmocka_unit_test(test_subprotocols),
        cmocka_unit_test(test_echo_and_server_close),
        cmocka_unit_test(test_default_handler_is_honest),
        cmocka_unit_test(test_tcp_framing),
        cmocka_unit_test(test_slow_consumer),
        cmocka_unit_test(test_send_ready),
        cmocka_unit_test(test_send_shared),
        cmocka_unit_test(test_one_write_per_turn),
        cmocka_unit_test(test_would_block_in_order),
        cmocka_unit_test(test_close_after_queued),
        cmocka_unit_test(test_split_reads),
        cmocka_unit_test(test_large_message),
        cmocka_unit_test(test_pause_with_buffered_frames),
        cmocka_unit_test(test_frame_budget_ws),
        cmocka_unit_test(test_frame_budget_tcp),
        cmocka_unit_test(test_pause_with_budget_left),
        cmocka_unit_test(test_peer_eof_with_remainder),
        cmocka_unit_test(test_shared_would_block),
        cmocka_unit_test(test_drain),
        cmocka_unit_test(test_tls_setup_errors),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
