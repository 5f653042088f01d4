#include "codec/credential.h"

#include "codec/json_fields.h"
#include "codec/json_writer.h"
#include "common/strings.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cstring>
#include <memory>

namespace glide::codec {

namespace {

struct CipherCtxFree {
    void operator()(EVP_CIPHER_CTX *c) const { EVP_CIPHER_CTX_free(c); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree>;

const char b64_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int b64_value(unsigned char c) {
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

std::string hex_digest(const EVP_MD *md, std::string_view a, std::string_view b,
                       std::string_view c) {
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(ctx, md, nullptr);
    EVP_DigestUpdate(ctx, a.data(), a.size());
    EVP_DigestUpdate(ctx, b.data(), b.size());
    EVP_DigestUpdate(ctx, c.data(), c.size());
    EVP_DigestFinal_ex(ctx, d, &n);
    EVP_MD_CTX_free(ctx);
    std::string s;
    s.reserve(n * 2);
    append_hex(s, d, n);
    return s;
}

char lower(char c) {
    return c >= 'A' && c <= 'Z' ? char(c + 32) : c;
}

} // namespace

std::string base64_raw_encode(std::string_view bytes) {
    std::string out;
    out.reserve((bytes.size() * 4 + 2) / 3);
    const auto *p = reinterpret_cast<const unsigned char *>(bytes.data());
    size_t n = bytes.size(), i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = uint32_t(p[i]) << 16 | uint32_t(p[i + 1]) << 8 | p[i + 2];
        out.push_back(b64_alphabet[v >> 18]);
        out.push_back(b64_alphabet[(v >> 12) & 63]);
        out.push_back(b64_alphabet[(v >> 6) & 63]);
        out.push_back(b64_alphabet[v & 63]);
    }
    if (n - i == 1) {
        uint32_t v = uint32_t(p[i]) << 16;
        out.push_back(b64_alphabet[v >> 18]);
        out.push_back(b64_alphabet[(v >> 12) & 63]);
    } else if (n - i == 2) {
        uint32_t v = uint32_t(p[i]) << 16 | uint32_t(p[i + 1]) << 8;
        out.push_back(b64_alphabet[v >> 18]);
        out.push_back(b64_alphabet[(v >> 12) & 63]);
        out.push_back(b64_alphabet[(v >> 6) & 63]);
    }
    return out;
}

Result<std::string> base64_raw_decode(std::string_view text) {
    std::string out;
    out.reserve(text.size() * 3 / 4);
    uint32_t acc = 0;
    int bits = 0;
    size_t count = 0;
    for (unsigned char c : text) {
        if (c == '\r' || c == '\n')
            continue;
        int v = b64_value(c);
        if (v < 0)
            return make_error("illegal base64 data at input byte " + std::to_string(count));
        ++count;
        acc = acc << 6 | uint32_t(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(char((acc >> bits) & 0xff));
        }
    }
    // A lone trailing symbol carries fewer than 8 bits: Go rejects it.
    if (count % 4 == 1)
        return make_error("illegal base64 data at input byte " + std::to_string(count - 1));
    return out;
}

std::array<uint8_t, 32> credential_key(std::string_view secret) {
    // glide calls sha512.New().Sum(key): the key followed by the digest of empty input.
    std::array<uint8_t, 32> key{};
    size_t n = secret.size() < 32 ? secret.size() : 32;
    memcpy(key.data(), secret.data(), n);
    if (n < 32) {
        unsigned char empty_digest[64];
        unsigned int len = 0;
        EVP_Digest("", 0, empty_digest, &len, EVP_sha512(), nullptr);
        memcpy(key.data() + n, empty_digest, 32 - n);
    }
    return key;
}

Result<std::string> open_credential_text(std::string_view secret, std::string_view credential) {
    Result<std::string> raw = base64_raw_decode(credential);
    if (!raw)
        return make_error(raw.error());
    const std::string &b = raw.value();
    if (b.size() < 16)
        return make_error("credential shorter than one block");
    if (b.size() == 16 || (b.size() - 16) % 16 != 0)
        return make_error("credential is not a whole number of blocks");
    auto key = credential_key(secret);
    CipherCtx ctx(EVP_CIPHER_CTX_new());
    if (!ctx)
        return make_error("out of memory");
    std::string plain(b.size() - 16, '\0');
    int n1 = 0, n2 = 0;
    const auto *iv = reinterpret_cast<const unsigned char *>(b.data());
    if (EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_cbc(), nullptr, key.data(), iv) != 1 ||
        EVP_CIPHER_CTX_set_padding(ctx.get(), 0) != 1 ||
        EVP_DecryptUpdate(ctx.get(), reinterpret_cast<unsigned char *>(plain.data()), &n1, iv + 16,
                          int(b.size() - 16)) != 1 ||
        EVP_DecryptFinal_ex(ctx.get(), reinterpret_cast<unsigned char *>(plain.data()) + n1, &n2) !=
            1)
        return make_error("decryption failed");
    // glide's unpad: strip as many bytes as the last byte says, without checking them.
    size_t pad = static_cast<unsigned char>(plain.back());
    if (pad > plain.size())
        return make_error("invalid padding");
    plain.resize(plain.size() - pad);
    return plain;
}

Result<ClientAuthCredentials> open_credential(std::string_view secret,
                                              std::string_view credential) {
    Result<std::string> plain = open_credential_text(secret, credential);
    if (!plain)
        return make_error(plain.error());
    ClientAuthCredentials c;
    if (Status st = decode_credentials_json(plain.value(), &c); !st)
        return make_error(st.error());
    return c;
}

Result<std::string> seal_credential_text(std::string_view secret, std::string_view plaintext,
                                         const uint8_t *iv) {
    unsigned char ivb[16];
    if (iv)
        memcpy(ivb, iv, 16);
    else if (RAND_bytes(ivb, sizeof ivb) != 1)
        return make_error("no random bytes for the IV");
    auto key = credential_key(secret);
    CipherCtx ctx(EVP_CIPHER_CTX_new());
    if (!ctx)
        return make_error("out of memory");
    std::string out(16 + plaintext.size() + 16, '\0');
    memcpy(out.data(), ivb, 16);
    auto *dst = reinterpret_cast<unsigned char *>(out.data()) + 16;
    int n1 = 0, n2 = 0;
    if (EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_cbc(), nullptr, key.data(), ivb) != 1 ||
        EVP_EncryptUpdate(ctx.get(), dst, &n1,
                          reinterpret_cast<const unsigned char *>(plaintext.data()),
                          int(plaintext.size())) != 1 ||
        EVP_EncryptFinal_ex(ctx.get(), dst + n1, &n2) != 1)
        return make_error("encryption failed");
    out.resize(16 + size_t(n1 + n2));
    return base64_raw_encode(out);
}

Result<std::string> seal_credential(std::string_view secret, const ClientAuthCredentials &c,
                                    const uint8_t *iv) {
    std::string js;
    encode_credentials_json(c, &js);
    return seal_credential_text(secret, js, iv);
}

Status decode_credentials_json(std::string_view in, ClientAuthCredentials *c) {
    using json::FieldDecoder;
    using json::key_matches;
    using json::Value;
    return json::decode_object(
        in, Validated::no, "gate.ClientAuthCredentials", "ClientAuthCredentials",
        [c](FieldDecoder &d, std::string_view k, const Value &v) {
            if (key_matches(k, "type")) {
                d.i64(v, &c->type, "type", "int");
            } else if (key_matches(k, "user_id")) {
                d.str(v, &c->user_id, "user_id");
            } else if (key_matches(k, "device_id")) {
                d.str(v, &c->device_id, "device_id");
            } else if (key_matches(k, "device_name")) {
                d.str(v, &c->device_name, "device_name");
            } else if (key_matches(k, "connection_id")) {
                d.str(v, &c->connection_id, "connection_id");
            } else if (key_matches(k, "timestamp")) {
                d.i64(v, &c->timestamp, "timestamp");
            } else if (key_matches(k, "risk_control")) {
                d.any(v, &c->risk_control_json);
            } else if (key_matches(k, "secrets")) {
                if (v.kind == json::Kind::null) {
                    c->has_secrets = false; // Go sets the pointer to nil
                } else if (d.object(v, "secrets", "gate.ClientSecrets")) {
                    c->has_secrets = true;
                    FieldDecoder sd("ClientSecrets", "secrets");
                    json::MemberIter it(v.text);
                    std::string_view sk;
                    Value sv;
                    while (it.next(&sk, &sv) && !sd.failed()) {
                        if (key_matches(sk, "message_deliver_secret"))
                            sd.str(sv, &c->secrets.message_deliver_secret,
                                   "message_deliver_secret");
                        else if (key_matches(sk, "online_state_secret"))
                            sd.str(sv, &c->secrets.online_state_secret, "online_state_secret");
                    }
                    if (sd.failed())
                        d = sd;
                }
            } else if (key_matches(k, "connection_config")) {
                if (v.kind == json::Kind::null) {
                    c->has_connection_config = false;
                } else if (d.object(v, "connection_config", "gate.ConnectionConfig")) {
                    c->has_connection_config = true;
                    ConnectionConfig &cc = c->connection_config;
                    FieldDecoder cd("ConnectionConfig", "connection_config");
                    json::MemberIter it(v.text);
                    std::string_view ck;
                    Value cv;
                    while (it.next(&ck, &cv) && !cd.failed()) {
                        if (key_matches(ck, "AllowMaxHeartbeatLost"))
                            cd.i64(cv, &cc.allow_max_heartbeat_lost, "AllowMaxHeartbeatLost",
                                   "int");
                        else if (key_matches(ck, "HeartbeatDuration"))
                            cd.i64(cv, &cc.heartbeat_duration, "HeartbeatDuration", "int");
                        else if (key_matches(ck, "CloseImmediately"))
                            cd.boolean(cv, &cc.close_immediately, "CloseImmediately");
                    }
                    if (cd.failed())
                        d = cd;
                }
            }
        });
}

void encode_credentials_json(const ClientAuthCredentials &c, std::string *out) {
    json::ObjectWriter w(out);
    w.num("type", c.type);
    w.str("user_id", c.user_id);
    w.str("device_id", c.device_id);
    w.str("device_name", c.device_name);
    if (c.has_secrets) {
        json::ObjectWriter s(w.key("secrets"));
        s.str("message_deliver_secret", c.secrets.message_deliver_secret);
        s.str("online_state_secret", c.secrets.online_state_secret);
        s.end();
    } else {
        w.key("secrets")->append("null");
    }
    w.raw_or_null("risk_control", c.risk_control_json);
    if (c.has_connection_config) {
        json::ObjectWriter s(w.key("connection_config"));
        s.num("AllowMaxHeartbeatLost", c.connection_config.allow_max_heartbeat_lost);
        s.num("HeartbeatDuration", c.connection_config.heartbeat_duration);
        s.boolean("CloseImmediately", c.connection_config.close_immediately);
        s.end();
    } else {
        w.key("connection_config")->append("null");
    }
    w.str("connection_id", c.connection_id);
    w.num("timestamp", c.timestamp);
    w.end();
}

std::string compute_ticket(std::string_view secret, std::string_view from, std::string_view to) {
    std::string inner = hex_digest(EVP_sha1(), secret, to, {});
    return hex_digest(EVP_sha1(), secret, from, inner);
}

Status check_ticket(const ClientSecrets *secrets, std::string_view from, std::string_view to,
                    std::string_view ticket) {
    if (!secrets)
        return make_error("no credentials");
    return check_ticket(secrets->message_deliver_secret, from, to, ticket);
}

Status check_ticket(std::string_view deliver_secret, std::string_view from, std::string_view to,
                    std::string_view ticket) {
    if (deliver_secret.empty())
        return make_error("no message deliver secret");
    if (ticket.size() != 40)
        return make_error("invalid ticket");
    std::string want = compute_ticket(deliver_secret, from, to);
    for (size_t i = 0; i < 40; ++i)
        if (lower(ticket[i]) != want[i])
            return make_error("ticket expired");
    return {};
}

void warm_up_crypto() {
    uint8_t b[16];
    (void)RAND_bytes(b, sizeof b);
    const std::string_view secret = "warm-up";
    if (Result<std::string> sealed = seal_credential_text(secret, "{}"))
        (void)open_credential_text(secret, *sealed);
    (void)compute_ticket(secret, "a", "b");
}

} // namespace glide::codec
