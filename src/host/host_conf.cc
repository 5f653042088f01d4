#include "host/host_conf.h"

#include "host/errlog.h"

namespace glide::host {

using conf::Spec;

static Status set_load_module(const Spec &, void *conf, const std::vector<std::string> &args) {
    static_cast<HostConf *>(conf)->load_modules.push_back(args[0]);
    return {};
}

static Status set_error_log(const Spec &spec, void *conf, const std::vector<std::string> &args) {
    auto &c = *static_cast<HostConf *>(conf);
    if (args[0].empty())
        return conf::invalid_value(spec, args[0]);
    c.error_log = args[0];
    c.error_log_level = GLIDE_LOG_INFO;
    if (args.size() == 2 && !parse_level(args[1], c.error_log_level))
        return make_error("invalid log level \"" + args[1] + "\" in \"" + spec.name +
                          "\" directive, it must be one of debug, info, notice, warn, error, "
                          "crit, alert, emerg");
    return {};
}

static Status set_store(const Spec &spec, void *conf, const std::vector<std::string> &args) {
    if (args[0] != "memory")
        return make_error("invalid value \"" + args[0] + "\" in \"" + spec.name +
                          "\" directive, it must be \"memory\"");
    static_cast<HostConf *>(conf)->store = "memory";
    return {};
}

static const Spec specs[] = {
    {"load_module", conf::CTX_MAIN | conf::MULTI, 1, 1, set_load_module, 0, 0, nullptr, nullptr,
     "load_module PATH",
     "Loads a module (a shared object speaking the glide plugin ABI, such as libglide.so). A "
     "relative PATH is taken from the directory of the file that holds the directive. The "
     "module's directives may then stand anywhere in the file. A reload does not load or unload "
     "modules."},
    {"daemon", conf::CTX_MAIN, 1, 1, conf::set_flag<&HostConf::daemon>, 0, 0, nullptr, "off",
     "daemon on | off",
     "Whether glided detaches from the terminal and runs in the background."},
    {"pid", conf::CTX_MAIN, 1, 1, conf::set_string<&HostConf::pid>, 0, 0, nullptr, nullptr,
     "pid PATH",
     "File that receives the process id while glided runs; removed at exit. A relative PATH is "
     "taken from the directory of the file that holds the directive."},
    {"error_log", conf::CTX_MAIN | conf::RELOADABLE, 1, 2, set_error_log, 0, 0, nullptr,
     "stderr info", "error_log PATH | stderr [LEVEL]",
     "Where the log goes and the lowest level written: debug, info, notice, warn, error, crit, "
     "alert or emerg. SIGUSR1 reopens the file (after rotation)."},
    {"shutdown_timeout", conf::CTX_MAIN | conf::RELOADABLE, 1, 1,
     conf::set_time<&HostConf::shutdown_timeout_ms>, 0, 3600 * 1000, nullptr, "5s",
     "shutdown_timeout TIME",
     "On SIGTERM or SIGINT, the time given to sessions to close politely before the remaining "
     "connections are dropped and glided exits."},
    {"store", conf::CTX_MAIN, 1, 1, set_store, 0, 0, nullptr, "memory", "store memory",
     "Where messages, undelivered state, groups, members and group sequences are kept. memory: "
     "nothing survives the process. Changing it needs a restart."},
    {"credential_secret", conf::CTX_MAIN | conf::RELOADABLE, 1, 1,
     conf::set_string<&HostConf::credential_secret>, 0, 0, nullptr, nullptr,
     "credential_secret \"SECRET\"",
     "The secret shared with the business API that mints glide credentials (AES-256-CBC, "
     "protocol.md section 6.4). authenticate opens the credential with it and refuses one older "
     "than 25 minutes (\"credential expired\"). Without it every authenticate is answered "
     "\"authentication is not configured\"."},
};

std::span<const Spec> host_directives() { return specs; }

std::string resolve_path(const std::string &conf_file, const std::string &path) {
    if (path.empty() || path[0] == '/' || path == "stderr")
        return path;
    size_t slash = conf_file.rfind('/');
    if (slash == std::string::npos)
        return path;
    return conf_file.substr(0, slash + 1) + path;
}

} // namespace glide::host
