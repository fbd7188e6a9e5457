// Internal to runtime/audio: the decoders' common result (mono, source rate) and helpers.
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "runtime/core/status.h"

namespace gs::runtime::audio {

struct MonoPcm {
  std::vector<float> samples;  // channel average, source rate
  int rate = 0;
  int channels = 0;
  std::string container;
  bool truncated = false;
};

inline constexpr int kMaxChannels = 64;
inline constexpr int kMaxSampleRate = 768000;

// libsndfile: kUnsupported when it does not recognise the bytes (the caller then tries libav*).
Expected<MonoPcm> decode_with_sndfile(std::span<const uint8_t> bytes, double max_seconds);
// libavformat/libavcodec over an in-memory AVIOContext.
Expected<MonoPcm> decode_with_libav(std::span<const uint8_t> bytes, double max_seconds);
// soxr high-quality rate conversion of a mono signal.
Expected<std::vector<float>> resample_mono(std::span<const float> in, int from_rate, int to_rate);

}  // namespace gs::runtime::audio
