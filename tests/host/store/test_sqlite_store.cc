// The SQLite store's own cases (the Store interface's shared ones run in test_store_backends):
// migration from an older schema, the start errors (a file that is not a database, a path that
// cannot be written, a schema from a newer glided), and one file shared by several processes
// (glided's worker processes).
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <string>

#include "host/store/sqlite_store.h"
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

// --- one file, several processes ---------------------------------------------------------------

// Each process stores the same (from, cliMid) pairs as the others, in the same order, through a
// window of calls in flight, so its writer commits batch after batch while the others want the
// lock too: the workers of a glided under a burst of retries that landed on different workers.
const int kProcs = 4;
const int kMessages = getenv("GLIDE_TEST_VALGRIND") ? 300 : 3000; // per process
const int kWindow = 32;

// In a child: waits for `go` to close, opens the store at `path` (all at the same moment: the
// new file is turned to WAL by one while the others wait), stores kMessages, writes
// "INDEX MID" per message and the slowest answer's milliseconds to `out`. The exit status is
// the number of failed calls (at most 100); the first failure's text goes to stderr.
int share_child(const std::string &path, const std::string &out, int go) {
    char b;
    while (read(go, &b, 1) > 0) {
    }
    event_base *base = event_base_new();
    auto r = SqliteStore::open(base, path, SqliteStore::Sync::normal);
    if (!r) {
        fprintf(stderr, "open: %s\n", r.error().c_str());
        return 100;
    }
    std::unique_ptr<SqliteStore> st = std::move(r.value());
    std::vector<int64_t> mids(kMessages, 0);
    int next = 0, answered = 0, failures = 0;
    double slowest_ms = 0;
    std::function<void()> send = [&] {
        int i = next++;
        store::Message m;
        m.from = "u" + std::to_string(i % 7);
        m.to = "sink";
        m.cli_mid = "c" + std::to_string(i);
        m.content = "burst";
        m.type = 1;
        auto t0 = std::chrono::steady_clock::now();
        st->store_message(m, [&, i, t0](store::StoreResult res) {
            answered++;
            std::chrono::duration<double, std::milli> took = std::chrono::steady_clock::now() - t0;
            slowest_ms = std::max(slowest_ms, took.count());
            if (res.status == GLIDE_OK)
                mids[i] = res.mid;
            else if (failures++ == 0)
                fprintf(stderr, "store_message: %s\n", res.error.c_str());
            if (next < kMessages)
                send();
        });
    };
    for (int k = 0; k < kWindow; k++)
        send();
    while (answered < kMessages)
        event_base_loop(base, EVLOOP_ONCE);
    st.reset();
    event_base_free(base);
    std::ofstream f(out);
    for (int i = 0; i < kMessages; i++)
        f << i << " " << mids[i] << "\n";
    f << "slowest " << slowest_ms << "\n";
    return std::min(failures, 100);
}

void test_shared_by_processes(void **) {
    TempDir t;
    int go[2];
    assert_int_equal(pipe(go), 0);
    std::vector<pid_t> kids;
    for (int p = 0; p < kProcs; p++) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            close(go[1]);
            _exit(share_child(t.path, t.dir + "/out" + std::to_string(p), go[0]));
        }
        kids.push_back(pid);
    }
    close(go[0]);
    close(go[1]); // all start now
    for (pid_t pid : kids) {
        int status = 0;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0); // no call failed: none saw SQLITE_BUSY
    }
    // Every process got the same mid for a pair; different pairs, different mids.
    std::vector<int64_t> first;
    double slowest = 0;
    for (int p = 0; p < kProcs; p++) {
        std::ifstream f(t.dir + "/out" + std::to_string(p));
        std::vector<int64_t> mids(kMessages);
        std::string word;
        for (int i = 0; i < kMessages; i++) {
            int index = -1;
            f >> index >> mids[i];
            assert_int_equal(index, i);
            assert_true(mids[i] > 0);
        }
        double ms = 0;
        f >> word >> ms;
        slowest = std::max(slowest, ms);
        if (first.empty())
            first = mids;
        assert_true(mids == first);
    }
    std::vector<int64_t> sorted = first;
    std::sort(sorted.begin(), sorted.end());
    assert_true(std::adjacent_find(sorted.begin(), sorted.end()) == sorted.end());
    printf("# %d processes x %d messages on one file: slowest answer %.0f ms\n", kProcs,
           kMessages, slowest);
    // Each pair stored once.
    sqlite3 *db = nullptr;
    assert_int_equal(sqlite3_open(t.path.c_str(), &db), SQLITE_OK);
    sqlite3_stmt *q = nullptr;
    sqlite3_prepare_v2(db, "SELECT count(*) FROM messages", -1, &q, nullptr);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(q, 0), kMessages);
    sqlite3_finalize(q);
    sqlite3_close(db);
}

} // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_migrates_older_schema),
        cmocka_unit_test(test_corrupt_file_is_refused),
        cmocka_unit_test(test_unwritable_path_is_refused),
        cmocka_unit_test(test_shared_by_processes),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
