// One client connection's protocol state: guest → authenticated → closing → closed.
//
// The session owns the per-connection rules that need no knowledge of other sessions:
// heartbeats, the slow-consumer limit, pausing reads while auth is pending (and the frames
// parsed meanwhile), the paced offline replay's cursor, and the connection's state for the
// limits (its message bucket, its refusals, its failed authentications). Routing between sessions is the hub's
// job (hub/hub.h); what an action does, actions/'s.
//
// Lifetime: the hub owns sessions. A session is never freed inside one of its own callbacks:
// close() only marks it closing and tells the link; the hub frees it in reap() after the
// transport reported the end (Hub::on_closed).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "codec/credential.h"
#include "common/rate.h"
#include "session/link.h"
#include "session/outbound.h"
#include "session/timer.h"

namespace glide::session {

enum class State : uint8_t {
    guest,         // connected, not authenticated
    authenticated, // (uid, device) registered in the hub
    closing,       // close() called: no more input handled, no more output accepted
    closed,        // the transport reported the end; waiting for reap()
};

const char *state_name(State s);

// From the directives (module/directives.cc, through hub::HubConfig): no defaults here.
struct SessionConfig {
    uint64_t heartbeat_interval_ms; // glide_heartbeat_interval
    uint32_t heartbeat_lost;        // glide_heartbeat_lost
    uint64_t send_buffer_limit;     // glide_send_buffer_limit
};

class Session;

// What a session tells its owner (the hub).
class SessionOwner {
public:
    virtual ~SessionOwner() = default;
    // The session entered `closing` (by the server's decision or the peer's). Called once.
    virtual void session_closing(Session &s) = 0;
    // A frame of `action` was written (statistics).
    virtual void session_sent(Session &s, std::string_view action, size_t bytes) = 0;
};

// What every session of one owner shares (the hub holds it; it outlives the sessions). A
// session holds one pointer to it instead of a copy of each: ten thousands of idle sessions
// are the common case, so a session's size is the broker's memory.
struct SessionEnv {
    TimerService *timers;
    SessionOwner *owner;
    SessionConfig conf;
};

// A guest's temporary id, "tmp@" and a random (version 4) UUID (hub::make_temp_id): held as
// the UUID's 16 bytes, its text made when asked for.
struct TempId {
    uint8_t bytes[16];
    std::string text() const;
};

// How a send counts against the slow-consumer limit.
enum class SendClass : uint8_t {
    live,   // normal traffic: over glide_send_buffer_limit closes the session (1008)
    replay, // offline replay: paced by the hub, never a reason to close (design.md §5.7)
};

class Session {
public:
    // `env` must outlive the session.
    Session(uint64_t id, Link *link, const SessionEnv *env, TempId temp_id);
    ~Session();
    Session(const Session &) = delete;
    Session &operator=(const Session &) = delete;

    uint64_t id() const { return id_; }
    State state() const { return state_; }
    bool authenticated() const { return state_ == State::authenticated; }
    bool open() const { return state_ == State::guest || state_ == State::authenticated; }
    Link *link() const { return link_; }
    codec::Codec codec() const { return codec_; }

    // "tmp@" and the UUID.
    std::string temp_id() const { return temp_id_.text(); }
    // Empty until set_identity().
    std::string_view uid() const { return ident_.get(kUid); }
    std::string_view device_id() const { return ident_.get(kDeviceId); }
    std::string_view device_name() const { return ident_.get(kDeviceName); }
    // The credential's message_deliver_secret (the only secret a session uses).
    std::string_view deliver_secret() const { return ident_.get(kDeliverSecret); }
    // Tickets are checked when the credential carried a message_deliver_secret (§5.6).
    bool checks_tickets() const { return !deliver_secret().empty(); }
    // From the client's hello.
    std::string_view client_version() const { return ident_.get(kClientVersion); }
    void set_client_version(std::string_view v) { ident_.set(kClientVersion, v); }

    // Starts the heartbeat timer; the hub sends hello right after.
    void start();

    // Becomes authenticated as (uid, device). heartbeat_* of 0 keep the current settings.
    void set_identity(std::string_view uid, std::string_view device_id,
                      std::string_view device_name, std::string_view deliver_secret,
                      uint64_t heartbeat_interval_ms, uint32_t heartbeat_lost);

    // A frame decoded: the peer is alive (glide resets its silence timer only on valid frames).
    void touch_read();

    // Queues a message in this session's codec. Returns false when the session is not open or
    // the send closed it (slow consumer). Never frees the session.
    bool send(Outbound &out, SendClass cls = SendClass::live);
    // Same, for a message meant for this session only.
    bool send(codec::Envelope e, SendClass cls = SendClass::live);

    // Begins the close: a close frame with `code` and `reason`; idempotent.
    void close(uint16_t code, std::string_view reason);
    // The transport reported the end (after close() or by the peer).
    void mark_closed();

    // -- authentication in flight: reading is paused, frames already parsed are queued --
    bool auth_pending() const { return auth_pending_; }
    void set_auth_pending(bool pending);
    // Frames queued while an auth is pending, at most (then close 1008).
    static constexpr size_t max_deferred = 256;
    // Queues a frame that arrived while auth is pending. A transport honours the pause within
    // one read, so a long queue means it does not: past max_deferred the session is closed
    // (1008 "too many frames during auth") and false returned.
    bool defer(std::string_view frame);
    bool has_deferred() const { return cold_ && !cold_->deferred.empty(); }
    // Moves the oldest deferred frame to *out; false when there is none or auth is pending.
    bool take_deferred(std::string *out);

    // -- offline replay, paced by the send buffer (design.md §5.7) --
    // Starts a replay for this login, from the beginning.
    void replay_begin() { cold().replay = Replay{true}; }
    // A replay runs (it ends with a page shorter than a full one).
    bool replaying() const { return cold_ && cold_->replay.active; }
    // Claims the next page load: true (and loading) when a replay runs and no load is in
    // flight; the page starts after replay_cursor().
    bool replay_load();
    int64_t replay_cursor() const { return cold_ ? cold_->replay.cursor : 0; }
    // The page load answered: loading ends; `more` false ends the replay too. The failures in
    // a row before it are forgotten.
    void replay_loaded(bool more);
    // The page load failed (a store fault): the replay stays, and stays loading, so that only
    // its retry loads again. Returns the failures in a row, this one included.
    uint32_t replay_failed() { return ++cold().replay.failures; }
    uint32_t replay_failures() const { return cold_ ? cold_->replay.failures : 0; }
    // Sends one replayed message unless its mid is not past the cursor. False: stop sending
    // this page (the session closed, or the buffer passed its soft mark and the replay now
    // waits for drained()).
    bool replay_send(codec::ChatMessage &&m);
    // The same for a replayed envelope `e` (a message.group) whose message has `mid`; *sent
    // tells whether it went out.
    bool replay_send(codec::Envelope &&e, int64_t mid, bool *sent);
    // A replayed message not sent (the connection had it): the replay goes on after its mid.
    void replay_skip(int64_t mid) {
        if (mid > cold().replay.cursor)
            cold_->replay.cursor = mid;
    }
    // A send was answered above_soft: the transport owes a drained report; optional traffic
    // (the replay) waits for it.
    bool backpressured() const { return backpressured_; }
    // The transport's output buffer drained (below its soft mark). True when a replay was
    // waiting for it and should load its next page now.
    bool drained();

    // -- limits (glide_limit_*; dispatch and actions/auth.cc apply them) --
    // The connection's message bucket (glide_limit_message_rate).
    TokenBucket &message_bucket() { return messages_; }
    // A frame was refused at now_ms: for how long (ms) refusals have followed each other without
    // a pause of a second or more (glide_limit_message_rate_close).
    int64_t refused(int64_t now_ms);
    // A failed authentication: how many this connection has had (glide_limit_auth_failures).
    uint32_t auth_failed() { return ++auth_failures_; }

    // uids this session watches (api.state.sub), to unsubscribe at close.
    size_t watching() const { return cold_ ? cold_->watching.size() : 0; }
    void watch(std::string_view uid) { cold().watching.emplace_back(uid); }
    std::vector<std::string> take_watching();

    uint64_t heartbeat_interval_ms() const { return heartbeat_interval_ms_; }
    // Wall-clock time of start(), in ms since the epoch (the admin API's session listing).
    int64_t started_ms() const { return started_ms_; }

private:
    // Strings in one allocation, their lengths (16 bits each, or 32 when one is longer) and
    // their bytes: five std::strings would take 160 bytes of every session, these take a
    // pointer, the bytes and 11 more.
    class Strings {
    public:
        std::string_view get(unsigned i) const;
        void set(unsigned i, std::string_view v);
        void set_all(const std::string_view (&v)[5]);

    private:
        std::unique_ptr<char[]> p_;
    };
    enum : unsigned { kUid, kDeviceId, kDeviceName, kDeliverSecret, kClientVersion };

    struct Replay {
        bool active = false;        // a replay is running for this login
        bool loading = false;       // a page request is in flight
        bool waiting_drain = false; // the last page filled the buffer: wait for drained()
        uint32_t failures = 0;      // page loads failed in a row (retried with back-off)
        int64_t cursor = 0;         // the last mid replayed
        size_t inflight_bytes = 0;  // replay bytes sent since the buffer was last seen empty
    };
    // What a session needs only now and then: frames deferred during an auth, the offline
    // replay, the watched uids, the limits' refusals. Allocated when first needed and freed
    // again once none of it is in use (trim()), so an idle session does not carry it.
    struct Cold {
        // A vector, not a deque: an empty std::deque allocates ~600 bytes.
        std::vector<std::string> deferred;
        std::vector<std::string> watching;
        Replay replay;
        int64_t refused_since_ms = -1; // -1: nothing refused lately
        int64_t refused_last_ms = 0;
    };
    Cold &cold() {
        if (!cold_)
            cold_ = std::make_unique<Cold>();
        return *cold_;
    }
    // Frees the cold part when nothing in it is in use. `buffer_empty`: the output buffer is
    // empty, so the replay bytes it held are written; `now_ms` (when known): refusals a second
    // old are over.
    void trim(bool buffer_empty, int64_t now_ms = -1);

    void arm_heartbeat();
    void on_heartbeat_timer();
    void closing();
    TimerService *timers() const { return env_->timers; }

    uint64_t id_;
    Link *link_;
    const SessionEnv *env_;
    codec::Codec codec_;
    State state_ = State::guest;
    bool auth_pending_ = false;
    bool backpressured_ = false;
    uint32_t lost_ = 0;
    uint32_t auth_failures_ = 0;
    uint32_t heartbeat_lost_; // glide_heartbeat_lost, or the credential's
    uint64_t heartbeat_interval_ms_;
    TokenBucket messages_;
    int64_t last_read_ms_ = 0;
    int64_t last_write_ms_ = 0;
    int64_t started_ms_ = 0;
    TimerService::Handle hb_timer_ = 0;
    TempId temp_id_;
    Strings ident_;
    std::unique_ptr<Cold> cold_;
};

} // namespace glide::session
