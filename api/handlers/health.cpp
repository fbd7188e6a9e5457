// GET /health (public): 200 when serving, 503 while loading or after a failed load.
#include <nlohmann/json.hpp>

#include "api/handlers/handlers.h"

namespace gs::api {

Response handle_health(const Request&, Services& s) {
  if (s.ready()) {
    // Text is ready; the towers say whether they are warm (loaded), cold (load on first use) or off.
    nlohmann::json mods = {{"text", "ready"}};
    if (auto b = s.backend())
      for (const auto& g : b->engine->stats().media)
        mods[g.name] = !g.allowed ? "disabled" : g.loaded ? "loaded" : "unloaded";
    return Response::json(200, nlohmann::json{{"status", "ok"}, {"modalities", mods}}.dump());
  }
  const std::string err = s.load_error();
  nlohmann::json j = {{"status", err.empty() ? "loading" : "error"}};
  if (!err.empty()) j["error"] = err;
  Response r = Response::json(503, j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  r.headers.emplace_back("Retry-After", "2");
  return r;
}

}  // namespace gs::api
