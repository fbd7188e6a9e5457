#include "api/media_workers.h"

#include <exception>
#include <spdlog/spdlog.h>

#include "api/errors.h"

namespace gs::api {

MediaWorkers::MediaWorkers(int threads, size_t max_queue) : max_queue_(max_queue) {
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { run(); });
}

MediaWorkers::~MediaWorkers() {
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
}

bool MediaWorkers::post(std::function<void()> job) {
  {
    std::lock_guard lk(mu_);
    if (stopping_ || queue_.size() >= max_queue_) return false;
    queue_.push_back(std::move(job));
  }
  cv_.notify_one();
  return true;
}

void MediaWorkers::run() {
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock lk(mu_);
      cv_.wait(lk, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping and drained
      job = std::move(queue_.front());
      queue_.pop_front();
      ++running_;
    }
    job();
    job = nullptr;  // release the captures before the job counts as done
    {
      std::lock_guard lk(mu_);
      --running_;
    }
    idle_cv_.notify_all();
  }
}

bool MediaWorkers::wait_idle(std::chrono::milliseconds timeout) {
  std::unique_lock lk(mu_);
  return idle_cv_.wait_for(lk, timeout, [&] { return queue_.empty() && running_ == 0; });
}

Response run_off_io_thread(MediaWorkers& pool, std::function<Response()> work) {
  auto pending = std::make_shared<PendingResponse>();
  const bool queued = pool.post([pending, work = std::move(work)] {
    Response r;
    try {
      r = work();
    } catch (const std::exception& e) {  // handlers should not throw; never lose the request
      spdlog::error("media worker: {}", e.what());
      r = error_response(internal_error("internal error"));
    }
    pending->complete(std::move(r));
  });
  if (!queued) {
    return error_response(from_runtime_error(
        runtime::make_error(runtime::ErrorCode::kResourceExhausted, "too many media requests are being prepared; retry shortly")));
  }
  Response r;
  r.pending = std::move(pending);
  return r;
}

}  // namespace gs::api
