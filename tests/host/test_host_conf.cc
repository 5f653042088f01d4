// glided's own directives and its error log.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "host/errlog.h"
#include "host/host_conf.h"
// cmocka last: its macros clash with the standard library's headers.
#include "glide_cmocka.h"

using namespace glide;
using namespace glide::host;

namespace {

std::string apply(HostConf &c, conf::Applier &a, const std::string &name,
                  std::vector<std::string> args) {
    conf::Directive d;
    d.name = name;
    d.args = std::move(args);
    d.file = "h.conf";
    d.line = 2;
    Status st = a.apply(d);
    return st ? "" : st.error();
}

void test_defaults(void **) {
    HostConf c;
    auto t = host_directives();
    conf::Applier a(t.data(), t.size(), &c);
    assert_true(a.finish().ok());
    assert_false(c.daemon);
    assert_true(c.pid.empty());
    assert_string_equal(c.error_log.c_str(), "stderr");
    assert_int_equal(c.error_log_level, GLIDE_LOG_INFO);
    assert_int_equal(c.shutdown_timeout_ms, 5000);
    assert_true(c.load_modules.empty());
    assert_string_equal(c.store.c_str(), "sqlite");
    assert_string_equal(c.store_path.c_str(), "data/glide.db");
    assert_false(c.store_sync_full);
    assert_true(c.credential_secret.empty());
    assert_int_equal(c.worker_processes, 1);
}

// worker_processes: a number in 1..64 or auto (the online CPUs); and what more than one needs
// from the rest of the file (check_workers).
void test_worker_processes(void **) {
    for (const char *bad : {"0", "65", "two", "-1", ""}) {
        HostConf c;
        auto t = host_directives();
        conf::Applier a(t.data(), t.size(), &c);
        std::string want = std::string("invalid value \"") + bad +
                           "\" in \"worker_processes\" directive, it must be \"auto\" or between 1 "
                           "and 64 in h.conf:2";
        assert_string_equal(apply(c, a, "worker_processes", {bad}).c_str(), want.c_str());
    }
    HostConf c;
    auto t = host_directives();
    conf::Applier a(t.data(), t.size(), &c);
    assert_string_equal(apply(c, a, "worker_processes", {"auto"}).c_str(), "");
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    assert_int_equal(c.worker_processes, cpus < 1 ? 1 : cpus > 64 ? 64 : cpus);

    // What the module's configuration asks (glide_conf_info), with its directives' names.
    auto module = [](bool cluster, bool port0) {
        ModuleNeeds n;
        n.cluster = cluster;
        n.cluster_directive = "glide_cluster";
        n.cluster_where = cluster ? "m.conf:3" : ":0";
        n.port0 = port0;
        n.port0_directive = "glide_listen";
        n.port0_where = port0 ? "m.conf:4" : ":0";
        return n;
    };
    HostConf w;
    w.worker_processes = 4;
    w.worker_processes_where = "w.conf:1";
    w.store = "sqlite";
    std::vector<ModuleNeeds> off = {module(false, false)};
    std::vector<ModuleNeeds> bus = {module(true, false)};
    const char *needs = "\"worker_processes\" greater than 1 needs \"glide_cluster\": the workers "
                        "are nodes of the cluster bus in w.conf:1";
    assert_string_equal(check_workers(w, off).error().c_str(), needs);
    // A second module without the bus is refused as well.
    std::vector<ModuleNeeds> both = {module(true, false), module(false, false)};
    assert_string_equal(check_workers(w, both).error().c_str(), needs);
    assert_true(check_workers(w, bus).ok());
    std::vector<ModuleNeeds> port0 = {module(true, true)};
    assert_string_equal(check_workers(w, port0).error().c_str(),
                        "\"glide_listen\" port 0 cannot be shared by worker processes, each "
                        "would listen on a port of its own, in m.conf:4");
    w.store = "memory";
    w.store_where = "w.conf:9";
    assert_string_equal(check_workers(w, bus).error().c_str(),
                        "store memory cannot be shared by worker processes in w.conf:9");
    w.worker_processes = 1;
    assert_string_equal(check_workers(w, bus).error().c_str(),
                        "store memory cannot be shared by the nodes of a cluster in w.conf:9");
    assert_true(check_workers(w, off).ok());
    // One process may listen on port 0.
    w.store = "sqlite";
    assert_true(check_workers(w, port0).ok());
}

void test_store_directives(void **) {
    {
        HostConf c;
        auto t = host_directives();
        conf::Applier a(t.data(), t.size(), &c);
        assert_string_equal(apply(c, a, "store", {"memory"}).c_str(), "");
        assert_string_equal(apply(c, a, "store_sync", {"full"}).c_str(), "");
        assert_string_equal(apply(c, a, "credential_secret", {"s3"}).c_str(), "");
        assert_true(a.finish().ok());
        assert_string_equal(c.store.c_str(), "memory");
        assert_true(c.store_path.empty());
        assert_true(c.store_sync_full);
        assert_string_equal(c.credential_secret.c_str(), "s3");
    }
    HostConf c;
    auto t = host_directives();
    conf::Applier a(t.data(), t.size(), &c);
    assert_string_equal(apply(c, a, "store", {"redis"}).c_str(),
                        "invalid value \"redis\" in \"store\" directive, it must be \"sqlite "
                        "PATH\", \"postgresql://...\" or \"memory\" in h.conf:2");
    assert_string_equal(apply(c, a, "store", {"sqlite"}).c_str(),
                        "invalid number of arguments in \"store\" directive in h.conf:2");
    assert_string_equal(apply(c, a, "store", {"memory", "x"}).c_str(),
                        "invalid number of arguments in \"store\" directive in h.conf:2");
    assert_string_equal(apply(c, a, "store_sync", {"off"}).c_str(),
                        "invalid value \"off\" in \"store_sync\" directive, it must be "
                        "\"normal\" or \"full\" in h.conf:2");
    // PostgreSQL: libpq's URI syntax is checked at -t, the password never shown.
    assert_string_equal(apply(c, a, "store", {"postgresql://glide:pw@db1/chat?colour=red"}).c_str(),
                        "invalid value \"postgresql://glide:***@db1/chat?colour=red\" in \"store\" "
                        "directive, invalid URI query parameter: \"colour\" in h.conf:2");
    assert_string_equal(apply(c, a, "store", {"postgresql://[::1/chat"}).c_str(),
                        "invalid value \"postgresql://[::1/chat\" in \"store\" directive, "
                        "end of string reached when looking for matching \"]\" in IPv6 host "
                        "address in URI: \"postgresql://[::1/chat\" in h.conf:2");
    assert_string_equal(apply(c, a, "store", {"postgresql://db1/chat", "x"}).c_str(),
                        "invalid number of arguments in \"store\" directive in h.conf:2");
    {
        HostConf p;
        conf::Applier pa(t.data(), t.size(), &p);
        assert_string_equal(
            apply(p, pa, "store", {"postgresql://glide:pw@db1:5433/chat?connect_timeout=3"})
                .c_str(),
            "");
        assert_string_equal(p.store.c_str(), "postgresql");
        assert_string_equal(p.store_path.c_str(),
                            "postgresql://glide:pw@db1:5433/chat?connect_timeout=3");
        HostConf q;
        conf::Applier qa(t.data(), t.size(), &q);
        assert_string_equal(apply(q, qa, "store", {"postgresql:///chat?host=/run/postgresql"}).c_str(),
                            "");
    }
    assert_string_equal(apply(c, a, "store", {"sqlite", "/var/lib/glide/glide.db"}).c_str(), "");
    assert_string_equal(c.store_path.c_str(), "/var/lib/glide/glide.db");
}

void test_directives(void **) {
    HostConf c;
    auto t = host_directives();
    conf::Applier a(t.data(), t.size(), &c);
    assert_string_equal(apply(c, a, "load_module", {"/a.so"}).c_str(), "");
    assert_string_equal(apply(c, a, "load_module", {"/b.so"}).c_str(), "");
    assert_string_equal(apply(c, a, "daemon", {"on"}).c_str(), "");
    assert_string_equal(apply(c, a, "pid", {"/run/glided.pid"}).c_str(), "");
    assert_string_equal(apply(c, a, "error_log", {"/var/log/glided.log", "warn"}).c_str(), "");
    assert_string_equal(apply(c, a, "shutdown_timeout", {"0"}).c_str(), "");
    assert_true(a.finish().ok());
    assert_int_equal(c.load_modules.size(), 2);
    assert_true(c.daemon);
    assert_string_equal(c.error_log.c_str(), "/var/log/glided.log");
    assert_int_equal(c.error_log_level, GLIDE_LOG_WARN);
    assert_int_equal(c.shutdown_timeout_ms, 0);
}

void test_errors(void **) {
    HostConf c;
    auto t = host_directives();
    conf::Applier a(t.data(), t.size(), &c);
    assert_string_equal(apply(c, a, "error_log", {"stderr", "loud"}).c_str(),
                        "invalid log level \"loud\" in \"error_log\" directive, it must be one of "
                        "debug, info, notice, warn, error, crit, alert, emerg in h.conf:2");
    assert_string_equal(apply(c, a, "error_log", {""}).c_str(),
                        "invalid value \"\" in \"error_log\" directive in h.conf:2");
    assert_string_equal(apply(c, a, "error_log", {"a", "info", "x"}).c_str(),
                        "invalid number of arguments in \"error_log\" directive in h.conf:2");
    assert_string_equal(apply(c, a, "pid", {"a"}).c_str(), "");
    assert_string_equal(apply(c, a, "pid", {"b"}).c_str(),
                        "\"pid\" directive is duplicate in h.conf:2");
    assert_string_equal(apply(c, a, "shutdown_timeout", {"2h"}).c_str(),
                        "invalid value \"2h\" in \"shutdown_timeout\" directive, it must be "
                        "between 0s and 1h in h.conf:2");
}

void test_resolve_path(void **) {
    assert_string_equal(resolve_path("conf/glided.conf", "../build/libglide.so").c_str(),
                        "conf/../build/libglide.so");
    assert_string_equal(resolve_path("/etc/glide/glided.conf", "g.pid").c_str(),
                        "/etc/glide/g.pid");
    assert_string_equal(resolve_path("glided.conf", "g.pid").c_str(), "g.pid");
    assert_string_equal(resolve_path("/etc/x.conf", "/abs.so").c_str(), "/abs.so");
    assert_string_equal(resolve_path("/etc/x.conf", "stderr").c_str(), "stderr");
}

// The log's escaping: control bytes and the backslash as \xNN, plain text as it is, and a cut
// never in the middle of an escape.
void test_escape_text(void **) {
    char out[16];
    size_t n = escape_text("a\tb\\", 4, out, sizeof out);
    assert_int_equal(n, 10);
    assert_memory_equal(out, "a\\x09b\\x5c", 10);
    n = escape_text("plain text", 10, out, sizeof out);
    assert_int_equal(n, 10);
    assert_memory_equal(out, "plain text", 10);
    n = escape_text("abc\n", 4, out, 6); // "abc" fits, "\x0a" does not
    assert_int_equal(n, 3);
    n = escape_text("h\xc3\xa9", 3, out, sizeof out); // UTF-8 is not escaped
    assert_int_equal(n, 3);
}

void test_error_log(void **) {
    char dir[] = "/tmp/glide-errlog.XXXXXX";
    assert_non_null(mkdtemp(dir));
    std::string path = std::string(dir) + "/e.log";
    ErrorLog log;
    assert_true(log.open(path, GLIDE_LOG_NOTICE).ok());
    log.log(GLIDE_LOG_INFO, "hidden %d", 1);
    log.log(GLIDE_LOG_ERROR, "shown %d", 2);
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    std::string text = ss.str();
    assert_true(text.find("hidden") == std::string::npos);
    // "YYYY/MM/DD HH:MM:SS [error] PID: shown 2\n"
    assert_int_equal(text[4], '/');
    assert_true(text.find(" [error] " + std::to_string(getpid()) + ": shown 2\n") == 19);
    // A text with a newline (a uid a client sent) stays one line.
    const char evil[] = "uid a\nb\\c\x7f";
    log.write(GLIDE_LOG_ERROR, evil, sizeof evil - 1);
    std::ifstream in2(path);
    std::stringstream ss2;
    ss2 << in2.rdbuf();
    text = ss2.str();
    assert_true(text.find(": uid a\\x0ab\\x5cc\\x7f\n") != std::string::npos);
    assert_int_equal(std::count(text.begin(), text.end(), '\n'), 2);

    // Reopen after the file was moved away: a new file appears.
    std::string moved = path + ".1";
    assert_int_equal(rename(path.c_str(), moved.c_str()), 0);
    assert_true(log.reopen().ok());
    log.log(GLIDE_LOG_WARN, "after");
    assert_int_equal(access(path.c_str(), F_OK), 0);

    assert_false(log.open(std::string(dir) + "/no/such/dir.log", GLIDE_LOG_INFO).ok());
    glide_log_level l;
    assert_true(parse_level("emerg", l) && l == GLIDE_LOG_EMERG);
    assert_false(parse_level("verbose", l));
    assert_string_equal(level_name(GLIDE_LOG_DEBUG), "debug");
    unlink(path.c_str());
    unlink(moved.c_str());
    rmdir(dir);
}

} // namespace

int main() {
    const CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),    cmocka_unit_test(test_directives),
        cmocka_unit_test(test_errors),      cmocka_unit_test(test_resolve_path),
        cmocka_unit_test(test_error_log),   cmocka_unit_test(test_store_directives),
        cmocka_unit_test(test_worker_processes), cmocka_unit_test(test_escape_text),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
