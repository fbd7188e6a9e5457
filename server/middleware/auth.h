// Optional API key: "Authorization: Bearer KEY", compared in constant time. /health is public.
#pragma once
#include <optional>
#include <string>

#include "api/http_types.h"

namespace gs::server {

bool constant_time_equal(const std::string& a, const std::string& b);
// nullopt: allowed; otherwise the 401 to send.
std::optional<api::Response> check_auth(const api::Request& req, const std::string& api_key);

}  // namespace gs::server
