// The running glided: the event loop, the loaded modules, signals (SIGTERM/SIGINT drain and
// exit, SIGHUP reload, SIGUSR1 reopen logs) and the pid file.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "host/admin.h"
#include "host/configuration.h"
#include "host/errlog.h"
#include "host/host_services.h"
#include "host/plugin.h"
#include "net/libevent.h"

namespace glide::host {

class Server {
public:
    Server();
    ~Server();

    // The callback table handed to modules: the embedded host services over this server's
    // error log and store.
    const glide_host *host_table() const { return services_.table(); }
    HostServices &services() { return services_; }
    ErrorLog &log() { return log_; }
    std::vector<std::unique_ptr<Plugin>> &plugins() { return plugins_; }

    // Takes a loaded configuration, opens the log, starts the modules on a new event_base.
    Status start(Configuration cfg);
    // Runs the loop until a drain completes. Returns the process exit code.
    int run();
    // The admin API when admin_listen is set (after start), else null.
    AdminServer *admin() { return admin_.get(); }

private:
    static void on_signal(evutil_socket_t sig, short, void *self);
    static void on_drained(void *self);
    static void on_force_exit(evutil_socket_t, short, void *self);
    void reload();
    void shutdown(int sig);
    Status write_pid();
    // The credential secret of `h`: credential_secret, or credential_secret_file's (made on
    // first use).
    Result<std::string> credential_secret(const HostConf &h);

    ErrorLog log_;
    HostServices services_{&log_};
    std::vector<std::unique_ptr<Plugin>> plugins_;
    Configuration cfg_;
    event_base *base_ = nullptr;
    std::vector<net::EventPtr> signals_;
    net::EventPtr force_exit_;
    size_t pending_drains_ = 0;
    bool stopping_ = false;
    std::string pid_written_;
    std::unique_ptr<AdminServer> admin_;
};

} // namespace glide::host
