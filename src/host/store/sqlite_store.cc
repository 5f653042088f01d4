#include "host/store/sqlite_store.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

namespace glide::store {


namespace {

constexpr int64_t max_mid = (int64_t(1) << 53) - 1;
constexpr int cache_kib = 32768; // SQLite's page cache: 32 MiB (its default is 2 MiB)
// How long a write waits for the lock another connection holds (the worker processes of one
// glided share the file) before its batch fails, and how often it looks again meanwhile.
// SQLite's own busy handler (sqlite3_busy_timeout) sleeps up to 100 ms between looks, while a
// writer that commits batch after batch frees the lock only for microseconds between them:
// under a burst a waiter that looks so seldom misses the gaps for seconds. With 16 processes
// keeping their writers busy on one file the slowest answer took 1.4 s with SQLite's handler
// and its 2 s timeout, 0.3 s looking every millisecond; with 32, stores failed to open
// ("database is locked") with SQLite's handler, and opened and answered every call within
// 1.3 s with this one (on a loaded 2-core machine). The timeout is the last resort of a write
// that cannot get in (another program holding the lock).
constexpr std::chrono::milliseconds busy_timeout{10000};
constexpr std::chrono::microseconds busy_poll{1000};

int64_t wall_ms() {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

// The schema, one step per version: step i takes a database from user_version i to i + 1.
const char *const migrations[SqliteStore::schema_version] = {
    // 0 → 1: messages, undelivered state, groups and members.
    "CREATE TABLE messages ("
    " mid INTEGER PRIMARY KEY AUTOINCREMENT,"
    " kind INTEGER NOT NULL,"
    " sender TEXT NOT NULL,"
    " receiver TEXT NOT NULL,"
    " cli_mid TEXT NOT NULL,"
    " seq INTEGER NOT NULL,"
    " type INTEGER NOT NULL,"
    " content BLOB NOT NULL,"
    " send_at INTEGER NOT NULL);"
    "CREATE UNIQUE INDEX messages_cli_mid ON messages (sender, cli_mid)"
    " WHERE kind = 0 AND cli_mid <> '';"
    "CREATE TABLE undelivered ("
    " receiver TEXT NOT NULL, mid INTEGER NOT NULL, PRIMARY KEY (receiver, mid)) WITHOUT ROWID;"
    "CREATE TABLE groups (gid TEXT PRIMARY KEY, next_seq INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE members ("
    " gid TEXT NOT NULL, uid TEXT NOT NULL, PRIMARY KEY (gid, uid)) WITHOUT ROWID;",
    // 1 → 2: when groups were created and members added (milliseconds; 0 for older rows).
    "ALTER TABLE groups ADD COLUMN created_at INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE members ADD COLUMN added_at INTEGER NOT NULL DEFAULT 0;",
    // 2 → 3: each member's group delivery cursor (the mid of the last group message it was
    // sent). Members from before start at the newest mid: what was said before the upgrade is
    // not replayed (no earlier version delivered group messages later either).
    "ALTER TABLE members ADD COLUMN delivered_mid INTEGER NOT NULL DEFAULT 0;"
    "UPDATE members SET delivered_mid = (SELECT coalesce(max(mid), 0) FROM messages);"
    "CREATE INDEX members_uid ON members (uid);"
    "CREATE INDEX messages_group ON messages (receiver, mid) WHERE kind = 1;",
};

struct StmtFree {
    void operator()(sqlite3_stmt *s) const { sqlite3_finalize(s); }
};
using Stmt = std::unique_ptr<sqlite3_stmt, StmtFree>;

// A statement ready to run again: reset and unbound when the guard goes.
struct Use {
    sqlite3_stmt *s;
    explicit Use(const Stmt &st) : s(st.get()) {}
    ~Use() {
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
    }
    Use &text(int i, std::string_view v) {
        sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
        return *this;
    }
    Use &blob(int i, std::string_view v) {
        sqlite3_bind_blob(s, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
        return *this;
    }
    Use &num(int i, int64_t v) {
        sqlite3_bind_int64(s, i, v);
        return *this;
    }
    int step() { return sqlite3_step(s); }
    int64_t col_int(int i) { return sqlite3_column_int64(s, i); }
    std::string col_str(int i) {
        const void *p = sqlite3_column_blob(s, i);
        return p ? std::string(static_cast<const char *>(p), sqlite3_column_bytes(s, i))
                 : std::string();
    }
};

// The busy handler: looks again every busy_poll until busy_timeout has passed since the first
// look of this wait (count 0).
int on_busy(void *since, int count) {
    auto &first = *static_cast<std::chrono::steady_clock::time_point *>(since);
    const auto now = std::chrono::steady_clock::now();
    if (count == 0)
        first = now;
    if (now - first >= busy_timeout)
        return 0;
    std::this_thread::sleep_for(busy_poll);
    return 1;
}

// Runs `sql`, again while SQLite answers SQLITE_BUSY at once, for up to busy_timeout.
// Several processes (glided's worker processes) may open a new file at the same moment:
// turning it to WAL needs the exclusive lock, and a connection that already reads is answered
// SQLITE_BUSY at once instead of waiting in the busy handler, where two such waiters would
// deadlock. Once the file is in WAL mode the pragma only reads.
Status exec_retrying_busy(sqlite3 *db, const char *sql) {
    const auto give_up = std::chrono::steady_clock::now() + busy_timeout;
    for (;;) {
        int rc = sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
        if (rc == SQLITE_OK)
            return {};
        if ((rc & 0xff) != SQLITE_BUSY || std::chrono::steady_clock::now() > give_up)
            return make_error(sqlite3_errmsg(db));
        std::this_thread::sleep_for(busy_poll);
    }
}

// True when the last error on `db` says the disk (or the user's quota) is full: SQLITE_FULL,
// or an I/O error with ENOSPC / EDQUOT (SQLite growing its -shm file: SQLITE_IOERR_SHMSIZE).
bool disk_full(sqlite3 *db) {
    const int rc = sqlite3_extended_errcode(db);
    const int e = sqlite3_system_errno(db);
    return (rc & 0xff) == SQLITE_FULL ||
           ((rc & 0xff) == SQLITE_IOERR && (e == ENOSPC || e == EDQUOT));
}

} // namespace

struct SqliteStore::Db {
    sqlite3 *db = nullptr;
    std::chrono::steady_clock::time_point busy_since; // the busy handler's current wait
    Stmt begin, commit, rollback;
    Stmt find_cli_mid, insert_message, insert_undelivered, delete_undelivered, page;
    Stmt group_seq, bump_seq, is_member, insert_group, delete_group, delete_members, insert_member,
        delete_member, members, groups;
    Stmt group_delivered, memberships, group_page;

    ~Db() {
        begin.reset(), commit.reset(), rollback.reset(), find_cli_mid.reset();
        insert_message.reset(), insert_undelivered.reset(), delete_undelivered.reset();
        group_delivered.reset(), memberships.reset(), group_page.reset();
        page.reset(), group_seq.reset(), bump_seq.reset(), is_member.reset();
        insert_group.reset(), delete_group.reset(), delete_members.reset();
        insert_member.reset(), delete_member.reset(), members.reset(), groups.reset();
        sqlite3_close(db);
    }

    // The first SQL failure of the current batch: the whole transaction is given up, and
    // nothing more runs until the writer has rolled it back (a statement after a failure that
    // ended the transaction would otherwise commit on its own).
    std::string failed;

    std::string errmsg() const { return sqlite3_errmsg(db); }

    // Steps a statement that returns no rows.
    void exec(Use &u) {
        if (!failed.empty())
            return;
        int rc = u.step();
        if (rc != SQLITE_DONE && rc != SQLITE_ROW)
            failed = errmsg();
    }
    // Steps to the next row: true for a row, false when done or failed.
    bool row(Use &u) {
        if (!failed.empty())
            return false;
        int rc = u.step();
        if (rc == SQLITE_ROW)
            return true;
        if (rc != SQLITE_DONE)
            failed = errmsg();
        return false;
    }

    Status prepare(Stmt &st, const char *sql) {
        sqlite3_stmt *s = nullptr;
        if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr) != SQLITE_OK)
            return make_error(errmsg());
        st.reset(s);
        return {};
    }

    // The new mid; with `unique`, 0 when (sender, cli_mid) is taken (nothing was inserted and
    // the transaction goes on: the failed statement alone is undone).
    int64_t insert(const Message &m, int kind, bool unique) {
        if (!failed.empty())
            return 0;
        Use u(insert_message);
        u.num(1, kind).text(2, m.from).text(3, m.to).text(4, m.cli_mid).num(5, m.seq);
        u.num(6, m.type).blob(7, m.content).num(8, m.send_at);
        int rc = u.step();
        if (rc != SQLITE_DONE) {
            if (unique && sqlite3_extended_errcode(db) == SQLITE_CONSTRAINT_UNIQUE)
                return 0;
            failed = errmsg();
            return 0;
        }
        int64_t mid = sqlite3_last_insert_rowid(db);
        if (mid > max_mid && failed.empty())
            failed = "message ids are exhausted (2^53)";
        return mid;
    }

    // 0: no such group; else its next sequence.
    int64_t next_seq(const std::string &gid) {
        Use u(group_seq);
        u.text(1, gid);
        return row(u) ? u.col_int(0) : 0;
    }
    bool member(const std::string &gid, const std::string &uid) {
        Use u(is_member);
        u.text(1, gid).text(2, uid);
        return row(u);
    }
};

Result<std::unique_ptr<SqliteStore>> SqliteStore::open(event_base *base, const std::string &path,
                                                       Sync sync) {
    std::unique_ptr<SqliteStore> s(new SqliteStore);
    s->path_ = path;
    s->db_ = std::make_unique<Db>();
    Db &d = *s->db_;
    auto fail = [&](const std::string &why) {
        return make_error("store sqlite \"" + path + "\": " + why);
    };
    auto exec = [&](const std::string &sql) -> Status {
        char *err = nullptr;
        if (sqlite3_exec(d.db, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
            std::string why = err ? err : d.errmsg();
            sqlite3_free(err);
            return make_error(why);
        }
        return {};
    };
    // Opens the connection and puts the file in WAL mode; with `exclusive`, in exclusive
    // locking mode first, which keeps WAL's index in this process' memory instead of the -shm
    // file that every process sharing the file maps.
    auto connect = [&](bool exclusive) -> Status {
        sqlite3_close(d.db);
        d.db = nullptr;
        int rc = sqlite3_open_v2(path.c_str(), &d.db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                                 nullptr);
        if (rc != SQLITE_OK)
            return make_error(d.db ? d.errmsg() : sqlite3_errstr(rc));
        if (sqlite3_db_readonly(d.db, "main") == 1)
            return make_error("the file is not writable");
        sqlite3_busy_handler(d.db, on_busy, &d.busy_since);
        if (exclusive) {
            Status x = exec("PRAGMA locking_mode=EXCLUSIVE");
            if (!x)
                return x;
        }
        // The first statements read the file: a file that is not a database fails here.
        Status x = exec_retrying_busy(d.db, "PRAGMA journal_mode=WAL");
        if (!x && sqlite3_errcode(d.db) == SQLITE_BUSY)
            return make_error(x.error() + " (another process holds a lock on the file, such "
                                          "as a glided that opened it on a full disk)");
        return x;
    };
    Status st = connect(false);
    if (!st && d.db && disk_full(d.db)) {
        // A full disk: SQLite cannot grow the -shm file it needs to read a WAL database. What
        // is stored can still be read (the replays of acknowledged messages) without it, in
        // exclusive locking mode; writes then fail one batch at a time ("database or disk is
        // full") and work again once space is freed. The price: no other process can open
        // the file while this one has it (worker processes sharing it fail to open it, and
        // say so), until glided restarts with space.
        const int e = sqlite3_system_errno(d.db);
        std::string why = "the disk is full (" + st.error() +
                          (e ? std::string(": ") + strerror(e) : std::string()) + ")";
        st = connect(true);
        if (!st)
            return fail(why + ", and opening the file without its -shm index (exclusive "
                              "locking) failed too: " + st.error());
        s->degraded_ = why + ": opened in exclusive locking mode, WAL's index in memory; "
                             "reads work, writes fail until space is freed, and no other "
                             "process can open the file until glided restarts";
    }
    if (!st)
        return fail(st.error());
    st = exec(sync == Sync::full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
    if (!st)
        return fail(st.error());
    // A page cache that holds the hot index pages ((sender, cli_mid) and undelivered are
    // written at random places) instead of reading them back from the OS at every message.
    st = exec("PRAGMA cache_size=-" + std::to_string(cache_kib));
    if (!st)
        return fail(st.error());

    // Migrate (or just prove the file writable) in one write transaction.
    st = exec("BEGIN IMMEDIATE");
    if (!st)
        return fail(st.error());
    int version = -1;
    sqlite3_stmt *v = nullptr;
    if (sqlite3_prepare_v2(d.db, "PRAGMA user_version", -1, &v, nullptr) == SQLITE_OK &&
        sqlite3_step(v) == SQLITE_ROW)
        version = sqlite3_column_int(v, 0);
    sqlite3_finalize(v);
    // On the failures below the transaction is rolled back by sqlite3_close (Db's destructor).
    if (version < 0)
        return fail(d.errmsg());
    if (version > schema_version)
        return fail("schema version " + std::to_string(version) +
                    " was written by a newer glided (this one knows up to " +
                    std::to_string(schema_version) + ")");
    for (int i = version; i < schema_version; i++) {
        st = exec(migrations[i]);
        if (!st)
            return fail("migrating the schema to version " + std::to_string(i + 1) + ": " +
                        st.error());
    }
    // Written only when it changes: a transaction that writes nothing needs no free space.
    if (version < schema_version)
        st = exec("PRAGMA user_version=" + std::to_string(schema_version));
    if (st)
        st = exec("COMMIT");
    if (!st)
        return fail(st.error());

    struct {
        Stmt *st;
        const char *sql;
    } stmts[] = {
        {&d.begin, "BEGIN IMMEDIATE"},
        {&d.commit, "COMMIT"},
        {&d.rollback, "ROLLBACK"},
        {&d.find_cli_mid, "SELECT mid FROM messages WHERE sender = ?1 AND cli_mid = ?2 AND "
                          "kind = 0 AND cli_mid <> ''"},
        {&d.insert_message, "INSERT INTO messages (kind, sender, receiver, cli_mid, seq, type, "
                            "content, send_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"},
        {&d.insert_undelivered, "INSERT INTO undelivered (receiver, mid) VALUES (?1, ?2)"},
        {&d.delete_undelivered, "DELETE FROM undelivered WHERE receiver = ?1 AND mid = ?2"},
        {&d.page, "SELECT m.mid, m.seq, m.cli_mid, m.sender, m.receiver, m.type, m.content, "
                  "m.send_at FROM undelivered u JOIN messages m ON m.mid = u.mid "
                  "WHERE u.receiver = ?1 AND u.mid > ?2 ORDER BY u.mid LIMIT ?3"},
        {&d.group_seq, "SELECT next_seq FROM groups WHERE gid = ?1"},
        {&d.bump_seq, "UPDATE groups SET next_seq = next_seq + 1 WHERE gid = ?1"},
        {&d.is_member, "SELECT 1 FROM members WHERE gid = ?1 AND uid = ?2"},
        {&d.insert_group, "INSERT OR IGNORE INTO groups (gid, next_seq, created_at) "
                          "VALUES (?1, 1, ?2)"},
        {&d.delete_group, "DELETE FROM groups WHERE gid = ?1"},
        {&d.delete_members, "DELETE FROM members WHERE gid = ?1"},
        // A new member's cursor: the newest mid (mids only grow: AUTOINCREMENT).
        {&d.insert_member, "INSERT OR IGNORE INTO members (gid, uid, added_at, delivered_mid) "
                           "VALUES (?1, ?2, ?3, (SELECT coalesce(max(mid), 0) FROM messages))"},
        {&d.delete_member, "DELETE FROM members WHERE gid = ?1 AND uid = ?2"},
        {&d.members, "SELECT uid FROM members WHERE gid = ?1 ORDER BY uid"},
        {&d.groups, "SELECT gid FROM groups ORDER BY gid"},
        // A group receipt (uid, first_mid, mid): the cursor moves to mid when both are messages
        // of one group of uid's and none of that group lies between the cursor and first_mid.
        {&d.group_delivered,
         "UPDATE members SET delivered_mid = ?3 WHERE uid = ?1 AND delivered_mid < ?3 "
         "AND gid = (SELECT receiver FROM messages WHERE mid = ?3 AND kind = 1) "
         "AND EXISTS (SELECT 1 FROM messages WHERE mid = ?2 AND kind = 1 "
         "AND receiver = members.gid AND mid <= ?3) "
         "AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.kind = 1 AND m.receiver = members.gid "
         "AND m.mid > members.delivered_mid AND m.mid < ?2)"},
        {&d.memberships, "SELECT gid, delivered_mid FROM members WHERE uid = ?1"},
        {&d.group_page, "SELECT mid, seq, cli_mid, sender, receiver, type, content, send_at "
                        "FROM messages WHERE kind = 1 AND receiver = ?1 AND mid > ?2 "
                        "ORDER BY mid LIMIT ?3"},
    };
    for (auto &p : stmts) {
        st = d.prepare(*p.st, p.sql);
        if (!st)
            return fail(st.error());
    }

    // Named for top -H and glide-bench's CPU split by thread (15 characters at most).
    st = s->writer_.start(base, "glide-sqlite", [p = s.get()] { p->writer(); });
    if (!st)
        return fail(st.error());
    return s;
}

SqliteStore::~SqliteStore() {
    writer_.stop();
}

void SqliteStore::writer() {
    Db &d = *db_;
    std::vector<Op> batch; // its capacity goes back and forth with the writer's queue
    while (writer_.take(batch)) {
        d.failed.clear();
        {
            Use b(d.begin);
            d.exec(b);
        }
        for (size_t i = 0; i < batch.size() && d.failed.empty(); i++)
            batch[i].execute(d);
        if (d.failed.empty()) {
            Use c(d.commit);
            d.exec(c);
        }
        std::string failure = d.failed;
        if (!failure.empty()) {
            if (!sqlite3_get_autocommit(d.db)) {
                Use r(d.rollback);
                r.step();
            }
            Outcome o{GLIDE_EIO, "store: " + failure};
            for (Op &op : batch)
                op.failed(o);
        }
        writer_.give(batch, failure.empty() ? 1 : 0);
    }
}

// --- the calls -----------------------------------------------------------------------------

namespace {

// `fail` for calls answered with an Outcome / a list.
template <typename Done> auto outcome_fail(std::shared_ptr<Done> done) {
    return [done](const Outcome &o) -> std::function<void()> { return [done, o] { (*done)(o); }; };
}
template <typename Done> auto list_fail(std::shared_ptr<Done> done) {
    return
        [done](const Outcome &o) -> std::function<void()> { return [done, o] { (*done)(o, {}); }; };
}

} // namespace

// --- the hot calls as data ------------------------------------------------------------------

void SqliteStore::Op::execute(Db &d) {
    switch (kind) {
    case Kind::message: {
        // The unique index on (sender, cli_mid) finds a retry: only then is the first mid read.
        int64_t m = d.insert(msg, 0, true);
        if (m == 0) {
            Use f(d.find_cli_mid);
            f.text(1, msg.from).text(2, msg.cli_mid);
            if (d.row(f)) {
                result.mid = f.col_int(0);
                result.duplicate = true;
            } else if (d.failed.empty()) {
                d.failed = "a duplicate (sender, cli_mid) that cannot be found";
            }
            break;
        }
        result.mid = m;
        Use u(d.insert_undelivered);
        u.text(1, msg.to).num(2, m);
        d.exec(u);
        break;
    }
    case Kind::group: {
        int64_t seq = d.next_seq(msg.to);
        if (seq == 0) {
            result.status = GLIDE_ENOTFOUND;
            result.error = no_such_group;
        } else if (!d.member(msg.to, msg.from)) {
            result.status = GLIDE_ENOTFOUND;
            result.error = not_member;
        } else {
            msg.seq = seq;
            result.seq = seq;
            result.mid = d.insert(msg, 1, false);
            Use u(d.bump_seq);
            u.text(1, msg.to);
            d.exec(u);
        }
        break;
    }
    case Kind::delivered: {
        if (first_mid) {
            Use u(d.group_delivered);
            u.text(1, msg.to).num(2, first_mid).num(3, mid);
            d.exec(u);
        } else {
            Use u(d.delete_undelivered);
            u.text(1, msg.to).num(2, mid);
            d.exec(u);
        }
        break;
    }
    case Kind::generic:
        answer = run(d);
        break;
    }
}

void SqliteStore::Op::failed(const Outcome &o) {
    switch (kind) {
    case Kind::message:
    case Kind::group:
        result = StoreResult{};
        result.status = o.status;
        result.error = o.error;
        break;
    case Kind::delivered:
        outcome = o;
        break;
    case Kind::generic:
        answer = fail(o);
        break;
    }
}

void SqliteStore::Op::complete() {
    switch (kind) {
    case Kind::message:
    case Kind::group:
        stored(std::move(result));
        break;
    case Kind::delivered:
        done(std::move(outcome));
        break;
    case Kind::generic:
        answer();
        break;
    }
}

void SqliteStore::enqueue_message(bool group, const MessageView &view, StoreDone done) {
    Op op;
    op.kind = group ? Op::Kind::group : Op::Kind::message;
    view.assign_to(op.msg);
    op.stored = std::move(done);
    enqueue(std::move(op));
}

void SqliteStore::store_message(const MessageView &view, StoreDone done) {
    enqueue_message(false, view, std::move(done));
}

void SqliteStore::group_publish(const MessageView &view, StoreDone done) {
    enqueue_message(true, view, std::move(done));
}

void SqliteStore::mark_delivered(std::string_view uid, int64_t mid, Done done) {
    enqueue_delivered(uid, 0, mid, std::move(done));
}

void SqliteStore::mark_group_delivered(std::string_view uid, int64_t first_mid, int64_t mid,
                                       Done done) {
    enqueue_delivered(uid, first_mid, mid, std::move(done));
}

void SqliteStore::enqueue_delivered(std::string_view uid, int64_t first_mid, int64_t mid,
                                    Done done) {
    Op op;
    op.kind = Op::Kind::delivered;
    op.msg.to.assign(uid);
    op.first_mid = first_mid;
    op.mid = mid;
    op.done = std::move(done);
    enqueue(std::move(op));
}

// --- the other calls -------------------------------------------------------------------------

// Each generic call keeps its callback in a shared_ptr: `run` and `fail` both may answer with it.

void SqliteStore::enqueue_outcome(Done done, std::function<Outcome(Db &)> body) {
    auto cb = std::make_shared<Done>(std::move(done));
    enqueue({[cb, body = std::move(body)](Db &d) -> Answer {
                 Outcome o = body(d);
                 return [cb, o] { (*cb)(o); };
             },
             outcome_fail(cb)});
}

void SqliteStore::enqueue_names(NamesDone done,
                                std::function<Outcome(Db &, std::vector<std::string> &)> body) {
    auto cb = std::make_shared<NamesDone>(std::move(done));
    enqueue({[cb, body = std::move(body)](Db &d) -> Answer {
                 auto names = std::make_shared<std::vector<std::string>>();
                 Outcome o = body(d, *names);
                 return [cb, o, names] { (*cb)(o, std::move(*names)); };
             },
             list_fail(cb)});
}

namespace {

// The page's columns: mid, seq, cli_mid, sender, receiver, type, content, send_at.
PageMessage page_row(Use &u, bool group) {
    PageMessage p;
    p.group = group;
    Message &m = p.msg;
    m.mid = u.col_int(0);
    m.seq = u.col_int(1);
    m.cli_mid = u.col_str(2);
    m.from = u.col_str(3);
    m.to = u.col_str(4);
    m.type = static_cast<int32_t>(u.col_int(5));
    m.content = u.col_str(6);
    m.send_at = u.col_int(7);
    return p;
}

} // namespace

// The one-to-one page, and up to `limit` messages of each of uid's groups past its cursor (an
// index range each: (receiver, mid) for kind 1), merged by mid and cut at `limit`.
void SqliteStore::load_undelivered(std::string_view uid, int64_t after_mid, uint32_t limit,
                                   PageDone done) {
    auto cb = std::make_shared<PageDone>(std::move(done));
    enqueue({[cb, uid = std::string(uid), after_mid, limit](Db &d) -> Answer {
                 auto page = std::make_shared<std::vector<PageMessage>>();
                 {
                     Use u(d.page);
                     u.text(1, uid).num(2, after_mid).num(3, limit);
                     while (d.row(u))
                         page->push_back(page_row(u, false));
                 }
                 std::vector<std::pair<std::string, int64_t>> groups;
                 {
                     Use m(d.memberships);
                     m.text(1, uid);
                     while (d.row(m))
                         groups.emplace_back(m.col_str(0), m.col_int(1));
                 }
                 bool merged = false;
                 for (const auto &[gid, cursor] : groups) {
                     Use g(d.group_page);
                     g.text(1, gid).num(2, std::max(after_mid, cursor)).num(3, limit);
                     while (d.row(g)) {
                         page->push_back(page_row(g, true));
                         merged = true;
                     }
                 }
                 if (merged) {
                     std::sort(page->begin(), page->end(),
                               [](const PageMessage &a, const PageMessage &b) {
                                   return a.msg.mid < b.msg.mid;
                               });
                     if (page->size() > limit)
                         page->resize(limit);
                 }
                 return [cb, page] { (*cb)({}, std::move(*page)); };
             },
             list_fail(cb)});
}

void SqliteStore::create_group(std::string gid, Done done) {
    enqueue_outcome(std::move(done), [gid = std::move(gid)](Db &d) {
        Use u(d.insert_group);
        u.text(1, gid).num(2, wall_ms());
        d.exec(u);
        return sqlite3_changes(d.db) == 0 ? Outcome{GLIDE_ESTATE, group_exists} : Outcome{};
    });
}

void SqliteStore::delete_group(std::string gid, Done done) {
    enqueue_outcome(std::move(done), [gid = std::move(gid)](Db &d) {
        Use g(d.delete_group);
        g.text(1, gid);
        d.exec(g);
        if (sqlite3_changes(d.db) == 0)
            return Outcome{GLIDE_ENOTFOUND, no_such_group};
        Use m(d.delete_members);
        m.text(1, gid);
        d.exec(m);
        return Outcome{};
    });
}

void SqliteStore::add_member(std::string gid, std::string uid, Done done) {
    enqueue_outcome(std::move(done), [gid = std::move(gid), uid = std::move(uid)](Db &d) {
        if (d.next_seq(gid) == 0)
            return Outcome{GLIDE_ENOTFOUND, no_such_group};
        Use u(d.insert_member);
        u.text(1, gid).text(2, uid).num(3, wall_ms());
        d.exec(u);
        return Outcome{};
    });
}

void SqliteStore::remove_member(std::string gid, std::string uid, Done done) {
    enqueue_outcome(std::move(done), [gid = std::move(gid), uid = std::move(uid)](Db &d) {
        if (d.next_seq(gid) == 0)
            return Outcome{GLIDE_ENOTFOUND, no_such_group};
        Use u(d.delete_member);
        u.text(1, gid).text(2, uid);
        d.exec(u);
        return sqlite3_changes(d.db) == 0 ? Outcome{GLIDE_ENOTFOUND, not_member} : Outcome{};
    });
}

void SqliteStore::group_members(std::string gid, NamesDone done) {
    enqueue_names(std::move(done), [gid = std::move(gid)](Db &d, std::vector<std::string> &out) {
        if (d.next_seq(gid) == 0)
            return Outcome{GLIDE_ENOTFOUND, no_such_group};
        Use u(d.members);
        u.text(1, gid);
        while (d.row(u))
            out.push_back(u.col_str(0));
        return Outcome{};
    });
}

void SqliteStore::list_groups(NamesDone done) {
    enqueue_names(std::move(done), [](Db &d, std::vector<std::string> &out) {
        Use u(d.groups);
        while (d.row(u))
            out.push_back(u.col_str(0));
        return Outcome{};
    });
}

} // namespace glide::store
