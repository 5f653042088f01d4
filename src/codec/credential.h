// glide's credential and ticket primitives (protocol.md §6.4, §6.5), on OpenSSL's libcrypto.
//
// A credential is base64(IV || AES-256-CBC(PKCS#7(JSON of ClientAuthCredentials))) with the
// key taken from secret || SHA-512(""), unpadded standard base64. A ticket is
// hex(SHA1(secret + from + hex(SHA1(secret + to)))).
#pragma once

#include "common/result.h"

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace glide::codec {

// glide's ClientSecrets.
struct ClientSecrets {
    std::string message_deliver_secret; // "message_deliver_secret"
    std::string online_state_secret;    // "online_state_secret"
    bool operator==(const ClientSecrets &) const = default;
};

// glide's ConnectionConfig; the JSON keys are Go field names (no tags), matched
// case-insensitively on input.
struct ConnectionConfig {
    int64_t allow_max_heartbeat_lost = 0; // "AllowMaxHeartbeatLost"
    int64_t heartbeat_duration = 0;       // "HeartbeatDuration" (seconds)
    bool close_immediately = false;       // "CloseImmediately"
    bool operator==(const ConnectionConfig &) const = default;
};

// The decrypted credential (glide's ClientAuthCredentials). Pointers in Go are has_* flags.
struct ClientAuthCredentials {
    int64_t type = 0; // "type": 1 robot, 2 user; unused
    std::string user_id;
    std::string device_id;
    std::string device_name;
    bool has_secrets = false;
    ClientSecrets secrets;
    std::string risk_control_json; // "risk_control" as JSON text; empty = null (unused)
    bool has_connection_config = false;
    ConnectionConfig connection_config;
    std::string connection_id;
    int64_t timestamp = 0; // milliseconds since the epoch
    bool operator==(const ClientAuthCredentials &) const = default;
};

// How old a credential may be (glide: 25 minutes).
inline constexpr int64_t credential_max_age_ms = 25 * 60 * 1000;

// The AES-256 key: the first 32 bytes of secret || SHA-512("").
std::array<uint8_t, 32> credential_key(std::string_view secret);

// Decrypts a credential to its JSON plaintext. Lenient like glide about the padding bytes
// (only the count in the last byte is checked); refuses what makes glide panic (fewer than 16
// bytes, a body that is not whole blocks, an empty body).
Result<std::string> open_credential_text(std::string_view secret, std::string_view credential);

// Decrypts and decodes a credential. Callers answer any failure with glide's
// "invalid authenticate message"; the error text says what was wrong, for logs.
Result<ClientAuthCredentials> open_credential(std::string_view secret, std::string_view credential);

// Encrypts JSON plaintext into a credential. iv: 16 bytes, or null for a random one.
Result<std::string> seal_credential_text(std::string_view secret, std::string_view plaintext,
                                         const uint8_t *iv = nullptr);

// Encodes and encrypts credentials (what glide-im/api's GenerateCredentials mints).
Result<std::string> seal_credential(std::string_view secret, const ClientAuthCredentials &c,
                                    const uint8_t *iv = nullptr);

// ClientAuthCredentials JSON with Go semantics (no omitempty on output).
Status decode_credentials_json(std::string_view in, ClientAuthCredentials *out);
void encode_credentials_json(const ClientAuthCredentials &c, std::string *out);

// glide's expiry rule: now − timestamp > 25 min. Future timestamps are accepted.
inline bool credential_expired(const ClientAuthCredentials &c, int64_t now_ms) {
    return now_ms - c.timestamp > credential_max_age_ms;
}

// The ticket for sending from `from` to `to` (lower-case hex, 40 characters).
std::string compute_ticket(std::string_view secret, std::string_view from, std::string_view to);

// glide's ticket check, in its order and with its texts: "no credentials" (secrets null),
// "no message deliver secret", "invalid ticket" (length not 40), "ticket expired" (mismatch,
// compared case-insensitively).
Status check_ticket(const ClientSecrets *secrets, std::string_view from, std::string_view to,
                    std::string_view ticket);
// The same check against a message_deliver_secret alone (a session keeps only that one).
Status check_ticket(std::string_view deliver_secret, std::string_view from, std::string_view to,
                    std::string_view ticket);

// Runs the cryptography of credentials, tickets and temp ids once (random bytes, a sealed and
// opened credential, a ticket), so that OpenSSL loads its provider and algorithm tables now and
// not at the first client's login: a process calls it at start. (OpenSSL 3 touches about 2 MiB
// of libcrypto's pages and takes milliseconds on the first use of each.)
void warm_up_crypto();

// Unpadded standard base64 as Go's base64.RawStdEncoding (CR and LF are skipped).
std::string base64_raw_encode(std::string_view bytes);
Result<std::string> base64_raw_decode(std::string_view text);

} // namespace glide::codec
