// An echo server on the module's transport, for end-to-end scripts (ws_python_test.py):
//
//   helper_echo_server [--ssl CERT KEY] [--handshake-timeout TIME]
//
// Listens on 127.0.0.1 (port chosen by the kernel) for WebSocket, and with --ssl also for
// WebSocket over TLS. Prints "ws PORT" (and "wss PORT"), then "ready", one per line; then one
// line "close CODE" each time a connection's session ends. Every message is echoed with its
// kind; the text message "close-me" is answered by a server close (1000, "bye"). SIGTERM or
// EOF on stdin drains (clients get 1001) and exits 0 once every connection is gone.
#include <csignal>

#include "net/net_test_util.h"

using namespace glide;

namespace {

class Echo : public net::MessageHandler {
public:
    void on_open(net::Connection &) override {}
    void on_message(net::Connection &c, net::MessageKind kind,
                    std::span<const uint8_t> p) override {
        if (kind == net::MessageKind::text &&
            std::string_view(reinterpret_cast<const char *>(p.data()), p.size()) == "close-me")
            c.close(1000, "bye");
        else
            c.send(kind, p);
    }
    void on_close(net::Connection &, uint16_t code) override {
        printf("close %u\n", code);
        fflush(stdout);
    }
};

struct App {
    event_base *base = nullptr;
    Module *module = nullptr;
    event *stdin_ev = nullptr;
    bool draining = false;
};

void on_drained(void *arg) {
    event_base_loopexit(static_cast<App *>(arg)->base, nullptr);
}

void begin_drain(App *app) {
    if (app->draining)
        return;
    app->draining = true;
    if (app->module->drain(5000, on_drained, app) != GLIDE_OK)
        event_base_loopexit(app->base, nullptr);
}

void on_signal(evutil_socket_t, short, void *arg) {
    begin_drain(static_cast<App *>(arg));
}

void on_stdin(evutil_socket_t fd, short, void *arg) {
    auto *app = static_cast<App *>(arg);
    char buf[256];
    if (read(fd, buf, sizeof buf) <= 0) {
        event_del(app->stdin_ev); // EOF stays readable: stop watching it
        begin_drain(app);
    }
}

} // namespace

int main(int argc, char **argv) {
    signal(SIGPIPE, SIG_IGN); // the host's job: the module never sets signal dispositions
    test::Directives dirs = {{"glide_listen", {"127.0.0.1:0", "ws"}}};
    bool ssl = false;
    for (int i = 1; i < argc; i++) {
        std::string a = argv[i];
        if (a == "--ssl" && i + 2 < argc) {
            ssl = true;
            dirs.push_back({"glide_listen", {"127.0.0.1:0", "ws", "ssl"}});
            dirs.push_back({"glide_ssl_certificate", {argv[i + 1]}});
            dirs.push_back({"glide_ssl_certificate_key", {argv[i + 2]}});
            i += 2;
        } else if (a == "--handshake-timeout" && i + 1 < argc) {
            dirs.push_back({"glide_handshake_timeout", {argv[++i]}});
        } else {
            fprintf(stderr, "usage: %s [--ssl CERT KEY] [--handshake-timeout TIME]\n", argv[0]);
            return 2;
        }
    }
    dirs.push_back({"glide_max_message_size", {"1m"}});

    App app;
    app.base = event_base_new();
    Echo echo;
    std::string error;
    std::unique_ptr<Module> m = test::make_module(app.base, dirs, &echo, {}, &error);
    if (!m) {
        fprintf(stderr, "helper_echo_server: %s\n", error.c_str());
        event_base_free(app.base);
        return 1;
    }
    app.module = m.get();
    printf("ws %u\n", m->listener(0)->bound().port());
    if (ssl)
        printf("wss %u\n", m->listener(1)->bound().port());
    printf("ready\n");
    fflush(stdout);

    event *term = evsignal_new(app.base, SIGTERM, on_signal, &app);
    event *in = event_new(app.base, STDIN_FILENO, EV_READ | EV_PERSIST, on_stdin, &app);
    app.stdin_ev = in;
    event_add(term, nullptr);
    event_add(in, nullptr);
    event_base_dispatch(app.base);
    event_free(term);
    event_free(in);
    m.reset();
    event_base_free(app.base);
    return 0;
}
