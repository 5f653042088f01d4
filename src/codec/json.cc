#include "codec/json.h"

#include "codec/json_fields.h"
#include "codec/json_table.h"
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

using ChatMembers = json::TableMembers<ChatMessage>;
using AckRequestMembers = json::TableMembers<AckRequest>;
constexpr const auto &data_field = schema::field<Envelope, schema::index<Envelope>("data")>;
constexpr const auto &extra_field = schema::field<Envelope, schema::index<Envelope>("extra")>;

// The envelope's fields. With `pre`, the data object of the actions PreDecoded covers is
// decoded by `chat` or `ack` as it is validated (object_members), and the outcome recorded in
// pre->type when the data member ends.
struct EnvelopeFields {
    Envelope *e;
    std::string *raw_buffer;
    PreDecoded *pre;
    json::ObjectDecoder<ChatMembers> *chat;
    json::ObjectDecoder<AckRequestMembers> *ack;
    // The decoder given the data object being read, if any.
    PreDecoded::Type pending = PreDecoded::Type::none;

    json::MemberVisitor *object_members(std::string_view k) {
        pending = PreDecoded::Type::none;
        if (!pre || !key_matches(k, data_field.json))
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

    // Inlined into ObjectDecoder::member, as the hand-written chain it replaces was.
    [[gnu::always_inline]] void operator()(FieldDecoder &d, std::string_view k, const Value &v) {
        json::decode_member(d, k, v, e, [this](auto i, FieldDecoder &fd, const Value &fv) GLIDE_INLINE {
            if constexpr (schema::field<Envelope, i>.json == "data")
                data(fv);
            else
                extra(fd, fv);
        });
    }

    void data(const Value &v) {
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
    }

    void extra(FieldDecoder &d, const Value &v) {
        if (v.kind == Kind::null) {
            e->extra.clear(); // Go sets the map to nil
        } else if (v.kind != Kind::object) {
            d.type_error(json::kind_name(v.kind), extra_field.json, "map[string]string");
        } else {
            // Go decodes into the existing map, so repeated "extra" objects merge.
            json::MemberIter it(v.text);
            std::string_view ek;
            Value ev;
            while (it.next(&ek, &ev)) {
                std::string key, val;
                json::unescape_body(ek, &key);
                d.str(ev, &val, extra_field.json);
                if (d.failed())
                    return;
                e->set_extra(std::move(key), std::move(val));
            }
        }
    }
};

} // namespace

Status decode_json(std::string_view in, Envelope *e, std::string *raw_buffer, PreDecoded *pre) {
    json::ObjectDecoder<ChatMembers> chat(ChatMembers{pre ? &pre->chat : nullptr},
                                          schema::go_struct<ChatMessage>());
    json::ObjectDecoder<AckRequestMembers> ack(AckRequestMembers{pre ? &pre->ack_request : nullptr},
                                               schema::go_struct<AckRequest>());
    if (pre)
        pre->type = PreDecoded::Type::none;
    json::ObjectDecoder<EnvelopeFields> members(EnvelopeFields{e, raw_buffer, pre, &chat, &ack},
                                                schema::go_struct<Envelope>());
    Status st =
        json::decode_object_with(in, Validated::no, schema::Schema<Envelope>::go_type, members);
    if (!st) {
        if (pre)
            pre->type = PreDecoded::Type::none;
        return make_error(std::string(decode_error_prefix) + st.error());
    }
    return {};
}

namespace {

void write_extra(std::string *o, const std::vector<std::pair<std::string, std::string>> &extra) {
    auto less = [](const auto *a, const auto *b) { return a->first < b->first; };
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
    Status st;
    json::write_members(w, e, [&](auto i, ObjectWriter &) GLIDE_INLINE {
        constexpr const auto &f = schema::field<Envelope, i>;
        if constexpr (f.json == "data") {
            std::visit(
                [&](const auto &d) {
                    using T = std::decay_t<decltype(d)>;
                    if constexpr (std::is_same_v<T, std::monostate>) {
                        // absent: omitted
                    } else if constexpr (std::is_same_v<T, Null>) {
                        w.key(f.key)->append("null", 4);
                    } else if constexpr (std::is_same_v<T, RawData>) {
                        if (d.codec == Codec::json)
                            json::write_compact(w.key(f.key), d.bytes);
                        else
                            st = transcode_to_json(e.action, d.bytes, w.key(f.key));
                    } else {
                        encode_json_payload(d, w.key(f.key));
                    }
                },
                e.data);
        } else if (!e.extra.empty()) {
            write_extra(w.key(f.key), e.extra);
        }
    });
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
    return json::decode_table(in, validated, m);
}
Status decode_json_payload(std::string_view in, AckMessage *m, Validated validated) {
    return json::decode_table(in, validated, m);
}
Status decode_json_payload(std::string_view in, AckRequest *m, Validated validated) {
    return json::decode_table(in, validated, m);
}
Status decode_json_payload(std::string_view in, AckNotify *m, Validated validated) {
    return json::decode_table(in, validated, m);
}
Status decode_json_payload(std::string_view in, AckGroupMessage *m, Validated validated) {
    return json::decode_table(in, validated, m);
}
Status decode_json_payload(std::string_view in, ClientCustom *m, Validated validated) {
    return json::decode_table(in, validated, m);
}
Status decode_json_payload(std::string_view in, KickOutNotify *m, Validated validated) {
    return json::decode_table(in, validated, m);
}
Status decode_json_payload(std::string_view in, Hello *m, Validated validated) {
    return json::decode_table(in, validated, m);
}
Status decode_json_payload(std::string_view in, ServerHello *m, Validated validated) {
    return json::decode_table(in, validated, m);
}
Status decode_json_payload(std::string_view in, EncryptedCredential *m, Validated validated) {
    return json::decode_table(in, validated, m);
}
Status decode_json_payload(std::string_view in, GroupNotify *m, Validated validated) {
    return json::decode_table(in, validated, m);
}
Status decode_json_payload(std::string_view in, UserState *m, Validated validated) {
    return json::decode_table(in, validated, m);
}
Status decode_json_payload(std::string_view in, StateSubscribe *m, Validated validated) {
    return json::decode_table(in, validated, m);
}

// --- payload encoding ---------------------------------------------------------------------

void encode_json_payload(const Text &v, std::string *out) {
    json::write_string(out, v.text);
}

void encode_json_payload(const ChatMessage &v, std::string *out) {
    json::encode_table(v, out);
}
void encode_json_payload(const AckMessage &v, std::string *out) {
    json::encode_table(v, out);
}
void encode_json_payload(const AckRequest &v, std::string *out) {
    json::encode_table(v, out);
}
void encode_json_payload(const AckNotify &v, std::string *out) {
    json::encode_table(v, out);
}
void encode_json_payload(const AckGroupMessage &v, std::string *out) {
    json::encode_table(v, out);
}
void encode_json_payload(const ClientCustom &v, std::string *out) {
    json::encode_table(v, out);
}
void encode_json_payload(const KickOutNotify &v, std::string *out) {
    json::encode_table(v, out);
}
void encode_json_payload(const Hello &v, std::string *out) {
    json::encode_table(v, out);
}
void encode_json_payload(const ServerHello &v, std::string *out) {
    json::encode_table(v, out);
}
void encode_json_payload(const EncryptedCredential &v, std::string *out) {
    json::encode_table(v, out);
}
void encode_json_payload(const GroupNotify &v, std::string *out) {
    json::encode_table(v, out);
}
void encode_json_payload(const UserState &v, std::string *out) {
    json::encode_table(v, out);
}
void encode_json_payload(const StateSubscribe &v, std::string *out) {
    json::encode_table(v, out);
}

} // namespace glide::codec
