#include "host/admin/admin_http.h"

#include <cstring>

namespace glide::host::http {

namespace {

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size())
        return false;
    for (size_t i = 0; i < a.size(); i++) {
        char x = a[i], y = b[i];
        if (x >= 'A' && x <= 'Z')
            x = static_cast<char>(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z')
            y = static_cast<char>(y - 'A' + 'a');
        if (x != y)
            return false;
    }
    return true;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
        s.remove_suffix(1);
    return s;
}

// RFC 9110 token characters (method and header names).
bool is_tchar(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           strchr("!#$%&'*+-.^_`|~", c) != nullptr;
}

bool is_token(std::string_view s) {
    if (s.empty())
        return false;
    for (char c : s)
        if (!is_tchar(c))
            return false;
    return true;
}

// Contains `word` as a comma-separated element, in any case ("keep-alive, Upgrade").
bool has_element(std::string_view list, std::string_view word) {
    while (!list.empty()) {
        size_t comma = list.find(',');
        if (iequals(trim(list.substr(0, comma)), word))
            return true;
        if (comma == std::string_view::npos)
            break;
        list.remove_prefix(comma + 1);
    }
    return false;
}

ParseResult fail(int status, const char *why) { return {Parse::error, status, why}; }

int hex(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

bool decode(std::string_view in, bool plus_is_space, std::string *out) {
    out->clear();
    for (size_t i = 0; i < in.size(); i++) {
        char c = in[i];
        if (c == '%') {
            if (i + 2 >= in.size())
                return false;
            int h = hex(in[i + 1]), l = hex(in[i + 2]);
            if (h < 0 || l < 0)
                return false;
            c = static_cast<char>(h * 16 + l);
            if (c == '\0')
                return false;
            i += 2;
        } else if (c == '+' && plus_is_space) {
            c = ' ';
        }
        out->push_back(c);
    }
    return true;
}

} // namespace

ParseResult parse_request(std::string_view in, size_t max_head, Request *out) {
    *out = Request{};
    // Find the end of the head: an empty line.
    size_t pos = 0, end = std::string_view::npos;
    while (pos < in.size()) {
        size_t nl = in.find('\n', pos);
        if (nl == std::string_view::npos)
            break;
        size_t len = nl - pos;
        if (len == 0 || (len == 1 && in[pos] == '\r')) {
            end = nl + 1;
            break;
        }
        pos = nl + 1;
    }
    if (end == std::string_view::npos)
        return in.size() >= max_head
                   ? fail(431, "request header fields too large")
                   : ParseResult{Parse::need_more};
    if (end > max_head)
        return fail(431, "request header fields too large");
    out->head_bytes = end;

    std::string_view head = in.substr(0, end);
    auto next_line = [&](std::string_view &line) {
        size_t nl = head.find('\n');
        line = head.substr(0, nl);
        head.remove_prefix(nl + 1);
        if (!line.empty() && line.back() == '\r')
            line.remove_suffix(1);
    };

    // Request line: METHOD SP TARGET SP HTTP/x.y
    std::string_view line;
    next_line(line);
    size_t sp1 = line.find(' ');
    size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos)
        return fail(400, "malformed request line");
    out->method = line.substr(0, sp1);
    out->target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    std::string_view version = line.substr(sp2 + 1);
    if (!is_token(out->method))
        return fail(400, "malformed request line");
    if (out->target.empty() || out->target[0] != '/')
        return fail(400, "the request target must be a path");
    for (char c : out->target)
        if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f)
            return fail(400, "malformed request line");
    if (version == "HTTP/1.1")
        out->keep_alive = true;
    else if (version == "HTTP/1.0")
        out->keep_alive = false;
    else if (version.starts_with("HTTP/"))
        return fail(505, "only HTTP/1.0 and HTTP/1.1 are supported");
    else
        return fail(400, "malformed request line");
    size_t q = out->target.find('?');
    out->path = out->target.substr(0, q);
    if (q != std::string_view::npos)
        out->query = out->target.substr(q + 1);

    bool have_length = false;
    while (!head.empty()) {
        next_line(line);
        if (line.empty())
            break;
        if (line[0] == ' ' || line[0] == '\t')
            return fail(400, "obsolete header line folding");
        size_t colon = line.find(':');
        if (colon == std::string_view::npos || !is_token(line.substr(0, colon)))
            return fail(400, "malformed header line");
        std::string_view name = line.substr(0, colon);
        std::string_view value = trim(line.substr(colon + 1));
        for (char c : value)
            if ((static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f)
                return fail(400, "control character in a header value");
        if (iequals(name, "content-length")) {
            uint64_t n = 0;
            if (value.empty() || value.size() > 15)
                return fail(400, "invalid Content-Length");
            for (char c : value) {
                if (c < '0' || c > '9')
                    return fail(400, "invalid Content-Length");
                n = n * 10 + static_cast<uint64_t>(c - '0');
            }
            if (have_length && n != out->content_length)
                return fail(400, "conflicting Content-Length headers");
            out->content_length = n;
            have_length = true;
        } else if (iequals(name, "transfer-encoding")) {
            return fail(411, "send the body with Content-Length, not a transfer coding");
        } else if (iequals(name, "connection")) {
            if (has_element(value, "close"))
                out->keep_alive = false;
            else if (has_element(value, "keep-alive"))
                out->keep_alive = true;
        } else if (iequals(name, "authorization")) {
            out->authorization = value;
        } else if (iequals(name, "content-type")) {
            out->content_type = value;
        } else if (iequals(name, "expect")) {
            if (!iequals(value, "100-continue"))
                return fail(417, "only \"Expect: 100-continue\" is supported");
            out->expect_continue = true;
        }
    }
    return {Parse::done};
}

bool query_param(std::string_view query, std::string_view key, std::string *out) {
    while (!query.empty()) {
        size_t amp = query.find('&');
        std::string_view pair = query.substr(0, amp);
        size_t eq = pair.find('=');
        std::string k;
        if (decode(pair.substr(0, eq), true, &k) && k == key) {
            std::string_view v = eq == std::string_view::npos ? std::string_view()
                                                               : pair.substr(eq + 1);
            return decode(v, true, out);
        }
        if (amp == std::string_view::npos)
            break;
        query.remove_prefix(amp + 1);
    }
    return false;
}

bool percent_decode(std::string_view in, std::string *out) { return decode(in, false, out); }

std::vector<std::string_view> split_path(std::string_view path) {
    std::vector<std::string_view> parts;
    if (!path.empty() && path[0] == '/')
        path.remove_prefix(1);
    while (true) {
        size_t slash = path.find('/');
        parts.push_back(path.substr(0, slash));
        if (slash == std::string_view::npos)
            break;
        path.remove_prefix(slash + 1);
    }
    return parts;
}

const char *reason_phrase(int status) {
    switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 415: return "Unsupported Media Type";
    case 417: return "Expectation Failed";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
    }
}

std::string format_response(int status, std::string_view content_type, std::string_view body,
                            bool keep_alive, std::string_view extra_headers) {
    std::string r = "HTTP/1.1 " + std::to_string(status) + " " + reason_phrase(status) + "\r\n";
    r += "Server: glided\r\n";
    if (!content_type.empty()) {
        r += "Content-Type: ";
        r += content_type;
        r += "\r\n";
    }
    r += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    r += "Cache-Control: no-store\r\n";
    if (!keep_alive)
        r += "Connection: close\r\n";
    r += extra_headers;
    r += "\r\n";
    r += body;
    return r;
}

} // namespace glide::host::http
