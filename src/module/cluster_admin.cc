// The control API across the cluster: this node's statistics and sessions encoded for the bus
// (the answers to other nodes' queries), and the queries themselves.
#include <cinttypes>
#include <cstdio>

#include "module/module.h"

namespace glide {

namespace {

std::string encode_stats(const Module::NodeStats &ns) {
    const glide_stats &s = ns.stats;
    std::string out;
    const uint64_t v[] = {s.connections,      s.connections_accepted, s.connections_closed,
                          s.sessions_guest,   s.sessions_authenticated, s.messages_in,
                          s.messages_out,     s.bytes_in,             s.bytes_out,
                          s.drops,            s.listeners,            s.draining,
                          s.sessions_closing, s.store_calls,          s.store_failures,
                          s.store_latency_ms_sum};
    for (uint64_t x : v)
        append_field(out, std::to_string(x));
    for (uint64_t x : s.store_latency)
        append_field(out, std::to_string(x));
    for (const auto &[kind, label, value] : ns.series) {
        append_field(out, std::to_string(static_cast<int>(kind)));
        append_field(out, label);
        append_field(out, std::to_string(value));
    }
    return out;
}

bool take_number(std::string_view &in, uint64_t *v) {
    std::string_view f;
    if (!take_field(in, &f) || f.empty() || f.size() > 20)
        return false;
    *v = strtoull(std::string(f).c_str(), nullptr, 10);
    return true;
}

bool decode_stats(std::string_view in, Module::NodeStats *ns) {
    glide_stats &s = ns->stats;
    uint64_t listeners = 0, draining = 0;
    uint64_t *v[] = {&s.connections,      &s.connections_accepted, &s.connections_closed,
                     &s.sessions_guest,   &s.sessions_authenticated, &s.messages_in,
                     &s.messages_out,     &s.bytes_in,             &s.bytes_out,
                     &s.drops,            &listeners,              &draining,
                     &s.sessions_closing, &s.store_calls,          &s.store_failures,
                     &s.store_latency_ms_sum};
    for (uint64_t *x : v)
        if (!take_number(in, x))
            return false;
    for (uint64_t &x : s.store_latency)
        if (!take_number(in, &x))
            return false;
    s.listeners = static_cast<uint32_t>(listeners);
    s.draining = static_cast<uint32_t>(draining);
    while (!in.empty()) {
        uint64_t kind, value;
        std::string_view label;
        if (!take_number(in, &kind) || !take_field(in, &label) || !take_number(in, &value))
            return false;
        ns->series.emplace_back(static_cast<glide_stat_kind>(kind), std::string(label), value);
    }
    return true;
}

// A session as the bus carries it ('S' answers): id, uid, device, name, peer, codec,
// connected_ms, queued.
void encode_session(std::string &out, const hub::SessionInfo &s) {
    append_field(out, std::to_string(s.id));
    append_field(out, s.uid);
    append_field(out, s.device_id);
    append_field(out, s.device_name);
    append_field(out, s.peer);
    append_field(out, s.codec == codec::Codec::protobuf ? "protobuf" : "json");
    append_field(out, std::to_string(s.started_ms));
    append_field(out, std::to_string(s.queued));
}

} // namespace

Module::NodeStats Module::node_stats() const {
    NodeStats ns{};
    ns.stats.size = sizeof ns.stats;
    ns.stats.version = 2;
    stats(ns.stats);
    if (hub_) {
        hub_->stats().each_labelled([&](glide_stat_kind kind, std::string_view label,
                                        uint64_t n) {
            ns.series.emplace_back(kind, std::string(label), n);
        });
    }
    return ns;
}

std::string Module::cluster_answer(char what, std::string_view arg) {
    if (what == 'M')
        return encode_stats(node_stats());
    if (what != 'S' || !hub_)
        return {};
    // arg: the limit, then the uid (empty: all).
    uint64_t limit = 0;
    if (!take_number(arg, &limit))
        return {};
    std::string out = "0"; // "1": truncated at the limit
    uint64_t n = 0;
    hub_->list_sessions(arg, [&](const hub::SessionInfo &s) {
        if (n == limit) {
            out[0] = '1';
            return false;
        }
        n++;
        encode_session(out, s);
        return true;
    });
    return out;
}

void Module::cluster_stats(uint32_t timeout_ms, NodeStatsFn each, ClusterDone done) {
    NodeStats mine = node_stats();
    each(hub_ ? hub_->conf().node_id : current_->conf.node_id, mine);
    if (!bus_) {
        done(1, 1);
        return;
    }
    bus_->ask_all(
        'M', {}, timeout_ms,
        [this, each](std::string_view node, std::string_view body) {
            NodeStats ns{};
            ns.stats.size = sizeof ns.stats;
            ns.stats.version = 2;
            if (!decode_stats(body, &ns)) {
                log_.log(GLIDE_LOG_WARN, "cluster: node %.*s sent statistics that do not decode",
                         static_cast<int>(node.size()), node.data());
                return;
            }
            each(node, ns);
        },
        [done](uint32_t nodes, uint32_t answered) { done(nodes + 1, answered + 1); });
}

void Module::cluster_sessions(std::string_view uid, uint32_t limit, uint32_t timeout_ms,
                              SessionFn each, ClusterDone done) {
    // Stops at the first `false` from each, for this node's and every later answer.
    auto stopped = std::make_shared<bool>(false);
    const std::string me = hub_->conf().node_id;
    hub_->list_sessions(uid, [&](const hub::SessionInfo &s) {
        glide_session_info i = session_info(s);
        return !(*stopped = !each(me, i));
    });
    if (!bus_) {
        done(1, 1);
        return;
    }
    std::string arg;
    append_field(arg, std::to_string(limit));
    arg += uid;
    bus_->ask_all(
        'S', arg, timeout_ms,
        [this, each, stopped](std::string_view node, std::string_view body) {
            if (*stopped || body.empty())
                return;
            body.remove_prefix(1); // the truncation flag: the caller's limit says the same
            while (!body.empty() && !*stopped) {
                std::string_view f[8];
                for (auto &x : f)
                    if (!take_field(body, &x)) {
                        log_.log(GLIDE_LOG_WARN,
                                 "cluster: node %.*s sent a session list that does not decode",
                                 static_cast<int>(node.size()), node.data());
                        return;
                    }
                glide_session_info i{};
                i.size = sizeof i;
                i.version = 1;
                i.id = strtoull(std::string(f[0]).c_str(), nullptr, 10);
                i.uid = {f[1].data(), f[1].size()};
                i.device_id = {f[2].data(), f[2].size()};
                i.device_name = {f[3].data(), f[3].size()};
                i.peer = {f[4].data(), f[4].size()};
                i.codec = f[5] == "protobuf" ? "protobuf" : "json";
                i.connected_ms = strtoll(std::string(f[6]).c_str(), nullptr, 10);
                i.queued_bytes = strtoull(std::string(f[7]).c_str(), nullptr, 10);
                *stopped = !each(node, i);
            }
        },
        [done](uint32_t nodes, uint32_t answered) { done(nodes + 1, answered + 1); });
}

glide_session_info Module::session_info(const hub::SessionInfo &s) {
    glide_session_info i{};
    i.size = sizeof i;
    i.version = 1;
    i.id = s.id;
    i.uid = {s.uid.data(), s.uid.size()};
    i.device_id = {s.device_id.data(), s.device_id.size()};
    i.device_name = {s.device_name.data(), s.device_name.size()};
    i.peer = {s.peer.data(), s.peer.size()};
    i.codec = s.codec == codec::Codec::protobuf ? "protobuf" : "json";
    i.connected_ms = s.started_ms;
    i.queued_bytes = s.queued;
    return i;
}

} // namespace glide
