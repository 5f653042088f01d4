// JSON decoding and encoding of a message from its table in schema.h (codec-internal).
//
// Decoding tries the key against each field's JSON key in table order (key_matches, Go's
// case-insensitive rule) and hands the value to the FieldDecoder setter of the field's kind;
// encoding writes the fields in table order with Go's omitempty rule. Both are folds over the
// constexpr table, so each field compiles to the code that used to be written for it by hand.
#pragma once

#include "codec/json_fields.h"
#include "codec/json_writer.h"
#include "codec/schema.h"

#include <type_traits>

namespace glide::codec::json {

// A special-field hook for messages without special fields.
struct NoSpecial {
    template <typename... A> void operator()(A &&...) const {}
};

// Decodes member (k, v) into *m when k is the JSON key of one of T's fields (an unknown key is
// ignored, as Go does). A special field goes to special(index, d, v) instead, index an
// std::integral_constant naming the field.
template <typename T, typename Special>
[[gnu::always_inline]] inline void decode_member(FieldDecoder &d, std::string_view k,
                                                 const Value &v, T *m, Special &&special) {
    using schema::Kind;
    schema::any<T>([&](auto i) GLIDE_INLINE {
        constexpr const auto &f = schema::field<T, i>;
        if constexpr (f.json.empty()) {
            return false;
        } else {
            // Copies as constants of their own, which GCC keeps as immediates instead of
            // loading them from the table for each key tried.
            constexpr std::string_view key = f.json, alt = f.json_alt;
            bool hit = key_matches(k, key);
            if constexpr (!alt.empty())
                hit = hit || key_matches(k, alt);
            if (!hit)
                return false;
            if constexpr (f.is_special)
                special(i, d, v);
            else if constexpr (f.kind == Kind::string)
                d.str(v, &(m->*f.member), f.json);
            else if constexpr (f.kind == Kind::json)
                d.any(v, &(m->*f.member));
            else if constexpr (f.kind == Kind::strings)
                d.strings(v, &(m->*f.member), f.json);
            else if constexpr (f.kind == Kind::i64)
                d.i64(v, &(m->*f.member), f.json, f.go_type);
            else if constexpr (f.kind == Kind::i32)
                d.i32(v, &(m->*f.member), f.json);
            else if constexpr (f.kind == Kind::boolean)
                d.boolean(v, &(m->*f.member), f.json);
            else
                static_assert(f.is_special, "no JSON decoding for this kind");
            return true;
        }
    });
}

// The on_member functor of ObjectDecoder for a message without special fields.
template <typename T> struct TableMembers {
    T *m;
    void operator()(FieldDecoder &d, std::string_view k, const Value &v) const {
        decode_member(d, k, v, m, NoSpecial{});
    }
};

// decode_object for message T.
template <typename T> Status decode_table(std::string_view in, Validated validated, T *m) {
    return decode_object(in, validated, schema::Schema<T>::go_type, schema::go_struct<T>(),
                         TableMembers<T>{m});
}

// Writes T's members to w (which the caller opened and ends), in table order, empty values
// left out unless the field says always(). A special field is special(index, w)'s to write.
template <typename T, typename Special = NoSpecial>
[[gnu::always_inline]] inline void write_members(ObjectWriter &w, const T &m,
                                                 Special &&special = {}) {
    using schema::Kind;
    schema::each<T>([&](auto i) GLIDE_INLINE {
        constexpr const auto &f = schema::field<T, i>;
        constexpr bool omit = f.omit == schema::Omit::empty;
        if constexpr (f.json.empty()) {
            // protobuf only
        } else if constexpr (f.is_special) {
            special(i, w);
        } else {
            const auto &v = m.*f.member;
            if constexpr (f.kind == Kind::string) {
                if (!omit || !v.empty())
                    w.str(f.key, v);
            } else if constexpr (f.kind == Kind::json) {
                if constexpr (omit) {
                    if (!v.empty())
                        write_compact(w.key(f.key), v);
                } else {
                    w.raw_or_null(f.key, v);
                }
            } else if constexpr (f.kind == Kind::strings) {
                static_assert(omit, "a []string is written only when it has elements");
                if (!v.empty())
                    w.strings(f.key, v);
            } else if constexpr (f.kind == Kind::i64 || f.kind == Kind::i32) {
                if (!omit || v != 0)
                    w.num(f.key, v);
            } else if constexpr (f.kind == Kind::boolean) {
                if (!omit || v)
                    w.boolean(f.key, v);
            } else {
                static_assert(f.is_special, "no JSON encoding for this kind");
            }
        }
    });
}

// The JSON object of message T.
template <typename T> void encode_table(const T &m, std::string *out) {
    ObjectWriter w(out);
    write_members(w, m);
    w.end();
}

} // namespace glide::codec::json
