// The recipe generator (runtime/weights/recipe.h): the README 2.2 test vectors, parsing rules
// (seed as a decimal uint64 string, sorted tensors) and the safetensors file it writes.
#include "runtime/weights/recipe.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <random>

#include "runtime/weights/safetensors.h"
#include "tests/support/test_paths.h"

namespace gs::runtime {
namespace {

struct Vector {
  const char* name;
  uint64_t seed, i;
  double offset, scale;
  DType dtype;
  uint64_t r;
  uint32_t bits;
  double value;
};

// README section 2.2 (recipe_check.py --selftest).
const Vector kVectors[] = {
    {"model.language_model.embed_tokens.weight", 0, 0, 0.0, 1.0, DType::kF32, 0x01522143b29a6a49ULL, 0xbf7d5bbe,
     -0.9896811246871948},
    {"model.vision_tower.timm_model.conv_stem.conv.weight", 20250701, 12345, 0.0, 0.25, DType::kF32,
     0xd2153f0595a34c8fULL, 0x3e242a7e, 0.16031834483146667},
    {"model.audio_tower.conformer.0.attention.attn.per_dim_scale", 18446744073709551615ULL, 4294967303ULL, 1.0,
     0.4000000059604645, DType::kF32, 0x8fd7dd3f18fc3c8fULL, 0x3f865658, 1.0495100021362305},
    {"model.language_model.layers.29.mlp.down_proj.weight", 12345678901234567890ULL, 16777215, 0.0,
     0.019136639311909676, DType::kBF16, 0xaea21d4e833d7286ULL, 0x3be4, 0.0069580078125},
    {"model.language_model.norm.weight", 9223372036854775808ULL, 2047, 14.0, 6.0, DType::kBF16,
     0xbdb6a413cbecca18ULL, 0x4187, 16.875},
};

TEST(Recipe, MatchesTheReadmeTestVectors) {
  for (const Vector& v : kVectors) {
    const uint64_t key = recipe_key(v.name, v.seed);
    EXPECT_EQ(recipe_splitmix64(key + v.i), v.r) << v.name;
    Recipe r;
    r.seed = v.seed;
    r.dtype = v.dtype;
    RecipeTensor t{v.name, {static_cast<int64_t>(v.i) + 1}, v.offset, v.scale};
    if (v.dtype == DType::kF32) {
      float f = 0;
      realise_range(r, t, static_cast<int64_t>(v.i), static_cast<int64_t>(v.i) + 1, &f);
      uint32_t bits;
      std::memcpy(&bits, &f, 4);
      EXPECT_EQ(bits, v.bits) << v.name;
      EXPECT_EQ(static_cast<double>(f), v.value) << v.name;
    } else {
      uint16_t h = 0;
      realise_range(r, t, static_cast<int64_t>(v.i), static_cast<int64_t>(v.i) + 1, &h);
      EXPECT_EQ(h, v.bits) << v.name;
      EXPECT_EQ(static_cast<double>(bf16_to_f32(h)), v.value) << v.name;
    }
  }
}

TEST(Recipe, ParsesSeedAsUint64AndSortsTensors) {
  auto r = parse_recipe(R"({"format": "gemma3n-recipe-v1", "seed": "18446744073709551615", "dtype": "bfloat16",
    "config": {"a": 1}, "extra": true, "tensors": [
      {"name": "b.weight", "shape": [2, 3], "offset": 1.0, "scale": 0.5},
      {"name": "a.weight", "shape": [4], "offset": 0, "scale": 1.7320507764816284}]})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->seed, 18446744073709551615ULL);
  EXPECT_EQ(r->dtype, DType::kBF16);
  ASSERT_EQ(r->tensors.size(), 2u);
  EXPECT_EQ(r->tensors[0].name, "a.weight");
  EXPECT_EQ(r->tensors[1].numel(), 6);
  EXPECT_EQ(r->tensors[0].scale, 1.7320507764816284);
  EXPECT_EQ(r->config_json, R"({"a":1})");
}

TEST(Recipe, RejectsMalformedRecipes) {
  const char* bad[] = {
      "", "[]", R"({"format": "other", "seed": "1", "dtype": "float32", "tensors": []})",
      R"({"format": "gemma3n-recipe-v1", "seed": 1, "dtype": "float32", "tensors": []})",
      R"({"format": "gemma3n-recipe-v1", "seed": "18446744073709551616", "dtype": "float32", "tensors": []})",
      R"({"format": "gemma3n-recipe-v1", "seed": "-1", "dtype": "float32", "tensors": []})",
      R"({"format": "gemma3n-recipe-v1", "seed": "1", "dtype": "float16", "tensors": []})",
      R"({"format": "gemma3n-recipe-v1", "seed": "1", "dtype": "float32", "tensors": [{"name": "a"}]})",
      R"({"format": "gemma3n-recipe-v1", "seed": "1", "dtype": "float32",
          "tensors": [{"name": "a", "shape": [-1], "offset": 0, "scale": 1}]})",
      R"({"format": "gemma3n-recipe-v1", "seed": "1", "dtype": "float32", "tensors": [
          {"name": "a", "shape": [1], "offset": 0, "scale": 1}, {"name": "a", "shape": [1], "offset": 0, "scale": 1}]})",
  };
  for (const char* s : bad) EXPECT_FALSE(parse_recipe(s).ok()) << s;
  EXPECT_FALSE(load_recipe("/nonexistent/recipe.json").ok());
}

TEST(Recipe, MutatedRecipesNeverCrash) {
  const std::string good = R"({"format": "gemma3n-recipe-v1", "seed": "20250702", "dtype": "float32",
    "config": {"audio_config": {"hidden_size": 64}}, "tensors": [
      {"name": "b.weight", "shape": [2, 3], "offset": 1.0, "scale": 0.5},
      {"name": "a.weight", "shape": [4], "offset": 0, "scale": 1.7320507764816284}]})";
  ASSERT_TRUE(parse_recipe(good).ok());
  std::mt19937 rng(1);
  int ok = 0;
  for (int iter = 0; iter < 2000; ++iter) {
    std::string s = good;
    if (iter % 4 == 0) s.resize(rng() % s.size());
    for (int k = 1 + static_cast<int>(rng() % 4); k > 0 && !s.empty(); --k)
      s[rng() % s.size()] = "{}[]\",:0123456789-e. az"[rng() % 24];
    auto r = parse_recipe(s);  // a value or an error, never a crash or an exception
    if (r.ok()) {
      ++ok;
      for (const auto& t : r->tensors) EXPECT_GE(t.numel(), 0);
    }
  }
  EXPECT_LT(ok, 2000);
}

TEST(Recipe, WritesAValidSortedSafetensorsFile) {
  for (DType dt : {DType::kF32, DType::kBF16}) {
    Recipe r;
    r.seed = 20250702;
    r.dtype = dt;
    // Given out of order: the file must still be sorted by name.
    r.tensors = {{"model.c.weight", {}, 2.0, 1.0}, {"model.a.weight", {3, 5}, 0.0, 0.1}, {"model.b", {7}, 1.0, 0.4}};
    const std::string dir = test::temp_dir("recipe");
    ComputeContext ctx(2);
    ASSERT_TRUE(write_recipe_safetensors(r, dir + "/model.safetensors", ctx).ok());
    auto store = WeightStore::open(dir);
    ASSERT_TRUE(store.ok()) << store.error().message;
    ASSERT_EQ(store->tensors().size(), 3u);
    size_t prev_offset = 0;
    for (int k : {1, 2, 0}) {  // data laid out in name order
      const RecipeTensor& t = r.tensors[static_cast<size_t>(k)];
      const TensorRef* ref = store->find(t.name);
      ASSERT_NE(ref, nullptr);
      EXPECT_EQ(ref->dtype, dt);
      EXPECT_EQ(ref->shape, t.shape);
      EXPECT_GT(ref->file_offset, prev_offset);
      prev_offset = ref->file_offset;
      const std::vector<float> got = ref->to_f32();
      for (int64_t i = 0; i < t.numel(); ++i) {
        float want = recipe_value_f32(recipe_key(t.name, r.seed), static_cast<uint64_t>(i), t.offset, t.scale);
        if (dt == DType::kBF16) want = bf16_to_f32(f32_to_bf16(want));
        EXPECT_EQ(got[static_cast<size_t>(i)], want) << t.name << "[" << i << "]";
      }
    }
    std::filesystem::remove_all(dir);
  }
}

TEST(Recipe, AudioRealRecipeParses) {
  auto r = load_recipe(test::fixture_path("recipes/audio-real/recipe.json"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->seed, 20250702u);
  EXPECT_EQ(r->tensors.size(), 273u);
  int64_t total = 0;
  for (const auto& t : r->tensors) total += t.numel();
  EXPECT_EQ(total, 684694048);
  EXPECT_FALSE(r->config_json.empty());
}

}  // namespace
}  // namespace gs::runtime
