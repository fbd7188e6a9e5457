#include "api/parse/field_reader.h"

#include <cmath>
#include <sstream>

namespace gs::api {
namespace {
std::string fmt(double v) {
  std::ostringstream os;
  os << v;
  return os.str();
}
}  // namespace

const nlohmann::json* FieldReader::raw(const char* key) const {
  auto it = obj_.find(key);
  if (it == obj_.end() || it->is_null()) return nullptr;
  return &*it;
}

void FieldReader::fail(const char* key, std::string message) {
  if (!error_) error_ = bad_request(std::move(message), param(key), "invalid_value");
}

std::optional<double> FieldReader::number(const char* key, double lo, double hi) {
  const nlohmann::json* v = failed() ? nullptr : raw(key);
  if (!v) return std::nullopt;
  if (!v->is_number()) {
    error_ = bad_request("'" + param(key) + "' must be a number", param(key), "invalid_type");
    return std::nullopt;
  }
  double d = v->get<double>();
  if (!std::isfinite(d) || d < lo || d > hi) {
    fail(key, "'" + param(key) + "' must be between " + fmt(lo) + " and " + fmt(hi) + ", got " + fmt(d));
    return std::nullopt;
  }
  return d;
}

std::optional<int64_t> FieldReader::integer(const char* key, int64_t lo, int64_t hi) {
  const nlohmann::json* v = failed() ? nullptr : raw(key);
  if (!v) return std::nullopt;
  int64_t i = 0;
  if (v->is_number_integer()) {
    i = v->is_number_unsigned() ? static_cast<int64_t>(std::min<uint64_t>(v->get<uint64_t>(), INT64_MAX))
                                : v->get<int64_t>();
  } else if (v->is_number_float() && std::trunc(v->get<double>()) == v->get<double>() &&
             std::abs(v->get<double>()) < 9e15) {
    i = static_cast<int64_t>(v->get<double>());
  } else {
    error_ = bad_request("'" + param(key) + "' must be an integer", param(key), "invalid_type");
    return std::nullopt;
  }
  if (i < lo || i > hi) {
    fail(key, "'" + param(key) + "' must be between " + std::to_string(lo) + " and " + std::to_string(hi) +
                  ", got " + std::to_string(i));
    return std::nullopt;
  }
  return i;
}

std::optional<bool> FieldReader::boolean(const char* key) {
  const nlohmann::json* v = failed() ? nullptr : raw(key);
  if (!v) return std::nullopt;
  if (!v->is_boolean()) {
    error_ = bad_request("'" + param(key) + "' must be a boolean", param(key), "invalid_type");
    return std::nullopt;
  }
  return v->get<bool>();
}

std::optional<std::string> FieldReader::string(const char* key) {
  const nlohmann::json* v = failed() ? nullptr : raw(key);
  if (!v) return std::nullopt;
  if (!v->is_string()) {
    error_ = bad_request("'" + param(key) + "' must be a string", param(key), "invalid_type");
    return std::nullopt;
  }
  return v->get<std::string>();
}

std::optional<ApiError> parse_json_object(const std::string& body, nlohmann::json& out) {
  out = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (out.is_discarded()) return bad_request("the request body is not valid JSON", std::nullopt, "invalid_json");
  if (!out.is_object()) return bad_request("the request body must be a JSON object", std::nullopt, "invalid_json");
  return std::nullopt;
}

}  // namespace gs::api
