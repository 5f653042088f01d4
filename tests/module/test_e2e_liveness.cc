// End to end over real sockets: what happens around the messages. The action gate (design.md
// §5.2, §5.5), heartbeats (§5.12), the slow consumer and the paced replay (§5.13, §5.7), an
// asynchronous or failing host (§5.3, §5.7), and what glide's TypeScript SDK relies on (§5,
// compatibility notes). Harness: e2e_harness.h.
#include "e2e_harness.h"

using namespace glide;
using namespace glide::e2e;
using codec::Envelope;
namespace action = codec::action;

namespace {

// --- the action gate (§5.2, §5.5) --------------------------------------------------------------

// An undecodable frame: notify.error "message decode error: ...", the connection stays. An
// unknown action: notify.unknown.action with the request seq and the action as data, as a
// guest and once authenticated.
void test_decode_error_and_unknown_action(void **state) {
    Wire w = wire_of(state);
    Fixture f;
    Client c(f.port, w);
    assert_true(c.wait(action::hello));
    const std::string junk = w == Wire::json ? "{not json" : "\xff\xff\xff\xff";
    assert_true(write_all(c.fd, client_frame(w == Wire::json ? 1 : 2, junk)));
    Envelope r;
    assert_true(c.wait(action::notify_error, &r));
    assert_true(text_of(r).starts_with(codec::decode_error_prefix));
    for (int round = 0; round < 2; round++) {
        assert_true(c.send(envelope(3 + round, "foo.bar")));
        assert_true(c.wait(action::notify_unknown_action, &r, 3 + round));
        assert_string_equal(text_of(r).c_str(), "foo.bar");
        if (round == 0)
            login(c, "A", "pc");
    }
}

// Guests may send hello, heartbeat and authenticate; any other known action is answered
// notify.unauthenticated with the request seq and has no effect.
void test_guest_gate(void **state) {
    Wire w = wire_of(state);
    Fixture f;
    Client b(f.port, w), g(f.port, w);
    login(b, "B", "pc");
    assert_true(g.wait(action::hello));
    Envelope hello = envelope(1, action::hello);
    hello.data = codec::Hello{"1.0", "e2e", "test"};
    assert_true(g.send(hello));
    assert_true(g.send(envelope(2, action::heartbeat)));
    Envelope cli = envelope(3, action::client_custom, "B");
    cli.data = codec::ClientCustom{"typing", ""};
    Envelope sub = envelope(4, action::api_state_sub);
    sub.data = codec::StateSubscribe{{"B"}};
    Envelope ack = ack_request_env(9, "B");
    ack.seq = 5;
    for (const Envelope &e : {cli, sub, ack, chat_env(6, "B", "x", "y", 0, action::group)}) {
        assert_true(g.send(e));
        Envelope r;
        assert_true(g.wait(action::notify_unauthenticated, &r, e.seq));
        assert_string_equal(text_of(r).c_str(), "unauthenticated");
    }
    auto seen = g.sync();
    assert_int_equal(seen.size(), 0); // hello and heartbeat: no answer
    auto at_b = b.sync();
    assert_int_equal(Client::count(at_b, action::client_custom), 0);
    assert_int_equal(Client::count(at_b, action::ack_notify), 0);
}

// internal.* from a client: notify.forbidden "forbidden" with the request seq and no effect
// (no presence change), for guests and authenticated sessions.
void test_internal_forbidden(void **state) {
    Wire w = wire_of(state);
    Fixture f;
    Client c(f.port, w);
    assert_true(c.wait(action::hello));
    Envelope e = envelope(4, action::internal_online);
    e.data = codec::Text{"A"};
    assert_true(c.send(e));
    Envelope r;
    assert_true(c.wait(action::notify_forbidden, &r, 4));
    assert_string_equal(text_of(r).c_str(), "forbidden");
    login(c, "A", "pc");
    e = envelope(5, action::internal_offline);
    e.data = codec::Text{"A"};
    assert_true(c.send(e));
    assert_true(c.wait(action::notify_forbidden, &r, 5));
    assert_string_equal(text_of(r).c_str(), "forbidden");
    c.sync();
    auto log = f.presence_log();
    assert_int_equal(log.size(), 1);
    assert_true(log[0].uid == "A" && log[0].online);
    assert_int_equal(f.stats().sessions_authenticated, 1);
}

// --- heartbeat (§5.12) -----------------------------------------------------------------------

// Intervals in milliseconds (set in the configuration directly: the directive's lower bound is
// 1 s), so that these tests take a fraction of a second. Each waits for events, never for a
// time: the only timing assumption is that the client thread answers within the few intervals
// the session allows (hundreds of milliseconds).
void short_heartbeat(ModuleConf &c) {
    c.heartbeat_interval_ms = 100;
    c.heartbeat_lost = 2;
}

// An idle client gets a server heartbeat each silent interval, then a close frame 4000 once
// more than glide_heartbeat_lost intervals passed without a frame from it.
void test_heartbeat_idle_closes_4000(void **state) {
    Wire w = wire_of(state);
    Fixture f(true, {}, short_heartbeat);
    Client c(f.port, w);
    login(c, "A", "pc");
    // Counted from the login on (the authenticate resets the count): a slow login may have
    // seen a guest heartbeat already.
    const size_t before = Client::count(c.seen, action::heartbeat);
    assert_int_equal(c.wait_close(), 4000);
    assert_string_equal(c.close_reason.c_str(), "heartbeat timeout");
    assert_int_equal(Client::count(c.seen, action::heartbeat) - before, 2);
    assert_int_equal(c.bad_frames, 0);
    assert_true(wait_for([&] { return f.stats().sessions_authenticated == 0; }));
}

// A client that heartbeats is never closed, however long it has nothing else to say. It answers
// every server heartbeat with its own and nothing else: a silent session gets
// glide_heartbeat_lost (4) server heartbeats and is then closed, this one gets six and
// stays. Each answer may be late by up to 4 intervals (400 ms) without failing the test.
void test_heartbeat_client_keeps_alive(void **state) {
    Wire w = wire_of(state);
    Fixture f(true, {}, [](ModuleConf &c) {
        c.heartbeat_interval_ms = 100;
        c.heartbeat_lost = 4;
    });
    Client c(f.port, w);
    login(c, "A", "pc");
    for (int i = 0; i < 6; i++) {
        assert_true(c.wait(action::heartbeat));
        assert_true(c.send(envelope(0, action::heartbeat)));
    }
    c.sync();
    assert_false(c.closed);
    assert_int_equal(f.stats().sessions_authenticated, 1);
}

// --- slow consumer (§5.13) and paced replay (§5.7) ---------------------------------------------

// A receiver that stops reading is closed with 1008 "slow consumer" once its queue passes
// glide_send_buffer_limit, while the sender keeps getting ack.message. Everything it did not
// acknowledge arrives at its next login, many times the limit: the replay is paced and never
// closes the replaying session.
void test_slow_consumer_then_replay(void **state) {
    Wire w = wire_of(state);
    // A sends as fast as the acks come: over the default rate limits.
    Fixture f(true, {{"glide_send_buffer_limit", {"16k"}},
                     {"glide_limit_message_rate", {"off"}},
                     {"glide_limit_user_message_rate", {"off"}}});
    Client a(f.port, w);
    login(a, "A", "pc");
    auto b = std::make_unique<Client>(f.port, w, 4096);
    login(*b, "B", "pc");
    const std::string content(2000, 'x');
    std::vector<int64_t> mids;
    bool b_closed = false;
    for (int i = 0; i < 20000 && !b_closed; i++) {
        std::string cli = "s-" + std::to_string(i);
        assert_true(a.send(chat_env(i, "B", cli, content)));
        mids.push_back(wait_ack_mid(a, cli));
        if (i % 16 == 0)
            b_closed = f.stats().sessions_authenticated == 1;
    }
    assert_true(b_closed);
    // The sender is unaffected.
    for (int i = 0; i < 5; i++) {
        std::string cli = "after-" + std::to_string(i);
        assert_true(a.send(chat_env(i, "B", cli, content)));
        mids.push_back(wait_ack_mid(a, cli));
    }
    // B reads what was queued before the close, then the close frame.
    assert_int_equal(b->wait_close(), 1008);
    assert_string_equal(b->close_reason.c_str(), "slow consumer");
    size_t before = Client::count(b->seen, action::chat);
    assert_true(before < mids.size());
    b.reset();
    assert_true(mids.size() * content.size() > 4 * 16 * 1024);

    // The next login replays every unacknowledged message, in mid order, on one session.
    Client b2(f.port, w);
    login(b2, "B", "pc");
    std::vector<int64_t> got;
    while (got.size() < mids.size()) {
        Envelope e;
        assert_true(b2.wait(action::chat, &e));
        got.push_back(data_of<codec::ChatMessage>(e).mid);
    }
    assert_true(got == mids);
    b2.sync();
    assert_false(b2.closed);
    assert_int_equal(f.stats().sessions_authenticated, 2);
}

// --- an asynchronous or failing host (§5.3, §5.7) --------------------------------------------

// The host answers auth 200 ms later: notify.success with the seq then; a chat sent right
// behind the authenticate (before the answer) is handled after it, as the new identity.
void test_auth_answered_later(void **state) {
    Wire w = wire_of(state);
    Fixture f;
    f.with_store([](store::MemoryStore &s) { s.set_delay(Kind::auth, 200); });
    Client b(f.port, w);
    login(b, "B", "pc");
    Client a(f.port, w);
    assert_true(a.wait(action::hello));
    assert_true(a.send(auth_env(3, credential_for("A", "pc"))));
    assert_true(a.send(chat_env(4, "B", "early", "right behind")));
    Envelope r;
    assert_true(a.wait(action::notify_success, &r, 3));
    assert_int_equal(Client::count(a.seen, action::ack_message), 0);
    int64_t mid = wait_ack_mid(a, "early");
    Envelope m;
    assert_true(b.wait(action::chat, &m));
    auto cm = data_of<codec::ChatMessage>(m);
    assert_int_equal(cm.mid, mid);
    assert_string_equal(cm.from.c_str(), "A");
}

// The store fails: notify.error with the request seq and the host's text (or "message store
// failed" without one), no ack.message, nothing delivered.
void test_store_failure(void **state) {
    Wire w = wire_of(state);
    Fixture f;
    Client a(f.port, w), b(f.port, w);
    login(a, "A", "pc");
    login(b, "B", "pc");
    f.with_store([](store::MemoryStore &s) {
        s.fail_next(Kind::store_message, GLIDE_EIO, "disk full");
        s.fail_next(Kind::store_message, GLIDE_EIO, "");
    });
    Envelope r;
    assert_true(a.send(chat_env(51, "B", "f-1", "lost?")));
    assert_true(a.wait(action::notify_error, &r, 51));
    assert_string_equal(text_of(r).c_str(), "disk full");
    assert_true(a.send(chat_env(52, "B", "f-2", "lost?")));
    assert_true(a.wait(action::notify_error, &r, 52));
    assert_string_equal(text_of(r).c_str(), "message store failed");
    assert_int_equal(Client::count(a.sync(), action::ack_message), 0);
    assert_int_equal(Client::count(b.sync(), action::chat), 0);
    assert_int_equal(f.with_store([](auto &s) { return s.stored(); }), 0);
}

// The store answers past glide_callback_timeout: notify.error "message store timed out" with
// the request seq, no ack; the late completion is ignored.
void test_store_past_deadline(void **state) {
    Wire w = wire_of(state);
    Fixture f(true, {{"glide_callback_timeout", {"50ms"}}});
    Client a(f.port, w), b(f.port, w);
    login(a, "A", "pc");
    login(b, "B", "pc");
    f.with_store([](store::MemoryStore &s) { s.set_delay(Kind::store_message, s.hold); });
    assert_true(a.send(chat_env(61, "B", "slow-1", "too late")));
    Envelope r;
    assert_true(a.wait(action::notify_error, &r, 61));
    assert_string_equal(text_of(r).c_str(), "message store timed out");
    assert_int_equal(f.with_store([](auto &s) { return s.release_held(); }), 1);
    assert_int_equal(Client::count(a.sync(), action::ack_message), 0);
    assert_int_equal(Client::count(b.sync(), action::chat), 0);
}

// --- glide's TypeScript SDK (§5, compatibility notes) ------------------------------------------

bool has_header(const std::string &head, std::string_view name) {
    std::string h = head, n(name);
    for (auto *s : {&h, &n})
        for (char &ch : *s)
            ch = static_cast<char>(tolower(static_cast<unsigned char>(ch)));
    return h.find("\r\n" + n + ":") != std::string::npos;
}

std::string ts_frame(int64_t seq, std::string_view act, std::string_view data) {
    return "{\"ver\":1,\"seq\":" + std::to_string(seq) + ",\"action\":\"" + std::string(act) +
           "\",\"to\":null,\"extra\":null,\"data\":" + std::string(data) + "}";
}

// As the SDK connects and talks: no subprotocol and permessage-deflate offered (declined),
// null `to` and `extra` accepted everywhere, replies to authenticate and notify.forbidden echo
// the request seq, ack.message matched on data.cliMid, the v1.6 ack.request; every frame it
// gets is a text frame of valid JSON, errors included.
void test_ts_sdk_compat(void **) {
    Fixture f;
    std::string ext = "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n";
    Client a(f.port, Wire::json, 0, ext), b(f.port, Wire::json, 0, ext);
    assert_false(has_header(a.head, "Sec-WebSocket-Protocol"));
    assert_false(has_header(a.head, "Sec-WebSocket-Extensions"));

    Envelope r;
    for (auto [cl, uid] : {std::pair{&a, "A"}, std::pair{&b, "B"}}) {
        assert_true(cl->wait(action::hello));
        cl->send(ts_frame(1, "authenticate",
                          "{\"version\":1,\"credential\":\"" + credential_for(uid, "web") + "\"}"));
        assert_true(cl->wait(action::notify_success, &r, 1));
        cl->send(ts_frame(2, "heartbeat", "null"));
    }
    a.send("{\"ver\":1,\"seq\":3,\"action\":\"message.chat\",\"to\":\"B\",\"extra\":null,"
           "\"data\":{\"cliMid\":\"ts-1\",\"from\":\"A\",\"to\":\"B\",\"type\":1,"
           "\"content\":\"hi\",\"sendAt\":1720000000}}");
    int64_t mid = wait_ack_mid(a, "ts-1");
    assert_true(b.wait(action::chat, &r));
    assert_int_equal(data_of<codec::ChatMessage>(r).mid, mid);
    b.send(ts_frame(0, "ack.request", "{\"mid\":" + std::to_string(mid) + ",\"from\":\"A\"}"));
    assert_true(a.wait(action::ack_notify, &r));
    assert_int_equal(data_of<codec::AckNotify>(r).mid, mid);
    a.send(ts_frame(4, "internal.online", "\"A\""));
    assert_true(a.wait(action::notify_forbidden, &r, 4));
    a.send(ts_frame(5, "api.unknown", "null"));
    assert_true(a.wait(action::notify_unknown_action, &r, 5));
    a.send("{\"seq\":6,\"action\":"); // not JSON: answered in JSON
    assert_true(a.wait(action::notify_error, &r));
    a.send(ts_frame(7, "message.chat", "{\"cliMid\":\"ts-2\"}")); // to null: refused in JSON
    assert_true(a.wait(action::notify_error, &r, 7));
    assert_string_equal(text_of(r).c_str(), "message has no receiver");
    a.sync();
    b.sync();
    assert_int_equal(a.bad_frames + b.bad_frames, 0);
    assert_false(a.closed || b.closed);
}

} // namespace

int main(void) {
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        E2E_BOTH(test_decode_error_and_unknown_action),
        E2E_BOTH(test_guest_gate),
        E2E_BOTH(test_internal_forbidden),
        E2E_BOTH(test_heartbeat_idle_closes_4000),
        E2E_BOTH(test_heartbeat_client_keeps_alive),
        E2E_BOTH(test_slow_consumer_then_replay),
        E2E_BOTH(test_auth_answered_later),
        E2E_BOTH(test_store_failure),
        E2E_BOTH(test_store_past_deadline),
        cmocka_unit_test(test_ts_sdk_compat),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
