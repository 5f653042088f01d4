#include "host/plugin.h"

#include <dlfcn.h>
#include <event2/event.h>

namespace glide::host {

Result<std::unique_ptr<Plugin>> Plugin::load(const std::string &path, const glide_host *host) {
    std::unique_ptr<Plugin> p(new Plugin);
    p->path_ = path;
    p->so_ = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!p->so_)
        return make_error("dlopen() \"" + path + "\" failed (" + dlerror() + ")");
    auto negotiate = reinterpret_cast<glide_negotiate_fn>(dlsym(p->so_, "glide_negotiate"));
    if (!negotiate)
        return make_error("dlsym() \"glide_negotiate\" in \"" + path +
                          "\" failed: not a glide module");
    static const uint32_t majors[] = {GLIDE_ABI_MAJOR};
    glide_offer offer = GLIDE_OFFER_INIT(majors, 1);
    char why[512];
    int rc = negotiate(&offer, &p->api_, why, sizeof why);
    if (rc != GLIDE_OK)
        return make_error("module \"" + path + "\" refused to load: " + why);
    rc = p->api_->create(host, &p->module_);
    if (rc != GLIDE_OK)
        return make_error("module \"" + path + "\" create failed: " + p->api_->strerror(rc));
    return p;
}

Plugin::~Plugin() {
    if (api_ && module_)
        api_->destroy(module_);
    if (so_)
        dlclose(so_);
}

} // namespace glide::host
