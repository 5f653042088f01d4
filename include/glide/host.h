/*
 * glide/host.h — what the host provides to the module: the host callback table.
 *
 * The module owns the wire (framing, codecs, sessions, dispatch); the host owns identity and
 * storage. The module asks the host through the callbacks below and the host answers.
 *
 * Thread model: every callback is called on the loop thread of the event_base the module was
 * started on, and every completion function (glide_api.*_done) must be called on that thread too.
 * A callback may call the module's control functions and completions ("Re-entrancy" below).
 *
 * Asynchronous calls. Every callback that may touch a disk or a network receives a request
 * handle (glide_request *) and returns one of:
 *   GLIDE_OK       the host has already completed the request (it called the matching *_done
 *                  function before returning);
 *   GLIDE_PENDING  the host will call the *_done function later, exactly once;
 *   a negative     the request failed; no *_done call follows.
 * A pending request has a deadline (directive glide_callback_timeout). When it passes, the module
 * answers the client with the failure defined for that request; a completion that arrives later
 * (or after the session is gone) is accepted and ignored. Handles stay valid until completed.
 *
 * Strings cross the boundary as (pointer, length) pairs (glide_str) and are borrowed: valid only
 * for the duration of the call, unless stated otherwise. Copy what you keep.
 *
 * Every struct starts with `size` and `version`; the side that fills a struct sets size to
 * sizeof() of the struct it was compiled with, so the other side can tell which fields exist.
 */
#ifndef GLIDE_HOST_H
#define GLIDE_HOST_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A borrowed string: `len` bytes at `ptr`, not NUL-terminated unless stated. */
typedef struct glide_str {
    const char *ptr;
    size_t len;
} glide_str;

/* Log levels, nginx's: a message is written when its level is at or above the configured one. */
typedef enum glide_log_level {
    GLIDE_LOG_DEBUG = 0,
    GLIDE_LOG_INFO = 1,
    GLIDE_LOG_NOTICE = 2,
    GLIDE_LOG_WARN = 3,
    GLIDE_LOG_ERROR = 4,
    GLIDE_LOG_CRIT = 5,
    GLIDE_LOG_ALERT = 6,
    GLIDE_LOG_EMERG = 7
} glide_log_level;

/* An asynchronous request, owned by the module. Pass it back to the matching *_done function. */
typedef struct glide_request glide_request;

/* --- auth ---------------------------------------------------------------------------------- */

/* In: what the client sent with `authenticate` (protocol.md §6.4). */
typedef struct glide_auth_request {
    uint32_t size, version;
    glide_str credential; /* data.credential as sent by the client */
    int64_t credential_version; /* data.version */
    glide_str remote_addr;      /* "ip:port" of the peer */
    glide_str temp_id;          /* the session's guest id, "tmp@<uuid>" */
} glide_auth_request;

/* Out: the host's verdict, given to glide_api.auth_done. */
typedef struct glide_auth_result {
    uint32_t size, version;
    int accepted; /* non-zero: authenticated; zero: refused with `error` */
    glide_str error; /* refusal text sent to the client in notify.error, e.g. "credential expired" */
    glide_str uid;
    glide_str device_id;
    glide_str device_name;
    glide_str message_deliver_secret; /* non-empty: tickets are checked (protocol.md §6.5) */
    /* Connection settings from the credential; 0 keeps the configured value. */
    uint32_t heartbeat_interval_ms;
    uint32_t heartbeat_lost;
} glide_auth_result;

/* --- messages ------------------------------------------------------------------------------ */

/* A chat message as the module hands it to the store (fields of glide's ChatMessage). */
typedef struct glide_message {
    uint32_t size, version;
    int64_t mid;      /* 0 when not yet stored */
    int64_t seq;      /* one-to-one: the client's data.seq; group: the group sequence */
    glide_str cli_mid; /* the sender's id for the message; (from, cli_mid) is idempotent */
    glide_str from;   /* sender uid */
    glide_str to;     /* receiver uid, or group id for group messages */
    int32_t type;
    glide_str content;
    int64_t send_at;
    /* The message as the receiver gets it: the encoded `data` payload (JSON), so a store can
     * replay it byte for byte. Empty when the host set GLIDE_HOST_NO_PAYLOAD. */
    glide_str payload;
    /* GLIDE_MESSAGE_* bits (ABI 1.6; a struct whose size ends above counts as 0). */
    uint32_t flags;
} glide_message;

/* glide_message.flags (ABI 1.6). */
/* A group message: `to` is the group id and `seq` the message's sequence in the group. The
 * module sets it on the messages it gives group_publish; a host sets it on a group message it
 * gives page_add, which the module then replays as `message.group` (see
 * GLIDE_HOST_GROUP_REPLAY). */
#define GLIDE_MESSAGE_GROUP 0x1u

/* Result of store_message and group_publish, given to glide_api.store_done. */
typedef struct glide_store_result {
    uint32_t size, version;
    int status;    /* GLIDE_OK, or negative: the sender gets notify.error with `error` */
    glide_str error;
    int64_t mid;   /* assigned message id: unique, increasing, below 2^53 */
    int64_t seq;   /* group_publish: the group sequence assigned to the message */
    int duplicate; /* non-zero: (from, cli_mid) was stored before; mid is the earlier one */
} glide_store_result;

/* A delivery receipt: the receiver acknowledged `mid` on `device`. With first_mid non-zero
 * (ABI 1.6, only to a host that set GLIDE_HOST_GROUP_REPLAY) it is a group receipt instead:
 * the module wrote to a connection of (uid, device) every message of one group from first_mid
 * through mid (both messages of that group, first_mid <= mid), in sequence, without a gap, and
 * the connection took them (glide's clients acknowledge no group message). */
typedef struct glide_delivery {
    uint32_t size, version;
    glide_str uid;
    glide_str device_id;
    int64_t mid;
    int64_t first_mid; /* ABI 1.6: 0 for a one-to-one receipt */
} glide_delivery;

/* A page query for messages not yet acknowledged by (uid, device), oldest first; with
 * GLIDE_HOST_GROUP_REPLAY also the group messages uid was not sent, interleaved by mid. */
typedef struct glide_undelivered_query {
    uint32_t size, version;
    glide_str uid;
    glide_str device_id;
    int64_t after_mid; /* cursor: only messages with mid > after_mid */
    uint32_t limit;    /* at most this many */
} glide_undelivered_query;

/* --- groups and presence ------------------------------------------------------------------- */

/* Presence: (uid, device) came online or went offline on this node. */
typedef struct glide_presence {
    uint32_t size, version;
    glide_str uid;
    glide_str device_id;
    glide_str node_id;
    int online;
} glide_presence;

/* --- the table ----------------------------------------------------------------------------- */

/*
 * Versions of glide_host: 1 the first table (ABI 1.0), 2 with `flags` (ABI 1.2), 3 with
 * `worker_index` and `worker_count` (ABI 1.5). The host sets version = GLIDE_HOST_VERSION and
 * size = sizeof(glide_host) of its headers.
 *
 * How the module reads what the host fills (glide_host at create; glide_auth_result,
 * glide_store_result, glide_message given to page_add, glide_directive_call, glide_handoff,
 * glide_credential given to credential_seal, glide_offer): a struct whose size does not reach its first fields (for glide_host: `log`),
 * or whose version is 0, is refused with GLIDE_ESTRUCT (a NULL pointer is GLIDE_EINVAL). A
 * field is read only when `size` covers it; what lies beyond is never touched, so an older,
 * shorter struct works (its missing fields count as 0/empty). A version or size newer than the
 * module knows is accepted: the module reads the fields it knows and ignores the rest (forward
 * compatible; a host that needs a newer module checks glide_api.version). The version number
 * is informative; `size` decides which fields exist.
 */
#define GLIDE_HOST_VERSION 3

/* glide_host.flags (ABI 1.2). */
/* The host never reads glide_message.payload: the module leaves it empty rather than encode
 * every message once more (store_message and group_publish). */
#define GLIDE_HOST_NO_PAYLOAD 0x1u
/* (ABI 1.6) The host keeps a delivery cursor per group member and replays group messages:
 *   - its load_undelivered pages carry, interleaved by mid with the one-to-one messages, the
 *     messages of uid's groups it was not sent (glide_message.flags GLIDE_MESSAGE_GROUP; within
 *     a group mids must grow with the sequence), which the module replays as `message.group`;
 *   - the module reports what it wrote to each device with group receipts (mark_delivered with
 *     glide_delivery.first_mid, see there), shortly after the connection took it (its output
 *     buffer emptied): runs of one group's messages, never across a gap (a run that grew is
 *     reported again from its first message); the host moves uid's cursor in that group to
 *     `mid` only when no message of the group lies between the cursor and first_mid (the run
 *     follows on from it, or overlaps it), and never backwards.
 * Without it the module sends no group receipt (a page's GLIDE_MESSAGE_GROUP messages are
 * still replayed as `message.group`). */
#define GLIDE_HOST_GROUP_REPLAY 0x2u

/*
 * Re-entrancy: what a callback may call. Inside any callback of this table, and inside the
 * callbacks glide_api takes (glide_session_fn, glide_stat_fn, glide_drained_fn), the host may
 * call every control function of glide_api (glide/module.h) on the instance, on the loop thread:
 *
 *   push, kick, group_invalidate, stats, stats_each, sessions, listener_address, drain; and the
 *   completions auth_done, store_done, page_add, member_add, request_done of any pending
 *   request: another one, or the very request the callback was given (a synchronous answer,
 *   then return GLIDE_OK).
 *
 * The module never holds a reference into its own tables (sessions, the devices of a uid,
 * state subscriptions, group caches, pending requests) across a call into the host: it
 * finishes an update before it reports, walks copies of the lists it sends to, and looks up
 * again what it needs after the call. So those calls may close sessions, complete requests
 * (whose continuations run at once) or drain, from any depth. Calls nest: a callback may be
 * entered again from inside the control function it made — kick closes sessions, each reports
 * presence at once; a completion runs its continuation, which may call the host again.
 * Not from a callback: create, destroy, the configuration functions and apply, start (a
 * callback that wants them schedules an event on the loop).
 *
 * What a host sees of it:
 *   - presence follows the tables as they change: an offline report may arrive from inside
 *     another report (a kick there); a session kicked from inside the online report of its own
 *     login reports offline right after; a second login of (uid, device) reports the first
 *     one offline before it reports itself online;
 *   - a request completed inside its own callback has run its continuation when the *_done
 *     call returns, so the callback's borrowed arguments (message, query, credential) are no
 *     longer valid from then on: read them before completing;
 *   - log may be called from anywhere in the module: at each call the module (including its
 *     connections, which are freed only from their own event, later) holds nothing the
 *     functions above could invalidate, so a log callback may kick or drain too.
 */

/*
 * The host's callbacks. The host fills one and passes it to glide_api.create(); the module keeps
 * the pointer (the table must outlive the module). Any callback may be NULL:
 *   log              NULL: messages are dropped;
 *   auth             NULL: `authenticate` is answered "authentication is not configured";
 *   store_message    NULL: one-to-one chat is refused with notify.error ("message store is
 *                    not configured");
 *   mark_delivered   NULL: receipts are forwarded but not recorded;
 *   load_undelivered NULL: no replay at login;
 *   group_publish    NULL: group messages are refused ("group messages are not configured");
 *   group_members    NULL: likewise;
 *   presence         NULL: presence is not reported.
 * A store or group request the module answers itself for a NULL callback has the status
 * GLIDE_ENOCALLBACK (ABI 1.3; GLIDE_ENOTSUP before): counted in glide_stats.store_failures as
 * before, and the client's text is the same.
 */
typedef struct glide_host {
    uint32_t size, version; /* sizeof(glide_host), GLIDE_HOST_VERSION */
    void *user_data;        /* passed as the first argument of every callback */

    /* A log line (no trailing newline). */
    void (*log)(void *user_data, glide_log_level level, const char *msg, size_t len);

    /* Verify a credential. Complete with glide_api.auth_done. While pending, the session
     * reads nothing more. */
    int (*auth)(void *user_data, glide_request *req, const glide_auth_request *in);

    /* Store a one-to-one chat message and assign its mid; idempotent on (from, cli_mid).
     * Complete with glide_api.store_done. The sender is acknowledged only after success. */
    int (*store_message)(void *user_data, glide_request *req, const glide_message *msg);

    /* Record a delivery receipt, or a group receipt (glide_delivery.first_mid non-zero).
     * Complete with glide_api.request_done. */
    int (*mark_delivered)(void *user_data, glide_request *req, const glide_delivery *d);

    /* Load a page of unacknowledged messages for a device that just logged in (with
     * GLIDE_HOST_GROUP_REPLAY, and of group messages it was not sent). Complete with
     * glide_api.page_add for each message, then glide_api.request_done. A page shorter than
     * `limit` ends the replay. */
    int (*load_undelivered)(void *user_data, glide_request *req,
                            const glide_undelivered_query *q);

    /* Check that msg->from may publish to group msg->to, assign the next group sequence, store
     * the message: one call. Complete with glide_api.store_done (status GLIDE_ENOTFOUND with
     * error "not member of channel" when the sender is not a member). The module delivers a
     * group's messages in the order of these calls, so sequences must follow that order even
     * when completions come back in another. */
    int (*group_publish)(void *user_data, glide_request *req, const glide_message *msg);

    /* Load the members of a group so the module can fan out. Complete with
     * glide_api.member_add (once per member uid) then glide_api.request_done.
     * The module caches the answer until glide_api.group_invalidate. */
    int (*group_members)(void *user_data, glide_request *req, glide_str gid);

    /* A (uid, device) came online or went offline. Not a request: no completion. */
    void (*presence)(void *user_data, const glide_presence *p);

    /* GLIDE_HOST_* bits (ABI 1.2; a table from before, whose size ends above, counts as 0). */
    uint32_t flags;

    /* Worker processes (ABI 1.5): the host runs `worker_count` processes, each with a module
     * instance of its own, and this instance is the one numbered `worker_index`. The module
     * reads both at start(), so a host may fill them after create() and before start() (a
     * host that forks its workers after loading the module does so in each child).
     *
     * worker_count 0 or 1 (or a table whose size ends before these fields): one process;
     * nothing changes. With worker_count > 1 the module
     *   - names itself "<glide_node_id>.<worker_index>" wherever it uses its node id
     *     (glide_presence.node_id, the cluster bus), so the workers are distinct nodes;
     *   - opens its glide_listen sockets with SO_REUSEPORT, so every worker binds the same
     *     addresses and the kernel spreads new connections among them (a port 0 would give
     *     each worker a port of its own).
     * The workers see each other's sessions only through the cluster bus (glide_cluster), and
     * share state only through the host's store: a host must give them one.
     * worker_index need not be below worker_count: it names a process, not a slot. A host
     * that replaces a worker (a crash, a reload) gives the new one an index no running worker
     * has, so two live instances never share a node id; glided counts 0..N-1 at start, then
     * N, N+1, ... */
    uint32_t worker_index;
    uint32_t worker_count;
} glide_host;

#ifdef __cplusplus
}
#endif

#endif
