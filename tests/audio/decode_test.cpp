// Audio decoding (runtime/audio/decode.h) on files generated at test time, plus a fuzz-style pass
// over truncated and mutated files: every input must give a value or an error, never a crash
// (also run under -DGS_SANITIZE=ON).
#include "runtime/audio/decode.h"

#include <gtest/gtest.h>

#include <random>

#include "tests/audio/audio_files.h"

namespace gs::runtime::audio {
namespace {

using test::sine;
using test::tone_energy_fraction;
using test::write_sndfile;

class Decode : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { quiet_decoder_logs(); }
};

// Max |decoded - reference sine| over the middle of the clip (the resampler's edges excluded).
double mid_error(const std::vector<float>& got, const std::vector<float>& want) {
  double m = 0;
  const size_t n = std::min(got.size(), want.size());
  for (size_t i = n / 8; i < n * 7 / 8; ++i) m = std::max(m, std::fabs(double{got[i]} - want[i]));
  return m;
}

TEST_F(Decode, WavPcmDepthsAndFloatAt16k) {
  const auto ref = sine(16000, 1, 0.5, 440.0);
  const std::pair<int, double> kinds[] = {{SF_FORMAT_PCM_U8, 1e-2}, {SF_FORMAT_PCM_16, 1e-4}, {SF_FORMAT_PCM_24, 1e-6},
                                          {SF_FORMAT_PCM_32, 1e-6}, {SF_FORMAT_FLOAT, 0},       {SF_FORMAT_DOUBLE, 0}};
  for (const auto& [sub, tol] : kinds) {
    const auto bytes = write_sndfile(SF_FORMAT_WAV | sub, 16000, 1, ref);
    ASSERT_FALSE(bytes.empty());
    auto d = decode_audio(bytes);
    ASSERT_TRUE(d.ok()) << sub << ": " << d.error().message;
    EXPECT_EQ(d->container, "wav");
    EXPECT_EQ(d->sample_rate, 16000);
    ASSERT_EQ(d->samples.size(), ref.size()) << sub;
    EXPECT_LE(mid_error(d->samples, ref), tol) << sub;
  }
}

TEST_F(Decode, StereoIsAveragedAndResampledTo16k) {
  // 44.1 kHz stereo with identical channels → the mono sine at 16 kHz.
  const auto bytes = write_sndfile(SF_FORMAT_WAV | SF_FORMAT_FLOAT, 44100, 2, sine(44100, 2, 1.0, 440.0));
  auto d = decode_audio(bytes);
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(d->source_rate, 44100);
  EXPECT_EQ(d->source_channels, 2);
  EXPECT_NEAR(static_cast<double>(d->samples.size()), 16000.0, 2.0);
  EXPECT_LT(mid_error(d->samples, sine(16000, 1, 1.0, 440.0)), 1e-3);
  // Opposite channels cancel: the downmix is an average, not a pick of channel 0.
  auto z = decode_audio(write_sndfile(SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 2, sine(16000, 2, 0.5, 440, 0.5, true)));
  ASSERT_TRUE(z.ok());
  EXPECT_LT(mid_error(z->samples, std::vector<float>(z->samples.size(), 0.0f)), 1e-4);
  // Six channels at 48 kHz.
  auto s6 = decode_audio(write_sndfile(SF_FORMAT_WAV | SF_FORMAT_PCM_24, 48000, 6, sine(48000, 6, 0.5, 1000.0)));
  ASSERT_TRUE(s6.ok()) << s6.error().message;
  EXPECT_LT(mid_error(s6->samples, sine(16000, 1, 0.5, 1000.0)), 1e-3);
}

TEST_F(Decode, ResamplerRemovesContentAboveNyquist) {
  // 9 kHz at 48 kHz cannot exist at 16 kHz: a proper low-pass leaves (almost) nothing, no alias at 7 kHz.
  auto d = decode_audio(write_sndfile(SF_FORMAT_WAV | SF_FORMAT_FLOAT, 48000, 1, sine(48000, 1, 0.5, 9000.0)));
  ASSERT_TRUE(d.ok());
  double peak = 0;
  for (size_t i = d->samples.size() / 8; i < d->samples.size() * 7 / 8; ++i)
    peak = std::max(peak, std::fabs(double{d->samples[i]}));
  EXPECT_LT(peak, 1e-3);
}

TEST_F(Decode, FlacOggVorbisOggOpusAndMp3) {
  const auto ref48 = sine(48000, 1, 1.0, 440.0);
  const std::pair<int, const char*> kinds[] = {{SF_FORMAT_FLAC | SF_FORMAT_PCM_16, "flac"},
                                               {SF_FORMAT_OGG | SF_FORMAT_VORBIS, "ogg"},
                                               {SF_FORMAT_OGG | SF_FORMAT_OPUS, "ogg"},
                                               {SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III, "mp3"}};
  for (const auto& [format, name] : kinds) {
    const auto bytes = write_sndfile(format, 48000, 1, ref48);
    ASSERT_FALSE(bytes.empty()) << name;
    auto d = decode_audio(bytes);
    ASSERT_TRUE(d.ok()) << name << ": " << d.error().message;
    EXPECT_EQ(d->container, name);
    EXPECT_NEAR(static_cast<double>(d->samples.size()), 16000.0, 16000 * 0.1) << name;
    EXPECT_GT(tone_energy_fraction(d->samples, 16000, 440.0), 0.9) << name;
  }
  auto flac = decode_audio(write_sndfile(SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 48000, 1, ref48));
  EXPECT_LT(mid_error(flac->samples, sine(16000, 1, 1.0, 440.0)), 1e-3);  // lossless
}

TEST_F(Decode, WebmOpusThroughLibav) {
  const auto bytes = test::write_webm_opus(sine(48000, 1, 1.0, 440.0));
  ASSERT_GT(bytes.size(), 100u);
  auto d = decode_audio(bytes);
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_NE(d->container.find("webm"), std::string::npos) << d->container;
  EXPECT_NEAR(static_cast<double>(d->samples.size()), 16000.0, 1600.0);
  EXPECT_GT(tone_energy_fraction(d->samples, 16000, 440.0), 0.9);
}

TEST_F(Decode, BadInputsAreErrors) {
  EXPECT_FALSE(decode_audio({}).ok());
  const std::vector<uint8_t> text = {'h', 'e', 'l', 'l', 'o', ' ', 'w', 'o', 'r', 'l', 'd'};
  EXPECT_FALSE(decode_audio(text).ok());
  std::vector<uint8_t> noise(4096);
  std::mt19937 rng(7);
  for (auto& b : noise) b = static_cast<uint8_t>(rng());
  EXPECT_FALSE(decode_audio(noise).ok());
  auto wav = write_sndfile(SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1, {});  // header only, no samples
  auto e = decode_audio(wav);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().code, ErrorCode::kInvalidArgument);
  EXPECT_FALSE(decode_audio(text, DecodeOptions{0, 10}).ok());
}

TEST_F(Decode, LongInputIsCutAtMaxSeconds) {
  auto d = decode_audio(write_sndfile(SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1, sine(16000, 1, 3.0, 440.0)),
                        DecodeOptions{16000, 1.0});
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(d->truncated);
  EXPECT_EQ(d->samples.size(), 16000u);
}

TEST_F(Decode, FuzzedFilesNeverCrash) {
  const auto ref = sine(22050, 2, 0.3, 440.0);
  std::vector<std::vector<uint8_t>> seeds = {
      write_sndfile(SF_FORMAT_WAV | SF_FORMAT_PCM_16, 22050, 2, ref),
      write_sndfile(SF_FORMAT_WAV | SF_FORMAT_FLOAT, 22050, 2, ref),
      write_sndfile(SF_FORMAT_FLAC | SF_FORMAT_PCM_24, 22050, 2, ref),
      write_sndfile(SF_FORMAT_OGG | SF_FORMAT_VORBIS, 22050, 2, ref),
      write_sndfile(SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III, 22050, 2, ref),
      test::write_webm_opus(sine(48000, 1, 0.3, 440.0))};
  std::mt19937 rng(20250626);
  int decoded = 0, errors = 0;
  for (const auto& seed : seeds) {
    ASSERT_FALSE(seed.empty());
    for (int iter = 0; iter < 60; ++iter) {
      std::vector<uint8_t> b = seed;
      if (iter % 3 == 0) b.resize(rng() % b.size());  // truncated
      const int flips = 1 + static_cast<int>(rng() % 16);
      for (int k = 0; k < flips && !b.empty(); ++k) {
        // Mostly in the header, where the parsers make their decisions.
        const size_t span = (k % 2 == 0) ? std::min<size_t>(b.size(), 256) : b.size();
        b[rng() % span] = static_cast<uint8_t>(rng());
      }
      auto d = decode_audio(b, DecodeOptions{16000, 5.0});
      if (d.ok()) {
        ++decoded;
        EXPECT_LE(d->samples.size(), 16000u * 5 + 16);
        for (float v : d->samples) ASSERT_TRUE(std::isfinite(v));
      } else {
        ++errors;
        EXPECT_FALSE(d.error().message.empty());
      }
    }
  }
  EXPECT_GT(decoded + errors, 0);
  std::printf("[fuzz] %d decoded, %d errors\n", decoded, errors);
}

}  // namespace
}  // namespace gs::runtime::audio
