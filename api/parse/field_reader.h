// Typed, range-checked reads of optional fields of a JSON object. The first failure is kept
// as an ApiError naming the parameter; later reads become no-ops. JSON null counts as absent,
// and fields nobody reads are ignored (OpenAI clients send many we do not use).
#pragma once
#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "api/errors.h"

namespace gs::api {

class FieldReader {
 public:
  FieldReader(const nlohmann::json& obj, std::string prefix = "") : obj_(obj), prefix_(std::move(prefix)) {}

  std::optional<double> number(const char* key, double lo, double hi);
  std::optional<int64_t> integer(const char* key, int64_t lo, int64_t hi);
  std::optional<bool> boolean(const char* key);
  std::optional<std::string> string(const char* key);
  // Present and not null (any type).
  const nlohmann::json* raw(const char* key) const;

  void fail(const char* key, std::string message);
  bool failed() const { return error_.has_value(); }
  const ApiError& error() const { return *error_; }
  std::string param(const char* key) const { return prefix_ + key; }

 private:
  const nlohmann::json& obj_;
  std::string prefix_;
  std::optional<ApiError> error_;
};

// Parses a request body: must be a JSON object. Error → 400 with a parse message.
std::optional<ApiError> parse_json_object(const std::string& body, nlohmann::json& out);

}  // namespace gs::api
