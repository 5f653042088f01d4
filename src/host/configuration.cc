#include "host/configuration.h"

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
    }
    return cfg;
}

} // namespace glide::host
