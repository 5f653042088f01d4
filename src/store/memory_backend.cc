#include "store/memory_backend.h"

namespace glide::store {

using hub::StoreResult;

void MemoryBackend::store_message(Message msg, StoreDone done) {
    StoreResult r;
    std::string key;
    if (!msg.cli_mid.empty()) {
        key = msg.from + '\x1f' + msg.cli_mid;
        if (auto it = by_cli_mid_.find(key); it != by_cli_mid_.end()) {
            r.mid = it->second;
            r.duplicate = true;
            done(std::move(r));
            return;
        }
    }
    msg.mid = next_mid_++;
    r.mid = msg.mid;
    if (!key.empty())
        by_cli_mid_.emplace(std::move(key), msg.mid);
    undelivered_[msg.to].insert(msg.mid);
    messages_.emplace(msg.mid, std::move(msg));
    done(std::move(r));
}

void MemoryBackend::mark_delivered(std::string uid, int64_t mid, Done done) {
    if (auto it = undelivered_.find(uid); it != undelivered_.end()) {
        it->second.erase(mid);
        if (it->second.empty())
            undelivered_.erase(it);
    }
    done({});
}

void MemoryBackend::load_undelivered(std::string uid, int64_t after_mid, uint32_t limit,
                                     PageDone done) {
    std::vector<Message> page;
    if (auto it = undelivered_.find(uid); it != undelivered_.end())
        for (auto m = it->second.upper_bound(after_mid);
             m != it->second.end() && page.size() < limit; ++m)
            page.push_back(messages_.at(*m));
    done({}, std::move(page));
}

void MemoryBackend::group_publish(Message msg, StoreDone done) {
    StoreResult r;
    auto g = groups_.find(msg.to);
    if (g == groups_.end()) {
        r.status = GLIDE_ENOTFOUND;
        r.error = no_such_group;
    } else if (!g->second.members.count(msg.from)) {
        r.status = GLIDE_ENOTFOUND;
        r.error = not_member;
    } else {
        msg.mid = next_mid_++;
        msg.seq = g->second.next_seq++;
        r.mid = msg.mid;
        r.seq = msg.seq;
        messages_.emplace(msg.mid, std::move(msg));
    }
    done(std::move(r));
}

void MemoryBackend::create_group(std::string gid, Done done) {
    if (!groups_.try_emplace(std::move(gid)).second) {
        done({GLIDE_ESTATE, group_exists});
        return;
    }
    done({});
}

void MemoryBackend::delete_group(std::string gid, Done done) {
    done(groups_.erase(gid) ? Outcome{} : Outcome{GLIDE_ENOTFOUND, no_such_group});
}

void MemoryBackend::add_member(std::string gid, std::string uid, Done done) {
    auto g = groups_.find(gid);
    if (g == groups_.end()) {
        done({GLIDE_ENOTFOUND, no_such_group});
        return;
    }
    g->second.members.insert(std::move(uid));
    done({});
}

void MemoryBackend::remove_member(std::string gid, std::string uid, Done done) {
    auto g = groups_.find(gid);
    if (g == groups_.end()) {
        done({GLIDE_ENOTFOUND, no_such_group});
        return;
    }
    done(g->second.members.erase(uid) ? Outcome{} : Outcome{GLIDE_ENOTFOUND, not_member});
}

void MemoryBackend::group_members(std::string gid, NamesDone done) {
    auto g = groups_.find(gid);
    if (g == groups_.end()) {
        done({GLIDE_ENOTFOUND, no_such_group}, {});
        return;
    }
    done({}, {g->second.members.begin(), g->second.members.end()});
}

void MemoryBackend::list_groups(NamesDone done) {
    std::vector<std::string> ids;
    for (const auto &[gid, g] : groups_)
        ids.push_back(gid);
    done({}, std::move(ids));
}

const Message *MemoryBackend::message(int64_t mid) const {
    auto it = messages_.find(mid);
    return it == messages_.end() ? nullptr : &it->second;
}

std::vector<int64_t> MemoryBackend::undelivered(const std::string &uid) const {
    auto it = undelivered_.find(uid);
    if (it == undelivered_.end())
        return {};
    return {it->second.begin(), it->second.end()};
}

} // namespace glide::store
