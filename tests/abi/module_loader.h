/*
 * The C tests' group fixture: they load the built module as a host does, dlopen() of
 * $B/libglide.so (B defaults to build) with RTLD_NOW | RTLD_LOCAL, and unload it at the end.
 * Needs <dlfcn.h>, <stdio.h>, <stdlib.h> and glide/glide.h included first.
 */
#ifndef GLIDE_TESTS_ABI_MODULE_LOADER_H
#define GLIDE_TESTS_ABI_MODULE_LOADER_H

static void *so;

/* Opens the module into `so`: 0, or -1 with dlerror() on stderr. */
static inline int open_module(void) {
    const char *b = getenv("B");
    char path[512];
    snprintf(path, sizeof path, "%s/libglide.so", b ? b : "build");
    so = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!so) {
        fprintf(stderr, "dlopen: %s\n", dlerror());
        return -1;
    }
    return 0;
}

/* open_module, then negotiates this build's ABI major: the module's table in *api. */
static inline int open_and_negotiate(const glide_api **api) {
    if (open_module() != 0)
        return -1;
    glide_negotiate_fn negotiate = (glide_negotiate_fn)dlsym(so, "glide_negotiate");
    static const uint32_t majors[] = {GLIDE_ABI_MAJOR};
    glide_offer offer = GLIDE_OFFER_INIT(majors, 1);
    char why[256];
    return negotiate && negotiate(&offer, api, why, sizeof why) == GLIDE_OK ? 0 : -1;
}

static inline int unload(void **state) {
    (void)state;
    return dlclose(so);
}

#endif
