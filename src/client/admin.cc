#include "client/admin.h"

#include <event2/http.h>

#include "client/endpoint.h"

namespace glide::client {

namespace {

struct Pending {
    AdminClient::Done done;
};

} // namespace

Result<std::unique_ptr<AdminClient>> AdminClient::create(event_base *base, std::string_view url,
                                                         std::string token) {
    if (!url.starts_with("http://"))
        return make_error("\"" + std::string(url) + "\": expected http://HOST:PORT");
    // Reuse the ws:// parser for HOST:PORT and the path.
    Result<Endpoint> ep = parse_endpoint("ws://" + std::string(url.substr(7)));
    if (!ep)
        return make_error(ep.error());
    std::unique_ptr<AdminClient> c(new AdminClient());
    c->base_ = base;
    c->host_ = ep->host;
    c->port_ = ep->port;
    c->prefix_ = url.substr(7).find('/') == std::string_view::npos ? "" : ep->path;
    while (!c->prefix_.empty() && c->prefix_.back() == '/')
        c->prefix_.pop_back();
    c->token_ = std::move(token);
    c->conn_ = evhttp_connection_base_new(base, nullptr, c->host_.c_str(), c->port_);
    if (!c->conn_)
        return make_error("evhttp_connection_base_new() failed");
    return c;
}

AdminClient::~AdminClient() {
    if (conn_)
        evhttp_connection_free(conn_);
}

void AdminClient::set_timeout_ms(int ms) {
    evhttp_connection_set_timeout(conn_, (ms + 999) / 1000);
}

void AdminClient::on_done(evhttp_request *req, void *ctx) {
    std::unique_ptr<Pending> p(static_cast<Pending *>(ctx));
    if (!req || evhttp_request_get_response_code(req) == 0) {
        p->done(make_error("admin API request failed (connection refused, reset or timed out)"));
        return;
    }
    AdminResponse r;
    r.status = evhttp_request_get_response_code(req);
    evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t n = evbuffer_get_length(in);
    r.body.assign(reinterpret_cast<const char *>(evbuffer_pullup(in, -1)), n);
    p->done(std::move(r));
}

void AdminClient::request(std::string_view method, std::string_view path, std::string_view body,
                          Done done) {
    evhttp_cmd_type cmd = EVHTTP_REQ_GET;
    if (method == "POST")
        cmd = EVHTTP_REQ_POST;
    else if (method == "PUT")
        cmd = EVHTTP_REQ_PUT;
    else if (method == "DELETE")
        cmd = EVHTTP_REQ_DELETE;
    auto *p = new Pending{std::move(done)};
    evhttp_request *req = evhttp_request_new(on_done, p);
    evkeyvalq *h = evhttp_request_get_output_headers(req);
    std::string host = host_ + ":" + std::to_string(port_);
    std::string auth = "Bearer " + token_;
    evhttp_add_header(h, "Host", host.c_str());
    evhttp_add_header(h, "Authorization", auth.c_str());
    if (!body.empty()) {
        evhttp_add_header(h, "Content-Type", "application/json");
        evbuffer_add(evhttp_request_get_output_buffer(req), body.data(), body.size());
    }
    std::string uri = prefix_ + std::string(path);
    if (evhttp_make_request(conn_, req, cmd, uri.c_str()) != 0) {
        // evhttp frees the request on failure, without calling back.
        std::unique_ptr<Pending> owned(p);
        owned->done(make_error("evhttp_make_request() failed"));
    }
}

Result<AdminResponse> admin_call(std::string_view url, const std::string &token,
                                 std::string_view method, std::string_view path,
                                 std::string_view body, int timeout_ms) {
    event_base *base = event_base_new();
    if (!base)
        return make_error("event_base_new() failed");
    Result<AdminResponse> out = make_error("admin API request timed out");
    {
        Result<std::unique_ptr<AdminClient>> c = AdminClient::create(base, url, token);
        if (!c) {
            event_base_free(base);
            return make_error(c.error());
        }
        (*c)->set_timeout_ms(timeout_ms);
        bool finished = false;
        (*c)->request(method, path, body, [&](Result<AdminResponse> r) {
            out = std::move(r);
            finished = true;
            event_base_loopbreak(base);
        });
        if (!finished) {
            timeval tv = net::ms_to_tv(static_cast<uint64_t>(timeout_ms));
            event_base_loopexit(base, &tv);
            event_base_dispatch(base);
        }
    }
    event_base_free(base);
    return out;
}

std::string url_escape(std::string_view s) {
    static const char hex[] = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : s) {
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~') {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    return out;
}

} // namespace glide::client
