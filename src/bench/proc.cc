// /proc readings for the report: a process' CPU time (in all, and by thread), resident set
// size, open file descriptors and name.
#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "bench/bench.h"

namespace glide::bench {

namespace {

// Reads a /proc stat file: the command name (between the first '(' and the last ')', which may
// hold spaces and parentheses itself) and utime + stime in ns. False when it cannot be read.
bool read_stat(const char *path, std::string *comm, uint64_t *cpu_ns) {
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    char buf[1024];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *open = strchr(buf, '(');
    const char *close = strrchr(buf, ')');
    if (!open || !close || close < open)
        return false;
    unsigned long utime = 0, stime = 0;
    // Fields 3..: state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt
    // utime stime.
    if (sscanf(close + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime) != 2)
        return false;
    if (comm)
        comm->assign(open + 1, close);
    const long hz = sysconf(_SC_CLK_TCK);
    *cpu_ns = (static_cast<uint64_t>(utime) + stime) * (1000000000ull / static_cast<uint64_t>(hz));
    return true;
}

} // namespace

uint64_t proc_cpu_ns(pid_t pid) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/stat", static_cast<int>(pid));
    uint64_t ns = 0;
    return read_stat(path, nullptr, &ns) ? ns : 0;
}

std::vector<ThreadCpu> proc_thread_cpu(pid_t pid) {
    std::vector<ThreadCpu> out;
    char dir[64];
    snprintf(dir, sizeof dir, "/proc/%d/task", static_cast<int>(pid));
    DIR *d = opendir(dir);
    if (!d)
        return out;
    while (const dirent *e = readdir(d)) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        char path[sizeof dir + sizeof e->d_name + 8];
        snprintf(path, sizeof path, "%s/%s/stat", dir, e->d_name);
        ThreadCpu t;
        t.tid = static_cast<pid_t>(atoi(e->d_name));
        if (read_stat(path, &t.name, &t.cpu_ns))
            out.push_back(std::move(t));
    }
    closedir(d);
    return out;
}

std::string thread_cpu_split(const std::vector<ThreadCpu> &before,
                             const std::vector<ThreadCpu> &after, double per, const char *unit,
                             double window_s) {
    struct Used {
        std::string name;
        uint64_t ns;
    };
    std::vector<Used> used;
    uint64_t total = 0;
    for (const ThreadCpu &a : after) {
        uint64_t b = 0;
        for (const ThreadCpu &x : before)
            if (x.tid == a.tid)
                b = x.cpu_ns;
        const uint64_t d = a.cpu_ns >= b ? a.cpu_ns - b : 0;
        total += d;
        if (d)
            used.push_back({a.name, d});
    }
    if (used.size() < 2 || per <= 0 || window_s <= 0)
        return {};
    std::sort(used.begin(), used.end(), [](const Used &x, const Used &y) { return x.ns > y.ns; });
    std::string s;
    for (const Used &u : used) {
        if (u.ns * 100 < total) // under 1 %: housekeeping threads
            continue;
        char item[160];
        snprintf(item, sizeof item, "%s%s %.1f µs%s (%.2f cores)", s.empty() ? "" : ", ",
                 u.name.c_str(), static_cast<double>(u.ns) / 1e3 / per, unit,
                 static_cast<double>(u.ns) / 1e9 / window_s);
        s += item;
    }
    return s;
}

uint64_t proc_rss_bytes(pid_t pid) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/status", static_cast<int>(pid));
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    char line[256];
    uint64_t kb = 0;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "VmRSS:", 6) == 0) {
            kb = strtoull(line + 6, nullptr, 10);
            break;
        }
    }
    fclose(f);
    return kb * 1024;
}

uint64_t proc_fd_count(pid_t pid) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd", static_cast<int>(pid));
    DIR *d = opendir(path);
    if (!d)
        return 0;
    uint64_t n = 0;
    while (const dirent *e = readdir(d))
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

std::string proc_name(pid_t pid) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/comm", static_cast<int>(pid));
    FILE *f = fopen(path, "r");
    if (!f)
        return "?";
    char buf[64] = {};
    if (!fgets(buf, sizeof buf, f))
        buf[0] = '\0';
    fclose(f);
    std::string name = buf;
    while (!name.empty() && name.back() == '\n')
        name.pop_back();
    return name.empty() ? "?" : name;
}

uint64_t self_cpu_ns() {
    rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (static_cast<uint64_t>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec)) * 1000000000ull +
           static_cast<uint64_t>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000ull;
}

} // namespace glide::bench
