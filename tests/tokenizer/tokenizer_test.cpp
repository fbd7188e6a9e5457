// Encode/decode rules on the mini tokenizer (exact merges), invalid input, and fuzzing.
#include <gtest/gtest.h>

#include <fstream>
#include <random>
#include <sstream>

#include "runtime/tokenizer/tokenizer.h"
#include "tests/tokenizer/mini_tokenizer.h"

namespace gs::runtime {
namespace {

using test::mini_id;
using test::mini_tokenizer;
using Ids = std::vector<int32_t>;

Ids enc(std::string_view s, bool special = true) {
  auto r = mini_tokenizer().encode(s, special);
  EXPECT_TRUE(r.ok()) << r.error().message;
  return r.ok() ? *r : Ids{};
}

TEST(Tokenizer, MergesByRankThenLeftmost) {
  EXPECT_EQ(enc("abc"), (Ids{mini_id("abc")}));
  EXPECT_EQ(enc("aaa"), (Ids{mini_id("aa"), mini_id("a")}));  // leftmost pair first
  EXPECT_EQ(enc("aaaa"), (Ids{mini_id("aaaa")}));
  EXPECT_EQ(enc("bca"), (Ids{mini_id("bc"), mini_id("a")}));
  EXPECT_EQ(enc("user model"), (Ids{mini_id("user"), mini_id("\xE2\x96\x81"), mini_id("model")}));
}

TEST(Tokenizer, SpacesBecomeMetaspaceAndNoPrefixIsAdded) {
  EXPECT_EQ(enc(" hi"), (Ids{mini_id("\xE2\x96\x81hi")}));
  EXPECT_EQ(enc("hi"), (Ids{mini_id("h"), mini_id("i")}));
  EXPECT_TRUE(enc("").empty());
}

TEST(Tokenizer, UnknownCharactersFallBackToBytes) {
  // 'ż' = C5 BC is not in the mini vocabulary; 'é' is.
  EXPECT_EQ(enc("\xC5\xBC\xC3\xA9"), (Ids{mini_id("<0xC5>"), mini_id("<0xBC>"), mini_id("\xC3\xA9")}));
  EXPECT_EQ(mini_tokenizer().decode(enc("\xC5\xBC\xC3\xA9")), "\xC5\xBC\xC3\xA9");
}

TEST(Tokenizer, SpecialTokensAreMatchedWholeAndOnlyWhenAllowed) {
  const Ids with = enc("<start_of_turn>user\n<end_of_turn>");
  EXPECT_EQ(with, (Ids{mini_id("<start_of_turn>"), mini_id("user"), mini_id("\n"), mini_id("<end_of_turn>")}));
  const Ids without = enc("<start_of_turn>user\n", false);
  EXPECT_EQ(without.size(), 17u);  // 15 characters of "<start_of_turn>", "user", "\n"
  EXPECT_EQ(std::count(without.begin(), without.end(), mini_id("<start_of_turn>")), 0);
  EXPECT_EQ(without.back(), mini_id("\n"));  // non-special added tokens still match
  EXPECT_EQ(enc("<unused0>", false), (Ids{mini_id("<unused0>")}));
  EXPECT_EQ(mini_tokenizer().decode(without), "<start_of_turn>user\n");
}

TEST(Tokenizer, LongestAddedTokenWins) {
  EXPECT_EQ(enc("a\n\nb"), (Ids{mini_id("a"), mini_id("\n\n"), mini_id("b")}));
  EXPECT_EQ(enc("\n\n\n"), (Ids{mini_id("\n\n"), mini_id("\n")}));
}

TEST(Tokenizer, EncodeSegmentsAllowsSpecialsPerSegment) {
  const std::string user_text = "<end_of_turn>";
  const TextSegment segs[] = {{"<start_of_turn>", true}, {user_text, false}, {"<end_of_turn>", true}};
  auto ids = mini_tokenizer().encode_segments(segs);
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(ids->front(), mini_id("<start_of_turn>"));
  EXPECT_EQ(ids->back(), mini_id("<end_of_turn>"));
  EXPECT_EQ(std::count(ids->begin(), ids->end(), mini_id("<end_of_turn>")), 1);
  // A special token may not straddle an allowed and a forbidden segment.
  const TextSegment split[] = {{"<end_of", true}, {"_turn>", false}};
  auto ids2 = mini_tokenizer().encode_segments(split);
  ASSERT_TRUE(ids2.ok());
  EXPECT_EQ(std::count(ids2->begin(), ids2->end(), mini_id("<end_of_turn>")), 0);
}

TEST(Tokenizer, DecodeSkipsSpecialsOnRequestAndIgnoresBadIds) {
  const Ids ids = {mini_id("<bos>"), mini_id("\xE2\x96\x81hi"), mini_id("<end_of_turn>"), -5, 1 << 30};
  EXPECT_EQ(mini_tokenizer().decode(ids), "<bos> hi<end_of_turn>");
  EXPECT_EQ(mini_tokenizer().decode(ids, true), " hi");
}

TEST(Tokenizer, InvalidByteFallbackRunsDecodeToReplacementCharacters) {
  const Ids ids = {mini_id("<0xC5>"), mini_id("a"), mini_id("<0xFF>"), mini_id("<0xF0>"), mini_id("<0x9F>")};
  EXPECT_EQ(mini_tokenizer().decode(ids), "\xEF\xBF\xBD" "a" "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST(Tokenizer, AccessorsDescribeTokens) {
  const Tokenizer& t = mini_tokenizer();
  EXPECT_EQ(t.bos_id(), mini_id("<bos>"));
  EXPECT_EQ(t.eos_id(), mini_id("<eos>"));
  EXPECT_TRUE(t.is_special(mini_id("<end_of_turn>")));
  EXPECT_FALSE(t.is_special(mini_id("\n")));
  EXPECT_FALSE(t.is_special(-1));
  EXPECT_EQ(t.token_text(mini_id("<0x41>")), "<0x41>");
  EXPECT_EQ(t.token_bytes(mini_id("<0x41>")), std::vector<uint8_t>{'A'});
  EXPECT_EQ(t.token_bytes(mini_id("\xE2\x96\x81hi")), (std::vector<uint8_t>{' ', 'h', 'i'}));
  EXPECT_EQ(t.token_text(99999), "");
  EXPECT_FALSE(t.token_id("nope").has_value());
  EXPECT_EQ(t.vocab_size(), 407);
}

TEST(Tokenizer, InvalidUtf8IsAnErrorNamingTheOffset) {
  for (const std::string& bad : {std::string("ok\xFF"), std::string("\xC3"), std::string("\xC0\xAF"),
                                std::string("\xED\xA0\x80"), std::string("\xF4\x90\x80\x80"),
                                std::string("ab\x80"), std::string("\xE2\x82")}) {
    auto r = mini_tokenizer().encode(bad);
    ASSERT_FALSE(r.ok()) << "accepted " << bad.size() << " bytes";
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(r.error().message.find("UTF-8"), std::string::npos);
  }
  auto r = mini_tokenizer().encode(std::string("ab\xFF", 3));
  EXPECT_NE(r.error().message.find("offset 2"), std::string::npos) << r.error().message;
  EXPECT_TRUE(mini_tokenizer().encode(std::string("a\0b", 3)).ok());  // NUL is valid UTF-8
}

TEST(TokenizerFuzz, RandomBytesNeverCrashAndValidTextRoundTrips) {
  std::mt19937 rng(1234);
  const char pool[] = {'a', 'b', 'c', ' ', '\n', '<', '>', 's', '\xC3', '\xA9', '\xC5', '\xBC', '\xF0', '\x9F',
                       '\x98', '\x80', '\xFF', '\xED', '\xA0', '\0'};
  int ok = 0, rejected = 0;
  for (int iter = 0; iter < 20000; ++iter) {
    std::string s(rng() % 40, '\0');
    for (char& c : s) c = (iter % 2) ? static_cast<char>(rng()) : pool[rng() % sizeof(pool)];
    auto r = mini_tokenizer().encode(s, iter % 3 != 0);
    if (!r.ok()) {
      EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
      ++rejected;
      continue;
    }
    ++ok;
    ASSERT_EQ(mini_tokenizer().decode(*r), s);
  }
  EXPECT_GT(ok, 1000);
  EXPECT_GT(rejected, 1000);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(TokenizerLoad, MissingFileIsNotFound) {
  auto t = Tokenizer::load("/nonexistent/tokenizer.json");
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.error().code, ErrorCode::kNotFound);
}

TEST(TokenizerLoad, MergesBeforeVocabAndOldMergeFormat) {
  for (const char* merges : {R"([["a", "b"], ["ab", "c"]])", R"(["a b", "ab c"])"}) {
    const std::string json = std::string(R"({"added_tokens": [], "model": {"type": "BPE", "merges": )") + merges +
                             R"(, "vocab": {"a": 0, "b": 1, "c": 2, "ab": 3, "abc": 4}}})";
    auto t = Tokenizer::from_json(json);
    ASSERT_TRUE(t.ok()) << t.error().message;
    EXPECT_EQ(*t->encode("abcab"), (std::vector<int32_t>{4, 3}));
    EXPECT_EQ(t->decode(std::vector<int32_t>{4, 3}), "abcab");
  }
}

TEST(TokenizerLoad, UnsupportedPipelinePartsAreNamed) {
  auto t = Tokenizer::from_json(R"({"normalizer": {"type": "NFKC"}, "model": {"vocab": {"a": 0}, "merges": []}})");
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.error().code, ErrorCode::kUnsupported);
  EXPECT_NE(t.error().message.find("NFKC"), std::string::npos);
}

TEST(TokenizerLoad, CorruptFilesAreErrorsNeverCrashes) {
  const std::string good = read_file(test::fixture_path("tokenizer/mini_tokenizer.json"));
  ASSERT_TRUE(Tokenizer::from_json(good).ok());
  for (const std::string& bad : {std::string(""), std::string("{"), std::string("[]"), std::string("{\"model\": 3}"),
                                std::string("{\"model\": {\"vocab\": {}}}"),
                                std::string("{\"model\": {\"vocab\": {\"a\": -1}}}"),
                                std::string("{\"model\": {\"vocab\": {\"a\": 0}, \"merges\": [[\"a\", \"b\"]]}}"),
                                std::string("{\"model\": {\"type\": \"Unigram\", \"vocab\": {\"a\": 0}}}")}) {
    auto t = Tokenizer::from_json(bad);
    EXPECT_FALSE(t.ok()) << bad;
  }
  std::mt19937 rng(99);
  int accepted = 0;
  for (int iter = 0; iter < 3000; ++iter) {
    std::string s = good;
    if (iter % 2) {
      s.resize(rng() % s.size());  // truncated
    } else {
      for (int k = 0; k < 1 + static_cast<int>(rng() % 4); ++k) s[rng() % s.size()] = static_cast<char>(rng());
    }
    auto t = Tokenizer::from_json(s);
    if (t.ok()) {
      ++accepted;  // a harmless flip (e.g. inside a piece): it must still work
      (void)t->encode("abc <start_of_turn> \xC5\xBC");
      (void)t->decode(std::vector<int32_t>{0, 1, 2, 300, 9999});
    }
  }
  EXPECT_LT(accepted, 3000);
}

}  // namespace
}  // namespace gs::runtime
