#include "module/module.h"

#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "codec/credential.h"
#include "common/strings.h"

glide_conf::glide_conf(glide_module *m)
    : module(m),
      applier(glide::module_directives().data(), glide::module_directives().size(), &conf) {}

namespace glide {

Module::Module(const glide_host *host) : host_(host) {
    if (host_ && host_->log)
        log_.set_sink(host_->log, host_->user_data);
}

Module::~Module() {
    // The bus first: its callbacks reach the hub, and closing sessions below need not tell it.
    if (hub_)
        hub_->set_cluster(nullptr);
    bus_.reset();
    cluster_input_.reset();
    // Destroy is immediate: drop every connection without ceremony.
    while (net::Connection *c = conns_.front())
        c->abort(); // calls connection_closed, which unlinks it
    for (net::Connection *c : dead_)
        delete c;
    // The links of those connections are queued in the handler: free the actions and the
    // hub's sessions first, then the links, then the timers everything used.
    dispatcher_.reset();
    hub_.reset();
    if (protocol_)
        protocol_->clear();
    protocol_.reset();
    host_port_.reset();
    timers_.reset();
}

hub::HubConfig Module::hub_config() const {
    const ModuleConf &c = current_->conf;
    // A finished configuration holds every directive's value or default (conf::Applier::finish):
    // the defaults come from the directive records only.
    hub::HubConfig h;
    h.node_id = node_id_;
    h.server_version = "glide/" GLIDE_VERSION_STRING;
    h.heartbeat_interval_ms = c.heartbeat_interval_ms;
    h.heartbeat_lost = static_cast<uint32_t>(c.heartbeat_lost);
    h.send_buffer_limit = c.send_buffer_limit;
    h.callback_timeout_ms = c.callback_timeout_ms;
    h.limits.message_rate = c.limit_message_rate;
    h.limits.user_message_rate = c.limit_user_message_rate;
    h.limits.message_rate_close_ms = c.limit_message_rate_close_ms;
    h.limits.auth_failures = static_cast<uint32_t>(c.limit_auth_failures);
    const auto per_address = static_cast<uint32_t>(c.limit_auth_failures_per_address);
    h.limits.auth_failures_per_address = {per_address, per_address, 60 * 1000};
    return h;
}

// glide_max_connections auto: the open-file limit less what the process needs besides its
// clients (directives.cc says how much).
static uint64_t auto_max_connections() {
    rlimit rl{};
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
        return 0; // no limit to keep below
    const uint64_t n = rl.rlim_cur;
    return n <= 512 ? n / 2 : n - std::max<uint64_t>(256, n / 16);
}

// Directives a reload cannot change: keep the running values and say so.
static void keep_restart_only(ModuleConf &next, const ModuleConf &cur) {
    next.listens = cur.listens;
    next.node_id = cur.node_id;
    next.ssl_certificate = cur.ssl_certificate;
    next.ssl_certificate_key = cur.ssl_certificate_key;
    next.cluster = cur.cluster;
}

Status Module::apply(std::unique_ptr<glide_conf> c) {
    if (!c->finished)
        return make_error("the configuration is not finished");
    if (current_ && base_) {
        for (const std::string &name : conf::changed(current_->applier, c->applier)) {
            const conf::Spec *s = c->applier.find(name);
            if (s && !(s->flags & conf::RELOADABLE))
                log_.log(GLIDE_LOG_WARN,
                         "\"%s\" cannot be changed by a reload, the old value is kept until "
                         "restart",
                         name.c_str());
        }
        keep_restart_only(c->conf, current_->conf);
    }
    current_ = std::move(c);
    const ModuleConf &mc = current_->conf;
    max_connections_ = mc.max_connections_auto ? auto_max_connections() : mc.max_connections;
    if (base_)
        build_settings();
    if (hub_)
        hub_->set_conf(hub_config());
    return {};
}

void Module::build_settings() {
    const ModuleConf &c = current_->conf;
    auto make = [&](net::Transport t, net::CodecKind codec, SSL_CTX *ssl, std::string path) {
        auto s = std::make_shared<net::ConnectionSettings>();
        s->transport = t;
        s->codec = codec;
        s->ssl_ctx = ssl;
        s->ws_path = std::move(path);
        s->allowed_origins = c.allowed_origins;
        s->max_message_size = c.max_message_size;
        s->send_buffer_limit = c.send_buffer_limit;
        s->handshake_timeout_ms = c.handshake_timeout_ms;
        s->linger_ms = c.linger_timeout_ms;
        s->log = &log_;
        return s;
    };
    settings_.clear();
    for (const ListenConf &lc : c.listens)
        settings_.push_back(make(lc.transport, lc.codec, lc.ssl ? ssl_ctx_.get() : nullptr,
                                 c.ws_path));
    // Handed-over sockets are plain (the host terminates TLS) and routed by the host: any path.
    for (net::Transport t : {net::Transport::ws, net::Transport::tcp})
        for (net::CodecKind k : {net::CodecKind::json, net::CodecKind::protobuf})
            handoff_settings_[static_cast<int>(t)][static_cast<int>(k)] = make(t, k, nullptr, "");
}

Status Module::start(event_base *base, int *code) {
    int ignored;
    int &rc = code ? *code : ignored;
    rc = GLIDE_ESTATE;
    if (!current_)
        return make_error("no configuration applied");
    if (base_)
        return make_error("already started");
    reap_.reset(event_new(base, -1, 0, on_reap, this));
    drain_timer_.reset(evtimer_new(base, on_drain_timeout, this));
    home_ = std::make_unique<net::ConnectionHome>(base,
                                                  static_cast<net::ConnectionOwner &>(*this));
    rc = GLIDE_ENOMEM;
    if (!reap_ || !drain_timer_ || !home_->ok())
        return make_error("event_new() failed");
    // OpenSSL's tables now, not at the first login (temp ids, tickets, glide's credentials).
    codec::warm_up_crypto();
    const ModuleConf &c = current_->conf;
    // Read at start, not at create: a host that forks its workers fills them in each child.
    const HostWorker worker = host_worker(host_);
    node_id_ = worker.several() ? c.node_id + "." + std::to_string(worker.index) : c.node_id;
    bool any_ssl = false;
    for (const ListenConf &lc : c.listens)
        any_ssl |= lc.ssl;
    if (any_ssl) {
        auto ctx = net::make_server_ssl_ctx(c.ssl_certificate, c.ssl_certificate_key);
        rc = GLIDE_ECONF;
        if (!ctx)
            return make_error(ctx.error());
        ssl_ctx_ = std::move(ctx.value());
    }
    for (size_t i = 0; i < c.listens.size(); i++) {
        const ListenConf &lc = c.listens[i];
        net::ListenOptions opts;
        opts.backlog = static_cast<int>(lc.backlog);
        opts.reuse_port = worker.several();
        auto l = net::Listener::open(base, lc.address, opts, on_accept, this, &log_);
        if (!l) {
            rc = GLIDE_EADDR;
            listeners_.clear();
            ssl_ctx_.reset();
            return make_error(l.error());
        }
        l.value()->index = i;
        log_.log(GLIDE_LOG_NOTICE, "listening on %s (%s, %s%s%s)",
                 l.value()->bound().text().c_str(),
                 lc.transport == net::Transport::ws ? "ws" : "tcp",
                 lc.codec == net::CodecKind::json ? "json" : "protobuf", lc.ssl ? ", ssl" : "",
                 opts.reuse_port ? ", shared with the other workers" : "");
        listeners_.push_back(std::move(l.value()));
    }
    if (worker.several())
        log_.log(GLIDE_LOG_NOTICE, "one of %u worker processes, node id \"%s\"", worker.count,
                 node_id_.c_str());
    rc = GLIDE_OK;
    base_ = base;
    if (c.max_connections_auto) {
        max_connections_ = auto_max_connections();
        log_.log(GLIDE_LOG_INFO, "glide_max_connections auto: %llu",
                 static_cast<unsigned long long>(max_connections_));
    }
    build_settings();
    timers_ = std::make_unique<EventTimers>(base);
    host_port_ = std::make_unique<HostAdapter>(host_, log_);
    hub_ = std::make_unique<hub::Hub>(host_port_.get(), timers_.get(), hub_config(), &stats_);
    dispatcher_ = std::make_unique<dispatch::Dispatcher>(*hub_, stats_);
    protocol_ = std::make_unique<ProtocolHandler>(hub_.get(), dispatcher_.get(),
                                                  [this] { event_active(reap_.get(), 0, 0); });
    if (!c.cluster.empty()) {
        cluster::BusConfig bc;
        bc.node_id = hub_->conf().node_id;
        bc.shards = c.cluster;
        cluster_input_ = std::make_unique<actions::ClusterInput>(dispatcher_->actions());
        bus_ = std::make_unique<cluster::Bus>(base, std::move(bc), cluster_input_.get(), &log_);
        bus_->set_answerer(
            [this](char what, std::string_view arg) { return cluster_answer(what, arg); });
        if (Status st = bus_->start(); !st) {
            rc = GLIDE_ENOMEM;
            return st;
        }
        hub_->set_cluster(bus_.get());
    }
    if (!custom_)
        handler_ = protocol_.get();
    return {};
}

void Module::on_accept(void *self, net::Listener &l, int fd) {
    auto *m = static_cast<Module *>(self);
    if (m->draining_) {
        ::close(fd);
        return;
    }
    m->adopt(fd, m->settings_[l.index], {}, ("on " + l.bound().text()).c_str(), nullptr);
}

// The connection limits for a new connection: glide_max_connections, then
// glide_limit_connections_per_address. A refused WebSocket gets its answer from the connection;
// a refused TCP connection is dropped at once.
bool Module::admit(net::Connection &c) {
    const ModuleConf &mc = current_->conf;
    uint16_t status = 0;
    const char *label = nullptr, *reason = nullptr;
    std::string source;
    if (max_connections_ && conns_.size() >= max_connections_) {
        status = 503;
        label = "max_connections";
        reason = "too many connections";
    } else if (mc.limit_connections_per_address) {
        source = c.peer().source();
        uint64_t &n = per_address_[source];
        if (n < mc.limit_connections_per_address) {
            n++;
            c.owner_flags |= kCountedByAddress;
            return true;
        }
        status = 429;
        label = "connections_per_address";
        reason = "too many connections from this address";
    } else {
        return true;
    }
    stats_.limited.add(label);
    // One line per 10 s at most: a flood of refusals must not flood the log too.
    const int64_t now = timers_ ? timers_->clock_ms() : 0;
    if (now >= refusal_log_next_ms_) {
        std::string more;
        if (refusals_unlogged_)
            more = "; " + std::to_string(refusals_unlogged_) + " more refused since the last line";
        log_.log(GLIDE_LOG_NOTICE, "connection from %s refused (%u %s: glide_%s%s)%s",
                 c.peer().text().c_str(), status, reason,
                 status == 503 ? "" : "limit_", label, more.c_str());
        refusal_log_next_ms_ = now + 10000;
        refusals_unlogged_ = 0;
    } else {
        refusals_unlogged_++;
    }
    if (c.transport() == net::Transport::ws)
        c.refuse(status, reason);
    return c.transport() == net::Transport::ws;
}

int Module::adopt(int fd, std::shared_ptr<const net::ConnectionSettings> settings,
                  std::string input, const char *where, std::string *why) {
    auto *c = new (std::nothrow) net::Connection(*home_, fd, *handler_, std::move(settings),
                                                 why != nullptr);
    if (!c) {
        if (!why)
            ::close(fd);
        log_.log(GLIDE_LOG_ERROR, "out of memory accepting a connection");
        if (why)
            *why = "out of memory";
        return GLIDE_ENOMEM;
    }
    if (!c->ok()) {
        delete c;
        if (why) {
            *why = "cannot watch the socket";
            return GLIDE_EIO;
        }
        stats_.connections_accepted++;
        stats_.connections_closed++;
        return GLIDE_EIO;
    }
    stats_.connections_accepted++;
    if (!admit(*c)) {
        // Closed at once (the socket is the module's now, handed over or not).
        stats_.connections_closed++;
        delete c;
        return GLIDE_OK;
    }
    conns_.push_front(*c);
    stats_.connections++;
    if (why)
        c->start(std::move(input));
    else
        c->start();
    // Logged last: the host's log callback may drain or kick (glide/host.h); c itself is
    // freed only by the reaper, later in the loop.
    log_.log(GLIDE_LOG_DEBUG, "connection from %s %s", c->peer().text().c_str(), where);
    return GLIDE_OK;
}

int Module::handoff(int fd, net::Transport t, net::CodecKind codec, std::string_view input,
                    std::string *why) {
    if (!base_) {
        *why = "the module is not started";
        return GLIDE_ESTATE;
    }
    if (draining_) {
        *why = "the module is draining";
        return GLIDE_ECLOSED;
    }
    int type = 0;
    socklen_t len = sizeof type;
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_STREAM) {
        *why = "fd " + std::to_string(fd) + " is not a stream socket";
        return GLIDE_EINVAL;
    }
    std::string copy(input); // before anything changes the socket: may throw bad_alloc
    if (evutil_make_socket_nonblocking(fd) != 0) {
        *why = std::string("fcntl(O_NONBLOCK) failed (") + strerror(errno) + ")";
        return GLIDE_EIO;
    }
    return adopt(fd, handoff_settings_[static_cast<int>(t)][static_cast<int>(codec)],
                 std::move(copy), "handed over by the host", why);
}

void Module::connection_closed(net::Connection &c) {
    conns_.remove(c);
    if (c.owner_flags & kCountedByAddress) {
        auto it = per_address_.find(c.peer().source());
        if (it != per_address_.end() && --it->second == 0)
            per_address_.erase(it);
    }
    stats_.connections--;
    stats_.connections_closed++;
    dead_.push_back(&c);
    if (reap_)
        event_active(reap_.get(), 0, 0);
}

void Module::on_reap(evutil_socket_t, short, void *self) {
    auto *m = static_cast<Module *>(self);
    if (m->protocol_)
        m->protocol_->reap();
    std::vector<net::Connection *> dead;
    dead.swap(m->dead_);
    for (net::Connection *c : dead)
        delete c;
    m->check_drained();
}

int Module::drain(uint64_t timeout_ms, glide_drained_fn done, void *arg) {
    if (draining_ || !base_)
        return GLIDE_ESTATE;
    draining_ = true;
    drained_fn_ = done;
    drained_arg_ = arg;
    listeners_.clear(); // stop accepting: the sockets close now
    // Sessions first (close 1001 through the hub, which also refuses new ones); then every
    // connection the hub does not know (handshakes, a test's own handler) the same way.
    if (hub_)
        hub_->drain();
    // A snapshot: closing one connection runs its handler, which may close others (unlinking
    // them); none is freed before the reaper runs, later in the loop.
    std::vector<net::Connection *> open;
    for (net::Connection *c = conns_.front(); c; c = Connections::next(*c))
        open.push_back(c);
    for (net::Connection *c : open)
        c->close(1001, "server shutting down");
    timeval tv = net::ms_to_tv(timeout_ms);
    evtimer_add(drain_timer_.get(), &tv);
    // The answer comes from the loop, never from inside drain().
    event_active(reap_.get(), 0, 0);
    return GLIDE_OK;
}

void Module::on_drain_timeout(evutil_socket_t, short, void *self) {
    auto *m = static_cast<Module *>(self);
    m->log_.log(GLIDE_LOG_NOTICE, "drain timeout: closing %llu connection(s)",
                static_cast<unsigned long long>(m->conns_.size()));
    while (net::Connection *c = m->conns_.front())
        c->abort();
    m->bus_left_ = true; // not waiting for the cluster bus either
    m->check_drained();
}

void Module::check_drained() {
    if (!draining_ || !conns_.empty() || !dead_.empty() || !drained_fn_)
        return;
    // The closed sessions' directory updates reach Redis before the host exits, and the node
    // leaves the heartbeat set (other nodes stop counting on it at once).
    if (bus_ && !bus_left_) {
        if (!bus_leaving_) {
            bus_leaving_ = true;
            bus_->leave_cluster([this] {
                bus_left_ = true;
                check_drained();
            });
        }
        return;
    }
    evtimer_del(drain_timer_.get());
    glide_drained_fn fn = drained_fn_;
    drained_fn_ = nullptr;
    fn(drained_arg_);
}

void Module::stats(glide_stats &out) const {
    Stats st = hub_ ? hub_->stats() : stats_;
    if (home_) {
        st.bytes_in += home_->traffic.bytes_in;
        st.bytes_out += home_->traffic.bytes_out;
        st.messages_in += home_->traffic.messages_in;
        st.messages_out += home_->traffic.messages_out;
    }
    out.connections = st.connections;
    out.connections_accepted = st.connections_accepted;
    out.connections_closed = st.connections_closed;
    out.sessions_guest = st.sessions_guest;
    out.sessions_authenticated = st.sessions_authenticated;
    out.sessions_closing = st.sessions_closing;
    out.messages_in = st.messages_in;
    out.messages_out = st.messages_out;
    out.bytes_in = st.bytes_in;
    out.bytes_out = st.bytes_out;
    out.drops = st.drops;
    out.listeners = static_cast<uint32_t>(listeners_.size());
    out.draining = draining_;
    const Latency &l = st.store_latency;
    static_assert(Latency::n_buckets == GLIDE_STATS_LATENCY_BUCKETS);
    out.store_calls = l.count;
    out.store_failures = l.failures;
    out.store_latency_ms_sum = l.sum_ms;
    for (size_t i = 0; i < Latency::n_buckets; i++)
        out.store_latency[i] = l.buckets[i];
}

} // namespace glide
