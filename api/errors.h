// ApiError: the one error value of the API layer, and its OpenAI wire form
// {"error":{"message","type","param","code"}} with the HTTP status and retry headers.
#pragma once
#include <optional>
#include <string>

#include "api/http_types.h"
#include "runtime/core/status.h"

namespace gs::api {

struct ApiError {
  int status = 400;
  std::string message;
  std::string type = "invalid_request_error";
  std::optional<std::string> param;
  std::optional<std::string> code;
  int retry_after_s = 0;                 // >0: send Retry-After (429/503)
};

ApiError bad_request(std::string message, std::optional<std::string> param = std::nullopt,
                     std::optional<std::string> code = std::nullopt);
ApiError not_found(std::string message, std::optional<std::string> code = std::nullopt);
ApiError unavailable(std::string message, int retry_after_s = 2);
ApiError internal_error(std::string message);

// Maps runtime errors from submit() or failed events to the HTTP errors clients expect.
ApiError from_runtime_error(const runtime::Error& e);

// {"error":{...}} as a string.
std::string error_body(const ApiError& e);
// The full response: status, body, Retry-After, x-should-retry: false on 4xx other than 429.
Response error_response(const ApiError& e);


}  // namespace gs::api
