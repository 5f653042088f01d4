#include "codec/json_scan.h"

#include "codec/byte_scan.h"

#include <cstdio>

namespace glide::codec::json {

namespace {

bool is_ws(unsigned char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}
bool is_digit(unsigned char c) {
    return c >= '0' && c <= '9';
}
bool is_hex(unsigned char c) {
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// Go's quoteChar: the offending byte as Go prints it in a SyntaxError. Go converts the byte to
// a rune, so a byte >= 0x80 shows as the Latin-1 character of that value.
std::string quote_char(unsigned char c) {
    if (c == '\'')
        return "'\\''";
    if (c == '"')
        return "'\"'";
    char buf[16];
    switch (c) {
    case '\a':
        return "'\\a'";
    case '\b':
        return "'\\b'";
    case '\f':
        return "'\\f'";
    case '\n':
        return "'\\n'";
    case '\r':
        return "'\\r'";
    case '\t':
        return "'\\t'";
    case '\v':
        return "'\\v'";
    case '\\':
        return "'\\\\'";
    default:
        break;
    }
    if (c < 0x20 || c == 0x7f) {
        snprintf(buf, sizeof buf, "'\\x%02x'", c);
    } else if (c < 0x80) {
        snprintf(buf, sizeof buf, "'%c'", c);
    } else if (c < 0xa1 || c == 0xad) {
        // Not printable for strconv.Quote.
        snprintf(buf, sizeof buf, "'\\u%04x'", c);
    } else {
        snprintf(buf, sizeof buf, "'%c%c'", 0xc0 | (c >> 6), 0x80 | (c & 0x3f));
    }
    return buf;
}

// Length of the valid UTF-8 sequence at p (utf8.Valid's rules), or 0 when invalid.
size_t utf8_len(const unsigned char *p, const unsigned char *end) {
    unsigned char c = p[0];
    size_t avail = size_t(end - p);
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        return (avail >= 2 && (p[1] & 0xc0) == 0x80) ? 2 : 0;
    if (c >= 0xe0 && c <= 0xef) {
        if (avail < 3 || (p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80)
            return 0;
        if (c == 0xe0 && p[1] < 0xa0)
            return 0; // overlong
        if (c == 0xed && p[1] > 0x9f)
            return 0; // surrogate
        return 3;
    }
    if (c >= 0xf0 && c <= 0xf4) {
        if (avail < 4 || (p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80 || (p[3] & 0xc0) != 0x80)
            return 0;
        if (c == 0xf0 && p[1] < 0x90)
            return 0;
        if (c == 0xf4 && p[1] > 0x8f)
            return 0;
        return 4;
    }
    return 0;
}

// The kind of the value whose first byte is c (in validated text).
Kind kind_of(char c) {
    switch (c) {
    case '{':
        return Kind::object;
    case '[':
        return Kind::array;
    case '"':
        return Kind::string;
    case 't':
    case 'f':
        return Kind::boolean;
    case 'n':
        return Kind::null;
    default:
        return Kind::number;
    }
}

class Validator {
public:
    Validator(std::string_view in, MemberVisitor *members)
        : p_(reinterpret_cast<const unsigned char *>(in.data())), end_(p_ + in.size()),
          members_(members) {}

    bool run(std::string *err);

private:
    bool fail(unsigned char c, const char *context, std::string *err) {
        if (err)
            *err = "invalid character " + quote_char(c) + " " + context;
        return false;
    }
    bool eof(std::string *err) {
        if (err)
            *err = "unexpected end of JSON input";
        return false;
    }
    void skip_ws() {
        while (p_ < end_ && is_ws(*p_))
            ++p_;
    }
    bool string(std::string *err);
    bool number(std::string *err);
    bool literal(const char *word, std::string *err);
    // At the opening bracket of a container (depth already checked): enters it.
    void open(bool obj) {
        is_object_[++depth_] = obj;
        ++p_;
    }
    // At the closing bracket of the innermost container: leaves it.
    void close() {
        ++p_;
        --depth_;
    }
    // Just past a member value of an object at depth 1 or 2: hands the member to v, which is
    // set to nullptr when it wants no more.
    void visit_member(int depth, MemberVisitor *&v) {
        const char *t = reinterpret_cast<const char *>(value_[depth]);
        Kind k = kind_of(*t);
        // The last string read is the value's when the value is a string.
        Value value{k, std::string_view(t, size_t(p_ - value_[depth])),
                    k == Kind::string && !escaped_};
        if (!v->member(key(depth), value))
            v = nullptr;
    }
    std::string_view key(int depth) const {
        return {reinterpret_cast<const char *>(key_[depth]), size_t(key_end_[depth] - key_[depth])};
    }

    const unsigned char *p_;
    const unsigned char *end_;
    MemberVisitor *members_;
    // The visitor of the members of the object at depth 2 being read (members_->object_members).
    MemberVisitor *nested_ = nullptr;
    // The deepest level whose members are handed over: 2 while nested_ is in use, else 1.
    int visit_depth_ = 1;
    // The key and the value start of the member being read at depths 1 and 2 (index 0 unused).
    const unsigned char *key_[3] = {};
    const unsigned char *key_end_[3] = {};
    const unsigned char *value_[3] = {};
    // Whether the last string read had an escape in it.
    bool escaped_ = false;
    // Container kinds of the open nesting levels (1 = object), indexed by depth. Only the
    // entries of open levels are ever read, and each is written when its level opens, so the
    // array needs no clearing (a std::bitset would zero 1.25 KB per validation).
    unsigned char is_object_[max_depth + 1];
    int depth_ = 0;
};

bool Validator::string(std::string *err) {
    ++p_; // opening quote
    escaped_ = false;
    for (;;) {
        // Plain printable ASCII needs no check beyond its range: skip runs of it 8 bytes a step.
        p_ = bytes::find_string_special(p_, end_);
        if (p_ >= end_)
            return eof(err);
        unsigned char c = *p_;
        if (c == '"') {
            ++p_;
            return true;
        }
        if (c == '\\') {
            escaped_ = true;
            if (++p_ >= end_)
                return eof(err);
            c = *p_;
            if (c == 'u') {
                for (int i = 0; i < 4; ++i) {
                    if (++p_ >= end_)
                        return eof(err);
                    if (!is_hex(*p_))
                        return fail(*p_, "in \\u hexadecimal character escape", err);
                }
                ++p_;
                continue;
            }
            if (c != '"' && c != '\\' && c != '/' && c != 'b' && c != 'f' && c != 'n' && c != 'r' &&
                c != 't')
                return fail(c, "in string escape code", err);
            ++p_;
            continue;
        }
        if (c < 0x20)
            return fail(c, "in string literal", err);
        size_t n = utf8_len(p_, end_);
        if (n == 0) {
            // Deviation: Go replaces invalid UTF-8 with U+FFFD; we refuse it (design.md §5.12).
            if (err)
                *err = "invalid UTF-8 in string";
            return false;
        }
        p_ += n;
    }
}

bool Validator::number(std::string *err) {
    if (*p_ == '-') {
        if (++p_ >= end_)
            return eof(err);
        if (!is_digit(*p_))
            return fail(*p_, "in numeric literal", err);
    }
    if (*p_ == '0') {
        ++p_;
    } else {
        while (p_ < end_ && is_digit(*p_))
            ++p_;
    }
    if (p_ < end_ && *p_ == '.') {
        if (++p_ >= end_)
            return eof(err);
        if (!is_digit(*p_))
            return fail(*p_, "after decimal point in numeric literal", err);
        while (p_ < end_ && is_digit(*p_))
            ++p_;
    }
    if (p_ < end_ && (*p_ == 'e' || *p_ == 'E')) {
        if (++p_ >= end_)
            return eof(err);
        if (*p_ == '+' || *p_ == '-') {
            if (++p_ >= end_)
                return eof(err);
        }
        if (!is_digit(*p_))
            return fail(*p_, "in exponent of numeric literal", err);
        while (p_ < end_ && is_digit(*p_))
            ++p_;
    }
    return true;
}

bool Validator::literal(const char *word, std::string *err) {
    ++p_;
    for (const char *w = word + 1; *w; ++w) {
        if (p_ >= end_)
            return eof(err);
        if (*p_ != static_cast<unsigned char>(*w)) {
            char ctx[48];
            snprintf(ctx, sizeof ctx, "in literal %s (expecting '%c')", word, *w);
            return fail(*p_, ctx, err);
        }
        ++p_;
    }
    return true;
}

bool Validator::run(std::string *err) {
value:
    skip_ws();
    if (p_ >= end_)
        return eof(err);
    if (depth_ <= visit_depth_)
        value_[depth_] = p_;
    switch (*p_) {
    case '{':
    case '[': {
        bool obj = *p_ == '{';
        if (depth_ >= max_depth)
            return fail(*p_, "exceeded max depth", err);
        if (obj && depth_ == 1 && members_ && is_object_[1]) {
            nested_ = members_->object_members(key(1));
            visit_depth_ = nested_ ? 2 : 1;
        }
        open(obj);
        skip_ws();
        if (p_ >= end_)
            return eof(err);
        if (*p_ == (obj ? '}' : ']')) {
            close();
            goto after_value;
        }
        if (!obj)
            goto value;
        goto key;
    }
    case '"':
        if (!string(err))
            return false;
        goto after_value;
    case 't':
        if (!literal("true", err))
            return false;
        goto after_value;
    case 'f':
        if (!literal("false", err))
            return false;
        goto after_value;
    case 'n':
        if (!literal("null", err))
            return false;
        goto after_value;
    default:
        if (*p_ == '-' || is_digit(*p_)) {
            if (!number(err))
                return false;
            goto after_value;
        }
        return fail(*p_, "looking for beginning of value", err);
    }

key:
    // At the first byte of an object key (whitespace skipped, not at end).
    if (*p_ != '"')
        return fail(*p_, "looking for beginning of object key string", err);
    if (depth_ <= visit_depth_)
        key_[depth_] = p_ + 1;
    if (!string(err))
        return false;
    if (depth_ <= visit_depth_)
        key_end_[depth_] = p_ - 1;
    skip_ws();
    if (p_ >= end_)
        return eof(err);
    if (*p_ != ':')
        return fail(*p_, "after object key", err);
    ++p_;
    goto value;

after_value:
    // At depth 1 a value has just ended inside the top-level container: a member when that is
    // an object. At depth 2, a member of the object nested_ visits.
    if (depth_ == 1) {
        if (members_ && is_object_[1]) {
            nested_ = nullptr;
            visit_depth_ = 1;
            visit_member(1, members_);
        }
    } else if (depth_ == 2 && nested_) {
        visit_member(2, nested_);
    }
    skip_ws();
    if (depth_ == 0) {
        if (p_ < end_)
            return fail(*p_, "after top-level value", err);
        return true;
    }
    if (p_ >= end_)
        return eof(err);
    if (is_object_[depth_]) {
        if (*p_ == ',') {
            ++p_;
            skip_ws();
            if (p_ >= end_)
                return eof(err);
            goto key;
        }
        if (*p_ == '}') {
            close();
            goto after_value;
        }
        return fail(*p_, "after object key:value pair", err);
    }
    if (*p_ == ',') {
        ++p_;
        goto value;
    }
    if (*p_ == ']') {
        close();
        goto after_value;
    }
    return fail(*p_, "after array element", err);
}

const char *skip_ws(const char *p, const char *end) {
    while (p < end && is_ws(static_cast<unsigned char>(*p)))
        ++p;
    return p;
}

// Past the closing quote of the string token starting at p; *escaped tells whether the string
// had an escape in it.
const char *skip_string(const char *p, const char *end, bool *escaped) {
    const auto *u = reinterpret_cast<const unsigned char *>(p) + 1;
    const auto *e = reinterpret_cast<const unsigned char *>(end);
    *escaped = false;
    for (;;) {
        u = bytes::find_quote_or_backslash(u, e);
        if (u >= e)
            return end;
        if (*u == '"')
            return reinterpret_cast<const char *>(u) + 1;
        *escaped = true;
        u += 2; // an escape: the escaped byte cannot end the string
    }
}

int hex_val(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return c - 'A' + 10;
}

uint32_t read_hex4(const char *p) {
    return uint32_t(hex_val(p[0]) << 12 | hex_val(p[1]) << 8 | hex_val(p[2]) << 4 | hex_val(p[3]));
}

void put_utf8(std::string *out, uint32_t cp) {
    if (cp < 0x80) {
        out->push_back(char(cp));
    } else if (cp < 0x800) {
        out->push_back(char(0xc0 | (cp >> 6)));
        out->push_back(char(0x80 | (cp & 0x3f)));
    } else if (cp < 0x10000) {
        out->push_back(char(0xe0 | (cp >> 12)));
        out->push_back(char(0x80 | ((cp >> 6) & 0x3f)));
        out->push_back(char(0x80 | (cp & 0x3f)));
    } else {
        out->push_back(char(0xf0 | (cp >> 18)));
        out->push_back(char(0x80 | ((cp >> 12) & 0x3f)));
        out->push_back(char(0x80 | ((cp >> 6) & 0x3f)));
        out->push_back(char(0x80 | (cp & 0x3f)));
    }
}

// Decodes one code point of validated string contents at p (escape or UTF-8), advancing p.
uint32_t next_code_point(const char *&p, const char *end) {
    unsigned char c = static_cast<unsigned char>(*p);
    if (c == '\\') {
        char e = p[1];
        p += 2;
        switch (e) {
        case 'b':
            return '\b';
        case 'f':
            return '\f';
        case 'n':
            return '\n';
        case 'r':
            return '\r';
        case 't':
            return '\t';
        case 'u': {
            uint32_t cp = read_hex4(p);
            p += 4;
            if (cp >= 0xd800 && cp < 0xdc00) {
                // A high surrogate needs a low one right after it, else U+FFFD (Go's rule).
                if (end - p >= 6 && p[0] == '\\' && p[1] == 'u') {
                    uint32_t lo = read_hex4(p + 2);
                    if (lo >= 0xdc00 && lo < 0xe000) {
                        p += 6;
                        return 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                    }
                }
                return 0xfffd;
            }
            if (cp >= 0xdc00 && cp < 0xe000)
                return 0xfffd;
            return cp;
        }
        default:
            return static_cast<unsigned char>(e);
        }
    }
    if (c < 0x80) {
        ++p;
        return c;
    }
    const auto *u = reinterpret_cast<const unsigned char *>(p);
    if (c < 0xe0) {
        p += 2;
        return uint32_t(c & 0x1f) << 6 | (u[1] & 0x3f);
    }
    if (c < 0xf0) {
        p += 3;
        return uint32_t(c & 0x0f) << 12 | uint32_t(u[1] & 0x3f) << 6 | (u[2] & 0x3f);
    }
    p += 4;
    return uint32_t(c & 0x07) << 18 | uint32_t(u[1] & 0x3f) << 12 | uint32_t(u[2] & 0x3f) << 6 |
           (u[3] & 0x3f);
}

uint32_t fold(uint32_t cp) {
    if (cp >= 'A' && cp <= 'Z')
        return cp + 32;
    if (cp == 0x17f) // LATIN SMALL LETTER LONG S folds to s in Go's EqualFold
        return 's';
    if (cp == 0x212a) // KELVIN SIGN folds to k
        return 'k';
    return cp;
}

} // namespace

bool validate(std::string_view in, std::string *err, MemberVisitor *members) {
    return Validator(in, members).run(err);
}

const char *kind_name(Kind k) {
    switch (k) {
    case Kind::object:
        return "object";
    case Kind::array:
        return "array";
    case Kind::string:
        return "string";
    case Kind::number:
        return "number";
    case Kind::boolean:
        return "bool";
    case Kind::null:
        return "null";
    }
    return "value";
}

Value read_value(const char *&p, const char *end) {
    p = skip_ws(p, end);
    const char *start = p;
    Value v;
    switch (*p) {
    case '"': {
        bool escaped;
        v.kind = Kind::string;
        p = skip_string(p, end, &escaped);
        v.plain = !escaped;
        break;
    }
    case '{':
    case '[': {
        v.kind = *p == '{' ? Kind::object : Kind::array;
        int depth = 0;
        while (p < end) {
            char c = *p;
            if (c == '"') {
                bool escaped;
                p = skip_string(p, end, &escaped);
                continue;
            }
            ++p;
            if (c == '{' || c == '[') {
                ++depth;
            } else if (c == '}' || c == ']') {
                if (--depth == 0)
                    break;
            }
        }
        break;
    }
    case 't':
        v.kind = Kind::boolean;
        p += 4;
        break;
    case 'f':
        v.kind = Kind::boolean;
        p += 5;
        break;
    case 'n':
        v.kind = Kind::null;
        p += 4;
        break;
    default:
        v.kind = Kind::number;
        while (p < end && (is_digit(static_cast<unsigned char>(*p)) || *p == '-' || *p == '+' ||
                           *p == '.' || *p == 'e' || *p == 'E'))
            ++p;
        break;
    }
    v.text = std::string_view(start, size_t(p - start));
    return v;
}

Value top_value(std::string_view validated) {
    const char *p = skip_ws(validated.data(), validated.data() + validated.size());
    const char *end = validated.data() + validated.size();
    while (end > p && is_ws(static_cast<unsigned char>(end[-1])))
        --end;
    return {kind_of(*p), std::string_view(p, size_t(end - p))};
}

MemberIter::MemberIter(std::string_view object_text)
    : p_(object_text.data() + 1), end_(object_text.data() + object_text.size() - 1) {}

bool MemberIter::next(std::string_view *key_raw, Value *value) {
    p_ = skip_ws(p_, end_);
    if (p_ < end_ && *p_ == ',')
        p_ = skip_ws(p_ + 1, end_);
    if (p_ >= end_)
        return false;
    const char *k = p_;
    bool escaped;
    p_ = skip_string(p_, end_, &escaped);
    *key_raw = std::string_view(k + 1, size_t(p_ - k - 2));
    p_ = skip_ws(p_, end_);
    p_ = skip_ws(p_ + 1, end_); // ':'
    *value = read_value(p_, end_);
    return true;
}

ElementIter::ElementIter(std::string_view array_text)
    : p_(array_text.data() + 1), end_(array_text.data() + array_text.size() - 1) {}

bool ElementIter::next(Value *value) {
    p_ = skip_ws(p_, end_);
    if (p_ < end_ && *p_ == ',')
        p_ = skip_ws(p_ + 1, end_);
    if (p_ >= end_)
        return false;
    *value = read_value(p_, end_);
    return true;
}

void unescape_string(std::string_view token, std::string *out) {
    unescape_body(token.substr(1, token.size() - 2), out);
}

void unescape_body(std::string_view body, std::string *out) {
    if (body.find('\\') == std::string_view::npos) {
        out->append(body);
        return;
    }
    const char *p = body.data();
    const char *end = p + body.size();
    while (p < end) {
        if (*p != '\\') {
            // Copy the run up to the next escape in one go.
            const char *q = p;
            while (q < end && *q != '\\')
                ++q;
            out->append(p, size_t(q - p));
            p = q;
            continue;
        }
        put_utf8(out, next_code_point(p, end));
    }
}

bool key_matches_folded(std::string_view key_raw, std::string_view name) {
    // Plain ASCII keys first, the only kind real clients send.
    size_t n = key_raw.size();
    size_t j = 0;
    for (; j < n; ++j) {
        unsigned char c = static_cast<unsigned char>(key_raw[j]);
        if (c == '\\' || c >= 0x80)
            break;
        if (j >= name.size() || fold(c) != fold(static_cast<unsigned char>(name[j])))
            return false;
    }
    if (j == n)
        return n == name.size();
    const char *p = key_raw.data();
    const char *end = p + key_raw.size();
    size_t i = 0;
    while (p < end) {
        if (i == name.size())
            return false;
        uint32_t cp = fold(next_code_point(p, end));
        if (cp != fold(static_cast<unsigned char>(name[i])))
            return false;
        ++i;
    }
    return i == name.size();
}

bool valid_utf8(std::string_view s) {
    const auto *p = reinterpret_cast<const unsigned char *>(s.data());
    const auto *end = p + s.size();
    for (;;) {
        p = bytes::find_non_ascii(p, end);
        if (p >= end)
            return true;
        size_t n = utf8_len(p, end);
        if (n == 0)
            return false;
        p += n;
    }
}

bool parse_int64(std::string_view s, int64_t *out) {
    // Up to 18 digits cannot overflow int64 (10^18 - 1 < 2^63 - 1): no bound checks then.
    // Payload numbers (seq, mid, sendAt, type) are all this short.
    {
        size_t i = !s.empty() && s[0] == '-';
        size_t digits = s.size() - i;
        if (digits >= 1 && digits <= 18) {
            uint64_t v = 0;
            for (; i < s.size(); ++i) {
                unsigned d = unsigned(static_cast<unsigned char>(s[i])) - '0';
                if (d > 9)
                    return false;
                v = v * 10 + d;
            }
            *out = s[0] == '-' ? -int64_t(v) : int64_t(v);
            return true;
        }
    }
    size_t i = 0;
    bool neg = false;
    if (i < s.size() && s[i] == '-') {
        neg = true;
        ++i;
    }
    if (i == s.size())
        return false;
    uint64_t limit = neg ? uint64_t(INT64_MAX) + 1 : uint64_t(INT64_MAX);
    uint64_t v = 0;
    for (; i < s.size(); ++i) {
        char c = s[i];
        if (c < '0' || c > '9')
            return false;
        unsigned d = unsigned(c - '0');
        if (v > (limit - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = neg ? int64_t(0 - v) : int64_t(v);
    return true;
}

} // namespace glide::codec::json
