// Appending JSON writer that reproduces Go encoding/json's output byte for byte.
//
// Strings are escaped as json.Marshal does with HTML escaping on (glide never turns it off):
// \" \\ \n \r \t, other control characters as \u00XX, < > & as \u003c \u003e \u0026,
// U+2028/U+2029 as \u2028/\u2029, invalid UTF-8 as \ufffd. \b and \f are written as \u0008 and
// \u000c, as Go did before 1.22 (the toolchain of glide v1.6).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace glide::codec::json {

// Appends s as a quoted JSON string.
void write_string(std::string *out, std::string_view s);

// Appends a decimal integer.
void write_int(std::string *out, int64_t v);

// Appends validated JSON text compacted (insignificant whitespace removed) with Go's HTML
// escaping applied inside strings: what encoding/json does to a json.Marshaler's output, and so
// to every forwarded raw payload (protocol.md §2.3, §6.10). html_escape false keeps strings as
// written (for JSON text stored inside protobuf, escaped only when it becomes JSON output).
void write_compact(std::string *out, std::string_view validated, bool html_escape = true);

// Writes one object's members, handling the separators. Keys are written unescaped: callers
// pass the fixed ASCII field names of the protocol.
class ObjectWriter {
public:
    explicit ObjectWriter(std::string *out) : out_(out) { out_->push_back('{'); }
    void end() { out_->push_back('}'); }

    // Appends `"key":` and returns the buffer for the value.
    std::string *key(std::string_view k) {
        out_->push_back(first_ ? '"' : ',');
        if (!first_)
            out_->push_back('"');
        first_ = false;
        out_->append(k);
        out_->append("\":", 2);
        return out_;
    }

    void str(std::string_view k, std::string_view v) { write_string(key(k), v); }
    void str_omitempty(std::string_view k, std::string_view v) {
        if (!v.empty())
            str(k, v);
    }
    void num(std::string_view k, int64_t v) { write_int(key(k), v); }
    void num_omitempty(std::string_view k, int64_t v) {
        if (v != 0)
            num(k, v);
    }
    void boolean(std::string_view k, bool v) { key(k)->append(v ? "true" : "false"); }
    // A JSON text member: raw compacted, or null when empty.
    void raw_or_null(std::string_view k, std::string_view json);
    void strings(std::string_view k, const std::vector<std::string> &v);

private:
    std::string *out_;
    bool first_ = true;
};

} // namespace glide::codec::json
