// One module instance: configuration, listeners and connections on the host's event_base.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "actions/cluster.h"
#include "cluster/bus.h"
#include "common/intrusive_list.h"
#include "common/log.h"
#include "common/stats.h"
#include "conf/conf.h"
#include "dispatch/dispatch.h"
#include "glide/module.h"
#include "module/host_adapter.h"
#include "module/module_conf.h"
#include "module/session_glue.h"
#include "net/connection.h"
#include "net/listener.h"
#include "net/tls.h"

// A configuration being built (glide_conf in the C API).
struct glide_conf {
    glide_module *module;
    glide::ModuleConf conf;
    glide::conf::Applier applier;
    bool finished = false;

    explicit glide_conf(glide_module *m);
};

// The C API's opaque instance is the Module itself.
struct glide_module {
    virtual ~glide_module() = default;
};

namespace glide {

class Module final : public glide_module, private net::ConnectionOwner {
public:
    explicit Module(const glide_host *host);
    ~Module() override;

    Logger &log() { return log_; }
    const glide_host *host() const { return host_; }

    Status apply(std::unique_ptr<glide_conf> c);
    // On failure *code (may be null) says which kind: GLIDE_ESTATE (no configuration applied,
    // already started), GLIDE_EADDR (a listener's address), GLIDE_ECONF (the TLS certificate
    // or key), GLIDE_ENOMEM (libevent could not create an event).
    Status start(event_base *base, int *code = nullptr);
    int drain(uint64_t timeout_ms, glide_drained_fn done, void *arg);
    // Takes a connection the host accepted, `input` being what it read from it already
    // (glide_api.handoff). GLIDE_OK: the module owns fd; any other code: fd is untouched (still
    // the host's), *why says why.
    int handoff(int fd, net::Transport t, net::CodecKind codec, std::string_view input,
                std::string *why);
    void stats(glide_stats &out) const;

    // -- the control API across the cluster (glide_api.cluster_stats, cluster_sessions) --
    struct NodeStats {
        glide_stats stats;
        std::vector<std::tuple<glide_stat_kind, std::string, uint64_t>> series;
    };
    // This node's counters and labelled counters.
    NodeStats node_stats() const;
    using NodeStatsFn = std::function<void(std::string_view node, const NodeStats &)>;
    using SessionFn = std::function<bool(std::string_view node, const glide_session_info &)>;
    using ClusterDone = std::function<void(uint32_t nodes, uint32_t answered)>;
    // Calls each for this node at once, then for every other node of the cluster as its
    // answer arrives; done(nodes, answered), counting this one, once all answered or after
    // timeout_ms (without a cluster: at once, 1 and 1). Only after start().
    void cluster_stats(uint32_t timeout_ms, NodeStatsFn each, ClusterDone done);
    // The same for the authenticated sessions of uid (empty: all), at most `limit` per node;
    // each returns false to stop the listing (done still follows).
    void cluster_sessions(std::string_view uid, uint32_t limit, uint32_t timeout_ms,
                          SessionFn each, ClusterDone done);
    static glide_session_info session_info(const hub::SessionInfo &s);
    // This node's answer to another node's query (cluster::Bus::Answerer).
    std::string cluster_answer(char what, std::string_view arg);
    const net::Listener *listener(size_t i) const {
        return i < listeners_.size() ? listeners_[i].get() : nullptr;
    }
    const ModuleConf &conf() const { return current_->conf; }
    // This instance's node id (presence, the cluster bus): glide_node_id, or
    // "<glide_node_id>.<worker_index>" when the host runs several worker processes
    // (glide_host.worker_count > 1). Set by start(); empty before.
    const std::string &node_id() const { return node_id_; }

    // The layer above the transport for connections accepted from now on; nullptr restores
    // the default: the glide protocol (the hub). Connections are accepted only once started,
    // when the protocol exists. Internal: tests set it. The handler must outlive the module's
    // connections.
    void set_handler(net::MessageHandler *h) {
        custom_ = h;
        handler_ = h ? h : protocol_.get();
    }
    // The protocol core; null before start().
    hub::Hub *hub() { return hub_.get(); }
    // The actions' state (groups for the control API); null before start().
    actions::Context *actions() { return dispatcher_ ? &dispatcher_->actions() : nullptr; }
    // The cluster bus; null before start() and without glide_cluster.
    const cluster::Bus *bus() const { return bus_.get(); }
    // What the connections share (their flush queue, their traffic); null before start().
    // Internal: tests read its counters.
    const net::ConnectionHome *connection_home() const { return home_.get(); }

private:
    static void on_accept(void *self, net::Listener &l, int fd);
    // Registers and starts a new connection on fd (accepted or handed over: `where` says which,
    // for the log); `why` null: an accepted socket, closed on failure; else a handed-over one,
    // left open on failure with the reason in *why.
    int adopt(int fd, std::shared_ptr<const net::ConnectionSettings> settings, std::string input,
              const char *where, std::string *why);
    // glide_max_connections and glide_limit_connections_per_address for a new connection:
    // true to go on (a refused WebSocket answers the refusal itself), false to drop it now.
    bool admit(net::Connection &c);
    static void on_reap(evutil_socket_t, short, void *self);
    static void on_drain_timeout(evutil_socket_t, short, void *self);
    void connection_closed(net::Connection &c) override;
    void check_drained();
    void build_settings();
    hub::HubConfig hub_config() const;

    const glide_host *host_;
    Logger log_;
    std::unique_ptr<glide_conf> current_;
    std::string node_id_; // see node_id()
    event_base *base_ = nullptr;
    std::vector<std::unique_ptr<net::Listener>> listeners_;
    // Per listener (same index): what its connections run with; rebuilt by a reload, while
    // running connections keep the settings they were accepted with.
    std::vector<std::shared_ptr<const net::ConnectionSettings>> settings_;
    // For handed-over connections, per (transport, codec): plain, any WebSocket path.
    std::shared_ptr<const net::ConnectionSettings> handoff_settings_[2][2];
    net::SslCtxPtr ssl_ctx_; // for listeners marked ssl
    net::MessageHandler *handler_ = nullptr; // custom_, else the protocol once started
    net::MessageHandler *custom_ = nullptr;  // set_handler's

    // The instance's counters, one set: connections and their frames and bytes counted here,
    // the rest by the hub, dispatch and the host-request queue (common/stats.h).
    Stats stats_;

    // The protocol core and its glue, created by start(); destroyed in ~Module in order.
    std::unique_ptr<EventTimers> timers_;
    std::unique_ptr<HostAdapter> host_port_;
    std::unique_ptr<hub::Hub> hub_;
    std::unique_ptr<dispatch::Dispatcher> dispatcher_;
    std::unique_ptr<ProtocolHandler> protocol_;
    // The cluster bus (glide_cluster) and what it hands this node; null without a cluster.
    std::unique_ptr<actions::ClusterInput> cluster_input_;
    std::unique_ptr<cluster::Bus> bus_;

    // Output to write this loop turn; outlives the connections (see ~Module).
    std::unique_ptr<net::ConnectionHome> home_; // the connections' loop, flush queue, traffic
    // Open connections (newest first) and closed ones waiting to be freed by on_reap.
    using Connections = IntrusiveList<net::Connection, &net::Connection::owner_hook>;
    Connections conns_;
    std::vector<net::Connection *> dead_;
    // The limits on connections: glide_max_connections as it applies now (auto resolved; 0:
    // off), the open connections counted per source address (those with kCountedByAddress), and
    // the pacing of the refusals' log lines.
    uint64_t max_connections_ = 0;
    static constexpr uint8_t kCountedByAddress = 1; // net::Connection::owner_flags
    StringMap<uint64_t> per_address_;
    int64_t refusal_log_next_ms_ = 0;
    uint64_t refusals_unlogged_ = 0;
    net::EventPtr reap_;

    bool draining_ = false;
    bool bus_leaving_ = false, bus_left_ = false; // the drain's leave_cluster
    glide_drained_fn drained_fn_ = nullptr;
    void *drained_arg_ = nullptr;
    net::EventPtr drain_timer_;
};

} // namespace glide
