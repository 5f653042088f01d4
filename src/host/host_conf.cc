#include "host/host_conf.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <unistd.h>

#include <cstring>

#include "host/errlog.h"
#include "host/store/pg_store.h"

namespace glide::host {

using conf::Spec;

static Status set_load_module(const Spec &, void *conf, const std::vector<std::string> &args) {
    static_cast<HostConf *>(conf)->load_modules.push_back(args[0]);
    return {};
}

static Status set_error_log(const Spec &spec, void *conf, const std::vector<std::string> &args) {
    auto &c = *static_cast<HostConf *>(conf);
    if (args[0].empty())
        return conf::invalid_value(spec, args[0]);
    c.error_log = args[0];
    c.error_log_level = GLIDE_LOG_INFO;
    if (args.size() == 2 && !parse_level(args[1], c.error_log_level))
        return make_error("invalid log level \"" + args[1] + "\" in \"" + spec.name +
                          "\" directive, it must be one of debug, info, notice, warn, error, "
                          "crit, alert, emerg");
    return {};
}

static Status set_admin_listen(const Spec &, void *conf, const std::vector<std::string> &args) {
    auto &c = *static_cast<HostConf *>(conf);
    auto addr = net::parse_listen_address(args[0], "admin_listen");
    if (!addr)
        return make_error(addr.error());
    c.admin_listen = args[0];
    c.admin_address = addr.value();
    return {};
}

// A token travels in an Authorization header: visible ASCII only, so every client can send it.
static Status set_admin_token(const Spec &spec, void *conf, const std::vector<std::string> &args) {
    auto &c = *static_cast<HostConf *>(conf);
    const std::string &t = args[0];
    if (t == "off") {
        c.admin_token_off = true;
        c.admin_token.clear();
        return {};
    }
    bool visible = !t.empty();
    for (unsigned char ch : t)
        visible = visible && ch > 0x20 && ch < 0x7f;
    if (!visible)
        return make_error(conf::invalid_value(spec, t).error() +
                          ", it must be \"off\" or printable ASCII without spaces");
    c.admin_token = t;
    c.admin_token_off = false;
    return {};
}

static Status set_store(const Spec &spec, void *conf, const std::vector<std::string> &args) {
    auto &c = *static_cast<HostConf *>(conf);
    if (args[0] == "memory" && args.size() == 1) {
        c.store = "memory";
        c.store_path.clear();
        return {};
    }
    if (args[0] == "sqlite" && args.size() == 2 && !args[1].empty()) {
        c.store = "sqlite";
        c.store_path = args[1];
        return {};
    }
    if (args[0].rfind("postgresql:", 0) == 0 || args[0].rfind("postgres:", 0) == 0) {
        if (args.size() != 1)
            return make_error("invalid number of arguments in \"" + std::string(spec.name) +
                              "\" directive");
        Status st = store::pg_check_uri(args[0]);
        if (!st)
            return make_error("invalid value \"" + store::pg_redact(args[0]) + "\" in \"" +
                              spec.name + "\" directive, " + st.error());
        c.store = "postgresql";
        c.store_path = args[0];
        return {};
    }
    if (args[0] != "memory" && args[0] != "sqlite")
        return make_error("invalid value \"" + args[0] + "\" in \"" + spec.name +
                          "\" directive, it must be \"sqlite PATH\", \"postgresql://...\" or "
                          "\"memory\"");
    return make_error("invalid number of arguments in \"" + std::string(spec.name) +
                      "\" directive");
}

// "auto": one per online CPU, within the directive's bounds.
static Status set_worker_processes(const Spec &spec, void *conf,
                                   const std::vector<std::string> &args) {
    auto &c = *static_cast<HostConf *>(conf);
    uint64_t n = 0;
    if (args[0] == "auto") {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        n = cpus < 1 ? 1 : static_cast<uint64_t>(cpus);
        n = n > spec.max ? spec.max : n;
    } else if (!conf::parse_uint(args[0], n) || n < spec.min || n > spec.max) {
        return make_error(conf::invalid_value(spec, args[0]).error() +
                          ", it must be \"auto\" or between " + std::to_string(spec.min) +
                          " and " + std::to_string(spec.max));
    }
    c.worker_processes = static_cast<uint32_t>(n);
    return {};
}

// Index 1 (full) sets store_sync_full.
static const char *const sync_modes[] = {"normal", "full", nullptr};

static const Spec specs[] = {
    {"load_module", conf::CTX_MAIN | conf::MULTI, 1, 1, set_load_module, 0, 0, nullptr, nullptr,
     "load_module PATH",
     "Loads a module (a shared object speaking the glide plugin ABI, such as libglide.so). A "
     "relative PATH is taken from the directory of the file that holds the directive. The "
     "module's directives may then stand anywhere in the file. A reload does not load or unload "
     "modules."},
    {"daemon", conf::CTX_MAIN, 1, 1, conf::set_flag<&HostConf::daemon>, 0, 0, nullptr, "off",
     "daemon on | off",
     "Whether glided detaches from the terminal and runs in the background."},
    {"pid", conf::CTX_MAIN, 1, 1, conf::set_string<&HostConf::pid>, 0, 0, nullptr, nullptr,
     "pid PATH",
     "File that receives the process id while glided runs; removed at exit. A relative PATH is "
     "taken from the directory of the file that holds the directive."},
    {"error_log", conf::CTX_MAIN | conf::RELOADABLE, 1, 2, set_error_log, 0, 0, nullptr,
     "stderr info", "error_log PATH | stderr [LEVEL]",
     "Where the log goes and the lowest level written: debug, info, notice, warn, error, crit, "
     "alert or emerg. SIGUSR1 reopens the file (after rotation)."},
    {"shutdown_timeout", conf::CTX_MAIN | conf::RELOADABLE, 1, 1,
     conf::set_time<&HostConf::shutdown_timeout_ms>, 0, 3600 * 1000, nullptr, "5s",
     "shutdown_timeout TIME",
     "On SIGTERM or SIGINT, the time given to sessions to close politely before the remaining "
     "connections are dropped and glided exits."},
    {"worker_processes", conf::CTX_MAIN, 1, 1, set_worker_processes, 1, 64, nullptr, "1",
     "worker_processes N | auto",
     "How many worker processes run the module, each on an event loop of its own; auto: one "
     "per online CPU (at most 64). With 1, glided is one process. With more, a master process "
     "reads the configuration, writes the pid file, opens the admin_listen socket (which every "
     "worker serves) and starts the workers; each opens the store and every glide_listen "
     "address itself, with SO_REUSEPORT, so the kernel spreads new connections among them. "
     "The master restarts a worker that dies (at once, then waiting up to 5 s while workers "
     "keep dying within a second of their start) and, on SIGHUP, starts new workers with the "
     "new configuration before the old ones drain (glided(8)). The workers are nodes of the "
     "cluster bus named GLIDE_NODE_ID.INDEX, and share state only through the store: more "
     "than one needs glide_cluster, a store that can be shared (sqlite or postgresql, not "
     "memory) and glide_listen ports other than 0. Changing it needs a restart."},
    {"store", conf::CTX_MAIN, 1, 2, set_store, 0, 0, nullptr, "sqlite data/glide.db",
     "store sqlite PATH | postgresql://USER[:PASSWORD]@HOST[:PORT]/DB[?PARAM=VALUE&...] | memory",
     "Where messages, undelivered state, groups, members (with what each has been sent of "
     "its groups) and group sequences are kept. A "
     "message is acknowledged to its sender only after its transaction has committed, and a "
     "retry with the same (from, cliMid) is never stored twice. sqlite: a SQLite database in "
     "WAL mode, written on a thread of its own (the event loop never waits for the disk); "
     "everything survives a restart or a crash. A relative PATH is taken from the directory of "
     "the file that holds the directive (the default's from the main file); missing "
     "directories are created. A file that is not a database, or one that cannot be written, "
     "stops glided at start with the path and SQLite's reason. postgresql: a PostgreSQL "
     "database (libpq's connection URI, e.g. postgresql://glide:secret@db1:5432/glide, or "
     "postgresql:///glide?host=/run/postgresql for a unix socket; parameters such as sslmode "
     "or connect_timeout, default 5 seconds, go after ?), which several glided nodes on "
     "several machines may share: mids come from one sequence and never collide. One "
     "connection per glided, written on a thread of its own, each burst of calls sent as one "
     "pipelined transaction. glided creates the tables (named glide_*) and migrates them; a "
     "schema from a newer glided, or a database that cannot be reached, stops glided at start "
     "with the server, the database and the reason. When the connection is lost, calls fail "
     "at once (a chat message gets notify.error, no ack) while glided reconnects with "
     "back-off; both changes are logged. glided -t checks the URI's syntax without "
     "connecting. memory: nothing survives the process; a one-to-one message is kept only "
     "until its receiver acknowledges it, a group message only until every member of its "
     "group has been sent it, and a retry with the "
     "same (from, cliMid) is recognized among the most recent 65,536 such messages "
     "server-wide (a later retry is stored and delivered again); it cannot be shared, so it is "
     "refused with worker_processes greater than 1 or with glide_cluster. The worker processes "
     "of one glided share its sqlite file (each worker opens it; writes queue on SQLite's "
     "lock) or postgresql database. Changing it needs a restart."},
    {"store_sync", conf::CTX_MAIN, 1, 1, conf::set_enum<&HostConf::store_sync_full>, 0, 0, sync_modes, "normal",
     "store_sync normal | full",
     "SQLite's synchronous setting for store sqlite. normal: a commit survives a crash of "
     "glided; in WAL mode a power loss may lose the last transactions, never corrupt the "
     "database. full: every commit waits for the disk to confirm it (slower). store "
     "postgresql ignores it: glided turns the server's synchronous_commit on when it is off, "
     "so a commit survives a crash of the server."},
    {"credential_secret", conf::CTX_MAIN | conf::RELOADABLE, 1, 1,
     conf::set_string<&HostConf::credential_secret>, 0, 0, nullptr, nullptr,
     "credential_secret \"SECRET\"",
     "The secret shared with the business API that mints glide credentials (AES-256-CBC, "
     "protocol.md section 6.4). authenticate opens the credential with it and refuses one older "
     "than 25 minutes (\"credential expired\"). Without it every authenticate is answered "
     "\"authentication is not configured\"."},
    {"credential_secret_file", conf::CTX_MAIN | conf::RELOADABLE, 1, 1,
     conf::set_string<&HostConf::credential_secret_file>, 0, 0, nullptr, nullptr,
     "credential_secret_file PATH",
     "Reads credential_secret from the first line of PATH instead of the configuration. When "
     "PATH does not exist, glided creates it at start with a new random secret (32 bytes as 64 "
     "hex digits, mode 0600) and logs where it is; glidectl(1) reads it with --secret-file. A "
     "relative PATH is taken from the directory of the file that holds the directive. Not "
     "together with credential_secret."},
    {"admin_listen", conf::CTX_MAIN, 1, 1, set_admin_listen, 0, 0, nullptr, nullptr,
     "admin_listen ADDRESS:PORT",
     "Opens the admin HTTP API (JSON: groups and their members, push, kick, sessions, "
     "/healthz) and /metrics (Prometheus text format) on this address; see glided(8). Off when "
     "absent. glided refuses to start when admin_token is missing, and accepts \"admin_token "
     "off\" only on a loopback address. A change needs a restart."},
    {"admin_token", conf::CTX_MAIN | conf::RELOADABLE, 1, 1, set_admin_token, 0, 0, nullptr,
     nullptr, "admin_token TOKEN | off",
     "The bearer token every admin request carries (\"Authorization: Bearer TOKEN\"); others "
     "are answered 401. Printable ASCII without spaces; use a long random string. \"off\" "
     "lets every request in and is accepted only when admin_listen is a loopback address."},
    {"admin_max_body_size", conf::CTX_MAIN | conf::RELOADABLE, 1, 1,
     conf::set_size<&HostConf::admin_body_limit>, 1, 64 << 20, nullptr, "1m",
     "admin_max_body_size SIZE",
     "The largest admin request body accepted; a larger one is answered 413 before it is "
     "read."},
};

std::span<const Spec> host_directives() { return specs; }

bool is_loopback(const net::Address &a) {
    if (a.family() == AF_INET) {
        auto *in = reinterpret_cast<const sockaddr_in *>(a.sa());
        return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    }
    if (a.family() == AF_INET6) {
        auto *in6 = reinterpret_cast<const sockaddr_in6 *>(a.sa());
        if (IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr))
            return true;
        return IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr) && in6->sin6_addr.s6_addr[12] == 127;
    }
    return false;
}

Status finish_host_conf(const HostConf &c) {
    if (!c.credential_secret.empty() && !c.credential_secret_file.empty())
        return make_error("\"credential_secret\" and \"credential_secret_file\" cannot both be "
                          "given, in " +
                          c.credential_secret_where);
    if (c.admin_listen.empty())
        return {};
    if (c.admin_token.empty() && !c.admin_token_off)
        return make_error("\"admin_listen\" directive needs \"admin_token\" (or \"admin_token "
                          "off;\" on a loopback address) in " +
                          c.admin_listen_where);
    if (c.admin_token_off && !is_loopback(c.admin_address))
        return make_error("\"admin_token off\" is allowed only with a loopback \"admin_listen\" "
                          "address, not \"" +
                          c.admin_listen + "\", in " + c.admin_token_where);
    return {};
}

Status check_workers(const HostConf &c, std::span<const ModuleNeeds> modules) {
    if (c.worker_processes > 1)
        for (const ModuleNeeds &m : modules)
            if (!m.cluster)
                return make_error("\"worker_processes\" greater than 1 needs \"" +
                                  m.cluster_directive +
                                  "\": the workers are nodes of the cluster bus in " +
                                  c.worker_processes_where);
    if (c.store == "memory" && c.worker_processes > 1)
        return make_error("store memory cannot be shared by worker processes in " +
                          c.store_where);
    for (const ModuleNeeds &m : modules)
        if (c.store == "memory" && m.cluster)
            return make_error("store memory cannot be shared by the nodes of a cluster in " +
                              c.store_where);
    if (c.worker_processes < 2)
        return {};
    for (const ModuleNeeds &m : modules)
        if (m.port0)
            return make_error("\"" + m.port0_directive +
                              "\" port 0 cannot be shared by worker processes, each would "
                              "listen on a port of its own, in " +
                              m.port0_where);
    return {};
}

std::string resolve_path(const std::string &conf_file, const std::string &path) {
    if (path.empty() || path[0] == '/' || path == "stderr")
        return path;
    size_t slash = conf_file.rfind('/');
    if (slash == std::string::npos)
        return path;
    return conf_file.substr(0, slash + 1) + path;
}

} // namespace glide::host
