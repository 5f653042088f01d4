/*
 * chat.c — the glide side of the http-server example (see main.c), from the public headers
 * only. The module gets no listener: every connection comes from the HTTP server through
 * glide_api.handoff (ABI 1.3). Authentication opens glide's credentials with the server's
 * secret and answers at once; one-to-one messages are stored in memory (mids from 1, the same
 * mid again for a repeated (from, cliMid)); delivery receipts are counted.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "glide/glide.h"

#include "chat.h"

static const glide_api *api;
static glide_module *module;
static glide_host host;
static glide_str secret;
static void *so;

static glide_str str(const char *s) {
    glide_str g = {s, strlen(s)};
    return g;
}

static void host_log(void *ud, glide_log_level level, const char *msg, size_t len) {
    (void)ud;
    if (level >= GLIDE_LOG_NOTICE)
        fprintf(stderr, "glide: %.*s\n", (int)len, msg);
}

/* --- auth: glide credentials, answered inside the call -------------------------------------- */

static int host_auth(void *ud, glide_request *req, const glide_auth_request *in) {
    glide_credential *c = NULL;
    char err[128] = "";
    glide_auth_result r;
    (void)ud;
    memset(&r, 0, sizeof r);
    r.size = sizeof r;
    r.version = 1;
    /* 0 as now_ms would skip the 25-minute expiry; a server applies it. */
    if (api->credential_open(secret, in->credential, (int64_t)time(NULL) * 1000, &c, err,
                             sizeof err) == GLIDE_OK) {
        r.accepted = 1;
        r.uid = c->user_id;
        r.device_id = c->device_id;
        r.device_name = c->device_name;
    } else {
        r.error = str(err); /* glide's text for the client */
    }
    api->auth_done(req, &r); /* the module copies what it keeps */
    api->credential_free(c);
    return GLIDE_OK;
}

/* --- storage: in memory ---------------------------------------------------------------------- */

struct stored {
    char *key; /* from "\n" cli_mid */
    int64_t mid;
};
static struct stored *stored;
static size_t n_stored, cap_stored;
static int64_t last_mid, receipts;

static int host_store_message(void *ud, glide_request *req, const glide_message *msg) {
    glide_store_result r;
    size_t i, klen = msg->from.len + 1 + msg->cli_mid.len;
    char *key = malloc(klen + 1);
    (void)ud;
    if (!key)
        return GLIDE_ENOMEM;
    memcpy(key, msg->from.ptr, msg->from.len);
    key[msg->from.len] = '\n';
    memcpy(key + msg->from.len + 1, msg->cli_mid.ptr, msg->cli_mid.len);
    key[klen] = '\0';
    memset(&r, 0, sizeof r);
    r.size = sizeof r;
    r.version = 1;
    for (i = 0; msg->cli_mid.len > 0 && i < n_stored; i++)
        if (strcmp(stored[i].key, key) == 0) {
            r.mid = stored[i].mid;
            r.duplicate = 1;
            break;
        }
    if (!r.duplicate) {
        if (n_stored == cap_stored) {
            size_t cap = cap_stored ? cap_stored * 2 : 64;
            struct stored *more = realloc(stored, cap * sizeof *more);
            if (!more) {
                free(key);
                return GLIDE_ENOMEM;
            }
            stored = more;
            cap_stored = cap;
        }
        r.mid = ++last_mid;
        stored[n_stored].key = key;
        stored[n_stored].mid = r.mid;
        n_stored++;
        key = NULL;
    }
    free(key);
    api->store_done(req, &r);
    return GLIDE_OK;
}

static int host_mark_delivered(void *ud, glide_request *req, const glide_delivery *d) {
    (void)ud;
    (void)d;
    receipts++;
    api->request_done(req, GLIDE_OK, str(""));
    return GLIDE_OK;
}

/* --- the module -------------------------------------------------------------------------------- */

int chat_start(const char *module_path, const char *secret_text, struct event_base *base) {
    static const uint32_t majors[] = {GLIDE_ABI_MAJOR};
    glide_offer offer = GLIDE_OFFER_INIT(majors, 1);
    glide_negotiate_fn negotiate;
    glide_conf *conf = NULL;
    char err[512];

    secret = str(secret_text);
    so = dlopen(module_path, RTLD_NOW | RTLD_LOCAL);
    if (!so) {
        fprintf(stderr, "%s\n", dlerror());
        return -1;
    }
    negotiate = (glide_negotiate_fn)dlsym(so, "glide_negotiate");
    if (!negotiate || negotiate(&offer, &api, err, sizeof err) != GLIDE_OK) {
        fprintf(stderr, "%s\n", negotiate ? err : "no glide_negotiate in the module");
        return -1;
    }
    /* handoff came with plugin ABI 1.3: an older module does not have it. */
    if (api->size < offsetof(glide_api, handoff) + sizeof api->handoff) {
        fprintf(stderr, "%s has plugin ABI 1.%u; this server needs 1.3\n", api->version_string,
                api->version);
        return -1;
    }

    memset(&host, 0, sizeof host);
    host.size = sizeof host;
    host.version = GLIDE_HOST_VERSION;
    host.log = host_log;
    host.auth = host_auth;
    host.store_message = host_store_message;
    host.mark_delivered = host_mark_delivered;
    host.flags = GLIDE_HOST_NO_PAYLOAD; /* this store never replays: no payload needed */

    /* No glide_listen: the defaults of every other directive are fine. */
    if (api->create(&host, &module) != GLIDE_OK || api->conf_new(module, &conf) != GLIDE_OK ||
        api->conf_finish(conf, err, sizeof err) != GLIDE_OK ||
        api->apply(module, conf, err, sizeof err) != GLIDE_OK ||
        api->start(module, base, err, sizeof err) != GLIDE_OK) {
        fprintf(stderr, "glide: %s\n", err);
        return -1;
    }
    return 0;
}

int chat_take(int fd, const char *read, size_t len) {
    glide_handoff h;
    char err[256];
    int rc;
    memset(&h, 0, sizeof h);
    h.size = sizeof h;
    h.version = 1;
    h.fd = fd;
    h.transport = GLIDE_TRANSPORT_WS;
    h.codec = GLIDE_CODEC_JSON; /* the subprotocol glide.protobuf picks protobuf */
    h.input.ptr = read;
    h.input.len = len;
    rc = api->handoff(module, &h, err, sizeof err);
    if (rc != GLIDE_OK) {
        fprintf(stderr, "glide: hand-off refused: %s (%s)\n", err, api->strerror(rc));
        return -1;
    }
    return 0;
}

void chat_counts(uint64_t *connections, uint64_t *sessions) {
    glide_stats s;
    memset(&s, 0, sizeof s);
    s.size = sizeof s;
    api->stats(module, &s);
    *connections = s.connections;
    *sessions = s.sessions_authenticated;
}

void chat_drain(void (*done)(void *), void *arg) {
    if (api->drain(module, 5000, done, arg) != GLIDE_OK)
        done(arg); /* already draining: a second signal ends at once */
}

int64_t chat_stop(void) {
    size_t i;
    api->destroy(module);
    for (i = 0; i < n_stored; i++)
        free(stored[i].key);
    free(stored);
    dlclose(so); /* nothing of the module is left */
    return last_mid;
}
