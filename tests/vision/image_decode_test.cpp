// Image decoding: every supported format from bytes generated at test time (plus one stored
// progressive JPEG), alpha on white, EXIF orientation, and errors (never crashes) for empty,
// truncated, mutated, zero-size and oversized inputs.
#include <gtest/gtest.h>
#include <webp/encode.h>

#include <fstream>
#include <iterator>
#include <random>

#include "runtime/vision/exif_orientation.h"
#include "runtime/vision/image_decode.h"
#include "tests/support/test_paths.h"
#include "tests/vision/image_writers.h"

#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STB_IMAGE_WRITE_STATIC
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#include <stb/stb_image_write.h>
#pragma GCC diagnostic pop

namespace gs::test::vision {
namespace {

using runtime::vision::decode_image;
using runtime::vision::DecodeLimits;
using runtime::vision::ImageFormat;
using runtime::vision::RgbImage;

struct Rgb { int r, g, b; };

// W x H RGB with quadrants red / green (top), blue / white (bottom).
Bytes quadrants(int w, int h) {
  Bytes px(static_cast<size_t>(w) * h * 3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const bool top = y < h / 2, left = x < w / 2;
      const Rgb c = top ? (left ? Rgb{255, 0, 0} : Rgb{0, 255, 0}) : (left ? Rgb{0, 0, 255} : Rgb{255, 255, 255});
      uint8_t* p = &px[(static_cast<size_t>(y) * w + x) * 3];
      p[0] = c.r, p[1] = c.g, p[2] = c.b;
    }
  return px;
}

Bytes gradient(int w, int h, int comps) {
  Bytes px(static_cast<size_t>(w) * h * comps);
  for (size_t i = 0; i < px.size(); ++i) px[i] = static_cast<uint8_t>((i * 37 + i / 7) & 0xFF);
  return px;
}

void to_vec(void* ctx, void* data, int size) {
  auto* v = static_cast<Bytes*>(ctx);
  v->insert(v->end(), static_cast<uint8_t*>(data), static_cast<uint8_t*>(data) + size);
}

Bytes stb_png(const Bytes& px, int w, int h, int comps) {
  Bytes out;
  stbi_write_png_to_func(to_vec, &out, w, h, comps, px.data(), w * comps);
  return out;
}
Bytes stb_bmp(const Bytes& px, int w, int h) {
  Bytes out;
  stbi_write_bmp_to_func(to_vec, &out, w, h, 3, px.data());
  return out;
}
Bytes stb_jpg(const Bytes& px, int w, int h) {
  Bytes out;
  stbi_write_jpg_to_func(to_vec, &out, w, h, 3, px.data(), 95);
  return out;
}

Bytes read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(f), {});
}

// Colour at the centre of the quadrant (qx, qy) of a decoded image.
Rgb quadrant_colour(const RgbImage& img, int qx, int qy) {
  const int x = img.width / 4 + qx * img.width / 2, y = img.height / 4 + qy * img.height / 2;
  const uint8_t* p = &img.pixels[(static_cast<size_t>(y) * img.width + x) * 3];
  return {p[0], p[1], p[2]};
}

void expect_near(const Rgb& got, const Rgb& want, int tol, const std::string& what) {
  EXPECT_NEAR(got.r, want.r, tol) << what;
  EXPECT_NEAR(got.g, want.g, tol) << what;
  EXPECT_NEAR(got.b, want.b, tol) << what;
}

TEST(ImageDecode, SniffsFormats) {
  EXPECT_EQ(runtime::vision::sniff_image_format(stb_png(gradient(4, 4, 3), 4, 4, 3)), ImageFormat::kPng);
  EXPECT_EQ(runtime::vision::sniff_image_format(stb_jpg(gradient(8, 8, 3), 8, 8)), ImageFormat::kJpeg);
  EXPECT_EQ(runtime::vision::sniff_image_format(stb_bmp(gradient(4, 4, 3), 4, 4)), ImageFormat::kBmp);
  const Bytes junk = {'h', 'e', 'l', 'l', 'o'};
  EXPECT_EQ(runtime::vision::sniff_image_format(junk), ImageFormat::kUnknown);
  auto r = decode_image(junk);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, runtime::ErrorCode::kUnsupported);
}

TEST(ImageDecode, PngRgbAndGreyAreExact) {
  const Bytes px = gradient(37, 23, 3);
  auto img = decode_image(stb_png(px, 37, 23, 3));
  ASSERT_TRUE(img.ok()) << img.error().message;
  EXPECT_EQ(img->width, 37);
  EXPECT_EQ(img->height, 23);
  EXPECT_EQ(img->pixels, px);
  const Bytes grey = gradient(9, 5, 1);
  auto g = decode_image(stb_png(grey, 9, 5, 1));
  ASSERT_TRUE(g.ok());
  for (size_t i = 0; i < grey.size(); ++i)
    for (int c = 0; c < 3; ++c) ASSERT_EQ(g->pixels[i * 3 + c], grey[i]);
}

TEST(ImageDecode, AlphaIsCompositedOnWhite) {
  Bytes px = {10, 20, 30, 255, 10, 20, 30, 0, 200, 100, 0, 128, 0, 0, 0, 51};
  auto img = decode_image(stb_png(px, 4, 1, 4));
  ASSERT_TRUE(img.ok());
  const Bytes want = {10, 20, 30, 255, 255, 255, 227, 177, 127, 204, 204, 204};
  EXPECT_EQ(img->pixels, want);
}

TEST(ImageDecode, Png16BitAndPalette) {
  // 16-bit RGB: the high byte is kept.
  std::vector<Bytes> rows16 = {{0x12, 0x34, 0xAB, 0xCD, 0xFF, 0xFF, 0x00, 0x01, 0x80, 0x00, 0x7F, 0xFF}};
  auto a = decode_image(make_png(2, 1, 16, 2, rows16));
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_EQ(a->pixels, Bytes({0x12, 0xAB, 0xFF, 0x00, 0x80, 0x7F}));
  // Palette with a transparent entry (tRNS) -> white.
  const Bytes plte = {255, 0, 0, 0, 255, 0, 0, 0, 255};
  auto p = decode_image(make_png(3, 2, 8, 3, {{0, 1, 2}, {2, 1, 0}}, plte, {255, 0}));
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->pixels, Bytes({255, 0, 0, 255, 255, 255, 0, 0, 255, 0, 0, 255, 255, 255, 255, 255, 0, 0}));
}

TEST(ImageDecode, BmpIsExact) {
  const Bytes px = gradient(13, 7, 3);
  auto img = decode_image(stb_bmp(px, 13, 7));
  ASSERT_TRUE(img.ok()) << img.error().message;
  EXPECT_EQ(img->pixels, px);
}

TEST(ImageDecode, GifGivesFirstFrame) {
  Bytes pal(768, 0);
  pal[3] = 255, pal[7] = 255, pal[11] = 255;  // 1 red, 2 green, 3 blue
  Bytes f1(20 * 15), f2(20 * 15, 3);
  for (size_t i = 0; i < f1.size(); ++i) f1[i] = static_cast<uint8_t>(1 + i % 2);
  auto img = decode_image(make_gif(20, 15, pal, {f1, f2}));
  ASSERT_TRUE(img.ok()) << img.error().message;
  ASSERT_EQ(img->pixels.size(), 20u * 15 * 3);
  for (size_t i = 0; i < f1.size(); ++i) {
    const Bytes want = f1[i] == 1 ? Bytes{255, 0, 0} : Bytes{0, 255, 0};
    ASSERT_EQ(Bytes(img->pixels.begin() + 3 * i, img->pixels.begin() + 3 * i + 3), want) << i;
  }
}

TEST(ImageDecode, WebpLosslessExactAndLossyClose) {
  const Bytes px = gradient(21, 11, 3);
  uint8_t* out = nullptr;
  size_t n = WebPEncodeLosslessRGB(px.data(), 21, 11, 21 * 3, &out);
  ASSERT_GT(n, 0u);
  Bytes webp(out, out + n);
  WebPFree(out);
  auto img = decode_image(webp);
  ASSERT_TRUE(img.ok()) << img.error().message;
  EXPECT_EQ(img->pixels, px);
  const Bytes q = quadrants(32, 32);
  n = WebPEncodeRGB(q.data(), 32, 32, 32 * 3, 95, &out);
  ASSERT_GT(n, 0u);
  Bytes lossy(out, out + n);
  WebPFree(out);
  auto l = decode_image(lossy);
  ASSERT_TRUE(l.ok()) << l.error().message;
  expect_near(quadrant_colour(*l, 0, 0), {255, 0, 0}, 40, "webp lossy red");
  expect_near(quadrant_colour(*l, 1, 1), {255, 255, 255}, 40, "webp lossy white");
}

TEST(ImageDecode, ProgressiveJpeg) {
  auto img = decode_image(read_file(fixture_path("images/progressive_quadrants_32x16.jpg")));
  ASSERT_TRUE(img.ok()) << img.error().message;
  EXPECT_EQ(img->width, 32);
  EXPECT_EQ(img->height, 16);
  expect_near(quadrant_colour(*img, 0, 0), {255, 0, 0}, 24, "red");
  expect_near(quadrant_colour(*img, 1, 0), {0, 255, 0}, 24, "green");
  expect_near(quadrant_colour(*img, 0, 1), {0, 0, 255}, 24, "blue");
  expect_near(quadrant_colour(*img, 1, 1), {255, 255, 255}, 24, "white");
}

// Input quadrants: TL red, TR green, BL blue, BR white; expected top-left / top-right after the
// transform that makes each EXIF orientation display upright.
TEST(ImageDecode, JpegExifOrientation) {
  const Bytes jpg = stb_jpg(quadrants(64, 32), 64, 32);
  const Rgb R{255, 0, 0}, G{0, 255, 0}, B{0, 0, 255}, W{255, 255, 255};
  const Rgb want_tl[9] = {{}, R, G, W, B, R, B, W, G};
  const Rgb want_tr[9] = {{}, G, R, B, W, B, R, G, W};
  for (int o = 1; o <= 8; ++o) {
    const Bytes with = with_exif_orientation(jpg, o);
    EXPECT_EQ(runtime::vision::jpeg_exif_orientation(with), o);
    auto img = decode_image(with);
    ASSERT_TRUE(img.ok()) << img.error().message;
    EXPECT_EQ(img->width, o >= 5 ? 32 : 64) << o;
    EXPECT_EQ(img->height, o >= 5 ? 64 : 32) << o;
    expect_near(quadrant_colour(*img, 0, 0), want_tl[o], 30, "top-left, orientation " + std::to_string(o));
    expect_near(quadrant_colour(*img, 1, 0), want_tr[o], 30, "top-right, orientation " + std::to_string(o));
  }
  EXPECT_EQ(runtime::vision::jpeg_exif_orientation(jpg), 1);
}

TEST(ImageDecode, ZeroSizeAndOversizedAreErrors) {
  EXPECT_FALSE(decode_image(Bytes{}).ok());
  auto zero = decode_image(make_png(0, 4, 8, 2, {}));
  EXPECT_FALSE(zero.ok());
  // 100000 x 100000 declared in the header: refused before any pixel memory is allocated.
  auto big = decode_image(make_png(100000, 100000, 8, 0, {{0}}));
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.error().code, runtime::ErrorCode::kInvalidArgument);
  DecodeLimits small;
  small.max_pixels = 100;
  auto lim = decode_image(stb_png(gradient(11, 10, 3), 11, 10, 3), small);
  ASSERT_FALSE(lim.ok());
  EXPECT_NE(lim.error().message.find("exceeds"), std::string::npos);
  small.max_pixels = 1 << 20;
  small.max_bytes = 10;
  EXPECT_FALSE(decode_image(stb_png(gradient(11, 10, 3), 11, 10, 3), small).ok());
}

// Every prefix and thousands of random mutations of each format: an error or a well-formed image,
// never a crash (run under GS_SANITIZE for memory errors).
TEST(ImageDecode, TruncatedAndMutatedInputsNeverCrash) {
  std::vector<Bytes> seeds = {stb_png(gradient(16, 9, 3), 16, 9, 3), stb_bmp(gradient(7, 5, 3), 7, 5),
                              stb_jpg(quadrants(24, 16), 24, 16),
                              read_file(fixture_path("images/progressive_quadrants_32x16.jpg")),
                              with_exif_orientation(stb_jpg(quadrants(16, 8), 16, 8), 6)};
  Bytes pal(768, 7);
  seeds.push_back(make_gif(9, 7, pal, {Bytes(63, 1), Bytes(63, 2)}));
  uint8_t* out = nullptr;
  const Bytes g = gradient(9, 9, 3);
  const size_t n = WebPEncodeLosslessRGB(g.data(), 9, 9, 27, &out);
  seeds.emplace_back(out, out + n);
  WebPFree(out);
  std::mt19937 rng(1234);
  int decoded = 0, failed = 0;
  auto check = [&](const Bytes& b) {
    auto r = decode_image(b);
    if (r.ok()) {
      ++decoded;
      ASSERT_GT(r->width, 0);
      ASSERT_EQ(r->pixels.size(), static_cast<size_t>(r->width) * r->height * 3);
    } else {
      ++failed;
      ASSERT_FALSE(r.error().message.empty());
    }
  };
  for (const Bytes& s : seeds) {
    for (size_t len = 0; len < s.size(); ++len) check(Bytes(s.begin(), s.begin() + len));
    for (int it = 0; it < 1500; ++it) {
      Bytes m = s;
      const int flips = 1 + static_cast<int>(rng() % 8);
      for (int f = 0; f < flips; ++f) m[rng() % m.size()] = static_cast<uint8_t>(rng());
      check(m);
    }
  }
  EXPECT_GT(failed, 100);
  EXPECT_GT(decoded, 100);
}

}  // namespace
}  // namespace gs::test::vision
