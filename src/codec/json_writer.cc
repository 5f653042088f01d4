#include "codec/json_writer.h"

#include "codec/byte_scan.h"
#include "common/strings.h"

#include <charconv>
#include <cstring>

namespace glide::codec::json {

namespace {

void put_u_escape(std::string *out, unsigned v) {
    char buf[6] = {'\\',
                   'u',
                   kHexDigits[(v >> 12) & 15],
                   kHexDigits[(v >> 8) & 15],
                   kHexDigits[(v >> 4) & 15],
                   kHexDigits[v & 15]};
    out->append(buf, 6);
}

// Length of a valid UTF-8 sequence at p, 0 if invalid (utf8.DecodeRune's notion).
size_t utf8_seq(const unsigned char *p, const unsigned char *end) {
    unsigned char c = p[0];
    size_t avail = size_t(end - p);
    if (c >= 0xc2 && c <= 0xdf)
        return (avail >= 2 && (p[1] & 0xc0) == 0x80) ? 2 : 0;
    if (c >= 0xe0 && c <= 0xef) {
        if (avail < 3 || (p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80)
            return 0;
        if ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] > 0x9f))
            return 0;
        return 3;
    }
    if (c >= 0xf0 && c <= 0xf4) {
        if (avail < 4 || (p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80 || (p[3] & 0xc0) != 0x80)
            return 0;
        if ((c == 0xf0 && p[1] < 0x90) || (c == 0xf4 && p[1] > 0x8f))
            return 0;
        return 4;
    }
    return 0;
}

bool is_line_sep(const unsigned char *p, size_t n) {
    // U+2028 and U+2029 are E2 80 A8 / E2 80 A9.
    return n == 3 && p[0] == 0xe2 && p[1] == 0x80 && (p[2] == 0xa8 || p[2] == 0xa9);
}

// True when json.Marshal writes s as it is (quoted): no byte find_marshal_special stops at.
// The flags of every word are OR-ed without a branch per word, and the bytes short of a whole
// word are tested in one more (overlapping) word rather than one at a time: most strings are
// short (ids, actions) and plain. A flag above a true match may be false, never one without a
// match, so the OR is zero exactly when nothing needs escaping.
bool marshals_verbatim(const unsigned char *p, size_t n) {
    using namespace bytes;
    uint64_t x;
    if (n >= 8) {
        uint64_t acc = marshal_flags(load8(p + n - 8));
        for (size_t i = 0; i + 8 <= n; i += 8)
            acc |= marshal_flags(load8(p + i));
        return acc == 0;
    }
    if (n >= 4) {
        uint32_t a, b;
        memcpy(&a, p, 4);
        memcpy(&b, p + n - 4, 4);
        x = uint64_t(a) | uint64_t(b) << 32;
    } else if (n > 0) {
        // p[0], p[n / 2] and p[n - 1] cover 1 to 3 bytes; the rest of the word is plain 'a'.
        x = (ones * 'a' & ~uint64_t{0xffffff}) | uint64_t(p[0]) | uint64_t(p[n / 2]) << 8 |
            uint64_t(p[n - 1]) << 16;
    } else {
        return true;
    }
    return marshal_flags(x) == 0;
}

// The escaping loop of write_string, for a string that needs it.
void write_escaped(std::string *out, std::string_view s) {
    const auto *p = reinterpret_cast<const unsigned char *>(s.data());
    const auto *end = p + s.size();
    const auto *run = p; // start of the pending run of bytes copied verbatim
    p = bytes::find_marshal_special(p, end);
    out->push_back('"');
    while (p < end) {
        unsigned char c = *p;
        if (c < 0x80) {
            out->append(reinterpret_cast<const char *>(run), size_t(p - run));
            switch (c) {
            case '"':
                out->append("\\\"", 2);
                break;
            case '\\':
                out->append("\\\\", 2);
                break;
            case '\n':
                out->append("\\n", 2);
                break;
            case '\r':
                out->append("\\r", 2);
                break;
            case '\t':
                out->append("\\t", 2);
                break;
            default:
                put_u_escape(out, c);
                break;
            }
            run = ++p;
        } else {
            size_t n = utf8_seq(p, end);
            if (n == 0 || is_line_sep(p, n)) {
                out->append(reinterpret_cast<const char *>(run), size_t(p - run));
                if (n == 0) {
                    out->append("\\ufffd", 6);
                    n = 1;
                } else {
                    put_u_escape(out, p[2] == 0xa8 ? 0x2028 : 0x2029);
                }
                run = p + n;
            }
            p += n;
        }
        // Runs of bytes that need no escaping are skipped 8 at a time and copied in one append.
        p = bytes::find_marshal_special(p, end);
    }
    out->append(reinterpret_cast<const char *>(run), size_t(end - run));
    out->push_back('"');
}

} // namespace

void write_string(std::string *out, std::string_view s) {
    if (!marshals_verbatim(reinterpret_cast<const unsigned char *>(s.data()), s.size()))
        return write_escaped(out, s);
    // The quotes and the text in one write.
    size_t n = out->size();
    out->resize(n + s.size() + 2);
    char *d = out->data() + n;
    d[0] = '"';
    memcpy(d + 1, s.data(), s.size());
    d[s.size() + 1] = '"';
}

void ObjectWriter::str(const Key &k, std::string_view v) {
    // A short plain value goes out with its key in one append.
    constexpr size_t kShort = 256;
    if (v.size() <= kShort &&
        marshals_verbatim(reinterpret_cast<const unsigned char *>(v.data()), v.size())) {
        char buf[32 + kShort + 2];
        size_t n = put_key(buf, k);
        buf[n] = '"';
        memcpy(buf + n + 1, v.data(), v.size());
        n += v.size() + 1;
        buf[n++] = '"';
        out_->append(buf, n);
        return;
    }
    write_string(key(k), v);
}

void write_int(std::string *out, int64_t v) {
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    out->append(buf, size_t(r.ptr - buf));
}

void ObjectWriter::num(const Key &k, int64_t v) {
    // The key and the digits in one append.
    char buf[64];
    size_t n = put_key(buf, k);
    if (uint64_t(v) < 10) {
        buf[n++] = char('0' + v); // ver, type, small counts
    } else {
        n = size_t(std::to_chars(buf + n, buf + sizeof buf, v).ptr - buf);
    }
    out_->append(buf, n);
}

void write_compact(std::string *out, std::string_view validated, bool html_escape) {
    const auto *p = reinterpret_cast<const unsigned char *>(validated.data());
    const auto *end = p + validated.size();
    const auto *run = p;
    auto flush = [&](const unsigned char *upto) {
        out->append(reinterpret_cast<const char *>(run), size_t(upto - run));
    };
    bool in_string = false;
    while (p < end) {
        unsigned char c = *p;
        if (in_string) {
            if (c == '\\') {
                p += 2; // escapes are kept as written; Go's compact does not touch them
                continue;
            }
            if (c == '"') {
                in_string = false;
            } else if (!html_escape) {
                // kept as written
            } else if (c == '<' || c == '>' || c == '&') {
                flush(p);
                put_u_escape(out, c);
                run = p + 1;
            } else if (c == 0xe2 && end - p >= 3 && p[1] == 0x80 &&
                       (p[2] == 0xa8 || p[2] == 0xa9)) {
                flush(p);
                put_u_escape(out, p[2] == 0xa8 ? 0x2028 : 0x2029);
                run = p + 3;
                p += 3;
                continue;
            }
            ++p;
            continue;
        }
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            flush(p);
            run = p + 1;
        } else if (c == '"') {
            in_string = true;
        }
        ++p;
    }
    flush(p);
}

void ObjectWriter::raw_or_null(const Key &k, std::string_view json) {
    std::string *o = key(k);
    if (json.empty())
        o->append("null", 4);
    else
        write_compact(o, json);
}

void ObjectWriter::strings(const Key &k, const std::vector<std::string> &v) {
    std::string *o = key(k);
    o->push_back('[');
    for (size_t i = 0; i < v.size(); ++i) {
        if (i)
            o->push_back(',');
        write_string(o, v[i]);
    }
    o->push_back(']');
}

} // namespace glide::codec::json
