// Reading a whole configuration: the host's directives and, through the loaded modules' tables,
// everything else. Used at start, by -t and on SIGHUP.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "conf/conf.h"
#include "host/host_conf.h"
#include "host/plugin.h"

namespace glide::host {

struct Configuration {
    std::string file;
    std::unique_ptr<HostConf> host = std::make_unique<HostConf>();
    std::unique_ptr<conf::Applier> applier; // the host table's, for reload comparisons
    // One finished module configuration per plugin (same order); owned until applied.
    std::vector<glide_conf *> module_confs;
    std::vector<const Plugin *> owners;
    // What each module's configuration asks of the host (glide_conf_info; check_workers reads
    // them again after a reload kept the running worker_processes and store).
    std::vector<ModuleNeeds> module_needs;

    Configuration() = default;
    Configuration(Configuration &&o) noexcept { swap(o); }
    Configuration &operator=(Configuration &&o) noexcept {
        Configuration gone(std::move(*this)); // frees what this held
        swap(o);
        return *this;
    }
    ~Configuration();
    void swap(Configuration &o) noexcept {
        file.swap(o.file);
        host.swap(o.host);
        applier.swap(o.applier);
        module_confs.swap(o.module_confs);
        owners.swap(o.owners);
        module_needs.swap(o.module_needs);
    }
    // Hands the module configurations to their modules (apply); they are owned there after.
    Status apply_modules();
};

// Parses `file`. When `plugins` is empty the modules named by load_module are loaded into it
// (with `host` as their callback table); otherwise the loaded ones are used and a changed
// load_module list is reported in `warnings`.
Result<Configuration> load_configuration(const std::string &file,
                                         std::vector<std::unique_ptr<Plugin>> &plugins,
                                         const glide_host *host,
                                         std::vector<std::string> *warnings);

// For a reload: keeps in `next` the running values of the host directives only a restart
// changes (pid, daemon, load_module, worker_processes, store, admin_listen and, when the new
// file has no admin_listen, its token), adding a warning for each such directive that changed.
// Fails when the new file does not suit what is kept (check_workers: worker processes kept
// running need glide_cluster in it too).
Status keep_restart_only(Configuration &next, const Configuration &cur,
                         std::vector<std::string> &warnings);

} // namespace glide::host
