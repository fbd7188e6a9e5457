#include "api/metrics_registry.h"

#include <cstdio>

namespace gs::api {
namespace {

std::string num(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

void gauge(std::string& out, const std::string& name, const std::string& help, const std::string& type, double v) {
  out += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n" + name + " " + num(v) + "\n";
}


std::string escape_label(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '\\' || c == '"') o += '\\';
    if (c == '\n') { o += "\\n"; continue; }
    o += c;
  }
  return o;
}

// One labelled metric family: HELP/TYPE, then `name{label="..."} value` per item.
template <typename Items, typename Row>
void family(std::string& out, const std::string& name, const std::string& help, const std::string& type,
            const std::string& label, const Items& items, Row row) {
  out += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
  for (const auto& item : items) {
    const auto [key, value] = row(item);
    out += name + "{" + label + "=\"" + escape_label(key) + "\"} " + value + "\n";
  }
}

}  // namespace

Histogram::Histogram(std::vector<double> upper_bounds)
    : bounds_(std::move(upper_bounds)), counts_(bounds_.size() + 1, 0) {}

void Histogram::observe(double v) {
  size_t i = 0;
  while (i < bounds_.size() && v > bounds_[i]) ++i;
  ++counts_[i];
  sum_ += v;
  ++count_;
}

void Histogram::render(std::string& out, const std::string& name, const std::string& help) const {
  out += "# HELP " + name + " " + help + "\n# TYPE " + name + " histogram\n";
  uint64_t cum = 0;
  for (size_t i = 0; i < bounds_.size(); ++i) {
    cum += counts_[i];
    out += name + "_bucket{le=\"" + num(bounds_[i]) + "\"} " + std::to_string(cum) + "\n";
  }
  out += name + "_bucket{le=\"+Inf\"} " + std::to_string(count_) + "\n";
  out += name + "_sum " + num(sum_) + "\n" + name + "_count " + std::to_string(count_) + "\n";
}

MetricsRegistry::MetricsRegistry()
    : ttft_({0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}),
      token_latency_({0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5}),
      request_duration_({0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300}) {}

void MetricsRegistry::count_request(const std::string& route, int status) {
  std::lock_guard lk(mu_);
  ++requests_[{route, status}];
}

void MetricsRegistry::observe_generation(int prompt_tokens, int completion_tokens, double ttft_s, double total_s) {
  std::lock_guard lk(mu_);
  prompt_tokens_ += static_cast<uint64_t>(std::max(0, prompt_tokens));
  completion_tokens_ += static_cast<uint64_t>(std::max(0, completion_tokens));
  if (completion_tokens > 0) ttft_.observe(ttft_s);
  if (completion_tokens > 1) token_latency_.observe((total_s - ttft_s) / (completion_tokens - 1));
  request_duration_.observe(total_s);
}

std::string MetricsRegistry::render(const std::optional<runtime::EngineStats>& stats, bool ready) const {
  std::string out;
  std::lock_guard lk(mu_);
  out += "# HELP gemma3n_http_requests_total HTTP requests by route and status.\n"
         "# TYPE gemma3n_http_requests_total counter\n";
  for (const auto& [key, n] : requests_)
    out += "gemma3n_http_requests_total{route=\"" + escape_label(key.first) + "\",status=\"" +
           std::to_string(key.second) + "\"} " + std::to_string(n) + "\n";
  gauge(out, "gemma3n_ready", "1 when the model is loaded and serving.", "gauge", ready ? 1 : 0);
  gauge(out, "gemma3n_prompt_tokens_total", "Prompt tokens of finished API requests.", "counter",
        static_cast<double>(prompt_tokens_));
  gauge(out, "gemma3n_completion_tokens_total", "Completion tokens of finished API requests.", "counter",
        static_cast<double>(completion_tokens_));
  ttft_.render(out, "gemma3n_time_to_first_token_seconds", "Time from request to first generated token.");
  token_latency_.render(out, "gemma3n_time_per_output_token_seconds", "Mean time between generated tokens, per request.");
  request_duration_.render(out, "gemma3n_request_duration_seconds", "Generation request duration.");
  if (!stats) return out;
  const runtime::EngineStats& s = *stats;
  gauge(out, "gemma3n_engine_requests_total", "Requests the engine accepted.", "counter", static_cast<double>(s.requests_total));
  gauge(out, "gemma3n_engine_requests_active", "Sequences being prefilled or decoded.", "gauge", static_cast<double>(s.requests_active));
  gauge(out, "gemma3n_queue_depth", "Requests waiting for a slot.", "gauge", static_cast<double>(s.queue_depth));
  gauge(out, "gemma3n_engine_prompt_tokens_total", "Prompt tokens the engine processed.", "counter", static_cast<double>(s.prompt_tokens_total));
  gauge(out, "gemma3n_engine_completion_tokens_total", "Tokens the engine generated.", "counter", static_cast<double>(s.completion_tokens_total));
  gauge(out, "gemma3n_prefill_tokens_per_second", "Recent prefill throughput.", "gauge", s.prefill_tokens_per_s);
  gauge(out, "gemma3n_decode_tokens_per_second", "Recent decode throughput.", "gauge", s.decode_tokens_per_s);
  gauge(out, "gemma3n_engine_steps_total", "Forward steps the engine ran.", "counter", static_cast<double>(s.steps_total));
  gauge(out, "gemma3n_engine_mixed_size_steps_total", "Steps that served several MatFormer sizes at once.", "counter",
        static_cast<double>(s.mixed_size_steps));
  gauge(out, "gemma3n_kv_cache_bytes", "KV cache bytes in use.", "gauge", static_cast<double>(s.kv_bytes_in_use));
  const auto groups = [&](const char* name, const char* help, const char* type, auto value) {
    family(out, name, help, type, "group", s.groups, [&](const auto& g) { return std::make_pair(g.name, value(g)); });
  };
  groups("gemma3n_weights_resident_bytes", "Resident bytes per parameter group.", "gauge",
         [](const auto& g) { return std::to_string(g.resident_bytes); });
  groups("gemma3n_weights_mapped_bytes", "Memory-mapped bytes per parameter group.", "gauge",
         [](const auto& g) { return std::to_string(g.mapped_bytes); });
  const auto media = [&](const char* name, const char* help, const char* type, auto value) {
    family(out, name, help, type, "group", s.media, [&](const auto& g) { return std::make_pair(g.name, value(g)); });
  };
  media("gemma3n_group_loaded", "Whether a lazily loaded group (vision, audio) is in memory.", "gauge",
        [](const auto& g) { return std::string(g.loaded ? "1" : "0"); });
  media("gemma3n_group_loads_total", "Loads of a lazily loaded group.", "counter",
        [](const auto& g) { return std::to_string(g.loads); });
  media("gemma3n_group_unloads_total", "Idle unloads of a group.", "counter",
        [](const auto& g) { return std::to_string(g.unloads); });
  media("gemma3n_group_load_seconds", "Duration of the last load (and first encode) of a group.", "gauge",
        [](const auto& g) { return std::to_string(g.last_load_s); });
  gauge(out, "gemma3n_ple_cache_hits_total", "Per-layer-embedding rows served from the hot-row cache.", "counter",
        static_cast<double>(s.ple_hits));
  gauge(out, "gemma3n_ple_cache_misses_total", "Per-layer-embedding rows read from the mapped table.", "counter",
        static_cast<double>(s.ple_misses));
  gauge(out, "gemma3n_ple_cache_bytes", "Bytes of per-layer-embedding rows held in the cache.", "gauge",
        static_cast<double>(s.ple_cached_bytes));
  family(out, "gemma3n_requests_by_size_total", "Requests per MatFormer size.", "counter", "size", s.requests_by_size,
         [](const auto& kv) { return std::make_pair(kv.first, std::to_string(kv.second)); });
  return out;
}

}  // namespace gs::api
