#include "host/errlog.h"

#include <fcntl.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "common/strings.h"

namespace glide::host {

static const char *const names[] = {"debug", "info", "notice", "warn",
                                    "error", "crit", "alert",  "emerg"};

bool parse_level(const std::string &s, glide_log_level &out) {
    for (int i = 0; i < 8; i++)
        if (s == names[i]) {
            out = static_cast<glide_log_level>(i);
            return true;
        }
    return false;
}

const char *level_name(glide_log_level l) {
    return l >= GLIDE_LOG_DEBUG && l <= GLIDE_LOG_EMERG ? names[l] : "?";
}

ErrorLog::~ErrorLog() {
    if (fd_ > 2)
        ::close(fd_);
}

Status ErrorLog::open(const std::string &path, glide_log_level level) {
    int fd = 2;
    if (path != "stderr") {
        fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0)
            return make_error("open() \"" + path + "\" failed (" + errno_text(errno) + ")");
    }
    if (fd_ > 2)
        ::close(fd_);
    fd_ = fd;
    path_ = path;
    level_ = level;
    return {};
}

Status ErrorLog::reopen() { return open(path_, level_); }

void ErrorLog::follow(const std::string &path, glide_log_level level) {
    if (path == path_ && level == level_)
        return;
    Status st = open(path, level);
    if (!st)
        log(GLIDE_LOG_ERROR, "%s, the old log is kept", st.error().c_str());
}

size_t escape_text(const char *msg, size_t len, char *out, size_t room) {
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        const auto c = static_cast<unsigned char>(msg[i]);
        if (c >= 0x20 && c != 0x7f && c != '\\') {
            if (o + 1 > room)
                break;
            out[o++] = static_cast<char>(c);
            continue;
        }
        if (o + 4 > room)
            break;
        out[o++] = '\\';
        out[o++] = 'x';
        out[o++] = kHexDigits[c >> 4];
        out[o++] = kHexDigits[c & 15];
    }
    return o;
}

void ErrorLog::write(glide_log_level level, const char *msg, size_t len) {
    if (level < level_)
        return;
    char head[96];
    timeval tv;
    gettimeofday(&tv, nullptr);
    tm t;
    localtime_r(&tv.tv_sec, &t);
    int n = snprintf(head, sizeof head, "%04d/%02d/%02d %02d:%02d:%02d [%s] %d: ",
                     t.tm_year + 1900, t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec,
                     level_name(level), static_cast<int>(getpid()));
    // One write per line so concurrent writers (workers, SIGUSR1 rotation) do not interleave.
    char line[2048];
    size_t hl = static_cast<size_t>(n);
    memcpy(line, head, hl);
    size_t at = hl + escape_text(msg, len, line + hl, sizeof line - hl - 1);
    line[at] = '\n';
    ssize_t w = ::write(fd_, line, at + 1);
    (void)w;
}

void ErrorLog::log(glide_log_level level, const char *fmt, ...) {
    if (level < level_)
        return;
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    write(level, buf, static_cast<size_t>(n) < sizeof buf ? static_cast<size_t>(n) : sizeof buf - 1);
}

} // namespace glide::host
