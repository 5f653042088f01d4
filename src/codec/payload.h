// Typed access to an envelope's data whatever codec it came from, and the action -> payload
// table that lets raw data cross from one codec to the other (proto/glide.proto documents the
// same table).
#pragma once

#include "codec/json.h"
#include "codec/message.h"
#include "codec/protobuf.h"
#include "common/result.h"

#include <string>
#include <string_view>

namespace glide::codec {

enum class PayloadKind : uint8_t {
    none, // no payload message: raw data crosses codecs as JSON text
    text,
    chat,
    ack_message,
    ack_request,
    ack_notify,
    ack_group,
    client_custom,
    kickout,
    hello, // Hello from a client, ServerHello from the server: one protobuf message
    credential,
    group_notify,
    user_state,
    state_subscribe,
};

// The payload message an action's data holds.
PayloadKind payload_kind(std::string_view action);

// Appends the JSON text for raw protobuf payload bytes of `action`.
Status transcode_to_json(std::string_view action, std::string_view pb, std::string *out);

// Appends the protobuf payload for raw JSON data of `action` (valid JSON text, as RawData holds
// it: it is not validated again). When the action has no payload
// message or the JSON does not decode as it, appends the compacted JSON instead and sets
// *as_json (the encoder then uses Envelope.data_json).
Status transcode_to_protobuf(std::string_view action, std::string_view json, std::string *out,
                             bool *as_json);

// Decodes the envelope's data as T, from raw bytes of either codec or a typed value of type T
// (glide's Data.Deserialize). Errors: "data is nil" for absent or null data, "message decode
// error: ..." for undecodable bytes, "deserialize message data failed" for another type.
template <typename T> Result<T> decode_payload(const Envelope &e) {
    T v;
    if (Status st = decode_payload(e, &v); !st)
        return make_error(st.error());
    return v;
}

// The same into *out, which must be default-constructed or cleared (clear_keeping_buffers):
// the decoders assign its strings in place, so buffers it already has are reused.
template <typename T> Status decode_payload(const Envelope &e, T *out) {
    if (const T *typed = std::get_if<T>(&e.data)) {
        *out = *typed;
        return {};
    }
    if (const RawData *raw = std::get_if<RawData>(&e.data)) {
        Status st = raw->codec == Codec::json
                        ? decode_json_payload(raw->bytes, out, Validated::yes)
                        : decode_pb_payload(raw->bytes, out);
        if (!st)
            return make_error(std::string(decode_error_prefix) + st.error());
        return {};
    }
    if (!e.has_data())
        return make_error("data is nil");
    return make_error("deserialize message data failed");
}

// Encodes a codec-independent envelope for one connection's codec.
inline Status encode(Codec c, const Envelope &e, std::string *out) {
    return c == Codec::json ? encode_json(e, out) : encode_protobuf(e, out);
}

// Decodes one message in the connection's codec (raw_buffer and pre: see decode_json; a
// protobuf decode leaves pre's type none).
inline Status decode(Codec c, std::string_view in, Envelope *out,
                     std::string *raw_buffer = nullptr, PreDecoded *pre = nullptr) {
    if (c == Codec::json)
        return decode_json(in, out, raw_buffer, pre);
    if (pre)
        pre->type = PreDecoded::Type::none;
    return decode_protobuf(in, out, raw_buffer);
}

} // namespace glide::codec
