/*
 * A host written in plain C against the public headers only, as a host author would: it
 * dlopen()s the built libglide.so, negotiates, configures, starts the module on its own
 * event_base, accepts a TCP connection, drains and unloads. Also: refusals of a wrong ABI
 * major and a wrong build fingerprint, configuration errors through the C API.
 */
#include <arpa/inet.h>
#include <dlfcn.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "glide/glide.h"
#include "abi/module_loader.h"
#include "glide_cmocka.h"
#include "host_kit.h"

static glide_negotiate_fn negotiate;

static int load(void **state) {
    (void)state;
    if (open_module() != 0)
        return -1;
    negotiate = (glide_negotiate_fn)dlsym(so, "glide_negotiate");
    return negotiate ? 0 : -1;
}

static const glide_api *negotiated(void) {
    static const uint32_t majors[] = {GLIDE_ABI_MAJOR};
    glide_offer offer = GLIDE_OFFER_INIT(majors, 1);
    const glide_api *api = NULL;
    char why[256];
    assert_int_equal(negotiate(&offer, &api, why, sizeof why), GLIDE_OK);
    assert_non_null(api);
    return api;
}

static void test_version_query(void **state) {
    (void)state;
    glide_version_fn version = (glide_version_fn)dlsym(so, "glide_version");
    assert_non_null(version);
    assert_int_equal(version(), GLIDE_VERSION_NUMBER);
    const glide_api *api = negotiated();
    assert_string_equal(api->version_string, GLIDE_VERSION_STRING);
    assert_int_equal(api->abi_major, GLIDE_ABI_MAJOR);
    assert_true(api->size >= sizeof(glide_api));
    assert_non_null(strstr(api->build, "libevent"));
}

static void test_only_documented_symbols(void **state) {
    (void)state;
    /* Internal C++ symbols must not be reachable. */
    assert_null(dlsym(so, "_ZN5glide6ModuleC1EPK10glide_host"));
    assert_null(dlsym(so, "api_create"));
}

static void test_wrong_major_refused(void **state) {
    (void)state;
    static const uint32_t majors[] = {2, 3};
    glide_offer offer = GLIDE_OFFER_INIT(majors, 2);
    const glide_api *api = NULL;
    char why[256] = "";
    assert_int_equal(negotiate(&offer, &api, why, sizeof why), GLIDE_EABI);
    assert_null(api);
    assert_string_equal(why, "libglide " GLIDE_VERSION_STRING
                             " speaks plugin ABI 1; the host offers 2, 3");
}

static void test_second_choice_major_accepted(void **state) {
    (void)state;
    static const uint32_t majors[] = {7, GLIDE_ABI_MAJOR};
    glide_offer offer = GLIDE_OFFER_INIT(majors, 2);
    const glide_api *api = NULL;
    assert_int_equal(negotiate(&offer, &api, NULL, 0), GLIDE_OK);
    assert_int_equal(api->abi_major, GLIDE_ABI_MAJOR);
}

static void test_wrong_fingerprint_refused(void **state) {
    (void)state;
    static const uint32_t majors[] = {GLIDE_ABI_MAJOR};
    glide_offer offer = GLIDE_OFFER_INIT(majors, 1);
    const glide_api *api = NULL;
    char why[256] = "";

    offer.fingerprint.libevent_version = 0x02020100; /* libevent 2.2.1 */
    assert_int_equal(negotiate(&offer, &api, why, sizeof why), GLIDE_EFINGERPRINT);
    assert_string_equal(why, "libglide " GLIDE_VERSION_STRING
                             " was built with libevent 2.1, the host with libevent 2.2");

    offer.fingerprint.libevent_version = LIBEVENT_VERSION_NUMBER;
    offer.fingerprint.pointer_size = 4;
    assert_int_equal(negotiate(&offer, &api, why, sizeof why), GLIDE_EFINGERPRINT);
    assert_string_equal(why, "libglide " GLIDE_VERSION_STRING
                             " was built for 64-bit pointers, the host for 32-bit");
    assert_null(api);
}

static void test_old_offer_refused(void **state) {
    (void)state;
    static const uint32_t majors[] = {GLIDE_ABI_MAJOR};
    glide_offer offer = GLIDE_OFFER_INIT(majors, 1);
    const glide_api *api = NULL;
    char why[256];
    offer.size = 8;
    assert_int_equal(negotiate(&offer, &api, why, sizeof why), GLIDE_ESTRUCT);
    assert_int_equal(negotiate(NULL, &api, why, sizeof why), GLIDE_EINVAL);
}

static void test_directive_table(void **state) {
    (void)state;
    const glide_api *api = negotiated();
    size_t n = 0;
    const glide_directive *d = api->directives(&n);
    assert_true(n >= 10);
    int saw_listen = 0;
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(d[i].size, sizeof(glide_directive));
        assert_non_null(d[i].syntax);
        assert_non_null(d[i].doc);
        if (strcmp(d[i].name, "glide_listen") == 0) {
            saw_listen = 1;
            assert_true(d[i].flags & GLIDE_DIRECTIVE_MULTI);
        }
        if (strcmp(d[i].name, "glide_max_message_size") == 0) {
            assert_string_equal(d[i].default_value, "64k");
            assert_true(d[i].flags & GLIDE_DIRECTIVE_RELOADABLE);
        }
    }
    assert_true(saw_listen);
}

/* A host table with only the log callback (static: the module keeps the pointer). */
static const glide_host *log_only_host(void) {
    static glide_host host;
    memset(&host, 0, sizeof host);
    host.size = sizeof host;
    host.version = GLIDE_HOST_VERSION;
    host.log = host_log;
    return &host;
}

static void test_conf_errors(void **state) {
    (void)state;
    const glide_api *api = negotiated();
    glide_module *m = NULL;
    assert_int_equal(api->create(log_only_host(), &m), GLIDE_OK);
    glide_conf *c = NULL;
    assert_int_equal(api->conf_new(m, &c), GLIDE_OK);
    char err[256];

    const char *bad_size[] = {"12q"};
    assert_int_equal(set(api, c, "glide_max_message_size", bad_size, 1, err, sizeof err),
                     GLIDE_ECONF);
    assert_string_equal(err, "invalid value \"12q\" in \"glide_max_message_size\" directive in "
                             "host.conf:7");

    const char *x[] = {"x"};
    assert_int_equal(set(api, c, "no_such_directive", x, 1, err, sizeof err), GLIDE_EUNKNOWN);

    assert_int_equal(set(api, c, "glide_ws_path", NULL, 0, err, sizeof err), GLIDE_ECONF);
    assert_string_equal(err, "invalid number of arguments in \"glide_ws_path\" directive in "
                             "host.conf:7");

    const char *ssl[] = {"127.0.0.1:0", "ssl"};
    assert_int_equal(set(api, c, "glide_listen", ssl, 2, err, sizeof err), GLIDE_OK);
    assert_int_equal(api->conf_finish(c, err, sizeof err), GLIDE_ECONF);
    assert_string_equal(err, "no \"glide_ssl_certificate\" is defined for the \"glide_listen "
                             "... ssl\" directive in host.conf:7");
    api->conf_free(c);
    api->destroy(m);
}

/* ABI 1.8: what a configuration asks of its host, with the module's directive names and where
 * they were given, so a host checks worker processes and its store without knowing them. */
static int str_is(glide_str s, const char *want) {
    return s.len == strlen(want) && memcmp(s.ptr, want, s.len) == 0;
}

static void test_conf_info(void **state) {
    (void)state;
    const glide_api *api = negotiated();
    assert_true(api->size >= offsetof(glide_api, conf_info) + sizeof api->conf_info);
    glide_module *m = NULL;
    assert_int_equal(api->create(log_only_host(), &m), GLIDE_OK);
    char err[256];
    glide_conf_info info;

    /* One listener on a fixed port, one on port 0, no cluster. */
    glide_conf *c = NULL;
    assert_int_equal(api->conf_new(m, &c), GLIDE_OK);
    const char *fixed[] = {"127.0.0.1:8083"};
    const char *port0[] = {"127.0.0.1:0", "tcp"};
    assert_int_equal(set(api, c, "glide_listen", fixed, 1, err, sizeof err), GLIDE_OK);
    assert_int_equal(set(api, c, "glide_listen", port0, 2, err, sizeof err), GLIDE_OK);
    memset(&info, 0, sizeof info);
    info.size = sizeof info;
    assert_int_equal(api->conf_info(c, &info), GLIDE_ESTATE); /* not finished */
    assert_int_equal(api->conf_finish(c, err, sizeof err), GLIDE_OK);
    assert_int_equal(api->conf_info(NULL, &info), GLIDE_EINVAL);
    assert_int_equal(api->conf_info(c, NULL), GLIDE_EINVAL);
    info.size = offsetof(glide_conf_info, cluster); /* too small for `cluster` */
    assert_int_equal(api->conf_info(c, &info), GLIDE_ESTRUCT);
    info.size = sizeof info;
    assert_int_equal(api->conf_info(c, &info), GLIDE_OK);
    assert_int_equal(info.size, sizeof info);
    assert_int_equal(info.version, 1);
    assert_int_equal(info.cluster, 0);
    assert_true(str_is(info.cluster_directive, "glide_cluster"));
    assert_int_equal(info.cluster_file.len, 0);
    assert_int_equal(info.port0, 1);
    assert_true(str_is(info.port0_directive, "glide_listen"));
    assert_true(str_is(info.port0_file, "host.conf"));
    assert_int_equal(info.port0_line, 7);
    /* An older, shorter struct: nothing beyond its size is written. */
    memset(&info, 0x5a, sizeof info);
    info.size = offsetof(glide_conf_info, port0);
    assert_int_equal(api->conf_info(c, &info), GLIDE_OK);
    assert_int_equal(info.size, offsetof(glide_conf_info, port0));
    assert_int_equal(info.port0, 0x5a5a5a5a);
    api->conf_free(c);

    /* A cluster, no port 0; then glide_cluster off. */
    const char *bus[] = {"redis://127.0.0.1:6379"};
    const char *off[] = {"off"};
    for (int turned_off = 0; turned_off < 2; turned_off++) {
        assert_int_equal(api->conf_new(m, &c), GLIDE_OK);
        assert_int_equal(set(api, c, "glide_listen", fixed, 1, err, sizeof err), GLIDE_OK);
        assert_int_equal(set(api, c, "glide_cluster", turned_off ? off : bus, 1, err, sizeof err),
                         GLIDE_OK);
        assert_int_equal(api->conf_finish(c, err, sizeof err), GLIDE_OK);
        memset(&info, 0, sizeof info);
        info.size = sizeof info;
        assert_int_equal(api->conf_info(c, &info), GLIDE_OK);
        assert_int_equal(info.cluster, !turned_off);
        assert_true(str_is(info.cluster_directive, "glide_cluster"));
        if (!turned_off) {
            assert_true(str_is(info.cluster_file, "host.conf"));
            assert_int_equal(info.cluster_line, 7);
        }
        assert_int_equal(info.port0, 0);
        api->conf_free(c);
    }
    api->destroy(m);
}

/* --- the full life: start, accept, drain, destroy ----------------------------------------- */

struct life {
    struct event_base *base;
    int drained;
};

static void on_drained(void *arg) {
    struct life *l = arg;
    l->drained++;
    event_base_loopexit(l->base, NULL);
}

static void on_give_up(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    event_base_loopbreak(arg);
}

/* Runs the loop until `pred` holds or about 5 s pass. */
static int run_until(struct event_base *base, int (*pred)(void *), void *arg) {
    for (int i = 0; i < 500 && !pred(arg); i++) {
        struct timeval tv = {0, 10000};
        event_base_loopexit(base, &tv);
        event_base_dispatch(base);
    }
    return pred(arg);
}

struct probe {
    const glide_api *api;
    glide_module *m;
    uint64_t want_accepted;
    uint64_t want_open;
};

static int stats_reached(void *arg) {
    struct probe *p = arg;
    glide_stats s;
    memset(&s, 0, sizeof s);
    s.size = sizeof s;
    p->api->stats(p->m, &s);
    return s.connections_accepted >= p->want_accepted && s.connections == p->want_open;
}

static int connect_to(const char *addr) {
    char host[64];
    snprintf(host, sizeof host, "%s", addr);
    char *colon = strrchr(host, ':');
    *colon = '\0';
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_port = htons((uint16_t)atoi(colon + 1));
    inet_pton(AF_INET, host, &sin.sin_addr);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof sin), 0);
    return fd;
}

static glide_module *started(const glide_api *api, struct event_base *base,
                             const glide_host *host) {
    glide_module *m = NULL;
    assert_int_equal(api->create(host, &m), GLIDE_OK);
    glide_conf *c = NULL;
    assert_int_equal(api->conf_new(m, &c), GLIDE_OK);
    char err[256];
    const char *listen[] = {"127.0.0.1:0", "tcp", "json"};
    assert_int_equal(set(api, c, "glide_listen", listen, 3, err, sizeof err), GLIDE_OK);
    const char *linger[] = {"30s"};
    assert_int_equal(set(api, c, "glide_linger_timeout", linger, 1, err, sizeof err), GLIDE_OK);
    assert_int_equal(api->conf_finish(c, err, sizeof err), GLIDE_OK);
    assert_int_equal(api->apply(m, c, err, sizeof err), GLIDE_OK);
    assert_int_equal(api->start(m, base, err, sizeof err), GLIDE_OK);
    return m;
}

static void test_start_accept_drain_unload(void **state) {
    (void)state;
    const glide_api *api = negotiated();
    struct life l = {event_base_new(), 0};
    glide_host host;
    memset(&host, 0, sizeof host);
    host.size = sizeof host;
    host.version = GLIDE_HOST_VERSION;
    host.log = host_log;
    log_seen[0] = '\0';
    glide_module *m = started(api, l.base, &host);

    char addr[64];
    assert_int_equal(api->listener_address(m, 0, addr, sizeof addr), GLIDE_OK);
    assert_int_equal(strncmp(addr, "127.0.0.1:", 10), 0);
    assert_int_equal(api->listener_address(m, 1, addr + 32, 32), GLIDE_ENOTFOUND);
    assert_non_null(strstr(log_seen, "listening on 127.0.0.1:"));

    /* The server takes the connection; it stays open (lingering) while the client is silent. */
    int fd = connect_to(addr);
    struct probe p = {api, m, 1, 1};
    assert_true(run_until(l.base, stats_reached, &p));

    /* Drain: the connection is closed politely (the client sees EOF), then done fires. */
    assert_int_equal(api->drain(m, 5000, on_drained, &l), GLIDE_OK);
    assert_int_equal(api->drain(m, 5000, on_drained, &l), GLIDE_ESTATE);
    char buf[256];
    /* The glide protocol's hello came first (a length-prefixed frame); then EOF from the
     * server's polite close. Closing our side lets the drain finish at once. */
    ssize_t got;
    size_t total = 0;
    while ((got = read(fd, buf, sizeof buf)) > 0)
        total += (size_t)got;
    assert_int_equal(got, 0);
    assert_true(total > 4);
    close(fd);
    struct event *give_up = evtimer_new(l.base, on_give_up, l.base);
    struct timeval limit = {5, 0};
    evtimer_add(give_up, &limit);
    event_base_dispatch(l.base);
    assert_int_equal(l.drained, 1);

    glide_stats s;
    memset(&s, 0, sizeof s);
    s.size = sizeof s;
    assert_int_equal(api->stats(m, &s), GLIDE_OK);
    assert_int_equal(s.connections, 0);
    assert_int_equal(s.connections_accepted, 1);
    assert_int_equal(s.connections_closed, 1);
    assert_int_equal(s.listeners, 0);
    assert_int_equal(s.draining, 1);
    assert_int_equal(s.drops, 0);

    /* No longer listening. */
    int probe_fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_port = htons((uint16_t)atoi(strrchr(addr, ':') + 1));
    inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
    assert_int_not_equal(connect(probe_fd, (struct sockaddr *)&sin, sizeof sin), 0);
    close(probe_fd);

    event_free(give_up);
    api->destroy(m);
    event_base_free(l.base);
}

static void test_drain_timeout_drops_silent_peers(void **state) {
    (void)state;
    const glide_api *api = negotiated();
    struct life l = {event_base_new(), 0};
    glide_module *m = started(api, l.base, NULL);
    char addr[64];
    assert_int_equal(api->listener_address(m, 0, addr, sizeof addr), GLIDE_OK);
    int fd = connect_to(addr);
    struct probe p = {api, m, 1, 1};
    assert_true(run_until(l.base, stats_reached, &p));

    /* The client never closes: the drain's own timeout ends it. */
    assert_int_equal(api->drain(m, 100, on_drained, &l), GLIDE_OK);
    struct event *give_up = evtimer_new(l.base, on_give_up, l.base);
    struct timeval limit = {5, 0};
    evtimer_add(give_up, &limit);
    event_base_dispatch(l.base);
    assert_int_equal(l.drained, 1);
    glide_stats s;
    memset(&s, 0, sizeof s);
    s.size = sizeof s;
    api->stats(m, &s);
    assert_int_equal(s.connections, 0);
    close(fd);
    event_free(give_up);
    api->destroy(m);
    event_base_free(l.base);
}

static void test_destroy_with_open_connections(void **state) {
    (void)state;
    const glide_api *api = negotiated();
    struct event_base *base = event_base_new();
    glide_module *m = started(api, base, NULL);
    char addr[64];
    assert_int_equal(api->listener_address(m, 0, addr, sizeof addr), GLIDE_OK);
    int fd1 = connect_to(addr), fd2 = connect_to(addr);
    struct probe p = {api, m, 2, 2};
    assert_true(run_until(base, stats_reached, &p));
    api->destroy(m); /* immediate: no leak, no use after free (valgrind/ASan check this) */
    api->destroy(NULL);
    close(fd1);
    close(fd2);
    event_base_free(base);
}

static void test_start_bind_error(void **state) {
    (void)state;
    const glide_api *api = negotiated();
    struct event_base *base = event_base_new();
    glide_module *a = started(api, base, NULL);
    char addr[64], err[256];
    assert_int_equal(api->listener_address(a, 0, addr, sizeof addr), GLIDE_OK);

    glide_module *b = NULL;
    assert_int_equal(api->create(NULL, &b), GLIDE_OK);
    glide_conf *c = NULL;
    assert_int_equal(api->conf_new(b, &c), GLIDE_OK);
    const char *listen[] = {addr};
    assert_int_equal(set(api, c, "glide_listen", listen, 1, err, sizeof err), GLIDE_OK);
    assert_int_equal(api->conf_finish(c, err, sizeof err), GLIDE_OK);
    assert_int_equal(api->apply(b, c, err, sizeof err), GLIDE_OK);
    assert_int_equal(api->start(b, base, err, sizeof err), GLIDE_EADDR);
    char want[128];
    snprintf(want, sizeof want, "bind() to %s failed (98: Address already in use)", addr);
    assert_string_equal(err, want);
    api->destroy(b);
    api->destroy(a);
    event_base_free(base);
}

static void test_control_calls_before_sessions(void **state) {
    (void)state;
    const glide_api *api = negotiated();
    glide_module *m = NULL;
    assert_int_equal(api->create(NULL, &m), GLIDE_OK);
    glide_str uid = {"1001", 4}, none = {NULL, 0};
    glide_str env = {"{\"action\":\"heartbeat\"}", 22};
    uint32_t n = 7;
    /* Not started: no sessions to reach yet. */
    assert_int_equal(api->push(m, uid, env, &n), GLIDE_ESTATE);
    assert_int_equal(n, 0);
    assert_int_equal(api->push(m, uid, none, NULL), GLIDE_EINVAL);
    assert_int_equal(api->kick(m, uid, none, NULL), GLIDE_ESTATE);
    assert_int_equal(api->group_invalidate(m, uid), GLIDE_ESTATE);
    assert_int_equal(api->kick(NULL, uid, none, NULL), GLIDE_EINVAL);
    assert_int_equal(api->auth_done(NULL, NULL), GLIDE_EINVAL);
    assert_int_equal(api->request_done(NULL, 0, none), GLIDE_EINVAL);
    assert_int_equal(api->drain(m, 10, NULL, NULL), GLIDE_ESTATE); /* not started */
    assert_string_equal(api->strerror(GLIDE_ENOTSUP), "not supported by this build");
    assert_string_equal(api->strerror(12345), "unknown error code");
    api->destroy(m);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_version_query),
        cmocka_unit_test(test_only_documented_symbols),
        cmocka_unit_test(test_wrong_major_refused),
        cmocka_unit_test(test_second_choice_major_accepted),
        cmocka_unit_test(test_wrong_fingerprint_refused),
        cmocka_unit_test(test_old_offer_refused),
        cmocka_unit_test(test_directive_table),
        cmocka_unit_test(test_conf_errors),
        cmocka_unit_test(test_conf_info),
        cmocka_unit_test(test_start_accept_drain_unload),
        cmocka_unit_test(test_drain_timeout_drops_silent_peers),
        cmocka_unit_test(test_destroy_with_open_connections),
        cmocka_unit_test(test_start_bind_error),
        cmocka_unit_test(test_control_calls_before_sessions),
    };
    return cmocka_run_group_tests(tests, load, unload);
}
