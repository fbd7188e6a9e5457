// split_into_clips: cuts land in silence gaps near the 30 s marks, hard cuts without silence,
// exact coverage without overlap for any input.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "runtime/audio/segment.h"

namespace gs::runtime::audio {
namespace {

constexpr int kRate = 16000;

std::vector<float> tone(double seconds, double amp = 0.5, double hz = 440) {
  std::vector<float> x(static_cast<size_t>(seconds * kRate));
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(amp * std::sin(2 * M_PI * hz * i / kRate));
  return x;
}

void silence(std::vector<float>& x, double from_s, double to_s) {
  for (size_t i = static_cast<size_t>(from_s * kRate); i < static_cast<size_t>(to_s * kRate) && i < x.size(); ++i) x[i] = 0;
}

void expect_exact_cover(const std::vector<ClipRange>& clips, size_t n, size_t max_len = 30 * kRate) {
  ASSERT_FALSE(clips.empty());
  EXPECT_EQ(clips.front().begin, 0u);
  EXPECT_EQ(clips.back().end, n);
  for (size_t i = 0; i < clips.size(); ++i) {
    EXPECT_LT(clips[i].begin, clips[i].end);
    EXPECT_LE(clips[i].end - clips[i].begin, max_len);
    if (i > 0) EXPECT_EQ(clips[i].begin, clips[i - 1].end);
  }
}

TEST(Segment, CutsLandInSilenceGaps) {
  auto x = tone(70);
  silence(x, 27.0, 28.0);
  silence(x, 54.5, 55.5);
  const auto clips = split_into_clips(x);
  ASSERT_EQ(clips.size(), 3u);
  expect_exact_cover(clips, x.size());
  const double c1 = clips[0].end / double{kRate}, c2 = clips[1].end / double{kRate};
  EXPECT_GT(c1, 27.0);
  EXPECT_LT(c1, 28.0);
  EXPECT_NEAR(c1, 27.5, 0.05);  // centred in the gap
  EXPECT_GT(c2, 54.5);
  EXPECT_LT(c2, 55.5);
}

TEST(Segment, QuietButNotSilentGapCounts) {
  auto x = tone(40);
  for (size_t i = 26 * kRate; i < 27 * kRate; ++i) x[i] *= 0.02f;  // -34 dB relative: a pause with room noise
  const auto clips = split_into_clips(x);
  ASSERT_EQ(clips.size(), 2u);
  EXPECT_GT(clips[0].end, 26u * kRate);
  EXPECT_LT(clips[0].end, 27u * kRate);
}

TEST(Segment, GapOutsideSearchWindowIsNotUsed) {
  auto x = tone(45);
  silence(x, 10.0, 11.0);  // too early: cutting here would waste 19 s of the clip
  const auto clips = split_into_clips(x);
  ASSERT_EQ(clips.size(), 2u);
  EXPECT_EQ(clips[0].end, 30u * kRate);
}

TEST(Segment, NoSilenceGivesHard30sCuts) {
  const auto x = tone(95);
  const auto clips = split_into_clips(x);
  ASSERT_EQ(clips.size(), 4u);
  expect_exact_cover(clips, x.size());
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(clips[i].end - clips[i].begin, 30u * kRate);
  EXPECT_EQ(clips[3].end - clips[3].begin, 5u * kRate);
}

TEST(Segment, ShortAndEdgeLengths) {
  EXPECT_TRUE(split_into_clips(std::vector<float>{}).empty());
  const auto one = split_into_clips(tone(3));
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].end, 3u * kRate);
  const auto exact = split_into_clips(tone(30));
  ASSERT_EQ(exact.size(), 1u);
  auto plus_one = tone(30);
  plus_one.push_back(0.1f);
  const auto two = split_into_clips(plus_one);
  ASSERT_EQ(two.size(), 2u);
  expect_exact_cover(two, plus_one.size());
}

TEST(Segment, AllSilenceStillCoversExactly) {
  std::vector<float> x(static_cast<size_t>(100.5 * kRate), 0.0f);
  const auto clips = split_into_clips(x);
  expect_exact_cover(clips, x.size());
  EXPECT_EQ(clips.size(), 4u);
}

TEST(Segment, RandomSignalsAlwaysCoverExactly) {
  std::mt19937 rng(7);
  for (int t = 0; t < 40; ++t) {
    const size_t n = std::uniform_int_distribution<size_t>(0, 200 * kRate)(rng);
    std::vector<float> x(n);
    std::normal_distribution<float> noise(0, std::uniform_real_distribution<float>(0, 0.5f)(rng));
    for (auto& v : x) v = noise(rng);
    // random silent stretches
    for (int g = 0; g < 6 && n > 0; ++g) {
      const size_t a = std::uniform_int_distribution<size_t>(0, n - 1)(rng);
      const size_t len = std::uniform_int_distribution<size_t>(0, 2 * kRate)(rng);
      for (size_t i = a; i < std::min(n, a + len); ++i) x[i] = 0;
    }
    SegmentOptions opt;
    opt.max_clip_s = std::uniform_real_distribution<double>(1, 30)(rng);
    opt.search_s = std::uniform_real_distribution<double>(0, 10)(rng);
    const auto clips = split_into_clips(x, opt);
    if (n == 0) {
      EXPECT_TRUE(clips.empty());
      continue;
    }
    expect_exact_cover(clips, n, static_cast<size_t>(std::llround(opt.max_clip_s * kRate)));
  }
}

TEST(Segment, ClipRms) {
  const auto x = tone(1, 0.5);
  EXPECT_NEAR(clip_rms(x, {0, x.size()}), 0.5 / std::sqrt(2.0), 1e-3);
  EXPECT_EQ(clip_rms(x, {5, 5}), 0.0);
  EXPECT_EQ(clip_rms(x, {0, x.size() + 1}), 0.0);
}

}  // namespace
}  // namespace gs::runtime::audio
