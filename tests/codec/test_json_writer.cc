// The JSON writer's member paths: the brace that goes out with the first member, numbers (the
// one-digit shortcut and to_chars), and strings written with their key in one append (short and
// plain) or through the escaping loop (long, or anything to escape), at every length around the
// word boundaries the plain test reads in.
#include "codec/json_writer.h"

#include <cstdint>
#include <cstdio>
#include <string>

#include "glide_cmocka.h"

using namespace glide::codec;

namespace {

void expect_eq(const std::string &got, const std::string &want) {
    if (got != want) {
        fprintf(stderr, "got:  %s\nwant: %s\n", got.c_str(), want.c_str());
        fail();
    }
}

void test_object_braces(void **) {
    std::string out = "x";
    json::ObjectWriter empty(&out);
    empty.end();
    expect_eq(out, "x{}");

    out.clear();
    json::ObjectWriter w(&out);
    w.num("a", 1);
    json::ObjectWriter inner(w.key("in"));
    inner.end();
    json::ObjectWriter nested(w.key("n"));
    nested.str("s", "v");
    nested.boolean("b", true);
    nested.end();
    w.str_omitempty("e", "");
    w.num_omitempty("z", 0);
    w.end();
    expect_eq(out, "{\"a\":1,\"in\":{},\"n\":{\"s\":\"v\",\"b\":true}}");

    // The first member may be any kind.
    for (int kind = 0; kind < 4; ++kind) {
        out.clear();
        json::ObjectWriter f(&out);
        switch (kind) {
        case 0: f.str("k", "v"); break;
        case 1: f.num("k", 12); break;
        case 2: f.key("k")->append("null"); break;
        default: f.strings("k", {"a", "<"}); break;
        }
        f.end();
        const char *want[] = {"{\"k\":\"v\"}", "{\"k\":12}", "{\"k\":null}",
                              "{\"k\":[\"a\",\"\\u003c\"]}"};
        expect_eq(out, want[kind]);
    }
}

void test_numbers(void **) {
    const std::pair<int64_t, const char *> cases[] = {
        {0, "0"},
        {1, "1"},
        {9, "9"},
        {10, "10"},
        {-1, "-1"},
        {-9, "-9"},
        {4242, "4242"},
        {1732600000123, "1732600000123"},
        {INT64_MAX, "9223372036854775807"},
        {INT64_MIN, "-9223372036854775808"},
    };
    for (const auto &[v, text] : cases) {
        std::string out;
        json::ObjectWriter w(&out);
        w.num("longest_key_name_of_28_bytes", v);
        w.num("n", v);
        w.end();
        expect_eq(out, std::string("{\"longest_key_name_of_28_bytes\":") + text + ",\"n\":" +
                           text + "}");
        out.clear();
        json::write_int(&out, v);
        expect_eq(out, text);
    }
}

// A member string of every length up to past the short limit, plain or with one byte to escape
// at its start, middle or end, comes out as write_string alone writes it.
void test_member_strings(void **) {
    const std::pair<std::string, std::string> specials[] = {
        {"\"", "\\\""},           {"\\", "\\\\"},         {"<", "\\u003c"},
        {">", "\\u003e"},         {"&", "\\u0026"},       {"\x01", "\\u0001"},
        {std::string(1, '\0'), "\\u0000"}, {"\xc3\xa9", "\xc3\xa9"}, {"\xff", "\\ufffd"},
        {"\xe2\x80\xa9", "\\u2029"},
    };
    for (size_t n = 0; n <= 300; n += (n < 40 ? 1 : 37)) {
        // Printable ASCII without the bytes json.Marshal escapes.
        const std::string alphabet = "abcdefghijklmnopqrstuvwxyz ABCXYZ0123456789!#$%'()*+,-./:;=?@[]^_`{|}~";
        std::string plain;
        for (size_t i = 0; i < n; ++i)
            plain.push_back(alphabet[i % alphabet.size()]);
        std::string out;
        json::ObjectWriter w(&out);
        w.str("k", plain);
        w.end();
        expect_eq(out, "{\"k\":\"" + plain + "\"}");
        out.clear();
        json::write_string(&out, plain);
        expect_eq(out, "\"" + plain + "\"");
        if (n == 0)
            continue;
        for (const auto &[raw, escaped] : specials) {
            for (size_t at : {size_t{0}, n / 2, n - 1}) {
                std::string s = plain;
                s.replace(at, 1, raw);
                std::string want = plain;
                want.replace(at, 1, escaped);
                out.clear();
                json::ObjectWriter m(&out);
                m.num("a", 1);
                m.str("k", s);
                m.end();
                expect_eq(out, "{\"a\":1,\"k\":\"" + want + "\"}");
            }
        }
    }
}

} // namespace

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_object_braces),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_member_strings),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
