/*
 * For the C tests of this folder that play a host: a log callback that keeps what the module
 * logged (log_seen; a test clears it with log_seen[0] = '\0'), and conf_set of one directive
 * as a host hands it over (from "host.conf", line 7). Needs <string.h> and glide/glide.h
 * included first.
 */
#ifndef GLIDE_TESTS_ABI_HOST_KIT_H
#define GLIDE_TESTS_ABI_HOST_KIT_H

static char log_seen[8192];

static void host_log(void *ud, glide_log_level level, const char *msg, size_t len) {
    (void)ud;
    (void)level;
    size_t used = strlen(log_seen);
    if (used + len + 2 < sizeof log_seen) {
        memcpy(log_seen + used, msg, len);
        log_seen[used + len] = '\n';
        log_seen[used + len + 1] = '\0';
    }
}

static int set(const glide_api *api, glide_conf *c, const char *name, const char **args,
               uint32_t n, char *err, size_t errlen) {
    glide_str sargs[8];
    for (uint32_t i = 0; i < n; i++) {
        sargs[i].ptr = args[i];
        sargs[i].len = strlen(args[i]);
    }
    glide_directive_call call;
    memset(&call, 0, sizeof call);
    call.size = sizeof call;
    call.version = 1;
    call.name.ptr = name;
    call.name.len = strlen(name);
    call.args = sargs;
    call.nargs = n;
    call.file.ptr = "host.conf";
    call.file.len = 9;
    call.line = 7;
    return api->conf_set(c, &call, err, errlen);
}

#endif
