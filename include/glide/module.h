/*
 * glide/module.h — loading the glide module and driving it: the plugin ABI.
 *
 * libglide.so exports exactly two symbols:
 *
 *   glide_version()    the release version, callable before anything else;
 *   glide_negotiate()  the host offers the ABI majors it speaks and its build fingerprint; the
 *                      module picks one major and returns its function table (glide_api), or
 *                      refuses with a readable reason.
 *
 * Everything else is reached through the table. A host loads the module like this:
 *
 *     void *so = dlopen("libglide.so", RTLD_NOW | RTLD_LOCAL);
 *     glide_negotiate_fn negotiate = (glide_negotiate_fn)dlsym(so, "glide_negotiate");
 *     uint32_t majors[] = {GLIDE_ABI_MAJOR};
 *     glide_offer offer = GLIDE_OFFER_INIT(majors, 1);
 *     const glide_api *api;
 *     char why[256];
 *     if (negotiate(&offer, &api, why, sizeof why) != GLIDE_OK) { puts(why); exit(1); }
 *
 * and then drives one module instance through its life:
 *
 *     create ─▶ conf_new ─▶ conf_set (each directive) ─▶ conf_finish ─▶ apply ─▶ start(base)
 *        ▲                                                                          │
 *        │          reload: conf_new … conf_finish ─▶ apply (while running) ◀───────┤
 *        │                                                                          ▼
 *     destroy ◀──────────────────────────────── (done callback) ◀──────────── drain(timeout)
 *
 * Thread model: a module instance lives on one event_base and every function taking a
 * glide_module must be called on that loop's thread (before start: any one thread). Different
 * instances are independent. The module never calls process-global setters of shared libraries
 * (allocators, signal handlers, locale, libevent's global configuration): those are the host's.
 * In particular the host must ignore SIGPIPE (signal(SIGPIPE, SIG_IGN), as nginx does): socket
 * and TLS writes to a peer that has gone raise it.
 *
 * Errors: functions return GLIDE_OK or a negative code (glide/error.h); those taking an
 * (err, errlen) buffer also write a one-line reason there, NUL-terminated and truncated to fit.
 * Configuration errors are worded like nginx's and end with the location taken from the
 * directive call, e.g. `invalid value "x" in "glide_max_message_size" directive in F:12`.
 */
#ifndef GLIDE_MODULE_H
#define GLIDE_MODULE_H

#include <stddef.h>
#include <stdint.h>

#include "glide/credential.h"
#include "glide/error.h"
#include "glide/host.h"
#include "glide/version.h"

#ifdef __cplusplus
extern "C" {
#endif

struct event_base; /* libevent */

#if defined(__GNUC__) && !defined(GLIDE_NO_VISIBILITY)
#define GLIDE_EXPORT __attribute__((visibility("default")))
#else
#define GLIDE_EXPORT
#endif

#if defined(__cplusplus) && __cplusplus >= 201103L
#define GLIDE_NOEXCEPT noexcept
#else
#define GLIDE_NOEXCEPT
#endif

/* --- negotiation --------------------------------------------------------------------------- */

/*
 * How the host was built. The module refuses to load when its own build differs in a way that
 * would corrupt memory: a different pointer size, or a libevent of another major.minor (the host
 * hands the module its event_base, so both must agree on libevent's ABI).
 */
typedef struct glide_fingerprint {
    uint32_t size, version;    /* sizeof(glide_fingerprint), 1 */
    uint32_t pointer_size;     /* sizeof(void *) */
    uint32_t libevent_version; /* LIBEVENT_VERSION_NUMBER the host was compiled with */
} glide_fingerprint;

/* The host's offer. */
typedef struct glide_offer {
    uint32_t size, version;     /* sizeof(glide_offer), 1 */
    const uint32_t *abi_majors; /* ABI majors the host speaks, preferred first */
    uint32_t n_abi_majors;
    glide_fingerprint fingerprint;
} glide_offer;

/* Fills an offer; needs <event2/event.h> (for LIBEVENT_VERSION_NUMBER) included before use. */
#define GLIDE_OFFER_INIT(majors, n)                                                       \
    {                                                                                     \
        sizeof(glide_offer), 1, (majors), (n),                                            \
        {                                                                                 \
            sizeof(glide_fingerprint), 1, (uint32_t)sizeof(void *),                       \
                (uint32_t)LIBEVENT_VERSION_NUMBER                                         \
        }                                                                                 \
    }

typedef struct glide_api glide_api;

/*
 * Picks an ABI major from the offer and returns the module's function table in *api (a static
 * table: never freed). Returns GLIDE_OK; or GLIDE_EABI when no offered major is spoken, e.g.
 *   "libglide 0.1.0 speaks plugin ABI 1; the host offers 2"
 * GLIDE_EFINGERPRINT when the builds differ, e.g.
 *   "libglide 0.1.0 was built with libevent 2.1, the host with libevent 2.2"
 * GLIDE_ESTRUCT when the offer is too old to read, GLIDE_EINVAL on NULL arguments. The reason is
 * written to `reason` (may be NULL).
 */
GLIDE_EXPORT int glide_negotiate(const glide_offer *offer, const glide_api **api, char *reason,
                                 size_t reason_len) GLIDE_NOEXCEPT;
typedef int (*glide_negotiate_fn)(const glide_offer *, const glide_api **, char *, size_t);

/* GLIDE_VERSION_NUMBER of the loaded module. */
GLIDE_EXPORT uint32_t glide_version(void) GLIDE_NOEXCEPT;
typedef uint32_t (*glide_version_fn)(void);

/* --- configuration ------------------------------------------------------------------------- */

/* Flags of a directive record. */
#define GLIDE_DIRECTIVE_MAIN 0x0001u       /* allowed at the top level of the file */
#define GLIDE_DIRECTIVE_MULTI 0x0100u      /* may be given more than once */
#define GLIDE_DIRECTIVE_RELOADABLE 0x0200u /* a change applies on reload (else: restart) */

/* One directive the module understands: a record of its table, for help texts and man pages. */
typedef struct glide_directive {
    uint32_t size, version;
    const char *name;     /* "glide_max_message_size" */
    uint32_t flags;       /* GLIDE_DIRECTIVE_* */
    uint32_t min_args;
    uint32_t max_args;
    const char *syntax;   /* "glide_max_message_size SIZE" */
    const char *default_value; /* "64k", or NULL when there is none */
    const char *doc;      /* one paragraph */
} glide_directive;

/* One occurrence of a directive from the host's configuration file. */
typedef struct glide_directive_call {
    uint32_t size, version;
    glide_str name;
    const glide_str *args;
    uint32_t nargs;
    glide_str file; /* for messages only */
    uint32_t line;
} glide_directive_call;

/* --- statistics ---------------------------------------------------------------------------- */

/* Upper bounds, in milliseconds, of the store latency buckets of glide_stats (each bucket counts
 * the calls that took at most its bound and more than the bound before it); the last bucket,
 * GLIDE_STATS_LATENCY_BUCKETS - 1, counts the calls slower than every bound. */
#define GLIDE_STATS_LATENCY_BOUNDS_MS {1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 5000}
#define GLIDE_STATS_LATENCY_BUCKETS 12

/*
 * Counters of a module instance. Version 1 ends at `draining`; version 2 (plugin ABI 1.1) adds
 * the fields after it. The module writes the fields the caller's size covers and sets version
 * to what it filled.
 */
typedef struct glide_stats {
    uint32_t size, version; /* the caller sets size = sizeof(glide_stats) */
    uint64_t connections;          /* open now */
    uint64_t connections_accepted; /* since start */
    uint64_t connections_closed;
    uint64_t sessions_guest;       /* connections in the guest state now */
    uint64_t sessions_authenticated;
    uint64_t messages_in;
    uint64_t messages_out;
    uint64_t bytes_in;
    uint64_t bytes_out;
    uint64_t drops;                /* messages the module dropped; 0 by design */
    uint32_t listeners;
    uint32_t draining;             /* non-zero after drain() */
    /* version 2 */
    uint64_t sessions_closing;     /* closed by either side, the transport not yet done */
    /* The host's store calls (glide_host store, mark_delivered, load_undelivered,
     * group_publish, group_members; not auth), from the call to the completion or deadline. */
    uint64_t store_calls;
    uint64_t store_failures;       /* of those: failed (GLIDE_ENOTFOUND excepted) or timed out */
    uint64_t store_latency_ms_sum;
    uint64_t store_latency[GLIDE_STATS_LATENCY_BUCKETS]; /* per bucket, not cumulative */
} glide_stats;

/* The labelled counters glide_api.stats_each reports. */
typedef enum glide_stat_kind {
    GLIDE_STAT_MESSAGES_IN = 1,  /* frames received, label: the action ("other" for actions the
                                  * module does not know, "invalid" for undecodable frames) */
    GLIDE_STAT_MESSAGES_OUT = 2, /* frames sent, label: the action */
    GLIDE_STAT_CLOSES = 3,       /* sessions ended, label: the WebSocket close code in decimal
                                  * (1006: the socket went away without a close handshake) */
    /* ABI 1.5: what the limits of glided.conf(5) refused, label: the limit, its directive's
     * name without "glide_limit_" or "glide_": "message_rate", "user_message_rate" (frames),
     * "message_rate_close" (connections closed for it), "auth_failures" (connections closed),
     * "auth_failures_per_address" (authentications), "connections_per_address",
     * "max_connections" (connections); see glide(7) "Limits" */
    GLIDE_STAT_LIMITED = 4
} glide_stat_kind;

/* One labelled counter; label is borrowed for the call only. At most 64 labels per kind (more
 * count under "other"). A host ignores kinds it does not know: a newer module may report more. */
typedef void (*glide_stat_fn)(void *arg, glide_stat_kind kind, glide_str label, uint64_t value);

/* One authenticated session, as glide_api.sessions lists it. Strings are borrowed for the call
 * only. */
typedef struct glide_session_info {
    uint32_t size, version;   /* sizeof(glide_session_info), 1 */
    uint64_t id;              /* unique within the instance */
    glide_str uid;
    glide_str device_id;
    glide_str device_name;
    glide_str peer;           /* "127.0.0.1:50312" */
    const char *codec;        /* "json" or "protobuf" */
    int64_t connected_ms;     /* wall clock, ms since the epoch */
    uint64_t queued_bytes;    /* output not yet written to the socket */
} glide_session_info;

/* Returns 0 to go on, non-zero to stop the listing. */
typedef int (*glide_session_fn)(void *arg, const glide_session_info *session);

/* --- the cluster (ABI 1.4) -------------------------------------------------------------------- */

/* One node's counters in glide_api.cluster_stats; node_id and stats are borrowed for the call. */
typedef void (*glide_node_stats_fn)(void *arg, glide_str node_id, const glide_stats *stats);
/* One node's labelled counter (as glide_stat_fn), borrowed for the call. */
typedef void (*glide_node_stat_fn)(void *arg, glide_str node_id, glide_stat_kind kind,
                                   glide_str label, uint64_t value);
/* One session of a node in glide_api.cluster_sessions, borrowed for the call. Returns 0 to go
 * on, non-zero to stop the listing (the done callback still follows). */
typedef int (*glide_node_session_fn)(void *arg, glide_str node_id,
                                     const glide_session_info *session);
/* The end of a cluster-wide query: the nodes asked and those that answered, this one included
 * in both. */
typedef void (*glide_cluster_done_fn)(void *arg, uint32_t nodes, uint32_t answered);

/* --- connections the host accepted (ABI 1.3) ---------------------------------------------- */

/* glide_handoff.transport and .codec, as for `glide_listen ADDR ws|tcp json|protobuf`. 0 is
 * not a value: a zeroed struct is refused rather than read as a default. */
#define GLIDE_TRANSPORT_WS 1  /* a WebSocket upgrade request, then frames */
#define GLIDE_TRANSPORT_TCP 2 /* glide's TCP framing: 4-byte big-endian length, then the message */
#define GLIDE_CODEC_JSON 1
#define GLIDE_CODEC_PROTOBUF 2

/*
 * A connection the host accepted itself, for glide_api.handoff: e.g. an HTTP server that serves
 * its own routes on a port and hands the requests for its WebSocket route to the module.
 */
typedef struct glide_handoff {
    uint32_t size, version; /* sizeof(glide_handoff), 1 */
    int fd;                 /* a connected stream socket (TCP or Unix), plain: see handoff */
    uint32_t transport;     /* GLIDE_TRANSPORT_* */
    uint32_t codec;         /* GLIDE_CODEC_*; ws: the codec when the request names no
                             * subprotocol (glide.json / glide.protobuf pick it otherwise) */
    /* The bytes the host already read from fd, in order: for ws the upgrade request from its
     * first byte (all of it, a part of it, or all of it and bytes of the first frames after
     * it); for tcp the start of the framed stream. May be empty. Borrowed for the call: the
     * module copies it. */
    glide_str input;
} glide_handoff;

/* --- what a configuration asks of its host (ABI 1.8) ------------------------------------------ */

/*
 * What a finished configuration needs from the host, for the checks only the host can make
 * against its own settings, with the module's directive names and locations so the host's
 * messages can point at them without knowing the module's directives:
 *   - a host that runs several processes of one configuration (glide_host.worker_count) needs
 *     every instance on the cluster bus (they see each other's sessions only there) and no
 *     listener on port 0 (each process would get a port of its own);
 *   - an instance on a cluster bus shares its users with other nodes through the host's store,
 *     so a host whose store cannot be shared refuses it.
 * Filled by glide_api.conf_info. Strings point into the configuration: valid until it is
 * applied or freed.
 */
typedef struct glide_conf_info {
    uint32_t size, version; /* the caller sets size = sizeof(glide_conf_info); version 1 */
    int cluster;            /* non-zero: the instance joins a cluster bus */
    /* The directive that joins the bus ("glide_cluster"; named also when cluster is 0, for a
     * host's message that asks for it) and, when cluster, where it was given (file as in the
     * directive call; empty and 0 when unknown). */
    glide_str cluster_directive;
    glide_str cluster_file;
    uint32_t cluster_line;
    int port0;              /* non-zero: a listener asks for port 0 (the first one below) */
    glide_str port0_directive; /* "glide_listen" */
    glide_str port0_file;
    uint32_t port0_line;
} glide_conf_info;

/* --- the module's table -------------------------------------------------------------------- */

typedef struct glide_module glide_module; /* one instance */
typedef struct glide_conf glide_conf;     /* a configuration being built */

typedef void (*glide_drained_fn)(void *arg);

/*
 * The module's functions. Read `size` before using a field added after the first minor version
 * (e.g. `api->size >= offsetof(glide_api, sessions) + sizeof api->sessions`).
 * All functions taking pointers accept NULL where documented and return GLIDE_EINVAL otherwise;
 * *_free and destroy accept NULL.
 */
struct glide_api {
    uint32_t size;      /* sizeof(glide_api) of the module */
    uint32_t version;   /* GLIDE_ABI_MINOR of the module */
    uint32_t abi_major; /* the major that negotiation picked */
    const char *version_string; /* "0.1.0" */
    const char *build;          /* compiler, libevent version, options; for -V */

    /* Text for a return code; never NULL. */
    const char *(*strerror)(int code);

    /* -- lifecycle -- */

    /* Creates an instance that will call back into `host` (borrowed; must outlive it). */
    int (*create)(const glide_host *host, glide_module **out);
    /* Frees an instance: closes listeners and connections at once (drain first for a polite
     * end). Must not be called from inside a module callback. NULL is a no-op. */
    void (*destroy)(glide_module *m);

    /* -- configuration (nginx-style directives) -- */

    /* The module's directive records; *count receives their number. Static; never NULL. */
    const glide_directive *(*directives)(size_t *count);
    /* Starts a configuration with nothing set. */
    int (*conf_new)(glide_module *m, glide_conf **out);
    /* Applies one directive. GLIDE_EUNKNOWN when the module has no such directive (the host
     * then tries its other modules or reports `unknown directive "x"`), GLIDE_ECONF with the
     * reason and location in err. */
    int (*conf_set)(glide_conf *c, const glide_directive_call *call, char *err, size_t errlen);
    /* Completes a configuration: applies defaults and checks what only the whole file can tell
     * (e.g. ssl listeners need a certificate). */
    int (*conf_finish)(glide_conf *c, char *err, size_t errlen);
    void (*conf_free)(glide_conf *c);
    /* Makes a finished configuration current; steals `c` (also on failure). Before start it sets
     * everything. While running (reload) it applies the directives marked RELOADABLE and logs a
     * warning for each other directive that changed (those need a restart). */
    int (*apply)(glide_module *m, glide_conf *c, char *err, size_t errlen);

    /* Opens the listeners on the host's loop and begins accepting. `base` is borrowed and must
     * outlive the instance. Codes (with the reason in err):
     *   GLIDE_ESTATE   no configuration applied yet, or already started;
     *   GLIDE_EADDR    a listener's address could not be resolved, bound or listened on; err
     *                  names it, e.g. bind() to 0.0.0.0:8083 failed (98: Address already in
     *                  use);
     *   GLIDE_ECONF    the TLS certificate or key of ssl listeners could not be loaded;
     *   GLIDE_ENOMEM   out of memory (libevent could not create an event);
     *   GLIDE_EINVAL   m or base NULL.
     * (Before ABI 1.3 every failure was GLIDE_EADDR.) */
    int (*start)(glide_module *m, struct event_base *base, char *err, size_t errlen);
    /* Graceful end: stops accepting, closes sessions politely (WebSocket close 1001), and calls
     * done(arg) on the loop once every connection is gone or timeout_ms has passed (then the
     * rest are closed at once). done may be NULL. Calling drain twice is GLIDE_ESTATE. */
    int (*drain)(glide_module *m, uint32_t timeout_ms, glide_drained_fn done, void *arg);

    /* -- introspection -- */

    /* Fills *out (set out->size first; fields beyond it are not written). */
    int (*stats)(glide_module *m, glide_stats *out);
    /* The bound address of listener `index` (after start), e.g. "127.0.0.1:40123" — how a host
     * that configured port 0 learns the port. GLIDE_ENOTFOUND past the last listener. */
    int (*listener_address)(glide_module *m, uint32_t index, char *buf, size_t len);

    /* -- control (loop thread only) -- */

    /* Sends an envelope (glide JSON) to every device of uid connected to this module; *sent
     * receives the number of sessions reached (may be NULL). */
    int (*push)(glide_module *m, glide_str uid, glide_str envelope_json, uint32_t *sent);
    /* Kicks uid's sessions (device empty: every device) with notify.kickout then close 4001. */
    int (*kick)(glide_module *m, glide_str uid, glide_str device_id, uint32_t *kicked);
    /* Forgets the module's cached membership of gid (after the host changed it). */
    int (*group_invalidate)(glide_module *m, glide_str gid);

    /* -- completions of asynchronous host calls (see glide/host.h) -- */
    /* GLIDE_EINVAL: req or the struct NULL, or req of another kind; GLIDE_ESTRUCT: the struct
     * too small for its first fields or of version 0 (host.h). Either way the request is not
     * completed. */

    int (*auth_done)(glide_request *req, const glide_auth_result *result);
    int (*store_done)(glide_request *req, const glide_store_result *result);
    /* Adds one message to a load_undelivered answer. */
    int (*page_add)(glide_request *req, const glide_message *msg);
    /* Adds one member to a group_members answer. */
    int (*member_add)(glide_request *req, glide_str uid);
    /* Completes mark_delivered, load_undelivered and group_members: status GLIDE_OK or negative
     * with a reason. */
    int (*request_done)(glide_request *req, int status, glide_str error);

    /* -- glide's credentials and tickets (glide/credential.h); any thread, no instance -- */

    /* Opens a credential with `secret`. now_ms > 0 also applies the 25-minute expiry (0 skips
     * it). On success *out is a new object (free with credential_free). Errors carry glide's
     * texts for the client in err: GLIDE_EDECODE "invalid authenticate message",
     * GLIDE_EEXPIRED "credential expired". */
    int (*credential_open)(glide_str secret, glide_str credential, int64_t now_ms,
                           glide_credential **out, char *err, size_t errlen);
    void (*credential_free)(glide_credential *c);
    /* Mints a credential from the fields of *c (a random IV). Writes it NUL-terminated to out;
     * *len is the buffer size in and the length out. GLIDE_ETOOBIG with *len = the size
     * needed when out is too small; GLIDE_ESTRUCT when *c is too small or of version 0. */
    int (*credential_seal)(glide_str secret, const glide_credential *c, char *out, size_t *len);
    /* The ticket for a message from `from` to `to`: 40 lower-case hex digits and a NUL. */
    int (*ticket)(glide_str secret, glide_str from, glide_str to, char out[41]);
    /* glide's ticket check: GLIDE_OK, or GLIDE_EFORBIDDEN with glide's text in err ("no message
     * deliver secret", "invalid ticket", "ticket expired"). */
    int (*ticket_check)(glide_str secret, glide_str from, glide_str to, glide_str ticket,
                        char *err, size_t errlen);

    /* -- minor 1: statistics and sessions for an admin API (loop thread only) -- */

    /* Calls fn for every labelled counter (glide_stat_kind), in kind then label order.
     * GLIDE_ESTATE before start. */
    int (*stats_each)(glide_module *m, glide_stat_fn fn, void *arg);
    /* Calls fn for each authenticated session of uid (uid.len 0: of every uid) until fn returns
     * non-zero; *count (may be NULL) receives the sessions visited. fn may call the control
     * functions (glide/host.h, "Re-entrancy"), e.g. kick: the listing walks a copy taken at the
     * call and skips the sessions closed meanwhile. GLIDE_ESTATE before start. */
    int (*sessions)(glide_module *m, glide_str uid, glide_session_fn fn, void *arg,
                    uint32_t *count);

    /* -- minor 3: connections the host accepted; push with a reason (loop thread only) -- */

    /*
     * Hands the module a connection the host accepted (and maybe began to read) itself. The
     * module takes it on exactly as if its own listener had accepted it with `glide_listen ...
     * h->transport h->codec`: the same limits, handshake timeout (from now on), close rules and
     * statistics (connections_accepted counts it); for ws the upgrade request is checked as
     * for a listener (Host, Upgrade, Connection, version, key, glide_allowed_origins, the
     * subprotocol picks the codec) except its path: the host routed it, so glide_ws_path is
     * not compared. The module makes fd non-blocking and sets TCP_NODELAY on a TCP socket.
     * h->input is handled on a later turn of the loop, never inside this call: apart from
     * log, no host callback runs before handoff returns. Over glide_max_connections or
     * glide_limit_connections_per_address the module refuses it as a listener would (a ws
     * upgrade answered 503 or 429, a tcp socket closed at once) and returns GLIDE_OK: the
     * refusal is the module's answer to the client, and the socket is the module's.
     *
     * TLS: the module takes plain sockets only. A host that accepts TLS terminates it itself and
     * hands over a plain socket (e.g. one end of a socketpair it relays to); `glide_listen ...
     * ssl` is how the module does TLS itself.
     *
     * Ownership of fd: on GLIDE_OK the module owns it (it closes it; the host must not read,
     * write or close it any more). On every other code the module did not take it: fd is
     * still the host's, open, with its unread input (GLIDE_EIO, GLIDE_ENOMEM: maybe made
     * non-blocking), and the host closes it (it may first answer the client, e.g. 503 while the
     * module drains). Codes:
     *   GLIDE_OK        taken;
     *   GLIDE_EINVAL    m or h NULL, fd negative or not a stream socket, transport or codec not
     *                   one of the values above, input.ptr NULL with input.len > 0;
     *   GLIDE_ESTRUCT   h->size too small for the fields up to input, or h->version 0;
     *   GLIDE_ESTATE    before start;
     *   GLIDE_ECLOSED   after drain (the module takes no new connections);
     *   GLIDE_EIO       the socket could not be made non-blocking or watched (err says which);
     *   GLIDE_ENOMEM    out of memory.
     * err (may be NULL) receives the reason of a failure.
     */
    int (*handoff)(glide_module *m, const glide_handoff *h, char *err, size_t errlen);
    /* push, with the reason of a failure in err (may be NULL): GLIDE_EDECODE with the decoder's
     * text when the envelope is not a glide JSON envelope. Codes as for push. */
    int (*push_2)(glide_module *m, glide_str uid, glide_str envelope_json, uint32_t *sent,
                  char *err, size_t errlen);

    /* -- minor 4: the control API across the cluster (loop thread only) -- */

    /*
     * The counters of every node of the cluster (glide_cluster): `stats` and `each` (may be
     * NULL) for this instance before the call returns, then for each other node as its answer
     * arrives on later loop turns, then `done` once: when every node in the cluster's
     * heartbeat set answered, or after timeout_ms (a node that does not answer in time is
     * counted in `nodes` but not in `answered`). Without a cluster, or while the bus is down,
     * only this instance answers (done(1, 1); without a cluster before the call returns).
     * `arg` must stay valid until done; if the instance is destroyed first, done is not called.
     * GLIDE_OK: done will be called; GLIDE_EINVAL (stats or done NULL, timeout_ms 0),
     * GLIDE_ESTATE (before start): it will not.
     */
    int (*cluster_stats)(glide_module *m, uint32_t timeout_ms, glide_node_stats_fn stats,
                         glide_node_stat_fn each, glide_cluster_done_fn done, void *arg);
    /*
     * The authenticated sessions of uid (uid.len 0: of every uid) on every node, at most
     * `limit` per node (0: no limit), as cluster_stats answers: this instance's first, the
     * other nodes' as they arrive, then done. fn returning non-zero stops the listing.
     */
    int (*cluster_sessions)(glide_module *m, glide_str uid, uint32_t limit, uint32_t timeout_ms,
                            glide_node_session_fn fn, glide_cluster_done_fn done, void *arg);

    /* -- minor 8: what a configuration asks of its host -- */

    /* Fills *out (set out->size first; fields beyond it are not written, version says what was
     * filled) from a configuration after conf_finish succeeded and before apply (glide_conf_info).
     * GLIDE_EINVAL: c or out NULL; GLIDE_ESTRUCT: out->size too small for `cluster`;
     * GLIDE_ESTATE: c not finished. Any thread that may use c. */
    int (*conf_info)(const glide_conf *c, glide_conf_info *out);
};

#ifdef __cplusplus
}
#endif

#endif
