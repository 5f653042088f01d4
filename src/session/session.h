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
#include <cstring>
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

// How a send counts against the slow-consumer limit.
enum class SendClass : uint8_t {
    live,   // normal traffic: over glide_send_buffer_limit closes the session (1008)
    replay, // offline replay: paced by the hub, never a reason to close (design.md §5.7)
};

class Session {
public:
    Session(uint64_t id, Link *link, TimerService *timers, SessionOwner *owner,
            const SessionConfig &conf, std::string_view temp_id);
    ~Session();
    Session(const Session &) = delete;
    Session &operator=(const Session &) = delete;

    uint64_t id() const { return id_; }
    State state() const { return state_; }
    bool authenticated() const { return state_ == State::authenticated; }
    bool open() const { return state_ == State::guest || state_ == State::authenticated; }
    Link *link() const { return link_; }
    codec::Codec codec() const { return codec_; }

    // "tmp@" and a UUID (hub::make_temp_id): 40 characters, held inline.
    static constexpr size_t kTempIdSize = 40;
    std::string_view temp_id() const { return {temp_id_, ::strnlen(temp_id_, kTempIdSize)}; }
    const std::string &uid() const { return uid_; }
    const std::string &device_id() const { return device_id_; }
    const std::string &device_name() const { return device_name_; }
    // Tickets are checked when the credential carried a message_deliver_secret (§5.6).
    bool checks_tickets() const { return !deliver_secret_.empty(); }
    // The credential's message_deliver_secret (the only secret a session uses).
    const std::string &deliver_secret() const { return deliver_secret_; }

    // Starts the heartbeat timer; the hub sends hello right after.
    void start();

    // Becomes authenticated as (uid, device). heartbeat_* of 0 keep the current settings.
    void set_identity(std::string uid, std::string device_id, std::string device_name,
                      std::string deliver_secret, uint64_t heartbeat_interval_ms,
                      uint32_t heartbeat_lost);

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
    bool has_deferred() const { return !deferred_.empty(); }
    // Moves the oldest deferred frame to *out; false when there is none or auth is pending.
    bool take_deferred(std::string *out);

    // -- offline replay, paced by the send buffer (design.md §5.7) --
    // Starts a replay for this login, from the beginning.
    void replay_begin() { replay_ = Replay{true}; }
    // A replay runs (it ends with a page shorter than a full one).
    bool replaying() const { return replay_.active; }
    // Claims the next page load: true (and loading) when a replay runs and no load is in
    // flight; the page starts after replay_cursor().
    bool replay_load();
    int64_t replay_cursor() const { return replay_.cursor; }
    // The page load answered: loading ends; `more` false ends the replay too. The failures in
    // a row before it are forgotten.
    void replay_loaded(bool more);
    // The page load failed (a store fault): the replay stays, and stays loading, so that only
    // its retry loads again. Returns the failures in a row, this one included.
    uint32_t replay_failed() { return ++replay_.failures; }
    uint32_t replay_failures() const { return replay_.failures; }
    // Sends one replayed message unless its mid is not past the cursor. False: stop sending
    // this page (the session closed, or the buffer passed its soft mark and the replay now
    // waits for drained()).
    bool replay_send(codec::ChatMessage &&m);
    // The same for a replayed envelope `e` (a message.group) whose message has `mid`; *sent
    // tells whether it went out.
    bool replay_send(codec::Envelope &&e, int64_t mid, bool *sent);
    // A replayed message not sent (the connection had it): the replay goes on after its mid.
    void replay_skip(int64_t mid) {
        if (mid > replay_.cursor)
            replay_.cursor = mid;
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
    const std::vector<std::string> &watching() const { return watching_; }
    void watch(std::string uid) { watching_.push_back(std::move(uid)); }
    std::vector<std::string> take_watching() { return std::move(watching_); }

    std::string client_version; // from the client's hello

    uint64_t heartbeat_interval_ms() const { return conf_.heartbeat_interval_ms; }
    // Wall-clock time of start(), in ms since the epoch (the admin API's session listing).
    int64_t started_ms() const { return started_ms_; }

private:
    void arm_heartbeat();
    void on_heartbeat_timer();
    void closing();

    uint64_t id_;
    Link *link_;
    TimerService *timers_;
    SessionOwner *owner_;
    SessionConfig conf_;
    codec::Codec codec_;
    State state_ = State::guest;
    bool auth_pending_ = false;
    bool backpressured_ = false;
    uint32_t lost_ = 0;
    uint32_t auth_failures_ = 0;
    TokenBucket messages_;
    int64_t refused_since_ms_ = -1; // -1: nothing refused lately
    int64_t refused_last_ms_ = 0;
    int64_t last_read_ms_ = 0;
    int64_t last_write_ms_ = 0;
    int64_t started_ms_ = 0;
    TimerService::Handle hb_timer_ = 0;
    char temp_id_[kTempIdSize]; // not NUL-terminated when full (a longer id is cut)
    std::string uid_, device_id_, device_name_;
    std::string deliver_secret_;
    // A vector, not a deque: an empty std::deque allocates ~600 bytes, per idle session.
    std::vector<std::string> deferred_;
    struct Replay {
        bool active = false;        // a replay is running for this login
        bool loading = false;       // a page request is in flight
        bool waiting_drain = false; // the last page filled the buffer: wait for drained()
        uint32_t failures = 0;      // page loads failed in a row (retried with back-off)
        int64_t cursor = 0;         // the last mid replayed
        size_t inflight_bytes = 0;  // replay bytes sent since the buffer was last seen empty
    };
    Replay replay_;
    std::vector<std::string> watching_;
};

} // namespace glide::session
