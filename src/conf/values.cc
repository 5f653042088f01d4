// Value parsers and the error texts shared by the generic setters (nginx's ngx_parse_size,
// ngx_parse_time and ngx_conf_check_num_bounds, made stricter: no spaces, no trailing bare
// number after units, overflow checked against uint64_t).
#include "conf/conf.h"

namespace glide::conf {

namespace {

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

// Reads the leading digits of s from pos; false when there are none or they overflow.
bool read_digits(std::string_view s, size_t &pos, uint64_t &n) {
    size_t start = pos;
    n = 0;
    for (; pos < s.size() && is_digit(s[pos]); pos++) {
        uint64_t d = static_cast<uint64_t>(s[pos] - '0');
        if (n > (UINT64_MAX - d) / 10)
            return false;
        n = n * 10 + d;
    }
    return pos > start;
}

bool mul_checked(uint64_t a, uint64_t b, uint64_t &out) {
    return !__builtin_mul_overflow(a, b, &out);
}

constexpr uint64_t MS_SEC = 1000;
constexpr uint64_t MS_MIN = 60 * MS_SEC;
constexpr uint64_t MS_HOUR = 60 * MS_MIN;
constexpr uint64_t MS_DAY = 24 * MS_HOUR;
constexpr uint64_t MS_WEEK = 7 * MS_DAY;

} // namespace

bool parse_uint(std::string_view s, uint64_t &n) {
    size_t pos = 0;
    uint64_t v;
    if (!read_digits(s, pos, v) || pos != s.size())
        return false;
    n = v;
    return true;
}

bool parse_size(std::string_view s, uint64_t &bytes) {
    size_t pos = 0;
    uint64_t v;
    if (!read_digits(s, pos, v))
        return false;
    uint64_t scale = 1;
    if (pos < s.size()) {
        switch (s[pos++]) {
        case 'k':
        case 'K':
            scale = uint64_t{1} << 10;
            break;
        case 'm':
        case 'M':
            scale = uint64_t{1} << 20;
            break;
        case 'g':
        case 'G':
            scale = uint64_t{1} << 30;
            break;
        default:
            return false;
        }
    }
    if (pos != s.size() || !mul_checked(v, scale, v))
        return false;
    bytes = v;
    return true;
}

bool parse_time_ms(std::string_view s, uint64_t &ms) {
    // Units must come in decreasing order, each at most once (nginx's rule): "1h30m", not
    // "30m1h". Ranks: y=0 M=1 w=2 d=3 h=4 m=5 s=6 ms=7.
    static constexpr uint64_t scales[] = {365 * MS_DAY, 30 * MS_DAY, MS_WEEK, MS_DAY,
                                          MS_HOUR,      MS_MIN,      MS_SEC,  1};
    size_t pos = 0;
    uint64_t total = 0;
    int last_rank = -1;
    if (s.empty())
        return false;
    while (pos < s.size()) {
        uint64_t v;
        if (!read_digits(s, pos, v))
            return false;
        if (pos == s.size()) {
            // A bare number means seconds, but only on its own: "1m30" is ambiguous.
            if (last_rank != -1 || !mul_checked(v, MS_SEC, v))
                return false;
            ms = v;
            return true;
        }
        int rank;
        switch (s[pos++]) {
        case 'y':
            rank = 0;
            break;
        case 'M':
            rank = 1;
            break;
        case 'w':
            rank = 2;
            break;
        case 'd':
            rank = 3;
            break;
        case 'h':
            rank = 4;
            break;
        case 'm':
            if (pos < s.size() && s[pos] == 's') {
                pos++;
                rank = 7;
            } else {
                rank = 5;
            }
            break;
        case 's':
            rank = 6;
            break;
        default:
            return false;
        }
        if (rank <= last_rank || !mul_checked(v, scales[rank], v) ||
            __builtin_add_overflow(total, v, &total))
            return false;
        last_rank = rank;
    }
    ms = total;
    return true;
}

bool parse_flag(std::string_view s, bool &on) {
    // nginx compares case-insensitively (ngx_strcasecmp); "On" and "OFF" work there too.
    auto eq = [s](std::string_view word) {
        if (s.size() != word.size())
            return false;
        for (size_t i = 0; i < s.size(); i++)
            if ((s[i] | 0x20) != word[i])
                return false;
        return true;
    };
    if (eq("on")) {
        on = true;
        return true;
    }
    if (eq("off")) {
        on = false;
        return true;
    }
    return false;
}

Status invalid_value(const Spec &spec, std::string_view value) {
    std::string m = "invalid value \"";
    m.append(value);
    m += "\" in \"";
    m += spec.name;
    m += "\" directive";
    return make_error(std::move(m));
}

Status invalid_value_bounds(const Spec &spec, std::string_view value, std::string_view lo,
                            std::string_view hi) {
    std::string m = invalid_value(spec, value).error();
    m += ", it must be between ";
    m.append(lo);
    m += " and ";
    m.append(hi);
    return make_error(std::move(m));
}

namespace detail {

std::string format_size(uint64_t bytes) {
    static constexpr struct {
        uint64_t scale;
        char unit;
    } units[] = {{uint64_t{1} << 30, 'g'}, {uint64_t{1} << 20, 'm'}, {uint64_t{1} << 10, 'k'}};
    if (bytes != 0)
        for (const auto &u : units)
            if (bytes % u.scale == 0)
                return std::to_string(bytes / u.scale) + u.unit;
    return std::to_string(bytes);
}

std::string format_time_ms(uint64_t ms) {
    // Weeks, months and years are left out: "14d" reads better than "2w".
    static constexpr struct {
        uint64_t scale;
        const char *unit;
    } units[] = {{MS_DAY, "d"}, {MS_HOUR, "h"}, {MS_MIN, "m"}, {MS_SEC, "s"}};
    if (ms == 0)
        return "0s";
    for (const auto &u : units)
        if (ms % u.scale == 0)
            return std::to_string(ms / u.scale) + u.unit;
    return std::to_string(ms) + "ms";
}

static Status out_of_bounds(const Spec &spec, std::string_view value, uint64_t lo, uint64_t hi,
                            std::string (*format)(uint64_t)) {
    if (hi == UINT64_MAX) {
        // No upper bound: nginx's wording for ngx_conf_num_bounds_t with max == -1.
        std::string m = invalid_value(spec, value).error();
        m += ", it must be equal or more than ";
        m += format(lo);
        return make_error(std::move(m));
    }
    return invalid_value_bounds(spec, value, format(lo), format(hi));
}

std::string format_uint(uint64_t n) {
    return std::to_string(n);
}

Status invalid_arguments(const Spec &spec) {
    return make_error(std::string("invalid number of arguments in \"") + spec.name +
                      "\" directive");
}

Status invalid_choice(const Spec &spec, std::string_view value) {
    std::string m = invalid_value(spec, value).error();
    const char *const *c = spec.choices;
    if (!c || !c[0])
        return make_error(std::move(m));
    m += ", it must be ";
    for (size_t i = 0; c[i]; i++) {
        if (i > 0)
            m += c[i + 1] ? ", " : " or ";
        m += '"';
        m += c[i];
        m += '"';
    }
    return make_error(std::move(m));
}

Status parse_bounded(const Spec &spec, const std::vector<std::string> &args,
                     bool (*parse)(std::string_view, uint64_t &), std::string (*format)(uint64_t),
                     uint64_t limit, uint64_t &out) {
    if (args.size() != 1)
        return invalid_arguments(spec);
    uint64_t v;
    if (!parse(args[0], v))
        return invalid_value(spec, args[0]);
    uint64_t hi = spec.max < limit ? spec.max : limit;
    if (v < spec.min || v > hi)
        return out_of_bounds(spec, args[0], spec.min, hi, format);
    out = v;
    return {};
}

} // namespace detail

} // namespace glide::conf
