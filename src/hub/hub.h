// The hub: every session of one module instance and the routing between them. uid → devices →
// sessions; delivery to every device of a uid; kick-out of a repeated (uid, device); presence
// (the host's presence events and the state subscriptions); the control API (push, kick,
// session listing, statistics, drain).
//
// I/O-free: the transport opens and closes sessions through open/on_closed/reap and implements
// session::Link; time comes from a session::TimerService; presence goes to the host's HostPort.
// Frames are not the hub's: the transport glue hands them to dispatch (dispatch/dispatch.h),
// whose actions (actions/) use the hub to find and reach sessions.
//
// Decisions where design.md §5 is silent (also in glide.7); those of the actions are in
// actions/README.md:
//  - Host presence carries authenticated (uid, device) identities only; guests are not
//    reported. A kicked session reports offline before the newcomer reports online.
//  - The host may call the control API from inside presence (glide/host.h), and a send that
//    closes a slow consumer reports presence too: the hub reports only once its tables are
//    consistent and holds no reference into users_, a DeviceList or watchers_ across a report
//    or a send (it walks snapshots: for_each_device, notify_state, drain, list_sessions).
//  - notify.state is sent on every change (first device online, last device offline) of this
//    node to the sessions that subscribed (api.state.sub, actions/presence.h).
//  - hello.protocols lists the WebSocket subprotocols the module speaks ("glide.json",
//    "glide.protobuf").
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "codec/message.h"
#include "common/rate.h"
#include "common/stats.h"
#include "common/strings.h"
#include "port/cluster_port.h"
#include "port/host_port.h"
#include "session/session.h"

namespace glide::hub {

// uid-keyed tables, looked up by string_view (common/strings.h).
template <typename V> using StringMap = glide::StringMap<V>;
using glide::StringHash;

// The sessions of one uid, in login order. Most users have one device: that one is held inline,
// so an online user costs its users_ node and no separate allocation; more go to a heap array.
// A small subset of std::vector's interface, what the hub needs, and the uid's message bucket.
class DeviceList {
public:
    using Session = session::Session;
    DeviceList() = default;
    ~DeviceList() {
        if (cap_ > 1)
            delete[] many_;
    }
    DeviceList(const DeviceList &) = delete;
    DeviceList &operator=(const DeviceList &) = delete;

    Session *const *begin() const { return data(); }
    Session *const *end() const { return data() + size_; }
    size_t size() const { return size_; }
    bool empty() const { return size_ == 0; }
    Session *operator[](size_t i) const { return data()[i]; }
    void push_back(Session *s);
    // Removes the element at `pos` (from begin()..end()), keeping the order of the others.
    void erase(Session *const *pos);

    // The uid's message bucket on this node (glide_limit_user_message_rate): it lives as long
    // as the uid has a session here.
    TokenBucket messages;

private:
    Session **data() { return cap_ > 1 ? many_ : &one_; }
    Session *const *data() const { return cap_ > 1 ? many_ : &one_; }

    union {
        Session *one_ = nullptr; // cap_ == 1
        Session **many_;         // cap_ > 1
    };
    uint32_t size_ = 0;
    uint32_t cap_ = 1;
};

// Limits on what clients send (glide_limit_*): a RateLimit of count 0, or a 0, is off. The
// dispatcher applies the message rates, the auth action the failure limits (their texts and
// answers: dispatch/dispatch.h, actions/auth.h).
struct Limits {
    RateLimit message_rate;              // glide_limit_message_rate: per connection
    RateLimit user_message_rate;         // glide_limit_user_message_rate: per uid on this node
    uint64_t message_rate_close_ms;      // glide_limit_message_rate_close
    uint32_t auth_failures;              // glide_limit_auth_failures: per connection
    RateLimit auth_failures_per_address; // glide_limit_auth_failures_per_address (per minute)
};

// What the hub and the actions run with. The directive-backed values have no defaults here:
// the module sets them from its directives (module/directives.cc, the one source of the
// defaults); tests set them explicitly.
struct HubConfig {
    std::string node_id;            // glide_node_id
    std::string server_version;     // hello's server_version: "glide/<version>"
    uint64_t heartbeat_interval_ms; // glide_heartbeat_interval
    uint32_t heartbeat_lost;        // glide_heartbeat_lost
    uint64_t send_buffer_limit;     // glide_send_buffer_limit
    uint64_t callback_timeout_ms;   // glide_callback_timeout
    Limits limits;                  // glide_limit_*
    uint32_t replay_page = 64;      // messages per load_undelivered call (no directive)
};

// One authenticated session, for the control API's listing.
struct SessionInfo {
    uint64_t id;
    std::string_view uid, device_id, device_name;
    std::string peer;
    codec::Codec codec;
    int64_t started_ms;
    size_t queued;
};

class Hub final : public session::SessionOwner {
public:
    // `stats` is the instance's one counter set (common/stats.h); the hub counts its part.
    Hub(port::HostPort *host, session::TimerService *timers, HubConfig conf, Stats *stats);
    ~Hub() override;
    Hub(const Hub &) = delete;
    Hub &operator=(const Hub &) = delete;

    // -- the transport's edge --

    // A connection is ready: creates its session and sends hello. The session is borrowed and
    // valid until reap() after on_closed(). While draining: closes the link (1001), null.
    session::Session *open(session::Link *link);
    // The connection is gone; the hub never touches the link again.
    void on_closed(session::Session *s);
    // Frees sessions that ended. Scheduled on the timer service too; the loop may call it.
    void reap();

    // -- control API --

    // Sends an envelope to every device of uid, through the cluster bus to those on other
    // nodes too; returns the sessions reached on this node.
    uint32_t push(std::string_view uid, const codec::Envelope &e);
    // notify.kickout then close 4001 for uid's sessions (device empty: all devices), on other
    // nodes too; returns the sessions kicked on this node.
    uint32_t kick(std::string_view uid, std::string_view device_id);
    // kick() for this node's sessions only (the bus's input).
    uint32_t kick_here(std::string_view uid, std::string_view device_id);
    // (uid, device) logged in on another node: its session here gets notify.kickout (with the
    // newcomer's device name) and close 4001 (design.md §5.4 across nodes).
    void kicked_out(std::string_view uid, std::string_view device_id,
                    std::string_view device_name);
    // The counter set with the session gauges filled in.
    Stats stats() const;
    // Calls fn(const SessionInfo &) for each authenticated session of uid, or of every uid when
    // uid is empty; fn returns false to stop. Returns the sessions visited. fn may call back
    // into the hub (kick, push): it walks a snapshot and skips the sessions fn closed.
    uint32_t list_sessions(std::string_view uid,
                           const std::function<bool(const SessionInfo &)> &fn) const;
    // A session's connection ended with `code` (statistics).
    void count_close(uint16_t code);
    // Every session gets close 1001; new connections are refused.
    void drain();

    // -- used by the actions (actions/) --

    const HubConfig &conf() const { return conf_; }
    // A reload: new values apply to sessions opened and requests issued from now on.
    void set_conf(HubConfig c) { conf_ = std::move(c); }
    port::HostPort *host() const { return host_; }
    session::TimerService *timers() const { return timers_; }
    // An open session by id, or null (gone, closing).
    session::Session *find(uint64_t id) const;
    // The authenticated sessions of uid (empty when offline).
    const DeviceList &devices(std::string_view uid) const;
    // uid's message bucket (DeviceList::messages); null when uid has no session here.
    TokenBucket *user_bucket(std::string_view uid) {
        auto it = users_.find(uid);
        return it == users_.end() ? nullptr : &it->second.messages;
    }
    // Calls fn(Session &) for each authenticated session of uid. Safe when fn closes sessions
    // (a slow consumer; its presence report lets the host kick more), which edits the list: it
    // walks a snapshot, on the stack for the usual handful of devices. Sessions are freed only
    // by reap(), so the snapshot stays valid; fn skips or survives the ones closed meanwhile.
    template <typename F> void for_each_device(std::string_view uid, F &&fn) const;

    // Registers an accepted login as (r.uid, r.device_id): a second login of the same
    // (uid, device) kicks the first (design.md §5.4); presence and state subscribers are told.
    void register_identity(session::Session &s, const port::AuthResult &r);
    // Whether uid has a device online on this node.
    bool online(std::string_view uid) const { return users_.find(uid) != users_.end(); }
    // s watches uid's state from now on (notify.state on each change) until it closes.
    void watch(session::Session &s, const std::string &uid);
    // uid came online or went offline cluster-wide (the bus's state channel): its watchers
    // here get notify.state.
    void state_changed(std::string_view uid, bool online) { notify_state(uid, online); }

    // The cluster bus (null: this node alone). Set once, before sessions open; it outlives
    // the hub's sessions.
    void set_cluster(port::ClusterPort *c) { cluster_ = c; }
    port::ClusterPort *cluster() const { return cluster_; }

    void log(glide_log_level level, std::string_view msg) const { host_->log(level, msg); }

    // SessionOwner
    void session_closing(session::Session &s) override;
    void session_sent(session::Session &s, std::string_view action, size_t bytes) override;

private:
    void unregister_identity(session::Session &s);
    session::Session *take_device(std::string_view uid, std::string_view device_id,
                                  const session::Session &s);
    void notify_state(std::string_view uid, bool online);
    // A change of this node's users: told to the watchers here, unless the bus tells every
    // node's watchers (its state channel) of the cluster-wide change instead.
    void local_state(std::string_view uid, bool online) {
        if (!cluster_ || !cluster_->connected())
            notify_state(uid, online);
    }
    void schedule_reap();

    port::HostPort *host_;
    port::ClusterPort *cluster_ = nullptr;
    session::TimerService *timers_;
    HubConfig conf_;
    Stats *stats_;
    uint64_t next_session_id_ = 1;
    std::unordered_map<uint64_t, std::unique_ptr<session::Session>> sessions_;
    std::vector<uint64_t> dead_; // closed sessions waiting for reap()
    session::TimerService::Handle reap_timer_ = 0;
    StringMap<DeviceList> users_;
    StringMap<std::vector<uint64_t>> watchers_; // watched uid → sessions
    session::SessionEnv session_env_; // after conf_: made from it
};

template <typename F> void Hub::for_each_device(std::string_view uid, F &&fn) const {
    const auto &v = devices(uid);
    size_t n = v.size();
    if (n == 0)
        return;
    session::Session *small[8];
    std::vector<session::Session *> big;
    session::Session **snap = small;
    if (n > 8) {
        big.assign(v.begin(), v.end());
        snap = big.data();
    } else {
        std::copy(v.begin(), v.end(), small);
    }
    for (size_t i = 0; i < n; i++)
        fn(*snap[i]);
}

// A temporary id: "tmp@" and a random (version 4) UUID.
session::TempId make_temp_id();

} // namespace glide::hub
