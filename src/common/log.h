// Logging through a sink the host provides (glide_host.log for the module, the error log for
// glided). Lines are formatted on the stack; nothing is allocated.
#pragma once

#include <cstdarg>
#include <cstddef>

#include "glide/host.h"

namespace glide {

class Logger {
public:
    using Sink = void (*)(void *user_data, glide_log_level level, const char *msg, size_t len);

    void set_sink(Sink sink, void *user_data) {
        sink_ = sink;
        user_data_ = user_data;
    }
    bool enabled() const { return sink_ != nullptr; }

    void log(glide_log_level level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
    void vlog(glide_log_level level, const char *fmt, va_list ap);

private:
    Sink sink_ = nullptr;
    void *user_data_ = nullptr;
};

} // namespace glide
