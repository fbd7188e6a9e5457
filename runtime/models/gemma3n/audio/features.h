// Gemma3nAudioFeatureExtractor (transformers defaults = the released settings): mono 16 kHz float
// waveform → log-mel [frames, 128] + frame mask. Frames of 512 samples every 160 (100 per second),
// HTK pre-emphasis 0.97, periodic Hann window, 1024-point FFT magnitude, 128 HTK mel filters on
// 125…7600 Hz without area normalisation, ln(max(mel, 1e-5)).
#pragma once
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "runtime/core/status.h"

namespace gs::runtime::gemma3n {

struct FeatureExtractorConfig {
  int sample_rate = 16000;
  int frame_length = 512;      // round(16000 · 32 ms)
  int hop_length = 160;        // round(16000 · 10 ms)
  int fft_length = 1024;       // next power of two ≥ frame_length, doubled (fft_overdrive)
  int n_mels = 128;
  double min_frequency = 125.0;
  double max_frequency = 7600.0;
  double mel_floor = 1e-5;
  double preemphasis = 0.97;   // HTK flavour: first sample scaled by 1 - 0.97
  int64_t max_samples = 480000;  // clips are truncated to 30 s
  int pad_to_multiple_of = 128;
};

struct AudioFeatures {
  std::vector<float> data;     // [frames, n_mels]
  std::vector<uint8_t> mask;   // [frames], 1 = valid frame (starts inside the real samples)
  int64_t frames = 0;
};

class FeatureExtractor {
 public:
  static Expected<FeatureExtractor> create(const FeatureExtractorConfig& cfg = {});
  FeatureExtractor(FeatureExtractor&&) noexcept;
  FeatureExtractor& operator=(FeatureExtractor&&) noexcept;
  ~FeatureExtractor();

  const FeatureExtractorConfig& config() const { return cfg_; }
  // One clip (truncated to max_samples, zero-padded to a multiple of pad_to_multiple_of).
  // A clip too short for one frame gives frames == 0.
  AudioFeatures extract(std::span<const float> wav) const;
  // A batch padded to the longest clip, as the upstream processor does: every result has the same
  // frame count, and frames that start in a clip's padding are masked out.
  std::vector<AudioFeatures> extract_batch(std::span<const std::span<const float>> clips) const;
  // Frame count for a (padded) length.
  int64_t frames_for_length(int64_t padded_len) const;
  // Mel filterbank [fft_length/2 + 1, n_mels], for tests.
  const std::vector<double>& mel_filters() const { return mel_; }

 private:
  struct Fft;
  FeatureExtractor() = default;
  AudioFeatures extract_padded(std::span<const float> wav, int64_t padded_len) const;

  FeatureExtractorConfig cfg_;
  std::vector<float> window_;          // [frame_length]
  std::vector<double> mel_;            // [bins, n_mels]
  std::vector<int> mel_lo_, mel_hi_;   // non-zero bin range [lo, hi) of each filter
  std::unique_ptr<Fft> fft_;
};

}  // namespace gs::runtime::gemma3n
