// The hub: every session of one module instance, routing between them, and the asynchronous
// host calls. uid → devices → sessions; delivery to every device of a receiver with a copy to
// the sender's other devices; kick-out of a repeated (uid, device); group fan-out in sequence
// order; presence subscriptions; the control API (push, kick, group invalidate, statistics,
// drain).
//
// I/O-free: the transport drives it through open/on_frame/on_drained/on_closed and implements
// session::Link; time comes from a session::TimerService; the host from a HostPort.
//
// Decisions where design.md §5 is silent (also in glide.7):
//  - Host presence carries authenticated (uid, device) identities only; guests are not
//    reported. A kicked session reports offline before the newcomer reports online.
//  - notify.state: api.state.sub answers at once with the current state of each uid, then on
//    every change (first device online, last device offline) of this node.
//  - A message.chat whose (from, cliMid) the store reports as a duplicate is acknowledged
//    again with the first mid and not delivered again (it was delivered, or waits in the
//    store for the receiver's next login).
//  - Delivery is settled per receiver uid: a receipt from any of its devices marks the
//    message delivered (mark_delivered carries the device for the host's records).
//  - Offline replay at login and live delivery may overlap, so a message can arrive twice;
//    clients deduplicate on mid (at-least-once, design.md §5.7).
//  - Group messages: data.from is forced to the sender (glide keeps the client's value), the
//    envelope keeps the request seq and extra as glide does, the ticket is not forwarded.
//  - hello.protocols lists the WebSocket subprotocols the module speaks ("glide.json",
//    "glide.protobuf").
//  - Deadlines: auth → notify.error "authentication timed out"; store → notify.error "message
//    store timed out" with the request seq; a host call that fails at once answers the same way
//    with "message store failed".
#pragma once

#include <algorithm>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "codec/json.h"
#include "codec/message.h"
#include "hub/host_port.h"
#include "session/session.h"

namespace glide::hub {

// Lookups by string_view without building a std::string (C++20 heterogeneous lookup).
struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const noexcept {
        return std::hash<std::string_view>{}(s);
    }
};
template <typename V>
using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;

// The sessions of one uid, in login order. Most users have one device: that one is held inline,
// so an online user costs its users_ node and no separate allocation; more go to a heap array.
// A small subset of std::vector's interface, what the hub needs.
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

struct HubConfig {
    std::string node_id = "node1";
    std::string server_version = "glide";
    uint64_t heartbeat_interval_ms = 30000;
    uint32_t heartbeat_lost = 3;
    uint64_t send_buffer_limit = 1 << 20;
    uint64_t callback_timeout_ms = 5000;
    uint32_t replay_page = 64; // messages per load_undelivered call
};

// Counts by a label (an action name, a close code). At most max_labels distinct labels: later
// ones count under "other", so what clients send cannot grow it without bound.
//
// add() runs for every frame: a small cache indexed by a few of the label's bytes remembers
// where a label's count is, so a label seen before costs one comparison instead of a walk down
// the map (the protocol's action names and close codes each get a slot of their own).
class LabelCounts {
public:
    static constexpr size_t max_labels = 64;
    LabelCounts() = default;
    // A copy counts apart: it gets the counts, not the cache (which points into the map).
    LabelCounts(const LabelCounts &o) : m_(o.m_) {}
    LabelCounts &operator=(const LabelCounts &o);
    void add(std::string_view label, uint64_t n = 1);
    uint64_t get(std::string_view label) const;
    const std::map<std::string, uint64_t, std::less<>> &all() const { return m_; }
    // The cache slot of a label (exposed for the test of the spread).
    static size_t cache_slot(std::string_view label);
    static constexpr size_t cache_size = 64;

private:
    struct Cached {
        std::string_view label; // a key of m_ (map nodes stay put)
        uint64_t *count = nullptr;
    };
    std::map<std::string, uint64_t, std::less<>> m_;
    Cached cache_[cache_size];
};

// Latency of the host's store calls (every kind but auth), completion or deadline included.
// Bucket i counts calls that took at most bounds_ms[i] (and more than the bound before it);
// the last bucket counts the rest. Bounds match GLIDE_STATS_LATENCY_BOUNDS_MS (glide/module.h).
struct Latency {
    static constexpr uint64_t bounds_ms[] = {1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 5000};
    static constexpr size_t n_buckets = std::size(bounds_ms) + 1;
    uint64_t buckets[n_buckets] = {};
    uint64_t count = 0;
    uint64_t sum_ms = 0;
    uint64_t failures = 0; // failed or timed out
    void add(uint64_t ms, bool failed);
};

struct Stats {
    uint64_t connections = 0; // open now (guest + authenticated + closing)
    uint64_t connections_accepted = 0;
    uint64_t connections_closed = 0;
    uint64_t sessions_guest = 0;
    uint64_t sessions_authenticated = 0;
    uint64_t sessions_closing = 0;
    uint64_t messages_in = 0;
    uint64_t messages_out = 0;
    uint64_t bytes_in = 0;
    uint64_t bytes_out = 0;
    uint64_t drops = 0; // by design never incremented: the module closes instead of dropping
    bool draining = false;
    // Decoded inbound frames by action (actions the module does not know: "other"; frames
    // that do not decode: "invalid"); outbound frames by action.
    LabelCounts messages_in_by_action;
    LabelCounts messages_out_by_action;
    LabelCounts closes_by_code; // sessions ended, by close code ("1000", "4001", ...)
    Latency store_latency;
};

// One authenticated session, for the control API's listing.
struct SessionInfo {
    uint64_t id;
    const std::string *uid, *device_id, *device_name;
    std::string_view peer;
    codec::Codec codec;
    int64_t started_ms;
    size_t queued;
};

class Hub final : public session::SessionOwner {
public:
    Hub(HostPort *host, session::TimerService *timers, HubConfig conf);
    ~Hub() override;
    Hub(const Hub &) = delete;
    Hub &operator=(const Hub &) = delete;

    // -- the transport's edge --

    // A connection is ready: creates its session and sends hello. The session is borrowed and
    // valid until reap() after on_closed(). While draining: closes the link (1001), null.
    session::Session *open(session::Link *link);
    // One decoded frame's payload from the link.
    void on_frame(session::Session *s, std::string_view bytes);
    // The link's output buffer emptied (resumes a paced replay).
    void on_drained(session::Session *s);
    // The connection is gone; the hub never touches the link again.
    void on_closed(session::Session *s);
    // Frees sessions that ended. Scheduled on the timer service too; the loop may call it.
    void reap();

    // -- control API --

    // Sends an envelope to every device of uid; returns the sessions reached.
    uint32_t push(std::string_view uid, const codec::Envelope &e);
    // notify.kickout then close 4001 for uid's sessions (device empty: all devices).
    uint32_t kick(std::string_view uid, std::string_view device_id);
    // Forgets the cached membership of gid.
    void group_invalidate(std::string_view gid);
    Stats stats() const;
    // Calls fn(const SessionInfo &) for each authenticated session of uid, or of every uid when
    // uid is empty; fn returns false to stop. Returns the sessions visited.
    uint32_t list_sessions(std::string_view uid,
                           const std::function<bool(const SessionInfo &)> &fn) const;
    // A session's connection ended with `code` (statistics).
    void count_close(uint16_t code);
    // Every session gets close 1001; new connections are refused.
    void drain();

    // -- used by the action handlers (dispatch/) --

    const HubConfig &conf() const { return conf_; }
    // A reload: new values apply to sessions opened and requests issued from now on.
    void set_conf(HubConfig c) { conf_ = std::move(c); }
    HostPort *host() const { return host_; }
    session::TimerService *timers() const { return timers_; }
    // An open session by id, or null (gone, closing).
    session::Session *find(uint64_t id) const;
    // The authenticated sessions of uid (empty when offline).
    const DeviceList &devices(std::string_view uid) const;
    // Calls fn(Session &) for each authenticated session of uid. Safe when fn closes sessions
    // (a slow consumer), which edits the list: it walks a snapshot, on the stack for the usual
    // handful of devices. Sessions are freed only by reap(), so the snapshot stays valid.
    template <typename F> void for_each_device(std::string_view uid, F &&fn) const;

    // Issues a host call with a deadline. `invoke(const RequestPtr &)` performs the HostPort
    // call (it may fill the request's context fields first) and returns its result.
    template <typename Invoke>
    RequestPtr call(HostRequest::Kind kind, HostRequest::Continuation k, Invoke &&invoke) {
        RequestPtr req = begin_request(kind, std::move(k));
        int rc = invoke(req);
        if (rc < 0 && !req->finished())
            req->finish(rc, {}, false);
        else if (!req->finished())
            timers_->refresh_now(); // the host may have taken a while (finish() reads it too)
        return req;
    }

    // authenticate: pauses reading, asks the host, answers and registers.
    void authenticate(session::Session &s, int64_t seq, const codec::EncryptedCredential &c);
    // message.chat after the ticket check and normalisation (from, to set; mid 0).
    void chat(session::Session &s, int64_t seq, codec::ChatMessage &&msg);
    // Delivers a stored chat message to the receiver's devices and a copy to the sender's other
    // devices (sender null: no copy exclusion). Returns the receiver sessions reached. The
    // message's buffers are then kept for take_message().
    uint32_t deliver_chat(codec::ChatMessage &&msg, const session::Session *sender);
    // An empty ChatMessage to decode an inbound chat into, with the string buffers of the last
    // one delivered (a chat then travels decode → store request → delivery without allocating).
    codec::ChatMessage take_message() {
        codec::ChatMessage m = std::move(spare_message_);
        codec::clear_keeping_buffers(m);
        return m;
    }
    // The data of the frame being dispatched when it was decoded with its envelope e (see
    // codec::PreDecoded): swapped into *out, which is left with out's old buffers. False when
    // there is none of type T for e: the handler decodes the data itself.
    template <typename T> bool take_pre_decoded(const codec::Envelope &e, T *out) {
        return pre_decoded_for_ == &e && codec::take_pre_decoded(&pre_decoded_, out);
    }
    // message.group after the ticket check and normalisation.
    void group(session::Session &s, const codec::Envelope &req, codec::ChatMessage msg);
    // Frames queued while an auth is pending, at most (then close 1008).
    static constexpr size_t max_deferred = 256;
    // api.state.sub; a session watches at most max_watch uids (then notify.error "too many
    // state subscriptions"), which bounds what a client can make the hub remember.
    static constexpr size_t max_watch = 1024;
    void subscribe_state(session::Session &s, const std::vector<std::string> &uids);
    // ack.request: ack.notify to the original sender and mark_delivered.
    void ack_request(session::Session &s, const codec::AckRequest &ack);

    void log(glide_log_level level, std::string_view msg) const { host_->log(level, msg); }

    // SessionOwner
    void session_closing(session::Session &s) override;
    void session_sent(session::Session &s, std::string_view action, size_t bytes) override;

private:
    friend class HostRequest;
    RequestPtr begin_request(HostRequest::Kind kind, HostRequest::Continuation k);
    void request_finished(HostRequest &r);
    void unlink_pending(HostRequest &r);
    void arm_deadline();
    void expire_requests();

    void register_identity(session::Session &s, std::string uid, const AuthResult &r);
    void unregister_identity(session::Session &s);
    void notify_state(const std::string &uid, bool online);
    void process_deferred(uint64_t sid);
    void schedule_reap();

    void replay_next(session::Session &s);
    void replay_page(uint64_t sid, HostRequest &r);

    struct Publish {
        uint64_t sid;
        bool done = false;
        bool ok = false;
        codec::Envelope env; // the delivery envelope, data filled at completion
    };
    struct Group {
        enum class Members : uint8_t { unknown, loading, ready } members = Members::unknown;
        std::vector<std::string> uids;
        std::deque<std::unique_ptr<Publish>> fifo; // in call order, which is seq order
    };
    void pump_group(const std::string &gid);
    void load_members(const std::string &gid);

    HostPort *host_;
    session::TimerService *timers_;
    HubConfig conf_;
    Stats stats_;
    uint64_t next_session_id_ = 1;
    std::unordered_map<uint64_t, std::unique_ptr<session::Session>> sessions_;
    std::vector<uint64_t> dead_; // closed sessions waiting for reap()
    session::TimerService::Handle reap_timer_ = 0;
    StringMap<DeviceList> users_;
    StringMap<std::vector<uint64_t>> watchers_; // watched uid → sessions
    StringMap<Group> groups_;
    // The buffer the next inbound frame's raw data is copied into (on_frame), up to this size.
    static constexpr size_t max_raw_spare = 64 * 1024;
    std::string raw_spare_;
    codec::ChatMessage spare_message_; // see take_message()
    // The data on_frame decoded with the envelope it is dispatching (pre_decoded_for_; null
    // outside a dispatch), see take_pre_decoded().
    codec::PreDecoded pre_decoded_;
    const codec::Envelope *pre_decoded_for_ = nullptr;
    // Pending host requests, ordered by deadline (all share glide_callback_timeout, so a new
    // one goes at the tail; a reload that shortens the timeout inserts further up). One timer,
    // for the head's deadline, serves them all: a request costs no timer operation.
    HostRequest *pending_head_ = nullptr;
    HostRequest *pending_tail_ = nullptr;
    session::TimerService::Handle deadline_timer_ = 0;
    int64_t deadline_timer_at_ = 0;
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

// A temporary id: "tmp@" and a random (version 4) UUID, lower-case.
std::string make_temp_id();

} // namespace glide::hub
