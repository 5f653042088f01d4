// Applying directives through a table: nginx's ngx_conf_handler checks (context, block, arity,
// duplicates) before the setter, then the merge step's defaults at finish().
#include <algorithm>

#include "conf/conf.h"

namespace glide::conf {

namespace {

Error located(std::string msg, const Directive &d) {
    msg += " in ";
    msg += d.file;
    msg += ':';
    msg += std::to_string(d.line);
    return make_error(std::move(msg));
}

std::string join(const std::vector<std::string> &args) {
    std::string s;
    for (size_t i = 0; i < args.size(); i++) {
        if (i > 0)
            s += ' ';
        s += args[i];
    }
    return s;
}

std::vector<std::string> split(std::string_view text) {
    std::vector<std::string> words;
    size_t pos = 0;
    while (pos < text.size()) {
        size_t end = text.find(' ', pos);
        if (end == std::string_view::npos)
            end = text.size();
        if (end > pos)
            words.emplace_back(text.substr(pos, end - pos));
        pos = end + 1;
    }
    return words;
}

} // namespace

Applier::Applier(const Spec *specs, size_t count, void *conf)
    : specs_(specs), count_(count), conf_(conf), effective_(count), seen_(count) {}

const Spec *Applier::find(std::string_view name) const {
    for (size_t i = 0; i < count_; i++)
        if (name == specs_[i].name)
            return &specs_[i];
    return nullptr;
}

Status Applier::apply(const Directive &d) {
    const Spec *spec = find(d.name);
    if (!spec)
        return located("unknown directive \"" + d.name + "\"", d);
    size_t i = static_cast<size_t>(spec - specs_);
    // Every table directive stands at the top level; a block's contents are not applied here.
    if (!(spec->flags & CTX_MAIN))
        return located("\"" + d.name + "\" directive is not allowed here", d);
    // nginx's words for a block after a directive that takes none.
    if (d.has_block)
        return located("directive \"" + d.name + "\" is not terminated by \";\"", d);
    if (d.args.size() < spec->min_args || d.args.size() > spec->max_args)
        return located("invalid number of arguments in \"" + d.name + "\" directive", d);
    if (seen_[i] && !(spec->flags & MULTI))
        return located("\"" + d.name + "\" directive is duplicate", d);
    if (Status st = spec->set(*spec, conf_, d.args); !st)
        return located(st.error(), d);
    seen_[i] = true;
    effective_[i].push_back(join(d.args));
    return {};
}

Status Applier::finish() {
    for (size_t i = 0; i < count_; i++) {
        const Spec &spec = specs_[i];
        if (seen_[i] || !spec.default_value)
            continue;
        std::vector<std::string> args = split(spec.default_value);
        Status st;
        if (args.size() < spec.min_args || args.size() > spec.max_args)
            st = detail::invalid_arguments(spec);
        else
            st = spec.set(spec, conf_, args);
        // A default the setter refuses is a bug in the table, not in the user's file.
        if (!st)
            return make_error(std::string("invalid default for \"") + spec.name +
                              "\": " + st.error());
        // Marked seen so that a second finish() does not apply the default twice.
        seen_[i] = true;
        effective_[i].push_back(join(args));
    }
    return {};
}

std::vector<std::string> changed(const Applier &before, const Applier &after) {
    std::vector<std::string> names;
    size_t n = std::min(before.count_, after.count_);
    for (size_t i = 0; i < n; i++)
        if (before.effective_[i] != after.effective_[i])
            names.emplace_back(after.specs_[i].name);
    return names;
}

} // namespace glide::conf
