// The PostgreSQL store's own cases (the Store interface's shared ones run in
// test_store_backends), on a throwaway server (tests/support/pg_server.h): the schema's version
// and a newer one refused, the migration from version 1, the start errors (unreachable server,
// malformed URI, the password never shown), a burst split into transactions of 4096 calls, two
// stores on one database (mids never shared, group sequences without gap or repeat however the
// two interleave), and the server killed under a store: calls fail promptly with GLIDE_EIO,
// then the store reconnects by itself and nothing is stored twice.
// Skipped, and says so, when PostgreSQL is not installed.
#include <cstring>
#include <set>

#include "host/store/pg_store.h"
#include "store_suite.h"
#include "support/pg_server.h"

using namespace glide;
using store::Outcome;
using store::PgStore;
using suite::Fixture;

namespace {

testing::PgServer *pg;
int dbs = 0;
std::string db_name; // the database of the current case

std::unique_ptr<store::Store> open_pg(event_base *base, bool fresh) {
    if (fresh) {
        db_name = "own" + std::to_string(++dbs);
        if (!pg->create_db(db_name))
            fail_msg("CREATE DATABASE failed");
    }
    auto r = PgStore::open(base, pg->uri(db_name));
    if (!r)
        fail_msg("%s", r.error().c_str());
    return std::move(r.value());
}

suite::Backend backend{"postgresql", open_pg, true, [](store::Store &s) {
                           return static_cast<PgStore &>(s).commits();
                       }};

void test_schema_version_and_newer_refused(void **state) {
    Fixture f(state);
    assert_int_equal(f.put("A", "B", "1").mid, 1);
    f.s.reset();
    // Opening again finds the current version and migrates nothing: the data stays.
    f.reopen();
    assert_true(f.put("A", "B", "1").duplicate);
    f.s.reset();
    assert_true(pg->exec(db_name, "UPDATE glide_schema SET version = 99"));
    auto r = PgStore::open(f.base, pg->uri(db_name));
    assert_false(r.ok());
    assert_non_null(strstr(r.error().c_str(), "schema version 99 was written by a newer glided "
                                              "(this one knows up to 2)"));
    assert_non_null(strstr(r.error().c_str(), ("database \"" + db_name + "\"").c_str()));
}

// A database as the glided of schema version 1 left it (no group delivery cursors) is migrated:
// its members start at the newest mid, so what was said before is not replayed.
void test_migrates_version_1(void **state) {
    Fixture f(state);
    f.group(&store::Store::create_group, "g");
    f.done(&store::Store::add_member, "g", "A");
    f.publish("A", "g");
    f.s.reset();
    assert_true(pg->exec(db_name, "DROP INDEX glide_members_uid; DROP INDEX glide_messages_group; "
                                  "ALTER TABLE glide_members DROP COLUMN delivered_mid; "
                                  "UPDATE glide_schema SET version = 1"));
    f.reopen();
    assert_int_equal(f.entries("A", 0, 10).size(), 0);
    auto next = f.publish("A", "g");
    assert_int_equal(next.seq, 2);
    auto owed = f.entries("A", 0, 10);
    assert_int_equal(owed.size(), 1);
    assert_int_equal(owed[0].msg.mid, next.mid);
}

void test_start_errors(void **) {
    event_base *base = event_base_new();
    // Nobody listens on this socket directory.
    auto r = PgStore::open(base, "postgresql://glide:hush@/chat?host=/nonexistent&port=5999");
    assert_false(r.ok());
    assert_non_null(strstr(r.error().c_str(),
                           "store postgresql \"postgresql://glide:***@/chat?host=/nonexistent&"
                           "port=5999\": cannot connect to database \"chat\" on socket directory "
                           "\"/nonexistent\" port 5999: "));
    assert_null(strstr(r.error().c_str(), "hush"));
    auto bad = PgStore::open(base, "postgresql://h/db?nonsense=1");
    assert_false(bad.ok());
    assert_non_null(strstr(bad.error().c_str(), "invalid URI query parameter: \"nonsense\""));
    assert_false(store::pg_check_uri("mysql://h/db").ok());
    assert_true(store::pg_check_uri("postgresql:///db?host=/run/postgresql").ok());
    assert_string_equal(store::pg_redact("postgresql://u:p@h/d?password=x&sslmode=require").c_str(),
                        "postgresql://u:***@h/d?password=***&sslmode=require");
    event_base_free(base);
}

// Two stores (two glided nodes) on one database, their calls interleaved in batches.
void test_two_stores_share_mids_and_sequences(void **state) {
    Fixture f(state);
    auto second = PgStore::open(f.base, pg->uri(db_name));
    assert_true(second.ok());
    store::Store *stores[2] = {f.s.get(), second.value().get()};
    f.group(&store::Store::create_group, "g");
    f.done(&store::Store::add_member, "g", "A");
    const int n = 300;
    std::set<int64_t> mids, seqs;
    int answered = 0, bad = 0;
    for (int i = 0; i < n; i++) {
        store::Store *s = stores[i % 2];
        s->store_message(Fixture::msg("A", "B", "m" + std::to_string(i)),
                         [&](store::StoreResult r) {
                             bad += r.status != GLIDE_OK || !mids.insert(r.mid).second;
                             answered++;
                         });
        s->group_publish(Fixture::msg("A", "g", ""), [&](store::StoreResult r) {
            bad += r.status != GLIDE_OK || !mids.insert(r.mid).second ||
                   !seqs.insert(r.seq).second;
            answered++;
        });
    }
    for (int i = 0; answered < 2 * n && i < 1000000; i++)
        event_base_loop(f.base, EVLOOP_ONCE);
    assert_int_equal(answered, 2 * n);
    assert_int_equal(bad, 0);
    assert_int_equal(mids.size(), 2 * n);
    assert_int_equal(*seqs.begin(), 1); // 1 … n, no gap, no repeat
    assert_int_equal(*seqs.rbegin(), n);
    // A retry through the other node is still a duplicate.
    std::optional<store::StoreResult> dup;
    stores[1]->store_message(Fixture::msg("A", "B", "m0"), [&](store::StoreResult r) { dup = r; });
    assert_true(f.wait(dup).duplicate);
    assert_int_equal(f.page("B", 0, 1000).size(), n);
}

// A burst larger than a transaction's 4096 calls: several transactions, answered in order.
void test_large_burst_in_chunks(void **state) {
    Fixture f(state);
    const int n = 10000;
    int answered = 0;
    int64_t last = 0;
    bool ordered = true;
    uint64_t before = f.commits();
    for (int i = 0; i < n; i++)
        f.s->store_message(Fixture::msg("A", "B", std::to_string(i)), [&](store::StoreResult r) {
            ordered = ordered && r.status == GLIDE_OK && r.mid > last;
            last = r.mid;
            answered++;
        });
    for (int i = 0; answered < n && i < 1000000; i++)
        event_base_loop(f.base, EVLOOP_ONCE);
    assert_int_equal(answered, n);
    assert_true(ordered);
    assert_true(f.commits() - before >= 3); // 10,000 calls: at least three transactions
    assert_int_equal(last, n);
}

// The server dies under the store and comes back.
void test_server_killed_and_back(void **state) {
    Fixture f(state);
    int64_t first = f.put("A", "B", "before").mid;
    pg->stop(true); // immediate: no checkpoint
    // Calls fail (with the reason), promptly: the first finds the connection gone, the next
    // ones are refused while the store reconnects.
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < 3; i++) {
        auto r = f.put("A", "B", "down");
        assert_int_equal(r.status, GLIDE_EIO);
        assert_non_null(strstr(r.error.c_str(), "store: "));
    }
    std::optional<Outcome> g;
    f.s->create_group("g", [&](Outcome o) { g = o; });
    assert_int_equal(f.wait(g).status, GLIDE_EIO);
    assert_true(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(20));
    std::string error;
    if (!pg->restart(error))
        fail_msg("%s", error.c_str());
    // Back by itself, within the back-off's bound (5 s) and a loaded machine's slowness.
    store::StoreResult r;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    do {
        r = f.put("A", "B", "after");
        if (r.status == GLIDE_OK)
            break;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    } while (std::chrono::steady_clock::now() < deadline);
    assert_int_equal(r.status, GLIDE_OK);
    assert_true(r.mid > first);
    assert_true(f.put("A", "B", "before").duplicate); // what was committed survived the crash
    auto p = f.page("B", 0, 100);
    assert_int_equal(p.size(), 2);
}

} // namespace

int main() {
    testing::PgServer server;
    std::string error;
    if (!server.start(error)) {
        if (!error.empty()) {
            fprintf(stderr, "cannot start PostgreSQL: %s\n", error.c_str());
            return 1;
        }
        printf("skipped: no PostgreSQL (initdb not found: apt-get install postgresql)\n");
        printf("0 passed, 0 failed, 1 skipped\n");
        return 0;
    }
    pg = &server;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_prestate(test_schema_version_and_newer_refused, &backend),
        cmocka_unit_test_prestate(test_migrates_version_1, &backend),
        cmocka_unit_test(test_start_errors),
        cmocka_unit_test_prestate(test_two_stores_share_mids_and_sequences, &backend),
        cmocka_unit_test_prestate(test_large_burst_in_chunks, &backend),
        cmocka_unit_test_prestate(test_server_killed_and_back, &backend),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
