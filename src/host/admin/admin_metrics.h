// /metrics: the module's counters in the Prometheus text exposition format (version 0.0.4).
// Pure formatting, so it is tested without a server.
//
// Families (all prefixed glide_):
//   connections                       gauge    connections open now
//   connections_accepted_total        counter
//   connections_closed_total          counter
//   sessions{state}                   gauge    guest, authenticated, closing
//   messages_received_total{action}   counter  frames from clients ("other": unknown actions,
//                                              "invalid": undecodable)
//   messages_sent_total{action}       counter
//   received_bytes_total, sent_bytes_total
//   messages_dropped_total            counter  always 0: the module closes instead of dropping
//   session_closes_total{code}        counter  by WebSocket close code
//   store_latency_seconds             histogram  host store calls (not auth)
//   store_failures_total              counter  failed or timed out store calls
//   listeners, draining               gauge
//   cluster_nodes, cluster_nodes_answered  gauge  with a cluster bus: the nodes summed above
#pragma once

#include <string>
#include <vector>

#include "glide/module.h"

namespace glide::host {

struct MetricsInput {
    glide_stats stats{}; // version 2 (summed over the loaded modules)
    struct Series {
        glide_stat_kind kind;
        std::string label;
        uint64_t value;
    };
    std::vector<Series> series; // from glide_api.stats_each
    // Cluster-wide: the nodes asked and those that answered (0 and 0: this process only).
    uint32_t nodes = 0, nodes_answered = 0;
};

std::string format_metrics(const MetricsInput &in);

// Adds b's counters to a (gauges too: they are per module). Leaves size and version.
void add_stats(glide_stats &a, const glide_stats &b);

} // namespace glide::host
