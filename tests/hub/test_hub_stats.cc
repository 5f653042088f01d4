// The hub's statistics for the admin API: frames by action (bounded labels), closes by code,
// the store latency histogram, and the session listing.
#include <string>
#include <vector>

#include "support/proto_fakes.h"
// cmocka last: its macros clash with the standard library's headers.
#include "glide_cmocka.h"

using namespace glide;
using fakes::World;
using Kind = port::HostRequest::Kind;

namespace {

void test_label_counts_are_bounded(void **) {
    LabelCounts c;
    for (int i = 0; i < 200; i++)
        c.add("label-" + std::to_string(i));
    c.add("label-0", 5);
    assert_int_equal(c.all().size(), LabelCounts::max_labels);
    assert_int_equal(c.get("label-0"), 6);
    // 63 labels kept, the other 137 counted under "other".
    assert_int_equal(c.get("other"), 200 - (LabelCounts::max_labels - 1));
}

// The counts stay right whatever the cache holds: labels that share a slot, labels counted
// under "other", copies (which count apart from the original).
void test_label_counts_cache(void **) {
    LabelCounts c;
    const size_t slot = LabelCounts::cache_slot("message.chat");
    std::string twin;
    for (int i = 0; twin.empty(); i++)
        if (std::string t = "x" + std::to_string(i); LabelCounts::cache_slot(t) == slot)
            twin = t;
    for (int i = 0; i < 10; i++) {
        c.add("message.chat");
        c.add(twin, 2);
    }
    assert_int_equal(c.get("message.chat"), 10);
    assert_int_equal(c.get(twin), 20);

    LabelCounts copy = c;
    copy.add("message.chat");
    c.add("message.chat", 5);
    assert_int_equal(copy.get("message.chat"), 11);
    assert_int_equal(c.get("message.chat"), 15);
    copy = c;
    c.add(twin);
    copy.add(twin, 3);
    assert_int_equal(c.get(twin), 21);
    assert_int_equal(copy.get(twin), 23);

    LabelCounts full;
    for (size_t i = 0; i + 1 < LabelCounts::max_labels; i++)
        full.add("label-" + std::to_string(i));
    full.add("late");
    full.add("late", 2);
    full.add("label-0");
    assert_int_equal(full.get("late"), 0);
    assert_int_equal(full.get("other"), 3);
    assert_int_equal(full.get("label-0"), 2);
}

// The protocol's action names (with "invalid" and "other") and the close codes each have a
// cache slot of their own, so the common frames never evict each other.
void test_label_cache_spread(void **) {
    std::vector<std::string_view> actions = {
        codec::action::hello,          codec::action::heartbeat,
        codec::action::notify_unknown_action, codec::action::chat,
        codec::action::chat_resend,    codec::action::group,
        codec::action::group_notify,   codec::action::client_custom,
        codec::action::authenticate,   codec::action::notify_error,
        codec::action::notify_success, codec::action::notify_kickout,
        codec::action::notify_forbidden, codec::action::notify_unauthenticated,
        codec::action::notify_state,   codec::action::ack_request,
        codec::action::ack_group_msg,  codec::action::ack_message,
        codec::action::ack_notify,     codec::action::ack_offline,
        codec::action::api_group_members, codec::action::api_state_sub,
        codec::action::internal_online, codec::action::internal_offline,
        "invalid",                     "other"};
    std::vector<std::string_view> codes = {"1000", "1001", "1002", "1003", "1006", "1007",
                                           "1008", "1009", "1011", "4000", "4001"};
    for (const auto *set : {&actions, &codes}) {
        std::vector<bool> used(LabelCounts::cache_size);
        for (std::string_view l : *set) {
            size_t i = LabelCounts::cache_slot(l);
            assert_true(i < used.size());
            assert_false(used[i]);
            used[i] = true;
        }
    }
}

void test_latency_buckets(void **) {
    Latency l;
    l.add(0, false);
    l.add(1, false);
    l.add(2, false);
    l.add(7, true);
    l.add(5000, false);
    l.add(5001, false);
    assert_int_equal(l.buckets[0], 2); // <= 1 ms
    assert_int_equal(l.buckets[1], 1); // <= 2 ms
    assert_int_equal(l.buckets[3], 1); // <= 10 ms
    assert_int_equal(l.buckets[10], 1); // <= 5000 ms
    assert_int_equal(l.buckets[Latency::n_buckets - 1], 1);
    assert_int_equal(l.count, 6);
    assert_int_equal(l.sum_ms, 10011);
    assert_int_equal(l.failures, 1);
}

void test_actions_and_closes(void **) {
    World w;
    w.token("tok-A", "alice", "phone");
    auto a = w.login("tok-A");
    w.send(*a, "{not json");
    w.send(*a, R"({"ver":1,"seq":2,"action":"no.such.action","data":null})");
    w.send(*a, R"({"ver":1,"seq":3,"action":"heartbeat","data":null})");
    Stats st = w.hub.stats();
    assert_int_equal(st.messages_in_by_action.get("authenticate"), 1);
    assert_int_equal(st.messages_in_by_action.get("invalid"), 1);
    assert_int_equal(st.messages_in_by_action.get("other"), 1);
    assert_int_equal(st.messages_in_by_action.get("no.such.action"), 0);
    assert_int_equal(st.messages_in_by_action.get("heartbeat"), 1);
    assert_int_equal(st.messages_out_by_action.get("hello"), 1);
    assert_int_equal(st.messages_out_by_action.get("notify.success"), 1);
    assert_int_equal(st.messages_out_by_action.get("notify.unknown.action"), 1);
    w.hub.count_close(4001);
    w.hub.count_close(4001);
    w.hub.count_close(1000);
    st = w.hub.stats();
    assert_int_equal(st.closes_by_code.get("4001"), 2);
    assert_int_equal(st.closes_by_code.get("1000"), 1);
}

void test_store_latency(void **) {
    World w;
    w.token("tok-A", "alice", "phone");
    w.store.set_delay(Kind::load_undelivered, 30);
    auto a = w.login("tok-A"); // the login's replay asks the store
    w.timers.advance(30);
    Stats st = w.hub.stats();
    assert_int_equal(st.store_latency.count, 1);
    assert_int_equal(st.store_latency.sum_ms, 30);
    assert_int_equal(st.store_latency.buckets[5], 1); // (25, 50] ms
    assert_int_equal(st.store_latency.failures, 0);
    // A store call that never answers is counted at its deadline, as a failure.
    w.store.set_delay(Kind::load_undelivered, fakes::World().store.hold);
    w.token("tok-A2", "alice", "laptop");
    auto b = w.login("tok-A2");
    w.timers.advance(static_cast<int64_t>(w.hub.conf().callback_timeout_ms));
    st = w.hub.stats();
    assert_int_equal(st.store_latency.count, 2);
    assert_int_equal(st.store_latency.failures, 1);
    assert_int_equal(st.store_latency.buckets[Latency::n_buckets - 2], 1); // <= 5 s
}

// Inside one transport event the hub's time is held (session::EventClock), but a host call
// that answers within that event is timed with the clock read at its answer.
void test_store_latency_inside_one_event(void **) {
    World w;
    w.token("tok-A", "alice", "phone");
    w.store.set_delay(Kind::load_undelivered, fakes::World().store.hold);
    {
        session::EventClock event(w.timers);
        auto a = w.login("tok-A");
        w.timers.advance(40);
        assert_int_equal(w.store.release_held(), 1);
        assert_int_equal(w.timers.now_ms(), w.timers.clock_ms());
    }
    Stats st = w.hub.stats();
    assert_int_equal(st.store_latency.count, 1);
    assert_int_equal(st.store_latency.sum_ms, 40);
}

void test_list_sessions(void **) {
    World w;
    w.token("tok-A1", "alice", "phone");
    w.token("tok-A2", "alice", "laptop");
    w.token("tok-B", "bob", "phone");
    auto a1 = w.login("tok-A1");
    auto a2 = w.login("tok-A2");
    auto b = w.login("tok-B");
    auto guest = w.connect();
    std::vector<std::string> seen;
    uint32_t n = w.hub.list_sessions("alice", [&](const hub::SessionInfo &s) {
        seen.push_back(cat(s.uid, "/", s.device_id, "/", s.device_name));
        assert_true(s.started_ms >= 1720000000000LL);
        return true;
    });
    assert_int_equal(n, 2);
    assert_string_equal(seen[0].c_str(), "alice/phone/name-phone");
    assert_string_equal(seen[1].c_str(), "alice/laptop/name-laptop");
    n = w.hub.list_sessions("", [](const hub::SessionInfo &) { return true; });
    assert_int_equal(n, 3); // guests are not listed
    n = w.hub.list_sessions("", [](const hub::SessionInfo &) { return false; });
    assert_int_equal(n, 1);
    assert_int_equal(w.hub.list_sessions("nobody", [](const hub::SessionInfo &) { return true; }),
                     0);
}

} // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_label_counts_are_bounded),
        cmocka_unit_test(test_label_counts_cache),
        cmocka_unit_test(test_label_cache_spread),
        cmocka_unit_test(test_latency_buckets),
        cmocka_unit_test(test_actions_and_closes),
        cmocka_unit_test(test_store_latency),
        cmocka_unit_test(test_store_latency_inside_one_event),
        cmocka_unit_test(test_list_sessions),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
