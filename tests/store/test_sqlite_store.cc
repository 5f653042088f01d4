// The SQLite store's own cases (the Store interface's shared ones run in test_store_backends):
// migration from an older schema, and the start errors: a file that is not a database, a path
// that cannot be written, a schema from a newer glided.
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>

#include "store/sqlite_store.h"
#include "store_suite.h"

#include "glide_cmocka.h"

using namespace glide;
using store::SqliteStore;

namespace {

// A temporary directory with the database path, removed at the end.
struct TempDir {
    std::string dir, path;
    TempDir() {
        char tmpl[] = "/tmp/glide-sqlite-test.XXXXXX";
        dir = mkdtemp(tmpl);
        path = dir + "/glide.db";
    }
    ~TempDir() {
        std::string cmd = "rm -rf '" + dir + "'";
        assert_int_equal(system(cmd.c_str()), 0);
    }
};

// The shared suite's fixture on a SqliteStore at `path`.
struct Fixture : TempDir, suite::Backend, suite::Fixture {
    Fixture()
        : suite::Backend{"sqlite",
                         [this](event_base *loop, bool) -> std::unique_ptr<store::Store> {
                             auto r = SqliteStore::open(loop, path, SqliteStore::Sync::normal);
                             if (!r)
                                 fail_msg("%s", r.error().c_str());
                             return std::move(r.value());
                         }},
          suite::Fixture(static_cast<const suite::Backend &>(*this)) {}
};

// A database written by schema version 1 (an older glided) is migrated at open (through 2 and
// 3), data kept.
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
        "INSERT INTO messages VALUES (40, 1, 'A', 'g', '', 9, 1, 'said before', 4);"
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
    // Version 3: a member from before starts at the newest mid then: what was said before the
    // upgrade is not replayed, what follows is.
    auto owed = f.entries("A", 0, 10);
    assert_int_equal(owed.size(), 1);
    assert_true(owed[0].group);
    assert_int_equal(owed[0].msg.mid, 42);
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
        cmocka_unit_test(test_migrates_older_schema),
        cmocka_unit_test(test_corrupt_file_is_refused),
        cmocka_unit_test(test_unwritable_path_is_refused),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
