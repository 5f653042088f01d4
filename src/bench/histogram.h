// A log-bucketed latency histogram in the manner of HdrHistogram: values (nanoseconds) fall in
// 64 linear sub-buckets per power of two, so every recorded value is kept to within 1/64
// (1.6 %) at any magnitude, in a fixed array that can live in shared memory and be merged by
// adding counts.
#pragma once

#include <cstddef>
#include <cstdint>

namespace glide::bench {

class Histogram {
public:
    static constexpr int kSubBits = 6;
    static constexpr int kSub = 1 << kSubBits;
    static constexpr int kExponents = 64 - kSubBits;
    static constexpr int kBuckets = (kExponents + 1) * kSub;

    void record(uint64_t v) {
        counts_[index(v)]++;
        total_++;
        if (v > max_)
            max_ = v;
    }
    void merge(const Histogram &o);
    // What was recorded since `earlier` (a copy of this histogram taken before): the counts'
    // differences, the total recounted from them (a copy read while a worker records may be a
    // sample ahead in one field), and as max the highest bucket's top value (capped at max()).
    Histogram since(const Histogram &earlier) const;
    uint64_t count() const { return total_; }
    uint64_t max() const { return max_; }
    // The value at quantile q (0..1): the highest value of the bucket holding it (max for 1).
    uint64_t quantile(double q) const;
    double mean() const;

private:
    static size_t index(uint64_t v) {
        if (v < kSub)
            return static_cast<size_t>(v);
        int msb = 63 - __builtin_clzll(v);
        int shift = msb - kSubBits;
        return static_cast<size_t>((shift + 1) * kSub + ((v >> shift) & (kSub - 1)));
    }
    static uint64_t bucket_high(size_t i);

    uint64_t counts_[kBuckets] = {};
    uint64_t total_ = 0;
    uint64_t max_ = 0;
};

} // namespace glide::bench
