// The host's storage as one interface with three backends: MemoryBackend
// (host/store/memory_backend.h, `store memory;` and the core of the tests' fake host,
// tests/support/memory_store.h), SqliteStore (host/store/sqlite_store.h, `store sqlite PATH;`)
// and PgStore (host/store/pg_store.h, `store postgresql://...`). Its types are glided's own
// (glide_message's fields), none of the module's. glided's host services (src/host/host_services.h) answer the module's
// glide_host calls over it; the admin API manages groups through it.
//
// Calls take plain data (views are read during the call only: a backend copies what it keeps)
// and answer through a completion callback, exactly once, on the thread that made the call (the
// event loop's). A backend may complete before the call returns (memory) or on a later loop
// turn (SQLite: after its writer thread has committed). A write is answered only once it is
// durable to the backend's standard: what SQLite reports as committed survives a crash of the
// process. Calls are applied in call order, so group sequences follow the order of
// group_publish calls.
//
// Semantics shared by every backend:
//  - mids are unique and increasing from 1, below 2^53; (from, cli_mid) of a one-to-one message
//    is idempotent: a second store_message answers the first mid with duplicate set and stores
//    nothing (an empty cli_mid is never a duplicate). SQLite remembers every pair; memory only
//    the most recent ones (MemoryBackend::dedup_window), a retry after that is stored again;
//  - every one-to-one message waits in its receiver's undelivered set until mark_delivered by
//    the receiver (any device); load_undelivered pages through that set, oldest first;
//  - a group has members and a sequence starting at 1; group_publish checks membership, assigns
//    the next sequence and a mid, and stores the message. Within a group mids grow with the
//    sequence (both are taken in one step, in call order);
//  - group delivery: each member has a cursor in each of its groups, the mid of the last group
//    message it was sent (a group message counts as delivered to a member once a device of the
//    member was sent it: glide's clients acknowledge none). Adding a member sets its cursor to
//    the last mid assigned so far, so a member never gets what was said before it joined (also
//    in a group deleted and created again: the old messages are older than the cursor);
//    removing it drops the cursor, and with it every replay. load_undelivered's page holds,
//    interleaved in mid order with the one-to-one messages, the messages of the uid's groups
//    past its cursor (PageMessage::group set), so each group's come in sequence order.
//    mark_group_delivered moves a cursor forward over a run of messages the module wrote to a
//    device without a gap, only when the run starts right after the cursor: a message is never
//    skipped, a lost or late receipt only means it is sent again (at least once).
//    A group's messages are kept at least while a member's cursor is below them (memory only
//    about those, the durable backends every message).
// Errors use glide's texts where the client sees them: "channel does not exist", "not member of
// channel"; a backend failure is GLIDE_EIO with the backend's message.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "glide/error.h"

namespace glide::store {

// A chat message as the stores keep it: glide_message's fields (include/glide/host.h) without
// the payload, which glided asks the module not to encode (GLIDE_HOST_NO_PAYLOAD).
struct Message {
    std::string cli_mid;
    int64_t mid = 0;
    int64_t seq = 0;
    std::string from;
    std::string to;
    int32_t type = 0;
    std::string content;
    int64_t send_at = 0;
    bool operator==(const Message &) const = default;
};

// The answer to store_message and group_publish (glide_store_result's fields).
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
    Message msg;
    bool group = false;
};

// A message handed to the store: views of the caller's strings, valid only during the call (the
// store copies what it keeps). mid is not part of it: the store assigns one.
struct MessageView {
    std::string_view cli_mid, from, to, content;
    int64_t seq = 0;
    int32_t type = 0;
    int64_t send_at = 0;

    MessageView() = default;
    MessageView(const Message &m) // NOLINT: implicit, a Message is viewed where one is expected
        : cli_mid(m.cli_mid), from(m.from), to(m.to), content(m.content), seq(m.seq),
          type(m.type), send_at(m.send_at) {}
    // An owned copy, mid 0.
    Message copy() const {
        Message m;
        assign_to(m);
        return m;
    }
    // Overwrites m's fields but mid, reusing its strings' memory.
    void assign_to(Message &m) const {
        m.cli_mid.assign(cli_mid);
        m.from.assign(from);
        m.to.assign(to);
        m.content.assign(content);
        m.seq = seq;
        m.type = type;
        m.send_at = send_at;
    }
};

// Status GLIDE_OK or negative, and a reason for the negative ones.
struct Outcome {
    int status = GLIDE_OK;
    std::string error;
    bool ok() const { return status == GLIDE_OK; }
};

class Store {
public:
    using StoreDone = std::function<void(StoreResult)>;
    using Done = std::function<void(Outcome)>;
    using PageDone = std::function<void(Outcome, std::vector<PageMessage>)>;
    using NamesDone = std::function<void(Outcome, std::vector<std::string>)>;

    virtual ~Store() = default;

    // -- messages --

    // A one-to-one message; answers mid, or the earlier mid with duplicate set.
    virtual void store_message(const MessageView &msg, StoreDone done) = 0;
    // The receiver `uid` acknowledged `mid`: it leaves uid's undelivered set. Acknowledging a
    // message that is not (or no longer) undelivered for uid is not an error.
    virtual void mark_delivered(std::string_view uid, int64_t mid, Done done) = 0;
    // A device of uid was sent every message of one group from first_mid through mid (both
    // messages of that group, first_mid <= mid), in sequence, without a gap. uid's cursor in
    // that group moves to mid when no message of the group lies between the cursor and
    // first_mid; otherwise (a run that does not follow on, not a member, not a group message)
    // nothing changes, and that is not an error.
    virtual void mark_group_delivered(std::string_view uid, int64_t first_mid, int64_t mid,
                                      Done done) = 0;
    // What uid is owed with mid > after_mid, oldest first, at most `limit`: its undelivered
    // one-to-one messages and the messages of its groups past its cursors, by mid.
    virtual void load_undelivered(std::string_view uid, int64_t after_mid, uint32_t limit,
                                  PageDone done) = 0;
    // msg.to is the group id: membership check, next sequence, store. Answers mid and seq.
    virtual void group_publish(const MessageView &msg, StoreDone done) = 0;

    // -- groups --

    // GLIDE_ESTATE "channel already exists" when gid exists.
    virtual void create_group(std::string gid, Done done) = 0;
    // Removes the group, its members and its sequence (its stored messages stay).
    virtual void delete_group(std::string gid, Done done) = 0;
    // Adding a member twice is not an error (its cursor stays); the group must exist. A new
    // member's cursor is the last mid assigned so far.
    virtual void add_member(std::string gid, std::string uid, Done done) = 0;
    // GLIDE_ENOTFOUND "not member of channel" when uid is not a member. Its cursor goes too.
    virtual void remove_member(std::string gid, std::string uid, Done done) = 0;
    // Members in uid order; GLIDE_ENOTFOUND "channel does not exist".
    virtual void group_members(std::string gid, NamesDone done) = 0;
    // Every group id, in order.
    virtual void list_groups(NamesDone done) = 0;
};

// The texts shared by the backends.
inline constexpr const char *no_such_group = "channel does not exist";
inline constexpr const char *not_member = "not member of channel";
inline constexpr const char *group_exists = "channel already exists";

} // namespace glide::store
