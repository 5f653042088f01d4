// glide-bench: the pieces shared by the parent (orchestration, report) and its worker
// processes (connections, load).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "bench/histogram.h"
#include "client/endpoint.h"
#include "codec/message.h"

namespace glide::bench {

enum class Scenario : uint8_t { idle, chat, group, connect, slow, replay, flood };

// One server (node) of the URL list.
struct Target {
    std::string url;
    client::Endpoint endpoint;
    client::SockAddr address;
};

struct Config {
    Scenario scenario = Scenario::chat;
    std::string url;             // as given: one URL, or several separated by commas
    std::vector<Target> targets; // the URLs, in order
    codec::Codec codec = codec::Codec::json;
    std::string secret;       // credential_secret of the server
    int64_t conns = 0;        // idle, connect: connections; chat/slow: 2 × pairs
    int64_t pairs = 100;      // chat, slow
    int64_t groups = 10;      // group
    int64_t members = 100;    // group
    int64_t messages = 10000; // replay: group messages the offline member missed
    int64_t rate = 0;         // messages/s over all senders (connect: cycles/s); 0: saturation
    int64_t window = 8;       // in-flight messages per sender in saturation mode
    int64_t flood_window = 4096; // flood: the flooder's in-flight messages
    int64_t size = 150;       // content bytes per message
    int64_t duration_ms = 10000;
    int64_t interval_ms = 0;  // --interval: one line of figures per interval; 0: none
    int64_t warmup_ms = 1000;
    int64_t heartbeat_ms = 20000;
    int64_t procs = 1;
    int64_t sources = 4;      // 127.0.0.1 .. 127.0.0.N source addresses on loopback
    int64_t concurrency = 64; // connect: attempts in flight per worker
    std::string uid_prefix = "bench";
    std::string admin_url, admin_token;
    std::vector<pid_t> server_pids; // --server-pid: every process of the server side
    bool baseline = false;
    bool loopback = false;
    std::string command; // the command line, for the report
};

// Counters and histograms one worker fills in shared memory; the parent reads counters while
// the run goes (progress) and everything after the worker exited.
struct WorkerShared {
    std::atomic<uint64_t> connected{0}, authenticated{0}, failed{0}, closed{0};
    std::atomic<uint64_t> sent{0}, acked{0}, delivered{0}, notified{0}, errors{0};
    std::atomic<uint64_t> slow_closed_code{0};
    // flood: the flooder's own figures (its notify.error answers and close are expected)
    std::atomic<uint64_t> flood_sent{0}, flood_acked{0}, flood_refused{0};
    std::atomic<uint64_t> flood_closed_code{0}, flood_closed_ns{0};
    std::atomic<bool> flood_closed_receiver{false}; // the receiver was closed, not the flooder
    std::atomic<int> ready{0}; // 1: every connection is up (or failed); 2: finished
    uint64_t cpu_ns = 0;       // the worker's own CPU time during the measured window
    Histogram ack, e2e, connect;
    char error[256] = {};
};

// Commands from the parent to the workers.
enum Command : int { kWait = 0, kGo = 1, kStop = 2 };

struct Shared {
    std::atomic<int> command{kWait};
    std::atomic<uint64_t> go_ns{0};
};

// Runs one worker's share (connections [first, first + count) of the scenario's users) until
// the parent says stop; returns the exit code.
int run_worker(const Config &cfg, int index, int64_t first, int64_t count, Shared *shared,
               WorkerShared *out);

// The replay scenario (bench/replay.cc), run in this process; returns the exit code.
int run_replay(const Config &cfg, const std::string &codec_name, const std::string &report);

// A report: (figure, value) rows, printed as "  figure  value" and, with a --report FILE,
// appended to it as a Markdown table under the scenario's name and the command line. False
// when the file cannot be written.
using Rows = std::vector<std::pair<std::string, std::string>>;
bool write_report(const Config &cfg, const char *scenario, const std::string &codec_name,
                  const Rows &rows, const std::string &report);

// Serves the --baseline WebSocket echo on `fd` (a listening socket) until SIGTERM.
int run_echo_server(int fd);

// The uid of user i.
std::string user_uid(const Config &cfg, int64_t i);
// The target (index into cfg.targets) user i connects to: in chat and slow, pair p's sender
// goes to p % n and its receiver to (p + 1) % n (with two or more URLs every message crosses
// nodes); in the other scenarios user i goes to i % n.
size_t user_target(const Config &cfg, int64_t i);
// Users of the scenario: how many connections it opens in all.
int64_t scenario_users(const Config &cfg);
// The group id of group g.
std::string group_id(const Config &cfg, int64_t g);

// /proc readings of a process: CPU time (user + system) in ns, VmRSS in bytes, its name.
uint64_t proc_cpu_ns(pid_t pid);
uint64_t proc_rss_bytes(pid_t pid);
// Its open file descriptors (the entries of /proc/PID/fd); 0 when they cannot be read.
uint64_t proc_fd_count(pid_t pid);
std::string proc_name(pid_t pid);
// The calling process' own CPU time in ns.
uint64_t self_cpu_ns();

// CPU time of each thread of a process (/proc/PID/task/*/stat), with the thread's name.
struct ThreadCpu {
    pid_t tid = 0;
    std::string name;
    uint64_t cpu_ns = 0;
};
std::vector<ThreadCpu> proc_thread_cpu(pid_t pid);
// How the CPU used between two readings splits over threads, busiest first, as
// "name X µs<unit> (Y cores), ...": X per `per` (messages, deliveries) over window_s seconds.
// Threads under 1 % of the total are left out. Empty when fewer than two threads used any.
std::string thread_cpu_split(const std::vector<ThreadCpu> &before,
                             const std::vector<ThreadCpu> &after, double per, const char *unit,
                             double window_s);

} // namespace glide::bench
