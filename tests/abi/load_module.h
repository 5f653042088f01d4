/*
 * For the C tests of this folder: dlopen()s $B/libglide.so (build/ by default) and negotiates
 * the plugin ABI as a host does. Returns 0, or -1 with the reason printed; *so receives the
 * handle for dlclose. A module older than minor `min_minor` counts as a failure.
 */
#ifndef GLIDE_TESTS_ABI_LOAD_MODULE_H
#define GLIDE_TESTS_ABI_LOAD_MODULE_H

#include <dlfcn.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>

#include "glide/glide.h"

static inline int load_module(void **so, const glide_api **api, uint32_t min_minor) {
    static const uint32_t majors[] = {GLIDE_ABI_MAJOR};
    glide_offer offer = GLIDE_OFFER_INIT(majors, 1);
    const char *b = getenv("B");
    char path[512], why[256];
    glide_negotiate_fn negotiate;
    snprintf(path, sizeof path, "%s/libglide.so", b ? b : "build");
    *so = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!*so) {
        fprintf(stderr, "dlopen: %s\n", dlerror());
        return -1;
    }
    negotiate = (glide_negotiate_fn)dlsym(*so, "glide_negotiate");
    if (!negotiate || negotiate(&offer, api, why, sizeof why) != GLIDE_OK) {
        fprintf(stderr, "negotiate: %s\n", negotiate ? why : "no glide_negotiate");
        return -1;
    }
    if ((*api)->version < min_minor) {
        fprintf(stderr, "the module has plugin ABI 1.%u; the test needs 1.%u\n",
                (*api)->version, min_minor);
        return -1;
    }
    return 0;
}

#endif
