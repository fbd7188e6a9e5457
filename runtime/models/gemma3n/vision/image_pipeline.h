// Encoded image bytes -> Gemma 3n soft tokens in one call: decode (runtime/vision), preprocess with
// the checkpoint's processor settings, encode with the lazily loaded vision model.
#pragma once
#include <span>

#include "runtime/models/gemma3n/vision/vision_model.h"
#include "runtime/vision/image_decode.h"
#include "runtime/vision/preprocess.h"

namespace gs::runtime::gemma3n {

Expected<VisionEncoding> encode_image_bytes(LazyVisionModel& model, std::span<const uint8_t> bytes,
                                            const runtime::vision::PreprocessConfig& prep,
                                            const runtime::vision::DecodeLimits& limits = {});

}  // namespace gs::runtime::gemma3n
