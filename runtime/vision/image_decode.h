// Untrusted image bytes -> 8-bit RGB. JPEG (baseline and progressive, grey, CMYK; EXIF
// orientation applied) via libjpeg-turbo, PNG (8/16-bit, grey, palette, tRNS, interlaced) via
// libpng, WebP via libwebp, GIF (first frame) via giflib, BMP via stb_image. Transparent pixels are
// composited on WHITE (what a chat client shows behind a transparent picture); PIL's
// convert("RGB"), which upstream examples use, would instead drop alpha and expose whatever colour
// hides under it. 16-bit samples keep their high byte. Every failure is an Error value; the
// declared size is checked against the pixel limit before any pixel memory is allocated.
#pragma once
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "runtime/core/status.h"

namespace gs::runtime::vision {

enum class ImageFormat { kUnknown, kJpeg, kPng, kGif, kBmp, kWebp };
std::string_view image_format_name(ImageFormat f);
// From the leading magic bytes.
ImageFormat sniff_image_format(std::span<const uint8_t> bytes);

struct RgbImage {
  int width = 0, height = 0;
  std::vector<uint8_t> pixels;  // [height, width, 3], row-major
};

struct DecodeLimits {
  int64_t max_pixels = int64_t{40} << 20;  // width * height, checked before any pixel is decoded
  int64_t max_bytes = int64_t{64} << 20;   // encoded size
};

// Errors: kInvalidArgument for empty / truncated / corrupt / oversized input, kUnsupported for an
// unknown format.
Expected<RgbImage> decode_image(std::span<const uint8_t> bytes, const DecodeLimits& limits = {});

// Composites straight-alpha RGBA on white: c' = (c * a + 255 * (255 - a)) / 255, rounded.
RgbImage rgba_on_white(const uint8_t* rgba, int width, int height);

}  // namespace gs::runtime::vision
