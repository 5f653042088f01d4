// The SQLite store: idempotency, undelivered paging and receipts, groups and sequences, what a
// close and reopen keeps, migration from an older schema, batching (one commit for a burst),
// and the start errors: a file that is not a database, a path that cannot be written, a schema
// from a newer glided.
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>

#include "store/sqlite_store.h"

#include "glide_cmocka.h"

using namespace glide;
using store::Outcome;
using store::SqliteStore;

namespace {

#define assert_str(a, b) assert_string_equal(std::string(a).c_str(), std::string(b).c_str())

struct Fixture {
    event_base *base = event_base_new();
    std::string dir;
    std::string path;
    std::unique_ptr<SqliteStore> s;

    Fixture() {
        char tmpl[] = "/tmp/glide-sqlite-test.XXXXXX";
        dir = mkdtemp(tmpl);
        path = dir + "/glide.db";
        reopen();
    }
    ~Fixture() {
        s.reset();
        event_base_free(base);
        std::string cmd = "rm -rf '" + dir + "'";
        assert_int_equal(system(cmd.c_str()), 0);
    }
    void reopen() {
        s.reset();
        auto r = SqliteStore::open(base, path, SqliteStore::Sync::normal);
        if (!r)
            fail_msg("%s", r.error().c_str());
        s = std::move(r.value());
    }
    // Runs the loop until `ready` holds a value.
    template <typename T> T wait(std::optional<T> &ready) {
        for (int i = 0; !ready && i < 100000; i++)
            event_base_loop(base, EVLOOP_ONCE);
        assert_true(ready.has_value());
        return std::move(*ready);
    }

    port::StoreResult put(const std::string &from, const std::string &to, const std::string &cli) {
        std::optional<port::StoreResult> r;
        s->store_message(msg(from, to, cli), [&](port::StoreResult x) { r = std::move(x); });
        assert_false(r.has_value()); // answered after the commit, on a later loop turn
        return wait(r);
    }
    port::StoreResult publish(const std::string &from, const std::string &gid) {
        std::optional<port::StoreResult> r;
        s->group_publish(msg(from, gid, ""), [&](port::StoreResult x) { r = std::move(x); });
        return wait(r);
    }
    std::vector<store::Message> page(const std::string &uid, int64_t after, uint32_t limit) {
        std::optional<std::vector<store::Message>> r;
        s->load_undelivered(uid, after, limit, [&](Outcome o, std::vector<store::Message> p) {
            assert_int_equal(o.status, GLIDE_OK);
            r = std::move(p);
        });
        return wait(r);
    }
    Outcome delivered(const std::string &uid, int64_t mid) {
        std::optional<Outcome> r;
        s->mark_delivered(uid, mid, [&](Outcome o) { r = o; });
        return wait(r);
    }
    Outcome done(void (SqliteStore::*call)(std::string, std::string, store::Store::Done),
                 const std::string &a, const std::string &b) {
        std::optional<Outcome> r;
        (s.get()->*call)(a, b, [&](Outcome o) { r = o; });
        return wait(r);
    }
    Outcome group(void (SqliteStore::*call)(std::string, store::Store::Done),
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

void test_idempotent_on_from_and_cli_mid(void **) {
    Fixture f;
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
    std::optional<port::StoreResult> r1, r2;
    f.s->store_message(Fixture::msg("D", "B", "x"), [&](port::StoreResult x) { r1 = x; });
    f.s->store_message(Fixture::msg("D", "B", "x"), [&](port::StoreResult x) { r2 = x; });
    f.wait(r1);
    auto second = f.wait(r2);
    assert_true(second.duplicate);
    assert_int_equal(second.mid, r1->mid);
}

void test_undelivered_pages_and_receipts(void **) {
    Fixture f;
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

void test_groups_and_sequences(void **) {
    Fixture f;
    assert_int_equal(f.group(&SqliteStore::create_group, "g1").status, GLIDE_OK);
    auto again = f.group(&SqliteStore::create_group, "g1");
    assert_int_equal(again.status, GLIDE_ESTATE);
    assert_str(again.error, store::group_exists);
    assert_int_equal(f.group(&SqliteStore::create_group, "g2").status, GLIDE_OK);
    assert_int_equal(f.done(&SqliteStore::add_member, "g1", "A").status, GLIDE_OK);
    assert_int_equal(f.done(&SqliteStore::add_member, "g1", "A").status, GLIDE_OK); // twice
    assert_int_equal(f.done(&SqliteStore::add_member, "g1", "B").status, GLIDE_OK);
    assert_int_equal(f.done(&SqliteStore::add_member, "g2", "A").status, GLIDE_OK);
    auto missing = f.done(&SqliteStore::add_member, "nope", "A");
    assert_int_equal(missing.status, GLIDE_ENOTFOUND);
    assert_str(missing.error, store::no_such_group);

    auto [o, m] = f.members("g1");
    assert_int_equal(o.status, GLIDE_OK);
    assert_int_equal(m.size(), 2);
    assert_str(m[0], "A");
    assert_str(m[1], "B");
    assert_int_equal(f.members("nope").first.status, GLIDE_ENOTFOUND);

    // Sequences per group, from 1, in call order (also within one batch).
    std::optional<port::StoreResult> r[4];
    f.s->group_publish(Fixture::msg("A", "g1", ""), [&](port::StoreResult x) { r[0] = x; });
    f.s->group_publish(Fixture::msg("B", "g1", ""), [&](port::StoreResult x) { r[1] = x; });
    f.s->group_publish(Fixture::msg("A", "g2", ""), [&](port::StoreResult x) { r[2] = x; });
    f.s->group_publish(Fixture::msg("A", "g1", ""), [&](port::StoreResult x) { r[3] = x; });
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
    assert_int_equal(f.page("g1", 0, 100).size(), 0); // group messages are not undelivered state

    auto not_member = f.done(&SqliteStore::remove_member, "g1", "C");
    assert_int_equal(not_member.status, GLIDE_ENOTFOUND);
    assert_str(not_member.error, store::not_member);
    assert_int_equal(f.done(&SqliteStore::remove_member, "g1", "B").status, GLIDE_OK);
    assert_str(f.publish("B", "g1").error, store::not_member);
    assert_int_equal(f.members("g1").second.size(), 1);

    assert_int_equal(f.group(&SqliteStore::delete_group, "g2").status, GLIDE_OK);
    assert_int_equal(f.group(&SqliteStore::delete_group, "g2").status, GLIDE_ENOTFOUND);
    std::optional<std::vector<std::string>> ids;
    f.s->list_groups([&](Outcome, std::vector<std::string> v) { ids = std::move(v); });
    auto list = f.wait(ids);
    assert_int_equal(list.size(), 1);
    assert_str(list[0], "g1");
    // A group created again starts over.
    assert_int_equal(f.group(&SqliteStore::create_group, "g2").status, GLIDE_OK);
    assert_int_equal(f.done(&SqliteStore::add_member, "g2", "A").status, GLIDE_OK);
    assert_int_equal(f.publish("A", "g2").seq, 1);
}

void test_restart_keeps_everything(void **) {
    Fixture f;
    f.group(&SqliteStore::create_group, "g");
    f.done(&SqliteStore::add_member, "g", "A");
    f.done(&SqliteStore::add_member, "g", "B");
    f.publish("A", "g");
    int64_t gmid = f.publish("B", "g").mid;
    for (int i = 0; i < 3; i++)
        f.put("A", "B", std::to_string(i));
    f.delivered("B", gmid + 1);

    f.reopen();
    auto p = f.page("B", 0, 100);
    assert_int_equal(p.size(), 2);
    assert_int_equal(p[0].mid, gmid + 2);
    auto dup = f.put("A", "B", "1"); // idempotency survives
    assert_true(dup.duplicate);
    assert_int_equal(dup.mid, gmid + 2);
    assert_int_equal(f.members("g").second.size(), 2);
    auto next = f.publish("A", "g"); // the sequence continues
    assert_int_equal(next.seq, 3);
    assert_true(next.mid > gmid + 3); // mids keep increasing
    assert_true(f.s->commits() > 0);
}

// Calls queued back to back are answered in order, committed in batches.
void test_burst_is_batched(void **) {
    Fixture f;
    uint64_t before = f.s->commits();
    const int n = 500;
    int answered = 0;
    int64_t last = 0;
    bool ordered = true;
    for (int i = 0; i < n; i++)
        f.s->store_message(Fixture::msg("A", "B", std::to_string(i)), [&](port::StoreResult r) {
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
    assert_true(f.s->commits() - before < static_cast<uint64_t>(n));
    assert_int_equal(f.page("B", 0, 1000).size(), n);
}

// A database written by schema version 1 (an older glided) is migrated at open, data kept.
void test_migrates_older_schema(void **) {
    Fixture f;
    f.s.reset();
    unlink(f.path.c_str());
    sqlite3 *db = nullptr;
    assert_int_equal(sqlite3_open(f.path.c_str(), &db), SQLITE_OK);
    const char *v1 =
        "CREATE TABLE messages (mid INTEGER PRIMARY KEY AUTOINCREMENT, kind INTEGER NOT NULL,"
        " sender TEXT NOT NULL, receiver TEXT NOT NULL, cli_mid TEXT NOT NULL,"
        " seq INTEGER NOT NULL, type INTEGER NOT NULL, content BLOB NOT NULL,"
        " send_at INTEGER NOT NULL);"
        "CREATE UNIQUE INDEX messages_cli_mid ON messages (sender, cli_mid)"
        " WHERE kind = 0 AND cli_mid <> '';"
        "CREATE TABLE undelivered (receiver TEXT NOT NULL, mid INTEGER NOT NULL,"
        " PRIMARY KEY (receiver, mid)) WITHOUT ROWID;"
        "CREATE TABLE groups (gid TEXT PRIMARY KEY, next_seq INTEGER NOT NULL) WITHOUT ROWID;"
        "CREATE TABLE members (gid TEXT NOT NULL, uid TEXT NOT NULL,"
        " PRIMARY KEY (gid, uid)) WITHOUT ROWID;"
        "INSERT INTO messages VALUES (41, 0, 'A', 'B', 'old', 0, 1, 'hello', 5);"
        "INSERT INTO undelivered VALUES ('B', 41);"
        "INSERT INTO groups VALUES ('g', 10);"
        "INSERT INTO members VALUES ('g', 'A');"
        "PRAGMA user_version = 1;";
    assert_int_equal(sqlite3_exec(db, v1, nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);

    f.reopen();
    auto p = f.page("B", 0, 10);
    assert_int_equal(p.size(), 1);
    assert_int_equal(p[0].mid, 41);
    assert_str(p[0].content, "hello");
    assert_true(f.put("A", "B", "old").duplicate);
    auto g = f.publish("A", "g");
    assert_int_equal(g.seq, 10);
    assert_int_equal(g.mid, 42);
    f.s.reset();

    assert_int_equal(sqlite3_open(f.path.c_str(), &db), SQLITE_OK);
    sqlite3_stmt *st = nullptr;
    sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, nullptr);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), SqliteStore::schema_version);
    sqlite3_finalize(st);
    // Version 2's columns exist (and were filled for the new member row's group only by default).
    assert_int_equal(sqlite3_exec(db, "SELECT created_at FROM groups; SELECT added_at FROM members",
                                  nullptr, nullptr, nullptr),
                     SQLITE_OK);
    // A schema from a newer glided is refused.
    assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 99", nullptr, nullptr, nullptr),
                     SQLITE_OK);
    sqlite3_close(db);
    auto r = SqliteStore::open(f.base, f.path, SqliteStore::Sync::full);
    assert_false(r.ok());
    assert_non_null(strstr(r.error().c_str(), "schema version 99 was written by a newer glided"));
    assert_non_null(strstr(r.error().c_str(), f.path.c_str()));
}

void test_corrupt_file_is_refused(void **) {
    Fixture f;
    f.s.reset();
    std::string junk = f.dir + "/junk.db";
    FILE *fp = fopen(junk.c_str(), "w");
    for (int i = 0; i < 200; i++)
        fputs("this is not a database file at all ", fp);
    fclose(fp);
    auto r = SqliteStore::open(f.base, junk, SqliteStore::Sync::normal);
    assert_false(r.ok());
    assert_str(r.error(), "store sqlite \"" + junk + "\": file is not a database");
}

void test_unwritable_path_is_refused(void **) {
    Fixture f;
    f.s.reset();
    // A directory that does not exist.
    std::string gone = f.dir + "/missing/glide.db";
    auto r = SqliteStore::open(f.base, gone, SqliteStore::Sync::normal);
    assert_false(r.ok());
    assert_str(r.error(), "store sqlite \"" + gone + "\": unable to open database file");
    // A read-only file (root may write anyway: then there is nothing to check).
    if (geteuid() != 0) {
        chmod(f.path.c_str(), 0444);
        auto ro = SqliteStore::open(f.base, f.path, SqliteStore::Sync::normal);
        assert_false(ro.ok());
        assert_non_null(strstr(ro.error().c_str(), f.path.c_str()));
    }
    // A path that is a directory.
    auto d = SqliteStore::open(f.base, f.dir, SqliteStore::Sync::normal);
    assert_false(d.ok());
    assert_non_null(strstr(d.error().c_str(), ("store sqlite \"" + f.dir + "\": ").c_str()));
}

} // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_idempotent_on_from_and_cli_mid),
        cmocka_unit_test(test_undelivered_pages_and_receipts),
        cmocka_unit_test(test_groups_and_sequences),
        cmocka_unit_test(test_restart_keeps_everything),
        cmocka_unit_test(test_burst_is_batched),
        cmocka_unit_test(test_migrates_older_schema),
        cmocka_unit_test(test_corrupt_file_is_refused),
        cmocka_unit_test(test_unwritable_path_is_refused),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
