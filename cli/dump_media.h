// Media for `gemma3n-cli dump`: encodes --image / --audio files, writes the intermediate arrays
// (pixel_values, vision_tower, vision_soft_tokens, audio_features(+mask), audio_tower,
// audio_soft_tokens) and returns the soft-token rows in placeholder order.
#pragma once
#include <string>
#include <vector>

#include "runtime/models/gemma3n/text_model.h"

namespace gs::cli {

struct DumpedMedia {
  std::vector<float> image_rows;  // [n_images * tokens_per_image, D]
  std::vector<float> audio_rows;  // [n_clips * tokens_per_clip, D]
};

// Returns false (after printing the error) on failure.
bool encode_dump_media(const runtime::gemma3n::TextModel& model, const std::string& model_dir,
                       const std::vector<std::string>& images, const std::vector<std::string>& audio,
                       const std::string& out_dir, DumpedMedia* out);

}  // namespace gs::cli
