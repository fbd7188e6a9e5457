#include "runtime/audio/decode.h"

extern "C" {
#include <libavutil/log.h>
}

#include <cmath>
#include <cstring>

#include "runtime/audio/pcm.h"

namespace gs::runtime::audio {
namespace {

bool libav_magic(std::span<const uint8_t> b) {
  auto starts = [&](const char* magic, size_t n) { return b.size() >= n && std::memcmp(b.data(), magic, n) == 0; };
  const bool mpeg_sync = b.size() >= 2 && b[0] == 0xFF && (b[1] & 0xE0) == 0xE0;
  return starts("OggS", 4) || starts("ID3", 3) || mpeg_sync;
}

}  // namespace

Expected<DecodedAudio> decode_audio(std::span<const uint8_t> bytes, const DecodeOptions& options) {
  if (options.target_rate <= 0 || options.target_rate > kMaxSampleRate || !(options.max_seconds > 0))
    return make_error(ErrorCode::kInvalidArgument, "bad decode options");
  if (bytes.empty()) return make_error(ErrorCode::kInvalidArgument, "empty audio data");
  // Ogg and MP3 go to libav: libsndfile leaks libvorbis state on corrupt Ogg/Vorbis input
  // (seen under LeakSanitizer in the fuzz test) and its mpg123 prints to stderr on bad frames.
  // Those bytes are never handed to libsndfile, even when libav rejects them.
  const bool libav_only = libav_magic(bytes);
  auto pcm = libav_only ? decode_with_libav(bytes, options.max_seconds) : decode_with_sndfile(bytes, options.max_seconds);
  if (!libav_only && !pcm && pcm.error().code == ErrorCode::kUnsupported)
    pcm = decode_with_libav(bytes, options.max_seconds);
  if (!pcm && pcm.error().code == ErrorCode::kUnsupported)
    return make_error(ErrorCode::kInvalidArgument, "unrecognised or unsupported audio format");
  if (!pcm) return pcm.error();
  if (pcm->samples.empty()) return make_error(ErrorCode::kInvalidArgument, "audio contains no samples");
  for (float& v : pcm->samples)  // a corrupt stream can decode to NaN/Inf; never feed those to the model
    if (!std::isfinite(v)) v = 0.0f;
  DecodedAudio out;
  out.source_rate = pcm->rate;
  out.source_channels = pcm->channels;
  out.container = pcm->container;
  out.truncated = pcm->truncated;
  out.sample_rate = options.target_rate;
  if (pcm->rate == options.target_rate) {
    out.samples = std::move(pcm->samples);
  } else {
    auto r = resample_mono(pcm->samples, pcm->rate, options.target_rate);
    if (!r) return r.error();
    out.samples = std::move(r.value());
  }
  if (out.samples.empty()) return make_error(ErrorCode::kInvalidArgument, "audio too short to resample");
  return out;
}

void quiet_decoder_logs() { av_log_set_level(AV_LOG_FATAL); }

}  // namespace gs::runtime::audio
