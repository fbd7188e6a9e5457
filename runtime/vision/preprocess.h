// Image -> pixel_values exactly as Gemma 3n's SiglipImageProcessorFast does: resize to the
// configured size (768x768 released, aspect ratio not kept) with torchvision's antialiased
// bilinear filter (PIL's separable triangle filter whose support widens by the down-scale factor),
// round to uint8, rescale by 1/255, optional mean/std normalisation (off in every released config).
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "runtime/core/status.h"
#include "runtime/vision/image_decode.h"

namespace gs::runtime::vision {

struct PreprocessConfig {
  int height = 768, width = 768;
  bool do_resize = true;
  bool do_rescale = true;
  double rescale_factor = 1.0 / 255.0;
  bool do_normalize = false;
  std::array<float, 3> mean = {0.5f, 0.5f, 0.5f};
  std::array<float, 3> std = {0.5f, 0.5f, 0.5f};
};

// Reads the image keys of preprocessor_config.json text (size, resample, do_rescale, ...). Only
// resample = 2 (bilinear) is supported; anything else is an error naming the key.
Expected<PreprocessConfig> parse_preprocess_config(const std::string& json_text);
// <model_dir>/preprocessor_config.json; a missing file gives the released defaults.
Expected<PreprocessConfig> load_preprocess_config(const std::string& model_dir);

// HWC uint8 RGB resize, antialiased bilinear, rounded to nearest (ties to even) and clamped.
RgbImage resize_bilinear_antialias(const RgbImage& img, int out_h, int out_w);

// -> float [3, height, width] (CHW, RGB).
Expected<std::vector<float>> preprocess_image(const RgbImage& img, const PreprocessConfig& cfg);

}  // namespace gs::runtime::vision
