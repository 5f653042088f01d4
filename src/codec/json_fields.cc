#include "codec/json_fields.h"

#include "codec/json_writer.h"

#include <cstdint>

namespace glide::codec::json {

void FieldDecoder::type_error(std::string_view what, std::string_view field,
                              std::string_view go_type) {
    if (failed_)
        return;
    failed_ = true;
    err_ = "json: cannot unmarshal ";
    err_.append(what);
    err_.append(" into Go struct field ");
    err_.append(struct_);
    err_.push_back('.');
    if (!path_.empty()) {
        err_.append(path_);
        err_.push_back('.');
    }
    err_.append(field);
    err_.append(" of type ");
    err_.append(go_type);
}

void FieldDecoder::str(const Value &v, std::string *dst, std::string_view field) {
    if (v.kind == Kind::string) {
        if (v.plain) {
            dst->assign(v.text.data() + 1, v.text.size() - 2);
        } else {
            dst->clear();
            unescape_string(v.text, dst);
        }
    } else if (v.kind != Kind::null) {
        type_error(kind_name(v.kind), field, "string");
    }
}

bool FieldDecoder::integer(const Value &v, int64_t *dst, std::string_view field,
                           const char *go_type, int64_t min, int64_t max) {
    if (v.kind == Kind::null)
        return false;
    if (v.kind != Kind::number) {
        type_error(kind_name(v.kind), field, go_type);
        return false;
    }
    int64_t n;
    if (!parse_int64(v.text, &n) || n < min || n > max) {
        // Go reports the literal: "number 1.5", "number 1e3", "number 99999999999999999999".
        std::string what = "number ";
        what.append(v.text);
        type_error(what, field, go_type);
        return false;
    }
    *dst = n;
    return true;
}

void FieldDecoder::i64(const Value &v, int64_t *dst, std::string_view field, const char *go_type) {
    integer(v, dst, field, go_type, INT64_MIN, INT64_MAX);
}

void FieldDecoder::i32(const Value &v, int32_t *dst, std::string_view field) {
    int64_t n;
    if (integer(v, &n, field, "int32", INT32_MIN, INT32_MAX))
        *dst = int32_t(n);
}

void FieldDecoder::boolean(const Value &v, bool *dst, std::string_view field) {
    if (v.kind == Kind::boolean)
        *dst = v.text[0] == 't';
    else if (v.kind != Kind::null)
        type_error(kind_name(v.kind), field, "bool");
}

void FieldDecoder::strings(const Value &v, std::vector<std::string> *dst, std::string_view field) {
    if (v.kind == Kind::null) {
        dst->clear(); // Go sets a slice to nil on null
        return;
    }
    if (v.kind != Kind::array) {
        type_error(kind_name(v.kind), field, "[]string");
        return;
    }
    dst->clear();
    ElementIter it(v.text);
    Value e;
    while (it.next(&e)) {
        std::string &s = dst->emplace_back();
        str(e, &s, field);
        if (failed_)
            return;
    }
}

void FieldDecoder::any(const Value &v, std::string *dst) {
    dst->clear();
    if (v.kind != Kind::null)
        write_compact(dst, v.text, false);
}

bool FieldDecoder::object(const Value &v, std::string_view field, const char *go_type) {
    if (v.kind == Kind::object)
        return true;
    if (v.kind != Kind::null)
        type_error(kind_name(v.kind), field, go_type);
    return false;
}

} // namespace glide::codec::json
