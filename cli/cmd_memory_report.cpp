// gemma3n-cli memory-report: resident memory of the engine through a session's phases: after
// loading (text only), after a text request, after the first image, after the first audio clip,
// and after the idle unload of the towers. Prints one JSON line (bytes) plus the PLE cache figures.
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <thread>

#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "runtime/engine/engine.h"

namespace gs::cli {
namespace {

int64_t rss_bytes() {
  std::ifstream f("/proc/self/statm");
  int64_t size = 0, resident = 0;
  f >> size >> resident;
  return resident * ::sysconf(_SC_PAGESIZE);
}

class Wait : public runtime::EventSink {
 public:
  void on_event(const runtime::TokenEvent& ev) override {
    if (ev.kind == runtime::TokenEvent::Kind::kToken) return;
    std::lock_guard<std::mutex> lk(mu_);
    done_ = true;
    if (ev.kind == runtime::TokenEvent::Kind::kFailed) error_ = ev.error.message;
    cv_.notify_all();
  }
  std::string wait() {
    std::unique_lock<std::mutex> lk(mu_);
    cv_.wait(lk, [&] { return done_; });
    return error_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::string error_;
};

// A prompt with one media block of `kind` (placeholder run) or plain text.
bool run(runtime::Engine& e, const runtime::gemma3n::Gemma3nConfig* cfg, std::vector<runtime::MediaInput> media,
         int32_t placeholder, int n_placeholders) {
  runtime::GenerationRequest req;
  req.prompt = {2, 105, 2364, 107};
  for (int i = 0; i < n_placeholders; ++i) req.prompt.push_back(placeholder);
  req.prompt.insert(req.prompt.end(), {106, 107, 105, 4368, 107});
  req.media = std::move(media);
  req.max_tokens = 4;
  req.sampling.temperature = 0;
  auto sink = std::make_shared<Wait>();
  req.sink = sink;
  auto h = e.submit(std::move(req));
  if (!h.ok()) {
    std::fprintf(stderr, "error: %s\n", h.error().message.c_str());
    return false;
  }
  const std::string err = sink->wait();
  if (!err.empty()) std::fprintf(stderr, "error: %s\n", err.c_str());
  return err.empty();
  (void)cfg;
}

}  // namespace

int cmd_memory_report(int argc, char** argv) {
  CLI::App app{"Resident memory through text / first image / first audio / idle unload"};
  runtime::EngineOptions eo;
  eo.media.idle_unload_s = 15.0;
  app.add_option("--model", eo.model_dir)->required();
  app.add_option("--weights", eo.weights)->capture_default_str();
  app.add_option("--threads", eo.threads)->capture_default_str();
  app.add_option("--idle-s", eo.media.idle_unload_s, "idle time before the towers are dropped")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  auto e = runtime::create_engine(eo);
  const int64_t loaded = rss_bytes();
  if (!run(*e, nullptr, {}, 0, 0)) return 1;
  const int64_t text = rss_bytes();
  int64_t image = 0, audio = 0;
  const int img_tokens = e->media_tokens(runtime::MediaInput::Kind::kImage);
  const int aud_tokens = e->media_tokens(runtime::MediaInput::Kind::kAudio);
  const auto st0 = e->stats();
  if (img_tokens > 0) {
    runtime::MediaInput m;
    m.kind = runtime::MediaInput::Kind::kImage;
    // The model's own input size: a gradient image, already preprocessed.
    int side = static_cast<int>(std::lround(std::sqrt(static_cast<double>(img_tokens)))) * 48;
    if (const char* s = std::getenv("GS_IMAGE_SIDE")) side = std::atoi(s);
    m.height = m.width = side;
    m.data.resize(static_cast<size_t>(3) * side * side);
    for (size_t i = 0; i < m.data.size(); ++i) m.data[i] = static_cast<float>(i % 251) / 250.f;
    if (!run(*e, nullptr, {m}, 262145, img_tokens)) return 1;
    image = rss_bytes();
    for (const auto& g : e->stats().media) std::fprintf(stderr, "after image: %s loaded %d\n", g.name.c_str(), g.loaded);
  }
  if (aud_tokens > 0) {
    runtime::MediaInput m;
    m.kind = runtime::MediaInput::Kind::kAudio;
    m.data.resize(32000);
    for (size_t i = 0; i < m.data.size(); ++i) m.data[i] = 0.3f * std::sin(static_cast<float>(i) * 0.05f);
    if (!run(*e, nullptr, {m}, 262273, aud_tokens)) return 1;
    audio = rss_bytes();
    for (const auto& g : e->stats().media) std::fprintf(stderr, "after audio: %s loaded %d\n", g.name.c_str(), g.loaded);
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(eo.media.idle_unload_s + 2.5));
  const int64_t unloaded = rss_bytes();
  const auto st = e->stats();
  std::printf("{\"rss_after_load\":%lld,\"rss_after_text\":%lld,\"rss_after_first_image\":%lld,"
              "\"rss_after_first_audio\":%lld,\"rss_after_idle_unload\":%lld,\"ple_hits\":%lld,\"ple_misses\":%lld,"
              "\"ple_cached_bytes\":%lld}\n",
              static_cast<long long>(loaded), static_cast<long long>(text), static_cast<long long>(image),
              static_cast<long long>(audio), static_cast<long long>(unloaded), static_cast<long long>(st.ple_hits),
              static_cast<long long>(st.ple_misses), static_cast<long long>(st.ple_cached_bytes));
  (void)st0;
  for (const auto& g : st.media)
    std::printf("group %s: allowed %d loaded %d loads %d unloads %d resident %lld params %lld\n", g.name.c_str(),
                g.allowed, g.loaded, g.loads, g.unloads, static_cast<long long>(g.resident_bytes),
                static_cast<long long>(g.params));
  e->shutdown(1);
  return 0;
}

}  // namespace gs::cli
