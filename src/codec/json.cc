#include "codec/json.h"

#include "codec/json_fields.h"
#include "codec/json_writer.h"
#include "codec/payload.h"

#include <algorithm>

namespace glide::codec {

using json::FieldDecoder;
using json::key_matches;
using json::Kind;
using json::ObjectWriter;
using json::Value;

namespace {

// The fields of ChatMessage (JSON keys of messages.ChatMessage).
struct ChatFields {
    ChatMessage *m;
    void operator()(FieldDecoder &d, std::string_view k, const Value &v) const {
        if (key_matches(k, "cliMid") || key_matches(k, "cli_mid"))
            d.str(v, &m->cli_mid, "cliMid");
        else if (key_matches(k, "mid"))
            d.i64(v, &m->mid, "mid");
        else if (key_matches(k, "seq"))
            d.i64(v, &m->seq, "seq");
        else if (key_matches(k, "from"))
            d.str(v, &m->from, "from");
        else if (key_matches(k, "to"))
            d.str(v, &m->to, "to");
        else if (key_matches(k, "type"))
            d.i32(v, &m->type, "type");
        else if (key_matches(k, "content"))
            d.str(v, &m->content, "content");
        else if (key_matches(k, "sendAt"))
            d.i64(v, &m->send_at, "sendAt");
    }
};

// The fields of AckRequest and AckNotify, which share them.
template <typename T> struct AckFields {
    T *m;
    void operator()(FieldDecoder &d, std::string_view k, const Value &v) const {
        if (key_matches(k, "cliMid") || key_matches(k, "cli_mid"))
            d.str(v, &m->cli_mid, "cliMid");
        else if (key_matches(k, "seq"))
            d.i64(v, &m->seq, "seq");
        else if (key_matches(k, "mid"))
            d.i64(v, &m->mid, "mid");
        else if (key_matches(k, "from"))
            d.str(v, &m->from, "from");
        else if (key_matches(k, "to"))
            d.str(v, &m->to, "to");
    }
};

// The envelope's fields. With `pre`, the data object of the actions PreDecoded covers is
// decoded by `chat` or `ack` as it is validated (object_members), and the outcome recorded in
// pre->type when the data member ends.
struct EnvelopeFields {
    Envelope *e;
    std::string *raw_buffer;
    PreDecoded *pre;
    json::ObjectDecoder<ChatFields> *chat;
    json::ObjectDecoder<AckFields<AckRequest>> *ack;
    // The decoder given the data object being read, if any.
    PreDecoded::Type pending = PreDecoded::Type::none;

    json::MemberVisitor *object_members(std::string_view k) {
        pending = PreDecoded::Type::none;
        if (!pre || !key_matches(k, "data"))
            return nullptr;
        const std::string &a = e->action;
        if (a == action::chat || a == action::chat_resend || a == action::group) {
            clear_keeping_buffers(pre->chat);
            chat->decoder().reset();
            pending = PreDecoded::Type::chat;
            return chat;
        }
        if (a == action::ack_request) {
            pre->ack_request = AckRequest{};
            ack->decoder().reset();
            pending = PreDecoded::Type::ack_request;
            return ack;
        }
        return nullptr;
    }

    void operator()(FieldDecoder &d, std::string_view k, const Value &v) {
        if (key_matches(k, "ver")) {
            d.i64(v, &e->ver, "ver");
        } else if (key_matches(k, "seq")) {
            d.i64(v, &e->seq, "seq");
        } else if (key_matches(k, "action")) {
            d.str(v, &e->action, "action");
        } else if (key_matches(k, "from")) {
            d.str(v, &e->from, "from");
        } else if (key_matches(k, "to")) {
            d.str(v, &e->to, "to");
        } else if (key_matches(k, "data")) {
            // Deviation kept on purpose: Go leaves a null data as a nil pointer, which then
            // encodes as absent; we keep Null so a server message re-encodes as sent.
            if (v.kind == Kind::null)
                e->data = Null{};
            else
                e->data = make_raw(Codec::json, v.text, raw_buffer);
            if (pre) {
                // The last data member decides; pending is none unless this one is the object
                // just decoded.
                bool ok = (pending == PreDecoded::Type::chat && !chat->decoder().failed()) ||
                          (pending == PreDecoded::Type::ack_request && !ack->decoder().failed());
                pre->type = ok ? pending : PreDecoded::Type::none;
                pending = PreDecoded::Type::none;
            }
        } else if (key_matches(k, "msg")) {
            d.str(v, &e->msg, "msg");
        } else if (key_matches(k, "ticket")) {
            d.str(v, &e->ticket, "ticket");
        } else if (key_matches(k, "sign")) {
            d.str(v, &e->sign, "sign");
        } else if (key_matches(k, "extra")) {
            if (v.kind == Kind::null) {
                e->extra.clear(); // Go sets the map to nil
            } else if (v.kind != Kind::object) {
                d.type_error(json::kind_name(v.kind), "extra", "map[string]string");
            } else {
                // Go decodes into the existing map, so repeated "extra" objects merge.
                json::MemberIter it(v.text);
                std::string_view ek;
                Value ev;
                while (it.next(&ek, &ev)) {
                    std::string key, val;
                    json::unescape_body(ek, &key);
                    d.str(ev, &val, "extra");
                    if (d.failed())
                        return;
                    e->set_extra(std::move(key), std::move(val));
                }
            }
        }
    }
};

} // namespace

Status decode_json(std::string_view in, Envelope *e, std::string *raw_buffer, PreDecoded *pre) {
    json::ObjectDecoder<ChatFields> chat(ChatFields{pre ? &pre->chat : nullptr}, "ChatMessage");
    json::ObjectDecoder<AckFields<AckRequest>> ack(
        AckFields<AckRequest>{pre ? &pre->ack_request : nullptr}, "AckRequest");
    if (pre)
        pre->type = PreDecoded::Type::none;
    json::ObjectDecoder<EnvelopeFields> members(EnvelopeFields{e, raw_buffer, pre, &chat, &ack},
                                                "GlideMessage");
    Status st = json::decode_object_with(in, Validated::no, "messages.GlideMessage", members);
    if (!st) {
        if (pre)
            pre->type = PreDecoded::Type::none;
        return make_error(std::string(decode_error_prefix) + st.error());
    }
    return {};
}

namespace {

void write_extra(ObjectWriter &w, const std::vector<std::pair<std::string, std::string>> &extra) {
    auto less = [](const auto *a, const auto *b) { return a->first < b->first; };
    std::string *o = w.key("extra");
    o->push_back('{');
    bool sorted = std::is_sorted(extra.begin(), extra.end(),
                                 [](const auto &a, const auto &b) { return a.first < b.first; });
    if (sorted) {
        for (size_t i = 0; i < extra.size(); ++i) {
            if (i)
                o->push_back(',');
            json::write_string(o, extra[i].first);
            o->push_back(':');
            json::write_string(o, extra[i].second);
        }
    } else {
        // Built out of order by hand: sort like Go's map encoding, the last duplicate wins.
        std::vector<const std::pair<std::string, std::string> *> v;
        for (const auto &kv : extra)
            v.push_back(&kv);
        std::stable_sort(v.begin(), v.end(), less);
        bool first = true;
        for (size_t i = 0; i < v.size(); ++i) {
            if (i + 1 < v.size() && v[i + 1]->first == v[i]->first)
                continue;
            if (!first)
                o->push_back(',');
            first = false;
            json::write_string(o, v[i]->first);
            o->push_back(':');
            json::write_string(o, v[i]->second);
        }
    }
    o->push_back('}');
}

// Room for a payload's encoding: its text plus keys and numbers. Escapes can make the text
// longer; the buffer then grows as usual.
template <typename T> size_t payload_size_hint(const T &d) {
    if constexpr (std::is_same_v<T, std::monostate> || std::is_same_v<T, Null>)
        return 4;
    else if constexpr (std::is_same_v<T, RawData>)
        return d.bytes.size();
    else if constexpr (std::is_same_v<T, Text>)
        return d.text.size() + 2;
    else if constexpr (std::is_same_v<T, ChatMessage>)
        return d.cli_mid.size() + d.from.size() + d.to.size() + d.content.size() + 128;
    else if constexpr (std::is_same_v<T, ClientCustom>)
        return d.type.size() + d.content_json.size() + 32;
    else if constexpr (std::is_same_v<T, GroupNotify>)
        return d.from.size() + d.body_json.size() + 48;
    else
        return 96;
}

// Room for the whole envelope, reserved up front so that encoding into a fresh buffer (as each
// outbound message is) allocates once instead of growing through 30, 60, 120... bytes.
size_t size_hint(const Envelope &e) {
    size_t n = 112 + e.action.size() + e.from.size() + e.to.size() + e.msg.size() +
               e.ticket.size() + e.sign.size();
    for (const auto &kv : e.extra)
        n += kv.first.size() + kv.second.size() + 6;
    return n + std::visit([](const auto &d) { return payload_size_hint(d); }, e.data);
}

} // namespace

Status encode_json(const Envelope &e, std::string *out) {
    out->reserve(out->size() + size_hint(e));
    ObjectWriter w(out);
    w.num_omitempty("ver", e.ver);
    w.num_omitempty("seq", e.seq);
    w.str("action", e.action);
    w.str_omitempty("from", e.from);
    w.str_omitempty("to", e.to);
    Status st;
    std::visit(
        [&](const auto &d) {
            using T = std::decay_t<decltype(d)>;
            if constexpr (std::is_same_v<T, std::monostate>) {
                // absent: omitted
            } else if constexpr (std::is_same_v<T, Null>) {
                w.key("data")->append("null", 4);
            } else if constexpr (std::is_same_v<T, RawData>) {
                if (d.codec == Codec::json)
                    json::write_compact(w.key("data"), d.bytes);
                else
                    st = transcode_to_json(e.action, d.bytes, w.key("data"));
            } else {
                encode_json_payload(d, w.key("data"));
            }
        },
        e.data);
    w.str_omitempty("msg", e.msg);
    w.str_omitempty("ticket", e.ticket);
    w.str_omitempty("sign", e.sign);
    if (!e.extra.empty())
        write_extra(w, e.extra);
    w.end();
    return st;
}

// --- payload decoding ---------------------------------------------------------------------

Status decode_json_payload(std::string_view in, Text *out, Validated validated) {
    std::string err;
    if (validated == Validated::no && !json::validate(in, &err))
        return make_error(std::move(err));
    Value v = json::top_value(in);
    if (v.kind == Kind::string) {
        out->text.clear();
        json::unescape_string(v.text, &out->text);
    } else if (v.kind != Kind::null) {
        return make_error(std::string("json: cannot unmarshal ") + json::kind_name(v.kind) +
                          " into Go value of type string");
    }
    return {};
}

Status decode_json_payload(std::string_view in, ChatMessage *m, Validated validated) {
    return json::decode_object(in, validated, "messages.ChatMessage", "ChatMessage", ChatFields{m});
}

Status decode_json_payload(std::string_view in, AckMessage *m, Validated validated) {
    return json::decode_object(in, validated, "messages.AckMessage", "AckMessage",
                               [m](FieldDecoder &d, std::string_view k, const Value &v) {
                                   if (key_matches(k, "cliMid") || key_matches(k, "cli_mid"))
                                       d.str(v, &m->cli_mid, "cliMid");
                                   else if (key_matches(k, "mid"))
                                       d.i64(v, &m->mid, "mid");
                                   else if (key_matches(k, "from"))
                                       d.str(v, &m->from, "from");
                                   else if (key_matches(k, "seq"))
                                       d.i64(v, &m->seq, "seq");
                               });
}

namespace {

template <typename T>
Status decode_ack(std::string_view in, Validated validated, T *m, const char *go, const char *s) {
    return json::decode_object(in, validated, go, s, AckFields<T>{m});
}

template <typename T> void encode_ack(const T &v, std::string *out) {
    ObjectWriter w(out);
    w.str_omitempty("cliMid", v.cli_mid);
    w.num_omitempty("seq", v.seq);
    w.num_omitempty("mid", v.mid);
    w.str_omitempty("from", v.from);
    w.str_omitempty("to", v.to);
    w.end();
}

} // namespace

Status decode_json_payload(std::string_view in, AckRequest *m, Validated validated) {
    return decode_ack(in, validated, m, "messages.AckRequest", "AckRequest");
}

Status decode_json_payload(std::string_view in, AckNotify *m, Validated validated) {
    return decode_ack(in, validated, m, "messages.AckNotify", "AckNotify");
}

Status decode_json_payload(std::string_view in, AckGroupMessage *m, Validated validated) {
    return json::decode_object(in, validated, "messages.AckGroupMessage", "AckGroupMessage",
                               [m](FieldDecoder &d, std::string_view k, const Value &v) {
                                   if (key_matches(k, "cliMid") || key_matches(k, "cli_mid"))
                                       d.str(v, &m->cli_mid, "cliMid");
                                   else if (key_matches(k, "gid"))
                                       d.i64(v, &m->gid, "gid");
                                   else if (key_matches(k, "mid"))
                                       d.i64(v, &m->mid, "mid");
                                   else if (key_matches(k, "seq"))
                                       d.i64(v, &m->seq, "seq");
                               });
}

Status decode_json_payload(std::string_view in, ClientCustom *m, Validated validated) {
    return json::decode_object(in, validated, "messages.ClientCustom", "ClientCustom",
                               [m](FieldDecoder &d, std::string_view k, const Value &v) {
                                   if (key_matches(k, "type"))
                                       d.str(v, &m->type, "type");
                                   else if (key_matches(k, "content"))
                                       d.any(v, &m->content_json);
                               });
}

Status decode_json_payload(std::string_view in, KickOutNotify *m, Validated validated) {
    return json::decode_object(in, validated, "messages.KickOutNotify", "KickOutNotify",
                               [m](FieldDecoder &d, std::string_view k, const Value &v) {
                                   if (key_matches(k, "device_id"))
                                       d.str(v, &m->device_id, "device_id");
                                   else if (key_matches(k, "device_name"))
                                       d.str(v, &m->device_name, "device_name");
                               });
}

Status decode_json_payload(std::string_view in, Hello *m, Validated validated) {
    return json::decode_object(in, validated, "messages.Hello", "Hello",
                               [m](FieldDecoder &d, std::string_view k, const Value &v) {
                                   if (key_matches(k, "client_version"))
                                       d.str(v, &m->client_version, "client_version");
                                   else if (key_matches(k, "client_name"))
                                       d.str(v, &m->client_name, "client_name");
                                   else if (key_matches(k, "client_type"))
                                       d.str(v, &m->client_type, "client_type");
                               });
}

Status decode_json_payload(std::string_view in, ServerHello *m, Validated validated) {
    return json::decode_object(in, validated, "messages.ServerHello", "ServerHello",
                               [m](FieldDecoder &d, std::string_view k, const Value &v) {
                                   if (key_matches(k, "server_version")) {
                                       d.str(v, &m->server_version, "server_version");
                                   } else if (key_matches(k, "temp_id")) {
                                       d.str(v, &m->temp_id, "temp_id");
                                   } else if (key_matches(k, "heartbeat_interval")) {
                                       // Go's int is 64 bits on the platforms glide runs on.
                                       d.i64(v, &m->heartbeat_interval, "heartbeat_interval",
                                             "int");
                                   } else if (key_matches(k, "protocols")) {
                                       d.strings(v, &m->protocols, "protocols");
                                   }
                               });
}

Status decode_json_payload(std::string_view in, EncryptedCredential *m, Validated validated) {
    return json::decode_object(in, validated, "gate.EncryptedCredential", "EncryptedCredential",
                               [m](FieldDecoder &d, std::string_view k, const Value &v) {
                                   if (key_matches(k, "version"))
                                       d.i64(v, &m->version, "version", "int");
                                   else if (key_matches(k, "credential"))
                                       d.str(v, &m->credential, "credential");
                               });
}

Status decode_json_payload(std::string_view in, GroupNotify *m, Validated validated) {
    return json::decode_object(in, validated, "subscription.NotifyMessage", "NotifyMessage",
                               [m](FieldDecoder &d, std::string_view k, const Value &v) {
                                   if (key_matches(k, "from"))
                                       d.str(v, &m->from, "from");
                                   else if (key_matches(k, "type"))
                                       d.i64(v, &m->type, "type", "int");
                                   else if (key_matches(k, "body"))
                                       d.any(v, &m->body_json);
                               });
}

Status decode_json_payload(std::string_view in, UserState *m, Validated validated) {
    return json::decode_object(in, validated, "messaging.UserStateData", "UserStateData",
                               [m](FieldDecoder &d, std::string_view k, const Value &v) {
                                   if (key_matches(k, "uid"))
                                       d.str(v, &m->uid, "uid");
                                   else if (key_matches(k, "online"))
                                       d.boolean(v, &m->online, "online");
                               });
}

Status decode_json_payload(std::string_view in, StateSubscribe *m, Validated validated) {
    return json::decode_object(in, validated, "messaging.StateSubscribeData", "StateSubscribeData",
                               [m](FieldDecoder &d, std::string_view k, const Value &v) {
                                   if (key_matches(k, "uids"))
                                       d.strings(v, &m->uids, "uids");
                               });
}

// --- payload encoding ---------------------------------------------------------------------

void encode_json_payload(const Text &v, std::string *out) {
    json::write_string(out, v.text);
}

void encode_json_payload(const ChatMessage &v, std::string *out) {
    ObjectWriter w(out);
    w.str_omitempty("cliMid", v.cli_mid);
    w.num_omitempty("mid", v.mid);
    w.num_omitempty("seq", v.seq);
    w.str_omitempty("from", v.from);
    w.str_omitempty("to", v.to);
    w.num_omitempty("type", v.type);
    w.str_omitempty("content", v.content);
    w.num_omitempty("sendAt", v.send_at);
    w.end();
}

void encode_json_payload(const AckMessage &v, std::string *out) {
    ObjectWriter w(out);
    w.str_omitempty("cliMid", v.cli_mid);
    w.num_omitempty("mid", v.mid);
    w.str_omitempty("from", v.from);
    w.num_omitempty("seq", v.seq);
    w.end();
}

void encode_json_payload(const AckRequest &v, std::string *out) {
    encode_ack(v, out);
}
void encode_json_payload(const AckNotify &v, std::string *out) {
    encode_ack(v, out);
}

void encode_json_payload(const AckGroupMessage &v, std::string *out) {
    ObjectWriter w(out);
    w.str_omitempty("cliMid", v.cli_mid);
    w.num_omitempty("gid", v.gid);
    w.num_omitempty("mid", v.mid);
    w.num_omitempty("seq", v.seq);
    w.end();
}

void encode_json_payload(const ClientCustom &v, std::string *out) {
    ObjectWriter w(out);
    w.str_omitempty("type", v.type);
    if (!v.content_json.empty())
        json::write_compact(w.key("content"), v.content_json);
    w.end();
}

void encode_json_payload(const KickOutNotify &v, std::string *out) {
    ObjectWriter w(out);
    w.str_omitempty("device_id", v.device_id);
    w.str_omitempty("device_name", v.device_name);
    w.end();
}

void encode_json_payload(const Hello &v, std::string *out) {
    ObjectWriter w(out);
    w.str_omitempty("client_version", v.client_version);
    w.str_omitempty("client_name", v.client_name);
    w.str_omitempty("client_type", v.client_type);
    w.end();
}

void encode_json_payload(const ServerHello &v, std::string *out) {
    ObjectWriter w(out);
    w.str_omitempty("server_version", v.server_version);
    w.str_omitempty("temp_id", v.temp_id);
    w.num_omitempty("heartbeat_interval", v.heartbeat_interval);
    if (!v.protocols.empty())
        w.strings("protocols", v.protocols);
    w.end();
}

void encode_json_payload(const EncryptedCredential &v, std::string *out) {
    ObjectWriter w(out);
    w.num("version", v.version);
    w.str("credential", v.credential);
    w.end();
}

void encode_json_payload(const GroupNotify &v, std::string *out) {
    ObjectWriter w(out);
    w.str("from", v.from);
    w.num("type", v.type);
    w.raw_or_null("body", v.body_json);
    w.end();
}

void encode_json_payload(const UserState &v, std::string *out) {
    ObjectWriter w(out);
    w.str_omitempty("uid", v.uid);
    if (v.online)
        w.boolean("online", true);
    w.end();
}

void encode_json_payload(const StateSubscribe &v, std::string *out) {
    ObjectWriter w(out);
    if (!v.uids.empty())
        w.strings("uids", v.uids);
    w.end();
}

} // namespace glide::codec
