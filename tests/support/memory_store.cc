#include "support/memory_store.h"

#include "codec/credential.h"

namespace glide::store {

using port::AuthResult;
using port::RequestPtr;

namespace {

// The glide credential check with the module's own codec (glided's is
// host/store/credential_auth.h, through the C API): the same texts and expiry.
AuthResult verify_credential(std::string_view secret, std::string_view credential,
                             int64_t now_ms) {
    AuthResult r;
    if (secret.empty()) {
        r.error = "authentication is not configured";
        return r;
    }
    auto c = codec::open_credential(secret, credential);
    if (!c) {
        r.error = "invalid authenticate message";
        return r;
    }
    if (codec::credential_expired(c.value(), now_ms)) {
        r.error = "credential expired";
        return r;
    }
    if (c->user_id.empty()) {
        r.error = "invalid authenticate message";
        return r;
    }
    r.accepted = true;
    r.uid = c->user_id;
    r.device_id = c->device_id;
    r.device_name = c->device_name;
    if (c->has_secrets)
        r.message_deliver_secret = c->secrets.message_deliver_secret;
    const auto &cc = c->connection_config;
    if (c->has_connection_config && cc.heartbeat_duration > 0 && cc.heartbeat_duration < 3600)
        r.heartbeat_interval_ms = static_cast<uint32_t>(cc.heartbeat_duration * 1000);
    if (c->has_connection_config && cc.allow_max_heartbeat_lost > 0 &&
        cc.allow_max_heartbeat_lost < 1000)
        r.heartbeat_lost = static_cast<uint32_t>(cc.allow_max_heartbeat_lost);
    return r;
}

// The module's message as the store takes it (views of its strings).
MessageView view_of(const codec::ChatMessage &m) {
    MessageView v;
    v.cli_mid = m.cli_mid;
    v.from = m.from;
    v.to = m.to;
    v.content = m.content;
    v.seq = m.seq;
    v.type = m.type;
    v.send_at = m.send_at;
    return v;
}

codec::ChatMessage to_chat(Message &&m) {
    codec::ChatMessage c;
    c.cli_mid = std::move(m.cli_mid);
    c.mid = m.mid;
    c.seq = m.seq;
    c.from = std::move(m.from);
    c.to = std::move(m.to);
    c.type = m.type;
    c.content = std::move(m.content);
    c.send_at = m.send_at;
    return c;
}

port::StoreResult to_port(StoreResult &&r) {
    port::StoreResult p;
    p.status = r.status;
    p.error = std::move(r.error);
    p.mid = r.mid;
    p.seq = r.seq;
    p.duplicate = r.duplicate;
    return p;
}

} // namespace

MemoryStore::MemoryStore(session::TimerService *timers, std::string credential_secret)
    : timers_(timers), secret_(std::move(credential_secret)) {}

MemoryStore::~MemoryStore() {
    for (auto h : timers_pending_)
        timers_->cancel(h);
}

void MemoryStore::add_token(std::string token, AuthResult identity) {
    identity.accepted = true;
    tokens_[std::move(token)] = std::move(identity);
}

void MemoryStore::fail_next(Kind k, int status, std::string error, int times) {
    failures_[idx(k)].push_back({status, std::move(error), times});
}

size_t MemoryStore::release_held() {
    size_t n = 0;
    while (!held_.empty()) {
        auto fn = std::move(held_.front());
        held_.pop_front();
        fn();
        n++;
    }
    return n;
}

void MemoryStore::fail(Kind k, const RequestPtr &req, int status, const std::string &error) {
    switch (k) {
    case Kind::auth: {
        AuthResult r;
        r.error = error;
        req->auth_done(std::move(r));
        break;
    }
    case Kind::store_message:
    case Kind::group_publish: {
        port::StoreResult r;
        r.status = status;
        r.error = error;
        req->store_done(std::move(r));
        break;
    }
    default:
        req->request_done(status, error);
        break;
    }
}

int MemoryStore::complete(Kind k, const RequestPtr &req, std::function<void()> op) {
    calls_[idx(k)]++;
    auto &fq = failures_[idx(k)];
    if (!fq.empty()) {
        Failure f = fq.front();
        if (--fq.front().times <= 0)
            fq.pop_front();
        op = [this, k, req, f] { fail(k, req, f.status, f.error); };
    }
    uint64_t d = delay_[idx(k)];
    if (d == 0) {
        op();
        return GLIDE_OK;
    }
    if (d == hold) {
        held_.push_back(std::move(op));
        return GLIDE_PENDING;
    }
    // The timer's handle is known only after schedule() returns; the callback finds it there.
    auto handle = std::make_shared<session::TimerService::Handle>(0);
    *handle = timers_->schedule(d, [this, handle, op = std::move(op)] {
        timers_pending_.erase(*handle);
        op();
    });
    timers_pending_.insert(*handle);
    return GLIDE_PENDING;
}

AuthResult MemoryStore::verify(const std::string &credential) const {
    if (auto t = tokens_.find(credential); t != tokens_.end())
        return t->second;
    return verify_credential(secret_, credential, timers_->wall_ms());
}

int MemoryStore::auth(const RequestPtr &req, const port::AuthInput &in) {
    std::string cred(in.credential);
    return complete(Kind::auth, req, [this, req, cred] { req->auth_done(verify(cred)); });
}

int MemoryStore::store_message(const RequestPtr &req, const codec::ChatMessage &msg) {
    return complete(Kind::store_message, req, [this, req, msg] {
        backend_.store_message(view_of(msg),
                               [req](StoreResult r) { req->store_done(to_port(std::move(r))); });
    });
}

int MemoryStore::mark_delivered(const RequestPtr &req, std::string_view uid, std::string_view,
                                int64_t mid) {
    std::string u(uid);
    return complete(Kind::mark_delivered, req, [this, req, u, mid] {
        backend_.mark_delivered(u, mid, [req](Outcome o) { req->request_done(o.status, o.error); });
    });
}

int MemoryStore::group_delivered(const RequestPtr &req, std::string_view uid, std::string_view,
                                 int64_t first_mid, int64_t mid) {
    std::string u(uid);
    return complete(Kind::mark_delivered, req, [this, req, u, first_mid, mid] {
        backend_.mark_group_delivered(
            u, first_mid, mid, [req](Outcome o) { req->request_done(o.status, o.error); });
    });
}

int MemoryStore::load_undelivered(const RequestPtr &req, std::string_view uid, std::string_view,
                                  int64_t after_mid, uint32_t limit) {
    std::string u(uid);
    return complete(Kind::load_undelivered, req, [this, req, u, after_mid, limit] {
        backend_.load_undelivered(u, after_mid, limit,
                                  [req](Outcome o, std::vector<PageMessage> page) {
                                      for (PageMessage &m : page)
                                          req->page_add(to_chat(std::move(m.msg)), m.group);
                                      req->request_done(o.status, o.error);
                                  });
    });
}

int MemoryStore::group_publish(const RequestPtr &req, const codec::ChatMessage &msg) {
    // The hub delivers a group's messages in the order of its calls, so sequences must follow
    // that order: they are taken now (the memory backend answers at once), and only the
    // completion waits for a configured delay (timers with one deadline fire in any order).
    // An injected failure takes nothing.
    auto r = std::make_shared<StoreResult>();
    if (failures_[idx(Kind::group_publish)].empty())
        backend_.group_publish(view_of(msg), [r](StoreResult res) { *r = std::move(res); });
    return complete(Kind::group_publish, req,
                    [req, r] { req->store_done(to_port(std::move(*r))); });
}

int MemoryStore::group_members(const RequestPtr &req, std::string_view gid) {
    std::string g(gid);
    return complete(Kind::group_members, req, [this, req, g] {
        backend_.group_members(g, [req](Outcome o, std::vector<std::string> members) {
            for (std::string &m : members)
                req->member_add(std::move(m));
            req->request_done(o.status, o.error);
        });
    });
}

void MemoryStore::presence(std::string_view uid, std::string_view device_id,
                           std::string_view node_id, bool online) {
    presence_.push_back({std::string(uid), std::string(device_id), std::string(node_id), online});
}

void MemoryStore::log(glide_log_level, std::string_view msg) {
    if (log_.size() < 1000)
        log_.emplace_back(msg);
}

void MemoryStore::create_group(const std::string &gid) {
    backend_.create_group(gid, ignore); // an existing group is fine here
}

void MemoryStore::add_member(const std::string &gid, const std::string &uid) {
    create_group(gid);
    backend_.add_member(gid, uid, ignore);
}

void MemoryStore::remove_member(const std::string &gid, const std::string &uid) {
    backend_.remove_member(gid, uid, ignore);
}

} // namespace glide::store
