#include "host/admin/admin.h"

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <unistd.h>

#include <cstring>

#include "host/admin/admin_json.h"
#include "host/admin/admin_metrics.h"

namespace glide::host {

AdminResponse admin_error(int status, std::string_view text) {
    JsonPtr o(json_object());
    json_object_set_new(o.get(), "error", json_stringn(text.data(), text.size()));
    return {status, json_text(o.get())};
}

// One client connection. Freed only by finish(), never while a handler holds it: an answer
// that comes later looks the connection up by id.
AdminServer::AdminServer(event_base *base, std::vector<std::unique_ptr<Plugin>> &plugins,
                         ErrorLog &log)
    : base_(base), plugins_(plugins), log_(log) {
    logger_.set_sink(log_sink, this);
    route("GET", "healthz", [this](Call &c) { c.respond(healthz()); });
    route("GET", "metrics", [this](Call &c) { metrics(c.req, std::move(c.respond)); });
    route("POST", "v1/push", [this](Call &c) { c.respond(push(c.body)); });
    route("POST", "v1/kick", [this](Call &c) { c.respond(kick(c.body)); });
    route("GET", "v1/sessions", [this](Call &c) { sessions(c.req, std::move(c.respond)); });
}

AdminServer::~AdminServer() {
    listener_.reset();
    conns_.clear();
}

void AdminServer::log_sink(void *self, glide_log_level level, const char *msg, size_t len) {
    static_cast<AdminServer *>(self)->log_.write(level, msg, len);
}

// nginx's backlog: a burst of connections waits in the kernel instead of having its SYNs
// dropped (each dropped SYN costs the client a second).
static net::ListenOptions admin_options() {
    net::ListenOptions o;
    o.backlog = 511;
    return o;
}

Result<int> admin_socket(const HostConf &conf) {
    auto fd = net::listen_socket(conf.admin_address, admin_options());
    if (!fd)
        return make_error(fd.error() + " in " + conf.admin_listen_where);
    return fd;
}

Status AdminServer::open(const HostConf &conf, int fd) {
    configure(conf);
    if (fd < 0) {
        auto own = admin_socket(conf);
        if (!own)
            return make_error(own.error());
        fd = *own;
    }
    auto l = net::Listener::adopt(base_, fd, on_accept, this, &logger_);
    if (!l)
        return make_error(l.error());
    listener_ = std::move(l.value());
    log_.log(GLIDE_LOG_NOTICE, "admin API on %s%s", listener_->bound().text().c_str(),
             token_off_ ? " without a token" : "");
    return {};
}

void AdminServer::configure(const HostConf &conf) {
    token_off_ = conf.admin_token_off;
    token_set_ = !conf.admin_token.empty();
    SHA256(reinterpret_cast<const unsigned char *>(conf.admin_token.data()),
           conf.admin_token.size(), token_digest_);
    body_limit_ = conf.admin_body_limit ? conf.admin_body_limit : body_limit_;
}

const net::Address &AdminServer::bound() const {
    static const net::Address none;
    return listener_ ? listener_->bound() : none;
}

void AdminServer::route(std::string method, std::string pattern,
                        std::function<void(Call &)> handler) {
    Route r{std::move(method), {}, std::move(handler)};
    for (std::string_view s : http::split_path(pattern))
        r.pattern.emplace_back(s);
    routes_.push_back(std::move(r));
}

// Compares digests of equal length, so neither the token's content nor its length shows in
// the time taken.
bool AdminServer::authorized(std::string_view header) const {
    if (token_off_)
        return true;
    if (!token_set_ || header.size() < 7 || strncasecmp(header.data(), "bearer ", 7) != 0)
        return false;
    std::string_view given = header.substr(7);
    while (!given.empty() && given.front() == ' ')
        given.remove_prefix(1);
    uint8_t d[32];
    SHA256(reinterpret_cast<const unsigned char *>(given.data()), given.size(), d);
    return CRYPTO_memcmp(d, token_digest_, sizeof d) == 0;
}

// --- connections ------------------------------------------------------------------------------

void AdminServer::on_accept(void *self, net::Listener &, int fd) {
    auto *s = static_cast<AdminServer *>(self);
    bufferevent *bev = bufferevent_socket_new(s->base_, fd, BEV_OPT_CLOSE_ON_FREE);
    if (!bev) {
        ::close(fd);
        return;
    }
    // Room for one more pending connection: the oldest pending one goes (it has had the
    // longest to send its request).
    if (s->pending_.size() >= max_pending)
        s->finish(*s->pending_.front());
    auto c = std::make_unique<Conn>();
    c->srv = s;
    c->id = s->next_id_++;
    c->bev.reset(bev);
    Conn &ref = *c;
    ref.header_timer.reset(evtimer_new(s->base_, on_header_timeout, &ref));
    timeval deadline = net::ms_to_tv(header_timeout_ms);
    if (!ref.header_timer || evtimer_add(ref.header_timer.get(), &deadline) != 0)
        return; // c (and the socket) freed: out of memory
    s->conns_.emplace(c->id, std::move(c));
    s->pending_.push_back(ref);
    timeval tv = net::ms_to_tv(idle_timeout_ms);
    bufferevent_set_timeouts(bev, &tv, &tv);
    bufferevent_setcb(bev, on_read, on_write, on_event, &ref);
    bufferevent_enable(bev, EV_READ | EV_WRITE);
}

void AdminServer::on_header_timeout(evutil_socket_t, short, void *arg) {
    auto *c = static_cast<Conn *>(arg);
    if (!c->authenticated)
        c->srv->finish(*c);
}

void AdminServer::on_read(bufferevent *, void *arg) {
    auto *c = static_cast<Conn *>(arg);
    c->srv->process(*c);
}

void AdminServer::on_write(bufferevent *bev, void *arg) {
    auto *c = static_cast<Conn *>(arg);
    if (c->closing && evbuffer_get_length(bufferevent_get_output(bev)) == 0)
        c->srv->finish(*c);
}

void AdminServer::on_event(bufferevent *, short, void *arg) {
    // EOF, an error or a timeout: nothing more can be answered.
    auto *c = static_cast<Conn *>(arg);
    c->srv->finish(*c);
}

void AdminServer::finish(Conn &c) {
    if (c.pending_hook.linked())
        pending_.remove(c);
    if (c.authenticated)
        authenticated_--;
    conns_.erase(c.id);
}

void AdminServer::send(Conn &c, const AdminResponse &r, bool keep_alive) {
    std::string text = http::format_response(r.status, r.content_type, r.body, keep_alive,
                                             r.extra_headers);
    bufferevent_write(c.bev.get(), text.data(), text.size());
    if (!keep_alive) {
        c.closing = true;
        bufferevent_disable(c.bev.get(), EV_READ);
        bufferevent_enable(c.bev.get(), EV_WRITE);
    }
}

// Parses and answers the requests waiting in the input, one at a time.
void AdminServer::process(Conn &c) {
    evbuffer *in = bufferevent_get_input(c.bev.get());
    while (!c.busy && !c.closing) {
        size_t have = evbuffer_get_length(in);
        if (have == 0)
            return;
        size_t n = have < max_head ? have : max_head;
        auto *p = reinterpret_cast<const char *>(evbuffer_pullup(in, static_cast<ssize_t>(n)));
        http::Request req;
        http::ParseResult r = http::parse_request({p, n}, max_head, &req);
        if (r.state == http::Parse::need_more)
            return;
        if (r.state == http::Parse::error) {
            send(c, admin_error(r.status, r.error), false);
            return;
        }
        // The body limit is checked from Content-Length, before any of the body is read.
        if (req.content_length > body_limit_) {
            send(c,
                 admin_error(413, "request body of " + std::to_string(req.content_length) +
                                      " bytes is larger than admin_max_body_size (" +
                                      std::to_string(body_limit_) + " bytes)"),
                 false);
            return;
        }
        size_t total = req.head_bytes + req.content_length;
        if (have < total) {
            if (req.expect_continue && !c.continue_sent) {
                static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
                bufferevent_write(c.bev.get(), cont, sizeof cont - 1);
                c.continue_sent = true;
            }
            return;
        }
        c.continue_sent = false;
        // The request points into the buffer: pull the whole of it up, parse it there again.
        p = reinterpret_cast<const char *>(evbuffer_pullup(in, static_cast<ssize_t>(total)));
        (void)http::parse_request({p, total}, max_head, &req);
        std::string_view body(p + req.head_bytes, req.content_length);
        bool keep = req.keep_alive;
        c.busy = true;
        bufferevent_disable(c.bev.get(), EV_READ);
        uint64_t id = c.id;
        auto answered = std::make_shared<bool>(false);
        c.in_process = true;
        std::weak_ptr<bool> alive = alive_;
        handle(c, req, body, [this, id, keep, answered, alive](AdminResponse resp) {
            if (*answered || alive.expired())
                return;
            *answered = true;
            auto it = conns_.find(id);
            if (it == conns_.end())
                return;
            Conn &k = *it->second;
            k.busy = false;
            send(k, resp, keep && !resp.close);
            if (!k.closing) {
                bufferevent_enable(k.bev.get(), EV_READ);
                if (k.in_process)
                    return;
                // Pipelined requests already buffered are not announced again: look now.
                if (evbuffer_get_length(bufferevent_get_input(k.bev.get())))
                    event_base_once(base_, -1, EV_TIMEOUT, [](evutil_socket_t, short, void *a) {
                        auto *pair = static_cast<std::pair<AdminServer *, uint64_t> *>(a);
                        auto jt = pair->first->conns_.find(pair->second);
                        if (jt != pair->first->conns_.end())
                            pair->first->process(*jt->second);
                        delete pair;
                    }, new std::pair<AdminServer *, uint64_t>(this, id), nullptr);
            }
        });
        // The handler may have answered at once (then `c` may be closing) or not yet.
        c.in_process = false;
        evbuffer_drain(in, total);
    }
}

void AdminServer::handle(Conn &c, const http::Request &req, std::string_view body,
                         Respond respond) {
    if (!authorized(req.authorization)) {
        AdminResponse r = admin_error(401, req.authorization.empty()
                                               ? "missing Authorization: Bearer token"
                                               : "invalid admin token");
        r.extra_headers = "WWW-Authenticate: Bearer realm=\"glided\"\r\n";
        respond(std::move(r));
        return;
    }
    if (!c.authenticated) { // the first request with the token: an operator's connection now
        if (authenticated_ >= max_authenticated) {
            AdminResponse r = admin_error(503, "too many admin connections");
            r.close = true;
            respond(std::move(r));
            return;
        }
        c.authenticated = true;
        authenticated_++;
        pending_.remove(c);
        c.header_timer.reset();
    }
    std::vector<std::string> segments;
    for (std::string_view s : http::split_path(req.path)) {
        std::string d;
        if (!http::percent_decode(s, &d)) {
            respond(admin_error(400, "invalid percent-encoding in the path"));
            return;
        }
        segments.push_back(std::move(d));
    }
    std::string allow;
    for (const Route &r : routes_) {
        if (r.pattern.size() != segments.size())
            continue;
        bool match = true;
        for (size_t i = 0; i < segments.size() && match; i++)
            match = r.pattern[i] == "*" ? !segments[i].empty() : r.pattern[i] == segments[i];
        if (!match)
            continue;
        if (req.method != r.method) {
            allow += (allow.empty() ? "" : ", ") + r.method;
            continue;
        }
        Call call{req, body, segments, std::move(respond)};
        r.handler(call);
        return;
    }
    if (!allow.empty()) {
        AdminResponse r = admin_error(405, "method " + std::string(req.method) +
                                               " is not allowed here; use " + allow);
        r.extra_headers = "Allow: " + allow + "\r\n";
        respond(std::move(r));
        return;
    }
    respond(admin_error(404, "no such endpoint: " + std::string(req.path)));
}

void AdminServer::invalidate_group(const std::string &gid) {
    for (const auto &p : plugins_) {
        int rc = p->api()->group_invalidate(p->module(), {gid.data(), gid.size()});
        if (rc != GLIDE_OK && rc != GLIDE_ESTATE)
            log_.log(GLIDE_LOG_WARN, "group_invalidate(\"%s\"): %s", gid.c_str(),
                     p->api()->strerror(rc));
    }
}

// --- endpoints ----------------------------------------------------------------------------------

AdminResponse AdminServer::healthz() const {
    glide_stats total{};
    for (const auto &p : plugins_) {
        glide_stats s{};
        s.size = sizeof s;
        if (p->api()->stats(p->module(), &s) == GLIDE_OK && s.draining)
            total.draining = 1;
    }
    JsonPtr o(json_object());
    json_object_set_new(o.get(), "status", json_string(total.draining ? "draining" : "ok"));
    json_object_set_new(o.get(), "version", json_string(GLIDE_VERSION_STRING));
    return {total.draining ? 503 : 200, json_text(o.get())};
}

namespace {

// How long a cluster-wide answer waits for the other nodes.
constexpr uint32_t kClusterTimeoutMs = 1000;

bool has_cluster_api(const glide_api *api) {
    return api_has(api, offsetof(glide_api, cluster_sessions) + sizeof api->cluster_sessions);
}

// A cluster-wide answer being gathered from the loaded modules: responds when the last one is
// done (each module's done is called exactly once).
template <typename T> struct Gather {
    T data;
    size_t pending = 1; // the caller's own reference, dropped by release() after the loop
    AdminServer::Respond respond;
    std::function<AdminResponse(T &)> render;
    void release() {
        if (--pending == 0) {
            respond(render(data));
            delete this;
        }
    }
};

struct MetricsGather {
    MetricsInput in;
    bool cluster = false;
};

} // namespace

void AdminServer::metrics(const http::Request &req, Respond respond) const {
    std::string scope;
    const bool node_only = http::query_param(req.query, "scope", &scope) && scope == "node";
    auto *g = new Gather<MetricsGather>;
    g->data.in.stats.size = sizeof g->data.in.stats;
    g->respond = std::move(respond);
    g->render = [](MetricsGather &m) {
        return AdminResponse{200, format_metrics(m.in),
                             "text/plain; version=0.0.4; charset=utf-8", {}};
    };
    for (const auto &p : plugins_) {
        const glide_api *api = p->api();
        if (!node_only && has_cluster_api(api)) {
            g->pending++;
            int rc = api->cluster_stats(
                p->module(), kClusterTimeoutMs,
                [](void *arg, glide_str, const glide_stats *s) {
                    add_stats(static_cast<Gather<MetricsGather> *>(arg)->data.in.stats, *s);
                },
                [](void *arg, glide_str, glide_stat_kind kind, glide_str label, uint64_t value) {
                    static_cast<Gather<MetricsGather> *>(arg)->data.in.series.push_back(
                        {kind, std::string(label.ptr, label.len), value});
                },
                [](void *arg, uint32_t nodes, uint32_t answered) {
                    auto *gm = static_cast<Gather<MetricsGather> *>(arg);
                    gm->data.in.nodes += nodes;
                    gm->data.in.nodes_answered += answered;
                    gm->release();
                },
                g);
            if (rc == GLIDE_OK)
                continue;
            g->pending--;
        }
        glide_stats s{};
        s.size = sizeof s;
        if (api->stats(p->module(), &s) != GLIDE_OK)
            continue;
        add_stats(g->data.in.stats, s);
        if (api_has(api, offsetof(glide_api, stats_each) + sizeof api->stats_each))
            api->stats_each(
                p->module(),
                [](void *arg, glide_stat_kind kind, glide_str label, uint64_t value) {
                    static_cast<MetricsInput *>(arg)->series.push_back(
                        {kind, std::string(label.ptr, label.len), value});
                },
                &g->data.in);
    }
    g->release();
}

AdminResponse AdminServer::push(std::string_view body) const {
    auto doc = parse_json_object(body);
    if (!doc)
        return admin_error(400, doc.error());
    json_t *o = doc->get();
    auto to = string_field(o, "to", true);
    if (!to)
        return admin_error(400, to.error());
    json_t *env = json_object_get(o, "envelope");
    if (!json_is_object(env))
        return admin_error(400, "\"envelope\" must be a glide message (a JSON object)");
    std::string text = json_text(env);
    uint32_t sent = 0;
    for (const auto &p : plugins_) {
        uint32_t n = 0;
        int rc = p->api()->push(p->module(), {to->data(), to->size()}, {text.data(), text.size()},
                                &n);
        if (rc == GLIDE_EDECODE)
            return admin_error(400, "\"envelope\" is not a glide message: it does not decode");
        if (rc != GLIDE_OK)
            return admin_error(503, std::string("push failed: ") + p->api()->strerror(rc));
        sent += n;
    }
    JsonPtr r(json_object());
    json_object_set_new(r.get(), "sent", json_integer(sent));
    return {200, json_text(r.get())};
}

AdminResponse AdminServer::kick(std::string_view body) const {
    auto doc = parse_json_object(body);
    if (!doc)
        return admin_error(400, doc.error());
    auto uid = string_field(doc->get(), "uid", true);
    if (!uid)
        return admin_error(400, uid.error());
    auto device = string_field(doc->get(), "device", false);
    if (!device)
        return admin_error(400, device.error());
    uint32_t kicked = 0;
    for (const auto &p : plugins_) {
        uint32_t n = 0;
        int rc = p->api()->kick(p->module(), {uid->data(), uid->size()},
                                {device->data(), device->size()}, &n);
        if (rc != GLIDE_OK)
            return admin_error(503, std::string("kick failed: ") + p->api()->strerror(rc));
        kicked += n;
    }
    JsonPtr r(json_object());
    json_object_set_new(r.get(), "kicked", json_integer(kicked));
    return {200, json_text(r.get())};
}

void AdminServer::sessions(const http::Request &req, Respond respond) const {
    std::string uid, limit_text;
    if (!req.query.empty() && req.query.find("uid=") != std::string_view::npos &&
        !http::query_param(req.query, "uid", &uid)) {
        respond(admin_error(400, "invalid percent-encoding in \"uid\""));
        return;
    }
    uint64_t limit = 1000;
    if (http::query_param(req.query, "limit", &limit_text)) {
        char *end = nullptr;
        unsigned long long v = strtoull(limit_text.c_str(), &end, 10);
        if (limit_text.empty() || *end || v == 0 || v > 100000) {
            respond(admin_error(400, "\"limit\" must be a number from 1 to 100000"));
            return;
        }
        limit = v;
    }
    struct Listing {
        JsonPtr array{json_array()};
        uint64_t limit;
        bool truncated = false;
        uint32_t nodes = 0, answered = 0;
        std::string error;
        // Adds one session; false when the limit is reached.
        bool add(glide_str node, const glide_session_info *s) {
            if (json_array_size(array.get()) >= limit) {
                truncated = true;
                return false;
            }
            json_t *o = json_object();
            json_object_set_new(o, "uid", json_stringn(s->uid.ptr, s->uid.len));
            json_object_set_new(o, "device", json_stringn(s->device_id.ptr, s->device_id.len));
            json_object_set_new(o, "device_name",
                                json_stringn(s->device_name.ptr, s->device_name.len));
            json_object_set_new(o, "peer", json_stringn(s->peer.ptr, s->peer.len));
            json_object_set_new(o, "codec", json_string(s->codec));
            json_object_set_new(o, "connected_ms", json_integer(s->connected_ms));
            json_object_set_new(o, "queued_bytes",
                                json_integer(static_cast<json_int_t>(s->queued_bytes)));
            if (node.ptr)
                json_object_set_new(o, "node", json_stringn(node.ptr, node.len));
            json_array_append_new(array.get(), o);
            return true;
        }
    };
    auto *g = new Gather<Listing>;
    g->data.limit = limit;
    g->respond = std::move(respond);
    g->render = [](Listing &l) {
        if (!l.error.empty())
            return admin_error(503, l.error);
        JsonPtr r(json_object());
        json_object_set(r.get(), "sessions", l.array.get());
        json_object_set_new(r.get(), "count",
                            json_integer(static_cast<json_int_t>(json_array_size(l.array.get()))));
        json_object_set_new(r.get(), "truncated", json_boolean(l.truncated));
        if (l.nodes) {
            json_object_set_new(r.get(), "nodes", json_integer(l.nodes));
            json_object_set_new(r.get(), "nodes_answered", json_integer(l.answered));
        }
        return AdminResponse{200, json_text(r.get())};
    };
    for (const auto &p : plugins_) {
        const glide_api *api = p->api();
        if (has_cluster_api(api)) {
            g->pending++;
            int rc = api->cluster_sessions(
                p->module(), {uid.data(), uid.size()}, static_cast<uint32_t>(limit),
                kClusterTimeoutMs,
                [](void *arg, glide_str node, const glide_session_info *s) {
                    return static_cast<Gather<Listing> *>(arg)->data.add(node, s) ? 0 : 1;
                },
                [](void *arg, uint32_t nodes, uint32_t answered) {
                    auto *gl = static_cast<Gather<Listing> *>(arg);
                    gl->data.nodes += nodes;
                    gl->data.answered += answered;
                    gl->release();
                },
                g);
            if (rc == GLIDE_OK)
                continue;
            g->pending--;
            g->data.error = std::string("listing sessions failed: ") + api->strerror(rc);
            break;
        }
        if (!api_has(api, offsetof(glide_api, sessions) + sizeof api->sessions)) {
            g->data.error = "the loaded module cannot list sessions (plugin ABI < 1.1)";
            break;
        }
        int rc = api->sessions(
            p->module(), {uid.data(), uid.size()},
            [](void *arg, const glide_session_info *s) {
                return static_cast<Listing *>(arg)->add({nullptr, 0}, s) ? 0 : 1;
            },
            &g->data, nullptr);
        if (rc != GLIDE_OK) {
            g->data.error = std::string("listing sessions failed: ") + api->strerror(rc);
            break;
        }
    }
    g->release();
}

} // namespace glide::host
