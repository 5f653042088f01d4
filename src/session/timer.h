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

    // Milliseconds of a monotonic clock: inside an EventClock (below) the time it holds, else
    // the clock itself. Never ahead of the clock.
    int64_t now_ms() const { return held_ ? held_ms_ : clock_ms(); }

    // Reads the clock; inside an EventClock the reading becomes the time it holds. For after
    // something that may have taken a while (a host call).
    int64_t refresh_now() {
        int64_t t = clock_ms();
        if (held_)
            held_ms_ = t;
        return t;
    }

    // The monotonic clock itself, in milliseconds. schedule() measures from it.
    virtual int64_t clock_ms() const = 0;

    // Milliseconds since the Unix epoch (credential expiry needs wall time).
    virtual int64_t wall_ms() const = 0;

private:
    friend class EventClock;
    bool held_ = false;
    int64_t held_ms_ = 0;
};

// One clock reading for everything one transport event causes (a frame read, its replies, the
// deliveries to other sessions): now_ms() returns it while the EventClock lives, so the stamps
// and request start times of a message cost one clock read instead of one each. A time held
// this way is at most the event's duration behind the clock (microseconds: less than the
// millisecond the stamps are floored to anyway), and the hub refreshes it after each host
// request (refresh_now()), the one step that may take long. Timers stay exact: schedule() reads
// the clock, so a wait computed from an older now_ms() can only make a timer fire later, never
// earlier. Nested EventClocks keep the outer reading.
class EventClock {
public:
    explicit EventClock(TimerService &t) : t_(t), outer_(t.held_) {
        if (!outer_) {
            t_.held_ms_ = t_.clock_ms();
            t_.held_ = true;
        }
    }
    ~EventClock() {
        if (!outer_)
            t_.held_ = false;
    }
    EventClock(const EventClock &) = delete;
    EventClock &operator=(const EventClock &) = delete;

private:
    TimerService &t_;
    bool outer_;
};

} // namespace glide::session
