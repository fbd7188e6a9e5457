// The KV-consumer layers (the tiny model's 5-9, E2B's 20-29) run only on the rows whose logits
// are wanted. These tests compare such narrowed steps with steps that keep every row (logits
// wanted everywhere, so nothing is dropped), and mixed multi-sequence steps with each sequence
// run alone. Tolerance 1e-3 on logits of up to +-28: the two sides differ only by float32
// round-off of different kernel shapes (GEMM vs matrix-vector, tiled vs per-row attention); a
// wrong row, position or K/V row moves logits by whole units.
#include <gtest/gtest.h>

#include <algorithm>
#include <tuple>

#include "runtime/models/gemma3n/text_model.h"
#include "tests/support/compare.h"
#include "tests/support/token_ids.h"

namespace gs::runtime::gemma3n {
namespace {

constexpr float kTol = 1e-3f;

using test::random_ids;

struct Tiny {
  ComputeContext ctx{2};
  std::unique_ptr<TextModel> m;
  Tiny() {
    auto r = TextModel::load(test::fixture_path("gemma3n-tiny/model"), TextModelOptions{}, ctx);
    EXPECT_TRUE(r.ok());
    if (r.ok()) m = std::move(r).value();
  }
  int V() const { return m->text_config().vocab_size; }
};

std::vector<float> rows_of(const std::vector<float>& logits, int V, const std::vector<int>& rows) {
  std::vector<float> out;
  for (int r : rows) out.insert(out.end(), logits.begin() + r * V, logits.begin() + (r + 1) * V);
  return out;
}

// Prefills `ids` in one step wanting logits at `want` (all rows when empty), then decodes
// `steps` greedy tokens; returns the prefill logits at `want` followed by every decode step's.
std::vector<float> run(const Tiny& t, const std::vector<int32_t>& ids, const std::vector<int>& want, int steps) {
  auto kv = t.m->new_sequence(t.m->full());
  SequenceKv* kvs[] = {kv.get()};
  StepBatch b;
  for (size_t i = 0; i < ids.size(); ++i)
    b.add(ids[i], static_cast<int32_t>(i), 0,
          want.empty() || std::find(want.begin(), want.end(), static_cast<int>(i)) != want.end());
  StepOutput out;
  EXPECT_TRUE(t.m->forward(b, t.m->full(), kvs, &out).ok());
  std::vector<float> all = out.logits;
  std::vector<float> last(out.logits.end() - t.V(), out.logits.end());
  for (int s = 0; s < steps; ++s) {
    const auto tok = static_cast<int32_t>(std::max_element(last.begin(), last.end()) - last.begin());
    StepBatch d;
    d.add(tok, kv->length(), 0, true);
    StepOutput o;
    EXPECT_TRUE(t.m->forward(d, t.m->full(), kvs, &o).ok());
    last = o.logits;
    all.insert(all.end(), o.logits.begin(), o.logits.end());
  }
  return all;
}

TEST(KvSharing, NarrowedPrefillEqualsEveryRowPass) {
  Tiny t;
  ASSERT_TRUE(t.m);
  const auto ids = random_ids(40, 3);
  // Rows 5, 17 and 38 (not contiguous), then the last: the cache the narrowed pass commits must
  // serve the decode steps exactly as the full pass's does.
  const std::vector<int> want = {5, 17, 38, 39};
  const auto full = run(t, ids, {}, 4);
  const auto narrow = run(t, ids, want, 4);
  const int V = t.V();
  auto expect = rows_of(full, V, want);
  expect.insert(expect.end(), full.end() - 4 * V, full.end());
  ASSERT_EQ(narrow.size(), expect.size());
  EXPECT_LT(test::max_abs_diff(narrow, expect), kTol);
  // The narrowed logits are real: they differ between rows.
  EXPECT_GT(test::max_abs_diff(rows_of(narrow, V, {0}), rows_of(narrow, V, {3})), 1.f);
}

// One step that mixes, per sequence: a first chunk wanting no logits, the last chunk of a prompt,
// a decode row, and many single-row prompts (16+ kept rows: the tiled attention over narrowed
// segments). Each sequence's logits equal the ones it gets alone.
TEST(KvSharing, MixedStepEqualsSequencesAlone) {
  Tiny t;
  ASSERT_TRUE(t.m);
  const int V = t.V();
  const auto plan = t.m->full();
  const int kShort = 18;
  std::vector<std::vector<int32_t>> prompts;
  prompts.push_back(random_ids(30, 11));  // 0: rows 0-19 now (no logits), 20-29 in the next step
  prompts.push_back(random_ids(25, 12));  // 1: prefilled rows 0-14 before, 15-24 now (last wanted)
  prompts.push_back(random_ids(9, 13));   // 2: prefilled before, decodes one row now
  for (int i = 0; i < kShort; ++i) prompts.push_back(random_ids(3 + i % 4, 100 + i));

  std::vector<std::unique_ptr<SequenceKv>> kv;
  std::vector<SequenceKv*> kvs;
  for (size_t i = 0; i < prompts.size(); ++i) {
    kv.push_back(t.m->new_sequence(plan));
    kvs.push_back(kv.back().get());
  }
  auto step = [&](const std::vector<std::tuple<int, int, int>>& parts) {  // (seq, from, to) of prompt rows
    StepBatch b;
    for (auto [s, from, to] : parts)
      for (int i = from; i < to; ++i) b.add(prompts[s][i], i, s, i + 1 == static_cast<int>(prompts[s].size()));
    StepOutput out;
    EXPECT_TRUE(t.m->forward(b, plan, kvs, &out).ok());
    return out.logits;
  };
  step({{1, 0, 15}, {2, 0, 9}});
  const auto before2 = kvs[2]->length();
  ASSERT_EQ(before2, 9);
  std::vector<std::tuple<int, int, int>> parts = {{0, 0, 20}, {1, 15, 25}};
  // Sequence 2 decodes token 7 at position 9 (appended to its prompt for the reference).
  prompts[2].push_back(7);
  parts.push_back({2, 9, 10});
  for (int i = 0; i < kShort; ++i) parts.push_back({3 + i, 0, static_cast<int>(prompts[3 + i].size())});
  const auto mixed = step(parts);
  ASSERT_EQ(mixed.size(), static_cast<size_t>((2 + kShort) * V));
  // Sequence 0's second chunk continues from the cache the mixed step committed.
  const auto tail0 = step({{0, 20, 30}});

  std::vector<float> alone;
  for (size_t s = 1; s < prompts.size(); ++s) {
    const auto l = run(t, prompts[s], {static_cast<int>(prompts[s].size()) - 1}, 0);
    alone.insert(alone.end(), l.end() - V, l.end());
  }
  EXPECT_LT(test::max_abs_diff(mixed, alone), kTol);
  const auto l0 = run(t, prompts[0], {29}, 0);
  EXPECT_LT(test::max_abs_diff(tail0, l0), kTol);
}

TEST(KvSharing, RejectsLogitRowsOutOfOrder) {
  Tiny t;
  ASSERT_TRUE(t.m);
  auto kv = t.m->new_sequence(t.m->full());
  SequenceKv* kvs[] = {kv.get()};
  StepBatch b;
  for (int i = 0; i < 4; ++i) b.add(5, i, 0, false);
  b.logit_rows = {2, 1};
  StepOutput out;
  EXPECT_FALSE(t.m->forward(b, t.m->full(), kvs, &out).ok());
  b.logit_rows = {4};
  EXPECT_FALSE(t.m->forward(b, t.m->full(), kvs, &out).ok());
}

}  // namespace
}  // namespace gs::runtime::gemma3n
