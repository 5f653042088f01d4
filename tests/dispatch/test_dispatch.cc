// The action table (design.md §5.2, §5.5): which actions exist, which need authentication,
// and that each entry's payload kind is the codecs' (codec/payload.h); the rate limits and the
// failed-authentication limits (glide_limit_*), on a fake clock.
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "dispatch/dispatch.h"
#include "support/proto_fakes.h"

#include "glide_cmocka.h"

using namespace glide;

namespace {

void test_table_matches_design(void **) {
    std::set<std::string> open = {"hello", "heartbeat", "authenticate"};
    std::set<std::string> authed = {"message.chat", "message.chat.resend", "message.group",
                                    "message.cli",  "ack.request",         "ack.group.msg",
                                    "ack.offline",  "api.state.sub"};
    size_t n = 0;
    for (const auto &a : dispatch::action_table()) {
        std::string name(a.name);
        if (a.needs_auth)
            assert_true(authed.count(name) == 1);
        else
            assert_true(open.count(name) == 1);
        assert_int_equal(static_cast<int>(a.payload),
                         static_cast<int>(codec::payload_kind(a.name)));
        assert_true(dispatch::find_action(a.name) == &a);
        assert_false(codec::action::is_internal(a.name));
        n++;
    }
    assert_int_equal(n, open.size() + authed.size());
    assert_null(dispatch::find_action("notify.success")); // server-only actions
    assert_null(dispatch::find_action("internal.online"));
    assert_null(dispatch::find_action(""));
}

// Frames that arrive while auth is pending are bounded.
void test_deferred_frames_bounded(void **) {
    fakes::World w;
    w.token("tok-A", "A", "d1");
    w.store.set_delay(store::MemoryStore::Kind::auth, store::MemoryStore::hold);
    auto a = w.connect();
    w.send(*a, "{\"seq\":1,\"action\":\"authenticate\",\"data\":{\"version\":1,\"credential\":"
               "\"tok-A\"}}");
    for (size_t i = 0; i < session::Session::max_deferred; i++)
        w.send(*a, "{\"action\":\"heartbeat\"}");
    assert_false(a->link.closed);
    w.send(*a, "{\"action\":\"heartbeat\"}");
    assert_true(a->link.closed);
    assert_int_equal(a->link.close_code, 1008);
    assert_int_equal(w.store.release_held(), 1);
    assert_false(a->s->authenticated());
}

// --- the limits (glide_limit_*; defaults from fakes::test_conf: 100/s burst 200 per connection,
//     200/s burst 400 per user, closed after 10 s of refusals, 5 failed auths per connection,
//     60 a minute per address) ---------------------------------------------------------------

using Kind = store::MemoryStore::Kind;

std::string chat(int64_t seq, const std::string &to = "B") {
    return "{\"seq\":" + std::to_string(seq) + ",\"action\":\"message.chat\",\"to\":\"" + to +
           "\",\"data\":{\"cliMid\":\"m" + std::to_string(seq) + "\",\"content\":\"x\"}}";
}

std::string auth(int64_t seq, const std::string &token) {
    return "{\"seq\":" + std::to_string(seq) +
           ",\"action\":\"authenticate\",\"data\":{\"version\":1,\"credential\":\"" + token +
           "\"}}";
}

// The notify.error frames a link got, as (seq, text).
std::vector<std::pair<int64_t, std::string>> errors(const fakes::FakeLink &l) {
    std::vector<std::pair<int64_t, std::string>> out;
    for (size_t i : l.find("notify.error")) {
        codec::Envelope e = l.frame(i);
        auto t = codec::decode_payload<codec::Text>(e);
        out.emplace_back(e.seq, t ? t->text : "?");
    }
    return out;
}

// A and B logged in, their buckets full again (each authenticate took a token).
std::pair<std::unique_ptr<fakes::Client>, std::unique_ptr<fakes::Client>>
login_a_b(fakes::World &w) {
    w.token("tok-A", "A", "d1");
    w.token("tok-B", "B", "d1");
    auto a = w.login("tok-A");
    auto b = w.login("tok-B");
    w.timers.advance(2000);
    return {std::move(a), std::move(b)};
}

// Under the limits nothing changes: a burst of 200, then 100 a second for five seconds, all
// handled; heartbeats and receipts (1000 of each) count against nothing.
void test_rate_under_limit(void **) {
    fakes::World w;
    auto [a, b] = login_a_b(w);
    int64_t seq = 100;
    for (int i = 0; i < 200; i++)
        w.send(*a, chat(seq++));
    for (int i = 0; i < 500; i++) {
        w.timers.advance(10);
        w.send(*a, chat(seq++));
    }
    for (int i = 0; i < 1000; i++) {
        w.send(*a, std::string("{\"action\":\"heartbeat\"}"));
        w.send(*b, "{\"action\":\"ack.request\",\"data\":{\"mid\":" + std::to_string(i % 700 + 1) +
                       ",\"from\":\"A\"}}");
    }
    assert_int_equal(a->link.count("ack.message"), 700);
    assert_int_equal(b->link.count("message.chat"), 700);
    assert_true(errors(a->link).empty());
    assert_true(errors(b->link).empty());
    assert_int_equal(w.store.calls(Kind::store_message), 700);
    assert_true(w.counters.limited.all().empty());
    assert_false(a->link.closed || b->link.closed);
}

// Over the connection's limit: the frame is not handled (not stored), notify.error with its seq;
// the next token comes 10 ms later.
void test_rate_over_limit(void **) {
    fakes::World w;
    auto [a, b] = login_a_b(w);
    for (int i = 1; i <= 201; i++)
        w.send(*a, chat(i));
    assert_int_equal(a->link.count("ack.message"), 200);
    assert_int_equal(w.store.calls(Kind::store_message), 200);
    auto e = errors(a->link);
    assert_int_equal(e.size(), 1);
    assert_int_equal(e[0].first, 201);
    assert_string_equal(e[0].second.c_str(), "rate limit exceeded: 100 messages per second");
    assert_int_equal(w.counters.limited.get("message_rate"), 1);
    w.timers.advance(9);
    w.send(*a, chat(202));
    assert_int_equal(errors(a->link).size(), 2);
    w.timers.advance(1);
    w.send(*a, chat(203));
    assert_int_equal(a->link.count("ack.message"), 201);
    assert_int_equal(b->link.count("message.chat"), 201);
    assert_false(a->link.closed);
}

// Guests count too (per connection): a flood of anything before authenticate is limited.
void test_rate_guest(void **) {
    fakes::World w;
    auto g = w.connect();
    for (int i = 1; i <= 201; i++)
        w.send(*g, "{\"seq\":" + std::to_string(i) + ",\"action\":\"x.y\"}");
    assert_int_equal(g->link.count("notify.unknown.action"), 200);
    auto e = errors(g->link);
    assert_int_equal(e.size(), 1);
    assert_int_equal(e[0].first, 201);
}

// All of a uid's sessions share its bucket: over it, "... per user"; another uid is not
// affected.
void test_rate_per_user(void **) {
    auto conf = fakes::test_conf();
    conf.limits.user_message_rate = {10, 10, 1000};
    fakes::World w(conf);
    w.token("tok-A1", "A", "d1");
    w.token("tok-A2", "A", "d2");
    w.token("tok-B", "B", "d1");
    auto a1 = w.login("tok-A1");
    auto a2 = w.login("tok-A2");
    auto b = w.login("tok-B");
    for (int i = 1; i <= 6; i++)
        w.send(*a1, chat(i));
    for (int i = 7; i <= 11; i++)
        w.send(*a2, chat(i));
    assert_true(errors(a1->link).empty());
    auto e = errors(a2->link);
    assert_int_equal(e.size(), 1);
    assert_int_equal(e[0].first, 11);
    assert_string_equal(e[0].second.c_str(),
                        "rate limit exceeded: 10 messages per second per user");
    assert_int_equal(w.counters.limited.get("user_message_rate"), 1);
    for (int i = 1; i <= 10; i++)
        w.send(*b, chat(i, "A"));
    assert_true(errors(b->link).empty());
    w.timers.advance(100);
    w.send(*a2, chat(12));
    assert_int_equal(errors(a2->link).size(), 1);
}

// A connection refused without a pause of a second for glide_limit_message_rate_close (10 s) is
// closed with 1008; one that pauses now and then is only answered.
void test_rate_abuse_closes(void **) {
    fakes::World w;
    w.token("tok-A", "A", "d1");
    w.token("tok-B", "B", "d1");
    w.token("tok-C", "C", "d1");
    auto a = w.login("tok-A");
    auto b = w.login("tok-B");
    // A: 300 a second (3 every 10 ms) for 20 s, against 100 a second.
    int64_t first_refusal = -1;
    int64_t seq = 1;
    for (int tick = 0; tick < 2000 && !a->link.closed; tick++) {
        for (int k = 0; k < 3; k++)
            w.send(*a, chat(seq++));
        if (first_refusal < 0 && !errors(a->link).empty())
            first_refusal = w.timers.now_ms();
        w.timers.advance(10);
    }
    assert_true(a->link.closed);
    assert_int_equal(a->link.close_code, 1008);
    assert_string_equal(a->link.reason.c_str(), "rate limit exceeded");
    const int64_t refused_for = w.timers.now_ms() - 10 - first_refusal;
    assert_true(refused_for >= 10000 && refused_for < 10100);
    assert_int_equal(w.counters.limited.get("message_rate_close"), 1);
    // C: the same rate, but quiet for a second every four: refused, answered, never closed.
    auto c = w.login("tok-C");
    for (int tick = 0; tick < 3000; tick++) {
        if (tick % 400 < 300)
            for (int k = 0; k < 3; k++)
                w.send(*c, chat(seq++));
        w.timers.advance(10);
    }
    assert_false(c->link.closed);
    assert_true(errors(c->link).size() > 1000);
    assert_false(b->link.closed);
}

// off: no limit at all.
void test_rate_off(void **) {
    auto conf = fakes::test_conf();
    conf.limits.message_rate = {};
    conf.limits.user_message_rate = {};
    fakes::World w(conf);
    w.token("tok-A", "A", "d1");
    auto a = w.login("tok-A");
    for (int i = 1; i <= 5000; i++)
        w.send(*a, chat(i));
    assert_int_equal(a->link.count("ack.message"), 5000);
    assert_true(errors(a->link).empty());
}

// glide_limit_auth_failures: the 5th failure is answered, then the connection closes with 1008;
// four failures and a success are fine.
void test_auth_failures_per_connection(void **) {
    fakes::World w;
    w.token("tok-A", "A", "d1");
    auto g = w.connect();
    for (int i = 1; i <= 4; i++) {
        w.send(*g, auth(i, "wrong"));
        w.timers.turn();
    }
    assert_int_equal(errors(g->link).size(), 4);
    assert_false(g->link.closed);
    w.send(*g, auth(5, "wrong"));
    w.timers.turn();
    auto e = errors(g->link);
    assert_int_equal(e.size(), 5);
    assert_int_equal(e[4].first, 5);
    assert_true(g->link.closed);
    assert_int_equal(g->link.close_code, 1008);
    assert_string_equal(g->link.reason.c_str(), "too many failed authentications");
    assert_int_equal(w.counters.limited.get("auth_failures"), 1);

    auto h = w.connect();
    h->link.source_address = "192.0.2.9";
    for (int i = 1; i <= 4; i++) {
        w.send(*h, auth(i, "wrong"));
        w.timers.turn();
    }
    w.send(*h, auth(5, "tok-A"));
    w.timers.turn();
    assert_true(h->s->authenticated());
    assert_false(h->link.closed);
}

// glide_limit_auth_failures_per_address: after 60 failures within a minute from one address,
// authenticate from it is refused without asking the host, valid or not; other addresses are
// not affected; a token comes back every second.
void test_auth_failures_per_address(void **) {
    fakes::World w;
    w.token("tok-A", "A", "d1");
    w.token("tok-B", "B", "d1");
    std::vector<std::unique_ptr<fakes::Client>> conns;
    for (int i = 0; i < 60; i++) {
        if (i % 4 == 0)
            conns.push_back(w.connect()); // 4 failures each: not closed
        w.send(*conns.back(), auth(i + 1, "wrong"));
        w.timers.turn();
    }
    assert_int_equal(w.store.calls(Kind::auth), 60);
    for (auto &c : conns)
        assert_false(c->link.closed);
    auto a = w.connect();
    w.send(*a, auth(77, "tok-A"));
    w.timers.turn();
    assert_int_equal(w.store.calls(Kind::auth), 60); // the host was not asked
    assert_false(a->s->authenticated());
    auto e = errors(a->link);
    assert_int_equal(e.size(), 1);
    assert_int_equal(e[0].first, 77);
    assert_string_equal(e[0].second.c_str(), "too many failed authentications");
    assert_int_equal(w.counters.limited.get("auth_failures_per_address"), 1);
    // Another address is asked as usual.
    auto b = w.connect();
    b->link.source_address = "2001:db8:1:2::/64";
    w.send(*b, auth(1, "tok-B"));
    w.timers.turn();
    assert_true(b->s->authenticated());
    // A second later the address has one token again.
    w.timers.advance(1000);
    w.send(*a, auth(78, "tok-A"));
    w.timers.turn();
    assert_true(a->s->authenticated());
    bool logged = false;
    for (const std::string &l : w.store.log_lines())
        logged |= l.find("authentications from 127.0.0.1 are refused") != std::string::npos;
    assert_true(logged);
}

} // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_matches_design),
        cmocka_unit_test(test_deferred_frames_bounded),
        cmocka_unit_test(test_rate_under_limit),
        cmocka_unit_test(test_rate_over_limit),
        cmocka_unit_test(test_rate_guest),
        cmocka_unit_test(test_rate_per_user),
        cmocka_unit_test(test_rate_abuse_closes),
        cmocka_unit_test(test_rate_off),
        cmocka_unit_test(test_auth_failures_per_connection),
        cmocka_unit_test(test_auth_failures_per_address),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
