// Command-line options of the tools: "--name value", "--name=value" and "--flag", mixed with
// positional arguments; "--" ends the options. Unknown options are errors.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace glide::client {

class Options {
public:
    // Parses argv[first..argc). `valued` lists the options that take a value (without "--"),
    // `flags` those that do not.
    static Result<Options> parse(int argc, char **argv, int first,
                                 std::initializer_list<std::string_view> valued,
                                 std::initializer_list<std::string_view> flags);

    bool has(std::string_view name) const { return values_.count(std::string(name)) > 0; }
    std::string get(std::string_view name, std::string_view fallback = {}) const;
    // An integer option within [min, max]; `fallback` when absent. Sizes may end in k or m
    // (×1024, ×1024²). With `unit_ms` it is a time in the configuration's syntax (500ms, 2s,
    // 1m30s; a bare number is seconds, as in glided.conf) and the result is milliseconds.
    Result<int64_t> number(std::string_view name, int64_t fallback, int64_t min, int64_t max,
                           bool unit_ms = false) const;
    const std::vector<std::string> &positional() const { return positional_; }

private:
    std::map<std::string, std::string> values_;
    std::vector<std::string> positional_;
};

} // namespace glide::client
