// What callers hand the engine (GenerationRequest) and what it sends back (TokenEvent).
// Plain structs, no HTTP or OpenAI names: api/ translates them to and from the wire.
#pragma once
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "runtime/core/status.h"

namespace gs::runtime {

struct SamplingParams {
  float temperature = 1.0f;          // 0: greedy
  float top_p = 1.0f;
  int top_k = 0;                     // 0: off
  float min_p = 0.0f;
  float presence_penalty = 0.0f;
  float frequency_penalty = 0.0f;
  float repetition_penalty = 1.0f;
  std::optional<uint64_t> seed;
  int top_logprobs = 0;              // >0: report that many alternatives per token
  bool logprobs = false;
};

struct LatencyBudget {
  std::optional<double> ttft_s;      // target time to first token
  std::optional<double> total_s;     // target end-to-end time for max_tokens
};

// One media item to encode and splice into the prompt at its placeholder run.
struct MediaInput {
  enum class Kind { kImage, kAudio } kind = Kind::kImage;
  std::vector<float> data;           // image: [3, H, W] in [0,1]; audio: mono 16 kHz samples
  int height = 0, width = 0;         // images only
};

struct FinishInfo {
  enum class Reason { kStop, kLength, kCancelled, kError } reason = Reason::kStop;
  int prompt_tokens = 0;
  int completion_tokens = 0;
  double queue_s = 0, ttft_s = 0, total_s = 0;
  std::string model;                 // the MatFormer size that served it
  bool budget_met = true;
};

struct TokenEvent {
  enum class Kind { kToken, kFinished, kFailed } kind = Kind::kToken;
  int32_t token = -1;
  float logprob = 0.f;
  std::vector<std::pair<int32_t, float>> top_logprobs;
  FinishInfo finish;                 // kFinished
  Error error;                       // kFailed
};

// Receives events on the engine thread. Must not block: enqueue and return.
class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual void on_event(const TokenEvent& ev) = 0;
};

struct GenerationRequest {
  std::vector<int32_t> prompt;       // token ids, BOS included
  std::vector<MediaInput> media;     // in placeholder order
  SamplingParams sampling;
  int max_tokens = 256;
  std::vector<int32_t> stop_tokens;  // in addition to the model's EOS ids
  std::string model;                 // requested size id ("" = default)
  LatencyBudget budget;
  std::shared_ptr<EventSink> sink;
};

// Handle to a submitted request. cancel() is idempotent and thread-safe.
class RequestHandle {
 public:
  RequestHandle() = default;
  explicit RequestHandle(std::shared_ptr<std::atomic<bool>> flag) : cancelled_(std::move(flag)) {}
  void cancel() const {
    if (cancelled_) cancelled_->store(true);
  }
  bool valid() const { return cancelled_ != nullptr; }

 private:
  std::shared_ptr<std::atomic<bool>> cancelled_;
};

}  // namespace gs::runtime
