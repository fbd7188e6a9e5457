#include "api/stream/generation_collector.h"

#include "api/errors.h"

namespace gs::api {
namespace {

class ChoiceSink : public runtime::EventSink {
 public:
  ChoiceSink(std::shared_ptr<GenerationCollector> c, int index) : c_(std::move(c)), index_(index) {}
  void on_event(const runtime::TokenEvent& ev) override { c_->on_event(index_, ev); }

 private:
  std::shared_ptr<GenerationCollector> c_;
  int index_;
};

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

GenerationCollector::GenerationCollector(GenerationPlan plan, std::shared_ptr<const TextCodec> codec,
                                         MetricsRegistry* metrics, std::shared_ptr<RequestLog> log)
    : plan_(std::move(plan)), codec_(std::move(codec)), metrics_(metrics), log_(std::move(log)),
      start_(std::chrono::steady_clock::now()) {
  for (int32_t id : codec_->stop_token_ids()) stop_ids_.insert(id);
  choices_.resize(static_cast<size_t>(plan_.n));
  for (Choice& c : choices_) {
    c.decoder = codec_->stream_decoder();
    c.stop = std::make_unique<StopFilter>(plan_.stop);
  }
  if (plan_.stream) {
    channel_ = std::make_shared<SseChannel>();
    if (plan_.header.kind == WireKind::kChat) {
      for (int i = 0; i < plan_.n; ++i) {
        ChunkDelta d;
        d.index = i;
        d.first = true;
        channel_->push(sse_frame(chunk_body(plan_.header, d, plan_.include_usage)));
      }
    }
  } else {
    pending_ = std::make_shared<PendingResponse>();
  }
}

std::shared_ptr<runtime::EventSink> GenerationCollector::sink_for(int index) {
  return std::make_shared<ChoiceSink>(shared_from_this(), index);
}

void GenerationCollector::set_handle(int index, runtime::RequestHandle h) {
  std::lock_guard lk(mu_);
  Choice& c = choices_.at(static_cast<size_t>(index));
  c.handle = h;
  if (c.done || finalized_) h.cancel();  // a stop string matched before submit() returned
}

void GenerationCollector::abort() {
  std::lock_guard lk(mu_);
  finalized_ = true;
  for (Choice& c : choices_) c.handle.cancel();
  if (channel_) channel_->close();
}

void GenerationCollector::on_event(int index, const runtime::TokenEvent& ev) {
  std::lock_guard lk(mu_);
  if (finalized_ || index < 0 || index >= plan_.n) return;
  Choice& c = choices_[static_cast<size_t>(index)];
  if (c.done) return;
  switch (ev.kind) {
    case runtime::TokenEvent::Kind::kToken: on_token(index, c, ev); break;
    case runtime::TokenEvent::Kind::kFinished: on_finished(index, c, ev); break;
    case runtime::TokenEvent::Kind::kFailed: fail(ev.error); break;
  }
}

LogprobEntry GenerationCollector::make_logprob_entry(const runtime::TokenEvent& ev) const {
  LogprobEntry e;
  e.token = codec_->token_bytes(ev.token);
  e.logprob = ev.logprob;
  const size_t k = std::min(ev.top_logprobs.size(), static_cast<size_t>(std::max(plan_.top_logprobs, 0)));
  for (size_t i = 0; i < k; ++i) e.top.push_back({codec_->token_bytes(ev.top_logprobs[i].first), ev.top_logprobs[i].second});
  return e;
}

void GenerationCollector::on_token(int index, Choice& c, const runtime::TokenEvent& ev) {
  if (ttft_s_ < 0) ttft_s_ = seconds_since(start_);
  ++c.tokens;
  if (stop_ids_.count(ev.token)) return;  // end-of-turn: the engine finishes the sequence next
  if (plan_.logprobs) c.pending_logprobs.push_back(make_logprob_entry(ev));
  const std::string out = c.stop->push(c.decoder->push(ev.token));
  if (c.stop->matched()) {
    c.pending_logprobs.clear();  // the tokens that formed the stop string are not part of the answer
    emit_text(index, c, out, true);
    c.handle.cancel();
    finish_choice(index, c, "stop");
    return;
  }
  emit_text(index, c, out, false);
}

void GenerationCollector::on_finished(int index, Choice& c, const runtime::TokenEvent& ev) {
  using R = runtime::FinishInfo::Reason;
  const runtime::FinishInfo& f = ev.finish;
  if (f.reason == R::kError) return fail(runtime::make_error(runtime::ErrorCode::kInternal, "generation failed"));
  if (f.reason == R::kCancelled)
    return fail(runtime::make_error(runtime::ErrorCode::kCancelled, "the request was cancelled (server shutting down)"));
  c.engine_tokens = f.completion_tokens;
  std::string tail = c.stop->push(c.decoder->flush());
  const bool matched = c.stop->matched();
  if (!matched) tail += c.stop->flush();
  emit_text(index, c, tail, true);
  finish_choice(index, c, (f.reason == R::kLength && !matched) ? "length" : "stop");
}

// Streams (or accumulates) newly safe text plus the logprobs collected for it.
void GenerationCollector::emit_text(int index, Choice& c, const std::string& text, bool final_flush) {
  const bool has_lp = !c.pending_logprobs.empty() && (!text.empty() || final_flush);
  if (text.empty() && !has_lp) return;
  c.text += text;
  if (plan_.stream) {
    ChunkDelta d;
    d.index = index;
    d.text = text;
    if (has_lp) d.logprobs = &c.pending_logprobs;
    channel_->push(sse_frame(chunk_body(plan_.header, d, plan_.include_usage)));
  }
  if (has_lp) {
    for (auto& e : c.pending_logprobs) c.logprobs.push_back(std::move(e));
    c.pending_logprobs.clear();
  }
}

void GenerationCollector::finish_choice(int index, Choice& c, std::string reason) {
  c.done = true;
  c.finish_reason = std::move(reason);
  if (plan_.stream) {
    ChunkDelta d;
    d.index = index;
    d.finish_reason = c.finish_reason;
    channel_->push(sse_frame(chunk_body(plan_.header, d, plan_.include_usage)));
  }
  maybe_finalize();
}

void GenerationCollector::fail(const runtime::Error& e) {
  finalized_ = true;
  for (Choice& c : choices_) c.handle.cancel();
  const ApiError err = from_runtime_error(e);
  if (plan_.stream) {
    channel_->push(sse_frame(error_body(err)));
    channel_->push("data: [DONE]\n\n");
    channel_->close();
  } else {
    pending_->complete(error_response(err));
  }
}

void GenerationCollector::maybe_finalize() {
  for (const Choice& c : choices_)
    if (!c.done) return;
  finalized_ = true;
  UsageInfo usage{plan_.prompt_tokens, 0, plan_.image_tokens, plan_.audio_tokens};
  for (const Choice& c : choices_) usage.completion_tokens += c.engine_tokens >= 0 ? c.engine_tokens : c.tokens;
  const double total_s = seconds_since(start_);
  if (metrics_) metrics_->observe_generation(usage.prompt_tokens, usage.completion_tokens, ttft_s_, total_s);
  if (log_) {
    std::lock_guard lk(log_->mu);
    log_->prompt_tokens = usage.prompt_tokens;
    log_->completion_tokens = usage.completion_tokens;
    log_->ttft_s = ttft_s_;
  }
  if (plan_.stream) {
    if (plan_.include_usage) channel_->push(sse_frame(usage_chunk_body(plan_.header, usage)));
    channel_->push("data: [DONE]\n\n");
    channel_->close();
    return;
  }
  std::vector<ChoiceResult> results;
  for (size_t i = 0; i < choices_.size(); ++i) {
    Choice& c = choices_[i];
    results.push_back({static_cast<int>(i), std::move(c.text), plan_.logprobs, std::move(c.logprobs), c.finish_reason});
  }
  pending_->complete(Response::json(200, final_body(plan_.header, results, usage)));
}

}  // namespace gs::api
