#include "runtime/audio/segment.h"

#include <algorithm>
#include <cmath>

namespace gs::runtime::audio {
namespace {

struct Cut {
  size_t at = 0;
  bool quiet = false;
};

// pcm[lo, hi) is the search region (hi = the hard 30 s mark). Candidate cut points are spaced
// half a window apart; each is scored by the RMS of the window centred on it.
Cut quietest_cut(std::span<const float> pcm, size_t lo, size_t hi, size_t win, const SegmentOptions& opt) {
  const size_t half = win / 2;
  const size_t a = lo >= half ? lo - half : 0;
  const size_t b = std::min(pcm.size(), hi + half);
  std::vector<double> prefix(b - a + 1, 0.0);  // local prefix sums of squares
  for (size_t i = a; i < b; ++i) prefix[i - a + 1] = prefix[i - a] + double{pcm[i]} * pcm[i];
  auto rms_at = [&](size_t c) {
    const size_t s = std::max(a, c >= half ? c - half : 0), e = std::min(b, c + half + 1);
    return std::sqrt((prefix[e - a] - prefix[s - a]) / static_cast<double>(e - s));
  };
  const double mean = std::sqrt((prefix[hi - a] - prefix[lo - a]) / static_cast<double>(hi - lo));
  const size_t step = std::max<size_t>(1, half);
  std::vector<size_t> cand;
  std::vector<double> score;
  for (size_t c = hi;; c -= step) {  // latest first, so ties keep the longer clip
    cand.push_back(c);
    score.push_back(rms_at(c));
    if (c < lo + step) break;
  }
  size_t best = 0;
  for (size_t i = 1; i < cand.size(); ++i)
    if (score[i] < score[best]) best = i;
  const double threshold = std::max(opt.floor_rms, opt.quiet_ratio * mean);
  if (score[best] > threshold) return {hi, false};
  // Centre the cut in the quiet run around the minimum, leaving silence on both sides.
  const double run_level = std::max(score[best] * 2.0, opt.floor_rms);
  size_t first = best, last = best;  // indices run backwards in time
  while (last + 1 < cand.size() && score[last + 1] <= run_level) ++last;
  while (first > 0 && score[first - 1] <= run_level) --first;
  return {(cand[first] + cand[last]) / 2, true};
}

}  // namespace

std::vector<ClipRange> split_into_clips(std::span<const float> pcm, const SegmentOptions& opt) {
  std::vector<ClipRange> out;
  const size_t n = pcm.size();
  const size_t max_len = std::max<size_t>(1, static_cast<size_t>(std::llround(opt.max_clip_s * opt.sample_rate)));
  const size_t search = std::min(max_len - 1, static_cast<size_t>(std::max(0.0, opt.search_s * opt.sample_rate)));
  const size_t win = std::max<size_t>(2, static_cast<size_t>(std::llround(opt.window_s * opt.sample_rate)));
  size_t pos = 0;
  while (n - pos > max_len) {
    const size_t hard = pos + max_len;
    size_t cut = hard;
    if (search > 0) cut = quietest_cut(pcm, hard - search, hard, win, opt).at;
    cut = std::clamp(cut, pos + 1, hard);
    out.push_back({pos, cut});
    pos = cut;
  }
  if (pos < n) out.push_back({pos, n});
  return out;
}

double clip_rms(std::span<const float> pcm, ClipRange r) {
  if (r.end <= r.begin || r.end > pcm.size()) return 0.0;
  double s = 0;
  for (size_t i = r.begin; i < r.end; ++i) s += double{pcm[i]} * pcm[i];
  return std::sqrt(s / static_cast<double>(r.end - r.begin));
}

}  // namespace gs::runtime::audio
