// Malformed input table for both decoders: each case must be a decode error (never a crash or
// a leak; run under valgrind), and decoding must leave nothing half-owned.
#include "codec/json.h"
#include "codec/payload.h"
#include "codec/protobuf.h"
#include "codec_test_util.h"

#include <cstdio>
#include <string>

#include "glide_cmocka.h"

using namespace glide::codec;
using glide::Status;

namespace {

struct Case {
    const char *name;
    std::string input;
};

std::string S(const char *s, size_t n) {
    return std::string(s, n);
}

const Case json_cases[] = {
    // truncated
    {"empty", ""},
    {"whitespace only", " \n\t"},
    {"open brace", "{"},
    {"open key", "{\""},
    {"key without colon", "{\"action\""},
    {"key colon eof", "{\"action\":"},
    {"open string value", "{\"action\":\"x"},
    {"no closing brace", "{\"action\":\"x\""},
    {"trailing comma eof", "{\"action\":\"x\","},
    {"open array in data", "{\"data\":[1,2"},
    {"open object in data", "{\"data\":{\"a\":"},
    {"truncated unicode escape", "{\"action\":\"\\u12"},
    {"truncated literal", "{\"data\":nul"},
    {"truncated exponent", "{\"seq\":1e"},
    // wrong types
    {"ver string", "{\"ver\":\"1\"}"},
    {"seq bool", "{\"seq\":true}"},
    {"action number", "{\"action\":1}"},
    {"action object", "{\"action\":{}}"},
    {"from array", "{\"from\":[]}"},
    {"to bool", "{\"to\":false}"},
    {"ticket number", "{\"ticket\":40}"},
    {"extra string", "{\"extra\":\"k=v\"}"},
    {"extra array", "{\"extra\":[\"k\"]}"},
    {"extra value number", "{\"extra\":{\"k\":1}}"},
    {"extra value object", "{\"extra\":{\"k\":{}}}"},
    {"top-level array", "[{\"action\":\"x\"}]"},
    {"top-level number", "42"},
    {"top-level string", "\"heartbeat\""},
    {"top-level bool", "true"},
    // huge or non-integer numbers
    {"seq above int64", "{\"seq\":9223372036854775808}"},
    {"seq below int64", "{\"seq\":-9223372036854775809}"},
    {"ver 1e400", "{\"ver\":1e400}"},
    {"seq exponent", "{\"seq\":1e3}"},
    {"seq fraction", "{\"seq\":1.0}"},
    {"seq negative fraction", "{\"seq\":-0.5}"},
    {"seq 100 digits", "{\"seq\":" + std::string(100, '9') + "}"},
    // nesting beyond Go's 10000 levels
    {"deep arrays", "{\"data\":" + std::string(10001, '[') + std::string(10001, ']') + "}"},
    {"deep objects", "{\"data\":" +
                         [] {
                             std::string s;
                             for (int i = 0; i < 10001; ++i)
                                 s += "{\"a\":";
                             return s + "1" + std::string(10001, '}');
                         }() +
                         "}"},
    // invalid UTF-8
    {"utf8 0xff in string", "{\"action\":\"\xff\"}"},
    {"utf8 overlong slash", "{\"action\":\"\xc0\xaf\"}"},
    {"utf8 surrogate", "{\"action\":\"\xed\xa0\x80\"}"},
    {"utf8 truncated sequence", "{\"action\":\"\xe2\x82\"}"},
    {"utf8 above U+10FFFF", "{\"action\":\"\xf4\x90\x80\x80\"}"},
    {"utf8 in data", "{\"data\":{\"x\":\"\x80\"}}"},
    {"non-ASCII outside strings", "{\"action\":\"x\"\xc2\xa0}"},
    // duplicate keys: Go lets the last win, so only a badly typed duplicate is an error
    {"duplicate seq badly typed", "{\"seq\":1,\"seq\":\"2\"}"},
    {"duplicate action case-folded badly typed", "{\"action\":\"x\",\"ACTION\":[]}"},
    // syntax
    {"trailing comma", "{\"action\":\"x\",}"},
    {"leading zero", "{\"seq\":01}"},
    {"plus sign", "{\"seq\":+1}"},
    {"single quotes", "{'action':'x'}"},
    {"NaN", "{\"seq\":NaN}"},
    {"extra closing brace", "{\"action\":\"x\"}}"},
    {"two objects", "{\"action\":\"x\"}{\"action\":\"y\"}"},
    {"control char in string", "{\"action\":\"a\nb\"}"},
    {"bad escape", "{\"action\":\"\\x41\"}"},
    {"bad unicode escape", "{\"action\":\"\\u12G4\"}"},
    {"comment", "{/*c*/\"action\":\"x\"}"},
    {"missing value", "{\"action\":}"},
    {"unquoted key", "{action:\"x\"}"},
    {"NUL byte", S("{\"action\":\"x\"}\0", 15)},
};

const Case pb_cases[] = {
    {"truncated varint", S("\x10", 1)},
    {"truncated varint continuation", S("\x10\x80\x80", 3)},
    {"overlong varint", S("\x10\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 12)},
    {"overlong tag", S("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 11)},
    {"truncated length-delimited", S("\x1a\x05"
                                     "ab",
                                     4)},
    {"huge length", S("\x1a\xff\xff\xff\xff\x0f"
                      "ab",
                      8)},
    {"truncated fixed64", S("\x11\x01\x02", 3)},
    {"truncated fixed32", S("\x15\x01", 2)},
    {"unknown varint field", S("\x68\x01", 2)},
    {"unknown length-delimited field", S("\xa2\x06\x01x", 4)},
    {"action as varint (wrong wire type)", S("\x18\x01", 2)},
    {"seq as bytes (wrong wire type)", S("\x12\x01x", 3)},
    {"data as fixed32 (wrong wire type)", S("\x35\x01\x02\x03\x04", 5)},
    {"field number 0", S("\x00\x01", 2)},
    {"invalid wire type 7", S("\x0f\x01", 2)},
    {"start group", S("\x0b\x0c", 2)},
    {"invalid UTF-8 in action", S("\x1a\x02\xff\xfe", 4)},
    {"invalid UTF-8 in extra", S("\x52\x06\x0a\x01k\x12\x01\xff", 8)},
    {"unknown field in extra entry", S("\x52\x02\x18\x01", 4)},
    {"truncated extra entry", S("\x52\x05\x0a\x01k", 5)},
    {"invalid JSON in data_json", S("\x5a\x03{x}", 5)},
    {"a JSON text instead of protobuf", "{\"action\":\"heartbeat\"}"},
};

void test_json_cases(void **) {
    int n = 0;
    for (const Case &c : json_cases) {
        Envelope e;
        Status st = decode_json(c.input, &e);
        if (st.ok() || st.error().rfind(decode_error_prefix, 0) != 0) {
            fprintf(stderr, "json case \"%s\": %s\n", c.name,
                    st.ok() ? "accepted" : st.error().c_str());
            fail();
        }
        ++n;
    }
    assert_true(n >= 40);
}

void test_protobuf_cases(void **) {
    for (const Case &c : pb_cases) {
        Envelope e;
        Status st = decode_protobuf(c.input, &e);
        if (st.ok() || st.error().rfind(decode_error_prefix, 0) != 0) {
            fprintf(stderr, "protobuf case \"%s\": %s\n", c.name,
                    st.ok() ? "accepted" : st.error().c_str());
            fail();
        }
    }
}

void test_protobuf_payload_cases(void **) {
    // Payload bytes are checked when a handler decodes them: wrong wire type, unknown field,
    // bad UTF-8, truncation.
    const std::string bad[] = {S("\x10\x01\x02", 3), S("\x0a\x01", 2), S("\x48\x01", 2),
                               S("\x0a\x01\xff", 3), S("\x12\x01x", 3)};
    for (const std::string &b : bad) {
        Envelope e;
        e.action = "message.chat";
        e.data = RawData{Codec::protobuf, b};
        auto r = decode_payload<ChatMessage>(e);
        assert_false(r.ok());
        assert_true(r.error().rfind(decode_error_prefix, 0) == 0);
        // Transcoding to JSON fails cleanly too.
        std::string out;
        assert_false(encode_json(e, &out).ok());
    }
}

void test_json_truncation_sweep(void **) {
    // Every proper prefix of every golden message is a decode error.
    for (const auto &l : codec_test::read_lines("payloads.jsonl")) {
        for (size_t i = 0; i < l.size(); ++i) {
            Envelope e;
            if (decode_json(std::string_view(l).substr(0, i), &e).ok()) {
                fprintf(stderr, "prefix %zu of %s accepted\n", i, l.c_str());
                fail();
            }
        }
    }
}

void test_protobuf_truncation_sweep(void **) {
    // Truncated protobuf may still be valid (fields are optional); it must never crash and a
    // success must re-encode.
    for (const auto &l : codec_test::read_lines("payloads.jsonl")) {
        Envelope e;
        assert_true(decode_json(l, &e).ok());
        std::string pb;
        assert_true(encode_protobuf(e, &pb).ok());
        for (size_t i = 0; i < pb.size(); ++i) {
            Envelope t;
            if (decode_protobuf(std::string_view(pb).substr(0, i), &t).ok()) {
                std::string out;
                (void)encode_json(t, &out);
            }
        }
    }
}

} // namespace

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_cases),
        cmocka_unit_test(test_protobuf_cases),
        cmocka_unit_test(test_protobuf_payload_cases),
        cmocka_unit_test(test_json_truncation_sweep),
        cmocka_unit_test(test_protobuf_truncation_sweep),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
