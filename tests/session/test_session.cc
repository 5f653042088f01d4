// Session-level behaviours of design.md §5 (hello, decode errors, the action gate, auth,
// heartbeats, the slow-consumer rule, codecs), driven by a fake transport, clock and host.
#include <regex>
#include <string>

#include "support/proto_fakes.h"

#include "glide_cmocka.h"

using namespace glide;
using fakes::World;

namespace {

#define assert_str(a, b) assert_string_equal(std::string(a).c_str(), std::string(b).c_str())

// §5.1: the first frame is hello with temp_id tmp@<uuid4> and heartbeat_interval in seconds.
void test_hello_first(void **) {
    World w;
    auto c = w.connect();
    assert_non_null(c->s);
    assert_int_equal(c->link.frames.size(), 1);
    auto e = c->link.frame(0);
    assert_str(e.action, "hello");
    auto h = codec::decode_payload<codec::ServerHello>(e);
    assert_true(h.ok());
    static const std::regex re(
        "^tmp@[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");
    assert_true(std::regex_match(h->temp_id, re));
    assert_int_equal(h->heartbeat_interval, 30);
    assert_str(c->link.frames[0], "{\"ver\":1,\"action\":\"hello\",\"data\":{\"server_version\":"
                                  "\"test\",\"temp_id\":\"" +
                                      h->temp_id +
                                      "\",\"heartbeat_interval\":30,\"protocols\":[\"glide.json\","
                                      "\"glide.protobuf\"]}}");
    // Two connections, two ids.
    auto d = w.connect();
    assert_true(d->s->temp_id() != c->s->temp_id());
}

// The identity's strings share one block: each reads back as set, whether short (16-bit
// lengths) or one longer than 65,535 bytes (32-bit lengths), and the client version set before
// or after the identity survives either.
void test_identity_strings(void **) {
    World w;
    auto c = w.connect();
    session::Session &s = *c->s;
    assert_true(s.uid().empty() && s.device_id().empty() && s.client_version().empty());
    s.set_client_version("1.0");
    s.set_identity("alice", "d1", "phone", "", 0, 0);
    assert_str(s.uid(), "alice");
    assert_str(s.device_id(), "d1");
    assert_str(s.device_name(), "phone");
    assert_true(s.deliver_secret().empty());
    assert_false(s.checks_tickets());
    assert_str(s.client_version(), "1.0");
    const std::string long_name(70000, 'n');
    s.set_identity("bob", "", long_name, "secret", 0, 0);
    assert_str(s.uid(), "bob");
    assert_true(s.device_id().empty());
    assert_true(s.device_name() == long_name);
    assert_str(s.deliver_secret(), "secret");
    assert_true(s.checks_tickets());
    assert_str(s.client_version(), "1.0");
    s.set_client_version("2.0");
    assert_str(s.uid(), "bob");
    assert_true(s.device_name() == long_name);
    assert_str(s.client_version(), "2.0");
}

// §5.2: an undecodable frame gets notify.error "message decode error: ...", the session stays.
void test_decode_error_keeps_session(void **) {
    World w;
    auto c = w.connect();
    w.send(*c, "not json");
    assert_str(c->link.frames.back(),
               "{\"ver\":1,\"action\":\"notify.error\",\"data\":\"message decode error: invalid "
               "character 'o' in literal null (expecting 'u')\"}");
    assert_false(c->link.closed);
    assert_true(c->s->open());
    w.send(*c, "{\"action\":\"x.y\",\"seq\":2}");
    assert_str(c->link.frames.back(),
               "{\"ver\":1,\"seq\":2,\"action\":\"notify.unknown.action\",\"data\":\"x.y\"}");
}

// §5.2: unknown actions echo seq and the action, whatever the state.
void test_unknown_action_echoes_seq(void **) {
    World w;
    w.token("tok-A", "A", "d1");
    auto g = w.connect();
    w.send(*g, "{\"action\":\"x.y\",\"seq\":5}");
    assert_str(g->link.frames.back(),
               "{\"ver\":1,\"seq\":5,\"action\":\"notify.unknown.action\",\"data\":\"x.y\"}");
    w.send(*g, "{\"action\":\"\",\"seq\":-1}");
    assert_str(g->link.frames.back(),
               "{\"ver\":1,\"seq\":-1,\"action\":\"notify.unknown.action\",\"data\":\"\"}");
    auto a = w.login("tok-A");
    w.send(*a, "{\"action\":\"api.auth\",\"seq\":9}");
    assert_str(a->link.frames.back(),
               "{\"ver\":1,\"seq\":9,\"action\":\"notify.unknown.action\",\"data\":\"api.auth\"}");
}

// §5.5: a guest may send hello, heartbeat, authenticate only.
void test_guest_chat_unauthenticated(void **) {
    World w;
    auto g = w.connect();
    const char *acts[] = {"message.chat",  "message.group",       "message.cli", "ack.request",
                          "api.state.sub", "message.chat.resend", "ack.offline"};
    int64_t seq = 10;
    for (const char *a : acts) {
        w.send(*g, "{\"seq\":" + std::to_string(seq) + ",\"action\":\"" + a +
                       "\",\"to\":\"B\",\"data\":{\"cliMid\":\"c\"}}");
        assert_str(g->link.frames.back(), "{\"ver\":1,\"seq\":" + std::to_string(seq) +
                                              ",\"action\":\"notify.unauthenticated\",\"data\":"
                                              "\"unauthenticated\"}");
        seq++;
    }
    size_t n = g->link.frames.size();
    w.send(*g, "{\"seq\":1,\"action\":\"heartbeat\",\"data\":{}}");
    w.send(*g, "{\"action\":\"hello\",\"data\":{\"client_version\":\"1.0\"}}");
    assert_int_equal(g->link.frames.size(), n); // no replies
    assert_str(std::string(g->s->client_version()), "1.0");
    w.send(*g, "{\"action\":\"hello\"}");
    assert_str(g->link.frames.back(),
               "{\"ver\":1,\"action\":\"notify.error\",\"data\":\"invalid handleHello message\"}");
    assert_int_equal(w.store.calls(store::MemoryStore::Kind::store_message), 0);
}

// §5.5: internal.* from a client: notify.forbidden with the seq, no effect (also when
// authenticated).
void test_client_internal_forbidden(void **) {
    World w;
    w.token("tok-A", "A", "d1");
    auto g = w.connect();
    w.send(*g, "{\"seq\":3,\"action\":\"internal.online\",\"data\":\"x\"}");
    assert_str(g->link.frames.back(),
               "{\"ver\":1,\"seq\":3,\"action\":\"notify.forbidden\",\"data\":\"forbidden\"}");
    auto a = w.login("tok-A");
    size_t before = w.store.presence_events().size();
    w.send(*a, "{\"seq\":4,\"action\":\"internal.offline\",\"data\":\"A\"}");
    assert_str(a->link.frames.back(),
               "{\"ver\":1,\"seq\":4,\"action\":\"notify.forbidden\",\"data\":\"forbidden\"}");
    assert_int_equal(w.store.presence_events().size(), before);
    assert_true(a->s->authenticated());
}

// §5.3: authenticate → notify.success with seq; failures with glide's texts and seq.
void test_authenticate_success_and_failure_texts(void **) {
    World w;
    w.token("tok-A", "A", "d1");
    auto a = w.login("tok-A");
    assert_str(a->link.frames.back(),
               "{\"ver\":1,\"seq\":1,\"action\":\"notify.success\",\"data\":null}");
    assert_true(a->s->authenticated());
    assert_str(a->s->uid(), "A");

    auto b = w.connect();
    w.send(*b, "{\"seq\":7,\"action\":\"authenticate\",\"data\":{\"version\":1,\"credential\":"
               "\"garbage-credential\"}}");
    assert_str(b->link.frames.back(), "{\"ver\":1,\"seq\":7,\"action\":\"notify.error\",\"data\":"
                                      "\"invalid authenticate message\"}");
    assert_false(b->s->authenticated());
    w.send(*b, "{\"seq\":8,\"action\":\"authenticate\"}");
    assert_str(b->link.frames.back(), "{\"ver\":1,\"seq\":8,\"action\":\"notify.error\",\"data\":"
                                      "\"invalid authenticate message\"}");

    // A real glide credential (protocol.md §6.4) verified by the memory store.
    codec::ClientAuthCredentials cr;
    cr.user_id = "1002";
    cr.device_id = "web";
    cr.timestamp = w.timers.wall_ms() - 1000;
    auto sealed = codec::seal_credential("secret_key", cr);
    assert_true(sealed.ok());
    w.send(*b, codec::make_message(9, codec::action::authenticate,
                                   codec::EncryptedCredential{1, sealed.value()}));
    assert_str(b->link.frames.back(),
               "{\"ver\":1,\"seq\":9,\"action\":\"notify.success\",\"data\":null}");
    assert_str(b->s->uid(), "1002");
    assert_str(b->s->device_id(), "web");

    // Expired: older than 25 minutes.
    cr.timestamp = w.timers.wall_ms() - codec::credential_max_age_ms - 1;
    auto old = codec::seal_credential("secret_key", cr);
    auto c = w.connect();
    w.send(*c, codec::make_message(2, codec::action::authenticate,
                                   codec::EncryptedCredential{1, old.value()}));
    assert_str(c->link.frames.back(), "{\"ver\":1,\"seq\":2,\"action\":\"notify.error\",\"data\":"
                                      "\"credential expired\"}");
}

// While auth is pending the session reads nothing; frames parsed meanwhile are handled after.
void test_async_auth_answered_later(void **) {
    World w;
    w.token("tok-A", "A", "d1");
    w.store.set_delay(store::MemoryStore::Kind::auth, 2000);
    auto a = w.connect();
    w.send(*a, "{\"seq\":1,\"action\":\"authenticate\",\"data\":{\"version\":1,\"credential\":"
               "\"tok-A\"}}");
    assert_true(a->link.paused);
    assert_true(a->s->auth_pending());
    w.send(*a, "{\"seq\":2,\"action\":\"x.y\"}"); // parsed before the pause took effect
    assert_int_equal(a->link.frames.size(), 1);   // only hello so far
    w.timers.advance(1999);
    assert_false(a->s->authenticated());
    w.timers.advance(1);
    assert_false(a->link.paused);
    assert_true(a->s->authenticated());
    // The success first, then (next loop turn) the frame that waited.
    assert_int_equal(a->link.frames.size(), 3);
    assert_str(a->link.frames[1],
               "{\"ver\":1,\"seq\":1,\"action\":\"notify.success\",\"data\":null}");
    assert_str(a->link.frames[2],
               "{\"ver\":1,\"seq\":2,\"action\":\"notify.unknown.action\",\"data\":\"x.y\"}");
}

// Auth past the deadline: notify.error, reading resumes, the late verdict is ignored.
void test_auth_deadline_late_completion_ignored(void **) {
    World w;
    w.token("tok-A", "A", "d1");
    w.store.set_delay(store::MemoryStore::Kind::auth, store::MemoryStore::hold);
    auto a = w.connect();
    w.send(*a, "{\"seq\":4,\"action\":\"authenticate\",\"data\":{\"version\":1,\"credential\":"
               "\"tok-A\"}}");
    w.timers.advance(5000);
    assert_str(a->link.frames.back(), "{\"ver\":1,\"seq\":4,\"action\":\"notify.error\",\"data\":"
                                      "\"authentication timed out\"}");
    assert_false(a->link.paused);
    assert_int_equal(w.store.release_held(), 1);
    assert_false(a->s->authenticated());
    assert_int_equal(w.hub.devices("A").size(), 0);
    // A late completion for a session that is gone is ignored too.
    w.send(*a, "{\"seq\":5,\"action\":\"authenticate\",\"data\":{\"version\":1,\"credential\":"
               "\"tok-A\"}}");
    w.close(*a);
    assert_int_equal(w.store.release_held(), 1);
    assert_int_equal(w.hub.devices("A").size(), 0);
}

// §5.12: silent client: server heartbeats each interval, close 4000 after the lost limit.
void test_heartbeat_idle_close_4000(void **) {
    World w;
    auto c = w.connect();
    std::string hb = "{\"ver\":1,\"action\":\"heartbeat\",\"data\":null}";
    w.timers.advance(29999);
    assert_int_equal(c->link.count("heartbeat"), 0);
    w.timers.advance(1);
    assert_int_equal(c->link.count("heartbeat"), 1);
    assert_str(c->link.frames.back(), hb);
    w.timers.advance(60000);
    assert_int_equal(c->link.count("heartbeat"), 3);
    assert_false(c->link.closed);
    w.timers.advance(30000); // the 4th silent interval: more than 3 lost
    assert_true(c->link.closed);
    assert_int_equal(c->link.close_code, 4000);
    assert_str(c->link.reason, "heartbeat timeout");
    assert_int_equal(c->link.count("heartbeat"), 3);
    w.close(*c);
    assert_int_equal(w.hub.stats().connections, 0);
}

// A client heartbeat keeps the session alive; a decode error does not count.
void test_heartbeat_client_keeps_alive(void **) {
    World w;
    auto c = w.connect();
    for (int i = 0; i < 10; i++) {
        w.timers.advance(25000);
        w.send(*c, "{\"action\":\"heartbeat\"}");
    }
    assert_false(c->link.closed);
    for (int i = 0; i < 5; i++) {
        w.timers.advance(29000);
        w.send(*c, "garbage");
    }
    assert_true(c->link.closed);
    assert_int_equal(c->link.close_code, 4000);
}

// Connection settings from the credential override the configured heartbeat.
void test_heartbeat_settings_from_auth(void **) {
    World w;
    port::AuthResult id;
    id.uid = "A";
    id.device_id = "d1";
    id.heartbeat_interval_ms = 10000;
    id.heartbeat_lost = 1;
    w.store.add_token("tok-fast", id);
    auto a = w.login("tok-fast");
    assert_int_equal(a->s->heartbeat_interval_ms(), 10000);
    w.timers.advance(10000);
    assert_int_equal(a->link.count("heartbeat"), 1);
    assert_false(a->link.closed);
    w.timers.advance(10000); // second silent interval: more than 1 lost
    assert_true(a->link.closed);
    assert_int_equal(a->link.close_code, 4000);
    // Re-authenticating as the same identity does not flap presence.
    auto b = w.login("tok-fast");
    size_t ev = w.store.presence_events().size();
    w.send(*b, "{\"seq\":2,\"action\":\"authenticate\",\"data\":{\"version\":1,\"credential\":"
               "\"tok-fast\"}}");
    assert_str(b->link.frames.back(),
               "{\"ver\":1,\"seq\":2,\"action\":\"notify.success\",\"data\":null}");
    assert_int_equal(w.store.presence_events().size(), ev);
}

// §5.13: past glide_send_buffer_limit the session is closed 1008 "slow consumer".
void test_slow_consumer_closed_1008(void **) {
    auto conf = fakes::test_conf();
    conf.send_buffer_limit = 4096;
    World w(conf);
    w.token("tok-A", "A", "d1");
    w.token("tok-B", "B", "d1");
    auto a = w.login("tok-A");
    auto b = w.login("tok-B");
    b->link.stalled = true; // B reads nothing
    std::string content(500, 'x');
    int acks = 0;
    for (int i = 0; i < 20; i++) {
        w.send(*a, "{\"action\":\"message.chat\",\"to\":\"B\",\"data\":{\"cliMid\":\"c" +
                       std::to_string(i) + "\",\"content\":\"" + content + "\"}}");
    }
    acks = static_cast<int>(a->link.count("ack.message"));
    assert_int_equal(acks, 20); // the sender keeps being acknowledged
    assert_true(b->link.closed);
    assert_int_equal(b->link.close_code, 1008);
    assert_str(b->link.reason, "slow consumer");
    size_t got = b->link.count("message.chat");
    assert_true(got < 20);
    w.close(*b);
    assert_int_equal(w.hub.stats().drops, 0);

    // What it had not acknowledged arrives at its next login.
    auto b2 = w.login("tok-B");
    assert_int_equal(b2->link.count("message.chat"), 20);
}

// Both codecs: protobuf sessions get protobuf bytes; a JSON sender reaches a protobuf receiver.
void test_both_codecs(void **) {
    World w;
    w.token("tok-A", "A", "d1");
    w.token("tok-B", "B", "d1");
    auto a = w.login("tok-A");
    auto b = w.login("tok-B", codec::Codec::protobuf);
    assert_true(b->s->authenticated());
    // Every frame B got is protobuf (hello, notify.success).
    for (size_t i = 0; i < b->link.frames.size(); i++) {
        codec::Envelope e;
        assert_true(codec::decode_protobuf(b->link.frames[i], &e).ok());
    }
    w.send(*a, "{\"seq\":3,\"action\":\"message.chat\",\"to\":\"B\",\"data\":{\"cliMid\":\"c-1\","
               "\"type\":1,\"content\":\"hi\"}}");
    auto idx = b->link.find("message.chat");
    assert_int_equal(idx.size(), 1);
    codec::Envelope e;
    assert_true(codec::decode_protobuf(b->link.frames[idx[0]], &e).ok());
    auto m = codec::decode_payload<codec::ChatMessage>(e);
    assert_true(m.ok());
    assert_str(m->content, "hi");
    assert_str(m->from, "A");
    assert_int_equal(m->mid, 1);
    // And back: a protobuf sender to a JSON receiver.
    codec::ChatMessage reply;
    reply.cli_mid = "r-1";
    reply.content = "yo";
    codec::Envelope env = codec::make_message(4, codec::action::chat, reply);
    env.to = "A";
    w.send(*b, env);
    assert_str(a->link.last_json("message.chat"),
               "{\"ver\":1,\"action\":\"message.chat\",\"data\":{\"cliMid\":\"r-1\",\"mid\":2,"
               "\"from\":\"B\",\"to\":\"A\",\"content\":\"yo\"}}");
    assert_int_equal(b->link.count("ack.message"), 1);
}

// Encode once: a fan-out hands the same buffer to every JSON recipient.
void test_encode_once_shared_buffer(void **) {
    World w;
    w.token("tok-A", "A", "d1");
    w.token("tok-B1", "B", "d1");
    w.token("tok-B2", "B", "d2");
    auto a = w.login("tok-A");
    auto b1 = w.login("tok-B1");
    auto b2 = w.login("tok-B2");
    w.send(*a, "{\"action\":\"message.chat\",\"to\":\"B\",\"data\":{\"cliMid\":\"c\"}}");
    assert_true(b1->link.buffers.back().get() == b2->link.buffers.back().get());
}

// Statistics and drain.
void test_stats_and_drain(void **) {
    World w;
    w.token("tok-A", "A", "d1");
    auto g = w.connect();
    auto a = w.login("tok-A");
    auto st = w.hub.stats();
    assert_int_equal(st.connections, 2);
    assert_int_equal(st.sessions_guest, 1);
    assert_int_equal(st.sessions_authenticated, 1);
    assert_int_equal(st.messages_in, 1);
    assert_int_equal(st.messages_out, 3); // 2 hello + notify.success
    assert_true(st.bytes_in > 0 && st.bytes_out > 0);
    w.hub.drain();
    assert_true(g->link.closed && a->link.closed);
    assert_int_equal(g->link.close_code, 1001);
    assert_int_equal(a->link.close_code, 1001);
    assert_true(w.hub.stats().draining);
    fakes::Client late;
    assert_null(w.hub.open(&late.link));
    assert_int_equal(late.link.close_code, 1001);
    w.close(*g);
    w.close(*a);
    st = w.hub.stats();
    assert_int_equal(st.connections, 0);
    assert_int_equal(st.connections_closed, 2);
    assert_int_equal(st.drops, 0);
}

} // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hello_first),
        cmocka_unit_test(test_identity_strings),
        cmocka_unit_test(test_decode_error_keeps_session),
        cmocka_unit_test(test_unknown_action_echoes_seq),
        cmocka_unit_test(test_guest_chat_unauthenticated),
        cmocka_unit_test(test_client_internal_forbidden),
        cmocka_unit_test(test_authenticate_success_and_failure_texts),
        cmocka_unit_test(test_async_auth_answered_later),
        cmocka_unit_test(test_auth_deadline_late_completion_ignored),
        cmocka_unit_test(test_heartbeat_idle_close_4000),
        cmocka_unit_test(test_heartbeat_client_keeps_alive),
        cmocka_unit_test(test_heartbeat_settings_from_auth),
        cmocka_unit_test(test_slow_consumer_closed_1008),
        cmocka_unit_test(test_both_codecs),
        cmocka_unit_test(test_encode_once_shared_buffer),
        cmocka_unit_test(test_stats_and_drain),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
