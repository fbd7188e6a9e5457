// Quantized weight formats end to end: 8-bit greedy tokens equal the f32 path's; the 4-bit path's
// prefill distribution stays close to f32's (mean KL divergence bounded); bf16 likewise.
// The model is the fixture's architecture (tiny preset) with weights drawn by the recipe rules
// (tests/fixtures/recipes/README.md §3). The HF fixture's own weights are deliberately chaotic
// (its bf16 rounding alone moves logits by 19.3, MANIFEST bf16_vs_f32_prefill_maxdiff), so no
// weight format but f32 can track them; the recipe rules were designed for real-model behaviour.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "runtime/models/gemma3n/random_checkpoint.h"
#include "runtime/models/gemma3n/text_model.h"
#include "tests/support/compare.h"

namespace gs::runtime::gemma3n {
namespace {

std::vector<int32_t> prompt() {
  std::vector<int32_t> ids;
  for (int64_t v : test::load_i64("gemma3n-tiny/golden/text_prompt_ids.npy")) ids.push_back(static_cast<int32_t>(v));
  return ids;
}

struct FormatRun {
  std::vector<float> prefill;   // [T, V]
  std::vector<int32_t> greedy;  // 16 tokens
};

const std::string& model_dir() {
  static const std::string dir = [] {
    ComputeContext ctx(2);
    const std::string d = test::temp_dir("quant-model");
    auto rec = recipe_from_config(*preset_config_json("tiny"), 42, DType::kF32);
    EXPECT_TRUE(write_checkpoint(*rec, d, 1, "", ctx).ok());
    return d;
  }();
  return dir;
}

FormatRun run(WeightFormat f) {
  ComputeContext ctx(2);
  TextModelOptions o;
  o.format_auto = false;
  o.format = f;
  auto m = TextModel::load(model_dir(), o, ctx);
  EXPECT_TRUE(m.ok());
  const auto ids = prompt();
  const int V = (*m)->text_config().vocab_size;
  FormatRun r;
  auto kv = (*m)->new_sequence((*m)->full());
  SequenceKv* kvs[] = {kv.get()};
  StepBatch b;
  for (size_t i = 0; i < ids.size(); ++i) b.add(ids[i], static_cast<int32_t>(i), 0, true);
  StepOutput out;
  EXPECT_TRUE((*m)->forward(b, (*m)->full(), kvs, &out).ok());
  r.prefill = out.logits;
  std::vector<float> last(out.logits.end() - V, out.logits.end());
  for (int s = 0; s < 16; ++s) {
    r.greedy.push_back(static_cast<int32_t>(std::max_element(last.begin(), last.end()) - last.begin()));
    StepBatch d;
    d.add(r.greedy.back(), kv->length(), 0, true);
    StepOutput o2;
    EXPECT_TRUE((*m)->forward(d, (*m)->full(), kvs, &o2).ok());
    last = o2.logits;
  }
  return r;
}

// Mean over positions of KL(p_ref || p), softmax of the logits.
double mean_kl(const std::vector<float>& ref, const std::vector<float>& got, int V) {
  const size_t T = ref.size() / V;
  double total = 0;
  for (size_t t = 0; t < T; ++t) {
    auto lse = [&](const float* l) {
      const float m = *std::max_element(l, l + V);
      double s = 0;
      for (int i = 0; i < V; ++i) s += std::exp(static_cast<double>(l[i] - m));
      return m + std::log(s);
    };
    const float* a = ref.data() + t * V;
    const float* b = got.data() + t * V;
    const double la = lse(a), lb = lse(b);
    for (int i = 0; i < V; ++i) {
      const double pa = std::exp(a[i] - la);
      total += pa * ((a[i] - la) - (b[i] - lb));
    }
  }
  return total / static_cast<double>(T);
}

TEST(QuantizedModel, EightBitGreedyEqualsF32AndFourBitKlIsBounded) {
  const FormatRun f32 = run(WeightFormat::kF32);
  const FormatRun q8 = run(WeightFormat::kQ8);
  const FormatRun q4 = run(WeightFormat::kQ4);
  const FormatRun bf = run(WeightFormat::kBF16);
  EXPECT_EQ(q8.greedy, f32.greedy);
  const int V = 272;
  const double kl8 = mean_kl(f32.prefill, q8.prefill, V);
  const double kl4 = mean_kl(f32.prefill, q4.prefill, V);
  const double klb = mean_kl(f32.prefill, bf.prefill, V);
  std::printf("mean KL vs f32: bf16 %.2e, q8 %.2e, q4 %.2e\n", klb, kl8, kl4);
  // Measured: bf16 3.3e-4, q8 1.2e-3, q4 0.36 (logits of std ~12 make this random model's
  // distributions far sharper than a trained model's). Bounds at ~4x / 3x the measurement.
  EXPECT_LT(klb, 2e-3);
  EXPECT_LT(kl8, 5e-3);
  EXPECT_LT(kl4, 1.0);
  EXPECT_GT(kl4, kl8);  // the measurement sees the quantization at all
}

}  // namespace
}  // namespace gs::runtime::gemma3n
