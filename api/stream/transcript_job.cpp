#include "api/stream/transcript_job.h"

#include <algorithm>
#include <cctype>

namespace gs::api {
namespace {

class ClipSink : public runtime::EventSink {
 public:
  ClipSink(std::shared_ptr<TranscriptJob> job, size_t clip) : job_(std::move(job)), clip_(clip) {}
  void on_event(const runtime::TokenEvent& ev) override { job_->on_event(clip_, ev); }

 private:
  std::shared_ptr<TranscriptJob> job_;
  size_t clip_;
};

// The audio encoder needs a few frames; a tiny tail clip is padded with silence.
constexpr size_t kMinClipSamples = 1600;

bool is_blank(char ch) { return std::isspace(static_cast<unsigned char>(ch)) != 0; }

std::string trim(const std::string& s) {
  size_t a = 0, b = s.size();
  while (a < b && is_blank(s[a])) ++a;
  while (b > a && is_blank(s[b - 1])) --b;
  return s.substr(a, b - a);
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

TranscriptJob::TranscriptJob(TranscriptPlan plan, std::shared_ptr<runtime::Engine> engine,
                             std::shared_ptr<const TextCodec> codec, MetricsRegistry* metrics,
                             std::shared_ptr<RequestLog> log)
    : plan_(std::move(plan)), engine_(std::move(engine)), codec_(std::move(codec)), metrics_(metrics),
      log_(std::move(log)), start_(std::chrono::steady_clock::now()) {
  stop_ids_ = codec_->stop_token_ids();
  clips_.resize(plan_.clips.size());
  for (size_t i = 0; i < clips_.size(); ++i) {
    clips_[i].decoder = codec_->stream_decoder();
    clips_[i].silent = runtime::audio::clip_rms(plan_.pcm, plan_.clips[i]) < kSilentRms;
  }
  if (plan_.stream) channel_ = std::make_shared<SseChannel>();
  else pending_ = std::make_shared<PendingResponse>();
}

std::optional<ApiError> TranscriptJob::start() {
  std::lock_guard lk(mu_);
  if (auto e = pump_submissions()) {
    finished_ = true;
    for (Clip& c : clips_) c.handle.cancel();
    return from_runtime_error(*e);
  }
  stitch_ready();
  if (head_ == clips_.size()) finalize();  // every clip was silent
  return std::nullopt;
}

void TranscriptJob::abort() {
  std::lock_guard lk(mu_);
  finished_ = true;
  for (Clip& c : clips_) c.handle.cancel();
  if (channel_) channel_->close();
}

std::optional<runtime::Error> TranscriptJob::pump_submissions() {
  while (next_submit_ < clips_.size() && in_flight_ < kMaxInFlight) {
    const size_t i = next_submit_++;
    Clip& c = clips_[i];
    c.submitted = true;
    if (c.silent) {
      c.done = true;
      continue;
    }
    if (auto e = submit_clip(i)) return e;
    ++in_flight_;
  }
  return std::nullopt;
}

std::optional<runtime::Error> TranscriptJob::submit_clip(size_t i) {
  const runtime::audio::ClipRange r = plan_.clips[i];
  runtime::MediaInput m;
  m.kind = runtime::MediaInput::Kind::kAudio;
  m.data.assign(plan_.pcm.begin() + static_cast<std::ptrdiff_t>(r.begin),
                plan_.pcm.begin() + static_cast<std::ptrdiff_t>(r.end));
  if (m.data.size() < kMinClipSamples) m.data.resize(kMinClipSamples, 0.0f);
  runtime::GenerationRequest g;
  g.prompt = plan_.prompt;
  g.media.push_back(std::move(m));
  g.sampling = plan_.sampling;
  // ~15 tokens per second of audio is above any real speech rate; a bound keeps loops short.
  const int budget = 32 + static_cast<int>(15.0 * static_cast<double>(r.end - r.begin) / kSampleRate);
  g.max_tokens = std::max(1, std::min(plan_.max_tokens, budget));
  g.stop_tokens = stop_ids_;
  g.model = plan_.engine_model;
  g.sink = std::make_shared<ClipSink>(shared_from_this(), i);
  auto h = engine_->submit(std::move(g));
  if (!h) return h.error();
  clips_[i].handle = *h;
  return std::nullopt;
}

void TranscriptJob::on_event(size_t i, const runtime::TokenEvent& ev) {
  std::lock_guard lk(mu_);
  if (finished_ || i >= clips_.size()) return;
  Clip& c = clips_[i];
  if (c.done) return;
  switch (ev.kind) {
    case runtime::TokenEvent::Kind::kToken:
      on_token(c, ev);
      stitch_ready();
      break;
    case runtime::TokenEvent::Kind::kFinished: on_finished(i, c, ev); break;
    case runtime::TokenEvent::Kind::kFailed: fail(ev.error); break;
  }
}

void TranscriptJob::on_token(Clip& c, const runtime::TokenEvent& ev) {
  if (ttft_s_ < 0) ttft_s_ = seconds_since(start_);
  for (int32_t s : stop_ids_)
    if (ev.token == s) return;  // end of turn: the engine finishes the clip next
  c.tokens.push_back(ev.token);
  c.logprob_sum += ev.logprob;
  c.text += c.decoder->push(ev.token);
}

void TranscriptJob::on_finished(size_t, Clip& c, const runtime::TokenEvent& ev) {
  using R = runtime::FinishInfo::Reason;
  if (ev.finish.reason == R::kError) return fail(runtime::make_error(runtime::ErrorCode::kInternal, "transcription failed"));
  if (ev.finish.reason == R::kCancelled)
    return fail(runtime::make_error(runtime::ErrorCode::kCancelled, "the request was cancelled (server shutting down)"));
  c.text += c.decoder->flush();
  c.engine_tokens = ev.finish.completion_tokens;
  c.done = true;
  --in_flight_;
  if (auto e = pump_submissions()) return fail(*e);
  stitch_ready();
  if (head_ == clips_.size()) finalize();
}

// Passes the text of finished-or-current clips to the client in clip order.
void TranscriptJob::stitch_ready() {
  while (head_ < clips_.size()) {
    Clip& c = clips_[head_];
    if (!c.submitted) break;
    std::string out = stitch(c, std::string_view(c.text).substr(c.emitted));
    c.emitted = c.text.size();
    if (!out.empty()) {
      text_ += out;
      if (plan_.stream) channel_->push(transcript_delta_frame(out));
    }
    if (!c.done) break;
    ++head_;
  }
}

// Joins clips as trim(clip_1) + " " + trim(clip_2) ..., incrementally: leading blanks of a clip are
// dropped, trailing ones held back until more text follows.
std::string TranscriptJob::stitch(Clip& c, std::string_view piece) {
  std::string out;
  for (char ch : piece) {
    if (!c.started) {
      if (is_blank(ch)) continue;
      c.started = true;
      if (any_text_) out += ' ';
      any_text_ = true;
      out += ch;
    } else if (is_blank(ch)) {
      c.held_space += ch;
    } else {
      out += c.held_space;
      c.held_space.clear();
      out += ch;
    }
  }
  return out;
}

void TranscriptJob::fail(const runtime::Error& e) {
  finished_ = true;
  for (Clip& c : clips_) c.handle.cancel();
  const ApiError err = from_runtime_error(e);
  if (plan_.stream) {
    channel_->push("data: " + error_body(err) + "\n\n");
    channel_->close();
  } else {
    pending_->complete(error_response(err));
  }
}

Transcript TranscriptJob::build_transcript() const {
  Transcript t;
  t.translate = plan_.translate;
  t.language = plan_.language;
  t.duration = static_cast<double>(plan_.pcm.size()) / kSampleRate;
  t.text = text_;
  for (size_t i = 0; i < clips_.size(); ++i) {
    const Clip& c = clips_[i];
    const auto r = plan_.clips[i];
    TranscriptSegment s;
    s.id = static_cast<int>(i);
    s.seek = static_cast<int64_t>(r.begin / (kSampleRate / 100));
    s.start = static_cast<double>(r.begin) / kSampleRate;
    s.end = static_cast<double>(r.end) / kSampleRate;
    s.text = trim(c.text);
    s.tokens = c.tokens;
    s.temperature = plan_.sampling.temperature;
    s.avg_logprob = c.tokens.empty() ? 0.0 : c.logprob_sum / static_cast<double>(c.tokens.size());
    s.compression_ratio = repetition_ratio(s.text);
    s.no_speech_prob = c.silent ? 1.0 : 0.0;
    t.segments.push_back(std::move(s));
    if (c.silent) continue;
    t.input_tokens += static_cast<int>(plan_.prompt.size());
    t.audio_tokens += plan_.audio_tokens_per_clip;
    t.output_tokens += c.engine_tokens >= 0 ? c.engine_tokens : static_cast<int>(c.tokens.size());
  }
  return t;
}

void TranscriptJob::finalize() {
  finished_ = true;
  const Transcript t = build_transcript();
  if (metrics_) metrics_->observe_generation(t.input_tokens, t.output_tokens, ttft_s_, seconds_since(start_));
  if (log_) {
    std::lock_guard lk(log_->mu);
    log_->prompt_tokens = t.input_tokens;
    log_->completion_tokens = t.output_tokens;
    log_->ttft_s = ttft_s_;
  }
  if (plan_.stream) {
    channel_->push(transcript_done_frame(t));
    channel_->close();
  } else {
    pending_->complete(transcript_response(t, plan_.format));
  }
}

}  // namespace gs::api
