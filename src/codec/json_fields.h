// Decoding JSON objects into C++ structs with Go encoding/json's rules (codec-internal).
//
// Unknown keys are ignored, keys match field names case-insensitively, null leaves a scalar
// as it was, and a kind mismatch yields Go's UnmarshalTypeError text:
// "json: cannot unmarshal <what> into Go struct field <Struct>.<field> of type <type>".
#pragma once

#include "codec/json_scan.h"
#include "codec/message.h"
#include "common/result.h"

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace glide::codec::json {

class FieldDecoder {
public:
    // struct_name: Go's struct type name (innermost), path: JSON field path prefix ("" at top).
    FieldDecoder(const char *struct_name, std::string_view path = {})
        : struct_(struct_name), path_(path) {}

    bool failed() const { return failed_; }
    const std::string &error() const { return err_; }
    // Forgets an error, to decode another object.
    void reset() {
        failed_ = false;
        err_.clear();
    }

    void str(const Value &v, std::string *dst, std::string_view field);
    void i64(const Value &v, int64_t *dst, std::string_view field, const char *go_type = "int64");
    void i32(const Value &v, int32_t *dst, std::string_view field);
    void boolean(const Value &v, bool *dst, std::string_view field);
    void strings(const Value &v, std::vector<std::string> *dst, std::string_view field);
    // An interface{} field: keeps the value's compacted JSON text; null clears it.
    void any(const Value &v, std::string *dst);
    // Checks that v is an object (or null, returning false without error) for a nested struct.
    bool object(const Value &v, std::string_view field, const char *go_type);
    void type_error(std::string_view what, std::string_view field, std::string_view go_type);

private:
    bool integer(const Value &v, int64_t *dst, std::string_view field, const char *go_type,
                 int64_t min, int64_t max);

    const char *struct_;
    std::string_view path_;
    std::string err_;
    bool failed_ = false;
};

// A MemberVisitor that calls on_member(decoder, key_raw, value) for each member until the
// decoder has failed. When F has an object_members(key_raw) function, the visitors it returns
// get the members of the nested objects (see MemberVisitor).
template <typename F> class ObjectDecoder final : public MemberVisitor {
public:
    ObjectDecoder(F on_member, const char *struct_name)
        : on_member_(std::forward<F>(on_member)), d_(struct_name) {}
    bool member(std::string_view key, const Value &v) override {
        on_member_(d_, key, v);
        return !d_.failed();
    }
    MemberVisitor *object_members(std::string_view key) override {
        if constexpr (requires { on_member_.object_members(key); })
            return on_member_.object_members(key);
        else
            return nullptr;
    }
    FieldDecoder &decoder() { return d_; }
    F &fields() { return on_member_; }

private:
    F on_member_;
    FieldDecoder d_;
};

// Decodes the top-level object of `in` with `members` (an ObjectDecoder), validating `in` in
// the same pass unless the caller knows it is valid. A syntax error anywhere wins over a type
// error (Go's checkValid runs first), so after a type error the validation goes on to the end.
// go_type names the target for top-level kind errors ("messages.ChatMessage"). A top-level null
// decodes to nothing, as in Go. On error the fields already decoded keep their new values.
template <typename D>
Status decode_object_with(std::string_view in, Validated validated, const char *go_type,
                          D &members) {
    if (validated == Validated::no) {
        std::string err;
        if (!validate(in, &err, &members))
            return make_error(std::move(err));
    }
    Value top = top_value(in);
    if (top.kind == Kind::null)
        return {};
    if (top.kind != Kind::object)
        return make_error(std::string("json: cannot unmarshal ") + kind_name(top.kind) +
                          " into Go value of type " + go_type);
    if (validated == Validated::yes) {
        MemberIter it(top.text);
        std::string_view key;
        Value v;
        while (it.next(&key, &v) && members.member(key, v)) {
        }
    }
    if (members.decoder().failed())
        return make_error(members.decoder().error());
    return {};
}

// decode_object_with for the fields on_member decodes, a struct_name struct.
template <typename F>
Status decode_object(std::string_view in, Validated validated, const char *go_type,
                     const char *struct_name, F &&on_member) {
    ObjectDecoder<F &> members(on_member, struct_name);
    return decode_object_with(in, validated, go_type, members);
}

} // namespace glide::codec::json
