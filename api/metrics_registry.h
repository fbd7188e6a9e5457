// Prometheus text exposition: request counters and latency histograms kept here, plus gauges
// read from the engine's stats at scrape time. Thread-safe.
#pragma once
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "runtime/engine/engine.h"

namespace gs::api {

class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);
  void observe(double v);
  void render(std::string& out, const std::string& name, const std::string& help) const;

 private:
  std::vector<double> bounds_;
  std::vector<uint64_t> counts_;  // per bucket (not cumulative)
  double sum_ = 0;
  uint64_t count_ = 0;
};

class MetricsRegistry {
 public:
  MetricsRegistry();
  void count_request(const std::string& route, int status);
  void observe_generation(int prompt_tokens, int completion_tokens, double ttft_s, double total_s);
  // Engine gauges are optional: while loading there is no engine yet.
  std::string render(const std::optional<runtime::EngineStats>& stats, bool ready) const;

 private:
  mutable std::mutex mu_;
  std::map<std::pair<std::string, int>, uint64_t> requests_;
  Histogram ttft_;
  Histogram token_latency_;
  Histogram request_duration_;
  uint64_t prompt_tokens_ = 0, completion_tokens_ = 0;
};

}  // namespace gs::api
