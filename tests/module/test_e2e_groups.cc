// End to end over real sockets, in both codecs: group messages (design.md §5.9) and their
// replay to members who were offline (glide(7) "Group messages"), message.cli (§5.10) and
// presence (§5.11). Harness: e2e_harness.h.
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

// The replay tests publish a thousand messages at once, far above a person's rate: the rate
// limits (glide_limit_*message_rate, tests/module/test_e2e_limits.cc) are off there.
const Directives kNoRateLimit = {{"glide_limit_message_rate", {"off"}},
                                 {"glide_limit_user_message_rate", {"off"}}};

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

// --- group replay --------------------------------------------------------------------------

// A publishes messages first..last to gid (cliMid "g-N", content "m N"), `window` at a time,
// and returns their mids by sequence (index 0: seq first).
std::vector<int64_t> publish(Client &a, const std::string &gid, int first, int last,
                             int window = 50) {
    std::vector<int64_t> mids;
    for (int from = first; from <= last; from += window) {
        int to = std::min(last, from + window - 1);
        for (int i = from; i <= to; i++)
            assert_true(a.send(chat_env(i, gid, "g-" + std::to_string(i), "m " + std::to_string(i),
                                        0, action::group)));
        for (int i = from; i <= to; i++) {
            Envelope ack;
            assert_true(a.wait(action::ack_message, &ack));
            auto am = data_of<codec::AckMessage>(ack);
            assert_int_equal(am.seq, i);
            mids.push_back(am.mid);
        }
    }
    return mids;
}

// The group receipts pending now go to the host (the module's receipt timer, without waiting).
void send_receipts(Fixture &f) {
    f.loop.run([&] {
        actions::Context *ctx = f.m->actions();
        ctx->groups.send_receipts(*ctx);
    });
}

int64_t cursor(Fixture &f, const std::string &gid, const std::string &uid) {
    return f.with_store([&](store::MemoryStore &s) { return s.backend().cursor(gid, uid); });
}

// Reads the next n message.group envelopes (after those c has seen) and checks them against
// what A published to gid: sequences first, first+1, ... (mids[seq - 1]), from A, content
// "m SEQ".
void expect_group(Client &c, const std::string &gid, const std::vector<int64_t> &mids, int first,
                  size_t n) {
    size_t before = Client::count(c.seen, action::group);
    auto got = group_messages(c, before + n);
    for (size_t i = 0; i < n; i++) {
        const Envelope &e = got[before + i];
        auto m = data_of<codec::ChatMessage>(e);
        int64_t seq = first + static_cast<int64_t>(i);
        if (m.seq != seq)
            fail_msg("message %zu: seq %lld, expected %lld", i, static_cast<long long>(m.seq),
                     static_cast<long long>(seq));
        assert_int_equal(m.mid, mids[static_cast<size_t>(seq - 1)]);
        assert_string_equal(e.from.c_str(), "A");
        assert_string_equal(e.to.c_str(), gid.c_str());
        assert_string_equal(m.from.c_str(), "A");
        assert_string_equal(m.to.c_str(), gid.c_str());
        assert_string_equal(m.cli_mid.c_str(), ("g-" + std::to_string(seq)).c_str());
        assert_string_equal(m.content.c_str(), ("m " + std::to_string(seq)).c_str());
    }
}

// 1,000 group messages while members are away: at login each gets exactly what was said while
// it was a member and it was not sent, in sequence order, as message.group, paced by a send
// buffer far smaller than the backlog. B is away throughout; C reads 1..300 live, then leaves;
// D joins after 300; E is removed after 500 (nothing replayed); nothing is sent twice to a
// member whose receipts went to the store (B's second device, C).
void test_group_replay_at_login(void **state) {
    Wire w = wire_of(state);
    Fixture f(true, {{"glide_send_buffer_limit", {"16k"}}, kNoRateLimit[0], kNoRateLimit[1]});
    make_group(f, "g1", {"A", "B", "C", "E"});
    Client a(f.port, w);
    login(a, "A", "pc");
    auto c = std::make_unique<Client>(f.port, w);
    login(*c, "C", "pc");
    std::vector<int64_t> mids = publish(a, "g1", 1, 300);
    expect_group(*c, "g1", mids, 1, 300);
    // C's connection took 1..300: its receipt moves its cursor there.
    send_receipts(f);
    assert_int_equal(cursor(f, "g1", "C"), mids[299]);
    c.reset();
    assert_true(wait_for([&] { return f.stats().sessions_authenticated == 1; }));
    f.with_store([](store::MemoryStore &s) { s.add_member("g1", "D"); });
    auto more = publish(a, "g1", 301, 500);
    mids.insert(mids.end(), more.begin(), more.end());
    f.with_store([](store::MemoryStore &s) { s.remove_member("g1", "E"); });
    more = publish(a, "g1", 501, 1000);
    mids.insert(mids.end(), more.begin(), more.end());
    a.sync();
    assert_int_equal(Client::count(a.seen, action::group), 1000); // A gets its own, live

    struct Expect {
        const char *uid;
        int first; // 0: nothing
    } expect[] = {{"B", 1}, {"C", 301}, {"D", 301}, {"E", 0}};
    for (const Expect &x : expect) {
        Client m(f.port, w);
        login(m, x.uid, "phone");
        if (x.first)
            expect_group(m, "g1", mids, x.first, static_cast<size_t>(1000 - x.first + 1));
        assert_int_equal(Client::count(m.sync(), action::group), 0);
        assert_int_equal(Client::count(m.seen, action::group),
                         x.first ? 1000 - x.first + 1 : 0);
        assert_false(m.closed); // the replay never overran the 16k send buffer
        send_receipts(f);
        if (x.first)
            assert_int_equal(cursor(f, "g1", x.uid), mids[999]);
    }
    assert_int_equal(cursor(f, "g1", "E"), -1);
    // B's second device: everything was sent to the first one.
    Client b2(f.port, w);
    login(b2, "B", "tab");
    assert_int_equal(Client::count(b2.sync(), action::group), 0);
    // What follows reaches B live.
    auto last = publish(a, "g1", 1001, 1001);
    mids.push_back(last[0]);
    expect_group(b2, "g1", mids, 1001, 1);
}

// A group message published while a member's replay is still loading reaches it live first;
// its receipt cannot move the cursor past the messages the replay has not sent yet (a gap).
// The replay then sends 1..20, not the live one again (this connection has it), the cursor
// moves over 1..21 once the gap is filled, and goes on with what follows live.
void test_group_live_during_replay(void **state) {
    Wire w = wire_of(state);
    Fixture f;
    make_group(f, "g1", {"A", "B"});
    Client a(f.port, w);
    login(a, "A", "pc");
    std::vector<int64_t> mids = publish(a, "g1", 1, 20);
    send_receipts(f); // A's own
    int64_t joined = cursor(f, "g1", "B");
    f.with_store([](store::MemoryStore &s) {
        s.set_delay(Kind::load_undelivered, store::MemoryStore::hold);
    });
    Client b(f.port, w);
    login(b, "B", "pc");
    b.sync(); // the replay's first page is held now
    assert_int_equal(f.with_store([](auto &s) { return s.held(); }), 1);
    mids.push_back(publish(a, "g1", 21, 21)[0]);
    expect_group(b, "g1", mids, 21, 1);
    send_receipts(f);
    assert_int_equal(cursor(f, "g1", "B"), joined); // 1..20 not sent yet: no move
    f.with_store([](store::MemoryStore &s) {
        s.set_delay(Kind::load_undelivered, 0);
        s.release_held();
    });
    expect_group(b, "g1", mids, 1, 20); // the replay, without 21 again
    b.sync();
    assert_int_equal(Client::count(b.seen, action::group), 21);
    send_receipts(f);
    assert_int_equal(cursor(f, "g1", "B"), mids[20]);
    mids.push_back(publish(a, "g1", 22, 22)[0]);
    expect_group(b, "g1", mids, 22, 1);
    b.sync();
    send_receipts(f);
    assert_int_equal(cursor(f, "g1", "B"), mids[21]);
    // Another device of B's logs in: nothing is owed.
    Client b2(f.port, w);
    login(b2, "B", "tab");
    assert_int_equal(Client::count(b2.sync(), action::group), 0);
}

// A group message whose publish is stored but not yet answered when a member logs in: the
// replay sends it, and its live delivery, once the publish completes, does not again.
void test_group_replay_then_live_once(void **state) {
    Wire w = wire_of(state);
    Fixture f;
    make_group(f, "g1", {"A", "B"});
    Client a(f.port, w);
    login(a, "A", "pc");
    std::vector<int64_t> mids = publish(a, "g1", 1, 3);
    f.with_store([](store::MemoryStore &s) {
        s.set_delay(Kind::group_publish, store::MemoryStore::hold);
    });
    assert_true(a.send(chat_env(4, "g1", "g-4", "m 4", 0, action::group)));
    a.sync(); // stored (the memory store takes the sequence at the call), not answered
    assert_int_equal(f.with_store([](auto &s) { return s.held(); }), 1);
    Client b(f.port, w);
    login(b, "B", "pc");
    auto got = group_messages(b, 4);
    assert_int_equal(data_of<codec::ChatMessage>(got[3]).seq, 4);
    mids.push_back(data_of<codec::ChatMessage>(got[3]).mid);
    f.with_store([](store::MemoryStore &s) { s.release_held(); });
    Envelope ack;
    assert_true(a.wait(action::ack_message, &ack));
    assert_int_equal(data_of<codec::AckMessage>(ack).mid, mids[3]);
    expect_group(a, "g1", mids, 4, 1); // the live delivery went out (to A)
    b.sync();
    assert_int_equal(Client::count(b.seen, action::group), 4); // not to B again
}

// A member closed as a slow consumer in the middle of live group traffic (the message that
// passed the limit was never written to it): its next login replays from no later than the
// first message it did not read, in sequence order, to the last.
void test_group_slow_consumer_replay(void **state) {
    Wire w = wire_of(state);
    Fixture f(true, {{"glide_send_buffer_limit", {"16k"}}, kNoRateLimit[0], kNoRateLimit[1]});
    make_group(f, "g1", {"A", "B"});
    Client a(f.port, w);
    login(a, "A", "pc");
    auto b = std::make_unique<Client>(f.port, w, 4096);
    login(*b, "B", "pc");
    const std::string content(2000, 'x');
    std::vector<int64_t> mids;
    bool b_closed = false;
    for (int i = 1; i <= 20000 && !b_closed; i++) {
        assert_true(a.send(chat_env(i, "g1", "s-" + std::to_string(i), content, 0, action::group)));
        Envelope ack;
        assert_true(a.wait(action::ack_message, &ack));
        mids.push_back(data_of<codec::AckMessage>(ack).mid);
        if (i % 16 == 0) {
            send_receipts(f); // as the timer would, while B's buffer is full or empty
            b_closed = f.stats().sessions_authenticated == 1;
        }
    }
    assert_true(b_closed);
    assert_int_equal(b->wait_close(), 1008);
    std::vector<codec::ChatMessage> live;
    for (const Envelope &e : b->seen)
        if (e.action == action::group)
            live.push_back(data_of<codec::ChatMessage>(e));
    for (size_t i = 0; i < live.size(); i++)
        assert_int_equal(live[i].seq, static_cast<int64_t>(i) + 1);
    assert_true(live.size() < mids.size());
    b.reset();
    send_receipts(f); // nothing for the closed session
    int64_t c = cursor(f, "g1", "B");
    int64_t last_read = live.empty() ? 0 : live.back().mid;
    assert_true(c <= last_read); // never past what B read

    Client b2(f.port, w);
    login(b2, "B", "pc");
    std::vector<int64_t> got;
    int64_t first_seq = 0;
    while (got.empty() || got.back() != mids.back()) {
        Envelope e;
        assert_true(b2.wait(action::group, &e));
        auto m = data_of<codec::ChatMessage>(e);
        if (got.empty())
            first_seq = m.seq;
        assert_int_equal(m.seq, first_seq + static_cast<int64_t>(got.size()));
        got.push_back(m.mid);
    }
    assert_true(first_seq <= static_cast<int64_t>(live.size()) + 1); // no gap
    assert_true(std::equal(got.begin(), got.end(), mids.begin() + (first_seq - 1)));
    assert_false(b2.closed);
}

// Output the server still holds for a member does not count as delivered: B stops reading
// until the server holds output for it (the kernel's buffers are full). What left the server
// counts (a write that found B's buffer empty seals what came before), the messages still held
// do not: after B's connection is reset, its next login gets everything from the first message
// not counted to the last, without a gap.
void test_group_queued_output_not_counted(void **state) {
    Wire w = wire_of(state);
    Fixture f(true, {{"glide_send_buffer_limit", {"1m"}}, kNoRateLimit[0], kNoRateLimit[1]});
    make_group(f, "g1", {"A", "B"});
    Client a(f.port, w);
    login(a, "A", "pc");
    auto b = std::make_unique<Client>(f.port, w, 4096);
    login(*b, "B", "pc");
    const int64_t joined = cursor(f, "g1", "B");
    auto queued_for_b = [&] {
        size_t q = 0;
        f.loop.run([&] {
            f.m->hub()->list_sessions("B", [&](const hub::SessionInfo &i) {
                q = i.queued;
                return true;
            });
        });
        return q;
    };
    const std::string content(8000, 'x');
    std::vector<int64_t> mids;
    auto publish_one = [&] {
        int i = static_cast<int>(mids.size()) + 1;
        assert_true(a.send(chat_env(i, "g1", "q-" + std::to_string(i), content, 0, action::group)));
        Envelope ack;
        assert_true(a.wait(action::ack_message, &ack));
        mids.push_back(data_of<codec::AckMessage>(ack).mid);
    };
    while (queued_for_b() == 0) {
        assert_true(mids.size() < 5000); // the kernel's buffers (tcp_wmem) hold far less
        publish_one();
    }
    const size_t held = mids.size() - 1; // the first message (partly) held for B
    for (int i = 0; i < 3; i++) // more behind it: writes that do not find the buffer empty
        publish_one();
    a.sync();
    send_receipts(f);
    assert_true(cursor(f, "g1", "A") == mids.back()); // A read everything
    int64_t counted = cursor(f, "g1", "B");
    assert_true(counted < mids[held]); // what is still held for B does not count
    size_t from = 0; // the first message not counted
    while (from < mids.size() && mids[from] <= counted)
        from++;
    assert_true(counted == joined || mids[from - 1] == counted);
    // The connection dies with its data (a reset): what was not counted goes with it.
    linger lg{1, 0};
    setsockopt(b->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    b.reset();
    assert_true(wait_for([&] { return f.stats().sessions_authenticated == 1; }));
    send_receipts(f);
    assert_int_equal(cursor(f, "g1", "B"), counted);
    Client b2(f.port, w);
    login(b2, "B", "pc");
    std::vector<Envelope> got = group_messages(b2, mids.size() - from);
    for (size_t i = from; i < mids.size(); i++)
        assert_int_equal(data_of<codec::ChatMessage>(got[i - from]).mid, mids[i]);
    assert_int_equal(Client::count(b2.sync(), action::group), 0);
}

// A host without GLIDE_HOST_GROUP_REPLAY gets no group receipt; one with it gets one per run,
// which moves no cursor over messages sent without one.
void test_group_receipts_need_the_host_flag(void **) {
    Fixture f;
    make_group(f, "g1", {"A", "B"});
    f.loop.run([&] { f.host.table.flags = 0; });
    Client a(f.port), b(f.port);
    login(a, "A", "pc");
    login(b, "B", "pc");
    auto mids = publish(a, "g1", 1, 3);
    expect_group(b, "g1", mids, 1, 3);
    send_receipts(f);
    assert_int_equal(f.host.group_marks.load(), 0);
    int64_t joined = cursor(f, "g1", "B");
    f.loop.run([&] { f.host.table.flags = GLIDE_HOST_GROUP_REPLAY; });
    mids.push_back(publish(a, "g1", 4, 4)[0]);
    expect_group(b, "g1", mids, 4, 1);
    a.sync();
    send_receipts(f);
    assert_int_equal(f.host.group_marks.load(), 2); // A's and B's run of message 4
    // 1..3 went out without receipts: the run of 4 does not follow on, the cursor stays.
    assert_int_equal(cursor(f, "g1", "B"), joined);
}

} // namespace

int main(void) {
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        E2E_BOTH(test_group_seq_order),
        E2E_BOTH(test_group_not_member),
        E2E_BOTH(test_group_replay_at_login),
        E2E_BOTH(test_group_live_during_replay),
        E2E_BOTH(test_group_replay_then_live_once),
        E2E_BOTH(test_group_slow_consumer_replay),
        E2E_BOTH(test_group_queued_output_not_counted),
        cmocka_unit_test(test_group_receipts_need_the_host_flag),
        E2E_BOTH(test_message_cli_forwarded),
        E2E_BOTH(test_presence_state_sub),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
