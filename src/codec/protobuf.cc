#include "codec/protobuf.h"

#include "codec/json_scan.h"
#include "codec/payload.h"
#include "codec/pb_wire.h"
#include "codec/schema.h"

#include <span>
#include <vector>

// The messages of proto/glide.proto, read and written with the wire helpers of pb_wire.h from
// their tables in schema.h. A reader checks a message against a Slot table built from its
// table at compile time (indexed by field number), then takes each field into its member; a
// writer writes the fields in number order, as protobuf-c did, so the bytes are the same.

namespace glide::codec {

namespace {

using schema::Kind;
using schema::Schema;

// One field of a message as its reader checks it: its kind and the name its errors use.
// Indexed by field number - 1.
struct Slot {
    Kind kind;
    const char *name;
};

// The Slot table of T's protobuf message (with its partner's fields: see Schema), every number
// 1..N filled exactly once.
template <typename T> consteval auto make_slots() {
    constexpr size_t n = schema::field_count<T> + [] {
        if constexpr (requires { typename Schema<T>::pb_partner; })
            return schema::field_count<typename Schema<T>::pb_partner>;
        else
            return size_t(0);
    }();
    std::array<Slot, n> slots{};
    auto fill = [&]<typename U>(std::type_identity<U>) {
        schema::each<U>([&](auto i) {
            constexpr const auto &f = schema::field<U, i>;
            if (f.number < 1 || f.number > n || slots[f.number - 1].name)
                throw "protobuf field numbers must be 1..N, each once"; // a compile error
            slots[f.number - 1] = {f.kind, f.pb};
        });
    };
    fill(std::type_identity<T>{});
    if constexpr (requires { typename Schema<T>::pb_partner; })
        fill(std::type_identity<typename Schema<T>::pb_partner>{});
    return slots;
}
template <typename T> inline constexpr auto slots_of = make_slots<T>();

// What a read leaves for each slot: the last occurrence (proto3: the last one wins) and how
// many there were.
struct Seen {
    pb::Field last;
    uint32_t count = 0;
};

bool wire_fits(Kind k, uint8_t wire) {
    return k == Kind::boolean || wire == (k == Kind::i64 || k == Kind::i32 ? pb::varint : pb::len);
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

// Takes T's fields from what read_fields saw: the integers and booleans, then the strings in
// number order, the first invalid one failing (the order protobuf-c's results were checked
// in). Special fields are the caller's.
template <typename T> Status take_fields(std::string_view in, const Seen *seen, T *out) {
    schema::each<T>([&](auto i) GLIDE_INLINE {
        constexpr const auto &f = schema::field<T, i>;
        if constexpr (!f.is_special) {
            const Seen &s = seen[f.number - 1];
            if constexpr (f.kind == Kind::i64)
                out->*f.member = s.count ? static_cast<int64_t>(s.last.value) : f.pb_default;
            else if constexpr (f.kind == Kind::i32)
                out->*f.member = s.count ? pb::as_int32(s.last.value) : int32_t(f.pb_default);
            else if constexpr (f.kind == Kind::boolean)
                out->*f.member = s.count && pb::truth(s.last);
        }
    });
    std::string err;
    bool ok = true;
    schema::each_by_number<T>([&](auto i) GLIDE_INLINE {
        constexpr const auto &f = schema::field<T, i>;
        if constexpr (!f.is_special && (f.kind == Kind::string || f.kind == Kind::json ||
                                        f.kind == Kind::strings)) {
            if (!ok)
                return;
            const Seen &s = seen[f.number - 1];
            std::string_view v = s.count ? s.last.bytes : std::string_view();
            if constexpr (f.kind == Kind::string)
                ok = take(v, &(out->*f.member), &err, f.pb);
            else if constexpr (f.kind == Kind::json)
                ok = take_json(v, &(out->*f.member), &err, f.pb);
            else
                ok = take_list(in, f.number, &(out->*f.member), &err, f.pb);
        }
    });
    if (!ok)
        return make_error(std::move(err));
    return {};
}

// Writes T's fields in number order, proto3 defaults left out (an integer's default is its
// pb_default). A special field is special(index)'s to write.
struct NoSpecial {
    template <typename I> void operator()(I) const {}
};
template <typename T, typename Special = NoSpecial>
[[gnu::always_inline]] inline void write_fields(pb::Writer &w, const T &m, Special &&special = {}) {
    schema::each_by_number<T>([&](auto i) GLIDE_INLINE {
        constexpr const auto &f = schema::field<T, i>;
        if constexpr (f.is_special) {
            special(i);
        } else {
            const auto &v = m.*f.member;
            if constexpr (f.kind == Kind::string || f.kind == Kind::json) {
                w.string(f.number, v);
            } else if constexpr (f.kind == Kind::i64 || f.kind == Kind::i32) {
                if (v != f.pb_default)
                    w.int64_always(f.number, v);
            } else if constexpr (f.kind == Kind::boolean) {
                w.boolean(f.number, v);
            } else if constexpr (f.kind == Kind::strings) {
                for (const auto &e : v)
                    w.bytes_always(f.number, e);
            } else {
                static_assert(f.is_special, "no protobuf encoding for this kind");
            }
        }
    });
}

// A payload message T: read, checked and taken, or written.
template <typename T> Status decode_message(std::string_view in, T *out) {
    constexpr const auto &slots = slots_of<T>;
    Seen seen[slots.size()];
    if (Status st = read_fields(in, Schema<T>::pb_message, slots, seen); !st)
        return st;
    return take_fields(in, seen, out);
}
template <typename T> void encode_message(const T &v, std::string *out) {
    pb::Writer w(out);
    write_fields(w, v);
}

// --- the envelope's fields ---

// The envelope's special fields (schema.h), which decode_protobuf and encode_protobuf handle.
constexpr uint32_t f_data = schema::number<Envelope>("data");
constexpr uint32_t f_extra = schema::number<Envelope>("extra");
constexpr uint32_t f_data_json = schema::number<Envelope>("data_json");
constexpr uint32_t f_data_null = schema::number<Envelope>("data_null");

// extra's map entry: key 1, value 2.
constexpr Slot extra_entry_slots[] = {{Kind::string, "extra"}, {Kind::string, "extra"}};

// A map entry: well formed with key and value of the right wire types (unknown fields are
// checked later, after the envelope's own checks, as protobuf-c's unpack let them through).
bool entry_well_formed(std::string_view body) {
    pb::Reader r(body);
    pb::Field f;
    while (r.next(&f))
        if (f.number - size_t(1) < std::size(extra_entry_slots) && f.wire != pb::len)
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
    constexpr const auto &slots = slots_of<Envelope>;
    Seen seen[slots.size()];
    if (Status st = read_fields(in, Schema<Envelope>::pb_message, slots, seen, entry_well_formed);
        !st)
        return fail(st.error());
    // The oneof: the member whose last occurrence comes last in the input wins.
    uint32_t payload = 0;
    const char *at = nullptr;
    for (uint32_t k : {f_data, f_data_json, f_data_null})
        if (seen[k - 1].count && seen[k - 1].last.raw.data() > at) {
            payload = k;
            at = seen[k - 1].last.raw.data();
        }
    if (Status st = take_fields(in, seen, e); !st)
        return fail(st.error());
    std::string err;
    auto str = [&](uint32_t k) {
        const Seen &s = seen[k - 1];
        return s.count ? s.last.bytes : std::string_view();
    };
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
        if (pb::truth(seen[f_data_null - 1].last))
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
    // data_json comes after msg, ticket, sign and extra: the data's hook holds it until then.
    std::string_view data_json;
    bool has_data_json = false;
    Status st;
    write_fields(w, e, [&](auto i) GLIDE_INLINE {
        constexpr uint32_t number = schema::field<Envelope, i>.number;
        if constexpr (number == f_data) {
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
        } else if constexpr (number == f_extra) {
            for (const auto &[k, v] : e.extra) {
                size_t body = w.begin_message(f_extra);
                w.string(1, k);
                w.string(2, v);
                w.end_message(body);
            }
        } else if constexpr (number == f_data_json) {
            if (has_data_json)
                w.bytes_always(f_data_json, data_json);
        } else {
            if (std::holds_alternative<Null>(e.data))
                w.int64_always(f_data_null, 1);
        }
    });
    if (!st) {
        out->resize(start);
        return st;
    }
    return {};
}

// --- payloads -----------------------------------------------------------------------------

Status decode_pb_payload(std::string_view in, Text *out) {
    return decode_message(in, out);
}
void encode_pb_payload(const Text &v, std::string *out) {
    encode_message(v, out);
}

Status decode_pb_payload(std::string_view in, ChatMessage *out) {
    return decode_message(in, out);
}
void encode_pb_payload(const ChatMessage &v, std::string *out) {
    encode_message(v, out);
}

Status decode_pb_payload(std::string_view in, AckMessage *out) {
    return decode_message(in, out);
}
void encode_pb_payload(const AckMessage &v, std::string *out) {
    encode_message(v, out);
}

Status decode_pb_payload(std::string_view in, AckRequest *out) {
    return decode_message(in, out);
}
void encode_pb_payload(const AckRequest &v, std::string *out) {
    encode_message(v, out);
}

Status decode_pb_payload(std::string_view in, AckNotify *out) {
    return decode_message(in, out);
}
void encode_pb_payload(const AckNotify &v, std::string *out) {
    encode_message(v, out);
}

Status decode_pb_payload(std::string_view in, AckGroupMessage *out) {
    return decode_message(in, out);
}
void encode_pb_payload(const AckGroupMessage &v, std::string *out) {
    encode_message(v, out);
}

Status decode_pb_payload(std::string_view in, ClientCustom *out) {
    return decode_message(in, out);
}
void encode_pb_payload(const ClientCustom &v, std::string *out) {
    encode_message(v, out);
}

Status decode_pb_payload(std::string_view in, KickOutNotify *out) {
    return decode_message(in, out);
}
void encode_pb_payload(const KickOutNotify &v, std::string *out) {
    encode_message(v, out);
}

Status decode_pb_payload(std::string_view in, Hello *out) {
    return decode_message(in, out);
}

Status decode_pb_payload(std::string_view in, ServerHello *out) {
    return decode_message(in, out);
}

Status decode_pb_payload(std::string_view in, EncryptedCredential *out) {
    return decode_message(in, out);
}
void encode_pb_payload(const EncryptedCredential &v, std::string *out) {
    encode_message(v, out);
}

Status decode_pb_payload(std::string_view in, GroupNotify *out) {
    return decode_message(in, out);
}
void encode_pb_payload(const GroupNotify &v, std::string *out) {
    encode_message(v, out);
}

Status decode_pb_payload(std::string_view in, UserState *out) {
    return decode_message(in, out);
}
void encode_pb_payload(const UserState &v, std::string *out) {
    encode_message(v, out);
}

Status decode_pb_payload(std::string_view in, StateSubscribe *out) {
    return decode_message(in, out);
}
void encode_pb_payload(const StateSubscribe &v, std::string *out) {
    encode_message(v, out);
}

// Hello and ServerHello share glide.proto's Hello: the client's fields come first.
void encode_pb_payload(const Hello &c, const ServerHello &s, std::string *out) {
    pb::Writer w(out);
    write_fields(w, c);
    write_fields(w, s);
}

void encode_pb_payload(const Hello &v, std::string *out) {
    encode_pb_payload(v, {}, out);
}
void encode_pb_payload(const ServerHello &v, std::string *out) {
    encode_pb_payload({}, v, out);
}

} // namespace glide::codec
