#include <gtest/gtest.h>

#include "api/prompt/text_codec.h"
#include "api/stream/stop_filter.h"
#include "tests/api/fake_backend.h"

namespace gs::api {
namespace {

// Feeds `pieces` one by one; returns everything emitted (plus the flush when no match).
std::string run(StopFilter& f, const std::vector<std::string>& pieces) {
  std::string out;
  for (const auto& p : pieces) {
    out += f.push(p);
    if (f.matched()) return out;
  }
  return out + f.flush();
}

TEST(StopFilter, MatchAcrossTokenBoundariesNeverLeaks) {
  StopFilter f({"STOP"});
  std::string emitted;
  for (std::string p : {"ab", "cS", "T", "O", "Pxyz"}) {
    emitted += f.push(p);
    // Nothing of the stop string may have been emitted at any point.
    EXPECT_EQ(emitted.find('S'), std::string::npos);
  }
  EXPECT_TRUE(f.matched());
  EXPECT_EQ(emitted, "abc");
  EXPECT_EQ(f.flush(), "");
}

TEST(StopFilter, FalseStartIsReleased) {
  StopFilter f({"STOP"});
  EXPECT_EQ(f.push("xST"), "x");  // "ST" might start "STOP"
  EXPECT_EQ(f.push("A"), "STA");
  EXPECT_FALSE(f.matched());
  EXPECT_EQ(run(f, {"ST"}), "ST");  // released by flush at the end
}

TEST(StopFilter, EarliestOfSeveralStops) {
  StopFilter f({"world", "lo w"});
  EXPECT_EQ(run(f, {"hel", "lo", " ", "wor", "ld"}), "hel");
  EXPECT_TRUE(f.matched());
}

TEST(StopFilter, OverlappingPrefixes) {
  StopFilter f({"aab"});
  EXPECT_EQ(run(f, {"a", "a", "a", "b"}), "a");
  EXPECT_TRUE(f.matched());
}

TEST(StopFilter, NoStopsPassesThrough) {
  StopFilter f({});
  EXPECT_EQ(f.push("abc"), "abc");
  EXPECT_EQ(f.flush(), "");
}

TEST(Utf8, CompletePrefix) {
  EXPECT_EQ(complete_utf8_prefix("abc"), 3u);
  EXPECT_EQ(complete_utf8_prefix("a\xC3"), 1u);
  EXPECT_EQ(complete_utf8_prefix("a\xC3\xA9"), 3u);
  EXPECT_EQ(complete_utf8_prefix("\xE2\x82"), 0u);
  EXPECT_EQ(complete_utf8_prefix("\xE2\x82\xAC"), 3u);
  EXPECT_EQ(complete_utf8_prefix("x\xF0\x9F\x98"), 1u);
  EXPECT_EQ(complete_utf8_prefix("x\xF0\x9F\x98\x80"), 5u);
}

TEST(Utf8, ByteDecoderHoldsPartialCharacters) {
  test::FakeCodec codec;
  ByteStreamDecoder d(codec);
  EXPECT_EQ(d.push(0xC3), "");
  EXPECT_EQ(d.push(0xA9), "\xC3\xA9");
  EXPECT_EQ(d.push(0xE2), "");
  EXPECT_EQ(d.flush(), "\xE2");
}

}  // namespace
}  // namespace gs::api
