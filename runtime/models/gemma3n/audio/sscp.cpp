#include "runtime/models/gemma3n/audio/sscp.h"

#include <algorithm>

#include "runtime/models/gemma3n/audio/audio_ops.h"
#include "runtime/models/gemma3n/audio/cumulative_group_norm.h"

namespace gs::runtime::gemma3n {
namespace {

struct ConvGeom {
  int64_t T, F, cin;   // input [T, F, cin] (channels last)
  int kt, kf, st, sf;  // kernel / stride (time, freq)
  int64_t To, Fo;      // output sizes
};

// Time is padded 0 before and kt-1 after (output t sees frames st·t … st·t+kt-1, a look-ahead);
// frequency 1 on each side, as upstream.
ConvGeom make_geom(int64_t T, int64_t F, int64_t cin, const std::array<int, 2>& k, const std::array<int, 2>& s) {
  ConvGeom g{T, F, cin, k[0], k[1], s[0], s[1], 0, 0};
  g.To = sscp_conv_out_time(T, k[0], s[0]);
  g.Fo = (F + 2 - k[1]) / s[1] + 1;
  return g;
}

// im2col of output rows [t0, t1): cols[(t - t0)·Fo + fo][ci·kt·kf + i·kf + j], matching the
// PyTorch weight layout [out, in, kT, kF].
void im2col(const ConvGeom& g, const float* in, int64_t t0, int64_t t1, float* cols) {
  const int64_t ncol = g.cin * g.kt * g.kf;
  for (int64_t t = t0; t < t1; ++t)
    for (int64_t fo = 0; fo < g.Fo; ++fo) {
      float* row = cols + ((t - t0) * g.Fo + fo) * ncol;
      for (int i = 0; i < g.kt; ++i) {
        const int64_t ti = t * g.st + i;
        for (int j = 0; j < g.kf; ++j) {
          const int64_t fi = fo * g.sf + j - 1;
          const bool inside = ti < g.T && fi >= 0 && fi < g.F;
          const float* src = inside ? in + (ti * g.F + fi) * g.cin : nullptr;
          for (int64_t ci = 0; ci < g.cin; ++ci) row[(ci * g.kt + i) * g.kf + j] = inside ? src[ci] : 0.0f;
        }
      }
    }
}

// One conv block: [T, F, cin] → [To, Fo, cout]; the conv runs as im2col + matmul in slabs of
// output time steps so the column buffer stays small (a 30 s clip would need 110 MB at once).
std::vector<float> conv_block(const ComputeContext& ctx, const ConvGeom& g, const OwnedWeight& w,
                              const std::vector<float>& gamma, float eps, const float* in) {
  const int64_t cout = w.view().rows, ncol = w.view().cols;
  std::vector<float> out(static_cast<size_t>(g.To * g.Fo * cout));
  const int64_t slab = std::max<int64_t>(1, 8192 / std::max<int64_t>(g.Fo, 1));
  std::vector<float> cols(static_cast<size_t>(std::min(slab, g.To) * g.Fo * ncol));
  for (int64_t t0 = 0; t0 < g.To; t0 += slab) {
    const int64_t t1 = std::min(g.To, t0 + slab);
    im2col(g, in, t0, t1, cols.data());
    matmul(ctx, w.view(), cols.data(), (t1 - t0) * g.Fo, out.data() + t0 * g.Fo * cout);
  }
  cumulative_group_norm(out.data(), g.To, g.Fo, cout, gamma.data(), eps);
  for (float& v : out) v = std::max(v, 0.0f);
  return out;
}

}  // namespace

int64_t sscp_conv_out_time(int64_t T, int kernel_t, int stride_t) {
  if (T <= 0) return 0;
  return (T + kernel_t - 1 - kernel_t) / stride_t + 1;
}

// features [T, M] → conv_0 [T1, F1, C0] → conv_1 [T2, F2, C1] → flatten f·C1 + c → [T2, D]
std::vector<float> sscp_forward(const ComputeContext& ctx, const AudioConfig& cfg, const SscpWeights& w,
                                const float* features, int64_t T, int64_t* t2) {
  const ConvGeom g0 = make_geom(T, cfg.input_feat_size, 1, cfg.sscp_kernel[0], cfg.sscp_stride[0]);
  std::vector<float> h0 = conv_block(ctx, g0, w.conv0, w.norm0, cfg.sscp_group_norm_eps, features);
  const ConvGeom g1 = make_geom(g0.To, g0.Fo, cfg.sscp_channels[0], cfg.sscp_kernel[1], cfg.sscp_stride[1]);
  std::vector<float> h1 = conv_block(ctx, g1, w.conv1, w.norm1, cfg.sscp_group_norm_eps, h0.data());
  *t2 = g1.To;
  return audio_ops::linear(ctx, w.input_proj, h1.data(), g1.To);
}

}  // namespace gs::runtime::gemma3n
