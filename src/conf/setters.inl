// The generic setters declared in conf.h (included at its end). Each is instantiated with a
// pointer to the member it fills; the conf pointer the Applier hands over is cast to that
// member's class, so a table and its struct must match (the compiler checks the member type).
//
// Member types:
//   set_size, set_time, set_uint: any unsigned integer type; the upper bound is the smaller of
//     spec.max and the type's maximum (sizes in bytes, times in milliseconds).
//   set_flag: bool.
//   set_string: std::string (one argument), or std::vector<std::string> (every argument of every
//     occurrence is appended: suits MULTI directives and lists such as allowed origins).
//   set_enum: std::string (the chosen text), or an integer or enum type (the index of the choice
//     in spec.choices).
#pragma once

#include <limits>
#include <type_traits>

namespace glide::conf {

namespace detail {

template <typename T> struct MemberOf;
template <typename C, typename M> struct MemberOf<M C::*> {
    using Class = C;
    using Type = M;
};

template <auto Member> using MemberType = typename MemberOf<decltype(Member)>::Type;

template <auto Member> MemberType<Member> &member(void *conf) {
    using Class = typename MemberOf<decltype(Member)>::Class;
    return static_cast<Class *>(conf)->*Member;
}

template <typename T>
inline constexpr bool is_unsigned_number =
    std::is_integral_v<T> &&std::is_unsigned_v<T> && !std::is_same_v<T, bool>;

// Defined in values.cc.
std::string format_size(uint64_t bytes);    // 65536 -> "64k"
std::string format_time_ms(uint64_t ms);    // 3600000 -> "1h"
std::string format_uint(uint64_t n);        // 42 -> "42"
Status invalid_arguments(const Spec &spec); // invalid number of arguments in "X" directive
Status invalid_choice(const Spec &spec, std::string_view value);
// Parses the single argument and checks it against [spec.min, min(spec.max, limit)]; limit is
// the largest value the member's type holds.
Status parse_bounded(const Spec &spec, const std::vector<std::string> &args,
                     bool (*parse)(std::string_view, uint64_t &), std::string (*format)(uint64_t),
                     uint64_t limit, uint64_t &out);

template <auto Member>
Status set_number(const Spec &spec, void *conf, const std::vector<std::string> &args,
                  bool (*parse)(std::string_view, uint64_t &), std::string (*format)(uint64_t)) {
    using T = MemberType<Member>;
    static_assert(is_unsigned_number<T>, "size, time and number members are unsigned integers");
    uint64_t v;
    Status st = parse_bounded(spec, args, parse, format, std::numeric_limits<T>::max(), v);
    if (st)
        member<Member>(conf) = static_cast<T>(v);
    return st;
}

} // namespace detail

template <auto Member>
Status set_size(const Spec &spec, void *conf, const std::vector<std::string> &args) {
    return detail::set_number<Member>(spec, conf, args, parse_size, detail::format_size);
}

template <auto Member>
Status set_time(const Spec &spec, void *conf, const std::vector<std::string> &args) {
    return detail::set_number<Member>(spec, conf, args, parse_time_ms, detail::format_time_ms);
}

template <auto Member>
Status set_uint(const Spec &spec, void *conf, const std::vector<std::string> &args) {
    return detail::set_number<Member>(spec, conf, args, parse_uint, detail::format_uint);
}

template <auto Member>
Status set_flag(const Spec &spec, void *conf, const std::vector<std::string> &args) {
    static_assert(std::is_same_v<detail::MemberType<Member>, bool>, "flag members are bool");
    if (args.size() != 1)
        return detail::invalid_arguments(spec);
    bool on;
    if (!parse_flag(args[0], on)) {
        std::string m = invalid_value(spec, args[0]).error();
        m += ", it must be \"on\" or \"off\"";
        return make_error(std::move(m));
    }
    detail::member<Member>(conf) = on;
    return {};
}

template <auto Member>
Status set_string(const Spec &spec, void *conf, const std::vector<std::string> &args) {
    using T = detail::MemberType<Member>;
    if constexpr (std::is_same_v<T, std::vector<std::string>>) {
        auto &list = detail::member<Member>(conf);
        list.insert(list.end(), args.begin(), args.end());
    } else {
        static_assert(std::is_same_v<T, std::string>,
                      "string members are std::string or std::vector<std::string>");
        if (args.size() != 1)
            return detail::invalid_arguments(spec);
        detail::member<Member>(conf) = args[0];
    }
    return {};
}

template <auto Member>
Status set_enum(const Spec &spec, void *conf, const std::vector<std::string> &args) {
    using T = detail::MemberType<Member>;
    static_assert(std::is_same_v<T, std::string> || std::is_integral_v<T> || std::is_enum_v<T>,
                  "enum members are std::string, an integer or an enum");
    if (args.size() != 1)
        return detail::invalid_arguments(spec);
    for (size_t i = 0; spec.choices && spec.choices[i]; i++) {
        if (args[0] != spec.choices[i])
            continue;
        if constexpr (std::is_same_v<T, std::string>)
            detail::member<Member>(conf) = args[0];
        else
            detail::member<Member>(conf) = static_cast<T>(i);
        return {};
    }
    return detail::invalid_choice(spec, args[0]);
}

} // namespace glide::conf
