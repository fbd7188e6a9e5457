// WebP (lossy, lossless, alpha; still images — an animation's first frame needs the demux API and
// is refused by WebPDecode) through libwebp.
#include <webp/decode.h>

#include <memory>

#include "runtime/vision/codecs.h"

namespace gs::runtime::vision {
namespace {
struct WebpFree {
  void operator()(uint8_t* p) const { WebPFree(p); }
};
}  // namespace

Expected<RgbImage> decode_webp(std::span<const uint8_t> b, const DecodeLimits& limits) {
  int w = 0, h = 0;
  if (!WebPGetInfo(b.data(), b.size(), &w, &h)) return image_error("corrupt or unsupported WebP");
  if (auto st = check_image_size(w, h, limits); !st) return st.error();
  std::unique_ptr<uint8_t, WebpFree> rgba(WebPDecodeRGBA(b.data(), b.size(), &w, &h));
  if (!rgba) return image_error("corrupt or truncated WebP");
  return rgba_on_white(rgba.get(), w, h);
}

}  // namespace gs::runtime::vision
