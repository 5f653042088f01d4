/*
 * glide's credential and ticket primitives through the public API of the loaded module: the
 * protocol.md §6.4 test vector, expiry, garbage, minting and reopening, and the §6.5 ticket.
 */
#include <dlfcn.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "glide/glide.h"
#include "abi/module_loader.h"
#include "glide_cmocka.h"

static const glide_api *api;

static glide_str S(const char *s) {
    glide_str g;
    g.ptr = s;
    g.len = strlen(s);
    return g;
}

static int eq(glide_str g, const char *s) {
    return g.len == strlen(s) && memcmp(g.ptr, s, g.len) == 0;
}

static int load(void **state) {
    (void)state;
    return open_and_negotiate(&api);
}

/* protocol.md §6.4: secret "secret_key", IV 00..0f. */
static const char *vector =
    "AAECAwQFBgcICQoLDA0OD96+Kx4aajTfLJgPqiuDXsc7lmDfUv+Ee7np8p9b8BK/SmzD/KwTATJ+yzZlD6v7GoC2Cx1p"
    "kenZOn74C4a7E0Sp0RzXyOdcTnOI7q5Xn3bZw+1TAeknxIiaUpg9TdAojw";

static void test_open_vector(void **state) {
    (void)state;
    glide_credential *c = NULL;
    char err[64] = "x";
    /* minted at 1720000000000; 10 minutes later it is still valid */
    assert_int_equal(api->credential_open(S("secret_key"), S(vector), 1720000000000LL + 600000,
                                          &c, err, sizeof err),
                     GLIDE_OK);
    assert_string_equal(err, "");
    assert_true(eq(c->user_id, "1002"));
    assert_int_equal(c->timestamp_ms, 1720000000000LL);
    assert_true(c->has_secrets);
    assert_true(eq(c->message_deliver_secret, "abc"));
    assert_int_equal(c->device_id.len, 0);
    assert_false(c->has_connection_config);
    api->credential_free(c);
    api->credential_free(NULL);
}

static void test_expired_and_invalid(void **state) {
    (void)state;
    glide_credential *c = (glide_credential *)1;
    char err[64];
    assert_int_equal(api->credential_open(S("secret_key"), S(vector),
                                          1720000000000LL + GLIDE_CREDENTIAL_MAX_AGE_MS + 1, &c,
                                          err, sizeof err),
                     GLIDE_EEXPIRED);
    assert_string_equal(err, "credential expired");
    assert_null(c);
    /* exactly 25 minutes is still accepted, as glide (">" not ">=") */
    assert_int_equal(api->credential_open(S("secret_key"), S(vector),
                                          1720000000000LL + GLIDE_CREDENTIAL_MAX_AGE_MS, &c, err,
                                          sizeof err),
                     GLIDE_OK);
    api->credential_free(c);

    const char *bad[] = {"", "abc", "not base64 !!", "AAECAwQFBgcICQoLDA0ODw", vector};
    const char *secrets[] = {"secret_key", "secret_key", "secret_key", "secret_key", "other"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(api->credential_open(S(secrets[i]), S(bad[i]), 0, &c, err, sizeof err),
                         GLIDE_EDECODE);
        assert_string_equal(err, "invalid authenticate message");
    }
    /* padded base64 is refused, as glide's RawStdEncoding does */
    char padded[512];
    snprintf(padded, sizeof padded, "%s==", vector);
    assert_int_equal(api->credential_open(S("secret_key"), S(padded), 0, &c, err, sizeof err),
                     GLIDE_EDECODE);
}

static void test_seal_and_open(void **state) {
    (void)state;
    glide_credential in;
    memset(&in, 0, sizeof in);
    in.size = sizeof in;
    in.version = 1;
    in.type = 2;
    in.user_id = S("1001");
    in.device_id = S("phone");
    in.device_name = S("Pixel");
    in.has_secrets = 1;
    in.message_deliver_secret = S("s3cr3t");
    in.timestamp_ms = 1800000000000LL;
    in.has_connection_config = 1;
    in.heartbeat_lost = 5;
    in.heartbeat_duration_s = 20;

    char small[8];
    size_t len = sizeof small;
    assert_int_equal(api->credential_seal(S("secret_key"), &in, small, &len), GLIDE_ETOOBIG);
    assert_true(len > sizeof small);
    char *buf = malloc(len);
    size_t cap = len;
    assert_int_equal(api->credential_seal(S("secret_key"), &in, buf, &len), GLIDE_OK);
    assert_int_equal(strlen(buf), len);
    assert_true(len < cap);
    assert_null(strchr(buf, '=')); /* unpadded */

    glide_credential *c = NULL;
    assert_int_equal(api->credential_open(S("secret_key"), S(buf), 0, &c, NULL, 0), GLIDE_OK);
    assert_true(eq(c->user_id, "1001"));
    assert_true(eq(c->device_id, "phone"));
    assert_true(eq(c->device_name, "Pixel"));
    assert_true(eq(c->message_deliver_secret, "s3cr3t"));
    assert_int_equal(c->type, 2);
    assert_int_equal(c->timestamp_ms, 1800000000000LL);
    assert_true(c->has_connection_config);
    assert_int_equal(c->heartbeat_lost, 5);
    assert_int_equal(c->heartbeat_duration_s, 20);
    api->credential_free(c);

    /* A second seal uses a fresh random IV. */
    char *again = malloc(cap);
    size_t len2 = cap;
    assert_int_equal(api->credential_seal(S("secret_key"), &in, again, &len2), GLIDE_OK);
    assert_string_not_equal(buf, again);
    free(again);
    free(buf);
}

static void test_ticket(void **state) {
    (void)state;
    char t[41];
    assert_int_equal(api->ticket(S("s3cr3t"), S("1001"), S("1002"), t), GLIDE_OK);
    assert_string_equal(t, "937116764d1d428c8e47b0d8f985b1d543363f1d");

    char err[64];
    assert_int_equal(api->ticket_check(S("s3cr3t"), S("1001"), S("1002"), S(t), err, sizeof err),
                     GLIDE_OK);
    assert_int_equal(api->ticket_check(S("s3cr3t"), S("1001"), S("1002"),
                                       S("937116764D1D428C8E47B0D8F985B1D543363F1D"), err,
                                       sizeof err),
                     GLIDE_OK); /* compared case-insensitively */
    assert_int_equal(api->ticket_check(S("s3cr3t"), S("1001"), S("1003"), S(t), err, sizeof err),
                     GLIDE_EFORBIDDEN);
    assert_string_equal(err, "ticket expired");
    assert_int_equal(api->ticket_check(S("s3cr3t"), S("1001"), S("1002"), S("abc"), err,
                                       sizeof err),
                     GLIDE_EFORBIDDEN);
    assert_string_equal(err, "invalid ticket");
    assert_int_equal(api->ticket_check(S(""), S("1001"), S("1002"), S(t), err, sizeof err),
                     GLIDE_EFORBIDDEN);
    assert_string_equal(err, "no message deliver secret");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_vector),
        cmocka_unit_test(test_expired_and_invalid),
        cmocka_unit_test(test_seal_and_open),
        cmocka_unit_test(test_ticket),
    };
    return cmocka_run_group_tests(tests, load, unload);
}
