/*
 * Return codes that mean one thing each, seen from a host written against the public headers
 * only: start's failures (state, address, configuration), GLIDE_ENOCALLBACK's text, push_2's
 * reason, and the version checks of the host table.
 */
#include <dlfcn.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "glide/glide.h"
#include "glide_cmocka.h"
#include "host_kit.h"
#include "load_module.h"

static const glide_api *api;
static void *so;

static int load(void **state) {
    (void)state;
    return load_module(&so, &api, 3); /* handoff, push_2: ABI 1.3 */
}

static int unload(void **state) {
    (void)state;
    return dlclose(so);
}

/* An instance with `listen` (NULL: none) applied, not started. */
static glide_module *configured(const char *listen) {
    glide_module *m = NULL;
    glide_conf *c = NULL;
    char err[256];
    assert_int_equal(api->create(NULL, &m), GLIDE_OK);
    assert_int_equal(api->conf_new(m, &c), GLIDE_OK);
    if (listen)
        assert_int_equal(set(api, c, "glide_listen", &listen, 1, err, sizeof err), GLIDE_OK);
    assert_int_equal(api->conf_finish(c, err, sizeof err), GLIDE_OK);
    assert_int_equal(api->apply(m, c, err, sizeof err), GLIDE_OK);
    return m;
}

static void test_start_codes(void **state) {
    (void)state;
    struct event_base *base = event_base_new();
    char err[256];

    /* No configuration applied yet: the state, not an address. */
    glide_module *m = NULL;
    assert_int_equal(api->create(NULL, &m), GLIDE_OK);
    assert_int_equal(api->start(m, base, err, sizeof err), GLIDE_ESTATE);
    assert_string_equal(err, "no configuration applied");
    api->destroy(m);

    /* Started twice: GLIDE_ESTATE. */
    m = configured("127.0.0.1:0");
    assert_int_equal(api->start(m, base, err, sizeof err), GLIDE_OK);
    assert_int_equal(api->start(m, base, err, sizeof err), GLIDE_ESTATE);
    assert_string_equal(err, "already started");

    /* The address is taken: GLIDE_EADDR. */
    char addr[64];
    assert_int_equal(api->listener_address(m, 0, addr, sizeof addr), GLIDE_OK);
    glide_module *b = configured(addr);
    assert_int_equal(api->start(b, base, err, sizeof err), GLIDE_EADDR);
    assert_non_null(strstr(err, "Address already in use"));
    api->destroy(b);
    api->destroy(m);
    event_base_free(base);
}

static void test_texts(void **state) {
    (void)state;
    assert_string_equal(api->strerror(GLIDE_ENOCALLBACK), "the host provides no callback for this");
    assert_string_equal(api->strerror(GLIDE_ENOTSUP), "not supported by this build");
}

static void test_push_2_reason(void **state) {
    (void)state;
    struct event_base *base = event_base_new();
    glide_module *m = configured(NULL);
    char err[256] = "x";
    glide_str uid = {"1001", 4};
    glide_str bad = {"{\"action\":", 10};
    glide_str good = {"{\"action\":\"heartbeat\"}", 22};
    uint32_t sent = 9;
    assert_int_equal(api->push_2(m, uid, good, &sent, err, sizeof err), GLIDE_ESTATE);
    assert_string_equal(err, "the module is not started");
    assert_int_equal(api->start(m, base, err, sizeof err), GLIDE_OK);
    assert_int_equal(api->push_2(m, uid, bad, &sent, err, sizeof err), GLIDE_EDECODE);
    assert_true(strlen(err) > 0);
    assert_int_equal(sent, 0);
    assert_int_equal(api->push(m, uid, bad, &sent), GLIDE_EDECODE); /* same code, no text */
    assert_int_equal(api->push_2(m, uid, good, &sent, err, sizeof err), GLIDE_OK);
    assert_string_equal(err, "");
    assert_int_equal(sent, 0); /* nobody connected */
    api->destroy(m);
    event_base_free(base);
}

/* The host table's size and version (host.h): too small or version 0 is GLIDE_ESTRUCT; a
 * newer, larger table is read as far as the module knows it. */
static void test_host_table_versions(void **state) {
    (void)state;
    glide_module *m = NULL;
    struct {
        glide_host h;
        char later[64]; /* fields of a future version */
    } big;
    glide_host h;
    memset(&h, 0, sizeof h);
    h.size = sizeof h;
    h.version = GLIDE_HOST_VERSION;
    assert_int_equal(GLIDE_HOST_VERSION, 3);
    assert_int_equal(api->create(&h, &m), GLIDE_OK);
    api->destroy(m);
    h.version = 0;
    assert_int_equal(api->create(&h, &m), GLIDE_ESTRUCT);
    h.version = 1;
    h.size = offsetof(glide_host, log); /* ends before log */
    assert_int_equal(api->create(&h, &m), GLIDE_ESTRUCT);
    /* A version-1 table (before flags) and a version-2 one (before worker_index) are still
     * read. */
    h.size = offsetof(glide_host, flags);
    assert_int_equal(api->create(&h, &m), GLIDE_OK);
    api->destroy(m);
    h.version = 2;
    h.size = offsetof(glide_host, worker_index);
    assert_int_equal(api->create(&h, &m), GLIDE_OK);
    api->destroy(m);
    memset(&big, 0xA5, sizeof big);
    memset(&big.h, 0, sizeof big.h);
    big.h.size = sizeof big;
    big.h.version = GLIDE_HOST_VERSION + 1;
    assert_int_equal(api->create(&big.h, &m), GLIDE_OK);
    api->destroy(m);
    assert_int_equal(api->create(&big.h, NULL), GLIDE_EINVAL);
    assert_int_equal(api->create(NULL, &m), GLIDE_OK); /* no host: every callback absent */
    api->destroy(m);
}

/* A directive call of version 0 or too small for its fields. */
static void test_directive_call_struct(void **state) {
    (void)state;
    glide_module *m = NULL;
    glide_conf *c = NULL;
    char err[256];
    glide_str a = {"64k", 3};
    glide_directive_call call;
    assert_int_equal(api->create(NULL, &m), GLIDE_OK);
    assert_int_equal(api->conf_new(m, &c), GLIDE_OK);
    memset(&call, 0, sizeof call);
    call.size = sizeof call;
    call.version = 0;
    call.name.ptr = "glide_max_message_size";
    call.name.len = strlen(call.name.ptr);
    call.args = &a;
    call.nargs = 1;
    assert_int_equal(api->conf_set(c, &call, err, sizeof err), GLIDE_ESTRUCT);
    call.version = 1;
    call.size = 8;
    assert_int_equal(api->conf_set(c, &call, err, sizeof err), GLIDE_ESTRUCT);
    call.size = sizeof call;
    assert_int_equal(api->conf_set(c, &call, err, sizeof err), GLIDE_OK);
    assert_int_equal(api->conf_set(c, NULL, err, sizeof err), GLIDE_EINVAL);
    api->conf_free(c);
    api->destroy(m);
}

static void test_credential_struct(void **state) {
    (void)state;
    glide_credential c;
    char out[512];
    size_t len = sizeof out;
    glide_str secret = {"s", 1};
    memset(&c, 0, sizeof c);
    c.size = sizeof c;
    assert_int_equal(api->credential_seal(secret, &c, out, &len), GLIDE_ESTRUCT); /* version 0 */
    c.version = 1;
    c.size = 16;
    assert_int_equal(api->credential_seal(secret, &c, out, &len), GLIDE_ESTRUCT);
    c.size = sizeof c;
    assert_int_equal(api->credential_seal(secret, &c, out, &len), GLIDE_OK);
    assert_int_equal(api->credential_seal(secret, NULL, out, &len), GLIDE_EINVAL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_start_codes),
        cmocka_unit_test(test_texts),
        cmocka_unit_test(test_push_2_reason),
        cmocka_unit_test(test_host_table_versions),
        cmocka_unit_test(test_directive_call_struct),
        cmocka_unit_test(test_credential_struct),
    };
    return cmocka_run_group_tests(tests, load, unload);
}
