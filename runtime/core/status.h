// Errors as values at runtime boundaries: Error{code, message} and Expected<T>.
// Loading code may also throw LoadError (caught at start-up); per-request paths return values.
#pragma once
#include <stdexcept>
#include <string>
#include <utility>
#include <variant>

namespace gs::runtime {

enum class ErrorCode {
  kInvalidArgument,  // bad input from a caller (maps to HTTP 400)
  kNotFound,         // missing file / tensor / model
  kCorruptFile,      // a file that fails validation
  kUnsupported,      // valid but not supported by this build
  kResourceExhausted,// queue full, memory budget
  kUnavailable,      // loading, shutting down
  kCancelled,
  kInternal,
};

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;
};

// Thrown by loaders; main() catches it and prints the message.
class LoadError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

template <typename T>
class Expected {
 public:
  Expected(T value) : v_(std::move(value)) {}          // NOLINT: implicit by design
  Expected(Error error) : v_(std::move(error)) {}      // NOLINT
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() { return value(); }
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

// A Status is an Expected without a value.
struct Ok {};
using Status = Expected<Ok>;
inline Status ok_status() { return Ok{}; }

inline Error make_error(ErrorCode code, std::string message) { return Error{code, std::move(message)}; }

}  // namespace gs::runtime
