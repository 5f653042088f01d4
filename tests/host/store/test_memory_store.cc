// The in-memory host store on its own: mids, idempotency, undelivered pages, receipts, group
// sequences, auth with glide credentials, and the test knobs (delay, hold, failures), plus the
// exactly-once rule of HostRequest completions.
#include <string>

#include "support/proto_fakes.h"

#include "glide_cmocka.h"

using namespace glide;
using Kind = store::MemoryStore::Kind;
using port::HostRequest;

namespace {

#define assert_str(a, b) assert_string_equal(std::string(a).c_str(), std::string(b).c_str())

port::RequestPtr req(Kind k) {
    return std::make_shared<HostRequest>(nullptr, k, nullptr);
}

codec::ChatMessage msg(const std::string &from, const std::string &to, const std::string &cli) {
    codec::ChatMessage m;
    m.from = from;
    m.to = to;
    m.cli_mid = cli;
    m.content = "c-" + cli;
    return m;
}

void test_mids_increasing_and_idempotent(void **) {
    fakes::FakeTimers t;
    store::MemoryStore s(&t, "");
    int64_t last = 0;
    for (int i = 0; i < 5; i++) {
        auto r = req(Kind::store_message);
        assert_int_equal(s.store_message(r, msg("A", "B", std::to_string(i))), GLIDE_OK);
        assert_true(r->finished());
        assert_int_equal(r->store_result().mid, last + 1);
        assert_false(r->store_result().duplicate);
        last = r->store_result().mid;
    }
    auto dup = req(Kind::store_message);
    (void)s.store_message(dup, msg("A", "B", "2"));
    assert_true(dup->store_result().duplicate);
    assert_int_equal(dup->store_result().mid, 3);
    assert_int_equal(s.stored(), 5);
    // (from, cliMid): another sender with the same cliMid is a new message.
    auto other = req(Kind::store_message);
    (void)s.store_message(other, msg("C", "B", "2"));
    assert_int_equal(other->store_result().mid, 6);
    // An empty cliMid is never a duplicate.
    auto e1 = req(Kind::store_message), e2 = req(Kind::store_message);
    (void)s.store_message(e1, msg("A", "B", ""));
    (void)s.store_message(e2, msg("A", "B", ""));
    assert_int_equal(e2->store_result().mid, e1->store_result().mid + 1);
    assert_true(e2->store_result().mid < (int64_t(1) << 53));
}

void test_undelivered_pages_and_receipts(void **) {
    fakes::FakeTimers t;
    store::MemoryStore s(&t, "");
    for (int i = 0; i < 7; i++) {
        auto r = req(Kind::store_message);
        (void)s.store_message(r, msg("A", "B", std::to_string(i)));
    }
    auto p = req(Kind::load_undelivered);
    assert_int_equal(s.load_undelivered(p, "B", "d1", 0, 3), GLIDE_OK);
    assert_int_equal(p->status(), GLIDE_OK);
    assert_int_equal(p->page().size(), 3);
    assert_int_equal(p->page()[0].msg.mid, 1);
    assert_false(p->page()[0].group);
    assert_str(p->page()[2].msg.content, "c-2");
    auto p2 = req(Kind::load_undelivered);
    (void)s.load_undelivered(p2, "B", "d1", 3, 100);
    assert_int_equal(p2->page().size(), 4);
    assert_int_equal(p2->page()[0].msg.mid, 4);
    auto d = req(Kind::mark_delivered);
    (void)s.mark_delivered(d, "B", "d1", 4);
    assert_int_equal(d->status(), GLIDE_OK);
    // A receipt from someone else than the receiver settles nothing.
    auto wrong = req(Kind::mark_delivered);
    (void)s.mark_delivered(wrong, "C", "d1", 5);
    auto left = s.undelivered("B");
    assert_int_equal(left.size(), 6);
    assert_int_equal(left[3], 5);
    assert_int_equal(s.undelivered("A").size(), 0);
}

void test_groups_sequence_and_membership(void **) {
    fakes::FakeTimers t;
    store::MemoryStore s(&t, "");
    s.create_group("g1");
    s.create_group("g2");
    s.add_member("g1", "A");
    s.add_member("g2", "A");
    for (int i = 1; i <= 3; i++) {
        auto r = req(Kind::group_publish);
        (void)s.group_publish(r, msg("A", "g1", "x" + std::to_string(i)));
        assert_int_equal(r->store_result().seq, i); // starts at 1
    }
    auto r2 = req(Kind::group_publish);
    (void)s.group_publish(r2, msg("A", "g2", "y"));
    assert_int_equal(r2->store_result().seq, 1); // per group
    assert_int_equal(r2->store_result().mid, 4); // mids shared with chat
    auto nm = req(Kind::group_publish);
    (void)s.group_publish(nm, msg("B", "g1", "z"));
    assert_int_equal(nm->status(), GLIDE_ENOTFOUND);
    assert_str(nm->error(), "not member of channel");
    auto ng = req(Kind::group_publish);
    (void)s.group_publish(ng, msg("A", "nope", "z"));
    assert_str(ng->error(), "channel does not exist");
    auto m = req(Kind::group_members);
    s.add_member("g1", "B");
    (void)s.group_members(m, "g1");
    assert_int_equal(m->members().size(), 2);
    s.remove_member("g1", "B");
    auto m2 = req(Kind::group_members);
    (void)s.group_members(m2, "g1");
    assert_int_equal(m2->members().size(), 1);
    // The sequence survives membership changes.
    auto r4 = req(Kind::group_publish);
    (void)s.group_publish(r4, msg("A", "g1", "x4"));
    assert_int_equal(r4->store_result().seq, 4);
}

void test_auth_credentials(void **) {
    fakes::FakeTimers t;
    store::MemoryStore s(&t, "secret_key");
    codec::ClientAuthCredentials c;
    c.user_id = "1001";
    c.device_id = "phone";
    c.device_name = "Phone";
    c.has_secrets = true;
    c.secrets.message_deliver_secret = "abc";
    c.has_connection_config = true;
    c.connection_config.heartbeat_duration = 20;
    c.connection_config.allow_max_heartbeat_lost = 5;
    c.timestamp = t.wall_ms();
    auto cred = codec::seal_credential("secret_key", c);
    auto r = req(Kind::auth);
    port::AuthInput in;
    in.credential = cred.value();
    assert_int_equal(s.auth(r, in), GLIDE_OK);
    auto &a = r->auth_result();
    assert_true(a.accepted);
    assert_str(a.uid, "1001");
    assert_str(a.device_id, "phone");
    assert_str(a.device_name, "Phone");
    assert_str(a.message_deliver_secret, "abc");
    assert_int_equal(a.heartbeat_interval_ms, 20000);
    assert_int_equal(a.heartbeat_lost, 5);
    // Wrong secret, garbage, expired.
    store::MemoryStore other(&t, "another");
    auto r2 = req(Kind::auth);
    (void)other.auth(r2, in);
    assert_false(r2->auth_result().accepted);
    assert_str(r2->auth_result().error, "invalid authenticate message");
    t.advance(codec::credential_max_age_ms + 1);
    auto r3 = req(Kind::auth);
    (void)s.auth(r3, in);
    assert_str(r3->auth_result().error, "credential expired");
    store::MemoryStore none(&t, "");
    auto r4 = req(Kind::auth);
    (void)none.auth(r4, in);
    assert_str(r4->auth_result().error, "authentication is not configured");
}

void test_knobs_delay_hold_failure(void **) {
    fakes::FakeTimers t;
    store::MemoryStore s(&t, "");
    s.set_delay(Kind::store_message, 30);
    auto r = req(Kind::store_message);
    assert_int_equal(s.store_message(r, msg("A", "B", "1")), GLIDE_PENDING);
    assert_false(r->finished());
    assert_int_equal(s.stored(), 0); // commits when it answers
    t.advance(30);
    assert_true(r->finished());
    assert_int_equal(s.stored(), 1);
    s.set_delay(Kind::store_message, store::MemoryStore::hold);
    auto h = req(Kind::store_message);
    assert_int_equal(s.store_message(h, msg("A", "B", "2")), GLIDE_PENDING);
    t.advance(100000);
    assert_false(h->finished());
    assert_int_equal(s.held(), 1);
    assert_int_equal(s.release_held(), 1);
    assert_int_equal(h->store_result().mid, 2);
    s.set_delay(Kind::store_message, 0);
    s.fail_next(Kind::store_message, GLIDE_EIO, "disk full", 2);
    for (int i = 0; i < 2; i++) {
        auto f = req(Kind::store_message);
        (void)s.store_message(f, msg("A", "B", "f"));
        assert_int_equal(f->status(), GLIDE_EIO);
        assert_str(f->error(), "disk full");
    }
    auto ok = req(Kind::store_message);
    (void)s.store_message(ok, msg("A", "B", "f"));
    assert_int_equal(ok->status(), GLIDE_OK);
    assert_int_equal(s.calls(Kind::store_message), 5);
    // A store destroyed with delayed answers pending cancels its timers.
    {
        store::MemoryStore d(&t, "");
        d.set_delay(Kind::store_message, 10);
        auto x = req(Kind::store_message);
        (void)d.store_message(x, msg("A", "B", "1"));
        assert_int_equal(t.pending(), 1);
    }
    assert_int_equal(t.pending(), 0);
}

// A request is completed at most once, and only by the completion of its kind.
void test_request_completed_exactly_once(void **) {
    auto r = req(Kind::store_message);
    assert_false(r->auth_done({}));
    assert_false(r->request_done(GLIDE_OK));
    assert_false(r->page_add({}));
    port::StoreResult sr;
    sr.mid = 9;
    assert_true(r->store_done(sr));
    sr.mid = 10;
    assert_false(r->store_done(sr));
    assert_int_equal(r->store_result().mid, 9);
    auto m = req(Kind::group_members);
    assert_true(m->member_add("A"));
    assert_true(m->request_done(GLIDE_OK));
    assert_false(m->member_add("B"));
    assert_int_equal(m->members().size(), 1);
}

// --- the backend on its own: bounded memory, the duplicate window, replay order ---

// The message as glided's store takes it.
store::Message smsg(const std::string &from, const std::string &to, const std::string &cli) {
    store::Message m;
    m.from = from;
    m.to = to;
    m.cli_mid = cli;
    m.content = "c-" + cli;
    return m;
}

int64_t put(store::MemoryBackend &b, const std::string &from, const std::string &to,
            const std::string &cli) {
    store::StoreResult r;
    b.store_message(smsg(from, to, cli), [&](store::StoreResult x) { r = std::move(x); });
    assert_int_equal(r.status, GLIDE_OK);
    return r.duplicate ? -r.mid : r.mid;
}

void deliver(store::MemoryBackend &b, const std::string &uid, int64_t mid) {
    bool done = false;
    b.mark_delivered(uid, mid, [&](store::Outcome o) { done = o.ok(); });
    assert_true(done);
}

std::vector<store::Message> page(store::MemoryBackend &b, const std::string &uid,
                                     int64_t after, uint32_t limit) {
    std::vector<store::Message> out;
    b.load_undelivered(uid, after, limit, [&](store::Outcome o, std::vector<store::PageMessage> p) {
        assert_true(o.ok());
        for (store::PageMessage &m : p)
            out.push_back(std::move(m.msg));
    });
    return out;
}

// Delivered messages are let go: after many messages, all acknowledged, nothing is retained,
// the receivers without messages are dropped in bulk, and the duplicate check holds at most
// its window.
void test_backend_memory_bounded(void **) {
    store::MemoryBackend b(100);
    for (int i = 0; i < 5000; i++) {
        std::string to = "u" + std::to_string(i % 2000);
        int64_t mid = put(b, "s" + std::to_string(i % 7), to, "c" + std::to_string(i));
        assert_int_equal(mid, i + 1);
        if (i % 3 == 0) // some are acknowledged at once, the others in a second pass
            deliver(b, to, mid);
    }
    assert_int_equal(b.stored(), 5000);
    assert_int_equal(b.retained(), 5000 - 1667);
    assert_int_equal(b.remembered(), 100);
    assert_non_null(b.message(2));
    assert_null(b.message(1));
    for (int i = 0; i < 5000; i++)
        if (i % 3 != 0)
            deliver(b, "u" + std::to_string(i % 2000), i + 1);
    assert_int_equal(b.retained(), 0);
    assert_null(b.message(2));
    assert_true(b.receivers() <= 1024); // the emptied ones beyond the kept number went
    // A group message is kept while a member has not been sent it.
    b.create_group("g", [](store::Outcome) {});
    b.add_member("g", "s1", [](store::Outcome) {});
    b.add_member("g", "s2", [](store::Outcome) {});
    store::StoreResult g;
    b.group_publish(smsg("s1", "g", "x"), [&](store::StoreResult x) { g = x; });
    assert_int_equal(g.mid, 5001);
    assert_int_equal(g.seq, 1);
    assert_int_equal(b.stored(), 5001);
    assert_int_equal(b.retained(), 0);
    assert_null(b.message(5001)); // not a one-to-one message
    assert_int_equal(b.group_kept(), 1);
    assert_int_equal(b.cursor("g", "s1"), 5000); // joined when 5000 was the last mid
    assert_int_equal(b.cursor("g", "nobody"), -1);
    // Members sent every message: what is kept stays bounded (trimmed when it doubled).
    auto receipt = [&](const char *uid, int64_t first, int64_t last) {
        b.mark_group_delivered(uid, first, last, [](store::Outcome o) { assert_true(o.ok()); });
    };
    receipt("s1", 5001, 5001);
    receipt("s2", 5001, 5001);
    for (int round = 0; round < 50; round++) {
        int64_t first = 0, last = 0;
        for (int i = 0; i < 100; i++)
            b.group_publish(smsg("s1", "g", ""), [&](store::StoreResult x) {
                first = first ? first : x.mid;
                last = x.mid;
            });
        receipt("s1", first, last);
        receipt("s2", first, last);
        assert_true(b.group_kept() <= 264);
    }
    assert_int_equal(b.cursor("g", "s2"), 10001);
    // A member never sent anything holds every message back, until it leaves.
    b.add_member("g", "s3", [](store::Outcome) {});
    for (int i = 0; i < 1000; i++)
        b.group_publish(smsg("s1", "g", ""), [](store::StoreResult) {});
    assert_true(b.group_kept() >= 1000);
    b.remove_member("g", "s3", [](store::Outcome) {});
    receipt("s1", 10002, 11001);
    receipt("s2", 10002, 11001);
    for (int i = 0; i < 1000; i++)
        b.group_publish(smsg("s1", "g", ""), [](store::StoreResult) {});
    assert_true(b.group_kept() <= 1000 + 64);
    // A deleted group keeps nothing.
    b.delete_group("g", [](store::Outcome) {});
    assert_int_equal(b.group_kept(), 0);
}

// A retry within the window answers the first mid (delivered or not); one after the window is
// a new message.
void test_backend_duplicate_window(void **) {
    store::MemoryBackend b(4);
    int64_t first = put(b, "A", "B", "x");
    assert_int_equal(put(b, "A", "B", "x"), -first);
    deliver(b, "B", first);
    assert_int_equal(put(b, "A", "B", "x"), -first); // still remembered once delivered
    assert_int_equal(put(b, "C", "B", "x"), first + 1); // another sender
    put(b, "A", "B", "y");
    put(b, "A", "B", "z");
    assert_int_equal(put(b, "A", "B", "z"), -(first + 3));
    assert_int_equal(b.remembered(), 4);
    put(b, "A", "B", "w"); // the fifth pair pushes out the first, ("A", "x")
    int64_t again = put(b, "A", "B", "x");
    assert_int_equal(again, first + 5);
    assert_int_equal(put(b, "A", "B", "x"), -again);
    assert_int_equal(put(b, "C", "B", "x"), first + 6); // ("C", "x") went too
    assert_int_equal(put(b, "A", "B", "w"), -(first + 4));
    // Many pairs through a small window: the index stays consistent with the ring.
    store::MemoryBackend big(1000);
    for (int i = 0; i < 20000; i++)
        assert_true(put(big, "s" + std::to_string(i % 13), "r", std::to_string(i)) > 0);
    for (int i = 19000; i < 20000; i++)
        assert_int_equal(put(big, "s" + std::to_string(i % 13), "r", std::to_string(i)), -(i + 1));
    assert_true(put(big, "s" + std::to_string(18999 % 13), "r", "18999") > 0);
}

// Replay after partial, out-of-order delivery: what is left comes oldest first, pages go on
// after the last mid seen, and acknowledging twice or an unknown mid changes nothing.
void test_backend_replay_order(void **) {
    store::MemoryBackend b;
    for (int i = 1; i <= 100; i++)
        assert_int_equal(put(b, "A", "B", std::to_string(i)), i);
    for (int i = 1; i <= 100; i++)
        if (i % 4 == 0 || (i > 10 && i < 60 && i % 5 != 1))
            deliver(b, "B", i);
    deliver(b, "B", 8);   // twice
    deliver(b, "B", 500); // unknown
    deliver(b, "C", 1);   // not C's
    std::vector<int64_t> want;
    for (int i = 1; i <= 100; i++)
        if (!(i % 4 == 0 || (i > 10 && i < 60 && i % 5 != 1)))
            want.push_back(i);
    assert_true(b.undelivered("B") == want);
    assert_int_equal(b.retained(), want.size());
    std::vector<int64_t> got;
    int64_t after = 0;
    for (;;) {
        auto p = page(b, "B", after, 7);
        if (p.empty())
            break;
        for (auto &m : p) {
            assert_true(m.mid > after);
            assert_str(m.content, "c-" + std::to_string(m.mid));
            assert_str(m.from, "A");
            got.push_back(m.mid);
            after = m.mid;
        }
    }
    assert_true(got == want);
    assert_int_equal(page(b, "B", 60, 1)[0].mid, 61);
    assert_int_equal(page(b, "B", 59, 2)[0].mid, 61);
    // New messages after the holes still come last; delivering everything empties the queue.
    assert_int_equal(put(b, "A", "B", "101"), 101);
    assert_int_equal(page(b, "B", 99, 10).size(), 1);
    for (int64_t mid : b.undelivered("B"))
        deliver(b, "B", mid);
    assert_int_equal(b.retained(), 0);
    assert_int_equal(page(b, "B", 0, 10).size(), 0);
    assert_int_equal(put(b, "A", "B", "102"), 102);
    assert_int_equal(page(b, "B", 0, 10)[0].mid, 102);
}

} // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mids_increasing_and_idempotent),
        cmocka_unit_test(test_undelivered_pages_and_receipts),
        cmocka_unit_test(test_groups_sequence_and_membership),
        cmocka_unit_test(test_auth_credentials),
        cmocka_unit_test(test_knobs_delay_hold_failure),
        cmocka_unit_test(test_request_completed_exactly_once),
        cmocka_unit_test(test_backend_memory_bounded),
        cmocka_unit_test(test_backend_duplicate_window),
        cmocka_unit_test(test_backend_replay_order),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
