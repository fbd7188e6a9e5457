// Streaming detokenisation: characters split across byte-fallback tokens, emoji, invalid bytes,
// and equality with the one-shot decode on the real vocabulary.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "runtime/tokenizer/incremental_decoder.h"
#include "runtime/tokenizer/utf8.h"
#include "tests/tokenizer/mini_tokenizer.h"
#include "tests/tokenizer/real_vocab_path.h"

namespace gs::runtime {
namespace {

using test::mini_id;
using test::mini_tokenizer;

std::vector<std::string> push_all(IncrementalDecoder& dec, std::initializer_list<std::string_view> pieces) {
  std::vector<std::string> out;
  for (auto p : pieces) out.push_back(dec.push(mini_id(p)));
  return out;
}

TEST(IncrementalDecoder, HoldsBackASplitTwoByteCharacter) {
  IncrementalDecoder dec(mini_tokenizer());
  const auto out = push_all(dec, {"a", "<0xC5>", "<0xBC>", "b"});
  EXPECT_EQ(out, (std::vector<std::string>{"a", "", "\xC5\xBC", "b"}));
  EXPECT_EQ(dec.pending_bytes(), 0u);
  EXPECT_EQ(dec.flush(), "");
}

TEST(IncrementalDecoder, EmojiAcrossFourByteTokens) {
  IncrementalDecoder dec(mini_tokenizer());
  // U+1F600 = F0 9F 98 80, then U+200D ZWJ = E2 80 8D
  const auto out = push_all(dec, {"<0xF0>", "<0x9F>", "<0x98>", "<0x80>", "<0xE2>", "<0x80>", "<0x8D>"});
  EXPECT_EQ(out, (std::vector<std::string>{"", "", "", "\xF0\x9F\x98\x80", "", "", "\xE2\x80\x8D"}));
}

TEST(IncrementalDecoder, InvalidBytesBecomeReplacementCharactersWithoutLoss) {
  IncrementalDecoder dec(mini_tokenizer());
  EXPECT_EQ(dec.push(mini_id("<0xFF>")), "\xEF\xBF\xBD");           // can never start a character
  EXPECT_EQ(dec.push(mini_id("<0xC5>")), "");                       // might still complete
  EXPECT_EQ(dec.push(mini_id("a")), "\xEF\xBF\xBD" "a");            // it did not
  EXPECT_EQ(dec.push(mini_id("<0xF0>")), "");
  EXPECT_EQ(dec.push(mini_id("<0x9F>")), "");
  EXPECT_EQ(dec.pending_bytes(), 2u);
  EXPECT_EQ(dec.flush(), "\xEF\xBF\xBD\xEF\xBF\xBD");                // one per byte at the end
  EXPECT_EQ(dec.push(mini_id("<0xED>")), "");
  EXPECT_EQ(dec.push(mini_id("<0xA0>")), "\xEF\xBF\xBD\xEF\xBF\xBD");  // surrogate: invalid
}

TEST(IncrementalDecoder, SpecialTokensAreSkippedOrKept) {
  IncrementalDecoder skip(mini_tokenizer());
  EXPECT_EQ(skip.push(mini_id("<end_of_turn>")), "");
  EXPECT_EQ(skip.push(mini_id("\xE2\x96\x81hi")), " hi");
  EXPECT_EQ(skip.push(-1), "");
  IncrementalDecoder keep(mini_tokenizer(), false);
  EXPECT_EQ(keep.push(mini_id("<end_of_turn>")), "<end_of_turn>");
}

TEST(IncrementalDecoder, StreamsTheRealCorpusExactlyAsDecode) {
  const std::string missing = test::real_tokenizer_missing();
  ASSERT_TRUE(missing.empty()) << missing;
  auto tok = Tokenizer::load(test::real_tokenizer_path());
  ASSERT_TRUE(tok.ok()) << tok.error().message;
  std::ifstream in(test::fixture_path("tokenizer/expected_ids.json"));
  std::stringstream ss;
  ss << in.rdbuf();
  const auto expected = nlohmann::json::parse(ss.str());
  int byte_tokens = 0;
  for (const auto& c : expected["cases"]) {
    const auto ids = c["ids"].get<std::vector<int32_t>>();
    for (bool skip : {true, false}) {
      IncrementalDecoder dec(*tok, skip);
      std::string streamed;
      for (int32_t id : ids) {
        const std::string piece = dec.push(id);
        ASSERT_EQ(utf8::find_invalid(piece), std::string_view::npos) << c["name"];
        streamed += piece;
        byte_tokens += tok->token_text(id).rfind("<0x", 0) == 0;
      }
      streamed += dec.flush();
      EXPECT_EQ(streamed, tok->decode(ids, skip)) << c["name"];
    }
  }
  EXPECT_GT(byte_tokens, 10);  // the corpus does exercise byte fallback
}

}  // namespace
}  // namespace gs::runtime
