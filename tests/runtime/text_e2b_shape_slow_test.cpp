// Real E2B shapes (30 layers, hidden 2048, FFN 8192, window 512) from the text-e2b-shape recipe,
// realised by our generator, against the Hugging Face goldens (tests/fixtures/recipes/README.md §4:
// logits 5e-3 absolute, greedy tokens exact, hidden states 1e-3 x stream RMS).
// Slow (realises a 3.9 GB checkpoint): label "slow". Set GS_E2B_SHAPE_DIR to reuse a realised copy.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include "runtime/models/gemma3n/random_checkpoint.h"
#include "runtime/models/gemma3n/text_model.h"
#include "tests/support/compare.h"

namespace gs::runtime::gemma3n {
namespace {

std::string realised_dir(const ComputeContext& ctx) {
  if (const char* d = std::getenv("GS_E2B_SHAPE_DIR"); d && std::filesystem::exists(std::string(d) + "/model.safetensors"))
    return d;
  const std::string dir = test::temp_dir("e2b-shape");
  auto rec = load_recipe(test::fixture_path("recipes/text-e2b-shape/recipe.json"));
  EXPECT_TRUE(rec.ok());
  EXPECT_TRUE(write_checkpoint(*rec, dir, 1, "", ctx).ok());
  return dir;
}

TEST(TextE2bShape, MatchesReferenceGoldens) {
  ComputeContext ctx(2);
  const std::string dir = realised_dir(ctx);
  auto m = TextModel::load(dir, TextModelOptions{}, ctx);
  ASSERT_TRUE(m.ok()) << m.error().message;
  const auto& model = **m;
  const int V = model.text_config().vocab_size;
  std::vector<int32_t> ids;
  for (int64_t v : test::load_i64("recipes/text-e2b-shape/golden/prompt_ids.npy")) ids.push_back(static_cast<int32_t>(v));
  const int T = static_cast<int>(ids.size());

  auto kv = model.new_sequence(model.full());
  SequenceKv* kvs[] = {kv.get()};
  StepBatch b;
  for (int i = 0; i < T; ++i) b.add(ids[i], i, 0, i >= T - 8);
  StepOutput out;
  out.capture_hidden = true;
  ASSERT_TRUE(model.forward(b, model.full(), kvs, &out).ok());
  const auto want = test::load_f32("recipes/text-e2b-shape/golden/prefill_logits_last8.npy");
  EXPECT_LT(test::max_abs_diff(out.logits, want), 5e-3f);

  // Hidden streams at the last position: [31, 4, 2048].
  std::vector<int64_t> hs;
  const auto want_h = test::load_f32("recipes/text-e2b-shape/golden/prefill_hidden_last_position.npy", &hs);
  const int64_t D = model.text_config().hidden_size, N = 4;
  for (int64_t l = 0; l < hs[0]; ++l)
    for (int64_t s = 0; s < N; ++s) {
      std::vector<float> got(out.hidden.begin() + ((l * N + s) * T + (T - 1)) * D,
                             out.hidden.begin() + ((l * N + s) * T + T) * D);
      std::vector<float> ref(want_h.begin() + (l * N + s) * D, want_h.begin() + (l * N + s + 1) * D);
      EXPECT_LT(test::max_abs_diff(got, ref), 1e-3f * std::max(1.f, test::rms_of(ref))) << "layer " << l << " stream " << s;
    }

  // Greedy: feed the golden tokens through the KV cache and compare each step's logits.
  const auto gold = test::load_i64("recipes/text-e2b-shape/golden/greedy_tokens.npy");
  const auto gold_logits = test::load_f32("recipes/text-e2b-shape/golden/greedy_step_logits.npy");
  std::vector<float> step(out.logits.end() - V, out.logits.end());
  for (size_t i = 0; i < gold.size(); ++i) {
    const int32_t arg = static_cast<int32_t>(std::max_element(step.begin(), step.end()) - step.begin());
    EXPECT_EQ(arg, gold[i]) << "greedy step " << i;
    std::vector<float> ref(gold_logits.begin() + i * V, gold_logits.begin() + (i + 1) * V);
    EXPECT_LT(test::max_abs_diff(step, ref), 5e-3f) << "step logits " << i;
    StepBatch d;
    d.add(static_cast<int32_t>(gold[i]), kv->length(), 0, true);
    StepOutput o;
    ASSERT_TRUE(model.forward(d, model.full(), kvs, &o).ok());
    step = o.logits;
  }
}

}  // namespace
}  // namespace gs::runtime::gemma3n
