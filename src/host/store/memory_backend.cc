#include "host/store/memory_backend.h"

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <functional>

namespace glide::store {


namespace {

// Entries of receivers without undelivered messages are dropped once there are more of them
// than this and than receivers with some (they are kept to spare a reallocation per message).
constexpr size_t kept_empty_receivers = 1024;
// An emptied queue keeps up to this many spare slots; a bigger one is released.
constexpr size_t kept_spare_slots = 32;

uint64_t pair_hash(std::string_view from, std::string_view cli_mid) {
    std::hash<std::string_view> h;
    uint64_t x = h(from) ^ (h(cli_mid) * 0x9e3779b97f4a7c15ull);
    return x ^ (x >> 29);
}

} // namespace

MemoryBackend::MemoryBackend(size_t window) : window_(window ? window : 1) {
    // Sized once for the whole window: growing them as the first window_ messages arrive
    // moved every remembered pair and rehashed the index, and with the fresh pages' faults
    // that stalled the loop for 15-25 ms on the step to a full window (seen as the p99.9 of an
    // open-loop glide-bench run). The ring's memory becomes resident as it fills; the index,
    // at most half full, is 8 bytes a slot (1 MiB at the default window).
    ring_.reserve(window_);
    size_t n = 64;
    while (n < window_ * 2)
        n *= 2;
    index_.assign(n, Entry{});
}

// --- a receiver's queue ---------------------------------------------------------------------

size_t MemoryBackend::Queue::lower(int64_t mid) const {
    size_t lo = head, hi = tail; // holes keep -mid, so the order is by |mid|
    while (lo < hi) {
        size_t m = lo + (hi - lo) / 2;
        if (std::abs(v[m].mid) < mid)
            lo = m + 1;
        else
            hi = m;
    }
    return lo;
}

size_t MemoryBackend::Queue::find(int64_t mid) const {
    size_t i = lower(mid);
    return i < tail && std::abs(v[i].mid) == mid ? i : tail;
}

void MemoryBackend::Queue::push(const MessageView &m, int64_t mid) {
    if (tail == v.size())
        v.emplace_back();
    m.assign_to(v[tail]);
    v[tail].mid = mid;
    tail++;
}

bool MemoryBackend::Queue::remove(int64_t mid) {
    size_t i = find(mid);
    if (i == tail || v[i].mid < 0)
        return false;
    v[i].mid = -mid;
    holes++;
    while (head < tail && v[head].mid < 0) {
        head++;
        holes--;
    }
    if (head == tail) {
        head = tail = holes = 0;
        if (v.size() > kept_spare_slots)
            std::vector<Message>().swap(v);
    } else if ((holes > 16 && holes * 2 > live()) || (head > 16 && head * 2 > tail)) {
        compact();
    }
    return true;
}

// Moves the live messages to the front, in order; holes and delivered slots become spares.
void MemoryBackend::Queue::compact() {
    size_t w = 0;
    for (size_t r = head; r < tail; r++) {
        if (v[r].mid < 0)
            continue;
        if (w != r)
            std::swap(v[w], v[r]);
        w++;
    }
    head = 0;
    tail = w;
    holes = 0;
}

// --- the duplicate check --------------------------------------------------------------------

void MemoryBackend::Pair::assign(std::string_view f, std::string_view c) {
    from_len = static_cast<uint32_t>(f.size());
    len = static_cast<uint32_t>(f.size() + c.size());
    char *out = text;
    if (len > inline_size) {
        heap.resize(len);
        out = heap.data();
    }
    f.copy(out, f.size());
    c.copy(out + f.size(), c.size());
}

int64_t MemoryBackend::recall(uint64_t h, std::string_view from, std::string_view cli_mid) const {
    size_t mask = index_.size() - 1;
    uint32_t tag = static_cast<uint32_t>(h);
    for (size_t i = h & mask; index_[i].slot; i = (i + 1) & mask) {
        if (index_[i].tag != tag)
            continue; // told apart without touching the ring (most lookups find nothing)
        const Pair &p = ring_[index_[i].slot - 1];
        if (p.hash == h && p.from() == from && p.cli_mid() == cli_mid)
            return p.mid;
    }
    return 0;
}

void MemoryBackend::remember(uint64_t h, std::string_view from, std::string_view cli_mid,
                             int64_t mid) {
    size_t slot;
    if (ring_.size() < window_) {
        slot = ring_.size();
        ring_.emplace_back();
    } else {
        slot = next_;
        next_ = (next_ + 1) % window_;
        index_erase(static_cast<uint32_t>(slot));
    }
    Pair &p = ring_[slot];
    p.hash = h;
    p.mid = mid;
    p.assign(from, cli_mid);
    index_insert(static_cast<uint32_t>(slot));
}

void MemoryBackend::index_insert(uint32_t slot) {
    size_t mask = index_.size() - 1;
    uint64_t h = ring_[slot].hash;
    size_t i = h & mask;
    while (index_[i].slot)
        i = (i + 1) & mask;
    index_[i] = {static_cast<uint32_t>(h), slot + 1};
}

// Removes slot's entry, shifting back the entries of its probe run that may move closer home.
// An entry's home comes from its tag (the index never holds more than 2^32 entries).
void MemoryBackend::index_erase(uint32_t slot) {
    size_t mask = index_.size() - 1;
    size_t i = ring_[slot].hash & mask;
    while (index_[i].slot != slot + 1)
        i = (i + 1) & mask;
    for (size_t j = (i + 1) & mask; index_[j].slot; j = (j + 1) & mask) {
        size_t home = index_[j].tag & mask;
        // The entry at j may fill the gap at i unless its home lies cyclically in (i, j].
        bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (!stays) {
            index_[i] = index_[j];
            i = j;
        }
    }
    index_[i] = {};
}

// --- messages -------------------------------------------------------------------------------

void MemoryBackend::store_message(const MessageView &msg, StoreDone done) {
    StoreResult r;
    uint64_t h = 0;
    if (!msg.cli_mid.empty()) {
        h = pair_hash(msg.from, msg.cli_mid);
        if (int64_t mid = recall(h, msg.from, msg.cli_mid)) {
            r.mid = mid;
            r.duplicate = true;
            done(std::move(r));
            return;
        }
    }
    r.mid = next_mid_++;
    stored_++;
    if (!msg.cli_mid.empty())
        remember(h, msg.from, msg.cli_mid, r.mid);
    auto q = receivers_.find(msg.to);
    if (q == receivers_.end())
        q = receivers_.emplace(std::string(msg.to), Queue{}).first;
    else if (q->second.live() == 0)
        empty_receivers_--;
    q->second.push(msg, r.mid);
    retained_++;
    done(std::move(r));
}

void MemoryBackend::mark_delivered(std::string_view uid, int64_t mid, Done done) {
    if (auto q = receivers_.find(uid); q != receivers_.end() && q->second.remove(mid)) {
        retained_--;
        if (q->second.live() == 0) {
            empty_receivers_++;
            sweep();
        }
    }
    done({});
}

void MemoryBackend::sweep() {
    if (empty_receivers_ <= kept_empty_receivers || empty_receivers_ * 2 <= receivers_.size())
        return;
    std::erase_if(receivers_, [](const auto &e) { return e.second.live() == 0; });
    empty_receivers_ = 0;
}

// --- groups ---------------------------------------------------------------------------------

size_t MemoryBackend::Group::after(int64_t mid) const {
    auto it = std::upper_bound(kept.begin(), kept.end(), mid,
                               [](int64_t m, const Message &x) { return m < x.mid; });
    return static_cast<size_t>(it - kept.begin());
}

// Drops the kept messages every member has been sent; the next trim waits until what remains
// has doubled, so a publish costs O(1) amortized whatever the number of members.
void MemoryBackend::Group::trim() {
    int64_t low = INT64_MAX;
    for (const auto &[uid, cursor] : members)
        low = std::min(low, cursor);
    kept.erase(kept.begin(), kept.begin() + static_cast<std::ptrdiff_t>(after(low)));
    trim_at = std::max<size_t>(64, kept.size() * 2);
}

void MemoryBackend::load_undelivered(std::string_view uid, int64_t after_mid, uint32_t limit,
                                     PageDone done) {
    // The first `limit` messages past after_mid of each source (the one-to-one queue, each
    // group's past the uid's cursor), then the `limit` lowest mids among them.
    std::vector<std::pair<const Message *, bool>> owed; // (message, group)
    if (auto it = receivers_.find(uid); it != receivers_.end()) {
        const Queue &q = it->second;
        for (size_t i = q.lower(after_mid + 1), n = 0; i < q.tail && n < limit; i++)
            if (q.v[i].mid > 0) { // not a hole
                owed.emplace_back(&q.v[i], false);
                n++;
            }
    }
    if (auto it = groups_of_.find(uid); it != groups_of_.end())
        for (const std::string &gid : it->second) {
            const Group &g = groups_.find(gid)->second;
            size_t i = g.after(std::max(after_mid, g.members.find(uid)->second));
            for (size_t n = 0; i < g.kept.size() && n < limit; i++, n++)
                owed.emplace_back(&g.kept[i], true);
        }
    const size_t n = std::min<size_t>(limit, owed.size());
    std::partial_sort(owed.begin(), owed.begin() + static_cast<std::ptrdiff_t>(n), owed.end(),
                      [](const auto &a, const auto &b) { return a.first->mid < b.first->mid; });
    std::vector<PageMessage> page;
    page.reserve(n);
    for (size_t i = 0; i < n; i++)
        page.push_back({*owed[i].first, owed[i].second});
    done({}, std::move(page));
}

void MemoryBackend::mark_group_delivered(std::string_view uid, int64_t first_mid, int64_t mid,
                                         Done done) {
    auto groups = groups_of_.find(uid);
    if (groups == groups_of_.end() || first_mid > mid) {
        done({});
        return;
    }
    for (const std::string &gid : groups->second) {
        Group &g = groups_.find(gid)->second;
        size_t last = g.after(mid - 1);
        if (last == g.kept.size() || g.kept[last].mid != mid)
            continue; // not this group's (or every member has it)
        // first_mid must be a message of this group too (one trimmed, older than every
        // cursor, cannot be told apart: the run then starts before the cursor anyway).
        size_t first = g.after(first_mid - 1);
        if (first < g.kept.size() && first_mid >= g.kept.front().mid &&
            g.kept[first].mid != first_mid)
            break;
        int64_t &cursor = g.members.find(uid)->second;
        // The run follows on when the first message past the cursor is not before first_mid.
        if (cursor < mid && g.kept[g.after(cursor)].mid >= first_mid)
            cursor = mid;
        break;
    }
    done({});
}

void MemoryBackend::group_publish(const MessageView &msg, StoreDone done) {
    StoreResult r;
    auto g = groups_.find(msg.to);
    if (g == groups_.end()) {
        r.status = GLIDE_ENOTFOUND;
        r.error = no_such_group;
    } else if (!g->second.members.count(msg.from)) {
        r.status = GLIDE_ENOTFOUND;
        r.error = not_member;
    } else {
        Group &grp = g->second;
        r.mid = next_mid_++;
        r.seq = grp.next_seq++;
        stored_++;
        Message &m = grp.kept.emplace_back(msg.copy());
        m.mid = r.mid;
        m.seq = r.seq;
        if (grp.kept.size() >= grp.trim_at)
            grp.trim();
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
    auto g = groups_.find(gid);
    if (g == groups_.end()) {
        done({GLIDE_ENOTFOUND, no_such_group});
        return;
    }
    for (const auto &[uid, cursor] : g->second.members)
        forget_membership(uid, gid);
    groups_.erase(g);
    done({});
}

void MemoryBackend::forget_membership(const std::string &uid, const std::string &gid) {
    auto it = groups_of_.find(uid);
    it->second.erase(gid);
    if (it->second.empty())
        groups_of_.erase(it);
}

void MemoryBackend::add_member(std::string gid, std::string uid, Done done) {
    auto g = groups_.find(gid);
    if (g == groups_.end()) {
        done({GLIDE_ENOTFOUND, no_such_group});
        return;
    }
    // From the last mid assigned: nothing said before the member joined is owed to it.
    if (g->second.members.try_emplace(uid, next_mid_ - 1).second)
        groups_of_[uid].insert(std::move(gid));
    done({});
}

void MemoryBackend::remove_member(std::string gid, std::string uid, Done done) {
    auto g = groups_.find(gid);
    if (g == groups_.end()) {
        done({GLIDE_ENOTFOUND, no_such_group});
        return;
    }
    if (!g->second.members.erase(uid)) {
        done({GLIDE_ENOTFOUND, not_member});
        return;
    }
    forget_membership(uid, gid);
    done({});
}

void MemoryBackend::group_members(std::string gid, NamesDone done) {
    auto g = groups_.find(gid);
    if (g == groups_.end()) {
        done({GLIDE_ENOTFOUND, no_such_group}, {});
        return;
    }
    std::vector<std::string> uids;
    for (const auto &[uid, cursor] : g->second.members)
        uids.push_back(uid);
    done({}, std::move(uids));
}

void MemoryBackend::list_groups(NamesDone done) {
    std::vector<std::string> ids;
    for (const auto &[gid, g] : groups_)
        ids.push_back(gid);
    done({}, std::move(ids));
}

size_t MemoryBackend::group_kept() const {
    size_t n = 0;
    for (const auto &[gid, g] : groups_)
        n += g.kept.size();
    return n;
}

int64_t MemoryBackend::cursor(std::string_view gid, std::string_view uid) const {
    auto g = groups_.find(gid);
    if (g == groups_.end())
        return -1;
    auto m = g->second.members.find(uid);
    return m == g->second.members.end() ? -1 : m->second;
}

const Message *MemoryBackend::message(int64_t mid) const {
    for (const auto &[uid, q] : receivers_)
        if (size_t i = q.find(mid); i != q.tail && q.v[i].mid == mid)
            return &q.v[i];
    return nullptr;
}

std::vector<int64_t> MemoryBackend::undelivered(std::string_view uid) const {
    std::vector<int64_t> mids;
    if (auto it = receivers_.find(uid); it != receivers_.end())
        for (size_t i = it->second.head; i < it->second.tail; i++)
            if (it->second.v[i].mid > 0)
                mids.push_back(it->second.v[i].mid);
    return mids;
}

} // namespace glide::store
