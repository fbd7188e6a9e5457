// Real-size audio encoder (E2B/E4B audio_config, 681 M parameters) against the Hugging Face goldens
// of the audio-real recipe: the weights are regenerated from recipe.json by our recipe generator
// (2.7 GB float32 file in a temp dir), then loaded lazily and run on the golden 2 s clip.
// Tolerances as the recipe README suggests: features 1e-3 (FFT precision, see tiny_audio_test.cpp),
// tower output / soft tokens 1e-4 absolute (reference float32 vs float64: 1.0e-5 / 8.4e-6); the
// debug stages get 1e-4 × max(1, their RMS).
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "runtime/models/gemma3n/audio/audio_model.h"
#include "runtime/weights/recipe.h"
#include "tests/audio/audio_test_util.h"

namespace gs::runtime::gemma3n {
namespace {

using test::golden_bool;
using test::golden_f32;
using test::max_abs_diff;

size_t rss_bytes() {
  std::ifstream in("/proc/self/statm");
  size_t pages = 0, resident = 0;
  in >> pages >> resident;
  return resident * 4096;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double rms(const std::vector<float>& v) {
  double s = 0;
  for (float x : v) s += double{x} * x;
  return std::sqrt(s / std::max<size_t>(v.size(), 1));
}

void check_encoder(AudioModelGroup& group, const ComputeContext& ctx) {
  const std::string g = "recipes/audio-real/golden/";
  const size_t rss0 = rss_bytes();
  auto t0 = std::chrono::steady_clock::now();
  auto model = group.get();
  ASSERT_TRUE(model.ok()) << model.error().message;
  const size_t rss1 = rss_bytes();
  std::printf("[audio-real] load %.1f s, params %lld, converted %.1f MB, RSS %.1f -> %.1f MB\n", seconds_since(t0),
              static_cast<long long>(group.params()), group.resident_bytes() / 1e6, rss0 / 1e6, rss1 / 1e6);
  EXPECT_EQ(group.params(), 681348640 + 3345408);  // spec section 8

  const AudioModel& m = *model.value();
  const std::vector<float> wav = golden_f32(g + "audio_waveform.npy");
  const AudioFeatures f = m.features(wav);
  ASSERT_EQ(f.frames, 197);
  EXPECT_LT(max_abs_diff(f.data, golden_f32(g + "audio_input_features.npy")), 1e-3);
  EXPECT_EQ(f.mask, golden_bool(g + "audio_input_features_mask.npy"));

  AudioTowerTrace trace;
  t0 = std::chrono::steady_clock::now();
  const AudioTowerOutput t = m.tower(f, &trace);
  const double tower_s = seconds_since(t0);
  std::printf("[audio-real] encoder: %.3f s for %.2f s of audio (%.3f s per second, %d threads)\n", tower_s,
              wav.size() / 16000.0, tower_s / (wav.size() / 16000.0), ctx.num_threads());
  const std::pair<std::string, const std::vector<float>*> stages[] = {
      {"audio_debug_sscp_output", &trace.sscp},
      {"audio_debug_conformer0_output", &trace.blocks.at(0)},
      {"audio_debug_conformer11_output", &trace.blocks.at(11)}};
  for (const auto& [name, got] : stages) {
    const std::vector<float> want = golden_f32(g + name + ".npy");
    const double d = max_abs_diff(*got, want);
    std::printf("[audio-real] %s max|diff| %.3g (rms %.3g)\n", name.c_str(), d, rms(want));
    EXPECT_LT(d, 1e-4 * std::max(1.0, rms(want))) << name;
  }
  ASSERT_EQ(t.tokens, 13);
  const double dt = max_abs_diff(t.encodings, golden_f32(g + "audio_tower_output.npy"));
  EXPECT_LT(dt, 1e-4);
  EXPECT_EQ(t.pad_mask, golden_bool(g + "audio_tower_mask.npy"));
  const double ds = max_abs_diff(m.soft_tokens(t), golden_f32(g + "audio_soft_tokens.npy"));
  EXPECT_LT(ds, 1e-4);
  std::printf("[audio-real] tower max|diff| %.3g, soft tokens max|diff| %.3g\n", dt, ds);

  auto e = m.encode(wav);
  ASSERT_TRUE(e.ok()) << e.error().message;
  EXPECT_EQ(e->n_tokens, 188);
  EXPECT_EQ(e->n_audio_tokens, 13);
  EXPECT_EQ(e->soft_tokens.size(), size_t{188} * 2048);
}

TEST(AudioReal, RecipeWeightsReproduceTheReferenceEncoder) {
  auto recipe = load_recipe(test::fixture_path("recipes/audio-real/recipe.json"));
  ASSERT_TRUE(recipe.ok()) << recipe.error().message;
  auto config = parse_config(recipe->config_json);
  ASSERT_TRUE(config.ok()) << config.error().message;
  ComputeContext ctx(0);
  const std::string dir = test::temp_dir("audio-real");
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(write_recipe_safetensors(recipe.value(), dir + "/model.safetensors", ctx).ok());
  std::printf("[audio-real] realised recipe in %.1f s\n", seconds_since(t0));
  auto store = WeightStore::open_files({dir + "/model.safetensors"});
  ASSERT_TRUE(store.ok()) << store.error().message;

  AudioModelGroup group(store.value(), config.value(), ctx);
  check_encoder(group, ctx);
  group.unload();  // the last holder is gone: the converted weights leave the process
  std::printf("[audio-real] RSS after unload %.1f MB\n", rss_bytes() / 1e6);
  EXPECT_FALSE(group.loaded());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace gs::runtime::gemma3n
