// PerThread (common/per_thread.h): one object per thread, made at its first get(), destroyed at
// the thread's exit, and null from get() once destroyed.
#include <atomic>
#include <thread>

#include "common/per_thread.h"

#include "glide_cmocka.h"

namespace {

struct Counted {
    static inline std::atomic<int> made{0}, destroyed{0};
    int value = 0;
    Counted() { made++; }
    ~Counted() { destroyed++; }
};
using PerCounted = glide::PerThread<Counted>;

// Destroyed after this thread's Counted (thread-locals go in reverse order of construction):
// records what get() answers then.
struct Probe {
    Counted **seen = nullptr;
    ~Probe() {
        if (seen)
            *seen = PerCounted::get();
    }
};

void test_one_per_thread(void **) {
    Counted *mine = PerCounted::get();
    assert_non_null(mine);
    assert_ptr_equal(PerCounted::get(), mine);
    mine->value = 1;
    const int made = Counted::made;
    Counted *theirs = nullptr;
    int their_value = -1;
    std::thread t([&] {
        theirs = PerCounted::get();
        their_value = theirs->value;
        theirs->value = 2;
    });
    t.join();
    assert_non_null(theirs);
    assert_true(theirs != mine);
    assert_int_equal(their_value, 0); // a fresh object, not this thread's
    assert_int_equal(mine->value, 1);
    assert_int_equal(Counted::made, made + 1);
}

void test_null_after_thread_exit(void **) {
    const int destroyed = Counted::destroyed;
    Counted *seen = reinterpret_cast<Counted *>(&seen); // anything but null
    std::thread t([&] {
        thread_local Probe probe;
        probe.seen = &seen; // constructed before the Counted below, so destroyed after it
        PerCounted::get()->value = 3;
    });
    t.join();
    assert_null(seen);
    assert_int_equal(Counted::destroyed, destroyed + 1);
}

} // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_per_thread),
        cmocka_unit_test(test_null_after_thread_exit),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
