// Chat completions with images over loopback: the engine double decodes with the real decoders and
// the 768x768 preprocessing, so each format is checked down to the pixels the vision tower would
// see (order of several images, every container, alpha on white, EXIF rotation, GIF first frame),
// and every broken input gets a 400 (413 above the body limit) in the OpenAI error shape.
#include <gtest/gtest.h>
#include <webp/encode.h>

#include <fstream>
#include <iterator>
#include <random>

#include "tests/server/http_client.h"
#include "tests/server/image_test_support.h"
#include "tests/support/test_paths.h"

#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STB_IMAGE_WRITE_STATIC
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#include <stb/stb_image_write.h>
#pragma GCC diagnostic pop

namespace gs::test {
namespace {

using nlohmann::json;
using vision::Bytes;

const std::string kParam0 = "messages[0].content[1].image_url.url";
constexpr float kLossy = 0.1f;  // JPEG / lossy at the centre of a flat 32-px quadrant: within ~25/255
constexpr float kExact = 1e-6f;  // lossless: the same 8-bit value, up to float rounding of v/255

void to_vec(void* ctx, void* data, int size) {
  auto* v = static_cast<Bytes*>(ctx);
  v->insert(v->end(), static_cast<uint8_t*>(data), static_cast<uint8_t*>(data) + size);
}
Bytes stb_jpg(const Bytes& px, int w, int h) {
  Bytes out;
  stbi_write_jpg_to_func(to_vec, &out, w, h, 3, px.data(), 95);
  return out;
}
Bytes stb_bmp(const Bytes& px, int w, int h) {
  Bytes out;
  stbi_write_bmp_to_func(to_vec, &out, w, h, 3, px.data());
  return out;
}
Bytes webp_lossless(const Bytes& px, int w, int h) {
  uint8_t* out = nullptr;
  const size_t n = WebPEncodeLosslessRGB(px.data(), w, h, w * 3, &out);
  Bytes b(out, out + n);
  WebPFree(out);
  return b;
}
Bytes read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(f), {});
}

// Rows of a w x h image whose quadrant q (0 TL, 1 TR, 2 BL, 3 BR) pixels are `sample[q]`.
std::vector<Bytes> quadrant_rows(int w, int h, const std::vector<Bytes>& sample) {
  std::vector<Bytes> rows;
  for (int y = 0; y < h; ++y) {
    Bytes r;
    for (int x = 0; x < w; ++x) {
      const Bytes& s = sample[(y < h / 2 ? 0 : 2) + (x < w / 2 ? 0 : 1)];
      r.insert(r.end(), s.begin(), s.end());
    }
    rows.push_back(std::move(r));
  }
  return rows;
}

Bytes solid_png(int w, int h, uint8_t r, uint8_t g, uint8_t b) {
  return vision::make_png(w, h, 8, 2, quadrant_rows(w, h, {{r, g, b}, {r, g, b}, {r, g, b}, {r, g, b}}));
}

struct Quadrants {
  Rgbf tl, tr, bl, br;
};
constexpr Rgbf R{1, 0, 0}, G{0, 1, 0}, B{0, 0, 1}, W{1, 1, 1};

void expect_quadrants(const runtime::MediaInput& m, const Quadrants& q, float tol, const std::string& what) {
  ASSERT_EQ(m.height, 768) << what;
  ASSERT_EQ(m.width, 768) << what;
  ASSERT_EQ(m.data.size(), 3u * 768 * 768) << what;
  expect_rgb(quadrant_centre(m, 0, 0), q.tl, tol, what + " top-left");
  expect_rgb(quadrant_centre(m, 1, 0), q.tr, tol, what + " top-right");
  expect_rgb(quadrant_centre(m, 0, 1), q.bl, tol, what + " bottom-left");
  expect_rgb(quadrant_centre(m, 1, 1), q.br, tol, what + " bottom-right");
}

void expect_error(const HttpResult& r, int status, const std::optional<std::string>& param, const std::string& what) {
  ASSERT_EQ(r.status, status) << what << ": " << r.body;
  const auto e = json::parse(r.body)["error"];
  EXPECT_FALSE(e["message"].get<std::string>().empty()) << what;
  EXPECT_EQ(e["type"], "invalid_request_error") << what;
  if (param) {
    EXPECT_EQ(e["param"], *param) << what;
  }
  const auto retry = r.headers.find("x-should-retry");
  EXPECT_TRUE(retry != r.headers.end() && retry->second == "false") << what;
}

HttpResult chat(int port, const std::vector<std::vector<std::string>>& urls, bool stream = false) {
  return http_request(port, "POST", "/v1/chat/completions", chat_body(urls, stream));
}

TEST(ChatImages, SeveralImagesKeepTheirOrderAcrossMessages) {
  ImageServer s;
  auto one = chat(s.port, {{data_url(solid_png(10, 20, 255, 0, 0))}});
  ASSERT_EQ(one.status, 200) << one.body;
  const auto u1 = json::parse(one.body)["usage"];
  EXPECT_EQ(u1["prompt_tokens_details"]["image_tokens"], 256);

  auto three = chat(s.port, {{data_url(solid_png(10, 20, 255, 0, 0)), data_url(solid_png(33, 7, 0, 255, 0))},
                             {data_url(solid_png(100, 100, 0, 0, 255))}});
  ASSERT_EQ(three.status, 200) << three.body;
  EXPECT_EQ(json::parse(three.body)["usage"]["prompt_tokens_details"]["image_tokens"], 3 * 256);
  auto seen = s.seen();
  ASSERT_EQ(seen.size(), 2u);
  ASSERT_EQ(seen[1].media.size(), 3u);
  const Rgbf want[3] = {R, G, B};
  for (int i = 0; i < 3; ++i)
    expect_quadrants(seen[1].media[i], {want[i], want[i], want[i], want[i]}, 0, "image " + std::to_string(i));

  // Streaming: the usage chunk counts the image placeholders too.
  nlohmann::json body = json::parse(chat_body({{data_url(solid_png(8, 8, 0, 0, 255))}}, true));
  body["stream_options"] = {{"include_usage", true}};
  auto st = http_request(s.port, "POST", "/v1/chat/completions", body.dump());
  ASSERT_EQ(st.status, 200);
  const auto payloads = sse_payloads(st.body);
  ASSERT_GE(payloads.size(), 2u);
  EXPECT_EQ(payloads.back(), "[DONE]");
  EXPECT_EQ(json::parse(payloads[payloads.size() - 2])["usage"]["prompt_tokens_details"]["image_tokens"], 256);
}

struct FormatCase {
  std::string name, mime;
  Bytes bytes;
  Quadrants want;
  float tol;
};

std::vector<FormatCase> format_cases() {
  const Bytes q64 = quadrant_pixels(64, 64);
  std::vector<FormatCase> c;
  c.push_back({"jpeg baseline", "image/jpeg", stb_jpg(q64, 64, 64), {R, G, B, W}, kLossy});
  c.push_back({"jpeg progressive", "image/jpeg", read_file(fixture_path("images/progressive_quadrants_32x16.jpg")),
               {R, G, B, W}, kLossy});
  // EXIF orientation 6 (rotate 90° clockwise to display): TL←BL, TR←TL, BR←TR, BL←BR.
  c.push_back({"jpeg exif 6", "image/jpeg", vision::with_exif_orientation(stb_jpg(quadrant_pixels(64, 32), 64, 32), 6),
               {B, R, W, G}, kLossy});
  c.push_back({"png rgb8", "image/png", quadrant_png(64, 64), {R, G, B, W}, kExact});
  // 16-bit: the high byte is kept; low bytes are noise that must not leak in.
  c.push_back({"png rgb16", "image/png",
               vision::make_png(40, 40, 16, 2,
                                quadrant_rows(40, 40, {{255, 7, 0, 9, 0, 200}, {0, 99, 255, 1, 0, 0},
                                                       {0, 0, 0, 255, 255, 3}, {255, 255, 255, 255, 255, 255}})),
               {R, G, B, W}, kExact});
  c.push_back({"png palette", "image/png",
               vision::make_png(40, 40, 8, 3, quadrant_rows(40, 40, {{0}, {1}, {2}, {3}}),
                                {255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255}),
               {R, G, B, W}, kExact});
  // RGBA: TR fully transparent green → white; BL half-transparent blue → (127, 127, 255) on white.
  const float h = 127.f / 255.f;
  c.push_back({"png rgba", "image/png",
               vision::make_png(40, 40, 8, 6,
                                quadrant_rows(40, 40, {{255, 0, 0, 255}, {0, 255, 0, 0}, {0, 0, 255, 128}, {9, 9, 9, 0}})),
               {R, W, {h, h, 1}, W}, kExact});
  const float g1 = 85.f / 255.f, g2 = 170.f / 255.f;
  c.push_back({"png grey", "image/png", vision::make_png(40, 40, 8, 0, quadrant_rows(40, 40, {{0}, {85}, {170}, {255}})),
               {{0, 0, 0}, {g1, g1, g1}, {g2, g2, g2}, W}, kExact});
  c.push_back({"webp lossless", "image/webp", webp_lossless(q64, 64, 64), {R, G, B, W}, kExact});
  Bytes palette(768, 0);
  const uint8_t entries[4][3] = {{255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {255, 255, 255}};
  for (int i = 0; i < 4; ++i) std::copy(entries[i], entries[i] + 3, palette.begin() + 3 * i);
  Bytes first, second(40 * 40, 2);
  for (const Bytes& r : quadrant_rows(40, 40, {{0}, {1}, {2}, {3}})) first.insert(first.end(), r.begin(), r.end());
  c.push_back({"gif first frame", "image/gif", vision::make_gif(40, 40, palette, {first, second}), {R, G, B, W}, kExact});
  c.push_back({"bmp", "image/bmp", stb_bmp(q64, 64, 64), {R, G, B, W}, kExact});
  c.push_back({"png labelled jpeg", "image/jpeg", quadrant_png(64, 64), {R, G, B, W}, kExact});  // the bytes decide
  return c;
}

TEST(ChatImages, EveryFormatReachesTheEngineAsPixels) {
  ImageServer s;
  const auto cases = format_cases();
  for (const auto& fc : cases) {
    ASSERT_FALSE(fc.bytes.empty()) << fc.name;
    auto r = chat(s.port, {{data_url(fc.bytes, fc.mime)}});
    ASSERT_EQ(r.status, 200) << fc.name << ": " << r.body;
  }
  const auto seen = s.seen();
  ASSERT_EQ(seen.size(), cases.size());
  for (size_t i = 0; i < cases.size(); ++i) {
    ASSERT_EQ(seen[i].media.size(), 1u);
    expect_quadrants(seen[i].media[0], cases[i].want, cases[i].tol, cases[i].name);
  }
}

TEST(ChatImages, BrokenImagesAre400WithTheirLocation) {
  ImageServer s;
  const Bytes png = quadrant_png(64, 64);
  Bytes corrupt = png;
  for (size_t i = 33; i < corrupt.size(); ++i) corrupt[i] = static_cast<uint8_t>(i * 131 + 7);
  const Bytes truncated(png.begin(), png.begin() + static_cast<long>(png.size() / 2));
  const Bytes jpeg = stb_jpg(quadrant_pixels(64, 64), 64, 64);
  const Bytes jpeg_truncated(jpeg.begin(), jpeg.begin() + 200);
  const Bytes zero_width = vision::make_png(0, 4, 8, 2, {});
  const Bytes huge_declared = vision::make_png(10000, 5000, 8, 2, {});  // 50 Mpx > the 40 Mpx decoder limit
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"corrupt png", data_url(corrupt)},
      {"truncated png", data_url(truncated)},
      {"truncated jpeg", data_url(jpeg_truncated, "image/jpeg")},
      {"zero bytes", "data:image/png;base64,"},
      {"zero-size png", data_url(zero_width)},
      {"over the pixel limit", data_url(huge_declared)},
      {"bad base64", "data:image/png;base64,iVBOR@@w0KGgo"},
      {"not base64 data url", "data:image/png,rawbytes"},
      {"not an image", "data:text/plain;base64,aGVsbG8gd29ybGQsIG5vdCBhbiBpbWFnZQ=="},
      {"relative path", "cat.png"},
  };
  for (const auto& [name, url] : cases) expect_error(chat(s.port, {{url}}), 400, kParam0, name);
  auto pixels = chat(s.port, {{data_url(huge_declared)}});
  EXPECT_NE(json::parse(pixels.body)["error"]["message"].get<std::string>().find("pixels"), std::string::npos);
  // The bad one is the third part of the second message; nothing reached the engine.
  expect_error(chat(s.port, {{data_url(png)}, {data_url(png), data_url(truncated)}}), 400,
               "messages[1].content[2].image_url.url", "second message");
  EXPECT_EQ(s.engine->submitted, 0);
  EXPECT_EQ(http_request(s.port, "GET", "/health").status, 200);
}

TEST(ChatImages, BodyLimitIs413AndImagesOffIs400) {
  config::ServerConfig cfg;
  cfg.limits.max_body_bytes = 64 << 10;
  ImageServer s(cfg);
  const Bytes big = quadrant_png(160, 160);  // ~77 KB raw, ~103 KB as base64
  auto r = chat(s.port, {{data_url(big)}});
  expect_error(r, 413, std::nullopt, "over the body limit");
  EXPECT_EQ(json::parse(r.body)["error"]["code"], "request_too_large");
  EXPECT_EQ(chat(s.port, {{data_url(quadrant_png(32, 32))}}).status, 200);

  s.engine->image_tokens = 0;  // a model or build without vision
  auto off = chat(s.port, {{data_url(quadrant_png(32, 32))}});
  expect_error(off, 400, kParam0, "images unavailable");
  EXPECT_EQ(json::parse(off.body)["error"]["code"], "unsupported_content");
}

// Mutated images through the whole endpoint: always 200 or 400, and the server keeps answering.
TEST(ChatImages, MutatedImagesNeverBreakTheServer) {
  ImageServer s;
  const std::vector<Bytes> seeds = {quadrant_png(24, 24), stb_jpg(quadrant_pixels(24, 24), 24, 24),
                                    webp_lossless(quadrant_pixels(24, 24), 24, 24), stb_bmp(quadrant_pixels(24, 24), 24, 24)};
  std::mt19937 rng(11);
  int ok = 0, bad = 0;
  for (int i = 0; i < 60; ++i) {
    Bytes b = seeds[i % seeds.size()];
    for (int k = 0; k < 1 + static_cast<int>(rng() % 8); ++k) b[rng() % b.size()] = static_cast<uint8_t>(rng());
    if (rng() % 3 == 0) b.resize(rng() % b.size());
    const int status = chat(s.port, {{data_url(b)}}).status;
    ASSERT_TRUE(status == 200 || status == 400) << i << ": " << status;
    (status == 200 ? ok : bad)++;
  }
  EXPECT_GT(bad, 0);
  EXPECT_EQ(http_request(s.port, "GET", "/health").status, 200);
}

}  // namespace
}  // namespace gs::test
