// The module's directive table: every custom setter, the bounds of every generic one, the
// checks made at finish, and what a reload keeps.
#include <cstring>
#include <string>
#include <vector>

#include "module/module.h"
#include "module/module_conf.h"
// cmocka last: its macros clash with the standard library's headers.
#include "glide_cmocka.h"

using namespace glide;

namespace {

struct Fixture {
    ModuleConf conf;
    conf::Applier applier{module_directives().data(), module_directives().size(), &conf};

    std::string set(const std::string &name, std::vector<std::string> args, unsigned line = 1) {
        conf::Directive d;
        d.name = name;
        d.args = std::move(args);
        d.file = "m.conf";
        d.line = line;
        Status st = applier.apply(d);
        return st ? "" : st.error();
    }
    std::string finish() {
        Status st = applier.finish();
        if (st)
            st = finish_module_conf(conf);
        return st ? "" : st.error();
    }
};

void test_defaults(void **) {
    Fixture f;
    assert_string_equal(f.finish().c_str(), "");
    assert_true(f.conf.listens.empty());
    assert_string_equal(f.conf.ws_path.c_str(), "/ws");
    assert_string_equal(f.conf.node_id.c_str(), "node1");
    assert_int_equal(f.conf.heartbeat_interval_ms, 30000);
    assert_int_equal(f.conf.heartbeat_lost, 3);
    assert_int_equal(f.conf.max_message_size, 64 * 1024);
    assert_int_equal(f.conf.send_buffer_limit, 1024 * 1024);
    assert_int_equal(f.conf.handshake_timeout_ms, 10000);
    assert_int_equal(f.conf.callback_timeout_ms, 5000);
    assert_int_equal(f.conf.linger_timeout_ms, 2000);
    assert_true(f.conf.allowed_origins.empty());
    assert_true(f.conf.cluster.empty());
    // The limits, on by default.
    assert_int_equal(f.conf.limit_message_rate.count, 100);
    assert_int_equal(f.conf.limit_message_rate.burst, 200);
    assert_int_equal(f.conf.limit_message_rate.per_ms, 1000);
    assert_int_equal(f.conf.limit_user_message_rate.count, 200);
    assert_int_equal(f.conf.limit_user_message_rate.burst, 400);
    assert_int_equal(f.conf.limit_message_rate_close_ms, 10000);
    assert_int_equal(f.conf.limit_auth_failures, 5);
    assert_int_equal(f.conf.limit_auth_failures_per_address, 60);
    assert_int_equal(f.conf.limit_connections_per_address, 256);
    assert_true(f.conf.max_connections_auto);
}

void test_listen_forms(void **) {
    Fixture f;
    assert_string_equal(f.set("glide_listen", {"127.0.0.1:8083"}).c_str(), "");
    assert_string_equal(f.set("glide_listen", {"*:8084", "tcp", "protobuf"}).c_str(), "");
    assert_string_equal(f.set("glide_listen", {"8085", "json", "ws", "backlog=64"}).c_str(), "");
    assert_string_equal(f.set("glide_listen", {"[::1]:8086", "tcp"}).c_str(), "");
    assert_string_equal(f.set("glide_listen", {"localhost:0"}).c_str(), "");
    assert_int_equal(f.conf.listens.size(), 5);
    const ListenConf &a = f.conf.listens[0];
    assert_string_equal(a.address.text().c_str(), "127.0.0.1:8083");
    assert_true(a.transport == net::Transport::ws && a.codec == net::CodecKind::json && !a.ssl);
    assert_int_equal(a.backlog, 511);
    const ListenConf &b = f.conf.listens[1];
    assert_string_equal(b.address.text().c_str(), "0.0.0.0:8084");
    assert_true(b.transport == net::Transport::tcp && b.codec == net::CodecKind::protobuf);
    assert_string_equal(f.conf.listens[2].address.text().c_str(), "0.0.0.0:8085");
    assert_int_equal(f.conf.listens[2].backlog, 64);
    assert_string_equal(f.conf.listens[3].address.text().c_str(), "[::1]:8086");
    assert_int_equal(f.conf.listens[4].address.port(), 0);
    assert_string_equal(f.finish().c_str(), "");
}

void test_listen_errors(void **) {
    Fixture f;
    struct {
        std::vector<std::string> args;
        const char *error;
    } cases[] = {
        {{"127.0.0.1:65536"},
         "invalid port in \"127.0.0.1:65536\" of the \"glide_listen\" directive in m.conf:4"},
        {{"127.0.0.1:"}, "invalid port in \"127.0.0.1:\" of the \"glide_listen\" directive in m.conf:4"},
        {{"127.0.0.1:8x"},
         "invalid port in \"127.0.0.1:8x\" of the \"glide_listen\" directive in m.conf:4"},
        {{"::1:80"}, "IPv6 address must be in brackets in \"::1:80\" of the \"glide_listen\" "
                     "directive in m.conf:4"},
        {{"[::1]80"},
         "invalid IPv6 address in \"[::1]80\" of the \"glide_listen\" directive in m.conf:4"},
        {{"no-such-host.invalid:80"}, "host not found in \"no-such-host.invalid:80\" of the "
                                      "\"glide_listen\" directive in m.conf:4"},
        {{"127.0.0.1:80", "udp"},
         "invalid parameter \"udp\" in \"glide_listen\" directive in m.conf:4"},
        {{"127.0.0.1:80", "ws", "tcp"},
         "invalid parameter \"tcp\" in \"glide_listen\" directive in m.conf:4"},
        {{"127.0.0.1:80", "json", "protobuf"},
         "invalid parameter \"protobuf\" in \"glide_listen\" directive in m.conf:4"},
        {{"127.0.0.1:80", "ssl", "ssl"},
         "invalid parameter \"ssl\" in \"glide_listen\" directive in m.conf:4"},
        {{"127.0.0.1:80", "backlog=0"},
         "invalid backlog \"backlog=0\" in \"glide_listen\" directive in m.conf:4"},
        {{"127.0.0.1:80", "backlog=x"},
         "invalid backlog \"backlog=x\" in \"glide_listen\" directive in m.conf:4"},
        {{}, "invalid number of arguments in \"glide_listen\" directive in m.conf:4"},
        {{"1", "ws", "json", "ssl", "backlog=1", "x"},
         "invalid number of arguments in \"glide_listen\" directive in m.conf:4"},
    };
    for (auto &c : cases)
        assert_string_equal(f.set("glide_listen", c.args, 4).c_str(), c.error);
}

void test_listen_finish_checks(void **) {
    {
        Fixture f;
        assert_string_equal(f.set("glide_listen", {"127.0.0.1:9000"}, 2).c_str(), "");
        f.conf.listens.back().file = "m.conf";
        f.conf.listens.back().line = 2;
        assert_string_equal(f.set("glide_listen", {"127.0.0.1:9000", "tcp"}, 3).c_str(), "");
        f.conf.listens.back().file = "m.conf";
        f.conf.listens.back().line = 3;
        assert_string_equal(f.finish().c_str(), "duplicate listen 127.0.0.1:9000 in m.conf:3");
    }
    {
        Fixture f; // port 0 twice is two different free ports
        assert_string_equal(f.set("glide_listen", {"127.0.0.1:0"}).c_str(), "");
        assert_string_equal(f.set("glide_listen", {"127.0.0.1:0"}).c_str(), "");
        assert_string_equal(f.finish().c_str(), "");
    }
    {
        Fixture f;
        assert_string_equal(f.set("glide_listen", {"127.0.0.1:0", "ssl"}).c_str(), "");
        f.conf.listens.back().file = "m.conf";
        f.conf.listens.back().line = 9;
        assert_string_equal(f.set("glide_ssl_certificate", {"/tmp/c.pem"}).c_str(), "");
        assert_string_equal(f.finish().c_str(),
                            "no \"glide_ssl_certificate_key\" is defined for the \"glide_listen "
                            "... ssl\" directive in m.conf:9");
    }
}

void test_bounds(void **) {
    struct {
        const char *name, *value, *error;
    } cases[] = {
        {"glide_heartbeat_interval", "500ms",
         "invalid value \"500ms\" in \"glide_heartbeat_interval\" directive, it must be between "
         "1s and 1h in m.conf:1"},
        {"glide_heartbeat_interval", "2h", nullptr},
        {"glide_heartbeat_lost", "101", nullptr},
        {"glide_max_message_size", "64", nullptr},
        {"glide_max_message_size", "65m", nullptr},
        {"glide_send_buffer_limit", "1k", nullptr},
        {"glide_send_buffer_limit", "2g", nullptr},
        {"glide_handshake_timeout", "50ms", nullptr},
        {"glide_handshake_timeout", "11m", nullptr},
        {"glide_callback_timeout", "1ms", nullptr},
        {"glide_linger_timeout", "1h", nullptr},
    };
    for (auto &c : cases) {
        Fixture f;
        std::string err = f.set(c.name, {c.value});
        assert_true(err.find("invalid value \"" + std::string(c.value) + "\" in \"" + c.name +
                             "\" directive, it must be between") == 0);
        if (c.error)
            assert_string_equal(err.c_str(), c.error);
    }
    Fixture f;
    assert_string_equal(f.set("glide_max_message_size", {"1m"}).c_str(), "");
    assert_string_equal(f.set("glide_heartbeat_interval", {"1m30s"}).c_str(), "");
    assert_string_equal(f.set("glide_send_buffer_limit", {"8m"}).c_str(), "");
    assert_string_equal(f.finish().c_str(), "");
    assert_int_equal(f.conf.max_message_size, 1024 * 1024);
    assert_int_equal(f.conf.heartbeat_interval_ms, 90000);
    assert_int_equal(f.conf.send_buffer_limit, 8 * 1024 * 1024);
}

// The limits' forms: RATE [burst=N] | off, N | off, TIME | off, N | auto | off; bad values are
// configuration errors with their location.
void test_limits(void **) {
    Fixture f;
    assert_string_equal(f.set("glide_limit_message_rate", {"1000", "burst=5000"}).c_str(), "");
    assert_string_equal(f.set("glide_limit_user_message_rate", {"50"}).c_str(), "");
    assert_string_equal(f.set("glide_limit_message_rate_close", {"off"}).c_str(), "");
    assert_string_equal(f.set("glide_limit_auth_failures", {"off"}).c_str(), "");
    assert_string_equal(f.set("glide_limit_auth_failures_per_address", {"10"}).c_str(), "");
    assert_string_equal(f.set("glide_limit_connections_per_address", {"off"}).c_str(), "");
    assert_string_equal(f.set("glide_max_connections", {"5000"}).c_str(), "");
    assert_string_equal(f.finish().c_str(), "");
    assert_int_equal(f.conf.limit_message_rate.count, 1000);
    assert_int_equal(f.conf.limit_message_rate.burst, 5000);
    assert_int_equal(f.conf.limit_user_message_rate.count, 50);
    assert_int_equal(f.conf.limit_user_message_rate.burst, 50); // burst: RATE when not given
    assert_int_equal(f.conf.limit_message_rate_close_ms, 0);
    assert_int_equal(f.conf.limit_auth_failures, 0);
    assert_int_equal(f.conf.limit_auth_failures_per_address, 10);
    assert_int_equal(f.conf.limit_connections_per_address, 0);
    assert_int_equal(f.conf.max_connections, 5000);
    assert_false(f.conf.max_connections_auto);

    Fixture g;
    assert_string_equal(g.set("glide_limit_message_rate", {"off"}).c_str(), "");
    assert_string_equal(g.set("glide_max_connections", {"off"}).c_str(), "");
    assert_string_equal(g.finish().c_str(), "");
    assert_false(g.conf.limit_message_rate.on());
    assert_int_equal(g.conf.max_connections, 0);
    assert_false(g.conf.max_connections_auto);

    struct {
        const char *name;
        std::vector<std::string> args;
        const char *error;
    } cases[] = {
        {"glide_limit_message_rate", {"0"},
         "invalid value \"0\" in \"glide_limit_message_rate\" directive, it must be between 1 "
         "and 1000000 in m.conf:7"},
        {"glide_limit_message_rate", {"fast"},
         "invalid value \"fast\" in \"glide_limit_message_rate\" directive in m.conf:7"},
        {"glide_limit_message_rate", {"10", "burst=0"},
         "invalid burst \"burst=0\" in \"glide_limit_message_rate\" directive, it must be "
         "between 1 and 1000000 in m.conf:7"},
        {"glide_limit_message_rate", {"10", "bust=3"},
         "invalid parameter \"bust=3\" in \"glide_limit_message_rate\" directive in m.conf:7"},
        {"glide_limit_user_message_rate", {"off", "burst=3"},
         "invalid parameter \"burst=3\" in \"glide_limit_user_message_rate\" directive in "
         "m.conf:7"},
        {"glide_limit_message_rate_close", {"500ms"},
         "invalid value \"500ms\" in \"glide_limit_message_rate_close\" directive, it must be "
         "between 1s and 1h in m.conf:7"},
        {"glide_limit_auth_failures", {"-1"},
         "invalid value \"-1\" in \"glide_limit_auth_failures\" directive in m.conf:7"},
        {"glide_limit_connections_per_address", {"0"},
         "invalid value \"0\" in \"glide_limit_connections_per_address\" directive, it must be "
         "between 1 and 10000000 in m.conf:7"},
        {"glide_max_connections", {"lots"},
         "invalid value \"lots\" in \"glide_max_connections\" directive in m.conf:7"},
    };
    for (auto &c : cases) {
        Fixture h;
        assert_string_equal(h.set(c.name, c.args, 7).c_str(), c.error);
    }
}

void test_ws_path_node_id(void **) {
    Fixture f;
    assert_string_equal(f.set("glide_ws_path", {"/chat/ws"}).c_str(), "");
    for (const char *bad : {"ws", "", "/a b", "/a?x=1", "/a#f"}) {
        Fixture g;
        assert_string_equal(g.set("glide_ws_path", {bad}).c_str(),
                            ("invalid value \"" + std::string(bad) +
                             "\" in \"glide_ws_path\" directive in m.conf:1")
                                .c_str());
    }
    assert_string_equal(f.set("glide_node_id", {"edge-1.eu"}).c_str(), "");
    for (const std::string &bad : {std::string("a_b"), std::string(), std::string("x y"),
                                   std::string(65, 'n')}) {
        Fixture g;
        assert_true(g.set("glide_node_id", {bad}).find("invalid value") == 0);
    }
    assert_string_equal(f.finish().c_str(), "");
    assert_string_equal(f.conf.ws_path.c_str(), "/chat/ws");
    assert_string_equal(f.conf.node_id.c_str(), "edge-1.eu");
}

void test_origins(void **) {
    Fixture f;
    assert_string_equal(
        f.set("glide_allowed_origins", {"https://chat.example.com", "http://localhost:3000"})
            .c_str(),
        "");
    assert_string_equal(f.finish().c_str(), "");
    assert_int_equal(f.conf.allowed_origins.size(), 2);
    assert_string_equal(f.conf.allowed_origins[1].c_str(), "http://localhost:3000");

    Fixture any;
    assert_string_equal(any.set("glide_allowed_origins", {"*"}).c_str(), "");
    assert_string_equal(any.finish().c_str(), "");
    assert_true(any.conf.allowed_origins.empty());

    Fixture g;
    assert_string_equal(g.set("glide_allowed_origins", {"*", "https://a.b"}).c_str(),
                        "\"*\" must be the only value of the \"glide_allowed_origins\" directive "
                        "in m.conf:1");
    for (const char *bad : {"example.com", "https://", "https://a.b/path", "://x"}) {
        Fixture h;
        assert_string_equal(h.set("glide_allowed_origins", {bad}).c_str(),
                            ("invalid value \"" + std::string(bad) +
                             "\" in \"glide_allowed_origins\" directive in m.conf:1")
                                .c_str());
    }
}

void test_cluster(void **) {
    Fixture f;
    assert_string_equal(
        f.set("glide_cluster", {"redis://127.0.0.1:6379", "redis://:s3cret@[::1]:6380/2",
                                "redis://app:pw@redis.example:6381"})
            .c_str(),
        "");
    assert_int_equal(f.conf.cluster.size(), 3);
    assert_string_equal(f.conf.cluster[0].host.c_str(), "127.0.0.1");
    assert_int_equal(f.conf.cluster[0].port, 6379);
    assert_string_equal(f.conf.cluster[1].host.c_str(), "::1");
    assert_string_equal(f.conf.cluster[1].password.c_str(), "s3cret");
    assert_int_equal(f.conf.cluster[1].db, 2);
    assert_string_equal(f.conf.cluster[1].text.c_str(), "redis://:***@[::1]:6380/2");
    assert_string_equal(f.conf.cluster[2].user.c_str(), "app");
    // Each refusal names the URL and what is wrong with it, with the location.
    const std::pair<const char *, const char *> bad[] = {
        {"127.0.0.1:6379", "not a redis:// URL"},
        {"http://x:1", "not a redis:// URL"},
        {"redis://127.0.0.1", "the port is missing (HOST:PORT)"},
        {"redis://127.0.0.1:0", "invalid port \"0\""},
        {"redis://:bad", "the host is missing"},
        {"redis://h:1/x", "the database must be a number"},
        {"redis://pw@h:1", "the password must follow a ':' (redis://:PASSWORD@HOST:PORT)"},
    };
    for (auto [url, why] : bad) {
        Fixture g;
        assert_string_equal(g.set("glide_cluster", {url}).c_str(),
                            ("invalid value \"" + std::string(url) +
                             "\" in \"glide_cluster\" directive: " + why + " in m.conf:1")
                                .c_str());
    }
    Fixture twice;
    assert_string_equal(
        twice.set("glide_cluster", {"redis://h:1", "redis://h:1"}).c_str(),
        "\"redis://h:1\" is given twice in \"glide_cluster\" directive in m.conf:1");
    Fixture off;
    assert_string_equal(off.set("glide_cluster", {"off"}).c_str(), "");
    assert_string_equal(off.finish().c_str(), "");
    assert_true(off.conf.cluster.empty());
}

void test_every_record_documented(void **) {
    for (const conf::Spec &s : module_directives()) {
        assert_non_null(s.syntax);
        assert_non_null(s.doc);
        assert_int_equal(strncmp(s.syntax, s.name, strlen(s.name)), 0);
        assert_true(strncmp(s.name, "glide_", 6) == 0);
        assert_true(s.flags & conf::CTX_MAIN);
    }
}

// A reload applies reloadable directives, keeps restart-only ones and says so in the log.
std::vector<std::string> logged;
void capture(void *, glide_log_level, const char *msg, size_t len) {
    logged.emplace_back(msg, len);
}

std::unique_ptr<glide_conf> make_conf(Module &m, std::vector<std::pair<std::string, std::string>> d) {
    auto c = std::make_unique<glide_conf>(&m);
    for (auto &[name, value] : d) {
        conf::Directive x;
        x.name = name;
        x.args = {value};
        x.file = "r.conf";
        x.line = 1;
        assert_true(c->applier.apply(x).ok());
    }
    assert_true(c->applier.finish().ok());
    assert_true(finish_module_conf(c->conf).ok());
    c->finished = true;
    return c;
}

void test_reload_keeps_restart_only(void **) {
    glide_host host{};
    host.size = sizeof host;
    host.log = capture;
    auto owned = std::make_unique<Module>(&host);
    Module &m = *owned;
    event_base *base = event_base_new();
    assert_true(m.apply(make_conf(m, {{"glide_listen", "127.0.0.1:0"}, {"glide_node_id", "a"}}))
                    .ok());
    assert_true(m.start(base).ok());
    logged.clear();
    assert_true(m.apply(make_conf(m, {{"glide_listen", "127.0.0.1:0"},
                                      {"glide_node_id", "b"},
                                      {"glide_max_message_size", "1m"}}))
                    .ok());
    assert_int_equal(m.conf().max_message_size, 1024 * 1024);
    assert_string_equal(m.conf().node_id.c_str(), "a");
    assert_int_equal(logged.size(), 1);
    assert_string_equal(logged[0].c_str(), "\"glide_node_id\" cannot be changed by a reload, the "
                                           "old value is kept until restart");

    auto unfinished = std::make_unique<glide_conf>(&m);
    assert_false(m.apply(std::move(unfinished)).ok());
    owned.reset(); // destroy before the base, as a host must
    event_base_free(base);
}

} // namespace

int main() {
    const CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_listen_forms),
        cmocka_unit_test(test_listen_errors),
        cmocka_unit_test(test_listen_finish_checks),
        cmocka_unit_test(test_bounds),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_ws_path_node_id),
        cmocka_unit_test(test_origins),
        cmocka_unit_test(test_cluster),
        cmocka_unit_test(test_every_record_documented),
        cmocka_unit_test(test_reload_keeps_restart_only),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
