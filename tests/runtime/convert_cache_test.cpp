// The on-disk cache of quantized weights: a second load reads the cache instead of quantizing and
// computes bit-identical logits; a damaged, truncated or hostile cache file is ignored (and
// rewritten), never trusted; the checkpoint fingerprint changes when the checkpoint's bytes do.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "runtime/models/gemma3n/random_checkpoint.h"
#include "runtime/models/gemma3n/text_model.h"
#include "runtime/weights/convert_cache.h"
#include "tests/support/test_paths.h"

namespace gs::runtime::gemma3n {
namespace {

namespace fs = std::filesystem;

std::string make_model(const std::string& tag, uint64_t seed) {
  ComputeContext ctx(2);
  const std::string d = test::temp_dir(tag);
  auto rec = recipe_from_config(*preset_config_json("tiny"), seed, DType::kF32);
  EXPECT_TRUE(write_checkpoint(*rec, d, 1, "", ctx).ok());
  return d;
}

struct Loaded {
  std::unique_ptr<TextModel> model;
  std::vector<float> logits;
};

Loaded load_and_run(const std::string& dir, WeightFormat f, const std::string& cache_dir, bool q4_row_groups = true) {
  static ComputeContext ctx(2);
  TextModelOptions o;
  o.format_auto = false;
  o.format = f;
  o.convert_cache_dir = cache_dir;
  o.q4_row_groups = q4_row_groups;
  auto m = TextModel::load(dir, o, ctx);
  EXPECT_TRUE(m.ok()) << (m.ok() ? "" : m.error().message);
  Loaded r;
  if (!m.ok()) return r;
  r.model = std::move(m).value();
  auto kv = r.model->new_sequence(r.model->full());
  SequenceKv* kvs[] = {kv.get()};
  StepBatch b;
  for (int i = 0; i < 12; ++i) b.add(2 + i * 7, i, 0, true);
  StepOutput out;
  EXPECT_TRUE(r.model->forward(b, r.model->full(), kvs, &out).ok());
  r.logits = std::move(out.logits);
  return r;
}

std::vector<fs::path> cache_files(const std::string& dir) {
  std::vector<fs::path> out;
  if (fs::exists(dir))
    for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path());
  return out;
}

TEST(ConvertCache, SecondLoadReadsTheCacheWithIdenticalLogits) {
  const std::string model = make_model("cc-model", 7), cache = test::temp_dir("cc-cache");
  for (WeightFormat f : {WeightFormat::kQ4, WeightFormat::kQ8}) {
    const Loaded plain = load_and_run(model, f, "");
    const Loaded first = load_and_run(model, f, cache);
    ASSERT_TRUE(first.model);
    EXPECT_FALSE(first.model->weights().from_convert_cache);
    const Loaded second = load_and_run(model, f, cache);
    ASSERT_TRUE(second.model);
    EXPECT_TRUE(second.model->weights().from_convert_cache) << weight_format_name(f);
    EXPECT_EQ(first.logits, plain.logits);
    EXPECT_EQ(second.logits, plain.logits);  // same bytes, same kernels: bit-identical
    EXPECT_EQ(second.model->weights().resident_bytes, first.model->weights().resident_bytes);
  }
  EXPECT_EQ(cache_files(cache).size(), 2u);  // one file per format, no temporaries left
  // bf16 and f32 are not cached (their conversion is a copy).
  const Loaded bf = load_and_run(model, WeightFormat::kBF16, cache);
  EXPECT_FALSE(bf.model->weights().from_convert_cache);
  EXPECT_EQ(cache_files(cache).size(), 2u);
}

TEST(ConvertCache, DamagedCacheIsIgnoredAndRewritten) {
  const std::string model = make_model("cc-model2", 9), cache = test::temp_dir("cc-cache2");
  const Loaded plain = load_and_run(model, WeightFormat::kQ4, cache);
  auto files = cache_files(cache);
  ASSERT_EQ(files.size(), 1u);
  const auto size = fs::file_size(files[0]);
  fs::resize_file(files[0], size - 100);  // truncated index
  const Loaded again = load_and_run(model, WeightFormat::kQ4, cache);
  EXPECT_FALSE(again.model->weights().from_convert_cache);
  EXPECT_EQ(again.logits, plain.logits);
  EXPECT_EQ(fs::file_size(files[0]), size);  // rewritten whole
  const Loaded third = load_and_run(model, WeightFormat::kQ4, cache);
  EXPECT_TRUE(third.model->weights().from_convert_cache);
  EXPECT_EQ(third.logits, plain.logits);
}

// kQ4 products keep their rows interleaved by 8 through the cache; rows read one at a time (the
// sparse layers' up_proj) stay plain; the plain layout is another file. (That both layouts
// compute the same products is tests/kernels/q4_interleave_test.cpp's job: on this random model
// a summation-order difference can flip an int8 activation rounding and move logits a lot.)
TEST(ConvertCache, Q4RowGroupsSurviveTheCache) {
  const std::string model = make_model("cc-model4", 13), cache = test::temp_dir("cc-cache4");
  const Loaded first = load_and_run(model, WeightFormat::kQ4, cache);
  const Loaded second = load_and_run(model, WeightFormat::kQ4, cache);
  ASSERT_TRUE(first.model && second.model);
  ASSERT_TRUE(second.model->weights().from_convert_cache);
  EXPECT_EQ(second.logits, first.logits);
  const TextWeights& w = second.model->weights();
  EXPECT_EQ(w.embed_tokens.interleave, 8);
  int grouped = 0, plain_up = 0;
  for (const LayerWeights& l : w.layers) {
    EXPECT_EQ(l.q_proj.interleave, 8);
    EXPECT_EQ(l.gate_proj.interleave, 8);
    grouped += l.up_proj.interleave == 8;
    plain_up += !l.down_proj_t.empty() && l.up_proj.interleave == 1;  // gathered rows
    EXPECT_EQ(l.up_proj.interleave == 1, !l.down_proj_t.empty());
  }
  EXPECT_GT(grouped, 0);
  EXPECT_GT(plain_up, 0);
  const Loaded rows = load_and_run(model, WeightFormat::kQ4, cache, /*q4_row_groups=*/false);
  ASSERT_TRUE(rows.model);
  EXPECT_FALSE(rows.model->weights().from_convert_cache);
  EXPECT_EQ(rows.model->weights().layers[0].q_proj.interleave, 1);
  EXPECT_EQ(cache_files(cache).size(), 2u);
}

// Random byte flips, truncations and garbage: open() either rejects the file or returns entries
// that lie inside it (ASan checks the reads below).
class ConvertCacheFuzz : public ::testing::TestWithParam<WeightFormat> {};

TEST_P(ConvertCacheFuzz, MutatedFilesNeverCrashTheReader) {
  const std::string model = make_model("cc-model3", 11), cache = test::temp_dir("cc-cache3");
  load_and_run(model, GetParam(), cache);
  auto files = cache_files(cache);
  ASSERT_EQ(files.size(), 1u);
  std::ifstream in(files[0], std::ios::binary);
  const std::string good((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_TRUE(ConvertCacheReader::open(files[0].string()).ok());
  std::mt19937_64 rng(5);
  const std::string path = test::temp_dir("cc-fuzz") + "/x.gsq";
  int rejected = 0;
  for (int it = 0; it < 300; ++it) {
    std::string bytes = good;
    const int kind = static_cast<int>(rng() % 3);
    if (kind == 0) {
      bytes.resize(rng() % bytes.size());
    } else {
      // Bias flips toward the header and the index, where the structure lives.
      const int flips = 1 + static_cast<int>(rng() % 8);
      for (int k = 0; k < flips; ++k) {
        const size_t region = rng() % 2 ? rng() % 64 : bytes.size() - 1 - rng() % std::min<size_t>(bytes.size(), 4096);
        bytes[region] = static_cast<char>(kind == 1 ? bytes[region] ^ (1 << (rng() % 8)) : rng());
      }
    }
    std::ofstream(path, std::ios::binary | std::ios::trunc).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    auto r = ConvertCacheReader::open(path);
    if (!r.ok()) {
      ++rejected;
      EXPECT_EQ(r.error().code, ErrorCode::kCorruptFile);
    }
  }
  EXPECT_GT(rejected, 100);
}

// kQ8: plain rows; kQ4: interleaved row groups (the format word's group byte).
INSTANTIATE_TEST_SUITE_P(Formats, ConvertCacheFuzz, ::testing::Values(WeightFormat::kQ8, WeightFormat::kQ4));

TEST(ConvertCache, FingerprintFollowsTheCheckpointBytes) {
  const std::string a = make_model("cc-fp-a", 1), b = make_model("cc-fp-b", 2);
  auto sa = WeightStore::open(a), sb = WeightStore::open(b);
  ASSERT_TRUE(sa.ok() && sb.ok());
  const std::string fa = checkpoint_fingerprint(*sa);
  EXPECT_EQ(fa.size(), 32u);
  EXPECT_EQ(fa, checkpoint_fingerprint(*WeightStore::open(a)));
  EXPECT_NE(fa, checkpoint_fingerprint(*sb));  // same shapes and header, other values
  // Same bytes, other modification time: a different key (the file may have been rewritten).
  const auto file = fs::path(a) / "model.safetensors";
  fs::last_write_time(file, fs::last_write_time(file) + std::chrono::seconds(5));
  EXPECT_NE(fa, checkpoint_fingerprint(*WeightStore::open(a)));
}

}  // namespace
}  // namespace gs::runtime::gemma3n
