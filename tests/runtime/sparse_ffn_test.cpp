// Sparse FFN layers (only active neurons through up and down, down stored transposed) compute the
// same function as the dense path: same logits within float32 summation noise, same greedy
// tokens, for a prefill chunk (most neurons active in some row: dense-up branch) and for decode
// steps (a few percent active: gathered rows), in f32 and q8.
#include <gtest/gtest.h>

#include <algorithm>

#include "runtime/models/gemma3n/random_checkpoint.h"
#include "runtime/models/gemma3n/text_model.h"
#include "tests/support/compare.h"

namespace gs::runtime::gemma3n {
namespace {

struct FfnRun {
  std::vector<float> prefill;
  std::vector<std::vector<float>> steps;
  std::vector<int32_t> tokens;
};

// The fixture's architecture with weights drawn by the recipe rules (see quantized_model_test.cpp:
// the fixture's own weights are too chaotic for any quantized comparison).
const std::string& recipe_model() {
  static const std::string dir = [] {
    ComputeContext ctx(2);
    const std::string d = test::temp_dir("sparse-ffn-model");
    auto rec = recipe_from_config(*preset_config_json("tiny"), 42, DType::kF32);
    EXPECT_TRUE(write_checkpoint(*rec, d, 1, "", ctx).ok());
    return d;
  }();
  return dir;
}

FfnRun run(bool sparse, WeightFormat f, const std::string& dir) {
  static ComputeContext ctx(2);
  TextModelOptions o;
  o.sparse_ffn = sparse;
  o.format_auto = false;
  o.format = f;
  auto m = TextModel::load(dir, o, ctx);
  EXPECT_TRUE(m.ok());
  const auto& model = **m;
  const bool has_t = !model.weights().layers[0].down_proj_t.empty();
  EXPECT_EQ(has_t, sparse);  // layer 0 has activation sparsity 0.95 in the fixture
  auto kv = model.new_sequence(model.full());
  SequenceKv* kvs[] = {kv.get()};
  FfnRun r;
  StepBatch b;
  const int T = 40;
  for (int i = 0; i < T; ++i) b.add(2 + (i * 37) % 250, i, 0, true);
  StepOutput out;
  EXPECT_TRUE(model.forward(b, model.full(), kvs, &out).ok());
  r.prefill = out.logits;
  const int V = model.text_config().vocab_size;
  std::vector<float> last(out.logits.end() - V, out.logits.end());
  for (int s = 0; s < 8; ++s) {
    const auto tok = static_cast<int32_t>(std::max_element(last.begin(), last.end()) - last.begin());
    r.tokens.push_back(tok);
    StepBatch d;
    d.add(tok, T + s, 0, true);
    StepOutput o2;
    EXPECT_TRUE(model.forward(d, model.full(), kvs, &o2).ok());
    last = o2.logits;
    r.steps.push_back(o2.logits);
  }
  return r;
}

TEST(SparseFfn, SameLogitsAndTokensAsDense) {
  // f32 on the HF fixture: summation order only (its chaotic weights amplify that to ~1e-4).
  const std::string fixture = test::fixture_path("gemma3n-tiny/model");
  const FfnRun dense = run(false, WeightFormat::kF32, fixture), sparse = run(true, WeightFormat::kF32, fixture);
  EXPECT_LT(test::max_abs_diff(dense.prefill, sparse.prefill), 5e-4f);
  for (size_t s = 0; s < dense.steps.size(); ++s) EXPECT_LT(test::max_abs_diff(dense.steps[s], sparse.steps[s]), 5e-4f);
  EXPECT_EQ(dense.tokens, sparse.tokens);
}

// q8: the transposed down_proj is quantized in blocks along D instead of F, a different rounding
// of the same weights. Its error against f32 must be of the same size as the dense layout's.
TEST(SparseFfn, QuantizedTransposedDownIsAsAccurateAsDense) {
  const FfnRun ref = run(false, WeightFormat::kF32, recipe_model());
  const FfnRun dense = run(false, WeightFormat::kQ8, recipe_model()), sparse = run(true, WeightFormat::kQ8, recipe_model());
  const float e_dense = test::max_abs_diff(ref.prefill, dense.prefill);
  const float e_sparse = test::max_abs_diff(ref.prefill, sparse.prefill);
  EXPECT_LT(e_sparse, 1.5f * e_dense + 1e-3f) << "dense " << e_dense << " sparse " << e_sparse;
  EXPECT_EQ(dense.tokens, sparse.tokens);
  EXPECT_EQ(ref.tokens, sparse.tokens);
}

}  // namespace
}  // namespace gs::runtime::gemma3n
