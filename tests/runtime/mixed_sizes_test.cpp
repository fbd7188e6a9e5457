// Sequences of different MatFormer sizes in one forward step: the full tiny model and its slice
// (layers 5-6 skipped, FFN prefixes of 128 of 256) prefill and decode side by side, and each
// matches its own Hugging Face goldens (the full model's text_*, the sliced checkpoint's
// matformer_*). Tolerances as in text_parity_test: 2e-3 on prefill logits against float64,
// 5e-3 on the greedy steps' logits, tokens exact.
#include <gtest/gtest.h>

#include <algorithm>

#include "runtime/models/gemma3n/text_model.h"
#include "tests/support/compare.h"

namespace gs::runtime::gemma3n {
namespace {

std::vector<float> rows(const std::vector<float>& logits, int V, int from, int to) {
  return {logits.begin() + static_cast<ptrdiff_t>(from) * V, logits.begin() + static_cast<ptrdiff_t>(to) * V};
}

struct Mixed {
  ComputeContext ctx{2};
  std::unique_ptr<TextModel> m;
  LayerPlan slice;
  Mixed() {
    auto r = TextModel::load(test::fixture_path("gemma3n-tiny/model"), TextModelOptions{}, ctx);
    EXPECT_TRUE(r.ok());
    if (!r.ok()) return;
    m = std::move(r).value();
    auto p = slice_plan(m->text_config(), {"tiny-slice", {5, 6}, {128, 128, 128, 128, 256, 128, 128, 256}});
    EXPECT_TRUE(p.ok());
    if (p.ok()) slice = std::move(p).value();
  }
};

TEST(MixedSizes, CompatibilityOfPlans) {
  Mixed t;
  ASSERT_TRUE(t.m);
  const auto& c = t.m->text_config();
  EXPECT_TRUE(step_compatible(t.m->full(), t.slice));
  EXPECT_TRUE(step_compatible(t.slice, t.slice));
  // Skipping producer layer 2 re-points the sliding consumers: not step-compatible with the full
  // model, and forward refuses to mix them.
  auto other = slice_plan(c, {"no-2", {2}, std::vector<int>(9, 256)});
  ASSERT_TRUE(other.ok()) << other.error().message;
  EXPECT_FALSE(step_compatible(t.m->full(), *other));
  auto ka = t.m->new_sequence(t.m->full()), kb = t.m->new_sequence(*other);
  SequenceKv* kvs[] = {ka.get(), kb.get()};
  const LayerPlan* plans[] = {&t.m->full(), &*other};
  StepBatch b;
  b.add(2, 0, 0, true);
  b.add(2, 0, 1, true);
  StepOutput out;
  EXPECT_FALSE(t.m->forward(b, plans, kvs, &out).ok());
  // step_layers: layer 4 at the wider width, layer 5 kept by the full model only.
  const LayerPlan* both[] = {&t.m->full(), &t.slice};
  auto layers = step_layers(c, both);
  ASSERT_TRUE(layers.ok());
  ASSERT_EQ(layers->size(), 10u);
  EXPECT_EQ((*layers)[0].pl.ffn_width, 256);
  EXPECT_EQ((*layers)[0].width, (std::vector<int>{256, 128}));
  EXPECT_EQ((*layers)[5].width, (std::vector<int>{256, 0}));
}

// Both prompts in one step, every row's logits wanted (no narrowing): each matches its goldens.
TEST(MixedSizes, PrefillTogetherMatchesEachSizesGoldens) {
  Mixed t;
  ASSERT_TRUE(t.m);
  const int V = t.m->text_config().vocab_size;
  const auto a = test::golden_ids("text_prompt_ids.npy"), s = test::golden_ids("matformer_prompt_ids.npy");
  auto ka = t.m->new_sequence(t.m->full()), ks = t.m->new_sequence(t.slice);
  SequenceKv* kvs[] = {ka.get(), ks.get()};
  const LayerPlan* plans[] = {&t.m->full(), &t.slice};
  StepBatch b;
  for (size_t i = 0; i < a.size(); ++i) b.add(a[i], static_cast<int32_t>(i), 0, true);
  for (size_t i = 0; i < s.size(); ++i) b.add(s[i], static_cast<int32_t>(i), 1, true);
  StepOutput out;
  ASSERT_TRUE(t.m->forward(b, plans, kvs, &out).ok());
  const int na = static_cast<int>(a.size()), ns = static_cast<int>(s.size());
  EXPECT_LT(test::max_abs_diff(rows(out.logits, V, 0, na),
                               test::load_f32("gemma3n-tiny/golden/text_prefill_logits_f64.npy")), 2e-3f);
  EXPECT_LT(test::max_abs_diff(rows(out.logits, V, na, na + ns),
                               test::load_f32("gemma3n-tiny/golden/matformer_prefill_logits_f64.npy")), 2e-3f);
}

// Prefill (last rows only: the consumer layers narrowed, layers 5-6 for one sequence only), then
// greedy decode steps of both sequences together until each has its golden token count.
TEST(MixedSizes, GreedyTogetherMatchesEachSizesGoldens) {
  Mixed t;
  ASSERT_TRUE(t.m);
  const int V = t.m->text_config().vocab_size;
  const std::vector<std::string> names = {"text", "matformer"};
  std::vector<std::vector<int32_t>> prompt = {test::golden_ids("text_prompt_ids.npy"),
                                              test::golden_ids("matformer_prompt_ids.npy")};
  std::vector<std::vector<int64_t>> gold = {test::load_i64("gemma3n-tiny/golden/text_greedy_tokens.npy"),
                                            test::load_i64("gemma3n-tiny/golden/matformer_greedy_tokens.npy")};
  auto ka = t.m->new_sequence(t.m->full()), ks = t.m->new_sequence(t.slice);
  SequenceKv* kvs[] = {ka.get(), ks.get()};
  const LayerPlan* plans[] = {&t.m->full(), &t.slice};
  std::vector<std::vector<int32_t>> toks(2);
  std::vector<std::vector<float>> step_logits(2);
  StepBatch b;
  for (int q = 0; q < 2; ++q)
    for (size_t i = 0; i < prompt[q].size(); ++i)
      b.add(prompt[q][i], static_cast<int32_t>(i), q, i + 1 == prompt[q].size());
  std::vector<int> order = {0, 1};  // sequence of each logits row
  while (!order.empty()) {
    StepOutput out;
    ASSERT_TRUE(t.m->forward(b, plans, kvs, &out).ok());
    b = {};
    std::vector<int> next;
    for (size_t r = 0; r < order.size(); ++r) {
      const int q = order[r];
      const auto* l = out.logits.data() + r * V;
      step_logits[q].insert(step_logits[q].end(), l, l + V);
      toks[q].push_back(static_cast<int32_t>(std::max_element(l, l + V) - l));
      if (toks[q].size() < gold[q].size()) {
        b.add(toks[q].back(), kvs[q]->length(), q, true);
        next.push_back(q);
      }
    }
    order = next;
  }
  for (int q = 0; q < 2; ++q) {
    ASSERT_EQ(toks[q].size(), gold[q].size());
    for (size_t i = 0; i < toks[q].size(); ++i) EXPECT_EQ(toks[q][i], gold[q][i]) << names[q] << " step " << i;
    const auto want = test::load_f32("gemma3n-tiny/golden/" + names[q] + "_greedy_step_logits.npy");
    EXPECT_LT(test::max_abs_diff(step_logits[q], want), 5e-3f) << names[q];
  }
}

}  // namespace
}  // namespace gs::runtime::gemma3n
