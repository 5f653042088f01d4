// Protobuf codec: every payload type survives JSON -> envelope -> protobuf -> envelope -> JSON.
#include "codec/json.h"
#include "codec/payload.h"
#include "codec/protobuf.h"
#include "codec_test_util.h"
#include "glide.pb-c.h"

#include <cstdio>
#include <string>

#include "glide_cmocka.h"

using namespace glide::codec;
using glide::Status;

namespace {

void expect_eq(const std::string &got, const std::string &want) {
    if (got != want) {
        fprintf(stderr, "got:  %s\nwant: %s\n", got.c_str(), want.c_str());
        fail();
    }
}

std::string via_protobuf(const Envelope &in) {
    std::string pb;
    assert_true(encode_protobuf(in, &pb).ok());
    Envelope back;
    Status st = decode_protobuf(pb, &back);
    if (!st) {
        fprintf(stderr, "%s\n", st.error().c_str());
        fail();
    }
    std::string js;
    st = encode_json(back, &js);
    if (!st) {
        fprintf(stderr, "%s\n", st.error().c_str());
        fail();
    }
    return js;
}

void test_raw_json_roundtrip(void **) {
    // Raw JSON data is transcoded into the action's payload message and back.
    for (const auto &l : codec_test::read_lines("payloads.jsonl")) {
        Envelope e;
        assert_true(decode_json(l, &e).ok());
        expect_eq(via_protobuf(e), l);
    }
}

void test_typed_roundtrip(void **) {
    // Typed payloads (server side) go through protobuf, come back raw, and decode to the same
    // typed value; the JSON is unchanged.
    for (const auto &l : codec_test::read_lines("payloads.jsonl")) {
        Envelope e;
        assert_true(decode_json(l, &e).ok());
        assert_true(codec_test::retype(&e));
        expect_eq(via_protobuf(e), l);

        std::string pb;
        assert_true(encode_protobuf(e, &pb).ok());
        Envelope back;
        assert_true(decode_protobuf(pb, &back).ok());
        assert_true(codec_test::retype(&back));
        assert_true(back == e);
    }
}

void test_vers_and_nulls(void **) {
    Envelope e;
    e.action = "heartbeat";
    std::string pb;
    assert_true(encode_protobuf(e, &pb).ok());
    // ver 1 is the default and is not on the wire: just the action.
    assert_int_equal(pb.size(), 2 + e.action.size());
    Envelope back;
    assert_true(decode_protobuf(pb, &back).ok());
    assert_int_equal(back.ver, 1);
    assert_true(std::holds_alternative<std::monostate>(back.data));

    e.ver = 0;
    e.data = Null{};
    pb.clear();
    assert_true(encode_protobuf(e, &pb).ok());
    back = Envelope{};
    assert_true(decode_protobuf(pb, &back).ok());
    assert_int_equal(back.ver, 0);
    assert_true(std::holds_alternative<Null>(back.data));
}

void test_untyped_data_travels_as_json(void **) {
    Envelope e;
    assert_true(decode_json("{\"action\":\"x.y\",\"data\":{ \"a\" : [1, 2.50] }}", &e).ok());
    std::string pb;
    assert_true(encode_protobuf(e, &pb).ok());
    Envelope back;
    assert_true(decode_protobuf(pb, &back).ok());
    const RawData *raw = std::get_if<RawData>(&back.data);
    assert_non_null(raw);
    assert_true(raw->codec == Codec::json);
    assert_string_equal(raw->bytes.c_str(), "{\"a\":[1,2.50]}");
}

void test_pb_raw_to_json_client(void **) {
    // A protobuf client's chat reaches a JSON client: the handler forwards the raw payload.
    ChatMessage m{"c-1", 0, 0, "", "", 1, "hi <3", 1720000000};
    std::string payload;
    encode_pb_payload(m, &payload);
    Envelope e;
    e.seq = 7;
    e.action = "message.chat";
    e.to = "1002";
    e.data = RawData{Codec::protobuf, payload};
    std::string js;
    assert_true(encode_json(e, &js).ok());
    expect_eq(js, "{\"ver\":1,\"seq\":7,\"action\":\"message.chat\",\"to\":\"1002\",\"data\":"
                  "{\"cliMid\":\"c-1\",\"type\":1,\"content\":\"hi \\u003c3\",\"sendAt\":"
                  "1720000000}}");
    auto r = decode_payload<ChatMessage>(e);
    assert_true(r.ok());
    assert_true(r.value() == m);

    // Raw protobuf data of an action without a payload message cannot become JSON.
    e.action = "x.y";
    js.clear();
    assert_false(encode_json(e, &js).ok());
}

void test_extra_sorted_and_unique(void **) {
    // Map entries arrive in any order, duplicates last-wins, as a Go map would.
    Glide__Envelope m = GLIDE__ENVELOPE__INIT;
    Glide__Envelope__ExtraEntry a = GLIDE__ENVELOPE__EXTRA_ENTRY__INIT;
    Glide__Envelope__ExtraEntry b = GLIDE__ENVELOPE__EXTRA_ENTRY__INIT;
    Glide__Envelope__ExtraEntry c = GLIDE__ENVELOPE__EXTRA_ENTRY__INIT;
    a.key = (char *)"z";
    a.value = (char *)"1";
    b.key = (char *)"a";
    b.value = (char *)"2";
    c.key = (char *)"z";
    c.value = (char *)"3";
    Glide__Envelope__ExtraEntry *entries[] = {&a, &b, &c};
    m.action = (char *)"a";
    m.n_extra = 3;
    m.extra = entries;
    std::string pb(glide__envelope__get_packed_size(&m), '\0');
    glide__envelope__pack(&m, reinterpret_cast<uint8_t *>(pb.data()));
    Envelope e;
    assert_true(decode_protobuf(pb, &e).ok());
    std::string js;
    assert_true(encode_json(e, &js).ok());
    expect_eq(js, "{\"ver\":1,\"action\":\"a\",\"extra\":{\"a\":\"2\",\"z\":\"3\"}}");
}

} // namespace

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_raw_json_roundtrip),
        cmocka_unit_test(test_typed_roundtrip),
        cmocka_unit_test(test_vers_and_nulls),
        cmocka_unit_test(test_untyped_data_travels_as_json),
        cmocka_unit_test(test_pb_raw_to_json_client),
        cmocka_unit_test(test_extra_sorted_and_unique),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
