// Rate limits: a token bucket (nginx's limit_req with a burst), and token buckets by key (a
// source address). Time is the caller's monotonic clock in milliseconds (session::TimerService
// in the protocol core), so tests drive it by hand. Nothing here allocates per event.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/strings.h"

namespace glide {

// `count` events per `per_ms` milliseconds, up to `burst` at once. count 0: no limit.
struct RateLimit {
    uint32_t count = 0;
    uint32_t burst = 0;
    uint32_t per_ms = 1000;
    bool on() const { return count != 0; }
};

// A token bucket: tokens flow in at the limit's rate and at most `burst` are held; an event
// takes one. The limit is passed with each call rather than stored, so a reload applies at once
// and a bucket costs 16 bytes. A new bucket is full.
class TokenBucket {
public:
    // Refills the bucket up to now_ms; true when a token is there (nothing is taken).
    bool available(int64_t now_ms, const RateLimit &l);
    // Takes one token (available() said there is one).
    void take(const RateLimit &l) { units_ -= l.per_ms; }
    // available(), then take() when it said yes.
    bool try_take(int64_t now_ms, const RateLimit &l) {
        if (!available(now_ms, l))
            return false;
        take(l);
        return true;
    }
    // Full again at now_ms: the bucket remembers nothing a new one would not (it may go).
    bool full(int64_t now_ms, const RateLimit &l) const;

private:
    // A token is per_ms units and each millisecond brings `count` units: integers only, exact
    // for any rate.
    int64_t last_ms_ = 0;
    int64_t units_ = -1; // -1: never used, so full
};

// Token buckets by key (a source address), for "N events per minute per address": a key has a
// bucket only while it is not full. At most max_keys keys: buckets that have filled up again are
// forgotten first (swept at most once per limit period, and whenever the table is full); a table
// full of draining buckets is cleared, so many addresses can only make the limit forget, never
// grow memory without bound.
class KeyedBuckets {
public:
    explicit KeyedBuckets(size_t max_keys) : max_keys_(max_keys) {}

    // Whether key has a token (a key without a bucket has a full one).
    bool available(std::string_view key, int64_t now_ms, const RateLimit &l);
    // Takes one of key's tokens (creating its bucket); false when it had none left.
    bool take(std::string_view key, int64_t now_ms, const RateLimit &l);
    size_t size() const { return m_.size(); }

private:
    void sweep(int64_t now_ms, const RateLimit &l);

    size_t max_keys_;
    int64_t swept_ms_ = 0;
    StringMap<TokenBucket> m_;
};

} // namespace glide
