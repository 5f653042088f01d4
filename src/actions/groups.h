// message.group: the publish through the host (membership, sequence and store in one call),
// the sender's ack, and delivery to every member device in sequence order; the membership
// cache behind it, which the host invalidates through the control API; and the group receipts
// that move each member's delivery cursor in the host's store (GLIDE_HOST_GROUP_REPLAY).
//
// When a group message counts as delivered to a member: when it has been written to one of the
// member's devices (live, or by the replay at login) and that connection's output buffer has
// emptied since (the bytes went to the kernel: a session closed as a slow consumer with the
// message still queued does not count). glide's clients acknowledge no group message (the
// Dart SDK acks one-to-one chat only, the TypeScript SDK sends no ack.group.msg, and its gid
// is an int64 that cannot name a string group id), so the module counts what it wrote.
//
// Each session keeps runs: consecutive sequences of one group written to it, for as long as it
// lives. A write that finds the session's buffer empty seals what was written to it before
// (it has left the buffer), and so does a round that finds the buffer empty. Every
// receipt_interval_ms each run's sealed part, when it grew, goes to the host as a group receipt
// (first_mid, sealed mid). A gap (a message not written to that session: a live message during
// the replay, a cluster gap the order gave way to, a publish that timed out here but was
// stored) starts a new run, and the host moves the cursor only over a run that follows on, so
// a message is never skipped: at worst it is sent again at the next login. A run that grows up
// to the next one takes it in (the replay reaching what came live meanwhile), so the cursor
// moves on past a gap once it is filled. Of a session that
// closed, what was not sealed is not counted (sent again, too): when a connection ends, what it
// still held is gone from the transport, so nothing tells. A member that leaves right after
// its replay thus gets about the last page again at most.
//
// The runs also tell what this connection was already sent: the replay does not send again a
// group message the session got live while the replay was loading, nor does live delivery
// send one the replay sent (each device gets a message once per connection).
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "codec/message.h"
#include "hub/hub.h"
#include "session/session.h"

namespace glide::actions {

class Context;

// The groups this instance is publishing to or has the membership of.
class Groups {
public:
    // How long a group message waits for a lower sequence another node published first.
    static constexpr uint64_t gap_wait_ms = 100;

    // message.group after the ticket check and normalisation (actions/context.h chat_input).
    void publish(Context &ctx, session::Session &s, const codec::Envelope &req,
                 codec::ChatMessage msg);
    // A group message published on another node (the cluster bus): delivered to the members
    // here, in sequence order with this node's own publishes.
    // `json` is the envelope's JSON as it came.
    void remote(Context &ctx, std::string_view gid, int64_t seq, codec::Envelope env,
                std::string_view json);
    // Forgets the cached membership of gid (the control API, or the bus for another node's).
    void invalidate(std::string_view gid);

    // How often the pending group receipts of sessions whose output emptied go to the host.
    static constexpr uint64_t receipt_interval_ms = 200;
    // A message of group gid (mid, its sequence seq) was written to session s: it joins the
    // session's pending receipts (with a host that wants them). `flushed`: s's output buffer
    // was empty before this write, so everything written to it earlier has left it.
    void written(Context &ctx, const session::Session &s, std::string_view gid, int64_t mid,
                 int64_t seq, bool flushed);
    // Whether group gid's message (mid, seq) was written to session sid already.
    bool sent_before(uint64_t sid, std::string_view gid, int64_t mid, int64_t seq) const;
    // Sends the group receipts that grew since the last round (the timer; tests call it to
    // send at once) and forgets the sessions gone. Returns how many receipts went to the host.
    size_t send_receipts(Context &ctx);

private:
    void pump(Context &ctx, const std::string &gid);
    // Schedules send_receipts when receipts are pending and it is not scheduled.
    void arm_receipts(Context &ctx);
    struct Runs;
    // Merges into rs.runs[i] the runs of its group that follow on from it.
    static void merge_following(Runs &rs, size_t i);
    void load_members(Context &ctx, const std::string &gid);

    struct Publish {
        uint64_t sid; // the publisher's session; 0 for another node's publish
        bool done = false;
        bool ok = false;
        int64_t seq = 0;
        int64_t mid = 0;
        codec::Envelope env; // the delivery envelope, data filled at completion
        std::string json;    // its JSON when made already (for the bus, or from it)
    };
    struct Group {
        enum class Members : uint8_t { unknown, loading, ready } members = Members::unknown;
        bool pumping = false; // a delivery is on the stack (pump)
        // With the cluster bus: the highest sequence delivered here (0: none yet), and the wait
        // for a missing lower one (another node's publish still on its way).
        int64_t delivered_seq = 0;
        bool gap_waited = false;
        session::TimerService::Handle gap_timer = 0;
        // Shared with a delivery in progress, which a callback may not pull from under it.
        std::shared_ptr<const std::vector<std::string>> uids;
        std::deque<std::unique_ptr<Publish>> fifo; // in call order, which is seq order
    };
    hub::StringMap<Group> groups_;

    // A run: messages first..last of one group, consecutive sequences (and growing mids),
    // written to a session; first..sealed of them are known to have left its output buffer
    // (sealed_seq 0: none), first..reported were in a receipt already.
    struct Run {
        std::string gid;
        int64_t first_mid, first_seq, last_mid, last_seq;
        int64_t sealed_mid = 0, sealed_seq = 0, reported_seq = 0;
        // The group changed (group_invalidate: it may have been deleted and made again, its
        // sequence starting over): the run grows no more.
        bool closed = false;
        bool has(int64_t mid, int64_t seq) const {
            return seq >= first_seq && seq <= last_seq && mid >= first_mid && mid <= last_mid;
        }
    };
    struct Runs {
        std::string uid, device_id; // the session's identity when they were written
        std::vector<Run> runs;      // the newest last; at most max_runs
    };
    // Per session: beyond, the oldest run is dropped (its messages may be sent again).
    static constexpr size_t max_runs = 256;
    std::unordered_map<uint64_t, Runs> runs_; // by session id
    session::TimerService::Handle receipt_timer_ = 0;
    bool receipt_failure_logged_ = false; // one warning per round of receipts
};

void on_group(Context &ctx, session::Session &s, codec::Envelope &e);

} // namespace glide::actions
