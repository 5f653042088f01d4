// Upgrade-request cases as data: name, request bytes, configuration, and the answer the server
// must give (101 with a given subprotocol, or an HTTP error status). Used by
// tests/frame/test_ws_handshake.cc (fed whole and at every split point) and reusable over a
// real socket.
#pragma once

#include <cctype>
#include <string>
#include <vector>

#include "frame/ws_handshake.h"

namespace glide::frame::cases {

struct HandshakeCase {
    std::string name;
    std::string request;
    HandshakeStatus status; // complete, error, or need_more (the request never completes)
    int http_status = 0;    // for errors
    Subprotocol subprotocol = Subprotocol::none;
    std::vector<std::string> allowed_origins; // empty: any
    size_t max_header_bytes = kDefaultMaxHeaderBytes;
    size_t max_headers = kDefaultMaxHeaders;
    std::string trailing; // bytes after the head (must not be consumed)
};

inline const char *kSampleKey = "dGhlIHNhbXBsZSBub25jZQ==";        // RFC 6455 §1.3
inline const char *kSampleAccept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="; // its answer

using Lines = std::vector<std::string>;

inline Lines base_headers() {
    return {"Host: example.com", "Upgrade: websocket", "Connection: Upgrade",
            std::string("Sec-WebSocket-Key: ") + kSampleKey, "Sec-WebSocket-Version: 13"};
}

inline std::string request(const std::string &line, const Lines &headers,
                           const std::string &eol = "\r\n") {
    std::string r = line + eol;
    for (const std::string &h : headers)
        r += h + eol;
    return r + eol;
}

// base_headers() with the header whose name starts `prefix` (case-sensitively) replaced by
// `line`, or removed when `line` is empty.
inline Lines replace(const std::string &prefix, const std::string &line) {
    Lines out;
    for (const std::string &h : base_headers()) {
        if (h.compare(0, prefix.size(), prefix) == 0) {
            if (!line.empty())
                out.push_back(line);
        } else {
            out.push_back(h);
        }
    }
    return out;
}

inline Lines plus(Lines l, const std::vector<std::string> &extra) {
    l.insert(l.end(), extra.begin(), extra.end());
    return l;
}

inline std::vector<HandshakeCase> handshake_cases() {
    std::vector<HandshakeCase> c;
    const std::string get = "GET /ws HTTP/1.1";
    auto ok = [&c](std::string name, std::string req, Subprotocol p = Subprotocol::none) {
        HandshakeCase k{std::move(name), std::move(req), HandshakeStatus::complete};
        k.subprotocol = p;
        c.push_back(std::move(k));
    };
    auto bad = [&c](std::string name, std::string req, int status) {
        c.push_back({std::move(name), std::move(req), HandshakeStatus::error, status});
    };

    // Accepted requests.
    ok("h1.1 the RFC 6455 sample request", request(get, base_headers()));
    {
        Lines l;
        for (std::string h : base_headers()) {
            for (size_t i = 0; i < h.find(':'); i++)
                h[i] = static_cast<char>(std::tolower(static_cast<unsigned char>(h[i])));
            l.push_back(h);
        }
        ok("h1.2 lower-case header names", request(get, l));
        for (std::string &h : l)
            for (size_t i = 0; i < h.find(':'); i++)
                h[i] = static_cast<char>(std::toupper(static_cast<unsigned char>(h[i])));
        ok("h1.3 upper-case header names", request(get, l));
    }
    ok("h1.4 Connection: keep-alive, Upgrade",
       request(get, replace("Connection", "Connection: keep-alive, Upgrade")));
    ok("h1.5 Upgrade: WebSocket in mixed case",
       request(get, replace("Upgrade", "Upgrade: WebSocket")));
    ok("h1.6 spaces and tabs around values",
       request(get, replace("Sec-WebSocket-Key",
                            std::string("Sec-WebSocket-Key: \t ") + kSampleKey + " \t")));
    ok("h1.7 query string ignored", request("GET /ws?token=abc&x=1 HTTP/1.1", base_headers()));
    ok("h1.8 Origin with no allow-list",
       request(get, plus(base_headers(), {"Origin: https://evil.example"})));
    {
        HandshakeCase k{"h1.9 Origin in the allow-list, other case",
                        request(get, plus(base_headers(), {"Origin: HTTPS://Chat.Example.com"})),
                        HandshakeStatus::complete};
        k.allowed_origins = {"https://a.example", "https://chat.example.com"};
        c.push_back(k);
        HandshakeCase k2{"h1.10 no Origin with an allow-list (not a browser)",
                         request(get, base_headers()), HandshakeStatus::complete};
        k2.allowed_origins = {"https://chat.example.com"};
        c.push_back(k2);
    }
    ok("h1.11 permessage-deflate offer ignored",
       request(get, plus(base_headers(), {"Sec-WebSocket-Extensions: permessage-deflate; "
                                          "client_max_window_bits"})));
    ok("h1.12 subprotocol glide.json",
       request(get, plus(base_headers(), {"Sec-WebSocket-Protocol: glide.json"})),
       Subprotocol::json);
    ok("h1.13 subprotocol glide.protobuf",
       request(get, plus(base_headers(), {"Sec-WebSocket-Protocol: glide.protobuf"})),
       Subprotocol::protobuf);
    ok("h1.14 first supported in the client's order",
       request(get,
               plus(base_headers(), {"Sec-WebSocket-Protocol: chat, glide.protobuf, glide.json"})),
       Subprotocol::protobuf);
    ok("h1.15 subprotocols over two header lines",
       request(get, plus(base_headers(),
                         {"Sec-WebSocket-Protocol: chat", "Sec-WebSocket-Protocol: glide.json"})),
       Subprotocol::json);
    ok("h1.16 only unknown subprotocols: none selected",
       request(get, plus(base_headers(), {"Sec-WebSocket-Protocol: chat, superchat"})));
    ok("h1.17 subprotocol names are case-sensitive",
       request(get, plus(base_headers(), {"Sec-WebSocket-Protocol: GLIDE.JSON"})));
    ok("h1.18 empty list elements",
       request(get, plus(base_headers(), {"Sec-WebSocket-Protocol: , ,glide.json"})),
       Subprotocol::json);
    {
        HandshakeCase k{"h1.19 frame bytes after the head are left alone",
                        request(get, base_headers()), HandshakeStatus::complete};
        k.trailing = std::string("\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58", 11);
        c.push_back(k);
    }
    {
        Lines l = base_headers();
        while (l.size() < kDefaultMaxHeaders)
            l.push_back("X-Filler-" + std::to_string(l.size()) + ": v");
        ok("h1.20 exactly the header count limit", request(get, l));
        l.push_back("X-One-Too-Many: v");
        bad("h3.2 one header over the count limit", request(get, l), 431);
    }
    {
        std::string r = request(get, base_headers());
        HandshakeCase k{"h1.21 head of exactly max_header_bytes", r, HandshakeStatus::complete};
        k.max_header_bytes = r.size();
        c.push_back(k);
        HandshakeCase k2{"h3.3 head one byte over max_header_bytes", r, HandshakeStatus::error,
                         431};
        k2.max_header_bytes = r.size() - 1;
        c.push_back(k2);
    }
    ok("h1.22 UTF-8 (obs-text) in a header value",
       request(get, plus(base_headers(), {"User-Agent: caf\xc3\xa9/1.0"})));
    ok("h1.23 Connection over two header lines",
       request(get,
               plus(replace("Connection", "Connection: keep-alive"), {"Connection: Upgrade"})));
    ok("h1.24 empty header value", request(get, plus(base_headers(), {"X-Empty:"})));
    ok("h1.25 no space after the colon", request(get, replace("Host", "Host:example.com:8080")));
    ok("h1.26 Upgrade with several protocols",
       request(get, replace("Upgrade", "Upgrade: h2c, websocket")));
    ok("h1.27 key with '+' and '/'",
       request(get, replace("Sec-WebSocket-Key", "Sec-WebSocket-Key: ab+/cdEFghIJklMNopQRst==")));
    ok("h1.28 browser-like request",
       request(get,
               plus(base_headers(),
                    {"User-Agent: Mozilla/5.0", "Origin: http://localhost:3000", "Pragma: no-cache",
                     "Cache-Control: no-cache", "Accept-Encoding: gzip, deflate, br",
                     "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits",
                     "Cookie: a=b; c=d"})));

    // Request line and method.
    bad("h2.1 POST", request("POST /ws HTTP/1.1", base_headers()), 405);
    bad("h2.2 HEAD", request("HEAD /ws HTTP/1.1", base_headers()), 405);
    bad("h2.3 lower-case get is another method", request("get /ws HTTP/1.1", base_headers()), 405);
    bad("h2.4 OPTIONS", request("OPTIONS * HTTP/1.1", base_headers()), 405);
    bad("h2.5 HTTP/1.0", request("GET /ws HTTP/1.0", base_headers()), 400);
    bad("h2.6 HTTP/2.0", request("GET /ws HTTP/2.0", base_headers()), 505);
    bad("h2.7 malformed version", request("GET /ws HTTP/1.1x", base_headers()), 400);
    bad("h2.8 version without slash", request("GET /ws HTTP1.1", base_headers()), 400);
    bad("h2.9 two spaces", request("GET  /ws HTTP/1.1", base_headers()), 400);
    bad("h2.10 no version", request("GET /ws", base_headers()), 400);
    bad("h2.11 absolute-form target", request("GET http://example.com/ws HTTP/1.1", base_headers()),
        400);
    bad("h2.12 empty request line", request("", base_headers()), 400);
    bad("h2.13 method with a non-token byte", request("G(T /ws HTTP/1.1", base_headers()), 400);
    bad("h2.14 control byte in the target", request("GET /w\x01s HTTP/1.1", base_headers()), 400);
    bad("h2.15 method checked before Host", request("PUT /ws HTTP/1.1", replace("Host", "")), 405);

    // Sizes.
    bad("h3.1 one 9000-byte header",
        request(get, plus(base_headers(), {"X-Big: " + std::string(9000, 'b')})), 431);
    {
        HandshakeCase k{"h3.4 no end of head within the limit",
                        "GET /ws HTTP/1.1\r\nX: " + std::string(200, 'a'), HandshakeStatus::error,
                        431};
        k.max_header_bytes = 100;
        c.push_back(k);
        HandshakeCase k2{"h3.5 custom header count limit", request(get, base_headers()),
                         HandshakeStatus::error, 431};
        k2.max_headers = 4;
        c.push_back(k2);
        HandshakeCase k3{"h3.6 request line longer than the limit",
                         request("GET /" + std::string(300, 'p') + " HTTP/1.1", base_headers()),
                         HandshakeStatus::error, 431};
        k3.max_header_bytes = 256;
        c.push_back(k3);
    }

    // Header syntax.
    bad("h4.1 obsolete line folding",
        request(get, plus(base_headers(), {"X-Folded: part one", " part two"})), 400);
    bad("h4.2 folding with a tab",
        request(get, plus(base_headers(), {"X-Folded: part one", "\tpart two"})), 400);
    bad("h4.3 space before the colon", request(get, replace("Host", "Host : example.com")), 400);
    bad("h4.4 header line without a colon", request(get, plus(base_headers(), {"NoColonHere"})),
        400);
    bad("h4.5 empty header name", request(get, plus(base_headers(), {": value"})), 400);
    bad("h4.6 bare LF line endings", request(get, base_headers(), "\n"), 400);
    bad("h4.7 bare CR inside a line", request(get, plus(base_headers(), {"X-Cr: a\rb"})), 400);
    bad("h4.8 NUL in a header value",
        request(get, plus(base_headers(), {std::string("X-Nul: a\0b", 10)})), 400);
    bad("h4.9 control byte in a header value",
        request(get, plus(base_headers(), {"X-Ctl: a\x01"
                                           "b"})),
        400);
    bad("h4.10 tab inside a header name", request(get, plus(base_headers(), {"X\tY: z"})), 400);
    bad("h4.11 DEL in a header value", request(get, plus(base_headers(), {"X-Del: a\x7f"})), 400);
    bad("h4.12 bare LF ending the head only",
        request(get, base_headers()).substr(0, request(get, base_headers()).size() - 2) + "\n",
        400);

    // Host and path.
    bad("h5.1 no Host", request(get, replace("Host", "")), 400);
    bad("h5.2 two Host headers", request(get, plus(base_headers(), {"Host: other.example"})), 400);
    bad("h5.3 other path", request("GET /other HTTP/1.1", base_headers()), 404);
    bad("h5.4 path with a trailing slash", request("GET /ws/ HTTP/1.1", base_headers()), 404);
    bad("h5.5 path in another case", request("GET /WS HTTP/1.1", base_headers()), 404);
    bad("h5.6 path prefix", request("GET /wss HTTP/1.1", base_headers()), 404);
    bad("h5.7 root path", request("GET / HTTP/1.1", base_headers()), 404);
    bad("h5.8 Host checked before the path", request("GET /nowhere HTTP/1.1", replace("Host", "")),
        400);
    bad("h5.9 path checked before Upgrade",
        request("GET /nowhere HTTP/1.1", replace("Upgrade", "")), 404);

    // Upgrade and Connection.
    bad("h6.1 no Upgrade", request(get, replace("Upgrade", "")), 400);
    bad("h6.2 Upgrade: h2c", request(get, replace("Upgrade", "Upgrade: h2c")), 400);
    bad("h6.3 Upgrade: websocketx", request(get, replace("Upgrade", "Upgrade: websocketx")), 400);
    bad("h6.4 no Connection", request(get, replace("Connection", "")), 400);
    bad("h6.5 Connection: keep-alive",
        request(get, replace("Connection", "Connection: keep-alive")), 400);
    bad("h6.6 Connection: upgraded", request(get, replace("Connection", "Connection: upgraded")),
        400);
    bad("h6.7 Upgrade token in Connection only",
        request(get, replace("Upgrade", "X-Upgrade: websocket")), 400);

    // Version.
    bad("h7.1 no Sec-WebSocket-Version", request(get, replace("Sec-WebSocket-Version", "")), 426);
    bad("h7.2 version 8",
        request(get, replace("Sec-WebSocket-Version", "Sec-WebSocket-Version: 8")), 426);
    bad("h7.3 version list 13, 8",
        request(get, replace("Sec-WebSocket-Version", "Sec-WebSocket-Version: 13, 8")), 426);
    bad("h7.4 versions 13 and 8 on two lines",
        request(get, plus(base_headers(), {"Sec-WebSocket-Version: 8"})), 426);
    bad("h7.5 version 013",
        request(get, replace("Sec-WebSocket-Version", "Sec-WebSocket-Version: 013")), 426);

    // Key.
    bad("h8.1 no key", request(get, replace("Sec-WebSocket-Key", "")), 400);
    bad("h8.2 key too short",
        request(get, replace("Sec-WebSocket-Key", "Sec-WebSocket-Key: dGhlIHNhbXBsZQ==")), 400);
    bad("h8.3 key of 25 characters",
        request(get, replace("Sec-WebSocket-Key", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==A")),
        400);
    bad("h8.4 key with a non-base64 character",
        request(get, replace("Sec-WebSocket-Key", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25*ZQ==")),
        400);
    bad("h8.5 key of 18 bytes (no padding)",
        request(get, replace("Sec-WebSocket-Key", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQAA")),
        400);
    bad("h8.6 key of 17 bytes (one '=')",
        request(get, replace("Sec-WebSocket-Key", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQA=")),
        400);
    bad("h8.7 two keys",
        request(get, plus(base_headers(), {"Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA=="})), 400);
    bad("h8.8 empty key", request(get, replace("Sec-WebSocket-Key", "Sec-WebSocket-Key:")), 400);
    bad("h8.9 key checked before Origin",
        request(get, plus(replace("Sec-WebSocket-Key", ""), {"Origin: https://evil.example"})),
        400);

    // Origin.
    {
        HandshakeCase k{"h9.1 Origin not in the allow-list",
                        request(get, plus(base_headers(), {"Origin: https://evil.example"})),
                        HandshakeStatus::error, 403};
        k.allowed_origins = {"https://chat.example.com"};
        c.push_back(k);
        HandshakeCase k2{"h9.2 two Origin headers with an allow-list",
                         request(get, plus(base_headers(), {"Origin: https://chat.example.com",
                                                            "Origin: https://chat.example.com"})),
                         HandshakeStatus::error, 403};
        k2.allowed_origins = {"https://chat.example.com"};
        c.push_back(k2);
        HandshakeCase k3{"h9.3 Origin prefix of an allowed one",
                         request(get, plus(base_headers(), {"Origin: https://chat.example"})),
                         HandshakeStatus::error, 403};
        k3.allowed_origins = {"https://chat.example.com"};
        c.push_back(k3);
        HandshakeCase k4{"h9.4 Origin null", request(get, plus(base_headers(), {"Origin: null"})),
                         HandshakeStatus::error, 403};
        k4.allowed_origins = {"https://chat.example.com"};
        c.push_back(k4);
    }

    // Incomplete requests.
    {
        std::string r = request(get, base_headers());
        c.push_back({"h10.1 head without its empty line", r.substr(0, r.size() - 2),
                     HandshakeStatus::need_more});
        c.push_back(
            {"h10.2 head ending in CR", r.substr(0, r.size() - 1), HandshakeStatus::need_more});
        c.push_back({"h10.3 nothing yet", "", HandshakeStatus::need_more});
        c.push_back(
            {"h10.4 request line only", "GET /ws HTTP/1.1\r\n", HandshakeStatus::need_more});
    }
    return c;
}

} // namespace glide::frame::cases
