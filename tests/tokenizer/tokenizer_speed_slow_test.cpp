// Load time of the real 262k-piece vocabulary and encode throughput on mixed text (one core).
// Slow-labelled: the thresholds assume a Release build on an otherwise idle machine.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <optional>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "runtime/tokenizer/tokenizer.h"
#include "tests/tokenizer/real_vocab_path.h"

namespace gs::runtime {
namespace {

// Wall and this thread's CPU seconds: the build machine is shared, so the thresholds use CPU
// time (what one core spends), and both are printed.
struct Timer {
  std::chrono::steady_clock::time_point wall0 = std::chrono::steady_clock::now();
  double cpu0 = cpu_now();
  static double cpu_now() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
  }
  double wall() const { return std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count(); }
  double cpu() const { return cpu_now() - cpu0; }
};

// ~8 MB of the multilingual corpus, repeated with small variations so the word cache of a
// naive implementation would not make it trivially fast.
std::string mixed_text(size_t target) {
  std::ifstream in(test::fixture_path("tokenizer/corpus.json"));
  std::stringstream ss;
  ss << in.rdbuf();
  const auto corpus = nlohmann::json::parse(ss.str());
  std::string out;
  for (size_t round = 0; out.size() < target; ++round)
    for (const auto& c : corpus) {
      out += c["text"].get<std::string>();
      out += ' ';  // (not " " + to_string: GCC 12 -Wrestrict false positive)
      out += std::to_string(round * 7919 % 100003);
      out += '\n';
    }
  return out;
}

TEST(TokenizerSpeed, LoadAndEncodeThroughput) {
  const std::string missing = test::real_tokenizer_missing();
  ASSERT_TRUE(missing.empty()) << missing;
  double load_wall = 1e9, load_cpu = 1e9;
  std::optional<Tokenizer> tok;
  for (int i = 0; i < 3; ++i) {
    tok.reset();
    Timer t;
    auto loaded = Tokenizer::load(test::real_tokenizer_path());
    load_wall = std::min(load_wall, t.wall());
    load_cpu = std::min(load_cpu, t.cpu());
    ASSERT_TRUE(loaded.ok()) << loaded.error().message;
    tok.emplace(std::move(loaded).value());
  }
  const std::string text = mixed_text(8u << 20);
  double enc_wall = 1e9, enc_cpu = 1e9;
  size_t n_ids = 0;
  for (int i = 0; i < 3; ++i) {
    Timer t;
    auto ids = tok->encode(text);
    enc_wall = std::min(enc_wall, t.wall());
    enc_cpu = std::min(enc_cpu, t.cpu());
    ASSERT_TRUE(ids.ok());
    n_ids = ids->size();
  }
  const double mb = static_cast<double>(text.size()) / 1e6;
  std::printf("tokenizer.json load: %.3f s CPU (%.3f s wall); encode: %.1f MB/s CPU (%.1f MB/s wall), "
              "%zu bytes -> %zu ids\n",
              load_cpu, load_wall, mb / enc_cpu, mb / enc_wall, text.size(), n_ids);
#ifdef NDEBUG
  EXPECT_LT(load_cpu, 1.0);
  EXPECT_GE(mb / enc_cpu, 5.0);
#endif
}

// Inputs that defeat word splitting (one 1 MB "word") must stay O(n log n): no quadratic path.
TEST(TokenizerSpeed, PathologicalInputsStayFast) {
  const std::string missing = test::real_tokenizer_missing();
  ASSERT_TRUE(missing.empty()) << missing;
  auto tok = Tokenizer::load(test::real_tokenizer_path());
  ASSERT_TRUE(tok.ok()) << tok.error().message;
  auto repeat = [](std::string_view unit, size_t bytes) {
    std::string s;
    while (s.size() < bytes) s += unit;
    return s;
  };
  const std::pair<const char*, std::string> inputs[] = {
      {"CJK, no spaces", repeat("\xE6\xBC\xA2\xE5\xAD\x97\xE6\x9D\xB1\xE4\xBA\xAC", 1 << 20)},
      {"spaces", repeat(" ", 1 << 20)},
      {"one letter", repeat("a", 1 << 20)},
      {"byte-fallback characters", repeat("\xF0\xA0\x9C\x8E", 1 << 20)},
      {"literal metaspace", repeat("\xE2\x96\x81", 1 << 20)},
      {"special tokens", repeat("<start_of_turn>", 1 << 20)},
  };
  for (const auto& [name, text] : inputs) {
    Timer t;
    auto ids = tok->encode(text);
    ASSERT_TRUE(ids.ok());
    std::printf("%-26s %7zu bytes -> %7zu ids in %.3f s CPU\n", name, text.size(), ids->size(), t.cpu());
    EXPECT_LT(t.cpu(), 2.0) << name;
    EXPECT_EQ(tok->decode(*ids), std::string(name) == "literal metaspace" ? repeat(" ", text.size() / 3) : text);
  }
}

}  // namespace
}  // namespace gs::runtime
