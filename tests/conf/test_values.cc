// The value parsers: valid forms, boundaries, overflow and garbage.
#include "conf/conf.h"
// Last: cmocka defines macros (fail, skip) that clash with the standard library.
#include "glide_cmocka.h"

using namespace glide::conf;

namespace {

// A sentinel shows that a failed parse leaves the output alone.
constexpr uint64_t UNTOUCHED = 0xdeadbeef;

void expect_uint(std::string_view s, uint64_t want) {
    uint64_t n = UNTOUCHED;
    if (!parse_uint(s, n))
        fail_msg("parse_uint(\"%.*s\") failed", (int)s.size(), s.data());
    assert_int_equal(n, want);
}

void expect_bad_uint(std::string_view s) {
    uint64_t n = UNTOUCHED;
    if (parse_uint(s, n))
        fail_msg("parse_uint(\"%.*s\") accepted", (int)s.size(), s.data());
    assert_int_equal(n, UNTOUCHED);
}

void expect_size(std::string_view s, uint64_t want) {
    uint64_t n = UNTOUCHED;
    if (!parse_size(s, n))
        fail_msg("parse_size(\"%.*s\") failed", (int)s.size(), s.data());
    assert_int_equal(n, want);
}

void expect_bad_size(std::string_view s) {
    uint64_t n = UNTOUCHED;
    if (parse_size(s, n))
        fail_msg("parse_size(\"%.*s\") accepted", (int)s.size(), s.data());
    assert_int_equal(n, UNTOUCHED);
}

void expect_time(std::string_view s, uint64_t want) {
    uint64_t n = UNTOUCHED;
    if (!parse_time_ms(s, n))
        fail_msg("parse_time_ms(\"%.*s\") failed", (int)s.size(), s.data());
    assert_int_equal(n, want);
}

void expect_bad_time(std::string_view s) {
    uint64_t n = UNTOUCHED;
    if (parse_time_ms(s, n))
        fail_msg("parse_time_ms(\"%.*s\") accepted", (int)s.size(), s.data());
    assert_int_equal(n, UNTOUCHED);
}

constexpr uint64_t SEC = 1000, MIN = 60 * SEC, HOUR = 60 * MIN, DAY = 24 * HOUR;

void test_uint(void **) {
    expect_uint("0", 0);
    expect_uint("7", 7);
    expect_uint("0042", 42);
    expect_uint("4294967296", 4294967296ull);
    expect_uint("18446744073709551615", UINT64_MAX);
    expect_uint("00000000000000000000018446744073709551615", UINT64_MAX);
}

void test_uint_invalid(void **) {
    expect_bad_uint("");
    expect_bad_uint("18446744073709551616");
    expect_bad_uint("99999999999999999999");
    expect_bad_uint("-1");
    expect_bad_uint("+1");
    expect_bad_uint(" 1");
    expect_bad_uint("1 ");
    expect_bad_uint("1k");
    expect_bad_uint("0x10");
    expect_bad_uint("1.5");
    expect_bad_uint("abc");
    expect_bad_uint(std::string_view("1\0", 2));
}

void test_size(void **) {
    expect_size("0", 0);
    expect_size("1", 1);
    expect_size("512", 512);
    expect_size("1k", 1024);
    expect_size("64K", 65536);
    expect_size("1m", 1 << 20);
    expect_size("16M", 16 << 20);
    expect_size("2g", 2ull << 30);
    expect_size("3G", 3ull << 30);
    expect_size("0k", 0);
    expect_size("18446744073709551615", UINT64_MAX);
    expect_size("17179869183g", 17179869183ull << 30); // the largest count of g that fits
}

void test_size_invalid(void **) {
    expect_bad_size("");
    expect_bad_size("k");
    expect_bad_size("-1");
    expect_bad_size("+1k");
    expect_bad_size(" 1k");
    expect_bad_size("1k ");
    expect_bad_size("1 k");
    expect_bad_size("1kb");
    expect_bad_size("1kk");
    expect_bad_size("1t");
    expect_bad_size("1b");
    expect_bad_size("1.5m");
    expect_bad_size("1k1");
    expect_bad_size("18446744073709551616");
    expect_bad_size("18014398509481984k"); // 2^54 k = 2^64
    expect_bad_size("17179869184g");       // 2^34 g = 2^64
    expect_bad_size("17592186044416m");    // 2^44 m = 2^64
}

void test_time(void **) {
    expect_time("0", 0);
    expect_time("30", 30 * SEC); // a bare number is seconds
    expect_time("500ms", 500);
    expect_time("0ms", 0);
    expect_time("1s", SEC);
    expect_time("1m", MIN);
    expect_time("2h", 2 * HOUR);
    expect_time("1d", DAY);
    expect_time("1w", 7 * DAY);
    expect_time("1M", 30 * DAY);
    expect_time("1y", 365 * DAY);
    expect_time("1m30s", MIN + 30 * SEC);
    expect_time("1h1ms", HOUR + 1);
    expect_time("1y1M1w1d1h1m1s1ms", 365 * DAY + 30 * DAY + 7 * DAY + DAY + HOUR + MIN + SEC + 1);
    expect_time("90s", 90 * SEC);
    expect_time("18446744073709551615ms", UINT64_MAX);
    expect_time("18446744073709551ms", 18446744073709551ull);
    expect_time("18446744073709551", 18446744073709551000ull);
    expect_time("584942417y", 584942417ull * 365 * DAY);
    expect_time("213503982334d", 213503982334ull * DAY);
}

void test_time_invalid(void **) {
    expect_bad_time("");
    expect_bad_time("s");
    expect_bad_time("ms");
    expect_bad_time("-1s");
    expect_bad_time("+1s");
    expect_bad_time(" 1s");
    expect_bad_time("1s ");
    expect_bad_time("1m 30s");
    expect_bad_time("1m30"); // a trailing bare number after units is ambiguous
    expect_bad_time("1x");
    expect_bad_time("1S");
    expect_bad_time("1H");
    expect_bad_time("1sec");
    expect_bad_time("1.5s");
    expect_bad_time("30s1m"); // units must decrease
    expect_bad_time("1s1s");  // and appear once
    expect_bad_time("1ms1s");
    expect_bad_time("1ms1ms");
    expect_bad_time("1hs"); // every unit needs its number
    expect_bad_time("1h1");
    expect_bad_time("18446744073709552s");     // * 1000 overflows
    expect_bad_time("18446744073709552");      // bare seconds too
    expect_bad_time("18446744073709551616ms"); // the number itself overflows
    expect_bad_time("584942418y");             // years overflow
    expect_bad_time("213503982335d");
}

void test_time_sum_overflow(void **) {
    // Each part fits; only their sum can overflow.
    uint64_t days = UINT64_MAX / DAY, rest = UINT64_MAX % DAY;
    expect_time(std::to_string(days) + "d" + std::to_string(rest) + "ms", UINT64_MAX);
    expect_bad_time(std::to_string(days) + "d" + std::to_string(rest + 1) + "ms");
}

void test_flag(void **) {
    bool on = false;
    assert_true(parse_flag("on", on));
    assert_true(on);
    assert_true(parse_flag("off", on));
    assert_false(on);
    // nginx compares case-insensitively.
    assert_true(parse_flag("ON", on));
    assert_true(on);
    assert_true(parse_flag("Off", on));
    assert_false(on);

    on = true;
    for (const char *bad :
         {"", "o", "of", "offf", "onn", "yes", "no", "1", "0", "true", " on", "on ", "o\xeen"}) {
        if (parse_flag(bad, on))
            fail_msg("parse_flag(\"%s\") accepted", bad);
        assert_true(on);
    }
}

} // namespace

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uint),
        cmocka_unit_test(test_uint_invalid),
        cmocka_unit_test(test_size),
        cmocka_unit_test(test_size_invalid),
        cmocka_unit_test(test_time),
        cmocka_unit_test(test_time_invalid),
        cmocka_unit_test(test_time_sum_overflow),
        cmocka_unit_test(test_flag),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
