// Parity of the MobileNet-V5 encoder and embed_vision with the Hugging Face reference on the tiny
// fixture (random float32 weights, encoder built from config.json's block_args).
#include <gtest/gtest.h>

#include <cstdio>

#include "runtime/models/gemma3n/vision/conv_kernels.h"
#include "runtime/models/gemma3n/vision/norm_act.h"
#include "runtime/models/gemma3n/vision/vision_model.h"
#include "tests/vision/vision_test_util.h"

namespace gs::test::vision {
namespace {

using runtime::ComputeContext;
using runtime::WeightStore;
namespace g3 = runtime::gemma3n;

class TinyVision : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto cfg = g3::load_config(fixture_path("gemma3n-tiny/model"));
    ASSERT_TRUE(cfg.ok()) << cfg.error().message;
    cfg_ = new g3::Gemma3nConfig(*cfg);
    auto store = WeightStore::open(fixture_path("gemma3n-tiny/model"));
    ASSERT_TRUE(store.ok()) << store.error().message;
    store_ = new WeightStore(std::move(*store));
    ctx_ = new ComputeContext(2);
    auto m = g3::VisionModel::load(*store_, *cfg_, *ctx_);
    ASSERT_TRUE(m.ok()) << m.error().message;
    model_ = m->release();
    const Golden px = load_golden("gemma3n-tiny/golden/image_pixel_values.npy");
    auto enc = model_->encode(px.values.data(), 192, 192, /*keep_stages=*/true);
    ASSERT_TRUE(enc.ok()) << enc.error().message;
    enc_ = new g3::VisionEncoding(std::move(*enc));
  }
  static void TearDownTestSuite() {
    delete enc_;
    delete model_;
    delete ctx_;
    delete store_;
    delete cfg_;
  }
  static g3::Gemma3nConfig* cfg_;
  static WeightStore* store_;
  static ComputeContext* ctx_;
  static g3::VisionModel* model_;
  static g3::VisionEncoding* enc_;
};
g3::Gemma3nConfig* TinyVision::cfg_ = nullptr;
WeightStore* TinyVision::store_ = nullptr;
ComputeContext* TinyVision::ctx_ = nullptr;
g3::VisionModel* TinyVision::model_ = nullptr;
g3::VisionEncoding* TinyVision::enc_ = nullptr;

TEST_F(TinyVision, BuildsFromBlockArgs) {
  const auto& a = model_->arch();
  ASSERT_EQ(a.stages.size(), 4u);
  EXPECT_EQ(a.stages[2].size(), 4u);
  EXPECT_EQ(a.stem_size, 16);
  EXPECT_EQ(a.msfa_output_resolution, 4);
  // Every vision tensor of the checkpoint is used exactly once.
  int64_t stored = 0;
  for (const auto& [name, t] : store_->tensors())
    if (name.rfind("model.vision_tower.", 0) == 0 || name.rfind("model.embed_vision.", 0) == 0) stored += t.numel();
  EXPECT_EQ(model_->parameter_count(), stored);
}

// Intermediates have RMS ~1-5 and pass through up to 4 blocks of float32 math; the reference's own
// float32-vs-float64 noise on the tower is ~1e-6, so 1e-4 x max(1, RMS) leaves two orders of margin
// while any wrong padding, norm or block order gives errors of order RMS.
TEST_F(TinyVision, StageOutputsMatchReference) {
  ASSERT_EQ(enc_->stages.size(), 5u);
  for (int i = 0; i < 5; ++i) {
    const Golden g = load_golden("gemma3n-tiny/golden/vision_intermediate_" + std::to_string(i) + ".npy");
    ASSERT_EQ(g.shape.size(), 4u);
    const auto& s = enc_->stage_shapes[i];
    EXPECT_EQ(std::vector<int64_t>({1, s[0], s[1], s[2]}), g.shape) << "stage " << i;
    const double d = max_abs_diff(enc_->stages[i], g.values);
    std::printf("stage %d: max |diff| %.3g (rms %.3g)\n", i, d, rms(g.values));
    EXPECT_LT(d, 1e-4 * std::max(1.0, rms(g.values))) << "stage " << i << " rms " << rms(g.values);
  }
}

TEST_F(TinyVision, TowerOutputMatchesReference) {
  const Golden g = load_golden("gemma3n-tiny/golden/vision_tower_output.npy");
  EXPECT_EQ(g.shape, std::vector<int64_t>({1, 2048, 4, 4}));
  EXPECT_EQ(enc_->grid, 4);
  EXPECT_EQ(enc_->hidden, 2048);
  const double d = max_abs_diff(enc_->tower, g.values);
  std::printf("tower: max |diff| %.3g\n", d);
  EXPECT_LT(d, 1e-4);
}

TEST_F(TinyVision, SoftTokensMatchReference) {
  const Golden g = load_golden("gemma3n-tiny/golden/vision_soft_tokens.npy");
  EXPECT_EQ(g.shape, std::vector<int64_t>({1, 16, 128}));
  EXPECT_EQ(enc_->n_tokens, 16);
  EXPECT_EQ(enc_->text_hidden, 128);
  const double d = max_abs_diff(enc_->soft_tokens, g.values);
  std::printf("soft tokens: max |diff| %.3g\n", d);
  EXPECT_LT(d, 1e-4);
}

TEST_F(TinyVision, HardTokensAreNormalisedProjections) {
  // Ids 256..263 are the tiny vision range; each output row has unit RMS (weight-free post norm).
  std::vector<int64_t> ids = {256, 263};
  std::vector<float> out(2 * 128);
  ASSERT_TRUE(model_->embed_hard_tokens(ids, out.data()).ok());
  for (int r = 0; r < 2; ++r) {
    std::vector<float> row(out.begin() + r * 128, out.begin() + (r + 1) * 128);
    EXPECT_NEAR(rms(row), 1.0, 1e-4);
  }
  EXPECT_GT(max_abs_diff(std::vector<float>(out.begin(), out.begin() + 128),
                         std::vector<float>(out.begin() + 128, out.end())), 0.1);
  std::vector<int64_t> bad = {255};
  EXPECT_FALSE(model_->embed_hard_tokens(bad, out.data()).ok());
  std::vector<int64_t> bad2 = {264};
  EXPECT_FALSE(model_->embed_hard_tokens(bad2, out.data()).ok());
}

}  // namespace
}  // namespace gs::test::vision

namespace gs::test::vision {
namespace {

TEST(VisionKernels, VectorisedGeluMatchesTanhForm) {
  std::vector<float> xs;
  for (float v = -40.0f; v <= 40.0f; v += 0.0137f) xs.push_back(v);
  xs.insert(xs.end(), {0.0f, -0.0f, 1e-30f, -1e-30f, 1e4f, -1e4f});
  std::vector<float> ys = xs;
  runtime::gemma3n::vision::gelu_tanh_inplace(ys.data(), static_cast<int64_t>(ys.size()));
  for (size_t i = 0; i < xs.size(); ++i) {
    const double want = runtime::gemma3n::vision::gelu_tanh(xs[i]);
    ASSERT_NEAR(ys[i], want, 2e-6 * std::max(1.0, std::abs(want))) << xs[i];
  }
}

TEST(VisionKernels, VectorisedExpIsAccurate) {
  std::vector<float> xs;
  for (float v = -86.0f; v <= 86.0f; v += 0.0173f) xs.push_back(v);
  std::vector<float> ys = xs;
  runtime::gemma3n::vision::exp_inplace(ys.data(), static_cast<int64_t>(ys.size()));
  for (size_t i = 0; i < xs.size(); ++i) ASSERT_NEAR(ys[i], std::exp(static_cast<double>(xs[i])), 4e-7 * std::exp(xs[i])) << xs[i];
}

// timm's TF "same" padding: p = max((ceil(n/s) - 1) s + k - n, 0), p/2 before.
TEST(VisionKernels, SamePaddingMatchesTf) {
  using runtime::gemma3n::vision::same_pad;
  struct Case { int n, k, s, out, before; };
  for (const Case c : {Case{384, 3, 2, 192, 0}, Case{96, 5, 2, 48, 1}, Case{48, 3, 1, 48, 1}, Case{48, 5, 1, 48, 2},
                       Case{48, 1, 1, 48, 0}, Case{13, 3, 2, 7, 1}, Case{13, 5, 2, 7, 2}, Case{1, 3, 2, 1, 1}}) {
    const auto p = same_pad(c.n, c.k, c.s);
    EXPECT_EQ(p.out, c.out) << c.n << " " << c.k << " " << c.s;
    EXPECT_EQ(p.before, c.before) << c.n << " " << c.k << " " << c.s;
  }
}

// Depthwise and im2col paths against a direct NCHW reference with zero padding.
TEST(VisionKernels, ConvsMatchNaiveReference) {
  namespace gv = runtime::gemma3n::vision;
  runtime::ComputeContext ctx(2);
  const int c = 6, h = 9, w = 7, k = 3, s = 2, co = 5;
  std::vector<float> x(c * h * w), wd(c * k * k), wf(co * c * k * k);
  for (size_t i = 0; i < x.size(); ++i) x[i] = std::sin(0.37f * i);
  for (size_t i = 0; i < wd.size(); ++i) wd[i] = std::cos(0.11f * i);
  for (size_t i = 0; i < wf.size(); ++i) wf[i] = std::sin(0.05f * i + 1);
  const gv::FeatureMap in = gv::from_chw(x.data(), c, h, w);
  const auto ph = gv::same_pad(h, k, s), pw = gv::same_pad(w, k, s);
  auto at = [&](int ch, int iy, int ix) { return iy < 0 || iy >= h || ix < 0 || ix >= w ? 0.0 : x[(ch * h + iy) * w + ix]; };
  const auto dw = gv::to_chw(gv::depthwise_conv(ctx, gv::make_depthwise_conv(wd, c, k, s), in));
  const auto dn = gv::to_chw(gv::dense_conv(ctx, gv::make_dense_conv(wf, co, c, k, s), in));
  for (int oy = 0; oy < ph.out; ++oy)
    for (int ox = 0; ox < pw.out; ++ox) {
      for (int ch = 0; ch < c; ++ch) {
        double acc = 0;
        for (int ky = 0; ky < k; ++ky)
          for (int kx = 0; kx < k; ++kx) acc += wd[(ch * k + ky) * k + kx] * at(ch, oy * s + ky - ph.before, ox * s + kx - pw.before);
        ASSERT_NEAR(dw[(ch * ph.out + oy) * pw.out + ox], acc, 1e-5);
      }
      for (int o = 0; o < co; ++o) {
        double acc = 0;
        for (int ch = 0; ch < c; ++ch)
          for (int ky = 0; ky < k; ++ky)
            for (int kx = 0; kx < k; ++kx)
              acc += wf[((o * c + ch) * k + ky) * k + kx] * at(ch, oy * s + ky - ph.before, ox * s + kx - pw.before);
        ASSERT_NEAR(dn[(o * ph.out + oy) * pw.out + ox], acc, 1e-5);
      }
    }
}

}  // namespace
}  // namespace gs::test::vision
