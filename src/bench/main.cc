// glide-bench — load generator and report writer for glide servers. See glide-bench(1).
//
//   glide-bench SCENARIO [URL[,URL...]] --secret S [options]
//
// The parent forks --procs workers (bench/worker.cc) that share counters and histograms with
// it through anonymous shared memory, waits until every connection is authenticated, starts
// the load, samples the server's /proc entries, stops the load and writes the report.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "bench/bench.h"
#include "client/admin.h"
#include "client/options.h"
#include "client/protocol.h"
#include "glide/version.h"

using namespace glide;
using namespace glide::bench;

namespace {

void usage(FILE *out) {
    fprintf(out,
            "usage: glide-bench SCENARIO [URL[,URL...]] --secret S [options]\n"
            "\n"
            "scenarios:\n"
            "  idle     --conns N authenticated connections, heartbeats only\n"
            "  chat     --pairs P sender/receiver pairs; every message acked (ack.request)\n"
            "  group    --groups G of --members M (created through --admin URL --admin-token T)\n"
            "  connect  connect + authenticate + close, --concurrency N in flight per worker\n"
            "  slow     chat plus one receiver that never reads\n"
            "  replay   a member logs in after --messages N group messages (10000) were published\n"
            "           to it and a publisher (a group made through --admin): the wait for them\n"
            "  flood    chat (at --rate) plus one connection that sends as fast as the server\n"
            "           answers (--flood-window in flight; its worker process niced)\n"
            "\n"
            "options:\n"
            "  --codec json|protobuf   wire codec (default json)\n"
            "  --rate R                messages/s over all senders (default: saturation);\n"
            "                          connect: connect + authenticate cycles/s\n"
            "  --window W              in-flight messages per sender at saturation (8)\n"
            "  --flood-window W        flood: the flooder's in-flight messages (4096)\n"
            "  --size B                content bytes per message (150)\n"
            "  --duration T --warmup T measured time (10s) after a warm-up (1s)\n"
            "  --interval T            also a line of figures every T of the measured time\n"
            "                          (counts, latency percentiles, server RSS and fds)\n"
            "  --procs N               worker processes (default: one per 10,000 connections)\n"
            "  --sources N             source addresses 127.0.0.1..N on loopback (4)\n"
            "  --server-pid PID[,...]  server process(es) for CPU and RSS figures (summed)\n"
            "  --baseline              run against a built-in WebSocket echo server instead\n"
            "  --server-cpu N          pin that echo server to CPU N\n"
            "  --report FILE           append the figures as a Markdown table to FILE\n"
            "  --uid-prefix P          user ids P-0, P-1, ... (bench)\n"
            "URL: ws://HOST:PORT/ws or tcp://HOST:PORT (not needed with --baseline); several,\n"
            "separated by commas, are the nodes of a cluster: connections go round-robin over\n"
            "them, and in chat each pair's receiver is on the node after its sender's\n");
}

int usage_error(const std::string &what) {
    fprintf(stderr, "glide-bench: %s (see glide-bench --help)\n", what.c_str());
    return 2;
}

const char *scenario_name(Scenario s) {
    switch (s) {
    case Scenario::idle: return "idle";
    case Scenario::chat: return "chat";
    case Scenario::group: return "group";
    case Scenario::connect: return "connect";
    case Scenario::slow: return "slow";
    case Scenario::replay: return "replay";
    case Scenario::flood: return "flood";
    }
    return "?";
}

struct Totals {
    uint64_t connected = 0, authenticated = 0, failed = 0, closed = 0;
    uint64_t sent = 0, acked = 0, delivered = 0, notified = 0, errors = 0;
    uint64_t flood_sent = 0, flood_acked = 0, flood_refused = 0;
};

Totals sum(WorkerShared *ws, int64_t n) {
    Totals t;
    for (int64_t i = 0; i < n; i++) {
        t.connected += ws[i].connected;
        t.authenticated += ws[i].authenticated;
        t.failed += ws[i].failed;
        t.closed += ws[i].closed;
        t.sent += ws[i].sent;
        t.acked += ws[i].acked;
        t.delivered += ws[i].delivered;
        t.notified += ws[i].notified;
        t.errors += ws[i].errors;
        t.flood_sent += ws[i].flood_sent;
        t.flood_acked += ws[i].flood_acked;
        t.flood_refused += ws[i].flood_refused;
    }
    return t;
}

void sleep_ms(int64_t ms) {
    timespec ts{static_cast<time_t>(ms / 1000), static_cast<long>((ms % 1000) * 1000000)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

std::string fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
std::string fmt(const char *f, ...) {
    char buf[512];
    va_list ap;
    va_start(ap, f);
    vsnprintf(buf, sizeof buf, f, ap);
    va_end(ap);
    return buf;
}

std::string us(uint64_t ns) {
    return fmt("%.1f µs", static_cast<double>(ns) / 1000.0);
}

std::string latency_line(const Histogram &h) {
    if (h.count() == 0)
        return "no samples";
    return "p50 " + us(h.quantile(0.5)) + ", p99 " + us(h.quantile(0.99)) + ", p99.9 " +
           us(h.quantile(0.999)) + ", max " + us(h.max()) + fmt(" (%llu samples)",
                                                               static_cast<unsigned long long>(h.count()));
}

std::vector<std::string> split_commas(std::string_view s) {
    std::vector<std::string> out;
    for (;;) {
        size_t comma = s.find(',');
        out.emplace_back(s.substr(0, comma));
        if (comma == std::string_view::npos)
            return out;
        s.remove_prefix(comma + 1);
    }
}

// --server-pid PID[,PID...]
Result<std::vector<pid_t>> parse_pids(const std::string &text) {
    std::vector<pid_t> pids;
    for (const std::string &p : split_commas(text)) {
        char *end = nullptr;
        errno = 0;
        long v = p.empty() ? 0 : strtol(p.c_str(), &end, 10);
        if (p.empty() || *end != '\0' || errno != 0 || v < 1 || v > 4194304)
            return make_error("--server-pid takes process ids separated by commas, not \"" +
                              text + "\"");
        pids.push_back(static_cast<pid_t>(v));
    }
    return pids;
}

// The server side's figures: one reading per --server-pid process, and their sum.
std::vector<uint64_t> each(const std::vector<pid_t> &pids, uint64_t (*read)(pid_t)) {
    std::vector<uint64_t> v;
    for (pid_t p : pids)
        v.push_back(read(p));
    return v;
}

uint64_t total(const std::vector<uint64_t> &v) {
    uint64_t t = 0;
    for (uint64_t x : v)
        t += x;
    return t;
}

// The CPUs the processes may run on, together (their affinity masks' union): server processes
// pinned to one CPU saturate it together.
int server_cpus(const std::vector<pid_t> &pids) {
    cpu_set_t all;
    CPU_ZERO(&all);
    for (pid_t p : pids) {
        cpu_set_t set;
        CPU_ZERO(&set);
        if (sched_getaffinity(p, sizeof set, &set) == 0)
            CPU_OR(&all, &all, &set);
    }
    return CPU_COUNT(&all);
}

std::string pid_list(const std::vector<pid_t> &pids) {
    std::string s;
    for (pid_t p : pids)
        s += (s.empty() ? "" : ",") + std::to_string(p);
    return s;
}

// --interval: the workers' histograms merged at the end of an interval. They are read while
// the workers record (Histogram::since recounts what a torn copy holds).
struct Snapshot {
    Histogram ack, e2e, connect;
};

std::unique_ptr<Snapshot> snapshot(WorkerShared *ws, int64_t n) {
    auto s = std::make_unique<Snapshot>();
    for (int64_t i = 0; i < n; i++) {
        s->ack.merge(ws[i].ack);
        s->e2e.merge(ws[i].e2e);
        s->connect.merge(ws[i].connect);
    }
    return s;
}

std::string percentiles(const char *name, const Histogram &h) {
    if (h.count() == 0)
        return std::string(name) + " no samples";
    return fmt("%s p50 %.1f µs p99 %.1f µs max %.1f µs", name, h.quantile(0.5) / 1e3,
               h.quantile(0.99) / 1e3, h.max() / 1e3);
}

// One interval's figures: the counts and latencies between two readings (a, b), and the
// server's RSS and open descriptors at its end.
std::string interval_figures(const Config &cfg, const Totals &a, const Totals &b,
                             const Snapshot &sa, const Snapshot &sb) {
    auto d = [](uint64_t x, uint64_t y) { return static_cast<unsigned long long>(y - x); };
    std::string s;
    if (cfg.scenario == Scenario::connect)
        s = fmt("connected %llu, failed %llu; ", d(a.acked, b.acked), d(a.failed, b.failed)) +
            percentiles("connect", sb.connect.since(sa.connect));
    else
        s = fmt("sent %llu, acked %llu, delivered %llu, errors %llu, closed %llu; ",
                d(a.sent, b.sent), d(a.acked, b.acked), d(a.delivered, b.delivered),
                d(a.errors, b.errors), d(a.closed, b.closed)) +
            percentiles("e2e", sb.e2e.since(sa.e2e)) + "; " +
            percentiles("ack", sb.ack.since(sa.ack));
    if (!cfg.server_pids.empty())
        s += fmt("; server RSS %.1f MiB, %llu fds",
                 total(each(cfg.server_pids, proc_rss_bytes)) / 1048576.0,
                 static_cast<unsigned long long>(total(each(cfg.server_pids, proc_fd_count))));
    return s;
}

Result<int> listen_loopback(uint16_t *port) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return make_error("socket() failed");
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sin;
    if (bind(fd, reinterpret_cast<sockaddr *>(&sin), len) != 0 || listen(fd, 4096) != 0 ||
        getsockname(fd, reinterpret_cast<sockaddr *>(&sin), &len) != 0) {
        close(fd);
        return make_error("cannot listen on 127.0.0.1");
    }
    evutil_make_socket_nonblocking(fd);
    *port = ntohs(sin.sin_port);
    return fd;
}

// Creates (or deletes) the scenario's groups through the admin API.
Status admin_groups(const Config &cfg, bool create) {
    for (int64_t g = 0; g < cfg.groups; g++) {
        std::string gid = group_id(cfg, g);
        Result<client::AdminResponse> r = make_error("");
        if (create) {
            std::string body = "{\"gid\":\"" + gid + "\",\"members\":[";
            for (int64_t m = 0; m < cfg.members; m++)
                body += (m ? ",\"" : "\"") + user_uid(cfg, g * cfg.members + m) + "\"";
            body += "]}";
            r = client::admin_call(cfg.admin_url, cfg.admin_token, "POST", "/v1/groups", body);
        } else {
            r = client::admin_call(cfg.admin_url, cfg.admin_token, "DELETE",
                                   "/v1/groups/" + client::url_escape(gid), "");
        }
        if (!r)
            return make_error(r.error());
        if (r->status < 200 || r->status > 299)
            return make_error(fmt("admin API answered %d to %s group %s: %s", r->status,
                                  create ? "create" : "delete", gid.c_str(), r->body.c_str()));
    }
    return Status::success();
}

} // namespace

int main(int argc, char **argv) {
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
                      !strcmp(argv[1], "help"))) {
        usage(stdout);
        return 0;
    }
    if (argc >= 2 && (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V"))) {
        printf("glide-bench version: glide-bench/" GLIDE_VERSION_STRING "\n");
        return 0;
    }
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    Config cfg;
    std::string sc = argv[1];
    if (sc == "idle")
        cfg.scenario = Scenario::idle;
    else if (sc == "chat")
        cfg.scenario = Scenario::chat;
    else if (sc == "group")
        cfg.scenario = Scenario::group;
    else if (sc == "connect")
        cfg.scenario = Scenario::connect;
    else if (sc == "slow")
        cfg.scenario = Scenario::slow;
    else if (sc == "replay")
        cfg.scenario = Scenario::replay;
    else if (sc == "flood")
        cfg.scenario = Scenario::flood;
    else
        return usage_error("unknown scenario \"" + sc + "\"");

    auto o = client::Options::parse(
        argc, argv, 2,
        {"secret", "codec", "conns", "pairs", "groups", "members", "messages", "rate", "window",
         "size", "duration", "warmup", "procs", "sources", "concurrency", "server-pid", "admin",
         "admin-token", "report", "uid-prefix", "heartbeat", "server-cpu", "flood-window",
         "interval"},
        {"baseline"});
    if (!o)
        return usage_error(o.error());
    cfg.baseline = o->has("baseline");
    struct NumOpt {
        const char *name;
        int64_t *dst;
        int64_t min, max;
        bool ms;
    } nums[] = {
        {"conns", &cfg.conns, 1, 1000000, false},
        {"pairs", &cfg.pairs, 1, 500000, false},
        {"groups", &cfg.groups, 1, 100000, false},
        {"members", &cfg.members, 1, 100000, false},
        {"messages", &cfg.messages, 1, 10000000, false},
        {"rate", &cfg.rate, 0, 100000000, false},
        {"window", &cfg.window, 1, 4096, false},
        {"flood-window", &cfg.flood_window, 1, 65536, false},
        {"size", &cfg.size, 0, 1 << 20, false},
        {"duration", &cfg.duration_ms, 100, 86400000, true},
        {"warmup", &cfg.warmup_ms, 0, 3600000, true},
        {"procs", &cfg.procs, 1, 256, false},
        {"sources", &cfg.sources, 1, 250, false},
        {"concurrency", &cfg.concurrency, 1, 10000, false},
        {"heartbeat", &cfg.heartbeat_ms, 1000, 3600000, true},
        {"interval", &cfg.interval_ms, 1000, 86400000, true},
    };
    if (cfg.scenario == Scenario::idle)
        cfg.conns = 1000;
    for (const NumOpt &n : nums) {
        auto v = o->number(n.name, *n.dst, n.min, n.max, n.ms);
        if (!v)
            return usage_error(v.error());
        *n.dst = *v;
    }
    if (o->has("server-pid")) {
        auto pids = parse_pids(o->get("server-pid"));
        if (!pids)
            return usage_error(pids.error());
        cfg.server_pids = std::move(*pids);
    }
    std::string codec_name = o->get("codec", "json");
    if (codec_name != "json" && codec_name != "protobuf")
        return usage_error("--codec is json or protobuf");
    cfg.codec = codec_name == "json" ? codec::Codec::json : codec::Codec::protobuf;
    cfg.secret = o->get("secret");
    cfg.uid_prefix = o->get("uid-prefix", "bench");
    cfg.admin_url = o->get("admin");
    cfg.admin_token = o->get("admin-token");
    for (int i = 0; i < argc; i++)
        cfg.command += (i ? " " : "") + std::string(argv[i]);
    if (cfg.baseline && cfg.scenario != Scenario::chat && cfg.scenario != Scenario::idle &&
        cfg.scenario != Scenario::connect)
        return usage_error("--baseline runs the chat, idle and connect scenarios");
    if (cfg.scenario == Scenario::group && cfg.admin_url.empty() && !cfg.baseline)
        return usage_error("group needs --admin URL (and --admin-token T) to create its groups");
    if (cfg.scenario == Scenario::replay && cfg.admin_url.empty())
        return usage_error("replay needs --admin URL (and --admin-token T) to create its group");

    signal(SIGPIPE, SIG_IGN);
    pid_t echo_pid = 0;
    if (cfg.baseline) {
        if (o->positional().size() > 0)
            return usage_error("--baseline takes no URL");
        uint16_t port = 0;
        auto fd = listen_loopback(&port);
        if (!fd)
            return usage_error(fd.error());
        auto cpu = o->number("server-cpu", -1, 0, 1023);
        if (!cpu)
            return usage_error(cpu.error());
        pid_t bench_pid = getpid();
        echo_pid = fork();
        if (echo_pid == 0) {
            // The echo server lives only as long as the run: it must not outlive a bench that
            // stops on an error path.
            prctl(PR_SET_PDEATHSIG, SIGTERM);
            if (getppid() != bench_pid)
                _exit(1);
            if (*cpu >= 0) {
                cpu_set_t set;
                CPU_ZERO(&set);
                CPU_SET(static_cast<int>(*cpu), &set);
                sched_setaffinity(0, sizeof set, &set);
            }
            _exit(run_echo_server(*fd));
        }
        close(*fd);
        cfg.url = "ws://127.0.0.1:" + std::to_string(port) + "/ws";
        cfg.server_pids = {echo_pid};
    } else {
        if (o->positional().size() != 1)
            return usage_error("give one URL (ws://HOST:PORT/ws or tcp://HOST:PORT), or several "
                               "separated by commas");
        cfg.url = o->positional()[0];
        if (cfg.secret.empty())
            return usage_error("--secret S (the server's credential_secret) is required");
    }
    // Source addresses on loopback only when every target is on loopback.
    cfg.loopback = true;
    for (const std::string &url : split_commas(cfg.url)) {
        auto ep = client::parse_endpoint(url);
        if (!ep)
            return usage_error(url.empty() ? "an empty URL in the list \"" + cfg.url + "\""
                                           : ep.error());
        auto addr = client::resolve(ep->host, ep->port);
        if (!addr) {
            fprintf(stderr, "glide-bench: %s\n", addr.error().c_str());
            return 1;
        }
        cfg.loopback = cfg.loopback && addr->ss.ss_family == AF_INET &&
                       (ntohl(reinterpret_cast<const sockaddr_in *>(&addr->ss)->sin_addr.s_addr) >>
                        24) == 127;
        cfg.targets.push_back({url, *ep, *addr});
    }
    if (cfg.scenario == Scenario::replay)
        return run_replay(cfg, codec_name, o->get("report"));
    const int64_t users = scenario_users(cfg);
    if (!o->has("procs") && cfg.scenario != Scenario::connect)
        cfg.procs = std::max<int64_t>(1, (users + 9999) / 10000);
    // flood: the pairs in the first worker(s), then the flooder and its receiver in a worker
    // each (a receiver sharing the flooder's CPU-bound loop would fall behind, be closed as a
    // slow consumer, and leave the server a backlog growing by the hundred megabytes).
    if (cfg.scenario == Scenario::flood)
        cfg.procs = std::max<int64_t>(cfg.procs, 1) + 2;
    if (users / cfg.procs > 19000)
        return usage_error(fmt("%lld connections per worker exceed the 20,000-fd limit: raise --procs",
                               static_cast<long long>(users / cfg.procs)));

    if (cfg.scenario == Scenario::group && !cfg.baseline) {
        Status st = admin_groups(cfg, true);
        if (!st) {
            fprintf(stderr, "glide-bench: creating the groups failed: %s\n", st.error().c_str());
            return 1;
        }
    }

    // Shared memory: the control block and one WorkerShared per worker.
    size_t bytes = sizeof(Shared) + sizeof(WorkerShared) * static_cast<size_t>(cfg.procs);
    void *mem = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) {
        perror("glide-bench: mmap");
        return 1;
    }
    auto *shared = new (mem) Shared;
    auto *ws = reinterpret_cast<WorkerShared *>(static_cast<char *>(mem) + sizeof(Shared));
    for (int64_t i = 0; i < cfg.procs; i++)
        new (&ws[i]) WorkerShared;

    const std::vector<pid_t> &spids = cfg.server_pids;
    const bool server = !spids.empty();
    const std::vector<uint64_t> each_rss0 = each(spids, proc_rss_bytes);
    const uint64_t rss0 = total(each_rss0);
    const bool tty = isatty(STDERR_FILENO);
    // Slices: whole pairs per worker for chat and slow (the slow pair goes to the last).
    std::vector<pid_t> workers;
    int64_t per = (users + cfg.procs - 1) / cfg.procs;
    if ((cfg.scenario == Scenario::chat || cfg.scenario == Scenario::slow) && per % 2)
        per++;
    const int64_t sliced = cfg.scenario == Scenario::flood ? users - 2 : users;
    const int64_t slices = cfg.scenario == Scenario::flood ? cfg.procs - 2 : cfg.procs;
    if (cfg.scenario == Scenario::flood) {
        per = (sliced + slices - 1) / slices;
        per += per % 2;
    }
    for (int64_t i = 0; i < cfg.procs; i++) {
        int64_t first = i * per, count = std::min(per, sliced - first);
        if (count < 0)
            count = 0;
        if (cfg.scenario == Scenario::flood && i >= cfg.procs - 2) {
            first = sliced + (i - (cfg.procs - 2)); // the flooder, then its receiver
            count = 1;
        }
        pid_t p = fork();
        if (p < 0) {
            perror("glide-bench: fork");
            shared->command = kStop;
            break;
        }
        if (p == 0)
            _exit(run_worker(cfg, static_cast<int>(i), first, count, shared, &ws[i]));
        workers.push_back(p);
    }
    const int64_t nworkers = static_cast<int64_t>(workers.size());

    // Setup: every connection authenticated (or failed).
    const uint64_t setup_start = client::now_ns();
    const uint64_t setup_limit = (60 + static_cast<uint64_t>(users) / 500) * 1000000000ull;
    for (;;) {
        bool ready = true;
        for (int64_t i = 0; i < nworkers; i++)
            if (ws[i].ready.load() == 0)
                ready = false;
        Totals t = sum(ws, nworkers);
        if (tty)
            fprintf(stderr, "\r%s setup: %llu/%lld authenticated, %llu failed   ",
                    scenario_name(cfg.scenario), static_cast<unsigned long long>(t.authenticated),
                    static_cast<long long>(users), static_cast<unsigned long long>(t.failed));
        if (ready || client::now_ns() - setup_start > setup_limit)
            break;
        sleep_ms(100);
    }
    const double setup_s = static_cast<double>(client::now_ns() - setup_start) / 1e9;
    Totals setup = sum(ws, nworkers);
    const std::vector<uint64_t> each_rss1 = each(spids, proc_rss_bytes);
    const uint64_t rss1 = total(each_rss1);
    if (tty)
        fprintf(stderr, "\n");

    // Load: go, warm up, measure.
    shared->go_ns = client::now_ns();
    shared->command = kGo;
    sleep_ms(cfg.warmup_ms);
    auto worker_cpu = [&]() {
        uint64_t c = 0;
        for (pid_t p : workers)
            c += proc_cpu_ns(p);
        return c;
    };
    Totals t0 = sum(ws, nworkers);
    const std::vector<uint64_t> each0 = each(spids, proc_cpu_ns);
    uint64_t scpu0 = total(each0), wcpu0 = worker_cpu();
    // By thread only for one server process; several are split by process.
    std::vector<ThreadCpu> sthreads0;
    if (spids.size() == 1)
        sthreads0 = proc_thread_cpu(spids[0]);
    uint64_t start = client::now_ns();
    uint64_t rss_max = rss1;
    Totals last = t0;
    uint64_t last_ns = start, last_scpu = scpu0;
    // --interval: a line at the end of each interval (and of a last, shorter one), kept as rows
    // of the report too.
    Rows interval_rows;
    Totals interval_t = t0;
    std::unique_ptr<Snapshot> interval_s = snapshot(ws, nworkers);
    const uint64_t interval_ns = static_cast<uint64_t>(cfg.interval_ms) * 1000000ull;
    uint64_t interval_from = start;
    auto interval_line = [&](uint64_t now, const Totals &t) {
        std::unique_ptr<Snapshot> snap = snapshot(ws, nworkers);
        std::string k = fmt("interval %zu (%.0f-%.0f s)", interval_rows.size() + 1,
                            (interval_from - start) / 1e9, (now - start) / 1e9);
        std::string v = interval_figures(cfg, interval_t, t, *interval_s, *snap);
        printf("%s: %s\n", k.c_str(), v.c_str());
        fflush(stdout);
        interval_rows.emplace_back(std::move(k), std::move(v));
        interval_t = t;
        interval_s = std::move(snap);
        interval_from = now;
    };
    while (client::now_ns() - start < static_cast<uint64_t>(cfg.duration_ms) * 1000000ull) {
        int64_t left = cfg.duration_ms - static_cast<int64_t>((client::now_ns() - start) / 1000000);
        if (interval_ns) {
            const uint64_t next = interval_from + interval_ns, now = client::now_ns();
            left = std::min<int64_t>(left, next > now ? static_cast<int64_t>((next - now) / 1000000) + 1 : 1);
        }
        sleep_ms(std::min<int64_t>(1000, std::max<int64_t>(left, 1)));
        Totals t = sum(ws, nworkers);
        uint64_t now = client::now_ns(), scpu = total(each(spids, proc_cpu_ns));
        if (interval_ns && now - interval_from >= interval_ns)
            interval_line(now, t);
        if (server)
            rss_max = std::max(rss_max, total(each(spids, proc_rss_bytes)));
        double dt = static_cast<double>(now - last_ns) / 1e9;
        fprintf(stderr, "%s%s %4.1fs: sent %.0f/s acked %.0f/s delivered %.0f/s server cpu %.0f%%%s",
                tty ? "\r" : "", scenario_name(cfg.scenario),
                static_cast<double>(now - start) / 1e9, (t.sent - last.sent) / dt,
                (t.acked - last.acked) / dt, (t.delivered - last.delivered) / dt,
                server ? static_cast<double>(scpu - last_scpu) / 1e7 / dt : 0.0,
                tty ? "   " : "\n");
        last = t;
        last_ns = now;
        last_scpu = scpu;
    }
    Totals t1 = sum(ws, nworkers);
    // The last interval, cut by the end of the run (unless it is under a tenth of one).
    if (interval_ns && client::now_ns() - interval_from >= interval_ns / 10)
        interval_line(client::now_ns(), t1);
    const std::vector<uint64_t> each1 = each(spids, proc_cpu_ns);
    uint64_t scpu1 = total(each1), wcpu1 = worker_cpu();
    std::vector<ThreadCpu> sthreads1;
    if (spids.size() == 1)
        sthreads1 = proc_thread_cpu(spids[0]);
    const double window = static_cast<double>(client::now_ns() - start) / 1e9;
    if (tty)
        fprintf(stderr, "\n");
    shared->command = kStop;
    for (pid_t p : workers)
        waitpid(p, nullptr, 0);
    Totals tend = sum(ws, nworkers);

    Histogram ack, e2e, conn;
    uint64_t slow_code = 0;
    std::string first_error;
    for (int64_t i = 0; i < nworkers; i++) {
        ack.merge(ws[i].ack);
        e2e.merge(ws[i].e2e);
        conn.merge(ws[i].connect);
        if (ws[i].slow_closed_code)
            slow_code = ws[i].slow_closed_code;
        if (first_error.empty() && ws[i].error[0])
            first_error = ws[i].error;
    }
    if (cfg.scenario == Scenario::group && !cfg.baseline) {
        Status st = admin_groups(cfg, false);
        if (!st)
            fprintf(stderr, "glide-bench: deleting the groups failed: %s\n", st.error().c_str());
    }
    if (echo_pid) {
        kill(echo_pid, SIGTERM);
        waitpid(echo_pid, nullptr, 0);
    }

    // The report.
    Rows rows;
    auto row = [&](std::string k, std::string v) { rows.emplace_back(std::move(k), std::move(v)); };
    const double acked_rate = (t1.acked - t0.acked) / window;
    const double delivered_rate = (t1.delivered - t0.delivered) / window;
    const double server_cores = server ? (scpu1 - scpu0) / 1e9 / window : 0;
    // Several server processes saturate when one of them uses a whole core (the busiest one's
    // share), or when together they use (nearly) all the CPUs they may run on.
    double busiest_cores = 0;
    for (size_t i = 0; i < spids.size(); i++)
        busiest_cores = std::max(busiest_cores, (each1[i] - each0[i]) / 1e9 / window);
    const bool server_saturated =
        server && (busiest_cores >= 0.9 ||
                   (spids.size() > 1 && server_cores >= 0.9 * std::max(1, server_cpus(spids))));
    const double bench_cores = (wcpu1 - wcpu0) / 1e9 / window;
    std::string mode = cfg.rate ? fmt("open loop %lld msg/s", static_cast<long long>(cfg.rate))
                                : fmt("saturation, window %lld", static_cast<long long>(cfg.window));
    row("server", cfg.baseline ? "built-in WebSocket echo (--baseline)" : cfg.url);
    row("codec", codec_name);
    if (cfg.scenario == Scenario::connect && cfg.rate)
        mode = fmt("open loop %lld cycles/s", static_cast<long long>(cfg.rate));
    row("load", fmt("%lld worker process(es), %s", static_cast<long long>(nworkers),
                    cfg.scenario == Scenario::idle ||
                            (cfg.scenario == Scenario::connect && !cfg.rate)
                        ? "-"
                        : mode.c_str()));
    if (cfg.scenario != Scenario::connect)
        row("connections", fmt("%llu authenticated, %llu failed (setup %.1f s)",
                               static_cast<unsigned long long>(setup.connected),
                               static_cast<unsigned long long>(setup.failed), setup_s));
    if (server && cfg.scenario != Scenario::connect && setup.connected)
        row("server RSS per connection",
            fmt("%.2f KiB (%.1f MiB before, %.1f MiB with %llu connections%s)",
                (static_cast<double>(rss1) - static_cast<double>(rss0)) / 1024.0 / setup.connected,
                rss0 / 1048576.0, rss1 / 1048576.0,
                static_cast<unsigned long long>(setup.connected),
                spids.size() > 1 ? fmt(", summed over %zu processes", spids.size()).c_str()
                                 : ""));
    if (spids.size() > 1 && cfg.scenario != Scenario::connect && setup.connected) {
        // Each process' part of that growth: the nodes' sessions beside Redis' directory.
        std::string split;
        for (size_t i = 0; i < spids.size(); i++)
            split += fmt("%s%s[%d] %.2f KiB", i ? ", " : "", proc_name(spids[i]).c_str(),
                         static_cast<int>(spids[i]),
                         (static_cast<double>(each_rss1[i]) - static_cast<double>(each_rss0[i])) /
                             1024.0 / setup.connected);
        row("server RSS by process", split);
    }
    row("measured", fmt("%.1f s after %.1f s warm-up", window, cfg.warmup_ms / 1000.0));
    switch (cfg.scenario) {
    case Scenario::connect:
        row("connect + authenticate", fmt("%.0f /s (%llu failed)", acked_rate,
                                          static_cast<unsigned long long>(t1.failed)));
        row("connect latency", latency_line(conn));
        if (server && acked_rate > 0)
            row("server CPU per connection", us(static_cast<uint64_t>((scpu1 - scpu0) / (t1.acked - t0.acked + 0.0))));
        break;
    case Scenario::idle:
        break;
    default:
        row("messages", fmt("sent %.0f/s, acked %.0f/s, delivered %.0f/s",
                            (t1.sent - t0.sent) / window, acked_rate, delivered_rate));
        row("server ack latency", latency_line(ack));
        row("end-to-end latency", latency_line(e2e));
        if (cfg.scenario == Scenario::flood) {
            uint64_t code = 0, closed_ns = 0;
            bool receiver = false;
            for (int64_t i = 0; i < nworkers; i++)
                if (ws[i].flood_closed_code) {
                    code = ws[i].flood_closed_code;
                    closed_ns = ws[i].flood_closed_ns;
                    receiver = ws[i].flood_closed_receiver;
                }
            std::string f = fmt("sent %.0f/s, acked %.0f/s, refused %.0f/s (window %lld)",
                                (t1.flood_sent - t0.flood_sent) / window,
                                (t1.flood_acked - t0.flood_acked) / window,
                                (t1.flood_refused - t0.flood_refused) / window,
                                static_cast<long long>(cfg.flood_window));
            if (code)
                f += fmt("; %s by the server with %llu after %.1f s",
                         receiver ? "its receiver closed" : "closed",
                         static_cast<unsigned long long>(code),
                         static_cast<double>(closed_ns - shared->go_ns.load()) / 1e9);
            row("flooder", f);
        }
        if (server && acked_rate > 0 && cfg.scenario != Scenario::flood)
            row("server CPU per message", us(static_cast<uint64_t>((scpu1 - scpu0) / (t1.acked - t0.acked + 0.0))));
        if (server && delivered_rate > 0 && cfg.scenario == Scenario::group)
            row("server CPU per delivery",
                us(static_cast<uint64_t>((scpu1 - scpu0) / (t1.delivered - t0.delivered + 0.0))));
        // A server with busy threads besides its loop (glided's SQLite writer, say): each
        // one's share, the store's cost beside the protocol's.
        if (std::string split =
                cfg.scenario == Scenario::group
                    ? thread_cpu_split(sthreads0, sthreads1, t1.delivered - t0.delivered + 0.0,
                                       "/delivery", window)
                    : thread_cpu_split(sthreads0, sthreads1, t1.acked - t0.acked + 0.0, "/msg",
                                       window);
            !split.empty())
            row("server CPU by thread", split);
        break;
    }
    if (spids.size() > 1) {
        // Each process' share of the CPU per message (per delivery in group, per connection
        // in connect), in the order given: which node, or Redis, the time goes to.
        const uint64_t count = cfg.scenario == Scenario::group ? t1.delivered - t0.delivered
                                                               : t1.acked - t0.acked;
        const char *unit = cfg.scenario == Scenario::group     ? "/delivery"
                           : cfg.scenario == Scenario::connect ? "/connection"
                                                               : "/msg";
        std::string split;
        for (size_t i = 0; i < spids.size(); i++) {
            const uint64_t d = each1[i] - each0[i];
            split += fmt("%s%s[%d] ", i ? ", " : "", proc_name(spids[i]).c_str(),
                         static_cast<int>(spids[i]));
            if (count && cfg.scenario != Scenario::idle)
                split += fmt("%.1f µs%s ", static_cast<double>(d) / 1e3 / count, unit);
            split += fmt("(%.2f cores)", d / 1e9 / window);
        }
        row("server CPU by process", split);
    }
    if (server)
        row("server CPU", fmt("%.2f cores (%s %s)", server_cores, spids.size() > 1 ? "pids" : "pid",
                              pid_list(spids).c_str()));
    row("bench CPU", fmt("%.2f cores over %lld process(es)", bench_cores,
                         static_cast<long long>(nworkers)));
    if (server && cfg.scenario != Scenario::idle) {
        double load = 0;
        if (FILE *f = fopen("/proc/loadavg", "r")) {
            if (fscanf(f, "%lf", &load) != 1)
                load = 0;
            fclose(f);
        }
        const long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        std::string who = server_saturated ? "server saturated"
                          : bench_cores / nworkers >= 0.9 ? "load generator saturated"
                          : cfg.rate ? "neither (open loop below saturation)"
                          : cfg.scenario == Scenario::connect
                              ? "neither (concurrency-limited: raise --concurrency)"
                              : "neither (window-limited: raise --window or --pairs)";
        if (!server_saturated && bench_cores / nworkers < 0.9 && load > cpus)
            who += fmt("; the machine is shared: load average %.1f on %ld CPUs", load, cpus);
        row("saturated", who);
    }
    if (cfg.scenario == Scenario::slow) {
        row("slow receiver",
            slow_code == 1006 ? std::string("closed by the server (no close frame read: 1006)")
            : slow_code       ? fmt("closed by the server with %llu",
                                    static_cast<unsigned long long>(slow_code))
                              : std::string("still open"));
        if (server)
            row("server RSS max", fmt("%.1f MiB", rss_max / 1048576.0));
    }
    rows.insert(rows.end(), interval_rows.begin(), interval_rows.end());
    if (tend.errors || tend.closed || first_error.size())
        row("errors", fmt("%llu error answers, %llu unexpected closes%s%s",
                          static_cast<unsigned long long>(tend.errors),
                          static_cast<unsigned long long>(tend.closed),
                          first_error.empty() ? "" : "; first: ", first_error.c_str()));

    if (!write_report(cfg, scenario_name(cfg.scenario), codec_name, rows, o->get("report")))
        return 1;
    // Failure when nothing worked: no connection, or messages sent and none acknowledged.
    if (cfg.scenario != Scenario::connect && setup.connected == 0)
        return 1;
    if (cfg.scenario == Scenario::connect && t1.acked == 0)
        return 1;
    if ((cfg.scenario == Scenario::chat || cfg.scenario == Scenario::group) && t1.acked == 0)
        return 1;
    return 0;
}
