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
