// The real Gemma vocabulary (262k pieces, ~515k merges) against transformers.js: the ids in
// tests/fixtures/tokenizer/expected_ids.json come from tests/node/gen_tokenizer_expect.mjs.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <random>
#include <nlohmann/json.hpp>
#include <sstream>

#include "runtime/tokenizer/tokenizer.h"
#include "runtime/tokenizer/utf8.h"
#include "tests/tokenizer/real_vocab_path.h"

namespace gs::runtime {
namespace {

const Tokenizer& real() {
  static const Tokenizer* tok = [] {
    auto t = Tokenizer::load(test::real_tokenizer_path());
    if (!t) {
      ADD_FAILURE() << t.error().message;
      return static_cast<Tokenizer*>(nullptr);
    }
    return new Tokenizer(std::move(t).value());
  }();
  return *tok;
}

nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return nlohmann::json::parse(ss.str());
}

class RealVocab : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string missing = test::real_tokenizer_missing();
    ASSERT_TRUE(missing.empty()) << missing;
  }
};

TEST_F(RealVocab, LoadsWithExpectedShape) {
  const Tokenizer& t = real();
  EXPECT_EQ(t.vocab_size(), 262145);
  EXPECT_EQ(t.bos_id(), 2);
  EXPECT_EQ(t.eos_id(), 1);
  EXPECT_EQ(t.token_id("<start_of_turn>"), 105);
  EXPECT_EQ(t.token_id("<end_of_turn>"), 106);
  EXPECT_EQ(t.token_id("<image_soft_token>"), 262144);
  EXPECT_TRUE(t.is_special(106));
  EXPECT_FALSE(t.is_special(107));  // "\n" is an added token, not a special one
  EXPECT_EQ(t.token_text(236743), "\xE2\x96\x81");
  EXPECT_EQ(t.token_bytes(236743), std::vector<uint8_t>{' '});
  EXPECT_EQ(t.token_text(t.token_id("<0x0A>").value()), "<0x0A>");
  EXPECT_EQ(t.token_bytes(t.token_id("<0x0A>").value()), std::vector<uint8_t>{'\n'});
}

TEST_F(RealVocab, MatchesTransformersJsOnMultilingualCorpus) {
  const Tokenizer& t = real();
  const auto expected = read_json(test::fixture_path("tokenizer/expected_ids.json"));
  const auto corpus = read_json(test::fixture_path("tokenizer/corpus.json"));
  const auto& cases = expected["cases"];
  ASSERT_GE(corpus.size(), 30u);
  ASSERT_GE(cases.size(), corpus.size() + 200) << "regenerate with tests/node/gen_tokenizer_expect.mjs";
  for (size_t i = 0; i < corpus.size(); ++i)  // the fixture was made from this corpus
    ASSERT_EQ(cases[i]["text"], corpus[i]["text"]) << "stale fixture: run node tests/node/gen_tokenizer_expect.mjs";
  size_t n_ids = 0;
  for (const auto& c : cases) {
    const std::string name = c["name"];
    const std::string text = c["text"];
    const auto want = c["ids"].get<std::vector<int32_t>>();
    n_ids += want.size();
    auto got = t.encode(text);
    ASSERT_TRUE(got.ok()) << name << ": " << got.error().message;
    EXPECT_EQ(*got, want) << "case " << name;
    EXPECT_EQ(t.decode(want), c["decoded"].get<std::string>()) << "decode vs transformers.js, case " << name;
    // A literal U+2581 in the input decodes to a space (the declared decoder); all else round-trips.
    if (text.find("\xE2\x96\x81") == std::string::npos) {
      EXPECT_EQ(t.decode(*got), text) << "round trip, " << name;
    }
  }
  EXPECT_GT(n_ids, 5000u);
}

TEST_F(RealVocab, SpecialStringsAreTextWithoutParseSpecial) {
  const Tokenizer& t = real();
  auto with = t.encode("<start_of_turn>user\nHi<end_of_turn>");
  auto without = t.encode("<start_of_turn>user\nHi<end_of_turn>", false);
  ASSERT_TRUE(with.ok() && without.ok());
  EXPECT_EQ(with->front(), 105);
  EXPECT_EQ(std::count(without->begin(), without->end(), 105), 0);
  EXPECT_EQ(std::count(without->begin(), without->end(), 106), 0);
  EXPECT_EQ(std::count(without->begin(), without->end(), 107), 1);  // "\n" is a non-special added token
  EXPECT_EQ(t.decode(*without), "<start_of_turn>user\nHi<end_of_turn>");
}

TEST_F(RealVocab, RandomUnicodeRoundTripsAndInvalidBytesAreRejected) {
  const Tokenizer& t = real();
  std::mt19937 rng(7);
  // Code points from many blocks, including ones only byte fallback can spell (not U+2581,
  // which decodes to a space by design).
  const uint32_t starts[] = {0x20, 0xA0, 0x100, 0x370, 0x400, 0x590, 0x600, 0x900, 0xE00, 0x10A0, 0x3040,
                             0x4E00, 0xAC00, 0x1F300, 0x1F600, 0x20000, 0xE000, 0x2600, 0x1D400};
  for (int iter = 0; iter < 3000; ++iter) {
    std::string s;
    const int n = static_cast<int>(rng() % 30);
    for (int i = 0; i < n; ++i) {
      uint32_t cp = starts[rng() % std::size(starts)] + rng() % 200;
      if (rng() % 5 == 0) cp = " \n\t<>"[rng() % 6];
      utf8::append_code_point(s, cp);
    }
    if (iter % 3 == 0 && !s.empty()) s[rng() % s.size()] = static_cast<char>(0x80 + rng() % 0x80);
    auto ids = t.encode(s, iter % 2 == 0);
    if (utf8::find_invalid(s) != std::string_view::npos) {
      EXPECT_FALSE(ids.ok());
      continue;
    }
    ASSERT_TRUE(ids.ok()) << ids.error().message;
    for (int32_t id : *ids) ASSERT_TRUE(id >= 0 && id < t.vocab_size());
    ASSERT_EQ(t.decode(*ids), s);
  }
}

}  // namespace
}  // namespace gs::runtime
