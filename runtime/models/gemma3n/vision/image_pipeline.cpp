#include "runtime/models/gemma3n/vision/image_pipeline.h"

namespace gs::runtime::gemma3n {

Expected<VisionEncoding> encode_image_bytes(LazyVisionModel& model, std::span<const uint8_t> bytes,
                                            const runtime::vision::PreprocessConfig& prep,
                                            const runtime::vision::DecodeLimits& limits) {
  auto img = runtime::vision::decode_image(bytes, limits);
  if (!img) return img.error();
  auto px = runtime::vision::preprocess_image(*img, prep);
  if (!px) return px.error();
  return model.encode(px->data(), prep.height, prep.width);
}

}  // namespace gs::runtime::gemma3n
