// Consumes the TokenEvents of the n sequences of one API request and produces the OpenAI
// answer: SSE chunks as tokens arrive (stream) or one JSON body at the end. Owns per-choice
// UTF-8-safe detokenising, stop strings across tokens (cancels the sequence on a match),
// logprobs, usage, finish_reason. Event callbacks run on the engine thread and never block.
#pragma once
#include <chrono>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "api/http_types.h"
#include "api/metrics_registry.h"
#include "api/prompt/text_codec.h"
#include "api/serialize/wire.h"
#include "api/stream/stop_filter.h"
#include "runtime/engine/request.h"

namespace gs::api {

struct GenerationPlan {
  WireHeader header;
  bool stream = false;
  bool include_usage = false;
  int n = 1;
  std::vector<std::string> stop;
  bool logprobs = false;
  int top_logprobs = 0;
  int prompt_tokens = 0;
  int image_tokens = 0, audio_tokens = 0;  // of prompt_tokens, filled by media
};

class GenerationCollector : public std::enable_shared_from_this<GenerationCollector> {
 public:
  GenerationCollector(GenerationPlan plan, std::shared_ptr<const TextCodec> codec, MetricsRegistry* metrics,
                      std::shared_ptr<RequestLog> log);

  // Sink for choice `index`; hand it to the engine in GenerationRequest::sink.
  std::shared_ptr<runtime::EventSink> sink_for(int index);
  void set_handle(int index, runtime::RequestHandle h);
  // Peer went away, or a later submit failed: cancel every sequence, emit nothing more.
  void abort();

  // Exactly one of these is set, by plan.stream. The stream already holds the role chunks.
  std::shared_ptr<SseChannel> channel() const { return channel_; }
  std::shared_ptr<PendingResponse> pending() const { return pending_; }

  void on_event(int index, const runtime::TokenEvent& ev);

 private:
  struct Choice {
    std::unique_ptr<StreamDecoder> decoder;
    std::unique_ptr<StopFilter> stop;
    std::string text;
    std::vector<LogprobEntry> logprobs, pending_logprobs;
    runtime::RequestHandle handle;
    int tokens = 0, engine_tokens = -1;
    bool done = false;
    std::string finish_reason;
  };
  void on_token(int index, Choice& c, const runtime::TokenEvent& ev);
  void on_finished(int index, Choice& c, const runtime::TokenEvent& ev);
  void emit_text(int index, Choice& c, const std::string& text, bool final_flush);
  void finish_choice(int index, Choice& c, std::string reason);
  void fail(const runtime::Error& e);
  void maybe_finalize();
  LogprobEntry make_logprob_entry(const runtime::TokenEvent& ev) const;

  std::mutex mu_;
  GenerationPlan plan_;
  std::shared_ptr<const TextCodec> codec_;
  MetricsRegistry* metrics_;
  std::shared_ptr<RequestLog> log_;
  std::set<int32_t> stop_ids_;
  std::vector<Choice> choices_;
  std::shared_ptr<SseChannel> channel_;
  std::shared_ptr<PendingResponse> pending_;
  std::chrono::steady_clock::time_point start_;
  double ttft_s_ = -1;
  bool finalized_ = false;
};

}  // namespace gs::api
