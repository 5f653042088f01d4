// glided's master process, for worker_processes > 1 (nginx's model).
//
// The master reads the configuration (main did, as for one process), opens the log, resolves
// the credential secret, opens the admin_listen socket and writes the pid file; it never
// starts a module nor opens the store. It forks the workers: each resets its signals, applies
// the configuration and starts the module on an event_base of its own (Server::start_worker),
// as glide_host.worker_index I of worker_count N, which makes it node "<glide_node_id>.I" and
// has it open its listeners with SO_REUSEPORT. Indexes are never reused while glided runs:
// 0..N-1 at start, then N, N+1, ... for each worker started later, so a worker still draining
// and its successor never share a node id.
//
// A worker tells the master it serves by writing a byte to a pipe. The master:
//   - at start, waits until all N serve; when one exits first (or none serves within
//     ready_timeout), it stops the others and glided exits 1;
//   - restarts a worker that exits (logged with its pid and exit code or signal): at once,
//     then, while the worker of that slot keeps dying within quick_death of its start, after
//     250 ms, 500 ms, 1 s ... up to max_backoff;
//   - SIGHUP: reads the configuration again; a bad one is logged and the workers stay. Else it
//     starts N new workers on it and, once all serve, sends SIGTERM (drain and exit) to the
//     old ones, which are not restarted; when a new one exits before it serves, the new ones
//     are stopped and the old ones stay. A SIGHUP during a reload is done after it;
//   - SIGTERM, SIGINT: sends SIGTERM to every worker, waits for them up to shutdown_timeout
//     + kill_margin, then SIGKILLs what is left; removes the pid file and exits 0 (1 when the
//     start failed). A second signal sends SIGTERM again (a worker's second one: exit at once);
//   - SIGUSR1: reopens its log and passes the signal on to the workers.
// A worker gets SIGTERM when the master dies (PR_SET_PDEATHSIG), and exits at once if the
// master died before that was set.
//
// The master runs no event loop: it waits in ppoll() on the workers' pipes with its signals
// blocked everywhere else, so a fork never happens inside a libevent callback and a worker
// inherits no event_base.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "host/configuration.h"
#include "host/server.h"

namespace glide::host {

class Master {
public:
    using Clock = std::chrono::steady_clock;
    static constexpr std::chrono::milliseconds quick_death{1000};
    static constexpr std::chrono::milliseconds first_backoff{250};
    static constexpr std::chrono::milliseconds max_backoff{5000};
    static constexpr std::chrono::milliseconds kill_margin{2000};
    static constexpr std::chrono::milliseconds ready_timeout{60000};

    // `server` lends its log, modules and host table; it is started only in the workers.
    explicit Master(Server &server);
    ~Master();
    Master(const Master &) = delete;
    Master &operator=(const Master &) = delete;

    // Runs the master on `cfg` (worker_processes > 1) until it exits: returns the exit status.
    // In a worker just forked it returns at once with `worker` set (the return value is then
    // meaningless): the caller starts it with Server::start_worker and runs the loop, out of
    // every frame of the master.
    int run(Configuration cfg, std::optional<WorkerStart> &worker);

private:
    struct Worker {
        pid_t pid = -1;
        uint32_t index = 0;
        unsigned generation = 0;
        size_t slot = 0;   // 0..N-1 in its generation; a restart takes the same one
        int ready_fd = -1; // the pipe's read end, until the worker serves or exits
        bool ready = false;
        bool retiring = false; // told to drain and exit: not restarted
        Clock::time_point started;
    };
    struct Spawn {
        unsigned generation;
        size_t slot;
        Clock::time_point due;
    };

    Status prepare();
    // Forks the worker of spawn `s`; true in the child (worker filled).
    bool fork_worker(const Spawn &s, std::optional<WorkerStart> &worker);
    void child_setup(const Worker &self, int ready_fd, std::optional<WorkerStart> &worker);
    // Waits for a pipe, a signal or the next deadline.
    void wait_events();
    void reap();
    // A worker is gone (`how`: "exited with code 1"): restarted, or a start or reload fails.
    void exited(const Worker &w, const std::string &how);
    void read_ready(Worker &w);
    void generation_ready(unsigned generation);
    void reload();
    void abort_reload(const std::string &why);
    void stop(int sig, int exit_status);
    void timers();
    void signal_workers(int sig);
    void retire(unsigned generation);
    std::optional<Clock::time_point> next_deadline() const;
    bool all_ready(unsigned generation) const;

    Server &server_;
    ErrorLog &log_;
    uint32_t count_ = 0; // N
    uint32_t next_index_ = 0;
    unsigned last_generation_ = 0;
    unsigned current_ = 0; // the generation serving (or starting, at first)
    unsigned next_ = 0;    // a reload's generation while its workers start; 0: none
    Configuration cfg_, next_cfg_;
    std::string secret_, next_secret_;
    bool started_ = false;                      // the first generation served once
    bool reload_again_ = false;                 // a SIGHUP came during a reload
    std::optional<Clock::time_point> ready_by_; // the starting generation's deadline
    bool stopping_ = false;
    std::optional<Clock::time_point> kill_at_;
    int exit_status_ = 0;
    std::vector<Worker> workers_;        // live processes
    std::vector<Spawn> spawns_;          // workers to start, each when due
    std::vector<unsigned> quick_deaths_; // per slot of the current generation
    int admin_fd_ = -1;
    std::string pid_written_;
    sigset_t saved_mask_;
    pid_t pid_ = 0;
};

} // namespace glide::host
