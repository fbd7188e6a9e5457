#include <gtest/gtest.h>

#include <random>

#include "api/prompt/base64.h"

namespace gs::api {
namespace {

std::string str(const std::vector<uint8_t>& v) { return std::string(v.begin(), v.end()); }

TEST(Base64, DecodesRfc4648Vectors) {
  const std::pair<const char*, const char*> cases[] = {{"", ""},         {"Zg==", "f"},     {"Zm8=", "fo"},
                                                       {"Zm9v", "foo"},  {"Zm9vYg==", "foob"}, {"Zm9vYmE=", "fooba"},
                                                       {"Zm9vYmFy", "foobar"}, {"Zm9vYg", "foob"}, {"Zm9v\nYmFy", "foobar"}};
  for (auto [in, want] : cases) {
    auto got = base64_decode(in);
    ASSERT_TRUE(got) << in;
    EXPECT_EQ(str(*got), want) << in;
  }
  EXPECT_EQ(*base64_decode("-_8="), (std::vector<uint8_t>{0xfb, 0xff}));  // URL-safe alphabet
}

TEST(Base64, RejectsMalformed) {
  for (const char* bad : {"Z", "Zm9v!", "Zg==Zg==", "Zg===", "Z===", "Zm9vY"}) EXPECT_FALSE(base64_decode(bad)) << bad;
}

TEST(DataUrl, Parses) {
  auto d = parse_data_url("data:image/png;base64,iVBORw==");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->mime, "image/png");
  EXPECT_EQ(d->bytes.size(), 4u);
  EXPECT_FALSE(parse_data_url("data:image/png,rawtext"));
  EXPECT_FALSE(parse_data_url("https://x/y.png"));
  EXPECT_FALSE(parse_data_url("data:;base64"));
}

TEST(Base64, RandomInputsNeverCrash) {
  std::mt19937 rng(7);
  int ok = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string s(rng() % 40, ' ');
    for (char& c : s) c = static_cast<char>(rng() % 256);
    if (base64_decode(s)) ++ok;
    parse_data_url("data:x;base64," + s);
  }
  EXPECT_LT(ok, 20000);
}

}  // namespace
}  // namespace gs::api
