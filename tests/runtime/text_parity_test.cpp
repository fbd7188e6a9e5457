// Parity of the text decoder with the Hugging Face reference goldens (tests/fixtures/gemma3n-tiny).
// Tolerances: the f32 reference itself moves logits by ~5e-4 against float64 (MANIFEST checks),
// so logits are compared with the float64 goldens at 2e-3; hidden states at 1e-4 relative to
// each stream's RMS; greedy tokens exactly (the smallest top-1/top-2 margin is ~0.1).
#include <gtest/gtest.h>

#include <algorithm>

#include "runtime/models/gemma3n/text_model.h"
#include "tests/support/compare.h"

namespace gs::runtime::gemma3n {
namespace {

using test::fixture_path;

struct Loaded {
  std::unique_ptr<ComputeContext> ctx = std::make_unique<ComputeContext>(2);
  std::unique_ptr<TextModel> model;
};

Loaded load(const std::string& dir) {
  Loaded l;
  auto m = TextModel::load(fixture_path("gemma3n-tiny/" + dir), TextModelOptions{}, *l.ctx);
  EXPECT_TRUE(m.ok()) << (m.ok() ? "" : m.error().message);
  if (m.ok()) l.model = std::move(m).value();
  return l;
}

// Prefill logits for all positions.
std::vector<float> prefill(const TextModel& m, const LayerPlan& plan, const std::vector<int32_t>& ids,
                           std::vector<float>* hidden = nullptr) {
  StepBatch b;
  for (size_t i = 0; i < ids.size(); ++i) b.add(ids[i], static_cast<int32_t>(i), 0, true);
  auto kv = m.new_sequence(plan);
  SequenceKv* kvs[] = {kv.get()};
  StepOutput out;
  out.capture_hidden = hidden != nullptr;
  auto st = m.forward(b, plan, kvs, &out);
  EXPECT_TRUE(st.ok()) << (st.ok() ? "" : st.error().message);
  if (hidden) *hidden = std::move(out.hidden);
  return out.logits;
}

// Greedy decode: returns tokens and the logits rows that chose them.
std::vector<int32_t> greedy(const TextModel& m, const LayerPlan& plan, const std::vector<int32_t>& ids, int steps,
                            std::vector<float>* step_logits) {
  const int V = m.text_config().vocab_size;
  auto kv = m.new_sequence(plan);
  SequenceKv* kvs[] = {kv.get()};
  StepBatch b;
  for (size_t i = 0; i < ids.size(); ++i) b.add(ids[i], static_cast<int32_t>(i), 0, i + 1 == ids.size());
  std::vector<int32_t> toks;
  for (int s = 0; s < steps; ++s) {
    StepOutput out;
    EXPECT_TRUE(m.forward(b, plan, kvs, &out).ok());
    step_logits->insert(step_logits->end(), out.logits.begin(), out.logits.end());
    toks.push_back(static_cast<int32_t>(std::max_element(out.logits.begin(), out.logits.begin() + V) -
                                        out.logits.begin()));
    b = {};
    b.add(toks.back(), kv->length(), 0, true);
  }
  return toks;
}

void check_goldens(const TextModel& m, const LayerPlan& plan, const std::string& g) {
  const auto ids = test::golden_ids(g + "_prompt_ids.npy");
  const auto logits = prefill(m, plan, ids);
  const auto want = test::load_f32("gemma3n-tiny/golden/" + g + "_prefill_logits_f64.npy");
  EXPECT_LT(test::max_abs_diff(logits, want), 2e-3f) << g << " prefill logits";

  std::vector<float> step_logits;
  const auto gold_tokens = test::load_i64("gemma3n-tiny/golden/" + g + "_greedy_tokens.npy");
  const auto toks = greedy(m, plan, ids, static_cast<int>(gold_tokens.size()), &step_logits);
  for (size_t i = 0; i < toks.size(); ++i) EXPECT_EQ(toks[i], gold_tokens[i]) << g << " greedy step " << i;
  const auto want_steps = test::load_f32("gemma3n-tiny/golden/" + g + "_greedy_step_logits.npy");
  EXPECT_LT(test::max_abs_diff(step_logits, want_steps), 5e-3f) << g << " greedy step logits";
}

TEST(TextParity, PrefillLogitsHiddenStatesAndGreedy) {
  auto l = load("model");
  ASSERT_TRUE(l.model);
  const auto& m = *l.model;
  // text_* goldens use the same prompt name as the f32 model.
  const auto ids = test::golden_ids("text_prompt_ids.npy");
  std::vector<float> hidden;
  const auto logits = prefill(m, m.full(), ids, &hidden);
  EXPECT_LT(test::max_abs_diff(logits, test::load_f32("gemma3n-tiny/golden/text_prefill_logits_f64.npy")), 2e-3f);
  EXPECT_LT(test::max_abs_diff(logits, test::load_f32("gemma3n-tiny/golden/text_prefill_logits.npy")), 2e-3f);

  std::vector<int64_t> hs_shape;
  const auto want_h = test::load_f32("gemma3n-tiny/golden/text_prefill_hidden_states.npy", &hs_shape);
  ASSERT_EQ(hidden.size(), want_h.size());
  const int64_t per_layer = static_cast<int64_t>(want_h.size()) / hs_shape[0];
  for (int64_t l2 = 0; l2 < hs_shape[0]; ++l2) {
    std::vector<float> a(hidden.begin() + l2 * per_layer, hidden.begin() + (l2 + 1) * per_layer);
    std::vector<float> b(want_h.begin() + l2 * per_layer, want_h.begin() + (l2 + 1) * per_layer);
    EXPECT_LT(test::max_abs_diff(a, b), 1e-4f * std::max(1.f, test::rms_of(b))) << "layer input " << l2;
  }
  check_goldens(m, m.full(), "text");
}

TEST(TextParity, Bf16Checkpoint) {
  auto l = load("model-bf16");
  ASSERT_TRUE(l.model);
  EXPECT_EQ(l.model->format(), WeightFormat::kBF16);
  check_goldens(*l.model, l.model->full(), "bf16");
}

TEST(TextParity, ShardedCheckpoint) {
  auto l = load("model-sharded");
  ASSERT_TRUE(l.model);
  check_goldens(*l.model, l.model->full(), "text");
}

TEST(TextParity, MatformerCheckpoint) {
  auto l = load("matformer-model");
  ASSERT_TRUE(l.model);
  check_goldens(*l.model, l.model->full(), "matformer");
}

TEST(TextParity, MatformerSliceOfFullModelMatchesSlicedCheckpoint) {
  auto l = load("model");
  ASSERT_TRUE(l.model);
  SliceSpec s{"tiny-slice", {5, 6}, {128, 128, 128, 128, 256, 128, 128, 256}};
  auto plan = slice_plan(l.model->text_config(), s);
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  EXPECT_FALSE(plan->is_full_model);
  check_goldens(*l.model, *plan, "matformer");
}

TEST(TextParity, SliceValidation) {
  auto l = load("model");
  ASSERT_TRUE(l.model);
  const auto& c = l.model->text_config();
  EXPECT_FALSE(slice_plan(c, {"bad", {0, 1, 2, 3}, std::vector<int>(6, 128)}).ok());  // no sliding producer left
  EXPECT_FALSE(slice_plan(c, {"bad", {}, std::vector<int>(9, 128)}).ok());         // wrong count
  EXPECT_FALSE(slice_plan(c, {"bad", {}, std::vector<int>(10, 512)}).ok());        // wider than the checkpoint
  EXPECT_FALSE(slice_plan(c, {"bad", {42}, std::vector<int>(10, 128)}).ok());      // out of range
  EXPECT_FALSE(slice_plan(c, {"bad", {}, std::vector<int>(10, 96)}).ok());         // not whole q4 blocks
  EXPECT_TRUE(slice_plan(c, {"ok", {}, std::vector<int>(10, 64)}).ok());
}

}  // namespace
}  // namespace gs::runtime::gemma3n
