#include "server/router.h"

#include <exception>
#include <spdlog/spdlog.h>

#include "api/errors.h"
#include "api/handlers/handlers.h"

namespace gs::server {
namespace {

std::vector<std::string> split_path(const std::string& p) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < p.size()) {
    if (p[i] == '/') { ++i; continue; }
    size_t j = p.find('/', i);
    if (j == std::string::npos) j = p.size();
    out.push_back(p.substr(i, j - i));
    i = j;
  }
  return out;
}

// "{name}" captures one segment; a final "{name...}" captures the rest (model ids such as
// "google/gemma-3n-E2B-it" contain slashes).
bool match(const std::string& pattern, const std::string& path, std::vector<std::string>& params) {
  const auto ps = split_path(pattern), xs = split_path(path);
  const bool rest = !ps.empty() && ps.back().size() > 5 && ps.back().ends_with("...}");
  if (rest ? xs.size() < ps.size() : ps.size() != xs.size()) return false;
  std::vector<std::string> got;
  for (size_t i = 0; i < ps.size(); ++i) {
    if (rest && i + 1 == ps.size()) {
      std::string joined = xs[i];
      for (size_t j = i + 1; j < xs.size(); ++j) joined += "/" + xs[j];
      got.push_back(std::move(joined));
    } else if (ps[i].size() > 1 && ps[i].front() == '{') {
      got.push_back(xs[i]);
    } else if (ps[i] != xs[i]) {
      return false;
    }
  }
  params = std::move(got);
  return true;
}

}  // namespace

void Router::add(std::string method, std::string pattern, Handler h) {
  routes_.push_back({std::move(method), std::move(pattern), std::move(h)});
}

api::Response Router::dispatch(api::Request& req, api::Services& s, std::string& route) const {
  bool path_matched = false;
  for (const Route& r : routes_) {
    std::vector<std::string> params;
    if (!match(r.pattern, req.path, params)) continue;
    path_matched = true;
    if (r.method != req.method) continue;
    route = r.pattern;
    req.path_params = std::move(params);
    try {
      return r.handler(req, s);
    } catch (const std::exception& e) {  // handlers should not throw; never let it reach the socket
      spdlog::error("request {}: handler for {} threw: {}", req.id, r.pattern, e.what());
      return api::error_response(api::internal_error("internal error"));
    } catch (...) {
      spdlog::error("request {}: handler for {} threw a non-standard exception", req.id, r.pattern);
      return api::error_response(api::internal_error("internal error"));
    }
  }
  route = path_matched ? req.path : "unmatched";
  if (path_matched) {
    api::ApiError e = api::bad_request("method " + req.method + " is not allowed on " + req.path);
    e.status = 405;
    return api::error_response(e);
  }
  return api::error_response(api::not_found("no such endpoint: " + req.method + " " + req.path, "not_found"));
}

Router Router::openai_routes() {
  Router r;
  r.add("POST", "/v1/chat/completions", api::handle_chat_completions);
  r.add("POST", "/v1/completions", api::handle_completions);
  r.add("POST", "/v1/audio/transcriptions", api::handle_audio_transcriptions);
  r.add("POST", "/v1/audio/translations", api::handle_audio_translations);
  r.add("GET", "/v1/models", api::handle_list_models);
  r.add("GET", "/v1/models/{id...}", api::handle_get_model);
  r.add("GET", "/health", api::handle_health);
  r.add("GET", "/metrics", api::handle_metrics);
  return r;
}

}  // namespace gs::server
