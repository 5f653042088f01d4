// glided's error log: nginx's format ("2026/11/25 23:59:59 [notice] 1234: message"), to stderr
// or a file, filtered by level, reopened on SIGUSR1.
#pragma once

#include <string>

#include "common/result.h"
#include "glide/host.h"

namespace glide::host {

class ErrorLog {
public:
    ~ErrorLog();
    // path "stderr" or a file (appended); level is the minimum written.
    Status open(const std::string &path, glide_log_level level);
    Status reopen();
    // A reload's error_log: opens it when it differs from the running one; when that fails,
    // logs why and keeps the old log.
    void follow(const std::string &path, glide_log_level level);
    void write(glide_log_level level, const char *msg, size_t len);
    void log(glide_log_level level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
    glide_log_level level() const { return level_; }
    const std::string &path() const { return path_; }

private:
    int fd_ = 2;
    std::string path_ = "stderr";
    glide_log_level level_ = GLIDE_LOG_INFO;
};

// Copies msg[0, len) to out as one log line's text: a control byte (below 0x20, and 0x7f) and
// the backslash become "\xNN", so a text that quotes what a client sent (a uid with a newline)
// cannot start a line of its own. Stops before a byte or an escape that does not fit in
// `room`; returns the bytes written.
size_t escape_text(const char *msg, size_t len, char *out, size_t room);

// "debug" … "emerg"; false when unknown.
bool parse_level(const std::string &s, glide_log_level &out);
const char *level_name(glide_log_level l);

} // namespace glide::host
