#include "module/host_adapter.h"

#include <cstddef>

#include "codec/json.h"

namespace glide {

namespace {

using port::HostRequest;
using port::RequestPtr;
using Kind = HostRequest::Kind;

glide_str gs(std::string_view s) { return {s.data(), s.size()}; }
std::string str(glide_str s) { return s.ptr ? std::string(s.ptr, s.len) : std::string(); }

// The table reaches field F (its size covers it) and F is set.
#define HOST_HAS(h, f)                                                                            \
    ((h) && (h)->size >= offsetof(glide_host, f) + sizeof((h)->f) && (h)->f)

// Whether the caller's struct covers field F.
#define COVERS(p, T, f) ((p)->size >= offsetof(T, f) + sizeof((p)->f))

// The handle is the request itself; the host's reference is held inside it (host_hold) until
// the completing call releases it.
glide_request *handle(const RequestPtr &req) {
    req->host_hold(req);
    return reinterpret_cast<glide_request *>(req.get());
}
HostRequest *unhandle(glide_request *r) { return reinterpret_cast<HostRequest *>(r); }

// After a host callback: a negative return means no completion follows, so the hold goes.
int settle(glide_request *h, int rc) {
    if (rc < 0)
        unhandle(h)->host_release();
    return rc;
}

} // namespace

HostWorker host_worker(const glide_host *host) {
    HostWorker w;
    if (host && COVERS(host, glide_host, worker_count)) {
        w.index = host->worker_index;
        w.count = host->worker_count;
    }
    return w;
}

glide_auth_result to_glide_auth_result(const port::AuthResult &a) {
    glide_auth_result r{};
    r.size = sizeof r;
    r.version = 1;
    r.accepted = a.accepted;
    r.error = gs(a.error);
    r.uid = gs(a.uid);
    r.device_id = gs(a.device_id);
    r.device_name = gs(a.device_name);
    r.message_deliver_secret = gs(a.message_deliver_secret);
    r.heartbeat_interval_ms = a.heartbeat_interval_ms;
    r.heartbeat_lost = a.heartbeat_lost;
    return r;
}

glide_message to_glide_message(const codec::ChatMessage &m, std::string_view payload,
                               uint32_t flags) {
    glide_message g{};
    g.size = sizeof g;
    g.version = 1;
    g.mid = m.mid;
    g.seq = m.seq;
    g.cli_mid = gs(m.cli_mid);
    g.from = gs(m.from);
    g.to = gs(m.to);
    g.type = m.type;
    g.content = gs(m.content);
    g.send_at = m.send_at;
    g.payload = gs(payload);
    g.flags = flags;
    return g;
}

codec::ChatMessage from_glide_message(const glide_message *m) {
    codec::ChatMessage c;
    c.mid = m->mid;
    read_glide_message(m, c, str);
    return c;
}

int HostAdapter::auth(const RequestPtr &req, const port::AuthInput &in) {
    if (!HOST_HAS(host_, auth)) {
        port::AuthResult r;
        r.error = "authentication is not configured";
        req->auth_done(std::move(r));
        return GLIDE_OK;
    }
    glide_auth_request a{};
    a.size = sizeof a;
    a.version = 1;
    a.credential = gs(in.credential);
    a.credential_version = in.credential_version;
    a.remote_addr = gs(in.remote_addr);
    a.temp_id = gs(in.temp_id);
    glide_request *h = handle(req);
    return settle(h, host_->auth(host_->user_data, h, &a));
}

int HostAdapter::store_message(const RequestPtr &req, const codec::ChatMessage &msg) {
    return send_message(req, msg, HOST_HAS(host_, store_message) ? host_->store_message : nullptr,
                        "message store is not configured", 0);
}

int HostAdapter::mark_delivered(const RequestPtr &req, std::string_view uid,
                                std::string_view device_id, int64_t mid) {
    return delivery(req, uid, device_id, 0, mid);
}

int HostAdapter::group_delivered(const RequestPtr &req, std::string_view uid,
                                 std::string_view device_id, int64_t first_mid, int64_t mid) {
    return delivery(req, uid, device_id, first_mid, mid);
}

bool HostAdapter::group_receipts() const {
    return COVERS(host_, glide_host, flags) && (host_->flags & GLIDE_HOST_GROUP_REPLAY) &&
           HOST_HAS(host_, mark_delivered);
}

int HostAdapter::delivery(const RequestPtr &req, std::string_view uid, std::string_view device_id,
                          int64_t first_mid, int64_t mid) {
    if (!HOST_HAS(host_, mark_delivered)) {
        req->request_done(GLIDE_OK); // forwarded, not recorded
        return GLIDE_OK;
    }
    glide_delivery d{};
    d.size = sizeof d;
    d.version = 1;
    d.uid = gs(uid);
    d.device_id = gs(device_id);
    d.mid = mid;
    d.first_mid = first_mid;
    glide_request *h = handle(req);
    return settle(h, host_->mark_delivered(host_->user_data, h, &d));
}

int HostAdapter::load_undelivered(const RequestPtr &req, std::string_view uid,
                                  std::string_view device_id, int64_t after_mid,
                                  uint32_t limit) {
    if (!HOST_HAS(host_, load_undelivered)) {
        req->request_done(GLIDE_OK); // no replay: an empty page
        return GLIDE_OK;
    }
    glide_undelivered_query q{};
    q.size = sizeof q;
    q.version = 1;
    q.uid = gs(uid);
    q.device_id = gs(device_id);
    q.after_mid = after_mid;
    q.limit = limit;
    glide_request *h = handle(req);
    return settle(h, host_->load_undelivered(host_->user_data, h, &q));
}

int HostAdapter::group_publish(const RequestPtr &req, const codec::ChatMessage &msg) {
    return send_message(req, msg, HOST_HAS(host_, group_publish) ? host_->group_publish : nullptr,
                        "group messages are not configured", GLIDE_MESSAGE_GROUP);
}

// store_message and group_publish: the same conversion to glide_message, another callback.
int HostAdapter::send_message(const RequestPtr &req, const codec::ChatMessage &msg,
                              MessageCall call, const char *absent, uint32_t flags) {
    if (!call) {
        port::StoreResult r;
        r.status = GLIDE_ENOCALLBACK;
        r.error = absent;
        req->store_done(std::move(r));
        return GLIDE_OK;
    }
    // The payload is encoded into a buffer kept between calls; a call made from inside the
    // host's callback (a synchronous completion whose continuation stores again) uses its own.
    // A host that never reads it (GLIDE_HOST_NO_PAYLOAD) gets it empty.
    std::string local;
    std::string &payload = payload_busy_ ? local : payload_;
    bool outer = !payload_busy_;
    payload_busy_ = true;
    payload.clear();
    if (!(COVERS(host_, glide_host, flags) && (host_->flags & GLIDE_HOST_NO_PAYLOAD)))
        codec::encode_json_payload(msg, &payload);
    glide_message m = to_glide_message(msg, payload, flags);
    glide_request *h = handle(req);
    int rc = settle(h, call(host_->user_data, h, &m));
    if (outer)
        payload_busy_ = false;
    return rc;
}

int HostAdapter::group_members(const RequestPtr &req, std::string_view gid) {
    if (!HOST_HAS(host_, group_members)) {
        req->request_done(GLIDE_ENOCALLBACK, "group messages are not configured");
        return GLIDE_OK;
    }
    glide_request *h = handle(req);
    return settle(h, host_->group_members(host_->user_data, h, gs(gid)));
}

void HostAdapter::presence(std::string_view uid, std::string_view device_id,
                           std::string_view node_id, bool online) {
    if (!HOST_HAS(host_, presence))
        return;
    glide_presence p{};
    p.size = sizeof p;
    p.version = 1;
    p.uid = gs(uid);
    p.device_id = gs(device_id);
    p.node_id = gs(node_id);
    p.online = online;
    host_->presence(host_->user_data, &p);
}

void HostAdapter::log(glide_log_level level, std::string_view msg) {
    log_.log(level, "%.*s", static_cast<int>(msg.size()), msg.data());
}

// --- completions -------------------------------------------------------------------------------

int request_auth_done(glide_request *req, const glide_auth_result *r) {
    if (!req || !r)
        return GLIDE_EINVAL;
    if (!COVERS(r, glide_auth_result, accepted) || r->version == 0)
        return GLIDE_ESTRUCT;
    HostRequest *p = unhandle(req);
    if (p->kind() != Kind::auth)
        return GLIDE_EINVAL;
    port::AuthResult a;
    a.accepted = r->accepted != 0;
    if (COVERS(r, glide_auth_result, error))
        a.error = str(r->error);
    if (COVERS(r, glide_auth_result, uid))
        a.uid = str(r->uid);
    if (COVERS(r, glide_auth_result, device_id))
        a.device_id = str(r->device_id);
    if (COVERS(r, glide_auth_result, device_name))
        a.device_name = str(r->device_name);
    if (COVERS(r, glide_auth_result, message_deliver_secret))
        a.message_deliver_secret = str(r->message_deliver_secret);
    if (COVERS(r, glide_auth_result, heartbeat_interval_ms))
        a.heartbeat_interval_ms = r->heartbeat_interval_ms;
    if (COVERS(r, glide_auth_result, heartbeat_lost))
        a.heartbeat_lost = r->heartbeat_lost;
    RequestPtr keep = p->host_release(); // before the continuation: the handle is spent
    keep->auth_done(std::move(a)); // false: late (ignored), as host.h promises
    return GLIDE_OK;
}

int request_store_done(glide_request *req, const glide_store_result *r) {
    if (!req || !r)
        return GLIDE_EINVAL;
    if (!COVERS(r, glide_store_result, status) || r->version == 0)
        return GLIDE_ESTRUCT;
    HostRequest *p = unhandle(req);
    if (p->kind() != Kind::store_message && p->kind() != Kind::group_publish)
        return GLIDE_EINVAL;
    port::StoreResult s;
    s.status = r->status;
    if (COVERS(r, glide_store_result, error))
        s.error = str(r->error);
    if (COVERS(r, glide_store_result, mid))
        s.mid = r->mid;
    if (COVERS(r, glide_store_result, seq))
        s.seq = r->seq;
    if (COVERS(r, glide_store_result, duplicate))
        s.duplicate = r->duplicate != 0;
    RequestPtr keep = p->host_release();
    keep->store_done(std::move(s));
    return GLIDE_OK;
}

int request_page_add(glide_request *req, const glide_message *m) {
    if (!req || !m)
        return GLIDE_EINVAL;
    if (!COVERS(m, glide_message, mid) || m->version == 0)
        return GLIDE_ESTRUCT;
    HostRequest *p = unhandle(req);
    if (p->kind() != Kind::load_undelivered)
        return GLIDE_EINVAL;
    p->page_add(from_glide_message(m),
                COVERS(m, glide_message, flags) && (m->flags & GLIDE_MESSAGE_GROUP));
    return GLIDE_OK;
}

int request_member_add(glide_request *req, glide_str uid) {
    if (!req || !uid.ptr)
        return GLIDE_EINVAL;
    HostRequest *p = unhandle(req);
    if (p->kind() != Kind::group_members)
        return GLIDE_EINVAL;
    p->member_add(str(uid));
    return GLIDE_OK;
}

int request_done(glide_request *req, int status, glide_str error) {
    if (!req)
        return GLIDE_EINVAL;
    HostRequest *p = unhandle(req);
    Kind k = p->kind();
    if (k == Kind::auth || k == Kind::store_message || k == Kind::group_publish)
        return GLIDE_EINVAL;
    RequestPtr keep = p->host_release();
    keep->request_done(status, str(error));
    return GLIDE_OK;
}

} // namespace glide
