// The Store interface's shared cases (host/store/store.h), run against every backend with the same
// assertions: idempotency on (from, cliMid), undelivered paging and receipts, groups and their
// sequences, group replay (pages with the group messages a member was not sent, cursors moved
// by group receipts, joins and removals), what a close and reopen keeps (durable backends),
// batching of a burst. A test
// program lists the backends it runs them on (suite::tests()); the backend-specific cases (start
// errors, migrations, reconnection) stay in each backend's own program.
#pragma once

#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "net/libevent.h"
#include "host/store/store.h"

#include "glide_cmocka.h"

namespace glide::suite {

#define assert_str(a, b) assert_string_equal(std::string(a).c_str(), std::string(b).c_str())

using store::Outcome;

struct Backend {
    std::string name;
    // Opens the store on `base`: fresh, on an empty database; else on the one opened last.
    std::function<std::unique_ptr<store::Store>(event_base *base, bool fresh)> open;
    // Keeps everything across a reopen, and answers on a later loop turn (after its commit).
    bool durable = true;
    // Transactions committed so far (0 for a backend without them).
    std::function<uint64_t(store::Store &)> commits = [](store::Store &) { return 0; };
};

struct Fixture {
    const Backend &b;
    event_base *base = event_base_new();
    std::unique_ptr<store::Store> s;

    explicit Fixture(void **state) : Fixture(*static_cast<const Backend *>(*state)) {}
    explicit Fixture(const Backend &backend) : b(backend) {
        s = b.open(base, true);
        if (!s)
            fail_msg("%s: cannot open the store", b.name.c_str());
    }
    ~Fixture() {
        s.reset();
        event_base_free(base);
    }
    void reopen() {
        s.reset();
        s = b.open(base, false);
        if (!s)
            fail_msg("%s: cannot reopen the store", b.name.c_str());
    }
    uint64_t commits() { return b.commits(*s); }
    // Runs the loop until `ready` holds a value (generous bound: a loaded machine is slow).
    template <typename T> T wait(std::optional<T> &ready) {
        for (int i = 0; !ready && i < 1000000; i++)
            event_base_loop(base, EVLOOP_ONCE);
        assert_true(ready.has_value());
        return std::move(*ready);
    }

    store::StoreResult put(const std::string &from, const std::string &to, const std::string &cli) {
        std::optional<store::StoreResult> r;
        s->store_message(msg(from, to, cli), [&](store::StoreResult x) { r = std::move(x); });
        if (b.durable)
            assert_false(r.has_value()); // answered after the commit, on a later loop turn
        return wait(r);
    }
    store::StoreResult publish(const std::string &from, const std::string &gid) {
        std::optional<store::StoreResult> r;
        s->group_publish(msg(from, gid, ""), [&](store::StoreResult x) { r = std::move(x); });
        return wait(r);
    }
    // A page as it comes: one-to-one and group messages.
    std::vector<store::PageMessage> entries(const std::string &uid, int64_t after,
                                            uint32_t limit) {
        std::optional<std::vector<store::PageMessage>> r;
        s->load_undelivered(uid, after, limit, [&](Outcome o, std::vector<store::PageMessage> p) {
            assert_int_equal(o.status, GLIDE_OK);
            r = std::move(p);
        });
        return wait(r);
    }
    // A page's messages.
    std::vector<store::Message> page(const std::string &uid, int64_t after, uint32_t limit) {
        std::vector<store::Message> out;
        for (store::PageMessage &m : entries(uid, after, limit))
            out.push_back(std::move(m.msg));
        return out;
    }
    // The mids of uid's whole page, group messages marked "g" + mid, one-to-one "c" + mid.
    std::string owed(const std::string &uid) {
        std::string out;
        for (const store::PageMessage &m : entries(uid, 0, 1000))
            out += (out.empty() ? "" : " ") + std::string(m.group ? "g" : "c") +
                   std::to_string(m.msg.mid);
        return out;
    }
    Outcome delivered(const std::string &uid, int64_t mid) {
        std::optional<Outcome> r;
        s->mark_delivered(uid, mid, [&](Outcome o) { r = o; });
        return wait(r);
    }
    Outcome group_delivered(const std::string &uid, int64_t first_mid, int64_t mid) {
        std::optional<Outcome> r;
        s->mark_group_delivered(uid, first_mid, mid, [&](Outcome o) { r = o; });
        return wait(r);
    }
    Outcome done(void (store::Store::*call)(std::string, std::string, store::Store::Done),
                 const std::string &a, const std::string &b2) {
        std::optional<Outcome> r;
        (s.get()->*call)(a, b2, [&](Outcome o) { r = o; });
        return wait(r);
    }
    Outcome group(void (store::Store::*call)(std::string, store::Store::Done),
                  const std::string &gid) {
        std::optional<Outcome> r;
        (s.get()->*call)(gid, [&](Outcome o) { r = o; });
        return wait(r);
    }
    std::pair<Outcome, std::vector<std::string>> members(const std::string &gid) {
        std::optional<std::pair<Outcome, std::vector<std::string>>> r;
        s->group_members(gid, [&](Outcome o, std::vector<std::string> m) {
            r = std::make_pair(o, std::move(m));
        });
        return wait(r);
    }
    static store::Message msg(const std::string &from, const std::string &to,
                              const std::string &cli) {
        store::Message m;
        m.from = from;
        m.to = to;
        m.cli_mid = cli;
        m.type = 1;
        m.content = "c-" + cli + std::string("\0\xff", 2); // bytes kept as given
        m.send_at = 1700000000000;
        m.seq = 7;
        return m;
    }
};

inline void test_idempotent_on_from_and_cli_mid(void **state) {
    Fixture f(state);
    int64_t last = 0;
    for (int i = 0; i < 5; i++) {
        auto r = f.put("A", "B", std::to_string(i));
        assert_int_equal(r.status, GLIDE_OK);
        assert_true(r.mid > last);
        assert_false(r.duplicate);
        last = r.mid;
    }
    auto dup = f.put("A", "B", "2");
    assert_true(dup.duplicate);
    assert_int_equal(dup.mid, 3);
    auto other = f.put("C", "B", "2"); // another sender: a new message
    assert_false(other.duplicate);
    assert_int_equal(other.mid, 6);
    auto e1 = f.put("A", "B", ""), e2 = f.put("A", "B", ""); // empty cliMid: never a duplicate
    assert_int_equal(e2.mid, e1.mid + 1);
    assert_int_equal(f.page("B", 0, 100).size(), 8); // the duplicate was not stored

    // Duplicates inside one batch: queued before the writer runs, committed together.
    std::optional<store::StoreResult> r1, r2;
    f.s->store_message(Fixture::msg("D", "B", "x"), [&](store::StoreResult x) { r1 = x; });
    f.s->store_message(Fixture::msg("D", "B", "x"), [&](store::StoreResult x) { r2 = x; });
    f.wait(r1);
    auto second = f.wait(r2);
    assert_true(second.duplicate);
    assert_int_equal(second.mid, r1->mid);
}

inline void test_undelivered_pages_and_receipts(void **state) {
    Fixture f(state);
    for (int i = 0; i < 7; i++)
        f.put("A", "B", std::to_string(i));
    auto p = f.page("B", 0, 3);
    assert_int_equal(p.size(), 3);
    assert_int_equal(p[0].mid, 1);
    assert_str(p[2].content, std::string("c-2\0\xff", 5));
    assert_str(p[2].from, "A");
    assert_str(p[2].to, "B");
    assert_str(p[2].cli_mid, "2");
    assert_int_equal(p[2].type, 1);
    assert_int_equal(p[2].seq, 7);
    assert_int_equal(p[2].send_at, 1700000000000);
    auto p2 = f.page("B", 3, 100);
    assert_int_equal(p2.size(), 4);
    assert_int_equal(p2[0].mid, 4);
    assert_int_equal(f.delivered("B", 4).status, GLIDE_OK);
    assert_int_equal(f.delivered("C", 5).status, GLIDE_OK); // not C's: settles nothing
    assert_int_equal(f.delivered("B", 4).status, GLIDE_OK); // twice: not an error
    auto p3 = f.page("B", 3, 100);
    assert_int_equal(p3.size(), 3);
    assert_int_equal(p3[0].mid, 5);
    assert_int_equal(f.page("C", 0, 100).size(), 0);
}

inline void test_groups_and_sequences(void **state) {
    Fixture f(state);
    assert_int_equal(f.group(&store::Store::create_group, "g1").status, GLIDE_OK);
    auto again = f.group(&store::Store::create_group, "g1");
    assert_int_equal(again.status, GLIDE_ESTATE);
    assert_str(again.error, store::group_exists);
    assert_int_equal(f.group(&store::Store::create_group, "g2").status, GLIDE_OK);
    assert_int_equal(f.done(&store::Store::add_member, "g1", "A").status, GLIDE_OK);
    assert_int_equal(f.done(&store::Store::add_member, "g1", "A").status, GLIDE_OK); // twice
    assert_int_equal(f.done(&store::Store::add_member, "g1", "B").status, GLIDE_OK);
    assert_int_equal(f.done(&store::Store::add_member, "g2", "A").status, GLIDE_OK);
    auto missing = f.done(&store::Store::add_member, "nope", "A");
    assert_int_equal(missing.status, GLIDE_ENOTFOUND);
    assert_str(missing.error, store::no_such_group);

    auto [o, m] = f.members("g1");
    assert_int_equal(o.status, GLIDE_OK);
    assert_int_equal(m.size(), 2);
    assert_str(m[0], "A");
    assert_str(m[1], "B");
    assert_int_equal(f.members("nope").first.status, GLIDE_ENOTFOUND);

    // Sequences per group, from 1, in call order (also within one batch).
    std::optional<store::StoreResult> r[4];
    f.s->group_publish(Fixture::msg("A", "g1", ""), [&](store::StoreResult x) { r[0] = x; });
    f.s->group_publish(Fixture::msg("B", "g1", ""), [&](store::StoreResult x) { r[1] = x; });
    f.s->group_publish(Fixture::msg("A", "g2", ""), [&](store::StoreResult x) { r[2] = x; });
    f.s->group_publish(Fixture::msg("A", "g1", ""), [&](store::StoreResult x) { r[3] = x; });
    for (auto &x : r)
        f.wait(x);
    assert_int_equal(r[0]->seq, 1);
    assert_int_equal(r[1]->seq, 2);
    assert_int_equal(r[2]->seq, 1);
    assert_int_equal(r[3]->seq, 3);
    assert_true(r[1]->mid > r[0]->mid && r[3]->mid > r[2]->mid);
    auto outsider = f.publish("C", "g1");
    assert_int_equal(outsider.status, GLIDE_ENOTFOUND);
    assert_str(outsider.error, store::not_member);
    assert_str(f.publish("A", "nope").error, store::no_such_group);
    assert_int_equal(f.page("g1", 0, 100).size(), 0); // a group is no receiver

    auto not_member = f.done(&store::Store::remove_member, "g1", "C");
    assert_int_equal(not_member.status, GLIDE_ENOTFOUND);
    assert_str(not_member.error, store::not_member);
    assert_int_equal(f.done(&store::Store::remove_member, "g1", "B").status, GLIDE_OK);
    assert_str(f.publish("B", "g1").error, store::not_member);
    assert_int_equal(f.members("g1").second.size(), 1);

    assert_int_equal(f.group(&store::Store::delete_group, "g2").status, GLIDE_OK);
    assert_int_equal(f.group(&store::Store::delete_group, "g2").status, GLIDE_ENOTFOUND);
    std::optional<std::vector<std::string>> ids;
    f.s->list_groups([&](Outcome, std::vector<std::string> v) { ids = std::move(v); });
    auto list = f.wait(ids);
    assert_int_equal(list.size(), 1);
    assert_str(list[0], "g1");
    // A group created again starts over.
    assert_int_equal(f.group(&store::Store::create_group, "g2").status, GLIDE_OK);
    assert_int_equal(f.done(&store::Store::add_member, "g2", "A").status, GLIDE_OK);
    assert_int_equal(f.publish("A", "g2").seq, 1);
}

// Group replay: a member's page holds the messages of its groups past its cursor, by mid with
// its one-to-one messages, each group's in sequence order; receipts move the cursor only over
// a run that follows on; a member added later owes nothing from before; a removed one nothing.
inline void test_group_replay(void **state) {
    Fixture f(state);
    auto m = [](int64_t mid) { return std::to_string(mid); };
    f.group(&store::Store::create_group, "g1");
    f.group(&store::Store::create_group, "g2");
    for (const char *uid : {"A", "B"})
        f.done(&store::Store::add_member, "g1", uid);
    f.done(&store::Store::add_member, "g2", "B");
    int64_t a1 = f.publish("A", "g1").mid;
    int64_t c1 = f.put("A", "B", "x").mid;
    int64_t b1 = f.publish("B", "g2").mid;
    int64_t a2 = f.publish("A", "g1").mid;
    int64_t a3 = f.publish("B", "g1").mid;
    // B: both groups and the chat, by mid; A (the sender is a member too): g1 only.
    const std::string all = "g" + m(a1) + " c" + m(c1) + " g" + m(b1) + " g" + m(a2) + " g" + m(a3);
    assert_str(f.owed("B"), all);
    assert_str(f.owed("A"), "g" + m(a1) + " g" + m(a2) + " g" + m(a3));
    auto p = f.entries("B", 0, 100);
    assert_true(p[0].group);
    assert_str(p[0].msg.to, "g1");
    assert_str(p[0].msg.from, "A");
    assert_int_equal(p[0].msg.seq, 1);
    assert_str(p[0].msg.cli_mid, "");
    assert_str(p[0].msg.content, std::string("c-\0\xff", 4));
    assert_int_equal(p[0].msg.type, 1);
    assert_int_equal(p[0].msg.send_at, 1700000000000);
    assert_false(p[1].group);
    assert_int_equal(p[4].msg.seq, 3);
    // Paging: a limit cuts across the sources, after_mid goes on from there.
    auto first = f.entries("B", 0, 2);
    assert_int_equal(first.size(), 2);
    assert_int_equal(first[1].msg.mid, c1);
    auto rest = f.entries("B", c1, 2);
    assert_int_equal(rest.size(), 2);
    assert_int_equal(rest[0].msg.mid, b1);
    assert_int_equal(rest[1].msg.mid, a2);
    assert_int_equal(f.entries("B", a3, 100).size(), 0);

    // A run that follows on moves the cursor; one that skips a message does not.
    assert_int_equal(f.group_delivered("B", a2, a3).status, GLIDE_OK); // a1 not sent: no move
    assert_str(f.owed("B"), all);
    assert_int_equal(f.group_delivered("B", a1, a1).status, GLIDE_OK);
    assert_str(f.owed("B"), "c" + m(c1) + " g" + m(b1) + " g" + m(a2) + " g" + m(a3));
    assert_int_equal(f.group_delivered("B", a1, a2).status, GLIDE_OK); // overlaps: moves on
    assert_str(f.owed("B"), "c" + m(c1) + " g" + m(b1) + " g" + m(a3));
    assert_int_equal(f.group_delivered("B", a1, a2).status, GLIDE_OK); // again: no change
    assert_int_equal(f.group_delivered("B", b1, a3).status, GLIDE_OK); // not one group: ignored
    assert_int_equal(f.group_delivered("B", a3, a2).status, GLIDE_OK); // backwards: ignored
    assert_int_equal(f.group_delivered("C", a1, a3).status, GLIDE_OK); // not a member: ignored
    assert_int_equal(f.group_delivered("B", c1, c1).status, GLIDE_OK); // not a group message
    assert_str(f.owed("B"), "c" + m(c1) + " g" + m(b1) + " g" + m(a3));
    assert_int_equal(f.group_delivered("B", b1, b1).status, GLIDE_OK);
    assert_int_equal(f.group_delivered("B", a3, a3).status, GLIDE_OK);
    assert_str(f.owed("B"), "c" + m(c1)); // the one-to-one message waits for its own receipt
    assert_int_equal(f.delivered("B", a1).status, GLIDE_OK); // a chat receipt moves no cursor
    assert_str(f.owed("A"), "g" + m(a1) + " g" + m(a2) + " g" + m(a3));

    // A member added later owes nothing from before it joined; then what follows.
    f.done(&store::Store::add_member, "g1", "C");
    f.done(&store::Store::add_member, "g1", "A"); // again: its cursor stays
    assert_str(f.owed("C"), "");
    assert_str(f.owed("A"), "g" + m(a1) + " g" + m(a2) + " g" + m(a3));
    auto four = f.publish("C", "g1");
    assert_int_equal(four.seq, 4);
    assert_str(f.owed("C"), "g" + m(four.mid));
    assert_str(f.owed("B"), "c" + m(c1) + " g" + m(four.mid));

    // A removed member owes nothing; added again, nothing from while it was away.
    assert_int_equal(f.done(&store::Store::remove_member, "g1", "B").status, GLIDE_OK);
    assert_str(f.owed("B"), "c" + m(c1));
    f.publish("A", "g1");
    f.done(&store::Store::add_member, "g1", "B");
    assert_str(f.owed("B"), "c" + m(c1));
    int64_t six = f.publish("A", "g1").mid;
    assert_str(f.owed("B"), "c" + m(c1) + " g" + m(six));

    // A group deleted and created again: its old messages (same gid, sequences from 1 again)
    // are owed to nobody.
    f.publish("B", "g2");
    assert_int_equal(f.group(&store::Store::delete_group, "g2").status, GLIDE_OK);
    assert_str(f.owed("B"), "c" + m(c1) + " g" + m(six));
    f.group(&store::Store::create_group, "g2");
    f.done(&store::Store::add_member, "g2", "B");
    assert_str(f.owed("B"), "c" + m(c1) + " g" + m(six));
    auto again = f.publish("B", "g2");
    assert_int_equal(again.seq, 1);
    assert_str(f.owed("B"), "c" + m(c1) + " g" + m(six) + " g" + m(again.mid));
}

// Many group messages for a member who missed them: paged in full, in sequence order, none
// twice; a receipt over the first half leaves the second.
inline void test_group_replay_pages(void **state) {
    Fixture f(state);
    f.group(&store::Store::create_group, "g");
    f.done(&store::Store::add_member, "g", "A");
    f.done(&store::Store::add_member, "g", "B");
    const int n = 300;
    int answered = 0;
    std::vector<int64_t> mids;
    for (int i = 0; i < n; i++)
        f.s->group_publish(Fixture::msg("A", "g", ""), [&](store::StoreResult r) {
            assert_int_equal(r.status, GLIDE_OK);
            mids.push_back(r.mid);
            answered++;
        });
    for (int i = 0; answered < n && i < 100000; i++)
        event_base_loop(f.base, EVLOOP_ONCE);
    assert_int_equal(answered, n);
    std::vector<int64_t> seen;
    int64_t after = 0;
    for (;;) {
        auto p = f.entries("B", after, 64);
        for (const store::PageMessage &e : p) {
            assert_true(e.group);
            assert_int_equal(e.msg.seq, static_cast<int64_t>(seen.size()) + 1);
            seen.push_back(e.msg.mid);
            after = e.msg.mid;
        }
        if (p.size() < 64)
            break;
    }
    assert_true(seen == mids);
    assert_int_equal(f.group_delivered("B", mids[0], mids[n / 2 - 1]).status, GLIDE_OK);
    auto p = f.entries("B", 0, 1000);
    assert_int_equal(p.size(), n - n / 2);
    assert_int_equal(p[0].msg.seq, n / 2 + 1);
}

inline void test_restart_keeps_everything(void **state) {
    Fixture f(state);
    if (!f.b.durable)
        return; // memory keeps nothing across a restart
    f.group(&store::Store::create_group, "g");
    f.done(&store::Store::add_member, "g", "A");
    f.done(&store::Store::add_member, "g", "B");
    f.publish("A", "g");
    int64_t gmid = f.publish("B", "g").mid;
    for (int i = 0; i < 3; i++)
        f.put("A", "B", std::to_string(i));
    f.delivered("B", gmid + 1);
    f.group_delivered("B", gmid - 1, gmid); // B was sent both group messages; A none

    f.reopen();
    auto p = f.page("B", 0, 100);
    assert_int_equal(p.size(), 2);
    assert_int_equal(p[0].mid, gmid + 2);
    auto owed_a = f.entries("A", 0, 100); // the cursors survive
    assert_int_equal(owed_a.size(), 2);
    assert_true(owed_a[0].group && owed_a[1].group);
    assert_int_equal(owed_a[1].msg.mid, gmid);
    auto dup = f.put("A", "B", "1"); // idempotency survives
    assert_true(dup.duplicate);
    assert_int_equal(dup.mid, gmid + 2);
    assert_int_equal(f.members("g").second.size(), 2);
    auto next = f.publish("A", "g"); // the sequence continues
    assert_int_equal(next.seq, 3);
    assert_true(next.mid > gmid + 3); // mids keep increasing
    assert_true(f.commits() > 0);
}

// Calls queued back to back are answered in order, committed in batches.
inline void test_burst_is_batched(void **state) {
    Fixture f(state);
    uint64_t before = f.commits();
    const int n = 500;
    int answered = 0;
    int64_t last = 0;
    bool ordered = true;
    for (int i = 0; i < n; i++)
        f.s->store_message(Fixture::msg("A", "B", std::to_string(i)), [&](store::StoreResult r) {
            ordered = ordered && r.mid > last;
            last = r.mid;
            answered++;
        });
    for (int i = 0; answered < n && i < 100000; i++)
        event_base_loop(f.base, EVLOOP_ONCE);
    assert_int_equal(answered, n);
    assert_true(ordered);
    // One transaction per batch: never more commits than calls, and fewer whenever the calls
    // were queued faster than the writer committed (they were all queued before the loop ran).
    assert_true(f.commits() - before < static_cast<uint64_t>(n));
    assert_int_equal(f.page("B", 0, 1000).size(), n);
}


// The cases, named "BACKEND: case", with `b` as their state.
inline std::vector<CMUnitTest> tests(const Backend &b) {
    struct Case {
        const char *name;
        CMUnitTestFunction fn;
    } cases[] = {
        {"idempotent_on_from_and_cli_mid", test_idempotent_on_from_and_cli_mid},
        {"undelivered_pages_and_receipts", test_undelivered_pages_and_receipts},
        {"groups_and_sequences", test_groups_and_sequences},
        {"group_replay", test_group_replay},
        {"group_replay_pages", test_group_replay_pages},
        {"restart_keeps_everything", test_restart_keeps_everything},
        {"burst_is_batched", test_burst_is_batched},
    };
    static std::deque<std::string> names; // CMUnitTest keeps the pointer
    std::vector<CMUnitTest> out;
    for (const Case &c : cases) {
        names.push_back(b.name + ": " + c.name);
        out.push_back({names.back().c_str(), c.fn, nullptr, nullptr,
                       const_cast<Backend *>(&b)});
    }
    return out;
}

} // namespace glide::suite
