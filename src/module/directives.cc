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

// "off" (0), else the generic setter (N, TIME) with the record's bounds.
template <auto Member, conf::Setter Set>
static Status or_off(const Spec &spec, void *conf, const std::vector<std::string> &args) {
    if (args.size() == 1 && args[0] == "off") {
        static_cast<ModuleConf *>(conf)->*Member = 0;
        return {};
    }
    return Set(spec, conf, args);
}

// "RATE [burst=N] | off": RATE messages a second (the record's bounds), a burst of N (RATE
// when not given; 1 up to the record's maximum).
template <auto Member>
static Status set_rate(const Spec &spec, void *conf, const std::vector<std::string> &args) {
    RateLimit &r = static_cast<ModuleConf *>(conf)->*Member;
    if (args[0] == "off") {
        if (args.size() != 1)
            return make_error("invalid parameter \"" + args[1] + "\" in \"" + spec.name +
                              "\" directive");
        r = {};
        return {};
    }
    uint64_t rate, burst;
    if (Status st = conf::detail::parse_bounded(spec, {args[0]}, conf::parse_uint,
                                                conf::detail::format_uint, UINT32_MAX, rate);
        !st)
        return st;
    burst = rate;
    for (size_t i = 1; i < args.size(); i++) {
        const std::string &a = args[i];
        if (a.rfind("burst=", 0) != 0 || i != 1)
            return make_error("invalid parameter \"" + a + "\" in \"" + spec.name +
                              "\" directive");
        if (!conf::parse_uint(std::string_view(a).substr(6), burst) || burst < 1 ||
            burst > spec.max)
            return make_error("invalid burst \"" + a + "\" in \"" + spec.name +
                              "\" directive, it must be between 1 and " +
                              std::to_string(spec.max));
    }
    r = {static_cast<uint32_t>(rate), static_cast<uint32_t>(burst), 1000};
    return {};
}

// "N | auto | off".
static Status set_max_connections(const Spec &spec, void *conf,
                                  const std::vector<std::string> &args) {
    auto &c = *static_cast<ModuleConf *>(conf);
    c.max_connections_auto = args[0] == "auto";
    if (c.max_connections_auto) {
        c.max_connections = 0;
        return {};
    }
    return or_off<&ModuleConf::max_connections, conf::set_uint<&ModuleConf::max_connections>>(
        spec, conf, args);
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
    {"glide_limit_message_rate", conf::CTX_MAIN | conf::RELOADABLE, 1, 2,
     set_rate<&ModuleConf::limit_message_rate>, 1, 1000000, nullptr, "100 burst=200",
     "glide_limit_message_rate RATE [burst=N] | off",
     "Frames one connection may send per second, with a burst of N (a token bucket that holds N "
     "and refills at RATE a second; N is RATE when not given). Every frame counts but "
     "heartbeats and receipts (ack.request and the other ack.* actions): a client's heartbeat "
     "can never trip it, and a client may acknowledge a long offline replay as fast as it "
     "arrives. A frame over the limit is not handled: the client gets notify.error \"rate limit "
     "exceeded: RATE messages per second\" with the request's seq, and "
     "glide_limit_message_rate_close closes a client that keeps on. A person types a few "
     "messages a second at most, and a chat application's own traffic (state subscriptions, "
     "resends after a reconnect) comes in short bursts: 100 a second with a burst of 200 never "
     "touches them, while one runaway or hostile connection can no longer take the server's "
     "time from everyone else (a loop serves on the order of 100,000 messages a second). Bots "
     "and bulk senders that need more get a connection of their own with a higher value, or "
     "off."},
    {"glide_limit_user_message_rate", conf::CTX_MAIN | conf::RELOADABLE, 1, 2,
     set_rate<&ModuleConf::limit_user_message_rate>, 1, 1000000, nullptr, "200 burst=400",
     "glide_limit_user_message_rate RATE [burst=N] | off",
     "The same limit for all the sessions of one uid on this node together (a user's devices), "
     "counted as glide_limit_message_rate counts; over it the client gets notify.error \"rate "
     "limit exceeded: RATE messages per second per user\". Guests are not counted here (they "
     "have no uid yet). Twice the connection's default: a user's phone and desktop together "
     "get more than one connection, not one connection's worth each, so opening more "
     "connections does not multiply what one account may send. The bucket starts full at the "
     "uid's first login on this node."},
    {"glide_limit_message_rate_close", conf::CTX_MAIN | conf::RELOADABLE, 1, 1,
     or_off<&ModuleConf::limit_message_rate_close_ms,
            conf::set_time<&ModuleConf::limit_message_rate_close_ms>>,
     1 * SEC, 1 * HOUR, nullptr, "10s", "glide_limit_message_rate_close TIME | off",
     "A connection whose frames a rate limit keeps refusing, without a pause of a second or "
     "more, for TIME is closed with 1008 \"rate limit exceeded\": a client that does not slow "
     "down when told is abusive or broken. 10 s lets a client that reacts to its notify.error "
     "answers settle below the limit. off: refused frames are answered, never closed for."},
    {"glide_limit_auth_failures", conf::CTX_MAIN | conf::RELOADABLE, 1, 1,
     or_off<&ModuleConf::limit_auth_failures, conf::set_uint<&ModuleConf::limit_auth_failures>>,
     1, 1000, nullptr, "5", "glide_limit_auth_failures N | off",
     "Failed authentications one connection may have: the Nth is answered, then the connection "
     "is closed with 1008 \"too many failed authentications\". A failure is a refusal of the "
     "credential (not a host that timed out), a malformed authenticate, or a refusal by "
     "glide_limit_auth_failures_per_address. A client whose credential expired fails once and "
     "fetches a new one; five in a row on one connection is a bug or a guess."},
    {"glide_limit_auth_failures_per_address", conf::CTX_MAIN | conf::RELOADABLE, 1, 1,
     or_off<&ModuleConf::limit_auth_failures_per_address,
            conf::set_uint<&ModuleConf::limit_auth_failures_per_address>>,
     1, 1000000, nullptr, "60", "glide_limit_auth_failures_per_address N | off",
     "Failed authentications per minute from one source address (an IPv4 address, or an IPv6 "
     "address's /64), over all its connections: once N have failed (a token bucket of N "
     "refilled over a minute), authenticate from that address is refused with notify.error "
     "\"too many failed authentications\" without asking the host's authentication (glided's "
     "credential check, or the host's own, which may be a remote call), until tokens have "
     "come back (one every 60/N s). The address runs out once and is logged once. Legitimate "
     "failures are rare, since a client that fails fetches a new credential, so even a large "
     "NAT stays far below 60 a minute, while a guesser or a misconfigured fleet gets 60 tries "
     "a minute instead of thousands a second."},
    {"glide_limit_connections_per_address", conf::CTX_MAIN | conf::RELOADABLE, 1, 1,
     or_off<&ModuleConf::limit_connections_per_address,
            conf::set_uint<&ModuleConf::limit_connections_per_address>>,
     1, 10000000, nullptr, "256", "glide_limit_connections_per_address N | off",
     "Connections open at once from one source address (an IPv4 address, or an IPv6 address's "
     "/64) on this instance (each worker process counts its own). Past it a WebSocket upgrade "
     "is answered 429 Too Many Requests and closed, a TCP connection is closed at once. 256 "
     "covers an office or a home behind NAT, a few devices per person. Behind a reverse proxy "
     "or a load balancer every connection comes from the proxy's address: raise it there, or "
     "set off."},
    {"glide_max_connections", conf::CTX_MAIN | conf::RELOADABLE, 1, 1, set_max_connections, 1,
     100000000, nullptr, "auto", "glide_max_connections N | auto | off",
     "Connections this instance (each worker process) holds at once, those being opened or "
     "closed included. Past it a WebSocket upgrade is answered 503 Service Unavailable and "
     "closed, a TCP connection is closed at once, instead of waiting in the listen backlog "
     "until a client gives up. auto: the open-file limit (RLIMIT_NOFILE, read at start and at "
     "each reload) less what the process needs besides its clients (the store, logs, the "
     "admin API, the cluster bus): a sixteenth of it, at least 256, or half of a limit of 512 "
     "or less; with 20000 descriptors that is 18750. Should descriptors run out all the same, "
     "each listener's reserve descriptor refuses what it cannot accept."},
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
