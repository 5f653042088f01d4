// The protobuf codec as protobuf-c implements it: glide's codec before it read and wrote the
// wire format itself (src/codec/pb_wire.h). Kept as the tests' oracle: the differential test
// and the protobuf fuzz target check that both decode every input the same way and encode
// every message to the same bytes. Test-only; include it in one translation unit.
#pragma once

#include "codec/json_scan.h"
#include "codec/payload.h"
#include "codec/protobuf.h"
#include "glide.pb-c.h"

#include <cstdlib>
#include <cstring>
#include <vector>

namespace glide::codec::pbc {

// Declared first: the envelope's encoder calls them.
inline void encode_pb_payload(const Text &v, std::string *out);
inline void encode_pb_payload(const ChatMessage &v, std::string *out);
inline void encode_pb_payload(const AckMessage &v, std::string *out);
inline void encode_pb_payload(const AckRequest &v, std::string *out);
inline void encode_pb_payload(const AckNotify &v, std::string *out);
inline void encode_pb_payload(const AckGroupMessage &v, std::string *out);
inline void encode_pb_payload(const ClientCustom &v, std::string *out);
inline void encode_pb_payload(const KickOutNotify &v, std::string *out);
inline void encode_pb_payload(const Hello &v, std::string *out);
inline void encode_pb_payload(const ServerHello &v, std::string *out);
inline void encode_pb_payload(const EncryptedCredential &v, std::string *out);
inline void encode_pb_payload(const GroupNotify &v, std::string *out);
inline void encode_pb_payload(const UserState &v, std::string *out);
inline void encode_pb_payload(const StateSubscribe &v, std::string *out);
inline void encode_pb_payload(const Hello &c, const ServerHello &s, std::string *out);


namespace {

// A bump allocator on the caller's stack for protobuf-c's unpack, so decoding a typical
// message makes no heap allocation; larger messages fall back to malloc.
class Arena {
public:
    Arena() {
        alloc_.alloc = &Arena::alloc;
        alloc_.free = &Arena::release;
        alloc_.allocator_data = this;
    }
    Arena(const Arena &) = delete;
    Arena &operator=(const Arena &) = delete;
    ProtobufCAllocator *allocator() { return &alloc_; }
    // Whether any block came from malloc: if not, dropping the arena frees everything.
    bool used_heap() const { return used_heap_; }

private:
    static void *alloc(void *data, size_t n) {
        auto *a = static_cast<Arena *>(data);
        n = (n + 15) & ~size_t(15);
        if (n <= sizeof a->buf_ - a->used_) {
            void *p = a->buf_ + a->used_;
            a->used_ += n;
            return p;
        }
        a->used_heap_ = true;
        return malloc(n);
    }
    static void release(void *data, void *p) {
        auto *a = static_cast<Arena *>(data);
        auto *c = static_cast<unsigned char *>(p);
        if (c < a->buf_ || c >= a->buf_ + sizeof a->buf_)
            free(p);
    }

    alignas(16) unsigned char buf_[4096];
    size_t used_ = 0;
    bool used_heap_ = false;
    ProtobufCAllocator alloc_;
};

// An unpacked message, freed (through its arena) when it goes out of scope.
class Unpacked {
public:
    Unpacked(const ProtobufCMessageDescriptor &d, std::string_view in, Arena *arena)
        : arena_(arena),
          m_(protobuf_c_message_unpack(&d, arena->allocator(), in.size(),
                                       reinterpret_cast<const uint8_t *>(in.data()))) {}
    ~Unpacked() {
        // A message wholly in the arena needs no walk to free it.
        if (m_ && arena_->used_heap())
            protobuf_c_message_free_unpacked(m_, arena_->allocator());
    }
    Unpacked(const Unpacked &) = delete;
    Unpacked &operator=(const Unpacked &) = delete;

    template <typename T> T *get() const { return reinterpret_cast<T *>(m_); }
    ProtobufCMessage *base() const { return m_; }

private:
    Arena *arena_;
    ProtobufCMessage *m_;
};

// Checks what protobuf-c lets through: unknown fields (we are strict, see glide.proto).
Status check_known(const ProtobufCMessage *m, const char *what) {
    if (m->n_unknown_fields != 0)
        return make_error(std::string("unknown field ") + std::to_string(m->unknown_fields[0].tag) +
                          " in " + what);
    return {};
}

// Copies a string field, refusing invalid UTF-8 as proto3 requires.
bool take(const char *s, std::string *dst, std::string *err, const char *field) {
    std::string_view v(s);
    if (!json::valid_utf8(v)) {
        *err = std::string("invalid UTF-8 in field ") + field;
        return false;
    }
    dst->assign(v);
    return true;
}

char *cs(const std::string &s) {
    return const_cast<char *>(s.c_str());
}

void pack(const ProtobufCMessage *m, std::string *out) {
    size_t n = protobuf_c_message_get_packed_size(m);
    size_t old = out->size();
    out->resize(old + n);
    protobuf_c_message_pack(m, reinterpret_cast<uint8_t *>(out->data() + old));
}

// Unpacks `in` as message type M and runs convert(M*, err) -> bool.
template <typename M, typename F>
Status unpack_payload(const ProtobufCMessageDescriptor &d, std::string_view in, const char *name,
                      F &&convert) {
    Arena arena;
    Unpacked u(d, in, &arena);
    if (!u.base())
        return make_error(std::string("invalid protobuf ") + name);
    if (Status st = check_known(u.base(), name); !st)
        return st;
    std::string err;
    if (!convert(u.get<M>(), &err))
        return make_error(std::move(err));
    return {};
}

bool take_json(const ProtobufCBinaryData &b, std::string *dst, std::string *err,
               const char *field) {
    std::string_view v(reinterpret_cast<const char *>(b.data), b.len);
    if (!v.empty() && !json::validate(v, nullptr)) {
        *err = std::string("invalid JSON in field ") + field;
        return false;
    }
    dst->assign(v);
    return true;
}

ProtobufCBinaryData bin(const std::string &s) {
    return ProtobufCBinaryData{s.size(), reinterpret_cast<uint8_t *>(const_cast<char *>(s.data()))};
}

bool take_list(size_t n, char **items, std::vector<std::string> *dst, std::string *err,
               const char *field) {
    dst->clear();
    dst->reserve(n);
    for (size_t i = 0; i < n; ++i)
        if (!take(items[i], &dst->emplace_back(), err, field))
            return false;
    return true;
}

std::vector<char *> list(const std::vector<std::string> &v) {
    std::vector<char *> r;
    r.reserve(v.size());
    for (const auto &s : v)
        r.push_back(cs(s));
    return r;
}

inline thread_local std::string payload_scratch;

} // namespace

// --- envelope -----------------------------------------------------------------------------

inline Status decode_protobuf(std::string_view in, Envelope *e, std::string *raw_buffer = nullptr) {
    auto fail = [](std::string reason) {
        return make_error(std::string(decode_error_prefix) + reason);
    };
    Arena arena;
    Unpacked u(glide__envelope__descriptor, in, &arena);
    if (!u.base())
        return fail("invalid protobuf envelope");
    const auto *m = u.get<Glide__Envelope>();
    if (Status st = check_known(u.base(), "envelope"); !st)
        return fail(st.error());
    std::string err;
    e->ver = m->ver_present_case == GLIDE__ENVELOPE__VER_PRESENT_VER ? m->ver : 1;
    e->seq = m->seq;
    if (!take(m->action, &e->action, &err, "action") || !take(m->from, &e->from, &err, "from") ||
        !take(m->to, &e->to, &err, "to") || !take(m->msg, &e->msg, &err, "msg") ||
        !take(m->ticket, &e->ticket, &err, "ticket") || !take(m->sign, &e->sign, &err, "sign"))
        return fail(err);
    switch (m->payload_case) {
    case GLIDE__ENVELOPE__PAYLOAD_DATA:
        e->data =
            make_raw(Codec::protobuf,
                     std::string_view(reinterpret_cast<const char *>(m->data.data), m->data.len),
                     raw_buffer);
        break;
    case GLIDE__ENVELOPE__PAYLOAD_DATA_JSON: {
        std::string_view j(reinterpret_cast<const char *>(m->data_json.data), m->data_json.len);
        if (!json::validate(j, &err))
            return fail("invalid JSON in data_json: " + err);
        e->data = make_raw(Codec::json, j, raw_buffer);
        break;
    }
    case GLIDE__ENVELOPE__PAYLOAD_DATA_NULL:
        if (m->data_null)
            e->data = Null{};
        break;
    default:
        break;
    }
    for (size_t i = 0; i < m->n_extra; ++i) {
        const auto *x = m->extra[i];
        if (Status st = check_known(&x->base, "extra entry"); !st)
            return fail(st.error());
        std::string k, v;
        if (!take(x->key, &k, &err, "extra") || !take(x->value, &v, &err, "extra"))
            return fail(err);
        e->set_extra(std::move(k), std::move(v));
    }
    return {};
}

inline Status encode_protobuf(const Envelope &e, std::string *out) {
    Glide__Envelope m = GLIDE__ENVELOPE__INIT;
    if (e.ver != 1) {
        m.ver_present_case = GLIDE__ENVELOPE__VER_PRESENT_VER;
        m.ver = e.ver;
    }
    m.seq = e.seq;
    m.action = cs(e.action);
    m.from = cs(e.from);
    m.to = cs(e.to);
    m.msg = cs(e.msg);
    m.ticket = cs(e.ticket);
    m.sign = cs(e.sign);

    std::string &scratch = payload_scratch;
    scratch.clear();
    Status st;
    std::visit(
        [&](const auto &d) {
            using T = std::decay_t<decltype(d)>;
            if constexpr (std::is_same_v<T, std::monostate>) {
            } else if constexpr (std::is_same_v<T, Null>) {
                m.payload_case = GLIDE__ENVELOPE__PAYLOAD_DATA_NULL;
                m.data_null = 1;
            } else if constexpr (std::is_same_v<T, RawData>) {
                if (d.codec == Codec::protobuf) {
                    m.payload_case = GLIDE__ENVELOPE__PAYLOAD_DATA;
                    m.data = bin(d.bytes);
                } else {
                    bool as_json = false;
                    st = transcode_to_protobuf(e.action, d.bytes, &scratch, &as_json);
                    m.payload_case = as_json ? GLIDE__ENVELOPE__PAYLOAD_DATA_JSON
                                             : GLIDE__ENVELOPE__PAYLOAD_DATA;
                    m.data = bin(scratch); // data and data_json share the union slot
                }
            } else {
                pbc::encode_pb_payload(d, &scratch);
                m.payload_case = GLIDE__ENVELOPE__PAYLOAD_DATA;
                m.data = bin(scratch);
            }
        },
        e.data);
    if (!st)
        return st;

    // Map entries: on the stack for the usual handful, on the heap beyond.
    constexpr size_t inline_n = 8;
    Glide__Envelope__ExtraEntry inline_entries[inline_n];
    Glide__Envelope__ExtraEntry *inline_ptrs[inline_n];
    std::vector<Glide__Envelope__ExtraEntry> heap_entries;
    std::vector<Glide__Envelope__ExtraEntry *> heap_ptrs;
    size_t n = e.extra.size();
    Glide__Envelope__ExtraEntry *entries = inline_entries;
    Glide__Envelope__ExtraEntry **ptrs = inline_ptrs;
    if (n > inline_n) {
        heap_entries.resize(n);
        heap_ptrs.resize(n);
        entries = heap_entries.data();
        ptrs = heap_ptrs.data();
    }
    for (size_t i = 0; i < n; ++i) {
        entries[i] = GLIDE__ENVELOPE__EXTRA_ENTRY__INIT;
        entries[i].key = cs(e.extra[i].first);
        entries[i].value = cs(e.extra[i].second);
        ptrs[i] = &entries[i];
    }
    m.n_extra = n;
    m.extra = n ? ptrs : nullptr;
    pack(&m.base, out);
    return {};
}

// --- payloads -----------------------------------------------------------------------------

inline Status decode_pb_payload(std::string_view in, Text *out) {
    return unpack_payload<Glide__Text>(
        glide__text__descriptor, in, "Text",
        [out](Glide__Text *m, std::string *err) { return take(m->text, &out->text, err, "text"); });
}

inline void encode_pb_payload(const Text &v, std::string *out) {
    Glide__Text m = GLIDE__TEXT__INIT;
    m.text = cs(v.text);
    pack(&m.base, out);
}

inline Status decode_pb_payload(std::string_view in, ChatMessage *out) {
    return unpack_payload<Glide__ChatMessage>(
        glide__chat_message__descriptor, in, "ChatMessage",
        [out](Glide__ChatMessage *m, std::string *err) {
            out->mid = m->mid;
            out->seq = m->seq;
            out->type = m->type;
            out->send_at = m->send_at;
            return take(m->cli_mid, &out->cli_mid, err, "cli_mid") &&
                   take(m->from, &out->from, err, "from") && take(m->to, &out->to, err, "to") &&
                   take(m->content, &out->content, err, "content");
        });
}

inline void encode_pb_payload(const ChatMessage &v, std::string *out) {
    Glide__ChatMessage m = GLIDE__CHAT_MESSAGE__INIT;
    m.cli_mid = cs(v.cli_mid);
    m.mid = v.mid;
    m.seq = v.seq;
    m.from = cs(v.from);
    m.to = cs(v.to);
    m.type = v.type;
    m.content = cs(v.content);
    m.send_at = v.send_at;
    pack(&m.base, out);
}

inline Status decode_pb_payload(std::string_view in, AckMessage *out) {
    return unpack_payload<Glide__AckMessage>(glide__ack_message__descriptor, in, "AckMessage",
                                             [out](Glide__AckMessage *m, std::string *err) {
                                                 out->mid = m->mid;
                                                 out->seq = m->seq;
                                                 return take(m->cli_mid, &out->cli_mid, err,
                                                             "cli_mid") &&
                                                        take(m->from, &out->from, err, "from");
                                             });
}

inline void encode_pb_payload(const AckMessage &v, std::string *out) {
    Glide__AckMessage m = GLIDE__ACK_MESSAGE__INIT;
    m.cli_mid = cs(v.cli_mid);
    m.mid = v.mid;
    m.seq = v.seq;
    m.from = cs(v.from);
    pack(&m.base, out);
}

// AckRequest and AckNotify carry the same fields (and so do their proto messages).
template <typename PB, typename T>
inline Status decode_ack(std::string_view in, const ProtobufCMessageDescriptor &d,
                         const char *name, T *out) {
    return unpack_payload<PB>(d, in, name, [out](PB *m, std::string *err) {
        out->seq = m->seq;
        out->mid = m->mid;
        return take(m->cli_mid, &out->cli_mid, err, "cli_mid") &&
               take(m->from, &out->from, err, "from") && take(m->to, &out->to, err, "to");
    });
}

template <typename PB, typename T> inline void encode_ack(PB m, const T &v, std::string *out) {
    m.cli_mid = cs(v.cli_mid);
    m.seq = v.seq;
    m.mid = v.mid;
    m.from = cs(v.from);
    m.to = cs(v.to);
    pack(&m.base, out);
}

inline Status decode_pb_payload(std::string_view in, AckRequest *out) {
    return decode_ack<Glide__AckRequest>(in, glide__ack_request__descriptor, "AckRequest", out);
}

inline void encode_pb_payload(const AckRequest &v, std::string *out) {
    encode_ack(Glide__AckRequest GLIDE__ACK_REQUEST__INIT, v, out);
}

inline Status decode_pb_payload(std::string_view in, AckNotify *out) {
    return decode_ack<Glide__AckNotify>(in, glide__ack_notify__descriptor, "AckNotify", out);
}

inline void encode_pb_payload(const AckNotify &v, std::string *out) {
    encode_ack(Glide__AckNotify GLIDE__ACK_NOTIFY__INIT, v, out);
}

inline Status decode_pb_payload(std::string_view in, AckGroupMessage *out) {
    return unpack_payload<Glide__AckGroupMessage>(
        glide__ack_group_message__descriptor, in, "AckGroupMessage",
        [out](Glide__AckGroupMessage *m, std::string *err) {
            out->gid = m->gid;
            out->mid = m->mid;
            out->seq = m->seq;
            return take(m->cli_mid, &out->cli_mid, err, "cli_mid");
        });
}

inline void encode_pb_payload(const AckGroupMessage &v, std::string *out) {
    Glide__AckGroupMessage m = GLIDE__ACK_GROUP_MESSAGE__INIT;
    m.cli_mid = cs(v.cli_mid);
    m.gid = v.gid;
    m.mid = v.mid;
    m.seq = v.seq;
    pack(&m.base, out);
}

inline Status decode_pb_payload(std::string_view in, ClientCustom *out) {
    return unpack_payload<Glide__ClientCustom>(
        glide__client_custom__descriptor, in, "ClientCustom",
        [out](Glide__ClientCustom *m, std::string *err) {
            return take(m->type, &out->type, err, "type") &&
                   take_json(m->content_json, &out->content_json, err, "content_json");
        });
}

inline void encode_pb_payload(const ClientCustom &v, std::string *out) {
    Glide__ClientCustom m = GLIDE__CLIENT_CUSTOM__INIT;
    m.type = cs(v.type);
    m.content_json = bin(v.content_json);
    pack(&m.base, out);
}

inline Status decode_pb_payload(std::string_view in, KickOutNotify *out) {
    return unpack_payload<Glide__KickOutNotify>(
        glide__kick_out_notify__descriptor, in, "KickOutNotify",
        [out](Glide__KickOutNotify *m, std::string *err) {
            return take(m->device_id, &out->device_id, err, "device_id") &&
                   take(m->device_name, &out->device_name, err, "device_name");
        });
}

inline void encode_pb_payload(const KickOutNotify &v, std::string *out) {
    Glide__KickOutNotify m = GLIDE__KICK_OUT_NOTIFY__INIT;
    m.device_id = cs(v.device_id);
    m.device_name = cs(v.device_name);
    pack(&m.base, out);
}

inline Status decode_pb_payload(std::string_view in, Hello *out) {
    return unpack_payload<Glide__Hello>(
        glide__hello__descriptor, in, "Hello", [out](Glide__Hello *m, std::string *err) {
            return take(m->client_version, &out->client_version, err, "client_version") &&
                   take(m->client_name, &out->client_name, err, "client_name") &&
                   take(m->client_type, &out->client_type, err, "client_type");
        });
}

inline Status decode_pb_payload(std::string_view in, ServerHello *out) {
    return unpack_payload<Glide__Hello>(
        glide__hello__descriptor, in, "Hello", [out](Glide__Hello *m, std::string *err) {
            out->heartbeat_interval = m->heartbeat_interval;
            return take(m->server_version, &out->server_version, err, "server_version") &&
                   take(m->temp_id, &out->temp_id, err, "temp_id") &&
                   take_list(m->n_protocols, m->protocols, &out->protocols, err, "protocols");
        });
}

inline void encode_pb_payload(const Hello &c, const ServerHello &s, std::string *out) {
    Glide__Hello m = GLIDE__HELLO__INIT;
    m.client_version = cs(c.client_version);
    m.client_name = cs(c.client_name);
    m.client_type = cs(c.client_type);
    m.server_version = cs(s.server_version);
    m.temp_id = cs(s.temp_id);
    m.heartbeat_interval = s.heartbeat_interval;
    std::vector<char *> protocols = list(s.protocols);
    m.n_protocols = protocols.size();
    m.protocols = protocols.data();
    pack(&m.base, out);
}

inline void encode_pb_payload(const Hello &v, std::string *out) {
    pbc::encode_pb_payload(v, ServerHello{}, out);
}
inline void encode_pb_payload(const ServerHello &v, std::string *out) {
    pbc::encode_pb_payload(Hello{}, v, out);
}

inline Status decode_pb_payload(std::string_view in, EncryptedCredential *out) {
    return unpack_payload<Glide__EncryptedCredential>(
        glide__encrypted_credential__descriptor, in, "EncryptedCredential",
        [out](Glide__EncryptedCredential *m, std::string *err) {
            out->version = m->version;
            return take(m->credential, &out->credential, err, "credential");
        });
}

inline void encode_pb_payload(const EncryptedCredential &v, std::string *out) {
    Glide__EncryptedCredential m = GLIDE__ENCRYPTED_CREDENTIAL__INIT;
    m.version = v.version;
    m.credential = cs(v.credential);
    pack(&m.base, out);
}

inline Status decode_pb_payload(std::string_view in, GroupNotify *out) {
    return unpack_payload<Glide__GroupNotify>(glide__group_notify__descriptor, in, "GroupNotify",
                                              [out](Glide__GroupNotify *m, std::string *err) {
                                                  out->type = m->type;
                                                  return take(m->from, &out->from, err, "from") &&
                                                         take_json(m->body_json, &out->body_json,
                                                                   err, "body_json");
                                              });
}

inline void encode_pb_payload(const GroupNotify &v, std::string *out) {
    Glide__GroupNotify m = GLIDE__GROUP_NOTIFY__INIT;
    m.from = cs(v.from);
    m.type = v.type;
    m.body_json = bin(v.body_json);
    pack(&m.base, out);
}

inline Status decode_pb_payload(std::string_view in, UserState *out) {
    return unpack_payload<Glide__UserState>(glide__user_state__descriptor, in, "UserState",
                                            [out](Glide__UserState *m, std::string *err) {
                                                out->online = m->online != 0;
                                                return take(m->uid, &out->uid, err, "uid");
                                            });
}

inline void encode_pb_payload(const UserState &v, std::string *out) {
    Glide__UserState m = GLIDE__USER_STATE__INIT;
    m.uid = cs(v.uid);
    m.online = v.online;
    pack(&m.base, out);
}

inline Status decode_pb_payload(std::string_view in, StateSubscribe *out) {
    return unpack_payload<Glide__StateSubscribe>(
        glide__state_subscribe__descriptor, in, "StateSubscribe",
        [out](Glide__StateSubscribe *m, std::string *err) {
            return take_list(m->n_uids, m->uids, &out->uids, err, "uids");
        });
}

inline void encode_pb_payload(const StateSubscribe &v, std::string *out) {
    Glide__StateSubscribe m = GLIDE__STATE_SUBSCRIBE__INIT;
    std::vector<char *> uids = list(v.uids);
    m.n_uids = uids.size();
    m.uids = uids.data();
    pack(&m.base, out);
}

} // namespace glide::codec::pbc
