// glide's JSON codec: the envelope with Go encoding/json semantics on the way in and glide's
// exact bytes on the way out (protocol.md §2).
#pragma once

#include "codec/message.h"
#include "common/result.h"

#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace glide::codec {

// The data of the server's per-message traffic decoded in the same pass as its envelope, which
// saves walking it again in decode_payload: decode_json, given one, decodes the data object of
// message.chat, message.chat.resend and message.group as a ChatMessage and that of ack.request
// as an AckRequest while it validates it, when the action comes before the data (glide's key
// order). `type` says which is set: the last data member of a decoded envelope decoded into a
// cleared struct without error, the same as decode_payload gives for the envelope's RawData
// (a type error leaves `type` none, and decode_payload reports it). Reused from one decode to
// the next, the structs keep their strings' buffers.
struct PreDecoded {
    enum class Type : uint8_t { none, chat, ack_request };
    Type type = Type::none;
    ChatMessage chat;
    AckRequest ack_request;
};

// Swaps the pre-decoded payload into *out (the old value of *out stays behind, for its
// buffers) and returns true when pre holds one of type T; false otherwise.
template <typename T> bool take_pre_decoded(PreDecoded *pre, T *out) {
    T *have = nullptr;
    if constexpr (std::is_same_v<T, ChatMessage>)
        have = pre->type == PreDecoded::Type::chat ? &pre->chat : nullptr;
    else if constexpr (std::is_same_v<T, AckRequest>)
        have = pre->type == PreDecoded::Type::ack_request ? &pre->ack_request : nullptr;
    if (!have)
        return false;
    std::swap(*out, *have);
    pre->type = PreDecoded::Type::none;
    return true;
}

// Decodes one JSON envelope into *out (which should be default-constructed: fields absent from
// the input keep their values, as Go's decoder does). data is kept as its exact source bytes
// (RawData, Codec::json); a JSON null data becomes Null. Errors read
// "message decode error: <Go's reason>". raw_buffer, when given, is a spare buffer the raw data
// is copied into (taken when the data is raw; see make_raw in message.h). pre, when given,
// receives the pre-decoded data (see PreDecoded; its type is none after a failed decode).
Status decode_json(std::string_view in, Envelope *out, std::string *raw_buffer = nullptr,
                   PreDecoded *pre = nullptr);

// Appends the JSON encoding of e to *out, as glide's json.Marshal of GlideMessage: declaration
// key order, empty fields omitted, "data":null for Null, raw JSON data compacted and
// HTML-escaped, extra sorted by key. Fails only when raw protobuf data cannot be transcoded.
Status encode_json(const Envelope &e, std::string *out);

// Payload codecs. decode_json_payload errors are Go's texts without the decode-error prefix.
// Validated::yes (text known to be valid JSON, see message.h) skips the validation pass.
Status decode_json_payload(std::string_view in, Text *out, Validated validated = Validated::no);
Status decode_json_payload(std::string_view in, ChatMessage *out, Validated validated = Validated::no);
Status decode_json_payload(std::string_view in, AckMessage *out, Validated validated = Validated::no);
Status decode_json_payload(std::string_view in, AckRequest *out, Validated validated = Validated::no);
Status decode_json_payload(std::string_view in, AckNotify *out, Validated validated = Validated::no);
Status decode_json_payload(std::string_view in, AckGroupMessage *out, Validated validated = Validated::no);
Status decode_json_payload(std::string_view in, ClientCustom *out, Validated validated = Validated::no);
Status decode_json_payload(std::string_view in, KickOutNotify *out, Validated validated = Validated::no);
Status decode_json_payload(std::string_view in, Hello *out, Validated validated = Validated::no);
Status decode_json_payload(std::string_view in, ServerHello *out, Validated validated = Validated::no);
Status decode_json_payload(std::string_view in, EncryptedCredential *out, Validated validated = Validated::no);
Status decode_json_payload(std::string_view in, GroupNotify *out, Validated validated = Validated::no);
Status decode_json_payload(std::string_view in, UserState *out, Validated validated = Validated::no);
Status decode_json_payload(std::string_view in, StateSubscribe *out, Validated validated = Validated::no);

void encode_json_payload(const Text &v, std::string *out);
void encode_json_payload(const ChatMessage &v, std::string *out);
void encode_json_payload(const AckMessage &v, std::string *out);
void encode_json_payload(const AckRequest &v, std::string *out);
void encode_json_payload(const AckNotify &v, std::string *out);
void encode_json_payload(const AckGroupMessage &v, std::string *out);
void encode_json_payload(const ClientCustom &v, std::string *out);
void encode_json_payload(const KickOutNotify &v, std::string *out);
void encode_json_payload(const Hello &v, std::string *out);
void encode_json_payload(const ServerHello &v, std::string *out);
void encode_json_payload(const EncryptedCredential &v, std::string *out);
void encode_json_payload(const GroupNotify &v, std::string *out);
void encode_json_payload(const UserState &v, std::string *out);
void encode_json_payload(const StateSubscribe &v, std::string *out);

} // namespace glide::codec
