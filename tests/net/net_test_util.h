// Test support for the transport: a server (Module instances on an event_base in a background
// thread), an echo handler, and a blocking client that speaks just enough WebSocket and TCP
// framing to check what the server sends. Every client read has a generous timeout so that a
// failing test fails instead of hanging.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <linux/sockios.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "module/module.h"
#include "net/connection.h"

namespace glide::test {

// --- the server side -------------------------------------------------------------------------

// Echoes every message back with the same kind; counts what it saw.
class EchoHandler : public net::MessageHandler {
public:
    void on_open(net::Connection &c) override { opened++; }
    void on_message(net::Connection &c, net::MessageKind kind,
                    std::span<const uint8_t> payload) override {
        c.send(kind, payload);
    }
    void on_close(net::Connection &c, uint16_t code) override {
        closed++;
        last_close = code;
    }
    // Written on the loop thread, read by the test thread.
    std::atomic<int> opened{0};
    std::atomic<int> closed{0};
    std::atomic<uint16_t> last_close{0};
};

// Module log lines to stderr when GLIDE_TEST_LOG is set (quiet otherwise).
inline void stderr_log(void *, glide_log_level level, const char *msg, size_t len) {
    fprintf(stderr, "[module %d] %.*s\n", static_cast<int>(level), static_cast<int>(len), msg);
}
inline const glide_host *test_host() {
    static glide_host host = [] {
        glide_host h;
        memset(&h, 0, sizeof h);
        h.size = sizeof h;
        h.version = GLIDE_HOST_VERSION;
        h.log = getenv("GLIDE_TEST_LOG") ? stderr_log : nullptr;
        return h;
    }();
    return &host;
}

// An event_base run by a background thread. Other threads talk to it only through post() and
// run(), which hand a function to the loop over a pipe (no libevent locking needed).
class LoopThread {
public:
    LoopThread() : base_(event_base_new()) {
        if (pipe2(fds_, O_CLOEXEC | O_NONBLOCK) != 0)
            abort();
        wake_ = event_new(base_, fds_[0], EV_READ | EV_PERSIST, on_wake, this);
        event_add(wake_, nullptr);
    }
    ~LoopThread() {
        stop();
        event_free(wake_);
        ::close(fds_[0]);
        ::close(fds_[1]);
        event_base_free(base_);
    }
    event_base *base() { return base_; }

    void start() {
        thread_ = std::thread([this] { event_base_loop(base_, EVLOOP_NO_EXIT_ON_EMPTY); });
    }
    void stop() {
        if (!thread_.joinable())
            return;
        post([this] { event_base_loopbreak(base_); });
        thread_.join();
    }
    void post(std::function<void()> fn) {
        {
            std::lock_guard<std::mutex> g(mu_);
            queue_.push_back(std::move(fn));
        }
        char b = 1;
        (void)!write(fds_[1], &b, 1);
    }
    // Runs `fn` on the loop thread and waits for it.
    void run(const std::function<void()> &fn) {
        std::promise<void> done;
        post([&] {
            fn();
            done.set_value();
        });
        done.get_future().wait();
    }

private:
    static void on_wake(evutil_socket_t fd, short, void *self) {
        auto *t = static_cast<LoopThread *>(self);
        char buf[64];
        while (read(fd, buf, sizeof buf) > 0) {
        }
        std::vector<std::function<void()>> q;
        {
            std::lock_guard<std::mutex> g(t->mu_);
            q.swap(t->queue_);
        }
        for (auto &fn : q)
            fn();
    }

    event_base *base_;
    event *wake_ = nullptr;
    int fds_[2] = {-1, -1};
    std::thread thread_;
    std::mutex mu_;
    std::vector<std::function<void()>> queue_;
};

using Directives = std::vector<std::pair<std::string, std::vector<std::string>>>;

// Configures and starts a module on `base`; nullptr with *error set when that fails.
inline std::unique_ptr<Module> make_module(event_base *base, const Directives &dirs,
                                           net::MessageHandler *handler,
                                           const std::function<void(ModuleConf &)> &tweak,
                                           std::string *error,
                                           const glide_host *host = test_host()) {
    auto m = std::make_unique<Module>(host);
    auto c = std::make_unique<glide_conf>(m.get());
    for (const auto &[name, args] : dirs) {
        conf::Directive d;
        d.name = name;
        d.args = args;
        d.file = "test.conf";
        d.line = 1;
        Status st = c->applier.apply(d);
        if (!st) {
            *error = st.error();
            return nullptr;
        }
        if (name == "glide_listen") {
            c->conf.listens.back().file = d.file;
            c->conf.listens.back().line = d.line;
        }
    }
    Status st = c->applier.finish();
    if (st)
        st = finish_module_conf(c->conf);
    if (!st) {
        *error = st.error();
        return nullptr;
    }
    c->finished = true;
    if (tweak)
        tweak(c->conf);
    if (Status a = m->apply(std::move(c)); !a) {
        *error = a.error();
        return nullptr;
    }
    m->set_handler(handler);
    if (Status s = m->start(base); !s) {
        *error = s.error();
        return nullptr;
    }
    return m;
}

// Module instances on one loop thread. Add modules, then start the loop; the destructor stops
// the thread before destroying the modules (destroy is immediate and runs on this thread then).
class TestServer {
public:
    ~TestServer() {
        loop.stop();
        modules.clear();
    }

    // Configures and starts a module; returns it, or nullptr with *error set (printed when
    // error is null).
    Module *add(const Directives &dirs, net::MessageHandler *handler,
                const std::function<void(ModuleConf &)> &tweak = {}, std::string *error = nullptr) {
        std::string why;
        auto m = make_module(loop.base(), dirs, handler, tweak, &why);
        if (!m) {
            if (error)
                *error = why;
            else
                fprintf(stderr, "server setup failed: %s\n", why.c_str());
            return nullptr;
        }
        modules.push_back(std::move(m));
        return modules.back().get();
    }
    static uint16_t port(const Module *m, size_t i = 0) { return m->listener(i)->bound().port(); }

    LoopThread loop;
    std::vector<std::unique_ptr<Module>> modules;
};

// Polls `pred` every 10 ms for up to `seconds`; true once it holds.
inline bool wait_for(const std::function<bool()> &pred, double seconds = 10) {
    auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (!pred()) {
        if (std::chrono::steady_clock::now() > end)
            return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return true;
}

// Returns once the server has had every chance to read what this process wrote to `fd`, so that
// a test can assert that something did *not* happen without sleeping and hoping: first the
// bytes are acknowledged (SIOCOUTQ 0: they sit in the server socket's receive queue, so from
// then on every poll of the loop reports that socket readable if it is watched); then two
// round trips through the loop: the first one's wake-up is reported by a poll made after the
// bytes arrived, the second runs after every callback of that poll. False on timeout.
inline bool settled(LoopThread &loop, int fd) {
    if (!wait_for([&] {
            int unacked = -1;
            return ioctl(fd, SIOCOUTQ, &unacked) == 0 && unacked == 0;
        }))
        return false;
    loop.run([] {});
    loop.run([] {});
    return true;
}

// --- the client side -------------------------------------------------------------------------

inline constexpr int kClientTimeoutSeconds = 15;

// rcvbuf: a receive buffer size, set before connecting (so the window scale fits it), to make
// a client that does not read fill up sooner; 0 keeps the kernel's.
inline int tcp_connect(uint16_t port, int rcvbuf = 0) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (rcvbuf)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    timeval tv{kClientTimeoutSeconds, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_port = htons(port);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, reinterpret_cast<sockaddr *>(&sin), sizeof sin) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

// False when the peer is gone (the server may close before all input is written).
inline bool write_all(int fd, std::string_view data) {
    while (!data.empty()) {
        ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
        if (n <= 0)
            return false;
        data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
}

// Reads exactly n bytes; false on EOF, error or timeout.
inline bool read_exact(int fd, void *buf, size_t n) {
    auto *p = static_cast<char *>(buf);
    while (n) {
        ssize_t r = recv(fd, p, n, 0);
        if (r <= 0)
            return false;
        p += r;
        n -= static_cast<size_t>(r);
    }
    return true;
}

// The HTTP response head (through the empty line), or what came before EOF/timeout.
inline std::string read_head(int fd) {
    std::string s;
    char c;
    while (s.size() < 65536 && recv(fd, &c, 1, 0) == 1) {
        s += c;
        if (s.size() >= 4 && s.compare(s.size() - 4, 4, "\r\n\r\n") == 0)
            break;
    }
    return s;
}

// Everything until EOF (or error/timeout: then *eof is false).
inline std::string read_to_eof(int fd, bool *eof = nullptr) {
    std::string s;
    char buf[4096];
    for (;;) {
        ssize_t r = recv(fd, buf, sizeof buf, 0);
        if (r <= 0) {
            if (eof)
                *eof = r == 0;
            return s;
        }
        s.append(buf, static_cast<size_t>(r));
    }
}

inline std::string upgrade_request(std::string_view path = "/ws", std::string_view extra = "") {
    std::string r = "GET " + std::string(path) +
                    " HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";
    r += extra;
    r += "\r\n";
    return r;
}

inline int status_of(const std::string &head) {
    if (head.size() < 12 || head.compare(0, 9, "HTTP/1.1 ") != 0)
        return 0;
    return atoi(head.c_str() + 9);
}

// Connects and upgrades; -1 unless the answer is 101. *head receives the answer.
inline int ws_connect(uint16_t port, std::string_view extra = "", std::string *head = nullptr,
                      int rcvbuf = 0) {
    int fd = tcp_connect(port, rcvbuf);
    if (fd < 0)
        return -1;
    std::string h;
    if (write_all(fd, upgrade_request("/ws", extra)))
        h = read_head(fd);
    if (head)
        *head = h;
    if (status_of(h) != 101) {
        ::close(fd);
        return -1;
    }
    return fd;
}

struct WsFrame {
    uint8_t opcode = 0;
    bool fin = false;
    bool masked = false;
    std::string payload;
    uint16_t close_code() const { // 1005 for an empty close payload
        if (payload.size() < 2)
            return 1005;
        return static_cast<uint16_t>(static_cast<uint8_t>(payload[0]) << 8 |
                                     static_cast<uint8_t>(payload[1]));
    }
};

// Reads one frame as the server sends it; false on EOF, error or timeout.
inline bool read_ws_frame(int fd, WsFrame *f) {
    uint8_t h[2];
    if (!read_exact(fd, h, 2))
        return false;
    f->fin = h[0] & 0x80;
    f->opcode = h[0] & 0x0F;
    f->masked = h[1] & 0x80;
    uint64_t len = h[1] & 0x7F;
    if (len == 126) {
        uint8_t e[2];
        if (!read_exact(fd, e, 2))
            return false;
        len = static_cast<uint64_t>(e[0]) << 8 | e[1];
    } else if (len == 127) {
        uint8_t e[8];
        if (!read_exact(fd, e, 8))
            return false;
        len = 0;
        for (uint8_t b : e)
            len = len << 8 | b;
    }
    if (len > (64u << 20))
        return false;
    f->payload.resize(len);
    return len == 0 || read_exact(fd, f->payload.data(), len);
}

// A masked client frame (the key is fixed: the server's unmasking is tested elsewhere).
inline std::string client_frame(uint8_t opcode, std::string_view payload, bool fin = true) {
    std::string out;
    out += static_cast<char>((fin ? 0x80 : 0) | opcode);
    const uint64_t n = payload.size();
    if (n <= 125) {
        out += static_cast<char>(0x80 | n);
    } else if (n <= 0xFFFF) {
        out += static_cast<char>(0x80 | 126);
        out += static_cast<char>(n >> 8);
        out += static_cast<char>(n);
    } else {
        out += static_cast<char>(0x80 | 127);
        for (int i = 7; i >= 0; i--)
            out += static_cast<char>(n >> (8 * i));
    }
    const char key[4] = {0x12, 0x34, 0x56, 0x78};
    out.append(key, 4);
    for (size_t i = 0; i < n; i++)
        out += static_cast<char>(payload[i] ^ key[i & 3]);
    return out;
}

inline std::string client_close(uint16_t code, std::string_view reason = {}) {
    std::string p;
    p += static_cast<char>(code >> 8);
    p += static_cast<char>(code);
    p += reason;
    return client_frame(8, p);
}

inline std::string tcp_message(std::string_view payload) {
    std::string out(4, '\0');
    uint32_t n = static_cast<uint32_t>(payload.size());
    out[0] = static_cast<char>(n >> 24);
    out[1] = static_cast<char>(n >> 16);
    out[2] = static_cast<char>(n >> 8);
    out[3] = static_cast<char>(n);
    return out + std::string(payload);
}

inline bool read_tcp_message(int fd, std::string *out) {
    uint8_t h[4];
    if (!read_exact(fd, h, 4))
        return false;
    uint32_t n = static_cast<uint32_t>(h[0]) << 24 | static_cast<uint32_t>(h[1]) << 16 |
                 static_cast<uint32_t>(h[2]) << 8 | h[3];
    out->resize(n);
    return n == 0 || read_exact(fd, out->data(), n);
}

} // namespace glide::test
