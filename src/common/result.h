// Result<T>: a value or an error text, for code paths that must not throw (g++ 12 has no
// std::expected). Errors are human-readable sentences; codes are added at the C boundary.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace glide {

struct Error {
    std::string message;
};

template <typename T>
class [[nodiscard]] Result {
public:
    Result(T value) : v_(std::move(value)) {}
    Result(Error e) : v_(std::move(e)) {}

    bool ok() const { return v_.index() == 0; }
    explicit operator bool() const { return ok(); }
    T &value() { return std::get<0>(v_); }
    const T &value() const { return std::get<0>(v_); }
    T &operator*() { return value(); }
    T *operator->() { return &value(); }
    const std::string &error() const { return std::get<1>(v_).message; }

private:
    std::variant<T, Error> v_;
};

// Status: success or an error text.
class [[nodiscard]] Status {
public:
    Status() = default;
    Status(Error e) : err_(std::move(e.message)), failed_(true) {}
    static Status success() { return {}; }

    bool ok() const { return !failed_; }
    explicit operator bool() const { return ok(); }
    const std::string &error() const { return err_; }

private:
    std::string err_;
    bool failed_ = false;
};

inline Error make_error(std::string msg) { return Error{std::move(msg)}; }

} // namespace glide
