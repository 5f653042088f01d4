// libFuzzer target for the protobuf decoder: decode, transcode to JSON, re-encode and re-decode;
// and the same result as protobuf-c (the codec it replaced, tests/codec/pbc_reference.h) for
// every input without a NUL byte (protobuf-c cut strings at one; see test_pb_oracle.cc).
#include "codec/json.h"
#include "codec/payload.h"
#include "codec/protobuf.h"
#include "../codec/pbc_reference.h"

#include <cstdint>
#include <cstdlib>
#include <string>

namespace {

using namespace glide::codec;

// Both decoders agree: same value, or the same error.
template <typename T, typename F, typename G>
void same_as_protobuf_c(std::string_view in, F &&ours, G &&theirs) {
    if (in.find('\0') != std::string_view::npos)
        return;
    T a, b;
    glide::Status sa = ours(in, &a), sb = theirs(in, &b);
    if (sa.ok() != sb.ok() || (sa.ok() ? !(a == b) : sa.error() != sb.error()))
        abort();
}

template <typename T> void try_payload(const Envelope &e) {
    if (const auto *raw = std::get_if<RawData>(&e.data); raw && raw->codec == Codec::protobuf)
        same_as_protobuf_c<T>(
            raw->bytes, [](std::string_view in, T *out) { return decode_pb_payload(in, out); },
            [](std::string_view in, T *out) { return pbc::decode_pb_payload(in, out); });
    auto r = decode_payload<T>(e);
    if (r.ok()) {
        std::string pb;
        encode_pb_payload(r.value(), &pb);
        T back;
        if (!decode_pb_payload(pb, &back).ok() || !(back == r.value()))
            abort(); // typed payloads round-trip exactly
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    std::string_view in(reinterpret_cast<const char *>(data), size);
    same_as_protobuf_c<Envelope>(
        in, [](std::string_view in, Envelope *out) { return decode_protobuf(in, out); },
        [](std::string_view in, Envelope *out) { return pbc::decode_protobuf(in, out); });
    Envelope e;
    if (!decode_protobuf(in, &e).ok())
        return 0;
    std::string theirs;
    if (pbc::encode_protobuf(e, &theirs).ok()) {
        std::string ours;
        if (!encode_protobuf(e, &ours).ok() ||
            (ours != theirs && in.find('\0') == std::string_view::npos))
            abort(); // the same bytes as protobuf-c
    }
    std::string pb;
    if (!encode_protobuf(e, &pb).ok())
        abort();
    Envelope again;
    if (!decode_protobuf(pb, &again).ok())
        abort();
    std::string pb2;
    if (!encode_protobuf(again, &pb2).ok() || pb2 != pb)
        abort(); // encoding is a fixed point after one pass (data_json gets compacted once)
    std::string js;
    if (encode_json(e, &js).ok()) {
        Envelope from_js;
        if (!decode_json(js, &from_js).ok())
            abort(); // JSON we emit must decode
    }
    try_payload<Text>(e);
    try_payload<ChatMessage>(e);
    try_payload<AckRequest>(e);
    try_payload<AckNotify>(e);
    try_payload<AckMessage>(e);
    try_payload<AckGroupMessage>(e);
    try_payload<ClientCustom>(e);
    try_payload<KickOutNotify>(e);
    try_payload<Hello>(e);
    try_payload<ServerHello>(e);
    try_payload<EncryptedCredential>(e);
    try_payload<GroupNotify>(e);
    try_payload<UserState>(e);
    try_payload<StateSubscribe>(e);
    return 0;
}
