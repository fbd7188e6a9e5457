// GET /metrics: Prometheus text format 0.0.4.
#include "api/handlers/handlers.h"

namespace gs::api {

Response handle_metrics(const Request&, Services& s) {
  std::optional<runtime::EngineStats> stats;
  if (auto b = s.backend()) stats = b->engine->stats();
  Response r = Response::json(200, s.metrics().render(stats, s.ready()));
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  return r;
}

}  // namespace gs::api
