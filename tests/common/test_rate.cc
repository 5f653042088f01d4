// TokenBucket and KeyedBuckets (common/rate.h): a bucket starts full, refills at its rate up to
// its burst, exactly for rates that do not divide a second or a minute; keyed buckets forget the
// keys that filled up again and never hold more than their maximum.
#include <string>

#include "common/rate.h"

#include "glide_cmocka.h"

using glide::KeyedBuckets;
using glide::RateLimit;
using glide::TokenBucket;

namespace {

void test_burst_then_rate(void **) {
    const RateLimit l{100, 200, 1000};
    TokenBucket b;
    int64_t t = 5000;
    for (int i = 0; i < 200; i++)
        assert_true(b.try_take(t, l));
    assert_false(b.try_take(t, l));
    assert_false(b.available(t + 9, l)); // 0.9 of a token
    assert_true(b.try_take(t + 10, l));  // 100 a second: one per 10 ms
    assert_false(b.try_take(t + 10, l));
    // A second later 100 more, not 200: the burst refills over two seconds.
    t += 1010;
    for (int i = 0; i < 100; i++)
        assert_true(b.try_take(t, l));
    assert_false(b.try_take(t, l));
    // Idle long enough: full again, and no more than the burst.
    t += 60000;
    assert_true(b.full(t, l));
    for (int i = 0; i < 200; i++)
        assert_true(b.try_take(t, l));
    assert_false(b.try_take(t, l));
}

// available() takes nothing; a clock that goes back takes nothing either.
void test_available_takes_nothing(void **) {
    const RateLimit l{1, 2, 1000};
    TokenBucket b;
    for (int i = 0; i < 10; i++)
        assert_true(b.available(100, l));
    b.take(l);
    b.take(l);
    assert_false(b.available(100, l));
    assert_false(b.available(50, l));
    assert_true(b.available(1100, l));
    assert_false(b.full(1100, l));
    assert_true(b.full(2100, l));
}

// 7 a minute: a token every 60/7 s, with no rounding drift over ten minutes.
void test_per_minute(void **) {
    const RateLimit l{7, 7, 60000};
    TokenBucket b;
    int64_t t = 0;
    for (int i = 0; i < 7; i++)
        assert_true(b.try_take(t, l));
    int taken = 0;
    for (t = 1; t <= 600000; t++)
        if (b.try_take(t, l))
            taken++;
    assert_int_equal(taken, 7 * 10);
}

void test_keyed(void **) {
    const RateLimit l{3, 3, 60000};
    KeyedBuckets k(4);
    assert_true(k.available("a", 0, l)); // unknown: full
    assert_int_equal(k.size(), 0);
    assert_true(k.take("a", 0, l));
    assert_true(k.take("a", 0, l));
    assert_true(k.take("a", 0, l));
    assert_false(k.available("a", 0, l));
    assert_false(k.take("a", 1, l));
    assert_true(k.available("b", 1, l)); // others are not affected
    assert_true(k.available("a", 20000, l));
    // A minute later "a" is full again: the next new key's sweep forgets it.
    assert_true(k.take("b", 60001, l));
    assert_int_equal(k.size(), 1);
    // Never more than the maximum: full of draining buckets, the table starts over.
    for (int i = 0; i < 10; i++)
        assert_true(k.take("k" + std::to_string(i), 60002, l));
    assert_true(k.size() <= 4);
}

} // namespace

int main() {
    const CMUnitTest tests[] = {
        cmocka_unit_test(test_burst_then_rate),
        cmocka_unit_test(test_available_takes_nothing),
        cmocka_unit_test(test_per_minute),
        cmocka_unit_test(test_keyed),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
