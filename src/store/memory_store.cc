#include "store/memory_store.h"

#include "codec/credential.h"

namespace glide::store {

using hub::AuthResult;
using hub::RequestPtr;
using hub::StoreResult;

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
        StoreResult r;
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
    AuthResult r;
    if (auto t = tokens_.find(credential); t != tokens_.end())
        return t->second;
    if (secret_.empty()) {
        r.error = "authentication is not configured";
        return r;
    }
    auto c = codec::open_credential(secret_, credential);
    if (!c) {
        r.error = "invalid authenticate message";
        return r;
    }
    if (codec::credential_expired(c.value(), timers_->wall_ms())) {
        r.error = "credential expired";
        return r;
    }
    r.accepted = true;
    r.uid = c->user_id;
    r.device_id = c->device_id;
    r.device_name = c->device_name;
    if (c->has_secrets)
        r.message_deliver_secret = c->secrets.message_deliver_secret;
    // glide applies connection_config as given; zero values would make no sense, so they keep
    // the configured settings here.
    if (c->has_connection_config) {
        const auto &cc = c->connection_config;
        if (cc.heartbeat_duration > 0 && cc.heartbeat_duration < 3600)
            r.heartbeat_interval_ms = static_cast<uint32_t>(cc.heartbeat_duration * 1000);
        if (cc.allow_max_heartbeat_lost > 0 && cc.allow_max_heartbeat_lost < 1000)
            r.heartbeat_lost = static_cast<uint32_t>(cc.allow_max_heartbeat_lost);
    }
    if (r.uid.empty()) {
        r.accepted = false;
        r.error = "invalid authenticate message";
    }
    return r;
}

int MemoryStore::auth(const RequestPtr &req, const hub::AuthInput &in) {
    std::string cred(in.credential);
    return complete(Kind::auth, req, [this, req, cred] { req->auth_done(verify(cred)); });
}

int MemoryStore::store_message(const RequestPtr &req, const codec::ChatMessage &msg) {
    return complete(Kind::store_message, req, [this, req, msg = codec::ChatMessage(msg)]() mutable {
        StoreResult r;
        std::string key;
        if (!msg.cli_mid.empty()) {
            key = msg.from + '\x1f' + msg.cli_mid;
            if (auto it = by_cli_mid_.find(key); it != by_cli_mid_.end()) {
                r.mid = it->second;
                r.duplicate = true;
                req->store_done(std::move(r));
                return;
            }
        }
        msg.mid = next_mid_++;
        r.mid = msg.mid;
        if (!key.empty())
            by_cli_mid_.emplace(std::move(key), msg.mid);
        undelivered_[msg.to].insert(msg.mid);
        messages_.emplace(msg.mid, std::move(msg));
        req->store_done(std::move(r));
    });
}

int MemoryStore::mark_delivered(const RequestPtr &req, std::string_view uid, std::string_view,
                                int64_t mid) {
    std::string u(uid);
    return complete(Kind::mark_delivered, req, [this, req, u, mid] {
        if (auto it = undelivered_.find(u); it != undelivered_.end()) {
            it->second.erase(mid);
            if (it->second.empty())
                undelivered_.erase(it);
        }
        req->request_done(GLIDE_OK);
    });
}

int MemoryStore::load_undelivered(const RequestPtr &req, std::string_view uid, std::string_view,
                                  int64_t after_mid, uint32_t limit) {
    std::string u(uid);
    return complete(Kind::load_undelivered, req, [this, req, u, after_mid, limit] {
        if (auto it = undelivered_.find(u); it != undelivered_.end()) {
            uint32_t n = 0;
            for (auto m = it->second.upper_bound(after_mid); m != it->second.end() && n < limit;
                 ++m, ++n)
                req->page_add(messages_.at(*m));
        }
        req->request_done(GLIDE_OK);
    });
}

int MemoryStore::group_publish(const RequestPtr &req, const codec::ChatMessage &msg) {
    // The hub delivers a group's messages in the order of its calls, so sequences must follow
    // that order: they are taken now, and only the completion waits for a configured delay
    // (timers with one deadline fire in any order). An injected failure takes nothing.
    StoreResult r;
    if (failures_[idx(Kind::group_publish)].empty()) {
        auto g = groups_.find(msg.to);
        if (g == groups_.end()) {
            r.status = GLIDE_ENOTFOUND;
            r.error = "channel does not exist";
        } else if (!g->second.members.count(msg.from)) {
            r.status = GLIDE_ENOTFOUND;
            r.error = "not member of channel";
        } else {
            codec::ChatMessage m = msg;
            m.mid = next_mid_++;
            m.seq = g->second.next_seq++;
            r.mid = m.mid;
            r.seq = m.seq;
            g->second.mids.push_back(m.mid);
            messages_.emplace(m.mid, std::move(m));
        }
    }
    return complete(Kind::group_publish, req,
                    [req, r = std::move(r)]() mutable { req->store_done(std::move(r)); });
}

int MemoryStore::group_members(const RequestPtr &req, std::string_view gid) {
    std::string g(gid);
    return complete(Kind::group_members, req, [this, req, g] {
        auto it = groups_.find(g);
        if (it == groups_.end()) {
            req->request_done(GLIDE_ENOTFOUND, "channel does not exist");
            return;
        }
        for (const std::string &m : it->second.members)
            req->member_add(m);
        req->request_done(GLIDE_OK);
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
    groups_.try_emplace(gid);
}

void MemoryStore::add_member(const std::string &gid, const std::string &uid) {
    groups_[gid].members.insert(uid);
}

void MemoryStore::remove_member(const std::string &gid, const std::string &uid) {
    if (auto it = groups_.find(gid); it != groups_.end())
        it->second.members.erase(uid);
}

const codec::ChatMessage *MemoryStore::message(int64_t mid) const {
    auto it = messages_.find(mid);
    return it == messages_.end() ? nullptr : &it->second;
}

std::vector<int64_t> MemoryStore::undelivered(const std::string &uid) const {
    auto it = undelivered_.find(uid);
    if (it == undelivered_.end())
        return {};
    return {it->second.begin(), it->second.end()};
}

} // namespace glide::store
