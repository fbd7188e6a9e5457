// Test doubles for api/ and server/ tests (never in product code): a scripted Engine that emits
// tokens from its own threads, and a byte-level TextCodec (token id = byte value).
#pragma once
#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "api/prompt/text_codec.h"
#include "runtime/engine/engine.h"

namespace gs::test {

constexpr int32_t kFakeBos = 256, kFakeEot = 300, kFakeEos = 301;

inline std::vector<int32_t> byte_ids(const std::string& s) {
  std::vector<int32_t> out;
  for (unsigned char c : s) out.push_back(c);
  return out;
}

class FakeCodec : public api::TextCodec {
 public:
  api::Result<api::TokenizedPrompt> render_chat(const std::vector<api::PromptTurn>& turns) const override {
    std::string text;
    for (const auto& t : turns) {
      text += t.role + ":";
      for (const auto& p : t.parts) text += p.text;
      text += "\n";
    }
    api::TokenizedPrompt p;
    p.ids.push_back(kFakeBos);
    for (int32_t id : byte_ids(text)) p.ids.push_back(id);
    return p;
  }
  api::Result<std::vector<int32_t>> encode_prompt(std::string_view text) const override {
    std::vector<int32_t> ids{kFakeBos};
    for (int32_t id : byte_ids(std::string(text))) ids.push_back(id);
    return ids;
  }
  std::string token_bytes(int32_t id) const override {
    if (id >= 0 && id < 256) return std::string(1, static_cast<char>(id));
    if (id == kFakeEot) return "<end_of_turn>";
    if (id == kFakeEos) return "<eos>";
    return "";
  }
  std::unique_ptr<api::StreamDecoder> stream_decoder() const override {
    return std::make_unique<api::ByteStreamDecoder>(*this);
  }
  std::vector<int32_t> stop_token_ids() const override { return {kFakeEot, kFakeEos}; }
  int vocab_size() const override { return 302; }
};

struct FakeScript {
  std::vector<int32_t> tokens;                                // emitted in order
  runtime::FinishInfo::Reason end = runtime::FinishInfo::Reason::kStop;
  std::chrono::milliseconds delay{0};                         // before each token
};

class FakeEngine : public runtime::Engine {
 public:
  // Default script: "Hello world" then <end_of_turn>, finished with kStop.
  std::function<FakeScript(const runtime::GenerationRequest&)> script = [](const runtime::GenerationRequest&) {
    FakeScript s;
    s.tokens = byte_ids("Hello world");
    s.tokens.push_back(kFakeEot);
    return s;
  };
  std::atomic<bool> is_ready{true};
  std::atomic<bool> queue_full{false};
  std::atomic<int> active{0};
  std::atomic<int> cancelled{0};
  std::atomic<int> submitted{0};
  std::vector<runtime::GenerationRequest> seen;  // copies without sinks, for assertions
  std::mutex mu;

  ~FakeEngine() override { shutdown(0); }

  runtime::Expected<runtime::RequestHandle> submit(runtime::GenerationRequest req) override {
    if (queue_full) return runtime::make_error(runtime::ErrorCode::kResourceExhausted, "queue full");
    if (!is_ready) return runtime::make_error(runtime::ErrorCode::kUnavailable, "shutting down");
    auto flag = std::make_shared<std::atomic<bool>>(false);
    FakeScript s = script(req);
    ++submitted;
    ++active;
    std::lock_guard lk(mu);
    runtime::GenerationRequest copy = req;
    copy.sink.reset();
    seen.push_back(std::move(copy));
    threads_.emplace_back([this, flag, s, sink = req.sink, prompt = static_cast<int>(req.prompt.size()),
                           max_tokens = req.max_tokens] { run(flag, s, sink, prompt, max_tokens); });
    return runtime::RequestHandle(flag);
  }
  std::vector<runtime::ModelInfo> models() const override { return {{"fake-model", 1000, true}, {"fake-model:small", 500, true}}; }
  // A scripted chooser: any budget under one second gets the small size, and under 1 ms none fits.
  runtime::Expected<runtime::SizeChoice> choose_size(const runtime::GenerationRequest& r) const override {
    if (!r.model.empty() && r.model != "fake-model" && r.model != "fake-model:small")
      return runtime::make_error(runtime::ErrorCode::kNotFound, "The model '" + r.model + "' does not exist");
    const double b = r.budget.total_s ? *r.budget.total_s : r.budget.ttft_s ? *r.budget.ttft_s : 1e9;
    if (!r.model.empty() && r.model != "fake-model") return runtime::SizeChoice{r.model, true, 0, 0};
    return runtime::SizeChoice{b < 1.0 ? "fake-model:small" : "fake-model", b >= 0.001, 0, 0};
  }
  runtime::EngineStats stats() const override {
    runtime::EngineStats s;
    s.requests_active = active;
    s.groups.push_back({"text_core", 1000, 4000, 0, "resident"});
    return s;
  }
  bool ready() const override { return is_ready; }
  std::atomic<int> image_tokens{0};  // 0: images unavailable, as in a text-only build
  runtime::Expected<runtime::MediaInput> prepare_media(runtime::MediaInput::Kind kind,
                                                       std::span<const uint8_t> bytes) const override {
    if (bytes.size() < 4) return runtime::make_error(runtime::ErrorCode::kInvalidArgument, "not an image");
    runtime::MediaInput m;
    m.kind = kind;
    m.data.assign(bytes.begin(), bytes.end());
    return m;
  }
  int media_tokens(runtime::MediaInput::Kind kind) const override {
    return kind == runtime::MediaInput::Kind::kImage ? image_tokens.load() : 0;
  }
  void shutdown(double) override {
    std::vector<std::thread> ts;
    {
      std::lock_guard lk(mu);
      ts.swap(threads_);
    }
    for (auto& t : ts) t.join();
  }

 private:
  void run(std::shared_ptr<std::atomic<bool>> flag, FakeScript s, std::shared_ptr<runtime::EventSink> sink,
           int prompt, int max_tokens) {
    runtime::TokenEvent fin;
    fin.kind = runtime::TokenEvent::Kind::kFinished;
    fin.finish.prompt_tokens = prompt;
    fin.finish.reason = s.end;
    int n = 0;
    for (int32_t t : s.tokens) {
      if (s.delay.count()) std::this_thread::sleep_for(s.delay);
      if (*flag) {
        fin.finish.reason = runtime::FinishInfo::Reason::kCancelled;
        ++cancelled;
        break;
      }
      if (n == max_tokens) {
        fin.finish.reason = runtime::FinishInfo::Reason::kLength;
        break;
      }
      runtime::TokenEvent ev;
      ev.token = t;
      ev.logprob = -0.5f;
      ev.top_logprobs = {{t, -0.5f}, {'x', -1.5f}, {'y', -2.5f}};
      sink->on_event(ev);
      ++n;
    }
    fin.finish.completion_tokens = n;
    sink->on_event(fin);
    --active;
  }
  std::vector<std::thread> threads_;
};

}  // namespace gs::test
