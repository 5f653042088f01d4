/*
 * glide/credential.h — glide's credential and ticket primitives for hosts.
 *
 * glide clients log in with a credential minted by the business API (glide-im/api) with a
 * secret shared with the broker: base64(IV || AES-256-CBC(JSON)), the key being the first 32
 * bytes of secret || SHA-512(""), unpadded standard base64 (protocol.md §6.4). Chat messages may
 * carry a ticket, hex(SHA1(s + from + hex(SHA1(s + to)))) with the credential's
 * message_deliver_secret s (§6.5). The module exposes both through glide_api so a host's auth
 * callback can verify credentials exactly as glide does, and tools can mint them:
 *
 *     glide_credential *c;
 *     char why[64];
 *     if (api->credential_open(secret, cred, now_ms, &c, why, sizeof why) == GLIDE_OK) {
 *         ... c->user_id, c->device_id, c->message_deliver_secret ...
 *         api->credential_free(c);
 *     } else {
 *         ... answer the client with notify.error `why` ...
 *     }
 */
#ifndef GLIDE_CREDENTIAL_H
#define GLIDE_CREDENTIAL_H

#include <stdint.h>

#include "glide/host.h"

#ifdef __cplusplus
extern "C" {
#endif

/* How old a credential may be: 25 minutes, as glide. */
#define GLIDE_CREDENTIAL_MAX_AGE_MS (25 * 60 * 1000)

/*
 * The plaintext of a credential (glide's ClientAuthCredentials). From credential_open the
 * strings point into the object itself and live until credential_free. For credential_seal the
 * caller fills it (size, version and the fields; unused strings {NULL, 0}).
 */
typedef struct glide_credential {
    uint32_t size, version; /* sizeof(glide_credential), 1 */
    int64_t type;           /* 1 robot, 2 user; not interpreted */
    glide_str user_id;
    glide_str device_id;
    glide_str device_name;
    int has_secrets; /* the "secrets" object was present */
    glide_str message_deliver_secret;
    glide_str online_state_secret;
    glide_str connection_id;
    int64_t timestamp_ms; /* when it was minted, milliseconds since the epoch */
    int has_connection_config;
    int64_t heartbeat_lost;       /* connection_config.AllowMaxHeartbeatLost */
    int64_t heartbeat_duration_s; /* connection_config.HeartbeatDuration */
    int close_immediately;        /* connection_config.CloseImmediately */
} glide_credential;

#ifdef __cplusplus
}
#endif

#endif
