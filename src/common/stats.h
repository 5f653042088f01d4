// The counters of one module instance: one set (Stats), counted once each. The transport glue
// (module/) counts connections, frames and bytes; the hub counts sessions, frames out by action,
// closes and draining; dispatch counts frames in by action; the host-request queue (port/) the
// store latency. glide_stats (glide/module.h) and the admin API are images of this set.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <map>
#include <utility>
#include <string>
#include <string_view>

#include "glide/module.h"

namespace glide {

// Counts by a label (an action name, a close code). At most max_labels distinct labels: later
// ones count under "other", so what clients send cannot grow it without bound.
//
// add() runs for every frame: a small cache indexed by a few of the label's bytes remembers
// where a label's count is, so a label seen before costs one comparison instead of a walk down
// the map (the protocol's action names and close codes each get a slot of their own).
class LabelCounts {
public:
    static constexpr size_t max_labels = 64;
    LabelCounts() = default;
    // A copy counts apart: it gets the counts, not the cache (which points into the map).
    LabelCounts(const LabelCounts &o) : m_(o.m_) {}
    LabelCounts &operator=(const LabelCounts &o);
    void add(std::string_view label, uint64_t n = 1);
    uint64_t get(std::string_view label) const;
    const std::map<std::string, uint64_t, std::less<>> &all() const { return m_; }
    // The cache slot of a label (exposed for the test of the spread).
    static size_t cache_slot(std::string_view label);
    static constexpr size_t cache_size = 64;

private:
    struct Cached {
        std::string_view label; // a key of m_ (map nodes stay put)
        uint64_t *count = nullptr;
    };
    std::map<std::string, uint64_t, std::less<>> m_;
    Cached cache_[cache_size];
};

// Latency of the host's store calls (every kind but auth), completion or deadline included.
// Bucket i counts calls that took at most bounds_ms[i] (and more than the bound before it);
// the last bucket counts the rest. Bounds match GLIDE_STATS_LATENCY_BOUNDS_MS (glide/module.h).
struct Latency {
    static constexpr uint64_t bounds_ms[] = {1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 5000};
    static constexpr size_t n_buckets = std::size(bounds_ms) + 1;
    uint64_t buckets[n_buckets] = {};
    uint64_t count = 0;
    uint64_t sum_ms = 0;
    uint64_t failures = 0; // failed or timed out
    void add(uint64_t ms, bool failed);
};

struct Stats {
    // -- the transport's (module/; a test's fake transport) --
    uint64_t connections = 0; // open now
    uint64_t connections_accepted = 0;
    uint64_t connections_closed = 0;
    uint64_t messages_in = 0;
    uint64_t messages_out = 0;
    uint64_t bytes_in = 0;
    uint64_t bytes_out = 0;
    uint64_t drops = 0; // by design never incremented: the module closes instead of dropping
    // -- the hub's: gauges filled by Hub::stats(), the rest counted as it happens --
    uint64_t sessions_guest = 0;
    uint64_t sessions_authenticated = 0;
    uint64_t sessions_closing = 0;
    bool draining = false;
    LabelCounts messages_out_by_action; // frames sent, by action
    LabelCounts closes_by_code;         // sessions ended, by close code ("1000", "4001", ...)
    // -- dispatch's: decoded inbound frames by action (actions the module does not know:
    //    "other"; frames that do not decode: "invalid") --
    LabelCounts messages_in_by_action;
    // -- what the limits refused, by limit (glided.conf(5); labels in glide/module.h,
    //    GLIDE_STAT_LIMITED): the module counts connections, dispatch frames, actions auths --
    LabelCounts limited;
    // -- the host-request queue's (port/requests.h) --
    Latency store_latency;

    // Calls fn(glide_stat_kind, label, count) for every labelled counter, in kind then label
    // order (glide_api.stats_each and the cluster's answers).
    template <typename F> void each_labelled(F &&fn) const {
        const std::pair<glide_stat_kind, const LabelCounts *> kinds[] = {
            {GLIDE_STAT_MESSAGES_IN, &messages_in_by_action},
            {GLIDE_STAT_MESSAGES_OUT, &messages_out_by_action},
            {GLIDE_STAT_CLOSES, &closes_by_code},
            {GLIDE_STAT_LIMITED, &limited}};
        for (const auto &[kind, counts] : kinds)
            for (const auto &[label, n] : counts->all())
                fn(kind, std::string_view(label), n);
    }
};

} // namespace glide
