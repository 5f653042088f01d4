// glided's embedded host services: the glide_host table the module calls, answered from a
// store backend (host/store/store.h: `store sqlite PATH;`, `store postgresql://...` or
// `store memory;`) and the glide credential check with `credential_secret` (protocol.md §6.4,
// through glide_api.credential_open). Written from include/glide/ only, as any host.
//
// Every call is completed through the glide_api of the module that was loaded (bind()); a call
// the store answers before returning is reported GLIDE_OK, a later answer GLIDE_PENDING, as
// include/glide/host.h asks. All modules glided loads must therefore be one libglide build:
// request handles of another module would be completed through the wrong table.
#pragma once

#include <memory>
#include <string>

#include "common/result.h"
#include "glide/module.h"
#include "host/errlog.h"
#include "host/host_conf.h"
#include "host/store/store.h"

struct event_base;

namespace glide::host {

class HostServices {
public:
    explicit HostServices(ErrorLog *log);
    ~HostServices();

    // The callback table handed to modules: log always; auth and the store calls once a store
    // is open (before that the module answers them as host.h says for NULL callbacks).
    const glide_host *table() const { return &table_; }

    // Opens the store the configuration names (creating the directory of a SQLite file with
    // mkdir -p semantics). Errors name the file and the backend's reason.
    Status open_store(const HostConf &conf, event_base *base);
    // The secret of credential_secret_file: the file's first line, or, when the file does not
    // exist, a new random one written to it (mode 0600; *created is set).
    static Result<std::string> load_secret_file(const std::string &path, bool *created);
    // The module whose glide_api completes requests.
    void bind(const glide_api *api) { api_ = api; }
    // In a worker process: which one it is (glide_host.worker_index, .worker_count). Set
    // before the module starts, which is when it reads them.
    void set_worker(uint32_t index, uint32_t count) {
        table_.worker_index = index;
        table_.worker_count = count;
    }
    // Reloadable: the credential secret ("" refuses authenticate).
    void set_credential_secret(std::string secret) { secret_ = std::move(secret); }
    // Finishes what the store has in flight (its completions run) and closes it.
    void close_store();

    // The backend, for the admin API; null before open_store().
    store::Store *store() { return store_.get(); }

private:
    static void on_log(void *self, glide_log_level level, const char *msg, size_t len);
    static int on_auth(void *self, glide_request *req, const glide_auth_request *in);
    static int on_store_message(void *self, glide_request *req, const glide_message *msg);
    static int on_mark_delivered(void *self, glide_request *req, const glide_delivery *d);
    static int on_load_undelivered(void *self, glide_request *req,
                                   const glide_undelivered_query *q);
    static int on_group_publish(void *self, glide_request *req, const glide_message *msg);
    static int on_group_members(void *self, glide_request *req, glide_str gid);
    int publish(glide_request *req, const glide_message *msg, bool group);
    struct Call;
    // A completion of req: marks its Call early when req's call has not returned yet.
    void completed(glide_request *req);

    glide_host table_{};
    ErrorLog *log_;
    const glide_api *api_ = nullptr;
    std::string secret_;
    std::unique_ptr<store::Store> store_;
    Call *calls_ = nullptr; // the innermost store call in progress
    std::string last_store_error_; // the last GLIDE_EIO logged, until a call succeeds
};

} // namespace glide::host
