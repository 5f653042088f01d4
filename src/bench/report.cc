#include <cerrno>
#include <cstdio>
#include <cstring>

#include "bench/bench.h"

namespace glide::bench {

bool write_report(const Config &cfg, const char *scenario, const std::string &codec_name,
                  const Rows &rows, const std::string &report) {
    printf("glide-bench %s\n", scenario);
    for (auto &[k, v] : rows)
        printf("  %-26s %s\n", k.c_str(), v.c_str());
    fflush(stdout);
    if (report.empty())
        return true;
    FILE *f = fopen(report.c_str(), "a");
    if (!f) {
        fprintf(stderr, "glide-bench: cannot open %s: %s\n", report.c_str(), strerror(errno));
        return false;
    }
    fprintf(f, "\n### %s (%s%s)\n\n```\n%s\n```\n\n| figure | value |\n| --- | --- |\n", scenario,
            codec_name.c_str(), cfg.baseline ? ", baseline" : "", cfg.command.c_str());
    for (auto &[k, v] : rows)
        fprintf(f, "| %s | %s |\n", k.c_str(), v.c_str());
    fclose(f);
    return true;
}

} // namespace glide::bench
