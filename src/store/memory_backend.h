// The Store interface in memory: glided's `store memory;` and the core of the tests'
// MemoryStore. Every call completes before it returns. Nothing survives the process.
#pragma once

#include <map>
#include <set>
#include <string>
#include <unordered_map>

#include "store/store.h"

namespace glide::store {

class MemoryBackend final : public Store {
public:
    void store_message(Message msg, StoreDone done) override;
    void mark_delivered(std::string uid, int64_t mid, Done done) override;
    void load_undelivered(std::string uid, int64_t after_mid, uint32_t limit,
                          PageDone done) override;
    void group_publish(Message msg, StoreDone done) override;
    void create_group(std::string gid, Done done) override;
    void delete_group(std::string gid, Done done) override;
    void add_member(std::string gid, std::string uid, Done done) override;
    void remove_member(std::string gid, std::string uid, Done done) override;
    void group_members(std::string gid, NamesDone done) override;
    void list_groups(NamesDone done) override;

    // -- inspection (tests) --
    size_t stored() const { return messages_.size(); }
    const Message *message(int64_t mid) const;
    std::vector<int64_t> undelivered(const std::string &uid) const;

private:
    struct Group {
        std::set<std::string> members;
        int64_t next_seq = 1;
    };

    int64_t next_mid_ = 1;
    std::unordered_map<int64_t, Message> messages_;
    std::unordered_map<std::string, int64_t> by_cli_mid_; // from \x1f cliMid → mid
    std::unordered_map<std::string, std::set<int64_t>> undelivered_;
    std::map<std::string, Group> groups_;
};

} // namespace glide::store
