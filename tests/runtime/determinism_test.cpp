// The same request gives the same logits, bit for bit, whatever the thread count: task
// boundaries move with the number of threads (and with load, as tasks are stolen), so any
// kernel whose sum order depended on where a task starts would make seeded sampling
// irreproducible. Covered: every step of the q4 path (int8 kernels), and the steps of up to
// 32 rows of q8 and bf16 (int8 and fused kernels), on 1, 2 and 3 threads. Not covered, and not
// bit-reproducible across thread counts: f32 weights and q8/bf16 steps of more than 32 rows,
// which go through OpenBLAS (sgemv/sgemm results move by ~1 ulp with the row range a call gets).
#include <gtest/gtest.h>

#include "runtime/models/gemma3n/text_model.h"
#include "tests/support/test_paths.h"
#include "tests/support/token_ids.h"

namespace gs::runtime::gemma3n {
namespace {

// Logits of a prefill of `prompt` tokens (every row wanted) and of two decode steps after it.
std::vector<float> run(WeightFormat f, int threads, int prompt) {
  ComputeContext ctx(threads);
  TextModelOptions o;
  o.format_auto = false;
  o.format = f;
  auto m = TextModel::load(test::fixture_path("gemma3n-tiny/model"), o, ctx);
  EXPECT_TRUE(m.ok());
  if (!m.ok()) return {};
  const TextModel& model = **m;
  const auto ids = test::random_ids(prompt, 11);
  auto kv = model.new_sequence(model.full());
  SequenceKv* kvs[] = {kv.get()};
  std::vector<float> logits;
  StepBatch b;
  for (int i = 0; i < prompt; ++i) b.add(ids[i], i, 0, true);
  for (int step = 0; step < 3; ++step) {
    StepOutput out;
    EXPECT_TRUE(model.forward(b, model.full(), kvs, &out).ok());
    logits.insert(logits.end(), out.logits.begin(), out.logits.end());
    b = {};
    b.add(ids[step], kv->length(), 0, true);
  }
  return logits;
}

TEST(Determinism, LogitsDoNotDependOnTheThreadCount) {
  for (WeightFormat f : {WeightFormat::kBF16, WeightFormat::kQ8, WeightFormat::kQ4})
    for (int prompt : {5, 24, 70}) {  // decode-sized, <= 32-row and prefill-sized steps
      if (prompt > 32 && f != WeightFormat::kQ4) continue;  // OpenBLAS (see above)
      const auto one = run(f, 1, prompt);
      ASSERT_FALSE(one.empty());
      EXPECT_EQ(run(f, 2, prompt), one) << weight_format_name(f) << " prompt " << prompt << ", 2 threads";
      EXPECT_EQ(run(f, 3, prompt), one) << weight_format_name(f) << " prompt " << prompt << ", 3 threads";
    }
}

}  // namespace
}  // namespace gs::runtime::gemma3n
