/*
 * minimal-host.c — the smallest complete host of the glide module, written from the public
 * headers only (include/glide/). It:
 *   - loads libglide.so with dlopen and negotiates the plugin ABI;
 *   - configures one WebSocket listener with the module's directives;
 *   - verifies glide's credentials with glide_api.credential_open (the secret from the command
 *     line), answering every authentication later (GLIDE_PENDING, then auth_done from a timer
 *     on the loop), as a host that asks a remote service would;
 *   - stores one-to-one messages in memory: mids from 1, the same mid again for a repeated
 *     (from, cliMid), answered at once (GLIDE_OK after store_done inside the callback);
 *   - drains politely on SIGTERM or SIGINT and exits when the last client is gone.
 * What it leaves out: offline messages (load_undelivered is not provided, so nothing is
 * replayed at login), groups, presence.
 *
 *   cc -o minimal-host minimal-host.c $(pkg-config --cflags --libs glide)
 *   ./minimal-host $(pkg-config --variable=module glide) SECRET 127.0.0.1:8083
 *
 * Prints "listening on ADDR" once the listener is open (port 0 picks a free port).
 */
#include <dlfcn.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <event2/event.h>

#include "glide/glide.h"

static const glide_api *api;
static glide_module *module;
static struct event_base *base;
static glide_str secret;

static glide_str str(const char *s) {
    glide_str g = {s, strlen(s)};
    return g;
}

static void host_log(void *ud, glide_log_level level, const char *msg, size_t len) {
    (void)ud;
    if (level >= GLIDE_LOG_NOTICE)
        fprintf(stderr, "glide: %.*s\n", (int)len, msg);
}

/* --- auth, answered on a later loop turn --------------------------------------------------- */

struct pending_auth {
    glide_request *req;
    char *credential;
    size_t len;
};

static int64_t wall_ms(void) {
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static void finish_auth(evutil_socket_t fd, short what, void *arg) {
    struct pending_auth *p = arg;
    glide_credential *c = NULL;
    char err[128] = "";
    glide_auth_result r;
    glide_str credential = {p->credential, p->len};
    (void)fd;
    (void)what;
    memset(&r, 0, sizeof r);
    r.size = sizeof r;
    r.version = 1;
    if (api->credential_open(secret, credential, wall_ms(), &c, err, sizeof err) == GLIDE_OK) {
        r.accepted = 1;
        r.uid = c->user_id;
        r.device_id = c->device_id;
        r.device_name = c->device_name;
    } else {
        r.error = str(err); /* glide's text for the client, e.g. "invalid authenticate message" */
    }
    /* The module copies what it keeps: c can go right after. A session that closed meanwhile
     * makes this a no-op the module tolerates. */
    api->auth_done(p->req, &r);
    api->credential_free(c);
    free(p->credential);
    free(p);
}

static int host_auth(void *ud, glide_request *req, const glide_auth_request *in) {
    struct pending_auth *p = calloc(1, sizeof *p);
    (void)ud;
    if (!p || !(p->credential = malloc(in->credential.len + 1))) {
        free(p);
        return GLIDE_ENOMEM;
    }
    memcpy(p->credential, in->credential.ptr, in->credential.len); /* borrowed: copy */
    p->len = in->credential.len;
    p->req = req;
    if (event_base_once(base, -1, EV_TIMEOUT, finish_auth, p, NULL) != 0) {
        free(p->credential);
        free(p);
        return GLIDE_EIO;
    }
    return GLIDE_PENDING;
}

/* --- store: in memory, answered at once ------------------------------------------------------ */

struct stored {
    char *key; /* from "\n" cli_mid */
    int64_t mid;
};
static struct stored *stored;
static size_t n_stored, cap_stored;
static int64_t last_mid;

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
    r.status = GLIDE_OK;
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

/* A delivery receipt: a real host marks (uid, mid) delivered in its store. */
static int host_mark_delivered(void *ud, glide_request *req, const glide_delivery *d) {
    (void)ud;
    (void)d;
    api->request_done(req, GLIDE_OK, str(""));
    return GLIDE_OK;
}

/* --- configuration, start, drain ------------------------------------------------------------ */

static int directive(glide_conf *c, const char *name, const char *arg, char *err, size_t len) {
    glide_str args[1];
    glide_directive_call call;
    args[0] = str(arg);
    memset(&call, 0, sizeof call);
    call.size = sizeof call;
    call.version = 1;
    call.name = str(name);
    call.args = args;
    call.nargs = 1;
    call.file = str("minimal-host.c");
    call.line = __LINE__;
    return api->conf_set(c, &call, err, len);
}

static void on_drained(void *arg) {
    (void)arg;
    event_base_loopexit(base, NULL);
}

static void on_signal(evutil_socket_t sig, short what, void *arg) {
    (void)what;
    (void)arg;
    fprintf(stderr, "signal %d: draining\n", (int)sig);
    if (api->drain(module, 5000, on_drained, NULL) != GLIDE_OK)
        event_base_loopexit(base, NULL); /* a second signal: go now */
}

int main(int argc, char **argv) {
    static const uint32_t majors[] = {GLIDE_ABI_MAJOR};
    glide_offer offer = GLIDE_OFFER_INIT(majors, 1);
    glide_host host;
    glide_negotiate_fn negotiate;
    glide_conf *conf = NULL;
    struct event *sigterm, *sigint;
    char err[512], addr[128];
    void *so;
    size_t i;

    if (argc != 4) {
        fprintf(stderr, "usage: %s MODULE.so SECRET ADDR:PORT\n", argv[0]);
        return 2;
    }
    secret = str(argv[2]);
    so = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!so) {
        fprintf(stderr, "%s\n", dlerror());
        return 1;
    }
    negotiate = (glide_negotiate_fn)dlsym(so, "glide_negotiate");
    if (!negotiate || negotiate(&offer, &api, err, sizeof err) != GLIDE_OK) {
        fprintf(stderr, "%s\n", negotiate ? err : "no glide_negotiate in the module");
        return 1;
    }

    memset(&host, 0, sizeof host);
    host.size = sizeof host;
    host.version = GLIDE_HOST_VERSION;
    host.log = host_log;
    host.auth = host_auth;
    host.store_message = host_store_message;
    host.mark_delivered = host_mark_delivered;
    host.flags = GLIDE_HOST_NO_PAYLOAD; /* this store never replays: no payload needed */

    base = event_base_new();
    if (!base || api->create(&host, &module) != GLIDE_OK)
        return 1;
    if (api->conf_new(module, &conf) != GLIDE_OK ||
        directive(conf, "glide_listen", argv[3], err, sizeof err) != GLIDE_OK ||
        api->conf_finish(conf, err, sizeof err) != GLIDE_OK) {
        fprintf(stderr, "configuration: %s\n", err);
        api->conf_free(conf);
        return 1;
    }
    if (api->apply(module, conf, err, sizeof err) != GLIDE_OK ||
        api->start(module, base, err, sizeof err) != GLIDE_OK) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    if (api->listener_address(module, 0, addr, sizeof addr) == GLIDE_OK)
        printf("listening on %s\n", addr);
    fflush(stdout);

    sigterm = evsignal_new(base, SIGTERM, on_signal, NULL);
    sigint = evsignal_new(base, SIGINT, on_signal, NULL);
    evsignal_add(sigterm, NULL);
    evsignal_add(sigint, NULL);
    event_base_dispatch(base);

    event_free(sigterm);
    event_free(sigint);
    api->destroy(module);
    event_base_free(base);
    for (i = 0; i < n_stored; i++)
        free(stored[i].key);
    free(stored);
    printf("stopped: %lld messages stored\n", (long long)last_mid);
    /* dlclose(so) is safe here: nothing of the module is left. */
    dlclose(so);
    return 0;
}
