// The WebSocket opening handshake, server side (RFC 6455 §4.2): a parser for the client's
// HTTP/1.1 upgrade request and writers for the 101 answer and for error answers.
//
// The parser is picohttpparser-shaped: it never allocates, every string it returns points into
// the caller's input, and it is stateless, so the caller simply calls it again over the whole
// buffered request when more bytes arrive:
//
//     Header scratch[kDefaultMaxHeaders];
//     HandshakeRequest req;
//     HandshakeResult r = parse_handshake(buf, len, cfg, &req, scratch);
//     if (r.status == HandshakeStatus::need_more) return;                 // wait for bytes
//     char out[kMaxUpgradeResponse];
//     size_t n = r.status == HandshakeStatus::complete
//                    ? write_upgrade_response(req, out, sizeof out)
//                    : write_error_response(r, out, sizeof out);          // then close
//     // on success, r.consumed bytes are the request head; what follows is WebSocket frames
//
// Rules, checked in this order (the first failing one answers):
//   request line   "GET SP origin-form SP HTTP/1.1"; any other method: 405 with Allow: GET;
//                  HTTP/1.0: 400 (the upgrade needs HTTP/1.1, RFC 6455 §4.1); another
//                  well-formed HTTP-version: 505; malformed line or target not starting with
//                  '/': 400.
//   header lines   "name: value" CRLF; bare LF, a name with spaces or other non-token bytes
//                  (including space before ':'), obsolete line folding, control bytes in a
//                  value: 400. More than max_headers header lines, or a request head (request
//                  line to the empty line included) longer than max_header_bytes: 431.
//   Host           exactly one: else 400.
//   path           the target's path (query ignored) equals HandshakeConfig::path, byte for
//                  byte: else 404. An empty HandshakeConfig::path accepts any path.
//   Upgrade        a comma-separated token list containing "websocket" (any case): else 400.
//   Connection     a token list containing "upgrade" (any case): else 400.
//   Version        Sec-WebSocket-Version exactly "13": else 426 with Sec-WebSocket-Version: 13.
//   Key            exactly one Sec-WebSocket-Key of 24 base64 characters that decodes to 16
//                  bytes ("=="-padded; the unused low bits of the last symbol are not checked):
//                  else 400.
//   Origin         when allowed_origins is non-empty and the request carries Origin, it must
//                  equal (ASCII case-insensitively) one of them: else 403. A request without
//                  Origin is not a browser's and is accepted: Origin protects browsers only.
// Header names are case-insensitive; each header's value is trimmed of spaces and tabs.
//
// Subprotocols: the tokens of every Sec-WebSocket-Protocol header are read in order and the
// first one that is "glide.json" or "glide.protobuf" (exact case, as RFC 6455 §4.1 makes the
// values case-sensitive) is selected and echoed. When the client offers none, or only unknown
// ones, the answer carries no Sec-WebSocket-Protocol; a browser that insisted on one then fails
// the connection itself, which is what the RFC intends. The codec is then JSON.
// Sec-WebSocket-Extensions is ignored: by not answering it we decline permessage-deflate.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace glide::frame {

inline constexpr size_t kDefaultMaxHeaderBytes = 8 * 1024;
inline constexpr size_t kDefaultMaxHeaders = 64;
// Room for any answer the writers below produce.
inline constexpr size_t kMaxUpgradeResponse = 512;

struct HandshakeConfig {
    // glide_ws_path (its directive record holds the default); empty: any path (a connection
    // a host handed over after routing the request itself).
    std::string_view path;
    std::span<const std::string_view> allowed_origins; // glide_allowed_origins; empty: any
    size_t max_header_bytes = kDefaultMaxHeaderBytes;
    size_t max_headers = kDefaultMaxHeaders; // also bounded by the scratch array's size
};

enum class Subprotocol : uint8_t { none, json, protobuf };

// "glide.json", "glide.protobuf", or "" for none.
std::string_view subprotocol_name(Subprotocol p);

struct Header {
    std::string_view name;
    std::string_view value; // trimmed
};

// Everything points into the parsed input (borrowed).
struct HandshakeRequest {
    std::string_view method;
    std::string_view target; // as sent, query included
    std::string_view path;   // target without the query
    std::string_view query;  // after '?', possibly empty
    std::string_view host;
    std::string_view origin;     // empty when absent
    std::string_view key;        // Sec-WebSocket-Key
    std::string_view extensions; // Sec-WebSocket-Extensions as sent (first one), unused
    Subprotocol subprotocol = Subprotocol::none;
    std::span<const Header> headers; // every header line, in order (in the scratch array)
};

enum class HandshakeStatus : uint8_t { complete, need_more, error };

struct HandshakeResult {
    HandshakeStatus status = HandshakeStatus::need_more;
    size_t consumed = 0;     // complete: length of the request head, empty line included
    int http_status = 0;     // error: 400, 403, 404, 405, 426, 431 or 505
    std::string_view reason; // error: a short static sentence, used as the answer's body
};

// Parses the request head at data[0..len). `scratch` receives the header lines; its size and
// cfg.max_headers, whichever is smaller, bound their number.
HandshakeResult parse_handshake(const char *data, size_t len, const HandshakeConfig &cfg,
                                HandshakeRequest *req, std::span<Header> scratch);

// Sec-WebSocket-Accept for `key`: base64(SHA-1(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")),
// always 28 characters, written to out[0..28). Returns 28, or 0 for a key longer than 28 bytes.
size_t websocket_accept(std::string_view key, char out[28]);

// HTTP header helpers the client side (src/client/handshake.cc) shares with the parser:
// ASCII case-insensitive equality, trimming of spaces and tabs, and whether a comma-separated
// token list contains `token` (any case).
bool header_iequals(std::string_view a, std::string_view b);
std::string_view header_trim(std::string_view s);
bool header_has_token(std::string_view list, std::string_view token);

// Writes the "101 Switching Protocols" answer for a request that parse_handshake() completed.
// Returns its length, or 0 when `cap` is too small (kMaxUpgradeResponse always suffices).
size_t write_upgrade_response(const HandshakeRequest &req, char *out, size_t cap);

// Writes the error answer: status line, Content-Type: text/plain, Content-Length,
// Connection: close, Allow: GET for 405, Sec-WebSocket-Version: 13 for 426, and the reason as
// the body. Returns its length, or 0 when `cap` is too small. The caller closes the connection
// once it is sent.
size_t write_error_response(int http_status, std::string_view reason, char *out, size_t cap);
inline size_t write_error_response(const HandshakeResult &r, char *out, size_t cap) {
    return write_error_response(r.http_status, r.reason, out, cap);
}

} // namespace glide::frame
