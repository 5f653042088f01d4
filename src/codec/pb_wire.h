// The protobuf wire format, read and written directly (codec-internal).
//
// glide's messages are flat: strings, bytes, varint integers and booleans, one map of strings
// and two repeated strings. For them a message is a run of (tag, value) pairs, and reading it
// needs no descriptor, no allocation and no copy: a Reader yields each field with its value in
// place, and the message's decoder (protobuf.cc) keeps what it wants. The Writer appends
// fields in the order the caller gives them, leaving out proto3 defaults.
//
// Acceptance follows protobuf-c's unpack, which this replaced, byte for byte (the tests keep
// protobuf-c as their oracle): a tag of at most 5 bytes whose first byte carries tag bits, a
// varint of at most 10 bytes, a length of at most 5 bytes that fits in the input; wire types
// 0, 1, 2 and 5 only. Integers keep the low bits of an over-long varint, as protobuf-c does.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace glide::codec::pb {

enum Wire : uint8_t { varint = 0, fixed64 = 1, len = 2, fixed32 = 5 };

struct Field {
    uint32_t number = 0;
    uint8_t wire = 0;
    uint64_t value = 0;     // varint fields: the value (its low 64 bits)
    std::string_view bytes; // length-delimited fields: the contents; fixed: the bytes
    std::string_view raw;   // the value as encoded (a length-delimited one with its length)
};

// A bool as protobuf-c reads one, whatever the wire type: true when a byte of the encoded
// value has a value bit set.
inline bool truth(const Field &f) {
    for (unsigned char c : f.raw)
        if (c & 0x7f)
            return true;
    return false;
}

class Reader {
public:
    explicit Reader(std::string_view in)
        : p_(reinterpret_cast<const uint8_t *>(in.data())), end_(p_ + in.size()) {}

    // The next field, or false at the end of the input or on malformed input (see ok()).
    bool next(Field *f) {
        if (p_ == end_)
            return false;
        // The common shape first: a one-byte tag with a one-byte varint or length.
        if (end_ - p_ >= 2 && p_[0] < 0x80 && p_[0] >= 0x08 && p_[1] < 0x80) {
            uint8_t w = p_[0] & 7;
            if (w == varint) {
                f->number = p_[0] >> 3;
                f->wire = w;
                f->value = p_[1];
                f->raw = {reinterpret_cast<const char *>(p_ + 1), 1};
                p_ += 2;
                return true;
            }
            if (w == len && p_[1] <= end_ - p_ - 2) {
                f->number = p_[0] >> 3;
                f->wire = w;
                f->raw = {reinterpret_cast<const char *>(p_ + 1), size_t(p_[1]) + 1};
                f->bytes = {reinterpret_cast<const char *>(p_ + 2), p_[1]};
                p_ += 2 + p_[1];
                return true;
            }
        }
        return read(f) || (malformed_ = true, false);
    }
    // False once the input turned out malformed.
    bool ok() const { return !malformed_; }

private:
    bool read(Field *f);

    const uint8_t *p_;
    const uint8_t *end_;
    bool malformed_ = false;
};

// Low 32 bits of a varint, as protobuf-c reads int32 fields.
inline int32_t as_int32(uint64_t v) {
    return static_cast<int32_t>(static_cast<uint32_t>(v));
}

class Writer {
public:
    explicit Writer(std::string *out) : out_(out) {}

    // proto3 fields without presence: a default value (0, false, "") is left out.
    void int64(uint32_t number, int64_t v) {
        if (v != 0)
            int64_always(number, v);
    }
    void boolean(uint32_t number, bool v) {
        if (v)
            int64_always(number, 1);
    }
    void string(uint32_t number, std::string_view s) {
        if (!s.empty())
            bytes_always(number, s);
    }
    // Members of a oneof are written whenever they are the set member, default or not.
    void int64_always(uint32_t number, int64_t v) {
        tag(number, varint);
        put_varint(static_cast<uint64_t>(v));
    }
    void bytes_always(uint32_t number, std::string_view s) {
        if (number < 16 && s.size() < 0x80) { // tag and length one byte each
            char h[2] = {static_cast<char>(number << 3 | len), static_cast<char>(s.size())};
            out_->append(h, 2);
        } else {
            tag(number, len);
            put_varint(s.size());
        }
        out_->append(s);
    }
    // A nested message whose body the caller writes next: returns the offset to pass to
    // end_message(), which fills in the length (a body under 128 bytes needs no move).
    size_t begin_message(uint32_t number) {
        tag(number, len);
        out_->push_back('\0');
        return out_->size();
    }
    void end_message(size_t start);

    void put_varint(uint64_t v) {
        if (v < 0x80) {
            out_->push_back(static_cast<char>(v));
            return;
        }
        char buf[10];
        size_t n = 0;
        while (v >= 0x80) {
            buf[n++] = static_cast<char>(v | 0x80);
            v >>= 7;
        }
        buf[n++] = static_cast<char>(v);
        out_->append(buf, n);
    }

private:
    void tag(uint32_t number, Wire w) { put_varint(uint64_t(number) << 3 | w); }

    std::string *out_;
};

} // namespace glide::codec::pb
