#include "client/handshake.h"

#include <openssl/rand.h>

#include <cstring>

#include "codec/credential.h" // base64_raw_encode

namespace glide::client {

namespace {

using frame::header_has_token;
using frame::header_iequals;
using frame::header_trim;

constexpr size_t kMaxAnswerHead = 8 * 1024;

} // namespace

std::string make_websocket_key() {
    unsigned char raw[16];
    if (RAND_bytes(raw, sizeof raw) != 1) {
        for (unsigned char &c : raw)
            c = static_cast<unsigned char>(std::rand());
    }
    return codec::base64_raw_encode({reinterpret_cast<const char *>(raw), sizeof raw}) + "==";
}

std::string upgrade_request(const Endpoint &ep, std::string_view key, frame::Subprotocol sub) {
    std::string r;
    r.reserve(256);
    r += "GET ";
    r += ep.path;
    r += " HTTP/1.1\r\nHost: ";
    r += host_header(ep);
    r += "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ";
    r += key;
    r += "\r\nSec-WebSocket-Version: 13\r\n";
    if (sub != frame::Subprotocol::none) {
        r += "Sec-WebSocket-Protocol: ";
        r += frame::subprotocol_name(sub);
        r += "\r\n";
    }
    r += "\r\n";
    return r;
}

UpgradeAnswer parse_upgrade_answer(std::string_view data, std::string_view key,
                                   frame::Subprotocol offered) {
    UpgradeAnswer a;
    size_t end = data.find("\r\n\r\n");
    if (end == std::string_view::npos) {
        if (data.size() > kMaxAnswerHead) {
            a.status = AnswerStatus::error;
            a.error = "upgrade answer head longer than 8 KiB";
        }
        return a;
    }
    a.consumed = end + 4;
    std::string_view head = data.substr(0, end);
    size_t eol = head.find("\r\n");
    std::string_view status_line = head.substr(0, eol);
    head = eol == std::string_view::npos ? std::string_view() : head.substr(eol + 2);
    a.status = AnswerStatus::error;
    if (!status_line.starts_with("HTTP/1.1 ") || status_line.size() < 12) {
        a.error = "not an HTTP/1.1 answer: \"" + std::string(status_line.substr(0, 80)) + "\"";
        return a;
    }
    a.http_status = (status_line[9] - '0') * 100 + (status_line[10] - '0') * 10 +
                    (status_line[11] - '0');
    if (a.http_status != 101) {
        // The body of an error answer is glide's reason sentence; show a line of it.
        std::string_view body = data.substr(a.consumed);
        size_t nl = body.find('\n');
        body = header_trim(body.substr(0, nl == std::string_view::npos ? 120 : nl));
        a.error = "upgrade refused: " + std::string(status_line.substr(9));
        if (!body.empty())
            a.error += " (" + std::string(body.substr(0, 120)) + ")";
        return a;
    }
    bool upgrade = false, connection = false, accept_ok = false;
    std::string_view protocol;
    char want[28];
    frame::websocket_accept(key, want);
    while (!head.empty()) {
        eol = head.find("\r\n");
        std::string_view line = head.substr(0, eol);
        head = eol == std::string_view::npos ? std::string_view() : head.substr(eol + 2);
        size_t colon = line.find(':');
        if (colon == std::string_view::npos)
            continue;
        std::string_view name = line.substr(0, colon), value = header_trim(line.substr(colon + 1));
        if (header_iequals(name, "upgrade"))
            upgrade = header_has_token(value, "websocket");
        else if (header_iequals(name, "connection"))
            connection = header_has_token(value, "upgrade");
        else if (header_iequals(name, "sec-websocket-accept"))
            accept_ok = value == std::string_view(want, sizeof want);
        else if (header_iequals(name, "sec-websocket-protocol"))
            protocol = value;
    }
    if (!upgrade || !connection) {
        a.error = "101 answer without Upgrade: websocket and Connection: upgrade";
        return a;
    }
    if (!accept_ok) {
        a.error = "wrong Sec-WebSocket-Accept in the 101 answer";
        return a;
    }
    if (!protocol.empty()) {
        if (offered == frame::Subprotocol::none || protocol != frame::subprotocol_name(offered)) {
            a.error = "the server selected subprotocol \"" + std::string(protocol) +
                      "\" that was not offered";
            return a;
        }
        a.subprotocol = offered;
    }
    a.status = AnswerStatus::ok;
    return a;
}

} // namespace glide::client
