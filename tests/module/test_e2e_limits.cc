// End to end over real sockets: the limits (glided.conf(5) glide_limit_*, glide_max_connections)
// as a client sees them, and a replay that meets a store fault. Harness: e2e_harness.h.
//
// Under a limit nothing changes (the clients below the limits log in and chat); over it, the
// documented answer: 429 or 503 for an upgrade, an immediate close for TCP, notify.error with
// the request seq for a frame or an authentication, close 1008 with its reason for a client that
// keeps on. What was refused is counted (glide_api.stats_each, GLIDE_STAT_LIMITED).
#include <map>
#include <thread>

#include "e2e_harness.h"

using namespace glide;
using namespace glide::e2e;
using codec::Envelope;
namespace action = codec::action;

namespace {

// GLIDE_STAT_LIMITED counters by label, through the C API as a host reads them.
std::map<std::string, uint64_t> limited(Fixture &f) {
    std::map<std::string, uint64_t> out;
    f.loop.run([&] {
        f.host.api->stats_each(
            f.m.get(),
            [](void *arg, glide_stat_kind kind, glide_str label, uint64_t n) {
                if (kind == GLIDE_STAT_LIMITED)
                    (*static_cast<std::map<std::string, uint64_t> *>(arg))[std::string(
                        label.ptr, label.len)] = n;
            },
            &out);
    });
    return out;
}

// An upgrade the server refuses: the answer's status and body, read to EOF.
int refused_upgrade(uint16_t port, std::string *body) {
    int fd = tcp_connect(port);
    assert_true(fd >= 0);
    assert_true(write_all(fd, upgrade_request()));
    std::string head = read_head(fd);
    bool eof = false;
    *body = read_to_eof(fd, &eof);
    assert_true(eof);
    ::close(fd);
    return status_of(head);
}

// A TCP connection the server drops at once: EOF before any byte.
bool dropped_at_once(uint16_t port) {
    int fd = tcp_connect(port);
    assert_true(fd >= 0);
    bool eof = false;
    std::string got = read_to_eof(fd, &eof);
    ::close(fd);
    return eof && got.empty();
}

uint64_t open_connections(Fixture &f) {
    return f.stats().connections;
}

// glide_limit_connections_per_address 2: two clients from 127.0.0.1 log in and chat; the third
// upgrade is answered 429, a TCP connection beyond it is dropped at once; once one of the two
// leaves, a new one is served.
void test_connections_per_address(void **) {
    Fixture f(true, {{"glide_limit_connections_per_address", {"2"}}});
    const uint16_t tcp_port = f.m->listener(1)->bound().port();
    auto a = std::make_unique<Client>(f.port);
    Client b(f.port);
    login(*a, "A", "pc");
    login(b, "B", "pc");
    assert_true(a->send(chat_env(1, "B", "c-1", "hi")));
    wait_ack_mid(*a, "c-1");
    assert_true(b.wait(action::chat));
    std::string body;
    assert_int_equal(refused_upgrade(f.port, &body), 429);
    assert_string_equal(body.c_str(), "too many connections from this address\n");
    assert_true(dropped_at_once(tcp_port));
    auto l = limited(f);
    assert_int_equal(l["connections_per_address"], 2);
    assert_int_equal(l.count("max_connections"), 0);
    a.reset();
    assert_true(wait_for([&] { return open_connections(f) == 1; }));
    Client c(f.port);
    login(c, "C", "pc");
    b.sync();
}

// glide_max_connections 2: the third upgrade is answered 503, a TCP connection dropped.
void test_max_connections(void **) {
    Fixture f(true, {{"glide_max_connections", {"2"}},
                     {"glide_limit_connections_per_address", {"off"}}});
    const uint16_t tcp_port = f.m->listener(1)->bound().port();
    Client a(f.port), b(f.port);
    login(a, "A", "pc");
    login(b, "B", "pc");
    std::string body;
    assert_int_equal(refused_upgrade(f.port, &body), 503);
    assert_string_equal(body.c_str(), "too many connections\n");
    assert_true(dropped_at_once(tcp_port));
    assert_int_equal(limited(f)["max_connections"], 2);
    a.sync();
    b.sync();
}

// Every frame over the rate gets notify.error with its seq (never a silent drop); a client that
// keeps sending at twice the rate is closed with 1008 after glide_limit_message_rate_close.
void test_message_rate(void **state) {
    Wire w = wire_of(state);
    Fixture f(true, {{"glide_limit_message_rate", {"10", "burst=5"}},
                     {"glide_limit_message_rate_close", {"1s"}}});
    Client a(f.port, w), b(f.port, w);
    login(a, "A", "pc");
    login(b, "B", "pc");
    std::this_thread::sleep_for(std::chrono::milliseconds(600)); // full again after the login
    for (int i = 1; i <= 10; i++)
        assert_true(a.send(chat_env(i, "B", "r-" + std::to_string(i), "x")));
    int acks = 0, errors = 0;
    while (acks + errors < 10) {
        Envelope e;
        assert_true(a.next(&e));
        if (e.action == action::ack_message) {
            acks++;
        } else if (e.action == action::notify_error) {
            errors++;
            assert_true(e.seq >= 1 && e.seq <= 10);
            assert_string_equal(text_of(e).c_str(), "rate limit exceeded: 10 messages per second");
        }
    }
    assert_true(acks >= 5 && acks <= 6);
    // 20 a second for two seconds: refused without a pause of a second, then closed.
    for (int i = 0; i < 40; i++) {
        (void)a.send(chat_env(100 + i, "B", "s-" + std::to_string(i), "x"));
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    assert_int_equal(a.wait_close(), 1008);
    assert_string_equal(a.close_reason.c_str(), "rate limit exceeded");
    auto l = limited(f);
    assert_true(l["message_rate"] >= 5);
    assert_int_equal(l["message_rate_close"], 1);
    b.sync();
}

// glide_limit_auth_failures 2: the second failure is answered, then close 1008.
// glide_limit_auth_failures_per_address 3: after three failures from 127.0.0.1, even a valid
// credential is refused without the host's auth being called.
void test_auth_failures(void **state) {
    Wire w = wire_of(state);
    Fixture f(true, {{"glide_limit_auth_failures", {"2"}},
                     {"glide_limit_auth_failures_per_address", {"3"}}});
    const std::string bad = credential_for("A", "pc", {"", 3600 * 1000}); // expired
    Client a(f.port, w);
    assert_true(a.wait(action::hello));
    Envelope r;
    assert_true(a.send(auth_env(1, bad)));
    assert_true(a.wait(action::notify_error, &r, 1));
    assert_true(a.send(auth_env(2, bad)));
    assert_true(a.wait(action::notify_error, &r, 2));
    assert_string_equal(text_of(r).c_str(), "credential expired");
    assert_int_equal(a.wait_close(), 1008);
    assert_string_equal(a.close_reason.c_str(), "too many failed authentications");

    Client b(f.port, w);
    assert_true(b.wait(action::hello));
    assert_true(b.send(auth_env(3, bad)));
    assert_true(b.wait(action::notify_error, &r, 3));
    const int asked = f.host.auths.load();
    assert_int_equal(asked, 3);
    Client c(f.port, w);
    assert_true(c.wait(action::hello));
    assert_true(c.send(auth_env(4, credential_for("C", "pc"))));
    assert_true(c.wait(action::notify_error, &r, 4));
    assert_string_equal(text_of(r).c_str(), "too many failed authentications");
    assert_int_equal(f.host.auths.load(), asked);
    auto l = limited(f);
    assert_int_equal(l["auth_failures"], 1);
    assert_int_equal(l["auth_failures_per_address"], 1);
}

// A login's offline replay of more than two pages (300 messages, 64 a page) meets a store fault
// at its first page (twice) and in the middle (three times): it retries while the session stays,
// and the device gets every acknowledged message, once and in order, without logging in again.
// The host holds each load until the test releases it, so the faults fall where they should.
void test_replay_store_fault(void **state) {
    Wire w = wire_of(state);
    Fixture f(true, {{"glide_limit_message_rate", {"off"}},
                     {"glide_limit_user_message_rate", {"off"}}});
    Client a(f.port, w);
    login(a, "A", "pc");
    std::vector<int64_t> mids;
    for (int i = 0; i < 300; i++) {
        std::string cli = "o-" + std::to_string(i);
        assert_true(a.send(chat_env(i, "B", cli, "offline " + std::to_string(i))));
        mids.push_back(wait_ack_mid(a, cli));
    }
    f.with_store([](store::MemoryStore &s) {
        s.set_delay(Kind::load_undelivered, s.hold);
        s.fail_next(Kind::load_undelivered, GLIDE_EIO, "database or disk is full", 2);
    });
    Client b(f.port, w);
    login(b, "B", "pc");
    // Loads: 2 failures, 2 pages, 3 failures, 3 pages (the last one short).
    for (int i = 0; i < 10; i++) {
        assert_true(wait_for([&] { return f.with_store([](auto &s) { return s.held(); }) == 1; }));
        f.with_store([&](store::MemoryStore &s) {
            if (i == 3) // the load after this one fails three times
                s.fail_next(Kind::load_undelivered, GLIDE_EIO, "database or disk is full", 3);
            s.release_held();
        });
    }
    std::vector<int64_t> got;
    while (got.size() < mids.size()) {
        Envelope e;
        assert_true(b.wait(action::chat, &e));
        got.push_back(data_of<codec::ChatMessage>(e).mid);
    }
    assert_true(got == mids);
    assert_int_equal(f.host.loads.load(), 1 + 10); // A's login loaded once too
    assert_int_equal(Client::count(b.sync(), action::chat), 0);
    assert_false(b.closed);
}

} // namespace

int main(void) {
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_connections_per_address),
        cmocka_unit_test(test_max_connections),
        E2E_BOTH(test_message_rate),
        E2E_BOTH(test_auth_failures),
        E2E_BOTH(test_replay_store_fault),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
