// The engine: one thread that owns the model, the KV caches and the sequences. Everyone else
// talks to it through submit() (thread-safe, returns at once) and the EventSink of each request.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "runtime/core/status.h"
#include <span>

#include "runtime/engine/cost_model.h"
#include "runtime/engine/media_runtime.h"
#include "runtime/engine/request.h"

namespace gs::runtime {

struct EngineOptions {
  std::string model_dir;
  std::string model_id;           // public id of the full model ("" = the directory's name)
  std::string weights = "auto";   // f32 | bf16 | q8 | q4 | auto (storage dtype)
  int threads = 0;                // compute threads, 0 = all cores
  int max_batch = 8;              // sequences decoded together
  int max_queue = 64;             // waiting requests before submit() answers kResourceExhausted
  int max_context = 32768;
  // Rows of a prompt per step. 256 prefills as fast as 512 (E2B q4 pp512: 66.7-68.5 tok/s vs
  // 67.2) with half the transient activations (peak RSS 1.50 GiB instead of 1.59).
  int prefill_chunk = 256;
  std::string default_size;       // MatFormer size id used without a budget ("" = full model)
  int64_t memory_budget_bytes = 0;  // weights + KV cache; 0 = unlimited
  MediaOptions media;               // which modalities may load, preloading, idle unload
  int64_t ple_cache_bytes = int64_t{64} << 20;  // hot PLE rows kept in RAM
  std::vector<std::string> custom_slices;       // slice JSON files served besides the presets
  std::string convert_cache_dir;                // quantized weights cached here; "" = off
};

struct ModelInfo {
  std::string id;                 // size id: the model name, or "<model>:<slice>" ids
  int64_t effective_params = 0;
  bool loaded = false;
};

struct EngineStats {
  int64_t requests_total = 0, requests_active = 0, queue_depth = 0;
  int64_t prompt_tokens_total = 0, completion_tokens_total = 0;
  double prefill_tokens_per_s = 0, decode_tokens_per_s = 0;
  int64_t steps_total = 0, mixed_size_steps = 0;       // forward steps; those serving several sizes
  int64_t kv_bytes_in_use = 0;
  std::map<std::string, int64_t> requests_by_size;   // which MatFormer size served how many
  std::vector<MediaGroupState> media;
  int64_t ple_hits = 0, ple_misses = 0, ple_cached_bytes = 0;
  struct Group { std::string name; int64_t params = 0; int64_t resident_bytes = 0; int64_t mapped_bytes = 0; std::string state; };
  std::vector<Group> groups;
};

class Engine {
 public:
  virtual ~Engine() = default;
  // Thread-safe. Errors: kInvalidArgument (bad request), kResourceExhausted (queue full),
  // kUnavailable (shutting down).
  virtual Expected<RequestHandle> submit(GenerationRequest req) = 0;
  virtual std::vector<ModelInfo> models() const = 0;
  // The size id that would serve `req` now: its model if it names one, else the largest size
  // predicted to meet its latency budget under the current load (the default size without one).
  // kNotFound for an unknown model.
  virtual Expected<SizeChoice> choose_size(const GenerationRequest& req) const = 0;
  virtual EngineStats stats() const = 0;
  virtual bool ready() const = 0;
  // Decodes and preprocesses client media bytes (caller's thread; cheap). kInvalidArgument for bad
  // or disabled media. The result goes into GenerationRequest::media, in placeholder order.
  virtual Expected<MediaInput> prepare_media(MediaInput::Kind kind, std::span<const uint8_t> bytes) const = 0;
  // Placeholder tokens one media item expands to in the prompt (0: that modality is unavailable).
  virtual int media_tokens(MediaInput::Kind kind) const = 0;
  // Stops accepting, cancels what is still running after `deadline_s`, joins the thread.
  virtual void shutdown(double deadline_s) = 0;
};

// Creates the engine and loads the text model (blocking). Throws LoadError on a bad model.
std::unique_ptr<Engine> create_engine(const EngineOptions& opts);

}  // namespace gs::runtime
