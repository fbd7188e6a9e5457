// PNG through libpng's classic API: any bit depth, grey, palette, tRNS, interlaced. 16-bit samples
// keep their high byte (png_set_strip_16, what PIL does); no gamma conversion. libpng reports fatal
// errors through a longjmp, so the frame that calls setjmp holds only trivially destructible locals.
#include <png.h>

#include <csetjmp>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "runtime/vision/codecs.h"

namespace gs::runtime::vision {
namespace {

struct Reader {
  const uint8_t* data;
  size_t size, pos;
  char message[160];
};

void read_fn(png_structp png, png_bytep out, png_size_t n) {
  auto* r = static_cast<Reader*>(png_get_io_ptr(png));
  if (n > r->size - r->pos) png_error(png, "truncated PNG data");
  std::memcpy(out, r->data + r->pos, n);
  r->pos += n;
}

void error_fn(png_structp png, png_const_charp msg) {
  auto* r = static_cast<Reader*>(png_get_error_ptr(png));
  std::strncpy(r->message, msg, sizeof r->message - 1);
  png_longjmp(png, 1);
}
void warning_fn(png_structp, png_const_charp) {}

// 0: ok (*out = malloc'ed RGBA), 1: decode error, 2: size refused.
int decode_raw(Reader* r, int64_t max_pixels, unsigned char** out, uint32_t* width, uint32_t* height) {
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, r, error_fn, warning_fn);
  if (!png) return 1;
  png_infop info = png_create_info_struct(png);
  unsigned char* volatile pixels = nullptr;
  png_bytep* volatile rows = nullptr;
  if (!info || setjmp(png_jmpbuf(png))) {
    png_destroy_read_struct(&png, info ? &info : nullptr, nullptr);
    std::free(pixels);
    std::free(rows);
    return 1;
  }
  png_set_read_fn(png, r, read_fn);
  png_read_info(png, info);
  const uint32_t w = png_get_image_width(png, info), h = png_get_image_height(png, info);
  *width = w, *height = h;
  if (w == 0 || h == 0 || static_cast<int64_t>(w) * h > max_pixels) {
    png_destroy_read_struct(&png, &info, nullptr);
    return 2;
  }
  png_set_strip_16(png);
  png_set_packing(png);
  png_set_palette_to_rgb(png);
  png_set_expand_gray_1_2_4_to_8(png);
  if (png_get_valid(png, info, PNG_INFO_tRNS)) png_set_tRNS_to_alpha(png);
  png_set_gray_to_rgb(png);
  png_set_filler(png, 0xFF, PNG_FILLER_AFTER);  // RGB -> RGBA with opaque alpha
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  if (png_get_rowbytes(png, info) != static_cast<size_t>(w) * 4) png_error(png, "unexpected PNG row layout");
  pixels = static_cast<unsigned char*>(std::malloc(static_cast<size_t>(w) * h * 4));
  rows = static_cast<png_bytep*>(std::malloc(sizeof(png_bytep) * h));
  if (!pixels || !rows) png_error(png, "out of memory");
  for (uint32_t y = 0; y < h; ++y) rows[y] = pixels + static_cast<size_t>(y) * w * 4;
  png_read_image(png, rows);
  png_read_end(png, nullptr);
  png_destroy_read_struct(&png, &info, nullptr);
  std::free(rows);
  *out = pixels;
  return 0;
}

}  // namespace

Expected<RgbImage> decode_png(std::span<const uint8_t> bytes, const DecodeLimits& limits) {
  Reader r{bytes.data(), bytes.size(), 0, {}};
  unsigned char* rgba = nullptr;
  uint32_t w = 0, h = 0;
  const int rc = decode_raw(&r, limits.max_pixels, &rgba, &w, &h);
  if (rc == 2) {
    auto st = check_image_size(w, h, limits);
    return st.ok() ? image_error("PNG size refused") : st.error();
  }
  if (rc != 0) return image_error(std::string("cannot decode PNG: ") + (r.message[0] ? r.message : "corrupt data"));
  std::unique_ptr<unsigned char, decltype(&std::free)> hold(rgba, &std::free);
  return rgba_on_white(rgba, static_cast<int>(w), static_cast<int>(h));
}

}  // namespace gs::runtime::vision
