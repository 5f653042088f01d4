#include "host/configuration.h"

#include <cstddef>
#include <optional>

namespace glide::host {

Configuration::~Configuration() {
    for (size_t i = 0; i < module_confs.size(); i++)
        if (module_confs[i])
            owners[i]->api()->conf_free(module_confs[i]);
}

Status Configuration::apply_modules() {
    for (size_t i = 0; i < module_confs.size(); i++) {
        char err[512];
        glide_conf *c = module_confs[i];
        module_confs[i] = nullptr; // apply steals it, also on failure
        if (owners[i]->api()->apply(owners[i]->module(), c, err, sizeof err) != GLIDE_OK)
            return make_error(err);
    }
    return {};
}

static std::string where(const conf::Directive &d) {
    return " in " + d.file + ":" + std::to_string(d.line);
}

// What a finished module configuration asks of glided; nothing is known of a module from
// before ABI 1.8 (it has no conf_info), and nothing is checked for it.
static std::optional<ModuleNeeds> module_needs(const Plugin &p, const glide_conf *c) {
    const glide_api *api = p.api();
    if (api->size < offsetof(glide_api, conf_info) + sizeof api->conf_info)
        return std::nullopt;
    glide_conf_info info{};
    info.size = sizeof info;
    if (api->conf_info(c, &info) != GLIDE_OK)
        return std::nullopt;
    auto str = [](glide_str s) { return s.ptr ? std::string(s.ptr, s.len) : std::string(); };
    auto at = [&](glide_str file, uint32_t line) { return str(file) + ":" + std::to_string(line); };
    ModuleNeeds n;
    n.cluster = info.cluster != 0;
    n.cluster_directive = str(info.cluster_directive);
    n.cluster_where = at(info.cluster_file, info.cluster_line);
    n.port0 = info.port0 != 0;
    n.port0_directive = str(info.port0_directive);
    n.port0_where = at(info.port0_file, info.port0_line);
    return n;
}

Result<Configuration> load_configuration(const std::string &file,
                                         std::vector<std::unique_ptr<Plugin>> &plugins,
                                         const glide_host *host,
                                         std::vector<std::string> *warnings) {
    auto tree = conf::parse_file(file);
    if (!tree)
        return make_error(tree.error());

    Configuration cfg;
    cfg.file = file;
    auto table = host_directives();
    cfg.applier = std::make_unique<conf::Applier>(table.data(), table.size(), cfg.host.get());

    // Host directives first (so load_module is known wherever it stands), with relative paths
    // resolved against the file that holds them.
    std::vector<const conf::Directive *> rest;
    bool store_given = false;
    for (const conf::Directive &d : tree.value()) {
        if (!cfg.applier->find(d.name)) {
            rest.push_back(&d);
            continue;
        }
        conf::Directive r = d;
        if ((r.name == "load_module" || r.name == "pid" || r.name == "error_log" ||
             r.name == "credential_secret_file") &&
            !r.args.empty())
            r.args[0] = resolve_path(d.file, r.args[0]);
        if (r.name == "store") {
            store_given = true;
            if (r.args.size() == 2)
                r.args[1] = resolve_path(d.file, r.args[1]);
        }
        Status st = cfg.applier->apply(r);
        if (!st)
            return make_error(st.error());
        if (r.name == "admin_listen")
            cfg.host->admin_listen_where = d.file + ":" + std::to_string(d.line);
        else if (r.name == "admin_token")
            cfg.host->admin_token_where = d.file + ":" + std::to_string(d.line);
        else if (r.name == "credential_secret" || r.name == "credential_secret_file")
            cfg.host->credential_secret_where = d.file + ":" + std::to_string(d.line);
        else if (r.name == "worker_processes")
            cfg.host->worker_processes_where = d.file + ":" + std::to_string(d.line);
        else if (r.name == "store")
            cfg.host->store_where = d.file + ":" + std::to_string(d.line);
    }
    Status st = cfg.applier->finish();
    if (st)
        st = finish_host_conf(*cfg.host);
    if (!st)
        return make_error(st.error());
    if (!store_given && !cfg.host->store_path.empty())
        cfg.host->store_path = resolve_path(file, cfg.host->store_path);

    if (plugins.empty()) {
        for (const std::string &path : cfg.host->load_modules) {
            auto p = Plugin::load(path, host);
            if (!p) {
                // Point at the directive that named the module.
                for (const conf::Directive &d : tree.value())
                    if (d.name == "load_module" && !d.args.empty() &&
                        resolve_path(d.file, d.args[0]) == path)
                        return make_error(p.error() + where(d));
                return make_error(p.error());
            }
            plugins.push_back(std::move(p.value()));
        }
    } else if (warnings) {
        std::vector<std::string> loaded;
        for (const auto &p : plugins)
            loaded.push_back(p->path());
        if (loaded != cfg.host->load_modules)
            warnings->push_back("\"load_module\" cannot be changed by a reload, the loaded "
                                "modules are kept until restart");
    }

    // A module from before ABI 1.5 would not know it is one of several workers: every one
    // would bind the same addresses without SO_REUSEPORT and use the same node id.
    for (const auto &p : plugins)
        if (cfg.host->worker_processes > 1 && p->api()->version < 5)
            return make_error("module \"" + p->path() + "\" has plugin ABI 1." +
                              std::to_string(p->api()->version) +
                              ", \"worker_processes\" greater than 1 needs 1.5 in " +
                              cfg.host->worker_processes_where);

    for (const auto &p : plugins) {
        glide_conf *c = nullptr;
        int rc = p->api()->conf_new(p->module(), &c);
        if (rc != GLIDE_OK)
            return make_error("module \"" + p->path() + "\": " + p->api()->strerror(rc));
        cfg.module_confs.push_back(c);
        cfg.owners.push_back(p.get());
    }

    for (const conf::Directive *d : rest) {
        std::vector<glide_str> args;
        for (const std::string &a : d->args)
            args.push_back({a.data(), a.size()});
        glide_directive_call call{};
        call.size = sizeof call;
        call.version = 1;
        call.name = {d->name.data(), d->name.size()};
        call.args = args.data();
        call.nargs = static_cast<uint32_t>(args.size());
        call.file = {d->file.data(), d->file.size()};
        call.line = d->line;
        bool taken = false;
        for (size_t i = 0; i < plugins.size() && !taken; i++) {
            char err[512];
            int rc = plugins[i]->api()->conf_set(cfg.module_confs[i], &call, err, sizeof err);
            if (rc == GLIDE_EUNKNOWN)
                continue;
            if (rc != GLIDE_OK)
                return make_error(err);
            taken = true;
        }
        if (!taken)
            return make_error("unknown directive \"" + d->name + "\"" + where(*d));
        if (d->has_block)
            return make_error("directive \"" + d->name + "\" is not terminated by \";\"" +
                              where(*d));
    }

    for (size_t i = 0; i < plugins.size(); i++) {
        char err[512];
        if (plugins[i]->api()->conf_finish(cfg.module_confs[i], err, sizeof err) != GLIDE_OK)
            return make_error(err);
        if (auto n = module_needs(*plugins[i], cfg.module_confs[i]))
            cfg.module_needs.push_back(std::move(*n));
    }
    if (Status ws = check_workers(*cfg.host, cfg.module_needs); !ws)
        return make_error(ws.error());
    return cfg;
}

Status keep_restart_only(Configuration &next, const Configuration &cur,
                         std::vector<std::string> &warnings) {
    for (const std::string &name : conf::changed(*cur.applier, *next.applier)) {
        const conf::Spec *s = cur.applier->find(name);
        if (s && !(s->flags & conf::RELOADABLE) && name != "load_module")
            warnings.push_back("\"" + name +
                               "\" cannot be changed by a reload, the old value is kept until "
                               "restart");
    }
    HostConf &h = *next.host;
    const HostConf &c = *cur.host;
    h.daemon = c.daemon;
    h.pid = c.pid;
    h.load_modules = c.load_modules;
    h.worker_processes = c.worker_processes;
    h.worker_processes_where = c.worker_processes_where;
    if (h.admin_listen.empty()) {
        // The admin API stays as it runs until restart, token included.
        h.admin_token = c.admin_token;
        h.admin_token_off = c.admin_token_off;
    }
    h.admin_listen = c.admin_listen;
    h.admin_address = c.admin_address;
    h.store = c.store;
    h.store_path = c.store_path;
    h.store_sync_full = c.store_sync_full;
    h.store_where = c.store_where;
    return check_workers(h, next.module_needs);
}

} // namespace glide::host
