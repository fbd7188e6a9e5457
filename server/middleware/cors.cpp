#include "server/middleware/cors.h"

namespace gs::server {
namespace {

// The value to send back: "*" or the configured origin when the request came from it.
std::optional<std::string> allowed_origin(const api::Request& req, const std::string& origin) {
  if (origin.empty()) return std::nullopt;
  if (origin == "*") return std::string("*");
  const std::string* o = req.header("origin");
  if (o && *o == origin) return origin;
  return std::nullopt;
}

}  // namespace

std::optional<api::Response> cors_preflight(const api::Request& req, const std::string& origin) {
  if (origin.empty() || req.method != "OPTIONS") return std::nullopt;
  api::Response r;
  r.status = 204;
  r.content_type.clear();
  if (auto allow = allowed_origin(req, origin)) {
    r.headers.emplace_back("Access-Control-Allow-Origin", *allow);
    r.headers.emplace_back("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
    const std::string* h = req.header("access-control-request-headers");
    r.headers.emplace_back("Access-Control-Allow-Headers", h && !h->empty() ? *h : "*");
    r.headers.emplace_back("Access-Control-Max-Age", "600");
    if (origin != "*") r.headers.emplace_back("Vary", "Origin");
  }
  return r;
}

void add_cors_headers(const api::Request& req, const std::string& origin, api::Response& r) {
  if (auto allow = allowed_origin(req, origin)) {
    r.headers.emplace_back("Access-Control-Allow-Origin", *allow);
    r.headers.emplace_back("Access-Control-Expose-Headers", "x-request-id, retry-after");
    if (origin != "*") r.headers.emplace_back("Vary", "Origin");
  }
}

}  // namespace gs::server
