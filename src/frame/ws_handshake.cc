#include "frame/ws_handshake.h"

#include <openssl/sha.h>

#include <cstring>

namespace glide::frame {

namespace {

constexpr std::string_view kGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
constexpr std::string_view kJson = "glide.json";
constexpr std::string_view kProtobuf = "glide.protobuf";

// RFC 9110 §5.6.2 tchar.
constexpr bool is_tchar(unsigned char c) {
    if (c >= '0' && c <= '9')
        return true;
    if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z')
        return true;
    return std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

constexpr bool is_ows(char c) {
    return c == ' ' || c == '\t';
}

constexpr unsigned char lower(unsigned char c) {
    return c >= 'A' && c <= 'Z' ? c | 0x20 : c;
}

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size())
        return false;
    for (size_t i = 0; i < a.size(); i++)
        if (lower(static_cast<unsigned char>(a[i])) != lower(static_cast<unsigned char>(b[i])))
            return false;
    return true;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && is_ows(s.front()))
        s.remove_prefix(1);
    while (!s.empty() && is_ows(s.back()))
        s.remove_suffix(1);
    return s;
}

// Calls f(token) for each non-empty element of a comma-separated list (RFC 9110 §5.6.1 allows
// empty elements); stops and returns true as soon as f does.
template <typename F> bool any_token(std::string_view list, F f) {
    while (!list.empty()) {
        size_t comma = list.find(',');
        std::string_view item = trim(list.substr(0, comma));
        if (!item.empty() && f(item))
            return true;
        if (comma == std::string_view::npos)
            break;
        list.remove_prefix(comma + 1);
    }
    return false;
}

constexpr bool is_base64(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/';
}

// A 16-byte value in base64 is 22 symbols and "==".
bool valid_key(std::string_view k) {
    if (k.size() != 24 || k[22] != '=' || k[23] != '=')
        return false;
    for (size_t i = 0; i < 22; i++)
        if (!is_base64(k[i]))
            return false;
    return true;
}

size_t base64_encode(const unsigned char *in, size_t n, char *out) {
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0, i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = in[i] << 16 | in[i + 1] << 8 | in[i + 2];
        out[o++] = tbl[v >> 18];
        out[o++] = tbl[(v >> 12) & 63];
        out[o++] = tbl[(v >> 6) & 63];
        out[o++] = tbl[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = in[i] << 16;
        out[o++] = tbl[v >> 18];
        out[o++] = tbl[(v >> 12) & 63];
        out[o++] = '=';
        out[o++] = '=';
    } else if (n - i == 2) {
        uint32_t v = in[i] << 16 | in[i + 1] << 8;
        out[o++] = tbl[v >> 18];
        out[o++] = tbl[(v >> 12) & 63];
        out[o++] = tbl[(v >> 6) & 63];
        out[o++] = '=';
    }
    return o;
}

enum class Line { ok, need_more, too_big, bad };

// Finds the line starting at `pos`. Only bytes below `limit` are looked at, so that whether a
// line is complete, too long or malformed does not depend on how much was read beyond it.
Line next_line(const char *d, size_t len, size_t limit, size_t pos, std::string_view *line,
               size_t *next) {
    const size_t end = len < limit ? len : limit;
    for (size_t i = pos; i < end; i++) {
        if (d[i] == '\r') {
            if (i + 1 >= end)
                break; // the LF may still come (or the limit is reached)
            if (d[i + 1] != '\n')
                return Line::bad; // bare CR
            *line = std::string_view(d + pos, i - pos);
            *next = i + 2;
            return Line::ok;
        }
        if (d[i] == '\n')
            return Line::bad; // bare LF
    }
    return len >= limit ? Line::too_big : Line::need_more;
}

HandshakeResult error(int status, std::string_view reason) {
    HandshakeResult r;
    r.status = HandshakeStatus::error;
    r.http_status = status;
    r.reason = reason;
    return r;
}

HandshakeResult line_error(Line l) {
    if (l == Line::too_big)
        return error(431, "request header too large");
    if (l == Line::bad)
        return error(400, "malformed line ending");
    return HandshakeResult{};
}

bool is_http_version(std::string_view v) {
    return v.size() == 8 && v.substr(0, 5) == "HTTP/" && v[5] >= '0' && v[5] <= '9' &&
           v[6] == '.' && v[7] >= '0' && v[7] <= '9';
}

class Appender {
public:
    Appender(char *out, size_t cap) : out_(out), cap_(cap) {}
    void add(std::string_view s) {
        if (len_ + s.size() > cap_) {
            overflow_ = true;
            return;
        }
        std::memcpy(out_ + len_, s.data(), s.size());
        len_ += s.size();
    }
    void add_number(size_t n) {
        char tmp[24];
        size_t i = sizeof(tmp);
        do {
            tmp[--i] = static_cast<char>('0' + n % 10);
            n /= 10;
        } while (n);
        add(std::string_view(tmp + i, sizeof(tmp) - i));
    }
    size_t result() const { return overflow_ ? 0 : len_; }

private:
    char *out_;
    size_t cap_;
    size_t len_ = 0;
    bool overflow_ = false;
};

std::string_view status_text(int status) {
    switch (status) {
    case 400:
        return "Bad Request";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 426:
        return "Upgrade Required";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 503:
        return "Service Unavailable";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return "Error";
    }
}

} // namespace

std::string_view subprotocol_name(Subprotocol p) {
    switch (p) {
    case Subprotocol::json:
        return kJson;
    case Subprotocol::protobuf:
        return kProtobuf;
    default:
        return {};
    }
}

HandshakeResult parse_handshake(const char *data, size_t len, const HandshakeConfig &cfg,
                                HandshakeRequest *req, std::span<Header> scratch) {
    *req = HandshakeRequest{};
    const size_t limit = cfg.max_header_bytes;
    const size_t max_headers = cfg.max_headers < scratch.size() ? cfg.max_headers : scratch.size();

    // Request line: method SP request-target SP HTTP-version.
    std::string_view line;
    size_t pos = 0;
    Line l = next_line(data, len, limit, pos, &line, &pos);
    if (l != Line::ok)
        return line_error(l);
    size_t sp1 = line.find(' ');
    if (sp1 == std::string_view::npos || sp1 == 0)
        return error(400, "malformed request line");
    std::string_view method = line.substr(0, sp1);
    std::string_view rest = line.substr(sp1 + 1);
    size_t sp2 = rest.find(' ');
    if (sp2 == std::string_view::npos || sp2 == 0)
        return error(400, "malformed request line");
    std::string_view target = rest.substr(0, sp2);
    std::string_view version = rest.substr(sp2 + 1);
    for (char c : method)
        if (!is_tchar(static_cast<unsigned char>(c)))
            return error(400, "malformed request line");
    for (char c : target)
        if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7F)
            return error(400, "malformed request line");
    if (method != "GET")
        return error(405, "only GET can upgrade to WebSocket");
    if (!is_http_version(version))
        return error(400, "malformed request line");
    if (version != "HTTP/1.1") {
        if (version[5] == '1' && version[7] == '0')
            return error(400, "WebSocket needs HTTP/1.1");
        return error(505, "only HTTP/1.1 is supported");
    }
    if (target[0] != '/')
        return error(400, "request target must be a path");

    // Header lines up to the empty line.
    size_t count = 0;
    for (;;) {
        l = next_line(data, len, limit, pos, &line, &pos);
        if (l != Line::ok)
            return line_error(l);
        if (line.empty())
            break;
        if (is_ows(line[0]))
            return error(400, "obsolete line folding");
        size_t colon = line.find(':');
        if (colon == std::string_view::npos || colon == 0)
            return error(400, "malformed header line");
        std::string_view name = line.substr(0, colon);
        for (char c : name)
            if (!is_tchar(static_cast<unsigned char>(c)))
                return error(400, "malformed header name");
        std::string_view value = trim(line.substr(colon + 1));
        for (char c : value) {
            auto u = static_cast<unsigned char>(c);
            if ((u < 0x20 && c != '\t') || u == 0x7F)
                return error(400, "control character in header value");
        }
        if (count >= max_headers)
            return error(431, "too many header lines");
        scratch[count++] = Header{name, value};
    }
    const size_t consumed = pos;
    std::span<const Header> headers(scratch.data(), count);

    // Semantics, in the documented order.
    int hosts = 0, keys = 0, versions = 0, origins = 0;
    bool upgrade = false, connection = false, version_ok = true;
    std::string_view host, key, origin, extensions;
    Subprotocol proto = Subprotocol::none;
    for (const Header &h : headers) {
        if (iequals(h.name, "Host")) {
            hosts++;
            host = h.value;
        } else if (iequals(h.name, "Upgrade")) {
            upgrade = upgrade || any_token(h.value, [](std::string_view t) {
                          return iequals(t, "websocket");
                      });
        } else if (iequals(h.name, "Connection")) {
            connection = connection || any_token(h.value, [](std::string_view t) {
                             return iequals(t, "upgrade");
                         });
        } else if (iequals(h.name, "Sec-WebSocket-Version")) {
            versions++;
            version_ok = version_ok && h.value == "13";
        } else if (iequals(h.name, "Sec-WebSocket-Key")) {
            keys++;
            key = h.value;
        } else if (iequals(h.name, "Origin")) {
            origins++;
            origin = h.value;
        } else if (iequals(h.name, "Sec-WebSocket-Protocol")) {
            if (proto == Subprotocol::none)
                any_token(h.value, [&proto](std::string_view t) {
                    if (t == kJson)
                        proto = Subprotocol::json;
                    else if (t == kProtobuf)
                        proto = Subprotocol::protobuf;
                    return proto != Subprotocol::none;
                });
        } else if (iequals(h.name, "Sec-WebSocket-Extensions")) {
            if (extensions.empty())
                extensions = h.value;
        }
    }

    if (hosts != 1)
        return error(400, hosts ? "repeated Host header" : "missing Host header");
    size_t q = target.find('?');
    std::string_view path = target.substr(0, q);
    if (!cfg.path.empty() && path != cfg.path)
        return error(404, "no WebSocket endpoint at this path");
    if (!upgrade)
        return error(400, "missing Upgrade: websocket");
    if (!connection)
        return error(400, "missing Connection: Upgrade");
    if (versions == 0 || !version_ok)
        return error(426, "unsupported Sec-WebSocket-Version");
    if (keys != 1 || !valid_key(key))
        return error(400, "invalid Sec-WebSocket-Key");
    if (!cfg.allowed_origins.empty() && origins > 0) {
        bool allowed = false;
        if (origins == 1)
            for (std::string_view o : cfg.allowed_origins)
                allowed = allowed || iequals(o, origin);
        if (!allowed)
            return error(403, "origin not allowed");
    }

    req->method = method;
    req->target = target;
    req->path = path;
    req->query = q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
    req->host = host;
    req->origin = origin;
    req->key = key;
    req->extensions = extensions;
    req->subprotocol = proto;
    req->headers = headers;
    HandshakeResult r;
    r.status = HandshakeStatus::complete;
    r.consumed = consumed;
    return r;
}

bool header_iequals(std::string_view a, std::string_view b) {
    return iequals(a, b);
}

std::string_view header_trim(std::string_view s) {
    return trim(s);
}

bool header_has_token(std::string_view list, std::string_view token) {
    return any_token(list, [token](std::string_view t) { return iequals(t, token); });
}

size_t websocket_accept(std::string_view key, char out[28]) {
    // The parser only accepts 24-byte keys; anything that does not fit the stack buffer is
    // not a key we would answer, so it gets no accept value (0).
    unsigned char digest[SHA_DIGEST_LENGTH];
    char buf[64];
    if (key.size() + kGuid.size() > sizeof(buf))
        return 0;
    std::memcpy(buf, key.data(), key.size());
    std::memcpy(buf + key.size(), kGuid.data(), kGuid.size());
    SHA1(reinterpret_cast<const unsigned char *>(buf), key.size() + kGuid.size(), digest);
    return base64_encode(digest, sizeof(digest), out);
}

size_t write_upgrade_response(const HandshakeRequest &req, char *out, size_t cap) {
    char accept[28];
    if (websocket_accept(req.key, accept) != sizeof(accept))
        return 0;
    Appender a(out, cap);
    a.add("HTTP/1.1 101 Switching Protocols\r\n"
          "Upgrade: websocket\r\n"
          "Connection: Upgrade\r\n"
          "Sec-WebSocket-Accept: ");
    a.add(std::string_view(accept, sizeof(accept)));
    a.add("\r\n");
    if (req.subprotocol != Subprotocol::none) {
        a.add("Sec-WebSocket-Protocol: ");
        a.add(subprotocol_name(req.subprotocol));
        a.add("\r\n");
    }
    a.add("\r\n");
    return a.result();
}

size_t write_error_response(int http_status, std::string_view reason, char *out, size_t cap) {
    if (http_status < 100 || http_status > 999)
        http_status = 500;
    Appender a(out, cap);
    a.add("HTTP/1.1 ");
    a.add_number(static_cast<size_t>(http_status));
    a.add(" ");
    a.add(status_text(http_status));
    a.add("\r\nContent-Type: text/plain\r\nContent-Length: ");
    a.add_number(reason.size() + 1);
    a.add("\r\nConnection: close\r\n");
    if (http_status == 405)
        a.add("Allow: GET\r\n");
    if (http_status == 426)
        a.add("Sec-WebSocket-Version: 13\r\n");
    a.add("\r\n");
    a.add(reason);
    a.add("\n");
    return a.result();
}

} // namespace glide::frame
