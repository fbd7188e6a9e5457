// Preprocessing parity with SiglipImageProcessorFast (antialiased bilinear resize, x/255).
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <iterator>

#include "runtime/vision/preprocess.h"
#include "tests/vision/vision_test_util.h"

namespace gs::test::vision {
namespace {

using namespace runtime::vision;

RgbImage golden_rgb(const std::string& rel) {
  auto a = runtime::read_npy(fixture_path(rel));
  EXPECT_TRUE(a.ok());
  RgbImage img;
  if (!a.ok()) return img;
  img.height = static_cast<int>(a->shape[0]);
  img.width = static_cast<int>(a->shape[1]);
  img.pixels = a->data;
  return img;
}

TEST(Preprocess, ReadsTinyProcessorConfig) {
  auto cfg = load_preprocess_config(fixture_path("gemma3n-tiny/model"));
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  EXPECT_EQ(cfg->height, 192);
  EXPECT_EQ(cfg->width, 192);
  EXPECT_TRUE(cfg->do_rescale);
  EXPECT_FALSE(cfg->do_normalize);
  EXPECT_NEAR(cfg->rescale_factor, 1.0 / 255.0, 1e-12);
  auto missing = load_preprocess_config(temp_dir("noprep"));
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(missing->height, 768);
  EXPECT_FALSE(parse_preprocess_config(R"({"resample": 3})").ok());
  EXPECT_FALSE(parse_preprocess_config(R"({"size": {"height": 0, "width": 5}})").ok());
  EXPECT_FALSE(parse_preprocess_config("[1, 2]").ok());
}

// 150x200 -> 192x192: up-sampling in height, antialiased down-sampling in width. The fast
// processor rounds to uint8 after resizing, so a port can differ by one level (1/255) where the
// float sum lands near .5; the slow (PIL) processor differs from the fast one in the same way.
TEST(Preprocess, MatchesFastProcessorWithinOneLevel) {
  const RgbImage img = golden_rgb("gemma3n-tiny/golden/image_input_rgb.npy");
  ASSERT_EQ(img.height, 150);
  ASSERT_EQ(img.width, 200);
  auto cfg = load_preprocess_config(fixture_path("gemma3n-tiny/model"));
  ASSERT_TRUE(cfg.ok());
  auto px = preprocess_image(img, *cfg);
  ASSERT_TRUE(px.ok()) << px.error().message;
  const Golden g = load_golden("gemma3n-tiny/golden/image_pixel_values.npy");
  ASSERT_EQ(g.shape, std::vector<int64_t>({1, 3, 192, 192}));
  ASSERT_EQ(px->size(), g.values.size());
  size_t off = 0;
  for (size_t i = 0; i < px->size(); ++i) off += (*px)[i] != g.values[i];
  const double d = max_abs_diff(*px, g.values);
  std::printf("pixel values: max |diff| %.3g, %zu of %zu differ\n", d, off, px->size());
  EXPECT_LE(d, 1.0 / 255 + 1e-6);
  EXPECT_LT(off, px->size() / 20);  // the filter itself must be right, not just within a level
}

// The fixture's PNG copy of the input decodes to exactly the golden array (lossless chain).
TEST(Preprocess, DecodedFixturePngEqualsGoldenArray) {
  for (const std::string dir : {"gemma3n-tiny/golden", "recipes/vision-300m/golden"}) {
    std::ifstream f(fixture_path(dir + "/image_input_rgb.png"), std::ios::binary);
    const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(f)), {});
    auto img = decode_image(bytes);
    ASSERT_TRUE(img.ok()) << img.error().message;
    const RgbImage want = golden_rgb(dir + "/image_input_rgb.npy");
    EXPECT_EQ(img->width, want.width);
    EXPECT_EQ(img->height, want.height);
    EXPECT_EQ(img->pixels, want.pixels) << dir;
  }
}

TEST(Preprocess, IdentitySizeIsExactRescale) {
  const RgbImage img = golden_rgb("recipes/vision-300m/golden/image_input_rgb.npy");
  ASSERT_EQ(img.width, 768);
  auto px = preprocess_image(img, PreprocessConfig{});
  ASSERT_TRUE(px.ok());
  const Golden g = load_golden("recipes/vision-300m/golden/image_pixel_values.npy");
  EXPECT_EQ(*px, g.values);  // the reference checks pixel_values == float32(uint8) * float32(1/255)
}

TEST(Preprocess, ResizeKeepsConstantsAndRejectsBadImages) {
  RgbImage flat{31, 17, std::vector<uint8_t>(31 * 17 * 3, 77)};
  for (auto [h, w] : {std::pair{5, 9}, std::pair{64, 40}, std::pair{17, 31}}) {
    const RgbImage r = resize_bilinear_antialias(flat, h, w);
    ASSERT_EQ(r.pixels.size(), static_cast<size_t>(h) * w * 3);
    for (uint8_t v : r.pixels) ASSERT_EQ(v, 77);
  }
  EXPECT_FALSE(preprocess_image(RgbImage{}, PreprocessConfig{}).ok());
  EXPECT_FALSE(preprocess_image(RgbImage{4, 4, std::vector<uint8_t>(5)}, PreprocessConfig{}).ok());
  PreprocessConfig norm;
  norm.height = norm.width = 31;
  norm.do_normalize = true;
  RgbImage sq{31, 31, std::vector<uint8_t>(31 * 31 * 3, 255)};
  auto n = preprocess_image(sq, norm);
  ASSERT_TRUE(n.ok());
  EXPECT_NEAR((*n)[0], 1.0f, 1e-6);  // (1 - 0.5) / 0.5
}

}  // namespace
}  // namespace gs::test::vision
