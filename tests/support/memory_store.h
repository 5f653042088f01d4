// The tests' fake host: an in-memory store implementing every HostPort call for the module's
// tests, the MemoryBackend of glided (host/store/memory_backend.h, its `store memory;`) behind
// test knobs. Not part of any program: the tests' link compiles tests/support/*.cc.
//
//  - auth verifies glide credentials (protocol.md §6.4) with the configured secret and the
//    25-minute expiry on the wall clock; tests may also register plain tokens.
//  - mids are unique and increasing from 1 (far below 2^53); (from, cliMid) is idempotent.
//  - Every stored one-to-one message waits in its receiver's undelivered set until a receipt
//    (mark_delivered) from any device of the receiver; load_undelivered pages through it.
//  - Groups have members and a persistent per-group sequence starting at 1, taken in call
//    order (a delay postpones only the completion), and a delivery cursor per member: pages
//    carry the group messages a member was not sent, group receipts move the cursors.
//  - Test knobs per call kind: a delay (0 completes before returning), `hold` (completions
//    wait for release_held()), and injected failures.
//
// Nothing is persisted: a restart forgets everything.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "port/host_port.h"
#include "session/timer.h"
#include "host/store/memory_backend.h"

namespace glide::store {

class MemoryStore final : public port::HostPort {
public:
    using Kind = port::HostRequest::Kind;
    static constexpr uint64_t hold = UINT64_MAX; // a delay: complete on release_held()

    MemoryStore(session::TimerService *timers, std::string credential_secret);
    ~MemoryStore() override;

    // -- configuration --
    void add_token(std::string token, port::AuthResult identity);
    void set_delay(Kind k, uint64_t ms) { delay_[idx(k)] = ms; }
    // The next `times` calls of kind k fail with status and error (for auth: a refusal).
    void fail_next(Kind k, int status, std::string error, int times = 1);
    // Runs the completions held back by the `hold` delay, oldest first; returns how many.
    size_t release_held();
    size_t held() const { return held_.size(); }

    // -- groups (add_member creates a missing group) --
    void create_group(const std::string &gid);
    void add_member(const std::string &gid, const std::string &uid);
    void remove_member(const std::string &gid, const std::string &uid);

    // -- inspection --
    MemoryBackend &backend() { return backend_; }
    size_t stored() const { return backend_.stored(); }
    const Message *message(int64_t mid) const { return backend_.message(mid); }
    std::vector<int64_t> undelivered(const std::string &uid) const {
        return backend_.undelivered(uid);
    }
    uint64_t calls(Kind k) const { return calls_[idx(k)]; }
    struct PresenceEvent {
        std::string uid, device_id, node_id;
        bool online;
    };
    const std::vector<PresenceEvent> &presence_events() const { return presence_; }
    std::vector<std::string> &log_lines() { return log_; }

    // -- HostPort --
    int auth(const port::RequestPtr &req, const port::AuthInput &in) override;
    int store_message(const port::RequestPtr &req, const codec::ChatMessage &msg) override;
    int mark_delivered(const port::RequestPtr &req, std::string_view uid, std::string_view device_id,
                       int64_t mid) override;
    int group_delivered(const port::RequestPtr &req, std::string_view uid,
                        std::string_view device_id, int64_t first_mid, int64_t mid) override;
    bool group_receipts() const override { return true; }
    int load_undelivered(const port::RequestPtr &req, std::string_view uid,
                         std::string_view device_id, int64_t after_mid, uint32_t limit) override;
    int group_publish(const port::RequestPtr &req, const codec::ChatMessage &msg) override;
    int group_members(const port::RequestPtr &req, std::string_view gid) override;
    void presence(std::string_view uid, std::string_view device_id, std::string_view node_id,
                  bool online) override;
    void log(glide_log_level level, std::string_view msg) override;

private:
    static constexpr size_t nkinds = 6;
    static size_t idx(Kind k) { return static_cast<size_t>(k); }
    // Runs `op` now, later, or on release, or the injected failure instead.
    int complete(Kind k, const port::RequestPtr &req, std::function<void()> op);
    void fail(Kind k, const port::RequestPtr &req, int status, const std::string &error);
    port::AuthResult verify(const std::string &credential) const;
    static void ignore(Outcome) {}

    struct Failure {
        int status;
        std::string error;
        int times;
    };

    session::TimerService *timers_;
    std::string secret_;
    std::unordered_map<std::string, port::AuthResult> tokens_;
    uint64_t delay_[nkinds] = {};
    uint64_t calls_[nkinds] = {};
    std::deque<Failure> failures_[nkinds];
    std::deque<std::function<void()>> held_;
    std::unordered_set<session::TimerService::Handle> timers_pending_;

    MemoryBackend backend_;
    std::vector<PresenceEvent> presence_;
    std::vector<std::string> log_;
};

} // namespace glide::store
