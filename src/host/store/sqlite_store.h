// The Store interface on SQLite: glided's `store sqlite PATH;`.
//
// Durability without blocking the loop: calls are queued to a writer thread that owns the
// connection. It takes everything queued so far, runs it in one transaction (BEGIN IMMEDIATE …
// COMMIT, so a burst of messages costs one commit) and only after the commit hands the answers
// back to the loop thread (an eventfd watched by a libevent event), where the completion
// callbacks run. A one-to-one message costs one INSERT into messages and one into undelivered
// (the unique index finds a duplicate), its receipt one DELETE, a group receipt one UPDATE of
// the member's cursor, all prepared once. A failed commit fails every call of its batch:
// nothing is answered as stored that was not committed. Reads go through the same queue, so
// they see every earlier write.
//
// Several processes may share the file (glided's worker processes), each with its connection
// and writer thread: BEGIN IMMEDIATE serializes their transactions, and a writer waiting for
// another's looks again every millisecond, for up to 10 s, before its batch fails.
//
// The file: WAL journal; `synchronous` NORMAL (a commit survives a crash of the process) or FULL
// (it also survives a power loss); a 32 MiB page cache. The schema carries its version in PRAGMA user_version and is
// migrated step by step when an older glided wrote it; a newer one is refused.
//   messages     mid (AUTOINCREMENT: increasing, never reused), kind (0 one-to-one, 1 group),
//                sender, receiver (uid or gid), cli_mid, seq, type, content, send_at;
//                unique (sender, cli_mid) for one-to-one messages with a cli_mid; indexed by
//                (receiver, mid) for group messages
//   undelivered  (receiver, mid): one-to-one messages not yet acknowledged by their receiver
//   groups       gid, next_seq, created_at (ms)
//   members      (gid, uid), added_at (ms), delivered_mid (the member's group delivery
//                cursor, store.h); indexed by uid
#pragma once

#include <sqlite3.h>

#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "net/libevent.h"
#include "host/store/store.h"
#include "host/store/writer_thread.h"

namespace glide::store {

class SqliteStore final : public Store {
public:
    enum class Sync { normal, full };
    static constexpr int schema_version = 3;

    // Opens (creating) the database, migrates its schema and takes the write lock once on the
    // calling thread, then starts the writer thread; answers are delivered on `base`'s loop.
    // Errors name the file and give SQLite's reason, e.g.
    //   store sqlite "/var/lib/glide/glide.db": file is not a database
    // On a full disk an existing database at the current schema still opens: SQLite cannot
    // create the -shm file that WAL mode shares between processes, so the file is opened in
    // exclusive locking mode (the index in this process' memory; degraded() says why). Reads
    // work, each write batch fails with "database or disk is full" until space is freed, and
    // no other process can open the file meanwhile. A schema migration or a new file on a
    // full disk fails with SQLite's reason.
    static Result<std::unique_ptr<SqliteStore>> open(event_base *base, const std::string &path,
                                                     Sync sync);
    // Lets the writer finish what is queued, then runs the remaining completions here (the
    // loop thread) and closes the database.
    ~SqliteStore() override;

    void store_message(const MessageView &msg, StoreDone done) override;
    void mark_delivered(std::string_view uid, int64_t mid, Done done) override;
    void mark_group_delivered(std::string_view uid, int64_t first_mid, int64_t mid,
                              Done done) override;
    void load_undelivered(std::string_view uid, int64_t after_mid, uint32_t limit,
                          PageDone done) override;
    void group_publish(const MessageView &msg, StoreDone done) override;
    void create_group(std::string gid, Done done) override;
    void delete_group(std::string gid, Done done) override;
    void add_member(std::string gid, std::string uid, Done done) override;
    void remove_member(std::string gid, std::string uid, Done done) override;
    void group_members(std::string gid, NamesDone done) override;
    void list_groups(NamesDone done) override;

    // Empty, or why the file was opened in exclusive locking mode (the disk was full at open:
    // see open()); the host logs it as a warning.
    const std::string &degraded() const { return degraded_; }

    // Transactions committed so far (a batch is one); for tests and measurements.
    uint64_t commits() const { return writer_.commits(); }

    struct Db; // the connection and its prepared statements (writer thread only)

private:
    using Answer = std::function<void()>; // runs on the loop thread
    // One queued call. The hot ones (a one-to-one message, a group message, a receipt) are
    // plain data: the writer fills in the result and the loop thread runs the callback, with
    // no closure allocated per call. Any other call is `generic`: `run` executes it on the
    // writer thread and returns its answer; when the batch's transaction fails, `fail` answers.
    struct Op {
        enum class Kind { message, group, delivered, generic } kind = Kind::generic;
        Message msg;     // message, group: what to store; delivered: msg.to is the uid
        int64_t mid = 0; // delivered
        int64_t first_mid = 0; // delivered: 0 a one-to-one receipt, else a group receipt's run
        StoreDone stored;
        Done done;
        StoreResult result; // message, group: the writer's answer
        Outcome outcome;    // delivered: the writer's answer
        std::function<Answer(Db &)> run;
        std::function<Answer(const Outcome &)> fail;
        Answer answer; // generic: the writer's answer

        Op() = default;
        Op(std::function<Answer(Db &)> r, std::function<Answer(const Outcome &)> f)
            : run(std::move(r)), fail(std::move(f)) {}
        void execute(Db &d);
        void failed(const Outcome &o);
        void complete(); // on the loop thread
    };

    SqliteStore() = default;
    void enqueue(Op op) { writer_.push(std::move(op)); }
    void enqueue_message(bool group, const MessageView &view, StoreDone done);
    void enqueue_delivered(std::string_view uid, int64_t first_mid, int64_t mid, Done done);
    // Calls answered with an Outcome (and a list of names): `body` runs on the writer thread.
    void enqueue_outcome(Done done, std::function<Outcome(Db &)> body);
    void enqueue_names(NamesDone done,
                       std::function<Outcome(Db &, std::vector<std::string> &)> body);
    void writer();

    std::string path_;
    std::string degraded_;
    std::unique_ptr<Db> db_;
    WriterThread<Op> writer_;
};

} // namespace glide::store
