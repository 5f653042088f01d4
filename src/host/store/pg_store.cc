#include "host/store/pg_store.h"

#include <endian.h>
#include <libpq-fe.h>
#include <poll.h>

#include <chrono>
#include <cstring>
#include <span>

namespace glide::store {

using Clock = std::chrono::steady_clock;

namespace {

constexpr const char *default_connect_timeout = "5"; // seconds, unless the URI says otherwise
constexpr auto batch_timeout = std::chrono::seconds(30); // no answer: the connection is lost
constexpr auto backoff_first = std::chrono::milliseconds(50);
constexpr auto backoff_max = std::chrono::seconds(5);
constexpr int max_retries = 3; // a batch that lost a deadlock is run again, at most this often
constexpr size_t max_batch = 4096; // calls per transaction

int64_t wall_ms() {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

// The schema, one step per version: step i takes a database from version i to i + 1. Each runs
// in the migration's transaction.
const char *const migrations[PgStore::schema_version] = {
    // 0 → 1: messages and their mids, undelivered state, groups and members, and the function
    // that runs a group message's statements in the server.
    R"sql(
CREATE SEQUENCE glide_mid AS bigint MINVALUE 1 MAXVALUE 9007199254740991;
CREATE TABLE glide_messages (
    mid bigint PRIMARY KEY DEFAULT nextval('glide_mid'),
    kind smallint NOT NULL,
    sender bytea NOT NULL,
    receiver bytea NOT NULL,
    cli_mid bytea NOT NULL,
    seq bigint NOT NULL,
    type integer NOT NULL,
    content bytea NOT NULL,
    send_at bigint NOT NULL);
ALTER SEQUENCE glide_mid OWNED BY glide_messages.mid;
CREATE UNIQUE INDEX glide_messages_cli_mid ON glide_messages (sender, cli_mid)
    WHERE kind = 0 AND cli_mid <> ''::bytea;
CREATE TABLE glide_undelivered (
    receiver bytea NOT NULL, mid bigint NOT NULL, PRIMARY KEY (receiver, mid));
CREATE TABLE glide_groups (
    gid bytea PRIMARY KEY, next_seq bigint NOT NULL, created_at bigint NOT NULL DEFAULT 0);
CREATE TABLE glide_members (
    gid bytea NOT NULL, uid bytea NOT NULL, added_at bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (gid, uid));

-- A group message: r_status 0 stored (r_seq, r_mid), 1 no such group, 2 not a member. The
-- update locks the group's row until the commit: its sequence has no gap and no repeat.
CREATE FUNCTION glide_group_publish(p_sender bytea, p_gid bytea, p_cli_mid bytea,
        p_type integer, p_content bytea, p_send_at bigint,
        OUT r_status integer, OUT r_mid bigint, OUT r_seq bigint) LANGUAGE plpgsql AS $f$
BEGIN
    r_status := 1;
    r_mid := 0;
    r_seq := 0;
    PERFORM 1 FROM glide_groups WHERE gid = p_gid;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    r_status := 2;
    PERFORM 1 FROM glide_members WHERE gid = p_gid AND uid = p_sender;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    UPDATE glide_groups SET next_seq = next_seq + 1 WHERE gid = p_gid
        RETURNING next_seq - 1 INTO r_seq;
    IF NOT FOUND THEN
        r_status := 1;
        r_seq := 0;
        RETURN;
    END IF;
    INSERT INTO glide_messages (kind, sender, receiver, cli_mid, seq, type, content, send_at)
        VALUES (1, p_sender, p_gid, p_cli_mid, r_seq, p_type, p_content, p_send_at)
        RETURNING mid INTO r_mid;
    r_status := 0;
END $f$;
)sql",
    // 1 → 2: each member's group delivery cursor (the mid of the last group message it was
    // sent). Members from before start at the newest mid: what was said before the upgrade is
    // not replayed (no earlier version delivered group messages later either).
    R"sql(
ALTER TABLE glide_members ADD COLUMN delivered_mid bigint NOT NULL DEFAULT 0;
UPDATE glide_members SET delivered_mid = (SELECT coalesce(max(mid), 0) FROM glide_messages);
CREATE INDEX glide_members_uid ON glide_members (uid);
CREATE INDEX glide_messages_group ON glide_messages (receiver, mid) WHERE kind = 1;
)sql",
};

// The prepared statements, by PgStore::Stmt. Parameters are sent and results read in binary.
const char *const statements[PgStore::s_count] = {
    // s_message: from, to, cli_mid, seq, type, content, send_at → (mid, duplicate). An earlier
    // (from, cli_mid) answers its mid; else the message is inserted, with its undelivered row.
    // No row: another node inserted the same pair after this statement's snapshot was taken
    // (the insert waited for it, then did nothing), a race answered with a retryable failure.
    // Plain SQL rather than a PL/pgSQL function: a third less of the server's CPU per message.
    "WITH dup AS (SELECT mid FROM glide_messages WHERE sender = $1::bytea "
    "AND cli_mid = $3::bytea AND kind = 0 AND cli_mid <> ''::bytea), "
    "ins AS (INSERT INTO glide_messages (kind, sender, receiver, cli_mid, seq, type, content, "
    "send_at) SELECT 0, $1::bytea, $2::bytea, $3::bytea, $4::int8, $5::int4, $6::bytea, $7::int8 "
    "WHERE NOT EXISTS (SELECT 1 FROM dup) "
    "ON CONFLICT (sender, cli_mid) WHERE kind = 0 AND cli_mid <> ''::bytea DO NOTHING "
    "RETURNING mid), "
    "und AS (INSERT INTO glide_undelivered (receiver, mid) SELECT $2::bytea, mid FROM ins) "
    "SELECT mid, false FROM ins UNION ALL SELECT mid, true FROM dup",
    // s_group: from, gid, cli_mid, type, content, send_at
    "SELECT r_status, r_mid, r_seq FROM glide_group_publish($1::bytea, $2::bytea, $3::bytea, "
    "$4::int4, $5::bytea, $6::int8)",
    // s_delivered: uid, mid
    "DELETE FROM glide_undelivered WHERE receiver = $1::bytea AND mid = $2::int8",
    // s_page: uid, after_mid, limit → (mid, ..., group). The undelivered one-to-one messages
    // and, for each group of uid's, up to `limit` of its messages past the cursor (an index
    // range on (receiver, mid) each), merged by mid.
    "SELECT * FROM ("
    "(SELECT m.mid, m.seq, m.cli_mid, m.sender, m.receiver, m.type, m.content, m.send_at, "
    "false AS grp FROM glide_undelivered u JOIN glide_messages m ON m.mid = u.mid "
    "WHERE u.receiver = $1::bytea AND u.mid > $2::int8 ORDER BY u.mid LIMIT $3::int8) "
    "UNION ALL "
    "(SELECT g.*, true FROM glide_members b CROSS JOIN LATERAL ("
    "SELECT m.mid, m.seq, m.cli_mid, m.sender, m.receiver, m.type, m.content, m.send_at "
    "FROM glide_messages m WHERE m.kind = 1 AND m.receiver = b.gid "
    "AND m.mid > greatest(b.delivered_mid, $2::int8) ORDER BY m.mid LIMIT $3::int8) g "
    "WHERE b.uid = $1::bytea)) p ORDER BY mid LIMIT $3::int8",
    // s_create_group: gid, created_at
    "INSERT INTO glide_groups (gid, next_seq, created_at) VALUES ($1::bytea, 1, $2::int8) "
    "ON CONFLICT DO NOTHING",
    // s_delete_group: gid → how many groups went
    "WITH g AS (DELETE FROM glide_groups WHERE gid = $1::bytea RETURNING gid), "
    "m AS (DELETE FROM glide_members WHERE gid = $1::bytea) SELECT count(*) FROM g",
    // s_add_member: gid, uid, added_at → whether the group exists. A new member's cursor: the
    // newest mid committed (a message being published meanwhile may reach the new member).
    "WITH g AS (SELECT gid FROM glide_groups WHERE gid = $1::bytea), "
    "i AS (INSERT INTO glide_members (gid, uid, added_at, delivered_mid) "
    "SELECT gid, $2::bytea, $3::int8, (SELECT coalesce(max(mid), 0) FROM glide_messages) "
    "FROM g ON CONFLICT DO NOTHING) SELECT count(*) FROM g",
    // s_remove_member: gid, uid → whether the group exists, whether uid was a member
    "WITH g AS (SELECT gid FROM glide_groups WHERE gid = $1::bytea), "
    "d AS (DELETE FROM glide_members WHERE gid = $1::bytea AND uid = $2::bytea "
    "AND EXISTS (SELECT 1 FROM g) RETURNING 1) "
    "SELECT (SELECT count(*) FROM g), (SELECT count(*) FROM d)",
    // s_members: gid → (group exists, uid or NULL) rows
    "SELECT g.gid IS NOT NULL, m.uid FROM (SELECT $1::bytea AS id) a "
    "LEFT JOIN glide_groups g ON g.gid = a.id LEFT JOIN glide_members m ON m.gid = g.gid "
    "ORDER BY m.uid",
    // s_groups
    "SELECT gid FROM glide_groups ORDER BY gid",
    // s_group_delivered: uid, first_mid, mid. The cursor moves to mid when both are messages of
    // one group of uid's and none of that group lies between the cursor and first_mid.
    "UPDATE glide_members b SET delivered_mid = l.mid "
    "FROM glide_messages l, glide_messages f "
    "WHERE l.mid = $3::int8 AND l.kind = 1 AND f.mid = $2::int8 AND f.kind = 1 "
    "AND f.receiver = l.receiver AND f.mid <= l.mid "
    "AND b.gid = l.receiver AND b.uid = $1::bytea AND b.delivered_mid < l.mid "
    "AND NOT EXISTS (SELECT 1 FROM glide_messages m WHERE m.kind = 1 AND m.receiver = b.gid "
    "AND m.mid > b.delivered_mid AND m.mid < f.mid)",
};

std::string stmt_name(int i) {
    return "glide_" + std::to_string(i);
}

// libpq's message without its trailing newline, its lines joined.
std::string pq_text(const char *msg) {
    std::string s = msg ? msg : "";
    while (!s.empty() && (s.back() == '\n' || s.back() == ' '))
        s.pop_back();
    for (char &c : s)
        if (c == '\n')
            c = ' ';
    for (size_t p; (p = s.find("\t")) != std::string::npos;)
        s.erase(p, 1);
    return s;
}

struct OptionsFree {
    void operator()(PQconninfoOption *o) const { PQconninfoFree(o); }
};
using Options = std::unique_ptr<PQconninfoOption, OptionsFree>;

struct ResultFree {
    void operator()(PGresult *r) const { PQclear(r); }
};
using ResultPtr = std::unique_ptr<PGresult, ResultFree>;

bool is_uri(const std::string &s) {
    return s.rfind("postgresql://", 0) == 0 || s.rfind("postgres://", 0) == 0;
}

// `database "DB" on host "H" port P` from the URI's parts, with libpq's defaults where it has
// none, for the messages that say which server could not be reached.
std::string where_of(const std::string &uri) {
    Options opts(PQconninfoParse(uri.c_str(), nullptr));
    std::string host, port, db, user;
    for (PQconninfoOption *o = opts.get(); o && o->keyword; o++) {
        std::string v = o->val ? o->val : "";
        if (!strcmp(o->keyword, "host"))
            host = v;
        else if (!strcmp(o->keyword, "hostaddr") && host.empty())
            host = v;
        else if (!strcmp(o->keyword, "port"))
            port = v;
        else if (!strcmp(o->keyword, "dbname"))
            db = v;
        else if (!strcmp(o->keyword, "user"))
            user = v;
    }
    if (db.empty())
        db = user.empty() ? "(the user's name)" : user;
    if (host.empty())
        host = "/var/run/postgresql";
    if (port.empty())
        port = "5432";
    std::string w = "database \"" + db + "\" on ";
    return w + (host[0] == '/' ? "socket directory \"" + host + "\" port " + port
                               : "host \"" + host + "\" port " + port);
}

} // namespace

Status pg_check_uri(const std::string &uri) {
    if (!is_uri(uri))
        return make_error("it must begin with \"postgresql://\"");
    char *err = nullptr;
    Options opts(PQconninfoParse(uri.c_str(), &err));
    if (!opts) {
        std::string why = err ? pq_text(err) : "out of memory";
        PQfreemem(err);
        return make_error(why);
    }
    return {};
}

std::string pg_redact(const std::string &uri) {
    std::string s = uri;
    size_t scheme = s.find("://");
    if (scheme != std::string::npos) {
        size_t start = scheme + 3;
        size_t end = s.find_first_of("/?", start);
        size_t at = s.rfind('@', end == std::string::npos ? s.size() : end);
        if (at != std::string::npos && at >= start) {
            size_t colon = s.find(':', start);
            if (colon != std::string::npos && colon < at)
                s.replace(colon + 1, at - colon - 1, "***");
        }
    }
    for (size_t p = 0; (p = s.find("password=", p)) != std::string::npos;) {
        if (p > 0 && s[p - 1] != '?' && s[p - 1] != '&') {
            p++;
            continue;
        }
        size_t v = p + 9, e = s.find('&', v);
        s.replace(v, (e == std::string::npos ? s.size() : e) - v, "***");
        p = v;
    }
    return s;
}

// --- the connection -------------------------------------------------------------------------

struct PgStore::Conn {
    PGconn *pg = nullptr;
    ~Conn() { PQfinish(pg); }
};

// One result's rows, binary format.
struct PgStore::Reader {
    PGresult *r;
    int rows() const { return PQntuples(r); }
    bool null(int row, int col) const { return PQgetisnull(r, row, col); }
    int64_t i64(int row, int col) const {
        uint64_t v = 0;
        if (PQgetlength(r, row, col) == 8)
            memcpy(&v, PQgetvalue(r, row, col), 8);
        return static_cast<int64_t>(be64toh(v));
    }
    int32_t i32(int row, int col) const {
        uint32_t v = 0;
        if (PQgetlength(r, row, col) == 4)
            memcpy(&v, PQgetvalue(r, row, col), 4);
        return static_cast<int32_t>(be32toh(v));
    }
    bool flag(int row, int col) const {
        return PQgetlength(r, row, col) == 1 && PQgetvalue(r, row, col)[0] != 0;
    }
    std::string str(int row, int col) const {
        return std::string(PQgetvalue(r, row, col), PQgetlength(r, row, col));
    }
    std::string affected() const { return PQcmdTuples(r); }
};

namespace {

void no_notices(void *, const char *) {}

// Runs SQL (several statements allowed) outside a pipeline: libpq's reason on failure.
Status exec(PGconn *c, const char *sql) {
    ResultPtr r(PQexec(c, sql));
    ExecStatusType st = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        return make_error(pq_text(r ? PQresultErrorMessage(r.get()) : PQerrorMessage(c)));
    return {};
}

// Creates or migrates the schema in one transaction; an advisory lock keeps two nodes starting
// together from migrating at once.
Status migrate(PGconn *c) {
    Status st = exec(c, "BEGIN; SELECT pg_advisory_xact_lock(7146580245); "
                        "CREATE TABLE IF NOT EXISTS glide_schema (version integer NOT NULL)");
    if (!st)
        return st;
    auto fail = [&](std::string why) -> Status {
        ResultPtr(PQexec(c, "ROLLBACK"));
        return make_error(std::move(why));
    };
    ResultPtr r(PQexec(c, "SELECT max(version), count(*) FROM glide_schema"));
    if (!r || PQresultStatus(r.get()) != PGRES_TUPLES_OK)
        return fail(pq_text(PQerrorMessage(c)));
    int version = PQgetisnull(r.get(), 0, 0) ? 0 : atoi(PQgetvalue(r.get(), 0, 0));
    bool has_row = atoi(PQgetvalue(r.get(), 0, 1)) > 0;
    if (version > PgStore::schema_version)
        return fail("schema version " + std::to_string(version) +
                    " was written by a newer glided (this one knows up to " +
                    std::to_string(PgStore::schema_version) + ")");
    for (int i = version; i < PgStore::schema_version; i++) {
        st = exec(c, migrations[i]);
        if (!st)
            return fail("migrating the schema to version " + std::to_string(i + 1) + ": " +
                        st.error());
    }
    std::string set = (has_row ? "UPDATE glide_schema SET version = "
                               : "INSERT INTO glide_schema (version) VALUES (") +
                      std::to_string(PgStore::schema_version) + (has_row ? "" : ")");
    st = exec(c, set.c_str());
    if (st)
        st = exec(c, "COMMIT");
    if (!st)
        return fail(st.error());
    return {};
}

} // namespace

Status PgStore::connect() {
    conn_.reset();
    auto c = std::make_unique<Conn>();
    // The URI is expanded in place of dbname: its own settings override the defaults before it.
    const char *keys[] = {"connect_timeout", "application_name", "keepalives_idle",
                          "keepalives_interval", "keepalives_count", "dbname", nullptr};
    const char *vals[] = {default_connect_timeout, "glided", "10", "5", "3", uri_.c_str(),
                          nullptr};
    c->pg = PQconnectdbParams(keys, vals, 1);
    if (!c->pg)
        return make_error("out of memory");
    if (PQstatus(c->pg) != CONNECTION_OK)
        return make_error("cannot connect to " + where_ + ": " + pq_text(PQerrorMessage(c->pg)));
    PQsetNoticeProcessor(c->pg, no_notices, nullptr);
    // An acknowledged message must survive a crash of the server: never less than a local
    // flush, whatever the server's default.
    Status st = exec(c->pg, "SELECT set_config('synchronous_commit', 'on', false) "
                            "WHERE current_setting('synchronous_commit') = 'off'");
    if (st)
        st = migrate(c->pg);
    if (!st)
        return make_error(where_ + ": " + st.error());
    for (int i = 0; i < s_count; i++) {
        ResultPtr r(PQprepare(c->pg, stmt_name(i).c_str(), statements[i], 0, nullptr));
        if (!r || PQresultStatus(r.get()) != PGRES_COMMAND_OK)
            return make_error(where_ + ": preparing a statement: " +
                              pq_text(PQerrorMessage(c->pg)));
    }
    if (PQsetnonblocking(c->pg, 1) != 0 || PQenterPipelineMode(c->pg) != 1)
        return make_error(where_ + ": cannot enter pipeline mode: " +
                          pq_text(PQerrorMessage(c->pg)));
    conn_ = std::move(c);
    return {};
}

Result<std::unique_ptr<PgStore>> PgStore::open(event_base *base, const std::string &uri,
                                               Log log) {
    std::unique_ptr<PgStore> s(new PgStore);
    s->uri_ = uri;
    s->log_ = std::move(log);
    auto fail = [&](const std::string &why) {
        return make_error("store postgresql \"" + pg_redact(uri) + "\": " + why);
    };
    Status st = pg_check_uri(uri);
    if (!st)
        return fail(st.error());
    s->where_ = where_of(uri);
    st = s->connect();
    if (!st)
        return fail(st.error());
    st = s->writer_.start(base, "glide-pg", [p = s.get()] { p->writer(); });
    if (!st)
        return fail(st.error());
    return s;
}

PgStore::~PgStore() {
    writer_.stop();
}

void PgStore::post_log(glide_log_level level, std::string msg) {
    if (!log_)
        return;
    std::vector<Op> one(1);
    one[0].note = [log = log_, level, msg = std::move(msg)] { log(level, msg); };
    writer_.give(one, 0);
}

// --- the writer thread ----------------------------------------------------------------------

namespace {

// The parameters of one call, binary: kept here while libpq copies them into its buffer.
struct Params {
    const char *values[7];
    int lengths[7];
    int formats[7] = {1, 1, 1, 1, 1, 1, 1};
    uint64_t nums[7];
    int n = 0;
    void str(const std::string &s) {
        values[n] = s.data();
        lengths[n++] = static_cast<int>(s.size());
    }
    void i64(int64_t v) {
        nums[n] = htobe64(static_cast<uint64_t>(v));
        values[n] = reinterpret_cast<const char *>(&nums[n]);
        lengths[n++] = 8;
    }
    void i32(int32_t v) {
        uint32_t be = htobe32(static_cast<uint32_t>(v));
        memcpy(&nums[n], &be, 4);
        values[n] = reinterpret_cast<const char *>(&nums[n]);
        lengths[n++] = 4;
    }
};

void params_of(const PgStore::Op &op, Params &p) {
    const Message &m = op.msg;
    switch (op.stmt) {
    case PgStore::s_message:
        p.str(m.from), p.str(m.to), p.str(m.cli_mid), p.i64(m.seq), p.i32(m.type);
        p.str(m.content), p.i64(m.send_at);
        break;
    case PgStore::s_group:
        p.str(m.from), p.str(m.to), p.str(m.cli_mid), p.i32(m.type), p.str(m.content);
        p.i64(m.send_at);
        break;
    case PgStore::s_delivered:
        p.str(m.to), p.i64(op.num);
        break;
    case PgStore::s_group_delivered:
        p.str(m.to), p.i64(op.limit), p.i64(op.num);
        break;
    case PgStore::s_page:
        p.str(m.to), p.i64(op.num), p.i64(op.limit);
        break;
    case PgStore::s_create_group:
        p.str(m.to), p.i64(op.num);
        break;
    case PgStore::s_delete_group:
    case PgStore::s_members:
        p.str(m.to);
        break;
    case PgStore::s_add_member:
        p.str(m.to), p.str(m.from), p.i64(op.num);
        break;
    case PgStore::s_remove_member:
        p.str(m.to), p.str(m.from);
        break;
    case PgStore::s_groups:
    case PgStore::s_count:
        break;
    }
}

// True when the idle connection still looks usable: nothing may arrive while no query is in
// flight, so readable data is the server's goodbye (a shutdown, a terminated backend) or EOF.
bool idle_ok(PGconn *c) {
    if (PQstatus(c) != CONNECTION_OK)
        return false;
    pollfd p{PQsocket(c), POLLIN, 0};
    return poll(&p, 1, 0) == 0;
}

} // namespace

bool PgStore::run_batch(std::span<Op> batch, std::string &error, bool &retry, bool &broken) {
    PGconn *c = conn_->pg;
    error.clear();
    retry = broken = false;
    auto lost = [&](const std::string &why) {
        broken = true;
        if (error.empty())
            error = why;
        return false;
    };
    if (!PQsendQueryParams(c, "BEGIN", 0, nullptr, nullptr, nullptr, nullptr, 0))
        return lost(pq_text(PQerrorMessage(c)));
    for (Op &op : batch) {
        op.result = StoreResult{}; // a retried batch starts over
        op.outcome = Outcome{};
        Params p;
        params_of(op, p);
        if (!PQsendQueryPrepared(c, stmt_name(op.stmt).c_str(), p.n, p.values, p.lengths,
                                 p.formats, 1))
            return lost(pq_text(PQerrorMessage(c)));
    }
    if (!PQsendQueryParams(c, "COMMIT", 0, nullptr, nullptr, nullptr, nullptr, 0) ||
        !PQpipelineSync(c))
        return lost(pq_text(PQerrorMessage(c)));

    // Results: BEGIN, one per call, COMMIT (each followed by a null), then the sync.
    size_t query = 0;
    const size_t commit = batch.size() + 1;
    bool committed = false;
    auto deadline = Clock::now() + batch_timeout;
    for (;;) {
        int flushed = PQflush(c);
        if (flushed < 0)
            return lost(pq_text(PQerrorMessage(c)));
        bool synced = false;
        while (!PQisBusy(c)) {
            PGresult *raw = PQgetResult(c);
            if (!raw) {
                // The end of a query's results. On a lost connection libpq reports the end
                // again and again: never count past the queries sent.
                if (PQstatus(c) != CONNECTION_OK || ++query > commit + 1)
                    return lost(PQstatus(c) != CONNECTION_OK ? pq_text(PQerrorMessage(c))
                                                             : "results out of step");
                continue;
            }
            ResultPtr r(raw);
            ExecStatusType st = PQresultStatus(raw);
            if (st == PGRES_PIPELINE_SYNC) {
                synced = true;
                break;
            }
            if (st == PGRES_FATAL_ERROR) {
                if (error.empty()) {
                    error = pq_text(PQresultErrorMessage(raw));
                    const char *state = PQresultErrorField(raw, PG_DIAG_SQLSTATE);
                    retry = state && (!strcmp(state, "40001") || !strcmp(state, "40P01"));
                }
                continue;
            }
            if (st == PGRES_PIPELINE_ABORTED)
                continue;
            if (query == commit)
                committed = st == PGRES_COMMAND_OK;
            else if (query > 0 && query <= batch.size() && error.empty()) {
                Reader rd{raw};
                batch[query - 1].read(rd);
            }
        }
        if (synced)
            break;
        if (PQstatus(c) != CONNECTION_OK)
            return lost(pq_text(PQerrorMessage(c)));
        auto now = Clock::now();
        if (now >= deadline)
            return lost("no answer from the server in 30 s");
        pollfd p{PQsocket(c), static_cast<short>(POLLIN | (flushed == 1 ? POLLOUT : 0)), 0};
        int wait = static_cast<int>(
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count());
        if (poll(&p, 1, wait) < 0 && errno != EINTR)
            return lost("poll() failed");
        if ((p.revents & (POLLIN | POLLERR | POLLHUP)) && !PQconsumeInput(c))
            return lost(pq_text(PQerrorMessage(c)));
    }
    if (committed && error.empty())
        return true;
    if (error.empty())
        error = "COMMIT failed";
    // A failed statement leaves the transaction aborted (the sync does not end a BEGIN block).
    if (PQtransactionStatus(c) != PQTRANS_IDLE) {
        if (!PQsendQueryParams(c, "ROLLBACK", 0, nullptr, nullptr, nullptr, nullptr, 0) ||
            !PQpipelineSync(c))
            return lost(error);
        for (;;) {
            if (PQflush(c) < 0)
                return lost(error);
            bool synced = false;
            int ends = 0; // ROLLBACK's end of results, and nothing more is expected
            while (!PQisBusy(c)) {
                ResultPtr r(PQgetResult(c));
                if (!r && (PQstatus(c) != CONNECTION_OK || ++ends > 2))
                    return lost(error);
                if (r && PQresultStatus(r.get()) == PGRES_PIPELINE_SYNC) {
                    synced = true;
                    break;
                }
            }
            if (synced)
                break;
            pollfd p{PQsocket(c), POLLIN, 0};
            if (poll(&p, 1, 5000) <= 0 || !PQconsumeInput(c))
                return lost(error);
        }
    }
    return false;
}

void PgStore::writer() {
    std::vector<Op> batch;
    bool down = false;
    auto backoff = std::chrono::duration_cast<Clock::duration>(backoff_first);
    Clock::time_point next_try{};
    std::string reason;

    auto go_down = [&](const std::string &why) {
        conn_.reset();
        down = true;
        reason = why;
        writer_.refuse(
            {GLIDE_EIO, "store: the PostgreSQL " + where_ + " is unreachable: " + why});
        post_log(GLIDE_LOG_WARN, "store postgresql: lost the connection to " + where_ + " (" +
                                     why + "), reconnecting");
        backoff = backoff_first;
        next_try = Clock::now();
    };

    for (;;) {
        if (down) {
            if (!writer_.take(batch, next_try))
                return;
            if (!batch.empty()) { // queued before refuse() took effect
                for (Op &op : batch)
                    op.failed({GLIDE_EIO, "store: the PostgreSQL " + where_ +
                                              " is unreachable: " + reason});
                writer_.give(batch, 0);
            }
            if (Clock::now() < next_try)
                continue;
            Status st = connect();
            if (!st) {
                // Each new reason once (a server that refuses, then one that is starting up, a
                // schema another node migrated further...), not every attempt.
                if (st.error() != reason) {
                    reason = st.error();
                    post_log(GLIDE_LOG_WARN, "store postgresql: still reconnecting: " + reason);
                }
                backoff = std::min<Clock::duration>(backoff * 2, backoff_max);
                next_try = Clock::now() + backoff;
                continue;
            }
            down = false;
            writer_.accept();
            post_log(GLIDE_LOG_NOTICE, "store postgresql: connected again to " + where_);
            continue;
        }
        if (!writer_.take(batch))
            return;
        // A connection that died while idle is replaced before the batch goes out on it.
        if (!idle_ok(conn_->pg)) {
            std::string why = PQstatus(conn_->pg) == CONNECTION_OK
                                  ? std::string("the server closed the connection")
                                  : pq_text(PQerrorMessage(conn_->pg));
            Status st = connect();
            if (!st) {
                for (Op &op : batch)
                    op.failed({GLIDE_EIO, "store: " + st.error()});
                writer_.give(batch, 0);
                go_down(why);
                continue;
            }
            post_log(GLIDE_LOG_NOTICE, "store postgresql: the connection to " + where_ +
                                           " was closed (" + why + "), connected again");
        }
        // One transaction per chunk of the batch: a burst of a hundred thousand calls does
        // not become one transaction that outlives batch_timeout.
        std::string error;
        bool broken = false;
        unsigned committed = 0;
        for (size_t from = 0; from < batch.size(); from += max_batch) {
            std::span<Op> chunk(batch.data() + from, std::min(max_batch, batch.size() - from));
            bool retry = false, ok = false;
            if (!broken)
                for (int attempt = 0; attempt <= max_retries; attempt++) {
                    ok = run_batch(chunk, error, retry, broken);
                    if (ok || !retry || broken)
                        break;
                }
            if (ok) {
                committed++;
                continue;
            }
            Outcome o{GLIDE_EIO, "store: " + error};
            for (Op &op : chunk)
                op.failed(o);
        }
        writer_.give(batch, committed);
        if (broken)
            go_down(error);
    }
}

// --- the calls ------------------------------------------------------------------------------

void PgStore::Op::read(Reader &r) {
    switch (stmt) {
    case s_message:
        if (r.rows() == 1) {
            result.mid = r.i64(0, 0);
            result.duplicate = r.flag(0, 1);
        } else {
            result.status = GLIDE_EIO;
            result.error = "store: the same (from, cliMid) was being stored through another "
                           "node at the same time; retry";
        }
        break;
    case s_group:
        if (r.rows() == 1) {
            int st = r.i32(0, 0);
            if (st == 0) {
                result.mid = r.i64(0, 1);
                result.seq = r.i64(0, 2);
            } else {
                result.status = GLIDE_ENOTFOUND;
                result.error = st == 1 ? no_such_group : not_member;
            }
        }
        break;
    case s_page:
        page.clear();
        for (int i = 0; i < r.rows(); i++) {
            PageMessage &p = page.emplace_back();
            p.group = r.flag(i, 8);
            Message &m = p.msg;
            m.mid = r.i64(i, 0);
            m.seq = r.i64(i, 1);
            m.cli_mid = r.str(i, 2);
            m.from = r.str(i, 3);
            m.to = r.str(i, 4);
            m.type = r.i32(i, 5);
            m.content = r.str(i, 6);
            m.send_at = r.i64(i, 7);
        }
        break;
    case s_create_group:
        if (r.affected() == "0")
            outcome = {GLIDE_ESTATE, group_exists};
        break;
    case s_delete_group:
    case s_add_member:
        if (r.rows() == 1 && r.i64(0, 0) == 0)
            outcome = {GLIDE_ENOTFOUND, no_such_group};
        break;
    case s_remove_member:
        if (r.rows() == 1 && r.i64(0, 0) == 0)
            outcome = {GLIDE_ENOTFOUND, no_such_group};
        else if (r.rows() == 1 && r.i64(0, 1) == 0)
            outcome = {GLIDE_ENOTFOUND, not_member};
        break;
    case s_members:
        names.clear();
        if (r.rows() > 0 && !r.flag(0, 0))
            outcome = {GLIDE_ENOTFOUND, no_such_group};
        for (int i = 0; i < r.rows(); i++)
            if (!r.null(i, 1))
                names.push_back(r.str(i, 1));
        break;
    case s_groups:
        names.clear();
        for (int i = 0; i < r.rows(); i++)
            names.push_back(r.str(i, 0));
        break;
    case s_delivered:
    case s_group_delivered:
    case s_count:
        break;
    }
}

void PgStore::Op::failed(const Outcome &o) {
    result = StoreResult{};
    result.status = o.status;
    result.error = o.error;
    outcome = o;
    page.clear();
    names.clear();
}

void PgStore::Op::complete() {
    switch (stmt) {
    case s_message:
    case s_group:
        stored(std::move(result));
        break;
    case s_page:
        paged(std::move(outcome), std::move(page));
        break;
    case s_members:
    case s_groups:
        named(std::move(outcome), std::move(names));
        break;
    case s_count:
        if (note)
            note();
        break;
    default:
        done(std::move(outcome));
        break;
    }
}

void PgStore::store_message(const MessageView &view, StoreDone done) {
    Op op;
    op.stmt = s_message;
    view.assign_to(op.msg);
    op.stored = std::move(done);
    push(std::move(op));
}

void PgStore::group_publish(const MessageView &view, StoreDone done) {
    Op op;
    op.stmt = s_group;
    view.assign_to(op.msg);
    op.stored = std::move(done);
    push(std::move(op));
}

void PgStore::mark_delivered(std::string_view uid, int64_t mid, Done done) {
    push_done(call(s_delivered, std::string(uid), {}, mid), std::move(done));
}

void PgStore::mark_group_delivered(std::string_view uid, int64_t first_mid, int64_t mid,
                                   Done done) {
    Op op = call(s_group_delivered, std::string(uid), {}, mid);
    op.limit = first_mid;
    push_done(std::move(op), std::move(done));
}

void PgStore::load_undelivered(std::string_view uid, int64_t after_mid, uint32_t limit,
                               PageDone done) {
    Op op = call(s_page, std::string(uid), {}, after_mid);
    op.limit = limit;
    op.paged = std::move(done);
    push(std::move(op));
}

PgStore::Op PgStore::call(Stmt stmt, std::string to, std::string from, int64_t num) {
    Op op;
    op.stmt = stmt;
    op.msg.to = std::move(to);
    op.msg.from = std::move(from);
    op.num = num;
    return op;
}

void PgStore::push_done(Op op, Done done) {
    op.done = std::move(done);
    push(std::move(op));
}

void PgStore::push_names(Op op, NamesDone done) {
    op.named = std::move(done);
    push(std::move(op));
}

void PgStore::create_group(std::string gid, Done done) {
    push_done(call(s_create_group, std::move(gid), {}, wall_ms()), std::move(done));
}

void PgStore::delete_group(std::string gid, Done done) {
    push_done(call(s_delete_group, std::move(gid)), std::move(done));
}

void PgStore::add_member(std::string gid, std::string uid, Done done) {
    push_done(call(s_add_member, std::move(gid), std::move(uid), wall_ms()), std::move(done));
}

void PgStore::remove_member(std::string gid, std::string uid, Done done) {
    push_done(call(s_remove_member, std::move(gid), std::move(uid)), std::move(done));
}

void PgStore::group_members(std::string gid, NamesDone done) {
    push_names(call(s_members, std::move(gid)), std::move(done));
}

void PgStore::list_groups(NamesDone done) {
    push_names(call(s_groups), std::move(done));
}

} // namespace glide::store
