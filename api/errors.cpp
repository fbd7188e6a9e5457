#include "api/errors.h"

#include <nlohmann/json.hpp>

namespace gs::api {

ApiError bad_request(std::string message, std::optional<std::string> param, std::optional<std::string> code) {
  ApiError e;
  e.message = std::move(message);
  e.param = std::move(param);
  e.code = std::move(code);
  return e;
}

ApiError not_found(std::string message, std::optional<std::string> code) {
  ApiError e;
  e.status = 404;
  e.message = std::move(message);
  e.code = std::move(code);
  return e;
}

ApiError unavailable(std::string message, int retry_after_s) {
  ApiError e;
  e.status = 503;
  e.type = "server_error";
  e.message = std::move(message);
  e.retry_after_s = retry_after_s;
  return e;
}

ApiError internal_error(std::string message) {
  ApiError e;
  e.status = 500;
  e.type = "server_error";
  e.message = std::move(message);
  return e;
}

ApiError from_runtime_error(const runtime::Error& err) {
  using runtime::ErrorCode;
  switch (err.code) {
    case ErrorCode::kInvalidArgument: return bad_request(err.message);
    case ErrorCode::kNotFound: return not_found(err.message, "model_not_found");
    case ErrorCode::kUnsupported: return bad_request(err.message, std::nullopt, "unsupported");
    case ErrorCode::kResourceExhausted: {
      ApiError e;
      e.status = 429;
      e.type = "rate_limit_error";
      e.code = "queue_full";
      e.message = err.message.empty() ? "the server is busy; retry shortly" : err.message;
      e.retry_after_s = 1;
      return e;
    }
    case ErrorCode::kUnavailable: return unavailable(err.message.empty() ? "the model is not available" : err.message);
    case ErrorCode::kCancelled: {
      ApiError e = unavailable(err.message.empty() ? "the request was cancelled" : err.message);
      e.code = "cancelled";
      return e;
    }
    default: return internal_error(err.message.empty() ? "internal error" : err.message);
  }
}

std::string error_body(const ApiError& e) {
  nlohmann::json j = {{"error",
                       {{"message", e.message},
                        {"type", e.type},
                        {"param", e.param ? nlohmann::json(*e.param) : nlohmann::json(nullptr)},
                        {"code", e.code ? nlohmann::json(*e.code) : nlohmann::json(nullptr)}}}};
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Response error_response(const ApiError& e) {
  Response r = Response::json(e.status, error_body(e));
  if (e.retry_after_s > 0) r.headers.emplace_back("Retry-After", std::to_string(e.retry_after_s));
  if (e.status >= 400 && e.status < 500 && e.status != 429 && e.status != 408 && e.status != 409)
    r.headers.emplace_back("x-should-retry", "false");
  return r;
}

}  // namespace gs::api
