// The latency-budget chooser with a hand-set cost model (no clock): looser budgets get larger
// sizes, rising load pushes the choice to smaller sizes, impossible budgets fall back to the
// smallest size and say so; online observations move the estimates.
#include <gtest/gtest.h>

#include "runtime/engine/cost_model.h"

namespace gs::runtime {
namespace {

CostModel three_sizes() {
  CostModel cm;
  cm.set_prior("e4b", {0.200, 0.010});
  cm.set_prior("e3b", {0.150, 0.0075});
  cm.set_prior("e2b", {0.100, 0.005});
  return cm;
}

const std::vector<SizeOption> kSizes = {{"e2b", 2}, {"e4b", 4}, {"e3b", 3}};

TEST(CostModel, LooserBudgetsGetLargerSizes) {
  const CostModel cm = three_sizes();
  LoadSnapshot idle;
  LatencyBudget b;
  b.total_s = 100.0;
  EXPECT_EQ(choose_size(cm, kSizes, b, idle, 100, 64, "e4b").id, "e4b");
  // 64 tokens: e4b ~ 0.2*1 + 1 + 63*0.21 = 14.4 s, e3b ~ 10.8 s, e2b ~ 7.2 s
  b.total_s = 12.0;
  EXPECT_EQ(choose_size(cm, kSizes, b, idle, 100, 64, "e4b").id, "e3b");
  b.total_s = 8.0;
  EXPECT_EQ(choose_size(cm, kSizes, b, idle, 100, 64, "e4b").id, "e2b");
}

TEST(CostModel, RisingLoadPicksSmallerSizes) {
  const CostModel cm = three_sizes();
  LatencyBudget b;
  b.ttft_s = 2.0;
  LoadSnapshot load;
  EXPECT_EQ(choose_size(cm, kSizes, b, load, 100, 16, "e4b").id, "e4b");
  load.pending_prompt_tokens = 120;  // e4b: 1 step*0.2 + 220*0.01 = 2.4 s > 2; e3b: 0.15 + 1.65 = 1.8 s
  EXPECT_EQ(choose_size(cm, kSizes, b, load, 100, 16, "e4b").id, "e3b");
  load.pending_prompt_tokens = 250;  // e3b: 0.15 + 350*0.0075 = 2.78 s; e2b: 0.1 + 1.75 = 1.85 s
  EXPECT_EQ(choose_size(cm, kSizes, b, load, 100, 16, "e4b").id, "e2b");
}

TEST(CostModel, ImpossibleBudgetFallsBackToSmallestAndSaysSo) {
  const CostModel cm = three_sizes();
  LatencyBudget b;
  b.ttft_s = 0.001;
  const auto c = choose_size(cm, kSizes, b, LoadSnapshot{}, 100, 16, "e4b");
  EXPECT_EQ(c.id, "e2b");
  EXPECT_FALSE(c.meets_budget);
}

TEST(CostModel, NoBudgetUsesDefault) {
  const auto c = choose_size(three_sizes(), kSizes, LatencyBudget{}, LoadSnapshot{}, 10, 10, "e3b");
  EXPECT_EQ(c.id, "e3b");
  EXPECT_TRUE(c.meets_budget);
}

TEST(CostModel, ObservationsMoveEstimates) {
  CostModel cm;
  cm.set_prior("x", {0.1, 0.001});
  for (int i = 0; i < 50; ++i) cm.observe("x", 1, 0, 0.301);  // decode steps take 0.3 s
  EXPECT_NEAR(cm.cost("x").weights_pass_s, 0.3, 0.01);
  for (int i = 0; i < 50; ++i) cm.observe("x", 0, 512, 0.3 + 512 * 0.004);
  EXPECT_NEAR(cm.cost("x").per_row_s, 0.004, 0.0005);
}

}  // namespace
}  // namespace gs::runtime
