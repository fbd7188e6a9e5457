// Per-format decoders behind decode_image() (internal to runtime/vision). Each checks the declared
// size against the limits before allocating pixels and returns RGB composited on white.
#pragma once
#include <span>

#include "runtime/vision/image_decode.h"

namespace gs::runtime::vision {

Expected<RgbImage> decode_jpeg(std::span<const uint8_t> bytes, const DecodeLimits& limits);  // libjpeg-turbo
Expected<RgbImage> decode_png(std::span<const uint8_t> bytes, const DecodeLimits& limits);   // libpng
Expected<RgbImage> decode_webp(std::span<const uint8_t> bytes, const DecodeLimits& limits);  // libwebp
Expected<RgbImage> decode_gif(std::span<const uint8_t> bytes, const DecodeLimits& limits);   // giflib, first frame
Expected<RgbImage> decode_bmp(std::span<const uint8_t> bytes, const DecodeLimits& limits);   // stb_image

// Shared by the decoders.
Error image_error(const std::string& what);
Status check_image_size(int64_t w, int64_t h, const DecodeLimits& limits);

}  // namespace gs::runtime::vision
