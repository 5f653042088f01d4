/*
 * glide_api.handoff from a host written against the public headers only: the host accepts
 * connections on its own socket, reads some of what the client sent, and hands the socket
 * with those bytes to the module, which goes on as if it had accepted it. Two clients chat
 * through connections handed over that way: alice's upgrade request cut in the middle (the
 * rest comes after the hand-off), bob's whole request plus his first frame (authenticate)
 * already read by the host. Also: a TCP-framed hand-off, the connection limits (a refusal the
 * module answers itself), and the refusals with their codes, after each of which the socket is
 * still the host's.
 */
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "glide/glide.h"
#include "glide_cmocka.h"
#include "load_module.h"

static const char kSecret[] = "handoff-secret";
static const glide_api *api;
static void *so;

static glide_str str(const char *s) {
    glide_str g = {s, strlen(s)};
    return g;
}

static int load(void **state) {
    (void)state;
    return load_module(&so, &api, 3); /* handoff, push_2: ABI 1.3 */
}

static int unload(void **state) {
    (void)state;
    return dlclose(so);
}

/* --- the host: glide credentials, an in-memory store, both answered at once ---------------- */

static int64_t last_mid;

static int host_auth(void *ud, glide_request *req, const glide_auth_request *in) {
    (void)ud;
    glide_credential *c = NULL;
    char err[128] = "";
    glide_auth_result r;
    memset(&r, 0, sizeof r);
    /* Results the module cannot read are refused and leave the request pending. */
    r.size = sizeof r;
    assert_int_equal(api->auth_done(req, &r), GLIDE_ESTRUCT); /* version 0 */
    r.version = 1;
    r.size = offsetof(glide_auth_result, accepted);
    assert_int_equal(api->auth_done(req, &r), GLIDE_ESTRUCT);
    r.size = sizeof r;
    if (api->credential_open(str(kSecret), in->credential, 0, &c, err, sizeof err) == GLIDE_OK) {
        r.accepted = 1;
        r.uid = c->user_id;
        r.device_id = c->device_id;
        r.device_name = c->device_name;
    } else {
        r.error = str(err);
    }
    api->auth_done(req, &r);
    api->credential_free(c);
    return GLIDE_OK;
}

static int host_store(void *ud, glide_request *req, const glide_message *msg) {
    (void)ud;
    (void)msg;
    glide_store_result r;
    memset(&r, 0, sizeof r);
    r.size = offsetof(glide_store_result, status);
    r.version = 1;
    assert_int_equal(api->store_done(req, &r), GLIDE_ESTRUCT);
    r.size = sizeof r;
    r.mid = ++last_mid;
    api->store_done(req, &r);
    return GLIDE_OK;
}

static glide_host host_table(void) {
    glide_host h;
    memset(&h, 0, sizeof h);
    h.size = sizeof h;
    h.version = GLIDE_HOST_VERSION;
    h.auth = host_auth;
    h.store_message = host_store;
    return h;
}

/* A started module without listeners of its own: every connection comes by hand-off. With
 * `name` (may be NULL), the directive `name arg;`. */
static glide_module *started_with(struct event_base *base, const glide_host *host,
                                  const char *name, const char *arg) {
    glide_module *m = NULL;
    glide_conf *c = NULL;
    char err[256];
    assert_int_equal(api->create(host, &m), GLIDE_OK);
    assert_int_equal(api->conf_new(m, &c), GLIDE_OK);
    if (name) {
        glide_str a = {arg, strlen(arg)};
        glide_directive_call call;
        memset(&call, 0, sizeof call);
        call.size = sizeof call;
        call.version = 1;
        call.name = str(name);
        call.args = &a;
        call.nargs = 1;
        assert_int_equal(api->conf_set(c, &call, err, sizeof err), GLIDE_OK);
    }
    assert_int_equal(api->conf_finish(c, err, sizeof err), GLIDE_OK);
    assert_int_equal(api->apply(m, c, err, sizeof err), GLIDE_OK);
    assert_int_equal(api->start(m, base, err, sizeof err), GLIDE_OK);
    return m;
}

static glide_module *started(struct event_base *base, const glide_host *host) {
    return started_with(base, host, NULL, NULL);
}

/* --- sockets ---------------------------------------------------------------------------------- */

struct pair {
    int client; /* the test's client end, blocking */
    int server; /* the host's accepted end, handed to the module */
};

static struct pair connected(void) {
    struct sockaddr_in sin;
    socklen_t len = sizeof sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
    int l = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(l >= 0);
    assert_int_equal(bind(l, (struct sockaddr *)&sin, sizeof sin), 0);
    assert_int_equal(listen(l, 4), 0);
    assert_int_equal(getsockname(l, (struct sockaddr *)&sin, &len), 0);
    struct pair p;
    p.client = socket(AF_INET, SOCK_STREAM, 0);
    assert_int_equal(connect(p.client, (struct sockaddr *)&sin, sizeof sin), 0);
    p.server = accept(l, NULL, NULL);
    assert_true(p.server >= 0);
    close(l);
    return p;
}

static void send_all(int fd, const void *p, size_t n) {
    assert_int_equal(send(fd, p, n, 0), (ssize_t)n);
}

/* What the host reads before handing over: exactly n bytes. */
static void read_exactly(int fd, char *buf, size_t n) {
    size_t got = 0;
    while (got < n) {
        ssize_t r = recv(fd, buf + got, n - got, 0);
        assert_true(r > 0);
        got += (size_t)r;
    }
}

static int fd_open(int fd) { return fcntl(fd, F_GETFD) != -1 || errno != EBADF; }

/* A masked WebSocket text frame (a client's) of s into buf; returns its length. */
static size_t ws_text(char *buf, const char *s) {
    size_t n = strlen(s), h;
    static const unsigned char mask[4] = {0x37, 0xfa, 0x21, 0x3d};
    buf[0] = (char)0x81;
    if (n < 126) {
        buf[1] = (char)(0x80 | n);
        h = 2;
    } else {
        buf[1] = (char)(0x80 | 126);
        buf[2] = (char)(n >> 8);
        buf[3] = (char)(n & 0xff);
        h = 4;
    }
    memcpy(buf + h, mask, 4);
    for (size_t i = 0; i < n; i++)
        buf[h + 4 + i] = (char)(s[i] ^ mask[i % 4]);
    return h + 4 + n;
}

/* A client: what it has received so far (server frames are unmasked, so their JSON shows). */
struct client {
    int fd;
    char seen[16384];
    size_t len;
};

static void pump(struct event_base *base, struct client *c) {
    struct timeval tv = {0, 10000};
    event_base_loopexit(base, &tv);
    event_base_dispatch(base);
    ssize_t r;
    while (c->len < sizeof c->seen &&
           (r = recv(c->fd, c->seen + c->len, sizeof c->seen - c->len, MSG_DONTWAIT)) > 0)
        c->len += (size_t)r;
}

/* Runs the loop until `needle` has come to c (about 5 s at most). */
static int received(struct event_base *base, struct client *c, const char *needle) {
    for (int i = 0; i < 500; i++) {
        pump(base, c);
        if (memmem(c->seen, c->len, needle, strlen(needle)))
            return 1;
    }
    fprintf(stderr, "%.*s\n", (int)c->len, c->seen);
    return 0;
}

static void credential(const char *uid, char *out, size_t size) {
    glide_credential c;
    memset(&c, 0, sizeof c);
    c.size = sizeof c;
    c.version = 1;
    c.type = 2;
    c.user_id = str(uid);
    c.device_id = str("d1");
    c.device_name = str("test");
    c.timestamp_ms = 1;
    assert_int_equal(api->credential_seal(str(kSecret), &c, out, &size), GLIDE_OK);
}

static void auth_json(const char *uid, char *out, size_t size) {
    char cred[1024];
    credential(uid, cred, sizeof cred);
    snprintf(out, size,
             "{\"seq\":7,\"action\":\"authenticate\",\"data\":{\"version\":1,\"credential\":"
             "\"%s\"}}",
             cred);
}

static glide_handoff handoff_of(int fd, uint32_t transport, const char *input, size_t len) {
    glide_handoff h;
    memset(&h, 0, sizeof h);
    h.size = sizeof h;
    h.version = 1;
    h.fd = fd;
    h.transport = transport;
    h.codec = GLIDE_CODEC_JSON;
    h.input.ptr = input;
    h.input.len = len;
    return h;
}

/* --- the chat ------------------------------------------------------------------------------- */

static const char kRequest[] = "GET %s HTTP/1.1\r\n"
                               "Host: 127.0.0.1\r\n"
                               "Upgrade: websocket\r\n"
                               "Connection: Upgrade\r\n"
                               "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                               "Sec-WebSocket-Version: 13\r\n"
                               "%s"
                               "\r\n";

static void test_chat_over_handed_over_sockets(void **state) {
    (void)state;
    struct event_base *base = event_base_new();
    glide_host host = host_table();
    glide_module *m = started(base, &host);
    char err[256], buf[4096], frame[2048], json[1536];

    /* alice: the host read the first 40 bytes of her request; the rest comes later. */
    struct pair a = connected();
    struct client alice = {a.client, "", 0};
    int n = snprintf(buf, sizeof buf, kRequest, "/ws", "");
    send_all(a.client, buf, 40);
    char head[64];
    read_exactly(a.server, head, 40);
    glide_handoff h = handoff_of(a.server, GLIDE_TRANSPORT_WS, head, 40);
    assert_int_equal(api->handoff(m, &h, err, sizeof err), GLIDE_OK);
    send_all(a.client, buf + 40, (size_t)n - 40);
    assert_true(received(base, &alice, "HTTP/1.1 101 Switching Protocols\r\n"));
    assert_true(received(base, &alice, "\"action\":\"hello\""));

    /* bob: his whole request (path not glide_ws_path: the host routed it) and his
     * authenticate frame, all read by the host before the hand-off. */
    struct pair b = connected();
    struct client bob = {b.client, "", 0};
    n = snprintf(buf, sizeof buf, kRequest, "/chat/any?x=1", "Sec-WebSocket-Protocol: glide.json\r\n");
    auth_json("bob", json, sizeof json);
    n += (int)ws_text(buf + n, json);
    send_all(b.client, buf, (size_t)n);
    char all[4096];
    read_exactly(b.server, all, (size_t)n);
    h = handoff_of(b.server, GLIDE_TRANSPORT_WS, all, (size_t)n);
    h.codec = GLIDE_CODEC_PROTOBUF; /* the subprotocol picks json */
    assert_int_equal(api->handoff(m, &h, err, sizeof err), GLIDE_OK);
    memset(all, 0, sizeof all); /* borrowed for the call only */
    assert_true(received(base, &bob, "Sec-WebSocket-Protocol: glide.json\r\n"));
    assert_true(received(base, &bob, "\"action\":\"notify.success\""));

    auth_json("alice", json, sizeof json);
    send_all(a.client, frame, ws_text(frame, json));
    assert_true(received(base, &alice, "\"action\":\"notify.success\""));

    snprintf(json, sizeof json,
             "{\"seq\":8,\"action\":\"message.chat\",\"to\":\"bob\",\"data\":{\"cliMid\":\"c1\","
             "\"type\":1,\"content\":\"hello over a hand-off\",\"sendAt\":1720000000}}");
    send_all(a.client, frame, ws_text(frame, json));
    assert_true(received(base, &alice, "\"action\":\"ack.message\""));
    assert_true(received(base, &bob, "hello over a hand-off"));

    glide_stats s;
    memset(&s, 0, sizeof s);
    s.size = sizeof s;
    assert_int_equal(api->stats(m, &s), GLIDE_OK);
    assert_int_equal(s.connections, 2);
    assert_int_equal(s.connections_accepted, 2);
    assert_int_equal(s.sessions_authenticated, 2);
    assert_int_equal(s.listeners, 0);

    close(a.client);
    close(b.client);
    api->destroy(m); /* the module closes the handed-over sockets */
    event_base_free(base);
}

/* TCP framing: the host read the hello-less client's first bytes (half a length prefix). */
static void test_tcp_handoff(void **state) {
    (void)state;
    struct event_base *base = event_base_new();
    glide_host host = host_table();
    glide_module *m = started(base, &host);
    char err[256], json[1536], buf[2048];

    struct pair p = connected();
    struct client c = {p.client, "", 0};
    auth_json("carol", json, sizeof json);
    uint32_t len = (uint32_t)strlen(json);
    buf[0] = (char)(len >> 24);
    buf[1] = (char)(len >> 16);
    buf[2] = (char)(len >> 8);
    buf[3] = (char)len;
    memcpy(buf + 4, json, len);
    send_all(p.client, buf, 2);
    char first[2];
    read_exactly(p.server, first, 2);
    glide_handoff h = handoff_of(p.server, GLIDE_TRANSPORT_TCP, first, 2);
    assert_int_equal(api->handoff(m, &h, err, sizeof err), GLIDE_OK);
    send_all(p.client, buf + 2, len + 2);
    assert_true(received(base, &c, "\"action\":\"notify.success\""));
    close(p.client);
    api->destroy(m);
    event_base_free(base);
}

/* Over glide_max_connections a handed-over connection is refused as a listener's would be (the
 * upgrade answered 503, a TCP socket closed at once), and handoff returns GLIDE_OK: the socket
 * was the module's to answer and close. */
static void test_limits_apply_to_handed_over_sockets(void **state) {
    (void)state;
    struct event_base *base = event_base_new();
    glide_host host = host_table();
    glide_module *m = started_with(base, &host, "glide_max_connections", "1");
    char err[256], req[512], buf[256];

    struct pair one = connected();
    snprintf(req, sizeof req, kRequest, "/ws", "");
    glide_handoff h = handoff_of(one.server, GLIDE_TRANSPORT_WS, req, strlen(req));
    assert_int_equal(api->handoff(m, &h, err, sizeof err), GLIDE_OK);
    struct client c1 = {one.client, "", 0};
    assert_true(received(base, &c1, "101 Switching Protocols"));

    struct pair two = connected();
    h = handoff_of(two.server, GLIDE_TRANSPORT_WS, req, strlen(req));
    assert_int_equal(api->handoff(m, &h, err, sizeof err), GLIDE_OK);
    struct client c2 = {two.client, "", 0};
    assert_true(received(base, &c2, "HTTP/1.1 503 Service Unavailable"));
    assert_true(received(base, &c2, "too many connections"));

    struct pair three = connected();
    h = handoff_of(three.server, GLIDE_TRANSPORT_TCP, NULL, 0);
    assert_int_equal(api->handoff(m, &h, err, sizeof err), GLIDE_OK);
    assert_false(fd_open(three.server)); /* closed at once, by the module */
    assert_int_equal(recv(three.client, buf, sizeof buf, 0), 0);

    close(one.client);
    close(two.client);
    close(three.client);
    api->destroy(m);
    event_base_free(base);
}

/* Every refusal leaves the socket open and the host's. */
static void test_refusals_leave_the_socket_to_the_host(void **state) {
    (void)state;
    struct event_base *base = event_base_new();
    glide_host host = host_table();
    glide_module *m = NULL;
    char err[256];
    assert_int_equal(api->create(&host, &m), GLIDE_OK);
    struct pair p = connected();
    glide_handoff h = handoff_of(p.server, GLIDE_TRANSPORT_WS, NULL, 0);

    assert_int_equal(api->handoff(m, &h, err, sizeof err), GLIDE_ESTATE); /* not started */
    assert_string_equal(err, "the module is not started");
    api->destroy(m);
    m = started(base, &host);

    assert_int_equal(api->handoff(NULL, &h, err, sizeof err), GLIDE_EINVAL);
    assert_int_equal(api->handoff(m, NULL, err, sizeof err), GLIDE_EINVAL);
    glide_handoff bad = h;
    bad.size = 8;
    assert_int_equal(api->handoff(m, &bad, err, sizeof err), GLIDE_ESTRUCT);
    bad = h;
    bad.version = 0;
    assert_int_equal(api->handoff(m, &bad, err, sizeof err), GLIDE_ESTRUCT);
    bad = h;
    bad.transport = 0;
    assert_int_equal(api->handoff(m, &bad, err, sizeof err), GLIDE_EINVAL);
    bad = h;
    bad.codec = 3;
    assert_int_equal(api->handoff(m, &bad, err, sizeof err), GLIDE_EINVAL);
    bad = h;
    bad.input.len = 3; /* ptr NULL */
    assert_int_equal(api->handoff(m, &bad, err, sizeof err), GLIDE_EINVAL);
    int pipefd[2];
    assert_int_equal(pipe(pipefd), 0);
    bad = h;
    bad.fd = pipefd[0];
    assert_int_equal(api->handoff(m, &bad, err, sizeof err), GLIDE_EINVAL);
    assert_non_null(strstr(err, "is not a stream socket"));
    assert_true(fd_open(pipefd[0]));
    close(pipefd[0]);
    close(pipefd[1]);

    assert_int_equal(api->drain(m, 1000, NULL, NULL), GLIDE_OK);
    assert_int_equal(api->handoff(m, &h, err, sizeof err), GLIDE_ECLOSED);
    assert_string_equal(err, "the module is draining");

    /* Still the host's: open and usable. */
    assert_true(fd_open(p.server));
    send_all(p.server, "HTTP/1.1 503 Service Unavailable\r\n\r\n", 36);
    char got[64];
    read_exactly(p.client, got, 36);
    assert_int_equal(memcmp(got, "HTTP/1.1 503", 12), 0);
    close(p.server);
    close(p.client);
    api->destroy(m);
    event_base_free(base);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chat_over_handed_over_sockets),
        cmocka_unit_test(test_tcp_handoff),
        cmocka_unit_test(test_limits_apply_to_handed_over_sockets),
        cmocka_unit_test(test_refusals_leave_the_socket_to_the_host),
    };
    return cmocka_run_group_tests(tests, load, unload);
}
