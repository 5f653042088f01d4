// Time for the protocol core: one-shot timers and a monotonic clock. The libevent glue
// (EventTimers, module/session_glue.h) keeps the timers in a heap under one event_base timer;
// tests use a fake clock they advance by hand.
#pragma once

#include <cstdint>
#include <functional>

namespace glide::session {

class TimerService {
public:
    using Handle = uint64_t; // 0 is never a valid handle

    virtual ~TimerService() = default;

    // Calls `fn` once, on the loop, after `ms` milliseconds (0: on the next loop turn, never
    // from inside schedule()); timers due at the same time run in the order they were
    // scheduled. fn may schedule and cancel timers. Returns a handle for cancel().
    virtual Handle schedule(uint64_t ms, std::function<void()> fn) = 0;

    // Cancels a timer that has not fired; a no-op for 0, fired or cancelled handles.
    virtual void cancel(Handle h) = 0;

    // Milliseconds of a monotonic clock.
    virtual int64_t now_ms() const = 0;

    // Milliseconds since the Unix epoch (credential expiry needs wall time).
    virtual int64_t wall_ms() const = 0;
};

} // namespace glide::session
