// What handlers share: settings, metrics, and the backend (engine + text codec) once loaded.
// The backend is set after the server is already listening, so /health can answer 503 while
// the model loads.
#pragma once
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "api/media_workers.h"
#include "api/metrics_registry.h"
#include "api/parse/options_parse.h"
#include "api/prompt/image_source.h"
#include "api/prompt/text_codec.h"
#include "runtime/engine/engine.h"

namespace gs::api {

struct ApiSettings {
  std::string model_name = "gemma-3n";   // public id for the default model
  int default_max_tokens = 1024;
  ParseLimits limits;
  int64_t max_upload_bytes = 25 << 20;   // multipart uploads (/v1/audio/*): the file part's cap
  int64_t created = 0;                   // unix time shown in /v1/models
  std::string owned_by = "gemma3n-server";
  std::string notice;                    // shown in /v1/models (e.g. the demo model's warning)
  ImageSourcePolicy image_sources;       // which image_url sources are allowed (+ the injected fetcher)
};

struct Backend {
  std::shared_ptr<runtime::Engine> engine;
  std::shared_ptr<const TextCodec> codec;
};

class Services {
 public:
  explicit Services(ApiSettings settings)
      : settings_(std::move(settings)), media_workers_(std::make_unique<MediaWorkers>(2, 64)) {}
  const ApiSettings& settings() const { return settings_; }
  // Where requests with media (image URLs, uploads) are prepared, off the I/O threads.
  MediaWorkers& media_workers() { return *media_workers_; }
  MetricsRegistry& metrics() { return metrics_; }

  void set_backend(Backend b);
  void set_load_error(std::string message);
  std::optional<Backend> backend() const;     // nullopt while loading (or after a failed load)
  bool ready() const;                         // backend present and engine ready
  std::string load_error() const;

 private:
  ApiSettings settings_;
  MetricsRegistry metrics_;
  mutable std::mutex mu_;
  std::optional<Backend> backend_;
  std::string load_error_;
  std::unique_ptr<MediaWorkers> media_workers_;  // last: joined first, while the rest is alive
};

}  // namespace gs::api
