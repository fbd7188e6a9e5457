// Audio file bytes (in memory, untrusted) → mono float32 PCM at a target rate (16 kHz for Gemma 3n).
// Containers/codecs: WAV (PCM 8/16/24/32-bit, float), FLAC, OGG (Vorbis, Opus) and MP3 through
// libsndfile; anything else libavformat/libavcodec can read (WebM/Opus, MP3 with odd framing, M4A…)
// through an in-memory AVIOContext. Channels are averaged; the rate is converted with soxr (HQ).
// Bad, unsupported or empty input gives an error value, never a crash.
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "runtime/core/status.h"

namespace gs::runtime::audio {

struct DecodeOptions {
  int target_rate = 16000;
  double max_seconds = 600.0;  // longer input is cut here (bounds memory and time for a request)
};

struct DecodedAudio {
  std::vector<float> samples;  // mono, target_rate
  int sample_rate = 0;         // == options.target_rate
  int source_rate = 0;
  int source_channels = 0;
  std::string container;       // e.g. "wav", "flac", "ogg", "mp3", "matroska,webm"
  bool truncated = false;      // cut at max_seconds
};

Expected<DecodedAudio> decode_audio(std::span<const uint8_t> bytes, const DecodeOptions& options = {});

// Makes libav* print only fatal messages (process-wide; call once at start-up, e.g. in a server).
void quiet_decoder_logs();

}  // namespace gs::runtime::audio
