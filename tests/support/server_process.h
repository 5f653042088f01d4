// What the tests' throwaway servers (pg_server.h, redis_server.h) share: a temporary directory
// removed with its contents at the end, and the server as a child of the test that dies with it
// (PR_SET_PDEATHSIG) whatever happens to the test, its output in a log file.
#pragma once

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

namespace glide::testing {

// A directory made by mkdtemp, removed with its contents by the destructor.
class TempDir {
public:
    TempDir() = default;
    TempDir(const TempDir &) = delete;
    TempDir &operator=(const TempDir &) = delete;
    ~TempDir() {
        if (path_.empty())
            return;
        std::string cmd = "rm -rf '" + path_ + "'";
        if (system(cmd.c_str()) != 0)
            fprintf(stderr, "could not remove %s\n", path_.c_str());
    }

    // Makes /tmp/NAME.XXXXXX; false when mkdtemp failed.
    bool make(const std::string &name) {
        std::string tmpl = "/tmp/" + name + ".XXXXXX";
        if (!mkdtemp(tmpl.data()))
            return false;
        path_ = tmpl;
        return true;
    }
    const std::string &path() const { return path_; }

private:
    std::string path_;
};

// Runs args[0] (a full path) as a child that gets `deathsig` when the test dies, its output
// appended to `log`. `prepare`, when given, runs first in the child (dropping root: setuid
// clears the death signal, which is set after it); when it fails, the child exits with 126.
// The child's pid, -1 when fork failed.
inline pid_t spawn_child(const std::vector<std::string> &args, const std::string &log, int deathsig,
                         const std::function<bool()> &prepare = {}) {
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    if (prepare && !prepare())
        _exit(126);
    prctl(PR_SET_PDEATHSIG, deathsig);
    if (getppid() != parent) // the test died before prctl
        _exit(1);
    FILE *f = freopen(log.c_str(), "a", stdout);
    (void)f;
    dup2(1, 2);
    std::vector<char *> argv;
    for (const std::string &a : args)
        argv.push_back(const_cast<char *>(a.c_str()));
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
}

// Sends `sig` to the child and waits for it to end; pid is -1 after (and nothing is done when
// it already is).
inline void stop_child(pid_t &pid, int sig) {
    if (pid <= 0)
        return;
    ::kill(pid, sig);
    int status;
    waitpid(pid, &status, 0);
    pid = -1;
}

} // namespace glide::testing
