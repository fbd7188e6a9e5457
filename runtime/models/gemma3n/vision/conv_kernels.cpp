#include "runtime/models/gemma3n/vision/conv_kernels.h"

#include <algorithm>
#include <cstring>

namespace gs::runtime::gemma3n::vision {

SamePad same_pad(int n, int k, int s) {
  SamePad r;
  r.out = (n + s - 1) / s;
  const int total = std::max((r.out - 1) * s + k - n, 0);
  r.before = total / 2;
  return r;
}

DenseConv make_dense_conv(const std::vector<float>& oihw, int out, int in, int k, int stride,
                          std::vector<float> bias, WeightFormat format) {
  // [out, in, kh, kw] -> [out, kh, kw, in]
  std::vector<float> r(oihw.size());
  for (int o = 0; o < out; ++o)
    for (int i = 0; i < in; ++i)
      for (int t = 0; t < k * k; ++t) r[(static_cast<size_t>(o) * k * k + t) * in + i] = oihw[(o * in + i) * k * k + t];
  DenseConv c;
  c.in_chs = in, c.out_chs = out, c.k = k, c.stride = stride;
  c.w = OwnedWeight::from_f32(r.data(), out, static_cast<int64_t>(k) * k * in, format);
  c.bias = std::move(bias);
  return c;
}

// x [h, w, in] -> y [oh, ow, out]. Output pixels are processed in tiles so the im2col buffer stays
// a few MiB whatever the image size.
FeatureMap dense_conv(const ComputeContext& ctx, const DenseConv& conv, const FeatureMap& x) {
  const int k = conv.k, s = conv.stride, cin = conv.in_chs;
  const SamePad ph = same_pad(x.h, k, s), pw = same_pad(x.w, k, s);
  FeatureMap y(conv.out_chs, ph.out, pw.out);
  const int64_t patch = static_cast<int64_t>(k) * k * cin;
  const int64_t n_out = y.pixels();
  const int64_t tile = std::min(n_out, std::max<int64_t>((int64_t{1} << 22) / patch, 64));
  std::vector<float> col(static_cast<size_t>(tile * patch));
  for (int64_t p0 = 0; p0 < n_out; p0 += tile) {
    const int64_t n = std::min(tile, n_out - p0);
    ctx.parallel_for(n, 64, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) {
        const int64_t p = p0 + i;
        const int oy = static_cast<int>(p / y.w), ox = static_cast<int>(p % y.w);
        float* dst = col.data() + i * patch;
        for (int ky = 0; ky < k; ++ky) {
          const int iy = oy * s + ky - ph.before;
          for (int kx = 0; kx < k; ++kx, dst += cin) {
            const int ix = ox * s + kx - pw.before;
            if (iy < 0 || iy >= x.h || ix < 0 || ix >= x.w)
              std::memset(dst, 0, sizeof(float) * cin);
            else
              std::memcpy(dst, x.px(static_cast<int64_t>(iy) * x.w + ix), sizeof(float) * cin);
          }
        }
      }
    });
    matmul(ctx, conv.w.view(), col.data(), n, y.px(p0));
  }
  if (!conv.bias.empty()) {
    for (int64_t p = 0; p < n_out; ++p) {
      float* row = y.px(p);
      for (int o = 0; o < y.c; ++o) row[o] += conv.bias[o];
    }
  }
  return y;
}

DepthwiseConv make_depthwise_conv(const std::vector<float>& c1hw, int chs, int k, int stride) {
  DepthwiseConv d;
  d.chs = chs, d.k = k, d.stride = stride;
  d.w.resize(static_cast<size_t>(k) * k * chs);
  for (int ch = 0; ch < chs; ++ch)
    for (int t = 0; t < k * k; ++t) d.w[static_cast<size_t>(t) * chs + ch] = c1hw[static_cast<size_t>(ch) * k * k + t];
  return d;
}

// Direct kernel: the inner loop runs over contiguous channels, so it vectorises; im2col would
// turn a memory-bound op into a k*k-times larger copy.
FeatureMap depthwise_conv(const ComputeContext& ctx, const DepthwiseConv& conv, const FeatureMap& x) {
  const int k = conv.k, s = conv.stride, c = conv.chs;
  const SamePad ph = same_pad(x.h, k, s), pw = same_pad(x.w, k, s);
  FeatureMap y(c, ph.out, pw.out);
  ctx.parallel_for(y.h, 1, [&](int64_t b, int64_t e) {
    for (int64_t oy = b; oy < e; ++oy) {
      for (int ox = 0; ox < y.w; ++ox) {
        float* __restrict acc = y.px(oy * y.w + ox);
        std::fill(acc, acc + c, 0.0f);
        for (int ky = 0; ky < k; ++ky) {
          const int iy = static_cast<int>(oy) * s + ky - ph.before;
          if (iy < 0 || iy >= x.h) continue;
          for (int kx = 0; kx < k; ++kx) {
            const int ix = ox * s + kx - pw.before;
            if (ix < 0 || ix >= x.w) continue;
            const float* __restrict in = x.px(static_cast<int64_t>(iy) * x.w + ix);
            const float* __restrict wk = conv.w.data() + static_cast<size_t>(ky * k + kx) * c;
            for (int ch = 0; ch < c; ++ch) acc[ch] += in[ch] * wk[ch];
          }
        }
      }
    }
  });
  return y;
}

FeatureMap pointwise_conv(const ComputeContext& ctx, const OwnedWeight& w, const FeatureMap& x) {
  FeatureMap y(static_cast<int>(w.view().rows), x.h, x.w);
  matmul(ctx, w.view(), x.data.data(), x.pixels(), y.data.data());
  return y;
}

}  // namespace gs::runtime::gemma3n::vision
