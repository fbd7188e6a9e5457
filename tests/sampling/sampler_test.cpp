#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "runtime/sampling/sampler.h"

namespace gs::runtime {
namespace {

SamplingParams params(float t) {
  SamplingParams p;
  p.temperature = t;
  p.seed = 42;
  return p;
}

TEST(Sampler, GreedyAtZeroTemperature) {
  Sampler s(params(0), 5);
  const std::vector<float> logits{0.1f, 3.f, 2.9f, -1.f, 0.f};
  for (int i = 0; i < 10; ++i) EXPECT_EQ(s.sample(logits, {}, nullptr), 1);
}

TEST(Sampler, SeedReproducesAndDiffers) {
  std::vector<float> logits(50);
  for (int i = 0; i < 50; ++i) logits[static_cast<size_t>(i)] = std::sin(static_cast<float>(i));
  auto draw = [&](uint64_t seed) {
    SamplingParams p = params(1.0f);
    p.seed = seed;
    Sampler s(p, 50);
    std::vector<int32_t> out;
    for (int i = 0; i < 30; ++i) out.push_back(s.sample(logits, {}, nullptr));
    return out;
  };
  EXPECT_EQ(draw(1), draw(1));
  EXPECT_NE(draw(1), draw(2));
}

TEST(Sampler, FrequenciesFollowSoftmax) {
  // p = softmax([0, ln 3]) = [0.25, 0.75]; 20000 draws: 3-sigma band is about +-0.0092.
  Sampler s(params(1.0f), 2);
  const std::vector<float> logits{0.f, std::log(3.f)};
  int ones = 0;
  for (int i = 0; i < 20000; ++i) ones += s.sample(logits, {}, nullptr);
  EXPECT_NEAR(ones / 20000.0, 0.75, 0.0092);
}

TEST(Sampler, TopKAndTopPAndMinPRestrictTheSupport) {
  const std::vector<float> logits{5.f, 4.f, 3.f, 2.f, 1.f, 0.f};
  SamplingParams k = params(2.0f);
  k.top_k = 2;
  SamplingParams p = params(1.0f);
  p.top_p = 0.5f;  // token 0 alone has ~0.64 of the mass
  SamplingParams m = params(1.0f);
  m.min_p = 0.3f;  // keeps tokens with p >= 0.3 * p_max: 0 and 1 (e^-1 = 0.37)
  Sampler sk(k, 6), sp(p, 6), sm(m, 6);
  std::map<int, int> ck, cm;
  for (int i = 0; i < 2000; ++i) {
    ++ck[sk.sample(logits, {}, nullptr)];
    EXPECT_EQ(sp.sample(logits, {}, nullptr), 0);
    ++cm[sm.sample(logits, {}, nullptr)];
  }
  EXPECT_EQ(ck.size(), 2u);
  EXPECT_TRUE(ck.count(0) && ck.count(1));
  EXPECT_EQ(cm.size(), 2u);
  EXPECT_TRUE(cm.count(0) && cm.count(1));
}

TEST(Sampler, TopPBeyondTheFirst256Candidates) {
  // 1000 equal logits: top_p 0.9 needs 900 candidates, more than the first sorted block.
  std::vector<float> logits(1000, 0.f);
  SamplingParams p = params(1.0f);
  p.top_p = 0.9f;
  Sampler s(p, 1000);
  int max_id = 0;
  for (int i = 0; i < 5000; ++i) max_id = std::max(max_id, s.sample(logits, {}, nullptr));
  EXPECT_GT(max_id, 800);
  EXPECT_LT(max_id, 901);
}

TEST(Sampler, PenaltiesChangeTheGreedyChoice) {
  const std::vector<float> logits{2.0f, 1.5f, 0.f};
  const std::vector<int32_t> history{0, 0};
  SamplingParams rep = params(0);
  rep.repetition_penalty = 2.0f;  // 2.0 / 2 = 1.0 < 1.5
  SamplingParams freq = params(0);
  freq.frequency_penalty = 0.3f;  // 2.0 - 0.6 = 1.4 < 1.5
  SamplingParams pres = params(0);
  pres.presence_penalty = 0.6f;   // 2.0 - 0.6 = 1.4 < 1.5
  SamplingParams weak = params(0);
  weak.presence_penalty = 0.4f;   // 1.6 > 1.5: unchanged
  EXPECT_EQ(Sampler(rep, 3).sample(logits, history, nullptr), 1);
  EXPECT_EQ(Sampler(freq, 3).sample(logits, history, nullptr), 1);
  EXPECT_EQ(Sampler(pres, 3).sample(logits, history, nullptr), 1);
  EXPECT_EQ(Sampler(weak, 3).sample(logits, history, nullptr), 0);
  // Negative logits are pushed further down by the repetition penalty, never up.
  const std::vector<float> neg{-1.0f, -1.5f};
  EXPECT_EQ(Sampler(rep, 2).sample(neg, std::vector<int32_t>{0}, nullptr), 1);
}

TEST(Sampler, LogprobsAreLogSoftmaxOfRawLogits) {
  const std::vector<float> logits{1.f, 2.f, 3.f};
  SamplingParams p = params(0);
  p.logprobs = true;
  p.top_logprobs = 2;
  p.frequency_penalty = 1.0f;  // must not change the reported logprobs
  Sampler s(p, 3);
  TokenLogprobs lp;
  const int32_t t = s.sample(logits, std::vector<int32_t>{2}, &lp);
  const double lse = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0));
  EXPECT_EQ(lp.token, t);
  EXPECT_NEAR(lp.logprob, logits[static_cast<size_t>(t)] - lse, 1e-6);
  ASSERT_EQ(lp.top.size(), 2u);
  EXPECT_EQ(lp.top[0].first, 2);
  EXPECT_NEAR(lp.top[0].second, 3.0 - lse, 1e-6);
  EXPECT_EQ(lp.top[1].first, 1);
}

TEST(Sampler, LargeVocabIsFastEnough) {
  std::vector<float> logits(262144);
  for (size_t i = 0; i < logits.size(); ++i) logits[i] = static_cast<float>((i * 2654435761u) % 1000) / 100.f;
  SamplingParams p = params(0.8f);
  p.top_p = 0.95f;
  p.top_k = 64;
  p.logprobs = true;
  p.top_logprobs = 5;
  Sampler s(p, static_cast<int>(logits.size()));
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 20; ++i) s.sample(logits, {}, nullptr);
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() / 20;
  RecordProperty("ms_per_sample", std::to_string(ms));
  EXPECT_LT(ms, 50.0);  // generous bound for loaded CI machines; catches accidental full sorts
}

}  // namespace
}  // namespace gs::runtime
