#include "codec/protobuf.h"

#include "codec/json_scan.h"
#include "codec/payload.h"
#include "codec/pb_wire.h"

#include <span>
#include <vector>

// The messages of proto/glide.proto, read and written with the wire helpers of pb_wire.h.
// Each message's fields are listed once (a Slot table) for decoding; its encoder writes them in
// field-number order, as protobuf-c did, so the bytes are the same.

namespace glide::codec {

namespace {

enum class Kind : uint8_t {
    string, // a UTF-8 string
    json,   // bytes holding JSON text (empty or valid)
    strings, // a repeated string
    integer, // int64 or int32: a varint
    boolean, // a bool: any wire type (protobuf-c checks none, see pb::truth)
    message, // a nested message (the envelope's map entries)
};

// One field of a message: its kind and the name its errors use. A message's table lists its
// fields in number order from 1 (glide.proto numbers every message's fields 1..N), so a field's
// number is its index + 1.
struct Slot {
    Kind kind;
    const char *name;
};

// What a read leaves for each slot: the last occurrence (proto3: the last one wins) and how
// many there were.
struct Seen {
    pb::Field last;
    uint32_t count = 0;
};

bool wire_fits(Kind k, uint8_t wire) {
    return k == Kind::boolean || wire == (k == Kind::integer ? pb::varint : pb::len);
}

// Reads every field of `in` into seen[] (indexed like slots) and checks the message as
// protobuf-c's unpack and our strictness did, in that order: malformed input or a known field
// with the wrong wire type fails first ("invalid protobuf <name>"), then the first unknown field
// ("unknown field N in <name>"). Nested messages are checked with check_nested.
template <typename Nested>
Status read_fields(std::string_view in, const char *name, std::span<const Slot> slots, Seen *seen,
                   Nested &&check_nested) {
    pb::Reader r(in);
    pb::Field f;
    uint32_t unknown = 0;
    bool has_unknown = false;
    while (r.next(&f)) {
        size_t i = f.number - size_t(1); // number 0 wraps past the table
        if (i >= slots.size()) {
            if (!has_unknown) {
                has_unknown = true;
                unknown = f.number;
            }
            continue;
        }
        if (!wire_fits(slots[i].kind, f.wire) ||
            (slots[i].kind == Kind::message && !check_nested(f.bytes)))
            return make_error(std::string("invalid protobuf ") + name);
        seen[i].last = f;
        seen[i].count++;
    }
    if (!r.ok())
        return make_error(std::string("invalid protobuf ") + name);
    if (has_unknown)
        return make_error("unknown field " + std::to_string(unknown) + " in " + name);
    return {};
}

Status read_fields(std::string_view in, const char *name, std::span<const Slot> slots, Seen *seen) {
    return read_fields(in, name, slots, seen, [](std::string_view) { return false; });
}

// Copies a string field, refusing invalid UTF-8 as proto3 requires.
bool take(std::string_view v, std::string *dst, std::string *err, const char *field) {
    if (!json::valid_utf8(v)) {
        *err = std::string("invalid UTF-8 in field ") + field;
        return false;
    }
    dst->assign(v);
    return true;
}

bool take_json(std::string_view v, std::string *dst, std::string *err, const char *field) {
    if (!v.empty() && !json::validate(v, nullptr)) {
        *err = std::string("invalid JSON in field ") + field;
        return false;
    }
    dst->assign(v);
    return true;
}

// The occurrences of a repeated string field, in order.
bool take_list(std::string_view in, uint32_t number, std::vector<std::string> *dst,
               std::string *err, const char *field) {
    dst->clear();
    pb::Reader r(in);
    pb::Field f;
    while (r.next(&f))
        if (f.number == number && !take(f.bytes, &dst->emplace_back(), err, field))
            return false;
    return true;
}

// Takes each slot in order into its destination: strings[i] for string and json slots (null:
// a known field the caller ignores), lists[i] for repeated strings. Integers are the caller's.
Status take_all(std::string_view in, std::span<const Slot> slots, const Seen *seen,
                std::initializer_list<std::string *> strings,
                std::vector<std::string> *list = nullptr) {
    std::string err;
    const auto *dst = strings.begin();
    for (size_t i = 0; i < slots.size(); i++) {
        const Slot &s = slots[i];
        if (s.kind == Kind::integer || s.kind == Kind::boolean)
            continue;
        if (s.kind == Kind::strings) {
            if (list && !take_list(in, uint32_t(i + 1), list, &err, s.name))
                return make_error(std::move(err));
            continue;
        }
        std::string *d = *dst++;
        if (!d)
            continue;
        std::string_view v = seen[i].count ? seen[i].last.bytes : std::string_view();
        bool ok = s.kind == Kind::json ? take_json(v, d, &err, s.name) : take(v, d, &err, s.name);
        if (!ok)
            return make_error(std::move(err));
    }
    return {};
}

int64_t i64(const Seen &s) {
    return s.count ? static_cast<int64_t>(s.last.value) : 0;
}
int32_t i32(const Seen &s) {
    return s.count ? pb::as_int32(s.last.value) : 0;
}
bool boolean(const Seen &s) {
    return s.count && pb::truth(s.last);
}

// --- the envelope's fields ---

enum EnvelopeField : uint32_t {
    f_ver = 1, f_seq = 2, f_action = 3, f_from = 4, f_to = 5, f_data = 6, f_msg = 7,
    f_ticket = 8, f_sign = 9, f_extra = 10, f_data_json = 11, f_data_null = 12,
};

constexpr Slot envelope_slots[] = {
    {Kind::integer, "ver"},  {Kind::integer, "seq"},      {Kind::string, "action"},
    {Kind::string, "from"},  {Kind::string, "to"},        {Kind::json, "data"},
    {Kind::string, "msg"},   {Kind::string, "ticket"},    {Kind::string, "sign"},
    {Kind::message, "extra"}, {Kind::json, "data_json"}, {Kind::boolean, "data_null"},
};
constexpr Slot extra_entry_slots[] = {{Kind::string, "extra"}, {Kind::string, "extra"}};

// A map entry: well formed with key and value of the right wire types (unknown fields are
// checked later, after the envelope's own checks, as protobuf-c's unpack let them through).
bool entry_well_formed(std::string_view body) {
    pb::Reader r(body);
    pb::Field f;
    while (r.next(&f))
        if ((f.number == 1 || f.number == 2) && f.wire != pb::len)
            return false;
    return r.ok();
}

// An upper bound of a payload's encoded size, for one reservation up front: each string's
// bytes plus room for every tag, length and integer.
size_t size_hint(const ChatMessage &m) {
    return m.cli_mid.size() + m.from.size() + m.to.size() + m.content.size() + 64;
}
size_t size_hint(const RawData &d) {
    return d.bytes.size() + 16;
}
size_t size_hint(const Text &t) {
    return t.text.size() + 8;
}
size_t size_hint(const ClientCustom &c) {
    return c.type.size() + c.content_json.size() + 16;
}
size_t size_hint(const GroupNotify &g) {
    return g.from.size() + g.body_json.size() + 32;
}
template <typename T> size_t size_hint(const T &) {
    return 128; // acks, hello, state and the like: short strings
}

} // namespace

// --- envelope -----------------------------------------------------------------------------

Status decode_protobuf(std::string_view in, Envelope *e, std::string *raw_buffer) {
    auto fail = [](std::string reason) {
        return make_error(std::string(decode_error_prefix) + reason);
    };
    Seen seen[std::size(envelope_slots)];
    if (Status st = read_fields(in, "envelope", envelope_slots, seen, entry_well_formed); !st)
        return fail(st.error());
    // The oneof: the member whose last occurrence comes last in the input wins.
    uint32_t payload = 0;
    const char *at = nullptr;
    for (uint32_t k : {f_data, f_data_json, f_data_null})
        if (seen[k - 1].count && seen[k - 1].last.raw.data() > at) {
            payload = k;
            at = seen[k - 1].last.raw.data();
        }
    std::string err;
    auto str = [&](EnvelopeField k) {
        const Seen &s = seen[k - 1];
        return s.count ? s.last.bytes : std::string_view();
    };
    e->ver = seen[f_ver - 1].count ? i64(seen[f_ver - 1]) : 1;
    e->seq = i64(seen[f_seq - 1]);
    if (!take(str(f_action), &e->action, &err, "action") ||
        !take(str(f_from), &e->from, &err, "from") || !take(str(f_to), &e->to, &err, "to") ||
        !take(str(f_msg), &e->msg, &err, "msg") ||
        !take(str(f_ticket), &e->ticket, &err, "ticket") ||
        !take(str(f_sign), &e->sign, &err, "sign"))
        return fail(err);
    switch (payload) {
    case f_data:
        e->data = make_raw(Codec::protobuf, str(f_data), raw_buffer);
        break;
    case f_data_json: {
        std::string_view j = str(f_data_json);
        if (!json::validate(j, &err))
            return fail("invalid JSON in data_json: " + err);
        e->data = make_raw(Codec::json, j, raw_buffer);
        break;
    }
    case f_data_null:
        if (boolean(seen[f_data_null - 1]))
            e->data = Null{};
        break;
    default:
        break;
    }
    if (seen[f_extra - 1].count) {
        // The entries, in order: each checked and taken as protobuf-c's result was.
        pb::Reader r(in);
        pb::Field f;
        while (r.next(&f)) {
            if (f.number != f_extra)
                continue;
            Seen kv[2];
            if (Status st = read_fields(f.bytes, "extra entry", extra_entry_slots, kv); !st)
                return fail(st.error());
            std::string k, v;
            if (!take(kv[0].count ? kv[0].last.bytes : std::string_view(), &k, &err, "extra") ||
                !take(kv[1].count ? kv[1].last.bytes : std::string_view(), &v, &err, "extra"))
                return fail(err);
            e->set_extra(std::move(k), std::move(v));
        }
    }
    return {};
}

Status encode_protobuf(const Envelope &e, std::string *out) {
    const size_t start = out->size();
    size_t hint = 64 + e.action.size() + e.from.size() + e.to.size() + e.msg.size() +
                  e.ticket.size() + e.sign.size() +
                  std::visit([](const auto &d) { return size_hint(d); }, e.data);
    for (const auto &[k, v] : e.extra)
        hint += k.size() + v.size() + 8;
    out->reserve(start + hint);
    pb::Writer w(out);
    if (e.ver != 1)
        w.int64_always(f_ver, e.ver);
    w.int64(f_seq, e.seq);
    w.string(f_action, e.action);
    w.string(f_from, e.from);
    w.string(f_to, e.to);

    // data_json (11) comes after msg, ticket, sign and extra: hold it until then.
    std::string_view data_json;
    bool has_data_json = false;
    Status st;
    std::visit(
        [&](const auto &d) {
            using T = std::decay_t<decltype(d)>;
            if constexpr (std::is_same_v<T, std::monostate> || std::is_same_v<T, Null>) {
            } else if constexpr (std::is_same_v<T, RawData>) {
                if (d.codec == Codec::protobuf) {
                    w.bytes_always(f_data, d.bytes);
                    return;
                }
                thread_local std::string scratch;
                scratch.clear();
                bool as_json = false;
                st = transcode_to_protobuf(e.action, d.bytes, &scratch, &as_json);
                if (as_json) {
                    data_json = scratch;
                    has_data_json = true;
                } else {
                    w.bytes_always(f_data, scratch);
                }
            } else {
                size_t body = w.begin_message(f_data);
                encode_pb_payload(d, out);
                w.end_message(body);
            }
        },
        e.data);
    if (!st) {
        out->resize(start);
        return st;
    }
    w.string(f_msg, e.msg);
    w.string(f_ticket, e.ticket);
    w.string(f_sign, e.sign);
    for (const auto &[k, v] : e.extra) {
        size_t body = w.begin_message(f_extra);
        w.string(1, k);
        w.string(2, v);
        w.end_message(body);
    }
    if (has_data_json)
        w.bytes_always(f_data_json, data_json);
    if (std::holds_alternative<Null>(e.data))
        w.int64_always(f_data_null, 1);
    return {};
}

// --- payloads -----------------------------------------------------------------------------

namespace {

template <size_t N>
Status read_payload(std::string_view in, const char *name, const Slot (&slots)[N], Seen (&seen)[N]) {
    return read_fields(in, name, std::span<const Slot>(slots), seen);
}

constexpr Slot text_slots[] = {{Kind::string, "text"}};

constexpr Slot chat_slots[] = {
    {Kind::string, "cli_mid"}, {Kind::integer, "mid"},  {Kind::integer, "seq"},
    {Kind::string, "from"},    {Kind::string, "to"},    {Kind::integer, "type"},
    {Kind::string, "content"}, {Kind::integer, "send_at"},
};

constexpr Slot ack_message_slots[] = {
    {Kind::string, "cli_mid"}, {Kind::integer, "mid"},
    {Kind::integer, "seq"},    {Kind::string, "from"},
};

// AckRequest and AckNotify carry the same fields (and so do their proto messages).
constexpr Slot ack_slots[] = {
    {Kind::string, "cli_mid"}, {Kind::integer, "seq"}, {Kind::integer, "mid"},
    {Kind::string, "from"},    {Kind::string, "to"},
};

constexpr Slot ack_group_slots[] = {
    {Kind::string, "cli_mid"}, {Kind::integer, "gid"},
    {Kind::integer, "mid"},    {Kind::integer, "seq"},
};

constexpr Slot custom_slots[] = {{Kind::string, "type"}, {Kind::json, "content_json"}};

constexpr Slot kick_slots[] = {{Kind::string, "device_id"}, {Kind::string, "device_name"}};

constexpr Slot hello_slots[] = {
    {Kind::string, "client_version"}, {Kind::string, "client_name"},
    {Kind::string, "client_type"},    {Kind::string, "server_version"},
    {Kind::string, "temp_id"},        {Kind::integer, "heartbeat_interval"},
    {Kind::strings, "protocols"},
};

constexpr Slot credential_slots[] = {{Kind::integer, "version"},
                                     {Kind::string, "credential"}};

constexpr Slot group_notify_slots[] = {
    {Kind::string, "from"}, {Kind::integer, "type"}, {Kind::json, "body_json"}};

constexpr Slot user_state_slots[] = {{Kind::string, "uid"}, {Kind::boolean, "online"}};

constexpr Slot subscribe_slots[] = {{Kind::strings, "uids"}};

template <typename T> void write_ack(pb::Writer &w, const T &v) {
    w.string(1, v.cli_mid);
    w.int64(2, v.seq);
    w.int64(3, v.mid);
    w.string(4, v.from);
    w.string(5, v.to);
}

template <typename T> Status read_ack(std::string_view in, const char *name, T *out) {
    Seen s[std::size(ack_slots)];
    if (Status st = read_payload(in, name, ack_slots, s); !st)
        return st;
    out->seq = i64(s[1]);
    out->mid = i64(s[2]);
    return take_all(in, ack_slots, s, {&out->cli_mid, &out->from, &out->to});
}

} // namespace

Status decode_pb_payload(std::string_view in, Text *out) {
    Seen s[std::size(text_slots)];
    if (Status st = read_payload(in, "Text", text_slots, s); !st)
        return st;
    return take_all(in, text_slots, s, {&out->text});
}

void encode_pb_payload(const Text &v, std::string *out) {
    pb::Writer(out).string(1, v.text);
}

Status decode_pb_payload(std::string_view in, ChatMessage *out) {
    Seen s[std::size(chat_slots)];
    if (Status st = read_payload(in, "ChatMessage", chat_slots, s); !st)
        return st;
    out->mid = i64(s[1]);
    out->seq = i64(s[2]);
    out->type = i32(s[5]);
    out->send_at = i64(s[7]);
    return take_all(in, chat_slots, s, {&out->cli_mid, &out->from, &out->to, &out->content});
}

void encode_pb_payload(const ChatMessage &v, std::string *out) {
    pb::Writer w(out);
    w.string(1, v.cli_mid);
    w.int64(2, v.mid);
    w.int64(3, v.seq);
    w.string(4, v.from);
    w.string(5, v.to);
    w.int64(6, v.type);
    w.string(7, v.content);
    w.int64(8, v.send_at);
}

Status decode_pb_payload(std::string_view in, AckMessage *out) {
    Seen s[std::size(ack_message_slots)];
    if (Status st = read_payload(in, "AckMessage", ack_message_slots, s); !st)
        return st;
    out->mid = i64(s[1]);
    out->seq = i64(s[2]);
    return take_all(in, ack_message_slots, s, {&out->cli_mid, &out->from});
}

void encode_pb_payload(const AckMessage &v, std::string *out) {
    pb::Writer w(out);
    w.string(1, v.cli_mid);
    w.int64(2, v.mid);
    w.int64(3, v.seq);
    w.string(4, v.from);
}

Status decode_pb_payload(std::string_view in, AckRequest *out) {
    return read_ack(in, "AckRequest", out);
}

void encode_pb_payload(const AckRequest &v, std::string *out) {
    pb::Writer w(out);
    write_ack(w, v);
}

Status decode_pb_payload(std::string_view in, AckNotify *out) {
    return read_ack(in, "AckNotify", out);
}

void encode_pb_payload(const AckNotify &v, std::string *out) {
    pb::Writer w(out);
    write_ack(w, v);
}

Status decode_pb_payload(std::string_view in, AckGroupMessage *out) {
    Seen s[std::size(ack_group_slots)];
    if (Status st = read_payload(in, "AckGroupMessage", ack_group_slots, s); !st)
        return st;
    out->gid = i64(s[1]);
    out->mid = i64(s[2]);
    out->seq = i64(s[3]);
    return take_all(in, ack_group_slots, s, {&out->cli_mid});
}

void encode_pb_payload(const AckGroupMessage &v, std::string *out) {
    pb::Writer w(out);
    w.string(1, v.cli_mid);
    w.int64(2, v.gid);
    w.int64(3, v.mid);
    w.int64(4, v.seq);
}

Status decode_pb_payload(std::string_view in, ClientCustom *out) {
    Seen s[std::size(custom_slots)];
    if (Status st = read_payload(in, "ClientCustom", custom_slots, s); !st)
        return st;
    return take_all(in, custom_slots, s, {&out->type, &out->content_json});
}

void encode_pb_payload(const ClientCustom &v, std::string *out) {
    pb::Writer w(out);
    w.string(1, v.type);
    w.string(2, v.content_json);
}

Status decode_pb_payload(std::string_view in, KickOutNotify *out) {
    Seen s[std::size(kick_slots)];
    if (Status st = read_payload(in, "KickOutNotify", kick_slots, s); !st)
        return st;
    return take_all(in, kick_slots, s, {&out->device_id, &out->device_name});
}

void encode_pb_payload(const KickOutNotify &v, std::string *out) {
    pb::Writer w(out);
    w.string(1, v.device_id);
    w.string(2, v.device_name);
}

Status decode_pb_payload(std::string_view in, Hello *out) {
    Seen s[std::size(hello_slots)];
    if (Status st = read_payload(in, "Hello", hello_slots, s); !st)
        return st;
    // The server's half (4, 5, 7) is known but not the client's to send: left unread.
    return take_all(in, hello_slots, s,
                    {&out->client_version, &out->client_name, &out->client_type, nullptr,
                     nullptr});
}

Status decode_pb_payload(std::string_view in, ServerHello *out) {
    Seen s[std::size(hello_slots)];
    if (Status st = read_payload(in, "Hello", hello_slots, s); !st)
        return st;
    out->heartbeat_interval = i64(s[5]);
    return take_all(in, hello_slots, s,
                    {nullptr, nullptr, nullptr, &out->server_version, &out->temp_id},
                    &out->protocols);
}

void encode_pb_payload(const Hello &c, const ServerHello &s, std::string *out) {
    pb::Writer w(out);
    w.string(1, c.client_version);
    w.string(2, c.client_name);
    w.string(3, c.client_type);
    w.string(4, s.server_version);
    w.string(5, s.temp_id);
    w.int64(6, s.heartbeat_interval);
    for (const auto &p : s.protocols)
        w.bytes_always(7, p);
}

void encode_pb_payload(const Hello &v, std::string *out) {
    encode_pb_payload(v, {}, out);
}
void encode_pb_payload(const ServerHello &v, std::string *out) {
    encode_pb_payload({}, v, out);
}

Status decode_pb_payload(std::string_view in, EncryptedCredential *out) {
    Seen s[std::size(credential_slots)];
    if (Status st = read_payload(in, "EncryptedCredential", credential_slots, s); !st)
        return st;
    out->version = i64(s[0]);
    return take_all(in, credential_slots, s, {&out->credential});
}

void encode_pb_payload(const EncryptedCredential &v, std::string *out) {
    pb::Writer w(out);
    w.int64(1, v.version);
    w.string(2, v.credential);
}

Status decode_pb_payload(std::string_view in, GroupNotify *out) {
    Seen s[std::size(group_notify_slots)];
    if (Status st = read_payload(in, "GroupNotify", group_notify_slots, s); !st)
        return st;
    out->type = i64(s[1]);
    return take_all(in, group_notify_slots, s, {&out->from, &out->body_json});
}

void encode_pb_payload(const GroupNotify &v, std::string *out) {
    pb::Writer w(out);
    w.string(1, v.from);
    w.int64(2, v.type);
    w.string(3, v.body_json);
}

Status decode_pb_payload(std::string_view in, UserState *out) {
    Seen s[std::size(user_state_slots)];
    if (Status st = read_payload(in, "UserState", user_state_slots, s); !st)
        return st;
    out->online = boolean(s[1]);
    return take_all(in, user_state_slots, s, {&out->uid});
}

void encode_pb_payload(const UserState &v, std::string *out) {
    pb::Writer w(out);
    w.string(1, v.uid);
    w.boolean(2, v.online);
}

Status decode_pb_payload(std::string_view in, StateSubscribe *out) {
    Seen s[std::size(subscribe_slots)];
    if (Status st = read_payload(in, "StateSubscribe", subscribe_slots, s); !st)
        return st;
    return take_all(in, subscribe_slots, s, {}, &out->uids);
}

void encode_pb_payload(const StateSubscribe &v, std::string *out) {
    pb::Writer w(out);
    for (const auto &u : v.uids)
        w.bytes_always(1, u);
}

} // namespace glide::codec
