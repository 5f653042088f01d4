#include "host/admin/admin_json.h"

#include <cstdlib>

namespace glide::host {

std::string json_text(const json_t *j) {
    char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!s)
        return "null";
    std::string out(s);
    free(s);
    return out;
}

Result<JsonPtr> parse_json_object(std::string_view body) {
    if (body.empty())
        return make_error("the request body is empty; send a JSON object");
    json_error_t err;
    JsonPtr j(json_loadb(body.data(), body.size(), JSON_REJECT_DUPLICATES, &err));
    if (!j)
        return make_error("invalid JSON at line " + std::to_string(err.line) + ", column " +
                          std::to_string(err.column) + ": " + err.text);
    if (!json_is_object(j.get()))
        return make_error("the request body must be a JSON object");
    return j;
}

Result<std::string> string_field(const json_t *o, const char *key, bool required) {
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v)) {
        if (required)
            return make_error("\"" + std::string(key) + "\" is required");
        return std::string();
    }
    if (!json_is_string(v) || json_string_length(v) == 0)
        return make_error("\"" + std::string(key) + "\" must be a non-empty string");
    return std::string(json_string_value(v), json_string_length(v));
}

} // namespace glide::host
