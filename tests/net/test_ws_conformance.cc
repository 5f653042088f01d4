// Every WebSocket conformance case of tests/frame/ws_cases.h over real sockets, against the
// module's transport with an echo handler: a client connects to a loopback listener, upgrades,
// sends the case's bytes (whole; and again in small random pieces for every third case) and
// checks what the server answers: each text/binary message echoed in a frame of its kind, a
// pong with the payload of each ping, nothing for a pong, and for a close or an error the
// server's close frame with the echoed or the error's code, followed by the server closing the
// connection. A case that does not end in a close gets one from the client (1000, echoed).
#include <map>
#include <random>
#include <set>

#include "frame/ws_cases.h"
#include "net/net_test_util.h"
// cmocka last: its macros clash with the standard library's headers.
#include "glide_cmocka.h"

using namespace glide;
using namespace glide::test;
using frame::FrameEventType;
using frame::cases::WsCase;

namespace {

EchoHandler g_echo;
TestServer *g_server;
std::map<uint64_t, uint16_t> g_port_by_limit; // one module per message size limit
std::vector<WsCase> g_cases;

struct Run {
    const WsCase *c;
    bool chunked;
    std::string name;
};
std::vector<Run> g_runs;

struct Want {
    uint8_t opcode;
    std::string payload; // for close: unused
    uint16_t code = 0;   // for close
};

std::vector<Want> expected_frames(const WsCase &c, bool *client_closes) {
    std::vector<Want> w;
    bool ended = false;
    for (const auto &e : c.expect) {
        switch (e.type) {
        case FrameEventType::text:
            w.push_back({1, e.payload});
            break;
        case FrameEventType::binary:
            w.push_back({2, e.payload});
            break;
        case FrameEventType::ping:
            w.push_back({0xA, e.payload});
            break;
        case FrameEventType::pong:
            break;
        case FrameEventType::close:
        case FrameEventType::error:
            w.push_back({8, {}, e.code});
            ended = true;
            break;
        }
    }
    *client_closes = !ended;
    if (!ended)
        w.push_back({8, {}, 1000});
    return w;
}

std::string shorten(const std::string &s) {
    return s.size() <= 40 ? s : s.substr(0, 40) + "...(" + std::to_string(s.size()) + " bytes)";
}

void test_case(void **state) {
    const Run &run = *static_cast<const Run *>(*state);
    const WsCase &c = *run.c;
    int fd = ws_connect(g_port_by_limit.at(c.max_message));
    assert_true(fd >= 0);

    bool client_closes = false;
    std::vector<Want> want = expected_frames(c, &client_closes);
    std::string input = c.input;
    if (client_closes)
        input += client_close(1000);
    if (run.chunked) {
        // Pieces of 1..16 bytes for small inputs, up to 4 KiB for large ones; TCP_NODELAY
        // makes most pieces separate segments, so the server sees frames cut anywhere.
        std::mt19937 rng(static_cast<uint32_t>(std::hash<std::string>{}(c.name)));
        size_t maxpiece = input.size() <= 4096 ? 16 : 4096;
        std::uniform_int_distribution<size_t> piece(1, maxpiece);
        for (size_t off = 0; off < input.size();) {
            size_t n = std::min(piece(rng), input.size() - off);
            if (!write_all(fd, std::string_view(input).substr(off, n)))
                break;
            off += n;
        }
    } else {
        write_all(fd, input); // the server may close before the end: what it sent still counts
    }

    for (size_t i = 0; i < want.size(); i++) {
        WsFrame f;
        if (!read_ws_frame(fd, &f)) {
            print_error("%s: frame %zu (opcode %u) expected, got EOF/error/timeout\n",
                        run.name.c_str(), i, want[i].opcode);
            fail();
        }
        if (f.opcode != want[i].opcode || !f.fin || f.masked) {
            print_error("%s: frame %zu: opcode %u fin %d masked %d, expected opcode %u\n",
                        run.name.c_str(), i, f.opcode, f.fin, f.masked, want[i].opcode);
            fail();
        }
        if (f.opcode == 8) {
            uint16_t code = f.close_code();
            if (code != want[i].code) {
                print_error("%s: close code %u, expected %u\n", run.name.c_str(), code,
                            want[i].code);
                fail();
            }
        } else if (f.payload != want[i].payload) {
            print_error("%s: frame %zu payload \"%s\", expected \"%s\"\n", run.name.c_str(), i,
                        shorten(f.payload).c_str(), shorten(want[i].payload).c_str());
            fail();
        }
    }
    // After its close frame the server sends nothing and closes the connection.
    bool eof = false;
    std::string extra = read_to_eof(fd, &eof);
    if (!eof || !extra.empty()) {
        print_error("%s: after the close frame: %zu more bytes, eof %d\n", run.name.c_str(),
                    extra.size(), eof);
        fail();
    }
    ::close(fd);
}

int setup(void **) {
    g_server = new TestServer;
    std::set<uint64_t> limits;
    for (const WsCase &c : g_cases)
        limits.insert(c.max_message);
    for (uint64_t lim : limits) {
        // The limit is set on the finished configuration: cases go below the directive's
        // lower bound (10 bytes). The send buffer is large so that echoes never look slow.
        Module *m = g_server->add(
            {{"glide_listen", {"127.0.0.1:0", "ws"}}, {"glide_linger_timeout", {"10s"}}}, &g_echo,
            [lim](ModuleConf &c) {
                c.max_message_size = lim;
                c.send_buffer_limit = 256u << 20;
            });
        if (!m)
            return -1;
        g_port_by_limit[lim] = TestServer::port(m);
    }
    g_server->loop.start();
    return 0;
}

int teardown(void **) {
    delete g_server;
    g_server = nullptr;
    return 0;
}

} // namespace

int main() {
    g_cases = frame::cases::ws_cases();
    for (size_t i = 0; i < g_cases.size(); i++) {
        g_runs.push_back({&g_cases[i], false, g_cases[i].name});
        if (i % 3 == 0)
            g_runs.push_back({&g_cases[i], true, g_cases[i].name + " (in pieces)"});
    }
    std::vector<CMUnitTest> tests;
    for (Run &r : g_runs)
        tests.push_back(CMUnitTest{r.name.c_str(), test_case, nullptr, nullptr, &r});
    return _cmocka_run_group_tests("ws_conformance_over_sockets", tests.data(), tests.size(), setup,
                                   teardown);
}
