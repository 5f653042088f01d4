// Routing behaviours of design.md §5 (identity, delivery, tickets, store-then-ack, receipts,
// offline replay, groups, message.cli, presence, control API) over fakes.
#include <algorithm>
#include <string>

#include "support/proto_fakes.h"

#include "glide_cmocka.h"

using namespace glide;
using fakes::World;
using Kind = store::MemoryStore::Kind;

namespace {

#define assert_str(a, b) assert_string_equal(std::string(a).c_str(), std::string(b).c_str())

std::string chat_json(const std::string &to, const std::string &cli_mid, int64_t seq = 0,
                      const std::string &extra_data = "") {
    return "{\"seq\":" + std::to_string(seq) + ",\"action\":\"message.chat\",\"to\":\"" + to +
           "\",\"data\":{\"cliMid\":\"" + cli_mid + "\"" + extra_data + "}}";
}

codec::ChatMessage chat_of(const fakes::FakeLink &l, size_t i) {
    auto m = codec::decode_payload<codec::ChatMessage>(l.frame(i));
    assert_true(m.ok());
    return m.value();
}

// §5.4: a second login of the same (uid, device) kicks the first: notify.kickout with the
// newcomer's device, then close 4001. Other devices stay.
void test_same_uid_device_kickout_4001(void **) {
    World w;
    w.token("tok-A1", "A", "d1");
    w.token("tok-A1b", "A", "d1");
    w.token("tok-A2", "A", "d2");
    auto first = w.login("tok-A1");
    auto other = w.login("tok-A2");
    auto second = w.login("tok-A1b");
    assert_str(first->link.last_json("notify.kickout"),
               "{\"ver\":1,\"action\":\"notify.kickout\",\"data\":{\"device_id\":\"d1\","
               "\"device_name\":\"name-d1\"}}");
    assert_true(first->link.closed);
    assert_int_equal(first->link.close_code, 4001);
    assert_false(other->link.closed);
    assert_false(second->link.closed);
    assert_true(second->s->authenticated());
    assert_int_equal(w.hub.devices("A").size(), 2);
    // Messages now reach the newcomer, not the kicked session.
    w.token("tok-B", "B", "d1");
    auto b = w.login("tok-B");
    size_t before = first->link.frames.size();
    w.send(*b, chat_json("A", "k1"));
    assert_int_equal(first->link.frames.size(), before);
    assert_int_equal(second->link.count("message.chat"), 1);
    assert_int_equal(other->link.count("message.chat"), 1);
    w.close(*first);
    assert_int_equal(w.hub.devices("A").size(), 2);
}

// §5.4: every device of the receiver gets the message, the sender's other devices a copy.
void test_two_devices_receive_sender_copy(void **) {
    World w;
    w.token("tok-A1", "A", "d1");
    w.token("tok-A2", "A", "d2");
    w.token("tok-B1", "B", "d1");
    w.token("tok-B2", "B", "d2");
    auto a1 = w.login("tok-A1");
    auto a2 = w.login("tok-A2");
    auto b1 = w.login("tok-B1");
    auto b2 = w.login("tok-B2");
    w.send(*a1, chat_json("B", "c-1", 3, ",\"content\":\"hi\""));
    assert_int_equal(b1->link.count("message.chat"), 1);
    assert_int_equal(b2->link.count("message.chat"), 1);
    assert_int_equal(a2->link.count("message.chat"), 1); // the copy
    assert_int_equal(a1->link.count("message.chat"), 0);
    assert_int_equal(a1->link.count("ack.message"), 1);
    assert_int_equal(a2->link.count("ack.message"), 0);
}

// §5.6: tickets checked when the credential carries a message_deliver_secret.
void test_tickets_invalid_expired_valid(void **) {
    World w;
    w.token("tok-A", "1001", "d1", "s3cr3t");
    w.token("tok-B", "1002", "d1");
    auto a = w.login("tok-A");
    auto b = w.login("tok-B");
    w.send(*a, "{\"seq\":7,\"action\":\"message.chat\",\"to\":\"1002\",\"ticket\":\"short\","
               "\"data\":{\"cliMid\":\"c\"}}");
    assert_str(a->link.frames.back(),
               "{\"ver\":1,\"seq\":7,\"action\":\"notify.forbidden\",\"data\":\"invalid ticket\"}");
    w.send(*a, "{\"seq\":8,\"action\":\"message.chat\",\"to\":\"1002\",\"ticket\":"
               "\"0000000000000000000000000000000000000000\",\"data\":{\"cliMid\":\"c\"}}");
    assert_str(a->link.frames.back(),
               "{\"ver\":1,\"seq\":8,\"action\":\"notify.forbidden\",\"data\":\"ticket expired\"}");
    w.send(*a, "{\"seq\":9,\"action\":\"message.group\",\"to\":\"g\",\"data\":{}}");
    assert_str(a->link.frames.back(),
               "{\"ver\":1,\"seq\":9,\"action\":\"notify.forbidden\",\"data\":\"invalid ticket\"}");
    assert_int_equal(w.store.calls(Kind::store_message), 0);
    assert_int_equal(b->link.count("message.chat"), 0);
    // Valid (protocol.md §6.5 vector), upper case accepted.
    w.send(*a, "{\"seq\":10,\"action\":\"message.chat\",\"to\":\"1002\",\"ticket\":"
               "\"937116764D1D428C8E47B0D8F985B1D543363F1D\",\"data\":{\"cliMid\":\"c\"}}");
    assert_int_equal(a->link.count("ack.message"), 1);
    assert_int_equal(b->link.count("message.chat"), 1);
    // A session without a secret is not checked.
    w.send(*b, chat_json("1001", "r"));
    assert_int_equal(b->link.count("ack.message"), 1);
}

// §5.7: the ack comes only after the store answered, with cliMid, increasing mids, the client's
// data.seq; delivery carries the server-forced from.
void test_chat_ack_after_store_and_forced_from(void **) {
    World w;
    w.token("tok-A", "A", "d1");
    w.token("tok-B", "B", "d1");
    auto a = w.login("tok-A");
    auto b = w.login("tok-B");
    w.store.set_delay(Kind::store_message, 100);
    w.send(*a, "{\"seq\":7,\"action\":\"message.chat\",\"to\":\"B\",\"data\":{\"cliMid\":\"c-1\","
               "\"seq\":3,\"from\":\"mallory\",\"to\":\"elsewhere\",\"type\":1,\"content\":\"hi\","
               "\"sendAt\":1720000000}}");
    assert_int_equal(a->link.count("ack.message"), 0);
    assert_int_equal(b->link.count("message.chat"), 0);
    w.timers.advance(100);
    assert_str(a->link.last_json("ack.message"),
               "{\"ver\":1,\"action\":\"ack.message\",\"data\":{\"cliMid\":\"c-1\",\"mid\":1,"
               "\"seq\":3}}");
    assert_str(b->link.last_json("message.chat"),
               "{\"ver\":1,\"action\":\"message.chat\",\"data\":{\"cliMid\":\"c-1\",\"mid\":1,"
               "\"seq\":3,\"from\":\"A\",\"to\":\"B\",\"type\":1,\"content\":\"hi\",\"sendAt\":"
               "1720000000}}");
    w.send(*a, chat_json("B", "c-2"));
    w.send(*a, chat_json("B", "c-3"));
    w.timers.advance(100);
    auto acks = a->link.find("ack.message");
    assert_int_equal(acks.size(), 3);
    int64_t last = 0;
    for (size_t i : acks) {
        auto ack = codec::decode_payload<codec::AckMessage>(a->link.frame(i));
        assert_true(ack->mid > last);
        last = ack->mid;
    }
    assert_int_equal(w.store.message(1)->from == "A", 1);
}

// §5.7: a retry with the same (from, cliMid) gets the same mid and is not stored twice.
void test_retry_same_cli_mid_same_mid(void **) {
    World w;
    w.token("tok-A", "A", "d1");
    w.token("tok-B", "B", "d1");
    auto a = w.login("tok-A");
    auto b = w.login("tok-B");
    w.send(*a, chat_json("B", "same", 1));
    w.send(*a, chat_json("B", "same", 1));
    auto acks = a->link.find("ack.message");
    assert_int_equal(acks.size(), 2);
    auto m1 = codec::decode_payload<codec::AckMessage>(a->link.frame(acks[0]));
    auto m2 = codec::decode_payload<codec::AckMessage>(a->link.frame(acks[1]));
    assert_int_equal(m1->mid, m2->mid);
    assert_int_equal(w.store.stored(), 1);
    assert_int_equal(b->link.count("message.chat"), 1);
    // Another sender may use the same cliMid.
    w.send(*b, chat_json("A", "same"));
    assert_int_equal(w.store.stored(), 2);
}

// §5.8: message.chat.resend re-delivers the mid without storing and re-acks the same mid.
void test_resend_redelivers_without_storing(void **) {
    World w;
    w.token("tok-A", "A", "d1");
    w.token("tok-B", "B", "d1");
    auto a = w.login("tok-A");
    auto b = w.login("tok-B");
    w.send(*a, chat_json("B", "c-1", 2, ",\"content\":\"hi\""));
    assert_int_equal(w.store.stored(), 1);
    w.send(*a, "{\"seq\":5,\"action\":\"message.chat.resend\",\"to\":\"B\",\"data\":{\"cliMid\":"
               "\"c-1\",\"mid\":1,\"seq\":2,\"content\":\"hi\"}}");
    assert_int_equal(w.store.stored(), 1);
    assert_int_equal(w.store.calls(Kind::store_message), 1);
    assert_int_equal(b->link.count("message.chat"), 2);
    assert_int_equal(chat_of(b->link, b->link.find("message.chat")[1]).mid, 1);
    assert_str(a->link.last_json("ack.message"),
               "{\"ver\":1,\"action\":\"ack.message\",\"data\":{\"cliMid\":\"c-1\",\"mid\":1,"
               "\"seq\":2}}");
    w.send(*a, "{\"seq\":6,\"action\":\"message.chat.resend\",\"to\":\"B\",\"data\":{}}");
    assert_str(a->link.frames.back(), "{\"ver\":1,\"seq\":6,\"action\":\"notify.error\",\"data\":"
                                      "\"invalid resend message: mid is required\"}");
}

// The data of message.chat is decoded with its envelope when the action comes first (the
// usual order), else by the handler: the same message either way, and the same error texts.
void test_chat_data_in_any_key_order(void **) {
    World w;
    w.token("tok-A", "A", "d1");
    w.token("tok-B", "B", "d1");
    auto a = w.login("tok-A");
    auto b = w.login("tok-B");
    w.send(*a, "{\"seq\":2,\"action\":\"message.chat\",\"to\":\"B\",\"data\":{\"cliMid\":\"c-1\","
               "\"content\":\"h\\u00e9\\n\",\"sendAt\":1732600000123}}");
    w.send(*a, "{\"seq\":3,\"data\":{\"cliMid\":\"c-2\",\"content\":\"h\\u00e9\\n\","
               "\"sendAt\":1732600000123},\"to\":\"B\",\"action\":\"message.chat\"}");
    auto got = b->link.find("message.chat");
    assert_int_equal(got.size(), 2);
    codec::ChatMessage m1 = chat_of(b->link, got[0]), m2 = chat_of(b->link, got[1]);
    assert_str(m1.content, "h\xc3\xa9\n");
    assert_str(m2.cli_mid, "c-2");
    m2.cli_mid = m1.cli_mid;
    m2.mid = m1.mid;
    assert_true(m1 == m2);
    w.send(*a, "{\"seq\":4,\"action\":\"message.chat\",\"to\":\"B\",\"data\":{\"mid\":\"1\"}}");
    assert_str(a->link.frames.back(),
               "{\"ver\":1,\"seq\":4,\"action\":\"notify.error\",\"data\":\"message decode error: "
               "json: cannot unmarshal string into Go struct field ChatMessage.mid of type "
               "int64\"}");
    w.send(*a, "{\"seq\":5,\"data\":{\"mid\":\"1\"},\"action\":\"message.chat\",\"to\":\"B\"}");
    assert_str(a->link.frames.back(),
               "{\"ver\":1,\"seq\":5,\"action\":\"notify.error\",\"data\":\"message decode error: "
               "json: cannot unmarshal string into Go struct field ChatMessage.mid of type "
               "int64\"}");
    // ack.request whose action is only known after the data.
    w.send(*b, "{\"data\":{\"mid\":2,\"from\":\"A\"},\"action\":\"ack.request\"}");
    assert_str(a->link.last_json("ack.notify"),
               "{\"ver\":1,\"action\":\"ack.notify\",\"data\":{\"mid\":2,\"from\":\"A\"}}");
    assert_int_equal(b->link.count("message.chat"), 2);
}

// §5.7: ack.request in both shapes → ack.notify to the original sender, delivery marked.
void test_ack_request_both_shapes(void **) {
    World w;
    w.token("tok-A", "A", "d1");
    w.token("tok-B", "B", "d1");
    auto a = w.login("tok-A");
    auto b = w.login("tok-B");
    w.send(*a, chat_json("B", "c-1"));
    w.send(*a, chat_json("B", "c-2"));
    assert_int_equal(w.store.undelivered("B").size(), 2);
    // v1.6 (TypeScript SDK): {mid, from: original sender}
    w.send(*b, "{\"action\":\"ack.request\",\"data\":{\"mid\":1,\"from\":\"A\"}}");
    assert_str(a->link.last_json("ack.notify"),
               "{\"ver\":1,\"action\":\"ack.notify\",\"data\":{\"mid\":1,\"from\":\"A\"}}");
    // later glide: {mid, from: receiver, to: sender, cli_mid, seq}
    w.send(*b, "{\"action\":\"ack.request\",\"to\":\"A\",\"data\":{\"mid\":2,\"from\":\"B\","
               "\"to\":\"A\",\"cli_mid\":\"c-2\",\"seq\":3}}");
    assert_str(a->link.last_json("ack.notify"),
               "{\"ver\":1,\"action\":\"ack.notify\",\"data\":{\"cliMid\":\"c-2\",\"seq\":3,"
               "\"mid\":2,\"from\":\"B\",\"to\":\"A\"}}");
    assert_int_equal(a->link.count("ack.notify"), 2);
    assert_int_equal(b->link.count("ack.notify"), 0);
    assert_int_equal(w.store.undelivered("B").size(), 0);
    assert_int_equal(w.store.calls(Kind::mark_delivered), 2);
}

// §5.7: offline receiver: no ack.notify; delivered at its next login; once acknowledged,
// not again. Delivered-but-unacknowledged messages come again at the next login.
void test_offline_receiver_delivered_at_next_login(void **) {
    World w;
    w.token("tok-A", "A", "d1");
    w.token("tok-B", "B", "d1");
    auto a = w.login("tok-A");
    w.send(*a, chat_json("B", "o-1", 0, ",\"content\":\"one\""));
    w.send(*a, chat_json("B", "o-2", 0, ",\"content\":\"two\""));
    assert_int_equal(a->link.count("ack.message"), 2);
    assert_int_equal(a->link.count("ack.notify"), 0);
    auto b = w.login("tok-B");
    auto got = b->link.find("message.chat");
    assert_int_equal(got.size(), 2);
    assert_str(chat_of(b->link, got[0]).content, "one");
    assert_str(chat_of(b->link, got[1]).content, "two");
    assert_str(chat_of(b->link, got[0]).from, "A");
    assert_int_equal(a->link.count("ack.notify"), 0);
    // B acknowledges only the first, then reconnects: the second comes again.
    w.send(*b, "{\"action\":\"ack.request\",\"data\":{\"mid\":1,\"from\":\"A\"}}");
    assert_int_equal(a->link.count("ack.notify"), 1);
    w.close(*b);
    auto b2 = w.login("tok-B");
    got = b2->link.find("message.chat");
    assert_int_equal(got.size(), 1);
    assert_int_equal(chat_of(b2->link, got[0]).mid, 2);
    w.send(*b2, "{\"action\":\"ack.request\",\"data\":{\"mid\":2,\"from\":\"A\"}}");
    w.close(*b2);
    auto b3 = w.login("tok-B");
    assert_int_equal(b3->link.count("message.chat"), 0);
}

// Replay is paced by the send buffer (messages until a send is answered above the soft mark,
// the rest when drained) and never closes the session for its own backlog.
void test_replay_paced_never_closed(void **) {
    auto conf = fakes::test_conf();
    conf.send_buffer_limit = 4096;
    conf.replay_page = 10;
    World w(conf);
    w.token("tok-A", "A", "d1");
    w.token("tok-B", "B", "d1");
    auto a = w.login("tok-A");
    std::string content(300, 'y');
    for (int i = 0; i < 35; i++)
        w.send(*a, chat_json("B", "p" + std::to_string(i), 0, ",\"content\":\"" + content + "\""));
    auto b = w.connect();
    b->link.stalled = true;
    b->link.soft_mark = 2048;
    w.send(*b, "{\"seq\":1,\"action\":\"authenticate\",\"data\":{\"version\":1,\"credential\":"
               "\"tok-B\"}}");
    w.timers.turn();
    size_t first = b->link.count("message.chat");
    assert_true(first > 0 && first < 10); // stopped at the soft mark, within the first page
    assert_true(b->link.buffered() > 2048);
    w.timers.advance(1000);
    assert_int_equal(b->link.count("message.chat"), first); // waits for the drain
    // A live message on top of the replayed backlog does not close it either.
    w.send(*a, chat_json("B", "live", 0, ",\"content\":\"x\""));
    assert_false(b->link.closed);
    for (int i = 0; i < 20 && b->link.count("message.chat") < 36 + 1; i++) {
        w.drained(*b);
        w.timers.turn();
    }
    assert_false(b->link.closed);
    assert_int_equal(b->link.count("message.chat"), 36 + 1); // 35 + live, live replayed too
}

// A replay whose page load fails (a store fault: a full disk) stays and loads the same page
// again after 100 ms, 200 ms, 400 ms ... while the session stays, logged once when it starts
// failing and once when it recovers; the device gets every message once, in order, without a
// new login. A failure in the middle of the replay (after a drain) resumes at the cursor.
void test_replay_retries_store_fault(void **) {
    auto conf = fakes::test_conf();
    conf.send_buffer_limit = 8192;
    conf.replay_page = 10;
    World w(conf);
    w.token("tok-A", "A", "d1");
    w.token("tok-B", "B", "d1");
    auto a = w.login("tok-A");
    std::string content(200, 'z');
    for (int i = 0; i < 35; i++)
        w.send(*a, chat_json("B", "f" + std::to_string(i), 0, ",\"content\":\"" + content + "\""));
    w.store.fail_next(Kind::load_undelivered, GLIDE_EIO, "database or disk is full", 3);
    w.store.log_lines().clear();
    const uint64_t base = w.store.calls(Kind::load_undelivered); // A's login loaded too
    auto loads = [&] { return w.store.calls(Kind::load_undelivered) - base; };
    auto b = w.connect();
    b->link.stalled = true;
    b->link.soft_mark = 2048; // the replay pauses within each page, until drained
    w.send(*b, "{\"seq\":1,\"action\":\"authenticate\",\"data\":{\"version\":1,\"credential\":"
               "\"tok-B\"}}");
    w.timers.turn();
    assert_int_equal(loads(), 1);
    assert_int_equal(b->link.count("message.chat"), 0);
    w.timers.advance(99);
    assert_int_equal(loads(), 1);
    w.timers.advance(1); // 100 ms: the second attempt fails too
    assert_int_equal(loads(), 2);
    w.timers.advance(200);
    assert_int_equal(loads(), 3);
    w.timers.advance(400); // the store is back
    assert_int_equal(loads(), 4);
    const size_t first = b->link.count("message.chat");
    assert_true(first > 0 && first < 10);
    // The next load fails twice, after a drain.
    w.store.fail_next(Kind::load_undelivered, GLIDE_EIO, "database or disk is full", 2);
    for (int i = 0; i < 40 && b->link.count("message.chat") < 35; i++) {
        w.drained(*b);
        w.timers.advance(1000);
    }
    assert_false(b->link.closed);
    assert_int_equal(b->link.count("message.chat"), 35);
    int64_t last = 0;
    for (size_t i : b->link.find("message.chat")) {
        int64_t mid = chat_of(b->link, i).mid;
        assert_true(mid > last);
        last = mid;
    }
    int failed = 0, resumed = 0;
    for (const std::string &l : w.store.log_lines()) {
        failed += l.find("offline replay for B (d1) failed: database or disk is full") !=
                  std::string::npos;
        resumed += l.find("offline replay for B (d1) resumed after") != std::string::npos;
    }
    assert_int_equal(failed, 2);  // once per episode
    assert_int_equal(resumed, 2);
    // A session that goes away while its replay waits to retry: nothing more is loaded.
    auto b2 = w.login("tok-B"); // kicks b, replays again from the start
    (void)b2;
    w.store.fail_next(Kind::load_undelivered, GLIDE_EIO, "gone", 1);
    auto c = w.connect();
    w.token("tok-C", "C", "d1");
    w.send(*c, "{\"seq\":1,\"action\":\"authenticate\",\"data\":{\"version\":1,\"credential\":"
               "\"tok-C\"}}");
    w.timers.turn();
    const uint64_t before_close = loads();
    w.close(*c);
    w.timers.advance(10000);
    assert_int_equal(loads(), before_close);
}

// Below the soft mark (half the send buffer limit) the transport owes no drain report: the
// replay goes on page after page while bytes are still queued, e.g. behind an asynchronous store.
void test_replay_continues_below_soft_mark(void **) {
    auto conf = fakes::test_conf();
    conf.send_buffer_limit = 1 << 20;
    conf.replay_page = 10;
    World w(conf);
    w.token("tok-A", "A", "d1");
    w.token("tok-B", "B", "d1");
    auto a = w.login("tok-A");
    for (int i = 0; i < 35; i++)
        w.send(*a, chat_json("B", "q" + std::to_string(i), 0, ""));
    auto b = w.connect();
    b->link.stalled = true; // nothing is ever read: buffered() only grows
    w.send(*b, "{\"seq\":1,\"action\":\"authenticate\",\"data\":{\"version\":1,\"credential\":"
               "\"tok-B\"}}");
    for (int i = 0; i < 10; i++)
        w.timers.turn();
    assert_true(b->link.buffered() > 0);
    assert_int_equal(b->link.count("message.chat"), 35);
    assert_int_equal(w.store.calls(Kind::load_undelivered), 1 + 4);
}

// §5.9: group ack carries the group seq; members (sender included) receive in seq order;
// a non-member gets notify.error "not member of channel" with the request seq.
void test_group_seq_order_and_non_member(void **) {
    World w;
    w.token("tok-A", "A", "d1");
    w.token("tok-A2", "A", "d2");
    w.token("tok-B", "B", "d1");
    w.token("tok-C", "C", "d1");
    w.store.create_group("g1");
    w.store.add_member("g1", "A");
    w.store.add_member("g1", "B");
    auto a = w.login("tok-A");
    auto a2 = w.login("tok-A2");
    auto b = w.login("tok-B");
    auto c = w.login("tok-C");
    // Members load slowly: publishes complete first and wait, in order.
    w.store.set_delay(Kind::group_members, 50);
    for (int i = 0; i < 3; i++)
        w.send(*a, "{\"seq\":" + std::to_string(12 + i) +
                       ",\"action\":\"message.group\",\"to\":\"g1\",\"extra\":{\"k\":\"v\"},"
                       "\"data\":{\"cliMid\":\"g-" +
                       std::to_string(i) +
                       "\",\"type\":1,\"content\":\"hello\",\"from\":\"spoof\"}}");
    auto acks = a->link.find("ack.message");
    assert_int_equal(acks.size(), 3);
    assert_str(a->link.frames[acks[0]],
               "{\"ver\":1,\"action\":\"ack.message\",\"data\":{\"cliMid\":\"g-0\",\"mid\":1,"
               "\"seq\":1}}");
    assert_int_equal(b->link.count("message.group"), 0);
    w.timers.advance(50);
    for (auto *cl : {a.get(), a2.get(), b.get()}) {
        auto got = cl->link.find("message.group");
        assert_int_equal(got.size(), 3);
        for (int i = 0; i < 3; i++)
            assert_int_equal(chat_of(cl->link, got[i]).seq, i + 1);
    }
    assert_str(b->link.frames[b->link.find("message.group")[0]],
               "{\"ver\":1,\"seq\":12,\"action\":\"message.group\",\"from\":\"A\",\"to\":\"g1\","
               "\"data\":{\"cliMid\":\"g-0\",\"mid\":1,\"seq\":1,\"from\":\"A\",\"to\":\"g1\","
               "\"type\":1,\"content\":\"hello\"},\"extra\":{\"k\":\"v\"}}");
    assert_int_equal(c->link.count("message.group"), 0);
    // Non-member.
    w.send(*c,
           "{\"seq\":21,\"action\":\"message.group\",\"to\":\"g1\",\"data\":{\"cliMid\":\"x\"}}");
    assert_str(c->link.frames.back(), "{\"ver\":1,\"seq\":21,\"action\":\"notify.error\",\"data\":"
                                      "\"not member of channel\"}");
    assert_int_equal(c->link.count("ack.message"), 0);
    // Membership is cached until invalidated.
    w.store.add_member("g1", "C");
    w.send(*a,
           "{\"seq\":30,\"action\":\"message.group\",\"to\":\"g1\",\"data\":{\"cliMid\":\"g-9\"}}");
    w.timers.advance(50);
    assert_int_equal(c->link.count("message.group"), 0);
    w.dispatcher.actions().groups.invalidate("g1");
    w.send(
        *a,
        "{\"seq\":31,\"action\":\"message.group\",\"to\":\"g1\",\"data\":{\"cliMid\":\"g-10\"}}");
    w.timers.advance(50);
    assert_int_equal(c->link.count("message.group"), 1);
    assert_int_equal(chat_of(c->link, c->link.find("message.group")[0]).seq, 5);
}

// The membership cannot be loaded: the stored messages are not delivered (logged), and the
// next publish asks again and is delivered.
void test_group_members_failure_retried(void **) {
    World w;
    w.token("tok-A", "A", "d1");
    w.token("tok-B", "B", "d1");
    w.store.create_group("g");
    w.store.add_member("g", "A");
    w.store.add_member("g", "B");
    auto a = w.login("tok-A");
    auto b = w.login("tok-B");
    w.store.fail_next(Kind::group_members, GLIDE_EIO, "db down");
    w.send(*a, "{\"seq\":1,\"action\":\"message.group\",\"to\":\"g\",\"data\":{\"cliMid\":\"1\"}}");
    assert_int_equal(a->link.count("ack.message"), 1);
    assert_int_equal(b->link.count("message.group"), 0);
    assert_true(!w.store.log_lines().empty());
    w.send(*a, "{\"seq\":2,\"action\":\"message.group\",\"to\":\"g\",\"data\":{\"cliMid\":\"2\"}}");
    auto got = b->link.find("message.group");
    assert_int_equal(got.size(), 1);
    assert_int_equal(chat_of(b->link, got[0]).seq, 2);
    assert_int_equal(w.store.calls(Kind::group_members), 2);
}

// Group publishes answered out of order by the host are still delivered in call order.
void test_group_completions_out_of_order(void **) {
    World w;
    w.token("tok-A", "A", "d1");
    w.store.create_group("g");
    w.store.add_member("g", "A");
    auto a = w.login("tok-A");
    w.store.set_delay(Kind::group_publish, store::MemoryStore::hold);
    w.send(*a, "{\"seq\":1,\"action\":\"message.group\",\"to\":\"g\",\"data\":{\"cliMid\":\"1\"}}");
    w.send(*a, "{\"seq\":2,\"action\":\"message.group\",\"to\":\"g\",\"data\":{\"cliMid\":\"2\"}}");
    assert_int_equal(w.store.release_held(), 2);
    auto got = a->link.find("message.group");
    assert_int_equal(got.size(), 2);
    assert_int_equal(chat_of(a->link, got[0]).seq, 1);
    assert_int_equal(chat_of(a->link, got[1]).seq, 2);
}

// §5.10: message.cli forwarded as is (seq, extra, data kept, from forced), not stored, no ack.
void test_message_cli_forwarded_not_stored(void **) {
    World w;
    w.token("tok-A", "1001", "d1");
    w.token("tok-B", "1002", "d1");
    auto a = w.login("tok-A");
    auto b = w.login("tok-B");
    size_t a_before = a->link.frames.size();
    w.send(*a, "{\"seq\":3,\"action\":\"message.cli\",\"from\":\"x\",\"to\":\"1002\",\"data\":{ "
               "\"type\" : \"typing\", \"content\": {\"x\": \"<a>\"} },\"ticket\":\"T\","
               "\"extra\":{\"k\":\"v\"}}");
    assert_str(b->link.last_json("message.cli"),
               "{\"ver\":1,\"seq\":3,\"action\":\"message.cli\",\"from\":\"1001\",\"to\":\"1002\","
               "\"data\":{\"type\":\"typing\",\"content\":{\"x\":\"\\u003ca\\u003e\"}},\"ticket\":"
               "\"T\",\"extra\":{\"k\":\"v\"}}");
    assert_int_equal(a->link.frames.size(), a_before);
    assert_int_equal(w.store.calls(Kind::store_message), 0);
    assert_int_equal(w.store.stored(), 0);
}

// message.cli from a protobuf client reaches a JSON client as valid JSON; protobuf data that
// is not a ClientCustom is refused with notify.error rather than dropped.
void test_message_cli_across_codecs(void **) {
    World w;
    w.token("tok-A", "A", "d1");
    w.token("tok-B", "B", "d1");
    auto a = w.login("tok-A");
    auto b = w.login("tok-B", codec::Codec::protobuf);
    codec::Envelope e = codec::make_message(5, codec::action::client_custom,
                                            codec::ClientCustom{"typing", "{\"x\":1}"});
    e.to = "A";
    w.send(*b, e);
    assert_str(a->link.last_json("message.cli"),
               "{\"ver\":1,\"seq\":5,\"action\":\"message.cli\",\"from\":\"B\",\"to\":\"A\","
               "\"data\":{\"type\":\"typing\",\"content\":{\"x\":1}}}");
    codec::Envelope bad = codec::make_message(6, codec::action::client_custom,
                                              codec::RawData{codec::Codec::protobuf, "\xff\xff"});
    bad.to = "A";
    w.send(*b, bad);
    assert_int_equal(a->link.count("message.cli"), 1);
    auto err = b->link.find("notify.error");
    assert_int_equal(err.size(), 1);
    assert_int_equal(b->link.frame(err[0]).seq, 6);
}

// §5.11: api.state.sub → notify.state with a correct boolean; presence to the host.
void test_presence_notify_state(void **) {
    World w;
    w.token("tok-A", "A", "d1");
    w.token("tok-B1", "B", "d1");
    w.token("tok-B2", "B", "d2");
    auto a = w.login("tok-A");
    w.send(*a, "{\"action\":\"api.state.sub\",\"data\":{\"uids\":[\"B\"]}}");
    assert_str(a->link.frames.back(),
               "{\"ver\":1,\"action\":\"notify.state\",\"data\":{\"uid\":\"B\"}}");
    auto b1 = w.login("tok-B1");
    assert_str(a->link.frames.back(),
               "{\"ver\":1,\"action\":\"notify.state\",\"data\":{\"uid\":\"B\",\"online\":true}}");
    size_t n = a->link.count("notify.state");
    auto b2 = w.login("tok-B2"); // B already online: no change
    assert_int_equal(a->link.count("notify.state"), n);
    w.close(*b1);
    assert_int_equal(a->link.count("notify.state"), n);
    w.close(*b2);
    assert_str(a->link.frames.back(),
               "{\"ver\":1,\"action\":\"notify.state\",\"data\":{\"uid\":\"B\"}}");
    auto st = codec::decode_payload<codec::UserState>(a->link.frame(a->link.frames.size() - 1));
    assert_false(st->online);
    // Host presence: (uid, device, node, online) for every login and logout.
    const auto &ev = w.store.presence_events();
    assert_int_equal(ev.size(), 5);
    assert_str(ev[1].uid, "B");
    assert_str(ev[1].device_id, "d1");
    assert_str(ev[1].node_id, "node1");
    assert_true(ev[1].online);
    assert_false(ev[3].online);
    assert_false(ev[4].online);
    // A closed subscriber is forgotten.
    w.close(*a);
    auto b3 = w.login("tok-B1");
    assert_true(b3->s->authenticated());
}

// §5.7: a store error or deadline → notify.error with the request seq, no ack, no delivery;
// a late completion is ignored.
void test_store_failure_and_deadline(void **) {
    World w;
    w.token("tok-A", "A", "d1");
    w.token("tok-B", "B", "d1");
    auto a = w.login("tok-A");
    auto b = w.login("tok-B");
    w.store.fail_next(Kind::store_message, GLIDE_EIO, "disk full");
    w.send(*a, chat_json("B", "f-1", 0).replace(7, 1, "4"));
    assert_str(a->link.frames.back(),
               "{\"ver\":1,\"seq\":4,\"action\":\"notify.error\",\"data\":\"disk full\"}");
    assert_int_equal(a->link.count("ack.message"), 0);
    assert_int_equal(b->link.count("message.chat"), 0);

    w.store.set_delay(Kind::store_message, store::MemoryStore::hold);
    w.send(*a,
           "{\"seq\":5,\"action\":\"message.chat\",\"to\":\"B\",\"data\":{\"cliMid\":\"f-2\"}}");
    w.timers.advance(4999);
    assert_int_equal(a->link.count("notify.error"), 1);
    w.timers.advance(1);
    assert_str(a->link.frames.back(), "{\"ver\":1,\"seq\":5,\"action\":\"notify.error\",\"data\":"
                                      "\"message store timed out\"}");
    assert_int_equal(w.store.release_held(), 1); // the host answers late: ignored
    assert_int_equal(a->link.count("ack.message"), 0);
    assert_int_equal(b->link.count("message.chat"), 0);
    // The sender is gone before the store answers: no crash, the receiver still gets it.
    w.send(*a,
           "{\"seq\":6,\"action\":\"message.chat\",\"to\":\"B\",\"data\":{\"cliMid\":\"f-3\"}}");
    w.close(*a);
    assert_int_equal(w.store.release_held(), 1);
    assert_int_equal(b->link.count("message.chat"), 1);
}

// Control API: push, kick (all devices or one).
void test_control_push_kick(void **) {
    World w;
    w.token("tok-A1", "A", "d1");
    w.token("tok-A2", "A", "d2");
    auto a1 = w.login("tok-A1");
    auto a2 = w.login("tok-A2");
    codec::Envelope e = codec::make_message(0, "notify.custom", codec::Text{"hi"});
    assert_int_equal(w.hub.push("A", e), 2);
    assert_str(a1->link.frames.back(), "{\"ver\":1,\"action\":\"notify.custom\",\"data\":\"hi\"}");
    assert_int_equal(w.hub.push("nobody", e), 0);
    assert_int_equal(w.hub.kick("A", "d2"), 1);
    assert_true(a2->link.closed);
    assert_int_equal(a2->link.close_code, 4001);
    assert_false(a1->link.closed);
    assert_int_equal(w.hub.kick("A", ""), 1);
    assert_true(a1->link.closed);
    assert_int_equal(w.hub.devices("A").size(), 0);
}

// A fan-out survives a receiver device being closed (slow consumer) in the middle of it, and
// a message without a receiver is refused, not stored.
void test_fanout_with_close_and_empty_to(void **) {
    auto conf = fakes::test_conf();
    conf.send_buffer_limit = 600;
    World w(conf);
    w.token("tok-A", "A", "d1");
    w.token("tok-B1", "B", "d1");
    w.token("tok-B2", "B", "d2");
    auto a = w.login("tok-A");
    auto b1 = w.login("tok-B1");
    auto b2 = w.login("tok-B2");
    b1->link.stalled = true;
    b1->link.buffered_ = 590;
    w.send(*a, chat_json("B", "big", 0, ",\"content\":\"" + std::string(100, 'z') + "\""));
    assert_true(b1->link.closed);
    assert_int_equal(b1->link.close_code, 1008);
    assert_int_equal(b2->link.count("message.chat"), 1);
    assert_int_equal(w.hub.devices("B").size(), 1);
    w.send(*a, "{\"seq\":4,\"action\":\"message.chat\",\"data\":{\"cliMid\":\"n\"}}");
    assert_str(a->link.frames.back(), "{\"ver\":1,\"seq\":4,\"action\":\"notify.error\",\"data\":"
                                      "\"message has no receiver\"}");
    assert_int_equal(w.store.stored(), 1);
}

// The hub goes away with requests pending in the host: late completions are ignored.
void test_hub_gone_late_completion(void **) {
    fakes::FakeTimers timers;
    store::MemoryStore st(&timers, "");
    port::AuthResult id;
    id.uid = "A";
    st.add_token("tok-A", id);
    st.set_delay(Kind::auth, store::MemoryStore::hold);
    fakes::Client c;
    {
        Stats counters;
        hub::Hub h(&st, &timers, fakes::test_conf(), &counters);
        dispatch::Dispatcher d(h, counters);
        c.s = h.open(&c.link);
        d.on_frame(c.s, "{\"seq\":1,\"action\":\"authenticate\",\"data\":{\"version\":1,"
                        "\"credential\":\"tok-A\"}}");
    }
    assert_int_equal(st.release_held(), 1);
    assert_int_equal(timers.pending(), 0);
}

// DeviceList (a uid's sessions): the first inline, then a growing array; erase keeps the
// order of the rest, from the front, the middle and the back.
void test_device_list(void **) {
    hub::DeviceList l;
    assert_true(l.empty());
    // Stand-ins: the list only stores and compares the pointers.
    auto fake = [](uintptr_t i) { return reinterpret_cast<session::Session *>(0x1000 + 64 * i); };
    std::vector<session::Session *> want;
    for (uintptr_t i = 0; i < 9; i++) {
        l.push_back(fake(i));
        want.push_back(fake(i));
        assert_int_equal(l.size(), want.size());
        assert_true(std::equal(l.begin(), l.end(), want.begin(), want.end()));
    }
    for (size_t at : {size_t{4}, size_t{0}, size_t{6}, size_t{2}}) {
        l.erase(l.begin() + at);
        want.erase(want.begin() + static_cast<ptrdiff_t>(at));
        assert_true(std::equal(l.begin(), l.end(), want.begin(), want.end()));
    }
    while (!l.empty()) {
        assert_true(l[0] == want[0]);
        l.erase(l.begin());
        want.erase(want.begin());
    }
    l.push_back(fake(42));
    assert_int_equal(l.size(), 1);
    assert_true(l[0] == fake(42));
}

} // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_device_list),
        cmocka_unit_test(test_same_uid_device_kickout_4001),
        cmocka_unit_test(test_two_devices_receive_sender_copy),
        cmocka_unit_test(test_tickets_invalid_expired_valid),
        cmocka_unit_test(test_chat_ack_after_store_and_forced_from),
        cmocka_unit_test(test_retry_same_cli_mid_same_mid),
        cmocka_unit_test(test_resend_redelivers_without_storing),
        cmocka_unit_test(test_chat_data_in_any_key_order),
        cmocka_unit_test(test_ack_request_both_shapes),
        cmocka_unit_test(test_offline_receiver_delivered_at_next_login),
        cmocka_unit_test(test_replay_paced_never_closed),
        cmocka_unit_test(test_replay_continues_below_soft_mark),
        cmocka_unit_test(test_replay_retries_store_fault),
        cmocka_unit_test(test_group_seq_order_and_non_member),
        cmocka_unit_test(test_group_completions_out_of_order),
        cmocka_unit_test(test_group_members_failure_retried),
        cmocka_unit_test(test_message_cli_forwarded_not_stored),
        cmocka_unit_test(test_message_cli_across_codecs),
        cmocka_unit_test(test_presence_notify_state),
        cmocka_unit_test(test_store_failure_and_deadline),
        cmocka_unit_test(test_control_push_kick),
        cmocka_unit_test(test_fanout_with_close_and_empty_to),
        cmocka_unit_test(test_hub_gone_late_completion),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
