// The upper edge of the protocol core: the host's services (include/glide/host.h) as a C++
// interface, and the plain types that cross it. The module implements HostPort over a
// glide_host table (module/host_adapter.h); the tests' MemoryStore (tests/support/memory_store.h)
// implements it in memory. Requests are issued and timed by port::Requests
// (port/requests.h).
//
// Asynchronous calls. Every call that may wait gets a HostRequest and returns GLIDE_OK (the
// request was completed before returning), GLIDE_PENDING (it will be completed later, exactly
// once, on the loop thread), or a negative glide error code (failed; no completion follows).
// Each request has a deadline (glide_callback_timeout): when it passes, the module gives the
// client the request's failure answer and the request is finished; a completion that arrives
// later is ignored (the completion functions return false), also after the session or the
// whole module instance is gone. The host keeps the request alive by holding its shared_ptr.
//
// Over the C ABI (include/glide/host.h): the adapter passes the request as the opaque
// glide_request * and holds a reference inside it (host_hold), released at the completing
// call (auth_done, store_done, request_done); it converts glide_auth_result /
// glide_store_result / glide_message into the structs below inside glide_api.*_done and
// page_add/member_add. A NULL callback in the table becomes an immediate failure with the
// text host.h documents for it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "codec/message.h"
#include "glide/error.h"
#include "common/intrusive_list.h"
#include "glide/host.h"

namespace glide::port {

class Requests;

// What `authenticate` carried.
struct AuthInput {
    std::string_view credential;
    int64_t credential_version = 0;
    std::string_view remote_addr;
    std::string_view temp_id;
};

// The host's verdict on a credential.
struct AuthResult {
    bool accepted = false;
    std::string error; // refusal text for notify.error, e.g. "credential expired"
    std::string uid;
    std::string device_id;
    std::string device_name;
    std::string message_deliver_secret; // non-empty: tickets are checked
    uint32_t heartbeat_interval_ms = 0; // 0: the configured value
    uint32_t heartbeat_lost = 0;        // 0: the configured value
};

// The answer to store_message and group_publish.
struct StoreResult {
    int status = GLIDE_OK; // negative: the sender gets notify.error with `error`
    std::string error;
    int64_t mid = 0;        // assigned id: unique, increasing, below 2^53
    int64_t seq = 0;        // group_publish: the group sequence
    bool duplicate = false; // (from, cliMid) was stored before; mid is the earlier one
};

// One message of a load_undelivered page: a one-to-one message to the uid, or (group) a message
// of the group `msg.to` that the uid, a member, has not been sent yet (msg.seq: its sequence in
// the group). A page is in mid order, one-to-one and group messages interleaved.
struct PageMessage {
    codec::ChatMessage msg;
    bool group = false;
};

class HostRequest {
public:
    enum class Kind : uint8_t {
        auth,
        store_message,
        mark_delivered,
        load_undelivered,
        group_publish,
        group_members
    };

    Kind kind() const { return kind_; }
    // Completed, timed out, failed at the call, or abandoned (its Requests is gone).
    bool finished() const { return finished_; }

    // Completions. Each returns true when it was taken, false when the request had already
    // finished (late completion: ignored safely) or the call does not fit the request's kind.
    bool auth_done(AuthResult r);
    bool store_done(StoreResult r);
    // load_undelivered: one message, oldest first (group: a group message, see PageMessage).
    bool page_add(codec::ChatMessage m, bool group = false);
    bool member_add(std::string uid);    // group_members: one member
    bool request_done(int status, std::string error = {}); // mark_delivered, load_undelivered,
                                                           // group_members (group receipts are
                                                           // mark_delivered requests)

    // -- the results, read by the continuation --
    bool timed_out() const { return timed_out_; }
    int status() const { return status_; }
    const std::string &error() const { return error_; }
    AuthResult &auth_result() { return auth_; }
    StoreResult &store_result() { return store_; }
    std::vector<PageMessage> &page() { return page_; }
    std::vector<std::string> &members() { return members_; }

    // -- context the caller keeps with the request, so a continuation captures one pointer
    //    (std::function then stores it without a heap allocation) --
    uint64_t session_id = 0;
    int64_t seq = 0;
    codec::ChatMessage message; // store_message, group_publish: the message as sent

    // The continuation: called once when the request finishes while its Requests still exists.
    using Continuation = std::function<void(HostRequest &)>;

    // `owner` null: a request nobody times (tests of a store).
    HostRequest(Requests *owner, Kind kind, Continuation k)
        : owner_(owner), kind_(kind), k_(std::move(k)) {}

    // The host's reference (the C ABI's glide_request handle is the raw pointer): hold() keeps
    // the request alive until release() at the completing call, without another allocation.
    void host_hold(const std::shared_ptr<HostRequest> &self) { host_ref_ = self; }
    std::shared_ptr<HostRequest> host_release() { return std::move(host_ref_); }

private:
    friend class Requests;
    void finish(int status, std::string error, bool timed_out);

    Requests *owner_;
    Kind kind_;
    bool finished_ = false;
    bool timed_out_ = false;
    int status_ = GLIDE_OK;
    int64_t started_ms_ = 0;  // for the store latency histogram
    int64_t deadline_ms_ = 0; // glide_callback_timeout after started_ms_
    // While pending: the owner's reference and its place in the deadline-ordered list.
    std::shared_ptr<HostRequest> pending_ref_;
    ListHook<HostRequest> pending_hook_;
    std::shared_ptr<HostRequest> host_ref_;
    Continuation k_;
    std::string error_;
    AuthResult auth_;
    StoreResult store_;
    std::vector<PageMessage> page_;
    std::vector<std::string> members_;
};

using RequestPtr = std::shared_ptr<HostRequest>;

class HostPort {
public:
    virtual ~HostPort() = default;

    virtual int auth(const RequestPtr &req, const AuthInput &in) = 0;
    // A one-to-one message (mid 0, from forced to the sender); idempotent on (from, cli_mid).
    virtual int store_message(const RequestPtr &req, const codec::ChatMessage &msg) = 0;
    virtual int mark_delivered(const RequestPtr &req, std::string_view uid,
                               std::string_view device_id, int64_t mid) = 0;
    // A group receipt (only when group_receipts()): uid's device was sent every message of one
    // group from first_mid through mid, in sequence and without a gap, and the connection took
    // them. The host moves uid's delivery cursor in that group to mid when the run starts right
    // after it. A request of kind mark_delivered.
    virtual int group_delivered(const RequestPtr &req, std::string_view uid,
                                std::string_view device_id, int64_t first_mid, int64_t mid) = 0;
    // The host keeps a delivery cursor per group member (GLIDE_HOST_GROUP_REPLAY): its pages
    // carry the group messages a member was not sent, and it wants group receipts.
    virtual bool group_receipts() const = 0;
    // Messages to uid not yet acknowledged, mid > after_mid, oldest first, at most `limit`; with
    // group_receipts(), interleaved (by mid) with the group messages uid was not sent.
    virtual int load_undelivered(const RequestPtr &req, std::string_view uid,
                                 std::string_view device_id, int64_t after_mid, uint32_t limit) = 0;
    // Membership check, next group sequence and store: one call. msg.to is the group id.
    // Not a member: status GLIDE_ENOTFOUND, error "not member of channel". Hosts assign
    // sequences in call order (groups are delivered in call order, which is then sequence order).
    virtual int group_publish(const RequestPtr &req, const codec::ChatMessage &msg) = 0;
    virtual int group_members(const RequestPtr &req, std::string_view gid) = 0;
    // Not a request.
    virtual void presence(std::string_view uid, std::string_view device_id,
                          std::string_view node_id, bool online) = 0;
    virtual void log(glide_log_level level, std::string_view msg) = 0;
};

} // namespace glide::port
