// The WebSocket opening handshake, client side (RFC 6455 §4.1): the upgrade request and a
// check of the server's answer. The server side lives in frame/ws_handshake.h and provides
// websocket_accept(), which both sides compute.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "client/endpoint.h"
#include "frame/ws_handshake.h"

namespace glide::client {

// A fresh Sec-WebSocket-Key: 16 random bytes in padded base64 (24 characters).
std::string make_websocket_key();

// The GET request head for `ep`, offering `sub` (none: no Sec-WebSocket-Protocol header).
std::string upgrade_request(const Endpoint &ep, std::string_view key, frame::Subprotocol sub);

enum class AnswerStatus : uint8_t { need_more, ok, error };

struct UpgradeAnswer {
    AnswerStatus status = AnswerStatus::need_more;
    size_t consumed = 0;     // ok: the answer head, empty line included
    int http_status = 0;     // the status code read, when there was one
    std::string error;       // error: why the upgrade failed (status line and body excerpt)
    frame::Subprotocol subprotocol = frame::Subprotocol::none; // what the server selected
};

// Checks the server's answer in data[0..len): "HTTP/1.1 101", Upgrade: websocket,
// Connection: upgrade, the right Sec-WebSocket-Accept for `key`, and a subprotocol that was
// offered (or none). Heads longer than 8 KiB are an error.
UpgradeAnswer parse_upgrade_answer(std::string_view data, std::string_view key,
                                   frame::Subprotocol offered);

} // namespace glide::client
