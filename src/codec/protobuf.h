// The protobuf codec (proto/glide.proto, read and written with pb_wire.h). Same Envelope as the
// JSON codec.
#pragma once

#include "codec/message.h"
#include "common/result.h"

#include <string>
#include <string_view>

namespace glide::codec {

// Decodes one serialised glide.Envelope. data becomes RawData (Codec::protobuf) for `data`,
// RawData (Codec::json) for `data_json`, Null for `data_null`. Strict: unknown fields, bad
// varints, wrong wire types and invalid UTF-8 in strings are errors
// ("message decode error: <reason>"). raw_buffer as for decode_json.
Status decode_protobuf(std::string_view in, Envelope *out, std::string *raw_buffer = nullptr);

// Appends the serialised glide.Envelope for e to *out. Raw JSON data is carried as the action's
// payload message when it fits, else as data_json. Fails only when raw data cannot be
// transcoded.
Status encode_protobuf(const Envelope &e, std::string *out);

// Payload messages. Decode errors carry no prefix.
Status decode_pb_payload(std::string_view in, Text *out);
Status decode_pb_payload(std::string_view in, ChatMessage *out);
Status decode_pb_payload(std::string_view in, AckMessage *out);
Status decode_pb_payload(std::string_view in, AckRequest *out);
Status decode_pb_payload(std::string_view in, AckNotify *out);
Status decode_pb_payload(std::string_view in, AckGroupMessage *out);
Status decode_pb_payload(std::string_view in, ClientCustom *out);
Status decode_pb_payload(std::string_view in, KickOutNotify *out);
Status decode_pb_payload(std::string_view in, Hello *out);
Status decode_pb_payload(std::string_view in, ServerHello *out);
Status decode_pb_payload(std::string_view in, EncryptedCredential *out);
Status decode_pb_payload(std::string_view in, GroupNotify *out);
Status decode_pb_payload(std::string_view in, UserState *out);
Status decode_pb_payload(std::string_view in, StateSubscribe *out);

void encode_pb_payload(const Text &v, std::string *out);
void encode_pb_payload(const ChatMessage &v, std::string *out);
void encode_pb_payload(const AckMessage &v, std::string *out);
void encode_pb_payload(const AckRequest &v, std::string *out);
void encode_pb_payload(const AckNotify &v, std::string *out);
void encode_pb_payload(const AckGroupMessage &v, std::string *out);
void encode_pb_payload(const ClientCustom &v, std::string *out);
void encode_pb_payload(const KickOutNotify &v, std::string *out);
void encode_pb_payload(const Hello &v, std::string *out);
void encode_pb_payload(const ServerHello &v, std::string *out);
// Both halves of the hello message at once (used when transcoding raw hello data).
void encode_pb_payload(const Hello &c, const ServerHello &s, std::string *out);
void encode_pb_payload(const EncryptedCredential &v, std::string *out);
void encode_pb_payload(const GroupNotify &v, std::string *out);
void encode_pb_payload(const UserState &v, std::string *out);
void encode_pb_payload(const StateSubscribe &v, std::string *out);

} // namespace glide::codec
