// /proc readings for the report: a process' CPU time and resident set size.
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "bench/bench.h"

namespace glide::bench {

uint64_t proc_cpu_ns(pid_t pid) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/stat", static_cast<int>(pid));
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    char buf[1024];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    // The command name may contain spaces and parentheses: fields start after the last ')'.
    const char *p = strrchr(buf, ')');
    if (!p)
        return 0;
    unsigned long utime = 0, stime = 0;
    // Fields 3..: state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt
    // utime stime.
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime) != 2)
        return 0;
    long hz = sysconf(_SC_CLK_TCK);
    return (static_cast<uint64_t>(utime) + stime) * (1000000000ull / static_cast<uint64_t>(hz));
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

uint64_t self_cpu_ns() {
    rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (static_cast<uint64_t>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec)) * 1000000000ull +
           static_cast<uint64_t>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000ull;
}

} // namespace glide::bench
