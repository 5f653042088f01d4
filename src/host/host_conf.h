// glided's own directives (the host's table) and the loading of a whole configuration file:
// host directives are applied here, every other directive goes to the loaded modules.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "conf/conf.h"
#include "glide/host.h"
#include "net/address.h"

namespace glide::host {

struct HostConf {
    std::vector<std::string> load_modules; // absolute or relative to the working directory
    bool daemon = false;
    std::string pid;
    std::string error_log; // "stderr" or a path
    glide_log_level error_log_level = GLIDE_LOG_INFO;
    uint64_t shutdown_timeout_ms = 0;
    // worker_processes ("auto" resolved to the online CPUs); 1: one process, no master.
    uint32_t worker_processes = 1;
    std::string worker_processes_where; // "FILE:LINE" when given, for check_workers

    // The admin HTTP API (host/admin/admin.h): off while admin_listen is empty.
    std::string admin_listen;   // as written, for messages
    net::Address admin_address; // parsed when admin_listen is set
    std::string admin_listen_where; // "FILE:LINE" of admin_listen, for finish_host_conf
    std::string admin_token;        // empty: not given
    bool admin_token_off = false;   // "admin_token off;"
    std::string admin_token_where;
    uint64_t admin_body_limit = 0;
    std::string store;      // "sqlite", "postgresql" or "memory"
    std::string store_path; // sqlite: the database file; postgresql: the connection URI
    bool store_sync_full = false;
    std::string store_where; // "FILE:LINE" when given, for check_workers
    std::string credential_secret; // empty: authenticate is refused
    std::string credential_secret_file; // the secret's file (made on first start); resolved
    std::string credential_secret_where; // "FILE:LINE" of either, for finish_host_conf
};

std::span<const conf::Spec> host_directives();

// Checks what only the whole file can tell, after the host table's Applier::finish(): the admin
// API listens only with a token, or without one (admin_token off) on a loopback address; at
// most one of credential_secret and credential_secret_file.
Status finish_host_conf(const HostConf &c);

// What a loaded module's configuration asks of glided (glide_conf_info, ABI 1.8), with the
// module's directive names and locations ("FILE:LINE") for the messages: glided knows none of
// the module's directives itself.
struct ModuleNeeds {
    bool cluster = false;          // the instance joins a cluster bus
    std::string cluster_directive; // the directive that joins it ("glide_cluster")
    std::string cluster_where;     // where it was given, when cluster
    bool port0 = false;            // a listener asks for port 0
    std::string port0_directive;   // "glide_listen"
    std::string port0_where;
};

// What worker processes and a cluster need beyond the host's own directives, checked against
// what the modules' configurations ask: worker_processes > 1 needs every module on the cluster
// bus, since the workers are its nodes, and no listener on port 0 (a port 0 would differ per
// worker); store memory cannot be shared by worker processes nor by the nodes of a cluster.
Status check_workers(const HostConf &c, std::span<const ModuleNeeds> modules);

// True for 127.0.0.0/8 and ::1 (and IPv4-mapped 127/8).
bool is_loopback(const net::Address &a);

// Relative paths in load_module, pid, error_log and store are taken relative to the directory of the
// file that holds the directive (as include is), so a configuration works from anywhere.
std::string resolve_path(const std::string &conf_file, const std::string &path);

} // namespace glide::host
