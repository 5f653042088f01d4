// The action table (design.md §5.2, §5.5): which actions exist, which need authentication,
// and that each entry's payload kind is the codecs' (codec/payload.h).
#include <set>
#include <string>

#include "dispatch/dispatch.h"
#include "support/proto_fakes.h"

#include "glide_cmocka.h"

using namespace glide;

namespace {

void test_table_matches_design(void **) {
    std::set<std::string> open = {"hello", "heartbeat", "authenticate"};
    std::set<std::string> authed = {"message.chat", "message.chat.resend", "message.group",
                                    "message.cli",  "ack.request",         "ack.group.msg",
                                    "ack.offline",  "api.state.sub"};
    size_t n = 0;
    for (const auto &a : dispatch::action_table()) {
        std::string name(a.name);
        if (a.needs_auth)
            assert_true(authed.count(name) == 1);
        else
            assert_true(open.count(name) == 1);
        assert_int_equal(static_cast<int>(a.payload),
                         static_cast<int>(codec::payload_kind(a.name)));
        assert_true(dispatch::find_action(a.name) == &a);
        assert_false(codec::action::is_internal(a.name));
        n++;
    }
    assert_int_equal(n, open.size() + authed.size());
    assert_null(dispatch::find_action("notify.success")); // server-only actions
    assert_null(dispatch::find_action("internal.online"));
    assert_null(dispatch::find_action(""));
}

// Frames that arrive while auth is pending are bounded.
void test_deferred_frames_bounded(void **) {
    fakes::World w;
    w.token("tok-A", "A", "d1");
    w.store.set_delay(store::MemoryStore::Kind::auth, store::MemoryStore::hold);
    auto a = w.connect();
    w.send(*a, "{\"seq\":1,\"action\":\"authenticate\",\"data\":{\"version\":1,\"credential\":"
               "\"tok-A\"}}");
    for (size_t i = 0; i < session::Session::max_deferred; i++)
        w.send(*a, "{\"action\":\"heartbeat\"}");
    assert_false(a->link.closed);
    w.send(*a, "{\"action\":\"heartbeat\"}");
    assert_true(a->link.closed);
    assert_int_equal(a->link.close_code, 1008);
    assert_int_equal(w.store.release_held(), 1);
    assert_false(a->s->authenticated());
}

} // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_matches_design),
        cmocka_unit_test(test_deferred_frames_bounded),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
