#include "runtime/models/gemma3n/audio/features.h"

#include <fftw3.h>

#include <algorithm>
#include <cmath>
#include <mutex>

namespace gs::runtime::gemma3n {
namespace {

// FFTW's planner is process-global and not thread-safe; executing a plan on new arrays is.
std::mutex& fftw_planner_mutex() {
  static std::mutex m;
  return m;
}

double hz_to_mel(double f) { return 2595.0 * std::log10(1.0 + f / 700.0); }
double mel_to_hz(double m) { return 700.0 * (std::pow(10.0, m / 2595.0) - 1.0); }

// fb[k, m] = max(0, min(rising edge, falling edge)) of triangle m between mel points m, m+1, m+2.
std::vector<double> htk_mel_filters(const FeatureExtractorConfig& c) {
  const int bins = c.fft_length / 2 + 1;
  const double lo = hz_to_mel(c.min_frequency), hi = hz_to_mel(c.max_frequency);
  std::vector<double> p(static_cast<size_t>(c.n_mels + 2));
  for (int i = 0; i < c.n_mels + 2; ++i) p[i] = mel_to_hz(lo + (hi - lo) * i / (c.n_mels + 1));
  std::vector<double> fb(static_cast<size_t>(bins) * c.n_mels, 0.0);
  for (int k = 0; k < bins; ++k) {
    const double f = static_cast<double>(k) * (c.sample_rate / 2) / (bins - 1);
    for (int m = 0; m < c.n_mels; ++m) {
      const double down = (f - p[m]) / (p[m + 1] - p[m]);
      const double up = (p[m + 2] - f) / (p[m + 2] - p[m + 1]);
      fb[static_cast<size_t>(k) * c.n_mels + m] = std::max(0.0, std::min(down, up));
    }
  }
  return fb;
}

}  // namespace

struct FeatureExtractor::Fft {
  fftwf_plan plan = nullptr;
  ~Fft() {
    if (plan) {
      std::lock_guard<std::mutex> lock(fftw_planner_mutex());
      fftwf_destroy_plan(plan);
    }
  }
};

// RAII buffers from fftwf_malloc, so they have the alignment the plan was made for.
template <typename T>
struct FftwBuffer {
  T* p;
  explicit FftwBuffer(size_t n) : p(static_cast<T*>(fftwf_malloc(sizeof(T) * n))) {
    if (!p) throw std::bad_alloc();
  }
  ~FftwBuffer() { fftwf_free(p); }
  FftwBuffer(const FftwBuffer&) = delete;
  FftwBuffer& operator=(const FftwBuffer&) = delete;
};

FeatureExtractor::FeatureExtractor(FeatureExtractor&&) noexcept = default;
FeatureExtractor& FeatureExtractor::operator=(FeatureExtractor&&) noexcept = default;
FeatureExtractor::~FeatureExtractor() = default;

Expected<FeatureExtractor> FeatureExtractor::create(const FeatureExtractorConfig& cfg) {
  if (cfg.frame_length <= 0 || cfg.hop_length <= 0 || cfg.fft_length < cfg.frame_length || cfg.n_mels <= 0 ||
      cfg.pad_to_multiple_of <= 0 || cfg.max_samples <= 0)
    return make_error(ErrorCode::kInvalidArgument, "bad feature extractor configuration");
  FeatureExtractor fe;
  fe.cfg_ = cfg;
  fe.window_.resize(static_cast<size_t>(cfg.frame_length));
  for (int n = 0; n < cfg.frame_length; ++n)  // periodic Hann, evaluated in double, stored as float32
    fe.window_[n] = static_cast<float>(0.5 - 0.5 * std::cos(2.0 * M_PI * n / cfg.frame_length));
  fe.mel_ = htk_mel_filters(cfg);
  const int bins = cfg.fft_length / 2 + 1;
  fe.mel_lo_.assign(static_cast<size_t>(cfg.n_mels), bins);
  fe.mel_hi_.assign(static_cast<size_t>(cfg.n_mels), 0);
  for (int k = 0; k < bins; ++k)
    for (int m = 0; m < cfg.n_mels; ++m)
      if (fe.mel_[static_cast<size_t>(k) * cfg.n_mels + m] != 0.0) {
        fe.mel_lo_[m] = std::min(fe.mel_lo_[m], k);
        fe.mel_hi_[m] = std::max(fe.mel_hi_[m], k + 1);
      }
  fe.fft_ = std::make_unique<Fft>();
  FftwBuffer<float> in(static_cast<size_t>(cfg.fft_length));
  FftwBuffer<fftwf_complex> out(static_cast<size_t>(bins));
  {
    std::lock_guard<std::mutex> lock(fftw_planner_mutex());
    fe.fft_->plan = fftwf_plan_dft_r2c_1d(cfg.fft_length, in.p, out.p, FFTW_ESTIMATE);
  }
  if (!fe.fft_->plan) return make_error(ErrorCode::kInternal, "FFTW could not plan the feature FFT");
  return fe;
}

int64_t FeatureExtractor::frames_for_length(int64_t padded_len) const {
  const int64_t unfold = cfg_.frame_length + 1;  // upstream unfolds frame_length + 1 samples
  if (padded_len < unfold) return 0;
  return (padded_len - unfold) / cfg_.hop_length + 1;
}

// wav (real samples) is read as if zero-padded to padded_len.
AudioFeatures FeatureExtractor::extract_padded(std::span<const float> wav, int64_t padded_len) const {
  const int L = cfg_.frame_length, M = cfg_.n_mels, bins = cfg_.fft_length / 2 + 1;
  const int64_t n = static_cast<int64_t>(wav.size());
  AudioFeatures out;
  out.frames = frames_for_length(padded_len);
  out.data.resize(static_cast<size_t>(out.frames * M));
  out.mask.resize(static_cast<size_t>(out.frames));
  FftwBuffer<float> in(static_cast<size_t>(cfg_.fft_length));
  FftwBuffer<fftwf_complex> spec(static_cast<size_t>(bins));
  std::vector<double> mag(static_cast<size_t>(bins));
  const float pre = static_cast<float>(cfg_.preemphasis), first = static_cast<float>(1.0 - cfg_.preemphasis);
  auto sample = [&](int64_t i) { return i < n ? wav[static_cast<size_t>(i)] : 0.0f; };
  for (int64_t f = 0; f < out.frames; ++f) {
    const int64_t s0 = f * cfg_.hop_length;
    in.p[0] = sample(s0) * first * window_[0];
    for (int i = 1; i < L; ++i) in.p[i] = (sample(s0 + i) - pre * sample(s0 + i - 1)) * window_[i];
    std::fill(in.p + L, in.p + cfg_.fft_length, 0.0f);
    fftwf_execute_dft_r2c(fft_->plan, in.p, spec.p);
    for (int k = 0; k < bins; ++k) mag[k] = std::hypot(double{spec.p[k][0]}, double{spec.p[k][1]});
    float* row = out.data.data() + f * M;
    for (int m = 0; m < M; ++m) {
      double acc = 0;
      for (int k = mel_lo_[m]; k < mel_hi_[m]; ++k) acc += mag[k] * mel_[static_cast<size_t>(k) * M + m];
      row[m] = static_cast<float>(std::log(std::max(acc, cfg_.mel_floor)));
    }
    out.mask[f] = s0 < n ? 1 : 0;
  }
  return out;
}

AudioFeatures FeatureExtractor::extract(std::span<const float> wav) const {
  const std::span<const float> clips[1] = {wav};
  return std::move(extract_batch(clips)[0]);
}

std::vector<AudioFeatures> FeatureExtractor::extract_batch(std::span<const std::span<const float>> clips) const {
  int64_t longest = 0;
  for (const auto& c : clips) longest = std::max<int64_t>(longest, std::min<int64_t>(c.size(), cfg_.max_samples));
  const int64_t m = cfg_.pad_to_multiple_of;
  const int64_t padded = (longest + m - 1) / m * m;
  std::vector<AudioFeatures> out;
  out.reserve(clips.size());
  for (const auto& c : clips)
    out.push_back(extract_padded(c.first(std::min<size_t>(c.size(), static_cast<size_t>(cfg_.max_samples))), padded));
  return out;
}

}  // namespace gs::runtime::gemma3n
