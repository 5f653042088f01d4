// The protobuf codec against protobuf-c (tests/codec/pbc_reference.h, the codec it replaced):
// every message encodes to the same bytes, and every input — well formed, truncated at each
// byte, or with one byte changed — decodes to the same value or fails with the same error.
//
// One difference is deliberate: protobuf-c kept strings as C strings, cutting them at the first
// NUL byte; ours keeps them whole, as Go and every other proto3 runtime do. Inputs holding a
// NUL byte are compared only where the results cannot depend on it (see same_or_nul).
#include "codec/payload.h"
#include "codec/protobuf.h"
#include "pbc_reference.h"

#include <cstdio>
#include <string>
#include <vector>

#include "glide_cmocka.h"

using namespace glide::codec;
using glide::Status;

namespace {

std::string hex(std::string_view s) {
    static const char d[] = "0123456789abcdef";
    std::string h;
    for (unsigned char c : s) {
        h += d[c >> 4];
        h += d[c & 15];
    }
    return h;
}

Envelope with(Data d, const char *action = "message.chat") {
    Envelope e;
    e.seq = 7;
    e.action = action;
    e.data = std::move(d);
    return e;
}

// Envelopes covering every payload type, defaults and extremes.
std::vector<Envelope> samples() {
    std::vector<Envelope> v;
    ChatMessage m{"cli-1", 42, 3, "alice", "bob", 1, "hello, 世界 <b>&</b>", 1700000000123};
    v.push_back(with(m));
    v.push_back(with(ChatMessage{}));
    ChatMessage neg{"c", -1, INT64_MIN, "a", "b", -5, std::string(300, 'x'), INT64_MAX};
    v.push_back(with(neg));
    v.push_back(with(Text{"hi"}, "api.auth"));
    v.push_back(with(AckMessage{"cli-1", 42, "alice", 3}, "ack.message"));
    v.push_back(with(AckRequest{"cli-1", 3, 42, "alice", "bob"}, "ack.request"));
    v.push_back(with(AckNotify{"cli-1", 3, 42, "alice", "bob"}, "ack.notify"));
    v.push_back(with(AckGroupMessage{"g", 9, 10, 11}, "ack.group.msg"));
    v.push_back(with(ClientCustom{"typing", "{\"a\":[1,2]}"}, "message.cli"));
    v.push_back(with(KickOutNotify{"d1", "phone"}, "notify.kickout"));
    v.push_back(with(Hello{"1.0", "web", "browser"}, "hello"));
    v.push_back(with(ServerHello{"glide-cpp", "tmp", 30, {"json", "", "protobuf"}}, "hello"));
    v.push_back(with(EncryptedCredential{2, "Y3JlZA=="}, "api.auth"));
    v.push_back(with(GroupNotify{"sys", 3, "{\"x\":true}"}, "notify.group"));
    v.push_back(with(UserState{"bob", true}, "notify.state"));
    v.push_back(with(UserState{"bob", false}, "notify.state"));
    v.push_back(with(StateSubscribe{{"a", "b", "c"}}, "api.state.sub"));
    v.push_back(with(Null{}));
    v.push_back(with(std::monostate{}, "heartbeat"));
    v.push_back(with(RawData{Codec::protobuf, std::string("\x0a\x02hi", 4)}, "api.auth"));
    v.push_back(with(RawData{Codec::protobuf, ""}, "api.auth"));
    v.push_back(with(RawData{Codec::json, "{\"cliMid\":\"c\",\"mid\":5,\"content\":\"x\"}"}));
    v.push_back(with(RawData{Codec::json, "[1,2,3]"}, "custom.action"));
    Envelope full = with(m);
    full.ver = 2;
    full.from = "alice";
    full.to = "bob";
    full.msg = "a message";
    full.ticket = "t";
    full.sign = "s";
    full.set_extra("k1", "v1");
    full.set_extra("", "empty key");
    full.set_extra("k2", "");
    full.set_extra("long", std::string(200, 'y'));
    v.push_back(full);
    Envelope ver0 = with(std::monostate{}, "heartbeat");
    ver0.ver = 0;
    v.push_back(ver0);
    return v;
}

void test_encode_same_bytes(void **) {
    for (const Envelope &e : samples()) {
        std::string ours, theirs;
        Status a = encode_protobuf(e, &ours);
        Status b = pbc::encode_protobuf(e, &theirs);
        assert_true(a.ok() == b.ok());
        if (ours != theirs) {
            fprintf(stderr, "action %s\nours:   %s\ntheirs: %s\n", e.action.c_str(),
                    hex(ours).c_str(), hex(theirs).c_str());
            fail();
        }
    }
}

// Equal results, or different only because the input holds a NUL byte (see the top).
template <typename T>
void same_or_nul(std::string_view in, const Status &a, const T &ours, const Status &b,
                 const T &theirs) {
    bool same = a.ok() == b.ok() && (a.ok() ? ours == theirs : a.error() == b.error());
    if (same || in.find('\0') != std::string_view::npos)
        return;
    fprintf(stderr, "input %s\nours:   %s\ntheirs: %s\n", hex(in).c_str(),
            a.ok() ? "ok" : a.error().c_str(), b.ok() ? "ok" : b.error().c_str());
    fail();
}

void compare_envelope(std::string_view in) {
    Envelope ours, theirs;
    Status a = decode_protobuf(in, &ours);
    Status b = pbc::decode_protobuf(in, &theirs);
    same_or_nul(in, a, ours, b, theirs);
}

template <typename T> void compare_payload(std::string_view in) {
    T ours, theirs;
    Status a = decode_pb_payload(in, &ours);
    Status b = pbc::decode_pb_payload(in, &theirs);
    same_or_nul(in, a, ours, b, theirs);
}

void compare_all_payloads(std::string_view in) {
    compare_payload<Text>(in);
    compare_payload<ChatMessage>(in);
    compare_payload<AckMessage>(in);
    compare_payload<AckRequest>(in);
    compare_payload<AckNotify>(in);
    compare_payload<AckGroupMessage>(in);
    compare_payload<ClientCustom>(in);
    compare_payload<KickOutNotify>(in);
    compare_payload<Hello>(in);
    compare_payload<ServerHello>(in);
    compare_payload<EncryptedCredential>(in);
    compare_payload<GroupNotify>(in);
    compare_payload<UserState>(in);
    compare_payload<StateSubscribe>(in);
}

// Each input, each of its prefixes, and each of its one-byte variants over a set of byte
// values that hit every wire type, continuation bits, lengths and tags.
template <typename F> void mutations(const std::string &in, F &&check) {
    static const unsigned char values[] = {0x00, 0x01, 0x02, 0x07, 0x08, 0x0a, 0x0b, 0x0c,
                                           0x0d, 0x0e, 0x0f, 0x10, 0x12, 0x1a, 0x22, 0x3a,
                                           0x50, 0x52, 0x5a, 0x60, 0x7f, 0x80, 0xc0, 0xff};
    check(in);
    for (size_t i = 0; i < in.size(); i++) {
        check(std::string_view(in).substr(0, i));
        for (unsigned char v : values) {
            std::string m = in;
            m[i] = static_cast<char>(v);
            check(m);
        }
    }
}

void test_decode_envelope_same(void **) {
    for (const Envelope &e : samples()) {
        std::string pb;
        assert_true(pbc::encode_protobuf(e, &pb).ok());
        mutations(pb, compare_envelope);
    }
    // Hand-made inputs: unknown fields of each wire type, groups, over-long varints and tags,
    // repeated fields (the last wins), the oneof's members in turn, map entries with unknown or
    // mistyped fields.
    const std::string cases[] = {
        std::string("\x18\x01", 2),                       // unknown field 3 as varint? (action)
        std::string("\x68\x01", 2),                       // field 13, varint: unknown
        std::string("\x69\x01\x02\x03\x04\x05\x06\x07\x08", 9), // field 13, 64-bit
        std::string("\x6d\x01\x02\x03\x04", 5),           // field 13, 32-bit
        std::string("\x6b\x6c", 2),                       // field 13, group start/end
        std::string("\x80\x01\x01", 3),                   // field 16 in a 2-byte tag
        std::string("\xf8\xff\xff\xff\x0f\x01", 6),       // the largest 5-byte tag
        std::string("\xf8\xff\xff\xff\xff\x01\x01", 7),   // a 6-byte tag
        std::string("\x10\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 11), // seq = -1
        std::string("\x10\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f", 11), // bits past 64
        std::string("\x10\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 12), // 11-byte varint
        std::string("\x10\x01\x10\x02", 4),               // seq twice
        std::string("\x1a\x01\x61\x1a\x01\x62", 6),       // action twice
        std::string("\x32\x01\x61\x5a\x02{}\x60\x01", 9), // data, data_json, data_null
        std::string("\x60\x01\x32\x00", 4),               // data_null then empty data
        std::string("\x60\x00", 2),                       // data_null false
        std::string("\x60\x80\x80\x80\x80\x80\x80\x80\x80\x80\x02", 11), // true past bit 64
        std::string("\x08\x00", 2),                       // ver 0
        std::string("\x52\x06\x0a\x01k\x12\x01v", 8),     // extra k=v
        std::string("\x52\x03\x18\x01\x0a", 5),           // entry: unknown then truncated
        std::string("\x52\x02\x18\x01", 4),               // entry with an unknown field
        std::string("\x52\x02\x08\x01", 4),               // entry key as a varint
        std::string("\x52\x04\x0a\x02\xff\xfe", 6),       // entry key not UTF-8
        std::string("\x1a\x02\xc3\x28", 4),               // action not UTF-8
        std::string("\x5a\x01{", 3),                      // data_json not JSON
        std::string("\x1a\x85\x80\x80\x80\x00", 6),       // 5-byte length, too long
        std::string("\x1a\x80\x80\x80\x80\x80\x01", 7),   // 6-byte length
        std::string("\x12\x01a", 3),                      // seq as length-delimited
        std::string("\x11\x01\x02\x03\x04\x05\x06\x07\x08", 9), // seq as 64-bit
        std::string("\x68\x01\x1a\x02\xc3\x28", 6),       // unknown before bad UTF-8
        std::string("\x1a\x02\xc3\x28\x12\x00", 6),       // bad UTF-8 before wrong wire type
    };
    for (const std::string &c : cases)
        mutations(c, compare_envelope);
}

void test_decode_payloads_same(void **) {
    for (const Envelope &e : samples()) {
        std::string pb;
        std::visit(
            [&](const auto &d) {
                using T = std::decay_t<decltype(d)>;
                if constexpr (!std::is_same_v<T, std::monostate> && !std::is_same_v<T, Null> &&
                              !std::is_same_v<T, RawData>)
                    pbc::encode_pb_payload(d, &pb);
            },
            e.data);
        if (!pb.empty())
            mutations(pb, compare_all_payloads);
    }
}

void test_typed_payload_round_trip(void **) {
    // A typed payload is written in place into the envelope's data field: nested lengths of
    // one byte and of several (the 300-byte content) must come out right.
    for (const Envelope &e : samples()) {
        std::string pb;
        assert_true(encode_protobuf(e, &pb).ok());
        Envelope back;
        Status st = decode_protobuf(pb, &back);
        if (!st) {
            fprintf(stderr, "%s: %s\n", e.action.c_str(), st.error().c_str());
            fail();
        }
        assert_int_equal(back.seq, e.seq);
        assert_true(back.action == e.action);
        assert_true(back.extra == e.extra);
    }
}

void test_strings_keep_nul(void **) {
    // The deliberate difference: a NUL inside a string survives both ways.
    ChatMessage m;
    m.content = std::string("a\0b", 3);
    std::string pb;
    encode_pb_payload(m, &pb);
    ChatMessage back;
    assert_true(decode_pb_payload(pb, &back).ok());
    assert_int_equal(back.content.size(), 3);
    assert_true(back.content == m.content);
}

} // namespace

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encode_same_bytes),
        cmocka_unit_test(test_decode_envelope_same),
        cmocka_unit_test(test_decode_payloads_same),
        cmocka_unit_test(test_typed_payload_round_trip),
        cmocka_unit_test(test_strings_keep_nul),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
