#include "common/stats.h"

#include <algorithm>

namespace glide {

LabelCounts &LabelCounts::operator=(const LabelCounts &o) {
    m_ = o.m_;
    std::fill(std::begin(cache_), std::end(cache_), Cached{});
    return *this;
}

size_t LabelCounts::cache_slot(std::string_view label) {
    const size_t n = label.size();
    if (n == 0)
        return 0;
    auto at = [&](size_t i) { return static_cast<size_t>(static_cast<uint8_t>(label[i])); };
    return (n + at(0) * 5 + at(n / 2) + at(n - 1) * 4) % cache_size;
}

void LabelCounts::add(std::string_view label, uint64_t n) {
    Cached &c = cache_[cache_slot(label)];
    if (c.count && c.label == label) {
        *c.count += n;
        return;
    }
    auto it = m_.find(label);
    if (it == m_.end()) {
        // Keep a slot for "other"; a label counted there is not cached (it has no key).
        if (m_.size() + 1 >= max_labels) {
            m_.emplace("other", 0).first->second += n;
            return;
        }
        it = m_.emplace(std::string(label), 0).first;
    }
    c = {it->first, &it->second};
    it->second += n;
}

uint64_t LabelCounts::get(std::string_view label) const {
    auto it = m_.find(label);
    return it == m_.end() ? 0 : it->second;
}

void Latency::add(uint64_t ms, bool failed) {
    size_t i = 0;
    while (i < std::size(bounds_ms) && ms > bounds_ms[i])
        i++;
    buckets[i]++;
    count++;
    sum_ms += ms;
    if (failed)
        failures++;
}

} // namespace glide
