// A zero-allocation JSON scanner with Go encoding/json's acceptance rules and error texts.
//
// Go validates the whole text before it decodes anything (checkValid), so a syntax error
// anywhere wins over a type error. We get the same answers in one pass: validate() hands each
// member of the top-level object to a MemberVisitor as soon as that member's value has been
// validated, and goes on validating to the end whatever the visitor found; its caller reports a
// type error only when the text turned out valid. Text known to be valid (RawData) is read with
// the walker functions (MemberIter, ElementIter, read_value), which return views into it.
// Nothing here allocates unless an error text is produced or a string needs unescaping.
//
// Why not jansson for this: jansson cannot report the source bytes of a value, and re-serialising
// its tree changes numbers (0.1 -> 0.10000000000000001, 1e3 -> 1000.0) and rejects integers
// beyond int64, so forwarded payloads could not be byte-for-byte what glide emits.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace glide::codec::json {

// Go's nesting limit (encoding/json maxNestingDepth).
inline constexpr int max_depth = 10000;

enum class Kind : uint8_t { object, array, string, number, boolean, null };

// One value of validated text: its kind and exact source bytes (strings include the quotes).
struct Value {
    Kind kind = Kind::null;
    std::string_view text;
    // A string known to hold no escapes: its contents are its text between the quotes, as is.
    // False when it has escapes or nobody looked (top_value).
    bool plain = false;
};

// Go's name for a JSON value kind in UnmarshalTypeError ("object", "array", "string", ...).
const char *kind_name(Kind k);

// Receives the members of the top-level object from validate(), each once its value has been
// validated: the value's text can be walked like validated text (MemberIter, unescape_string).
class MemberVisitor {
public:
    // key_raw is the key between its quotes, escapes not yet resolved. Returning false stops
    // the calls (not the validation).
    virtual bool member(std::string_view key_raw, const Value &value) = 0;
    // Called when the value of the member key_raw starts and is an object: a visitor returned
    // receives that object's members the same way (each once validated, until it returns
    // false), before member() is called with the whole object.
    virtual MemberVisitor *object_members(std::string_view key_raw) { return nullptr; }

protected:
    ~MemberVisitor() = default;
};

// Checks that `in` is exactly one JSON value surrounded by optional whitespace, with valid
// UTF-8 inside strings. On failure writes Go's error text (without any prefix) to *err.
// With `members`, and when the value is an object, passes it each member as it goes (and the
// members of one level further down to the visitors its object_members returns).
bool validate(std::string_view in, std::string *err, MemberVisitor *members = nullptr);

// Reads the value starting at p (leading whitespace skipped) and advances p past it.
// Precondition: [p, end) is inside validated text and holds a value.
Value read_value(const char *&p, const char *end);

// The single top-level value of validated text (found without scanning it: it is the text
// without its surrounding whitespace).
Value top_value(std::string_view validated);

// Iterates over the members of a validated object. next() returns false after the last one.
// key_raw is the key between its quotes, escapes not yet resolved.
class MemberIter {
public:
    explicit MemberIter(std::string_view object_text);
    bool next(std::string_view *key_raw, Value *value);

private:
    const char *p_;
    const char *end_;
};

// Iterates over the elements of a validated array.
class ElementIter {
public:
    explicit ElementIter(std::string_view array_text);
    bool next(Value *value);

private:
    const char *p_;
    const char *end_;
};

// Appends the decoded contents of a validated string token (with quotes) to out. Lone or
// mismatched surrogate escapes become U+FFFD, as in Go.
void unescape_string(std::string_view token, std::string *out);
// The same for string contents without the quotes (an object key from MemberIter).
void unescape_body(std::string_view body, std::string *out);

// Matches a raw (possibly escaped) key against a field name the way Go matches struct fields:
// case-insensitively, with Go's special folds of 'ſ' (U+017F) to s and the Kelvin sign to k.
// name is a non-empty ASCII field name.
bool key_matches_folded(std::string_view key_raw, std::string_view name);

// key_matches_folded with the common answers inline: decoders try a key against each field
// name in turn, so most calls are mismatches, and real clients send the names as declared.
// Every name character takes at least one key byte, and exactly one only when it is plain
// ASCII: up to the first escape or multi-byte character, key bytes and name characters pair
// off one to one, so a plain byte that does not fold to its name character decides a
// mismatch, and a key whose first name.size() bytes are all plain matches only when it has no
// more bytes.
[[gnu::always_inline]] inline bool key_matches(std::string_view key_raw, std::string_view name) {
    if (key_raw.size() < name.size())
        return false;
    for (size_t i = 0; i < name.size(); ++i) {
        auto c = static_cast<unsigned char>(key_raw[i]);
        auto n = static_cast<unsigned char>(name[i]);
        if (c == n)
            continue;
        if (c == '\\' || c >= 0x80)
            return key_matches_folded(key_raw, name);
        // Letters differing in more than case (bit 0x20) cannot fold together, nor can
        // anything else that differs at all.
        if ((c | 0x20) != (n | 0x20) || (c | 0x20) < 'a' || (c | 0x20) > 'z')
            return false;
    }
    return key_raw.size() == name.size();
}

// utf8.Valid: well-formed UTF-8, no surrogates, no overlong forms.
bool valid_utf8(std::string_view s);

// Go's strconv.ParseInt(text, 10, 64): an integer literal that fits in int64.
bool parse_int64(std::string_view number, int64_t *out);

} // namespace glide::codec::json
