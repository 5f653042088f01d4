/*
 * glide_host.worker_index and .worker_count (ABI 1.5) from a host written against the public
 * headers only: filled after create and before start (as a host that forks its workers does),
 * they make the instance node "<glide_node_id>.<index>" and open its listeners with
 * SO_REUSEPORT, so another worker's socket binds the same address. worker_count 1, or a table
 * whose size ends before the fields (an older host), changes nothing: a second socket cannot
 * bind the address.
 */
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "glide/glide.h"
#include "glide_cmocka.h"
#include "host_kit.h"
#include "load_module.h"

static const glide_api *api;
static void *so;

static int load(void **state) {
    (void)state;
    return load_module(&so, &api, 5); /* glide_host.worker_index, .worker_count: ABI 1.5 */
}

static int unload(void **state) {
    (void)state;
    return dlclose(so);
}

/* Creates the module on `host`, then fills the worker fields (after create, as a forking host
 * does), then configures and starts it with one listener on a free port. */
static glide_module *start(struct event_base *base, glide_host *host, uint32_t index,
                           uint32_t count, char *addr, size_t addrlen) {
    glide_module *m = NULL;
    glide_conf *c = NULL;
    char err[256];
    log_seen[0] = '\0';
    assert_int_equal(api->create(host, &m), GLIDE_OK);
    host->worker_index = index;
    host->worker_count = count;
    assert_int_equal(api->conf_new(m, &c), GLIDE_OK);
    const char *listen = "127.0.0.1:0", *node = "edge-7";
    assert_int_equal(set(api, c, "glide_listen", &listen, 1, err, sizeof err), GLIDE_OK);
    assert_int_equal(set(api, c, "glide_node_id", &node, 1, err, sizeof err), GLIDE_OK);
    assert_int_equal(api->conf_finish(c, err, sizeof err), GLIDE_OK);
    assert_int_equal(api->apply(m, c, err, sizeof err), GLIDE_OK);
    assert_int_equal(api->start(m, base, err, sizeof err), GLIDE_OK);
    assert_int_equal(api->listener_address(m, 0, addr, addrlen), GLIDE_OK);
    return m;
}

/* 0 when a socket with SO_REUSEPORT binds `addr` ("127.0.0.1:PORT") and listens; else errno. */
static int second_bind(const char *addr) {
    struct sockaddr_in sin;
    int one = 1, rc = 0;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_port = htons((uint16_t)atoi(strrchr(addr, ':') + 1));
    inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
    assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one), 0);
    if (bind(fd, (struct sockaddr *)&sin, sizeof sin) != 0 || listen(fd, 8) != 0)
        rc = errno;
    close(fd);
    return rc;
}

static void init_host(glide_host *host) {
    memset(host, 0, sizeof *host);
    host->size = sizeof *host;
    host->version = GLIDE_HOST_VERSION;
    host->log = host_log;
}

static void test_worker_of_several(void **state) {
    (void)state;
    struct event_base *base = event_base_new();
    glide_host host;
    char addr[64];
    init_host(&host);
    assert_int_equal(GLIDE_HOST_VERSION, 3);
    glide_module *m = start(base, &host, 5, 4, addr, sizeof addr);
    assert_non_null(strstr(log_seen, "one of 4 worker processes, node id \"edge-7.5\""));
    assert_non_null(strstr(log_seen, "shared with the other workers"));
    assert_int_equal(second_bind(addr), 0);
    api->destroy(m);
    event_base_free(base);
}

/* One process: a second socket cannot bind the address, the node id is glide_node_id's. */
static void expect_one_process(glide_host *host, uint32_t index, uint32_t count) {
    struct event_base *base = event_base_new();
    char addr[64];
    glide_module *m = start(base, host, index, count, addr, sizeof addr);
    assert_null(strstr(log_seen, "worker processes"));
    assert_int_equal(second_bind(addr), EADDRINUSE);
    api->destroy(m);
    event_base_free(base);
}

static void test_one_process(void **state) {
    (void)state;
    glide_host host;
    init_host(&host);
    expect_one_process(&host, 5, 1);
    expect_one_process(&host, 0, 0);
}

static void test_older_table(void **state) {
    (void)state;
    glide_host host;
    init_host(&host);
    /* A host built before ABI 1.5: its table ends with `flags`; what lies beyond is not its. */
    host.size = offsetof(glide_host, worker_index);
    host.version = 2;
    expect_one_process(&host, 5, 4);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_worker_of_several),
        cmocka_unit_test(test_one_process),
        cmocka_unit_test(test_older_table),
    };
    return cmocka_run_group_tests(tests, load, unload);
}
