// Positions beyond 30000 on the tiny model: a 30100-token prompt prefilled in chunks of 4096 and of
// 1000 gives the same logits, and greedy decode past position 30100 stays finite and identical.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "runtime/models/gemma3n/text_model.h"
#include "tests/support/compare.h"

namespace gs::runtime::gemma3n {
namespace {

std::vector<int32_t> decode_after(const TextModel& m, const std::vector<int32_t>& ids, int chunk, int steps,
                                  std::vector<float>* logits) {
  auto kv = m.new_sequence(m.full());
  SequenceKv* kvs[] = {kv.get()};
  StepOutput out;
  for (size_t b0 = 0; b0 < ids.size(); b0 += static_cast<size_t>(chunk)) {
    StepBatch b;
    for (size_t i = b0; i < std::min(ids.size(), b0 + chunk); ++i) b.add(ids[i], static_cast<int32_t>(i), 0, i + 1 == ids.size());
    EXPECT_TRUE(m.forward(b, m.full(), kvs, &out).ok());
  }
  std::vector<int32_t> toks;
  const int V = m.text_config().vocab_size;
  for (int s = 0; s < steps; ++s) {
    logits->insert(logits->end(), out.logits.begin(), out.logits.end());
    for (float v : out.logits) EXPECT_TRUE(std::isfinite(v));
    toks.push_back(static_cast<int32_t>(std::max_element(out.logits.begin(), out.logits.begin() + V) - out.logits.begin()));
    StepBatch d;
    d.add(toks.back(), kv->length(), 0, true);
    out = {};
    EXPECT_TRUE(m.forward(d, m.full(), kvs, &out).ok());
  }
  EXPECT_GT(kv->length(), 30000);
  return toks;
}

TEST(LongContextSlow, DecodePast30000IsFiniteAndChunkInvariant) {
  ComputeContext ctx(2);
  auto m = TextModel::load(test::fixture_path("gemma3n-tiny/model"), TextModelOptions{}, ctx);
  ASSERT_TRUE(m.ok());
  std::mt19937 rng(11);
  std::uniform_int_distribution<int32_t> d(3, 250);
  std::vector<int32_t> ids(30100);
  for (auto& v : ids) v = d(rng);
  ids[0] = 2;
  std::vector<float> a, b;
  const auto ta = decode_after(**m, ids, 4096, 8, &a);
  const auto tb = decode_after(**m, ids, 1000, 8, &b);
  EXPECT_EQ(ta, tb);
  EXPECT_LT(test::max_abs_diff(a, b), 1e-3f);
}

}  // namespace
}  // namespace gs::runtime::gemma3n
