// End to end over real sockets, in both codecs: group messages (design.md §5.9), message.cli
// (§5.10) and presence (§5.11). Harness: e2e_harness.h.
#include "e2e_harness.h"

using namespace glide;
using namespace glide::e2e;
using codec::Envelope;
namespace action = codec::action;

namespace {

void make_group(Fixture &f, const std::string &gid, std::vector<std::string> members) {
    f.with_store([&](store::MemoryStore &s) {
        s.create_group(gid);
        for (const auto &uid : members)
            s.add_member(gid, uid);
    });
}

// The first n message.group envelopes c received (those already read included).
std::vector<Envelope> group_messages(Client &c, size_t n) {
    std::vector<Envelope> v;
    for (const Envelope &e : c.seen)
        if (e.action == action::group && v.size() < n)
            v.push_back(e);
    while (v.size() < n) {
        Envelope e;
        assert_true(c.wait(action::group, &e));
        v.push_back(e);
    }
    return v;
}

// A member's messages: ack.message carries the group seq; every member device (the sender's
// own, the sending one included) receives them in seq order, from forced to the sender; a
// non-member online gets nothing. Publishes complete late (a store delay), the membership is
// loaded once.
void test_group_seq_order(void **state) {
    Wire w = wire_of(state);
    Fixture f;
    make_group(f, "g1", {"A", "B"});
    f.with_store([](store::MemoryStore &s) { s.set_delay(Kind::group_publish, 20); });
    Client a(f.port, w), a2(f.port, w), b(f.port, w), c(f.port, w);
    login(a, "A", "pc");
    login(a2, "A", "phone");
    login(b, "B", "pc");
    login(c, "C", "pc");
    const int n = 5;
    for (int i = 1; i <= n; i++) {
        Envelope e = chat_env(30 + i, "g1", "g-" + std::to_string(i), "msg " + std::to_string(i), 0,
                              action::group);
        std::get<codec::ChatMessage>(e.data).from = "mallory";
        e.set_extra("k", "v" + std::to_string(i));
        assert_true(a.send(e));
    }
    // Acks come as the publishes complete, in any order; the seq follows the sending order.
    std::vector<int64_t> mids(n);
    for (int i = 1; i <= n; i++) {
        Envelope ack;
        assert_true(a.wait(action::ack_message, &ack));
        auto am = data_of<codec::AckMessage>(ack);
        assert_true(am.seq >= 1 && am.seq <= n);
        assert_string_equal(am.cli_mid.c_str(), ("g-" + std::to_string(am.seq)).c_str());
        assert_int_equal(mids[static_cast<size_t>(am.seq - 1)], 0);
        mids[static_cast<size_t>(am.seq - 1)] = am.mid;
    }
    for (Client *cl : {&a, &a2, &b}) {
        auto got = group_messages(*cl, n);
        for (int i = 1; i <= n; i++) {
            const Envelope &e = got[static_cast<size_t>(i - 1)];
            auto m = data_of<codec::ChatMessage>(e);
            assert_int_equal(m.seq, i);
            assert_int_equal(m.mid, mids[static_cast<size_t>(i - 1)]);
            assert_string_equal(m.from.c_str(), "A");
            assert_string_equal(m.to.c_str(), "g1");
            assert_string_equal(e.from.c_str(), "A");
            assert_string_equal(e.to.c_str(), "g1");
            assert_int_equal(e.seq, 30 + i); // the request's envelope seq, as glide forwards it
            assert_int_equal(e.extra.size(), 1);
            assert_string_equal(e.extra[0].second.c_str(), ("v" + std::to_string(i)).c_str());
        }
    }
    assert_int_equal(Client::count(c.sync(), action::group), 0);
    assert_int_equal(f.with_store([](auto &s) { return s.calls(Kind::group_members); }), 1);
}

// Not a member: notify.error "not member of channel" with the request seq, no ack, nothing
// delivered; a group that does not exist is refused the same way with the host's text.
void test_group_not_member(void **state) {
    Wire w = wire_of(state);
    Fixture f;
    make_group(f, "g1", {"A"});
    Client a(f.port, w), c(f.port, w);
    login(a, "A", "pc");
    login(c, "C", "pc");
    assert_true(c.send(chat_env(44, "g1", "x-1", "let me in", 0, action::group)));
    Envelope r;
    assert_true(c.wait(action::notify_error, &r, 44));
    assert_string_equal(text_of(r).c_str(), "not member of channel");
    assert_true(c.send(chat_env(45, "nowhere", "x-2", "hello?", 0, action::group)));
    assert_true(c.wait(action::notify_error, &r, 45));
    assert_string_equal(text_of(r).c_str(), "channel does not exist");
    assert_int_equal(Client::count(c.sync(), action::ack_message), 0);
    assert_int_equal(Client::count(a.sync(), action::group), 0);
}

// message.cli: forwarded to every device of the target with the envelope seq, extra and data
// kept and from forced to the sender; never stored, no ack; nobody online is no error.
void test_message_cli_forwarded(void **state) {
    Wire w = wire_of(state);
    Fixture f;
    Client a(f.port, w), b(f.port, w), b2(f.port, w);
    login(a, "A", "pc");
    login(b, "B", "pc");
    login(b2, "B", "tab");
    Envelope e = envelope(5, action::client_custom, "B");
    e.from = "forged";
    e.set_extra("k", "v");
    e.data = codec::ClientCustom{"typing", "{\"x\":1}"};
    assert_true(a.send(e));
    for (Client *c : {&b, &b2}) {
        Envelope got;
        assert_true(c->wait(action::client_custom, &got));
        assert_int_equal(got.seq, 5);
        assert_string_equal(got.from.c_str(), "A");
        assert_string_equal(got.to.c_str(), "B");
        assert_int_equal(got.extra.size(), 1);
        assert_string_equal(got.extra[0].first.c_str(), "k");
        assert_string_equal(got.extra[0].second.c_str(), "v");
        auto cc = data_of<codec::ClientCustom>(got);
        assert_string_equal(cc.type.c_str(), "typing");
        assert_string_equal(cc.content_json.c_str(), "{\"x\":1}");
    }
    e.to = "nobody";
    assert_true(a.send(e));
    auto seen = a.sync();
    assert_int_equal(Client::count(seen, action::ack_message), 0);
    assert_int_equal(Client::count(seen, action::notify_error), 0);
    assert_int_equal(f.host.stores.load(), 0);
    assert_int_equal(f.with_store([](auto &s) { return s.stored(); }), 0);
}

codec::UserState next_state(Client &c) {
    Envelope e;
    assert_true(c.wait(action::notify_state, &e));
    return data_of<codec::UserState>(e);
}

// api.state.sub: the current state at once, then online when the first device logs in and
// offline when the last one leaves (a correct boolean). The host's presence callback sees
// every (uid, device) online and offline.
void test_presence_state_sub(void **state) {
    Wire w = wire_of(state);
    Fixture f;
    Client watcher(f.port, w);
    login(watcher, "W", "pc");
    Envelope sub = envelope(3, action::api_state_sub);
    sub.data = codec::StateSubscribe{{"U", "W"}};
    assert_true(watcher.send(sub));
    codec::UserState s = next_state(watcher);
    assert_string_equal(s.uid.c_str(), "U");
    assert_false(s.online);
    s = next_state(watcher);
    assert_string_equal(s.uid.c_str(), "W");
    assert_true(s.online);
    {
        Client u(f.port, w);
        login(u, "U", "pc");
        s = next_state(watcher);
        assert_string_equal(s.uid.c_str(), "U");
        assert_true(s.online);
        {
            Client u2(f.port, w);
            login(u2, "U", "tab"); // a second device: no change of state
            assert_int_equal(Client::count(watcher.sync(), action::notify_state), 0);
        }
        // One device left: still online.
        assert_true(wait_for([&] { return f.stats().sessions_authenticated == 2; }));
        assert_int_equal(Client::count(watcher.sync(), action::notify_state), 0);
    }
    s = next_state(watcher);
    assert_string_equal(s.uid.c_str(), "U");
    assert_false(s.online);

    std::vector<PresenceEvent> log;
    for (const auto &p : f.presence_log())
        if (p.uid == "U")
            log.push_back(p);
    assert_int_equal(log.size(), 4);
    assert_true(log[0].device_id == "pc" && log[0].online);
    assert_true(log[1].device_id == "tab" && log[1].online);
    assert_true(log[2].device_id == "tab" && !log[2].online);
    assert_true(log[3].device_id == "pc" && !log[3].online);
}

} // namespace

int main(void) {
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        E2E_BOTH(test_group_seq_order),
        E2E_BOTH(test_group_not_member),
        E2E_BOTH(test_message_cli_forwarded),
        E2E_BOTH(test_presence_state_sub),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
