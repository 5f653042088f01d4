/*
 * The glide side of the http-server example: loads the module, answers its callbacks (glide
 * credentials opened with the server's secret; messages kept in memory) and takes the
 * connections the HTTP side routes to it.
 */
#ifndef HTTP_SERVER_CHAT_H
#define HTTP_SERVER_CHAT_H

#include <stddef.h>
#include <stdint.h>

struct event_base;

/* Loads MODULE.so and starts it on base without listeners of its own. 0, or -1 (printed). */
int chat_start(const char *module_path, const char *secret, struct event_base *base);
/* Hands a connection whose upgrade request (or part of it) the HTTP side has read to the
 * module. 0: the module owns fd now. -1: it did not take it (printed); fd is still ours. */
int chat_take(int fd, const char *read, size_t len);
/* Open connections and authenticated sessions, for /api/health. */
void chat_counts(uint64_t *connections, uint64_t *sessions);
/* Drains politely; done() runs on the loop when the last client is gone. */
void chat_drain(void (*done)(void *), void *arg);
/* Frees the module; returns how many messages were stored. */
int64_t chat_stop(void);

#endif
