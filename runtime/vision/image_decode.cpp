#include "runtime/vision/image_decode.h"

#include <cstring>

#include "runtime/vision/codecs.h"

namespace gs::runtime::vision {

Error image_error(const std::string& what) { return make_error(ErrorCode::kInvalidArgument, "image: " + what); }

Status check_image_size(int64_t w, int64_t h, const DecodeLimits& limits) {
  if (w <= 0 || h <= 0) return image_error("zero-size image");
  if (w * h > limits.max_pixels)
    return image_error(std::to_string(w) + "x" + std::to_string(h) + " exceeds the limit of " +
                       std::to_string(limits.max_pixels) + " pixels");
  return ok_status();
}

std::string_view image_format_name(ImageFormat f) {
  switch (f) {
    case ImageFormat::kJpeg: return "JPEG";
    case ImageFormat::kPng: return "PNG";
    case ImageFormat::kGif: return "GIF";
    case ImageFormat::kBmp: return "BMP";
    case ImageFormat::kWebp: return "WebP";
    case ImageFormat::kUnknown: break;
  }
  return "unknown";
}

ImageFormat sniff_image_format(std::span<const uint8_t> b) {
  auto starts = [&](const char* magic, size_t n, size_t at = 0) {
    return b.size() >= at + n && std::memcmp(b.data() + at, magic, n) == 0;
  };
  if (starts("\xFF\xD8\xFF", 3)) return ImageFormat::kJpeg;
  if (starts("\x89PNG\r\n\x1A\n", 8)) return ImageFormat::kPng;
  if (starts("GIF87a", 6) || starts("GIF89a", 6)) return ImageFormat::kGif;
  if (starts("BM", 2)) return ImageFormat::kBmp;
  if (starts("RIFF", 4) && starts("WEBP", 4, 8)) return ImageFormat::kWebp;
  return ImageFormat::kUnknown;
}

RgbImage rgba_on_white(const uint8_t* rgba, int width, int height) {
  RgbImage img;
  img.width = width, img.height = height;
  const size_t n = static_cast<size_t>(width) * height;
  img.pixels.resize(n * 3);
  for (size_t i = 0; i < n; ++i) {
    const uint32_t a = rgba[4 * i + 3];
    for (int c = 0; c < 3; ++c)
      img.pixels[3 * i + c] = static_cast<uint8_t>((rgba[4 * i + c] * a + 255 * (255 - a) + 127) / 255);
  }
  return img;
}

Expected<RgbImage> decode_image(std::span<const uint8_t> bytes, const DecodeLimits& limits) {
  if (bytes.empty()) return image_error("empty input");
  if (static_cast<int64_t>(bytes.size()) > limits.max_bytes)
    return image_error("encoded size " + std::to_string(bytes.size()) + " exceeds the limit");
  const ImageFormat f = sniff_image_format(bytes);
  switch (f) {
    case ImageFormat::kUnknown:
      return make_error(ErrorCode::kUnsupported, "image: unrecognised format (expected JPEG, PNG, WebP, GIF or BMP)");
    case ImageFormat::kJpeg: return decode_jpeg(bytes, limits);
    case ImageFormat::kPng: return decode_png(bytes, limits);
    case ImageFormat::kWebp: return decode_webp(bytes, limits);
    case ImageFormat::kGif: return decode_gif(bytes, limits);
    case ImageFormat::kBmp: return decode_bmp(bytes, limits);
  }
  return make_error(ErrorCode::kInternal, "image: unhandled format");
}

}  // namespace gs::runtime::vision
