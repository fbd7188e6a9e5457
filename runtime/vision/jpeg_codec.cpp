// JPEG through libjpeg-turbo (baseline, progressive, grey, CMYK/YCCK). libjpeg reports fatal errors
// through a longjmp; the decode below keeps only trivially destructible locals in the frame that
// calls setjmp, so the jump skips no destructor.
#include <csetjmp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

#include <jpeglib.h>
#include <jerror.h>

#include "runtime/vision/codecs.h"
#include "runtime/vision/exif_orientation.h"

namespace gs::runtime::vision {
namespace {

struct ErrorMgr {
  jpeg_error_mgr mgr;
  jmp_buf jump;
  bool truncated;
  char message[JMSG_LENGTH_MAX];
};

void on_fatal(j_common_ptr c) {
  auto* e = reinterpret_cast<ErrorMgr*>(c->err);
  (*c->err->format_message)(c, e->message);
  std::longjmp(e->jump, 1);
}

// Warnings: corrupt-but-decodable data is accepted (as browsers do); a file that ends early is not.
void on_message(j_common_ptr c, int level) {
  auto* e = reinterpret_cast<ErrorMgr*>(c->err);
  if (level < 0 && c->err->msg_code == JWRN_JPEG_EOF) e->truncated = true;
}

struct Raw {
  unsigned char* pixels;  // malloc'ed, rows of width * comps
  int width, height, comps;
  bool cmyk;
};

// Returns 0 on success; on failure `msg` holds the reason. Only C objects live in this frame.
int decode_raw(const uint8_t* data, size_t size, int64_t max_pixels, Raw* out, ErrorMgr* err) {
  jpeg_decompress_struct cinfo;
  unsigned char* volatile pixels = nullptr;
  cinfo.err = jpeg_std_error(&err->mgr);
  err->mgr.error_exit = on_fatal;
  err->mgr.emit_message = on_message;
  err->truncated = false;
  if (setjmp(err->jump)) {
    jpeg_destroy_decompress(&cinfo);
    std::free(pixels);
    return 1;
  }
  jpeg_create_decompress(&cinfo);
  jpeg_mem_src(&cinfo, data, static_cast<unsigned long>(size));
  jpeg_read_header(&cinfo, TRUE);
  const int64_t w = cinfo.image_width, h = cinfo.image_height;
  if (w <= 0 || h <= 0 || w * h > max_pixels) {
    std::snprintf(err->message, sizeof err->message, "%lldx%lld", static_cast<long long>(w), static_cast<long long>(h));
    jpeg_destroy_decompress(&cinfo);
    return 2;
  }
  const bool cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
  cinfo.out_color_space = cmyk ? JCS_CMYK : JCS_RGB;
  jpeg_start_decompress(&cinfo);
  const int comps = cinfo.output_components;
  const size_t stride = static_cast<size_t>(cinfo.output_width) * comps;
  pixels = static_cast<unsigned char*>(std::malloc(stride * cinfo.output_height));
  if (!pixels) ERREXIT1(&cinfo, JERR_OUT_OF_MEMORY, 0);
  while (cinfo.output_scanline < cinfo.output_height) {
    JSAMPROW row = pixels + stride * cinfo.output_scanline;
    if (jpeg_read_scanlines(&cinfo, &row, 1) != 1) break;
  }
  if (err->truncated || cinfo.output_scanline < cinfo.output_height) {
    std::snprintf(err->message, sizeof err->message, "truncated JPEG data");
    jpeg_destroy_decompress(&cinfo);
    std::free(pixels);
    return 1;
  }
  // Every scanline is in; skipping jpeg_finish_decompress keeps junk after the image harmless.
  *out = Raw{pixels, static_cast<int>(cinfo.output_width), static_cast<int>(cinfo.output_height), comps, cmyk};
  jpeg_destroy_decompress(&cinfo);
  return 0;
}

}  // namespace

Expected<RgbImage> decode_jpeg(std::span<const uint8_t> bytes, const DecodeLimits& limits) {
  ErrorMgr err{};
  Raw raw{};
  const int rc = decode_raw(bytes.data(), bytes.size(), limits.max_pixels, &raw, &err);
  if (rc == 2) {
    return image_error(std::string(err.message) + " JPEG is zero-size or exceeds the limit of " +
                       std::to_string(limits.max_pixels) + " pixels");
  }
  if (rc != 0) return image_error(std::string("cannot decode JPEG: ") + err.message);
  std::unique_ptr<unsigned char, decltype(&std::free)> hold(raw.pixels, &std::free);
  RgbImage img;
  img.width = raw.width, img.height = raw.height;
  const size_t n = static_cast<size_t>(raw.width) * raw.height;
  img.pixels.resize(n * 3);
  for (size_t i = 0; i < n; ++i) {
    const unsigned char* s = raw.pixels + i * raw.comps;
    if (raw.cmyk) {  // Adobe JPEGs store inverted CMYK: R = C * K / 255
      for (int c = 0; c < 3; ++c) img.pixels[i * 3 + c] = static_cast<uint8_t>((s[c] * s[3] + 127) / 255);
    } else {
      for (int c = 0; c < 3; ++c) img.pixels[i * 3 + c] = s[raw.comps == 3 ? c : 0];
    }
  }
  return apply_exif_orientation(img, jpeg_exif_orientation(bytes));
}

}  // namespace gs::runtime::vision
