// jansson helpers for the admin API's request bodies and answers.
#pragma once

#include <jansson.h>

#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"

namespace glide::host {

struct JsonFree {
    void operator()(json_t *j) const { json_decref(j); }
};
using JsonPtr = std::unique_ptr<json_t, JsonFree>;

// Compact text of a JSON value (keys in insertion order).
std::string json_text(const json_t *j);

// Parses a request body that must be one JSON object. Errors name what is wrong and where:
//   the request body is empty; send a JSON object
//   invalid JSON at line 1, column 7: '}' expected near '"x"'
//   the request body must be a JSON object
Result<JsonPtr> parse_json_object(std::string_view body);

// A string member. Missing: an error when `required` ("\"gid\" is required"), else "". Present
// but not a non-empty string: an error ("\"gid\" must be a non-empty string").
Result<std::string> string_field(const json_t *o, const char *key, bool required);

} // namespace glide::host
