// JSON codec: glide's verified samples byte for byte, Go decoding semantics, Go's escaping.
// C++ headers first: cmocka defines a fail() macro that clashes with <ios>.
#include "codec/json.h"
#include "codec/json_scan.h"
#include "codec/json_writer.h"
#include "codec/payload.h"
#include "codec_test_util.h"

#include <cstdio>
#include <cstring>

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

Envelope decode_ok(std::string_view in) {
    Envelope e;
    Status st = decode_json(in, &e);
    if (!st) {
        fprintf(stderr, "decode failed for %.*s: %s\n", int(in.size()), in.data(),
                st.error().c_str());
        fail();
    }
    return e;
}

std::string encode_ok(const Envelope &e) {
    std::string out;
    Status st = encode_json(e, &out);
    assert_true(st.ok());
    return out;
}

std::string decode_err(std::string_view in) {
    Envelope e;
    Status st = decode_json(in, &e);
    assert_false(st.ok());
    return st.error();
}

void test_verified_samples_roundtrip(void **) {
    auto lines = codec_test::read_lines("verified.jsonl");
    assert_true(lines.size() >= 15);
    for (const auto &l : lines)
        expect_eq(encode_ok(decode_ok(l)), l);
}

void test_payloads_typed_reencode(void **) {
    // Decoding data into its typed payload and encoding that again gives the same bytes.
    auto lines = codec_test::read_lines("payloads.jsonl");
    assert_true(lines.size() >= 25);
    for (const auto &l : lines) {
        Envelope e = decode_ok(l);
        if (!codec_test::retype(&e)) {
            fprintf(stderr, "retype failed: %s\n", l.c_str());
            fail();
        }
        expect_eq(encode_ok(e), l);
    }
}

void test_go_syntax_errors(void **) {
    expect_eq(decode_err("not json"),
              "message decode error: invalid character 'o' in literal null (expecting 'u')");
    expect_eq(decode_err("[]"), "message decode error: json: cannot unmarshal array into Go "
                                "value of type messages.GlideMessage");
    expect_eq(decode_err("\"x\""), "message decode error: json: cannot unmarshal string into "
                                   "Go value of type messages.GlideMessage");
    expect_eq(decode_err("garbage"),
              "message decode error: invalid character 'g' looking for beginning of value");
    expect_eq(decode_err(""), "message decode error: unexpected end of JSON input");
    expect_eq(decode_err("{\"action\":"), "message decode error: unexpected end of JSON input");
    expect_eq(decode_err("{\"a\" 1}"),
              "message decode error: invalid character '1' after object key");
    expect_eq(decode_err("{\"a\":1 \"b\":2}"),
              "message decode error: invalid character '\"' after object key:value pair");
    expect_eq(decode_err("{} {}"),
              "message decode error: invalid character '{' after top-level value");
    expect_eq(decode_err("{\"a\":[1 2]}"),
              "message decode error: invalid character '2' after array element");
    expect_eq(decode_err("{\"a\":tru}"),
              "message decode error: invalid character '}' in literal true (expecting 'e')");
    expect_eq(decode_err("{\"a\":-x}"),
              "message decode error: invalid character 'x' in numeric literal");
    expect_eq(decode_err("{\"a\":1.}"), "message decode error: invalid character '}' after "
                                        "decimal point in numeric literal");
    expect_eq(decode_err("{\"a\":\"\\q\"}"),
              "message decode error: invalid character 'q' in string escape code");
    expect_eq(decode_err("{\"a\":\"\x01\"}"),
              "message decode error: invalid character '\\x01' in string literal");
    expect_eq(decode_err("{,}"), "message decode error: invalid character ',' looking for "
                                 "beginning of object key string");
}

void test_go_type_errors(void **) {
    expect_eq(decode_err("{\"ver\":\"1\"}"), "message decode error: json: cannot unmarshal "
                                             "string into Go struct field GlideMessage.ver of "
                                             "type int64");
    expect_eq(decode_err("{\"action\":1}"), "message decode error: json: cannot unmarshal "
                                            "number into Go struct field GlideMessage.action "
                                            "of type string");
    expect_eq(decode_err("{\"seq\":1.5}"), "message decode error: json: cannot unmarshal number "
                                           "1.5 into Go struct field GlideMessage.seq of type "
                                           "int64");
    expect_eq(decode_err("{\"seq\":1e3}"), "message decode error: json: cannot unmarshal number "
                                           "1e3 into Go struct field GlideMessage.seq of type "
                                           "int64");
    expect_eq(decode_err("{\"seq\":9223372036854775808}"),
              "message decode error: json: cannot unmarshal number 9223372036854775808 into Go "
              "struct field GlideMessage.seq of type int64");
    expect_eq(decode_err("{\"extra\":{\"k\":1}}"),
              "message decode error: json: cannot unmarshal number into Go struct field "
              "GlideMessage.extra of type string");
    expect_eq(decode_err("{\"extra\":[]}"), "message decode error: json: cannot unmarshal array "
                                            "into Go struct field GlideMessage.extra of type "
                                            "map[string]string");
    // A syntax error anywhere wins over an earlier type error, as with Go's checkValid.
    expect_eq(decode_err("{\"ver\":\"1\",]"), "message decode error: invalid character ']' "
                                              "looking for beginning of object key string");
}

void test_error_precedence(void **) {
    // Decoding validates as it goes; whatever type error it meets first, the rest of the text
    // is still validated and a syntax error anywhere after it wins, as with Go's checkValid.
    expect_eq(decode_err("{\"seq\":\"x\",\"data\":{\"a\":[1,}}"),
              "message decode error: invalid character '}' looking for beginning of value");
    expect_eq(decode_err("{\"seq\":true,\"action\":\"x\""),
              "message decode error: unexpected end of JSON input");
    expect_eq(decode_err("{\"seq\":true} x"),
              "message decode error: invalid character 'x' after top-level value");
    expect_eq(decode_err("{\"extra\":{\"k\":1},\"msg\":\"\xff\"}"),
              "message decode error: invalid UTF-8 in string");
    expect_eq(decode_err("{\"extra\":{\"k\":1},\"msg\":\"\\q\"}"),
              "message decode error: invalid character 'q' in string escape code");
    expect_eq(decode_err("[1] x"),
              "message decode error: invalid character 'x' after top-level value");
    expect_eq(decode_err("[1,{\"seq\":\"x\"}]"),
              "message decode error: json: cannot unmarshal array into Go value of type "
              "messages.GlideMessage");
    // Without a syntax error the first type error is the answer.
    expect_eq(decode_err("{\"seq\":true,\"ver\":\"x\"}"),
              "message decode error: json: cannot unmarshal bool into Go struct field "
              "GlideMessage.seq of type int64");
    // Keys inside a member's value do not stand for the member's key.
    expect_eq(decode_err("{\"action\":{\"seq\":1}}"),
              "message decode error: json: cannot unmarshal object into Go struct field "
              "GlideMessage.action of type string");
    Envelope e = decode_ok("{\"data\":{\"seq\":{\"ver\":[]}},\"action\":\"a\",\"seq\":3}");
    assert_string_equal(e.action.c_str(), "a");
    assert_int_equal(e.seq, 3);
    assert_int_equal(e.ver, 1);

    // The same for payloads decoded from text not yet validated.
    ChatMessage m;
    Status st = decode_json_payload("{\"type\":\"x\",\"content\":\"a\"", &m);
    assert_false(st.ok());
    expect_eq(st.error(), "unexpected end of JSON input");
    st = decode_json_payload("{\"type\":\"x\",\"content\":\"a\"}", &m);
    assert_false(st.ok());
    expect_eq(st.error(), "json: cannot unmarshal string into Go struct field ChatMessage.type "
                          "of type int32");
}

void test_go_semantics(void **) {
    Envelope e = decode_ok("{\"ACTION\":\"heartbeat\",\"Seq\":4,\"unknown\":{\"x\":[1]}}");
    assert_string_equal(e.action.c_str(), "heartbeat");
    assert_int_equal(e.seq, 4);
    assert_int_equal(e.ver, 1); // missing ver is 1
    assert_true(std::holds_alternative<std::monostate>(e.data));

    e = decode_ok("{\"ver\":null,\"seq\":null,\"action\":null}");
    assert_int_equal(e.ver, 1);
    assert_int_equal(e.seq, 0);

    e = decode_ok("{\"ver\":0,\"action\":\"a\"}");
    assert_int_equal(e.ver, 0);
    expect_eq(encode_ok(e), "{\"action\":\"a\"}");

    // Duplicate keys: the last wins; null leaves the earlier value.
    e = decode_ok("{\"seq\":1,\"seq\":2,\"action\":\"a\",\"action\":\"b\",\"seq\":null}");
    assert_int_equal(e.seq, 2);
    assert_string_equal(e.action.c_str(), "b");

    // Escaped keys and Go's special folds (ſ -> s, Kelvin sign -> k).
    e = decode_ok("{\"\\u0061ction\":\"x\",\"\xc5\xbf"
                  "eq\":9,\"tic\xe2\x84\xaa"
                  "et\":\"t\"}");
    assert_string_equal(e.action.c_str(), "x");
    assert_int_equal(e.seq, 9);
    assert_string_equal(e.ticket.c_str(), "t");

    // Top-level null decodes to the empty message, as Go's Unmarshal does.
    e = decode_ok(" null ");
    assert_true(e.action.empty());

    // extra: sorted on output, repeated objects merge, null clears.
    e = decode_ok("{\"action\":\"a\",\"extra\":{\"b\":\"2\",\"a\":\"1\"},\"extra\":{\"c\":null}}");
    expect_eq(encode_ok(e),
              "{\"ver\":1,\"action\":\"a\",\"extra\":{\"a\":\"1\",\"b\":\"2\",\"c\":\"\"}}");
    e = decode_ok("{\"action\":\"a\",\"extra\":{\"b\":\"2\"},\"extra\":null}");
    assert_true(e.extra.empty());

    // Raw data keeps any JSON type and is compacted and HTML-escaped on output.
    e = decode_ok("{\"action\":\"a\",\"data\": [ 1 , \"<&>\" , {\"a\" : 1.50e+3} ] }");
    expect_eq(encode_ok(e), "{\"ver\":1,\"action\":\"a\",\"data\":[1,\"\\u003c\\u0026\\u003e\","
                            "{\"a\":1.50e+3}]}");

    // Strings unescape, with lone surrogates replaced by U+FFFD.
    e = decode_ok("{\"action\":\"\\ud83d\\ude00 \\ud800 \\u00e9\\n\\/\"}");
    assert_string_equal(e.action.c_str(), "\xf0\x9f\x98\x80 \xef\xbf\xbd \xc3\xa9\n/");
}

void test_message_cli_forward(void **) {
    // protocol.md §6.10: forwarded with from overwritten, data compacted and HTML-escaped.
    Envelope e = decode_ok("{\"seq\":3,\"action\":\"message.cli\",\"to\":\"1002\",\"data\":{ "
                           "\"type\" : \"typing\", \"content\": {\"x\": \"<a>\"} },"
                           "\"ticket\":\"T\",\"extra\":{\"k\":\"v\"}}");
    e.from = "1001";
    expect_eq(encode_ok(e), "{\"ver\":1,\"seq\":3,\"action\":\"message.cli\",\"from\":\"1001\","
                            "\"to\":\"1002\",\"data\":{\"type\":\"typing\",\"content\":{\"x\":"
                            "\"\\u003ca\\u003e\"}},\"ticket\":\"T\",\"extra\":{\"k\":\"v\"}}");
}

void test_server_messages(void **) {
    ServerHello h;
    h.temp_id = "tmp@0b6f3c1e-1d2a-4c3b-9f00-1234567890ab";
    h.heartbeat_interval = 30;
    expect_eq(encode_ok(make_message(0, action::hello, h)),
              "{\"ver\":1,\"action\":\"hello\",\"data\":{\"temp_id\":\"tmp@0b6f3c1e-1d2a-4c3b-"
              "9f00-1234567890ab\",\"heartbeat_interval\":30}}");
    expect_eq(encode_ok(make_message(0, action::heartbeat, Null{})),
              "{\"ver\":1,\"action\":\"heartbeat\",\"data\":null}");
    expect_eq(encode_ok(make_message(1, action::notify_success, Null{})),
              "{\"ver\":1,\"seq\":1,\"action\":\"notify.success\",\"data\":null}");
    AckMessage ack{"c-1", 1720000000, "", 3};
    expect_eq(encode_ok(make_message(0, action::ack_message, ack)),
              "{\"ver\":1,\"action\":\"ack.message\",\"data\":{\"cliMid\":\"c-1\",\"mid\":"
              "1720000000,\"seq\":3}}");
    expect_eq(
        encode_ok(make_message(-1, action::notify_error, Text{"boom <1>"})),
        "{\"ver\":1,\"seq\":-1,\"action\":\"notify.error\",\"data\":\"boom \\u003c1\\u003e\"}");
    EncryptedCredential c;
    expect_eq(
        encode_ok(make_message(0, action::authenticate, c)),
        "{\"ver\":1,\"action\":\"authenticate\",\"data\":{\"version\":0,\"credential\":\"\"}}");
    GroupNotify g{"system", 3, ""};
    expect_eq(encode_ok(make_message(0, action::group_notify, g)),
              "{\"ver\":1,\"action\":\"message.group.notify\",\"data\":{\"from\":\"system\","
              "\"type\":3,\"body\":null}}");
    // Extra built out of order by hand is still emitted sorted, last duplicate winning.
    Envelope e = make_message(0, "a", Null{});
    e.extra = {{"z", "1"}, {"a", "2"}, {"z", "3"}};
    expect_eq(encode_ok(e), "{\"ver\":1,\"action\":\"a\",\"data\":null,\"extra\":{\"a\":\"2\","
                            "\"z\":\"3\"}}");
}

void test_later_glide_inputs(void **) {
    // HEAD's snake-case cli_mid and ack routing fields are accepted, v1.6 keys emitted.
    Envelope e = decode_ok("{\"action\":\"ack.request\",\"data\":{\"mid\":1,\"from\":\"1002\","
                           "\"to\":\"1001\",\"cli_mid\":\"c-1\",\"seq\":3}}");
    auto r = decode_payload<AckRequest>(e);
    assert_true(r.ok());
    assert_string_equal(r->cli_mid.c_str(), "c-1");
    assert_string_equal(r->to.c_str(), "1001");
    AckNotify n{r->cli_mid, r->seq, r->mid, r->from, r->to};
    std::string out;
    encode_json_payload(n, &out);
    expect_eq(out, "{\"cliMid\":\"c-1\",\"seq\":3,\"mid\":1,\"from\":\"1002\",\"to\":\"1001\"}");

    e = decode_ok("{\"action\":\"ack.message\",\"data\":{\"cli_mid\":\"c-1\",\"mid\":5,"
                  "\"from\":\"1002\",\"seq\":3}}");
    auto a = decode_payload<AckMessage>(e);
    assert_true(a.ok());
    assert_string_equal(a->cli_mid.c_str(), "c-1");
    assert_string_equal(a->from.c_str(), "1002");
}

void test_decode_payload_errors(void **) {
    Envelope e = decode_ok("{\"action\":\"message.chat\"}");
    auto r = decode_payload<ChatMessage>(e);
    assert_false(r.ok());
    assert_string_equal(r.error().c_str(), "data is nil");
    e = decode_ok("{\"action\":\"message.chat\",\"data\":null}");
    assert_string_equal(decode_payload<ChatMessage>(e).error().c_str(), "data is nil");
    e = decode_ok("{\"action\":\"message.chat\",\"data\":{\"mid\":\"1\"}}");
    assert_string_equal(decode_payload<ChatMessage>(e).error().c_str(),
                        "message decode error: json: cannot unmarshal string into Go struct "
                        "field ChatMessage.mid of type int64");
    e = decode_ok("{\"action\":\"message.chat\",\"data\":{\"type\":2147483648}}");
    assert_string_equal(decode_payload<ChatMessage>(e).error().c_str(),
                        "message decode error: json: cannot unmarshal number 2147483648 into Go "
                        "struct field ChatMessage.type of type int32");
    e = decode_ok("{\"action\":\"message.chat\",\"data\":\"hi\"}");
    assert_string_equal(decode_payload<ChatMessage>(e).error().c_str(),
                        "message decode error: json: cannot unmarshal string into Go value of "
                        "type messages.ChatMessage");
    e = make_message(0, action::chat, Text{"x"});
    assert_string_equal(decode_payload<ChatMessage>(e).error().c_str(),
                        "deserialize message data failed");
    e = decode_ok("{\"action\":\"notify.state\",\"data\":{\"online\":1}}");
    assert_string_equal(decode_payload<UserState>(e).error().c_str(),
                        "message decode error: json: cannot unmarshal number into Go struct "
                        "field UserStateData.online of type bool");
    e = decode_ok("{\"action\":\"api.state.sub\",\"data\":{\"uids\":[\"a\",2]}}");
    assert_string_equal(decode_payload<StateSubscribe>(e).error().c_str(),
                        "message decode error: json: cannot unmarshal number into Go struct "
                        "field StateSubscribeData.uids of type string");
}

void test_writer_escaping(void **) {
    std::string out;
    json::write_string(&out, std::string("a\"b\\c\n\r\t\b\f\x01\x1f<>&\x7f", 16));
    expect_eq(out, "\"a\\\"b\\\\c\\n\\r\\t\\u0008\\u000c\\u0001\\u001f\\u003c\\u003e\\u0026\x7f\"");
    out.clear();
    json::write_string(&out, "\xe2\x80\xa8|\xe2\x80\xa9|\xff|\xc3|\xe2\x82\xac|\xed\xa0\x80");
    expect_eq(out, "\"\\u2028|\\u2029|\\ufffd|\\ufffd|\xe2\x82\xac|\\ufffd\\ufffd\\ufffd\"");
    out.clear();
    json::write_compact(&out, " { \"a\\\"<\" : [ 1 , \xe2\x80\xa8\"\xe2\x80\xa9\" ] } ");
    // (outside strings U+2028 cannot occur in validated JSON; only the string one is escaped)
    out.clear();
    json::write_compact(&out, " { \"a\\\"<\" : [ 1 , \"\xe2\x80\xa9\\n\" ] } ");
    expect_eq(out, "{\"a\\\"\\u003c\":[1,\"\\u2029\\n\"]}");
}

// The scanner, the walker and the writer skip plain text 8 bytes at a time: each kind of byte
// they must stop at goes at every position of a word, and past the first word.
void test_special_bytes_at_every_offset(void **) {
    for (size_t n = 0; n < 20; ++n) {
        std::string pre(n, 'a');
        std::string post = "bcdefghijkl";
        std::string err;
        assert_false(json::validate("\"" + pre + "\x01" + post + "\"", &err));
        expect_eq(err, "invalid character '\\x01' in string literal");
        assert_false(json::validate("\"" + pre + "\x1f" + post + "\"", &err));
        expect_eq(err, "invalid character '\\x1f' in string literal");
        assert_false(json::validate("\"" + pre + "\xff" + post + "\"", &err));
        expect_eq(err, "invalid UTF-8 in string");
        assert_false(json::validate("\"" + pre + "\xed\xa0\x80" + post + "\"", &err));
        expect_eq(err, "invalid UTF-8 in string");
        assert_false(json::validate("\"" + pre + "\"" + post + "\"", &err));
        expect_eq(err, "invalid character 'b' after top-level value");
        assert_false(json::validate("\"" + pre + "\\x" + post + "\"", &err));
        expect_eq(err, "invalid character 'x' in string escape code");
        assert_false(json::validate("\"" + pre, &err));
        expect_eq(err, "unexpected end of JSON input");
        assert_true(json::validate("\"" + pre + "\x7f~ " + post + "\"", &err));

        // Escapes and multi-byte UTF-8 at every offset: validated, walked and unescaped.
        std::string tok = "\"" + pre + "\xc3\xa9\\\"\\u0041" + post + "\\\\\"";
        assert_true(json::validate(tok, &err));
        std::string s;
        json::unescape_string(tok, &s);
        expect_eq(s, pre + "\xc3\xa9\"A" + post + "\\");
        Envelope e = decode_ok("{\"action\":" + tok + ",\"data\":{\"content\":" + tok +
                               ",\"to\":\"x\"},\"to\":\"y\"}");
        expect_eq(e.action, s);
        expect_eq(e.to, "y");
        auto chat = decode_payload<ChatMessage>(e);
        assert_true(chat.ok());
        expect_eq(chat->content, s);
        expect_eq(chat->to, "x");

        assert_true(json::valid_utf8(pre + "\xc3\xa9" + post + "\xf0\x9f\x98\x80"));
        assert_false(json::valid_utf8(pre + "\xc3"));
        assert_false(json::valid_utf8(pre + "\xc0\x80" + post));
        assert_false(json::valid_utf8(pre + "\xed\xa0\x80" + post));

        // The writer escapes each special byte wherever it falls.
        const std::pair<std::string, std::string> escapes[] = {
            {"\"", "\\\""},          {"\\", "\\\\"},          {"<", "\\u003c"},
            {">", "\\u003e"},          {"&", "\\u0026"},          {"\n", "\\n"},
            {std::string(1, '\0'), "\\u0000"}, {"\x1f", "\\u001f"},  {"\xff", "\\ufffd"},
            {"\xe2\x80\xa8", "\\u2028"}, {"\xc3\xa9", "\xc3\xa9"}, {"=?", "=?"},
        };
        for (const auto &[raw, escaped] : escapes) {
            std::string out;
            json::write_string(&out, pre + raw + post);
            expect_eq(out, "\"" + pre + escaped + post + "\"");
        }
    }
}

// validate() hands the decoder each top-level member as its value ends: many nested
// containers, keys inside them and whitespace around them still come out as the right members.
void test_top_level_containers(void **) {
    std::string in = "{";
    for (int i = 0; i < 12; ++i)
        in += "\"x" + std::to_string(i) + "\" : { \"a\" : [ 1 , { } ] , \"to\" : \"no\" } , ";
    in += "\"extra\" : { \"k\" : \"v\" } , \"data\" : { \"to\" : \"d\" , \"x\" : [ ] } , "
          "\"to\" : \"t\" } ";
    Envelope e = decode_ok(in);
    expect_eq(e.to, "t");
    assert_int_equal(e.extra.size(), 1);
    expect_eq(e.extra[0].second, "v");
    auto chat = decode_payload<ChatMessage>(e);
    assert_true(chat.ok());
    expect_eq(chat->to, "d");
    expect_eq(encode_ok(e), "{\"ver\":1,\"action\":\"\",\"to\":\"t\",\"data\":{\"to\":\"d\",\"x\":[]},"
                            "\"extra\":{\"k\":\"v\"}}");
    json::Value top = json::top_value(" \t[1, 2]\n ");
    assert_true(top.kind == json::Kind::array);
    expect_eq(std::string(top.text), "[1, 2]");
    assert_true(json::top_value("-1.5e3 ").kind == json::Kind::number);
    assert_true(json::top_value(" \"s\"").kind == json::Kind::string);
}

void test_key_matching(void **) {
    assert_true(json::key_matches("cliMid", "cliMid"));
    assert_true(json::key_matches("CLIMID", "cliMid"));
    assert_true(json::key_matches("climid", "cliMid"));
    assert_false(json::key_matches("cliMi", "cliMid"));
    assert_false(json::key_matches("cliMidx", "cliMid"));
    assert_false(json::key_matches("cli_mid", "cliMid"));
    assert_false(json::key_matches("", "to"));
    assert_false(json::key_matches("To\\", "to"));
    assert_true(json::key_matches("\\u0074o", "to"));
    assert_true(json::key_matches("\\u0054\\u004F", "to"));
    assert_false(json::key_matches("\\u0074", "to"));
    assert_true(json::key_matches("\xc5\xbf"
                                  "eq",
                                  "seq"));
    assert_true(json::key_matches("\xe2\x84\xaa"
                                  "ey",
                                  "key"));
    assert_false(json::key_matches("\xc3\xa9", "e"));
    // A key as long as the name matches only as plain ASCII: an escape or a multi-byte
    // character stands for fewer characters than it has bytes.
    assert_false(json::key_matches("\xc5\xbf", "se"));
    assert_true(json::key_matches("SendAT", "sendAt"));
    assert_false(json::key_matches("sendA", "sendAt"));
    assert_false(json::key_matches("send@", "sendA`"));
    // '@' and '`' differ only in bit 0x20 but are not letters.
    assert_false(json::key_matches("`", "@"));
    assert_false(json::key_matches("[", "{"));
    // Longer keys: a plain prefix as long as the name leaves extra characters; a mismatch
    // before the first escape decides.
    assert_false(json::key_matches("content", "cliMid"));
    assert_false(json::key_matches("sendAt", "seq"));
    assert_false(json::key_matches("seq\\u0000", "seq"));
    assert_false(json::key_matches("x\\u0065q", "seq"));
    assert_true(json::key_matches("S\\u0065Q", "seq"));
    assert_true(json::key_matches("\\u0073eq", "seq"));
}

void test_scanner_depth(void **) {
    std::string deep(10000, '[');
    deep += std::string(10000, ']');
    std::string err;
    assert_true(json::validate(deep, &err));
    std::string deeper = "[" + deep + "]";
    assert_false(json::validate(deeper, &err));
    assert_string_equal(err.c_str(), "invalid character '[' exceeded max depth");
}


// decode_json with a PreDecoded: the data of message.chat / resend / group and ack.request is
// decoded as the envelope is validated, and gives what decode_payload gives for the envelope.
PreDecoded::Type pre_decode(std::string_view in, PreDecoded *pre, Envelope *e) {
    Status st = decode_json(in, e, nullptr, pre);
    if (!st) {
        fprintf(stderr, "decode failed for %.*s: %s\n", int(in.size()), in.data(),
                st.error().c_str());
        fail();
    }
    if (pre->type == PreDecoded::Type::chat) {
        auto want = decode_payload<ChatMessage>(*e);
        assert_true(want.ok());
        assert_true(pre->chat == want.value());
    } else if (pre->type == PreDecoded::Type::ack_request) {
        auto want = decode_payload<AckRequest>(*e);
        assert_true(want.ok());
        assert_true(pre->ack_request == want.value());
    }
    return pre->type;
}

void test_pre_decoded_payloads(void **) {
    using T = PreDecoded::Type;
    PreDecoded pre;
    struct Case {
        const char *in;
        T type;
    } cases[] = {
        // Escapes, surrogate pairs, lone surrogates, big and negative integers, the cli_mid
        // alias, folded keys, unknown keys with nested containers, null keeping a default.
        {R"({"ver":1,"seq":4242,"action":"message.chat","to":"b","data":{"cli_mid":"c\"1",)"
         R"("mid":-9223372036854775808,"seq":-5,"from":null,"To":"\u0062\n","type":-2147483648,)"
         R"("CONTENT":"a\\b\/\u00e9\ud83d\ude00\udc00 \t","sendAt":9223372036854775807,)"
         R"("x":{"data":{"content":"no"},"y":[1,{"z":"}]"}]},"\u0073endAt":123456789012345678}})",
         T::chat},
        {R"({"action":"message.chat.resend","data":{"mid":999999999999999999,"type":2147483647}})",
         T::chat},
        {R"({"action":"message.group","DATA":{"content":"g"},"to":"g1"})", T::chat},
        {R"({"action":"ack.request","data":{"cliMid":"c","seq":1,"mid":-1,"from":"a","to":"b"}})",
         T::ack_request},
        // The action is known only after the data: decode_payload walks it.
        {R"({"data":{"content":"late"},"action":"message.chat"})", T::none},
        // The action changes after the data: decoded as the first, still the same bytes.
        {R"({"action":"ack.request","data":{"mid":5,"from":"a"},"action":"message.chat"})",
         T::ack_request},
        // The last data wins.
        {R"({"action":"message.chat","data":{"content":"a"},"data":{"mid":7}})", T::chat},
        {R"({"action":"message.chat","data":{"content":"a"},"data":null})", T::none},
        {R"({"action":"message.chat","data":null,"data":{"content":"b"}})", T::chat},
        {R"({"action":"message.chat","data":{"content":"a"},"data":"s"})", T::none},
        // Not an object, or no payload pre-decoded for the action.
        {R"({"action":"message.chat","data":[{"content":"a"}]})", T::none},
        {R"({"action":"message.cli","data":{"type":"t","content":{}}})", T::none},
        {R"({"action":"ack.notify","data":{"mid":1}})", T::none},
        {R"({"action":"message.chat","data":{}})", T::chat},
        // Type errors leave it to decode_payload, which reports them.
        {R"({"action":"message.chat","data":{"mid":"1"}})", T::none},
        {R"({"action":"message.chat","data":{"mid":1.5,"content":"x"}})", T::none},
        {R"({"action":"message.chat","data":{"type":2147483648}})", T::none},
        {R"({"action":"message.chat","data":{"seq":9223372036854775808}})", T::none},
        {R"({"action":"ack.request","data":{"from":1}})", T::none},
        // A failed first data does not stop a later one.
        {R"({"action":"message.chat","data":{"mid":"1"},"data":{"mid":2}})", T::chat},
    };
    for (const auto &c : cases) {
        Envelope e;
        PreDecoded::Type got = pre_decode(c.in, &pre, &e);
        if (got != c.type) {
            fprintf(stderr, "pre-decoded type %d, want %d for %s\n", int(got), int(c.type), c.in);
            fail();
        }
    }
    // The values themselves, and the type error decode_payload then reports.
    Envelope e;
    pre_decode(cases[0].in, &pre, &e);
    expect_eq(pre.chat.cli_mid, "c\"1");
    assert_true(pre.chat.mid == INT64_MIN);
    assert_int_equal(pre.chat.seq, -5);
    expect_eq(pre.chat.to, "b\n");
    assert_int_equal(pre.chat.type, INT32_MIN);
    expect_eq(pre.chat.content, "a\\b/\xc3\xa9\xf0\x9f\x98\x80\xef\xbf\xbd \t");
    assert_int_equal(pre.chat.send_at, 123456789012345678);
    Envelope bad;
    pre_decode(R"({"action":"message.chat","data":{"mid":1.5,"content":"x"}})", &pre, &bad);
    auto r = decode_payload<ChatMessage>(bad);
    assert_false(r.ok());
    assert_string_equal(r.error().c_str(), "message decode error: json: cannot unmarshal number "
                                           "1.5 into Go struct field ChatMessage.mid of type int64");
    // Reused: nothing of the previous message stays.
    Envelope e2;
    pre_decode(R"({"action":"message.chat","data":{"mid":3}})", &pre, &e2);
    assert_true(pre.chat == (ChatMessage{{}, 3, 0, {}, {}, 0, {}, 0}));
    // take_pre_decoded swaps out what is there of the asked type, once.
    ChatMessage m;
    m.content = "old";
    AckRequest a;
    assert_false(take_pre_decoded(&pre, &a));
    assert_true(take_pre_decoded(&pre, &m));
    assert_int_equal(m.mid, 3);
    expect_eq(pre.chat.content, "old");
    assert_true(pre.type == PreDecoded::Type::none);
    assert_false(take_pre_decoded(&pre, &m));
}

void test_pre_decoded_failed_envelope(void **) {
    // A syntax error after the data, or an envelope type error, fails the decode: nothing is
    // pre-decoded. The syntax error wins over the data's type error.
    PreDecoded pre;
    const char *bad[] = {
        R"({"action":"message.chat","data":{"mid":1},"to":})",
        R"({"action":"message.chat","data":{"mid":1},"seq":"x"})",
        R"({"action":"message.chat","data":{"mid":"x"},"to":})",
        R"({"action":"message.chat","data":{"mid":1})",
        R"({"action":"message.chat","data":{"mid":1}} x)",
    };
    const char *want[] = {
        "message decode error: invalid character '}' looking for beginning of value",
        "message decode error: json: cannot unmarshal string into Go struct field "
        "GlideMessage.seq of type int64",
        "message decode error: invalid character '}' looking for beginning of value",
        "message decode error: unexpected end of JSON input",
        "message decode error: invalid character 'x' after top-level value",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; ++i) {
        Envelope e;
        pre.type = PreDecoded::Type::chat;
        Status st = decode_json(bad[i], &e, nullptr, &pre);
        assert_false(st.ok());
        assert_string_equal(st.error().c_str(), want[i]);
        assert_true(pre.type == PreDecoded::Type::none);
    }
    // A protobuf decode pre-decodes nothing.
    pre.type = PreDecoded::Type::chat;
    Envelope e;
    (void)decode(Codec::protobuf, "", &e, nullptr, &pre);
    assert_true(pre.type == PreDecoded::Type::none);
}

void test_parse_int64(void **) {
    struct Case {
        const char *in;
        bool ok;
        int64_t v;
    } cases[] = {
        {"0", true, 0},
        {"-0", true, 0},
        {"7", true, 7},
        {"-7", true, -7},
        {"999999999999999999", true, 999999999999999999},
        {"-999999999999999999", true, -999999999999999999},
        {"1000000000000000000", true, 1000000000000000000},
        {"9223372036854775807", true, INT64_MAX},
        {"-9223372036854775808", true, INT64_MIN},
        {"9223372036854775808", false, 0},
        {"-9223372036854775809", false, 0},
        {"99999999999999999999", false, 0},
        {"", false, 0},
        {"-", false, 0},
        {"1.5", false, 0},
        {"1e3", false, 0},
        {"12a", false, 0},
        {"+1", false, 0},
        {"--1", false, 0},
    };
    for (const auto &c : cases) {
        int64_t v = 42;
        bool ok = json::parse_int64(c.in, &v);
        if (ok != c.ok || (ok && v != c.v)) {
            fprintf(stderr, "parse_int64(%s): %d %lld\n", c.in, ok, (long long)v);
            fail();
        }
    }
}
} // namespace

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_verified_samples_roundtrip),
        cmocka_unit_test(test_payloads_typed_reencode),
        cmocka_unit_test(test_go_syntax_errors),
        cmocka_unit_test(test_go_type_errors),
        cmocka_unit_test(test_error_precedence),
        cmocka_unit_test(test_go_semantics),
        cmocka_unit_test(test_message_cli_forward),
        cmocka_unit_test(test_server_messages),
        cmocka_unit_test(test_later_glide_inputs),
        cmocka_unit_test(test_decode_payload_errors),
        cmocka_unit_test(test_writer_escaping),
        cmocka_unit_test(test_special_bytes_at_every_offset),
        cmocka_unit_test(test_top_level_containers),
        cmocka_unit_test(test_key_matching),
        cmocka_unit_test(test_pre_decoded_payloads),
        cmocka_unit_test(test_pre_decoded_failed_envelope),
        cmocka_unit_test(test_parse_int64),
        cmocka_unit_test(test_scanner_depth),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
