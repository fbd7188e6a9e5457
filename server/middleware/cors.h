// CORS: one configured origin ("*" or an exact origin). Preflights allow any requested header,
// because the OpenAI SDKs send X-Stainless-* headers a fixed list would block.
#pragma once
#include <optional>
#include <string>

#include "api/http_types.h"

namespace gs::server {

// A 204 for an OPTIONS preflight when CORS is enabled; nullopt otherwise.
std::optional<api::Response> cors_preflight(const api::Request& req, const std::string& origin);
// Adds Access-Control-Allow-Origin (and Vary) to a normal response.
void add_cors_headers(const api::Request& req, const std::string& origin, api::Response& r);

}  // namespace gs::server
