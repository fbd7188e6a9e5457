// gemma3n-cli as users and outside checks call it: stdout carries exactly the result.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "runtime/core/npy.h"
#include "tests/support/compare.h"

namespace gs::test {
namespace {

// Runs a shell command; returns stdout and sets *rc.
std::string run(const std::string& cmd, int* rc) {
  std::string out;
  FILE* p = ::popen((cmd + " 2>/dev/null").c_str(), "r");
  if (!p) return out;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  *rc = ::pclose(p);
  return out;
}

const std::string kCli = bin_path("gemma3n-cli");

TEST(Cli, GreedyPrintsTheReferenceTokens) {
  int rc = -1;
  const std::string out = run(kCli + " greedy --model " + fixture_path("gemma3n-tiny/model") + " --ids " +
                                  fixture_path("gemma3n-tiny/golden/text_prompt_ids.npy") + " --steps 16",
                              &rc);
  ASSERT_EQ(rc, 0);
  const auto j = nlohmann::json::parse(out);  // the whole stdout is one JSON object
  const auto want = load_i64("gemma3n-tiny/golden/text_greedy_tokens.npy");
  EXPECT_EQ(j["tokens"].get<std::vector<int64_t>>(), want);
}

TEST(Cli, DumpWritesLogitsAndHiddenStates) {
  const std::string out = temp_dir("cli-dump");
  int rc = -1;
  run(kCli + " dump --model " + fixture_path("gemma3n-tiny/model-sharded") + " --ids " +
          fixture_path("gemma3n-tiny/golden/text_prompt_ids.npy") + " --out " + out,
      &rc);
  ASSERT_EQ(rc, 0);
  auto logits = runtime::read_npy(out + "/logits.npy");
  ASSERT_TRUE(logits.ok());
  EXPECT_EQ(logits->shape, (std::vector<int64_t>{24, 272}));
  EXPECT_LT(max_abs_diff(logits->to_f32(), load_f32("gemma3n-tiny/golden/text_prefill_logits_f64.npy")), 2e-3f);
  auto hidden = runtime::read_npy(out + "/hidden_states.npy");
  ASSERT_TRUE(hidden.ok());
  EXPECT_EQ(hidden->shape, (std::vector<int64_t>{11, 4, 1, 24, 128}));
}

TEST(Cli, RandomCheckpointShardedLoadsAndRuns) {
  const std::string dir = temp_dir("cli-rc");
  int rc = -1;
  run(kCli + " random-checkpoint --preset tiny --dtype f32 --shards 3 --out " + dir, &rc);
  ASSERT_EQ(rc, 0);
  EXPECT_TRUE(std::filesystem::exists(dir + "/model.safetensors.index.json"));
  EXPECT_TRUE(std::filesystem::exists(dir + "/model-00003-of-00003.safetensors"));
  const std::string out = run(kCli + " greedy --model " + dir + " --ids " +
                                  fixture_path("gemma3n-tiny/golden/text_prompt_ids.npy") + " --steps 4",
                              &rc);
  ASSERT_EQ(rc, 0);
  EXPECT_EQ(nlohmann::json::parse(out)["tokens"].size(), 4u);
}

// bench --json: the rates, the weight bytes a decode step read and the bandwidth probe. The
// sparse FFN path must show up as fewer bytes than --dense-ffn.
TEST(Cli, BenchReportsDecodeTrafficAndBandwidth) {
  const std::string base = kCli + " bench --json --model " + fixture_path("gemma3n-tiny/model") +
                           " --weights q4 --cache-dir off -p 8 -n 4 -r 1 --threads 2 --probe-mb 16";
  int rc = -1;
  const auto sparse = nlohmann::json::parse(run(base, &rc));
  ASSERT_EQ(rc, 0);
  const auto dense = nlohmann::json::parse(run(base + " --dense-ffn", &rc));
  ASSERT_EQ(rc, 0);
  EXPECT_GT(sparse["prefill_tokens_per_s"].get<double>(), 0);
  EXPECT_GT(sparse["decode_tokens_per_s"].get<double>(), 0);
  EXPECT_GT(sparse["read_bandwidth_best_gbs"].get<double>(), 0);
  EXPECT_GE(sparse["read_bandwidth_best_gbs"].get<double>(), sparse["read_bandwidth_median_gbs"].get<double>());
  const double s = sparse["decode_weight_bytes_per_step"].get<double>(), d = dense["decode_weight_bytes_per_step"].get<double>();
  EXPECT_GT(s, 0);
  EXPECT_LT(s, d);
  // Panels change where the bytes lie, not how many a step reads (f32: the same greedy tokens,
  // so the same active neurons, with and without).
  const std::string f32 = std::string(base).replace(base.find("q4"), 2, "f32");
  const auto whole = nlohmann::json::parse(run(f32, &rc));
  ASSERT_EQ(rc, 0);
  const auto panels = nlohmann::json::parse(run(f32 + " --ffn-panels 128", &rc));
  ASSERT_EQ(rc, 0);
  EXPECT_EQ(panels["decode_weight_bytes_per_step"].get<double>(), whole["decode_weight_bytes_per_step"].get<double>());
  run(base + " --ffn-panels 12x", &rc);
  EXPECT_TRUE(WIFEXITED(rc) && WEXITSTATUS(rc) != 0);
}

TEST(Cli, BadInputIsAnErrorNotACrash) {
  int rc = -1;
  run(kCli + " greedy --model /nonexistent --ids /nonexistent.npy --steps 2", &rc);
  EXPECT_NE(rc, 0);
  EXPECT_TRUE(WIFEXITED(rc));
  run(kCli + " no-such-command", &rc);
  EXPECT_TRUE(WIFEXITED(rc) && WEXITSTATUS(rc) == 2);
}

}  // namespace
}  // namespace gs::test
