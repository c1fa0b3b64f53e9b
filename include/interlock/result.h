// Result<T>: a value or an Error, returned across every module boundary.
//
// Errors are values: functions that can fail on outside input (files, network,
// policy text, the database) return Result<T> and never throw. Third-party
// exceptions are caught at the edge of the module that calls the library.
// Thread-safety: plain value types; no shared state.
#ifndef INTERLOCK_RESULT_H_
#define INTERLOCK_RESULT_H_

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace interlock {

// Broad categories an Error belongs to; callers branch on these, humans read message.
enum class ErrorKind {
  kInvalidArgument,  // bad input from the caller (policy text, request body, flags)
  kNotFound,
  kAlreadyExists,
  kPermissionDenied,
  kUnavailable,  // a dependency (store, audit sink, upstream) cannot serve now
  kTimeout,
  kCorrupt,  // data failed an integrity check
  kInternal,
};

const char* ErrorKindName(ErrorKind kind);

struct Error {
  ErrorKind kind = ErrorKind::kInternal;
  std::string message;  // human sentence; for policy errors "file:line:col: what"

  static Error Invalid(std::string m) { return {ErrorKind::kInvalidArgument, std::move(m)}; }
  static Error NotFound(std::string m) { return {ErrorKind::kNotFound, std::move(m)}; }
  static Error Unavailable(std::string m) { return {ErrorKind::kUnavailable, std::move(m)}; }
  static Error Corrupt(std::string m) { return {ErrorKind::kCorrupt, std::move(m)}; }
  static Error Internal(std::string m) { return {ErrorKind::kInternal, std::move(m)}; }
  static Error Denied(std::string m) { return {ErrorKind::kPermissionDenied, std::move(m)}; }
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT
  // The value made in place from `args` (a large value built where it is returned costs
  // no move into the result). An aggregate T from `args` needs aggregates from parentheses
  // (`__cpp_aggregate_paren_init`: GCC 10, not clang 14); without `args` it is
  // value-initialised.
  template <typename... Args>
  explicit Result(std::in_place_t, Args&&... args)
      : v_(std::in_place_index<0>, std::forward<Args>(args)...) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & {
    assert(ok());
    return std::get<0>(v_);
  }
  const T& value() const& {
    assert(ok());
    return std::get<0>(v_);
  }
  T&& value() && {
    assert(ok());
    return std::get<0>(std::move(v_));
  }
  // The value, or `fallback` when this holds an error (as std::optional::value_or).
  T value_or(T fallback) && { return ok() ? std::get<0>(std::move(v_)) : std::move(fallback); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const {
    assert(!ok());
    return std::get<1>(v_);
  }

 private:
  std::variant<T, Error> v_;
};

// Result<void> equivalent.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT
  static Status Ok() { return {}; }
  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const {
    assert(!ok_);
    return error_;
  }

 private:
  Error error_;
  bool ok_ = true;
};

}  // namespace interlock

#endif  // INTERLOCK_RESULT_H_
