// glided's own directives (the host's table) and the loading of a whole configuration file:
// host directives are applied here, every other directive goes to the loaded modules.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "conf/conf.h"
#include "glide/host.h"

namespace glide::host {

struct HostConf {
    std::vector<std::string> load_modules; // absolute or relative to the working directory
    bool daemon = false;
    std::string pid;
    std::string error_log; // "stderr" or a path
    glide_log_level error_log_level = GLIDE_LOG_INFO;
    uint64_t shutdown_timeout_ms = 0;
    std::string store;      // "sqlite" or "memory"
    std::string store_path; // sqlite: the database file
    bool store_sync_full = false;
    std::string credential_secret; // empty: authenticate is refused
};

std::span<const conf::Spec> host_directives();

// Relative paths in load_module, pid, error_log and store are taken relative to the directory of the
// file that holds the directive (as include is), so a configuration works from anywhere.
std::string resolve_path(const std::string &conf_file, const std::string &path);

} // namespace glide::host
