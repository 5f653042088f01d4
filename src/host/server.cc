#include "host/server.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/strings.h"
#include "host/admin/admin_groups.h"

namespace glide::host {

Server::Server() = default;

Server::~Server() {
    admin_.reset();
    signals_.clear();
    force_exit_.reset();
    services_.close_store(); // its last completions still reach the modules
    // Module configurations not yet applied (a start that failed) are freed by their modules:
    // before the modules go.
    cfg_ = Configuration();
    plugins_.clear(); // destroys the modules before their event_base
    if (base_)
        event_base_free(base_);
    if (!pid_written_.empty())
        unlink(pid_written_.c_str());
}

Status write_pid_file(const std::string &path) {
    if (path.empty())
        return {};
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return make_error("open() \"" + path + "\" failed (" + errno_text(errno) + ")");
    std::string text = std::to_string(getpid()) + "\n";
    bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    ::close(fd);
    if (!ok)
        return make_error("write() to \"" + path + "\" failed");
    return {};
}

Result<std::string> Server::credential_secret(const HostConf &h) {
    if (h.credential_secret_file.empty())
        return h.credential_secret;
    bool created = false;
    auto secret = HostServices::load_secret_file(h.credential_secret_file, &created);
    if (secret && created)
        log_.log(GLIDE_LOG_NOTICE,
                 "made a new credential secret in %s (credential_secret_file); glidectl reads "
                 "it with --secret-file %s",
                 h.credential_secret_file.c_str(), h.credential_secret_file.c_str());
    return secret;
}

Status Server::start(Configuration cfg) {
    cfg_ = std::move(cfg);
    Status st = log_.open(cfg_.host->error_log, cfg_.host->error_log_level);
    if (!st)
        return st;
    st = write_pid_file(cfg_.host->pid);
    if (!st)
        return st;
    pid_written_ = cfg_.host->pid;
    auto secret = credential_secret(*cfg_.host);
    if (!secret)
        return make_error(secret.error());
    return start_loop(std::move(*secret), -1, "");
}

Status Server::start_worker(WorkerStart w) {
    cfg_ = std::move(w.cfg);
    worker_ = true;
    Status st = log_.open(cfg_.host->error_log, cfg_.host->error_log_level);
    if (!st)
        return st;
    services_.set_worker(w.index, w.count);
    std::string what = " worker " + std::to_string(w.index);
    st = start_loop(std::move(w.secret), w.admin_fd, what.c_str());
    if (st && w.ready_fd >= 0 && ::write(w.ready_fd, "1", 1) != 1)
        st = make_error("write() to the master failed (" + errno_text(errno) + ")");
    if (w.ready_fd >= 0)
        ::close(w.ready_fd);
    return st;
}

Status Server::start_loop(std::string secret, int admin_fd, const char *what) {
    base_ = event_base_new();
    if (!base_)
        return make_error("event_base_new() failed");
    // The host owns process-wide signal dispositions: a peer closing mid-write must not kill us.
    signal(SIGPIPE, SIG_IGN);
    for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGUSR1}) {
        if (worker_ && (sig == SIGINT || sig == SIGHUP))
            continue; // the master's
        net::EventPtr ev(evsignal_new(base_, sig, on_signal, this));
        if (!ev || evsignal_add(ev.get(), nullptr) != 0)
            return make_error("evsignal_new() failed");
        signals_.push_back(std::move(ev));
    }
    force_exit_.reset(evtimer_new(base_, on_force_exit, this));

    services_.set_credential_secret(std::move(secret));
    Status st = services_.open_store(*cfg_.host, base_);
    if (!st)
        return st;
    if (!plugins_.empty())
        services_.bind(plugins_.front()->api());

    st = cfg_.apply_modules();
    if (!st)
        return st;
    for (const auto &p : plugins_) {
        char err[512];
        if (p->api()->start(p->module(), base_, err, sizeof err) != GLIDE_OK)
            return make_error(err);
    }
    if (!cfg_.host->admin_listen.empty()) {
        admin_ = std::make_unique<AdminServer>(base_, plugins_, log_);
        if (services_.store())
            add_group_routes(*admin_, services_.store());
        st = admin_->open(*cfg_.host, admin_fd);
        if (!st)
            return st;
    }
    log_.log(GLIDE_LOG_NOTICE, "glided " GLIDE_VERSION_STRING "%s started, %zu module(s)", what,
             plugins_.size());
    return {};
}

int Server::run() {
    event_base_dispatch(base_);
    log_.log(GLIDE_LOG_NOTICE, "exit");
    return 0;
}

void Server::on_signal(evutil_socket_t sig, short, void *self) {
    auto *s = static_cast<Server *>(self);
    switch (sig) {
    case SIGTERM:
    case SIGINT:
        s->shutdown(static_cast<int>(sig));
        break;
    case SIGHUP:
        s->reload();
        break;
    case SIGUSR1: {
        Status st = s->log_.reopen();
        if (!st)
            s->log_.log(GLIDE_LOG_ALERT, "reopening the log failed: %s", st.error().c_str());
        else
            s->log_.log(GLIDE_LOG_NOTICE, "log reopened");
        break;
    }
    }
}

void Server::shutdown(int sig) {
    if (stopping_) {
        // A second signal while draining: stop now.
        log_.log(GLIDE_LOG_NOTICE, "signal %d received again, exiting at once", sig);
        event_base_loopbreak(base_);
        return;
    }
    stopping_ = true;
    uint64_t timeout = cfg_.host->shutdown_timeout_ms;
    log_.log(GLIDE_LOG_NOTICE, "signal %d received, draining (up to %llu ms)", sig,
             static_cast<unsigned long long>(timeout));
    // Stop listening for signals other than a second TERM/INT.
    pending_drains_ = plugins_.size();
    for (const auto &p : plugins_)
        if (p->api()->drain(p->module(), static_cast<uint32_t>(timeout), on_drained, this) !=
            GLIDE_OK)
            pending_drains_--;
    // Modules bound their own drains; this is the host's backstop should one never answer.
    timeval tv = net::ms_to_tv(timeout + 1000);
    evtimer_add(force_exit_.get(), &tv);
    if (pending_drains_ == 0)
        event_base_loopexit(base_, nullptr);
}

void Server::on_drained(void *self) {
    auto *s = static_cast<Server *>(self);
    if (s->pending_drains_ > 0 && --s->pending_drains_ == 0)
        event_base_loopexit(s->base_, nullptr);
}

void Server::on_force_exit(evutil_socket_t, short, void *self) {
    auto *s = static_cast<Server *>(self);
    s->log_.log(GLIDE_LOG_ALERT, "a module did not finish draining in time, exiting");
    event_base_loopbreak(s->base_);
}

std::optional<Server::Reread> Server::reread(const Configuration &cur) {
    log_.log(GLIDE_LOG_NOTICE, "reloading the configuration from %s", cur.file.c_str());
    std::vector<std::string> warnings;
    auto next = load_configuration(cur.file, plugins_, services_.table(), &warnings);
    Status st = next ? keep_restart_only(next.value(), cur, warnings) : make_error(next.error());
    if (!st) {
        log_.log(GLIDE_LOG_EMERG, "%s", st.error().c_str());
        log_.log(GLIDE_LOG_ERROR, "reload failed, the running configuration is kept");
        return std::nullopt;
    }
    for (const std::string &w : warnings)
        log_.log(GLIDE_LOG_WARN, "%s", w.c_str());
    log_.follow(next->host->error_log, next->host->error_log_level);
    auto secret = credential_secret(*next->host);
    if (!secret) {
        log_.log(GLIDE_LOG_ERROR, "reload: %s", secret.error().c_str());
        return std::nullopt;
    }
    return Reread{std::move(next.value()), std::move(*secret)};
}

void Server::reload() {
    if (stopping_)
        return;
    auto next = reread(cfg_);
    if (!next)
        return;
    Status st = next->cfg.apply_modules();
    if (!st) {
        log_.log(GLIDE_LOG_ERROR, "reload: %s", st.error().c_str());
        return;
    }
    cfg_ = std::move(next->cfg);
    if (admin_)
        admin_->configure(*cfg_.host);
    services_.set_credential_secret(std::move(next->secret));
    log_.log(GLIDE_LOG_NOTICE, "configuration reloaded");
}

} // namespace glide::host
