// The module's directives. Each record says what the directive is, its default, its bounds and
// whether a reload applies it; the man page glided.conf(5) and conf/glided.conf are generated
// from these records (build/gen-docs), and a test fails when they differ.
#include "module/module_conf.h"

#include <cstring>

namespace glide {

using conf::Spec;

static Status set_listen(const Spec &spec, void *conf, const std::vector<std::string> &args) {
    auto &c = *static_cast<ModuleConf *>(conf);
    ListenConf l;
    l.text = args[0];
    auto addr = net::parse_listen_address(args[0], spec.name);
    if (!addr)
        return make_error(addr.error());
    l.address = addr.value();
    bool have_transport = false, have_codec = false;
    for (size_t i = 1; i < args.size(); i++) {
        const std::string &a = args[i];
        if ((a == "ws" || a == "tcp") && !have_transport) {
            l.transport = a == "ws" ? net::Transport::ws : net::Transport::tcp;
            have_transport = true;
        } else if ((a == "json" || a == "protobuf") && !have_codec) {
            l.codec = a == "json" ? net::CodecKind::json : net::CodecKind::protobuf;
            have_codec = true;
        } else if (a == "ssl" && !l.ssl) {
            l.ssl = true;
        } else if (a.rfind("backlog=", 0) == 0) {
            uint64_t n;
            if (!conf::parse_uint(std::string_view(a).substr(8), n) || n < 1 || n > 65535)
                return make_error("invalid backlog \"" + a + "\" in \"" + spec.name +
                                  "\" directive");
            l.backlog = static_cast<uint32_t>(n);
        } else {
            return make_error("invalid parameter \"" + a + "\" in \"" + spec.name +
                              "\" directive");
        }
    }
    c.listens.push_back(std::move(l));
    return {};
}

static Status set_origins(const Spec &spec, void *conf, const std::vector<std::string> &args) {
    auto &c = *static_cast<ModuleConf *>(conf);
    for (const auto &a : args) {
        if (a == "*") {
            if (args.size() != 1)
                return make_error("\"*\" must be the only value of the \"" +
                                  std::string(spec.name) + "\" directive");
            c.allowed_origins.clear();
            return {};
        }
        // An origin is scheme://host[:port] with nothing after it (RFC 6454).
        size_t sep = a.find("://");
        if (sep == std::string::npos || sep == 0 || a.size() == sep + 3 ||
            a.find('/', sep + 3) != std::string::npos)
            return conf::invalid_value(spec, a);
        c.allowed_origins.push_back(a);
    }
    return {};
}

static Status set_cluster(const Spec &spec, void *conf, const std::vector<std::string> &args) {
    auto &c = *static_cast<ModuleConf *>(conf);
    c.cluster.clear();
    if (args.size() == 1 && args[0] == "off")
        return {};
    for (const std::string &a : args) {
        auto u = cluster::parse_redis_url(a);
        if (!u)
            return make_error("invalid value \"" + a + "\" in \"" + spec.name +
                              "\" directive: " + u.error());
        for (const cluster::RedisUrl &o : c.cluster)
            if (o.host == u->host && o.port == u->port && o.db == u->db)
                return make_error("\"" + a + "\" is given twice in \"" + spec.name +
                                  "\" directive");
        c.cluster.push_back(std::move(u.value()));
    }
    return {};
}

static Status set_ws_path(const Spec &spec, void *conf, const std::vector<std::string> &args) {
    const std::string &a = args[0];
    if (a.empty() || a[0] != '/' || a.find_first_of(" ?#\t") != std::string::npos)
        return conf::invalid_value(spec, a);
    static_cast<ModuleConf *>(conf)->ws_path = a;
    return {};
}

static Status set_node_id(const Spec &spec, void *conf, const std::vector<std::string> &args) {
    const std::string &a = args[0];
    // The node id is part of glide's gate ids ("node_uid_device"): no '_', printable.
    if (a.empty() || a.size() > 64)
        return conf::invalid_value(spec, a);
    for (char ch : a)
        if (!(isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '.'))
            return conf::invalid_value(spec, a);
    static_cast<ModuleConf *>(conf)->node_id = a;
    return {};
}

constexpr uint64_t KiB = 1024, MiB = 1024 * KiB, GiB = 1024 * MiB;
constexpr uint64_t SEC = 1000, MIN = 60 * SEC, HOUR = 60 * MIN;

static const Spec specs[] = {
    {"glide_listen", conf::CTX_MAIN | conf::MULTI, 1, 5, set_listen, 0, 0, nullptr, nullptr,
     "glide_listen ADDRESS:PORT [ws | tcp] [json | protobuf] [ssl] [backlog=N]",
     "Opens a listener. ADDRESS may be an IPv4 address, an IPv6 address in brackets, a host name "
     "or *; PORT 0 picks a free port (the log says which). ws listeners accept WebSocket "
     "upgrades at glide_ws_path and let the client pick its codec with the subprotocol "
     "glide.json or glide.protobuf (json when none is offered); tcp listeners carry one "
     "message per 4-byte big-endian length prefix in the codec given here. ssl adds TLS "
     "(glide_ssl_certificate). backlog is the listen(2) queue. May be repeated; with none, the "
     "module serves nothing. Under several worker processes every worker opens the same "
     "addresses with SO_REUSEPORT and the kernel spreads new connections among them (glided "
     "refuses PORT 0 there: each worker would get a port of its own)."},
    {"glide_ws_path", conf::CTX_MAIN | conf::RELOADABLE, 1, 1, set_ws_path, 0, 0, nullptr, "/ws",
     "glide_ws_path PATH",
     "The request path of the WebSocket upgrade; other paths are answered 404."},
    {"glide_node_id", conf::CTX_MAIN, 1, 1, set_node_id, 0, 0, nullptr, "node1",
     "glide_node_id NAME",
     "This node's name in the cluster and in presence events: letters, digits, '-' and '.'. "
     "A host running several worker processes (glided's worker_processes) names each worker "
     "NAME.INDEX, INDEX being a number no other running worker has."},
    {"glide_heartbeat_interval", conf::CTX_MAIN | conf::RELOADABLE, 1, 1,
     conf::set_time<&ModuleConf::heartbeat_interval_ms>, 1 * SEC, 1 * HOUR, nullptr, "30s",
     "glide_heartbeat_interval TIME",
     "Idle time after which the server sends a heartbeat and counts a lost one; also the "
     "heartbeat_interval announced in hello (whole seconds)."},
    {"glide_heartbeat_lost", conf::CTX_MAIN | conf::RELOADABLE, 1, 1,
     conf::set_uint<&ModuleConf::heartbeat_lost>, 1, 100, nullptr, "3",
     "glide_heartbeat_lost N",
     "Silent intervals allowed before the session is closed (close code 4000)."},
    {"glide_max_message_size", conf::CTX_MAIN | conf::RELOADABLE, 1, 1,
     conf::set_size<&ModuleConf::max_message_size>, 128, 64 * MiB, nullptr, "64k",
     "glide_max_message_size SIZE",
     "The largest message accepted from a client, checked from the frame header before any "
     "payload is buffered; larger ones close the connection (close code 1009)."},
    {"glide_send_buffer_limit", conf::CTX_MAIN | conf::RELOADABLE, 1, 1,
     conf::set_size<&ModuleConf::send_buffer_limit>, 4 * KiB, 1 * GiB, nullptr, "1m",
     "glide_send_buffer_limit SIZE",
     "Outbound bytes a session may have queued; past it the session is closed as a slow "
     "consumer (close code 1008) and what it did not acknowledge stays stored for its next "
     "login."},
    {"glide_handshake_timeout", conf::CTX_MAIN | conf::RELOADABLE, 1, 1,
     conf::set_time<&ModuleConf::handshake_timeout_ms>, 100, 10 * MIN, nullptr, "10s",
     "glide_handshake_timeout TIME",
     "Time a new connection has to complete the WebSocket upgrade (and TLS handshake)."},
    {"glide_callback_timeout", conf::CTX_MAIN | conf::RELOADABLE, 1, 1,
     conf::set_time<&ModuleConf::callback_timeout_ms>, 10, 10 * MIN, nullptr, "5s",
     "glide_callback_timeout TIME",
     "Deadline of an asynchronous host call (auth, store); past it the client gets the "
     "request's failure answer and a late completion is ignored."},
    {"glide_linger_timeout", conf::CTX_MAIN | conf::RELOADABLE, 1, 1,
     conf::set_time<&ModuleConf::linger_timeout_ms>, 10, 10 * MIN, nullptr, "2s",
     "glide_linger_timeout TIME",
     "After the server closes a connection (its last bytes sent and its write side shut), "
     "the time it waits for the peer to close before dropping the socket."},
    {"glide_allowed_origins", conf::CTX_MAIN | conf::RELOADABLE, 1, 64, set_origins, 0, 0,
     nullptr, "*", "glide_allowed_origins ORIGIN ... | *",
     "Origins (scheme://host[:port]) whose browsers may connect; others are answered 403. * "
     "allows any origin; requests without an Origin header (non-browser clients) are always "
     "allowed."},
    {"glide_ssl_certificate", conf::CTX_MAIN, 1, 1,
     conf::set_string<&ModuleConf::ssl_certificate>, 0, 0, nullptr, nullptr,
     "glide_ssl_certificate FILE",
     "PEM certificate (chain) for listeners marked ssl."},
    {"glide_ssl_certificate_key", conf::CTX_MAIN, 1, 1,
     conf::set_string<&ModuleConf::ssl_certificate_key>, 0, 0, nullptr, nullptr,
     "glide_ssl_certificate_key FILE", "PEM private key of glide_ssl_certificate."},
    {"glide_cluster", conf::CTX_MAIN, 1, 16, set_cluster, 0, 0, nullptr, "off",
     "glide_cluster redis://[[USER]:PASSWORD@]HOST:PORT[/DB] ... | off",
     "Joins this node to the cluster bus: the Redis servers through which nodes (glided "
     "processes, and the worker processes of each) route chat, receipts, kick-outs, group "
     "messages and presence to each other. Several URLs shard the bus by consistent hashing; "
     "every node must list the same URLs in the same order. Every node needs its own "
     "glide_node_id and the same store (store sqlite on one machine, store postgresql across "
     "machines); store memory is refused with a cluster. The store stays the source of truth: "
     "a message is acknowledged once stored, whatever the bus does; while Redis is "
     "unreachable, remote deliveries wait in the store, and when it returns every node replays "
     "its sessions' undelivered messages. A node silent for 5 s leaves the directory."},
};

std::span<const Spec> module_directives() { return specs; }

static std::string where(const ListenConf &l) {
    return " in " + l.file + ":" + std::to_string(l.line);
}

Status finish_module_conf(ModuleConf &c) {
    for (size_t i = 0; i < c.listens.size(); i++) {
        const ListenConf &l = c.listens[i];
        for (size_t j = 0; j < i; j++)
            if (c.listens[j].address == l.address && l.address.port() != 0)
                return make_error("duplicate listen " + l.address.text() + where(l));
        if (l.ssl && c.ssl_certificate.empty())
            return make_error("no \"glide_ssl_certificate\" is defined for the \"glide_listen "
                              "... ssl\" directive" + where(l));
        if (l.ssl && c.ssl_certificate_key.empty())
            return make_error("no \"glide_ssl_certificate_key\" is defined for the "
                              "\"glide_listen ... ssl\" directive" + where(l));
    }
    return {};
}

} // namespace glide
