#include <soxr.h>

#include <cmath>

#include "runtime/audio/pcm.h"

namespace gs::runtime::audio {

Expected<std::vector<float>> resample_mono(std::span<const float> in, int from_rate, int to_rate) {
  if (from_rate <= 0 || to_rate <= 0 || from_rate > kMaxSampleRate || to_rate > kMaxSampleRate)
    return make_error(ErrorCode::kInvalidArgument, "bad sample rate for resampling");
  const double ratio = static_cast<double>(to_rate) / from_rate;
  std::vector<float> out(static_cast<size_t>(std::ceil(static_cast<double>(in.size()) * ratio)) + 16);
  size_t done = 0;
  // HQ = 20-bit precision, 91% passband, linear phase: far below the model's sensitivity.
  const soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
  const soxr_quality_spec_t q = soxr_quality_spec(SOXR_HQ, 0);
  soxr_error_t err = soxr_oneshot(from_rate, to_rate, 1, in.data(), in.size(), nullptr, out.data(), out.size(),
                                  &done, &io, &q, nullptr);
  if (err) return make_error(ErrorCode::kInternal, std::string("resampling failed: ") + err);
  out.resize(done);
  return out;
}

}  // namespace gs::runtime::audio
