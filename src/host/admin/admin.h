// glided's admin HTTP API and /metrics (admin_listen, admin_token; glided(8) documents the
// endpoints). A small HTTP/1.1 server (host/admin/admin_http.h) on glided's event_base: every request
// carries "Authorization: Bearer TOKEN" (compared in constant time) unless admin_token is off;
// every answer is JSON, errors included ({"error": "..."}), except /metrics.
//
// The API drives the loaded modules through their control functions (glide_api push, kick,
// sessions, stats, group_invalidate).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/intrusive_list.h"
#include "common/log.h"
#include "host/admin/admin_http.h"
#include "host/errlog.h"
#include "host/host_conf.h"
#include "host/plugin.h"
#include "net/libevent.h"
#include "net/listener.h"

namespace glide::host {

// An answer: status, body, and headers beyond the usual ones.
struct AdminResponse {
    int status = 200;
    std::string body;
    std::string content_type = "application/json";
    std::string extra_headers; // "Allow: GET\r\n"
    bool close = false;        // close the connection after this answer
};

// {"error": text} with `status`.
AdminResponse admin_error(int status, std::string_view text);

// Whether a module's table reaches `end` (offsetof + sizeof of a member added in a later minor).
inline bool api_has(const glide_api *api, size_t end) { return api && api->size >= end; }

// The listening socket of admin_listen (net::listen_socket with the admin API's backlog), for
// a process that hands it to others. Errors as AdminServer::open's.
Result<int> admin_socket(const HostConf &conf);

class AdminServer {
public:
    // Answers later: the connection waits (reading paused) until `respond` is called; safe to
    // call after the connection has gone (then nothing happens), and only once.
    using Respond = std::function<void(AdminResponse)>;
    // An endpoint that may answer later. `segments` are the percent-decoded path segments
    // matched by `route`'s pattern; `body` is borrowed for the call.
    struct Call {
        const http::Request &req;
        std::string_view body;
        const std::vector<std::string> &segments;
        Respond respond;
    };

    AdminServer(event_base *base, std::vector<std::unique_ptr<Plugin>> &plugins, ErrorLog &log);
    ~AdminServer();
    AdminServer(const AdminServer &) = delete;
    AdminServer &operator=(const AdminServer &) = delete;

    // Serves admin_listen: on `fd` when it is >= 0 (a socket already listening there, made by
    // glided's master with admin_socket() and shared by its workers; owned from the call on),
    // else on a socket of its own. Errors in nginx's words, with the directive's place
    // (bind() to ... failed (...) in FILE:LINE).
    Status open(const HostConf &conf, int fd = -1);
    // Token and body limit: at open and on reload.
    void configure(const HostConf &conf);
    const net::Address &bound() const;

    // Adds an endpoint: `pattern` segments, "*" matching any one ("v1/groups/*"), served for
    // `method`. Used for the group endpoints, which need the host's store.
    void route(std::string method, std::string pattern, std::function<void(Call &)> handler);

    // Tells every module to forget its cached membership of gid.
    void invalidate_group(const std::string &gid);
    // Expires when the server is destroyed: a store answer that comes later (glided closes the
    // store after the admin server) checks it before touching the server.
    std::weak_ptr<bool> alive() const { return alive_; }

    // Limits. A connection is *pending* from its accept until it has sent a complete request
    // with the right token: pending ones are closed header_timeout_ms after their accept, and
    // the oldest is closed when one more would pass max_pending, so connections that never
    // authenticate cannot hold the slots of the operators' (max_authenticated, idle ones closed
    // after idle_timeout_ms).
    static constexpr size_t max_head = 8192;
    static constexpr size_t max_authenticated = 128;
    static constexpr size_t max_pending = 256;
    static constexpr uint64_t header_timeout_ms = 5000;
    static constexpr uint64_t idle_timeout_ms = 30000;

private:
    struct Conn {
        AdminServer *srv;
        uint64_t id;
        net::BuffereventPtr bev;
        net::EventPtr header_timer; // while pending: closes it header_timeout_ms after accept
        ListHook<Conn> pending_hook;
        bool authenticated = false;  // has sent a request with the right token
        bool busy = false;           // a request is being answered (reading paused)
        bool in_process = false;     // process() runs for it: it looks at the input itself
        bool closing = false;        // the last answer is queued; free once written
        bool continue_sent = false;  // "100 Continue" for the request in progress
    };
    struct Route {
        std::string method;
        std::vector<std::string> pattern;
        std::function<void(Call &)> handler;
    };
    static void on_accept(void *self, net::Listener &l, int fd);
    static void on_read(bufferevent *bev, void *arg);
    static void on_write(bufferevent *bev, void *arg);
    static void on_event(bufferevent *bev, short what, void *arg);
    static void on_header_timeout(evutil_socket_t, short, void *arg);
    static void log_sink(void *self, glide_log_level level, const char *msg, size_t len);

    void process(Conn &c);
    void send(Conn &c, const AdminResponse &r, bool keep_alive);
    void finish(Conn &c); // frees c
    void handle(Conn &c, const http::Request &req, std::string_view body, Respond respond);
    bool authorized(std::string_view header) const;

    AdminResponse healthz() const;
    // /metrics: the whole cluster's counters summed (the modules that run a cluster bus ask
    // every node, ABI 1.4), or this process's only with ?scope=node.
    void metrics(const http::Request &req, Respond respond) const;
    AdminResponse push(std::string_view body) const;
    AdminResponse kick(std::string_view body) const;
    // /v1/sessions: the sessions of every node of the cluster (ABI 1.4), each with its node.
    void sessions(const http::Request &req, Respond respond) const;

    event_base *base_;
    std::vector<std::unique_ptr<Plugin>> &plugins_;
    ErrorLog &log_;
    Logger logger_;
    std::unique_ptr<net::Listener> listener_;
    bool token_off_ = false;
    bool token_set_ = false; // never true with an empty token: then nothing is let in
    uint8_t token_digest_[32] = {};
    uint64_t body_limit_ = 1 << 20;
    std::vector<Route> routes_;
    uint64_t next_id_ = 1;
    std::map<uint64_t, std::unique_ptr<Conn>> conns_;
    IntrusiveList<Conn, &Conn::pending_hook> pending_; // in accept order
    size_t authenticated_ = 0;
    // Answers that come after the server is gone (a store completing at exit) check this.
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

} // namespace glide::host
