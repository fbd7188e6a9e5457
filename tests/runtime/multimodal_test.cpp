// The multimodal prompt of the fixtures (one image block and one audio block of 16 soft tokens
// each) through vision + audio encoders and the text decoder: prefill logits against the float64
// goldens (2e-3, as for text) and the greedy continuation, both directly and through the engine.
#include <gtest/gtest.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "runtime/engine/engine.h"
#include "runtime/engine/media_runtime.h"
#include "runtime/models/gemma3n/text_model.h"
#include "tests/support/compare.h"

namespace gs::runtime {
namespace {

std::vector<MediaInput> golden_media() {
  MediaInput img;
  img.kind = MediaInput::Kind::kImage;
  img.data = test::load_f32("gemma3n-tiny/golden/image_pixel_values.npy");  // [1, 3, 192, 192]
  img.height = img.width = 192;
  MediaInput aud;
  aud.kind = MediaInput::Kind::kAudio;
  aud.data = test::load_f32("gemma3n-tiny/golden/audio_waveform.npy");
  return {img, aud};
}

std::vector<int32_t> mm_prompt() {
  std::vector<int32_t> ids;
  for (int64_t v : test::load_i64("gemma3n-tiny/golden/mm_input_ids.npy")) ids.push_back(static_cast<int32_t>(v));
  return ids;
}

TEST(Multimodal, PrefillLogitsAndGreedyMatchReference) {
  ComputeContext ctx(2);
  const std::string dir = test::fixture_path("gemma3n-tiny/model");
  auto m = gemma3n::TextModel::load(dir, {}, ctx);
  ASSERT_TRUE(m.ok());
  const auto& model = **m;
  MediaRuntime media(model.store(), model.config(), dir, ctx, MediaOptions{});
  auto media_in = golden_media();
  auto img = media.encode(media_in[0]);
  auto aud = media.encode(media_in[1]);
  ASSERT_TRUE(img.ok()) << img.error().message;
  ASSERT_TRUE(aud.ok()) << aud.error().message;
  EXPECT_LT(test::max_abs_diff(*aud, test::load_f32("gemma3n-tiny/golden/mm_audio_features_padded.npy")), 1e-4f);

  const auto ids = mm_prompt();
  const int D = model.text_config().hidden_size, V = model.text_config().vocab_size;
  gemma3n::StepBatch b;
  int ni = 0, na = 0;
  for (size_t i = 0; i < ids.size(); ++i) {
    b.add(ids[i], static_cast<int32_t>(i), 0, true);
    const float* soft = nullptr;
    if (ids[i] == model.config().image_token_id) soft = img->data() + (ni++) * D;
    if (ids[i] == model.config().audio_token_id) soft = aud->data() + (na++) * D;
    b.soft_embeddings.push_back(soft);
  }
  EXPECT_EQ(ni, 16);
  EXPECT_EQ(na, 16);
  auto kv = model.new_sequence(model.full());
  SequenceKv* kvs[] = {kv.get()};
  gemma3n::StepOutput out;
  ASSERT_TRUE(model.forward(b, model.full(), kvs, &out).ok());
  EXPECT_LT(test::max_abs_diff(out.logits, test::load_f32("gemma3n-tiny/golden/mm_logits_f64.npy")), 2e-3f);

  const auto gold = test::load_i64("gemma3n-tiny/golden/mm_greedy_tokens.npy");
  std::vector<float> last(out.logits.end() - V, out.logits.end());
  for (size_t s = 0; s < gold.size(); ++s) {
    const int32_t t = static_cast<int32_t>(std::max_element(last.begin(), last.end()) - last.begin());
    EXPECT_EQ(t, gold[s]) << "step " << s;
    gemma3n::StepBatch d;
    d.add(t, kv->length(), 0, true);
    gemma3n::StepOutput o;
    ASSERT_TRUE(model.forward(d, model.full(), kvs, &o).ok());
    last = o.logits;
  }
}

class Tokens : public EventSink {
 public:
  void on_event(const TokenEvent& ev) override {
    std::lock_guard<std::mutex> lk(mu_);
    if (ev.kind == TokenEvent::Kind::kToken) toks.push_back(ev.token);
    else {
      done = true;
      failed = ev.kind == TokenEvent::Kind::kFailed;
      cv.notify_all();
    }
  }
  void wait() {
    std::unique_lock<std::mutex> lk(mu_);
    cv.wait_for(lk, std::chrono::seconds(60), [&] { return done; });
  }
  std::vector<int32_t> toks;
  bool done = false, failed = false;

 private:
  std::mutex mu_;
  std::condition_variable cv;
};

TEST(Multimodal, EngineEncodesMediaAndLoadsGroupsOnce) {
  EngineOptions o;
  o.model_dir = test::fixture_path("gemma3n-tiny/model");
  o.threads = 2;
  auto e = create_engine(o);
  auto before = e->stats();
  for (const auto& g : before.media) EXPECT_FALSE(g.loaded) << g.name << " loaded before any request";
  std::vector<std::shared_ptr<Tokens>> sinks;
  for (int r = 0; r < 3; ++r) {  // concurrent first requests: each group loads once
    GenerationRequest req;
    req.prompt = mm_prompt();
    req.media = golden_media();
    req.max_tokens = 8;
    req.sampling.temperature = 0;
    sinks.push_back(std::make_shared<Tokens>());
    req.sink = sinks.back();
    ASSERT_TRUE(e->submit(std::move(req)).ok());
  }
  const auto gold = test::load_i64("gemma3n-tiny/golden/mm_greedy_tokens.npy");
  for (auto& s : sinks) {
    s->wait();
    ASSERT_FALSE(s->failed);
    ASSERT_LE(s->toks.size(), gold.size());
    for (size_t i = 0; i < s->toks.size(); ++i) EXPECT_EQ(s->toks[i], gold[i]);
  }
  for (const auto& g : e->stats().media) {
    EXPECT_TRUE(g.loaded) << g.name;
    EXPECT_EQ(g.loads, 1) << g.name;
    EXPECT_GT(g.resident_bytes, 0) << g.name;
  }
  // A prompt whose placeholders do not match its media is refused up front.
  GenerationRequest bad;
  bad.prompt = mm_prompt();
  bad.media = {golden_media()[0]};
  bad.sink = std::make_shared<Tokens>();
  EXPECT_EQ(e->submit(std::move(bad)).error().code, ErrorCode::kInvalidArgument);
}

TEST(Multimodal, DisabledModalityIsRefusedAndNeverLoads) {
  EngineOptions o;
  o.model_dir = test::fixture_path("gemma3n-tiny/model");
  o.threads = 1;
  o.media.allow_audio = false;
  auto e = create_engine(o);
  EXPECT_EQ(e->media_tokens(MediaInput::Kind::kAudio), 0);
  EXPECT_EQ(e->media_tokens(MediaInput::Kind::kImage), 16);
  const uint8_t wav[64] = {'R', 'I', 'F', 'F'};
  EXPECT_EQ(e->prepare_media(MediaInput::Kind::kAudio, wav).error().code, ErrorCode::kInvalidArgument);
  GenerationRequest req;
  req.prompt = mm_prompt();
  req.media = golden_media();
  req.sink = std::make_shared<Tokens>();
  EXPECT_EQ(e->submit(std::move(req)).error().code, ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace gs::runtime

namespace gs::runtime {
namespace {

TEST(Multimodal, IdleUnloadThenReloadGivesIdenticalOutputs) {
  EngineOptions o;
  o.model_dir = test::fixture_path("gemma3n-tiny/model");
  o.threads = 2;
  o.media.idle_unload_s = 0.5;
  auto e = create_engine(o);
  auto run = [&] {
    GenerationRequest req;
    req.prompt = mm_prompt();
    req.media = golden_media();
    req.max_tokens = 8;
    req.sampling.temperature = 0;
    auto sink = std::make_shared<Tokens>();
    req.sink = sink;
    EXPECT_TRUE(e->submit(std::move(req)).ok());
    sink->wait();
    return sink->toks;
  };
  const auto first = run();
  ASSERT_FALSE(first.empty());
  // Idle: both groups are dropped (the engine checks about once a second).
  bool unloaded = false;
  for (int i = 0; i < 200 && !unloaded; ++i) {  // up to 20 s on a loaded machine
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const auto st = e->stats().media;
    unloaded = std::none_of(st.begin(), st.end(), [](const MediaGroupState& g) { return g.loaded; });
  }
  ASSERT_TRUE(unloaded);
  for (const auto& g : e->stats().media) {
    EXPECT_EQ(g.resident_bytes, 0) << g.name;
    EXPECT_EQ(g.unloads, 1) << g.name;
  }
  EXPECT_EQ(run(), first);
  for (const auto& g : e->stats().media) EXPECT_EQ(g.loads, 2) << g.name;
}

// Memory pressure: with the towers loaded, a second text request that only fits the budget
// without them makes the engine drop the (idle) towers instead of queueing; they reload on the
// next media request.
TEST(Multimodal, MemoryPressureUnloadsIdleTowers) {
  auto text_req = [](int max_tokens, std::shared_ptr<Tokens> sink) {
    GenerationRequest r;
    r.prompt = {2, 10, 11, 12, 13};
    r.max_tokens = max_tokens;
    r.sampling.temperature = 0;
    r.sink = std::move(sink);
    return r;
  };
  // One image + audio request: loads both towers.
  auto run_media = [](Engine& e) {
    GenerationRequest req;
    req.prompt = mm_prompt();
    req.media = golden_media();
    req.max_tokens = 2;
    auto sink = std::make_shared<Tokens>();
    req.sink = sink;
    EXPECT_TRUE(e.submit(std::move(req)).ok());
    sink->wait();
    EXPECT_FALSE(sink->failed);
  };
  // Sizes from an unbudgeted engine: text weights and the loaded towers.
  int64_t text_bytes = 0, tower_bytes = 0;
  {
    EngineOptions o;
    o.model_dir = test::fixture_path("gemma3n-tiny/model");
    o.threads = 2;
    auto e = create_engine(o);
    run_media(*e);
    for (const auto& g : e->stats().groups)
      if (g.name == "text_core") text_bytes = g.resident_bytes;
    for (const auto& g : e->stats().media) tower_bytes += g.resident_bytes;
  }
  ASSERT_GT(text_bytes, 0);
  ASSERT_GT(tower_bytes, 1 << 20);  // far above two short sequences' KV caches (< 100 KB each)
  EngineOptions o;
  o.model_dir = test::fixture_path("gemma3n-tiny/model");
  o.threads = 2;
  o.media.idle_unload_s = 0;  // never for idleness: only the budget may drop them
  o.memory_budget_bytes = text_bytes + tower_bytes / 2;
  auto e = create_engine(o);
  run_media(*e);
  for (const auto& g : e->stats().media) EXPECT_TRUE(g.loaded) << g.name;
  auto a = std::make_shared<Tokens>(), b = std::make_shared<Tokens>();
  ASSERT_TRUE(e->submit(text_req(200, a)).ok());
  ASSERT_TRUE(e->submit(text_req(8, b)).ok());
  a->wait();
  b->wait();
  EXPECT_FALSE(a->failed);
  EXPECT_FALSE(b->failed);
  EXPECT_EQ(b->toks.size(), 8u);
  for (const auto& g : e->stats().media) {
    EXPECT_FALSE(g.loaded) << g.name;
    EXPECT_EQ(g.unloads, 1) << g.name;
  }
}

}  // namespace
}  // namespace gs::runtime
