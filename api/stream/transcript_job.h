// Runs one transcription/translation: the clips of the decoded audio go to the engine in order,
// at most kMaxInFlight at a time (later clips are submitted from the event callbacks as earlier
// ones finish), and their text is stitched back together in clip order: streamed as
// transcript.text.delta events, or returned as one body in the requested format at the end.
// Event callbacks run on engine threads and never block beyond a short mutex.
#pragma once
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "api/errors.h"
#include "api/http_types.h"
#include "api/metrics_registry.h"
#include "api/parse/transcription_parse.h"
#include "api/prompt/text_codec.h"
#include "api/serialize/transcript_serialize.h"
#include "runtime/audio/segment.h"
#include "runtime/engine/engine.h"

namespace gs::api {

struct TranscriptPlan {
  bool stream = false;
  TranscriptFormat format = TranscriptFormat::kJson;
  bool translate = false;
  std::string language;                         // full name for verbose_json
  std::vector<int32_t> prompt;                  // the same chat prompt for every clip
  std::vector<float> pcm;                       // mono 16 kHz
  std::vector<runtime::audio::ClipRange> clips;
  runtime::SamplingParams sampling;
  int max_tokens = 448;                         // per clip cap (shorter clips get less)
  std::string engine_model;
  int audio_tokens_per_clip = 0;
};

class TranscriptJob : public std::enable_shared_from_this<TranscriptJob> {
 public:
  static constexpr size_t kMaxInFlight = 4;
  static constexpr int kSampleRate = 16000;
  static constexpr double kSilentRms = 1e-4;    // ≈ -80 dBFS: digital silence, not sent to the model

  TranscriptJob(TranscriptPlan plan, std::shared_ptr<runtime::Engine> engine, std::shared_ptr<const TextCodec> codec,
                MetricsRegistry* metrics, std::shared_ptr<RequestLog> log);

  // Submits the first clips. An error here means nothing was sent to the client yet.
  std::optional<ApiError> start();
  // The peer went away: cancel every clip, emit nothing more.
  void abort();
  std::shared_ptr<SseChannel> channel() const { return channel_; }
  std::shared_ptr<PendingResponse> pending() const { return pending_; }

  void on_event(size_t clip, const runtime::TokenEvent& ev);

 private:
  struct Clip {
    std::unique_ptr<StreamDecoder> decoder;
    std::string text;                 // raw model text
    size_t emitted = 0;               // bytes of `text` already passed to the stitcher
    bool started = false;             // stitcher: first non-space byte seen
    std::string held_space;           // stitcher: trailing blanks not yet emitted
    std::vector<int32_t> tokens;
    double logprob_sum = 0;
    int engine_tokens = -1;
    bool submitted = false, done = false, silent = false;
    runtime::RequestHandle handle;
  };
  std::optional<runtime::Error> pump_submissions();
  std::optional<runtime::Error> submit_clip(size_t i);
  void on_token(Clip& c, const runtime::TokenEvent& ev);
  void on_finished(size_t i, Clip& c, const runtime::TokenEvent& ev);
  void stitch_ready();
  std::string stitch(Clip& c, std::string_view piece);
  void fail(const runtime::Error& e);
  void finalize();
  Transcript build_transcript() const;

  std::mutex mu_;
  TranscriptPlan plan_;
  std::shared_ptr<runtime::Engine> engine_;
  std::shared_ptr<const TextCodec> codec_;
  MetricsRegistry* metrics_;
  std::shared_ptr<RequestLog> log_;
  std::vector<int32_t> stop_ids_;
  std::vector<Clip> clips_;
  size_t next_submit_ = 0, head_ = 0, in_flight_ = 0;
  std::string text_;                  // stitched output so far
  bool any_text_ = false;
  std::shared_ptr<SseChannel> channel_;
  std::shared_ptr<PendingResponse> pending_;
  std::chrono::steady_clock::time_point start_;
  double ttft_s_ = -1;
  bool finished_ = false;
};

}  // namespace gs::api
