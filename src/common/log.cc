#include "common/log.h"

#include <cstdio>

namespace glide {

void Logger::log(glide_log_level level, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vlog(level, fmt, ap);
    va_end(ap);
}

void Logger::vlog(glide_log_level level, const char *fmt, va_list ap) {
    if (!sink_)
        return;
    char buf[1024];
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    if (n < 0)
        return;
    size_t len = static_cast<size_t>(n) < sizeof buf ? static_cast<size_t>(n) : sizeof buf - 1;
    sink_(user_data_, level, buf, len);
}

} // namespace glide
