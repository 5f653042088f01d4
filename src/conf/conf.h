// The configuration language: nginx syntax, parsed into a tree of directives, then applied to a
// configuration struct through a table of directive records (one record per directive: the single
// source of truth for the code, the man page glided.conf(5) and the example conf/glided.conf).
//
// Shared by the host (glided) and the module (libglide.so): each has its own table and struct.
//
// Syntax: `name arg ...;` and `name arg ... { ... }`, `#` comments to end of line, arguments
// quoted with "..." or '...' (escapes \" \' \\ \n \r \t), `include GLOB;` relative to the
// directory of the including file. Errors follow nginx's wording and end with " in FILE:LINE".
// Limits: 16 MiB per file, 16 nested includes, 64 nested blocks; NUL bytes are refused.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace glide::conf {

struct Directive {
    std::string name;
    std::vector<std::string> args;
    std::string file; // as opened (absolute or relative to the working directory)
    unsigned line = 0;
    bool has_block = false;
    std::vector<Directive> block;
};

using Tree = std::vector<Directive>;

// Parses a file and every file it includes. Errors, e.g.
//   unexpected end of file, expecting ";" or "}" in /etc/glide/glided.conf:12
//   open() "/etc/glide/x.conf" failed (2: No such file or directory) in /etc/glide/glided.conf:3
Result<Tree> parse_file(const std::string &path);

// Parses text as if it were the file `name` (includes resolve against dirname(name)).
Result<Tree> parse_string(std::string_view text, const std::string &name);

// --- values ---------------------------------------------------------------------------------

// Sizes: a number with an optional k/K, m/M, g/G suffix ("64k" = 65536). No negatives.
bool parse_size(std::string_view s, uint64_t &bytes);
// Times: a number with ms, s, m, h, d, w (and nginx's M = 30d, y = 365d) suffixes, combinable
// in decreasing order, each once ("1m30s"); a bare number is seconds (as nginx), but only alone
// ("1m30" is refused). Result in milliseconds.
bool parse_time_ms(std::string_view s, uint64_t &ms);
// "on" or "off", in any case (as nginx).
bool parse_flag(std::string_view s, bool &on);
// A non-negative decimal integer.
bool parse_uint(std::string_view s, uint64_t &n);

// --- directive records ----------------------------------------------------------------------

enum : unsigned {
    // where the directive may stand
    CTX_MAIN = 1u << 0,
    // the directive may repeat (each occurrence calls the setter)
    MULTI = 1u << 8,
    // a change takes effect on SIGHUP reload; otherwise a restart is needed (a warning is logged)
    RELOADABLE = 1u << 9,
};

struct Spec;

// A setter applies one occurrence to the conf struct. On failure it returns the error text
// without location, in nginx's words, e.g.
//   invalid value "x" in "glide_max_message_size" directive
// The engine appends " in FILE:LINE".
using Setter = Status (*)(const Spec &spec, void *conf, const std::vector<std::string> &args);

struct Spec {
    const char *name;
    unsigned flags;
    unsigned min_args;
    unsigned max_args;
    Setter set;
    uint64_t min = 0;          // bounds for number, size and time setters (inclusive)
    uint64_t max = UINT64_MAX; // time bounds are in milliseconds
    const char *const *choices = nullptr; // NULL-terminated list for enum-like setters
    const char *default_value = nullptr;  // text parsed by `set` when the directive is absent
    const char *syntax = nullptr;         // "glide_max_message_size SIZE"
    const char *doc = nullptr;            // one paragraph for the man page
};

// Generic setters, instantiated with a pointer to the member they fill (the member types each
// accepts are listed in conf/setters.inl):
//   {"glide_max_message_size", CTX_MAIN | RELOADABLE, 1, 1,
//    set_size<&ModuleConf::max_message_size>, 1, 64 << 20, nullptr, "64k", ...}
template <auto Member> Status set_size(const Spec &, void *, const std::vector<std::string> &);
template <auto Member> Status set_time(const Spec &, void *, const std::vector<std::string> &);
template <auto Member> Status set_flag(const Spec &, void *, const std::vector<std::string> &);
template <auto Member> Status set_uint(const Spec &, void *, const std::vector<std::string> &);
template <auto Member> Status set_string(const Spec &, void *, const std::vector<std::string> &);
// One of spec.choices.
template <auto Member> Status set_enum(const Spec &, void *, const std::vector<std::string> &);

// Helpers for custom setters; they return the nginx-worded error.
Status invalid_value(const Spec &spec, std::string_view value);
Status invalid_value_bounds(const Spec &spec, std::string_view value, std::string_view lo,
                            std::string_view hi);

// Applies directives to a conf struct, nginx's create-then-merge: every occurrence is checked
// (context, arity, duplicates) and handed to its setter; at finish(), every record that was not
// given and has a default_value is set from that text by the same setter.
class Applier {
public:
    Applier(const Spec *specs, size_t count, void *conf);

    const Spec *find(std::string_view name) const;
    // Applies one directive known to this table. Errors:
    //   invalid number of arguments in "X" directive in F:L
    //   "X" directive is duplicate in F:L
    //   "X" directive is not allowed here in F:L  (the record lacks CTX_MAIN)
    //   directive "X" is not terminated by ";" in F:L  (a block after a table directive)
    //   unknown directive "X" in F:L                (not in this table: check find() first)
    //   <the setter's error> in F:L
    Status apply(const Directive &d);
    // Applies defaults. Call once after the last apply(). A default the setter refuses is a bug
    // in the table: "invalid default for "X": <the setter's error>".
    Status finish();

    // The effective arguments of every record after finish() (given or default), joined by
    // spaces, one string per occurrence: lets a reload tell which directives changed.
    const std::vector<std::vector<std::string>> &effective() const { return effective_; }

private:
    friend std::vector<std::string> changed(const Applier &before, const Applier &after);

    const Spec *specs_;
    size_t count_;
    void *conf_;
    std::vector<std::vector<std::string>> effective_; // index = spec index
    std::vector<bool> seen_;
};

// Names of records whose effective value differs between two appliers over the same table.
std::vector<std::string> changed(const Applier &before, const Applier &after);

} // namespace glide::conf

#include "conf/setters.inl"
