// A module loaded with dlopen(RTLD_NOW | RTLD_LOCAL), negotiated and instantiated.
#pragma once

#include <memory>
#include <string>

#include "common/result.h"
#include "glide/glide.h"

namespace glide::host {

class Plugin {
public:
    // Errors, e.g. dlopen() "x.so" failed (x.so: cannot open shared object file: ...)
    static Result<std::unique_ptr<Plugin>> load(const std::string &path, const glide_host *host);
    ~Plugin();

    const std::string &path() const { return path_; }
    const glide_api *api() const { return api_; }
    glide_module *module() const { return module_; }

private:
    Plugin() = default;
    std::string path_;
    void *so_ = nullptr;
    const glide_api *api_ = nullptr;
    glide_module *module_ = nullptr;
};

} // namespace glide::host
