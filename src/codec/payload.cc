#include "codec/payload.h"

#include "codec/json_table.h"
#include "codec/json_writer.h"

namespace glide::codec {

namespace {

struct KindEntry {
    std::string_view action;
    PayloadKind kind;
};

// Keep in step with the table in proto/glide.proto.
constexpr KindEntry kinds[] = {
    {action::hello, PayloadKind::hello},
    {action::authenticate, PayloadKind::credential},
    {action::chat, PayloadKind::chat},
    {action::chat_resend, PayloadKind::chat},
    {action::group, PayloadKind::chat},
    {action::group_notify, PayloadKind::group_notify},
    {action::client_custom, PayloadKind::client_custom},
    {action::ack_request, PayloadKind::ack_request},
    {action::ack_notify, PayloadKind::ack_notify},
    {action::ack_message, PayloadKind::ack_message},
    {action::ack_group_msg, PayloadKind::ack_group},
    {action::api_state_sub, PayloadKind::state_subscribe},
    {action::notify_kickout, PayloadKind::kickout},
    {action::notify_state, PayloadKind::user_state},
    {action::notify_error, PayloadKind::text},
    {action::notify_forbidden, PayloadKind::text},
    {action::notify_unauthenticated, PayloadKind::text},
    {action::notify_unknown_action, PayloadKind::text},
    {action::internal_online, PayloadKind::text},
    {action::internal_offline, PayloadKind::text},
};

template <typename T> Status pb_to_json(std::string_view pb, std::string *out) {
    T v;
    if (Status st = decode_pb_payload(pb, &v); !st)
        return make_error(std::string(decode_error_prefix) + st.error());
    encode_json_payload(v, out);
    return {};
}

template <typename T> bool json_to_pb(std::string_view js, std::string *out) {
    T v;
    if (!decode_json_payload(js, &v, Validated::yes))
        return false;
    encode_pb_payload(v, out);
    return true;
}

} // namespace

PayloadKind payload_kind(std::string_view a) {
    for (const auto &k : kinds)
        if (k.action == a)
            return k.kind;
    return PayloadKind::none;
}

Status transcode_to_json(std::string_view action, std::string_view pb, std::string *out) {
    switch (payload_kind(action)) {
    case PayloadKind::none:
        return make_error("no payload message for action \"" + std::string(action) + "\"");
    case PayloadKind::text:
        return pb_to_json<Text>(pb, out);
    case PayloadKind::chat:
        return pb_to_json<ChatMessage>(pb, out);
    case PayloadKind::ack_message:
        return pb_to_json<AckMessage>(pb, out);
    case PayloadKind::ack_request:
        return pb_to_json<AckRequest>(pb, out);
    case PayloadKind::ack_notify:
        return pb_to_json<AckNotify>(pb, out);
    case PayloadKind::ack_group:
        return pb_to_json<AckGroupMessage>(pb, out);
    case PayloadKind::client_custom:
        return pb_to_json<ClientCustom>(pb, out);
    case PayloadKind::kickout:
        return pb_to_json<KickOutNotify>(pb, out);
    case PayloadKind::credential:
        return pb_to_json<EncryptedCredential>(pb, out);
    case PayloadKind::group_notify:
        return pb_to_json<GroupNotify>(pb, out);
    case PayloadKind::user_state:
        return pb_to_json<UserState>(pb, out);
    case PayloadKind::state_subscribe:
        return pb_to_json<StateSubscribe>(pb, out);
    case PayloadKind::hello: {
        // One object with the client's keys then the server's: every key is omitempty, so a
        // one-sided message is exactly glide's Hello or ServerHello.
        Hello c;
        ServerHello s;
        Status st = decode_pb_payload(pb, &c);
        if (st)
            st = decode_pb_payload(pb, &s);
        if (!st)
            return make_error(std::string(decode_error_prefix) + st.error());
        json::ObjectWriter w(out);
        json::write_members(w, c);
        json::write_members(w, s);
        w.end();
        return {};
    }
    }
    return make_error("unknown payload kind");
}

Status transcode_to_protobuf(std::string_view action, std::string_view js, std::string *out,
                             bool *as_json) {
    size_t mark = out->size();
    bool ok = false;
    switch (payload_kind(action)) {
    case PayloadKind::none:
        break;
    case PayloadKind::text:
        ok = json_to_pb<Text>(js, out);
        break;
    case PayloadKind::chat:
        ok = json_to_pb<ChatMessage>(js, out);
        break;
    case PayloadKind::ack_message:
        ok = json_to_pb<AckMessage>(js, out);
        break;
    case PayloadKind::ack_request:
        ok = json_to_pb<AckRequest>(js, out);
        break;
    case PayloadKind::ack_notify:
        ok = json_to_pb<AckNotify>(js, out);
        break;
    case PayloadKind::ack_group:
        ok = json_to_pb<AckGroupMessage>(js, out);
        break;
    case PayloadKind::client_custom:
        ok = json_to_pb<ClientCustom>(js, out);
        break;
    case PayloadKind::kickout:
        ok = json_to_pb<KickOutNotify>(js, out);
        break;
    case PayloadKind::credential:
        ok = json_to_pb<EncryptedCredential>(js, out);
        break;
    case PayloadKind::group_notify:
        ok = json_to_pb<GroupNotify>(js, out);
        break;
    case PayloadKind::user_state:
        ok = json_to_pb<UserState>(js, out);
        break;
    case PayloadKind::state_subscribe:
        ok = json_to_pb<StateSubscribe>(js, out);
        break;
    case PayloadKind::hello: {
        Hello c;
        ServerHello s;
        ok = decode_json_payload(js, &c, Validated::yes) &&
             decode_json_payload(js, &s, Validated::yes);
        if (ok)
            encode_pb_payload(c, s, out);
        break;
    }
    }
    *as_json = !ok;
    if (!ok) {
        out->resize(mark);
        json::write_compact(out, js, false);
    }
    return {};
}

} // namespace glide::codec
