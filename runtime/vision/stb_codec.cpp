// BMP through stb_image, compiled privately into this file (static functions: no clash with other
// users). JPEG, PNG and GIF go to libjpeg-turbo / libpng / giflib instead: the Debian stb snapshot
// (2022-09) lacks the 2023 security fixes (the fuzz test reached an out-of-bounds write in its
// JPEG Huffman-table builder, stbi__build_huffman).
#include <memory>

#include "runtime/vision/codecs.h"

#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_STATIC
#define STBI_NO_STDIO
#define STBI_NO_LINEAR
#define STBI_NO_HDR
#define STBI_ONLY_BMP
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#include <stb/stb_image.h>
#pragma GCC diagnostic pop

namespace gs::runtime::vision {
namespace {
struct StbFree {
  void operator()(stbi_uc* p) const { stbi_image_free(p); }
};
}  // namespace

Expected<RgbImage> decode_bmp(std::span<const uint8_t> b, const DecodeLimits& limits) {
  if (b.size() > static_cast<size_t>(INT32_MAX)) return image_error("file too large");
  const int len = static_cast<int>(b.size());
  const std::string name = "BMP";
  int w = 0, h = 0, comp = 0;
  if (!stbi_info_from_memory(b.data(), len, &w, &h, &comp)) return image_error("corrupt " + name + " header");
  if (auto st = check_image_size(w, h, limits); !st) return st.error();
  std::unique_ptr<stbi_uc, StbFree> rgba(stbi_load_from_memory(b.data(), len, &w, &h, &comp, 4));
  if (!rgba) {
    const char* why = stbi_failure_reason();
    return image_error("cannot decode " + name + ": " + (why ? why : "corrupt data"));
  }
  if (auto st = check_image_size(w, h, limits); !st) return st.error();
  return rgba_on_white(rgba.get(), w, h);
}

}  // namespace gs::runtime::vision
