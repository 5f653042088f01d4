// The Store interface on PostgreSQL: glided's `store postgresql://USER[:PASSWORD]@HOST[:PORT]/DB`
// (libpq's connection URI; `postgresql:///DB?host=/run/postgresql` for a unix socket). Several
// glided nodes, on several machines, share one database.
//
// Like SqliteStore, calls are queued to a writer thread that owns the connection (WriterThread):
// it takes everything queued so far (up to 4096 calls) and sends it as one pipeline (libpq's pipeline mode: BEGIN,
// one statement per call, COMMIT, Sync) in one round trip, so a burst costs one transaction and
// one commit; answers go back to the loop only after the COMMIT succeeded. A failed batch fails
// every call in it (nothing is answered as stored that was not committed); a batch that lost a
// deadlock against another node is retried. The loop never waits on the database: a thread
// rather than libpq's non-blocking API on the loop because libpq still resolves host names and
// connects with blocking calls, and because encoding parameters and decoding results stays off
// the loop thread, glided's busiest.
//
// A lost connection is noticed when a batch fails or, while idle, when the socket closes: the
// calls of that batch fail with GLIDE_EIO, and until a reconnection succeeds (tried with back-off,
// 50 ms doubling to 5 s) every call fails at once with the reason; the state changes are logged
// once each through `log`.
//
// The schema (in the database's default search path), version in glide_schema, migrated step
// by step by the first glided that finds it older, refused when newer. Strings are bytea (the
// bytes as given, ordered bytewise as in SQLite; no encoding error can fail a batch).
//   glide_mid    the sequence of mids: 1, 2, … up to 2^53 - 1, shared by every node
//   messages     mid, kind (0 one-to-one, 1 group), sender, receiver (uid or gid), cli_mid, seq,
//                type, content, send_at; unique (sender, cli_mid) for one-to-one messages with a
//                cli_mid; indexed by (receiver, mid) for group messages
//   undelivered  (receiver, mid): one-to-one messages not yet acknowledged by their receiver
//   groups       gid, next_seq, created_at (ms)
//   members      (gid, uid), added_at (ms), delivered_mid (the member's group delivery cursor,
//                store.h); indexed by uid
//   glide_group_publish()  a group message's statements, run in the server
#pragma once

#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/result.h"
#include "glide/host.h"
#include "net/libevent.h"
#include "host/store/store.h"
#include "host/store/writer_thread.h"

namespace glide::store {

// Checks the syntax of a `store postgresql://…` URI without connecting: libpq's reason when it
// cannot be parsed.
Status pg_check_uri(const std::string &uri);
// The URI with its password replaced by "***", for messages and logs.
std::string pg_redact(const std::string &uri);

class PgStore final : public Store {
public:
    static constexpr int schema_version = 2;
    // Log lines about the connection's state; runs on the loop thread.
    using Log = std::function<void(glide_log_level, const std::string &)>;

    // Connects (connect_timeout 5 s unless the URI says otherwise), migrates the schema on the
    // calling thread, then starts the writer thread; answers are delivered on `base`'s loop.
    // Errors name the server and database and give libpq's reason, e.g.
    //   store postgresql "postgresql://glide@db1/chat": cannot connect to database "chat" on
    //   host "db1" port 5432: Connection refused
    static Result<std::unique_ptr<PgStore>> open(event_base *base, const std::string &uri,
                                                 Log log = {});
    // Lets the writer finish what is queued, then runs the remaining completions here (the
    // loop thread) and disconnects.
    ~PgStore() override;

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

    // Transactions committed so far (a batch is one); for tests and measurements.
    uint64_t commits() const { return writer_.commits(); }

    struct Conn;   // the connection (writer thread only)
    struct Reader; // one statement's result
    // Every call is one prepared statement (the `Stmt` index) with its parameters; the result
    // is read by the writer thread into the Op, and the loop thread runs the callback.
    enum Stmt : int {
        s_message, s_group, s_delivered, s_page, s_create_group, s_delete_group, s_add_member,
        s_remove_member, s_members, s_groups, s_group_delivered, s_count
    };
    struct Op {
        Stmt stmt = s_count;
        Message msg;     // the parameters: msg.from, msg.to … (see params())
        int64_t num = 0; // mid (delivered), after_mid (page), created/added time
        int64_t limit = 0; // page: its limit; group_delivered: first_mid
        StoreDone stored;  // s_message, s_group
        Done done;         // the calls answered with an Outcome
        PageDone paged;    // s_page
        NamesDone named;   // s_members, s_groups
        StoreResult result;
        Outcome outcome;
        std::vector<PageMessage> page;
        std::vector<std::string> names;
        std::function<void()> note; // stmt s_count: a log line from the writer thread

        void read(Reader &r); // writer thread: the statement's rows
        void failed(const Outcome &o);
        void complete(); // loop thread
    };

private:
    PgStore() = default;
    void writer();
    // One transaction: true when it committed. Else `error` says why, `retry` when the server
    // rolled it back for a deadlock or a serialization failure, `broken` when the connection
    // is gone (the outcome of the COMMIT is then unknown).
    bool run_batch(std::span<Op> batch, std::string &error, bool &retry, bool &broken);
    Status connect();
    void post_log(glide_log_level level, std::string msg);
    void push(Op op) { writer_.push(std::move(op)); }
    // A call of `stmt` on (to, from, num): msg.to, msg.from and num of the Op.
    static Op call(Stmt stmt, std::string to = {}, std::string from = {}, int64_t num = 0);
    void push_done(Op op, Done done);
    void push_names(Op op, NamesDone done);

    std::string uri_;   // as configured
    std::string where_; // `database "DB" on host "H" port P`, for messages
    Log log_;
    std::unique_ptr<Conn> conn_;
    WriterThread<Op> writer_;
};

} // namespace glide::store
