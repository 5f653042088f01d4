#include "host/master.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "common/strings.h"
#include "glide/version.h"

namespace glide::host {

namespace {

using std::chrono::duration_cast;
using std::chrono::milliseconds;

// The signals the master answers: blocked but inside ppoll(), where a handler notes them.
constexpr int master_signals[] = {SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGUSR1};
volatile sig_atomic_t caught[NSIG];

void note_signal(int sig) {
    caught[sig] = 1;
}

bool take(int sig) {
    if (!caught[sig])
        return false;
    caught[sig] = 0;
    return true;
}

std::string describe(int status) {
    if (WIFEXITED(status))
        return "exited with code " + std::to_string(WEXITSTATUS(status));
    if (WIFSIGNALED(status))
        return "was killed by signal " + std::to_string(WTERMSIG(status)) + " (" +
               strsignal(WTERMSIG(status)) + ")" + (WCOREDUMP(status) ? ", core dumped" : "");
    return "ended with status " + std::to_string(status);
}

long long ms(Master::Clock::duration d) {
    return static_cast<long long>(duration_cast<milliseconds>(d).count());
}

} // namespace

Master::Master(Server &server) : server_(server), log_(server.log()) {
    sigemptyset(&saved_mask_);
}

Master::~Master() {
    for (const Worker &w : workers_)
        if (w.ready_fd >= 0)
            ::close(w.ready_fd);
    if (admin_fd_ >= 0)
        ::close(admin_fd_);
}

Status Master::prepare() {
    pid_ = getpid();
    const HostConf &h = *cfg_.host;
    Status st = log_.open(h.error_log, h.error_log_level);
    if (!st)
        return st;
    // Before the pid file: from when it names this process, signals are answered.
    signal(SIGPIPE, SIG_IGN);
    sigset_t set;
    sigemptyset(&set);
    for (int sig : master_signals)
        sigaddset(&set, sig);
    sigprocmask(SIG_BLOCK, &set, &saved_mask_);
    struct sigaction sa {};
    sa.sa_handler = note_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_NOCLDSTOP;
    for (int sig : master_signals)
        sigaction(sig, &sa, nullptr);

    auto secret = server_.credential_secret(h);
    if (!secret)
        return make_error(secret.error());
    secret_ = std::move(*secret);
    if (!h.admin_listen.empty()) {
        auto fd = admin_socket(h);
        if (!fd)
            return make_error(fd.error());
        admin_fd_ = *fd;
    }
    st = write_pid_file(h.pid);
    if (!st)
        return st;
    pid_written_ = h.pid;
    return {};
}

int Master::run(Configuration cfg, std::optional<WorkerStart> &worker) {
    cfg_ = std::move(cfg);
    count_ = cfg_.host->worker_processes;
    Status st = prepare();
    if (!st) {
        log_.log(GLIDE_LOG_EMERG, "%s", st.error().c_str());
        if (log_.path() != "stderr")
            fprintf(stderr, "glided: [emerg] %s\n", st.error().c_str());
        exit_status_ = 1;
    } else {
        log_.log(GLIDE_LOG_NOTICE,
                 "glided " GLIDE_VERSION_STRING " master process, starting %u "
                 "worker processes",
                 count_);
        current_ = ++last_generation_;
        quick_deaths_.assign(count_, 0);
        for (size_t slot = 0; slot < count_; slot++)
            spawns_.push_back({current_, slot, Clock::now()});
        ready_by_ = Clock::now() + ready_timeout;
        for (;;) {
            // Workers are forked here only, out of every handler.
            const Clock::time_point now = Clock::now();
            for (size_t i = 0; i < spawns_.size();) {
                if (spawns_[i].due > now) {
                    i++;
                    continue;
                }
                Spawn s = spawns_[i];
                spawns_.erase(spawns_.begin() + static_cast<ptrdiff_t>(i));
                if (fork_worker(s, worker))
                    return 0;
            }
            if (stopping_ && workers_.empty())
                break;
            wait_events();
            if (take(SIGCHLD))
                reap();
            for (int sig : {SIGTERM, SIGINT})
                if (take(sig))
                    stop(sig, 0);
            if (take(SIGHUP))
                reload();
            if (take(SIGUSR1)) {
                Status r = log_.reopen();
                if (!r)
                    log_.log(GLIDE_LOG_ALERT, "reopening the log failed: %s", r.error().c_str());
                else
                    log_.log(GLIDE_LOG_NOTICE, "log reopened");
                signal_workers(SIGUSR1);
            }
            timers();
        }
    }
    if (admin_fd_ >= 0)
        ::close(admin_fd_);
    admin_fd_ = -1;
    if (!pid_written_.empty())
        ::unlink(pid_written_.c_str());
    log_.log(GLIDE_LOG_NOTICE, "exit");
    return exit_status_;
}

bool Master::fork_worker(const Spawn &s, std::optional<WorkerStart> &worker) {
    Worker w;
    w.generation = s.generation;
    w.slot = s.slot;
    w.started = Clock::now();
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) {
        exited(w, std::string("could not be started: pipe() failed (") + errno_text(errno) + ")");
        return false;
    }
    w.index = next_index_++;
    pid_t pid = fork();
    if (pid < 0) {
        int err = errno;
        ::close(p[0]);
        ::close(p[1]);
        exited(w, "could not be started: fork() failed (" + errno_text(err) + ")");
        return false;
    }
    if (pid == 0) {
        ::close(p[0]);
        child_setup(w, p[1], worker);
        return true;
    }
    ::close(p[1]);
    w.pid = pid;
    w.ready_fd = p[0];
    workers_.push_back(w);
    log_.log(GLIDE_LOG_NOTICE, "started worker process %d (index %u)", static_cast<int>(pid),
             w.index);
    return false;
}

void Master::child_setup(const Worker &self, int ready_fd, std::optional<WorkerStart> &worker) {
    // SIGTERM (drain and exit) when the master dies; it may have died before this call.
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != pid_)
        _exit(0);
    // A process group of its own: what is sent to glided's group (a terminal's ^C, timeout(1))
    // reaches the master alone, which tells each worker once; a worker taking a second SIGTERM
    // as "exit at once" would otherwise skip its drain.
    setpgid(0, 0);
    // The master's handlers and mask go. Until the worker's loop answers them, SIGTERM ends it
    // at once and SIGUSR1 is ignored (it opens its log fresh anyway); SIGINT and SIGHUP are the
    // master's alone.
    struct sigaction sa {};
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = SIG_DFL;
    sigaction(SIGCHLD, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGHUP, &sa, nullptr);
    sigaction(SIGUSR1, &sa, nullptr);
    sigprocmask(SIG_SETMASK, &saved_mask_, nullptr);
    for (int sig = 0; sig < NSIG; sig++)
        caught[sig] = 0;

    for (Worker &w : workers_)
        if (w.ready_fd >= 0)
            ::close(w.ready_fd);
    workers_.clear();
    spawns_.clear();
    const bool next = self.generation == next_;
    WorkerStart ws;
    ws.cfg = std::move(next ? next_cfg_ : cfg_);
    ws.secret = next ? next_secret_ : secret_;
    ws.index = self.index;
    ws.count = count_;
    ws.admin_fd = admin_fd_;
    ws.ready_fd = ready_fd;
    admin_fd_ = -1;       // the worker's now
    pid_written_.clear(); // the master's
    worker.emplace(std::move(ws));
}

std::optional<Master::Clock::time_point> Master::next_deadline() const {
    std::optional<Clock::time_point> d = ready_by_;
    auto sooner = [&](Clock::time_point t) {
        if (!d || t < *d)
            d = t;
    };
    if (kill_at_)
        sooner(*kill_at_);
    for (const Spawn &s : spawns_)
        sooner(s.due);
    return d;
}

void Master::wait_events() {
    std::vector<pollfd> fds;
    std::vector<pid_t> owners;
    for (const Worker &w : workers_)
        if (w.ready_fd >= 0) {
            fds.push_back({w.ready_fd, POLLIN, 0});
            owners.push_back(w.pid);
        }
    timespec ts{};
    timespec *timeout = nullptr;
    if (auto d = next_deadline()) {
        long long ns = std::max<long long>(
            0, std::chrono::duration_cast<std::chrono::nanoseconds>(*d - Clock::now()).count());
        ts.tv_sec = static_cast<time_t>(ns / 1000000000);
        ts.tv_nsec = static_cast<long>(ns % 1000000000);
        timeout = &ts;
    }
    // The only place the master's signals are let in.
    if (ppoll(fds.data(), fds.size(), timeout, &saved_mask_) <= 0)
        return;
    for (size_t i = 0; i < fds.size(); i++) {
        if (!fds[i].revents)
            continue;
        auto w = std::find_if(workers_.begin(), workers_.end(),
                              [&](const Worker &x) { return x.pid == owners[i]; });
        if (w != workers_.end())
            read_ready(*w);
    }
}

void Master::read_ready(Worker &w) {
    char b;
    ssize_t n = ::read(w.ready_fd, &b, 1);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    ::close(w.ready_fd);
    w.ready_fd = -1;
    if (n != 1)
        return; // it is exiting: reap() tells how
    w.ready = true;
    const unsigned gen = w.generation;
    if ((gen == next_ || (gen == current_ && !started_)) && all_ready(gen))
        generation_ready(gen);
}

bool Master::all_ready(unsigned generation) const {
    size_t n = 0;
    for (const Worker &w : workers_)
        n += w.generation == generation && w.ready && !w.retiring;
    return n == count_;
}

void Master::generation_ready(unsigned generation) {
    ready_by_.reset();
    if (generation == current_) {
        started_ = true;
        log_.log(GLIDE_LOG_NOTICE, "glided " GLIDE_VERSION_STRING " started, %u worker processes",
                 count_);
    } else {
        const unsigned old = current_;
        current_ = generation;
        next_ = 0;
        cfg_ = std::move(next_cfg_);
        secret_ = std::move(next_secret_);
        quick_deaths_.assign(count_, 0);
        retire(old);
        log_.log(GLIDE_LOG_NOTICE,
                 "configuration reloaded: %u new worker processes serve, the "
                 "old ones drain",
                 count_);
    }
    if (reload_again_) {
        reload_again_ = false;
        reload();
    }
}

void Master::retire(unsigned generation) {
    std::erase_if(spawns_, [&](const Spawn &s) { return s.generation == generation; });
    for (Worker &w : workers_)
        if (w.generation == generation && !w.retiring) {
            w.retiring = true;
            // One that does not serve yet may hang in its start: it would never drain.
            ::kill(w.pid, w.ready ? SIGTERM : SIGKILL);
        }
}

void Master::reap() {
    for (;;) {
        int status = 0;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid <= 0)
            return;
        auto it = std::find_if(workers_.begin(), workers_.end(),
                               [&](const Worker &w) { return w.pid == pid; });
        if (it == workers_.end())
            continue;
        Worker w = *it;
        workers_.erase(it);
        if (w.ready_fd >= 0)
            ::close(w.ready_fd);
        exited(w, describe(status));
    }
}

void Master::exited(const Worker &w, const std::string &how) {
    std::string who = w.pid > 0 ? "worker process " + std::to_string(w.pid) + " (index " +
                                      std::to_string(w.index) + ")"
                                : "a worker process";
    if (stopping_ || w.retiring) {
        log_.log(GLIDE_LOG_NOTICE, "%s %s", who.c_str(), how.c_str());
        return;
    }
    log_.log(GLIDE_LOG_ALERT, "%s %s%s", who.c_str(), how.c_str(),
             w.pid > 0 && !w.ready ? " before it served" : "");
    if (w.generation == next_) {
        abort_reload("a new worker process ended");
        return;
    }
    if (!started_) {
        log_.log(GLIDE_LOG_EMERG, "the worker processes could not start, glided stops");
        stop(0, 1);
        return;
    }
    const Clock::time_point now = Clock::now();
    unsigned &quick = quick_deaths_[w.slot];
    quick = now - w.started < quick_death ? std::min(quick + 1, 32u) : 0;
    Clock::duration delay{0};
    if (quick > 1)
        delay = std::min<Clock::duration>(max_backoff,
                                          first_backoff * (1LL << std::min(quick - 2, 8u)));
    if (delay.count() == 0)
        log_.log(GLIDE_LOG_NOTICE, "starting a worker process in its place");
    else
        log_.log(GLIDE_LOG_NOTICE,
                 "starting a worker process in its place in %lld ms "
                 "(workers keep exiting within %lld ms of their start)",
                 ms(delay), ms(quick_death));
    spawns_.push_back({current_, w.slot, now + delay});
}

void Master::abort_reload(const std::string &why) {
    log_.log(GLIDE_LOG_ERROR, "reload failed: %s, the running configuration is kept", why.c_str());
    retire(next_);
    next_ = 0;
    next_cfg_ = Configuration();
    next_secret_.clear();
    ready_by_.reset();
    if (reload_again_) {
        reload_again_ = false;
        reload();
    }
}

void Master::reload() {
    if (stopping_)
        return;
    if (next_ || !started_) {
        reload_again_ = true;
        log_.log(GLIDE_LOG_NOTICE, "SIGHUP while workers start: the configuration is read "
                                   "again once they serve");
        return;
    }
    auto next = server_.reread(cfg_);
    if (!next)
        return;
    next_cfg_ = std::move(next->cfg);
    next_secret_ = std::move(next->secret);
    next_ = ++last_generation_;
    const Clock::time_point now = Clock::now();
    for (size_t slot = 0; slot < count_; slot++)
        spawns_.push_back({next_, slot, now});
    ready_by_ = now + ready_timeout;
    log_.log(GLIDE_LOG_NOTICE, "starting %u worker processes with the new configuration", count_);
}

void Master::stop(int sig, int exit_status) {
    if (stopping_) {
        if (sig) {
            log_.log(GLIDE_LOG_NOTICE, "signal %d received again, the workers exit at once", sig);
            signal_workers(SIGTERM);
        }
        return;
    }
    stopping_ = true;
    exit_status_ = exit_status;
    spawns_.clear();
    ready_by_.reset();
    const uint64_t timeout = cfg_.host->shutdown_timeout_ms;
    if (sig)
        log_.log(GLIDE_LOG_NOTICE,
                 "signal %d received, stopping %zu worker process(es) "
                 "(draining up to %llu ms)",
                 sig, workers_.size(), static_cast<unsigned long long>(timeout));
    for (Worker &w : workers_)
        if (!w.retiring) {
            w.retiring = true;
            ::kill(w.pid, SIGTERM);
        }
    kill_at_ = Clock::now() + milliseconds(timeout) + kill_margin;
}

void Master::signal_workers(int sig) {
    for (const Worker &w : workers_)
        ::kill(w.pid, sig);
}

void Master::timers() {
    const Clock::time_point now = Clock::now();
    if (kill_at_ && now >= *kill_at_) {
        kill_at_.reset();
        log_.log(GLIDE_LOG_ALERT, "%zu worker process(es) did not exit in time, killing them",
                 workers_.size());
        signal_workers(SIGKILL);
    }
    if (ready_by_ && now >= *ready_by_) {
        ready_by_.reset();
        std::string why = "the worker processes did not serve within " +
                          std::to_string(ms(ready_timeout)) + " ms";
        if (next_) {
            abort_reload(why);
        } else if (!started_) {
            log_.log(GLIDE_LOG_EMERG, "%s, glided stops", why.c_str());
            stop(0, 1);
        }
    }
}

} // namespace glide::host
