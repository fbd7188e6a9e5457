// Long audio → clips the audio encoder accepts (it reads at most 30 s per clip). Cuts go to the
// quietest short window in the last few seconds before each 30 s mark, so words are rarely split;
// with no quiet spot there the cut is made at exactly 30 s. The clips cover the input exactly,
// in order, without overlap.
#pragma once
#include <cstddef>
#include <span>
#include <vector>

namespace gs::runtime::audio {

struct SegmentOptions {
  int sample_rate = 16000;
  double max_clip_s = 30.0;     // hard upper bound of one clip
  double search_s = 5.0;        // look for a quiet cut in the last search_s seconds of a clip
  double window_s = 0.025;      // RMS window for the energy search
  // A window counts as quiet when its RMS is at most quiet_ratio × the search region's mean RMS,
  // or below floor_rms (≈ -60 dBFS) in absolute terms.
  double quiet_ratio = 0.1;
  double floor_rms = 1e-3;
};

struct ClipRange {
  size_t begin = 0, end = 0;    // [begin, end) sample indices
};

std::vector<ClipRange> split_into_clips(std::span<const float> pcm, const SegmentOptions& opt = {});

// RMS of pcm[r.begin, r.end) (0 for an empty range).
double clip_rms(std::span<const float> pcm, ClipRange r);

}  // namespace gs::runtime::audio
