// The glide envelope and its payloads, shared by the JSON and the protobuf codec.
//
// Inbound, `data` stays the raw encoded bytes of whichever codec produced the envelope and is
// decoded only by the handler that needs it (decode_payload in payload.h). Outbound, `data` holds
// a typed payload that each codec encodes in its own way. Field names follow glide v1.6
// (protocol.md §2, §4); each message's JSON keys and protobuf numbers are in its table in
// schema.h, the one place that says them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace glide::codec {

// The wire codec of a connection, and of the raw bytes in RawData.
enum class Codec : uint8_t { json, protobuf };

// Action names (protocol.md §3).
namespace action {
inline constexpr std::string_view hello = "hello";
inline constexpr std::string_view heartbeat = "heartbeat";
inline constexpr std::string_view notify_unknown_action = "notify.unknown.action";
inline constexpr std::string_view chat = "message.chat";
inline constexpr std::string_view chat_resend = "message.chat.resend";
inline constexpr std::string_view group = "message.group";
inline constexpr std::string_view group_notify = "message.group.notify";
inline constexpr std::string_view client_custom = "message.cli";
inline constexpr std::string_view authenticate = "authenticate";
inline constexpr std::string_view notify_error = "notify.error";
inline constexpr std::string_view notify_success = "notify.success";
inline constexpr std::string_view notify_kickout = "notify.kickout";
inline constexpr std::string_view notify_forbidden = "notify.forbidden";
inline constexpr std::string_view notify_unauthenticated = "notify.unauthenticated";
inline constexpr std::string_view notify_state = "notify.state";
inline constexpr std::string_view ack_request = "ack.request";
inline constexpr std::string_view ack_group_msg = "ack.group.msg";
inline constexpr std::string_view ack_message = "ack.message";
inline constexpr std::string_view ack_notify = "ack.notify";
inline constexpr std::string_view ack_offline = "ack.offline";
inline constexpr std::string_view api_group_members = "api.group.members";
inline constexpr std::string_view api_state_sub = "api.state.sub";
inline constexpr std::string_view internal_online = "internal.online";
inline constexpr std::string_view internal_offline = "internal.offline";

inline bool is_internal(std::string_view a) {
    return a.starts_with("internal.");
}
} // namespace action

// message.chat / message.group / message.chat.resend. JSON: every field omitempty.
struct ChatMessage {
    std::string cli_mid;
    int64_t mid = 0;
    int64_t seq = 0;
    std::string from;
    std::string to;
    int32_t type = 0;
    std::string content;
    int64_t send_at = 0;
    bool operator==(const ChatMessage &) const = default;
};

// Resets m to a default ChatMessage but keeps its strings' buffers (for decoding into again).
inline void clear_keeping_buffers(ChatMessage &m) {
    ChatMessage c;
    for (auto f :
         {&ChatMessage::cli_mid, &ChatMessage::from, &ChatMessage::to, &ChatMessage::content}) {
        c.*f = std::move(m.*f);
        (c.*f).clear();
    }
    m = std::move(c);
}

// ack.message, server → sender. v1.6 shape {cliMid, mid, seq}; `from` is glide HEAD's addition,
// accepted on input (with "cli_mid") and emitted only when a handler sets it.
struct AckMessage {
    std::string cli_mid;
    int64_t mid = 0;
    std::string from;    // glide HEAD's addition
    int64_t seq = 0;
    bool operator==(const AckMessage &) const = default;
};

// ack.request, receiver → server. v1.6 {seq, mid, from}; HEAD adds cli_mid and to (routing).
struct AckRequest {
    std::string cli_mid;
    int64_t seq = 0;
    int64_t mid = 0;
    std::string from;
    std::string to;
    bool operator==(const AckRequest &) const = default;
};

// ack.notify, server → original sender. v1.6 {mid}; carries the ack.request's other fields as
// received (design.md §5.7), in the same key order as AckRequest.
struct AckNotify {
    std::string cli_mid;
    int64_t seq = 0;
    int64_t mid = 0;
    std::string from;
    std::string to;
    bool operator==(const AckNotify &) const = default;
};

// ack.group.msg, client → server (ignored by glide).
struct AckGroupMessage {
    std::string cli_mid;
    int64_t gid = 0;
    int64_t mid = 0;
    int64_t seq = 0;
    bool operator==(const AckGroupMessage &) const = default;
};

// message.cli: {type string, content any}. `content_json` is the content's JSON text
// (compact); empty means absent (omitempty on a nil interface).
struct ClientCustom {
    std::string type;
    std::string content_json;
    bool operator==(const ClientCustom &) const = default;
};

// notify.kickout.
struct KickOutNotify {
    std::string device_id;
    std::string device_name;
    bool operator==(const KickOutNotify &) const = default;
};

// hello, client → server.
struct Hello {
    std::string client_version;
    std::string client_name;
    std::string client_type;
    bool operator==(const Hello &) const = default;
};

// hello, server → client (first frame).
struct ServerHello {
    std::string server_version;
    std::string temp_id;
    int64_t heartbeat_interval = 0;     // seconds
    std::vector<std::string> protocols;
    bool operator==(const ServerHello &) const = default;
};

// authenticate data. No omitempty.
struct EncryptedCredential {
    int64_t version = 0;
    std::string credential;
    bool operator==(const EncryptedCredential &) const = default;
};

// message.group.notify data (glide's subscription.NotifyMessage). No omitempty. `body_json` is
// the body's JSON text; empty encodes as null. Types: 1 offline, 2 online, 3 join, 4 leave,
// 5 online-members list.
struct GroupNotify {
    std::string from;
    int64_t type = 0;
    std::string body_json;
    bool operator==(const GroupNotify &) const = default;
};

// notify.state data (glide's messaging.UserStateData). `online` is true when the user is online
// (design.md §5.11 fixes glide's inverted flag; the key and omitempty are glide's).
struct UserState {
    std::string uid;
    bool online = false;
    bool operator==(const UserState &) const = default;
};

// api.state.sub data (glide's messaging.StateSubscribeData).
struct StateSubscribe {
    std::vector<std::string> uids;
    bool operator==(const StateSubscribe &) const = default;
};

// A JSON string payload: notify.error, notify.forbidden, notify.unknown.action,
// internal.online/offline.
struct Text {
    std::string text;
    bool operator==(const Text &) const = default;
};

// `data` present but JSON null. Server messages without payload (heartbeat, notify.success)
// carry it, which encodes as "data":null.
struct Null {
    bool operator==(const Null &) const = default;
};

// Whether JSON text is known to be valid already, so a decoder may skip its validation pass.
enum class Validated : bool { no, yes };

// Data as received: the exact encoded bytes of the value and the codec that produced them.
// JSON bytes are always valid JSON text: only the decoders build RawData with Codec::json, after
// validating it (decode_json validates the whole envelope, decode_protobuf the data_json field),
// and encode_json and decode_payload rely on it (Validated::yes). Code that builds one by hand
// must validate the text first (json::validate).
struct RawData {
    Codec codec = Codec::json;
    std::string bytes;
    bool operator==(const RawData &) const = default;
};

// RawData holding a copy of `bytes`, built in *spare's buffer when spare is given (the caller's
// recycled buffer: taken, so the copy needs no allocation when it fits).
inline RawData make_raw(Codec c, std::string_view bytes, std::string *spare) {
    RawData r{c, spare ? std::move(*spare) : std::string()};
    r.bytes.assign(bytes);
    return r;
}

// The envelope's data: absent (monostate, omitted on output), null, raw, or a typed payload.
using Data = std::variant<std::monostate, Null, RawData, Text, ChatMessage, AckMessage, AckRequest,
                          AckNotify, AckGroupMessage, ClientCustom, KickOutNotify, Hello,
                          ServerHello, EncryptedCredential, GroupNotify, UserState, StateSubscribe>;

// glide's GlideMessage. The same type serves both codecs.
struct Envelope {
    int64_t ver = 1; // a missing ver decodes as 1 (glide's NewEmptyMessage)
    int64_t seq = 0;
    std::string action;
    std::string from;
    std::string to;
    Data data;
    std::string msg;
    std::string ticket;
    std::string sign;
    // "extra": kept sorted by key with unique keys, the order Go emits a map in.
    std::vector<std::pair<std::string, std::string>> extra;

    // True when data carries a value (not absent, not null).
    bool has_data() const { return data.index() > 1; }
    // Inserts or replaces an extra entry, keeping the vector sorted.
    void set_extra(std::string key, std::string value);
    bool operator==(const Envelope &) const = default;
};

inline void Envelope::set_extra(std::string key, std::string value) {
    auto it = extra.begin();
    while (it != extra.end() && it->first < key)
        ++it;
    if (it != extra.end() && it->first == key)
        it->second = std::move(value);
    else
        extra.emplace(it, std::move(key), std::move(value));
}

// A server-built envelope: ver 1, the given seq, action and typed payload (glide's NewMessage).
template <typename T> Envelope make_message(int64_t seq, std::string_view act, T payload) {
    Envelope e;
    e.seq = seq;
    e.action = act;
    e.data = std::move(payload);
    return e;
}

// The prefix of every decode error (glide's IsDecodeError tests for it).
inline constexpr std::string_view decode_error_prefix = "message decode error: ";

} // namespace glide::codec
