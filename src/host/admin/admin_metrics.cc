#include "host/admin/admin_metrics.h"

#include <cinttypes>
#include <cstdio>
#include <map>

namespace glide::host {

namespace {

// Label values escape backslash, double quote and line feed.
std::string escape(const std::string &v) {
    std::string out;
    for (char c : v) {
        if (c == '\\' || c == '"')
            out += '\\';
        if (c == '\n') {
            out += "\\n";
            continue;
        }
        out += c;
    }
    return out;
}

struct Writer {
    std::string text;

    void head(const char *name, const char *type, const char *help) {
        text += "# HELP glide_";
        text += name;
        text += ' ';
        text += help;
        text += "\n# TYPE glide_";
        text += name;
        text += ' ';
        text += type;
        text += '\n';
    }
    void sample(const char *name, const std::string &labels, uint64_t v) {
        char num[32];
        snprintf(num, sizeof num, "%" PRIu64, v);
        text += "glide_";
        text += name;
        if (!labels.empty())
            text += "{" + labels + "}";
        text += ' ';
        text += num;
        text += '\n';
    }
    void one(const char *name, const char *type, const char *help, uint64_t v) {
        head(name, type, help);
        sample(name, {}, v);
    }
    void labelled(const char *name, const char *help, const char *key,
                  const std::vector<MetricsInput::Series> &series, glide_stat_kind kind) {
        head(name, "counter", help);
        std::map<std::string, uint64_t> sorted; // several modules may report one label
        for (const auto &s : series)
            if (s.kind == kind)
                sorted[s.label] += s.value;
        for (const auto &[label, v] : sorted)
            sample(name, std::string(key) + "=\"" + escape(label) + "\"", v);
    }
};

} // namespace

void add_stats(glide_stats &a, const glide_stats &b) {
    a.connections += b.connections;
    a.connections_accepted += b.connections_accepted;
    a.connections_closed += b.connections_closed;
    a.sessions_guest += b.sessions_guest;
    a.sessions_authenticated += b.sessions_authenticated;
    a.messages_in += b.messages_in;
    a.messages_out += b.messages_out;
    a.bytes_in += b.bytes_in;
    a.bytes_out += b.bytes_out;
    a.drops += b.drops;
    a.listeners += b.listeners;
    a.draining |= b.draining;
    a.sessions_closing += b.sessions_closing;
    a.store_calls += b.store_calls;
    a.store_failures += b.store_failures;
    a.store_latency_ms_sum += b.store_latency_ms_sum;
    for (int i = 0; i < GLIDE_STATS_LATENCY_BUCKETS; i++)
        a.store_latency[i] += b.store_latency[i];
}

std::string format_metrics(const MetricsInput &in) {
    const glide_stats &s = in.stats;
    Writer w;
    w.one("connections", "gauge", "Connections open now.", s.connections);
    w.one("connections_accepted_total", "counter", "Connections accepted.",
          s.connections_accepted);
    w.one("connections_closed_total", "counter", "Connections closed.", s.connections_closed);
    w.head("sessions", "gauge", "Sessions by state.");
    w.sample("sessions", "state=\"guest\"", s.sessions_guest);
    w.sample("sessions", "state=\"authenticated\"", s.sessions_authenticated);
    w.sample("sessions", "state=\"closing\"", s.sessions_closing);
    w.labelled("messages_received_total", "Frames received from clients, by action.", "action",
               in.series, GLIDE_STAT_MESSAGES_IN);
    w.labelled("messages_sent_total", "Frames sent to clients, by action.", "action", in.series,
               GLIDE_STAT_MESSAGES_OUT);
    w.one("received_bytes_total", "counter", "Bytes received from clients.", s.bytes_in);
    w.one("sent_bytes_total", "counter", "Bytes sent to clients.", s.bytes_out);
    w.one("messages_dropped_total", "counter",
          "Messages dropped (always 0: a slow consumer is closed instead).", s.drops);
    w.labelled("session_closes_total", "Sessions ended, by WebSocket close code.", "code",
               in.series, GLIDE_STAT_CLOSES);
    w.labelled("limited_total",
               "Frames, authentications and connections refused by the limits, by limit.",
               "limit", in.series, GLIDE_STAT_LIMITED);

    static const uint64_t bounds[] = GLIDE_STATS_LATENCY_BOUNDS_MS;
    static_assert(std::size(bounds) + 1 == GLIDE_STATS_LATENCY_BUCKETS);
    w.head("store_latency_seconds", "histogram",
           "Latency of the host's store calls (auth excluded), to completion or deadline.");
    uint64_t cumulative = 0;
    for (size_t i = 0; i < std::size(bounds); i++) {
        cumulative += s.store_latency[i];
        char le[32];
        snprintf(le, sizeof le, "le=\"%g\"", static_cast<double>(bounds[i]) / 1000.0);
        w.sample("store_latency_seconds_bucket", le, cumulative);
    }
    cumulative += s.store_latency[GLIDE_STATS_LATENCY_BUCKETS - 1];
    w.sample("store_latency_seconds_bucket", "le=\"+Inf\"", cumulative);
    char sum[48];
    snprintf(sum, sizeof sum, "%.3f", static_cast<double>(s.store_latency_ms_sum) / 1000.0);
    w.text += "glide_store_latency_seconds_sum ";
    w.text += sum;
    w.text += '\n';
    w.sample("store_latency_seconds_count", {}, s.store_calls);
    w.one("store_failures_total", "counter", "Store calls that failed or timed out.",
          s.store_failures);
    w.one("listeners", "gauge", "Listening sockets.", s.listeners);
    w.one("draining", "gauge", "1 while the server drains before exit.", s.draining ? 1 : 0);
    if (in.nodes) {
        w.one("cluster_nodes", "gauge",
              "Nodes of the cluster asked for the figures above (this one included).", in.nodes);
        w.one("cluster_nodes_answered", "gauge",
              "Of those, the nodes whose figures are summed above.", in.nodes_answered);
    }
    return w.text;
}

} // namespace glide::host
