// The small HTTP/1.1 server side the admin API needs: a request-head parser that never
// allocates and points into the input, query and path helpers, and response formatting.
//
// Why not evhttp: libevent 2.1's evhttp answers an oversized body, a malformed request or an
// unlisted method itself, with an HTML page; the admin API answers every error in JSON, and
// refuses an oversized body from its Content-Length before reading it.
//
// Supported: HTTP/1.0 and 1.1, Content-Length bodies, keep-alive (1.1 default, "Connection:
// close" ends it; 1.0 only with "Connection: keep-alive"), pipelined requests one at a time.
// Refused with a status: chunked or other transfer codings (411), an Expect header other than
// 100-continue (417), HTTP/2 or other versions (505), obs-fold and malformed lines (400).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace glide::host::http {

struct Request {
    std::string_view method;
    std::string_view target; // as sent: "/v1/sessions?uid=a"
    std::string_view path;   // before '?', not decoded
    std::string_view query;  // after '?', not decoded; empty when absent
    std::string_view authorization;
    std::string_view content_type;
    uint64_t content_length = 0;
    bool keep_alive = true;
    bool expect_continue = false; // "Expect: 100-continue"
    size_t head_bytes = 0;        // request line and headers, blank line included
};

enum class Parse : uint8_t { done, need_more, error };

struct ParseResult {
    Parse state;
    int status = 0;            // for errors: the HTTP status to answer
    const char *error = nullptr; // for errors: the reason, for the JSON body
};

// Parses a request head at the start of `in`. need_more while the blank line has not arrived
// and `in` is shorter than max_head (then: 431). Lines end with CRLF or a bare LF.
ParseResult parse_request(std::string_view in, size_t max_head, Request *out);

// The value of `key` in an application/x-www-form-urlencoded query, percent-decoded ('+' is a
// space); false when absent or badly encoded.
bool query_param(std::string_view query, std::string_view key, std::string *out);

// Percent-decodes one path segment; false on a bad escape or a decoded NUL.
bool percent_decode(std::string_view in, std::string *out);

// Splits a path on '/', dropping the leading empty segment: "/v1/groups/g1" → v1, groups, g1.
// Segments stay encoded. A trailing slash yields an empty last segment.
std::vector<std::string_view> split_path(std::string_view path);

// The reason phrase of a status ("Not Found").
const char *reason_phrase(int status);

// A whole response: status line, Content-Type, Content-Length, Connection (close when
// keep_alive is false), `extra_headers` (each line ending in CRLF), blank line, body.
std::string format_response(int status, std::string_view content_type, std::string_view body,
                            bool keep_alive, std::string_view extra_headers = {});

} // namespace glide::host::http
