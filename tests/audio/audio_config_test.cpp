// Gemma3nAudioConfig parsing: defaults (= the released E2B/E4B values), the tiny fixture's values,
// and malformed JSON (mutated inputs give an error, never a crash).
#include "runtime/models/gemma3n/audio/audio_config.h"

#include <gtest/gtest.h>

#include <random>

#include "runtime/models/gemma3n/config.h"
#include "tests/support/test_paths.h"

namespace gs::runtime::gemma3n {
namespace {

TEST(AudioConfig, DefaultsAreTheReleasedValues) {
  auto c = parse_audio_config("");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->hidden_size, 1536);
  EXPECT_EQ(c->head_dim(), 192);
  EXPECT_EQ(c->max_past(), 12);
  EXPECT_EQ(c->time_stride_product(), 4);
  EXPECT_EQ(c->sscp_channels[1], 32);
  EXPECT_FLOAT_EQ(c->sscp_group_norm_eps, 1e-3f);
}

TEST(AudioConfig, ParsesTheTinyFixture) {
  auto cfg = load_config(test::fixture_path("gemma3n-tiny/model"));
  ASSERT_TRUE(cfg.ok());
  auto c = parse_audio_config(cfg->audio_config_json);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->hidden_size, 64);
  EXPECT_EQ(c->num_heads, 4);
  EXPECT_EQ(c->num_layers, 2);
  EXPECT_EQ(c->sscp_channels[0], 16);
  EXPECT_EQ(c->sscp_channels[1], 8);
  EXPECT_EQ(c->vocab_offset, 264);
  EXPECT_EQ(c->vocab_size, 8);
}

TEST(AudioConfig, RejectsBadValues) {
  const char* bad[] = {"[1]", "{\"hidden_size\": 63, \"conf_num_attention_heads\": 4}",
                       "{\"hidden_size\": \"64\"}", "{\"sscp_conv_kernel_size\": [[3, 3]]}",
                       "{\"sscp_conv_channel_size\": [0, 8]}", "{\"conf_attention_context_left\": 0}",
                       "{\"conf_reduction_factor\": -1}", "{"};
  for (const char* s : bad) EXPECT_FALSE(parse_audio_config(s).ok()) << s;
}

TEST(AudioConfig, MutatedJsonNeverCrashes) {
  const std::string good = R"({"hidden_size": 64, "conf_num_attention_heads": 4, "sscp_conv_channel_size": [16, 8],
    "sscp_conv_kernel_size": [[3, 3], [3, 3]], "sscp_conv_stride_size": [[2, 2], [2, 2]], "vocab_size": 8})";
  std::mt19937 rng(3);
  for (int iter = 0; iter < 2000; ++iter) {
    std::string s = good;
    for (int k = 1 + static_cast<int>(rng() % 3); k > 0; --k) s[rng() % s.size()] = "{}[],:0-9e. \""[rng() % 13];
    auto c = parse_audio_config(s);
    if (c.ok()) {
      EXPECT_GT(c->head_dim(), 0);
    }
  }
}

}  // namespace
}  // namespace gs::runtime::gemma3n
