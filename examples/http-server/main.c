/*
 * http-server — an HTTP server with routes of its own that serves glide on the same port:
 *
 *   GET /            a small page
 *   GET /api/health  {"status":"ok","connections":N,"sessions":M}
 *   GET /ws          WebSocket: handed to the glide module (glide_api.handoff), with the bytes
 *                    of the request the server has read already
 *
 * written from the public headers only (include/glide/). The glide side is chat.c.
 *
 * Why not evhttp: libevent 2.1's evhttp cannot give a connection away. Its parser consumes the
 * request head from the bufferevent as it parses it (only the parsed form is left, so the
 * bytes the module must see are gone), there is no call that detaches the socket, and freeing
 * the evhttp_connection shuts the socket's write side (shutdown(SHUT_WR)) before closing it.
 * So this server has its own small accept loop: it reads the request line and headers itself,
 * hands /ws to the module with the bytes read, and answers the other routes itself (one
 * request per connection: "Connection: close").
 *
 * TLS: glide_api.handoff takes plain sockets; a server behind TLS would terminate it itself.
 *
 *   ./http-server MODULE.so SECRET ADDR:PORT
 *
 * Prints "listening on ADDR" once the socket is open (port 0 picks a free port); SIGTERM or
 * SIGINT drains the glide clients politely and exits 0.
 */
#define _POSIX_C_SOURCE 200809L /* MSG_NOSIGNAL, sockaddr_storage under -std=c99 */

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>

#include "chat.h"

/* A request head larger than this is refused (431), as the module refuses one. */
#define MAX_HEAD 8192
#define READ_TIMEOUT_S 10

static struct event_base *base;
static struct evconnlistener *listener;

/* A connection whose request head is being read. */
struct request {
    int fd;
    struct event *ev;
    size_t len;
    char buf[MAX_HEAD + 1];
};

static const char page[] =
    "<!doctype html><title>glide over http-server</title>"
    "<h1>glide on this port</h1>"
    "<p>WebSocket clients connect to <code>/ws</code>; <a href=\"/api/health\">health</a>.";

static void done(struct request *r, int close_fd) {
    event_free(r->ev);
    if (close_fd)
        close(r->fd);
    free(r);
}

/* One response, then the connection ends. The socket is fresh and the answer small: a
 * short write is not worth waiting for in an example. */
static void respond(struct request *r, int status, const char *reason, const char *type,
                    const char *body) {
    char head[256];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n\r\n",
                     status, reason, type, strlen(body));
    if (send(r->fd, head, (size_t)n, MSG_NOSIGNAL) == n)
        send(r->fd, body, strlen(body), MSG_NOSIGNAL);
    done(r, 1);
}

static void route(struct request *r) {
    char method[16], target[1024], json[128];
    uint64_t connections, sessions;
    size_t path_len;
    if (sscanf(r->buf, "%15s %1023s HTTP/1.", method, target) != 2)
        return respond(r, 400, "Bad Request", "text/plain", "bad request\n");
    path_len = strcspn(target, "?");
    target[path_len] = '\0';
    if (strcmp(target, "/ws") == 0) {
        /* The module answers the upgrade (or refuses it) itself, from the first byte. */
        event_del(r->ev);
        if (chat_take(r->fd, r->buf, r->len) == 0)
            return done(r, 0); /* the socket is the module's now */
        return respond(r, 503, "Service Unavailable", "text/plain", "chat unavailable\n");
    }
    if (strcmp(method, "GET") != 0)
        return respond(r, 405, "Method Not Allowed", "text/plain", "method not allowed\n");
    if (strcmp(target, "/") == 0)
        return respond(r, 200, "OK", "text/html; charset=utf-8", page);
    if (strcmp(target, "/api/health") == 0) {
        chat_counts(&connections, &sessions);
        snprintf(json, sizeof json, "{\"status\":\"ok\",\"connections\":%llu,\"sessions\":%llu}",
                 (unsigned long long)connections, (unsigned long long)sessions);
        return respond(r, 200, "OK", "application/json", json);
    }
    respond(r, 404, "Not Found", "text/plain", "not found\n");
}

static void on_read(evutil_socket_t fd, short what, void *arg) {
    struct request *r = arg;
    ssize_t n;
    if (what & EV_TIMEOUT)
        return done(r, 1);
    n = recv(fd, r->buf + r->len, MAX_HEAD - r->len, 0);
    if (n <= 0)
        return done(r, 1); /* EOF, error; EAGAIN cannot happen after EV_READ on a stream */
    r->len += (size_t)n;
    r->buf[r->len] = '\0';
    if (strstr(r->buf, "\r\n\r\n"))
        return route(r);
    if (r->len == MAX_HEAD)
        respond(r, 431, "Request Header Fields Too Large", "text/plain", "head too large\n");
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
                      int socklen, void *arg) {
    struct timeval tv = {READ_TIMEOUT_S, 0};
    struct request *r = malloc(sizeof *r);
    (void)l;
    (void)sa;
    (void)socklen;
    (void)arg;
    if (!r) {
        close(fd);
        return;
    }
    r->fd = fd;
    r->len = 0;
    r->buf[0] = '\0';
    r->ev = event_new(base, fd, EV_READ | EV_PERSIST, on_read, r);
    if (!r->ev || event_add(r->ev, &tv) != 0) {
        if (r->ev)
            event_free(r->ev);
        close(fd);
        free(r);
    }
}

static void on_drained(void *arg) {
    (void)arg;
    event_base_loopexit(base, NULL);
}

static void on_signal(evutil_socket_t sig, short what, void *arg) {
    (void)what;
    (void)arg;
    fprintf(stderr, "signal %d: draining\n", (int)sig);
    if (listener) {
        evconnlistener_free(listener); /* no new requests */
        listener = NULL;
    }
    chat_drain(on_drained, NULL);
}

/* "IPv4:PORT" or "[IPv6]:PORT"; port 0 picks a free one (which evutil_parse_sockaddr_port
 * refuses). */
static int parse_address(const char *text, struct sockaddr_storage *ss, int *len) {
    char host[INET6_ADDRSTRLEN + 2];
    const char *colon = strrchr(text, ':');
    struct sockaddr_in *sin = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
    char *end;
    long port;
    size_t n;
    if (!colon || (n = (size_t)(colon - text)) == 0 || n >= sizeof host)
        return -1;
    port = strtol(colon + 1, &end, 10);
    if (*end || end == colon + 1 || port < 0 || port > 65535)
        return -1;
    memcpy(host, text, n);
    host[n] = '\0';
    memset(ss, 0, sizeof *ss);
    if (host[0] == '[' && host[n - 1] == ']') {
        host[n - 1] = '\0';
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t)port);
        *len = sizeof *sin6;
        return inet_pton(AF_INET6, host + 1, &sin6->sin6_addr) == 1 ? 0 : -1;
    }
    sin->sin_family = AF_INET;
    sin->sin_port = htons((uint16_t)port);
    *len = sizeof *sin;
    return inet_pton(AF_INET, host, &sin->sin_addr) == 1 ? 0 : -1;
}

int main(int argc, char **argv) {
    struct sockaddr_storage ss;
    int sslen;
    socklen_t blen = sizeof ss;
    char addr[INET6_ADDRSTRLEN];
    struct event *sigterm, *sigint;
    int64_t stored;

    if (argc != 4) {
        fprintf(stderr, "usage: %s MODULE.so SECRET ADDR:PORT\n", argv[0]);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN); /* the module writes to sockets whose peer may be gone */
    base = event_base_new();
    if (!base || chat_start(argv[1], argv[2], base) != 0)
        return 1;
    if (parse_address(argv[3], &ss, &sslen) != 0) {
        fprintf(stderr, "invalid address %s\n", argv[3]);
        return 1;
    }
    listener = evconnlistener_new_bind(base, on_accept, NULL,
                                       LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 128,
                                       (struct sockaddr *)&ss, sslen);
    if (!listener) {
        perror(argv[3]);
        return 1;
    }
    getsockname(evconnlistener_get_fd(listener), (struct sockaddr *)&ss, &blen);
    if (ss.ss_family == AF_INET6)
        printf("listening on [%s]:%u\n",
               inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, addr, sizeof addr),
               ntohs(((struct sockaddr_in6 *)&ss)->sin6_port));
    else
        printf("listening on %s:%u\n",
               inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, addr, sizeof addr),
               ntohs(((struct sockaddr_in *)&ss)->sin_port));
    fflush(stdout);

    sigterm = evsignal_new(base, SIGTERM, on_signal, NULL);
    sigint = evsignal_new(base, SIGINT, on_signal, NULL);
    evsignal_add(sigterm, NULL);
    evsignal_add(sigint, NULL);
    event_base_dispatch(base);

    event_free(sigterm);
    event_free(sigint);
    if (listener)
        evconnlistener_free(listener);
    stored = chat_stop();
    event_base_free(base);
    printf("stopped: %lld messages stored\n", (long long)stored);
    return 0;
}
