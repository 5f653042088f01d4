// The glide protocol end to end: hello, authentication, the control API, codecs and reloads
// over real sockets (harness: e2e_harness.h). The protocol scenarios of design.md §5 are in
// test_e2e_*.cc; tests/module/README.md maps each §5 item to its tests.
#include "e2e_harness.h"

using namespace glide;
using namespace glide::e2e;

namespace {

// --- tests -------------------------------------------------------------------------------------

void test_hello_first(void **) {
    Fixture f;
    Client c(f.port);
    assert_true(c.fd >= 0);
    WsFrame fr;
    assert_true(read_ws_frame(c.fd, &fr));
    assert_int_equal(fr.opcode, 1);
    codec::Envelope e;
    assert_true(codec::decode_json(fr.payload, &e).ok());
    assert_string_equal(e.action.c_str(), "hello");
    auto h = codec::decode_payload<codec::ServerHello>(e);
    assert_true(h.ok());
    assert_true(h.value().temp_id.starts_with("tmp@"));
    assert_int_equal(h.value().heartbeat_interval, 30);
    assert_string_equal(h.value().server_version.c_str(), "glide/" GLIDE_VERSION_STRING);
    assert_true(wait_for([&] { return f.stats().sessions_guest == 1; }));
}

void test_authenticate_chat_ack(void **) {
    Fixture f;
    Client a(f.port), b(f.port);
    login(a, "A", "pc", 3);
    login(b, "B", "phone", 4);
    assert_true(wait_for([&] { return f.stats().sessions_authenticated == 2; }));
    assert_int_equal(f.host.auths.load(), 2);

    a.send("{\"seq\":9,\"action\":\"message.chat\",\"to\":\"B\",\"data\":{\"cliMid\":\"c-1\","
           "\"seq\":41,\"type\":1,\"content\":\"hi B\",\"sendAt\":1720000000}}");
    codec::Envelope ack;
    assert_true(a.wait("ack.message", &ack));
    auto am = codec::decode_payload<codec::AckMessage>(ack);
    assert_true(am.ok());
    assert_string_equal(am.value().cli_mid.c_str(), "c-1");
    assert_true(am.value().mid > 0);
    assert_int_equal(am.value().seq, 41);
    const int64_t mid = am.value().mid;

    codec::Envelope got;
    assert_true(b.wait("message.chat", &got));
    auto cm = codec::decode_payload<codec::ChatMessage>(got);
    assert_true(cm.ok());
    assert_string_equal(cm.value().from.c_str(), "A");
    assert_string_equal(cm.value().content.c_str(), "hi B");
    assert_int_equal(cm.value().mid, mid);
    assert_int_equal(f.host.stores.load(), 1);

    // B's receipt: A gets ack.notify with the mid; the store records the delivery.
    b.send("{\"action\":\"ack.request\",\"data\":{\"mid\":" + std::to_string(mid) +
           ",\"from\":\"A\"}}");
    codec::Envelope n;
    assert_true(a.wait("ack.notify", &n));
    auto an = codec::decode_payload<codec::AckNotify>(n);
    assert_true(an.ok());
    assert_int_equal(an.value().mid, mid);
    assert_true(wait_for([&] { return f.host.marks.load() == 1; }));
    bool empty = false;
    f.loop.run([&] { empty = f.host.store->undelivered("B").empty(); });
    assert_true(empty);

    // The store got the message's JSON payload; a host with GLIDE_HOST_NO_PAYLOAD gets none.
    std::string payload;
    f.loop.run([&] { payload = f.host.last_payload; });
    codec::Envelope pe;
    pe.data = codec::RawData{codec::Codec::json, payload};
    auto pm = codec::decode_payload<codec::ChatMessage>(pe);
    assert_true(pm.ok());
    assert_string_equal(pm.value().content.c_str(), "hi B");
    assert_string_equal(pm.value().cli_mid.c_str(), "c-1");
    f.loop.run([&] { f.host.table.flags = GLIDE_HOST_NO_PAYLOAD; });
    a.send("{\"seq\":10,\"action\":\"message.chat\",\"to\":\"B\",\"data\":{\"cliMid\":\"c-2\","
           "\"seq\":42,\"type\":1,\"content\":\"again\",\"sendAt\":1720000001}}");
    assert_true(b.wait("message.chat", &got));
    f.loop.run([&] { payload = f.host.last_payload; });
    assert_int_equal(f.host.stores.load(), 2);
    assert_true(payload.empty());
    assert_true(f.host.presences.load() >= 2);
}

void test_guest_chat_unauthenticated(void **) {
    Fixture f;
    Client g(f.port);
    assert_true(g.wait("hello"));
    g.send("{\"seq\":5,\"action\":\"message.chat\",\"to\":\"B\",\"data\":{\"cliMid\":\"x\"}}");
    codec::Envelope e;
    assert_true(g.wait("notify.unauthenticated", &e));
    assert_int_equal(e.seq, 5);
    assert_int_equal(f.host.stores.load(), 0);
}

void test_bad_credential_and_missing_auth(void **) {
    {
        Fixture f;
        Client c(f.port);
        assert_true(c.wait("hello"));
        c.send(auth_json(2, "garbage"));
        codec::Envelope e;
        assert_true(c.wait("notify.error", &e));
        assert_int_equal(e.seq, 2);
        auto t = codec::decode_payload<codec::Text>(e);
        assert_true(t.ok());
        assert_string_equal(t.value().text.c_str(), "invalid authenticate message");
    }
    {
        Fixture f(false); // the host has no auth callback
        Client c(f.port);
        assert_true(c.wait("hello"));
        c.send(auth_json(3, credential_for("A", "pc")));
        codec::Envelope e;
        assert_true(c.wait("notify.error", &e));
        auto t = codec::decode_payload<codec::Text>(e);
        assert_true(t.ok());
        assert_string_equal(t.value().text.c_str(), "authentication is not configured");
    }
}

void test_offline_replay_push_kick(void **) {
    Fixture f;
    Client a(f.port);
    login(a, "A", "pc");
    a.send("{\"seq\":1,\"action\":\"message.chat\",\"to\":\"C\",\"data\":{\"cliMid\":\"off-1\","
           "\"content\":\"later\"}}");
    assert_true(a.wait("ack.message"));
    // C logs in afterwards: the stored message is replayed (load_undelivered → page_add).
    Client c(f.port);
    login(c, "C", "tab");
    codec::Envelope e;
    assert_true(c.wait("message.chat", &e));
    auto cm = codec::decode_payload<codec::ChatMessage>(e);
    assert_true(cm.ok());
    assert_string_equal(cm.value().content.c_str(), "later");
    assert_true(f.host.loads.load() >= 1);

    // push through the control API reaches C; kick closes it with 4001.
    uint32_t sent = 0, kicked = 0;
    std::string env = "{\"action\":\"notify.error\",\"data\":\"pushed\"}";
    f.loop.run([&] {
        assert_int_equal(f.host.api->push(f.m.get(), glide_str{"C", 1},
                                          glide_str{env.data(), env.size()}, &sent),
                         GLIDE_OK);
    });
    assert_int_equal(sent, 1);
    assert_true(c.wait("notify.error", &e));
    f.loop.run([&] {
        assert_int_equal(f.host.api->kick(f.m.get(), glide_str{"C", 1}, glide_str{"", 0}, &kicked),
                         GLIDE_OK);
    });
    assert_int_equal(kicked, 1);
    assert_true(c.wait("notify.kickout"));
    assert_int_equal(c.wait_close(), 4001);
}

void test_tcp_client_gets_hello(void **) {
    Fixture f;
    int fd = tcp_connect(f.m->listener(1)->bound().port());
    assert_true(fd >= 0);
    uint8_t len[4];
    assert_true(read_exact(fd, len, 4));
    uint32_t n = static_cast<uint32_t>(len[0]) << 24 | len[1] << 16 | len[2] << 8 | len[3];
    std::string body(n, '\0');
    assert_true(read_exact(fd, body.data(), n));
    codec::Envelope e;
    assert_true(codec::decode_json(body, &e).ok());
    assert_string_equal(e.action.c_str(), "hello");
    ::close(fd);
}

std::atomic<int> g_drained{0};
void on_drained(void *) {
    g_drained++;
}

void test_drain_closes_1001(void **) {
    Fixture f;
    Client a(f.port), g(f.port);
    login(a, "A", "pc");
    assert_true(g.wait("hello"));
    g_drained = 0;
    f.loop.run([&] {
        assert_int_equal(f.host.api->drain(f.m.get(), 5000, on_drained, nullptr), GLIDE_OK);
    });
    assert_int_equal(a.wait_close(), 1001);
    assert_int_equal(g.wait_close(), 1001);
    ::close(a.fd);
    a.fd = -1;
    ::close(g.fd);
    g.fd = -1;
    assert_true(wait_for([&] { return g_drained.load() == 1; }));
    glide_stats s = f.stats();
    assert_int_equal(s.connections, 0);
    assert_int_equal(s.sessions_guest + s.sessions_authenticated, 0);
    assert_int_equal(s.draining, 1);
}

// The host answers with an old, shorter glide_auth_result (through `error` only): the module
// reads no field beyond its size, so a refusal text arrives and nothing else is used.
int short_auth(void *ud, glide_request *req, const glide_auth_request *) {
    auto *h = static_cast<TestHost *>(ud);
    h->auths++;
    struct {
        glide_auth_result r;
        char poison[64];
    } buf;
    memset(&buf, 0xA5, sizeof buf); // what lies beyond `size` must never be read
    buf.r.size = offsetof(glide_auth_result, error) + sizeof(glide_str);
    buf.r.version = 1;
    buf.r.accepted = 0;
    buf.r.error = glide_str{"old host says no", 16};
    return h->api->auth_done(req, &buf.r) == GLIDE_OK ? GLIDE_OK : GLIDE_EINTERNAL;
}

void test_short_auth_result(void **) {
    Fixture f;
    f.loop.run([&] { f.host.table.auth = short_auth; });
    Client c(f.port);
    assert_true(c.wait("hello"));
    c.send(auth_json(4, "anything"));
    codec::Envelope e;
    assert_true(c.wait("notify.error", &e));
    assert_int_equal(e.seq, 4);
    auto t = codec::decode_payload<codec::Text>(e);
    assert_true(t.ok());
    assert_string_equal(t.value().text.c_str(), "old host says no");
}

void test_protobuf_subprotocol(void **) {
    Fixture f;
    std::string head;
    int fd = ws_connect(f.port, "Sec-WebSocket-Protocol: glide.protobuf\r\n", &head);
    assert_true(fd >= 0);
    WsFrame fr;
    assert_true(read_ws_frame(fd, &fr));
    assert_int_equal(fr.opcode, 2); // binary
    codec::Envelope e;
    assert_true(codec::decode(codec::Codec::protobuf, fr.payload, &e).ok());
    assert_string_equal(e.action.c_str(), "hello");
    ::close(fd);
}

// A reload (apply while running) reaches the hub: sessions opened afterwards get the new
// heartbeat interval in hello.
// HubConfig has no defaults of its own: every directive-backed value the hub and the sessions
// run with is the directive's default (module/directives.cc) when the file does not set it.
void test_hub_conf_from_directive_defaults(void **) {
    Fixture f; // sets glide_node_id only
    f.loop.run([&] {
        const hub::HubConfig &h = f.m->hub()->conf();
        assert_string_equal(h.node_id.c_str(), "e2e");
        assert_int_equal(h.heartbeat_interval_ms, 30000);
        assert_int_equal(h.heartbeat_lost, 3);
        assert_int_equal(h.send_buffer_limit, 1024 * 1024);
        assert_int_equal(h.callback_timeout_ms, 5000);
        assert_string_equal(h.server_version.c_str(), "glide/" GLIDE_VERSION_STRING);
    });
}

void test_reload_feeds_hub(void **) {
    Fixture f;
    f.loop.run([&] {
        const glide_api *api = f.host.api;
        glide_conf *c = nullptr;
        assert_int_equal(api->conf_new(f.m.get(), &c), GLIDE_OK);
        auto set = [&](const char *name, std::vector<std::string> args) {
            std::vector<glide_str> a;
            for (auto &x : args)
                a.push_back(glide_str{x.data(), x.size()});
            glide_directive_call call{};
            call.size = sizeof call;
            call.version = 1;
            call.name = glide_str{name, strlen(name)};
            call.args = a.data();
            call.nargs = static_cast<uint32_t>(a.size());
            call.file = glide_str{"reload.conf", 11};
            call.line = 1;
            char err[256];
            assert_int_equal(api->conf_set(c, &call, err, sizeof err), GLIDE_OK);
        };
        set("glide_listen", {"127.0.0.1:0"});
        set("glide_listen", {"127.0.0.1:0", "tcp", "json"});
        set("glide_heartbeat_interval", {"10s"});
        char err[256];
        assert_int_equal(api->conf_finish(c, err, sizeof err), GLIDE_OK);
        assert_int_equal(api->apply(f.m.get(), c, err, sizeof err), GLIDE_OK);
    });
    Client c(f.port);
    codec::Envelope e;
    assert_true(c.wait("hello", &e));
    auto h = codec::decode_payload<codec::ServerHello>(e);
    assert_true(h.ok());
    assert_int_equal(h.value().heartbeat_interval, 10);
}

// A pending auth past glide_callback_timeout: the client gets "authentication timed out"; the
// host's late completion is accepted and ignored (the session stays a guest).
glide_request *g_held = nullptr;
int held_auth(void *ud, glide_request *req, const glide_auth_request *) {
    static_cast<TestHost *>(ud)->auths++;
    g_held = req;
    return GLIDE_PENDING;
}

void test_auth_deadline_and_late_completion(void **) {
    Fixture f(true, {{"glide_callback_timeout", {"200ms"}}});
    f.loop.run([&] { f.host.table.auth = held_auth; });
    Client c(f.port);
    assert_true(c.wait("hello"));
    c.send(auth_json(6, credential_for("A", "pc")));
    codec::Envelope e;
    assert_true(c.wait("notify.error", &e));
    auto t = codec::decode_payload<codec::Text>(e);
    assert_true(t.ok());
    assert_string_equal(t.value().text.c_str(), "authentication timed out");
    int rc = -1;
    f.loop.run([&] {
        glide_auth_result r{};
        r.size = sizeof r;
        r.version = 1;
        r.accepted = 1;
        r.uid = glide_str{"A", 1};
        r.device_id = glide_str{"pc", 2};
        rc = f.host.api->auth_done(g_held, &r);
    });
    assert_int_equal(rc, GLIDE_OK);
    c.send("{\"seq\":8,\"action\":\"message.chat\",\"to\":\"B\",\"data\":{\"cliMid\":\"x\"}}");
    assert_true(c.wait("notify.unauthenticated", &e));
    assert_int_equal(e.seq, 8);
    assert_int_equal(f.stats().sessions_authenticated, 0);
}

} // namespace

int main(void) {
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hello_first),
        cmocka_unit_test(test_authenticate_chat_ack),
        cmocka_unit_test(test_guest_chat_unauthenticated),
        cmocka_unit_test(test_bad_credential_and_missing_auth),
        cmocka_unit_test(test_offline_replay_push_kick),
        cmocka_unit_test(test_tcp_client_gets_hello),
        cmocka_unit_test(test_drain_closes_1001),
        cmocka_unit_test(test_short_auth_result),
        cmocka_unit_test(test_protobuf_subprotocol),
        cmocka_unit_test(test_hub_conf_from_directive_defaults),
        cmocka_unit_test(test_reload_feeds_hub),
        cmocka_unit_test(test_auth_deadline_and_late_completion),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
