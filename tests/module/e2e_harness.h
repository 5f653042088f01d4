// The harness of the end-to-end protocol tests (tests/module/test_protocol_e2e.cc and
// test_e2e_*.cc): the module on a real event_base (a background thread), real sockets, and a
// host table whose callbacks forward to store::MemoryStore and complete through the module's
// own glide_api completion functions (auth_done, store_done, page_add, member_add,
// request_done), exactly as an external host would. The store's knobs (delays, holds, injected
// failures) make the host asynchronous or failing.
//
// Clients speak either codec over WebSocket (Wire::json: no subprotocol, text frames;
// Wire::protobuf: subprotocol glide.protobuf, binary frames). A test that takes the wire from
// its cmocka state runs once per codec (E2E_BOTH registers both).
#pragma once

#include <csignal>

#include "codec/credential.h"
#include "codec/json.h"
#include "codec/payload.h"
#include "module/host_adapter.h"
#include "module/session_glue.h"
#include "net/net_test_util.h"
#include "port/requests.h"
#include "support/memory_store.h"

#include "glide_cmocka.h"

namespace glide::e2e {

using namespace glide::test;
using Kind = port::HostRequest::Kind;

inline constexpr char kSecret[] = "e2e_secret_key";
// The relay's deadline: glide_callback_timeout's default.
inline constexpr uint64_t kRelayTimeoutMs = 5000;

struct PresenceEvent {
    std::string uid, device_id;
    bool online;
};

// The test's host: glide_host callbacks → MemoryStore. The store answers through a HostRequest;
// a relay request queue gives those requests a continuation, which converts the answer and
// completes the module's glide_request through the negotiated glide_api.
struct TestHost {
    const glide_api *api = nullptr;
    std::unique_ptr<EventTimers> timers;
    std::unique_ptr<store::MemoryStore> store;
    Latency relay_latency;
    std::unique_ptr<port::Requests> relay;
    glide_host table{};
    std::atomic<int> auths{0}, stores{0}, marks{0}, loads{0}, publishes{0}, presences{0};
    std::atomic<int> group_marks{0}; // group receipts (mark_delivered with first_mid), in marks
    std::vector<PresenceEvent> presence_log; // loop thread only (read it through loop.run)
    std::string last_payload; // glide_message.payload of the last store_message (loop thread)
};

inline glide_str gs(const std::string &s) {
    return {s.data(), s.size()};
}

inline codec::ChatMessage from_glide(const glide_message *m) {
    codec::ChatMessage c;
    c.cli_mid.assign(m->cli_mid.ptr, m->cli_mid.len);
    c.mid = m->mid;
    c.seq = m->seq;
    c.from.assign(m->from.ptr, m->from.len);
    c.to.assign(m->to.ptr, m->to.len);
    c.type = m->type;
    c.content.assign(m->content.ptr, m->content.len);
    c.send_at = m->send_at;
    return c;
}

inline int host_auth(void *ud, glide_request *req, const glide_auth_request *in) {
    auto *h = static_cast<TestHost *>(ud);
    h->auths++;
    port::AuthInput a;
    a.credential = std::string_view(in->credential.ptr, in->credential.len);
    a.credential_version = in->credential_version;
    auto r = h->relay->call(
        Kind::auth, kRelayTimeoutMs,
        [h, req](port::HostRequest &q) {
            const port::AuthResult &v = q.auth_result();
            glide_auth_result res = glide::to_glide_auth_result(v);
            res.accepted = v.accepted && !q.timed_out();
            h->api->auth_done(req, &res);
        },
        [&](const port::RequestPtr &p) { return h->store->auth(p, a); });
    return r->finished() ? GLIDE_OK : GLIDE_PENDING;
}

// store_message and group_publish complete alike (store_done with mid and seq).
inline port::HostRequest::Continuation store_completion(TestHost *h, glide_request *req) {
    return [h, req](port::HostRequest &q) {
        const port::StoreResult &v = q.store_result();
        glide_store_result res{};
        res.size = sizeof res;
        res.version = 1;
        res.status = q.status();
        res.error = gs(q.error());
        res.mid = v.mid;
        res.seq = v.seq;
        res.duplicate = v.duplicate;
        h->api->store_done(req, &res);
    };
}

inline int host_store(void *ud, glide_request *req, const glide_message *m) {
    auto *h = static_cast<TestHost *>(ud);
    h->stores++;
    h->last_payload.assign(m->payload.ptr ? m->payload.ptr : "", m->payload.len);
    codec::ChatMessage c = from_glide(m);
    auto r =
        h->relay->call(Kind::store_message, kRelayTimeoutMs, store_completion(h, req),
                       [&](const port::RequestPtr &p) { return h->store->store_message(p, c); });
    return r->finished() ? GLIDE_OK : GLIDE_PENDING;
}

inline int host_group_publish(void *ud, glide_request *req, const glide_message *m) {
    auto *h = static_cast<TestHost *>(ud);
    h->publishes++;
    codec::ChatMessage c = from_glide(m);
    auto r =
        h->relay->call(Kind::group_publish, kRelayTimeoutMs, store_completion(h, req),
                       [&](const port::RequestPtr &p) { return h->store->group_publish(p, c); });
    return r->finished() ? GLIDE_OK : GLIDE_PENDING;
}

inline int host_group_members(void *ud, glide_request *req, glide_str gid) {
    auto *h = static_cast<TestHost *>(ud);
    std::string g(gid.ptr, gid.len);
    auto r = h->relay->call(
        Kind::group_members, kRelayTimeoutMs,
        [h, req](port::HostRequest &q) {
            for (const std::string &uid : q.members())
                h->api->member_add(req, gs(uid));
            h->api->request_done(req, q.status(), gs(q.error()));
        },
        [&](const port::RequestPtr &p) { return h->store->group_members(p, g); });
    return r->finished() ? GLIDE_OK : GLIDE_PENDING;
}

inline int host_mark(void *ud, glide_request *req, const glide_delivery *d) {
    auto *h = static_cast<TestHost *>(ud);
    h->marks++;
    if (d->first_mid)
        h->group_marks++;
    std::string uid(d->uid.ptr, d->uid.len), dev(d->device_id.ptr, d->device_id.len);
    auto r = h->relay->call(
        Kind::mark_delivered, kRelayTimeoutMs,
        [h, req](port::HostRequest &q) { h->api->request_done(req, q.status(), gs(q.error())); },
        [&](const port::RequestPtr &p) {
            return d->first_mid ? h->store->group_delivered(p, uid, dev, d->first_mid, d->mid)
                                : h->store->mark_delivered(p, uid, dev, d->mid);
        });
    return r->finished() ? GLIDE_OK : GLIDE_PENDING;
}

inline int host_load(void *ud, glide_request *req, const glide_undelivered_query *query) {
    auto *h = static_cast<TestHost *>(ud);
    h->loads++;
    std::string uid(query->uid.ptr, query->uid.len),
        dev(query->device_id.ptr, query->device_id.len);
    auto r = h->relay->call(
        Kind::load_undelivered, kRelayTimeoutMs,
        [h, req](port::HostRequest &q) {
            for (const port::PageMessage &pm : q.page()) {
                const codec::ChatMessage &c = pm.msg;
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
                m.flags = pm.group ? GLIDE_MESSAGE_GROUP : 0;
                h->api->page_add(req, &m);
            }
            h->api->request_done(req, q.status(), gs(q.error()));
        },
        [&](const port::RequestPtr &p) {
            return h->store->load_undelivered(p, uid, dev, query->after_mid, query->limit);
        });
    return r->finished() ? GLIDE_OK : GLIDE_PENDING;
}

inline void host_presence(void *ud, const glide_presence *p) {
    auto *h = static_cast<TestHost *>(ud);
    h->presences++;
    h->presence_log.push_back({std::string(p->uid.ptr, p->uid.len),
                               std::string(p->device_id.ptr, p->device_id.len), p->online != 0});
}

// Starts a module with the test host on a loop thread; the store and relay live on that loop.
// `tweak` edits the finished configuration (values below the directives' minimums, such as a
// 200 ms heartbeat, keep the tests short).
struct Fixture {
    LoopThread loop;
    TestHost host;
    std::unique_ptr<Module> m;
    uint16_t port = 0;

    explicit Fixture(bool with_auth = true, const Directives &extra = {},
                     const std::function<void(ModuleConf &)> &tweak = {}) {
        uint32_t majors[] = {GLIDE_ABI_MAJOR};
        glide_offer offer = GLIDE_OFFER_INIT(majors, 1);
        char why[256];
        assert_int_equal(glide_negotiate(&offer, &host.api, why, sizeof why), GLIDE_OK);
        host.timers = std::make_unique<EventTimers>(loop.base());
        host.store = std::make_unique<store::MemoryStore>(host.timers.get(), kSecret);
        host.relay = std::make_unique<port::Requests>(*host.timers, host.relay_latency);
        glide_host &t = host.table;
        t.size = sizeof t;
        t.version = GLIDE_HOST_VERSION;
        t.user_data = &host;
        t.log = test_host()->log;
        t.auth = with_auth ? host_auth : nullptr;
        t.store_message = host_store;
        t.mark_delivered = host_mark;
        t.load_undelivered = host_load;
        t.group_publish = host_group_publish;
        t.group_members = host_group_members;
        t.presence = host_presence;
        t.flags = GLIDE_HOST_GROUP_REPLAY; // MemoryStore keeps group cursors
        std::string err;
        Directives dirs = {{"glide_listen", {"127.0.0.1:0"}},
                           {"glide_listen", {"127.0.0.1:0", "tcp", "json"}},
                           {"glide_node_id", {"e2e"}}};
        dirs.insert(dirs.end(), extra.begin(), extra.end());
        m = make_module(loop.base(), dirs, nullptr, tweak, &err, &t);
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
    // Runs fn(store) on the loop thread.
    template <typename F> auto with_store(F &&fn) {
        using R = decltype(fn(*host.store));
        if constexpr (std::is_void_v<R>) {
            loop.run([&] { fn(*host.store); });
        } else {
            R r{};
            loop.run([&] { r = fn(*host.store); });
            return r;
        }
    }
    std::vector<PresenceEvent> presence_log() {
        std::vector<PresenceEvent> v;
        loop.run([&] { v = host.presence_log; });
        return v;
    }
};

// --- a glide client over WebSocket, in either codec --------------------------------------------

enum class Wire { json, protobuf };
inline const Wire kJson = Wire::json;
inline const Wire kProtobuf = Wire::protobuf;

// The wire of a test registered by E2E_BOTH (JSON for a plain cmocka_unit_test).
inline Wire wire_of(void **state) {
    return state && *state ? *static_cast<const Wire *>(*state) : Wire::json;
}
inline const char *wire_name(Wire w) {
    return w == Wire::json ? "json" : "protobuf";
}

// A test run once per codec: "name/json" and "name/protobuf".
#define E2E_BOTH(fn)                                                                               \
    {#fn "/json", fn, nullptr, nullptr, const_cast<glide::e2e::Wire *>(&glide::e2e::kJson)}, {     \
#fn "/protobuf", fn, nullptr, nullptr,                                                     \
            const_cast < glide::e2e::Wire *>(&glide::e2e::kProtobuf)                               \
    }

struct Client {
    Wire wire = Wire::json;
    int fd = -1;
    std::string head;                  // the upgrade answer
    std::vector<codec::Envelope> seen; // every envelope read, in order
    uint16_t close_code = 0;
    std::string close_reason;
    bool closed = false;
    int bad_frames = 0; // frames of the wrong kind for the codec, or that did not decode
    int64_t next_sync = 100000;

    // rcvbuf: the socket's receive buffer (0: the kernel's); headers: more upgrade headers.
    explicit Client(uint16_t port, Wire w = Wire::json, int rcvbuf = 0, std::string headers = {})
        : wire(w) {
        if (w == Wire::protobuf)
            headers += "Sec-WebSocket-Protocol: glide.protobuf\r\n";
        fd = ws_connect(port, headers, &head, rcvbuf);
        assert_true(fd >= 0);
    }
    ~Client() { disconnect(); }
    void disconnect() {
        if (fd >= 0)
            ::close(fd);
        fd = -1;
    }
    codec::Codec codec() const {
        return wire == Wire::json ? codec::Codec::json : codec::Codec::protobuf;
    }

    // Sends an envelope in the client's codec. False when the server is gone.
    bool send(const codec::Envelope &e) {
        std::string out;
        assert_true(codec::encode(codec(), e, &out).ok());
        return write_all(fd, client_frame(wire == Wire::json ? 1 : 2, out));
    }
    // Sends JSON text as is (JSON clients only).
    void send(const std::string &json) {
        assert_true(wire == Wire::json);
        assert_true(write_all(fd, client_frame(1, json)));
    }

    // Reads the next envelope; false at the close frame (recorded) or when the socket ends.
    bool next(codec::Envelope *out) {
        for (;;) {
            WsFrame f;
            if (!read_ws_frame(fd, &f))
                return false;
            if (f.opcode == 8) {
                closed = true;
                close_code = f.close_code();
                close_reason = f.payload.size() > 2 ? f.payload.substr(2) : "";
                return false;
            }
            if (f.opcode != 1 && f.opcode != 2)
                continue; // ping/pong
            codec::Envelope e;
            bool ok = f.opcode == (wire == Wire::json ? 1 : 2) &&
                      codec::decode(codec(), f.payload, &e).ok();
            if (!ok) {
                bad_frames++;
                fprintf(stderr, "bad frame (opcode %d) for %s: %s\n", f.opcode, wire_name(wire),
                        f.payload.c_str());
                continue;
            }
            seen.push_back(e);
            *out = std::move(e);
            return true;
        }
    }
    // Reads until an envelope with `action` (and `seq`, unless any_seq) arrives.
    static constexpr int64_t any_seq = INT64_MIN;
    bool wait(std::string_view action, codec::Envelope *out = nullptr, int64_t seq = any_seq) {
        codec::Envelope e;
        while (next(&e)) {
            if (e.action == action && (seq == any_seq || e.seq == seq)) {
                if (out)
                    *out = e;
                return true;
            }
        }
        return false;
    }
    // Reads to the close frame; its code (0 when the socket ended without one).
    uint16_t wait_close() {
        codec::Envelope e;
        while (next(&e)) {
        }
        return closed ? close_code : 0;
    }
    // A round trip through the server (an unknown action answered with its seq): everything the
    // server queued for this client before it handled the probe arrives first and is returned.
    // Asserts that no frame of the wrong kind came.
    std::vector<codec::Envelope> sync() {
        size_t from = seen.size();
        int64_t seq = next_sync++;
        codec::Envelope probe;
        probe.seq = seq;
        probe.action = "e2e.sync";
        assert_true(send(probe));
        codec::Envelope e;
        assert_true(wait(codec::action::notify_unknown_action, &e, seq));
        // Every frame so far was of the codec's kind and decoded (JSON: text frames of JSON).
        assert_int_equal(bad_frames, 0);
        return {seen.begin() + static_cast<ptrdiff_t>(from), seen.end() - 1};
    }
    // How many of the envelopes in v have `action`.
    static size_t count(const std::vector<codec::Envelope> &v, std::string_view action) {
        return static_cast<size_t>(std::count_if(
            v.begin(), v.end(), [&](const codec::Envelope &e) { return e.action == action; }));
    }
};

// --- credentials and envelopes ---------------------------------------------------------------

struct CredentialOptions {
    std::string deliver_secret; // non-empty: the session checks tickets
    int64_t age_ms = 0;         // how old the credential is
};

inline std::string credential_for(const std::string &uid, const std::string &dev,
                                  const CredentialOptions &o = {}) {
    codec::ClientAuthCredentials c;
    c.type = 2;
    c.user_id = uid;
    c.device_id = dev;
    c.device_name = "dev-" + dev;
    if (!o.deliver_secret.empty()) {
        c.has_secrets = true;
        c.secrets.message_deliver_secret = o.deliver_secret;
    }
    timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    c.timestamp = static_cast<int64_t>(ts.tv_sec) * 1000 - o.age_ms;
    auto sealed = codec::seal_credential(kSecret, c);
    assert_true(sealed.ok());
    return sealed.value();
}

inline std::string auth_json(int64_t seq, const std::string &cred) {
    return "{\"seq\":" + std::to_string(seq) +
           ",\"action\":\"authenticate\",\"data\":{\"version\":1,\"credential\":\"" + cred + "\"}}";
}

inline codec::Envelope envelope(int64_t seq, std::string_view action, std::string to = {}) {
    codec::Envelope e;
    e.seq = seq;
    e.action = action;
    e.to = std::move(to);
    return e;
}

inline codec::Envelope auth_env(int64_t seq, const std::string &cred) {
    codec::Envelope e = envelope(seq, codec::action::authenticate);
    e.data = codec::EncryptedCredential{1, cred};
    return e;
}

// message.chat (or another chat-shaped action) to `to`.
inline codec::Envelope chat_env(int64_t seq, const std::string &to, const std::string &cli_mid,
                                const std::string &content, int64_t data_seq = 0,
                                std::string_view action = codec::action::chat) {
    codec::Envelope e = envelope(seq, action, to);
    codec::ChatMessage m;
    m.cli_mid = cli_mid;
    m.seq = data_seq;
    m.type = 1;
    m.content = content;
    m.send_at = 1720000000;
    e.data = m;
    return e;
}

inline codec::Envelope ack_request_env(int64_t mid, const std::string &from,
                                       const std::string &to = {}) {
    codec::Envelope e = envelope(0, codec::action::ack_request);
    codec::AckRequest a;
    a.mid = mid;
    a.from = from;
    a.to = to;
    e.data = a;
    return e;
}

// hello (unless already read), authenticate (with `cred`), notify.success with the seq echoed.
inline void login_with(Client &c, const std::string &cred, int64_t seq = 7) {
    if (Client::count(c.seen, codec::action::hello) == 0)
        assert_true(c.wait(codec::action::hello));
    assert_true(c.send(auth_env(seq, cred)));
    codec::Envelope e;
    assert_true(c.wait(codec::action::notify_success, &e));
    assert_int_equal(e.seq, seq);
}

inline void login(Client &c, const std::string &uid, const std::string &dev, int64_t seq = 7) {
    login_with(c, credential_for(uid, dev), seq);
}

// Decodes e's data as T (asserting it decodes).
template <typename T> T data_of(const codec::Envelope &e) {
    auto r = codec::decode_payload<T>(e);
    if (!r)
        fprintf(stderr, "%s: %s\n", e.action.c_str(), r.error().c_str());
    assert_true(r.ok());
    return r.value();
}

inline std::string text_of(const codec::Envelope &e) {
    return data_of<codec::Text>(e).text;
}

// Waits for ack.message and returns its mid.
inline int64_t wait_ack_mid(Client &c, const std::string &cli_mid) {
    codec::Envelope e;
    assert_true(c.wait(codec::action::ack_message, &e));
    auto a = data_of<codec::AckMessage>(e);
    assert_string_equal(a.cli_mid.c_str(), cli_mid.c_str());
    assert_true(a.mid > 0);
    return a.mid;
}

} // namespace glide::e2e
