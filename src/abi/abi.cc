// The C boundary: every extern "C" definition of libglide.so lives here. Each is noexcept and
// turns internal failures into error codes; no exception, STL type or std::string crosses.
#include <event2/event.h>

#include <cstring>
#include <new>
#include <string>
#include <vector>

#include "codec/credential.h"
#include "codec/json.h"
#include "common/strings.h"
#include "glide/glide.h"
#include "module/module.h"

using glide::copy_out;
using glide::Module;

namespace {

// Runs fn, mapping exceptions to codes. Code inside the module does not throw on purpose; this
// catches allocation failures from the standard library and anything unforeseen.
template <typename Fn> int guarded(char *err, size_t errlen, Fn &&fn) noexcept {
    try {
        return fn();
    } catch (const std::bad_alloc &) {
        copy_out("out of memory", err, errlen);
        return GLIDE_ENOMEM;
    } catch (const std::exception &e) {
        copy_out(std::string("internal error: ") + e.what(), err, errlen);
        return GLIDE_EINTERNAL;
    } catch (...) {
        copy_out("internal error", err, errlen);
        return GLIDE_EINTERNAL;
    }
}

template <typename T> bool struct_ok(const T *p, size_t need) {
    return p && p->size >= need;
}

const char *api_strerror(int code) {
    switch (code) {
    case GLIDE_OK: return "success";
    case GLIDE_PENDING: return "pending: the answer follows through a completion function";
    case GLIDE_EINVAL: return "invalid argument";
    case GLIDE_ESTATE: return "not allowed in the current state";
    case GLIDE_ETOOBIG: return "argument too large";
    case GLIDE_ECONF: return "invalid configuration";
    case GLIDE_EUNKNOWN: return "unknown directive";
    case GLIDE_EABI: return "no plugin ABI in common";
    case GLIDE_EFINGERPRINT: return "host and module were built incompatibly";
    case GLIDE_ESTRUCT: return "structure too old or too small";
    case GLIDE_ENOMEM: return "out of memory";
    case GLIDE_EIO: return "system call failed";
    case GLIDE_EADDR: return "address unusable";
    case GLIDE_ENOTFOUND: return "not found";
    case GLIDE_ECLOSED: return "module is draining or stopped";
    case GLIDE_ENOTSUP: return "not supported by this build";
    case GLIDE_EDECODE: return "could not be decoded";
    case GLIDE_EEXPIRED: return "expired";
    case GLIDE_EFORBIDDEN: return "forbidden";
    case GLIDE_ENOCALLBACK: return "the host provides no callback for this";
    case GLIDE_EINTERNAL: return "internal error";
    default: return "unknown error code";
    }
}

Module *as_module(glide_module *m) { return static_cast<Module *>(m); }

int api_create(const glide_host *host, glide_module **out) {
    // A host table must at least reach `log` and have a version; later fields are used only
    // when its size says the host knows them, so a newer, larger table is read as far as this
    // module knows it (host.h).
    if (!out)
        return GLIDE_EINVAL;
    if (host && (host->size < offsetof(glide_host, log) + sizeof host->log || host->version == 0))
        return GLIDE_ESTRUCT;
    return guarded(nullptr, 0, [&] {
        *out = new Module(host);
        return GLIDE_OK;
    });
}

void api_destroy(glide_module *m) { delete as_module(m); }

const glide_directive *api_directives(size_t *count) {
    // Built once from the internal records, which stay the single source of truth.
    static const std::vector<glide_directive> table = [] {
        std::vector<glide_directive> t;
        for (const glide::conf::Spec &s : glide::module_directives()) {
            glide_directive d{};
            d.size = sizeof d;
            d.version = 1;
            d.name = s.name;
            d.flags = (s.flags & glide::conf::CTX_MAIN ? GLIDE_DIRECTIVE_MAIN : 0) |
                      (s.flags & glide::conf::MULTI ? GLIDE_DIRECTIVE_MULTI : 0) |
                      (s.flags & glide::conf::RELOADABLE ? GLIDE_DIRECTIVE_RELOADABLE : 0);
            d.min_args = s.min_args;
            d.max_args = s.max_args;
            d.syntax = s.syntax;
            d.default_value = s.default_value;
            d.doc = s.doc;
            t.push_back(d);
        }
        return t;
    }();
    if (count)
        *count = table.size();
    return table.data();
}

int api_conf_new(glide_module *m, glide_conf **out) {
    if (!m || !out)
        return GLIDE_EINVAL;
    return guarded(nullptr, 0, [&] {
        *out = new glide_conf(m);
        return GLIDE_OK;
    });
}

int api_conf_set(glide_conf *c, const glide_directive_call *call, char *err, size_t errlen) {
    if (!c || !call)
        return GLIDE_EINVAL;
    if (!struct_ok(call, offsetof(glide_directive_call, line) + sizeof call->line) ||
        call->version == 0)
        return GLIDE_ESTRUCT;
    if (!call->name.ptr || (call->nargs && !call->args))
        return GLIDE_EINVAL;
    return guarded(err, errlen, [&] {
        if (c->finished) {
            copy_out("the configuration is already finished", err, errlen);
            return GLIDE_ESTATE;
        }
        glide::conf::Directive d;
        d.name.assign(call->name.ptr, call->name.len);
        if (!c->applier.find(d.name))
            return GLIDE_EUNKNOWN;
        for (uint32_t i = 0; i < call->nargs; i++)
            d.args.emplace_back(call->args[i].ptr ? call->args[i].ptr : "", call->args[i].len);
        if (call->file.ptr)
            d.file.assign(call->file.ptr, call->file.len);
        d.line = call->line;
        glide::Status st = c->applier.apply(d);
        if (!st) {
            copy_out(st.error(), err, errlen);
            return GLIDE_ECONF;
        }
        // Listeners are checked again at finish (duplicates, ssl): remember where they stand;
        // conf_info names them and glide_cluster to the host.
        if (d.name == "glide_listen" && !c->conf.listens.empty()) {
            c->conf.listens.back().file = d.file;
            c->conf.listens.back().line = d.line;
        } else if (d.name == "glide_cluster") {
            c->conf.cluster_file = d.file;
            c->conf.cluster_line = d.line;
        }
        return GLIDE_OK;
    });
}

int api_conf_finish(glide_conf *c, char *err, size_t errlen) {
    if (!c)
        return GLIDE_EINVAL;
    return guarded(err, errlen, [&] {
        if (c->finished)
            return GLIDE_OK;
        glide::Status st = c->applier.finish();
        if (st)
            st = glide::finish_module_conf(c->conf);
        if (!st) {
            copy_out(st.error(), err, errlen);
            return GLIDE_ECONF;
        }
        c->finished = true;
        return GLIDE_OK;
    });
}

void api_conf_free(glide_conf *c) { delete c; }

int api_conf_info(const glide_conf *c, glide_conf_info *out) {
    if (!c || !out)
        return GLIDE_EINVAL;
    if (!struct_ok(out, offsetof(glide_conf_info, cluster) + sizeof out->cluster))
        return GLIDE_ESTRUCT;
    if (!c->finished)
        return GLIDE_ESTATE;
    auto gs = [](std::string_view v) { return glide_str{v.data(), v.size()}; };
    // Fill a full copy, then hand over only the fields the caller's struct has.
    glide_conf_info full{};
    full.version = 1;
    full.cluster = !c->conf.cluster.empty();
    full.cluster_directive = gs("glide_cluster");
    if (full.cluster) {
        full.cluster_file = gs(c->conf.cluster_file);
        full.cluster_line = c->conf.cluster_line;
    }
    full.port0_directive = gs("glide_listen");
    for (const glide::ListenConf &l : c->conf.listens)
        if (l.address.port() == 0) {
            full.port0 = 1;
            full.port0_file = gs(l.file);
            full.port0_line = l.line;
            break;
        }
    uint32_t size = out->size < sizeof full ? out->size : static_cast<uint32_t>(sizeof full);
    full.size = size;
    memcpy(out, &full, size);
    return GLIDE_OK;
}

int api_apply(glide_module *m, glide_conf *c, char *err, size_t errlen) {
    std::unique_ptr<glide_conf> owned(c);
    if (!m || !c || c->module != m) {
        copy_out("invalid module or configuration", err, errlen);
        return GLIDE_EINVAL;
    }
    return guarded(err, errlen, [&] {
        glide::Status st = as_module(m)->apply(std::move(owned));
        if (!st) {
            copy_out(st.error(), err, errlen);
            return GLIDE_ESTATE;
        }
        return GLIDE_OK;
    });
}

int api_start(glide_module *m, event_base *base, char *err, size_t errlen) {
    if (!m || !base)
        return GLIDE_EINVAL;
    return guarded(err, errlen, [&] {
        int code = GLIDE_OK;
        glide::Status st = as_module(m)->start(base, &code);
        if (!st) {
            copy_out(st.error(), err, errlen);
            return code;
        }
        return GLIDE_OK;
    });
}

int api_drain(glide_module *m, uint32_t timeout_ms, glide_drained_fn done, void *arg) {
    if (!m)
        return GLIDE_EINVAL;
    return guarded(nullptr, 0, [&] { return as_module(m)->drain(timeout_ms, done, arg); });
}

int api_stats(glide_module *m, glide_stats *out) {
    if (!m || !out || out->size < offsetof(glide_stats, connections))
        return GLIDE_EINVAL;
    // Fill a full copy, then hand over only the fields the caller's struct has.
    glide_stats full{};
    as_module(m)->stats(full);
    uint32_t size = out->size < sizeof full ? out->size : static_cast<uint32_t>(sizeof full);
    full.size = size;
    full.version = size >= sizeof full ? 2 : 1;
    memcpy(out, &full, size);
    return GLIDE_OK;
}

int api_listener_address(glide_module *m, uint32_t index, char *buf, size_t len) {
    if (!m || !buf || !len)
        return GLIDE_EINVAL;
    return guarded(nullptr, 0, [&] {
        const glide::net::Listener *l = as_module(m)->listener(index);
        if (!l)
            return GLIDE_ENOTFOUND;
        copy_out(l->bound().text(), buf, len);
        return GLIDE_OK;
    });
}

// --- control and completions ------------------------------------------------------------------

std::string_view sv(glide_str s);
glide_str gs(const std::string &s);

int api_push_2(glide_module *m, glide_str uid, glide_str envelope_json, uint32_t *sent,
               char *err, size_t errlen) {
    if (sent)
        *sent = 0;
    if (!m || !uid.ptr || !envelope_json.ptr) {
        copy_out("module, uid and envelope must not be NULL", err, errlen);
        return GLIDE_EINVAL;
    }
    return guarded(err, errlen, [&] {
        glide::hub::Hub *hub = as_module(m)->hub();
        if (!hub) {
            copy_out("the module is not started", err, errlen);
            return GLIDE_ESTATE;
        }
        glide::codec::Envelope e;
        glide::Status st = glide::codec::decode_json(sv(envelope_json), &e);
        if (!st) {
            copy_out(st.error(), err, errlen);
            return GLIDE_EDECODE;
        }
        uint32_t n = hub->push(sv(uid), e);
        if (sent)
            *sent = n;
        copy_out("", err, errlen);
        return GLIDE_OK;
    });
}

int api_push(glide_module *m, glide_str uid, glide_str envelope_json, uint32_t *sent) {
    return api_push_2(m, uid, envelope_json, sent, nullptr, 0);
}

int api_handoff(glide_module *m, const glide_handoff *h, char *err, size_t errlen) {
    if (!m || !h) {
        copy_out("module and hand-off must not be NULL", err, errlen);
        return GLIDE_EINVAL;
    }
    if (!struct_ok(h, offsetof(glide_handoff, input) + sizeof h->input) || h->version < 1) {
        copy_out("glide_handoff: size or version too small", err, errlen);
        return GLIDE_ESTRUCT;
    }
    using glide::net::CodecKind;
    using glide::net::Transport;
    if (h->fd < 0 || (h->input.len && !h->input.ptr) ||
        (h->transport != GLIDE_TRANSPORT_WS && h->transport != GLIDE_TRANSPORT_TCP) ||
        (h->codec != GLIDE_CODEC_JSON && h->codec != GLIDE_CODEC_PROTOBUF)) {
        copy_out("glide_handoff: invalid fd, transport, codec or input", err, errlen);
        return GLIDE_EINVAL;
    }
    return guarded(err, errlen, [&] {
        std::string why;
        int rc = as_module(m)->handoff(
            h->fd, h->transport == GLIDE_TRANSPORT_WS ? Transport::ws : Transport::tcp,
            h->codec == GLIDE_CODEC_JSON ? CodecKind::json : CodecKind::protobuf, sv(h->input),
            &why);
        copy_out(why, err, errlen);
        return rc;
    });
}

int api_kick(glide_module *m, glide_str uid, glide_str device_id, uint32_t *kicked) {
    if (kicked)
        *kicked = 0;
    if (!m || !uid.ptr)
        return GLIDE_EINVAL;
    return guarded(nullptr, 0, [&] {
        glide::hub::Hub *hub = as_module(m)->hub();
        if (!hub)
            return GLIDE_ESTATE;
        uint32_t n = hub->kick(sv(uid), sv(device_id));
        if (kicked)
            *kicked = n;
        return GLIDE_OK;
    });
}

int api_group_invalidate(glide_module *m, glide_str gid) {
    if (!m || !gid.ptr)
        return GLIDE_EINVAL;
    return guarded(nullptr, 0, [&] {
        glide::actions::Context *actions = as_module(m)->actions();
        if (!actions)
            return GLIDE_ESTATE;
        actions->groups.invalidate(sv(gid));
        if (glide::port::ClusterPort *bus = actions->hub.cluster())
            bus->group_invalidate(sv(gid)); // the other nodes' caches too
        return GLIDE_OK;
    });
}

int api_stats_each(glide_module *m, glide_stat_fn fn, void *arg) {
    if (!m || !fn)
        return GLIDE_EINVAL;
    return guarded(nullptr, 0, [&] {
        glide::hub::Hub *hub = as_module(m)->hub();
        if (!hub)
            return GLIDE_ESTATE;
        hub->stats().each_labelled([&](glide_stat_kind kind, std::string_view label,
                                       uint64_t n) {
            fn(arg, kind, glide_str{label.data(), label.size()}, n);
        });
        return GLIDE_OK;
    });
}

int api_sessions(glide_module *m, glide_str uid, glide_session_fn fn, void *arg,
                 uint32_t *count) {
    if (count)
        *count = 0;
    if (!m || !fn || (uid.len && !uid.ptr))
        return GLIDE_EINVAL;
    return guarded(nullptr, 0, [&] {
        glide::hub::Hub *hub = as_module(m)->hub();
        if (!hub)
            return GLIDE_ESTATE;
        uint32_t n = hub->list_sessions(sv(uid), [&](const glide::hub::SessionInfo &s) {
            glide_session_info i = glide::Module::session_info(s);
            return fn(arg, &i) == 0;
        });
        if (count)
            *count = n;
        return GLIDE_OK;
    });
}

int api_cluster_stats(glide_module *m, uint32_t timeout_ms, glide_node_stats_fn stats,
                      glide_node_stat_fn each, glide_cluster_done_fn done, void *arg) {
    if (!m || !stats || !done || timeout_ms == 0)
        return GLIDE_EINVAL;
    return guarded(nullptr, 0, [&] {
        glide::Module *mod = as_module(m);
        if (!mod->hub())
            return GLIDE_ESTATE;
        mod->cluster_stats(
            timeout_ms,
            [=](std::string_view node, const glide::Module::NodeStats &ns) {
                glide_str n{node.data(), node.size()};
                stats(arg, n, &ns.stats);
                if (each)
                    for (const auto &[kind, label, value] : ns.series)
                        each(arg, n, kind, gs(label), value);
            },
            [=](uint32_t nodes, uint32_t answered) { done(arg, nodes, answered); });
        return GLIDE_OK;
    });
}

int api_cluster_sessions(glide_module *m, glide_str uid, uint32_t limit, uint32_t timeout_ms,
                         glide_node_session_fn fn, glide_cluster_done_fn done, void *arg) {
    if (!m || !fn || !done || timeout_ms == 0 || (uid.len && !uid.ptr))
        return GLIDE_EINVAL;
    return guarded(nullptr, 0, [&] {
        glide::Module *mod = as_module(m);
        if (!mod->hub())
            return GLIDE_ESTATE;
        mod->cluster_sessions(
            sv(uid), limit ? limit : UINT32_MAX, timeout_ms,
            [=](std::string_view node, const glide_session_info &i) {
                return fn(arg, {node.data(), node.size()}, &i) == 0;
            },
            [=](uint32_t nodes, uint32_t answered) { done(arg, nodes, answered); });
        return GLIDE_OK;
    });
}

int api_auth_done(glide_request *req, const glide_auth_result *r) {
    return guarded(nullptr, 0, [&] { return glide::request_auth_done(req, r); });
}
int api_store_done(glide_request *req, const glide_store_result *r) {
    return guarded(nullptr, 0, [&] { return glide::request_store_done(req, r); });
}
int api_page_add(glide_request *req, const glide_message *msg) {
    return guarded(nullptr, 0, [&] { return glide::request_page_add(req, msg); });
}
int api_member_add(glide_request *req, glide_str uid) {
    return guarded(nullptr, 0, [&] { return glide::request_member_add(req, uid); });
}
int api_request_done(glide_request *req, int status, glide_str error) {
    return guarded(nullptr, 0, [&] { return glide::request_done(req, status, error); });
}

// --- credentials and tickets -----------------------------------------------------------------

std::string_view sv(glide_str s) { return s.ptr ? std::string_view(s.ptr, s.len) : std::string_view(); }
glide_str gs(const std::string &s) { return {s.data(), s.size()}; }

// The public struct followed by the storage its strings point into.
struct CredentialObject : glide_credential {
    glide::codec::ClientAuthCredentials data;
};

int api_credential_open(glide_str secret, glide_str credential, int64_t now_ms,
                        glide_credential **out, char *err, size_t errlen) {
    if (!out)
        return GLIDE_EINVAL;
    *out = nullptr;
    return guarded(err, errlen, [&] {
        auto c = glide::codec::open_credential(sv(secret), sv(credential));
        if (!c) {
            copy_out("invalid authenticate message", err, errlen);
            return GLIDE_EDECODE;
        }
        if (now_ms > 0 && glide::codec::credential_expired(c.value(), now_ms)) {
            copy_out("credential expired", err, errlen);
            return GLIDE_EEXPIRED;
        }
        auto *o = new CredentialObject();
        o->data = std::move(c.value());
        const auto &d = o->data;
        o->size = sizeof(glide_credential);
        o->version = 1;
        o->type = d.type;
        o->user_id = gs(d.user_id);
        o->device_id = gs(d.device_id);
        o->device_name = gs(d.device_name);
        o->has_secrets = d.has_secrets;
        o->message_deliver_secret = gs(d.secrets.message_deliver_secret);
        o->online_state_secret = gs(d.secrets.online_state_secret);
        o->connection_id = gs(d.connection_id);
        o->timestamp_ms = d.timestamp;
        o->has_connection_config = d.has_connection_config;
        o->heartbeat_lost = d.connection_config.allow_max_heartbeat_lost;
        o->heartbeat_duration_s = d.connection_config.heartbeat_duration;
        o->close_immediately = d.connection_config.close_immediately;
        *out = o;
        copy_out("", err, errlen);
        return GLIDE_OK;
    });
}

void api_credential_free(glide_credential *c) { delete static_cast<CredentialObject *>(c); }

int api_credential_seal(glide_str secret, const glide_credential *c, char *out, size_t *len) {
    if (!c || !len || (!out && *len))
        return GLIDE_EINVAL;
    if (!struct_ok(c, offsetof(glide_credential, close_immediately) + sizeof c->close_immediately) ||
        c->version == 0)
        return GLIDE_ESTRUCT;
    return guarded(nullptr, 0, [&] {
        glide::codec::ClientAuthCredentials d;
        d.type = c->type;
        d.user_id = sv(c->user_id);
        d.device_id = sv(c->device_id);
        d.device_name = sv(c->device_name);
        d.has_secrets = c->has_secrets;
        d.secrets.message_deliver_secret = sv(c->message_deliver_secret);
        d.secrets.online_state_secret = sv(c->online_state_secret);
        d.connection_id = sv(c->connection_id);
        d.timestamp = c->timestamp_ms;
        d.has_connection_config = c->has_connection_config;
        d.connection_config.allow_max_heartbeat_lost = c->heartbeat_lost;
        d.connection_config.heartbeat_duration = c->heartbeat_duration_s;
        d.connection_config.close_immediately = c->close_immediately;
        auto sealed = glide::codec::seal_credential(sv(secret), d);
        if (!sealed)
            return GLIDE_EIO;
        const std::string &text = sealed.value();
        if (*len < text.size() + 1) {
            *len = text.size() + 1;
            return GLIDE_ETOOBIG;
        }
        memcpy(out, text.c_str(), text.size() + 1);
        *len = text.size();
        return GLIDE_OK;
    });
}

int api_ticket(glide_str secret, glide_str from, glide_str to, char out[41]) {
    if (!out)
        return GLIDE_EINVAL;
    return guarded(nullptr, 0, [&] {
        copy_out(glide::codec::compute_ticket(sv(secret), sv(from), sv(to)), out, 41);
        return GLIDE_OK;
    });
}

int api_ticket_check(glide_str secret, glide_str from, glide_str to, glide_str ticket, char *err,
                     size_t errlen) {
    return guarded(err, errlen, [&] {
        glide::codec::ClientSecrets secrets;
        secrets.message_deliver_secret = sv(secret);
        glide::Status st = glide::codec::check_ticket(&secrets, sv(from), sv(to), sv(ticket));
        if (!st) {
            copy_out(st.error(), err, errlen);
            return GLIDE_EFORBIDDEN;
        }
        copy_out("", err, errlen);
        return GLIDE_OK;
    });
}

#define GLIDE_STR2(x) #x
#define GLIDE_STR(x) GLIDE_STR2(x)

const glide_api api_v1 = {
    sizeof(glide_api),
    GLIDE_ABI_MINOR,
    1,
    GLIDE_VERSION_STRING,
    "libglide " GLIDE_VERSION_STRING ", plugin ABI " GLIDE_STR(GLIDE_ABI_MAJOR) "." GLIDE_STR(
        GLIDE_ABI_MINOR) ", protocol glide " GLIDE_PROTOCOL_VERSION ", built with g++ " __VERSION__
                         ", libevent " LIBEVENT_VERSION
#if defined(__SANITIZE_ADDRESS__)
                         ", sanitizers"
#endif
    ,
    api_strerror,
    api_create,
    api_destroy,
    api_directives,
    api_conf_new,
    api_conf_set,
    api_conf_finish,
    api_conf_free,
    api_apply,
    api_start,
    api_drain,
    api_stats,
    api_listener_address,
    api_push,
    api_kick,
    api_group_invalidate,
    api_auth_done,
    api_store_done,
    api_page_add,
    api_member_add,
    api_request_done,
    api_credential_open,
    api_credential_free,
    api_credential_seal,
    api_ticket,
    api_ticket_check,
    api_stats_each,
    api_sessions,
    api_handoff,
    api_push_2,
    api_cluster_stats,
    api_cluster_sessions,
    api_conf_info,
};

std::string version_text(uint32_t v) {
    return std::to_string(v >> 24) + "." + std::to_string((v >> 16) & 0xff);
}

} // namespace

extern "C" {

GLIDE_EXPORT uint32_t glide_version(void) noexcept { return GLIDE_VERSION_NUMBER; }

GLIDE_EXPORT int glide_negotiate(const glide_offer *offer, const glide_api **api, char *reason,
                                 size_t reason_len) noexcept {
    return guarded(reason, reason_len, [&] {
        const std::string me = "libglide " GLIDE_VERSION_STRING;
        if (!offer || !api) {
            copy_out("glide_negotiate: offer and api must not be NULL", reason, reason_len);
            return GLIDE_EINVAL;
        }
        if (offer->size < sizeof(glide_offer) || offer->version < 1 ||
            offer->fingerprint.size < sizeof(glide_fingerprint)) {
            copy_out(me + " cannot read the host's offer: its structures are older than "
                          "plugin ABI 1",
                     reason, reason_len);
            return GLIDE_ESTRUCT;
        }
        bool spoken = false;
        std::string offered;
        for (uint32_t i = 0; i < offer->n_abi_majors && offer->abi_majors; i++) {
            if (offer->abi_majors[i] == GLIDE_ABI_MAJOR)
                spoken = true;
            offered += (i ? ", " : "") + std::to_string(offer->abi_majors[i]);
        }
        if (!spoken) {
            copy_out(me + " speaks plugin ABI " GLIDE_STR(GLIDE_ABI_MAJOR) "; the host offers " +
                         (offered.empty() ? std::string("none") : offered),
                     reason, reason_len);
            return GLIDE_EABI;
        }
        const glide_fingerprint &fp = offer->fingerprint;
        if (fp.pointer_size != sizeof(void *)) {
            copy_out(me + " was built for " + std::to_string(sizeof(void *) * 8) +
                         "-bit pointers, the host for " + std::to_string(fp.pointer_size * 8) +
                         "-bit",
                     reason, reason_len);
            return GLIDE_EFINGERPRINT;
        }
        // libevent keeps its ABI within a major.minor series (2.1.x); the host hands us an
        // event_base, so both sides must agree on it, and so must the libevent loaded now.
        uint32_t mine = LIBEVENT_VERSION_NUMBER & 0xffff0000u;
        uint32_t runtime = event_get_version_number() & 0xffff0000u;
        if ((fp.libevent_version & 0xffff0000u) != mine) {
            copy_out(me + " was built with libevent " + version_text(mine) +
                         ", the host with libevent " + version_text(fp.libevent_version),
                     reason, reason_len);
            return GLIDE_EFINGERPRINT;
        }
        if (runtime != mine) {
            copy_out(me + " was built with libevent " + version_text(mine) +
                         ", but libevent " + event_get_version() + " is loaded",
                     reason, reason_len);
            return GLIDE_EFINGERPRINT;
        }
        *api = &api_v1;
        copy_out("", reason, reason_len);
        return GLIDE_OK;
    });
}

} // extern "C"
