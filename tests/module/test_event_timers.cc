// EventTimers (module/session_glue.h) on a real event_base: the session::TimerService contract
// (order, 0 ms on the next loop turn, cancel and schedule from callbacks, stale handles) and
// that a pending timer allocates nothing of its own. No timing asserts: only orders that the
// contract guarantees whatever the machine's load, and "never early".
#include <algorithm>
#include <cstdlib>
#include <new>
#include <vector>

#include "module/session_glue.h"

#include "glide_cmocka.h"

// Counts this program's operator new calls (the no-allocation test).
static size_t g_news = 0;

void *operator new(size_t n) {
    g_news++;
    if (void *p = std::malloc(n ? n : 1))
        return p;
    throw std::bad_alloc();
}
void operator delete(void *p) noexcept {
    std::free(p);
}
void operator delete(void *p, size_t) noexcept {
    std::free(p);
}

using glide::EventTimers;
using Handle = glide::session::TimerService::Handle;

namespace {

struct Loop {
    event_base *base = event_base_new();
    ~Loop() { event_base_free(base); }
};

// Turns the loop until pred() holds; fails after 20 s (a hang, not a slow machine).
template <typename Pred> void run_until(Loop &l, EventTimers &t, Pred pred) {
    const int64_t give_up = t.now_ms() + 20000;
    while (!pred()) {
        assert_true(t.now_ms() < give_up);
        timeval tv = {0, 50000};
        event_base_loopexit(l.base, &tv);
        event_base_loop(l.base, 0);
    }
}

// Timers scheduled in some order with mixed delays: one scheduled no later than another with no
// longer a delay runs first (equal due times run in schedule order), and none runs early.
void test_order_and_never_early(void **) {
    Loop l;
    EventTimers t(l.base);
    constexpr int n = 300;
    std::vector<int> ran;
    std::vector<uint64_t> delay(n);
    std::vector<int64_t> earliest(n);
    for (int i = 0; i < n; i++) {
        delay[i] = static_cast<uint64_t>((i * 37) % 41); // 0..40 ms, not monotonic
        earliest[i] = t.now_ms() + static_cast<int64_t>(delay[i]);
        t.schedule(delay[i], [&, i] {
            assert_true(t.now_ms() >= earliest[i]);
            ran.push_back(i);
        });
    }
    assert_int_equal(t.pending(), n);
    run_until(l, t, [&] { return ran.size() == n; });
    assert_int_equal(t.pending(), 0);
    std::vector<int> pos(n);
    for (int k = 0; k < n; k++)
        pos[ran[k]] = k;
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            if (delay[i] <= delay[j])
                assert_true(pos[i] < pos[j]);
}

// 0 ms: never from inside schedule(), and a timer scheduled by a running callback waits for
// the next loop turn, even at 0 ms: a callback that reschedules itself cannot starve the loop.
void test_zero_ms_next_turn(void **) {
    Loop l;
    EventTimers t(l.base);
    int runs = 0;
    std::function<void()> again = [&] {
        const int now = ++runs;
        t.schedule(0, again);
        assert_int_equal(runs, now); // schedule() returned without running it
    };
    t.schedule(0, again);
    assert_int_equal(runs, 0);
    for (int turn = 1; turn <= 5; turn++) {
        event_base_loop(l.base, EVLOOP_ONCE);
        assert_int_equal(runs, turn);
        assert_int_equal(t.pending(), 1);
    }
}

// A callback cancels a timer due in the same run, and cancels itself (a no-op); cancel of 0,
// of a fired and of a cancelled handle are no-ops.
void test_cancel_from_callback(void **) {
    Loop l;
    EventTimers t(l.base);
    std::vector<char> ran;
    Handle a = 0, b = 0, c = 0;
    a = t.schedule(0, [&] {
        ran.push_back('a');
        t.cancel(a); // itself: already fired
        t.cancel(b); // due in this same run, after a
    });
    b = t.schedule(0, [&] { ran.push_back('b'); });
    c = t.schedule(0, [&] { ran.push_back('c'); });
    assert_true(a != 0 && b != 0 && c != 0 && a != b && b != c);
    t.cancel(0);
    run_until(l, t, [&] { return t.pending() == 0; });
    assert_int_equal(ran.size(), 2);
    assert_int_equal(ran[0], 'a');
    assert_int_equal(ran[1], 'c');
    t.cancel(a);
    t.cancel(b);
    t.cancel(c);
    assert_int_equal(t.pending(), 0);

    // Cancelling the first timer leaves the rest to run (the event may wake early; harmless).
    Handle first = t.schedule(5, [&] { ran.push_back('x'); });
    t.schedule(10, [&] { ran.push_back('y'); });
    t.cancel(first);
    run_until(l, t, [&] { return t.pending() == 0; });
    assert_int_equal(ran.size(), 3);
    assert_int_equal(ran[2], 'y');
}

// A callback schedules further timers (a chain), and reschedules a timer it cancels.
void test_reschedule_from_callback(void **) {
    Loop l;
    EventTimers t(l.base);
    int chain = 0;
    std::function<void()> next = [&] {
        if (++chain < 10)
            t.schedule(static_cast<uint64_t>(chain % 3), next);
    };
    t.schedule(1, next);
    int late = 0;
    Handle h = t.schedule(10000, [&] { late = -1; });
    t.schedule(2, [&] {
        t.cancel(h);
        h = t.schedule(3, [&] { late = 1; });
    });
    run_until(l, t, [&] { return chain == 10 && late != 0; });
    assert_int_equal(late, 1);
    assert_int_equal(t.pending(), 0);
}

// A slot is reused after its timer fired or was cancelled; the old handle must not touch the
// new timer.
void test_stale_handles(void **) {
    Loop l;
    EventTimers t(l.base);
    int ran = 0;
    Handle old = t.schedule(0, [&] { ran = -1; });
    t.cancel(old);
    Handle h = t.schedule(0, [&] { ran++; });
    assert_true(h != old);
    t.cancel(old);
    assert_int_equal(t.pending(), 1);
    run_until(l, t, [&] { return ran == 1; });
    Handle h2 = t.schedule(0, [&] { ran++; });
    assert_true(h2 != h);
    t.cancel(h);                          // fired
    t.cancel(h2 + (uint64_t{1} << 32));   // a generation not issued yet
    t.cancel(uint64_t{12345} << 32 | 77); // a slot that does not exist
    assert_int_equal(t.pending(), 1);
    run_until(l, t, [&] { return ran == 2; });
}

// Many timers, a third cancelled: every other one runs exactly once.
void test_many_timers(void **) {
    Loop l;
    EventTimers t(l.base);
    constexpr int n = 20000;
    std::vector<int> count(n, 0);
    std::vector<Handle> hs(n);
    for (int i = 0; i < n; i++)
        hs[i] = t.schedule(static_cast<uint64_t>(i % 25), [&count, i] { count[i]++; });
    for (int i = 0; i < n; i += 3)
        t.cancel(hs[i]);
    run_until(l, t, [&] { return t.pending() == 0; });
    for (int i = 0; i < n; i++)
        assert_int_equal(count[i], i % 3 == 0 ? 0 : 1);
}

// A pending timer whose callback captures a pointer and an id (the hub's and the session's
// timers) costs no allocation once the timer tables have grown; timers still pending when
// EventTimers goes are freed without running.
void test_no_allocation_per_timer(void **) {
    Loop l;
    constexpr int n = 1000;
    int ran = 0;
    {
        EventTimers t(l.base);
        std::vector<Handle> hs(n);
        for (int round = 0; round < 2; round++) {
            const size_t before = g_news;
            for (int i = 0; i < n; i++) {
                uint64_t id = 1000 + static_cast<uint64_t>(i);
                hs[i] = t.schedule(60000, [p = &ran, id] { *p += static_cast<int>(id); });
            }
            if (round == 1)
                assert_int_equal(g_news - before, 0);
            for (int i = 0; i < n; i++)
                t.cancel(hs[i]);
        }
        for (int i = 0; i < n; i++)
            t.schedule(60000, [p = &ran] { (*p)++; });
    }
    assert_int_equal(ran, 0);
}

// Long timers are rounded up (coarse), never down.
void test_coarse_long_timer(void **) {
    Loop l;
    EventTimers t(l.base);
    const int64_t earliest = t.now_ms() + 1000;
    int64_t at = 0;
    t.schedule(1000, [&] { at = t.now_ms(); });
    run_until(l, t, [&] { return at != 0; });
    assert_true(at >= earliest);
}

// An EventClock holds one reading for now_ms() (nested ones keep it) until refresh_now() reads
// the clock again; a timer scheduled meanwhile still counts from the clock, not from the held
// time, so it does not fire early.
void test_event_clock(void **) {
    Loop l;
    EventTimers t(l.base);
    int64_t earliest = 0;
    bool fired = false;
    {
        glide::session::EventClock event(t);
        const int64_t held = t.now_ms();
        while (t.clock_ms() < held + 3) {
        }
        assert_int_equal(t.now_ms(), held);
        {
            glide::session::EventClock inner(t);
            assert_int_equal(t.now_ms(), held);
        }
        assert_int_equal(t.now_ms(), held);
        earliest = t.clock_ms() + 5;
        t.schedule(5, [&] {
            assert_true(t.clock_ms() >= earliest);
            fired = true;
        });
        const int64_t fresh = t.refresh_now();
        assert_true(fresh >= held + 3);
        assert_int_equal(t.now_ms(), fresh);
    }
    const int64_t after = t.now_ms();
    while (t.clock_ms() < after + 2) {
    }
    assert_true(t.now_ms() >= after + 2); // released: the clock itself again
    run_until(l, t, [&] { return fired; });
}

} // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order_and_never_early),
        cmocka_unit_test(test_zero_ms_next_turn),
        cmocka_unit_test(test_cancel_from_callback),
        cmocka_unit_test(test_reschedule_from_callback),
        cmocka_unit_test(test_stale_handles),
        cmocka_unit_test(test_many_timers),
        cmocka_unit_test(test_no_allocation_per_timer),
        cmocka_unit_test(test_coarse_long_timer),
        cmocka_unit_test(test_event_clock),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
