// A client of glided's admin HTTP API (libevent's evhttp): JSON requests with
// "Authorization: Bearer TOKEN", one at a time or several in flight on one keep-alive
// connection.
//
//   POST   /v1/groups                {"gid","members"}      create a group
//   DELETE /v1/groups/{gid}                                 delete it
//   PUT    /v1/groups/{gid}/members/{uid}                   add a member
//   DELETE /v1/groups/{gid}/members/{uid}                   remove one
//   POST   /v1/push                  {"to","envelope"}      push an envelope to a uid
//   POST   /v1/kick                  {"uid","device"?}      kick a uid (or one device)
//   GET    /v1/sessions?uid=UID                             a uid's sessions
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"
#include "net/libevent.h"

struct evhttp_connection;
struct evhttp_request;

namespace glide::client {

struct AdminResponse {
    int status = 0;   // HTTP status
    std::string body; // the answer's body
};

class AdminClient {
public:
    using Done = std::function<void(Result<AdminResponse>)>;

    // url: http://HOST:PORT (a path prefix after it is kept, e.g. http://h:8081/admin).
    static Result<std::unique_ptr<AdminClient>> create(event_base *base, std::string_view url,
                                                       std::string token);
    ~AdminClient();

    // Starts a request; `done` runs on the loop with the answer or the transport error.
    void request(std::string_view method, std::string_view path, std::string_view body,
                 Done done);
    // Gives up on a request after this long (whole seconds, rounded up).
    void set_timeout_ms(int ms);

private:
    AdminClient() = default;
    static void on_done(struct evhttp_request *req, void *ctx);

    event_base *base_ = nullptr;
    evhttp_connection *conn_ = nullptr;
    std::string host_, prefix_, token_;
    uint16_t port_ = 0;
};

// Runs one request on a private event_base and waits for it (timeout_ms overall).
Result<AdminResponse> admin_call(std::string_view url, const std::string &token,
                                 std::string_view method, std::string_view path,
                                 std::string_view body, int timeout_ms = 10000);

// Percent-encodes a path segment or query value (RFC 3986 unreserved characters kept).
std::string url_escape(std::string_view s);

} // namespace glide::client
