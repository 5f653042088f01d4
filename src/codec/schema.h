// The one description of each wire message (codec-internal): a table of its fields, each with
// its JSON key, protobuf field number, kind and member, that the JSON decoder and encoder
// (json.cc, json_table.h) and the protobuf reader and writer (protobuf.cc) all read.
//
// Behaviour as data, in the manner of nginx's directive records, but resolved at compile time:
// a table is a constexpr std::tuple of Field records, and the codecs walk it with a fold over
// an index_sequence, each record a constant expression, so what the compiler emits is the
// chain of key comparisons and the run of writes that used to be written by hand.
//
// Rules the tables follow (checked at compile time where a check can be written):
// - A message's fields are listed in its Go struct's declaration order, which is the JSON key
//   order on output; protobuf writes them in field-number order.
// - The protobuf numbers of a message (with its partner's, see Schema::pb_partner) are 1..N,
//   each once: pb readers index their per-field state by number - 1.
// - A field marked special() is the message codec's own business (the envelope's data and
//   extra): the generic code gives it to the codec's hook and knows only its key, number and
//   wire kind.
#pragma once

#include "codec/json_writer.h"
#include "codec/message.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

namespace glide::codec::schema {

enum class Kind : uint8_t {
    string,  // JSON string; protobuf string (UTF-8 checked)
    json,    // JSON any value kept as compact text; protobuf bytes holding JSON text (or empty)
    strings, // JSON []string; protobuf repeated string
    i64,     // JSON integer (Go int64 or int); protobuf int64 varint
    i32,     // JSON integer (Go int32); protobuf int32 varint
    boolean, // JSON bool; protobuf bool
    message, // a nested protobuf message (special fields only: the envelope's map entries)
};

// How the JSON encoder treats a zero value: left out (Go's omitempty) or written (a string
// as "", a number as 0, a json field as null).
enum class Omit : uint8_t { empty, never };

// One field. S is the message struct, M the member's type.
template <typename S, typename M> struct Field {
    using Struct = S;
    using Member = M;

    json::Key key;                  // the JSON key as written (`,"cliMid":`)
    std::string_view json;          // the JSON key; empty: a protobuf-only field
    std::string_view json_alt = {}; // a second key accepted on input ("cli_mid"), or empty
    uint32_t number = 0;            // the protobuf field number
    const char *pb = nullptr;       // the protobuf field's name (its error texts say it)
    Kind kind = Kind::string;
    Omit omit = Omit::empty;
    bool is_special = false;        // handled by the message codec's hook (see above)
    const char *go_type = nullptr;  // Go's type in JSON type errors, for integers
    int64_t pb_default = 0;         // an integer's value when absent from protobuf input
    M S::*member = nullptr;

    // Builders for the table entries, read left to right: str("cliMid", 1, &T::cli_mid)
    // .also("cli_mid").pb_name("cli_mid").
    consteval Field also(std::string_view alt) const {
        Field f = *this;
        f.json_alt = alt;
        return f;
    }
    consteval Field pb_name(const char *name) const {
        Field f = *this;
        f.pb = name;
        return f;
    }
    consteval Field always() const {
        Field f = *this;
        f.omit = Omit::never;
        return f;
    }
    consteval Field go(const char *type) const {
        Field f = *this;
        f.go_type = type;
        return f;
    }
    consteval Field pb_absent_is(int64_t v) const {
        Field f = *this;
        f.pb_default = v;
        return f;
    }
    consteval Field special() const {
        Field f = *this;
        f.is_special = true;
        return f;
    }
};

template <typename M, size_t N, typename S>
consteval Field<S, M> make(const char (&key)[N], uint32_t number, M S::*member, Kind kind,
                           const char *go_type = nullptr) {
    Field<S, M> f{json::Key(std::string_view(key, N - 1)), std::string_view(key, N - 1)};
    f.number = number;
    f.pb = key;
    f.kind = kind;
    f.go_type = go_type;
    f.member = member;
    return f;
}

template <size_t N, typename S>
consteval auto str(const char (&key)[N], uint32_t number, std::string S::*m) {
    return make(key, number, m, Kind::string);
}
// An interface{} value in Go, JSON text in protobuf bytes.
template <size_t N, typename S>
consteval auto json_text(const char (&key)[N], uint32_t number, std::string S::*m) {
    return make(key, number, m, Kind::json);
}
template <size_t N, typename S>
consteval auto strs(const char (&key)[N], uint32_t number, std::vector<std::string> S::*m) {
    return make(key, number, m, Kind::strings);
}
template <size_t N, typename S>
consteval auto i64(const char (&key)[N], uint32_t number, int64_t S::*m) {
    return make(key, number, m, Kind::i64, "int64");
}
template <size_t N, typename S>
consteval auto i32(const char (&key)[N], uint32_t number, int32_t S::*m) {
    return make(key, number, m, Kind::i32, "int32");
}
template <size_t N, typename S>
consteval auto boolean(const char (&key)[N], uint32_t number, bool S::*m) {
    return make(key, number, m, Kind::boolean);
}
// A protobuf-only field of kind k named name (no JSON key), always special.
template <typename M, typename S>
consteval auto pb_only(const char *name, uint32_t number, M S::*m, Kind k) {
    Field<S, M> f{json::Key(std::string_view()), std::string_view()};
    f.number = number;
    f.pb = name;
    f.kind = k;
    f.is_special = true;
    f.member = m;
    return f;
}

// Schema<T>: the table of wire message T.
//   go_type    Go's type name, for top-level JSON type errors; after the dot, the struct name
//              JSON field type errors use
//   pb_message the protobuf message's name, for protobuf errors
//   pb_partner (optional) another struct sharing T's protobuf message (hello): its fields are
//              known when reading T, though not T's to take
//   fields     the table
template <typename T> struct Schema;

// The client's message id, field 1 of every message that has one: "cliMid", with glide
// HEAD's "cli_mid" accepted on input.
template <typename T> consteval auto cli_mid() {
    return str("cliMid", 1, &T::cli_mid).also("cli_mid").pb_name("cli_mid");
}

// The fields of AckRequest and AckNotify, which carry the same ones.
template <typename T> consteval auto ack_fields() {
    return std::tuple{
        cli_mid<T>(),
        i64("seq", 2, &T::seq),
        i64("mid", 3, &T::mid),
        str("from", 4, &T::from),
        str("to", 5, &T::to),
    };
}

template <> struct Schema<Envelope> {
    static constexpr const char *go_type = "messages.GlideMessage";
    static constexpr const char *pb_message = "envelope";
    static constexpr auto fields = std::tuple{
        // A missing ver decodes as 1 (glide's NewEmptyMessage); protobuf leaves 1 out.
        i64("ver", 1, &Envelope::ver).pb_absent_is(1),
        i64("seq", 2, &Envelope::seq),
        str("action", 3, &Envelope::action).always(),
        str("from", 4, &Envelope::from),
        str("to", 5, &Envelope::to),
        make("data", 6, &Envelope::data, Kind::json).special(),
        str("msg", 7, &Envelope::msg),
        str("ticket", 8, &Envelope::ticket),
        str("sign", 9, &Envelope::sign),
        make("extra", 10, &Envelope::extra, Kind::message).special(),
        // data's oneof partners in protobuf.
        pb_only("data_json", 11, &Envelope::data, Kind::json),
        pb_only("data_null", 12, &Envelope::data, Kind::boolean),
    };
};

// Text is a bare JSON string, not an object: only protobuf reads this table.
template <> struct Schema<Text> {
    static constexpr const char *go_type = "string";
    static constexpr const char *pb_message = "Text";
    static constexpr auto fields = std::tuple{str("text", 1, &Text::text)};
};

template <> struct Schema<ChatMessage> {
    static constexpr const char *go_type = "messages.ChatMessage";
    static constexpr const char *pb_message = "ChatMessage";
    static constexpr auto fields = std::tuple{
        cli_mid<ChatMessage>(),
        i64("mid", 2, &ChatMessage::mid),
        i64("seq", 3, &ChatMessage::seq),
        str("from", 4, &ChatMessage::from),
        str("to", 5, &ChatMessage::to),
        i32("type", 6, &ChatMessage::type),
        str("content", 7, &ChatMessage::content),
        i64("sendAt", 8, &ChatMessage::send_at).pb_name("send_at"),
    };
};

template <> struct Schema<AckMessage> {
    static constexpr const char *go_type = "messages.AckMessage";
    static constexpr const char *pb_message = "AckMessage";
    static constexpr auto fields = std::tuple{
        cli_mid<AckMessage>(),
        i64("mid", 2, &AckMessage::mid),
        str("from", 4, &AckMessage::from),
        i64("seq", 3, &AckMessage::seq),
    };
};

template <> struct Schema<AckRequest> {
    static constexpr const char *go_type = "messages.AckRequest";
    static constexpr const char *pb_message = "AckRequest";
    static constexpr auto fields = ack_fields<AckRequest>();
};

template <> struct Schema<AckNotify> {
    static constexpr const char *go_type = "messages.AckNotify";
    static constexpr const char *pb_message = "AckNotify";
    static constexpr auto fields = ack_fields<AckNotify>();
};

template <> struct Schema<AckGroupMessage> {
    static constexpr const char *go_type = "messages.AckGroupMessage";
    static constexpr const char *pb_message = "AckGroupMessage";
    static constexpr auto fields = std::tuple{
        cli_mid<AckGroupMessage>(),
        i64("gid", 2, &AckGroupMessage::gid),
        i64("mid", 3, &AckGroupMessage::mid),
        i64("seq", 4, &AckGroupMessage::seq),
    };
};

template <> struct Schema<ClientCustom> {
    static constexpr const char *go_type = "messages.ClientCustom";
    static constexpr const char *pb_message = "ClientCustom";
    static constexpr auto fields = std::tuple{
        str("type", 1, &ClientCustom::type),
        json_text("content", 2, &ClientCustom::content_json).pb_name("content_json"),
    };
};

template <> struct Schema<KickOutNotify> {
    static constexpr const char *go_type = "messages.KickOutNotify";
    static constexpr const char *pb_message = "KickOutNotify";
    static constexpr auto fields = std::tuple{
        str("device_id", 1, &KickOutNotify::device_id),
        str("device_name", 2, &KickOutNotify::device_name),
    };
};

// glide.proto has one Hello message for both directions: the client's fields 1-3, the
// server's 4-7.
template <> struct Schema<Hello> {
    static constexpr const char *go_type = "messages.Hello";
    static constexpr const char *pb_message = "Hello";
    using pb_partner = ServerHello;
    static constexpr auto fields = std::tuple{
        str("client_version", 1, &Hello::client_version),
        str("client_name", 2, &Hello::client_name),
        str("client_type", 3, &Hello::client_type),
    };
};

template <> struct Schema<ServerHello> {
    static constexpr const char *go_type = "messages.ServerHello";
    static constexpr const char *pb_message = "Hello";
    using pb_partner = Hello;
    static constexpr auto fields = std::tuple{
        str("server_version", 4, &ServerHello::server_version),
        str("temp_id", 5, &ServerHello::temp_id),
        // Go's int is 64 bits on the platforms glide runs on.
        i64("heartbeat_interval", 6, &ServerHello::heartbeat_interval).go("int"),
        strs("protocols", 7, &ServerHello::protocols),
    };
};

template <> struct Schema<EncryptedCredential> {
    static constexpr const char *go_type = "gate.EncryptedCredential";
    static constexpr const char *pb_message = "EncryptedCredential";
    static constexpr auto fields = std::tuple{
        i64("version", 1, &EncryptedCredential::version).go("int").always(),
        str("credential", 2, &EncryptedCredential::credential).always(),
    };
};

template <> struct Schema<GroupNotify> {
    static constexpr const char *go_type = "subscription.NotifyMessage";
    static constexpr const char *pb_message = "GroupNotify";
    static constexpr auto fields = std::tuple{
        str("from", 1, &GroupNotify::from).always(),
        i64("type", 2, &GroupNotify::type).go("int").always(),
        json_text("body", 3, &GroupNotify::body_json).pb_name("body_json").always(),
    };
};

template <> struct Schema<UserState> {
    static constexpr const char *go_type = "messaging.UserStateData";
    static constexpr const char *pb_message = "UserState";
    static constexpr auto fields = std::tuple{
        str("uid", 1, &UserState::uid),
        boolean("online", 2, &UserState::online),
    };
};

template <> struct Schema<StateSubscribe> {
    static constexpr const char *go_type = "messaging.StateSubscribeData";
    static constexpr const char *pb_message = "StateSubscribe";
    static constexpr auto fields = std::tuple{strs("uids", 1, &StateSubscribe::uids)};
};

// --- walking a table ---

// On a lambda that walks a table (`[&](auto i) GLIDE_INLINE {...}`): the per-field code is
// inlined into the walk and the walk into its caller, so a table costs what hand-written code
// did (GCC otherwise keeps some per-field lambdas as calls).
#define GLIDE_INLINE __attribute__((always_inline))

template <typename T> inline constexpr size_t field_count = std::tuple_size_v<
    std::remove_cvref_t<decltype(Schema<T>::fields)>>;

// Field I of T's table.
template <typename T, size_t I>
inline constexpr const auto &field = std::get<I>(Schema<T>::fields);

// each: calls f(std::integral_constant<size_t, I>{}) for each field index I in table order.
// any: the same until f returns true; returns whether one did.
template <typename T, typename F> [[gnu::always_inline]] constexpr void each(F &&f) {
    [&]<size_t... I>(std::index_sequence<I...>) GLIDE_INLINE {
        (f(std::integral_constant<size_t, I>{}), ...);
    }(std::make_index_sequence<field_count<T>>{});
}
template <typename T, typename F> [[gnu::always_inline]] constexpr bool any(F &&f) {
    return [&]<size_t... I>(std::index_sequence<I...>) GLIDE_INLINE {
        return (f(std::integral_constant<size_t, I>{}) || ...);
    }(std::make_index_sequence<field_count<T>>{});
}

// Field indices of T in protobuf number order.
template <typename T> consteval auto number_order() {
    constexpr size_t n = field_count<T>;
    std::array<uint32_t, n> numbers{};
    each<T>([&](auto i) { numbers[i] = field<T, i>.number; });
    std::array<size_t, n> order{};
    for (size_t i = 0; i < n; ++i)
        order[i] = i;
    for (size_t i = 1; i < n; ++i) // insertion sort: tables are short
        for (size_t j = i; j > 0 && numbers[order[j]] < numbers[order[j - 1]]; --j)
            std::swap(order[j], order[j - 1]);
    return order;
}

// each<T>, in protobuf number order.
template <typename T, typename F> [[gnu::always_inline]] inline void each_by_number(F &&f) {
    static constexpr auto order = number_order<T>();
    [&]<size_t... I>(std::index_sequence<I...>) GLIDE_INLINE {
        (f(std::integral_constant<size_t, order[I]>{}), ...);
    }(std::make_index_sequence<field_count<T>>{});
}

// The index in T's table of the field whose protobuf name is `name`, and its number: for the
// special fields a message codec handles itself, named rather than numbered again.
template <typename T> consteval size_t index(std::string_view name) {
    size_t n = field_count<T>;
    each<T>([&](auto i) {
        if (std::string_view(field<T, i>.pb) == name)
            n = i;
    });
    if (n == field_count<T>)
        throw "no such field"; // a compile error
    return n;
}
template <typename T> consteval uint32_t number(std::string_view name) {
    uint32_t n = 0;
    each<T>([&](auto i) {
        if (std::string_view(field<T, i>.pb) == name)
            n = field<T, i>.number;
    });
    if (n == 0)
        throw "no such field"; // a compile error
    return n;
}

// Go's struct name: go_type after its package.
template <typename T> constexpr const char *go_struct() {
    constexpr std::string_view t = Schema<T>::go_type;
    return Schema<T>::go_type + (t.find('.') == t.npos ? 0 : t.find('.') + 1);
}

} // namespace glide::codec::schema
