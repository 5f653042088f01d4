// Appending JSON writer that reproduces Go encoding/json's output byte for byte.
//
// Strings are escaped as json.Marshal does with HTML escaping on (glide never turns it off):
// \" \\ \n \r \t, other control characters as \u00XX, < > & as \u003c \u003e \u0026,
// U+2028/U+2029 as \u2028/\u2029, invalid UTF-8 as \ufffd. \b and \f are written as \u0008 and
// \u000c, as Go did before 1.22 (the toolchain of glide v1.6).
#pragma once

#include <cstdint>
#include <cstring>
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

// An object member's key as written, `,"name":`, built at compile time from the string literal
// of a field name (the fixed ASCII names of the protocol, written unescaped), so that writing a
// key is one append.
class Key {
public:
    template <size_t N> consteval Key(const char (&name)[N]) : size_(uint8_t(N + 3)) {
        static_assert(N + 3 <= sizeof text_, "field name too long");
        text_[0] = ',';
        text_[1] = '"';
        for (size_t i = 0; i + 1 < N; ++i)
            text_[2 + i] = name[i];
        text_[N + 1] = '"';
        text_[N + 2] = ':';
    }
    // The same from a name held elsewhere, for the constexpr field tables of schema.h (GCC 12
    // refuses the consteval constructor there).
    constexpr explicit Key(std::string_view name) : size_(uint8_t(name.size() + 4)) {
        if (name.size() + 4 > sizeof text_)
            throw "field name too long"; // a compile error in a constant expression
        text_[0] = ',';
        text_[1] = '"';
        for (size_t i = 0; i < name.size(); ++i)
            text_[2 + i] = name[i];
        text_[name.size() + 2] = '"';
        text_[name.size() + 3] = ':';
    }
    // All 32 bytes (`,"name":`, then zeros), for a fixed-size copy; size() of them are the key
    // (ObjectWriter puts `{` in place of the comma for an object's first member).
    const char *raw() const { return text_; }
    size_t size() const { return size_; }

private:
    char text_[32] = {};
    uint8_t size_;
};

// Writes one object's members, handling the separators. The opening brace goes out with the
// first member (`{"key":`), so a member costs one append when its value is a number or a short
// string with nothing to escape.
class ObjectWriter {
public:
    explicit ObjectWriter(std::string *out) : out_(out) {}
    void end() {
        if (first_)
            out_->append("{}", 2);
        else
            out_->push_back('}');
    }

    // Appends `"key":` (after `{` or a comma) and returns the buffer for the value.
    std::string *key(const Key &k) {
        char buf[32];
        out_->append(buf, put_key(buf, k));
        return out_;
    }

    void str(const Key &k, std::string_view v);
    void str_omitempty(const Key &k, std::string_view v) {
        if (!v.empty())
            str(k, v);
    }
    void num(const Key &k, int64_t v);
    void num_omitempty(const Key &k, int64_t v) {
        if (v != 0)
            num(k, v);
    }
    void boolean(const Key &k, bool v) { key(k)->append(v ? "true" : "false"); }
    // A JSON text member: raw compacted, or null when empty.
    void raw_or_null(const Key &k, std::string_view json);
    void strings(const Key &k, const std::vector<std::string> &v);

private:
    // Writes `{"key":` or `,"key":` at buf (room for 32 bytes); returns its length.
    size_t put_key(char *buf, const Key &k) {
        memcpy(buf, k.raw(), 32);
        buf[0] = first_ ? '{' : ',';
        first_ = false;
        return k.size();
    }

    std::string *out_;
    bool first_ = true;
};

} // namespace glide::codec::json
