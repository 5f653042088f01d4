// libFuzzer target for the JSON decoder: decode, then re-encode with both codecs and check that
// what we emit decodes again to the same bytes.
#include "codec/json.h"
#include "codec/payload.h"
#include "codec/protobuf.h"

#include <cstdint>
#include <cstdlib>
#include <string>

namespace {

using namespace glide::codec;

template <typename T> void try_payload(const Envelope &e) {
    // decode_payload skips validating the envelope's data (Validated::yes): it must decode
    // exactly as the validating decoder does.
    if (const auto *raw = std::get_if<RawData>(&e.data); raw && raw->codec == Codec::json) {
        T checked, trusted;
        glide::Status a = decode_json_payload(raw->bytes, &checked, Validated::no);
        glide::Status b = decode_json_payload(raw->bytes, &trusted, Validated::yes);
        if (a.ok() != b.ok() || (!a.ok() && a.error() != b.error()) || !(checked == trusted))
            abort();
    }
    auto r = decode_payload<T>(e);
    if (r.ok()) {
        Envelope t = e;
        t.data = r.value();
        std::string js, pb;
        if (!encode_json(t, &js).ok() || !encode_protobuf(t, &pb).ok())
            abort();
    }
}

// The data decode_json pre-decodes with the envelope must be what decode_payload gives, and
// the envelope the same as without pre-decoding; the PreDecoded is reused, as the hub does.
void check_pre_decoded(std::string_view in, const glide::Status &plain, const Envelope &e) {
    static PreDecoded pre;
    Envelope e2;
    glide::Status st = decode_json(in, &e2, nullptr, &pre);
    if (st.ok() != plain.ok() || (!st.ok() && st.error() != plain.error()))
        abort();
    if (!st.ok()) {
        if (pre.type != PreDecoded::Type::none)
            abort();
        return;
    }
    if (!(e2 == e))
        abort();
    if (pre.type == PreDecoded::Type::chat) {
        auto r = decode_payload<ChatMessage>(e);
        if (!r.ok() || !(r.value() == pre.chat))
            abort();
    } else if (pre.type == PreDecoded::Type::ack_request) {
        auto r = decode_payload<AckRequest>(e);
        if (!r.ok() || !(r.value() == pre.ack_request))
            abort();
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    std::string_view in(reinterpret_cast<const char *>(data), size);
    Envelope e;
    glide::Status decoded = decode_json(in, &e);
    check_pre_decoded(in, decoded, e);
    if (!decoded.ok())
        return 0;
    std::string js;
    if (!encode_json(e, &js).ok())
        abort(); // raw JSON data always encodes
    Envelope again;
    if (!decode_json(js, &again).ok())
        abort(); // our output must be valid for our input
    if (e.ver == 0)
        again.ver = 0; // "ver":0 is omitted on output and reads back as 1, as in glide
    std::string js2;
    if (!encode_json(again, &js2).ok() || js2 != js)
        abort(); // encoding is a fixed point after one pass
    std::string pb;
    if (!encode_protobuf(e, &pb).ok())
        abort();
    Envelope from_pb;
    if (!decode_protobuf(pb, &from_pb).ok())
        abort();
    std::string js3;
    (void)encode_json(from_pb, &js3);
    try_payload<Text>(e);
    try_payload<ChatMessage>(e);
    try_payload<AckRequest>(e);
    try_payload<AckMessage>(e);
    try_payload<AckGroupMessage>(e);
    try_payload<ClientCustom>(e);
    try_payload<ServerHello>(e);
    try_payload<GroupNotify>(e);
    try_payload<UserState>(e);
    try_payload<StateSubscribe>(e);
    return 0;
}
