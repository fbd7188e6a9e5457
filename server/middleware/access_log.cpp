#include "server/middleware/access_log.h"

#include <spdlog/spdlog.h>

namespace gs::server {

void log_request(const api::Request& req, int status, std::chrono::steady_clock::time_point start, bool streamed) {
  const double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::string model;
  int prompt = 0, completion = 0;
  double ttft = 0;
  {
    std::lock_guard lk(req.log->mu);
    model = req.log->model;
    prompt = req.log->prompt_tokens;
    completion = req.log->completion_tokens;
    ttft = req.log->ttft_s;
  }
  if (model.empty()) {
    spdlog::info("{} {} {} {} total={:.3f}s", req.id, req.method, req.path, status, total);
    return;
  }
  spdlog::info("{} {} {} {} model={} prompt_tokens={} completion_tokens={} ttft={:.3f}s total={:.3f}s{}", req.id,
               req.method, req.path, status, model, prompt, completion, ttft, total, streamed ? " stream" : "");
}

}  // namespace gs::server
