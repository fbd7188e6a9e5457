#include "server/middleware/auth.h"

#include "api/errors.h"

namespace gs::server {

bool constant_time_equal(const std::string& a, const std::string& b) {
  // Runs over the longer length so timing reveals neither a matching prefix nor the key length
  // beyond what the caller already sent.
  const size_t n = std::max(a.size(), b.size());
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < n; ++i) {
    const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    const unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff |= static_cast<unsigned char>(x ^ y);
  }
  return diff == 0;
}

std::optional<api::Response> check_auth(const api::Request& req, const std::string& api_key) {
  if (api_key.empty() || req.path == "/health") return std::nullopt;
  std::string presented;
  if (const std::string* h = req.header("authorization")) {
    static const std::string kBearer = "bearer ";
    if (h->size() > kBearer.size()) {
      std::string scheme = h->substr(0, kBearer.size());
      for (char& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (scheme == kBearer) presented = h->substr(kBearer.size());
    }
  }
  if (!presented.empty() && constant_time_equal(presented, api_key)) return std::nullopt;
  api::ApiError e;
  e.status = 401;
  e.message = presented.empty() ? "missing API key: send 'Authorization: Bearer <key>'" : "incorrect API key provided";
  e.code = "invalid_api_key";
  api::Response r = api::error_response(e);
  r.headers.emplace_back("WWW-Authenticate", "Bearer");
  return r;
}

}  // namespace gs::server
