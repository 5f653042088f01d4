// The running glided: the event loop, the loaded modules, signals (SIGTERM/SIGINT drain and
// exit, SIGHUP reload, SIGUSR1 reopen logs) and the pid file. With worker_processes > 1 the
// same, in each worker process a master (host/master.h) forked: start_worker.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "host/admin/admin.h"
#include "host/configuration.h"
#include "host/errlog.h"
#include "host/host_services.h"
#include "host/plugin.h"
#include "net/libevent.h"

namespace glide::host {

// What a worker process is given by its master (host/master.h).
struct WorkerStart {
    Configuration cfg;  // the configuration of the worker's generation, not applied yet
    std::string secret; // the credential secret, resolved by the master
    uint32_t index = 0; // glide_host.worker_index
    uint32_t count = 0; // glide_host.worker_count
    int admin_fd = -1;  // admin_listen's socket, listening (the master's), or -1
    int ready_fd = -1;  // a byte written here tells the master the worker serves
};

// Writes the process id to `path` (nothing for an empty path).
Status write_pid_file(const std::string &path);

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

    // Takes a loaded configuration, opens the log, writes the pid file, starts the modules on
    // a new event_base.
    Status start(Configuration cfg);
    // In a worker process: the same without the pid file, as worker w.index of w.count, on
    // the master's admin socket; tells the master through w.ready_fd once it serves. A worker
    // answers SIGTERM (drain and exit; a second one exits at once) and SIGUSR1; SIGHUP and
    // SIGINT are the master's (the child ignores them from its fork on).
    Status start_worker(WorkerStart w);
    // Runs the loop until a drain completes. Returns the process exit code.
    int run();
    // The admin API when admin_listen is set (after start), else null.
    AdminServer *admin() { return admin_.get(); }
    // The credential secret of `h`: credential_secret, or credential_secret_file's (made on
    // first use, logged). The master resolves it once for all its workers.
    Result<std::string> credential_secret(const HostConf &h);

    // What a SIGHUP reads: the file of `cur` again (the loaded modules check their
    // directives), with what only a restart changes kept from `cur` (warnings logged), the log
    // following error_log, and the credential secret. Empty when the running configuration
    // must stay (why is logged: "reload failed, the running configuration is kept").
    struct Reread {
        Configuration cfg;
        std::string secret;
    };
    std::optional<Reread> reread(const Configuration &cur);

private:
    static void on_signal(evutil_socket_t sig, short, void *self);
    static void on_drained(void *self);
    static void on_force_exit(evutil_socket_t, short, void *self);
    // What start and start_worker share: from the event loop on.
    Status start_loop(std::string secret, int admin_fd, const char *what);
    void reload();
    void shutdown(int sig);

    ErrorLog log_;
    HostServices services_{&log_};
    std::vector<std::unique_ptr<Plugin>> plugins_;
    Configuration cfg_;
    event_base *base_ = nullptr;
    std::vector<net::EventPtr> signals_;
    net::EventPtr force_exit_;
    size_t pending_drains_ = 0;
    bool stopping_ = false;
    bool worker_ = false; // a worker process (start_worker): no reload, no pid file
    std::string pid_written_;
    std::unique_ptr<AdminServer> admin_;
};

} // namespace glide::host
