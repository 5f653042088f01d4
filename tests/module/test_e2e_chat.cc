// End to end over real sockets, in both codecs: tickets (design.md §5.6), one-to-one chat and
// its receipts (§5.7), resend (§5.8), offline delivery and at-least-once replay (§5.7), and
// the kick-out of a repeated login (§5.4). Harness: e2e_harness.h.
#include "e2e_harness.h"

using namespace glide;
using namespace glide::e2e;
using codec::Envelope;
namespace action = codec::action;

namespace {

const std::string kDeliver = "s3cr3t";

// Sends message.chat from `from` to `to` and returns the mid of its ack.message.
int64_t chat(Client &from, const std::string &to, const std::string &cli_mid,
             const std::string &content, int64_t seq = 1) {
    assert_true(from.send(chat_env(seq, to, cli_mid, content)));
    return wait_ack_mid(from, cli_mid);
}

// Waits for message.chat and returns its payload.
codec::ChatMessage receive(Client &c) {
    Envelope e;
    assert_true(c.wait(action::chat, &e));
    return data_of<codec::ChatMessage>(e);
}

// --- tickets (§5.6, protocol.md §6.5) --------------------------------------------------------

// A session whose credential carries message_deliver_secret: a ticket that is not 40
// characters (or missing) is "invalid ticket", for chat, resend and group alike; nothing is
// stored.
void test_ticket_invalid(void **state) {
    Wire w = wire_of(state);
    Fixture f;
    Client a(f.port, w);
    login_with(a, credential_for("1001", "pc", {kDeliver}));
    Envelope e = chat_env(11, "1002", "t-1", "hi");
    e.ticket = "short";
    assert_true(a.send(e));
    Envelope r;
    assert_true(a.wait(action::notify_forbidden, &r, 11));
    assert_string_equal(text_of(r).c_str(), "invalid ticket");
    e.seq = 12;
    e.ticket.clear();
    assert_true(a.send(e));
    assert_true(a.wait(action::notify_forbidden, &r, 12));
    assert_string_equal(text_of(r).c_str(), "invalid ticket");
    Envelope rs = chat_env(13, "1002", "t-1", "hi", 0, action::chat_resend);
    std::get<codec::ChatMessage>(rs.data).mid = 5;
    assert_true(a.send(rs));
    assert_true(a.wait(action::notify_forbidden, &r, 13));
    assert_string_equal(text_of(r).c_str(), "invalid ticket");
    assert_true(a.send(chat_env(14, "g1", "t-2", "hi", 0, action::group)));
    assert_true(a.wait(action::notify_forbidden, &r, 14));
    assert_string_equal(text_of(r).c_str(), "invalid ticket");
    auto seen = a.sync();
    assert_int_equal(Client::count(seen, action::ack_message), 0);
    assert_int_equal(f.host.stores.load() + f.host.publishes.load(), 0);
}

// A 40-character ticket that does not match (another receiver's, or junk): "ticket expired".
void test_ticket_expired(void **state) {
    Wire w = wire_of(state);
    Fixture f;
    Client a(f.port, w);
    login_with(a, credential_for("1001", "pc", {kDeliver}));
    Envelope e = chat_env(21, "1002", "t-1", "hi");
    e.ticket = codec::compute_ticket(kDeliver, "1001", "1003"); // for another receiver
    assert_true(a.send(e));
    Envelope r;
    assert_true(a.wait(action::notify_forbidden, &r, 21));
    assert_string_equal(text_of(r).c_str(), "ticket expired");
    e.seq = 22;
    e.ticket = std::string(40, 'z');
    assert_true(a.send(e));
    assert_true(a.wait(action::notify_forbidden, &r, 22));
    assert_string_equal(text_of(r).c_str(), "ticket expired");
    assert_int_equal(f.host.stores.load(), 0);
}

// The right ticket, in upper case (compared case-insensitively), is accepted and the message
// delivered; a session without a deliver secret needs no ticket.
void test_ticket_valid(void **state) {
    Wire w = wire_of(state);
    // protocol.md §6.5's verified vector.
    assert_string_equal(codec::compute_ticket("s3cr3t", "1001", "1002").c_str(),
                        "937116764d1d428c8e47b0d8f985b1d543363f1d");
    Fixture f;
    Client a(f.port, w), b(f.port, w);
    login_with(a, credential_for("1001", "pc", {kDeliver}));
    login(b, "1002", "pc");
    Envelope e = chat_env(31, "1002", "t-1", "ticketed");
    e.ticket = "937116764D1D428C8E47B0D8F985B1D543363F1D";
    assert_true(a.send(e));
    int64_t mid = wait_ack_mid(a, "t-1");
    codec::ChatMessage m = receive(b);
    assert_int_equal(m.mid, mid);
    assert_string_equal(m.content.c_str(), "ticketed");
    // 1002 has no deliver secret: no ticket needed.
    int64_t back = chat(b, "1001", "t-2", "no ticket");
    assert_true(back > mid);
    assert_int_equal(receive(a).mid, back);
}

// A credential older than 25 minutes: notify.error "credential expired", seq echoed.
void test_credential_expired(void **state) {
    Wire w = wire_of(state);
    Fixture f;
    Client a(f.port, w);
    assert_true(a.wait(action::hello));
    assert_true(a.send(auth_env(5, credential_for("A", "pc", {"", 26 * 60 * 1000}))));
    Envelope r;
    assert_true(a.wait(action::notify_error, &r, 5));
    assert_string_equal(text_of(r).c_str(), "credential expired");
    assert_int_equal(f.stats().sessions_authenticated, 0);
}

// --- chat (§5.7) -----------------------------------------------------------------------------

// ack.message {cliMid, mid, seq: data.seq} only once the store has committed; mids are unique
// and increasing.
void test_chat_ack_after_store(void **state) {
    Wire w = wire_of(state);
    Fixture f;
    Client a(f.port, w), b(f.port, w);
    login(a, "A", "pc");
    login(b, "B", "pc");
    f.with_store([](store::MemoryStore &s) { s.set_delay(Kind::store_message, s.hold); });
    assert_true(a.send(chat_env(9, "B", "c-1", "first", 41)));
    assert_true(wait_for([&] { return f.with_store([](auto &s) { return s.held(); }) == 1; }));
    // Not committed yet: no ack, no delivery.
    assert_int_equal(Client::count(a.sync(), action::ack_message), 0);
    assert_int_equal(Client::count(b.sync(), action::chat), 0);
    f.with_store([](store::MemoryStore &s) {
        s.release_held();
        s.set_delay(Kind::store_message, 0);
    });
    Envelope ack;
    assert_true(a.wait(action::ack_message, &ack));
    auto am = data_of<codec::AckMessage>(ack);
    assert_string_equal(am.cli_mid.c_str(), "c-1");
    assert_int_equal(am.seq, 41);
    assert_true(am.mid > 0 && am.mid < (int64_t(1) << 53));
    assert_int_equal(receive(b).mid, am.mid);
    int64_t prev = am.mid;
    for (int i = 2; i <= 5; i++) {
        int64_t mid = chat(a, "B", "c-" + std::to_string(i), "more");
        assert_true(mid > prev);
        prev = mid;
        assert_int_equal(receive(b).mid, mid);
    }
    assert_int_equal(f.with_store([](auto &s) { return s.stored(); }), 5);
}

// The receiver gets message.chat with from forced to the sender (whatever data.from said), on
// every device; the sender's other devices get a copy, the sending device does not (§5.4).
void test_chat_delivery_forces_from(void **state) {
    Wire w = wire_of(state);
    Fixture f;
    Client a(f.port, w), a2(f.port, w), b(f.port, w), b2(f.port, w);
    login(a, "A", "pc");
    login(a2, "A", "phone");
    login(b, "B", "pc");
    login(b2, "B", "tab");
    Envelope e = chat_env(3, "B", "c-1", "hi B", 8);
    std::get<codec::ChatMessage>(e.data).from = "mallory";
    std::get<codec::ChatMessage>(e.data).to = "elsewhere";
    assert_true(a.send(e));
    int64_t mid = wait_ack_mid(a, "c-1");
    for (Client *c : {&b, &b2, &a2}) {
        codec::ChatMessage m = receive(*c);
        assert_int_equal(m.mid, mid);
        assert_string_equal(m.from.c_str(), "A");
        assert_string_equal(m.to.c_str(), "B");
        assert_string_equal(m.content.c_str(), "hi B");
        assert_string_equal(m.cli_mid.c_str(), "c-1");
    }
    assert_int_equal(Client::count(a.sync(), action::chat), 0);
}

// B acknowledges A's message with ack.request {mid, from, to}: A gets ack.notify with the mid
// and the other fields as received, B gets none, and the store marks the message delivered.
void check_ack_request(Wire w, const std::string &from, const std::string &to) {
    Fixture f;
    Client a(f.port, w), b(f.port, w);
    login(a, "A", "pc");
    login(b, "B", "pc");
    int64_t mid = chat(a, "B", "c-1", "hi");
    assert_int_equal(receive(b).mid, mid);
    assert_true(b.send(ack_request_env(mid, from, to)));
    Envelope n;
    assert_true(a.wait(action::ack_notify, &n));
    auto an = data_of<codec::AckNotify>(n);
    assert_int_equal(an.mid, mid);
    assert_string_equal(an.from.c_str(), from.c_str());
    assert_string_equal(an.to.c_str(), to.c_str());
    assert_true(wait_for([&] { return f.host.marks.load() == 1; }));
    assert_true(f.with_store([](auto &s) { return s.undelivered("B").empty(); }));
    assert_int_equal(Client::count(b.sync(), action::ack_notify), 0);
}

// The v1.6 shape (the TypeScript SDK's): {mid, from: the original sender}.
void test_ack_request_v16_shape(void **state) {
    check_ack_request(wire_of(state), "A", "");
}

// The later shape, routed by `to`: {mid, from: the receiver, to: the original sender}.
void test_ack_request_later_shape(void **state) {
    check_ack_request(wire_of(state), "B", "A");
}

// A retry with the same cliMid: acknowledged with the same mid, stored once, delivered once.
void test_chat_retry_same_cli_mid(void **state) {
    Wire w = wire_of(state);
    Fixture f;
    Client a(f.port, w), b(f.port, w);
    login(a, "A", "pc");
    login(b, "B", "pc");
    int64_t mid = chat(a, "B", "c-1", "once", 1);
    assert_int_equal(chat(a, "B", "c-1", "once", 2), mid);
    assert_int_equal(receive(b).mid, mid);
    assert_int_equal(Client::count(b.sync(), action::chat), 0);
    assert_int_equal(f.with_store([](auto &s) { return s.stored(); }), 1);
    // Another cliMid is another message.
    assert_true(chat(a, "B", "c-2", "twice") > mid);
}

// message.chat.resend re-delivers with the server mid without storing; the sender gets
// ack.message with the same mid. Without a mid it is refused.
void test_chat_resend(void **state) {
    Wire w = wire_of(state);
    Fixture f;
    Client a(f.port, w), b(f.port, w);
    login(a, "A", "pc");
    login(b, "B", "pc");
    int64_t mid = chat(a, "B", "c-1", "again");
    assert_int_equal(receive(b).mid, mid);
    Envelope rs = chat_env(4, "B", "c-1", "again", 0, action::chat_resend);
    std::get<codec::ChatMessage>(rs.data).mid = mid;
    assert_true(a.send(rs));
    assert_int_equal(wait_ack_mid(a, "c-1"), mid);
    codec::ChatMessage m = receive(b);
    assert_int_equal(m.mid, mid);
    assert_string_equal(m.from.c_str(), "A");
    assert_int_equal(f.host.stores.load(), 1);
    assert_int_equal(f.with_store([](auto &s) { return s.stored(); }), 1);
    Envelope bad = chat_env(5, "B", "c-1", "again", 0, action::chat_resend);
    assert_true(a.send(bad));
    Envelope r;
    assert_true(a.wait(action::notify_error, &r, 5));
    assert_string_equal(text_of(r).c_str(), "invalid resend message: mid is required");
    assert_int_equal(Client::count(b.sync(), action::chat), 0);
}

// --- offline (§5.7) --------------------------------------------------------------------------

// Logs in as uid on a fresh connection and returns the envelopes of its replay (everything up
// to a sync after the replay's page request was answered).
std::vector<Envelope> relogin(Fixture &f, Client &c, const std::string &uid,
                              const std::string &dev) {
    int loads = f.host.loads.load();
    login(c, uid, dev);
    assert_true(wait_for([&] { return f.host.loads.load() > loads; }));
    c.sync();
    return c.seen;
}

// The mids of the message.chat envelopes in v.
std::vector<int64_t> chat_mids(const std::vector<Envelope> &v) {
    std::vector<int64_t> mids;
    for (const Envelope &e : v)
        if (e.action == action::chat)
            mids.push_back(data_of<codec::ChatMessage>(e).mid);
    return mids;
}

// The receiver is offline: the sender gets ack.message and no ack.notify; the message arrives
// at the receiver's next login; once acknowledged it is not delivered at the following one.
void test_offline_delivered_at_login(void **state) {
    Wire w = wire_of(state);
    Fixture f;
    Client a(f.port, w);
    login(a, "A", "pc");
    int64_t mid = chat(a, "C", "off-1", "later");
    assert_int_equal(Client::count(a.sync(), action::ack_notify), 0);
    {
        Client c(f.port, w);
        login(c, "C", "tab");
        codec::ChatMessage m = receive(c);
        assert_int_equal(m.mid, mid);
        assert_string_equal(m.content.c_str(), "later");
        assert_string_equal(m.from.c_str(), "A");
        assert_true(c.send(ack_request_env(mid, "A")));
        assert_true(a.wait(action::ack_notify));
        assert_true(wait_for([&] { return f.host.marks.load() == 1; }));
    }
    assert_true(wait_for([&] { return f.stats().sessions_authenticated == 1; }));
    Client c2(f.port, w);
    assert_int_equal(Client::count(relogin(f, c2, "C", "tab"), action::chat), 0);
}

// Delivered while online but never acknowledged: delivered again at the next login
// (at-least-once), until acknowledged.
void test_unacked_redelivered_at_login(void **state) {
    Wire w = wire_of(state);
    Fixture f;
    Client a(f.port, w);
    login(a, "A", "pc");
    int64_t mid;
    {
        Client b(f.port, w);
        login(b, "B", "pc");
        mid = chat(a, "B", "c-1", "ack me");
        assert_int_equal(receive(b).mid, mid);
    } // gone without ack.request
    assert_true(wait_for([&] { return f.stats().sessions_authenticated == 1; }));
    for (int round = 0; round < 2; round++) {
        Client b(f.port, w);
        assert_true(chat_mids(relogin(f, b, "B", "pc")) == std::vector<int64_t>{mid});
        if (round == 1)
            assert_true(b.send(ack_request_env(mid, "A")));
        assert_true(wait_for([&] { return f.host.marks.load() == round; }));
    }
    assert_true(wait_for([&] { return f.stats().sessions_authenticated == 1; }));
    Client b(f.port, w);
    assert_true(chat_mids(relogin(f, b, "B", "pc")).empty());
}

// A second login of the same (uid, device) kicks the first: notify.kickout with the
// newcomer's device, then close 4001; the uid's other devices stay online (§5.4).
void test_second_login_kicks_first(void **state) {
    Wire w = wire_of(state);
    Fixture f;
    Client b(f.port, w), tab(f.port, w), a(f.port, w);
    login(b, "B", "pc");
    login(tab, "B", "tab");
    login(a, "A", "pc");
    Client b2(f.port, w);
    login(b2, "B", "pc");
    Envelope k;
    assert_true(b.wait(action::notify_kickout, &k));
    auto ko = data_of<codec::KickOutNotify>(k);
    assert_string_equal(ko.device_id.c_str(), "pc");
    assert_string_equal(ko.device_name.c_str(), "dev-pc");
    assert_int_equal(b.wait_close(), 4001);
    int64_t mid = chat(a, "B", "c-1", "who is there");
    assert_int_equal(receive(b2).mid, mid);
    assert_int_equal(receive(tab).mid, mid);
    assert_int_equal(f.stats().sessions_authenticated, 3);
}

} // namespace

int main(void) {
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        E2E_BOTH(test_ticket_invalid),
        E2E_BOTH(test_ticket_expired),
        E2E_BOTH(test_ticket_valid),
        E2E_BOTH(test_credential_expired),
        E2E_BOTH(test_chat_ack_after_store),
        E2E_BOTH(test_chat_delivery_forces_from),
        E2E_BOTH(test_ack_request_v16_shape),
        E2E_BOTH(test_ack_request_later_shape),
        E2E_BOTH(test_chat_retry_same_cli_mid),
        E2E_BOTH(test_chat_resend),
        E2E_BOTH(test_offline_delivered_at_login),
        E2E_BOTH(test_unacked_redelivered_at_login),
        E2E_BOTH(test_second_login_kicks_first),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
