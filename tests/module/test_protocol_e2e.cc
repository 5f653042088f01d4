// The glide protocol end to end: the module on a real event_base (a background thread), real
// sockets, and a host table whose callbacks forward to store::MemoryStore and complete through
// the module's own glide_api completion functions (auth_done, store_done, page_add,
// request_done), exactly as an external host would.
#include <csignal>

#include "codec/credential.h"
#include "codec/json.h"
#include "codec/payload.h"
#include "hub/hub.h"
#include "module/session_glue.h"
#include "net/net_test_util.h"
#include "store/memory_store.h"

#include "glide_cmocka.h"

using namespace glide;
using namespace glide::test;
using Kind = hub::HostRequest::Kind;

namespace {

const char kSecret[] = "e2e_secret_key";

// The test's host: glide_host callbacks → MemoryStore. The store answers through a HostRequest;
// a relay hub (owning no sessions) gives those requests a continuation, which converts the
// answer and completes the module's glide_request through the negotiated glide_api.
struct TestHost {
    const glide_api *api = nullptr;
    std::unique_ptr<EventTimers> timers;
    std::unique_ptr<store::MemoryStore> store;
    std::unique_ptr<hub::Hub> relay;
    glide_host table{};
    std::atomic<int> auths{0}, stores{0}, marks{0}, loads{0}, presences{0};
};

glide_str gs(const std::string &s) { return {s.data(), s.size()}; }

int host_auth(void *ud, glide_request *req, const glide_auth_request *in) {
    auto *h = static_cast<TestHost *>(ud);
    h->auths++;
    hub::AuthInput a;
    a.credential = std::string_view(in->credential.ptr, in->credential.len);
    a.credential_version = in->credential_version;
    auto r = h->relay->call(
        Kind::auth,
        [h, req](hub::HostRequest &q) {
            const hub::AuthResult &v = q.auth_result();
            glide_auth_result res{};
            res.size = sizeof res;
            res.version = 1;
            res.accepted = v.accepted && !q.timed_out();
            res.error = gs(v.error);
            res.uid = gs(v.uid);
            res.device_id = gs(v.device_id);
            res.device_name = gs(v.device_name);
            res.message_deliver_secret = gs(v.message_deliver_secret);
            h->api->auth_done(req, &res);
        },
        [&](const hub::RequestPtr &p) { return h->store->auth(p, a); });
    return r->finished() ? GLIDE_OK : GLIDE_PENDING;
}

int host_store(void *ud, glide_request *req, const glide_message *m) {
    auto *h = static_cast<TestHost *>(ud);
    h->stores++;
    codec::ChatMessage c;
    c.cli_mid.assign(m->cli_mid.ptr, m->cli_mid.len);
    c.seq = m->seq;
    c.from.assign(m->from.ptr, m->from.len);
    c.to.assign(m->to.ptr, m->to.len);
    c.type = m->type;
    c.content.assign(m->content.ptr, m->content.len);
    c.send_at = m->send_at;
    auto r = h->relay->call(
        Kind::store_message,
        [h, req](hub::HostRequest &q) {
            const hub::StoreResult &v = q.store_result();
            glide_store_result res{};
            res.size = sizeof res;
            res.version = 1;
            res.status = q.status();
            res.error = gs(q.error());
            res.mid = v.mid;
            res.seq = v.seq;
            res.duplicate = v.duplicate;
            h->api->store_done(req, &res);
        },
        [&](const hub::RequestPtr &p) { return h->store->store_message(p, c); });
    return r->finished() ? GLIDE_OK : GLIDE_PENDING;
}

int host_mark(void *ud, glide_request *req, const glide_delivery *d) {
    auto *h = static_cast<TestHost *>(ud);
    h->marks++;
    std::string uid(d->uid.ptr, d->uid.len), dev(d->device_id.ptr, d->device_id.len);
    auto r = h->relay->call(
        Kind::mark_delivered,
        [h, req](hub::HostRequest &q) { h->api->request_done(req, q.status(), gs(q.error())); },
        [&](const hub::RequestPtr &p) { return h->store->mark_delivered(p, uid, dev, d->mid); });
    return r->finished() ? GLIDE_OK : GLIDE_PENDING;
}

int host_load(void *ud, glide_request *req, const glide_undelivered_query *query) {
    auto *h = static_cast<TestHost *>(ud);
    h->loads++;
    std::string uid(query->uid.ptr, query->uid.len),
        dev(query->device_id.ptr, query->device_id.len);
    auto r = h->relay->call(
        Kind::load_undelivered,
        [h, req](hub::HostRequest &q) {
            for (const codec::ChatMessage &c : q.page()) {
                std::string payload;
                codec::encode_json_payload(c, &payload);
                glide_message m{};
                m.size = sizeof m;
                m.version = 1;
                m.mid = c.mid;
                m.seq = c.seq;
                m.cli_mid = gs(c.cli_mid);
                m.from = gs(c.from);
                m.to = gs(c.to);
                m.type = c.type;
                m.content = gs(c.content);
                m.send_at = c.send_at;
                m.payload = gs(payload);
                h->api->page_add(req, &m);
            }
            h->api->request_done(req, q.status(), gs(q.error()));
        },
        [&](const hub::RequestPtr &p) {
            return h->store->load_undelivered(p, uid, dev, query->after_mid, query->limit);
        });
    return r->finished() ? GLIDE_OK : GLIDE_PENDING;
}

void host_presence(void *ud, const glide_presence *) { static_cast<TestHost *>(ud)->presences++; }

// Starts a module with `table` on a loop thread; the store and relay live on that loop.
struct Fixture {
    LoopThread loop;
    TestHost host;
    std::unique_ptr<Module> m;
    uint16_t port = 0;

    explicit Fixture(bool with_auth = true, const Directives &extra = {}) {
        uint32_t majors[] = {GLIDE_ABI_MAJOR};
        glide_offer offer = GLIDE_OFFER_INIT(majors, 1);
        char why[256];
        assert_int_equal(glide_negotiate(&offer, &host.api, why, sizeof why), GLIDE_OK);
        host.timers = std::make_unique<EventTimers>(loop.base());
        host.store = std::make_unique<store::MemoryStore>(host.timers.get(), kSecret);
        host.relay = std::make_unique<hub::Hub>(host.store.get(), host.timers.get(),
                                                hub::HubConfig{});
        glide_host &t = host.table;
        t.size = sizeof t;
        t.version = GLIDE_HOST_VERSION;
        t.user_data = &host;
        t.log = test_host()->log;
        t.auth = with_auth ? host_auth : nullptr;
        t.store_message = host_store;
        t.mark_delivered = host_mark;
        t.load_undelivered = host_load;
        t.presence = host_presence;
        std::string err;
        Directives dirs = {{"glide_listen", {"127.0.0.1:0"}},
                           {"glide_listen", {"127.0.0.1:0", "tcp", "json"}},
                           {"glide_node_id", {"e2e"}}};
        dirs.insert(dirs.end(), extra.begin(), extra.end());
        m = make_module(loop.base(), dirs, nullptr, {}, &err, &t);
        if (!m)
            fprintf(stderr, "setup: %s\n", err.c_str());
        assert_non_null(m.get());
        port = m->listener(0)->bound().port();
        loop.start();
    }
    ~Fixture() {
        loop.stop();
        // Destroy on this thread now that the loop is stopped: module, then the host's parts.
        m.reset();
        host.relay.reset();
        host.store.reset();
        host.timers.reset();
    }
    glide_stats stats() {
        glide_stats s{};
        s.size = sizeof s;
        loop.run([&] { host.api->stats(m.get(), &s); });
        return s;
    }
};

// --- a WebSocket glide client ------------------------------------------------------------------

struct WsClient {
    int fd = -1;
    std::vector<codec::Envelope> seen; // every envelope read, in order
    uint16_t close_code = 0;
    bool closed = false;

    explicit WsClient(uint16_t port) { fd = ws_connect(port); }
    ~WsClient() {
        if (fd >= 0)
            ::close(fd);
    }
    void send(const std::string &json) { assert_true(write_all(fd, client_frame(1, json))); }

    // Reads frames until one with `action` arrives (heartbeats and others are kept in seen).
    bool wait(std::string_view action, codec::Envelope *out = nullptr) {
        for (;;) {
            WsFrame f;
            if (!read_ws_frame(fd, &f))
                return false;
            if (f.opcode == 8) {
                closed = true;
                close_code = f.close_code();
                return false;
            }
            if (f.opcode != 1)
                continue;
            codec::Envelope e;
            if (!codec::decode_json(f.payload, &e)) {
                fprintf(stderr, "undecodable frame: %s\n", f.payload.c_str());
                return false;
            }
            seen.push_back(e);
            if (e.action == action) {
                if (out)
                    *out = e;
                return true;
            }
        }
    }
    // Reads to the close frame; its code (0 when the socket ended without one).
    uint16_t wait_close() {
        codec::Envelope e;
        while (wait("<never>", &e)) {
        }
        return closed ? close_code : 0;
    }
};

std::string credential_for(const std::string &uid, const std::string &dev) {
    codec::ClientAuthCredentials c;
    c.type = 2;
    c.user_id = uid;
    c.device_id = dev;
    c.device_name = "dev-" + dev;
    timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    c.timestamp = static_cast<int64_t>(ts.tv_sec) * 1000;
    auto sealed = codec::seal_credential(kSecret, c);
    assert_true(sealed.ok());
    return sealed.value();
}

std::string auth_json(int64_t seq, const std::string &cred) {
    return "{\"seq\":" + std::to_string(seq) +
           ",\"action\":\"authenticate\",\"data\":{\"version\":1,\"credential\":\"" + cred +
           "\"}}";
}

void login(WsClient &c, const std::string &uid, const std::string &dev, int64_t seq = 7) {
    assert_true(c.wait("hello"));
    c.send(auth_json(seq, credential_for(uid, dev)));
    codec::Envelope e;
    assert_true(c.wait("notify.success", &e));
    assert_int_equal(e.seq, seq);
}

// --- tests -------------------------------------------------------------------------------------

void test_hello_first(void **) {
    Fixture f;
    WsClient c(f.port);
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
    WsClient a(f.port), b(f.port);
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
    assert_true(f.host.presences.load() >= 2);
}

void test_guest_chat_unauthenticated(void **) {
    Fixture f;
    WsClient g(f.port);
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
        WsClient c(f.port);
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
        WsClient c(f.port);
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
    WsClient a(f.port);
    login(a, "A", "pc");
    a.send("{\"seq\":1,\"action\":\"message.chat\",\"to\":\"C\",\"data\":{\"cliMid\":\"off-1\","
           "\"content\":\"later\"}}");
    assert_true(a.wait("ack.message"));
    // C logs in afterwards: the stored message is replayed (load_undelivered → page_add).
    WsClient c(f.port);
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
        assert_int_equal(
            f.host.api->kick(f.m.get(), glide_str{"C", 1}, glide_str{"", 0}, &kicked), GLIDE_OK);
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
void on_drained(void *) { g_drained++; }

void test_drain_closes_1001(void **) {
    Fixture f;
    WsClient a(f.port), g(f.port);
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
    WsClient c(f.port);
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
    WsClient c(f.port);
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
    WsClient c(f.port);
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
        cmocka_unit_test(test_reload_feeds_hub),
        cmocka_unit_test(test_auth_deadline_and_late_completion),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
