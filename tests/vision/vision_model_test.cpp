// The vision weight group: lazy, load-once under concurrency, droppable; the architecture table
// and config parsing; errors for inputs the encoder cannot take.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <thread>

#include "runtime/models/gemma3n/vision/image_pipeline.h"
#include "runtime/models/gemma3n/vision/vision_model.h"
#include "tests/vision/vision_test_util.h"

namespace gs::test::vision {
namespace {

namespace g3 = runtime::gemma3n;
namespace gv = runtime::gemma3n::vision;

struct Tiny {
  g3::Gemma3nConfig cfg;
  runtime::WeightStore store;
};

Tiny open_tiny() {
  auto cfg = g3::load_config(fixture_path("gemma3n-tiny/model"));
  EXPECT_TRUE(cfg.ok());
  auto store = runtime::WeightStore::open(fixture_path("gemma3n-tiny/model"));
  EXPECT_TRUE(store.ok());
  return Tiny{*cfg, std::move(*store)};
}

TEST(LazyVisionModel, LoadsOnceOnFirstUseAndCanBeDroppedAndReloaded) {
  Tiny t = open_tiny();
  runtime::ComputeContext ctx(2);
  g3::LazyVisionModel lazy(t.store, t.cfg, ctx);
  EXPECT_FALSE(lazy.loaded());
  EXPECT_EQ(lazy.resident_bytes(), 0u);
  EXPECT_EQ(lazy.load_count(), 0);
  const int64_t params = lazy.parameter_count();  // from the store, no loading
  EXPECT_GT(params, 0);
  EXPECT_FALSE(lazy.loaded());

  const Golden px = load_golden("gemma3n-tiny/golden/image_pixel_values.npy");
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  std::vector<std::vector<float>> outs(6);
  for (int i = 0; i < 6; ++i)
    threads.emplace_back([&, i] {
      auto e = lazy.encode(px.values.data(), 192, 192);
      if (e.ok()) ++ok, outs[i] = e->soft_tokens;
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok.load(), 6);
  EXPECT_EQ(lazy.load_count(), 1);
  for (int i = 1; i < 6; ++i) EXPECT_EQ(outs[i], outs[0]);
  EXPECT_TRUE(lazy.loaded());
  EXPECT_GE(lazy.resident_bytes(), static_cast<size_t>(params) * 4);  // float32 (+ row alignment)
  EXPECT_LT(lazy.resident_bytes(), static_cast<size_t>(params) * 5);

  auto held = lazy.get();  // a reference taken before drop() stays usable
  ASSERT_TRUE(held.ok());
  lazy.drop();
  EXPECT_FALSE(lazy.loaded());
  EXPECT_EQ(lazy.resident_bytes(), 0u);
  EXPECT_TRUE((*held)->encode(px.values.data(), 192, 192).ok());
  auto again = lazy.encode(px.values.data(), 192, 192);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->soft_tokens, outs[0]);
  EXPECT_EQ(lazy.load_count(), 2);
}

TEST(LazyVisionModel, MissingWeightsAreAnErrorNotACrash) {
  Tiny t = open_tiny();
  runtime::ComputeContext ctx(1);
  auto other = runtime::WeightStore::open(fixture_path("gemma3n-tiny/model-bf16"));
  ASSERT_TRUE(other.ok());
  // bf16 storage loads too (widened to float32).
  EXPECT_TRUE(g3::VisionModel::load(*other, t.cfg, ctx).ok());
  // A config whose block list disagrees with the checkpoint names the offending tensor.
  g3::Gemma3nConfig wrong = t.cfg;
  wrong.vision_config_json = "";  // the fixed 300m table
  auto m = g3::VisionModel::load(t.store, wrong, ctx);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.error().message.find("model.vision_tower.timm_model."), std::string::npos) << m.error().message;
}

// bf16 matrices: about half the memory; outputs stay close (bf16 has 8 significant bits, so the
// unit-RMS soft tokens move by ~1e-2, not the 2e-6 of float32).
TEST(VisionModel, Bf16WeightsHalveTheMemory) {
  Tiny t = open_tiny();
  runtime::ComputeContext ctx(2);
  auto f32 = g3::VisionModel::load(t.store, t.cfg, ctx);
  auto bf16 = g3::VisionModel::load(t.store, t.cfg, ctx, runtime::WeightFormat::kBF16);
  ASSERT_TRUE(f32.ok() && bf16.ok());
  EXPECT_LT((*bf16)->resident_bytes(), (*f32)->resident_bytes() * 6 / 10);
  EXPECT_EQ((*bf16)->parameter_count(), (*f32)->parameter_count());
  const Golden px = load_golden("gemma3n-tiny/golden/image_pixel_values.npy");
  auto e = (*bf16)->encode(px.values.data(), 192, 192);
  ASSERT_TRUE(e.ok());
  const double d = max_abs_diff(e->soft_tokens, load_golden("gemma3n-tiny/golden/vision_soft_tokens.npy").values);
  std::printf("bf16 soft tokens: max |diff| %.3g\n", d);
  EXPECT_LT(d, 0.1);
  EXPECT_FALSE(g3::VisionModel::load(t.store, t.cfg, ctx, runtime::WeightFormat::kQ4).ok());
}

TEST(VisionModel, RejectsInputsTheEncoderCannotTake) {
  Tiny t = open_tiny();
  runtime::ComputeContext ctx(1);
  auto m = g3::VisionModel::load(t.store, t.cfg, ctx);
  ASSERT_TRUE(m.ok());
  std::vector<float> px(3 * 200 * 200, 0.5f);
  // 200 -> stage 2 at 13x13, not a multiple of the 4x4 token grid.
  auto e = (*m)->encode(px.data(), 200, 200);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().code, runtime::ErrorCode::kUnsupported);
  EXPECT_FALSE((*m)->encode(nullptr, 192, 192).ok());
  EXPECT_FALSE((*m)->encode(px.data(), 0, 192).ok());
  // Odd and tiny sizes: an error or a result, never a crash (pixel buffer is 200x200x3).
  for (int h = 1; h <= 64; h += 9)
    for (int w = 1; w <= 64; w += 13) {
      auto r = (*m)->encode(px.data(), h, w);
      if (r.ok()) EXPECT_EQ(r->n_tokens, 16);
    }
  // A larger multiple works (fully convolutional): 384 -> 24x24 -> pooled 6x, still 16 tokens.
  std::vector<float> big(3 * 384 * 384, 0.25f);
  auto b = (*m)->encode(big.data(), 384, 384);
  ASSERT_TRUE(b.ok()) << b.error().message;
  EXPECT_EQ(b->n_tokens, 16);
}

// PNG bytes -> decode -> resize -> encode. The resize may differ from the reference by one uint8
// level at a few pixels (see preprocess_test), which moves the unit-RMS soft tokens by ~1e-3;
// feeding the golden pixel values instead gives ~2e-6 (encoder_parity_test).
TEST(ImagePipeline, PngBytesToSoftTokens) {
  Tiny t = open_tiny();
  runtime::ComputeContext ctx(2);
  g3::LazyVisionModel lazy(t.store, t.cfg, ctx);
  auto prep = runtime::vision::load_preprocess_config(fixture_path("gemma3n-tiny/model"));
  ASSERT_TRUE(prep.ok());
  std::ifstream f(fixture_path("gemma3n-tiny/golden/image_input_rgb.png"), std::ios::binary);
  const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(f)), {});
  auto enc = g3::encode_image_bytes(lazy, bytes, *prep);
  ASSERT_TRUE(enc.ok()) << enc.error().message;
  const Golden g = load_golden("gemma3n-tiny/golden/vision_soft_tokens.npy");
  const double d = max_abs_diff(enc->soft_tokens, g.values);
  std::printf("png -> soft tokens: max |diff| %.3g\n", d);
  EXPECT_LT(d, 2e-2);
  const std::vector<uint8_t> junk = {1, 2, 3};
  EXPECT_FALSE(g3::encode_image_bytes(lazy, junk, *prep).ok());
}

TEST(VisionArch, FixedTableIsMobileNetV5_300m) {
  auto a = gv::parse_vision_arch("");
  ASSERT_TRUE(a.ok());
  ASSERT_EQ(a->stages.size(), 4u);
  EXPECT_EQ(a->stages[0].size(), 3u);
  EXPECT_EQ(a->stages[1].size(), 5u);
  EXPECT_EQ(a->stages[2].size(), 37u);
  EXPECT_EQ(a->stages[3].size(), 39u);
  int mqa = 0, mqa_down = 0;
  for (const auto& s : a->stages)
    for (const auto& b : s)
      if (b.kind == gv::BlockKind::kMultiQueryAttention) ++mqa, mqa_down += b.kv_stride == 2;
  EXPECT_EQ(mqa, 33);
  EXPECT_EQ(mqa_down, 14);
  EXPECT_EQ(a->stem_size, 64);
  EXPECT_EQ(a->msfa_output_resolution, 16);
  // Released configs say model_args: null.
  auto b = gv::parse_vision_arch(R"({"model_args": null, "hidden_size": 2048, "vocab_offset": 262144})");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->stages[3].size(), 39u);
  EXPECT_EQ(gv::make_divisible(16 * 6.0), 96);
  EXPECT_EQ(gv::make_divisible(640 * 4.0), 2560);
  EXPECT_EQ(gv::make_divisible(10.0), 16);  // never below 90% of the request
}

TEST(VisionArch, BadBlockArgsAreErrors) {
  const char* bad[] = {
      "[]", "not json", R"({"model_args": 5})", R"({"model_args": {"block_args": []}})",
      R"({"model_args": {"block_args": [[{"block_type": "xx", "out_chs": 8}]]}})",
      R"({"model_args": {"block_args": [[{"block_type": "er", "out_chs": -1}], [{"block_type": "er", "out_chs": 8}]]}})",
      R"({"model_args": {"block_args": [[{"block_type": "uir", "out_chs": 8, "stride": 3}], [{"block_type": "er", "out_chs": 8}]]}})",
      R"({"model_args": {"block_args": [[{"block_type": "mqa", "out_chs": 8, "num_heads": 0}], [{"block_type": "er", "out_chs": 8}]]}})",
      R"({"model_args": {"block_args": [[{"block_type": "er", "out_chs": 8}]]}})",
      R"({"model_args": {"block_args": [[{"block_type": "er", "out_chs": "8"}], [{"block_type": "er"}]]}})",
      R"({"rms_norm_eps": -1})",
  };
  for (const char* j : bad) EXPECT_FALSE(gv::parse_vision_arch(j).ok()) << j;
}

}  // namespace
}  // namespace gs::test::vision
