#include "client/protocol.h"

#include <ctime>

namespace glide::client {

uint64_t now_ns() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

int64_t wall_ms() {
    timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

codec::Envelope authenticate_message(int64_t seq, std::string_view credential) {
    codec::EncryptedCredential c;
    c.version = 1;
    c.credential = std::string(credential);
    return codec::make_message(seq, codec::action::authenticate, std::move(c));
}

codec::Envelope heartbeat_message() {
    codec::Envelope e;
    e.action = codec::action::heartbeat;
    return e;
}

namespace {

codec::Envelope message(std::string_view act, int64_t seq, std::string_view from,
                        std::string_view to, std::string_view cli_mid, std::string_view content,
                        int64_t send_at, std::string_view ticket) {
    codec::ChatMessage m;
    m.cli_mid = std::string(cli_mid);
    m.seq = seq;
    m.from = std::string(from);
    m.to = std::string(to);
    m.type = 1;
    m.content = std::string(content);
    m.send_at = send_at;
    codec::Envelope e = codec::make_message(seq, act, std::move(m));
    e.to = std::string(to);
    e.ticket = std::string(ticket);
    return e;
}

} // namespace

codec::Envelope chat_message(int64_t seq, std::string_view from, std::string_view to,
                             std::string_view cli_mid, std::string_view content, int64_t send_at,
                             std::string_view ticket) {
    return message(codec::action::chat, seq, from, to, cli_mid, content, send_at, ticket);
}

codec::Envelope group_message(int64_t seq, std::string_view from, std::string_view gid,
                              std::string_view cli_mid, std::string_view content, int64_t send_at,
                              std::string_view ticket) {
    return message(codec::action::group, seq, from, gid, cli_mid, content, send_at, ticket);
}

codec::Envelope ack_request_message(int64_t mid, std::string_view receiver,
                                    std::string_view sender) {
    codec::AckRequest a;
    a.mid = mid;
    a.from = std::string(receiver);
    a.to = std::string(sender);
    codec::Envelope e = codec::make_message(0, codec::action::ack_request, std::move(a));
    e.to = std::string(sender);
    return e;
}

} // namespace glide::client
