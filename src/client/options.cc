#include "client/options.h"

#include "conf/conf.h"

#include <algorithm>

namespace glide::client {

Result<Options> Options::parse(int argc, char **argv, int first,
                               std::initializer_list<std::string_view> valued,
                               std::initializer_list<std::string_view> flags) {
    Options o;
    bool options_done = false;
    for (int i = first; i < argc; i++) {
        std::string_view a = argv[i];
        if (options_done || !a.starts_with("--") || a.size() == 2) {
            if (a == "--" && !options_done) {
                options_done = true;
                continue;
            }
            o.positional_.emplace_back(a);
            continue;
        }
        std::string_view name = a.substr(2), value;
        bool inline_value = false;
        if (size_t eq = name.find('='); eq != std::string_view::npos) {
            value = name.substr(eq + 1);
            name = name.substr(0, eq);
            inline_value = true;
        }
        if (std::find(valued.begin(), valued.end(), name) != valued.end()) {
            if (!inline_value) {
                if (i + 1 >= argc)
                    return make_error("option --" + std::string(name) + " needs a value");
                value = argv[++i];
            }
            o.values_[std::string(name)] = std::string(value);
        } else if (std::find(flags.begin(), flags.end(), name) != flags.end()) {
            if (inline_value)
                return make_error("option --" + std::string(name) + " takes no value");
            o.values_[std::string(name)] = "1";
        } else {
            return make_error("unknown option --" + std::string(name));
        }
    }
    return o;
}

std::string Options::get(std::string_view name, std::string_view fallback) const {
    auto it = values_.find(std::string(name));
    return it == values_.end() ? std::string(fallback) : it->second;
}

Result<int64_t> Options::number(std::string_view name, int64_t fallback, int64_t min,
                                int64_t max, bool unit_ms) const {
    auto it = values_.find(std::string(name));
    if (it == values_.end())
        return fallback;
    const std::string &s = it->second;
    auto bad = [&]() {
        return make_error("invalid value \"" + s + "\" for --" + std::string(name) +
                          " (expected " + std::to_string(min) + ".." + std::to_string(max) +
                          (unit_ms ? " ms: a time like 500ms, 2s or 1m; a bare number is seconds)" : ")"));
    };
    if (unit_ms) {
        // The configuration's time syntax (conf::parse_time_ms): 500ms, 2s, 1m30s; a bare
        // number is seconds, as in glided.conf.
        uint64_t ms = 0;
        if (!conf::parse_time_ms(s, ms) || ms > static_cast<uint64_t>(max) ||
            static_cast<int64_t>(ms) < min)
            return bad();
        return static_cast<int64_t>(ms);
    }
    size_t i = 0;
    int64_t v = 0;
    if (s.empty())
        return bad();
    for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; i++) {
        if (v > (INT64_MAX - 9) / 10)
            return bad();
        v = v * 10 + (s[i] - '0');
    }
    if (i == 0)
        return bad();
    std::string_view suffix = std::string_view(s).substr(i);
    int64_t mult = 1;
    if (suffix == "k" || suffix == "K") {
        mult = 1024;
    } else if (suffix == "m" || suffix == "M") {
        mult = 1024 * 1024;
    } else if (!suffix.empty()) {
        return bad();
    }
    if (v > INT64_MAX / mult)
        return bad();
    v *= mult;
    if (v < min || v > max)
        return bad();
    return v;
}

} // namespace glide::client
