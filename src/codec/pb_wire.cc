#include "codec/pb_wire.h"

namespace glide::codec::pb {

namespace {

// The bytes of a varint of at most max bytes at p (bounded by end), or 0 when it does not end
// within them.
size_t varint_size(const uint8_t *p, const uint8_t *end, size_t max) {
    size_t n = size_t(end - p) < max ? size_t(end - p) : max;
    for (size_t i = 0; i < n; i++)
        if (!(p[i] & 0x80))
            return i + 1;
    return 0;
}

uint64_t varint_value(const uint8_t *p, size_t n) {
    uint64_t v = 0;
    for (size_t i = 0, shift = 0; i < n && shift < 64; i++, shift += 7)
        v |= uint64_t(p[i] & 0x7f) << shift;
    return v;
}

} // namespace

bool Reader::read(Field *f) {
    // The tag: protobuf-c refuses a first byte without tag bits, and reads at most 5 bytes,
    // the fifth whole (its high bits fall off a 32-bit number).
    const uint8_t b0 = p_[0];
    if ((b0 & 0xf8) == 0)
        return false;
    f->wire = b0 & 7;
    uint32_t number = (b0 & 0x7f) >> 3;
    size_t used = 1;
    if (b0 & 0x80) {
        size_t n = varint_size(p_ + 1, end_, 4);
        if (n == 0)
            return false;
        unsigned shift = 4;
        for (size_t i = 1; i <= n; i++, shift += 7)
            number |= (i < n ? uint32_t(p_[i] & 0x7f) : uint32_t(p_[i])) << shift;
        used += n;
    }
    f->number = number;
    p_ += used;

    switch (f->wire) {
    case varint: {
        size_t n = varint_size(p_, end_, 10);
        if (n == 0)
            return false;
        f->value = varint_value(p_, n);
        f->raw = {reinterpret_cast<const char *>(p_), n};
        p_ += n;
        return true;
    }
    case fixed64:
    case fixed32: {
        size_t n = f->wire == fixed64 ? 8 : 4;
        if (size_t(end_ - p_) < n)
            return false;
        f->bytes = f->raw = {reinterpret_cast<const char *>(p_), n};
        p_ += n;
        return true;
    }
    case len: {
        // The length: at most 5 bytes.
        size_t n = varint_size(p_, end_, 5);
        if (n == 0)
            return false;
        uint64_t size = varint_value(p_, n);
        if (size > size_t(end_ - p_ - n))
            return false;
        f->raw = {reinterpret_cast<const char *>(p_), n + size};
        f->bytes = {reinterpret_cast<const char *>(p_ + n), size};
        p_ += n + size;
        return true;
    }
    default: // groups (3, 4) and the unused wire types 6 and 7
        return false;
    }
}

void Writer::end_message(size_t start) {
    size_t body = out_->size() - start;
    if (body < 0x80) {
        (*out_)[start - 1] = static_cast<char>(body);
        return;
    }
    char buf[10];
    size_t n = 0;
    uint64_t v = body;
    for (; v >= 0x80; v >>= 7)
        buf[n++] = static_cast<char>(v | 0x80);
    buf[n++] = static_cast<char>(v);
    // The one placeholder byte becomes n bytes: move the body up by n - 1.
    out_->insert(start, n - 1, '\0');
    out_->replace(start - 1, n, buf, n);
}

} // namespace glide::codec::pb
