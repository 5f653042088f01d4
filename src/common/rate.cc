#include "common/rate.h"

#include <algorithm>

namespace glide {

bool TokenBucket::available(int64_t now_ms, const RateLimit &l) {
    const int64_t cap = static_cast<int64_t>(l.burst) * l.per_ms;
    if (units_ < 0) {
        units_ = cap;
    } else if (now_ms > last_ms_) {
        // Capped first, so the product stays far from overflowing for the directives' bounds
        // (count and burst up to 10^6, per_ms up to a minute).
        const int64_t elapsed = std::min<int64_t>(now_ms - last_ms_, cap);
        units_ = std::min(cap, units_ + elapsed * l.count);
    }
    last_ms_ = std::max(last_ms_, now_ms);
    return units_ >= static_cast<int64_t>(l.per_ms);
}

bool TokenBucket::full(int64_t now_ms, const RateLimit &l) const {
    if (units_ < 0)
        return true;
    const int64_t cap = static_cast<int64_t>(l.burst) * l.per_ms;
    const int64_t elapsed = std::min<int64_t>(std::max<int64_t>(now_ms - last_ms_, 0), cap);
    return units_ + elapsed * l.count >= cap;
}

bool KeyedBuckets::available(std::string_view key, int64_t now_ms, const RateLimit &l) {
    auto it = m_.find(key);
    return it == m_.end() || it->second.available(now_ms, l);
}

bool KeyedBuckets::take(std::string_view key, int64_t now_ms, const RateLimit &l) {
    auto it = m_.find(key);
    if (it == m_.end()) {
        if (m_.size() >= max_keys_ || now_ms - swept_ms_ >= static_cast<int64_t>(l.per_ms))
            sweep(now_ms, l);
        if (m_.size() >= max_keys_)
            m_.clear();
        it = m_.emplace(std::string(key), TokenBucket{}).first;
    }
    return it->second.try_take(now_ms, l);
}

void KeyedBuckets::sweep(int64_t now_ms, const RateLimit &l) {
    swept_ms_ = now_ms;
    std::erase_if(m_, [&](const auto &kv) { return kv.second.full(now_ms, l); });
}

} // namespace glide
