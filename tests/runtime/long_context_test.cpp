// Long context on the tiny model (sliding window 8, so most of a long prompt is outside every
// sliding layer's window): a prompt of a few thousand tokens prefilled in chunks gives the same
// logits as one pass, and KV-cached decode continues consistently.
#include <gtest/gtest.h>

#include <cmath>

#include "runtime/models/gemma3n/text_model.h"
#include "tests/support/compare.h"
#include "tests/support/token_ids.h"

namespace gs::runtime::gemma3n {
namespace {

using test::random_ids;

// Logits of every `stride`-th position plus the last, prefilled in chunks of `chunk`.
std::vector<float> chunked_logits(const TextModel& m, const std::vector<int32_t>& ids, int chunk, int stride) {
  auto kv = m.new_sequence(m.full());
  SequenceKv* kvs[] = {kv.get()};
  std::vector<float> all;
  for (size_t b0 = 0; b0 < ids.size(); b0 += static_cast<size_t>(chunk)) {
    StepBatch b;
    for (size_t i = b0; i < std::min(ids.size(), b0 + chunk); ++i)
      b.add(ids[i], static_cast<int32_t>(i), 0, i % stride == 0 || i + 1 == ids.size());
    StepOutput out;
    EXPECT_TRUE(m.forward(b, m.full(), kvs, &out).ok());
    all.insert(all.end(), out.logits.begin(), out.logits.end());
  }
  return all;
}

TEST(LongContext, ChunkedPrefillEqualsOnePass) {
  ComputeContext ctx(2);
  auto m = TextModel::load(test::fixture_path("gemma3n-tiny/model"), TextModelOptions{}, ctx);
  ASSERT_TRUE(m.ok());
  const auto ids = random_ids(3000, 7);
  const auto one = chunked_logits(**m, ids, 3000, 97);
  const auto chunked = chunked_logits(**m, ids, 256, 97);
  const auto odd = chunked_logits(**m, ids, 7, 97);  // chunks shorter than the window
  ASSERT_EQ(one.size(), chunked.size());
  // Only float32 round-off of different GEMM shapes separates them: ~1e-3 on logits of up to
  // +-28 after 3000 positions (the reference's own f32-vs-f64 noise is 5e-4 at 24 positions), so
  // the parity tolerance of 2e-3 applies; a masking or cache error moves logits by whole units.
  EXPECT_LT(test::max_abs_diff(one, chunked), 2e-3f);
  EXPECT_LT(test::max_abs_diff(one, odd), 2e-3f);
}

TEST(LongContext, RejectsPositionsPastTheContext) {
  ComputeContext ctx(1);
  TextModelOptions o;
  o.max_context = 64;
  auto m = TextModel::load(test::fixture_path("gemma3n-tiny/model"), o, ctx);
  ASSERT_TRUE(m.ok());
  auto kv = (*m)->new_sequence((*m)->full());
  SequenceKv* kvs[] = {kv.get()};
  StepBatch b;
  for (int i = 0; i < 65; ++i) b.add(5, i, 0, false);
  StepOutput out;
  EXPECT_FALSE((*m)->forward(b, (*m)->full(), kvs, &out).ok());
}

}  // namespace
}  // namespace gs::runtime::gemma3n
