#include "bench/histogram.h"

namespace glide::bench {

void Histogram::merge(const Histogram &o) {
    for (int i = 0; i < kBuckets; i++)
        counts_[i] += o.counts_[i];
    total_ += o.total_;
    if (o.max_ > max_)
        max_ = o.max_;
}

Histogram Histogram::since(const Histogram &earlier) const {
    Histogram d;
    for (int i = 0; i < kBuckets; i++) {
        d.counts_[i] = counts_[i] >= earlier.counts_[i] ? counts_[i] - earlier.counts_[i] : 0;
        if (d.counts_[i]) {
            d.total_ += d.counts_[i];
            d.max_ = bucket_high(static_cast<size_t>(i));
        }
    }
    if (d.max_ > max_)
        d.max_ = max_;
    return d;
}

uint64_t Histogram::bucket_high(size_t i) {
    if (i < static_cast<size_t>(kSub))
        return i;
    size_t shift = i / kSub - 1;
    uint64_t sub = i % kSub;
    return ((static_cast<uint64_t>(kSub) | sub) << shift) + ((1ull << shift) - 1);
}

uint64_t Histogram::quantile(double q) const {
    if (total_ == 0)
        return 0;
    if (q >= 1.0)
        return max_;
    uint64_t rank = static_cast<uint64_t>(q * static_cast<double>(total_));
    if (rank >= total_)
        rank = total_ - 1;
    uint64_t seen = 0;
    for (int i = 0; i < kBuckets; i++) {
        seen += counts_[i];
        if (seen > rank) {
            uint64_t v = bucket_high(static_cast<size_t>(i));
            return v < max_ ? v : max_;
        }
    }
    return max_;
}

double Histogram::mean() const {
    if (total_ == 0)
        return 0;
    double sum = 0;
    for (int i = 0; i < kBuckets; i++)
        if (counts_[i])
            sum += static_cast<double>(counts_[i]) * static_cast<double>(bucket_high(i));
    return sum / static_cast<double>(total_);
}

} // namespace glide::bench
