// The real MobileNet-V5-300M (fixed architecture, model_args null) + embed_vision on weights
// realised from the vision-300m recipe, against the Hugging Face goldens at real shapes. Also
// measures the encoder time per 768x768 image on 2 threads and the RSS cost of loading.
#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <ctime>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "runtime/models/gemma3n/vision/vision_model.h"
#include "runtime/weights/recipe.h"
#include "tests/vision/vision_test_util.h"

namespace gs::test::vision {
namespace {

namespace g3 = runtime::gemma3n;

double cpu_s() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

double rss_mib() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  return -1;
}

// Top-left 16x16 corner of an NCHW [c, h, w] map.
std::vector<float> corner16(const std::vector<float>& chw, const std::array<int, 3>& s) {
  std::vector<float> out;
  for (int c = 0; c < s[0]; ++c)
    for (int y = 0; y < 16; ++y)
      for (int x = 0; x < 16; ++x) out.push_back(chw[(static_cast<size_t>(c) * s[1] + y) * s[2] + x]);
  return out;
}

TEST(Vision300m, MatchesReferenceAtRealShapes) {
  const std::string dir = temp_dir("vision300m");
  runtime::ComputeContext ctx(2);
  auto recipe = runtime::load_recipe(fixture_path("recipes/vision-300m/recipe.json"));
  ASSERT_TRUE(recipe.ok()) << recipe.error().message;
  ASSERT_TRUE(runtime::write_recipe_safetensors(*recipe, dir + "/model.safetensors", ctx).ok());
  auto cfg = g3::parse_config(recipe->config_json);
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  auto store = runtime::WeightStore::open(dir);
  ASSERT_TRUE(store.ok()) << store.error().message;

  const double rss0 = rss_mib();
  g3::LazyVisionModel lazy(*store, *cfg, ctx);
  EXPECT_FALSE(lazy.loaded());
  EXPECT_EQ(lazy.parameter_count(), 298587456);
  auto t0 = std::chrono::steady_clock::now();
  auto model = lazy.get();
  ASSERT_TRUE(model.ok()) << model.error().message;
  const double load_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  store->drop_pages_with_prefix("model.");
  const double rss1 = rss_mib();
  EXPECT_EQ((*model)->parameter_count(), 298587456);

  const Golden px = load_golden("recipes/vision-300m/golden/image_pixel_values.npy");
  t0 = std::chrono::steady_clock::now();
  auto enc = (*model)->encode(px.values.data(), 768, 768, /*keep_stages=*/true);
  const double enc_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_TRUE(enc.ok()) << enc.error().message;
  std::printf("vision-300m: load+convert %.1f s, RSS %.0f -> %.0f MiB (+%.0f), encode (2 threads) %.2f s, "
              "peak-ish RSS %.0f MiB\n", load_s, rss0, rss1, rss1 - rss0, enc_s, rss_mib());

  // Stage outputs: 1e-4 x their RMS (README); crops for stem / stages 0-1 (top-left corner shows padding).
  const char* names[] = {"vision_intermediate_0_crop", "vision_intermediate_1_crop", "vision_intermediate_2_crop",
                         "vision_intermediate_3", "vision_intermediate_4"};
  ASSERT_EQ(enc->stages.size(), 5u);
  for (int i = 0; i < 5; ++i) {
    const Golden g = load_golden(std::string("recipes/vision-300m/golden/") + names[i] + ".npy");
    const std::vector<float> got = i < 3 ? corner16(enc->stages[i], enc->stage_shapes[i]) : enc->stages[i];
    const double d = max_abs_diff(got, g.values);
    std::printf("%s: max |diff| %.3g (rms %.3g)\n", names[i], d, rms(g.values));
    EXPECT_LT(d, 1e-4 * std::max(1.0, rms(g.values))) << names[i];
  }
  // Reference float32-vs-float64 noise: 2.6e-6 (tower), 3.0e-6 (soft tokens); 1e-4 absolute on unit-RMS outputs.
  const Golden tower = load_golden("recipes/vision-300m/golden/vision_tower_output.npy");
  const double dt = max_abs_diff(enc->tower, tower.values);
  const Golden soft = load_golden("recipes/vision-300m/golden/vision_soft_tokens.npy");
  const double ds = max_abs_diff(enc->soft_tokens, soft.values);
  std::printf("tower: max |diff| %.3g; soft tokens: max |diff| %.3g\n", dt, ds);
  EXPECT_EQ(enc->n_tokens, 256);
  EXPECT_LT(dt, 1e-4);
  EXPECT_LT(ds, 1e-4);

  // Wall time depends on what else runs on the machine; process CPU time / 2 is the 2-thread
  // figure on an otherwise idle machine.
  t0 = std::chrono::steady_clock::now();
  const double c0 = cpu_s();
  auto again = (*model)->encode(px.values.data(), 768, 768);
  ASSERT_TRUE(again.ok());
  std::printf("vision-300m: second encode (2 threads) wall %.2f s, CPU %.2f s\n",
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), cpu_s() - c0);
  EXPECT_EQ(again->soft_tokens, enc->soft_tokens);  // deterministic

  model = runtime::make_error(runtime::ErrorCode::kCancelled, "released");
  lazy.drop();
  EXPECT_FALSE(lazy.loaded());
  std::printf("vision-300m: RSS after drop %.0f MiB\n", rss_mib());

  // bf16 matrices: half the resident weights; outputs within ~1e-2 of the float32 reference.
  const double rss2 = rss_mib();
  auto bf16 = g3::VisionModel::load(*store, *cfg, ctx, runtime::WeightFormat::kBF16);
  ASSERT_TRUE(bf16.ok()) << bf16.error().message;
  store->drop_pages_with_prefix("model.");
  const double rss3 = rss_mib();
  const double c1 = cpu_s();
  auto eb = (*bf16)->encode(px.values.data(), 768, 768);
  ASSERT_TRUE(eb.ok());
  const double db = max_abs_diff(eb->soft_tokens, soft.values);
  std::printf("vision-300m bf16: resident %.0f MiB (RSS +%.0f MiB), encode CPU %.2f s, soft tokens max |diff| %.3g\n",
              (*bf16)->resident_bytes() / 1048576.0, rss3 - rss2, cpu_s() - c1, db);
  EXPECT_LT(db, 0.25);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace gs::test::vision
