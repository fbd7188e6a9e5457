// A small pool for request work that must not run on the HTTP I/O threads: fetching image URLs
// (up to --image-fetch-timeout), decoding and resizing images, decoding uploaded audio. With two
// I/O threads, two slow fetches would otherwise stall every connection, /health included.
#pragma once
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "api/http_types.h"

namespace gs::api {

class MediaWorkers {
 public:
  MediaWorkers(int threads, size_t max_queue);
  ~MediaWorkers();  // finishes queued work, joins
  MediaWorkers(const MediaWorkers&) = delete;
  MediaWorkers& operator=(const MediaWorkers&) = delete;
  // False when the queue is full (the caller answers 429).
  bool post(std::function<void()> job);
  // Waits until nothing is queued or running (a job's captures, e.g. an HTTP session, are released
  // before it counts as done). The server calls this before its I/O context goes away. False on
  // timeout.
  bool wait_idle(std::chrono::milliseconds timeout);

 private:
  void run();
  std::mutex mu_;
  std::condition_variable cv_;
  std::condition_variable idle_cv_;
  int running_ = 0;
  std::deque<std::function<void()>> queue_;
  size_t max_queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

// Runs `work` on the pool and answers with its Response later (through a PendingResponse; the
// Response it produces may itself be pending or a stream). Queue full: 429 at once.
Response run_off_io_thread(MediaWorkers& pool, std::function<Response()> work);

}  // namespace gs::api
