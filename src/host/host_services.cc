#include "host/host_services.h"

#include <fcntl.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <chrono>

#include "common/strings.h"
#include "host/store/credential_auth.h"
#include "host/store/memory_backend.h"
#include "host/store/pg_store.h"
#include "host/store/sqlite_store.h"

namespace glide::host {

namespace {

glide_str gs(std::string_view s) {
    return {s.data(), s.size()};
}
std::string str(glide_str s) {
    return s.ptr ? std::string(s.ptr, s.len) : std::string();
}

int64_t wall_ms() {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}


std::string_view sv(glide_str s) {
    return s.ptr ? std::string_view(s.ptr, s.len) : std::string_view();
}

// The module's message as the store takes it, without copying its strings: the fields its
// `size` covers (include/glide/host.h), mid and payload aside.
store::MessageView view_of(const glide_message *m) {
#define COVERS(f) (m->size >= offsetof(glide_message, f) + sizeof(m->f))
    store::MessageView v;
    if (COVERS(seq))
        v.seq = m->seq;
    if (COVERS(cli_mid))
        v.cli_mid = sv(m->cli_mid);
    if (COVERS(from))
        v.from = sv(m->from);
    if (COVERS(to))
        v.to = sv(m->to);
    if (COVERS(type))
        v.type = m->type;
    if (COVERS(content))
        v.content = sv(m->content);
    if (COVERS(send_at))
        v.send_at = m->send_at;
#undef COVERS
    return v;
}

// A page's message as the module takes it (borrows m).
glide_message to_glide(const store::PageMessage &p) {
    const store::Message &m = p.msg;
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
    g.flags = p.group ? GLIDE_MESSAGE_GROUP : 0;
    return g;
}

// mkdir -p of the directory holding `file`.
Status make_parent_dirs(const std::string &file) {
    size_t slash = file.rfind('/');
    if (slash == std::string::npos || slash == 0)
        return {};
    std::string dir = file.substr(0, slash);
    for (size_t i = 1; i <= dir.size(); i++) {
        if (i < dir.size() && dir[i] != '/')
            continue;
        std::string part = dir.substr(0, i);
        if (mkdir(part.c_str(), 0755) != 0 && errno != EEXIST)
            return make_error("mkdir() \"" + part + "\" failed (" + errno_text(errno) + ")");
    }
    return {};
}

} // namespace

Result<std::string> HostServices::load_secret_file(const std::string &path, bool *created) {
    *created = false;
    for (int attempt = 0; attempt < 2; attempt++) {
        int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
            char buf[4096];
            ssize_t n = ::read(fd, buf, sizeof buf);
            ::close(fd);
            if (n < 0)
                return make_error("read() \"" + path + "\" failed (" + errno_text(errno) + ")");
            std::string line(buf, static_cast<size_t>(n));
            line = line.substr(0, line.find_first_of("\r\n"));
            if (line.empty())
                return make_error("\"" + path + "\" (credential_secret_file) has no secret on its "
                                  "first line");
            return line;
        }
        if (errno != ENOENT)
            return make_error("open() \"" + path + "\" failed (" + errno_text(errno) + ")");
        if (Status st = make_parent_dirs(path); !st)
            return make_error(st.error());
        unsigned char raw[32];
        if (RAND_bytes(raw, sizeof raw) != 1)
            return make_error("RAND_bytes() failed making a credential secret");
        std::string secret;
        append_hex(secret, raw, sizeof raw);
        fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0 && errno == EEXIST)
            continue; // made meanwhile (another glided): read it
        if (fd < 0)
            return make_error("open() \"" + path + "\" failed (" + errno_text(errno) + ")");
        std::string text = secret + "\n";
        bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
                  ::fsync(fd) == 0;
        int err = errno;
        ::close(fd);
        if (!ok) {
            ::unlink(path.c_str());
            return make_error("write() \"" + path + "\" failed (" + errno_text(err) + ")");
        }
        *created = true;
        return secret;
    }
    return make_error("\"" + path + "\" (credential_secret_file) could not be read or made");
}

HostServices::HostServices(ErrorLog *log) : log_(log) {
    table_.size = sizeof table_;
    table_.version = GLIDE_HOST_VERSION;
    table_.user_data = this;
    table_.log = on_log;
    table_.auth = on_auth;
}

HostServices::~HostServices() {
    close_store();
}

void HostServices::close_store() {
    store_.reset();
}

Status HostServices::open_store(const HostConf &conf, event_base *base) {
    if (conf.store == "memory") {
        store_ = std::make_unique<store::MemoryBackend>();
    } else if (conf.store == "postgresql") {
        auto s = store::PgStore::open(base, conf.store_path,
                                      [log = log_](glide_log_level level, const std::string &m) {
                                          log->write(level, m.data(), m.size());
                                      });
        if (!s)
            return make_error(s.error());
        store_ = std::move(s.value());
    } else {
        Status st = make_parent_dirs(conf.store_path);
        if (!st)
            return make_error("store sqlite \"" + conf.store_path + "\": " + st.error());
        auto s = store::SqliteStore::open(base, conf.store_path,
                                          conf.store_sync_full ? store::SqliteStore::Sync::full
                                                               : store::SqliteStore::Sync::normal);
        if (!s)
            return make_error(s.error());
        if (!(*s)->degraded().empty()) {
            std::string m = "store sqlite \"" + conf.store_path + "\": " + (*s)->degraded();
            log_->write(GLIDE_LOG_WARN, m.data(), m.size());
        }
        store_ = std::move(s.value());
    }
    table_.store_message = on_store_message;
    table_.mark_delivered = on_mark_delivered;
    table_.load_undelivered = on_load_undelivered;
    table_.group_publish = on_group_publish;
    table_.group_members = on_group_members;
    // The embedded stores keep the fields, not the payload, and every one keeps group delivery
    // cursors.
    table_.flags = GLIDE_HOST_NO_PAYLOAD | GLIDE_HOST_GROUP_REPLAY;
    return {};
}

void HostServices::on_log(void *self, glide_log_level level, const char *msg, size_t len) {
    static_cast<HostServices *>(self)->log_->write(level, msg, len);
}

int HostServices::on_auth(void *self, glide_request *req, const glide_auth_request *in) {
    auto *s = static_cast<HostServices *>(self);
    store::verify_credential(s->api_, s->secret_, in->credential, wall_ms(),
                             [&](const glide_auth_result &r) { s->api_->auth_done(req, &r); });
    return GLIDE_OK;
}

// A store call in progress on this stack: its completion, if it comes before the call returns,
// marks it early (GLIDE_OK); a later one finds no Call (GLIDE_PENDING was returned).
struct HostServices::Call {
    HostServices *s;
    glide_request *req;
    Call *outer; // a completion may call the host again
    bool early = false;
    Call(HostServices *self, glide_request *r) : s(self), req(r), outer(self->calls_) {
        s->calls_ = this;
    }
    ~Call() { s->calls_ = outer; }
    Call(const Call &) = delete;
    Call &operator=(const Call &) = delete;
    int result() const { return early ? GLIDE_OK : GLIDE_PENDING; }
};

void HostServices::completed(glide_request *req) {
    for (Call *c = calls_; c; c = c->outer)
        if (c->req == req) {
            c->early = true;
            return;
        }
}

int HostServices::publish(glide_request *req, const glide_message *msg, bool group) {
    Call call(this, req);
    // [this, req] fits std::function's inline storage: no allocation per call.
    auto done = [this, req](store::StoreResult s) {
        glide_store_result r{};
        r.size = sizeof r;
        r.version = 1;
        r.status = s.status;
        r.error = gs(s.error);
        r.mid = s.mid;
        r.seq = s.seq;
        r.duplicate = s.duplicate;
        // A store that is down fails every call with the same reason: logged once, not once
        // per message.
        if (s.status == GLIDE_EIO && s.error != last_store_error_) {
            log_->log(GLIDE_LOG_ERROR, "%s", s.error.c_str());
            last_store_error_ = s.error;
        } else if (s.status == GLIDE_OK) {
            last_store_error_.clear();
        }
        completed(req);
        api_->store_done(req, &r);
    };
    if (group)
        store_->group_publish(view_of(msg), std::move(done));
    else
        store_->store_message(view_of(msg), std::move(done));
    return call.result();
}

int HostServices::on_store_message(void *self, glide_request *req, const glide_message *msg) {
    return static_cast<HostServices *>(self)->publish(req, msg, false);
}

int HostServices::on_group_publish(void *self, glide_request *req, const glide_message *msg) {
    return static_cast<HostServices *>(self)->publish(req, msg, true);
}

int HostServices::on_mark_delivered(void *self, glide_request *req, const glide_delivery *d) {
    auto *s = static_cast<HostServices *>(self);
    Call call(s, req);
    auto done = [s, req](store::Outcome o) {
        s->completed(req);
        s->api_->request_done(req, o.status, gs(o.error));
    };
    int64_t first = d->size >= offsetof(glide_delivery, first_mid) + sizeof d->first_mid
                        ? d->first_mid
                        : 0;
    if (first)
        s->store_->mark_group_delivered(sv(d->uid), first, d->mid, std::move(done));
    else
        s->store_->mark_delivered(sv(d->uid), d->mid, std::move(done));
    return call.result();
}

int HostServices::on_load_undelivered(void *self, glide_request *req,
                                      const glide_undelivered_query *q) {
    auto *s = static_cast<HostServices *>(self);
    Call call(s, req);
    s->store_->load_undelivered(sv(q->uid), q->after_mid, q->limit,
                                [s, req](store::Outcome o, std::vector<store::PageMessage> page) {
                                    s->completed(req);
                                    for (const store::PageMessage &m : page) {
                                        glide_message g = to_glide(m);
                                        s->api_->page_add(req, &g);
                                    }
                                    s->api_->request_done(req, o.status, gs(o.error));
                                });
    return call.result();
}

int HostServices::on_group_members(void *self, glide_request *req, glide_str gid) {
    auto *s = static_cast<HostServices *>(self);
    Call call(s, req);
    s->store_->group_members(str(gid),
                             [s, req](store::Outcome o, std::vector<std::string> members) {
                                 s->completed(req);
                                 for (const std::string &m : members)
                                     s->api_->member_add(req, gs(m));
                                 s->api_->request_done(req, o.status, gs(o.error));
                             });
    return call.result();
}

} // namespace glide::host
