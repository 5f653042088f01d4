// glide's credential (§6.4) and ticket (§6.5) primitives against protocol.md's vectors.
#include "codec/credential.h"

#include <cstdio>
#include <cstring>
#include <string>

#include "glide_cmocka.h"

using namespace glide::codec;

namespace {

const char vector_credential[] =
    "AAECAwQFBgcICQoLDA0OD96+Kx4aajTfLJgPqiuDXsc7lmDfUv+Ee7np8p9b8BK/SmzD/KwTATJ+yzZlD6v7GoC2Cx1p"
    "kenZOn74C4a7E0Sp0RzXyOdcTnOI7q5Xn3bZw+1TAeknxIiaUpg9TdAojw";
const char vector_plaintext[] =
    "{\"user_id\":\"1002\",\"timestamp\":1720000000000,\"secrets\":{\"message_deliver_secret\":"
    "\"abc\"}}";
const uint8_t vector_iv[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};

void test_key_derivation(void **) {
    auto key = credential_key("secret_key");
    static const char hx[] = "0123456789abcdef";
    std::string h;
    for (uint8_t b : key) {
        h.push_back(hx[b >> 4]);
        h.push_back(hx[b & 15]);
    }
    assert_string_equal(h.c_str(),
                        "7365637265745f6b6579cf83e1357eefb8bdf1542850d66d8007d620e4050b57");
    // 32 bytes or more: the secret alone.
    auto long_key = credential_key("0123456789abcdef0123456789abcdefXYZ");
    assert_memory_equal(long_key.data(), "0123456789abcdef0123456789abcdef", 32);
}

void test_open_vector(void **) {
    auto text = open_credential_text("secret_key", vector_credential);
    assert_true(text.ok());
    assert_string_equal(text->c_str(), vector_plaintext);

    auto c = open_credential("secret_key", vector_credential);
    assert_true(c.ok());
    assert_string_equal(c->user_id.c_str(), "1002");
    assert_int_equal(c->timestamp, 1720000000000LL);
    assert_true(c->has_secrets);
    assert_string_equal(c->secrets.message_deliver_secret.c_str(), "abc");
    assert_false(c->has_connection_config);
    assert_false(credential_expired(c.value(), 1720000000000LL + credential_max_age_ms));
    assert_true(credential_expired(c.value(), 1720000000000LL + credential_max_age_ms + 1));
    assert_false(credential_expired(c.value(), 0)); // future timestamps are fine
}

void test_seal_matches_vector(void **) {
    auto sealed = seal_credential_text("secret_key", vector_plaintext, vector_iv);
    assert_true(sealed.ok());
    assert_string_equal(sealed->c_str(), vector_credential);
}

void test_seal_open_roundtrip(void **) {
    ClientAuthCredentials c;
    c.type = 2;
    c.user_id = "1001";
    c.device_id = "d-1";
    c.device_name = "Pixel <8>";
    c.has_secrets = true;
    c.secrets = {"s3cr3t", "o"};
    c.has_connection_config = true;
    c.connection_config = {5, 20, true};
    c.connection_id = "cid";
    c.timestamp = 1720000000123;
    auto sealed = seal_credential("a much longer secret that is over thirty-two bytes", c);
    assert_true(sealed.ok());
    assert_null(strchr(sealed->c_str(), '='));
    auto opened = open_credential("a much longer secret that is over thirty-two bytes", *sealed);
    assert_true(opened.ok());
    assert_true(opened.value() == c);
    // The wrong secret garbles the plaintext: some error, never a crash.
    auto wrong = open_credential("other", *sealed);
    assert_false(wrong.ok());
}

void test_open_failures(void **) {
    // Padded base64 fails (glide uses RawStdEncoding).
    std::string padded = std::string(vector_credential) + "==";
    assert_false(open_credential("secret_key", padded).ok());
    assert_false(open_credential("secret_key", "not base64!").ok());
    // Shorter than an IV, not whole blocks, IV only: glide panics; we refuse.
    assert_false(open_credential("secret_key", "AAECAwQF").ok());
    std::string cut(vector_credential, sizeof vector_credential - 1 - 4);
    assert_false(open_credential("secret_key", cut).ok());
    assert_false(open_credential("secret_key", "AAECAwQFBgcICQoLDA0ODw").ok());
    // A credential whose plaintext is not the expected JSON.
    auto bad = seal_credential_text("k", "{\"user_id\":1}", vector_iv);
    assert_true(bad.ok());
    auto r = open_credential("k", *bad);
    assert_false(r.ok());
    assert_string_equal(r.error().c_str(), "json: cannot unmarshal number into Go struct field "
                                           "ClientAuthCredentials.user_id of type string");
    // Case-insensitive keys inside connection_config (Go field names, no tags).
    auto cc = seal_credential_text(
        "k", "{\"connection_config\":{\"allowmaxheartbeatlost\":2,\"HEARTBEATDURATION\":9}}",
        vector_iv);
    auto opened = open_credential("k", *cc);
    assert_true(opened.ok());
    assert_int_equal(opened->connection_config.allow_max_heartbeat_lost, 2);
    assert_int_equal(opened->connection_config.heartbeat_duration, 9);
}

void test_base64(void **) {
    assert_string_equal(base64_raw_encode("").c_str(), "");
    assert_string_equal(base64_raw_encode("f").c_str(), "Zg");
    assert_string_equal(base64_raw_encode("fo").c_str(), "Zm8");
    assert_string_equal(base64_raw_encode("foo").c_str(), "Zm9v");
    assert_string_equal(base64_raw_decode("Zm8").value().c_str(), "fo");
    assert_string_equal(base64_raw_decode("Zm\r\n9v").value().c_str(), "foo");
    assert_false(base64_raw_decode("Zm9vY").ok());
    assert_false(base64_raw_decode("Zg==").ok());
}

void test_ticket_vector(void **) {
    assert_string_equal(compute_ticket("s3cr3t", "1001", "1002").c_str(),
                        "937116764d1d428c8e47b0d8f985b1d543363f1d");
    ClientSecrets s{"s3cr3t", ""};
    assert_true(check_ticket(&s, "1001", "1002", "937116764d1d428c8e47b0d8f985b1d543363f1d").ok());
    assert_true(check_ticket(&s, "1001", "1002", "937116764D1D428C8E47B0D8F985B1D543363F1D").ok());
    assert_string_equal(check_ticket(nullptr, "1001", "1002", "x").error().c_str(),
                        "no credentials");
    ClientSecrets empty;
    assert_string_equal(check_ticket(&empty, "1001", "1002", "x").error().c_str(),
                        "no message deliver secret");
    assert_string_equal(check_ticket(&s, "1001", "1002", "937116").error().c_str(),
                        "invalid ticket");
    assert_string_equal(check_ticket(&s, "1001", "1003", "937116764d1d428c8e47b0d8f985b1d543363f1d")
                            .error()
                            .c_str(),
                        "ticket expired");
}

} // namespace

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_derivation),      cmocka_unit_test(test_open_vector),
        cmocka_unit_test(test_seal_matches_vector), cmocka_unit_test(test_seal_open_roundtrip),
        cmocka_unit_test(test_open_failures),       cmocka_unit_test(test_base64),
        cmocka_unit_test(test_ticket_vector),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
