/*
 * The re-entrancy rule of glide/host.h, from a host written in plain C against the public
 * headers only: a host may call glide_api's control functions (kick, push, completions of other
 * requests, ...) from inside any of its callbacks. Each scenario drives real clients over TCP
 * (4-byte big-endian length + JSON, glide.7) and checks the protocol outcome: who was kicked
 * (notify.kickout, then the socket closes, counted under close code 4001), who got the push,
 * which request completed. Run under valgrind and AddressSanitizer too (tests/run.sh): before
 * the rule was kept, the presence scenario read and wrote a freed device list.
 */
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "glide/glide.h"
#include "abi/module_loader.h"
#include "glide_cmocka.h"

#define SECRET "reentry-secret"

static const glide_api *api;

/* --- the host ---------------------------------------------------------------------------- */

/* What the callbacks do this test, and what they saw. */
static struct {
    glide_module *m;
    /* presence: when (kick_uid_off, kick_dev_off) goes offline, kick (uid, dev) of each pair */
    const char *off_uid, *off_dev;
    const char *kick[2][2];
    /* auth: authenticating auth_uid first kicks every device of auth_kick */
    const char *auth_uid, *auth_kick;
    /* auth of hold_uid stays pending until the next store_message completes it */
    const char *hold_uid;
    glide_request *held;
    char held_dev[64];
    /* store_message: push push_env to push_uid first */
    const char *push_uid, *push_env;
    /* log: a line containing log_needle kicks every device of log_kick, once */
    const char *log_needle, *log_kick;
    /* presence and log: drain instead of kicking */
    int drain;
    int drained;
    int64_t mid;
    char presence[1024];
} h;

static int eq(glide_str s, const char *z) {
    return z && s.len == strlen(z) && memcmp(s.ptr, z, s.len) == 0;
}

static glide_str zs(const char *z) {
    glide_str s = {z, strlen(z)};
    return s;
}

static void kick(const char *uid, const char *dev) {
    uint32_t n = 0;
    assert_int_equal(api->kick(h.m, zs(uid), zs(dev ? dev : ""), &n), GLIDE_OK);
}

static void on_drained(void *arg) {
    (void)arg;
    h.drained = 1;
}

static void drain_module(void) {
    assert_int_equal(api->drain(h.m, 1000, on_drained, NULL), GLIDE_OK);
}

static void host_log(void *ud, glide_log_level level, const char *msg, size_t len) {
    (void)ud;
    (void)level;
    char line[1100];
    snprintf(line, sizeof line, "%.*s", (int)len, msg);
    if (h.log_needle && strstr(line, h.log_needle)) {
        h.log_needle = NULL;
        if (h.drain)
            drain_module();
        else
            kick(h.log_kick, NULL);
    }
}

static void host_presence(void *ud, const glide_presence *p) {
    (void)ud;
    size_t used = strlen(h.presence);
    snprintf(h.presence + used, sizeof h.presence - used, "%.*s/%.*s %s;", (int)p->uid.len,
             p->uid.ptr, (int)p->device_id.len, p->device_id.ptr, p->online ? "on" : "off");
    if (!p->online && eq(p->uid, h.off_uid) && eq(p->device_id, h.off_dev)) {
        h.off_uid = NULL;
        if (h.drain)
            drain_module();
        for (int i = 0; i < 2; i++)
            if (h.kick[i][0])
                kick(h.kick[i][0], h.kick[i][1]);
    }
}

static int complete_auth(glide_request *req, glide_str uid, glide_str dev) {
    glide_auth_result r;
    memset(&r, 0, sizeof r);
    r.size = sizeof r;
    r.version = 1;
    r.accepted = 1;
    r.uid = uid;
    r.device_id = dev;
    r.device_name = dev;
    return api->auth_done(req, &r);
}

static int host_auth(void *ud, glide_request *req, const glide_auth_request *in) {
    (void)ud;
    glide_credential *c = NULL;
    char why[128];
    if (api->credential_open(zs(SECRET), in->credential, 0, &c, why, sizeof why) != GLIDE_OK)
        return GLIDE_EINVAL;
    int rc = GLIDE_OK;
    if (eq(c->user_id, h.auth_uid))
        kick(h.auth_kick, NULL);
    if (eq(c->user_id, h.hold_uid) && !h.held) {
        h.held = req;
        snprintf(h.held_dev, sizeof h.held_dev, "%.*s", (int)c->device_id.len, c->device_id.ptr);
        rc = GLIDE_PENDING;
    } else {
        assert_int_equal(complete_auth(req, c->user_id, c->device_id), GLIDE_OK);
    }
    api->credential_free(c);
    return rc;
}

static int host_store(void *ud, glide_request *req, const glide_message *msg) {
    (void)ud;
    (void)msg;
    if (h.held) {
        glide_request *held = h.held;
        h.held = NULL;
        assert_int_equal(complete_auth(held, zs(h.hold_uid), zs(h.held_dev)), GLIDE_OK);
    }
    if (h.push_uid) {
        uint32_t sent = 0;
        assert_int_equal(api->push(h.m, zs(h.push_uid), zs(h.push_env), &sent), GLIDE_OK);
        assert_int_equal(sent, 1);
    }
    glide_store_result r;
    memset(&r, 0, sizeof r);
    r.size = sizeof r;
    r.version = 1;
    r.mid = ++h.mid;
    assert_int_equal(api->store_done(req, &r), GLIDE_OK);
    return GLIDE_OK;
}

/* --- the loop and the clients ------------------------------------------------------------ */

static struct event_base *base;

typedef struct client {
    int fd;
    int eof;
    size_t len;
    unsigned char buf[1 << 16];
    char seen[1 << 16]; /* every message received, one a line */
} client;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void drain_socket(client *c) {
    while (!c->eof && c->len < sizeof c->buf) {
        ssize_t n = recv(c->fd, c->buf + c->len, sizeof c->buf - c->len, MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
            c->eof = 1;
        if (n <= 0)
            break;
        c->len += (size_t)n;
    }
    while (c->len >= 4) {
        size_t n = (size_t)c->buf[0] << 24 | (size_t)c->buf[1] << 16 | (size_t)c->buf[2] << 8 |
                   c->buf[3];
        if (c->len < 4 + n)
            break;
        size_t used = strlen(c->seen);
        if (used + n + 2 < sizeof c->seen) {
            memcpy(c->seen + used, c->buf + 4, n);
            c->seen[used + n] = '\n';
            c->seen[used + n + 1] = '\0';
        }
        memmove(c->buf, c->buf + 4 + n, c->len - 4 - n);
        c->len -= 4 + n;
    }
}

/* Runs the loop until c has received `needle` (or, needle NULL, until its socket closed). */
static int wait_for(client *c, const char *needle) {
    double limit = now_s() + (getenv("GLIDE_TEST_VALGRIND") ? 20 : 5);
    while (now_s() < limit) {
        event_base_loop(base, EVLOOP_NONBLOCK);
        drain_socket(c);
        if (needle ? strstr(c->seen, needle) != NULL : c->eof)
            return 1;
        usleep(1000);
    }
    fprintf(stderr, "waited in vain for %s; saw:\n%s\n", needle ? needle : "EOF", c->seen);
    return 0;
}

/* Lets the loop run a little: what was going to happen has happened. */
static void settle(void) {
    for (int i = 0; i < 50; i++) {
        event_base_loop(base, EVLOOP_NONBLOCK);
        usleep(1000);
    }
}

static void send_json(client *c, const char *json) {
    size_t n = strlen(json);
    unsigned char hdr[4] = {(unsigned char)(n >> 24), (unsigned char)(n >> 16),
                            (unsigned char)(n >> 8), (unsigned char)n};
    assert_int_equal(send(c->fd, hdr, 4, MSG_NOSIGNAL), 4);
    assert_int_equal(send(c->fd, json, n, MSG_NOSIGNAL), (ssize_t)n);
}

/* A client connected to the listener (hello not yet read). */
static client *connect_raw(void) {
    char addr[64];
    assert_int_equal(api->listener_address(h.m, 0, addr, sizeof addr), GLIDE_OK);
    char *colon = strrchr(addr, ':');
    *colon = '\0';
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)atoi(colon + 1));
    inet_pton(AF_INET, addr, &sa.sin_addr);
    client *c = calloc(1, sizeof *c);
    assert_non_null(c);
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(c->fd >= 0);
    assert_int_equal(connect(c->fd, (struct sockaddr *)&sa, sizeof sa), 0);
    return c;
}

static client *connect_client(void) {
    client *c = connect_raw();
    assert_true(wait_for(c, "\"hello\""));
    return c;
}

static void authenticate(client *c, const char *uid, const char *dev) {
    glide_credential cred;
    memset(&cred, 0, sizeof cred);
    cred.size = sizeof cred;
    cred.version = 1;
    cred.type = 2;
    cred.user_id = zs(uid);
    cred.device_id = zs(dev);
    cred.device_name = zs(dev);
    cred.timestamp_ms = (int64_t)time(NULL) * 1000;
    char sealed[1024];
    size_t len = sizeof sealed;
    assert_int_equal(api->credential_seal(zs(SECRET), &cred, sealed, &len), GLIDE_OK);
    char json[1200];
    snprintf(json, sizeof json,
             "{\"seq\":7,\"action\":\"authenticate\",\"data\":{\"version\":1,\"credential\":\"%s\"}}",
             sealed);
    send_json(c, json);
}

/* A client logged in as (uid, dev). */
static client *login(const char *uid, const char *dev) {
    client *c = connect_client();
    authenticate(c, uid, dev);
    assert_true(wait_for(c, "\"notify.success\""));
    return c;
}

/* c got notify.kickout and then its socket was closed. */
static void assert_kicked(client *c) {
    assert_true(wait_for(c, "\"notify.kickout\""));
    assert_true(wait_for(c, NULL));
}

static void assert_not_kicked(client *c) {
    settle();
    drain_socket(c);
    assert_null(strstr(c->seen, "notify.kickout"));
    assert_false(c->eof);
}

static void free_clients(client **c, size_t n) {
    for (size_t i = 0; i < n; i++) {
        close(c[i]->fd);
        free(c[i]);
    }
}
#define FREE_CLIENTS(...)                                                                       \
    free_clients((client *[]){__VA_ARGS__}, sizeof((client *[]){__VA_ARGS__}) / sizeof(client *))

static uint64_t closes_4001;
static void count_close(void *arg, glide_stat_kind kind, glide_str label, uint64_t value) {
    (void)arg;
    if (kind == GLIDE_STAT_CLOSES && eq(label, "4001"))
        closes_4001 = value;
}

static uint64_t kicked_total(void) {
    closes_4001 = 0;
    assert_int_equal(api->stats_each(h.m, count_close, NULL), GLIDE_OK);
    return closes_4001;
}

/* --- fixture ----------------------------------------------------------------------------- */

static glide_host host;

static int load(void **state) {
    (void)state;
    return open_and_negotiate(&api);
}

static int set(glide_conf *c, const char *name, const char **args, uint32_t n) {
    glide_str sargs[4];
    for (uint32_t i = 0; i < n; i++)
        sargs[i] = zs(args[i]);
    glide_directive_call call;
    memset(&call, 0, sizeof call);
    call.size = sizeof call;
    call.version = 1;
    call.name = zs(name);
    call.args = sargs;
    call.nargs = n;
    call.file = zs("test");
    char err[256];
    return api->conf_set(c, &call, err, sizeof err);
}

static int start(void **state) {
    (void)state;
    memset(&h, 0, sizeof h);
    memset(&host, 0, sizeof host);
    host.size = sizeof host;
    host.version = GLIDE_HOST_VERSION;
    host.log = host_log;
    host.auth = host_auth;
    host.store_message = host_store;
    host.presence = host_presence;
    host.flags = GLIDE_HOST_NO_PAYLOAD;
    base = event_base_new();
    if (!base || api->create(&host, &h.m) != GLIDE_OK)
        return -1;
    glide_conf *c = NULL;
    char err[256];
    const char *listen[] = {"127.0.0.1:0", "tcp", "json"};
    if (api->conf_new(h.m, &c) != GLIDE_OK || set(c, "glide_listen", listen, 3) != GLIDE_OK ||
        api->conf_finish(c, err, sizeof err) != GLIDE_OK ||
        api->apply(h.m, c, err, sizeof err) != GLIDE_OK ||
        api->start(h.m, base, err, sizeof err) != GLIDE_OK)
        return -1;
    return 0;
}

static int stop(void **state) {
    (void)state;
    api->destroy(h.m);
    event_base_free(base);
    return 0;
}

/* --- the scenarios ----------------------------------------------------------------------- */

/* The case: presence reports (u, x) offline because a second login of (u, x) kicked
 * it, and the host kicks (u, y) and every device of v from inside that report. */
static void test_presence_callback_kicks(void **state) {
    (void)state;
    client *ux = login("u", "x"), *uy = login("u", "y"), *v = login("v", "z");
    h.off_uid = "u";
    h.off_dev = "x";
    h.kick[0][0] = "u";
    h.kick[0][1] = "y";
    h.kick[1][0] = "v";
    client *ux2 = login("u", "x");
    assert_kicked(ux);
    assert_kicked(uy);
    assert_kicked(v);
    assert_not_kicked(ux2);
    assert_int_equal(kicked_total(), 3);
    /* The newcomer is the one device of u left online, and says so. */
    assert_non_null(strstr(h.presence, "u/x off;u/y off;v/z off;u/x on;"));
    uint32_t n = 0;
    assert_int_equal(api->push(h.m, zs("u"), zs("{\"action\":\"notify.error\",\"data\":\"p\"}"),
                               &n),
                     GLIDE_OK);
    assert_int_equal(n, 1);
    assert_true(wait_for(ux2, "\"data\":\"p\""));
    FREE_CLIENTS(ux, uy, v, ux2);
}

/* The auth callback kicks another uid's session before it accepts. */
static void test_auth_callback_kicks(void **state) {
    (void)state;
    client *a = login("a", "1");
    h.auth_uid = "b";
    h.auth_kick = "a";
    client *b = login("b", "1");
    assert_kicked(a);
    assert_not_kicked(b);
    assert_int_equal(kicked_total(), 1);
    FREE_CLIENTS(a, b);
}

/* The store callback pushes to a third uid before it completes the store. */
static void test_store_callback_pushes(void **state) {
    (void)state;
    client *w = login("w", "1"), *s = login("s", "1");
    h.push_uid = "w";
    h.push_env = "{\"action\":\"notify.error\",\"data\":\"pushed from store\"}";
    send_json(s, "{\"seq\":3,\"action\":\"message.chat\",\"to\":\"r\",\"data\":{\"cliMid\":\"c1\","
                 "\"type\":1,\"content\":\"hi\",\"sendAt\":1}}");
    assert_true(wait_for(w, "pushed from store"));
    assert_true(wait_for(s, "\"ack.message\""));
    assert_non_null(strstr(s->seen, "\"cliMid\":\"c1\""));
    FREE_CLIENTS(w, s);
}

/* A pending auth is completed from inside another request's callback (store_message), whose
 * own completion follows in the same callback. */
static void test_completion_inside_other_callback(void **state) {
    (void)state;
    client *s = login("s", "1");
    h.hold_uid = "held";
    client *held = connect_client();
    authenticate(held, "held", "9");
    settle();
    assert_non_null(h.held);
    assert_null(strstr(held->seen, "notify.success"));
    send_json(s, "{\"seq\":4,\"action\":\"message.chat\",\"to\":\"held\",\"data\":{\"cliMid\":"
                 "\"c2\",\"type\":1,\"content\":\"for held\",\"sendAt\":1}}");
    assert_true(wait_for(held, "\"notify.success\""));
    assert_true(wait_for(s, "\"ack.message\""));
    /* Stored after the auth completed: delivered live to the session that just logged in. */
    assert_true(wait_for(held, "for held"));
    assert_non_null(strstr(h.presence, "held/9 on;"));
    FREE_CLIENTS(s, held);
}

/* The log callback kicks: the module logs each accepted connection, the host kicks l there. */
static void test_log_callback_kicks(void **state) {
    (void)state;
    client *l = login("l", "1");
    h.log_needle = "connection from";
    h.log_kick = "l";
    client *other = connect_client();
    assert_kicked(l);
    assert_not_kicked(other);
    FREE_CLIENTS(l, other);
}

static int kick_listed_none(void *arg, const glide_session_info *s) {
    (void)arg;
    (void)s;
    return 0;
}

/* The presence callback drains while a second login of (d, 1) is being registered: the
 * newcomer, closed by the drain, is not registered (it would stay listed after it is freed). */
static void test_presence_callback_drains(void **state) {
    (void)state;
    client *d1 = login("d", "1"), *e = login("e", "1");
    h.off_uid = "d";
    h.off_dev = "1";
    h.drain = 1;
    client *d2 = connect_client();
    authenticate(d2, "d", "1");
    assert_kicked(d1);
    assert_true(wait_for(d2, NULL));
    assert_null(strstr(d2->seen, "notify.success"));
    assert_true(wait_for(e, NULL));
    for (int i = 0; i < 200 && !h.drained; i++)
        settle();
    assert_true(h.drained);
    uint32_t count = 9;
    assert_int_equal(api->sessions(h.m, zs(""), kick_listed_none, NULL, &count), GLIDE_OK);
    assert_int_equal(count, 0);
    assert_int_equal(api->sessions(h.m, zs("d"), kick_listed_none, NULL, &count), GLIDE_OK);
    assert_int_equal(count, 0);
    FREE_CLIENTS(d1, d2, e);
}

/* The log callback drains on the line of an accepted connection: that connection and the
 * sessions end, the drain completes. */
static void test_log_callback_drains(void **state) {
    (void)state;
    client *l = login("l", "1");
    h.log_needle = "connection from";
    h.drain = 1;
    client *other = connect_raw();
    assert_true(wait_for(l, NULL));
    assert_true(wait_for(other, NULL));
    for (int i = 0; i < 200 && !h.drained; i++)
        settle();
    assert_true(h.drained);
    FREE_CLIENTS(l, other);
}

static int kick_listed(void *arg, const glide_session_info *s) {
    (void)arg;
    char uid[64];
    snprintf(uid, sizeof uid, "%.*s", (int)s->uid.len, s->uid.ptr);
    kick(uid, NULL);
    return 0;
}

/* sessions()'s callback may call back into the module: it kicks every uid it is shown. */
static void test_sessions_callback_kicks(void **state) {
    (void)state;
    client *c[4] = {login("p", "1"), login("p", "2"), login("q", "1"), login("r", "1")};
    uint32_t count = 0;
    assert_int_equal(api->sessions(h.m, zs(""), kick_listed, NULL, &count), GLIDE_OK);
    /* Each uid's first session listed kicks the rest of that uid, which are then not listed. */
    assert_int_equal(count, 3);
    for (int i = 0; i < 4; i++)
        assert_kicked(c[i]);
    free_clients(c, 4);
    assert_int_equal(kicked_total(), 4);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_presence_callback_kicks, start, stop),
        cmocka_unit_test_setup_teardown(test_auth_callback_kicks, start, stop),
        cmocka_unit_test_setup_teardown(test_store_callback_pushes, start, stop),
        cmocka_unit_test_setup_teardown(test_completion_inside_other_callback, start, stop),
        cmocka_unit_test_setup_teardown(test_log_callback_kicks, start, stop),
        cmocka_unit_test_setup_teardown(test_sessions_callback_kicks, start, stop),
        cmocka_unit_test_setup_teardown(test_presence_callback_drains, start, stop),
        cmocka_unit_test_setup_teardown(test_log_callback_drains, start, stop),
    };
    return cmocka_run_group_tests(tests, load, unload);
}
