/* cmocka for C and C++ tests: its headers need these includes first, and C++ wants C linkage. */
#ifndef GLIDE_TESTS_CMOCKA_H
#define GLIDE_TESTS_CMOCKA_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif
#include <cmocka.h>
#ifdef __cplusplus
}
#endif

#endif
