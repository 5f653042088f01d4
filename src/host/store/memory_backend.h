// The Store interface in memory: glided's `store memory;` and the core of the tests'
// MemoryStore. Every call completes before it returns. Nothing survives the process.
//
// Memory stays bounded by what is still owed, not by what went through:
//  - a one-to-one message is kept only while its receiver has not marked it delivered; the
//    receipt frees it (there is no history to read back);
//  - a group message is kept while a member of its group has not been sent it (its cursor is
//    below it); once every member's cursor passed it, it goes with the next trim of the group
//    (a group trims when its kept messages have doubled since the last one);
//  - the (from, cli_mid) duplicate check remembers the most recent dedup_window pairs, server
//    wide, oldest forgotten first: a retry within that window answers the first mid with
//    duplicate set, a retry after it is stored (and delivered) again as a new message.
//
// Per message in steady state nothing is allocated: each receiver's undelivered messages sit in
// a vector in mid order whose slots (and their strings' memory) are reused once delivered, and
// the duplicate check is a fixed ring of pairs with an open-addressing index over it, both sized
// for the whole window when the backend is made.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "host/store/store.h"

namespace glide::store {

class MemoryBackend final : public Store {
public:
    // How many (from, cli_mid) pairs the duplicate check remembers (the most recent ones).
    static constexpr size_t dedup_window = 65536;

    explicit MemoryBackend(size_t window = dedup_window);

    void store_message(const MessageView &msg, StoreDone done) override;
    void mark_delivered(std::string_view uid, int64_t mid, Done done) override;
    void mark_group_delivered(std::string_view uid, int64_t first_mid, int64_t mid,
                              Done done) override;
    void load_undelivered(std::string_view uid, int64_t after_mid, uint32_t limit,
                          PageDone done) override;
    void group_publish(const MessageView &msg, StoreDone done) override;
    void create_group(std::string gid, Done done) override;
    void delete_group(std::string gid, Done done) override;
    void add_member(std::string gid, std::string uid, Done done) override;
    void remove_member(std::string gid, std::string uid, Done done) override;
    void group_members(std::string gid, NamesDone done) override;
    void list_groups(NamesDone done) override;

    // -- inspection (tests) --
    // Group messages kept (some member has not been sent them), over every group.
    size_t group_kept() const;
    // uid's cursor in gid (the mid of the last message it was sent), or -1: not a member.
    int64_t cursor(std::string_view gid, std::string_view uid) const;
    // Messages stored since the start (one-to-one and group; duplicates not counted).
    size_t stored() const { return stored_; }
    // One-to-one messages kept: those not yet marked delivered.
    size_t retained() const { return retained_; }
    // Receivers with an entry (those with undelivered messages, and a bounded number without).
    size_t receivers() const { return receivers_.size(); }
    // (from, cli_mid) pairs the duplicate check remembers.
    size_t remembered() const { return ring_.size(); }
    // A kept (undelivered) one-to-one message, else null.
    const Message *message(int64_t mid) const;
    std::vector<int64_t> undelivered(std::string_view uid) const;

private:
    // A receiver's undelivered messages in mid order: v[head, tail). A message delivered out of
    // order stays as a hole (its mid negated) until the front passes it or compact() drops it;
    // slots past tail are spare, their strings' memory reused by the next messages.
    struct Queue {
        std::vector<Message> v;
        size_t head = 0, tail = 0, holes = 0;
        size_t live() const { return tail - head - holes; }
        // The first slot in [head, tail) whose mid (live or hole) is >= mid, else tail.
        size_t lower(int64_t mid) const;
        // The slot holding mid (live or hole), else tail.
        size_t find(int64_t mid) const;
        void push(const MessageView &m, int64_t mid);
        // Takes mid out; false when it is not there.
        bool remove(int64_t mid);
        void compact();
    };
    struct Hash {
        using is_transparent = void;
        size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
    };
    // from and cli_mid one after the other, inline when they fit (typical uids and client ids
    // do, so filling the ring allocates nothing either), else in `heap`.
    struct Pair {
        static constexpr size_t inline_size = 64;
        uint64_t hash;
        int64_t mid;
        uint32_t from_len = 0, len = 0;
        char text[inline_size];
        std::string heap;
        const char *data() const { return len <= inline_size ? text : heap.data(); }
        std::string_view from() const { return {data(), from_len}; }
        std::string_view cli_mid() const { return {data() + from_len, len - from_len}; }
        void assign(std::string_view f, std::string_view c);
    };
    struct Group {
        // Each member's cursor: the mid of the last message of the group it was sent.
        std::map<std::string, int64_t, std::less<>> members;
        int64_t next_seq = 1;
        // The messages some member may still be owed, in mid (= sequence) order; trimmed of
        // those every cursor passed when it reaches trim_at.
        std::deque<Message> kept;
        size_t trim_at = 64;
        // The first kept message with mid > after, or kept.size().
        size_t after(int64_t mid) const;
        void trim();
    };

    // The duplicate check: the mid stored for (from, cli_mid), or 0.
    int64_t recall(uint64_t h, std::string_view from, std::string_view cli_mid) const;
    void remember(uint64_t h, std::string_view from, std::string_view cli_mid, int64_t mid);
    void index_insert(uint32_t slot);
    void index_erase(uint32_t slot);
    // Drops the entries of receivers without undelivered messages once they are many.
    void sweep();
    // gid leaves uid's groups.
    void forget_membership(const std::string &uid, const std::string &gid);

    int64_t next_mid_ = 1;
    size_t stored_ = 0, retained_ = 0;
    std::unordered_map<std::string, Queue, Hash, std::equal_to<>> receivers_;
    size_t empty_receivers_ = 0; // entries of receivers_ with nothing live

    size_t window_;
    std::vector<Pair> ring_; // up to window_ pairs; ring_[next_] is the oldest once full
    size_t next_ = 0;
    // Open addressing, linear probing. An entry holds its pair's slot + 1 (0: free) and the low
    // 32 bits of its hash, so a probe rejects other pairs, and erase finds an entry's home,
    // without reading the ring (5 MiB at the default window: a cache miss per look).
    struct Entry {
        uint32_t tag = 0;
        uint32_t slot = 0;
    };
    std::vector<Entry> index_;

    std::map<std::string, Group, std::less<>> groups_;
    // uid → the groups it is a member of.
    std::unordered_map<std::string, std::set<std::string, std::less<>>, Hash, std::equal_to<>>
        groups_of_;
};

} // namespace glide::store
