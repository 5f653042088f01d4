/* make bench: a malloc counter preloaded into glided (LD_PRELOAD). SIGUSR2 writes
 * "MALLOCS <n>" to stderr: the number of malloc, calloc and realloc calls so far. Two signals
 * around a fixed-rate run give the heap allocations per message. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);

static volatile unsigned long calls;

void *malloc(size_t n) { calls++; return __libc_malloc(n); }
void *calloc(size_t a, size_t b) { calls++; return __libc_calloc(a, b); }
void *realloc(void *p, size_t n) { calls++; return __libc_realloc(p, n); }

static void report(int sig) {
    char b[48];
    int n = snprintf(b, sizeof b, "MALLOCS %lu\n", calls);
    (void)sig;
    if (n > 0)
        (void)!write(2, b, (size_t)n);
}

__attribute__((constructor)) static void init(void) { signal(SIGUSR2, report); }
