// The Applier and the generic setters, over a small table that uses every setter.
#include <string>
#include <vector>

#include "conf/conf.h"
// Last: cmocka defines macros (fail, skip) that clash with the standard library.
#include "glide_cmocka.h"

using namespace glide;
using namespace glide::conf;

namespace {

enum class Codec { Json, Protobuf };

struct TestConf {
    uint64_t max_message = 0;
    uint64_t heartbeat_ms = 0;
    uint64_t lost = 0;
    uint64_t min_only = 0;
    uint32_t workers = 0;
    uint16_t port = 0;
    bool daemon = true;
    std::string node;
    std::string mode;
    unsigned codec_index = 99;
    Codec codec = Codec::Protobuf;
    std::string single;
    std::vector<std::string> origins;
    std::vector<std::string> calls; // what the custom setter saw
};

const char *const modes[] = {"ws", "tcp", "both", nullptr};
const char *const codecs[] = {"json", "protobuf", nullptr};
const char *const only[] = {"x", nullptr};

Status set_custom(const Spec &spec, void *conf, const std::vector<std::string> &args) {
    auto *c = static_cast<TestConf *>(conf);
    if (!args.empty() && args[0] == "bad")
        return invalid_value(spec, args[0]);
    std::string s = "(";
    for (const auto &a : args)
        s += a + ",";
    c->calls.push_back(s + ")");
    return {};
}

constexpr unsigned M = CTX_MAIN;
constexpr uint64_t SEC = 1000, HOUR = 3600 * SEC;

const Spec table[] = {
    {"glide_max_message_size", M | RELOADABLE, 1, 1, set_size<&TestConf::max_message>, 1024,
     64 << 20, nullptr, "64k", "glide_max_message_size SIZE", "Largest message."},
    {"glide_heartbeat_interval", M | RELOADABLE, 1, 1, set_time<&TestConf::heartbeat_ms>, SEC, HOUR,
     nullptr, "30s"},
    {"glide_heartbeat_lost", M, 1, 1, set_uint<&TestConf::lost>, 1, 100, nullptr, "3"},
    {"min_only", M, 1, 1, set_uint<&TestConf::min_only>, 5},
    {"workers", M, 1, 1, set_uint<&TestConf::workers>},
    {"port", M, 1, 1, set_uint<&TestConf::port>, 1},
    {"daemon", M, 1, 1, set_flag<&TestConf::daemon>, 0, UINT64_MAX, nullptr, "off"},
    {"glide_node_id", M, 1, 1, set_string<&TestConf::node>, 0, UINT64_MAX, nullptr, "node1"},
    {"mode", M, 1, 1, set_enum<&TestConf::mode>, 0, UINT64_MAX, modes, "ws"},
    {"codec_index", M, 1, 1, set_enum<&TestConf::codec_index>, 0, UINT64_MAX, codecs},
    {"codec", M, 1, 1, set_enum<&TestConf::codec>, 0, UINT64_MAX, codecs, "json"},
    {"single", M, 1, 1, set_enum<&TestConf::single>, 0, UINT64_MAX, only},
    {"origins", M | MULTI, 1, 8, set_string<&TestConf::origins>, 0, UINT64_MAX, nullptr,
     "a.example  b.example"},
    {"custom", M | MULTI, 0, 2, set_custom},
    {"nested_only", 0, 0, 1, set_custom},
};
constexpr size_t N = sizeof table / sizeof table[0];

size_t index_of(const char *name) {
    for (size_t i = 0; i < N; i++)
        if (std::string_view(name) == table[i].name)
            return i;
    fail_msg("no spec %s", name);
    return 0;
}

Directive make(const char *name, std::vector<std::string> args, unsigned line = 1,
               bool block = false) {
    Directive d;
    d.name = name;
    d.args = std::move(args);
    d.file = "t.conf";
    d.line = line;
    d.has_block = block;
    return d;
}

void apply_ok(Applier &a, const Directive &d) {
    Status st = a.apply(d);
    if (!st)
        fail_msg("apply(%s): %s", d.name.c_str(), st.error().c_str());
}

void expect_apply_error(const Directive &d, const std::string &want) {
    TestConf c;
    Applier a(table, N, &c);
    Status st = a.apply(d);
    if (st)
        fail_msg("apply(%s) accepted", d.name.c_str());
    assert_string_equal(st.error().c_str(), want.c_str());
}

// One value of one directive, with the expected error text (without location).
void expect_value_error(const char *name, const char *value, const std::string &want) {
    expect_apply_error(make(name, {value}, 7), want + " in t.conf:7");
}

void test_find(void **) {
    TestConf c;
    Applier a(table, N, &c);
    assert_ptr_equal(a.find("daemon"), &table[index_of("daemon")]);
    assert_ptr_equal(a.find("glide_max_message_size"), &table[0]);
    assert_null(a.find("unknown"));
    assert_null(a.find("daemo"));
    assert_null(a.find(""));
}

void test_setters(void **) {
    TestConf c;
    Applier a(table, N, &c);
    apply_ok(a, make("glide_max_message_size", {"1m"}));
    apply_ok(a, make("glide_heartbeat_interval", {"1m30s"}));
    apply_ok(a, make("glide_heartbeat_lost", {"100"}));
    apply_ok(a, make("min_only", {"18446744073709551615"}));
    apply_ok(a, make("workers", {"4294967295"}));
    apply_ok(a, make("port", {"65535"}));
    apply_ok(a, make("daemon", {"on"}));
    apply_ok(a, make("glide_node_id", {"edge-7"}));
    apply_ok(a, make("mode", {"tcp"}));
    apply_ok(a, make("codec_index", {"protobuf"}));
    apply_ok(a, make("codec", {"json"}));
    apply_ok(a, make("single", {"x"}));
    assert_int_equal(c.max_message, 1 << 20);
    assert_int_equal(c.heartbeat_ms, 90 * SEC);
    assert_int_equal(c.lost, 100);
    assert_int_equal(c.min_only, UINT64_MAX);
    assert_int_equal(c.workers, 4294967295u);
    assert_int_equal(c.port, 65535);
    assert_true(c.daemon);
    assert_string_equal(c.node.c_str(), "edge-7");
    assert_string_equal(c.mode.c_str(), "tcp");
    assert_int_equal(c.codec_index, 1);
    assert_true(c.codec == Codec::Json);
    assert_string_equal(c.single.c_str(), "x");
}

void test_bounds_inclusive(void **) {
    TestConf c;
    Applier a(table, N, &c);
    apply_ok(a, make("glide_max_message_size", {"1k"}));
    assert_int_equal(c.max_message, 1024);
    apply_ok(a, make("glide_heartbeat_interval", {"1000ms"}));
    assert_int_equal(c.heartbeat_ms, SEC);
    apply_ok(a, make("glide_heartbeat_lost", {"1"}));
    assert_int_equal(c.lost, 1);
    apply_ok(a, make("min_only", {"5"}));
    apply_ok(a, make("port", {"1"}));
    apply_ok(a, make("workers", {"0"}));

    TestConf d;
    Applier b(table, N, &d);
    apply_ok(b, make("glide_max_message_size", {"64m"}));
    assert_int_equal(d.max_message, 64 << 20);
    apply_ok(b, make("glide_heartbeat_interval", {"1h"}));
    assert_int_equal(d.heartbeat_ms, HOUR);
}

void test_size_errors(void **) {
    const std::string bounds = ", it must be between 1k and 64m";
    const char *pre = "invalid value \"%s\" in \"glide_max_message_size\" directive";
    auto text = [pre](const char *v) {
        char buf[200];
        snprintf(buf, sizeof buf, pre, v);
        return std::string(buf);
    };
    expect_value_error("glide_max_message_size", "0", text("0") + bounds);
    expect_value_error("glide_max_message_size", "1023", text("1023") + bounds);
    expect_value_error("glide_max_message_size", "67108865", text("67108865") + bounds);
    expect_value_error("glide_max_message_size", "1g", text("1g") + bounds);
    expect_value_error("glide_max_message_size", "64x", text("64x"));
    expect_value_error("glide_max_message_size", "-1", text("-1"));
    expect_value_error("glide_max_message_size", "", text(""));
}

void test_time_errors(void **) {
    const std::string pre = "invalid value \"";
    const std::string post = "\" in \"glide_heartbeat_interval\" directive";
    const std::string bounds = ", it must be between 1s and 1h";
    expect_value_error("glide_heartbeat_interval", "999ms", pre + "999ms" + post + bounds);
    expect_value_error("glide_heartbeat_interval", "0", pre + "0" + post + bounds);
    expect_value_error("glide_heartbeat_interval", "1h1ms", pre + "1h1ms" + post + bounds);
    expect_value_error("glide_heartbeat_interval", "2d", pre + "2d" + post + bounds);
    expect_value_error("glide_heartbeat_interval", "1m30", pre + "1m30" + post);
    expect_value_error("glide_heartbeat_interval", "soon", pre + "soon" + post);
}

void test_uint_errors(void **) {
    expect_value_error("glide_heartbeat_lost", "0",
                       "invalid value \"0\" in \"glide_heartbeat_lost\" directive, it must be "
                       "between 1 and 100");
    expect_value_error("glide_heartbeat_lost", "101",
                       "invalid value \"101\" in \"glide_heartbeat_lost\" directive, it must be "
                       "between 1 and 100");
    expect_value_error("glide_heartbeat_lost", "3k",
                       "invalid value \"3k\" in \"glide_heartbeat_lost\" directive");
    expect_value_error("glide_heartbeat_lost", "18446744073709551616",
                       "invalid value \"18446744073709551616\" in \"glide_heartbeat_lost\" "
                       "directive");
    // No upper bound: nginx's wording.
    expect_value_error("min_only", "4",
                       "invalid value \"4\" in \"min_only\" directive, it must be equal or more "
                       "than 5");
    // Narrow members are bounded by their type.
    expect_value_error("workers", "4294967296",
                       "invalid value \"4294967296\" in \"workers\" directive, it must be between "
                       "0 and 4294967295");
    expect_value_error("port", "65536",
                       "invalid value \"65536\" in \"port\" directive, it must be between 1 and "
                       "65535");
    expect_value_error("port", "0",
                       "invalid value \"0\" in \"port\" directive, it must be between 1 and "
                       "65535");
}

void test_flag_errors(void **) {
    for (const char *v : {"x", "yes", "1", ""})
        expect_value_error("daemon", v,
                           std::string("invalid value \"") + v +
                               "\" in \"daemon\" directive, it must be \"on\" or \"off\"");
    TestConf c;
    Applier a(table, N, &c);
    apply_ok(a, make("daemon", {"OFF"}));
    assert_false(c.daemon);
}

void test_enum_errors(void **) {
    expect_value_error("mode", "udp",
                       "invalid value \"udp\" in \"mode\" directive, it must be \"ws\", \"tcp\" or "
                       "\"both\"");
    expect_value_error("mode", "WS",
                       "invalid value \"WS\" in \"mode\" directive, it must be \"ws\", \"tcp\" or "
                       "\"both\"");
    expect_value_error("codec", "xml",
                       "invalid value \"xml\" in \"codec\" directive, it must be \"json\" or "
                       "\"protobuf\"");
    expect_value_error("single", "y",
                       "invalid value \"y\" in \"single\" directive, it must be \"x\"");
}

void test_setter_arity_guard(void **) {
    // The generic setters check their argument count themselves, for tables that get it wrong.
    TestConf c;
    const std::vector<std::string> two = {"a", "b"}, none;
    const std::string want = "invalid number of arguments in \"glide_node_id\" directive";
    const Spec &s = table[index_of("glide_node_id")];
    assert_string_equal(set_string<&TestConf::node>(s, &c, two).error().c_str(), want.c_str());
    assert_string_equal(set_size<&TestConf::max_message>(s, &c, none).error().c_str(),
                        want.c_str());
    assert_string_equal(set_time<&TestConf::heartbeat_ms>(s, &c, two).error().c_str(),
                        want.c_str());
    assert_string_equal(set_uint<&TestConf::lost>(s, &c, none).error().c_str(), want.c_str());
    assert_string_equal(set_flag<&TestConf::daemon>(s, &c, two).error().c_str(), want.c_str());
    assert_string_equal(set_enum<&TestConf::mode>(s, &c, none).error().c_str(), want.c_str());
    assert_true(c.node.empty());
}

void test_multi_and_string_list(void **) {
    TestConf c;
    Applier a(table, N, &c);
    apply_ok(a, make("origins", {"https://a.example"}));
    apply_ok(a, make("origins", {"https://b.example", "https://c.example"}, 2));
    apply_ok(a, make("custom", {}, 3));
    apply_ok(a, make("custom", {"p", "q"}, 4));
    assert_int_equal(c.origins.size(), 3);
    assert_string_equal(c.origins[2].c_str(), "https://c.example");
    assert_int_equal(c.calls.size(), 2);
    assert_string_equal(c.calls[0].c_str(), "()");
    assert_string_equal(c.calls[1].c_str(), "(p,q,)");
    const auto &e = a.effective()[index_of("origins")];
    assert_int_equal(e.size(), 2);
    assert_string_equal(e[0].c_str(), "https://a.example");
    assert_string_equal(e[1].c_str(), "https://b.example https://c.example");
    const auto &ce = a.effective()[index_of("custom")];
    assert_int_equal(ce.size(), 2);
    assert_string_equal(ce[0].c_str(), "");
    assert_string_equal(ce[1].c_str(), "p q");
}

void test_duplicate(void **) {
    TestConf c;
    Applier a(table, N, &c);
    apply_ok(a, make("daemon", {"on"}, 1));
    Status st = a.apply(make("daemon", {"on"}, 2));
    assert_false(st.ok());
    assert_string_equal(st.error().c_str(), "\"daemon\" directive is duplicate in t.conf:2");
    // The first value stands.
    assert_true(c.daemon);
    assert_int_equal(a.effective()[index_of("daemon")].size(), 1);
}

void test_failed_apply_is_not_recorded(void **) {
    TestConf c;
    Applier a(table, N, &c);
    assert_false(a.apply(make("glide_heartbeat_lost", {"0"})).ok());
    assert_int_equal(c.lost, 0);
    assert_true(a.effective()[index_of("glide_heartbeat_lost")].empty());
    // Not counted as given: no duplicate error, and the next value applies.
    apply_ok(a, make("glide_heartbeat_lost", {"7"}));
    assert_int_equal(c.lost, 7);
}

void test_arity(void **) {
    expect_apply_error(make("daemon", {}, 4),
                       "invalid number of arguments in \"daemon\" directive in t.conf:4");
    expect_apply_error(make("daemon", {"on", "off"}, 5),
                       "invalid number of arguments in \"daemon\" directive in t.conf:5");
    expect_apply_error(make("custom", {"a", "b", "c"}),
                       "invalid number of arguments in \"custom\" directive in t.conf:1");
    std::vector<std::string> nine(9, "o");
    expect_apply_error(make("origins", nine),
                       "invalid number of arguments in \"origins\" directive in t.conf:1");
}

void test_block_not_expected(void **) {
    expect_apply_error(make("daemon", {"on"}, 3, true), "directive \"daemon\" is not terminated by \";\" in t.conf:3");
}

void test_context_and_unknown(void **) {
    expect_apply_error(make("nested_only", {}, 2),
                       "\"nested_only\" directive is not allowed here in t.conf:2");
    expect_apply_error(make("nope", {"x"}, 9), "unknown directive \"nope\" in t.conf:9");
}

void test_setter_error_located(void **) {
    expect_apply_error(make("custom", {"bad"}, 12),
                       "invalid value \"bad\" in \"custom\" directive in t.conf:12");
}

void test_finish_defaults(void **) {
    TestConf c;
    Applier a(table, N, &c);
    apply_ok(a, make("daemon", {"on"}));
    apply_ok(a, make("glide_heartbeat_lost", {"5"}));
    Status st = a.finish();
    if (!st)
        fail_msg("finish: %s", st.error().c_str());
    assert_int_equal(c.max_message, 64 * 1024);
    assert_int_equal(c.heartbeat_ms, 30 * SEC);
    assert_int_equal(c.lost, 5); // given, not the default
    assert_true(c.daemon);       // given "on", default "off" not applied
    assert_string_equal(c.node.c_str(), "node1");
    assert_string_equal(c.mode.c_str(), "ws");
    assert_true(c.codec == Codec::Json);
    assert_int_equal(c.codec_index, 99); // no default: untouched
    assert_int_equal(c.workers, 0);
    assert_int_equal(c.origins.size(), 2); // "a.example  b.example": split on spaces
    assert_string_equal(c.origins[1].c_str(), "b.example");

    const auto &e = a.effective();
    assert_int_equal(e.size(), N);
    assert_string_equal(e[index_of("glide_max_message_size")][0].c_str(), "64k");
    assert_string_equal(e[index_of("daemon")][0].c_str(), "on");
    assert_string_equal(e[index_of("glide_heartbeat_lost")][0].c_str(), "5");
    assert_int_equal(e[index_of("origins")].size(), 1);
    assert_string_equal(e[index_of("origins")][0].c_str(), "a.example b.example");
    assert_true(e[index_of("workers")].empty());
    assert_true(e[index_of("codec_index")].empty());

    // A second finish() changes nothing.
    assert_true(a.finish().ok());
    assert_int_equal(c.origins.size(), 2);
    assert_int_equal(a.effective()[index_of("origins")].size(), 1);
}

Status set_node(const Spec &s, void *c, const std::vector<std::string> &a) {
    return set_string<&TestConf::node>(s, c, a);
}

void test_invalid_default(void **) {
    const Spec bad_flag[] = {
        {"glide_node_id", M, 1, 1, set_node, 0, UINT64_MAX, nullptr, "n"},
        {"daemon", M, 1, 1, set_flag<&TestConf::daemon>, 0, UINT64_MAX, nullptr, "maybe"},
    };
    TestConf c;
    Applier a(bad_flag, 2, &c);
    Status st = a.finish();
    assert_false(st.ok());
    assert_string_equal(st.error().c_str(),
                        "invalid default for \"daemon\": invalid value \"maybe\" in \"daemon\" "
                        "directive, it must be \"on\" or \"off\"");

    const Spec bad_bounds[] = {
        {"lost", M, 1, 1, set_uint<&TestConf::lost>, 1, 10, nullptr, "11"},
    };
    Applier b(bad_bounds, 1, &c);
    st = b.finish();
    assert_string_equal(st.error().c_str(),
                        "invalid default for \"lost\": invalid value \"11\" in \"lost\" "
                        "directive, it must be between 1 and 10");

    const Spec bad_arity[] = {
        {"glide_node_id", M, 1, 1, set_node, 0, UINT64_MAX, nullptr, "two words"},
    };
    Applier d(bad_arity, 1, &c);
    st = d.finish();
    assert_string_equal(st.error().c_str(),
                        "invalid default for \"glide_node_id\": invalid number of arguments in "
                        "\"glide_node_id\" directive");

    // An empty default means zero arguments.
    const Spec empty[] = {{"custom", M, 0, 2, set_custom, 0, UINT64_MAX, nullptr, ""}};
    Applier e(empty, 1, &c);
    assert_true(e.finish().ok());
    assert_string_equal(c.calls.back().c_str(), "()");
    assert_string_equal(e.effective()[0][0].c_str(), "");
}

void test_changed(void **) {
    TestConf c1, c2, c3;
    Applier before(table, N, &c1), same(table, N, &c2), after(table, N, &c3);
    apply_ok(before, make("daemon", {"on"}));
    apply_ok(before, make("origins", {"x"}));
    apply_ok(same, make("daemon", {"on"}));
    apply_ok(same, make("origins", {"x"}));
    // Stated explicitly with the default's text: no change.
    apply_ok(same, make("glide_max_message_size", {"64k"}));
    apply_ok(after, make("daemon", {"off"}));
    apply_ok(after, make("origins", {"x"}));
    apply_ok(after, make("origins", {"y"}));
    apply_ok(after, make("glide_heartbeat_interval", {"30s"})); // the default: no change
    apply_ok(after, make("glide_node_id", {"node2"}));
    apply_ok(after, make("workers", {"2"}));
    assert_true(before.finish().ok());
    assert_true(same.finish().ok());
    assert_true(after.finish().ok());

    assert_true(changed(before, same).empty());
    assert_true(changed(before, before).empty());
    std::vector<std::string> names = changed(before, after);
    // Table order.
    std::vector<std::string> want = {"workers", "daemon", "glide_node_id", "origins"};
    assert_int_equal(names.size(), want.size());
    for (size_t i = 0; i < want.size(); i++)
        assert_string_equal(names[i].c_str(), want[i].c_str());
    assert_int_equal(changed(after, before).size(), want.size());
}

void test_parse_then_apply(void **) {
    auto tree = parse_string("daemon on;\n\nglide_heartbeat_lost 1000;\n", "x.conf");
    assert_true(tree.ok());
    TestConf c;
    Applier a(table, N, &c);
    apply_ok(a, tree.value()[0]);
    Status st = a.apply(tree.value()[1]);
    assert_string_equal(st.error().c_str(),
                        "invalid value \"1000\" in \"glide_heartbeat_lost\" directive, it must be "
                        "between 1 and 100 in x.conf:3");
}

void test_value_helpers(void **) {
    const Spec &s = table[0];
    assert_string_equal(invalid_value(s, "q").error().c_str(),
                        "invalid value \"q\" in \"glide_max_message_size\" directive");
    assert_string_equal(invalid_value_bounds(s, "q", "lo", "hi").error().c_str(),
                        "invalid value \"q\" in \"glide_max_message_size\" directive, it must be "
                        "between lo and hi");
}

void test_formatters(void **) {
    assert_string_equal(detail::format_size(0).c_str(), "0");
    assert_string_equal(detail::format_size(1).c_str(), "1");
    assert_string_equal(detail::format_size(1536).c_str(), "1536");
    assert_string_equal(detail::format_size(1024).c_str(), "1k");
    assert_string_equal(detail::format_size(3 << 20).c_str(), "3m");
    assert_string_equal(detail::format_size(1025ull << 20).c_str(), "1025m");
    assert_string_equal(detail::format_size(2ull << 30).c_str(), "2g");
    assert_string_equal(detail::format_time_ms(0).c_str(), "0s");
    assert_string_equal(detail::format_time_ms(1).c_str(), "1ms");
    assert_string_equal(detail::format_time_ms(1500).c_str(), "1500ms");
    assert_string_equal(detail::format_time_ms(2000).c_str(), "2s");
    assert_string_equal(detail::format_time_ms(90000).c_str(), "90s");
    assert_string_equal(detail::format_time_ms(120000).c_str(), "2m");
    assert_string_equal(detail::format_time_ms(HOUR).c_str(), "1h");
    assert_string_equal(detail::format_time_ms(48 * HOUR).c_str(), "2d");
    assert_string_equal(detail::format_time_ms(14 * 24 * HOUR).c_str(), "14d");
    assert_string_equal(detail::format_uint(12345).c_str(), "12345");
}

} // namespace

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_find),
        cmocka_unit_test(test_setters),
        cmocka_unit_test(test_bounds_inclusive),
        cmocka_unit_test(test_size_errors),
        cmocka_unit_test(test_time_errors),
        cmocka_unit_test(test_uint_errors),
        cmocka_unit_test(test_flag_errors),
        cmocka_unit_test(test_enum_errors),
        cmocka_unit_test(test_setter_arity_guard),
        cmocka_unit_test(test_multi_and_string_list),
        cmocka_unit_test(test_duplicate),
        cmocka_unit_test(test_failed_apply_is_not_recorded),
        cmocka_unit_test(test_arity),
        cmocka_unit_test(test_block_not_expected),
        cmocka_unit_test(test_context_and_unknown),
        cmocka_unit_test(test_setter_error_located),
        cmocka_unit_test(test_finish_defaults),
        cmocka_unit_test(test_invalid_default),
        cmocka_unit_test(test_changed),
        cmocka_unit_test(test_parse_then_apply),
        cmocka_unit_test(test_value_helpers),
        cmocka_unit_test(test_formatters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
