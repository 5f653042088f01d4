/*
 * glide/glide.h — everything a host includes to load and drive the glide module.
 *
 *   glide/version.h  version macros and the plugin ABI version
 *   glide/error.h    return codes
 *   glide/host.h     the host callback table (auth, store, presence, log) and its data
 *   glide/module.h   negotiation, the module's function table, configuration, control
 *   glide/credential.h  glide's credential and ticket primitives
 *
 * The manual is in these headers and in libglide(3).
 */
#ifndef GLIDE_GLIDE_H
#define GLIDE_GLIDE_H

#include "glide/version.h"
#include "glide/error.h"
#include "glide/host.h"
#include "glide/credential.h"
#include "glide/module.h"

#endif
