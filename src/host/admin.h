// glided's admin HTTP API and /metrics (admin_listen, admin_token; glided(8) documents the
// endpoints). A small HTTP/1.1 server (host/admin_http.h) on glided's event_base: every request
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

#include "common/log.h"
#include "host/admin_http.h"
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
};

// {"error": text} with `status`.
AdminResponse admin_error(int status, std::string_view text);

// Whether a module's table reaches `end` (offsetof + sizeof of a member added in a later minor).
inline bool api_has(const glide_api *api, size_t end) { return api && api->size >= end; }

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

    // Binds admin_listen. Errors in nginx's words (bind() to ... failed).
    Status open(const HostConf &conf);
    // Token and body limit: at open and on reload.
    void configure(const HostConf &conf);
    const net::Address &bound() const;

    // Adds an endpoint: `pattern` segments, "*" matching any one ("v1/groups/*"), served for
    // `method`. Used for the group endpoints, which need the host's store.
    void route(std::string method, std::string pattern, std::function<void(Call &)> handler);

    // Tells every module to forget its cached membership of gid.
    void invalidate_group(const std::string &gid);

    // Limits.
    static constexpr size_t max_head = 8192;
    static constexpr size_t max_connections = 128;
    static constexpr uint64_t idle_timeout_ms = 30000;

private:
    struct Conn;
    struct Route {
        std::string method;
        std::vector<std::string> pattern;
        std::function<void(Call &)> handler;
    };
    static void on_accept(void *self, net::Listener &l, int fd);
    static void on_read(bufferevent *bev, void *arg);
    static void on_write(bufferevent *bev, void *arg);
    static void on_event(bufferevent *bev, short what, void *arg);
    static void log_sink(void *self, glide_log_level level, const char *msg, size_t len);

    void process(Conn &c);
    void send(Conn &c, const AdminResponse &r, bool keep_alive);
    void finish(Conn &c); // frees c
    void handle(Conn &c, const http::Request &req, std::string_view body, Respond respond);
    bool authorized(std::string_view header) const;

    AdminResponse healthz() const;
    AdminResponse metrics() const;
    AdminResponse push(std::string_view body) const;
    AdminResponse kick(std::string_view body) const;
    AdminResponse sessions(const http::Request &req) const;

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
    // Answers that come after the server is gone (a store completing at exit) check this.
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

} // namespace glide::host
